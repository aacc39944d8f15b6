import Foundation
import SluiceCore
import SluiceFormats
import Testing

/// `TextDecoding` (SluiceCore): bytes to clean text, and `normalize`.
@Suite("TextDecoding")
struct TextDecodingTests {
    static func decode(_ bytes: [UInt8]) throws -> DecodedText { try TextDecoding.decode(Data(bytes)) }

    @Test("UTF-8 without a byte-order mark is read as UTF-8")
    func utf8() throws {
        let d = try Self.decode(Array("Café “quoted”".utf8))
        #expect(d.text == "Café “quoted”")
        #expect(d.encoding == .utf8 && !d.hadByteOrderMark)
    }

    @Test("a UTF-8 byte-order mark is recognised and dropped")
    func utf8BOM() throws {
        let d = try Self.decode([0xEF, 0xBB, 0xBF] + Array("Title\r\nBody".utf8))
        #expect(d.text == "Title\nBody")
        #expect(d.encoding == .utf8 && d.hadByteOrderMark)
    }

    @Test("UTF-16 with a byte-order mark is read in either byte order")
    func utf16BOM() throws {
        let le = try Self.decode([0xFF, 0xFE] + Array("Zoë €".utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
        #expect(le.text == "Zoë €" && le.encoding == .utf16LittleEndian && le.hadByteOrderMark)
        let be = try Self.decode([0xFE, 0xFF] + Array("Zoë €".utf16).flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] })
        #expect(be.text == "Zoë €" && be.encoding == .utf16BigEndian)
    }

    @Test("UTF-16 without a byte-order mark is recognised by its zero bytes instead of being called binary")
    func utf16WithoutBOM() throws {
        let text = "Harbour opens\n\nThe new harbour opened on Monday."
        let d = try Self.decode(Array(text.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
        #expect(d.text == text && d.encoding == .utf16LittleEndian && !d.hadByteOrderMark)
    }

    @Test("UTF-32 with a byte-order mark is read")
    func utf32() throws {
        let d = try Self.decode([0xFF, 0xFE, 0, 0] + "Hé".unicodeScalars.flatMap { s in
            [UInt8(s.value & 0xFF), UInt8((s.value >> 8) & 0xFF), UInt8((s.value >> 16) & 0xFF), 0]
        })
        #expect(d.text == "Hé" && d.encoding == .utf32LittleEndian)
    }

    @Test("bytes that are not UTF-8 are read as Windows-1252: curly quotes, é and €")
    func windows1252() throws {
        let d = try Self.decode([0x93, 0x48, 0x69, 0x94, 0x20, 0x63, 0x61, 0x66, 0xE9, 0x20, 0x80, 0x35, 0x20, 0x92, 0x97])
        #expect(d.text == "“Hi” café €5 ’—")
        #expect(d.encoding == .windows1252)
    }

    @Test("Windows-1252's five undefined bytes do not make the text fail")
    func windows1252Undefined() throws {
        let d = try Self.decode(Array("Caf".utf8) + [0xE9, 0x81, 0x20, 0x8D, 0x41])
        #expect(d.encoding == .windows1252)
        #expect(d.text == "Café A")  // the C1 controls are dropped by normalization
    }

    @Test("CRLF and lone CR become LF")
    func lineEndings() throws {
        #expect(try Self.decode(Array("a\r\nb\rc\nd".utf8)).text == "a\nb\nc\nd")
        #expect(TextDecoding.normalize("a\u{2028}b\u{2029}c\u{85}d") == "a\nb\nc\nd")
    }

    @Test("decomposed accents are composed (NFC), Latin and Hangul")
    func nfc() {
        #expect(TextDecoding.normalize("Cafe\u{301} Zoe\u{308}") == "Café Zoë")
        #expect(TextDecoding.normalize("\u{1100}\u{1161}") == "가")
        #expect(TextDecoding.normalize("Ångström") == "Ångström")
        // A combining mark after text the fast path would accept still triggers composition.
        #expect(TextDecoding.normalize("“quote” e\u{301}").unicodeScalars.count == 9)
    }

    @Test("odd spaces become plain spaces and invisible characters go, but emoji joiners stay")
    func spaces() {
        #expect(TextDecoding.normalize("a\u{A0}b\u{2009}c\u{202F}d\u{3000}e\u{2003}f") == "a b c d e f")
        #expect(TextDecoding.normalize("sup\u{200B}ply\u{2060} soft\u{AD}ware\u{FEFF}") == "supply software")
        #expect(TextDecoding.normalize("👩\u{200D}💻") == "👩\u{200D}💻")
        #expect(TextDecoding.normalize("bell\u{7}tab\tend") == "belltab\tend")
    }

    @Test("trailing blanks are trimmed on every line, indentation is kept")
    func trailing() {
        #expect(TextDecoding.normalize("  one  \u{A0}\ntwo\t\n\nthree \u{2009}") == "  one\ntwo\n\nthree")
    }

    @Test("normalize is idempotent")
    func idempotent() {
        let samples = ["Cafe\u{301}\r\n x\u{A0} ", "plain", "", "\u{FEFF}", "a\u{2028}\u{2028}b  \n"]
        for s in samples {
            let once = TextDecoding.normalize(s)
            #expect(TextDecoding.normalize(once) == once)
        }
    }

    @Test("NUL bytes mean binary content")
    func nulIsBinary() {
        #expect(throws: TextDecodingError.binary("NUL bytes")) {
            try Self.decode([0x89, 0x50, 0x4E, 0x47, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52, 0xFF, 0x00, 0x12] as [UInt8])
        }
        #expect(TextDecodingError.binary("NUL bytes").description == "binary content (NUL bytes)")
    }

    @Test("mostly control characters mean binary content")
    func controlsAreBinary() {
        #expect(throws: TextDecodingError.binary("control characters")) {
            try Self.decode(Array(repeating: [0x01, 0x02, 0x41, 0x1B] as [UInt8], count: 50).flatMap { $0 })
        }
    }

