import Foundation
import SluiceCore
import SluiceTestSupport
import Testing
@testable import SluicePostgres

/// A record at a position of input `input` of source `s`.
func positioned(_ fields: Fields, offset: Int64, epoch: Int64 = 1, input: String = "in.jsonl") -> Record {
    Record(fields, origin: Origin(source: "s", file: input, position: Position(input: input, epoch: epoch, offset: offset)))
}

/// A writer opened the way the runtime opens it, with its ledger and dead letters.
struct OpenWriter {
    var writer: any SinkWriter
    var ledger: DeliveryLedger
    var letters: CollectingDeadLetterQueue

    init(_ sink: PostgresSink, pipeline: String = "p") throws {
        ledger = DeliveryLedger()
        letters = CollectingDeadLetterQueue()
        writer = try sink.makeWriter(StageContext(name: "sink", deadLetters: letters, pipeline: pipeline, ledger: ledger))
    }

    /// Admits and writes each batch as the runtime does; returns how many records were admitted.
    @discardableResult
    func write(_ batches: [[Record]]) throws -> Int {
        var count = 0
        for batch in batches {
            let admitted = try ledger.admit(batch, route: "")
            count += admitted.count
            if !admitted.isEmpty { try writer.write(admitted) }
        }
        return count
    }
}

/// Reads a table back with the source (all rows, ordered by `order`).
func readBack(_ url: String, _ sql: String) throws -> [Fields] {
    try StageHarness.collect(PostgresSource(url: url, query: sql)).records.map(\.fields)
}

@Suite("postgres sink")
struct PostgresSinkTests {
    @Test func everyValueTypeRoundTripsThroughTheTableAndBack() throws {
        let url = try TestPostgres.freshDatabase("types")
        // Keys in jsonb's own order (shorter first): jsonb does not keep the order they came in.
        let nested: Value = ["obj": ["k": "v\t\n\\"], "list": [1, 2.5, "x", nil, true]]
        let records: [Record] = [
            StageHarness.record(["id": 1, "flag": true, "count": 42, "ratio": 0.25, "name": "tab\there\nnew \\ back 'q' \"dq\" ü 漢字 😀",
                                 "tags": ["a", "b\\c"], "doc": nested, "nothing": nil, "mixed": "text"]),
            StageHarness.record(["id": 2, "flag": false, "count": -9_223_372_036_854_775_807, "ratio": 1e300, "name": "",
                                 "tags": [], "doc": ["empty": [:]], "nothing": nil, "mixed": "\\N"]),
        ]
        let letters = try StageHarness.deliver(records, to: PostgresSink(url: url, table: "t"))
        #expect(letters.isEmpty)
        let pg = try PostgresConnection(url: url)
        let types = try pg.rows("""
            SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = 't'::regclass AND attnum > 0 ORDER BY attnum
            """)
        #expect(types.map { $0[1] ?? "" } == ["bigint", "boolean", "bigint", "double precision", "text", "jsonb", "jsonb", "text", "text"])
        let back = try readBack(url, "SELECT * FROM t ORDER BY id")
        #expect(back == records.map(\.fields))
    }

    @Test func hostileColumnAndTableNamesAreQuotedNotInterpreted() throws {
        let url = try TestPostgres.freshDatabase("names")
        let fields: Fields = ["select": 1, "we\"ird name": "a", "Ünïcødé 名前": "b", "with space": "c", "Case": 1, "case": 2,
                              "a;DROP TABLE x": "d", "$1": "e", "back\\slash": "f"]
        let letters = try StageHarness.deliver([StageHarness.record(fields)], to: PostgresSink(url: url, table: "Tab \"le\"; --"))
        #expect(letters.isEmpty)
        #expect(try readBack(url, "SELECT * FROM \"Tab \"\"le\"\"; --\"") == [fields])
    }

