import Foundation
import Testing
import SluiceCore
import SluiceTestSupport
@testable import SluiceSQLite

@Suite("sqlite source: checkpoints and positions")
struct SQLiteSourceDeliveryTests {
    @Test("positions are (table, epoch, rowid); each batch carries the checkpoint of the next rowid; a re-run resumes after it and reads only new rows")
    func resumesAfterRowidCheckpoint() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("in.db")
        try exec(db, "CREATE TABLE t (n INTEGER); INSERT INTO t (rowid, n) VALUES (1, 1), (2, 2), (3, 3), (5, 5), (9, 9);")
        let source = SQLiteSource(path: db, table: "t")
        let first = try readDelivering(source, baseEpoch: 3, batchSize: 2)
        #expect(first.records.map(\.origin.position) == [1, 2, 3, 5, 9].map { Position(input: "t", epoch: 3, offset: $0) })
        for batch in first.batches where !batch.records.isEmpty {
            // The checkpoint that goes with a batch is the rowid after its last row.
            #expect(batch.checkpoints.map(\.offset) == [(batch.records.last?.origin.row ?? 0) + 1])
        }
        let saved = try #require(first.last["t"])
        #expect(saved.offset == 10 && saved.epoch == 3 && saved.records == 5)

        try exec(db, "INSERT INTO t (rowid, n) VALUES (10, 10), (12, 12);")
        let second = try readDelivering(source, saved: [saved], baseEpoch: 3)
        #expect(second.records.compactMap { $0["n"]?.intValue } == [10, 12])
        #expect(second.records.map(\.origin.position) == [10, 12].map { Position(input: "t", epoch: 3, offset: $0) })
        #expect(second.last["t"]?.offset == 13 && second.last["t"]?.records == 7)

        // A checkpoint in the middle (a crash after the first batch): the rows after it, same positions.
        let middle = try readDelivering(source, saved: [InputCheckpoint(input: "t", epoch: 3, offset: 4, records: 3)], baseEpoch: 3)
        #expect(middle.records.map(\.origin.position) == [5, 9, 10, 12].map { Position(input: "t", epoch: 3, offset: $0) })