    @Test("non-UTF-8 text with mostly high bytes (a Cyrillic code page) is refused, not garbled")
    func unsupportedLegacyEncoding() {
        let cp1251: [UInt8] = Array(repeating: [0xCF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2, 0x20] as [UInt8], count: 10).flatMap { $0 }
        #expect(throws: TextDecodingError.unsupportedEncoding) { try Self.decode(cp1251) }
    }

    @Test("empty input is empty UTF-8 text")
    func empty() throws {
        let d = try Self.decode([])
        #expect(d.text.isEmpty && d.encoding == .utf8)
    }

    @Test("decode without normalization keeps the text as decoded")
    func noNormalize() throws {
        let d = try TextDecoding.decode(Data("a\r\nb\u{A0}".utf8), normalize: false)
        #expect(d.text == "a\r\nb\u{A0}")
    }

    /// `normalize` written plainly, scalar by scalar, from its documentation.
    static func referenceNormalize(_ text: String) -> String {
        var lines: [String] = []
        var line = String.UnicodeScalarView()
        func endLine() {
            while let last = line.last, last == " " || last == "\t" { line.removeLast() }
            lines.append(String(line))
            line = String.UnicodeScalarView()
        }
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let v = scalars[i].value
            switch v {
            case 0x0D:
                if i + 1 < scalars.count, scalars[i + 1] == "\n" { i += 1 }
                endLine()
            case 0x0A, 0x0B, 0x0C, 0x85, 0x2028, 0x2029: endLine()
            case 0x09, 0x20: line.append(scalars[i])
            case 0xA0, 0x1680, 0x2000...0x200A, 0x202F, 0x205F, 0x3000: line.append(" ")
            case 0..<0x20, 0x7F, 0x80...0x9F, 0xAD, 0x180E, 0x200B, 0x2060, 0xFEFF: break
            default: line.append(scalars[i])
            }
            i += 1
        }
        endLine()
        return lines.joined(separator: "\n").precomposedStringWithCanonicalMapping
    }

    @Test("normalize agrees with a plain scalar-by-scalar reading of its rules on random text (runs, spaces, line ends, odd characters)")
    func normalizeMatchesReference() {
        let pieces = ["word", "a", " ", "  ", "\t", "\n", "\r\n", "\r", "\u{0B}", "\u{0C}", "\u{85}", "\u{2028}", "\u{A0}",
                      "\u{3000}", "\u{200B}", "\u{AD}", "\u{FEFF}", "\u{7F}", "\u{01}", "\u{9F}", "é", "e\u{301}", "東京",
                      "🙂", "ZWJ\u{200D}", ".,;:!?", "0123456789", "longer-run-of-visible-ascii"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3_000 {
            let count = Int.random(in: 0...30, using: &generator)
            let text = (0..<count).map { _ in pieces.randomElement(using: &generator) ?? "" }.joined()
            let got = TextDecoding.normalize(text)
            let expected = Self.referenceNormalize(text)
            #expect(got == expected, "\(Array(text.unicodeScalars.map(\.value)))")
            #expect(Array(got.utf8) == Array(expected.utf8))
            // Decoding the UTF-8 bytes (normalized on the way) gives the same text, unless the
            // control characters make it binary.
            if let decoded = try? TextDecoding.decode(Data(text.utf8)) { #expect(decoded.text == expected) }
        }
    }
}
