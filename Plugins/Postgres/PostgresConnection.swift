import CLibPQ
import Foundation

// A small wrapper over libpq (the `CLibPQ` target: libpq-dev's header, the library loaded on first
// use by Sources/CLibPQ/loader.c): connect,
// run statements with text parameters, read results as text, COPY FROM STDIN, transactions.
// Every value crosses the wire in PostgreSQL's text format, which is exact for every type
// (numeric keeps all its digits, timestamps their zone) and is what COPY takes anyway.

/// An error reported by libpq or the server: what was being done, the message, the SQLSTATE.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    /// What was being done ("connecting to postgresql://…", "creating table \"t\"").
    public var doing: String
    /// The server's or libpq's message (first line: the primary message; a DETAIL line may follow).
    public var message: String
    /// The five-character SQLSTATE (`23505` unique violation, `57P01` terminated by an
    /// administrator…), or `nil` when the error did not come from the server.
    public var sqlState: String?
    /// Whether the connection was unusable after the error (see ``isConnectionLost``).
    public var connectionBroken: Bool

    /// Makes an error.
    public init(doing: String, message: String, sqlState: String? = nil, connectionBroken: Bool = false) {
        self.doing = doing
        self.message = message
        self.sqlState = sqlState
        self.connectionBroken = connectionBroken
    }

    /// "doing: message (SQLSTATE xxxxx)".
    public var description: String {
        "\(doing): \(message)" + (sqlState.map { " (SQLSTATE \($0))" } ?? "")
    }

    /// Whether the error means the connection is gone (the server closed it, was shut down,
    /// the backend was terminated with `pg_terminate_backend`, the network failed): the work
    /// of the open transaction is lost and may be redone on a new connection.
    public var isConnectionLost: Bool {
        if connectionBroken { return true }
        guard let state = sqlState else { return false }
        // Class 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now.
        return state.hasPrefix("08") || state == "57P01" || state == "57P02" || state == "57P03"
    }

    /// Whether the error concerns the values of a row (class 22 data exception: a bad number,
    /// text with a NUL, an invalid JSON; class 23 integrity constraint violation), not the
    /// connection or the statement.
    public var isAboutTheData: Bool {
        guard let state = sqlState else { return false }
        return state.hasPrefix("22") || state.hasPrefix("23")
    }
}

/// The result of one statement: rows of text values (PostgreSQL's text format), column names
/// and type OIDs. Holds libpq's result until released.
public final class PostgresResult {
    private let handle: OpaquePointer

    init(handle: OpaquePointer) { self.handle = handle }

    deinit { PQclear(handle) }

    /// The number of rows.
    public var rowCount: Int { Int(PQntuples(handle)) }

    /// The number of columns.
    public var columnCount: Int { Int(PQnfields(handle)) }

    /// The name of column `index`.
    public func columnName(_ index: Int) -> String {
        PQfname(handle, Int32(index)).map { String(cString: $0) } ?? "column\(index + 1)"
    }

    /// The type OID of column `index` (`pg_type.oid`: 23 int4, 25 text, 3802 jsonb…).
    public func columnType(_ index: Int) -> UInt32 { UInt32(PQftype(handle, Int32(index))) }

    /// The column names, in order.
    public var columnNames: [String] { (0..<columnCount).map(columnName) }