    @Test func aFieldNameLongerThanPostgresKeepsIsADeadLetterNotACutColumn() throws {
        let url = try TestPostgres.freshDatabase("long")
        let long = String(repeating: "x", count: 64)
        var tooLong: Fields = ["a": 2]
        tooLong[long] = 1
        let letters = try StageHarness.deliver([StageHarness.record(["a": 1]), StageHarness.record(tooLong)],
                                               to: PostgresSink(url: url, table: "t"))
        #expect(letters.count == 1)
        #expect(letters.first?.error.contains("63 bytes") ?? false)
        #expect(try readBack(url, "SELECT a FROM t") == [["a": 1]])
    }

    @Test func newFieldsAddTypedColumnsAndOldRowsKeepNulls() throws {
        let url = try TestPostgres.freshDatabase("evolve")
        let sink = PostgresSink(url: url, table: "t")
        let open = try OpenWriter(sink)
        try open.writer.write([StageHarness.record(["a": 1])])
        try open.writer.write([StageHarness.record(["a": 2, "b": 1.5, "c": ["x": 1]]), StageHarness.record(["a": 3, "d": true])])
        try open.writer.close()
        // A later writer finds the table and widens it again.
        _ = try StageHarness.deliver([StageHarness.record(["a": 4, "e": "new"])], to: sink)
        let pg = try PostgresConnection(url: url)
        let types = try pg.rows("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't'::regclass AND attnum > 0 ORDER BY attnum")
        #expect(types == [["a", "bigint"], ["b", "double precision"], ["c", "jsonb"], ["d", "boolean"], ["e", "text"]])
        #expect(try pg.rows("SELECT a, b, c::text, d, e FROM t ORDER BY a") == [
            ["1", nil, nil, nil, nil], ["2", "1.5", "{\"x\": 1}", nil, nil], ["3", nil, nil, "t", nil], ["4", nil, nil, nil, "new"],
        ])
    }

    @Test func valuesTheColumnCannotHoldExactlyAndNULCharactersAreDeadLettersTheRestIsWritten() throws {
        let url = try TestPostgres.freshDatabase("refuse")
        // The first batch makes n a bigint column and s a text one.
        let sink = PostgresSink(url: url, table: "t")
        _ = try StageHarness.deliver([StageHarness.record(["n": 1, "s": "ok"])], to: sink)
        let letters = try StageHarness.deliver([
            StageHarness.record(["n": "007", "s": "leading zeros"]),
            StageHarness.record(["n": 2.5, "s": "fraction"]),
            StageHarness.record(["n": 3, "s": "nul \u{0}inside"]),
            StageHarness.record(["n": "4", "s": "canonical text is fine"]),
            StageHarness.record(["n": 5, "s": ["deep": "nul\u{0}"]]),
        ], to: sink)
        #expect(letters.count == 4)
        #expect(letters.contains { $0.error.contains("NUL") && $0.error.contains("'s'") })
        #expect(letters.contains { $0.error.contains("007") })
        #expect(try readBack(url, "SELECT n, s FROM t ORDER BY n") == [["n": 1, "s": "ok"], ["n": 4, "s": "canonical text is fine"]])
    }

    @Test func rowsTheServerRefusesAreDeadLettersWithItsMessageAndTheOthersAreWritten() throws {
        let url = try TestPostgres.freshDatabase("check")
        let pg = try PostgresConnection(url: url)
        try pg.execute("CREATE TABLE t (n bigint CHECK (n < 100), at timestamptz); SET TimeZone = 'UTC'")
        let letters = try StageHarness.deliver([
            StageHarness.record(["n": 1, "at": "2024-05-01T10:00:00Z"]),
            StageHarness.record(["n": 500, "at": "2024-05-01T10:00:00Z"]),
            StageHarness.record(["n": 2, "at": "not a time"]),
            StageHarness.record(["n": 3, "at": "2024-05-02 10:00:00+02"]),
        ], to: PostgresSink(url: url, table: "t"))
        #expect(letters.count == 2)
        #expect(letters.allSatisfy { $0.error.contains("PostgreSQL refused") })
        #expect(try pg.rows("SELECT n, at::text FROM t ORDER BY n") == [["1", "2024-05-01 10:00:00+00"], ["3", "2024-05-02 08:00:00+00"]])
    }

    @Test func aKeyMakesUpsertsThatKeepColumnsTheRecordLacksAndTheLastRecordOfAKeyWins() throws {
        let url = try TestPostgres.freshDatabase("upsert")
        let sink = PostgresSink(url: url, table: "t", key: ["id"])
        let letters = try StageHarness.deliver([
            StageHarness.record(["id": 1, "title": "first", "body": "b1"]),
            StageHarness.record(["id": 2, "title": "two", "body": "b2"]),
            StageHarness.record(["id": 1, "title": "first, again", "body": "b1 again"]),
            StageHarness.record(["id": 2, "title": "two, title only"]),
            StageHarness.record(["title": "no key"]),
        ], to: sink)
        #expect(letters.count == 1)
        #expect(letters.first?.error.contains("missing key field 'id'") ?? false)
        _ = try StageHarness.deliver([StageHarness.record(["id": 1, "lang": "en"])], to: sink)
        #expect(try readBack(url, "SELECT id, title, body, lang FROM t ORDER BY id") == [
            ["id": 1, "title": "first, again", "body": "b1 again", "lang": "en"],
            ["id": 2, "title": "two, title only", "body": "b2", "lang": nil],
        ])
    }

    @Test func ftsMakesAGeneratedTsvectorColumnWithAGinIndexThatQueriesFind() throws {
        let url = try TestPostgres.freshDatabase("fts")
        let sink = PostgresSink(url: url, table: "articles", key: ["id"], fts: ["title", "body"], ftsConfig: "english")
        _ = try StageHarness.deliver([
            StageHarness.record(["id": 1, "title": "Railways", "body": "The new railway opened."]),
            StageHarness.record(["id": 2, "title": "Weather", "body": "Rain all week."]),
        ], to: sink)
        let pg = try PostgresConnection(url: url)
        #expect(try pg.rows("SELECT id FROM articles WHERE fts @@ websearch_to_tsquery('english', 'railway opening')") == [["1"]])
        #expect(try pg.scalar("SELECT indexdef FROM pg_indexes WHERE tablename = 'articles' AND indexdef LIKE '%gin%'")?.contains("fts") ?? false)
        // An update is searchable at once (the column is generated from the row).
        _ = try StageHarness.deliver([StageHarness.record(["id": 2, "body": "A railway strike."])], to: sink)
        #expect(try pg.rows("SELECT id FROM articles WHERE fts @@ to_tsquery('english', 'railway') ORDER BY id") == [["1"], ["2"]])
        // Other fields rebuild the column.
        _ = try StageHarness.deliver([], to: PostgresSink(url: url, table: "articles", key: ["id"], fts: ["title"], ftsConfig: "english"))
        #expect(try pg.rows("SELECT id FROM articles WHERE fts @@ to_tsquery('english', 'railway') ORDER BY id") == [["1"]])
    }

    @Test func indexesAreCreatedOnTheNamedFields() throws {
        let url = try TestPostgres.freshDatabase("idx")
        _ = try StageHarness.deliver([StageHarness.record(["a": 1, "b": 2])],
                                     to: PostgresSink(url: url, table: "t", indexes: [["a"], ["a", "b"]]))
        let pg = try PostgresConnection(url: url)
        #expect(try pg.rows("SELECT indexname FROM pg_indexes WHERE tablename = 't' ORDER BY 1") == [["idx_t_a"], ["idx_t_a_b"]])
    }

    @Test func aSchemaIsCreatedAndWrittenToWithItsOwnMarks() throws {
        let url = try TestPostgres.freshDatabase("schema")
        _ = try StageHarness.deliver([positioned(["a": 1], offset: 0)], to: PostgresSink(url: url, table: "t", schema: "Raw Data"))
        let pg = try PostgresConnection(url: url)
        #expect(try pg.scalar("SELECT count(*) FROM \"Raw Data\".t") == "1")
        #expect(try pg.scalar("SELECT to_regclass('\"Raw Data\"._sluice_delivered')") != nil)
    }

    @Test func aReRunSkipsWhatWasCommittedAndWritesOnlyTheRestExactlyOnce() throws {
        let url = try TestPostgres.freshDatabase("once")
        let sink = PostgresSink(url: url, table: "t")
        let all = (0..<10).map { positioned(["n": .int(Int64($0))], offset: Int64($0) * 10) }
        let first = try OpenWriter(sink)
        try first.write([Array(all[0..<3]), Array(all[3..<6])])
        try first.writer.close()
        // The re-run reads everything again (its source's checkpoint was behind the sink).
        let second = try OpenWriter(sink)
        #expect(try second.write([Array(all[0..<4]), Array(all[4...])]) == 4)
        try second.writer.close()
        #expect(second.ledger.skipped == 6)
        let pg = try PostgresConnection(url: url)
        #expect(try pg.rows("SELECT n FROM t ORDER BY n").map { $0[0] ?? "" } == (0..<10).map(String.init))
        // Another pipeline has its own marks.
        let other = try OpenWriter(sink, pipeline: "other")
        #expect(try other.ledger.admit(all, route: "").count == 10)
        try other.writer.close()
    }

    @Test func theMarksOfManyInputsAreLookedUpInBatchesWhateverTheirNamesAndEachRecordLandsOnce() throws {
        let url = try TestPostgres.freshDatabase("lookups")
        let sink = PostgresSink(url: url, table: "t")
        // Names that an array literal or SQL must quote, and many of them (one record each).
        let odd = ["it's", "say \"hi\"", "back\\slash", "a,b", "{braces}", "NULL", "", " spaced ", "ünï 文"]
        let inputs = odd + (0..<1_500).map { "article-\($0).txt" }
        func batches(_ names: ArraySlice<String>) -> [[Record]] {
            stride(from: names.startIndex, to: names.endIndex, by: 250).map { start in
                names[start..<min(start + 250, names.endIndex)].map { positioned(["name": .string($0)], offset: 0, input: $0) }
            }
        }
        let first = try OpenWriter(sink)
        try first.write(batches(inputs[0..<1_200]))
        try first.writer.close()
        #expect(first.ledger.heldMarks <= 1, "forgotten once committed")

        let second = try OpenWriter(sink)
        #expect(try second.write(batches(inputs[0...])) == inputs.count - 1_200)
        try second.writer.close()
        #expect(second.ledger.skipped == 1_200)
        let pg = try PostgresConnection(url: url)
        #expect(try pg.scalar("SELECT count(*) FROM t") == String(inputs.count))
        #expect(try pg.scalar("SELECT count(DISTINCT name) FROM t") == String(inputs.count))
        #expect(try pg.scalar("SELECT count(*) FROM _sluice_delivered") == String(inputs.count))
    }

    /// A cluster process that hung past its lease wakes up and commits what the process that
    /// took its unit over has committed meanwhile: the fence refuses it, nothing is doubled.
    @Test(arguments: [false, true])
    func aWriterWhoseMarksAnotherProcessMovedMeanwhileCannotCommitDuplicates(earlierCommit: Bool) throws {
        let url = try TestPostgres.freshDatabase("fence")
        let sink = PostgresSink(url: url, table: "t")
        let all = (0..<6).map { positioned(["n": .int(Int64($0))], offset: Int64($0)) }
        // The table exists before (its creation locks it until the creating transaction ends).
        let before = try OpenWriter(sink)
        try before.write([earlierCommit ? Array(all[0..<2]) : [positioned(["n": -1], offset: 0, input: "other.jsonl")]])
        try before.writer.close()
        // The stale process reads the input's marks with its first records, then hangs before
        // committing them.
        let stale = try OpenWriter(sink)
        let firstNew = earlierCommit ? 2 : 0
        #expect(try stale.write([Array(all[0..<3])]) == 3 - firstNew)
        let takeover = try OpenWriter(sink)    // takes the unit over
        #expect(try takeover.write([all]) == (earlierCommit ? 4 : 6))
        try takeover.writer.close()
        #expect(try stale.write([Array(all[3...])]) == 3)
        #expect {
            try stale.writer.flush()
        } throws: { error in
            "\(error)".contains("another process delivered records of 'in.jsonl'") && "\(error)".contains("rolled back")
        }
        try? stale.writer.close()
        let pg = try PostgresConnection(url: url)
        #expect(try pg.rows("SELECT n FROM t WHERE n >= 0 ORDER BY n").map { $0[0] ?? "" } == (0..<6).map(String.init))
    }

    /// A process that meets an input only after another delivered it reads that process's marks
    /// then: it skips the records instead of failing.
    @Test func aWriterThatMeetsAnInputAfterAnotherDeliveredItSkipsItsRecords() throws {
        let url = try TestPostgres.freshDatabase("late")
        let sink = PostgresSink(url: url, table: "t")
        let all = (0..<6).map { positioned(["n": .int(Int64($0))], offset: Int64($0)) }
        let late = try OpenWriter(sink)        // opened, has not met the input yet
        let other = try OpenWriter(sink)
        #expect(try other.write([all]) == 6)
        try other.writer.close()
        #expect(try late.write([all]) == 0)
        try late.writer.close()
        #expect(late.ledger.skipped == 6)
        let pg = try PostgresConnection(url: url)
        #expect(try pg.scalar("SELECT count(*) FROM t") == "6")
    }

    @Test func anUncommittedTransactionIsLostByACrashAndWrittenByTheReRunOnce() throws {
        let url = try TestPostgres.freshDatabase("crash")
        let sink = PostgresSink(url: url, table: "t")
        let all = (0..<6).map { positioned(["n": .int(Int64($0))], offset: Int64($0)) }
        do {
            let first = try OpenWriter(sink)
            try first.write([Array(all[0..<3])])
            try first.writer.flush()
            try first.write([Array(all[3...])])
            // The process dies here: the second batch was never committed.
            let killer = try PostgresConnection(url: url)
            _ = try killer.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        }
        let again = try OpenWriter(sink)
        #expect(try again.write([all]) == 3)
        try again.writer.close()
        let pg = try PostgresConnection(url: url)
        #expect(try pg.rows("SELECT n FROM t ORDER BY n").map { $0[0] ?? "" } == (0..<6).map(String.init))
    }

    @Test func aConnectionDroppedMidRunIsRetriedAndNothingIsLostOrDoubled() throws {
        let url = try TestPostgres.freshDatabase("drop")
        var sink = PostgresSink(url: url, table: "t", key: [], batchSize: 1_000)
        sink.retryPause = 0.05
        let all = (0..<3_000).map { positioned(["n": .int(Int64($0)), "text": .string("row \($0)")], offset: Int64($0)) }
        let open = try OpenWriter(sink)
        let killer = try PostgresConnection(url: url)
        func terminateWriter() throws {
            _ = try killer.execute("""
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
                """)
        }
        for (index, start) in stride(from: 0, to: all.count, by: 250).enumerated() {
            try open.write([Array(all[start..<(start + 250)])])
            // Kill the session with 750 rows in its open transaction (after batches 3 and 7;
            // batch_size 1,000 commits after every 4th), and with 250 (after batch 9).
            if index == 2 || index == 6 || index == 8 { try terminateWriter() }
        }
        try open.writer.close()
        let pg = try PostgresConnection(url: url)
        #expect(try pg.scalar("SELECT count(*) FROM t") == "3000")
        #expect(try pg.scalar("SELECT count(DISTINCT n) FROM t") == "3000")
        #expect(try pg.scalar("SELECT max(\"offset\") FROM _sluice_delivered") == "2999")
    }

    @Test func aConnectionThatStaysDownFailsTheRunClearlyAndKeepsWhatWasCommitted() throws {
        let url = try TestPostgres.freshDatabase("down")
        var sink = PostgresSink(url: url, table: "t", retries: 2)
        sink.retryPause = 0.01
        let open = try OpenWriter(sink)
        try open.write([[positioned(["n": 1], offset: 1)]])
        try open.writer.flush()
        try open.write([[positioned(["n": 2], offset: 2)]])
        // Refuse new connections to the database, then end the writer's session.
        let admin = try PostgresConnection(url: TestPostgres.databaseURL(url, name: "postgres"))
        let name = try #require(try PostgresConnection(url: url).scalar("SELECT current_database()"))
        try admin.execute("ALTER DATABASE \(PostgresConnection.quoteIdentifier(name)) ALLOW_CONNECTIONS false")
        defer { _ = try? admin.execute("ALTER DATABASE \(PostgresConnection.quoteIdentifier(name)) ALLOW_CONNECTIONS true") }
        try admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [name])
        do {
            try open.writer.close()
            Issue.record("a connection that stays down must fail the run")
        } catch {
            let message = "\(error)"
            #expect(message.contains("lost the connection to PostgreSQL"), "\(message)")
            #expect(message.contains("2 reconnections failed"), "\(message)")
        }
        try admin.execute("ALTER DATABASE \(PostgresConnection.quoteIdentifier(name)) ALLOW_CONNECTIONS true")
        #expect(try PostgresConnection(url: url).rows("SELECT n FROM t") == [["1"]])
    }

    @Test func optionsAreCheckedWhenTheConfigIsRead() throws {
        let dir = TemporaryDirectory()
        func options(_ values: Fields) -> StageOptions {
            StageHarness.options(values, type: "postgres", kind: .sink, directory: dir.path)
        }
        #expect(throws: ConfigError.self) { try PostgresSink(stageOptions: options(["table": "t"])) }
        #expect(throws: ConfigError.self) { try PostgresSink(stageOptions: options(["url": "x", "table": "_sluice_delivered"])) }
        #expect(throws: ConfigError.self) { try PostgresSink(stageOptions: options(["url": "x", "table": .string(String(repeating: "t", count: 64))])) }
        #expect(throws: ConfigError.self) { try PostgresSink(stageOptions: options(["url": "x", "table": "t", "key": ["a", "a"]])) }
        #expect(throws: ConfigError.self) { try PostgresSink(stageOptions: options(["url": "x", "table": "t", "fts": ["fts"]])) }
        let sink = try PostgresSink(stageOptions: options(["url": "x", "table": "t", "key": "id", "indexes": ["a", ["b", "c"]]]))
        #expect(sink.key == ["id"] && sink.indexes == [["a"], ["b", "c"]])
    }

    @Test("each refused sink option says why, at the option")
    func sinkOptionMessages() {
        let dir = TemporaryDirectory()
        func message(_ values: Fields) -> String {
            do {
                _ = try PostgresSink(stageOptions: StageHarness.options((["url": "x", "table": "t"] as Fields).merging(values) { $1 },
                                                                        type: "postgres", kind: .sink, directory: dir.path))
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(message(["table": "_sluice_delivered"]).contains("the sink keeps its delivery marks there; choose another table"))
        #expect(message(["fts": ["fts"]]).contains("option 'fts_column' 'fts' is also a field the sink writes"))
        #expect(message(["indexes": ["a", ["b", "b"]]]).contains("option 'indexes' item 2 names 'b' twice"))
        #expect(message(["indexes": ["a", 5]]).contains("option 'indexes' item 2 must be a field or a list of fields, not integer 5"))
        #expect(message(["fts_config": "a\u{0}b"]).contains("option 'fts_config' must name a text search configuration"))
        #expect(message(["schema": .string(String(repeating: "s", count: 64))]).contains("option 'schema':"))
    }

    @Test("the source's table/query/params rules and checks say why")
    func sourceOptionMessages() {
        let dir = TemporaryDirectory()
        func message(_ values: Fields) -> String {
            do {
                _ = try PostgresSource(stageOptions: StageHarness.options((["url": "x"] as Fields).merging(values) { $1 },
                                                                          type: "postgres", kind: .source, directory: dir.path))
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(message(["query": "  "]).contains("option 'query' must not be empty"))
        #expect(message(["query": "select 1", "params": "a"]).contains("option 'params' must be a list"))
        #expect(message(["table": "t", "query": "select 1"]).contains("give either 'table' or 'query', not both"))
        #expect(message(["table": "t", "params": [1]]).contains("option 'params' goes with 'query'"))
        #expect(message([:]).contains("give either 'table' or 'query'"))
        #expect(message(["query": "select $1", "params": [1, "a", .null]]) == "")
    }
}
