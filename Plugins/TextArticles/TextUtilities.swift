import SluiceCore

// Small string helpers shared by the article parser. They work on Unicode scalars rather than
// `Character`s: every decision here is about ASCII punctuation, letters and spaces, and
// grapheme breaking would only cost time.

extension StringProtocol {
    /// The text with runs of whitespace collapsed to one space and the ends trimmed.
    var collapsedSpaces: String {
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for s in unicodeScalars {
            if s.properties.isWhitespace {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.append(s)
            }
        }
        return String(out)
    }

    /// The text without whitespace at either end.
    var trimmed: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }

    /// The length in Unicode scalars (close enough to "characters" for layout heuristics).
    var scalarCount: Int { unicodeScalars.count }

    /// Whether the text has at least one letter.
    var hasLetter: Bool { unicodeScalars.contains { $0.properties.isAlphabetic } }

    /// Whether every cased letter is upper case (and there are at least two letters).
    var isAllCaps: Bool {
        var letters = 0
        for s in unicodeScalars where s.properties.isAlphabetic {
            if s.properties.isLowercase { return false }
            letters += 1
        }
        return letters >= 2
    }

    /// The number of whitespace-separated words.
    var wordCount: Int {
        var count = 0
        var inWord = false
        for s in unicodeScalars {
            if s.properties.isWhitespace {
                inWord = false
            } else if !inWord {
                inWord = true
                count += 1
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
}

@inline(__always)
func lowerASCII(_ c: UInt8) -> UInt8 { (c >= 0x41 && c <= 0x5A) ? c + 0x20 : c }

extension Unicode.Scalar {
    /// Sentence-final punctuation, including closing quotes after it.
    var endsSentence: Bool { ".!?。！？…".unicodeScalars.contains(self) }
    /// A closing quote or bracket that may follow sentence-final punctuation.
    var isClosingQuote: Bool { "\"'”’»)]".unicodeScalars.contains(self) }
}

extension String {
    /// Whether the text ends like a sentence (`.`, `!`, `?`, possibly inside closing quotes).
    var endsLikeSentence: Bool {
        var scalars = unicodeScalars[...]
        while let last = scalars.last, last.isClosingQuote { scalars = scalars.dropLast() }
        return scalars.last?.endsSentence ?? false
    }

    /// Splits a `Key: value` line. The key is 1–`maxWords` words, starts with a capital letter
    /// and holds only letters, spaces, `-`, `'`, `&` and `/`.
    func keyValue(maxWords: Int = 4, maxKeyLength: Int = 32) -> (key: String, value: String)? {
        guard let colon = firstIndex(of: ":") else { return nil }
        let key = self[..<colon]
        guard let first = key.unicodeScalars.first, first.properties.isUppercase,
              key.scalarCount <= maxKeyLength, !key.hasSuffix(" ") else { return nil }
        for s in key.unicodeScalars where !(s.properties.isAlphabetic || " -'&/".unicodeScalars.contains(s)) { return nil }
        guard key.split(separator: " ").count <= maxWords else { return nil }
        let value = self[index(after: colon)...].trimmed
        // `https://…` and times (`10:30`) are not keys; the first is lower case, the second has digits.
        return (String(key), value)
    }

    /// Removes one pair of surrounding brackets or parentheses: `(Editor: X)` → `Editor: X`.
    var withoutWrappingBrackets: String {
        guard let f = unicodeScalars.first, let l = unicodeScalars.last, unicodeScalars.count >= 2 else { return self }
        if (f == "(" && l == ")") || (f == "[" && l == "]") {
            let inner = String(String.UnicodeScalarView(unicodeScalars.dropFirst().dropLast()))
            // Only when the brackets enclose the whole line, not `(a) … (b)`.
            if !inner.unicodeScalars.contains(f) { return inner.trimmed }
        }
        return self
    }

    /// Splits on a separator surrounded by spaces (` | `), trimming the parts.
    func splitSpaced(_ separators: [String]) -> [String] {
        var parts = [self]
        for sep in separators {
            parts = parts.flatMap { $0.components(separatedBy: " \(sep) ") }
        }
        return parts.map(\.trimmed)
    }

    /// The byte offset of the first occurrence of an ASCII `needle`, or `nil`.
    func asciiRange(of needle: String, caseInsensitive: Bool = false, from start: Int = 0) -> Range<Int>? {
        let hay = Array(utf8)
        let nee = Array(needle.utf8)
        guard !nee.isEmpty, hay.count >= nee.count, start <= hay.count - nee.count else { return nil }
        var i = start
        while i <= hay.count - nee.count {
            var j = 0
            while j < nee.count {
                let a = caseInsensitive ? lowerASCII(hay[i + j]) : hay[i + j]
                let b = caseInsensitive ? lowerASCII(nee[j]) : nee[j]
                if a != b { break }
                j += 1
            }
            if j == nee.count { return i..<(i + nee.count) }
            i += 1
        }
        return nil
    }

    /// The text between two byte offsets (which must fall on scalar boundaries: ASCII matches do).
    func bytes(_ range: Range<Int>) -> String {
        let u = utf8
        let a = u.index(u.startIndex, offsetBy: range.lowerBound)
        let b = u.index(u.startIndex, offsetBy: range.upperBound)
        return String(self[a..<b])
    }

    /// The text from a byte offset to the end.
    func bytes(from offset: Int) -> String { bytes(offset..<utf8.count) }
}
