import CSQLite
import Foundation
import SluiceCore

// A thin wrapper over SQLite's C API. The team measured the raw API with a reused prepared
// statement as the fastest path (91–109k rows/s against 80–88k for GRDB's cached statements),
// so the sink binds values straight into prepared statements.

/// An error reported by SQLite, with its result code and what was being done.
struct SQLiteError: Error, CustomStringConvertible {
    /// The extended result code.
    var code: Int32
    /// SQLite's message, prefixed with what was being done.
    var message: String

    var description: String { message }

    /// The primary result code (`SQLITE_CONSTRAINT` for every constraint failure…).
    var primaryCode: Int32 { code & 0xFF }

    /// Whether the error concerns one row's values rather than the database: a constraint,
    /// a type mismatch or a value too big. Such a row is a dead letter; other rows go on.
    var isAboutTheRow: Bool {
        primaryCode == SQLITE_CONSTRAINT || primaryCode == SQLITE_MISMATCH || primaryCode == SQLITE_TOOBIG
            || primaryCode == SQLITE_RANGE
    }
}

/// Quotes an SQL identifier: `a"b` becomes `"a""b"`. Every table, column, index and trigger
/// name goes through this; no name reaches SQL unquoted.
func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// Quotes an SQL string literal: `it's` becomes `'it''s'`.
func quoteLiteral(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
}

/// SQLite compares identifiers ignoring the case of ASCII letters only.
func identifierKey(_ name: String) -> String {
    guard name.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return name }
    return String(decoding: name.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
}

/// One open SQLite connection, used on one thread.
final class Database {
    /// The connection.
    let handle: OpaquePointer
    /// The file's path, for messages.
    let path: String

    /// Opens (and with `create`, creates) the database at `path`.
    init(path: String, readOnly: Bool, create: Bool = false) throws(SQLiteError) {
        var flags = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
        if create && !readOnly { flags |= SQLITE_OPEN_CREATE }
        flags |= SQLITE_OPEN_NOMUTEX
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: message)
        }
        sqlite3_extended_result_codes(db, 1)
        handle = db
        self.path = path
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// SQLite's message for the last error on this connection.
    var lastMessage: String { String(cString: sqlite3_errmsg(handle)) }

    /// An error for result code `rc`, with SQLite's message and `doing` in front.
    func error(_ rc: Int32, _ doing: String) -> SQLiteError {
        SQLiteError(code: rc, message: "\(doing): \(lastMessage)")
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        guard rc == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? lastMessage
            sqlite3_free(message)
            throw SQLiteError(code: rc, message: text)
        }
    }

    /// Prepares one statement. `persistent` hints that it will be reused many times.
    func prepare(_ sql: String, persistent: Bool = false) throws(SQLiteError) -> Statement {
        var statement: OpaquePointer?
        var tail: UnsafePointer<CChar>?
        let flags: UInt32 = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let rc = sqlite3_prepare_v3(handle, sql, -1, flags, &statement, &tail)
        guard rc == SQLITE_OK else { throw SQLiteError(code: rc, message: lastMessage) }
        guard let statement else { throw SQLiteError(code: SQLITE_MISUSE, message: "the SQL holds no statement") }
        let hasMore = tail.map { String(cString: $0).contains { !$0.isWhitespace && $0 != ";" } } ?? false
        return Statement(handle: statement, database: self, hasTrailingSQL: hasMore)
    }

    /// The first column of every row of a query, as strings.
    func strings(_ sql: String, _ arguments: [Value] = []) throws(SQLiteError) -> [String] {
        let statement = try prepare(sql)
        for (i, argument) in arguments.enumerated() { try statement.bind(argument, at: Int32(i + 1)) }
        var result: [String] = []
        while try statement.step() {
            result.append(statement.string(at: 0) ?? "")
        }
        return result
    }
}

/// One prepared statement; reset and reused between rows.
final class Statement {
    /// The statement.
    let handle: OpaquePointer
    /// The connection (kept alive while the statement lives).
    let database: Database
    /// Whether the SQL held more than one statement (only the first was prepared).
    let hasTrailingSQL: Bool

    init(handle: OpaquePointer, database: Database, hasTrailingSQL: Bool) {
        self.handle = handle
        self.database = database
        self.hasTrailingSQL = hasTrailingSQL
    }

    deinit {
        sqlite3_finalize(handle)
        strings?.deallocate()
    }

