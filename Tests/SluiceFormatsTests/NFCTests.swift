import Foundation
import SluiceFormats
import Testing

@Suite("Text normalization")
struct NFCTests {
    @Test("NFC in pieces gives exactly the NFC of the whole text, across piece boundaries")
    func piecewiseNFCMatchesWhole() {
        // Decomposed accents, Hangul jamo, a run of non-ASCII longer than a piece, and marks
        // right at the cut points.
        var text = ""
        for i in 0..<3000 {
            text += i % 7 == 0 ? "Cafe\u{301} " : i % 11 == 0 ? "\u{1100}\u{1161}\u{11A8}" : "a\u{308}\u{323}b "
            if i == 1500 { text += String(repeating: "\u{E9}\u{301}", count: 3000) }
        }
        #expect(text.utf8.count > 3 * 4096)
        let whole = text.precomposedStringWithCanonicalMapping
        #expect(Array(TextDecoding.nfc(text).unicodeScalars) == Array(whole.unicodeScalars))
        #expect(TextDecoding.nfc("short e\u{301}") == "short \u{E9}")
    }
}
