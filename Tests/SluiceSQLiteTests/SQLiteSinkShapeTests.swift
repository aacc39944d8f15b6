import CSQLite
import Foundation
import Testing
import SluiceCore
import SluiceTestSupport
@testable import SluiceSQLite

/// The sqlite sink works out a record shape's checks (field names in order: key positions,
/// clashing names, the statement, numeric columns) once, not per record, and binds strings from
/// one buffer per statement, reused row after row. These tests pin that the cache never answers for
/// what depends on a record's values, never outlives a change of the table, and that every
/// string lands byte for byte.
@Suite("sqlite sink: per-shape cache and in-place binding")
struct SQLiteSinkShapeTests {
    @Test("records whose fields change order or set mid-stream are written by name, also when an earlier shape comes back")
    func shapesChangeMidStream() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let sink = SQLiteSink(path: db, table: "t")
        let letters = try StageHarness.deliver([
            record(["id": 1, "a": "x", "b": 10]),
            record(["b": 20, "id": 2, "a": "y"]),
            record(["id": 3, "a": "z", "b": 30]),
            record(["a": "w", "id": 4]),
            record(["b": 50, "id": 5, "a": "v"]),
        ], to: sink)
        #expect(letters.isEmpty)
        _ = try StageHarness.deliver([record(["a": "u", "b": 60, "id": 6]), record(["id": 7, "a": "t", "b": 70])], to: sink)
        #expect(try rows(db, "SELECT id, a, b FROM t ORDER BY id") == [
            [1, "x", 10], [2, "y", 20], [3, "z", 30], [4, "w", nil], [5, "v", 50], [6, "u", 60], [7, "t", 70],
        ])
    }

    @Test("a field whose type changes between records of one shape is checked against the column's affinity on every record")
    func typeChangesWithinAShape() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let sink = SQLiteSink(path: db, table: "t")
        _ = try StageHarness.deliver([record(["id": 1, "n": 5])], to: sink)   // n becomes INTEGER
        let letters = try StageHarness.deliver([
            record(["id": 2, "n": 6]),          // the shape is cached with an integer…
            record(["id": 3, "n": "007"]),      // …and this text of the same shape is still looked at
            record(["id": 4, "n": "8"]),
            record(["id": 5, "n": 2.5]),
            record(["id": 6, "n": "1e3"]),
            record(["id": 7, "n": "label"]),
            record(["id": 8, "n": nil]),
        ], to: sink)
        #expect(letters.map(\.record?["id"]) == [3, 6])
        #expect(letters.allSatisfy { $0.error.hasPrefix("field 'n': the text") })
        #expect(try rows(db, "SELECT id, n, typeof(n) FROM t ORDER BY id") == [
            [1, 5, "integer"], [2, 6, "integer"], [4, 8, "integer"], [5, 2.5, "real"], [7, "label", "text"], [8, nil, "null"],
        ])
    }

    @Test("a key that is set, null, then set again in records of one shape: only the null one is a dead letter")
    func nullKeyIsCheckedPerRecord() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let letters = try StageHarness.deliver([
            record(["id": 1, "v": "a"]), record(["id": nil, "v": "b"]), record(["id": 3, "v": "c"]), record(["id": nil, "v": "d"]),
        ], to: SQLiteSink(path: db, table: "t", key: ["id"]))
        #expect(letters.map(\.error) == ["key field 'id' is null", "key field 'id' is null"])
        #expect(letters.map { $0.record?["v"] } == ["b", "d"])
        #expect(try rows(db, "SELECT id, v FROM t ORDER BY id") == [[1, "a"], [3, "c"]])
    }

    @Test("a composite key's problems are named in the key's order, as a lookup by name would find them")
    func compositeKeyProblemsInKeyOrder() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let letters = try StageHarness.deliver([
            record(["a": 1, "b": 1, "v": "ok"]),
            record(["b": nil, "v": "no a, null b"]),
            record(["v": "null a, no b", "a": nil]),
            record(["b": nil, "a": 2, "v": "null b"]),
            record(["b": 2, "a": 2, "v": "ok, other order"]),
        ], to: SQLiteSink(path: db, table: "t", key: ["a", "b"]))
        #expect(letters.map(\.error) == ["missing key field 'a'", "key field 'a' is null", "key field 'b' is null"])
        #expect(try rows(db, "SELECT a, b, v FROM t ORDER BY a") == [[1, 1, "ok"], [2, 2, "ok, other order"]])
    }

    @Test("a shape whose names clash is a dead letter each time it comes back; the shapes around it go on")
    func clashingShapeStaysADeadLetter() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let letters = try StageHarness.deliver([
            record(["a": 1]), record(["a": 2, "A": 3]), record(["b": "x", "a": 4]), record(["a": 5, "A": 6]), record(["a": 7]),
        ], to: SQLiteSink(path: db, table: "t"))
        #expect(letters.map(\.record?["a"]) == [2, 5])
        #expect(try rows(db, "SELECT a, b FROM t ORDER BY a") == [[1, nil], [4, "x"], [7, nil]])
    }

    @Test("a column added for one shape leaves the other shapes writing to the right columns")
    func newColumnKeepsOtherShapesRight() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let sink = SQLiteSink(path: db, table: "t")
        _ = try StageHarness.deliver([record(["a": 1, "b": 2])], to: sink)
        let letters = try StageHarness.deliver([
            record(["a": 3, "b": 4]), record(["a": 5, "c": "x"]), record(["a": 6, "b": 7]), record(["c": "y", "a": 8]),
            record(["d": 9.5, "b": 10, "a": 11]), record(["a": 12, "b": 13]),
        ], to: sink)
        #expect(letters.isEmpty)
        #expect(try columnTypes(db, "t") == ["a INTEGER", "b INTEGER", "c TEXT", "d REAL"])
        #expect(try rows(db, "SELECT a, b, c, d FROM t ORDER BY a") == [
            [1, 2, nil, nil], [3, 4, nil, nil], [5, nil, "x", nil], [6, 7, nil, nil], [8, nil, "y", nil],
            [11, 10, nil, 9.5], [12, 13, nil, nil],
        ])
    }

    @Test("more shapes than the cache keeps (300 orders of existing fields): each is written right, the first again after the others")
    func manyShapes() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        var first = Fields()
        first["id"] = 0
        for n in 1...20 { first["f\(n)"] = .int(Int64(n)) }
        var batch = [record(first)]
        // Every ordered pair of two of the 20 fields is its own shape, and needs no new column.
        var id: Int64 = 1
        for i in 1...20 {
            for j in 1...20 where i != j && id <= 300 {
                batch.append(record(["f\(i)": .int(id * 100 + Int64(i)), "id": .int(id), "f\(j)": .int(id * 100 + Int64(j))]))
                id += 1
            }
        }
        var again = first
        again["id"] = 301
        batch.append(record(again))
        let letters = try StageHarness.deliver(batch, to: SQLiteSink(path: db, table: "t", key: ["id"]))
        #expect(letters.isEmpty)
        #expect(try rows(db, "SELECT count(*) FROM t") == [[302]])
        // Pair 1 is (f1, f2), pair 20 is (f2, f1): each value landed in its own field's column.
        #expect(try rows(db, "SELECT f1, f2, f3 FROM t WHERE id IN (1, 20) ORDER BY id") == [[101, 102, nil], [2001, 2002, nil]])
        #expect(try rows(db, "SELECT f1, f20 FROM t WHERE id IN (0, 301) ORDER BY id") == [[1, 20], [1, 20]])
    }

    @Test("strings bound from the statement's buffer land byte for byte: empty, inline (≤ 15 bytes), long, non-ASCII, between numbers and JSON, longer then shorter, rows that outgrow the buffer twice, a row over 1 MiB and one after it")
    func stringsBoundInPlace() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let long = String(repeating: "Grüße, 東京 — ", count: 150)
        let samples: [(String, String)] = [
            ("", "a"), ("fifteen bytes!!", "sixteen bytes!!!"), (long, "é"), ("x", long + "!"), ("", ""), ("日本", "z"),
            // 6,000 and then 15,000 bytes of strings in one row: the buffer (4 KiB at first) grows twice.
            (String(repeating: "ü", count: 3_000), "after growing"), ("short", ""), ("", String(repeating: "界", count: 5_000)), ("a", "b"),
            // Over 1 MiB: the buffer is let go after the row, and made again for the next.
            (String(repeating: "z", count: 1_200_000), "big"), ("after", "the big one"),
        ]
        var batch: [Record] = []
        for (n, (a, b)) in samples.enumerated() {
            batch.append(record(["id": .int(Int64(n)), "a": .string(a), "n": 1.5, "tags": [.string(b), 7], "b": .string(b), "z": nil]))
        }
        let letters = try StageHarness.deliver(batch, to: SQLiteSink(path: db, table: "t", key: ["id"]))
        #expect(letters.isEmpty)
        let stored = try rows(db, "SELECT a, b, tags, n, z FROM t ORDER BY id")
        #expect(stored.count == samples.count)
        for (row, (a, b)) in zip(stored, samples) {
            #expect(row[0] == .string(a))
            #expect(row[1] == .string(b))
            #expect(row[2] == .string(JSONWriter.string(.array([.string(b), 7]))))
            #expect(row[3] == 1.5)
            #expect(row[4] == nil)
        }
    }

    @Test("a string too long for SQLite, bound between other strings of the row, is a dead letter naming the error; the rows around it land byte for byte")
    func stringTooBigIsADeadLetter() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let queue = CollectingDeadLetterQueue()
        let writer = try #require(SQLiteSink(path: db, table: "t", key: ["id"])
            .makeWriter(StageContext(name: "db", dataDirectory: dir.file("state"), deadLetters: queue)) as? SQLiteSinkWriter)
        // SQLite's own limit, lowered on the sink's connection: values (and rows) over 5,000 bytes are refused.
        sqlite3_limit(writer.db.handle, SQLITE_LIMIT_LENGTH, 5_000)
        let long = String(repeating: "é", count: 3_000)   // 6,000 bytes
        let batch = [
            record(["id": 1, "a": "first", "b": "ü", "c": "x"]),
            record(["id": 2, "a": "before", "b": .string(long), "c": "after"]),
            record(["id": 3, "a": .string(String(repeating: "a", count: 2_000)), "b": "", "c": "日本"]),
        ]
        try writer.write(batch)
        try writer.close()
        #expect(queue.letters.count == 1)
        let letter = try #require(queue.letters.first)
        #expect(letter.record?["id"] == 2)
        #expect(letter.error.hasPrefix("cannot store the record in table 't': cannot bind value 3"), "\(letter.error)")
        #expect(letter.error.contains("too big"), "\(letter.error)")
        #expect(try rows(db, "SELECT id, a, b, c FROM t ORDER BY id") == [
            [1, "first", "ü", "x"], [3, .string(String(repeating: "a", count: 2_000)), "", "日本"],
        ])
    }
}
