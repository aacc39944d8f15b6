import Foundation
import Testing
import SluiceCore
import SluiceTestSupport
@testable import SluiceSQLite

func read(_ source: SQLiteSource, batchSize: Int = 256) throws -> (records: [Record], letters: [DeadLetter]) {
    let result = try StageHarness.collect(source, batchSize: batchSize)
    return (result.records, result.deadLetters)
}

@Suite("sqlite source")
struct SQLiteSourceTests {
    @Test("each row is a record in column order: INTEGER, REAL, TEXT, BLOB as base64, NULL; the origin is the rowid")
    func readsTable() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("data.db")
        try exec(db, """
            CREATE TABLE t (id INTEGER, score REAL, name TEXT, data BLOB, missing TEXT);
            INSERT INTO t (rowid, id, score, name, data, missing) VALUES (10, 1, 1.0, 'Ünï', x'00ff10', NULL);
            INSERT INTO t (rowid, id, score, name, data, missing) VALUES (20, 2, 2.5, '', x'', NULL);
            """)
        let (records, letters) = try read(SQLiteSource(path: db, table: "t"))
        #expect(letters.isEmpty)
        #expect(records.map(\.fields) == [
            ["id": 1, "score": 1.0, "name": "Ünï", "data": "AP8Q", "missing": nil],
            ["id": 2, "score": 2.5, "name": "", "data": "", "missing": nil],
        ])
        #expect(records.map(\.origin.row) == [10, 20])
        #expect(records.first?.origin.location == "data.db#10")
        #expect(records.first?.origin.source == "source")
    }

    @Test("a query's rows are the records, without row origin")
    func readsQuery() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("q.db")
        try exec(db, "CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2), (3);")
        let (records, _) = try read(SQLiteSource(path: db, query: "SELECT n * 10 AS tens, 'x' AS k FROM t WHERE n > 1 ORDER BY n"))
        #expect(records.map(\.fields) == [["tens": 20, "k": "x"], ["tens": 30, "k": "x"]])
        #expect(records.allSatisfy { $0.origin.row == nil && $0.origin.file == "q.db" })
    }

    @Test("many rows are streamed in batches, all of them in order")
    func manyRows() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("m.db")
        try exec(db, """
            CREATE TABLE t (n INTEGER);
            WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) INSERT INTO t SELECT x FROM c;
            """)
        let (records, _) = try read(SQLiteSource(path: db, table: "t"), batchSize: 7)
        #expect(records.compactMap { $0["n"]?.intValue } == Array(1...1000))
    }

    @Test("an unknown table stops the source with an error naming it, a suggestion and the tables there")
    func unknownTable() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        try exec(db, "CREATE TABLE articles (x); CREATE TABLE authors (y); CREATE VIEW recent AS SELECT * FROM articles;")
        do {
            _ = try read(SQLiteSource(path: db, table: "artcles"))
            Issue.record("expected an error")
        } catch let error as StageError {
            #expect(error.message == "no table 'artcles' in \(db) (its tables are: articles, authors, recent); did you mean 'articles'?")
        }
    }

    @Test("a missing file, a file that is not a database, a bad query, a writing query and a query with a column name twice are errors that say so")
    func fatalProblems() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        try exec(db, "CREATE TABLE t (x)")
        let junk = try dir.write("junk.db", String(repeating: "junk ", count: 200))
        let cases: [(SQLiteSource, String)] = [
            (SQLiteSource(path: dir.file("none.db"), table: "t"), "no such database file: \(dir.file("none.db"))"),
            (SQLiteSource(path: junk, table: "t"), "\(junk) is not an SQLite database (file is not a database)"),
            (SQLiteSource(path: db, query: "SELEC x FROM t"), "invalid query: near \"SELEC\": syntax error"),
            (SQLiteSource(path: db, query: "DELETE FROM t"), "the query must only read (a SELECT), it would change \(db)"),
            (SQLiteSource(path: db, query: "SELECT 1; DELETE FROM t"), "the query must be a single statement"),
            (SQLiteSource(path: db, query: "SELECT a.x, b.x FROM t AS a, t AS b"),
             "the query returns the column 'x' more than once; give each a distinct name (… AS x_2)"),
        ]
        for (source, message) in cases {
            do {
                _ = try read(source)
                Issue.record("expected an error for \(message)")
            } catch let error as StageError {
                #expect(error.message == message)
            }
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("none.db")))
    }

    @Test("exactly one of table and query must be configured")
    func tableOrQuery() throws {
        let dir = TemporaryDirectory()
        func make(_ values: Fields) throws -> SQLiteSource {
            try SQLiteSource(stageOptions: StageHarness.options(values, type: "sqlite", kind: .source, directory: dir.path))
        }
        #expect(throws: ConfigError.self) { try make(["path": "/tmp/a.db"]) }
        #expect(throws: ConfigError.self) { try make(["path": "/tmp/a.db", "table": "t", "query": "SELECT 1"]) }
        #expect(try make(["path": "/tmp/a.db", "table": "t"]).table == "t")
        #expect(try make(["path": "/tmp/a.db", "query": "SELECT 1"]).query == "SELECT 1")
    }

    @Test("tables without rowid and views are read without row origin")
    func withoutRowid() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        try exec(db, """
            CREATE TABLE w (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID; INSERT INTO w VALUES ('a', 1);
            CREATE VIEW v AS SELECT k, v * 2 AS double FROM w;
            CREATE TABLE r (rowid TEXT, x INTEGER); INSERT INTO r (_rowid_, rowid, x) VALUES (7, 'mine', 1);
            """)
        let (rows, _) = try read(SQLiteSource(path: db, table: "w"))
        #expect(rows.map(\.fields) == [["k": "a", "v": 1]])
        #expect(rows.first?.origin.row == nil)
        let (view, _) = try read(SQLiteSource(path: db, table: "v"))
        #expect(view.map(\.fields) == [["k": "a", "double": 2]])
        let (shadowed, _) = try read(SQLiteSource(path: db, table: "r"))
        #expect(shadowed.map(\.fields) == [["rowid": "mine", "x": 1]])
        #expect(shadowed.first?.origin.row == 7)
    }

    @Test("JSON text is decoded for json_columns and JSON-typed columns; other text stays a string")
    func jsonColumns() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        try exec(db, """
            CREATE TABLE t (tags TEXT, meta JSON, plain TEXT);
            INSERT INTO t VALUES ('["a",1]', '{"k":{"z":1,"a":2.0}}', '["not decoded"]');
            INSERT INTO t VALUES ('[broken', '42', NULL);
            """)
        let (records, _) = try read(SQLiteSource(path: db, table: "t", jsonColumns: ["tags"]))
        #expect(records.map(\.fields) == [
            ["tags": ["a", 1], "meta": ["k": ["z": 1, "a": 2.0]], "plain": "[\"not decoded\"]"],
            ["tags": "[broken", "meta": 42, "plain": nil],
        ])
    }

    @Test("records written by the sqlite sink read back the same through the source")
    func roundTripThroughSink() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let input: [Fields] = [
            ["id": "a1", "n": 9_223_372_036_854_775_807, "x": 0.1, "text": "line\nbreak \"q\" 東京", "tags": ["x", ["y": nil]],
             "meta": ["z": 1, "a": [1.5, false]]],
            ["id": "a2", "n": -1, "x": 1e300, "text": "", "tags": [], "meta": [:]],
        ]
        _ = try StageHarness.deliver(input.map { StageHarness.record($0) },
                                     to: SQLiteSink(path: db, table: "docs", key: ["id"], fts: ["text"]))
        let (records, letters) = try read(SQLiteSource(path: db, table: "docs", jsonColumns: ["tags", "meta"]))
        #expect(letters.isEmpty)
        #expect(records.map(\.fields) == input)
        #expect(records.map(\.origin.row) == [1, 2])
    }

    @Test("the source reads a database that the sink holds open in WAL mode")
    func readsWhileWriterOpen() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let writer = try SQLiteSink(path: db, table: "t", journal: .wal).makeWriter(StageContext(name: "db"))
        try writer.write([StageHarness.record(["n": 1])])
        try writer.flush()
        try writer.write([StageHarness.record(["n": 2])])
        let (records, _) = try read(SQLiteSource(path: db, table: "t"))
        #expect(records.map(\.fields) == [["n": 1]])
        try writer.close()
    }
}
