import Foundation
import SluiceCore
import SluiceTestSupport
import Testing
@testable import SluicePostgres

@Suite("postgres source")
struct PostgresSourceTests {
    @Test func columnTypesMapToRecordValuesAsDocumented() throws {
        let url = try TestPostgres.freshDatabase("srctypes")
        let pg = try PostgresConnection(url: url)
        try pg.execute("""
            CREATE TABLE t (b boolean, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,
              n_int numeric, n_frac numeric, n_big numeric, t text, vc varchar(10), j json, jb jsonb,
              ts timestamp, tstz timestamptz, d date, u uuid, by bytea, ai int[], at text[], aj jsonb[], a2 int[][], nul text);
            SET TimeZone = 'Europe/Paris';
            INSERT INTO t VALUES (true, 7, -8, 9007199254740993, 1.5, 0.1, 12345678901234, 1.25, 123456789012345678901234.5678,
              'tab\there', 'v', '{"a": [1, 2.5]}', '{"b": null, "a": "x"}', '2024-05-01 12:30:00.5', '2024-05-01 12:30:00+02',
              '2024-05-01', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff10', '{1,NULL,3}', '{"a b","c\\"d",NULL,"NULL"}',
              ARRAY['{"k": 1}'::jsonb], '{{1,2},{3,4}}', NULL);
            """)
        let records = try StageHarness.collect(PostgresSource(url: url, table: "t")).records
        let fields = try #require(records.first?.fields)
        let expected: Fields = [
            "b": true, "i2": 7, "i4": -8, "i8": 9_007_199_254_740_993, "f4": 1.5, "f8": 0.1,
            "n_int": 12_345_678_901_234, "n_frac": 1.25, "n_big": "123456789012345678901234.5678",
            "t": "tab\there", "vc": "v", "j": ["a": [1, 2.5]], "jb": ["a": "x", "b": nil],
            "ts": "2024-05-01T12:30:00.5", "tstz": "2024-05-01T10:30:00Z", "d": "2024-05-01",
            "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "by": .string(Data([0, 255, 16]).base64EncodedString()),
            "ai": [1, nil, 3], "at": ["a b", "c\"d", nil, "NULL"], "aj": [["k": 1]], "a2": [[1, 2], [3, 4]], "nul": nil,
        ]
        for (name, value) in expected {
            #expect(fields[name] == value, "column \(name)")
        }
        #expect(Array(fields.keys) == Array(expected.keys))
    }

    @Test func aQueryTakesParamsAndIsStreamedInBatchesOfTheBatchSize() throws {
        let url = try TestPostgres.freshDatabase("srcquery")
        let pg = try PostgresConnection(url: url)
        try pg.execute("CREATE TABLE t AS SELECT g AS n, 'row ' || g AS label FROM generate_series(1, 1000) g")
        let box = try readDelivering(PostgresSource(url: url, query: "SELECT n, label FROM t WHERE n > $1 AND label LIKE $2 ORDER BY n;",
                                                    params: ["10", "row %"]), batchSize: 100)
        #expect(box.records.count == 990)
        #expect(box.records.first?.fields == ["n": 11, "label": "row 11"])
        #expect(box.batches.filter { !$0.records.isEmpty }.map(\.records.count).max() == 100)
        // Without incremental there are no positions: every run reads all, sinks write all.
        #expect(box.records.allSatisfy { $0.origin.position == nil })
    }

