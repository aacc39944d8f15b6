import Foundation
import Testing
import SluiceCore
import SluiceRuntime
import SluiceTestSupport
@testable import SluiceSQLite

@Suite("sqlite stages in a pipeline")
struct SQLitePipelineTests {
    @Test("a config copies a table into another database with a key and FTS; a second run skips the rows the sink committed")
    func configRun() throws {
        let dir = TemporaryDirectory()
        let source = dir.file("in.db")
        try exec(source, """
            CREATE TABLE docs (id TEXT, title TEXT, tags TEXT);
            INSERT INTO docs VALUES ('a', 'Rail news', '["x"]'), ('b', 'Port news', '[]');
            """)
        let yaml = """
            sources:
              docs:
                type: sqlite
                path: in.db
                table: docs
                json_columns: [tags]
            sinks:
              db:
                type: sqlite
                inputs: [docs]
                path: out/out.db
                table: copy
                key: id
                fts: [title]
                indexes: [title]
            """
        let loader = ConfigLoader(registry: try StageRegistry(plugins: [SQLitePlugin.self]), variables: [:])
        for run in 0..<2 {
            let pipeline = try loader.load(yaml: yaml, file: dir.file("p.yaml"), baseDirectory: dir.path)
            let result = PipelineRunner(pipeline: pipeline, deadLetters: CollectingDeadLetterQueue()).run()
            #expect(result.failure == nil)
            // No checkpoint store: the source reads everything again, the sink's marks skip it.
            #expect(result.delivered == (run == 0 ? 2 : 0))
            #expect(result.skipped == (run == 0 ? 0 : 2))
        }
        let out = dir.file("out/out.db")
        #expect(try rows(out, "SELECT id, title, tags FROM copy ORDER BY id") == [["a", "Rail news", "[\"x\"]"], ["b", "Port news", "[]"]])
        #expect(try rows(out, "SELECT rowid FROM copy_fts WHERE copy_fts MATCH 'rail'") == [[1]])
    }

    @Test("one database read (table a) and written (table b) in one run, in rollback-journal mode, with more rows than fit in the queues")
    func readAndWriteOneDatabase() throws {
        for round in 0..<3 {
            let dir = TemporaryDirectory()
            let db = dir.file("one.db")
            var sql = "PRAGMA journal_mode = DELETE; CREATE TABLE a (id INTEGER, v TEXT); BEGIN;"
            for i in 0..<20_000 { sql += "INSERT INTO a VALUES (\(i), 'x');" }
            try exec(db, sql + "COMMIT;")
            let yaml = """
                sources:
                  s: { type: sqlite, path: one.db, table: a }
                sinks:
                  q: { type: sqlite, inputs: [s], path: one.db, table: b, batch_size: 500 }
                """
            let loader = ConfigLoader(registry: try StageRegistry(plugins: [SQLitePlugin.self]), variables: [:])
            let pipeline = try loader.load(yaml: yaml, file: dir.file("p.yaml"), baseDirectory: dir.path)
            var options = RunOptions()
            options.channelCapacity = 2
            let result = PipelineRunner(pipeline: pipeline, options: options, deadLetters: CollectingDeadLetterQueue()).run()
            #expect(result.failure == nil, "round \(round): \(String(describing: result.failure))")
            #expect(try rows(db, "SELECT count(*), min(id), max(id) FROM b") == [[20_000, 0, 19_999]])
        }
    }

