import SluiceCore

// Small string helpers shared by the article parser.
//
// They work on UTF-8 bytes: a profile of the first version (which used Unicode scalar
// properties, `trimmingCharacters(in:)` and `components(separatedBy:)`) spent 40 % of its time
// in `Unicode.Scalar.Properties.isWhitespace` and Foundation's string searching, for
// 208 articles/s. Every decision here is about ASCII punctuation, letters and the handful of
// Unicode spaces, which byte tests answer directly.

/// The length of the whitespace character at `i` (0 when there is none): ASCII blanks and
/// line breaks, and the Unicode spaces and separators (U+0085, U+00A0, U+1680, U+2000–U+200A,
/// U+2028, U+2029, U+202F, U+205F, U+3000) — the same set as `Character.isWhitespace`.
@inline(__always)
func whitespaceLength(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
    let c = b[i]
    if c < 0x80 { return c == 0x20 || (c >= 0x09 && c <= 0x0D) ? 1 : 0 }
    switch c {
    case 0xC2:
        return i + 1 < b.count && (b[i + 1] == 0x85 || b[i + 1] == 0xA0) ? 2 : 0
    case 0xE1:
        return i + 2 < b.count && b[i + 1] == 0x9A && b[i + 2] == 0x80 ? 3 : 0
    case 0xE2:
        guard i + 2 < b.count else { return 0 }
        let c1 = b[i + 1], c2 = b[i + 2]
        if c1 == 0x80 && (c2 <= 0x8A || c2 == 0xA8 || c2 == 0xA9 || c2 == 0xAF) { return 3 }
        return c1 == 0x81 && c2 == 0x9F ? 3 : 0
    case 0xE3:
        return i + 2 < b.count && b[i + 1] == 0x80 && b[i + 2] == 0x80 ? 3 : 0
    default:
        return 0
    }
}

/// The offset of the first space (0x20) at or after `start`, or `b.count`: 8 bytes at a time.
@inline(__always)
func nextSpace(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
    nextByte(0x20, in: b, from: start)
}

/// The offset of the first `byte` at or after `start`, or `b.count`: 8 bytes at a time.
@inline(__always)
func nextByte(_ byte: UInt8, in b: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
    let n = b.count
    var i = start
    if let base = b.baseAddress {
        while i + 8 <= n {
            let found = ByteWords.equal(ByteWords.load(UnsafeRawPointer(base), i), byte)
            if found != 0 { return i + found.trailingZeroBitCount / 8 }
            i += 8
        }
    }
    while i < n, b[i] != byte { i += 1 }
    return i
}

