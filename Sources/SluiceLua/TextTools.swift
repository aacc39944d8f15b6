import Foundation
import SluiceCore
import SluiceFormats

/// The Unicode-aware text helpers behind `sluice.text` (Lua's own string functions are
/// byte-wise: a no-break space does not separate words there).
public enum TextTools {
    /// Whether `scalar` separates words: Unicode White_Space (which includes the no-break
    /// spaces U+00A0, U+2007, U+202F) plus the zero-width space U+200B and the zero-width
    /// no-break space (BOM) U+FEFF.
    @inline(__always)
    public static func isSeparator(_ scalar: UInt32) -> Bool {
        switch scalar {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200B, 0x2028, 0x2029, 0x202F, 0x205F,
             0x3000, 0xFEFF:
            return true
        default:
            return false
        }
    }

    /// Whether `scalar` is an invisible joiner that normalization removes (the word joiner).
    @inline(__always)
    static func isZeroWidth(_ scalar: UInt32) -> Bool {
        scalar == 0x2060
    }

    /// Decodes the scalar starting at `i` of UTF-8 bytes: (value, length). An invalid byte is
    /// returned as itself with length 1 (it is then never a separator).
    @inline(__always)
    static func decode(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> (UInt32, Int) {
        let c0 = b[i]
        if c0 < 0x80 { return (UInt32(c0), 1) }
        let n = b.count
        if c0 & 0xE0 == 0xC0, i + 1 < n, b[i + 1] & 0xC0 == 0x80 {
            return ((UInt32(c0 & 0x1F) << 6) | UInt32(b[i + 1] & 0x3F), 2)
        }
        if c0 & 0xF0 == 0xE0, i + 2 < n, b[i + 1] & 0xC0 == 0x80, b[i + 2] & 0xC0 == 0x80 {
            return ((UInt32(c0 & 0x0F) << 12) | (UInt32(b[i + 1] & 0x3F) << 6) | UInt32(b[i + 2] & 0x3F), 3)
        }
        if c0 & 0xF8 == 0xF0, i + 3 < n, b[i + 1] & 0xC0 == 0x80, b[i + 2] & 0xC0 == 0x80, b[i + 3] & 0xC0 == 0x80 {
            return ((UInt32(c0 & 0x07) << 18) | (UInt32(b[i + 1] & 0x3F) << 12) | (UInt32(b[i + 2] & 0x3F) << 6)
                    | UInt32(b[i + 3] & 0x3F), 4)
        }
        return (0xFFFF_FFFF, 1)
    }

    /// The byte ranges of the words of UTF-8 text: maximal runs of non-separators.
    public static func wordRanges(_ text: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var words: [Range<Int>] = []
        var start = -1
        var i = 0
        let n = text.count
        while i < n {
            let (scalar, length) = decode(text, i)
            if isSeparator(scalar) {
                if start >= 0 { words.append(start..<i); start = -1 }
            } else if start < 0 {
                start = i
            }
            i += length
        }
        if start >= 0 { words.append(start..<n) }
        return words
    }

    /// The words of `text` (see ``wordRanges(_:)``).
    public static func words(_ text: String) -> [String] {
        var copy = text
        return copy.withUTF8 { buf in
            wordRanges(buf).map { String(decoding: UnsafeBufferPointer(rebasing: buf[$0]), as: UTF8.self) }
        }
    }

    /// NFC, every run of whitespace (no-break and zero-width spaces included) made one space,
    /// word joiners removed, ends trimmed. `words(normalize(s))` equals `words(s)`.
    public static func normalize(_ text: String) -> String {
        var out: [UInt8] = []
        var copy = text
        var ascii = true
        copy.withUTF8 { b in
            out.reserveCapacity(b.count)
            var pendingSpace = false
            var i = 0
            while i < b.count {
                let (scalar, length) = decode(b, i)
                if isZeroWidth(scalar) {
                    i += length
                    continue
                }
                if isSeparator(scalar) {
                    pendingSpace = !out.isEmpty
                } else {
                    if pendingSpace { out.append(0x20); pendingSpace = false }
                    if length > 1 { ascii = false }
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: b[i..<(i + length)]))
                }
                i += length
            }
        }
        let collapsed = String(decoding: out, as: UTF8.self)
        return ascii ? collapsed : TextDecoding.nfc(collapsed)
    }

    /// Words that end with a period without ending a sentence (lowercased, without the period).
    static let abbreviations: Set<String> = [
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft", "vs", "etc", "e.g", "i.e", "cf", "al",
        "inc", "ltd", "co", "corp", "llc", "gov", "govt", "sen", "rep", "gen", "col", "lt", "sgt", "capt", "cmdr",
        "adm", "maj", "rev", "hon", "pres", "supt", "dept", "est", "approx", "no", "nos", "fig", "figs", "vol",
        "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
        "mon", "tue", "tues", "wed", "thu", "thurs", "fri", "sat", "sun",
        "u.s", "u.k", "u.n", "e.u", "a.m", "p.m", "ph.d", "b.a", "m.a", "d.c",
    ]

    /// The sentences of `text`, trimmed. A sentence ends at `.`, `!`, `?`, `…` (or CJK `。！？`),
    /// with any closing quotes or brackets after it, when whitespace and then anything but a
    /// lower-case letter follow (or the text ends). A period after a known
    /// abbreviation (`Mr.`, `Nov.`, `U.S.`) or a single-letter initial does not end a sentence;
    /// a blank line always does.
    public static func sentences(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var sentences: [String] = []
        var current = String.UnicodeScalarView()
        func flush() {
            let s = String(current).trimmingCharacters(in: .whitespacesAndNewlines)
            if !s.isEmpty { sentences.append(s) }
            current = String.UnicodeScalarView()
        }
        let closers: Set<UInt32> = [0x22, 0x27, 0x29, 0x5D, 0x7D, 0xBB, 0x2019, 0x201D, 0x203A, 0x300D, 0x300F, 0xFF09]
        var i = 0
        let n = scalars.count
        while i < n {
            let c = scalars[i]
            current.append(c)
            i += 1
            let v = c.value
            // A blank line ends a paragraph, and so a sentence.
            if v == 0x0A {
                var j = i
                while j < n, scalars[j].value != 0x0A, isSeparator(scalars[j].value) { j += 1 }
                if j < n, scalars[j].value == 0x0A { flush(); i = j + 1; continue }
            }
            let cjk = v == 0x3002 || v == 0xFF01 || v == 0xFF1F
            guard v == 0x2E || v == 0x21 || v == 0x3F || v == 0x2026 || cjk else { continue }
            // Take a run of terminators ("?!", "...") and closing quotes or brackets.
            while i < n, [0x2E, 0x21, 0x3F, 0x2026].contains(scalars[i].value) { current.append(scalars[i]); i += 1 }
            while i < n, closers.contains(scalars[i].value) { current.append(scalars[i]); i += 1 }
            if cjk { flush(); continue }
            if i >= n { break }
            guard isSeparator(scalars[i].value) else { continue }
            var j = i
            while j < n, isSeparator(scalars[j].value) { j += 1 }
            if j < n {
                // Anything but a lower-case letter may start the next sentence.
                if scalars[j].properties.isLowercase { continue }
            }
            if v == 0x2E && isAbbreviation(current) { continue }
            flush()
        }
        flush()
        return sentences
    }

    /// Whether the text ends with an abbreviation or an initial followed by its period.
    static func isAbbreviation(_ text: String.UnicodeScalarView) -> Bool {
        var word: [Unicode.Scalar] = []
        for s in text.reversed() {
            if isSeparator(s.value) || s.value == 0x28 || s.value == 0x22 || s.value == 0x201C { break }
            word.append(s)
        }
        word.reverse()
        while let last = word.last, last.value == 0x2E { word.removeLast() }
        guard !word.isEmpty else { return false }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: word)
        let lower = String(view).lowercased()
        if word.count == 1 && word[0].properties.isAlphabetic { return true }
        return abbreviations.contains(lower)
    }
}
