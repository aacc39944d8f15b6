import Foundation
import Testing
import SluiceCore
import SluiceTestSupport
@testable import SluiceSQLite

/// The sink indexes the rows it inserts at each commit instead of row by row; these hold the
/// index to the table whatever happens to a row inside one transaction.
@Suite("sqlite sink: full-text index written at commit")
struct FTSDeferredTests {
    /// FTS5's check of the index against the content table (throws when they differ).
    static func checkIndex(_ db: String, _ fts: String = "t_fts") throws {
        _ = try rows(db, "INSERT INTO \(fts)(\(fts), rank) VALUES ('integrity-check', 1)")
    }

    static func match(_ db: String, _ words: String) throws -> [Value] {
        try rows(db, "SELECT t.id FROM t_fts f JOIN t ON t.rowid = f.rowid WHERE t_fts MATCH '\(words)' ORDER BY t.id").map { $0[0] }
    }

    @Test("rows inserted and then updated in the same transaction, and rows that were there before, are found by their last words only")
    func insertThenUpdateInOneTransaction() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let sink = SQLiteSink(path: db, table: "t", key: ["id"], fts: ["body"])
        _ = try StageHarness.deliver([record(["id": "0", "body": "figs"])], to: sink)
        // One writer, one transaction, two batches: id 1 is inserted then updated twice, id 3
        // inserted then updated in the next batch, id 0 (committed before) updated.
        let letters = try StageHarness.deliver([
            record(["id": "1", "body": "apples"]), record(["id": "2", "body": "bananas"]),
            record(["id": "1", "body": "cherries"]), record(["id": "3", "body": "dates"]),
            record(["id": "0", "body": "grapes"]), record(["id": "1", "body": "cherries and kiwis"]),
            record(["id": "3", "body": "elderberries"]),
        ], to: sink, batchSize: 6)
        #expect(letters.isEmpty)
        try Self.checkIndex(db)
        #expect(try Self.match(db, "apples") == [])
        #expect(try Self.match(db, "cherries") == ["1"])
        #expect(try Self.match(db, "kiwis") == ["1"])
        #expect(try Self.match(db, "bananas") == ["2"])
        #expect(try Self.match(db, "dates") == [])
        #expect(try Self.match(db, "elderberries") == ["3"])
        #expect(try Self.match(db, "figs") == [])
        #expect(try Self.match(db, "grapes") == ["0"])
    }

    @Test("on_conflict: replace takes the replaced row's words out of the index, in one transaction and across runs")
    func replaceKeepsIndexInStep() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let sink = SQLiteSink(path: db, table: "t", key: ["id"], fts: ["body"], onConflict: .replace)
        _ = try StageHarness.deliver([record(["id": "1", "body": "apple pie"]), record(["id": "1", "body": "banana split"])],
                                     to: sink)
        _ = try StageHarness.deliver([record(["id": "2", "body": "cherry tart"])], to: sink)
        _ = try StageHarness.deliver([record(["id": "2", "body": "date loaf"])], to: sink)
        try Self.checkIndex(db)
        #expect(try Self.match(db, "apple") == [])
        #expect(try Self.match(db, "banana") == ["1"])
        #expect(try Self.match(db, "cherry") == [])
        #expect(try Self.match(db, "date") == ["2"])
        #expect(try rows(db, "SELECT count(*) FROM t") == [[2]])
    }

    @Test("a table's own trigger that updates the row it fires on still works: the sink does not turn on recursive triggers",
          arguments: [SQLiteSink.OnConflict.update, .replace])
    func ownSelfUpdatingTriggerStillWorks(onConflict: SQLiteSink.OnConflict) throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        try exec(db, """
            CREATE TABLE t (id TEXT PRIMARY KEY, body TEXT, touched INTEGER DEFAULT 0);
            CREATE TRIGGER t_touch AFTER UPDATE ON t BEGIN UPDATE t SET touched = touched + 1 WHERE rowid = new.rowid; END;
            """)
        let sink = SQLiteSink(path: db, table: "t", key: ["id"], fts: ["body"], onConflict: onConflict)
        #expect(try StageHarness.deliver([record(["id": "1", "body": "apple"])], to: sink).isEmpty)
        #expect(try StageHarness.deliver([record(["id": "1", "body": "banana"])], to: sink).isEmpty)
        #expect(try rows(db, "SELECT body FROM t") == [["banana"]])
        #expect(try rows(db, "SELECT touched FROM t") == [[onConflict == .update ? 1 : 0]])
        try Self.checkIndex(db)
        #expect(try Self.match(db, "apple") == [])
        #expect(try Self.match(db, "banana") == ["1"])
    }

    @Test("after the sink commits, the insert trigger is back (another program's rows are indexed) and no temporary trigger is left")
    func triggerBackAfterCommit() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        _ = try StageHarness.deliver((1...300).map { record(["id": .string("\($0)"), "body": .string("word\($0) common")]) },
                                     to: SQLiteSink(path: db, table: "t", key: ["id"], fts: ["body"], batchSize: 100),
                                     batchSize: 64)
        #expect(try rows(db, "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            == [["t_fts_ad"], ["t_fts_ai"], ["t_fts_au"]])
        #expect(try rows(db, "SELECT count(*) FROM t_fts WHERE t_fts MATCH 'common'") == [[300]])
        #expect(try Self.match(db, "word217") == ["217"])
        try exec(db, "INSERT INTO t (id, body) VALUES ('x', 'written by another program'); UPDATE t SET body = 'changed elsewhere' WHERE id = '5'")
        #expect(try Self.match(db, "program") == ["x"])
        #expect(try Self.match(db, "elsewhere") == ["5"])
        #expect(try Self.match(db, "word5") == [])
        try Self.checkIndex(db)
    }

    @Test("a table without a key (plain inserts) is indexed at commit too")
    func appendOnlyTable() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let sink = SQLiteSink(path: db, table: "t", fts: ["body"])
        _ = try StageHarness.deliver([record(["id": "a", "body": "one two"]), record(["id": "b", "body": "two three"])], to: sink)
        _ = try StageHarness.deliver([record(["id": "c", "body": "three four"])], to: sink)
        try Self.checkIndex(db)
        #expect(try Self.match(db, "three") == ["b", "c"])
        #expect(try Self.match(db, "one") == ["a"])
    }

    @Test("a long transaction indexes its rows in steps while it goes on; rows updated, replaced or deleted after their step or before it stay in step", arguments: [SQLiteSink.OnConflict.update, .replace])
    func stepsInsideOneTransaction(onConflict: SQLiteSink.OnConflict) throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let step = SQLiteSinkWriter.indexNotedEvery
        let count = step * 2 + step / 2
        // One transaction (batch_size far above the records), delivered 100 records at a time:
        // two steps index rows 1…2·step, the rest at COMMIT.
        let sink = SQLiteSink(path: db, table: "t", key: ["id"], fts: ["body"], batchSize: 100_000, onConflict: onConflict)
        var records = (1...count).map { record(["id": .string("\($0)"), "body": .string("word\($0) common")]) }
        // After both steps: a row indexed in the first step, one noted after the second, each
        // written again.
        records.append(record(["id": "10", "body": "changed ten"]))
        records.append(record(["id": .string("\(count - 1)"), "body": "changed late"]))
        let letters = try StageHarness.deliver(records, to: sink, batchSize: 100)
        #expect(letters.isEmpty)
        try Self.checkIndex(db)
        #expect(try rows(db, "SELECT count(*) FROM t_fts WHERE t_fts MATCH 'common'") == [[.int(Int64(count - 2))]])
        #expect(try Self.match(db, "word10") == [])
        #expect(try Self.match(db, "ten") == ["10"])
        #expect(try Self.match(db, "word\(count - 1)") == [])
        #expect(try Self.match(db, "late") == [.string("\(count - 1)")])
        #expect(try Self.match(db, "word\(step + 1)") == [.string("\(step + 1)")])
        #expect(try rows(db, "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            == [["t_fts_ad"], ["t_fts_ai"], ["t_fts_au"]])
        // Deleted by another program afterwards: the delete trigger takes out what the steps put in.
        try exec(db, "DELETE FROM t WHERE id IN ('1', '\(step * 2)')")
        try Self.checkIndex(db)
        #expect(try Self.match(db, "word1") == [])
    }

    @Test("inside one transaction the rows are indexed after the batch that brings the noted rows to indexNotedEvery, before COMMIT")
    func indexedInStepsBeforeCommit() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let step = SQLiteSinkWriter.indexNotedEvery
        let sink = SQLiteSink(path: db, table: "t", key: ["id"], fts: ["body"], batchSize: 100_000)
        let made = try sink.makeWriter(StageContext(name: "sink", dataDirectory: dir.file("state"),
                                                    deadLetters: CollectingDeadLetterQueue()))
        let writer = try #require(made as? SQLiteSinkWriter)
        // What the writer's own connection finds, inside its open transaction.
        func indexed() throws -> String? {
            try writer.db.strings("SELECT count(*) FROM t_fts WHERE t_fts MATCH 'common'").first
        }
        var next = 1
        func write(_ n: Int) throws {
            try writer.write((next..<(next + n)).map { record(["id": .string("\($0)"), "body": "common"]) })
            next += n
        }
        try write(step - 1)
        #expect(try indexed() == "0")
        try write(2)
        #expect(try indexed() == "\(step + 1)")
        try write(step - 1)
        #expect(try indexed() == "\(step + 1)")
        try writer.close()
        #expect(try rows(db, "SELECT count(*) FROM t_fts WHERE t_fts MATCH 'common'") == [[.int(Int64(2 * step))]])
        try Self.checkIndex(db)
    }

    @Test("records dead-lettered inside a transaction indexed in steps (a null key) name their problem, and every other row is stored and indexed")
    func deadLettersBetweenSteps() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let count = SQLiteSinkWriter.indexNotedEvery * 3
        let sink = SQLiteSink(path: db, table: "t", key: ["id"], fts: ["body"], batchSize: 100_000)
        // Every 97th record has a null key, so bad records fall on both sides of each step.
        let records = (1...count).map { n in
            record(["id": n % 97 == 0 ? .null : .string("\(n)"), "body": .string("common word\(n)")])
        }
        let letters = try StageHarness.deliver(records, to: sink, batchSize: 100)
        let bad = (1...count).filter { $0 % 97 == 0 }
        #expect(letters.count == bad.count)
        #expect(letters.allSatisfy { $0.error == "key field 'id' is null" })
        try Self.checkIndex(db)
        #expect(try rows(db, "SELECT count(*) FROM t") == [[.int(Int64(count - bad.count))]])
        #expect(try rows(db, "SELECT count(*) FROM t_fts WHERE t_fts MATCH 'common'") == [[.int(Int64(count - bad.count))]])
        #expect(try Self.match(db, "word96") == ["96"])
        #expect(try Self.match(db, "word98") == ["98"])
        #expect(try Self.match(db, "word97") == [])
    }
}