    @Test func aQueryThatWritesFailsInTheReadOnlyTransaction() throws {
        let url = try TestPostgres.freshDatabase("srcwrite")
        try PostgresConnection(url: url).execute("CREATE TABLE t (n int)")
        #expect(throws: StageError.self) {
            _ = try StageHarness.collect(PostgresSource(url: url, query: "WITH x AS (INSERT INTO t VALUES (1) RETURNING n) SELECT * FROM x"))
        }
        #expect(try PostgresConnection(url: url).scalar("SELECT count(*) FROM t") == "0")
    }

    @Test func aMissingTableOrIncrementalColumnIsNamedWithWhatIsThere() throws {
        let url = try TestPostgres.freshDatabase("srcmissing")
        try PostgresConnection(url: url).execute("CREATE TABLE articles (id int, title text)")
        do {
            _ = try StageHarness.collect(PostgresSource(url: url, table: "article"))
            Issue.record("a missing table must fail")
        } catch {
            #expect("\(error)".contains("articles"), "\(error)")
        }
        do {
            _ = try StageHarness.collect(PostgresSource(url: url, table: "articles", incremental: "updated"))
            Issue.record("a missing column must fail")
        } catch {
            #expect("\(error)".contains("id, title"), "\(error)")
        }
    }

    @Test func incrementalResumesAfterTheLastValueSeenAcrossRunsWithOrdinalPositions() throws {
        let url = try TestPostgres.freshDatabase("srcincr")
        let pg = try PostgresConnection(url: url)
        try pg.execute("""
            CREATE TABLE t (id bigint, at timestamptz, body text);
            INSERT INTO t SELECT g, timestamptz '2024-01-01 00:00:00.000001+00' + g * interval '1 microsecond', 'b' || g
            FROM generate_series(1, 5) g;
            INSERT INTO t VALUES (99, NULL, 'no time');
            """)
        let source = PostgresSource(url: url, table: "t", incremental: "at")
        let first = try readDelivering(source, batchSize: 2)
        #expect(first.records.compactMap { $0["id"]?.intValue } == [1, 2, 3, 4, 5])
        #expect(first.records.map(\.origin.position?.offset) == [0, 1, 2, 3, 4])
        let saved = try #require(first.last["t"])
        #expect(saved.offset == 5 && saved.records == 5)

        try pg.execute("""
            INSERT INTO t SELECT g, timestamptz '2024-01-01 00:00:00.000001+00' + g * interval '1 microsecond', 'b' || g
            FROM generate_series(6, 7) g
            """)
        let second = try readDelivering(source, saved: [saved])
        #expect(second.records.compactMap { $0["id"]?.intValue } == [6, 7])
        #expect(second.records.map(\.origin.position) == [5, 6].map { Position(input: "t", epoch: saved.epoch, offset: $0) })
        #expect(second.last["t"]?.records == 7)

        // A checkpoint made with another column reads the table whole, as a new version.
        let other = try readDelivering(PostgresSource(url: url, table: "t", incremental: "id"), saved: [saved])
        #expect(other.records.count == 8)
        #expect(other.records.first?.origin.position?.epoch == saved.epoch + 1)
    }

    @Test func aSinkAndTheIncrementalSourceTogetherDeliverEachRowOnceAcrossReRuns() throws {
        let src = try TestPostgres.freshDatabase("srcchain")
        let pg = try PostgresConnection(url: src)
        try pg.execute("CREATE TABLE events AS SELECT g AS id, 'e' || g AS name FROM generate_series(1, 50) g")
        let dst = try TestPostgres.freshDatabase("dstchain")
        let sink = PostgresSink(url: dst, table: "copy")
        let source = PostgresSource(url: src, table: "events", incremental: "id")
        // Run 1 reads everything; the sink commits all but the checkpoint is "lost" (a crash
        // before it was saved): run 2 reads all again and the sink skips them all.
        let run1 = try readDelivering(source, batchSize: 20)
        let w1 = try OpenWriter(sink)
        try w1.write(run1.batches.map(\.records))
        try w1.writer.close()
        let run2 = try readDelivering(source, batchSize: 20)
        let w2 = try OpenWriter(sink)
        #expect(try w2.write(run2.batches.map(\.records)) == 0)
        try w2.writer.close()
        try pg.execute("INSERT INTO events VALUES (51, 'e51')")
        let run3 = try readDelivering(source, saved: Array(run2.last.values))
        let w3 = try OpenWriter(sink)
        #expect(try w3.write(run3.batches.map(\.records)) == 1)
        try w3.writer.close()
        let out = try PostgresConnection(url: dst)
        #expect(try out.scalar("SELECT count(*) || ' ' || count(DISTINCT id) FROM copy") == "51 51")
    }

    @Test func arrayLiteralsParseQuotesEscapesNullsAndBounds() {
        var parser = ArrayLiteralParser(#"[0:1]={"a,b","\\\"",NULL}"#)
        #expect(parser.parse(.text) == ["a,b", "\\\"", nil])
        var broken = ArrayLiteralParser("{1,2")
        #expect(broken.parse(.int) == nil)
    }
}