    @Test("reading and appending to the same table ends: rows added during the run are not read back; the lowest possible rowid is read")
    func sameTableReadAndWritten() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("one.db")
        var sql = "CREATE TABLE t (n INTEGER, v TEXT); INSERT INTO t (rowid, n, v) VALUES (-9223372036854775808, 0, 'min'); BEGIN;"
        for i in 1...3_000 { sql += "INSERT INTO t VALUES (\(i), 'x');" }
        try exec(db, sql + "COMMIT;")
        let loader = ConfigLoader(registry: try StageRegistry(plugins: [SQLitePlugin.self]), variables: [:])
        let yaml = """
            sources:
              s: { type: sqlite, path: one.db, table: t }
            sinks:
              q: { type: sqlite, inputs: [s], path: one.db, table: t, batch_size: 100 }
            """
        let pipeline = try loader.load(yaml: yaml, file: dir.file("p.yaml"), baseDirectory: dir.path)
        var options = RunOptions()
        options.channelCapacity = 2
        options.batchSize = 100
        let result = PipelineRunner(pipeline: pipeline, options: options, deadLetters: CollectingDeadLetterQueue()).run()
        #expect(result.failure == nil)
        #expect(result.read == 3_001)
        // Every row once more, the row with the lowest possible rowid included.
        #expect(try rows(db, "SELECT count(*), sum(n = 0) FROM t") == [[6_002, 2]])
    }

    @Test("with checkpoints, a re-run reads only the rows added since (by rowid) and the rows added or changed since (incremental)")
    func rerunsWithCheckpoints() throws {
        let dir = TemporaryDirectory()
        let input = dir.file("in.db")
        try exec(input, """
            CREATE TABLE docs (id INTEGER PRIMARY KEY, v TEXT, updated INTEGER);
            INSERT INTO docs VALUES (1, 'a', 10), (2, 'b', 20), (3, 'c', 30);
            """)
        let yaml = """
            sources:
              all: { type: sqlite, path: in.db, table: docs }
              changed: { type: sqlite, path: in.db, table: docs, incremental: updated }
            sinks:
              a: { type: sqlite, inputs: [all], path: out.db, table: a }
              c: { type: sqlite, inputs: [changed], path: out.db, table: c }
            """
        let loader = ConfigLoader(registry: try StageRegistry(plugins: [SQLitePlugin.self]), variables: [:])
        func run() throws -> RunResult {
            let pipeline = try loader.load(yaml: yaml, file: dir.file("p.yaml"), baseDirectory: dir.path)
            var options = RunOptions()
            options.store = try SQLiteCheckpointStore(path: dir.file("state.db"))
            return PipelineRunner(pipeline: pipeline, options: options, deadLetters: CollectingDeadLetterQueue()).run()
        }
        let first = try run()
        #expect(first.failure == nil)
        #expect(first.delivered == 6)
        try exec(input, "INSERT INTO docs VALUES (4, 'd', 15); UPDATE docs SET v = 'a2', updated = 40 WHERE id = 1;")
        let second = try run()
        #expect(second.failure == nil)
        #expect(second.read == 2)   // row 4 by rowid; by `updated` only row 1 (15 is below the last value, 30)
        #expect(second.skipped == 0)
        let out = dir.file("out.db")
        #expect(try rows(out, "SELECT id, v FROM a ORDER BY rowid") == [[1, "a"], [2, "b"], [3, "c"], [4, "d"]])
        #expect(try rows(out, "SELECT id, v FROM c ORDER BY rowid") == [[1, "a"], [2, "b"], [3, "c"], [1, "a2"]])
        let third = try run()
        #expect(third.read == 0 && third.delivered == 0)
    }

    @Test("a source with both table and query is refused when the config loads")
    func tableAndQuery() throws {
        let dir = TemporaryDirectory()
        let yaml = """
            sources:
              docs:
                type: sqlite
                path: in.db
                table: docs
                query: SELECT 1
            sinks:
              db:
                type: sqlite
                inputs: [docs]
                path: out.db
                table: t
            """
        let loader = ConfigLoader(registry: try StageRegistry(plugins: [SQLitePlugin.self]), variables: [:])
        do {
            _ = try loader.load(yaml: yaml, file: "p.yaml", baseDirectory: dir.path)
            Issue.record("expected a config error")
        } catch {
            #expect(error.description.contains("p.yaml:6:12: error: source 'docs': give either 'table' or 'query', not both"))
        }
    }

    @Test("indexes: one field as a plain string loads through the config; two lists that would share an index name are refused at their place")
    func indexesOptionForms() throws {
        let dir = TemporaryDirectory()
        let loader = ConfigLoader(registry: try StageRegistry(plugins: [SQLitePlugin.self]), variables: [:])
        func yaml(_ indexes: String) -> String {
            """
            sources:
              docs: { type: sqlite, path: in.db, table: t }
            sinks:
              db:
                type: sqlite
                inputs: [docs]
                path: out.db
                table: t
                indexes: \(indexes)
            """
        }
        let pipeline = try loader.load(yaml: yaml("title"), file: "p.yaml", baseDirectory: dir.path)
        #expect(pipeline.stages.count == 2)
        do {
            _ = try loader.load(yaml: yaml("[a_b, [a, b]]"), file: "p.yaml", baseDirectory: dir.path)
            Issue.record("expected a config error")
        } catch {
            #expect(error.description.contains("p.yaml:9:"))
            #expect(error.description.contains("items 1 and 2 would both be named 'idx_t_a_b'"), "\(error)")
        }
        do {
            _ = try loader.load(yaml: yaml("{a: 1}"), file: "p.yaml", baseDirectory: dir.path)
            Issue.record("expected a config error")
        } catch {
            #expect(error.description.contains("option 'indexes' must be a field or a list of fields"), "\(error)")
        }
    }
}