extension StringProtocol {
    /// Runs `body` over the text's UTF-8 bytes without copying when possible.
    @inline(__always)
    func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let r = utf8.withContiguousStorageIfAvailable(body) { return r }
        let copy = Array(utf8)
        return copy.withUnsafeBufferPointer(body)
    }

    /// The text with runs of whitespace collapsed to one space and the ends trimmed.
    var collapsedSpaces: String { collapsedSpacesAndWidth.text }

    /// ``collapsedSpaces`` and its length in scalars (``scalarCount``), found in one pass.
    var collapsedSpacesAndWidth: (text: String, width: Int) {
        withBytes { b in
            // Runs of text — with the single spaces inside them — are copied whole, and a line that
            // needs no change is made into a string directly: on the benchmark's articles this pass
            // took 5.2 % of the source's samples copying a word at a time (every space ended a run).
            // The width is counted on the way (a second pass over each line took another 1.7 %).
            let n = b.count
            var i = 0
            while i < n {
                let w = whitespaceLength(b, i)
                if w == 0 { break }
                i += w
            }
            var out: [UInt8] = []
            var copied = false
            var runStart = i
            var width = 0
            while i < n {
                // 8 bytes at a time while they are visible ASCII and single spaces, none at the
                // block's end. The byte loop alone was still 5.3 % of the source's samples.
                if i + 8 <= n, let base = b.baseAddress {
                    let x = ByteWords.load(UnsafeRawPointer(base), i)
                    if ByteWords.nonASCII(x) == 0, ByteWords.below(x, 0x20) == 0 {
                        let space = ByteWords.equal(x, 0x20)
                        if space & (space >> 8) == 0, space >> 63 == 0 {
                            width += 8
                            i += 8
                            continue
                        }
                    }
                }
                let c = b[i]
                if c > 0x20 && c < 0x80 {
                    width += 1
                    i += 1
                    continue
                }
                if c == 0x20, i + 1 < n, b[i + 1] > 0x20, b[i + 1] < 0x80 {
                    width += 2
                    i += 2
                    continue
                }
                let w = c < 0x80 ? (c == 0x20 || (c >= 0x09 && c <= 0x0D) ? 1 : 0) : whitespaceLength(b, i)
                if w == 0 {
                    if c & 0xC0 != 0x80 { width += 1 }
                    i += 1
                    continue
                }
                // A run of whitespace: keep the text before it, then one space if text follows.
                if !copied {
                    out.reserveCapacity(n)
                    copied = true
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: b[runStart..<i]))
                var j = i + w
                while j < n {
                    let w2 = whitespaceLength(b, j)
                    if w2 == 0 { break }
                    j += w2
                }
                if j < n {
                    out.append(0x20)
                    width += 1
                }
                i = j
                runStart = j
            }
            if !copied {
                return (String(decoding: UnsafeBufferPointer(rebasing: b[runStart..<n]), as: UTF8.self), width)
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[runStart..<n]))
            return (String(decoding: out, as: UTF8.self), width)
        }
    }

    /// The text without whitespace at either end.
    var trimmed: String {
        withBytes { b in
            var start = 0
            while start < b.count {
                let w = whitespaceLength(b, start)
                if w == 0 { break }
                start += w
            }
            var end = b.count
            // Walk back over whole characters: find the start of the last scalar, test it.
            while end > start {
                var s = end - 1
                while s > start, b[s] & 0xC0 == 0x80 { s -= 1 }
                if whitespaceLength(b, s) == end - s { end = s } else { break }
            }
            return String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self)
        }
    }

    /// The length in Unicode scalars (close enough to "characters" for layout heuristics).
    var scalarCount: Int {
        withBytes { b in
            var n = 0
            for c in b where c & 0xC0 != 0x80 { n += 1 }
            return n
        }
    }

    /// `hasPrefix(prefix)`, with a byte comparison first: in NFC text a prefix can only match
    /// where its bytes do, so most lines are turned down without `String`'s grapheme-by-grapheme
    /// comparison (the byline prefixes alone took 2.3 % of the source's samples that way).
    func hasPrefixFast(_ prefix: String) -> Bool {
        var p = prefix
        let bytesMatch = p.withUTF8 { pb in
            withBytes { b in
                guard pb.count <= b.count else { return false }
                for k in 0..<pb.count where pb[k] != b[k] { return false }
                return true
            }
        }
        return bytesMatch && hasPrefix(prefix)
    }

    /// Whether the text has at most `limit` scalars: a text of at most `limit` bytes has, and
    /// only longer ones are counted.
    @inline(__always)
    func scalarCountIsAtMost(_ limit: Int) -> Bool {
        utf8.count <= limit || scalarCount <= limit
    }

    /// The width in scalars of the first word (up to the first space).
    var firstWordWidth: Int {
        withBytes { b in
            var n = 0
            for c in b {
                if c == 0x20 || c == 0x09 { break }
                if c & 0xC0 != 0x80 { n += 1 }
            }
            return n
        }
    }

    /// Whether the text has at least one letter.
    var hasLetter: Bool {
        withBytes { b in
            for c in b where c < 0x80 && ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A) { return true }
            // Non-ASCII: ask Unicode (rare, and only when there is no ASCII letter).
            return b.contains { $0 >= 0x80 } && unicodeScalars.contains { $0.properties.isAlphabetic }
        }
    }

    /// Whether every cased letter is upper case (and there are at least two letters).
    var isAllCaps: Bool {
        var letters = 0
        for s in unicodeScalars {
            if s.isASCII {
                if s.value >= 0x61 && s.value <= 0x7A { return false }
                if s.value >= 0x41 && s.value <= 0x5A { letters += 1 }
            } else if s.properties.isAlphabetic {
                if s.properties.isLowercase { return false }
                letters += 1
            }
        }
        return letters >= 2
    }

    /// The number of whitespace-separated words.
    var wordCount: Int {
        withBytes { b in Self.countWords(b, stopAtCJK: false) ?? 0 }
    }

    /// The words of `b` (as ``wordCount``), or `nil` when `stopAtCJK` is set and a byte that
    /// can start a Chinese, Japanese or Korean character (E3–ED, F0) is met.
    ///
    /// ASCII is taken 8 bytes at a time: a byte is a space when it is 0x20 or 0x09–0x0D, and a
    /// word starts at each other byte that follows a space. The byte-at-a-time loop took 4.9 % of
    /// the source's samples on the benchmark's bodies; this one and the CJK test it replaces
    /// (another 1.6 %) 1.2 %.
    static func countWords(_ b: UnsafeBufferPointer<UInt8>, stopAtCJK: Bool) -> Int? {
        var count = 0
        var inWord = false
        var i = 0
        let n = b.count
        guard let base = b.baseAddress else { return 0 }
        while i < n {
            if i + 8 <= n {
                let x = ByteWords.load(UnsafeRawPointer(base), i)
                if ByteWords.nonASCII(x) == 0 {
                    // Per byte: 0x20, or 0x09…0x0D.
                    let space = ByteWords.equal(x, 0x20) | (ByteWords.below(x, 0x0E) & ~ByteWords.below(x, 0x09))
                    let word = ~space & ByteWords.highs
                    // A word byte whose previous byte (the last of the previous block for the
                    // first) is a space.
                    let spaceBefore = (space << 8) | (inWord ? 0 : 0x80)
                    count += (word & spaceBefore).nonzeroBitCount
                    inWord = word >> 63 != 0
                    i += 8
                    continue
                }
            }
            let c = b[i]
            if c < 0x80 {
                if c == 0x20 || (c >= 0x09 && c <= 0x0D) {
                    inWord = false
                } else if !inWord {
                    count += 1
                    inWord = true
                }
                i += 1
                continue
            }
            if stopAtCJK && ((c >= 0xE3 && c <= 0xED) || c == 0xF0) { return nil }
            let w = whitespaceLength(b, i)
            if w > 0 {
                inWord = false
                i += w
            } else {
                if !inWord { count += 1; inWord = true }
                i += 1
            }
        }
        return count
    }

    /// Whether the text starts with `prefix`, ignoring ASCII case.
    func hasPrefixIgnoringCase(_ prefix: String) -> Bool {
        var a = utf8.makeIterator()
        for p in prefix.utf8 {
            guard let c = a.next(), lowerASCII(c) == lowerASCII(p) else { return false }
        }
        return true
    }

    /// The byte range of the first occurrence of an ASCII `needle` at or after byte `start`.
    func asciiRange(of needle: String, caseInsensitive: Bool = false, from start: Int = 0) -> Range<Int>? {
        // The needle's own bytes, not an array made of them per call (the name and credit
        // tables call this for every joiner and place word of every byline).
        var needle = needle
        return needle.withUTF8 { nee in withBytes { hay -> Range<Int>? in
            guard !nee.isEmpty, hay.count >= nee.count, start <= hay.count - nee.count else { return nil }
            let first = caseInsensitive ? lowerASCII(nee[0]) : nee[0]
            // A first byte that is not a letter matches only itself in either case: the candidates
            // are found 8 bytes at a time (` by `, ` and `, `. `: the byte loop was 1.9 % of the
            // source's samples).
            let caseless = !caseInsensitive || first < 0x61 || first > 0x7A
            let last = hay.count - nee.count
            var i = start
            while i <= last {
                if caseless {
                    i = nextByte(first, in: hay, from: i)
                    guard i <= last else { return nil }
                }
                let c = caseInsensitive ? lowerASCII(hay[i]) : hay[i]
                if c == first {
                    var j = 1
                    while j < nee.count {
                        let a = caseInsensitive ? lowerASCII(hay[i + j]) : hay[i + j]
                        let b = caseInsensitive ? lowerASCII(nee[j]) : nee[j]
                        if a != b { break }
                        j += 1
                    }
                    if j == nee.count { return i..<(i + nee.count) }
                }
                i += 1
            }
            return nil
        } }
    }

    /// The text with every occurrence of `needle` replaced, left to right, found on the bytes
    /// (Foundation's `replacingOccurrences` goes through NSString).
    func replacingBytes(_ needle: String, with replacement: String) -> String {
        guard var match = asciiRange(of: needle) else { return String(self) }
        let rep = Array(replacement.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count + 8)
        withBytes { b in
            var start = 0
            while true {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<match.lowerBound]))
                out.append(contentsOf: rep)
                start = match.upperBound
                guard let next = asciiRange(of: needle, from: start) else { break }
                match = next
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[start...]))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether the text contains the ASCII `needle` (or any needle's bytes, compared exactly).
    func containsASCII(_ needle: String) -> Bool { asciiRange(of: needle) != nil }

    /// The text between two byte offsets (which must fall on scalar boundaries: ASCII matches do).
    func bytes(_ range: Range<Int>) -> String {
        withBytes { b in String(decoding: UnsafeBufferPointer(rebasing: b[range]), as: UTF8.self) }
    }

    /// The text from a byte offset to the end.
    func bytes(from offset: Int) -> String { bytes(offset..<utf8.count) }

    /// The text without punctuation (ASCII, quotes, dashes) at either end.
    var trimmingPunctuation: String {
        // Both ends ASCII and not punctuation (most words): nothing to trim.
        let plainEnds = withBytes { b in
            guard let f = b.first, let l = b.last, f < 0x80, l < 0x80 else { return false }
            return !Unicode.Scalar(f).isTrimmablePunctuation && !Unicode.Scalar(l).isTrimmablePunctuation
        }
        if plainEnds { return String(self) }
        var scalars = Substring(self).unicodeScalars[...]
        while let f = scalars.first, f.isTrimmablePunctuation { scalars = scalars.dropFirst() }
        while let l = scalars.last, l.isTrimmablePunctuation { scalars = scalars.dropLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}

@inline(__always)
func lowerASCII(_ c: UInt8) -> UInt8 { (c >= 0x41 && c <= 0x5A) ? c + 0x20 : c }

extension Unicode.Scalar {
    /// A CJK ideograph, kana or hangul syllable: each counts as a word.
    var isCJK: Bool { isHan || isKanaOrHangul }

    /// A Han ideograph: the unified blocks, extension A, the compatibility block and the
    /// supplementary extensions (B to H). The one definition the language detector and the
    /// text rules share.
    var isHan: Bool {
        switch value {
        case 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x3134F: return true
        default: return false
        }
    }

    /// Japanese kana or Korean hangul (syllables and jamo).
    var isKanaOrHangul: Bool {
        switch value {
        case 0x3040...0x30FF, 0xAC00...0xD7AF, 0x1100...0x11FF: return true
        default: return false
        }
    }

    /// Sentence-final punctuation.
    var endsSentence: Bool { ".!?。！？…".unicodeScalars.contains(self) }
    /// A closing quote or bracket that may follow sentence-final punctuation.
    var isClosingQuote: Bool { "\"'”’»)]".unicodeScalars.contains(self) }
    /// Punctuation removed around words and labels.
    var isTrimmablePunctuation: Bool {
        if isASCII {
            let v = value
            return (v >= 0x21 && v <= 0x2F) || (v >= 0x3A && v <= 0x40) || (v >= 0x5B && v <= 0x60) || (v >= 0x7B && v <= 0x7E)
        }
        return "“”‘’«»–—…·•：，。；（）【】".unicodeScalars.contains(self)
    }
}

extension String {
    /// Whether `next` (the following line) carries on this line's sentence: it starts with a
    /// lower-case letter and this line does not end a sentence.
    func continuesOn(_ next: String) -> Bool {
        guard let first = next.unicodeScalars.first, first.properties.isLowercase else { return false }
        return !endsLikeSentence
    }

    /// Whether the text ends like a sentence (`.`, `!`, `?`, possibly inside closing quotes).
    var endsLikeSentence: Bool {
        var scalars = unicodeScalars[...]
        while let last = scalars.last, last.isClosingQuote { scalars = scalars.dropLast() }
        return scalars.last?.endsSentence ?? false
    }

    /// Splits a `Key: value` line. The key is 1–`maxWords` words, starts with a capital letter
    /// (or a letter of a script without case, such as Chinese) and holds only letters, spaces,
    /// `-`, `'`, `&` and `/`. The colon may be full-width (`来源：新华社`) or, as French
    /// typography has it, after a space (`Source : AFP`).
    func keyValue(maxWords: Int = 4, maxKeyLength: Int = 32) -> (key: String, value: String)? {
        // The colon must come early: look only at the first bytes.
        guard let (colon, colonLength) = withBytes({ b -> (Int, Int)? in
            var i = 0
            while i < min(b.count, maxKeyLength * 4 + 1) {
                if b[i] == 0x3A { return (i, 1) }
                // U+FF1A FULLWIDTH COLON: EF BC 9A.
                if b[i] == 0xEF, i + 2 < b.count, b[i + 1] == 0xBC, b[i + 2] == 0x9A { return (i, 3) }
                i += 1
            }
            return nil
        }) else { return nil }
        var key = bytes(0..<colon)
        if key.hasSuffix(" "), !key.hasSuffix("  ") { key.removeLast() }
        guard let first = key.unicodeScalars.first,
              first.properties.isUppercase || (first.properties.isAlphabetic && !first.properties.isCased),
              key.scalarCount <= maxKeyLength, !key.hasSuffix(" ") else { return nil }
        var words = 1
        for s in key.unicodeScalars {
            if s == " " { words += 1 } else if !(s.properties.isAlphabetic || "-'&/".unicodeScalars.contains(s)) { return nil }
        }
        guard words <= maxWords else { return nil }
        return (key, bytes(from: colon + colonLength).trimmed)
    }

    /// Removes one pair of surrounding brackets or parentheses: `(Editor: X)` → `Editor: X`.
    var withoutWrappingBrackets: String {
        guard let f = utf8.first, let l = utf8.last, utf8.count >= 2 else { return self }
        if (f == 0x28 && l == 0x29) || (f == 0x5B && l == 0x5D) {
            let inner = bytes(1..<(utf8.count - 1))
            // Only when the brackets enclose the whole line, not `(a) … (b)`.
            if !inner.utf8.contains(f) { return inner.trimmed }
        }
        // Full-width: （…）, 【…】, 〔…〕 (three bytes each).
        if f >= 0xE3, let open = unicodeScalars.first, let close = unicodeScalars.last {
            for (o, c) in [("（", "）"), ("【", "】"), ("〔", "〕")] where open == o.unicodeScalars.first && close == c.unicodeScalars.first {
                let inner = String(unicodeScalars.dropFirst().dropLast())
                if !inner.contains(o) { return inner.trimmed }
            }
        }
        return self
    }

    /// Whether the text has a Chinese, Japanese or Korean character.
    var hasCJK: Bool {
        withBytes { b in
            // Every such character's UTF-8 starts with E3–ED or F0 (supplementary ideographs).
            b.contains { ($0 >= 0xE3 && $0 <= 0xED) || $0 == 0xF0 }
        } && unicodeScalars.contains { $0.isCJK }
    }

    /// The article's word count: whitespace-separated words, where a word holding Chinese,
    /// Japanese or Korean characters counts each such character as a word, plus each run of
    /// other letters or digits in it (`2025年11月20日` is 6 words, `“中国”` is 2). Text without
    /// those characters counts exactly as ``wordCount``.
    var articleWordCount: Int {
        // Text without a byte that can start a CJK character is counted in the same pass.
        if let count = withBytes({ Self.countWords($0, stopAtCJK: true) }) { return count }
        guard hasCJK else { return wordCount }
        var count = 0
        for word in split(whereSeparator: { $0.isWhitespace }) {
            guard word.unicodeScalars.contains(where: \.isCJK) else {
                count += 1
                continue
            }
            var inRun = false
            for s in word.unicodeScalars {
                if s.isCJK {
                    count += 1
                    inRun = false
                } else if s.properties.isAlphabetic || s.properties.numericType != nil {
                    if !inRun { count += 1 }
                    inRun = true
                } else {
                    inRun = false
                }
            }
        }
        return count
    }

    /// Splits on separators surrounded by spaces (` | `), trimming the parts.
    func splitSpaced(_ separators: [String]) -> [String] {
        splitSpaced(SpacedSeparators(separators))
    }

    /// ``splitSpaced(_:)`` with the separators' byte patterns made once (built per call, with a
    /// string interpolation per separator, they were a third of the split's 2.5 % of the
    /// text_articles source's samples: it runs twice on every header line).
    func splitSpaced(_ separators: SpacedSeparators) -> [String] {
        let patterns = separators.patterns
        return withBytes { b in
            var parts: [String] = []
            var start = 0
            var i = 0
            outer: while i < b.count {
                if b[i] == 0x20 {
                    for p in patterns where i + p.count <= b.count {
                        var j = 1
                        while j < p.count, b[i + j] == p[j] { j += 1 }
                        if j == p.count {
                            parts.append(String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self).trimmed)
                            i += p.count - 1  // the closing space may open the next separator
                            start = i + 1
                            i += 1
                            continue outer
                        }
                    }
                }
                i += 1
            }
            parts.append(String(decoding: UnsafeBufferPointer(rebasing: b[start..<b.count]), as: UTF8.self).trimmed)
            return parts
        }
    }
}

/// The byte patterns of separators written between spaces (` | `, ` – `), for
/// `String.splitSpaced(_:)`.
struct SpacedSeparators: Sendable {
    /// ` SEPARATOR ` in UTF-8, per separator, in the order given.
    let patterns: [[UInt8]]

    init(_ separators: [String]) {
        patterns = separators.map { Array(" \($0) ".utf8) }
    }

    /// ` | `, ` · `, ` • `: the parts of `By A | China Daily | Updated: …`.
    static let strong = SpacedSeparators(["|", "·", "•"])
    /// ` / `, ` – `, ` — `: a date and time across slashes or dashes.
    static let slashes = SpacedSeparators(["/", "–", "—"])
    /// ``slashes`` and ` - `.
    static let slashesAndHyphen = SpacedSeparators(["/", "–", "—", "-"])
    /// ` | ` alone.
    static let bar = SpacedSeparators(["|"])
}
