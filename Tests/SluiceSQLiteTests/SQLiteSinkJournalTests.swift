import Foundation
import Testing
import SluiceCore
import SluiceRuntime
import SluiceTestSupport
@testable import SluiceSQLite

@Suite("sqlite sink: journal and page size")
struct SQLiteSinkJournalTests {
    /// Opens a writer, writes and commits one batch, and returns what another connection sees
    /// of the database while the writer is still open, then closes the writer.
    func whileOpen(_ sink: SQLiteSink, _ check: () throws -> Void) throws {
        let state = TemporaryDirectory()
        let writer = try sink.makeWriter(StageContext(name: "db", dataDirectory: state.path))
        try writer.write([record(["id": 1, "text": "one"]), record(["id": 2, "text": "two"])])
        try writer.flush()
        try check()
        try writer.close()
    }

    @Test("a database the sink creates is filled with a rollback journal and 32 KiB pages, and left in WAL mode")
    func newDatabase() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("out/new.db")
        try whileOpen(SQLiteSink(path: db, table: "t", key: ["id"])) { () throws in
            #expect(try rows(db, "PRAGMA journal_mode") == [["delete"]])
            #expect(try rows(db, "PRAGMA page_size") == [[32_768]])
        }
        #expect(try rows(db, "PRAGMA journal_mode") == [["wal"]])
        #expect(try rows(db, "SELECT id, text FROM t ORDER BY id") == [[1, "one"], [2, "two"]])
        // The bookkeeping table of delivery marks lives in the same (32 KiB-page) database.
        #expect(try rows(db, "SELECT count(*) FROM sqlite_master WHERE name = '_sluice_delivered'") == [[1]])
    }

    @Test("the cache option sets SQLite's page cache of the sink's connection, in KiB whatever the page size, with a floor")
    func cacheOption() throws {
        let dir = TemporaryDirectory()
        let options = StageHarness.options(["path": .string(dir.file("c.db")), "table": "t", "cache": 1_048_576],
                                           type: "sqlite", kind: .sink, directory: dir.path)
        let sink = try SQLiteSink(stageOptions: options)
        #expect(sink.cache == 1 << 20)
        let state = TemporaryDirectory()
        let writer = try #require(sink.makeWriter(StageContext(name: "db", dataDirectory: state.path)) as? SQLiteSinkWriter)
        #expect(try writer.db.strings("PRAGMA cache_size") == ["-1024"])
        try writer.write((1...500).map { record(["id": .int(Int64($0)), "text": .string(String(repeating: "x", count: 2_000))]) })
        try writer.flush()
        try writer.close()
        #expect(try rows(dir.file("c.db"), "SELECT count(*) FROM t") == [[500]])
        let small = StageHarness.options(["path": .string(dir.file("d.db")), "table": "t", "cache": 1_000],
                                         type: "sqlite", kind: .sink, directory: dir.path)
        #expect {
            _ = try SQLiteSink(stageOptions: small)
        } throws: { error in
            "\(error)".contains("option 'cache' must be at least 65536 bytes, not 1000")
        }
        #expect(SQLiteSink(path: "x.db", table: "t").cache == nil, "grown from SQLite's own default")
    }

    @Test("a database with content is written in WAL mode and keeps its page size")
    func existingDatabase() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("old.db")
        try exec(db, "PRAGMA page_size = 4096; CREATE TABLE other (x INTEGER); INSERT INTO other VALUES (1);")
        try whileOpen(SQLiteSink(path: db, table: "t")) { () throws in
            #expect(try rows(db, "PRAGMA journal_mode") == [["wal"]])
        }
        #expect(try rows(db, "PRAGMA page_size") == [[4096]])
        #expect(try rows(db, "SELECT count(*) FROM t") == [[2]])
    }

    @Test("journal: wal uses WAL from the start on a new database; journal: delete keeps the rollback journal on an existing one")
    func explicitModes() throws {
        let dir = TemporaryDirectory()
        let walDB = dir.file("wal.db")
        try whileOpen(SQLiteSink(path: walDB, table: "t", journal: .wal)) { () throws in
            #expect(try rows(walDB, "PRAGMA journal_mode") == [["wal"]])
        }
        #expect(try rows(walDB, "PRAGMA page_size") == [[32_768]])
        let deleteDB = dir.file("delete.db")
        try exec(deleteDB, "PRAGMA journal_mode = WAL; CREATE TABLE other (x INTEGER);")
        try whileOpen(SQLiteSink(path: deleteDB, table: "t", journal: .delete)) { () throws in
            #expect(try rows(deleteDB, "PRAGMA journal_mode") == [["delete"]])
        }
        #expect(try rows(deleteDB, "PRAGMA journal_mode") == [["delete"]])
    }

    @Test("the journal option is read from the config and checked against its values")
    func option() throws {
        let registry = try StageRegistry(plugins: [SQLitePlugin.self])
        let dir = TemporaryDirectory()
        for (text, expected) in [("wal", SQLiteSink.Journal.wal), ("delete", .delete), ("auto", .auto)] {
            let yaml = """
                sources:
                  s: { type: sqlite, path: in.db, table: a }
                sinks:
                  q: { type: sqlite, inputs: [s], path: out.db, table: b, journal: \(text) }
                """
            let pipeline = try ConfigLoader(registry: registry, variables: [:]).load(yaml: yaml, file: dir.file("p.yaml"),
                                                                                   baseDirectory: dir.path)
            guard case .sink(let built)? = pipeline.stages.first(where: { $0.name == "q" })?.stage,
                  let sink = built as? SQLiteSink else {
                Issue.record("no sqlite sink built")
                continue
            }
            #expect(sink.journal == expected)
        }
        let bad = """
            sources:
              s: { type: sqlite, path: in.db, table: a }
            sinks:
              q: { type: sqlite, inputs: [s], path: out.db, table: b, journal: memory }
            """
        #expect(throws: (any Error).self) {
            try ConfigLoader(registry: registry, variables: [:]).load(yaml: bad, file: dir.file("p.yaml"), baseDirectory: dir.path)
        }
    }
}
