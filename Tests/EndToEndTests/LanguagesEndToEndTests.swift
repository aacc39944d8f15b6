import Foundation
import SluiceTestSupport
import Testing

/// A folder of articles in six languages lands in SQLite with dates, authors, languages and
/// money filled in, and full-text search finds Chinese words (issue 12).
@Suite("mixed-language articles into SQLite with trigram search")
struct LanguagesEndToEndTests {
    @Test("six languages: published, language and money filled; a Chinese query finds the Chinese article with fts_tokenizer: trigram")
    func mixedFolder() throws {
        let dir = try Sluice.workspace()
        let fixtures = Sluice.repository + "/Tests/Fixtures/articles"
        try FileManager.default.createDirectory(atPath: dir.file("mixed"), withIntermediateDirectories: true)
        for name in ["zh_01_xinhua_dateline_source", "ru_02_tass_moscow_time", "fr_01_lemonde_par_et", "de_01_von_und_veroeffentlicht",
                     "es_01_por_y_madrid"] {
            try FileManager.default.copyItem(atPath: "\(fixtures)/\(name).txt", toPath: dir.file("mixed/\(name).txt"))
        }
        try FileManager.default.copyItem(atPath: dir.file("seeds/000_e1f4b45fb3361e3f.txt"), toPath: dir.file("mixed/en_seed.txt"))
        try dir.write("p.yaml", """
            sources:
              articles: { type: text_articles, path: mixed }
            transforms:
              facts: { type: lua, inputs: [articles], script: Scripts/extract_facts.lua }
            sinks:
              db: { type: sqlite, inputs: [facts], path: out.db, table: articles, key: id, fts: [title, body], fts_tokenizer: trigram }
            """)
        let run = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let rows = try SQLiteRows.query(dir.file("out.db"), "SELECT language, published, money FROM articles ORDER BY language")
        #expect(rows.compactMap { $0["language"]?.stringValue } == ["de", "en", "es", "fr", "ru", "zh"], "\(rows)")
        #expect(rows.allSatisfy { $0["published"]?.stringValue != nil }, "\(rows)")
        let zh = try #require(rows.first { $0["language"] == "zh" })
        #expect(zh["money"]?.stringValue?.contains("14250000000") == true, "142.5亿美元: \(zh)")
        let hits = try SQLiteRows.query(dir.file("out.db"),
            "SELECT language FROM articles WHERE rowid IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH '扎帕罗夫')")
        #expect(hits.map { $0["language"] } == ["zh"])
    }
}
