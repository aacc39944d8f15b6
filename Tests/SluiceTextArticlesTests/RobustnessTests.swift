import Foundation
import SluiceCore
import SluiceFormats
import SluiceTestSupport
@testable import SluiceTextArticles
import Testing

/// Arbitrary input never crashes the decoder or the parser, and what comes out keeps the
/// record's invariants.
@Suite("robustness")
struct RobustnessTests {
    static let pieces = [
        "\n", "\n", "\n\n", " ", " ", "word", "Word", "the", "By ", "by ", "and ", ", ", ". ", "Photo: ", "(Photo: X)",
        "Photograph: ", "Tags: ", "Related:", "Related: ", "Read more: ", "Source: ", "Editor: ", "Published: ",
        "Updated ", "Posted on ", "Nov 20, 2025", "10:10 PM", " EST", "2025-07-15T10:20:30+08:00", "20 November 2025",
        "# ", "## ", "**", "*", "_", "`", "[", "](http://x)", "![", ")", "(", "---", "* * *", "===", "- ", "1. ", "• ",
        "|", " | ", " / ", "—", " -- ", "BEIJING, ", "(Xinhua)", "é", "e\u{301}", "\u{A0}", "\u{200B}", "\u{FEFF}",
        "\t", "\r\n", "\r", "©", "“", "”", "’", ":", ";", "?", "!", "年", "月", "日", "\\", "<https://example.org>",
    ]

    static func randomText(_ rng: inout SeededGenerator, pieces count: Int) -> String {
        var text = ""
        for _ in 0..<count { text += pieces[rng.below(pieces.count)] }
        return text
    }

    @Test("2,000 random texts built from header, caption, trailer and Markdown pieces parse or fail cleanly")
    func randomTexts() {
        var rng = SeededGenerator(seed: 20_251_120)
        let parser = ArticleParser(dates: DateParser())
        var parsed = 0
        for n in 0..<2000 {
            let raw = Self.randomText(&rng, pieces: 1 + rng.below(120))
            let text = TextDecoding.normalize(raw)
            do {
                let article = try parser.parse(text, markdown: n % 3 == 0)
                parsed += 1
                let fields = ArticleReader.fields(article, source: "x.txt")
                let title = fields["title"]?.stringValue ?? ""
                #expect(!title.isEmpty, "empty title from \(raw.debugDescription)")
                let paragraphs = fields["paragraphs"]?.arrayValue?.compactMap(\.stringValue) ?? []
                #expect(fields["body"] == .string(paragraphs.joined(separator: "\n\n")))
                for p in paragraphs {
                    #expect(!p.isEmpty && p == p.trimmed && !p.contains("\n"), "bad paragraph \(p.debugDescription) from \(raw.debugDescription)")
                }
                let words = paragraphs.joined(separator: " ").split(whereSeparator: \.isWhitespace)
                    .map(Self.documentedWordCount).reduce(0, +)
                #expect(fields["word_count"] == .int(Int64(words)))
                #expect(Array(fields.keys) == Corpus.fieldOrder)
            } catch {
                #expect(error.description.hasPrefix("no title line ("))
            }
        }
        #expect(parsed > 1000, "most random texts have some headline-like line")
    }

    /// docs/articles.md's rule for one whitespace-separated word: 1, or, when it holds CJK
    /// characters (here 年, 月, 日), one per such character plus one per run of letters or digits.
    static func documentedWordCount(_ word: Substring) -> Int {
        let cjk = word.filter { "年月日".contains($0) }.count
        guard cjk > 0 else { return 1 }
        let runs = word.split(whereSeparator: { !($0.isLetter || $0.isNumber) || "年月日".contains($0) }).count
        return cjk + runs
    }

    @Test("random bytes decode to text or a binary/encoding error, never a crash")
    func randomBytes() {
        var rng = SeededGenerator(seed: 7)
        for n in 0..<2000 {
            let count = rng.below(400)
            var bytes: [UInt8] = []
            for _ in 0..<count {
                // Mostly text-like bytes, sometimes anything.
                bytes.append(n % 4 == 0 ? UInt8(rng.below(256)) : [0x41, 0x20, 0x0A, 0xC3, 0xA9, 0xE2, 0x80, 0x9C, 0x93, 0xFF, 0xFE, 0][rng.below(12)])
            }
            do {
                let decoded = try TextDecoding.decode(Data(bytes))
                #expect(TextDecoding.normalize(decoded.text) == decoded.text)
            } catch {
                #expect(error.description.hasPrefix("binary content") || error == .unsupportedEncoding)
            }
        }
    }

    @Test("dates are found or not in random text, never a crash, and always valid ISO 8601")
    func randomDates() {
        var rng = SeededGenerator(seed: 99)
        let parser = DateParser(defaultTimeZone: TimeZoneSpec("America/New_York"))
        for _ in 0..<3000 {
            let text = Self.randomText(&rng, pieces: rng.below(30)) + ["3", "31", "12:", "2025", "Feb 30, 2024"][rng.below(5)]
            if let d = parser.parse(text) {
                #expect((1...12).contains(d.month) && d.day >= 1 && d.day <= 31)
                #expect(d.iso.count >= 10 && d.iso.hasPrefix(String(format: "%04d-%02d-%02d", d.year, d.month, d.day)))
                #expect(text[d.range] == d.text)
            }
        }
    }
}