    /// Binds a record value: bool as 0/1, arrays and objects as their JSON text.
    func bind(_ value: Value, at index: Int32, scratch: inout [UInt8]) throws(SQLiteError) {
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(handle, index)
        case .bool(let b): rc = sqlite3_bind_int64(handle, index, b ? 1 : 0)
        case .int(let i): rc = sqlite3_bind_int64(handle, index, i)
        case .double(let d): rc = sqlite3_bind_double(handle, index, d)
        case .string(let s): rc = bindText(s, at: index)
        case .array, .object:
            scratch.removeAll(keepingCapacity: true)
            JSONWriter.write(value, to: &scratch)
            rc = scratch.withUnsafeBytes { bytes in
                sqlite3_bind_text64(handle, index, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), UInt64(bytes.count),
                                    sluice_sqlite_transient(), UInt8(SQLITE_UTF8))
            }
        }
        guard rc == SQLITE_OK else { throw database.error(rc, "cannot bind value \(index)") }
    }

    /// Binds a record value (allocating a buffer for JSON text when needed).
    func bind(_ value: Value, at index: Int32) throws(SQLiteError) {
        var scratch: [UInt8] = []
        try bind(value, at: index, scratch: &scratch)
    }

    private func bindText(_ text: String, at index: Int32) -> Int32 {
        // A native string's bytes in place (no copy of the string value, no retain); a bridged
        // one is made contiguous first.
        if let rc = text.utf8.withContiguousStorageIfAvailable({ bindBytes($0, at: index) }) { return rc }
        var copy = text
        return copy.withUTF8 { bindBytes($0, at: index) }
    }

    /// Binds UTF-8 bytes as text: copied by SQLite, or with `inPlace` read where they are
    /// (SQLITE_STATIC: they must stay valid until the statement has stepped).
    private func bindBytes(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int32, inPlace: Bool = false) -> Int32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            // A null pointer would bind NULL; an empty string needs a real (empty) buffer.
            return sqlite3_bind_text64(handle, index, "", 0, sluice_sqlite_transient(), UInt8(SQLITE_UTF8))
        }
        return sqlite3_bind_text64(handle, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self),
                                   UInt64(bytes.count), inPlace ? nil : sluice_sqlite_transient(), UInt8(SQLITE_UTF8))
    }

    /// Binds `values` to parameters 1…n and runs `body` (the step) while they are bound.
    ///
    /// Strings are copied, one after the other, into one buffer the statement keeps from row to
    /// row, and bound from there in place (SQLITE_STATIC): no allocation, and SQLite reads them
    /// from memory this thread has just written. Measured on the sink's thread in job 1 of
    /// `make bench`:
    /// - `sqlite3_bind_text64` with SQLITE_TRANSIENT (callgrind, 20,000 records) was 109 M of the
    ///   thread's 626 M instructions: a malloc behind SQLite's memory mutex, a copy and a free
    ///   per string.
    /// - Binding each string from its own storage, one closure deeper per string (its bytes are
    ///   valid only inside `withContiguousStorageIfAvailable`), kept every string retained while
    ///   the deeper ones were bound: per string two retains, a copy of the value and their
    ///   releases, ~6 % of the run's samples (perf) — the strings were made on the source's
    ///   thread, so each count moved a cache line between cores.
    /// - Copied as here: the sink busy 0.82 s instead of 1.15–1.46 s for the 200,000 rows, the
    ///   whole job 0.83–0.85 s instead of 1.06–1.11 s (side by side, the same hour).
    ///
    /// The buffer is not touched again until the next row binds, and SQLite reads bindings only
    /// while stepping. Arrays and objects are bound as JSON text, copied.
    func withBound<R>(_ values: UnsafeBufferPointer<Value>, scratch: inout [UInt8],
                      _ body: () throws(SQLiteError) -> R) throws(SQLiteError) -> R {
        // Two passes, with nothing but byte copies while a string is looked at: a call the
        // compiler cannot see into (such as Array.append) makes it retain the string first.
        var total = 0
        for k in values.indices {
            if case .string(let string) = values[k] { total += string.utf8.count }
        }
        if total > stringsCapacity {
            stringsCapacity = max(total, 2 * stringsCapacity, 4_096)
            strings?.deallocate()
            strings = UnsafeMutableRawPointer.allocate(byteCount: stringsCapacity, alignment: 16)
        }
        // A row of more than 1 MiB of text does not leave its buffer behind for the rest of the
        // run (bindings still pointing into it are never read: each step rebinds every parameter).
        defer {
            if stringsCapacity > 1 << 20 {
                strings?.deallocate()
                strings = nil
                stringsCapacity = 0
            }
        }
        // nil only while no row has had text: then every string here is empty.
        let text = strings?.bindMemory(to: UInt8.self, capacity: stringsCapacity)
        var end = 0
        for k in values.indices {
            if case .string(let string) = values[k] {
                let start = end
                // A raw copy: with the typed `update(from:count:)` here the compiler copied the
                // value first (a retain of the string; seen in the disassembly).
                let copied: Void? = string.utf8.withContiguousStorageIfAvailable { bytes in
                    if let base = bytes.baseAddress, let text {
                        UnsafeMutableRawPointer(text + start).copyMemory(from: base, byteCount: bytes.count)
                    }
                    end += bytes.count
                }
                if copied != nil {
                    let rc = bindBytes(UnsafeBufferPointer(start: text.map { $0 + start }, count: end - start),
                                       at: Int32(k + 1), inPlace: true)
                    guard rc == SQLITE_OK else { throw database.error(rc, "cannot bind value \(k + 1)") }
                    continue
                }
            }
            // Numbers, null, JSON text, and a string without contiguous storage: copied by SQLite.
            try bind(values[k], at: Int32(k + 1), scratch: &scratch)
        }
        return try body()
    }

    /// The bytes of the strings of the row being bound (``withBound(_:scratch:_:)``), kept from
    /// row to row and grown as needed (nil until a row has text; dropped after a row of more
    /// than 1 MiB).
    private var strings: UnsafeMutableRawPointer?
    /// The bytes ``strings`` holds.
    private var stringsCapacity = 0

    /// Runs the statement one step: `true` when a row is ready, `false` when done.
    @discardableResult
    func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteError(code: sqlite3_extended_errcode(database.handle), message: database.lastMessage)
        }
    }

    /// Makes the statement ready to run again (bindings are kept until rebound).
    func reset() {
        sqlite3_reset(handle)
    }

    /// The number of result columns.
    var columnCount: Int32 { sqlite3_column_count(handle) }

    /// The name of result column `index`.
    func columnName(_ index: Int32) -> String {
        sqlite3_column_name(handle, index).map { String(cString: $0) } ?? "column\(index + 1)"
    }

    /// The declared type of result column `index` when it is a table column (`TEXT`, `JSON`…).
    func declaredType(_ index: Int32) -> String? {
        sqlite3_column_decltype(handle, index).map { String(cString: $0) }
    }

    /// Whether the statement only reads.
    var isReadOnly: Bool { sqlite3_stmt_readonly(handle) != 0 }

    /// Column `index` of the current row as text, or `nil` for NULL.
    func string(at index: Int32) -> String? {
        guard sqlite3_column_type(handle, index) != SQLITE_NULL, let text = sqlite3_column_text(handle, index) else {
            return nil
        }
        let count = Int(sqlite3_column_bytes(handle, index))
        return String(decoding: UnsafeRawBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// Whether column `index` of the current row is a BLOB.
    func isBlob(at index: Int32) -> Bool { sqlite3_column_type(handle, index) == SQLITE_BLOB }

    /// Column `index` of the current row as a 64-bit integer.
    func int64(at index: Int32) -> Int64 { sqlite3_column_int64(handle, index) }

    /// Column `index` of the current row: INTEGER → int, REAL → double, TEXT → string,
    /// BLOB → base64 string, NULL → null.
    func value(at index: Int32) -> Value {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER: return .int(sqlite3_column_int64(handle, index))
        case SQLITE_FLOAT: return .double(sqlite3_column_double(handle, index))
        case SQLITE_TEXT: return string(at: index).map(Value.string) ?? .null
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, index))
            guard let bytes = sqlite3_column_blob(handle, index), count > 0 else { return .string("") }
            return .string(Data(bytes: bytes, count: count).base64EncodedString())
        default: return .null
        }
    }

    /// Column `index` as raw text bytes, for decoding JSON without an extra copy.
    func withText<R>(at index: Int32, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        guard sqlite3_column_type(handle, index) == SQLITE_TEXT, let text = sqlite3_column_text(handle, index) else {
            return nil
        }
        return body(UnsafeRawBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, index))))
    }
}
