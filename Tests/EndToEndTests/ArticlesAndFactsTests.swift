import Foundation
import SluiceCore
import SluiceFormats
import SluiceTestSupport
import Testing

@Suite("Articles and the shipped rule pack, through the built binary")
struct ArticlesAndFactsTests {
    static let fixtures = Sluice.repository + "/Tests/Fixtures"

    /// The expected facts, and a check that `record` has exactly those values for those fields.
    func expectFacts(in record: Value, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = try JSONReader.parse(String(contentsOfFile: Self.fixtures + "/extract_facts/seed.expected.json", encoding: .utf8))
        for (field, value) in try #require(expected.objectValue) {
            #expect(record[field].map { JSONWriter.string($0) } == JSONWriter.string(value), "field \(field)",
                    sourceLocation: sourceLocation)
        }
        // The fact fields are appended in one fixed order (Lua's pairs() order changes per process).
        let order = ["money", "percentages", "people", "quotes", "organizations", "places", "countries", "dates"]
        let keys = try #require(record.objectValue).keys.filter { order.contains($0) }
        #expect(Array(keys) == order, "fact fields in a fixed order", sourceLocation: sourceLocation)
    }

    @Test("sluice try: extract_facts.lua yields exactly the hand-written facts for the seed")
    func seedFactsThroughTry() throws {
        let dir = try Sluice.workspace()
        let result = try Sluice.run(["try", "Scripts/extract_facts.lua", "--input", Self.fixtures + "/extract_facts/seed.input.jsonl"],
                                    in: dir.path)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.lines
        #expect(lines.count == 1)
        try expectFacts(in: try JSONReader.parse(lines[0]))
    }

    @Test("the rule pack's own suite (Scripts/tests/run.lua) passes under lua5.4")
    func rulePackSuite() throws {
        let lua = "/usr/bin/lua5.4"
        try #require(FileManager.default.isExecutableFile(atPath: lua), "needs the stock interpreter: make deps installs lua5.4")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: lua)
        process.arguments = ["Scripts/tests/run.lua"]
        process.currentDirectoryURL = URL(fileURLWithPath: Sluice.repository)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains(" passed, 0 failed"), "\(text)")
    }

    @Test("the demo pipeline (text_articles → extract_facts) yields the same facts for the seed")
    func seedFactsThroughPipeline() throws {
        let dir = try Sluice.workspace()
        let result = try Sluice.run(["run", "examples/articles.yaml", "--progress", "never"], in: dir.path)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = try String(contentsOfFile: dir.file("out/articles.jsonl"), encoding: .utf8).lines
        try expectFacts(in: try JSONReader.parse(lines[0]))
    }

    @Test("a folder of every article shape plus an empty and a binary file: exit 3, one dead letter each, a row for every other")
    func corpusWithBadFiles() throws {
        let dir = TemporaryDirectory()
        let corpus = Self.fixtures + "/articles"
        let articles = try FileManager.default.contentsOfDirectory(atPath: corpus).filter { $0.hasSuffix(".txt") || $0.hasSuffix(".md") }
        #expect(articles.count >= 20)
        try FileManager.default.createDirectory(atPath: dir.file("in"), withIntermediateDirectories: true)
        for name in articles { try FileManager.default.copyItem(atPath: corpus + "/" + name, toPath: dir.file("in/" + name)) }
        try FileManager.default.copyItem(atPath: Sluice.repository + "/seeds/000_e1f4b45fb3361e3f.txt", toPath: dir.file("in/seed.txt"))
        try dir.write("in/empty.txt", "")
        try dir.write("in/binary.txt", Data([0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00] + Array(repeating: 0, count: 64)))
        try dir.write("p.yaml", """
            dead_letter: out/dead.jsonl
            sources:
              articles: { type: text_articles, path: in }
            sinks:
              db: { type: sqlite, inputs: [articles], path: out/a.db, table: articles, key: id }
            """)
        let result = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(result.status == 3, "stderr: \(result.stderr)")
        let dead = try String(contentsOfFile: dir.file("out/dead.jsonl"), encoding: .utf8).lines.map { try JSONReader.parse($0) }
        #expect(dead.count == 2)
        let byFile = Dictionary(uniqueKeysWithValues: dead.compactMap { d in d["location"]?.stringValue.map { ($0, d) } })
        #expect(byFile.keys.contains { $0.hasPrefix("empty.txt") })
        #expect(byFile.keys.contains { $0.hasPrefix("binary.txt") })
        #expect(dead.allSatisfy { $0["stage"] == "articles" })
        #expect(dead.contains { $0["error"]?.stringValue?.contains("empty") == true })
        #expect(dead.contains { $0["error"]?.stringValue?.contains("binary") == true })
        // Every good file is a row, but 06 (UTF-8, BOM, CRLF) and 07 (Windows-1252) are the same
        // article saved twice: same id, so the keyed sink keeps one row for both.
        let rows = try SQLiteRows.query(dir.file("out/a.db"), "SELECT source FROM articles ORDER BY source")
        #expect(rows.count == articles.count + 1 - 1)
        #expect(result.stderr.contains("\(articles.count + 3) records read"))
    }
}
