import Foundation
import SluiceTestSupport
import Testing
@testable import SluicePostgres

@Suite("PostgreSQL connection")
struct PostgresConnectionTests {
    @Test func parametersRoundTripAsTextWithNullsAndQuotes() throws {
        let pg = try PostgresConnection(url: try TestPostgres.freshDatabase("conn"))
        let row = try pg.rows("SELECT $1::text, $2::text, $3::int + 1", ["it's \"x\"", nil, "41"])
        #expect(row == [["it's \"x\"", nil, "42"]])
    }

    @Test func copyFromStdinStoresRowsAndCountsThem() throws {
        let pg = try PostgresConnection(url: try TestPostgres.freshDatabase("copy"))
        try pg.execute("CREATE TABLE t (a int, b text)")
        try pg.beginCopy("COPY t (a, b) FROM STDIN")
        try pg.putCopyData(Array("1\tone\n2\t\\N\n".utf8))
        #expect(try pg.endCopy() == 2)
        #expect(try pg.rows("SELECT a, b FROM t ORDER BY a") == [["1", "one"], ["2", nil]])
    }

    @Test func serverErrorsCarryTheirSQLStateAndWhatWasBeingDone() throws {
        let pg = try PostgresConnection(url: try TestPostgres.freshDatabase("err"))
        try pg.execute("CREATE TABLE t (a int PRIMARY KEY)")
        try pg.execute("INSERT INTO t VALUES (1)")
        do {
            try pg.execute("INSERT INTO t VALUES (1)", doing: "adding the row")
            Issue.record("a duplicate key must fail")
        } catch {
            #expect(error.sqlState == "23505")
            #expect(error.doing == "adding the row")
            #expect(error.isAboutTheData)
            #expect(!error.isConnectionLost)
        }
        // The connection is still usable.
        #expect(try pg.scalar("SELECT count(*) FROM t") == "1")
    }

    @Test func aTerminatedBackendIsSeenAsALostConnectionAndReconnectWorks() throws {
        let url = try TestPostgres.freshDatabase("lost")
        let pg = try PostgresConnection(url: url)
        let killer = try PostgresConnection(url: url)
        #expect(try killer.scalar("SELECT pg_terminate_backend($1::int)", [String(pg.backendPID)]) == "t")
        do {
            try pg.execute("SELECT 1")
            Issue.record("a terminated backend must fail the next statement")
        } catch {
            #expect(error.isConnectionLost, "\(error)")
        }
        try pg.reconnect()
        #expect(try pg.scalar("SELECT 1") == "1")
    }

    @Test func identifiersWithQuotesSpacesAndUnicodeAreQuotedSafely() throws {
        let pg = try PostgresConnection(url: try TestPostgres.freshDatabase("ident"))
        let name = "we\"ird name ü select"
        try pg.execute("CREATE TABLE \(PostgresConnection.quoteIdentifier(name)) (x int)")
        #expect(try pg.scalar("SELECT relname FROM pg_class WHERE relname = $1", [name]) == name)
        #expect(PostgresConnection.identifierProblem(String(repeating: "a", count: 64)) != nil)
    }

    @Test func variablesAreExpandedAndPasswordsHiddenInMessages() throws {
        let url = try PostgresConnection.expand("postgresql://u:${PW}@h/db", environment: ["PW": "s3cret"])
        #expect(url == "postgresql://u:s3cret@h/db")
        #expect(PostgresConnection.redact(url) == "postgresql://u:***@h/db")
        #expect(PostgresConnection.redact("host=h password=s3cret dbname=d") == "host=h password=*** dbname=d")
        #expect(throws: PostgresError.self) { try PostgresConnection.expand("${NOPE_NOT_SET}", environment: [:]) }
    }

    @Test func aServerThatIsNotThereFailsWithAConnectionError() throws {
        let dir = TemporaryDirectory("nopg")
        do {
            _ = try PostgresConnection(url: "postgresql:///x?host=\(dir.path)&connect_timeout=2")
            Issue.record("connecting to nothing must fail")
        } catch {
            #expect(error.isConnectionLost)
            #expect(error.doing.contains("connecting"))
        }
    }
}
