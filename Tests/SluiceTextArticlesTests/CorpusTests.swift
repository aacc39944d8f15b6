import Foundation
import SluiceCore
import SluiceFormats
import SluiceTestSupport
import SluiceTextArticles
import Testing

/// The corpus in Tests/Fixtures/articles: every `NAME.txt` / `NAME.md` has a hand-written
/// `NAME.expected.json` beside it. The expected file lists every field except `id` (a hash
/// nobody can write by hand; its recipe and stability are pinned in SourceTests) and `body`
/// (checked here to be the paragraphs joined with a blank line). The English articles written
/// before the `language` field existed do not list it: their language must be `en`.
@Suite("article corpus")
struct CorpusTests {
    @Test("the corpus has at least 20 articles, and 5 in each language besides English, each with an expected record")
    func corpusIsComplete() throws {
        let names = Corpus.articleNames
        #expect(names.count >= 20)
        for language in ["zh", "ru", "fr", "de", "es"] {
            let count = names.filter { $0.hasPrefix(language + "_") }.count
            #expect(count >= 5, "\(count) articles in \(language)")
        }
        for name in names {
            let expected = (Corpus.articles as NSString).appendingPathComponent(Self.expectedName(name))
            #expect(FileManager.default.fileExists(atPath: expected), "\(name) has no \(Self.expectedName(name))")
        }
    }

    @Test("each corpus article yields its hand-written expected record, field by field",
          arguments: Corpus.articleNames)
    func articleMatchesExpected(_ name: String) throws {
        let path = (Corpus.articles as NSString).appendingPathComponent(name)
        let expectedPath = (Corpus.articles as NSString).appendingPathComponent(Self.expectedName(name))
        let expectedText = try String(contentsOfFile: expectedPath, encoding: .utf8)
        guard case .object(var expected) = try JSONReader.parse(expectedText) else {
            Issue.record("\(Self.expectedName(name)) is not a JSON object")
            return
        }
        if expected["language"] == nil { expected["language"] = "en" }
        let (records, letters) = try readArticles(path)
        #expect(letters.isEmpty, "dead letters: \(letters.map(\.error))")
        try #require(records.count == 1, "expected one record from \(name), got \(records.count)")
        let record = records[0]

        // Every field, in the documented order.
        #expect(Array(record.fields.keys) == Corpus.fieldOrder)
        // The expected file must list every field but `id` and `body`.
        let unlisted = Corpus.fieldOrder.filter { expected[$0] == nil && $0 != "id" && $0 != "body" }
        #expect(unlisted.isEmpty, "\(Self.expectedName(name)) does not list \(unlisted)")

        var diffs: [String] = []
        for (field, want) in expected where record[field] != want {
            diffs.append(Self.diff(field: field, expected: want, actual: record[field]))
        }
        #expect(diffs.isEmpty, "\(name):\n\(diffs.joined(separator: "\n"))")

        // `body` is the paragraphs joined with a blank line; `id` is 32 lower-case hex digits.
        let paragraphs = record["paragraphs"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(record["body"] == .string(paragraphs.joined(separator: "\n\n")))
        let id = record["id"]?.stringValue ?? ""
        #expect(id.count == 32 && id.allSatisfy { "0123456789abcdef".contains($0) }, "id \(id)")
        #expect(record.origin.file == name && record.origin.line == 1)
    }

    @Test("the seed article gives the title, section, date, caption, 14 paragraphs and 672 words it shows")
    func seedArticle() throws {
        let path = (Corpus.seeds as NSString).appendingPathComponent("000_e1f4b45fb3361e3f.txt")
        let (records, letters) = try readArticles(path)
        #expect(letters.isEmpty)
        let r = try #require(records.first)
        #expect(r["title"] == "China, Kyrgyzstan vow deeper cooperation on connectivity, security during Chinese FM’s visit")
        #expect(r["section"] == "CHINA / DIPLOMACY")
        #expect(r["published"] == "2025-11-20T22:10:00")
        #expect(r["published_text"] == "Nov 20, 2025 10:10 PM")
        #expect(r["captions"] == [[
            "text": "Chinese Foreign Minister Wang Yi meets with Kyrgyz President Sadyr Japarov in Bishkek, on November 19, 2025.",
            "credit": "Chinese Foreign Ministry",
        ]])
        #expect(r["paragraphs"]?.arrayValue?.count == 14)
        #expect(r["word_count"] == 672)
        #expect(r["authors"] == [])
        #expect(r["source"] == "000_e1f4b45fb3361e3f.txt")
        let first = r["paragraphs"]?.arrayValue?.first?.stringValue ?? ""
        #expect(first.hasPrefix("China and Kyrgyzstan pledged on Wednesday local time"))
        #expect(!first.hasSuffix(" "), "the no-break space at the end of the paragraph is trimmed")
        let last = r["paragraphs"]?.arrayValue?.last?.stringValue ?? ""
        #expect(last.hasSuffix("based on Chinese statistics."))
    }

    static func expectedName(_ article: String) -> String {
        ((article as NSString).deletingPathExtension) + ".expected.json"
    }

    /// `field: expected …, got …`, and for arrays the first differing element.
    static func diff(field: String, expected: Value, actual: Value?) -> String {
        var line = "  \(field): expected \(json(expected))\n  \(String(repeating: " ", count: field.count))   got      \(json(actual))"
        if case .array(let want) = expected, case .array(let got)? = actual {
            if want.count != got.count { line += "\n    (\(want.count) expected items, \(got.count) found)" }
            for (i, pair) in zip(want, got).enumerated() where pair.0 != pair.1 {
                line += "\n    first difference at [\(i)]: expected \(json(pair.0))\n                          got      \(json(pair.1))"
                break
            }
        }
        return line
    }
}
