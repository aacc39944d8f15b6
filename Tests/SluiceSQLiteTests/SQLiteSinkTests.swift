import Foundation
import Testing
import SluiceCore
import SluiceTestSupport
@testable import SluiceSQLite

/// Runs SQL on a database and returns every row.
func rows(_ path: String, _ sql: String) throws -> [[Value]] {
    let db = try Database(path: path, readOnly: false)
    let statement = try db.prepare(sql)
    var result: [[Value]] = []
    while try statement.step() {
        result.append((0..<statement.columnCount).map { statement.value(at: $0) })
    }
    return result
}

/// Runs SQL that returns nothing.
func exec(_ path: String, _ sql: String) throws {
    try Database(path: path, readOnly: false, create: true).execute(sql)
}

/// `name → declared type` of a table's columns, in order.
func columnTypes(_ path: String, _ table: String) throws -> [String] {
    try rows(path, "SELECT name, type FROM pragma_table_info(\(quoteLiteral(table)))").map {
        "\($0[0].stringValue ?? "?") \($0[1].stringValue ?? "?")".trimmingCharacters(in: .whitespaces)
    }
}

func record(_ fields: Fields) -> Record { StageHarness.record(fields) }

@Suite("sqlite sink")
struct SQLiteSinkTests {
    @Test("the table is created from the first batch: INTEGER, REAL, TEXT, booleans 0/1, arrays and objects as JSON text")
    func createsTypedTable() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("out/a.db")
        let letters = try StageHarness.deliver([
            record(["id": 1, "score": 1.5, "title": "Café", "ok": true, "tags": ["a", "b"], "meta": ["k": 1], "none": nil]),
            record(["id": 2, "score": 2, "title": "Two", "ok": false, "tags": [], "meta": [:], "none": nil]),
            record(["id": 3, "mixed": "x"]),
            record(["id": 4, "mixed": 7]),
        ], to: SQLiteSink(path: db, table: "articles"))
        #expect(letters.isEmpty)
        #expect(try columnTypes(db, "articles") == [
            "id INTEGER", "score REAL", "title TEXT", "ok INTEGER", "tags TEXT", "meta TEXT", "none", "mixed TEXT",
        ])
        let stored = try rows(db, "SELECT id, score, title, ok, tags, meta, none, typeof(score) FROM articles ORDER BY id")
        #expect(stored[0] == [1, 1.5, "Café", 1, "[\"a\",\"b\"]", "{\"k\":1}", nil, "real"])
        #expect(stored[1] == [2, 2.0, "Two", 0, "[]", "{}", nil, "real"])
        #expect(try rows(db, "PRAGMA journal_mode") == [["wal"]])
    }

    @Test("fields that appear later become new columns, typed from their values")
    func addsColumns() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let sink = SQLiteSink(path: db, table: "t")
        _ = try StageHarness.deliver([record(["a": 1])], to: sink)
        _ = try StageHarness.deliver([record(["a": 2, "b": "x"]), record(["c": 2.5, "a": 3]), record(["d": nil])], to: sink)
        #expect(try columnTypes(db, "t") == ["a INTEGER", "b TEXT", "c REAL", "d"])
        #expect(try rows(db, "SELECT a, b, c, d FROM t ORDER BY rowid") == [
            [1, nil, nil, nil], [2, "x", nil, nil], [3, nil, 2.5, nil], [nil, nil, nil, nil],
        ])
    }

    @Test("an existing table with other columns keeps them and gains the missing ones")
    func existingTable() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        try exec(db, "CREATE TABLE t (x INTEGER, y TEXT DEFAULT 'dflt'); INSERT INTO t (x) VALUES (0);")
        let letters = try StageHarness.deliver([record(["X": 1, "z": "new"])], to: SQLiteSink(path: db, table: "T"))
        #expect(letters.isEmpty)
        #expect(try columnTypes(db, "t") == ["x INTEGER", "y TEXT", "z TEXT"])
        #expect(try rows(db, "SELECT x, y, z FROM t ORDER BY rowid") == [[0, "dflt", nil], [1, "dflt", "new"]])
    }

    @Test("with a key, writing a record again updates its row: the fields it has change, the others stay")
    func upsertBySingleKey() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let sink = SQLiteSink(path: db, table: "t", key: ["id"])
        _ = try StageHarness.deliver([record(["id": "a", "v": 1, "note": "first"]), record(["id": "b", "v": 1, "note": "b"])],
                                     to: sink)
        _ = try StageHarness.deliver([record(["id": "a", "v": 2]), record(["id": "c", "v": 3, "note": "c"])], to: sink)
        #expect(try rows(db, "SELECT id, v, note FROM t ORDER BY id") == [["a", 2, "first"], ["b", 1, "b"], ["c", 3, "c"]])
        let schema = try rows(db, "SELECT sql FROM sqlite_master WHERE name = 't'").first?.first?.stringValue ?? ""
        #expect(schema.contains("PRIMARY KEY (\"id\")"))
    }

    @Test("a composite key identifies a row by all its fields")
    func upsertByCompositeKey() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let sink = SQLiteSink(path: db, table: "t", key: ["site", "n"])
        _ = try StageHarness.deliver([record(["site": "x", "n": 1, "v": "old"]), record(["site": "y", "n": 1, "v": "y1"])], to: sink)
        _ = try StageHarness.deliver([record(["n": 1, "site": "x", "v": "new"]), record(["site": "x", "n": 2, "v": "x2"])], to: sink)
        #expect(try rows(db, "SELECT site, n, v FROM t ORDER BY site, n") == [["x", 1, "new"], ["x", 2, "x2"], ["y", 1, "y1"]])
    }

    @Test("a key on an existing table without a unique constraint gets a unique index")
    func keyOnExistingTable() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        try exec(db, "CREATE TABLE t (id TEXT, v INTEGER); INSERT INTO t VALUES ('a', 1);")
        _ = try StageHarness.deliver([record(["id": "a", "v": 2])], to: SQLiteSink(path: db, table: "t", key: ["id"]))
        #expect(try rows(db, "SELECT id, v FROM t") == [["a", 2]])
        #expect(try rows(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 't_key'") == [["t_key"]])
    }

    @Test("a record without its key field, or with a null one, is a dead letter naming the field; the others are written")
    func missingKeyIsDeadLetter() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let letters = try StageHarness.deliver([
            record(["id": 1, "v": "a"]), record(["v": "no key"]), record(["id": nil, "v": "null key"]), record(["id": 2, "v": "b"]),
        ], to: SQLiteSink(path: db, table: "t", key: ["id"]))
        #expect(letters.map(\.error) == ["missing key field 'id'", "key field 'id' is null"])
        #expect(letters.map { $0.record?["v"] } == ["no key", "null key"])
        #expect(letters.allSatisfy { $0.stage == "sink" })
        #expect(try rows(db, "SELECT id, v FROM t ORDER BY id") == [[1, "a"], [2, "b"]])
    }

    @Test("the FTS5 index follows inserts and upserts: changed text is found by its new words only")
    func fullTextFollowsUpserts() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let sink = SQLiteSink(path: db, table: "articles", key: ["id"], fts: ["title", "body"])
        _ = try StageHarness.deliver([
            record(["id": "1", "title": "Alpha news", "body": "apples and pears"]),
            record(["id": "2", "title": "Beta news", "body": "bananas"]),
        ], to: sink)
        let match = { (words: String) throws -> [Value] in
            try rows(db, "SELECT a.id FROM articles_fts f JOIN articles a ON a.rowid = f.rowid WHERE articles_fts MATCH '\(words)' ORDER BY a.id")
                .map { $0[0] }
        }
        #expect(try match("apples") == ["1"])
        #expect(try match("news") == ["1", "2"])
        _ = try StageHarness.deliver([record(["id": "1", "title": "Alpha news", "body": "cherries only"])], to: sink)
        #expect(try match("apples") == [])
        #expect(try match("cherries") == ["1"])
        #expect(try match("news") == ["1", "2"])
        _ = try StageHarness.deliver([record(["id": "2", "title": "Gamma"])], to: sink)
        #expect(try match("beta") == [])
        #expect(try match("gamma") == ["2"])
        #expect(try match("bananas") == ["2"])
        try exec(db, "DELETE FROM articles WHERE id = '1'")
        #expect(try match("cherries") == [])
        #expect(try rows(db, "INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')") == [])
    }

    @Test("an FTS index added to a table that already has rows indexes them")
    func fullTextOnExistingRows() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        _ = try StageHarness.deliver([record(["id": 1, "body": "old words"])], to: SQLiteSink(path: db, table: "t"))
        _ = try StageHarness.deliver([record(["id": 2, "body": "new words"])], to: SQLiteSink(path: db, table: "t", fts: ["body"]))
        #expect(try rows(db, "SELECT rowid FROM t_fts WHERE t_fts MATCH 'words' ORDER BY rowid") == [[1], [2]])
        _ = try StageHarness.deliver([], to: SQLiteSink(path: db, table: "t", fts: ["body", "title"]))
        #expect(try columnTypes(db, "t_fts") == ["body", "title"])
        #expect(try rows(db, "SELECT rowid FROM t_fts WHERE t_fts MATCH 'old'") == [[1]])
    }

    @Test("hostile field and table names are quoted everywhere and read back unchanged")
    func hostileIdentifiers() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let table = "t\"; DROP TABLE x; --"
        let fields: Fields = [
            "a\"b": 1, "select": "kw", "x; DROP TABLE t": "semi", "with space": 2.5, "ünïcødé 東京": "u", "": "empty",
            "'quote'": "sq", "[br]": "br",
        ]
        try exec(db, "CREATE TABLE x (keep INTEGER)")
        let sink = SQLiteSink(path: db, table: table, key: ["a\"b"], fts: ["select", "x; DROP TABLE t"],
                              indexes: [["with space"], ["ünïcødé 東京", "'quote'"]])
        let letters = try StageHarness.deliver([record(fields)], to: sink)
        #expect(letters.isEmpty)
        var changed = fields
        changed["select"] = "changed"
        _ = try StageHarness.deliver([record(changed)], to: sink)
        #expect(try rows(db, "SELECT name FROM pragma_table_info(\(quoteLiteral(table)))").map { $0[0] }
            == fields.keys.map { Value.string($0) })
        #expect(try rows(db, "SELECT count(*) FROM x") == [[0]])
        let (read, _) = try StageHarness.collect(SQLiteSource(path: db, table: table))
        #expect(read.map(\.fields) == [changed])
        let ftsName = quoteIdentifier(table + "_fts")
        #expect(try rows(db, "SELECT rowid FROM \(ftsName) WHERE \(ftsName) MATCH 'changed'") == [[1]])
        #expect(try rows(db, "SELECT rowid FROM \(ftsName) WHERE \(ftsName) MATCH 'kw'") == [])
        let indexNames = try rows(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").map { $0[0] }
        #expect(indexNames == [.string("idx_\(table)_with space"), .string("idx_\(table)_ünïcødé 東京_'quote'")])
    }

    @Test("text that SQLite's numeric affinity would alter (\"007\" → 7) is a dead letter naming the field; canonical numbers and other text are stored")
    func numericAffinityNeverAltersText() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let sink = SQLiteSink(path: db, table: "t")
        _ = try StageHarness.deliver([record(["id": 1, "zip": 501])], to: sink)   // zip becomes INTEGER
        let letters = try StageHarness.deliver([
            record(["id": 2, "zip": "00501"]), record(["id": 3, "zip": "1e3"]), record(["id": 4, "zip": "7"]),
            record(["id": 5, "zip": "N/A"]), record(["id": 6, "zip": " 8"]), record(["id": 7, "zip": 9]),
        ], to: sink)
        #expect(letters.map(\.record?["id"]) == [2, 3, 6])
        #expect(letters.first?.error.hasPrefix("field 'zip': the text \"00501\" would be stored as a number in the numeric column 'zip'") == true,
                "\(letters.first?.error ?? "")")
        #expect(try rows(db, "SELECT id, zip, typeof(zip) FROM t ORDER BY id")
                == [[1, 501, "integer"], [4, 7, "integer"], [5, "N/A", "text"], [7, 9, "integer"]])
    }

    @Test("which texts SQLite's numeric affinity would change")
    func affinityWouldChange() {
        for text in ["007", "+7", " 7", "7 ", "1.50", "1e3", "1E3", ".5", "5.", "-0", "9223372036854775808", "1.0", "100.0"] {
            #expect(SQLiteSinkWriter.affinityWouldChange(text, .integer), "\(text)")
        }
        for text in ["7", "-7", "1.5", "0", "abc", "", "1e", "0x10", "1.2.3", "12 apples", "Infinity"] {
            #expect(!SQLiteSinkWriter.affinityWouldChange(text, .integer), "\(text)")
        }
        // A REAL column turns "2" into 2.0, but keeps "2.0" and "1.5".
        #expect(SQLiteSinkWriter.affinityWouldChange("2", .real))
        #expect(!SQLiteSinkWriter.affinityWouldChange("2.0", .real) && !SQLiteSinkWriter.affinityWouldChange("1.5", .real))
        #expect(SQLiteSinkWriter.numericAffinity("INTEGER") == .integer && SQLiteSinkWriter.numericAffinity("REAL") == .real
                && SQLiteSinkWriter.numericAffinity("NUMERIC") == .integer && SQLiteSinkWriter.numericAffinity("DOUBLE") == .real)
        #expect(SQLiteSinkWriter.numericAffinity("TEXT") == nil && SQLiteSinkWriter.numericAffinity("") == nil
                && SQLiteSinkWriter.numericAffinity("BLOB") == nil && SQLiteSinkWriter.numericAffinity("VARCHAR(20)") == nil)
    }

    @Test("indexes are created for single fields and lists of fields")
    func indexes() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        _ = try StageHarness.deliver([record(["a": 1, "b": 2])],
                                     to: SQLiteSink(path: db, table: "t", indexes: [["a"], ["b", "a"], ["later"]]))
        let found = try rows(db, "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")
        #expect(found.map { $0[0] } == ["idx_t_a", "idx_t_b_a", "idx_t_later"])
        #expect(found[1][1].stringValue?.hasSuffix("(\"b\", \"a\")") == true)
        #expect(try columnTypes(db, "t") == ["a INTEGER", "b INTEGER", "later"])
    }

    @Test("rows are committed after the batch that brings them to batch_size (never in its middle) and at each flush")
    func batchedTransactions() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let writer = try SQLiteSink(path: db, table: "t", batchSize: 3).makeWriter(StageContext(name: "db"))
        try writer.write((1...2).map { record(["n": .int(Int64($0))]) })
        try writer.write((3...7).map { record(["n": .int(Int64($0))]) })
        #expect(try rows(db, "SELECT count(*) FROM t") == [[7]])
        try writer.write([record(["n": 8])])
        #expect(try rows(db, "SELECT count(*) FROM t") == [[7]])
        try writer.flush()
        #expect(try rows(db, "SELECT count(*) FROM t") == [[8]])
        try writer.write([record(["n": 9])])
        try writer.close()
        #expect(try rows(db, "SELECT count(*) FROM t") == [[9]])
    }

    @Test("a row SQLite refuses is a dead letter with SQLite's reason, and the rows around it are written")
    func refusedRowIsDeadLetter() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        try exec(db, "CREATE TABLE t (n INTEGER, name TEXT NOT NULL, CHECK (n > 0))")
        let letters = try StageHarness.deliver([
            record(["n": 1, "name": "a"]), record(["n": 2, "name": nil]), record(["n": -1, "name": "c"]), record(["n": 4, "name": "d"]),
        ], to: SQLiteSink(path: db, table: "t"))
        #expect(letters.map(\.error) == [
            "cannot store the record in table 't': NOT NULL constraint failed: t.name",
            "cannot store the record in table 't': CHECK constraint failed: n > 0",
        ])
        #expect(letters.map { $0.record?["n"] } == [2, -1])
        #expect(try rows(db, "SELECT n FROM t ORDER BY n") == [[1], [4]])
    }

    @Test("a string key for an INTEGER PRIMARY KEY is a dead letter, not a crash")
    func keyTypeMismatch() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let sink = SQLiteSink(path: db, table: "t", key: ["id"])
        #expect(try StageHarness.deliver([record(["id": 1])], to: sink).isEmpty)
        let letters = try StageHarness.deliver([record(["id": "x"]), record(["id": 3])], to: sink)
        #expect(letters.map(\.error) == ["cannot store the record in table 't': datatype mismatch"])
        #expect(try rows(db, "SELECT id FROM t ORDER BY id") == [[1], [3]])
    }

    @Test("records with no fields or with field names that differ only in case are dead letters")
    func unstorableRecords() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let letters = try StageHarness.deliver([record(["a": 1]), record([:]), record(["a": 2, "A": 3]), record(["a": 4])],
                                               to: SQLiteSink(path: db, table: "t"))
        #expect(letters.map(\.error) == [
            "a record with no fields cannot be stored as a row",
            "fields 'a' and 'A' would be the same column (SQLite column names ignore case)",
        ])
        #expect(try rows(db, "SELECT a FROM t ORDER BY a") == [[1], [4]])
    }

    @Test("a file that is not a database is a clear error naming it")
    func notADatabase() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("notes.db", String(repeating: "not sqlite at all\n", count: 100))
        do {
            _ = try SQLiteSink(path: path, table: "t").makeWriter(StageContext(name: "db"))
            Issue.record("expected an error")
        } catch let error as StageError {
            #expect(error.description == "stage 'db': \(path) is not an SQLite database (file is not a database)")
        }
        do {
            _ = try SQLiteSink(path: dir.path, table: "t").makeWriter(StageContext(name: "db"))
            Issue.record("expected an error")
        } catch let error as StageError {
            #expect(error.message.contains("cannot open the database \(dir.path)"))
        }
    }

    @Test("config: key, fts and indexes are checked when the config loads")
    func configChecks() throws {
        let dir = TemporaryDirectory()
        func make(_ values: Fields) throws -> SQLiteSink {
            try SQLiteSink(stageOptions: StageHarness.options(values, type: "sqlite", kind: .sink, directory: dir.path))
        }
        let sink = try make(["path": "/tmp/x.db", "table": "t", "key": ["a", "b"], "indexes": ["c", ["d", "e"]], "fts": ["f"]])
        #expect(sink.key == ["a", "b"])
        #expect(sink.indexes == [["c"], ["d", "e"]])
        #expect(sink.batchSize == 100_000)
        #expect(throws: ConfigError.self) { try make(["path": "/tmp/x.db", "table": ""]) }
        #expect(throws: ConfigError.self) { try make(["path": "/tmp/x.db", "table": "t", "key": ["a", "A"]]) }
        #expect(throws: ConfigError.self) { try make(["path": "/tmp/x.db", "table": "t", "indexes": [1]]) }
        #expect(throws: ConfigError.self) { try make(["path": "/tmp/x.db", "table": "t", "indexes": [[]]]) }
        #expect(throws: ConfigError.self) { try make(["path": "/tmp/x.db", "table": "t", "batch_size": 0]) }
        #expect(throws: ConfigError.self) { try make(["path": "/tmp/x.db", "table": "t", "fts": ["Rank"]]) }
        func message(_ values: Fields) -> String {
            do { _ = try make((["path": "/tmp/x.db", "table": "t"] as Fields).merging(values) { $1 }); return "" } catch { return "\(error)" }
        }
        #expect(message(["indexes": ["a", ["b", "B"]]]).contains("option 'indexes' item 2 names 'B' twice (SQLite column names ignore case)"))
        #expect(message(["indexes": [""]]).contains("option 'indexes' item 1 must not name an empty field"))
        #expect(message(["indexes": [1]]).contains("option 'indexes' item 1 must be a field or a list of fields, not integer 1"))
        #expect(message(["indexes": ["a_b", ["a", "b"]]]).contains("option 'indexes' items 1 and 2 would both be named"))
        let relative = try make(["path": "out/x.db", "table": "t", "indexes": "a", "key": "id"])
        #expect(relative.path == dir.file("out/x.db"))
        #expect(relative.indexes == [["a"]])
        #expect(relative.key == ["id"])
    }

    @Test("the plugin registers the sqlite source and sink with their options")
    func registration() throws {
        let registry = try StageRegistry(plugins: [SQLitePlugin.self])
        #expect(registry.descriptor(.source, "sqlite")?.options.map(\.name) == ["path", "table", "query", "json_columns", "incremental"])
        #expect(registry.descriptor(.sink, "sqlite")?.options.map(\.name).contains("fts") == true)
    }
}