    /// Whether the value at `row`, `column` is NULL.
    public func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(handle, Int32(row), Int32(column)) != 0 }

    /// The value at `row`, `column` as text, or `nil` for NULL.
    public func value(_ row: Int, _ column: Int) -> String? {
        guard !isNull(row, column), let text = PQgetvalue(handle, Int32(row), Int32(column)) else { return nil }
        let count = Int(PQgetlength(handle, Int32(row), Int32(column)))
        return String(decoding: UnsafeRawBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// The raw bytes of the value at `row`, `column` (nil for NULL), without a copy.
    public func withBytes<R>(_ row: Int, _ column: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard !isNull(row, column), let text = PQgetvalue(handle, Int32(row), Int32(column)) else { return nil }
        return try body(UnsafeRawBufferPointer(start: text, count: Int(PQgetlength(handle, Int32(row), Int32(column)))))
    }

    /// Every row, each a list of optional strings.
    public var rows: [[String?]] {
        (0..<rowCount).map { row in (0..<columnCount).map { value(row, $0) } }
    }

    /// The first column of every row (NULL as nil).
    public var firstColumn: [String?] { (0..<rowCount).map { value($0, 0) } }

    /// The number of rows the command affected (`INSERT`, `UPDATE`, `COPY`…), 0 when it says none.
    public var affectedRows: Int {
        PQcmdTuples(handle).flatMap { Int(String(cString: $0)) } ?? 0
    }
}

/// One connection to PostgreSQL through libpq. Not thread-safe: use it from one thread at a
/// time (a sink writer's, a source's).
///
/// ```swift
/// let pg = try PostgresConnection(url: "postgresql://sluice:${PGPASSWORD}@db/archive")
/// try pg.transaction {
///     try pg.execute("INSERT INTO t (a) VALUES ($1)", ["x"])
/// }
/// ```
public final class PostgresConnection {
    private var handle: OpaquePointer?
    /// The connection string as given (after `${VAR}` expansion), kept to reconnect.
    private let conninfo: String
    /// The connection string with its password hidden, for messages.
    public let displayURL: String

    /// Connects. `url` is a libpq connection URI (`postgresql://user@host:5432/db?sslmode=…`,
    /// `postgresql:///db?host=/run/postgresql` for a Unix socket) or a keyword string
    /// (`host=… dbname=…`); `${VAR}` in it is replaced with the environment variable (for the
    /// password: keep secrets out of config files). The session's client encoding is UTF-8.
    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(PostgresError)
    {
        let expanded = try Self.expand(url, environment: environment)
        conninfo = expanded
        displayURL = Self.redact(expanded)
        try open()
    }

    deinit { if let handle { PQfinish(handle) } }

    private func open() throws(PostgresError) {
        if let handle { PQfinish(handle) }
        handle = nil
        guard !conninfo.utf8.contains(0) else {
            throw PostgresError(doing: "connecting to \(displayURL)", message: "the connection string contains a NUL character")
        }
        var why = [CChar](repeating: 0, count: 512)
        guard sluice_libpq_load(&why, Int32(why.count)) == 1 else {
            let message = String(decoding: why.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw PostgresError(doing: "connecting to \(displayURL)", message: message)
        }
        let keywords = ["dbname", "fallback_application_name", "client_encoding"]
        let values = [conninfo, "sluice", "UTF8"]
        let connection: OpaquePointer? = withCStrings(keywords) { k in
            withCStrings(values) { v in PQconnectdbParams(k, v, 1) }
        }
        guard let connection else {
            throw PostgresError(doing: "connecting to \(displayURL)", message: "libpq could not allocate a connection",
                                connectionBroken: true)
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(connection))
            PQfinish(connection)
            throw PostgresError(doing: "connecting to \(displayURL)", message: message, connectionBroken: true)
        }
        sluice_pg_silence_notices(connection)
        handle = connection
    }

    /// Closes the connection and opens a new one with the same settings (after a lost
    /// connection). Whatever the old session held (an open transaction, temporary tables,
    /// cursors) is gone.
    public func reconnect() throws(PostgresError) {
        try open()
    }

    /// Closes the connection now (also done when the value is released).
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    /// Whether the connection is open and usable as far as libpq knows (a server that went
    /// away is only noticed at the next statement).
    public var isOpen: Bool { handle.map { PQstatus($0) == CONNECTION_OK } ?? false }

    /// The server's process id for this session (what `pg_terminate_backend` takes), 0 when closed.
    public var backendPID: Int32 { handle.map { PQbackendPID($0) } ?? 0 }

    /// The server's version number (`150014` for 15.14), 0 when closed.
    public var serverVersion: Int { handle.map { Int(PQserverVersion($0)) } ?? 0 }

    /// Whether a transaction is open on the session.
    public var inTransaction: Bool {
        guard let handle else { return false }
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    private func connection(_ doing: @autoclosure () -> String) throws(PostgresError) -> OpaquePointer {
        guard let handle else { throw PostgresError(doing: doing(), message: "the connection is closed", connectionBroken: true) }
        return handle
    }

    // MARK: - Statements

    /// Runs one statement with text parameters (`$1`, `$2`…; `nil` is NULL; the server infers
    /// their types) and returns its rows. Without parameters the SQL may hold several
    /// statements separated by `;` (the last one's rows are returned). `doing` names the work
    /// in an error ("creating table \"t\""); by default the SQL itself.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?] = [], doing: String? = nil) throws(PostgresError) -> PostgresResult {
        let what = doing ?? "running \(Self.abbreviated(sql))"
        let conn = try connection(what)
        guard !sql.utf8.contains(0) else { throw PostgresError(doing: what, message: "the SQL contains a NUL character") }
        if let bad = parameters.firstIndex(where: { $0?.utf8.contains(0) ?? false }) {
            throw PostgresError(doing: what, message: "parameter $\(bad + 1) contains a NUL character, which PostgreSQL text cannot hold",
                                sqlState: "22021")
        }
        let result: OpaquePointer?
        if parameters.isEmpty {
            result = PQexec(conn, sql)
        } else {
            result = withOptionalCStrings(parameters) { values in
                PQexecParams(conn, sql, Int32(parameters.count), nil, values, nil, nil, 0)
            }
        }
        return try check(result, what, allowCopy: false)
    }

    /// Turns a result into a ``PostgresResult`` or throws its error.
    private func check(_ result: OpaquePointer?, _ doing: String, allowCopy: Bool) throws(PostgresError) -> PostgresResult {
        guard let result else {
            throw PostgresError(doing: doing, message: Self.trimmed(handle.flatMap { PQerrorMessage($0) }),
                                connectionBroken: !isOpen)
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_SINGLE_TUPLE:
            return PostgresResult(handle: result)
        case PGRES_COPY_IN where allowCopy:
            return PostgresResult(handle: result)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            PQclear(result)
            if let handle { _ = PQputCopyEnd(handle, "not expected"); drain() }
            throw PostgresError(doing: doing, message: "the statement started a COPY; use copyIn for COPY … FROM STDIN")
        default:
            let error = resultError(result, doing)
            PQclear(result)
            throw error
        }
    }

    private func resultError(_ result: OpaquePointer, _ doing: String) -> PostgresError {
        var message = PQresultErrorField(result, sluice_pg_diag_message_primary()).map { String(cString: $0) }
            ?? Self.trimmed(PQresultErrorMessage(result))
        if message.isEmpty { message = Self.trimmed(handle.flatMap { PQerrorMessage($0) }) }
        if let detail = PQresultErrorField(result, sluice_pg_diag_message_detail()).map({ String(cString: $0) }) {
            message += " (\(detail))"
        }
        let state = PQresultErrorField(result, sluice_pg_diag_sqlstate()).map { String(cString: $0) }
        return PostgresError(doing: doing, message: message, sqlState: state, connectionBroken: !isOpen)
    }

    /// Reads and drops every pending result (after an aborted COPY or an error).
    private func drain() {
        guard let handle else { return }
        while let result = PQgetResult(handle) { PQclear(result) }
    }

    /// The rows of a query, each a list of optional strings.
    public func rows(_ sql: String, _ parameters: [String?] = [], doing: String? = nil) throws(PostgresError) -> [[String?]] {
        try execute(sql, parameters, doing: doing).rows
    }

    /// The first column of the first row, or `nil` (no row, or NULL).
    public func scalar(_ sql: String, _ parameters: [String?] = [], doing: String? = nil) throws(PostgresError) -> String? {
        let result = try execute(sql, parameters, doing: doing)
        return result.rowCount > 0 && result.columnCount > 0 ? result.value(0, 0) : nil
    }

    // MARK: - Transactions

    /// Runs `body` in a transaction: `BEGIN`, then `COMMIT` when it returns, `ROLLBACK` when
    /// it throws (the error is rethrown as it was; a rollback on a lost connection is skipped).
    public func transaction<R>(_ body: () throws -> R) throws -> R {
        try execute("BEGIN", doing: "starting a transaction")
        let value: R
        do {
            value = try body()
        } catch {
            rollback()
            throw error
        }
        try execute("COMMIT", doing: "committing")
        return value
    }

    /// Rolls back the open transaction, if any; ignores errors (a lost connection has no
    /// transaction left to roll back).
    public func rollback() {
        guard isOpen else { return }
        if let handle, PQtransactionStatus(handle) == PQTRANS_ACTIVE { drain() }
        _ = try? execute("ROLLBACK", doing: "rolling back")
    }

    // MARK: - COPY FROM STDIN

    /// Starts `COPY … FROM STDIN` (`sql` is the whole statement). Send the data with
    /// ``putCopyData(_:)`` and finish with ``endCopy()`` (or ``abortCopy(_:)``).
    public func beginCopy(_ sql: String, doing: String? = nil) throws(PostgresError) {
        let what = doing ?? "running \(Self.abbreviated(sql))"
        let conn = try connection(what)
        let result = try check(PQexec(conn, sql), what, allowCopy: true)
        _ = result
    }

    /// Sends COPY data (any cut: rows may span calls).
    public func putCopyData(_ bytes: UnsafeRawBufferPointer, doing: @autoclosure () -> String = "sending COPY data")
        throws(PostgresError)
    {
        let conn = try connection(doing())
        var offset = 0
        while offset < bytes.count {
            let chunk = min(bytes.count - offset, 1 << 30)
            guard let base = bytes.baseAddress else { return }
            let sent = PQputCopyData(conn, base.advanced(by: offset).assumingMemoryBound(to: CChar.self), Int32(chunk))
            guard sent == 1 else {
                throw PostgresError(doing: doing(), message: Self.trimmed(PQerrorMessage(conn)), connectionBroken: !isOpen)
            }
            offset += chunk
        }
    }

    /// Sends COPY data.
    public func putCopyData(_ bytes: [UInt8], doing: @autoclosure () -> String = "sending COPY data") throws(PostgresError) {
        var failure: PostgresError?
        bytes.withUnsafeBytes { buffer in
            do throws(PostgresError) { try putCopyData(buffer, doing: doing()) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Ends the COPY and returns how many rows it stored; throws the server's error (a bad
    /// value names its line and column in the message) when it refused the data.
    @discardableResult
    public func endCopy(doing: String = "finishing COPY") throws(PostgresError) -> Int {
        let conn = try connection(doing)
        guard PQputCopyEnd(conn, nil) == 1 else {
            let error = PostgresError(doing: doing, message: Self.trimmed(PQerrorMessage(conn)), connectionBroken: !isOpen)
            drain()
            throw error
        }
        var count = 0
        var failure: PostgresError?
        while let result = PQgetResult(conn) {
            if PQresultStatus(result) == PGRES_COMMAND_OK {
                count = PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
            } else if failure == nil {
                failure = resultError(result, doing)
            }
            PQclear(result)
        }
        if var failure {
            failure.connectionBroken = failure.connectionBroken || !isOpen
            throw failure
        }
        if !isOpen {
            throw PostgresError(doing: doing, message: Self.trimmed(PQerrorMessage(conn)), connectionBroken: true)
        }
        return count
    }

    /// Abandons a COPY in progress (the server rolls the statement back); ignores errors.
    public func abortCopy(_ reason: String) {
        guard let handle else { return }
        _ = PQputCopyEnd(handle, reason)
        drain()
    }

    // MARK: - Quoting

    /// Quotes an SQL identifier: `a"b` becomes `"a""b"` (every identifier goes through this; a
    /// name never reaches SQL unquoted). PostgreSQL identifiers cannot hold NUL, and names
    /// longer than 63 bytes are cut by the server: callers check with ``identifierProblem(_:)``.
    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Quotes an SQL string literal: `it's` becomes `'it''s'` (standard_conforming_strings is
    /// on in every supported PostgreSQL, so a backslash is an ordinary character).
    public static func quoteLiteral(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// The longest identifier PostgreSQL keeps whole (NAMEDATALEN - 1 bytes).
    public static let maxIdentifierBytes = 63

    /// Why `name` cannot be a PostgreSQL identifier as it is, or `nil`.
    public static func identifierProblem(_ name: String) -> String? {
        if name.isEmpty { return "an empty name cannot be a PostgreSQL identifier" }
        if name.utf8.contains(0) { return "the name contains a NUL character" }
        if name.utf8.count > maxIdentifierBytes {
            return "the name is \(name.utf8.count) bytes long; PostgreSQL cuts identifiers at \(maxIdentifierBytes) bytes"
        }
        return nil
    }

    // MARK: - Connection strings

    /// Replaces `${VAR}` with the environment variable `VAR` (`$$` stays a `$`); an unset
    /// variable is an error naming it.
    public static func expand(_ text: String, environment: [String: String]) throws(PostgresError) -> String {
        guard text.contains("${") else { return text }
        var out = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            out += rest[..<start.lowerBound]
            guard let close = rest[start.upperBound...].firstIndex(of: "}") else {
                throw PostgresError(doing: "reading the connection string", message: "'${' without a closing '}'")
            }
            let name = String(rest[start.upperBound..<close])
            guard let value = environment[name] else {
                throw PostgresError(doing: "reading the connection string",
                                    message: "environment variable '\(name)' is not set")
            }
            out += value
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    /// A PostgreSQL array literal of text values (`{"a","b"}`), to pass as one parameter to
    /// `unnest`, `ANY` or a `text[]` column.
    public static func textArray(_ values: [String]) -> String {
        "{" + values.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
            .joined(separator: ",") + "}"
    }

    /// The connection string with its password replaced by `***` (URI `user:secret@` and
    /// keyword `password=secret` forms), for messages and logs.
    public static func redact(_ conninfo: String) -> String {
        var text = conninfo
        if let scheme = text.range(of: "://") {
            let authorityEnd = text[scheme.upperBound...].firstIndex(where: { $0 == "/" || $0 == "?" }) ?? text.endIndex
            if let at = text[scheme.upperBound..<authorityEnd].lastIndex(of: "@"),
               let colon = text[scheme.upperBound..<at].firstIndex(of: ":") {
                text.replaceSubrange(text.index(after: colon)..<at, with: "***")
            }
        }
        // password=… in keyword form or as a URI query parameter.
        var out = ""
        var rest = Substring(text)
        while let found = rest.range(of: "password=", options: .caseInsensitive) {
            out += rest[..<found.upperBound] + "***"
            rest = rest[found.upperBound...]
            if rest.first == "'" {
                var index = rest.index(after: rest.startIndex)
                while index < rest.endIndex && rest[index] != "'" {
                    if rest[index] == "\\" { index = rest.index(after: index) }
                    if index < rest.endIndex { index = rest.index(after: index) }
                }
                rest = index < rest.endIndex ? rest[rest.index(after: index)...] : ""
            } else {
                rest = rest.drop(while: { $0 != " " && $0 != "&" })
            }
        }
        return out + rest
    }

    // MARK: - Helpers

    private static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        let text = message.map { String(cString: $0) } ?? ""
        let cleaned = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return cleaned.isEmpty ? "unknown libpq error" : cleaned
    }

    private static func trimmed(_ message: UnsafeMutablePointer<CChar>?) -> String {
        trimmed(message.map { UnsafePointer($0) })
    }

    /// The SQL's first line, cut at 120 characters, for messages.
    static func abbreviated(_ sql: String) -> String {
        let line = sql.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? sql
        return line.count > 120 ? String(line.prefix(120)) + "…" : line
    }
}

/// Calls `body` with a NULL-terminated C array of C strings (valid during the call), as
/// `PQconnectdbParams` takes its keywords and values.
private func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    withOptionalCStrings(strings.map { Optional($0) } + [nil], body)
}

/// Calls `body` with a C array of optional C strings (nil stays a null pointer: SQL NULL).
private func withOptionalCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } ?? nil }
    defer { for pointer in copies { free(pointer) } }
    return body(copies.map { $0.map { UnsafePointer($0) } })
}