        // Checkpoints off: everything, as before, and no checkpoint handed on.
        let off = try readDelivering(source, saved: [saved], enabled: false)
        #expect(off.records.count == 7)
        #expect(off.last.isEmpty)
    }

    @Test("a table whose highest rowid fell below the checkpoint (emptied and reloaded) is read whole as a new version")
    func reloadedTableIsNewVersion() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("in.db")
        try exec(db, "CREATE TABLE t (n INTEGER); INSERT INTO t (n) VALUES (1), (2);")
        let saved = InputCheckpoint(input: "t", epoch: 2, offset: 101, records: 100)
        let box = try readDelivering(SQLiteSource(path: db, table: "t"), saved: [saved])
        #expect(box.records.map(\.origin.position) == [1, 2].map { Position(input: "t", epoch: 3, offset: $0) })
        #expect(box.last["t"]?.records == 2)
    }

    @Test("incremental: rows in (column, rowid) order with ordinal positions; a re-run reads only rows after the last value, updated and new ones")
    func incrementalResumesAfterLastValue() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("in.db")
        try exec(db, """
            CREATE TABLE items (id INTEGER PRIMARY KEY, updated INTEGER, name TEXT);
            INSERT INTO items VALUES (1, 30, 'a'), (2, 10, 'b'), (3, 20, 'c'), (4, 20, 'd'), (5, NULL, 'no time'), (6, 30, 'e');
            """)
        let source = SQLiteSource(path: db, table: "items", incremental: "updated")
        // Pages of 2: the tie at 20 and the one at 30 fall across page boundaries.
        let first = try readDelivering(source, batchSize: 2)
        #expect(first.records.compactMap { $0["name"]?.stringValue } == ["b", "c", "d", "a", "e"])
        #expect(first.records.map(\.origin.position?.offset) == [0, 1, 2, 3, 4])
        #expect(first.records.map(\.origin.row) == [2, 3, 4, 1, 6])
        let saved = try #require(first.last["items"])
        #expect(saved.lastValue == .array(["updated", 30, 6]))
        #expect(saved.offset == 5 && saved.records == 5)

        // Nothing changed: nothing read.
        #expect(try readDelivering(source, saved: [saved]).records.isEmpty)

        try exec(db, "UPDATE items SET updated = 40, name = 'b2' WHERE id = 2; INSERT INTO items VALUES (7, 35, 'f'), (8, 30, 'g');")
        let second = try readDelivering(source, saved: [saved])
        // (30, 8) comes after (30, 6): a tie at the last value with a higher rowid is read.
        #expect(second.records.compactMap { $0["name"]?.stringValue } == ["g", "f", "b2"])
        #expect(second.records.map(\.origin.position) == [5, 6, 7].map { Position(input: "items", epoch: 1, offset: $0) })
        #expect(second.last["items"]?.lastValue == .array(["updated", 40, 2]))
    }

    @Test("positions are the same on every read, and rows read again from a checkpoint in the middle keep theirs (rowid and incremental)")
    func positionsStableAcrossReads() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("in.db")
        var sql = "CREATE TABLE t (id INTEGER, at TEXT); BEGIN;"
        for i in 0..<50 { sql += "INSERT INTO t VALUES (\(i), '2024-01-\(String(format: "%02d", 1 + (i * 7) % 28))');" }
        try exec(db, sql + "COMMIT;")
        for source in [SQLiteSource(path: db, table: "t"), SQLiteSource(path: db, table: "t", incremental: "at")] {
            let once = try readDelivering(source, batchSize: 8)
            let twice = try readDelivering(source, batchSize: 8)
            #expect(once.records.count == 50)
            #expect(once.records.map(\.origin.position) == twice.records.map(\.origin.position))
            #expect(Set(once.records.compactMap(\.origin.position)).count == 50)
            // A run that stopped after the third batch: the next one reads the rest with the same positions.
            let third = try #require(once.batches.filter { !$0.records.isEmpty }.dropFirst(2).first?.checkpoints.first)
            let rest = try readDelivering(source, saved: [third], batchSize: 8)
            #expect(rest.records.map(\.origin.position) == Array(once.records.dropFirst(24).map(\.origin.position)))
            #expect(rest.records.map(\.fields) == Array(once.records.dropFirst(24).map(\.fields)))
        }
    }

    @Test("incremental over a query: wrapped, ordered by the column, resumed after its last value; a query without incremental has no positions")
    func incrementalQuery() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("in.db")
        try exec(db, "CREATE TABLE t (id INTEGER, v TEXT); INSERT INTO t VALUES (3, 'c'), (1, 'a'), (2, 'b');")
        let source = SQLiteSource(path: db, query: "SELECT id, v FROM t WHERE v <> 'zzz' -- only real ones\n;",
                                  incremental: "ID")
        let first = try readDelivering(source)
        #expect(first.records.compactMap { $0["v"]?.stringValue } == ["a", "b", "c"])
        #expect(first.records.map(\.origin.position) == [0, 1, 2].map { Position(input: "query", epoch: 1, offset: $0) })
        let saved = try #require(first.last["query"])
        #expect(saved.lastValue == .array(["id", 3]))
        try exec(db, "INSERT INTO t VALUES (5, 'e'), (4, 'd');")
        let second = try readDelivering(source, saved: [saved])
        #expect(second.records.compactMap { $0["v"]?.stringValue } == ["d", "e"])
        #expect(second.records.map(\.origin.position?.offset) == [3, 4])

        let plain = try readDelivering(SQLiteSource(path: db, query: "SELECT v FROM t"))
        #expect(plain.records.count == 5)
        #expect(plain.records.allSatisfy { $0.origin.position == nil })
        #expect(plain.last.isEmpty)
    }

    @Test("a checkpoint made without incremental, or with another column, starts a new version read whole")
    func changedIncrementalIsNewVersion() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("in.db")
        try exec(db, "CREATE TABLE t (a INTEGER, b INTEGER); INSERT INTO t VALUES (1, 2), (3, 4);")
        let byRowid = InputCheckpoint(input: "t", epoch: 4, offset: 3, records: 2)
        let box = try readDelivering(SQLiteSource(path: db, table: "t", incremental: "a"), saved: [byRowid])
        #expect(box.records.count == 2)
        #expect(box.records.allSatisfy { $0.origin.position?.epoch == 5 })
        let byA = try #require(box.last["t"])
        let byB = try readDelivering(SQLiteSource(path: db, table: "t", incremental: "b"), saved: [byA])
        #expect(byB.records.count == 2 && byB.records.allSatisfy { $0.origin.position?.epoch == 6 })
        let back = try readDelivering(SQLiteSource(path: db, table: "t"), saved: [byA])
        #expect(back.records.count == 2 && back.records.allSatisfy { $0.origin.position?.epoch == 6 })
    }

    @Test("a misspelled incremental column is an error naming it, the columns there and the closest one")
    func misspelledIncrementalColumn() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("in.db")
        try exec(db, "CREATE TABLE items (id INTEGER, updated_at TEXT, name TEXT);")
        do {
            _ = try readDelivering(SQLiteSource(path: db, table: "items", incremental: "updatedat"))
            Issue.record("expected an error")
        } catch let error as StageError {
            #expect(error.message == "option 'incremental': no column 'updatedat' in table 'items' (its columns are: id, updated_at, name); did you mean 'updated_at'?")
        }
        do {
            _ = try readDelivering(SQLiteSource(path: db, query: "SELECT id, name FROM items", incremental: "ids"))
            Issue.record("expected an error")
        } catch let error as StageError {
            #expect(error.message == "option 'incremental': no column 'ids' in the query's result (its columns are: id, name); did you mean 'id'?")
        }
        let options = StageHarness.options(["path": "in.db", "table": "items", "incremental": ""], type: "sqlite", kind: .source,
                                           directory: dir.path)
        #expect(throws: (any Error).self) { try SQLiteSource(stageOptions: options) }
    }
}
