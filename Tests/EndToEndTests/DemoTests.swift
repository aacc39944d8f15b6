import Foundation
import SluiceCore
import SluiceFormats
import SluiceTestSupport
import Testing

@Suite("The demo pipeline on the seed, through the built binary")
struct DemoTests {
    @Test("the seed article lands in SQLite with its fields and the facts the Lua rule found")
    func seedToSQLite() throws {
        let dir = try Sluice.workspace()
        let result = try Sluice.run(["run", "examples/articles.yaml", "--progress", "never"], in: dir.path)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("1 record read, 2 written by 2 sinks"))

        let rows = try SQLiteRows.query(dir.file("out/articles.db"), """
            SELECT id, title, section, published, json_array_length(paragraphs) AS paragraphs, word_count,
                   money, percentages FROM articles
            """)
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(row["title"] == "China, Kyrgyzstan vow deeper cooperation on connectivity, security during Chinese FM’s visit")
        #expect(row["section"] == "CHINA / DIPLOMACY")
        #expect(row["published"] == "2025-11-20T22:10:00")
        #expect(row["paragraphs"] == 14)
        #expect(row["word_count"] == 672)
        let money = try JSONReader.parse(try #require(row["money"]?.stringValue))
        let amounts = (money.arrayValue ?? []).compactMap { m -> String? in
            guard let text = m["text"]?.stringValue, let value = m["value"] else { return nil }
            return "\(text)=\(value)"
        }
        #expect(amounts == ["$14.25 billion=14250000000", "$10.36 billion=10360000000", "$3.89 billion=3890000000"])
        let percentages = try JSONReader.parse(try #require(row["percentages"]?.stringValue))
        #expect(percentages == [53.8, 13.1])

        let lines = try String(contentsOfFile: dir.file("out/articles.jsonl"), encoding: .utf8).lines
        #expect(lines.count == 1)
        let record = try JSONReader.parse(lines[0])
        #expect(record["id"] == row["id"])

        // Full-text search is in sync.
        let hits = try SQLiteRows.query(dir.file("out/articles.db"),
                                        "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'Bishkek'")
        #expect(hits.count == 1)
    }

    @Test("running the demo twice keeps one row per article (the sink upserts on id)")
    func rerunUpserts() throws {
        let dir = try Sluice.workspace()
        for _ in 0..<2 {
            let result = try Sluice.run(["run", "examples/articles.yaml", "--progress", "never"], in: dir.path)
            #expect(result.status == 0, "stderr: \(result.stderr)")
        }
        let rows = try SQLiteRows.query(dir.file("out/articles.db"), "SELECT count(*) AS n FROM articles")
        #expect(rows.first?["n"] == 1)
    }

    @Test("the demo config validates silently and its tests pass")
    func validateAndTest() throws {
        let dir = try Sluice.workspace()
        let validate = try Sluice.run(["validate", "examples/articles.yaml"], in: dir.path)
        #expect(validate.status == 0)
        #expect(validate.stdout.isEmpty && validate.stderr.isEmpty)
        let test = try Sluice.run(["test", "examples/articles.yaml"], in: dir.path)
        #expect(test.status == 0, "\(test.stdout)\(test.stderr)")
        #expect(test.stdout.lines.last == "2 passed, 0 failed")
    }
}
