import CSQLite
import Foundation
import SluiceCore
import SluiceFormats

/// The checkpoint store in an SQLite file of the pipeline's state folder.
///
/// WAL mode, one transaction per ``save(_:)``: a `kill -9` at any moment leaves either the old
/// or the new checkpoints, never a mix.
public final class SQLiteCheckpointStore: CheckpointStore, @unchecked Sendable {
    // @unchecked: the connection is used only while `lock` is held.
    private let lock = NSLock()
    private let db: OpaquePointer
    /// The prepared lookup of one input's checkpoint (``saved(source:input:)``).
    private var lookupStatement: OpaquePointer?
    /// The database file.
    public let path: String

    /// Opens (creating when `create`) the store at `path`.
    public init(path: String, create: Bool = true) throws {
        self.path = path
        if create {
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                     withIntermediateDirectories: true)
        }
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let reason = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            if let handle { sqlite3_close_v2(handle) }
            throw CheckpointError(message: "cannot open the checkpoint store \(path): \(reason)")
        }
        db = handle
        sqlite3_busy_timeout(db, 10_000)
        do {
            try exec("PRAGMA journal_mode = WAL")
            // FULL, not NORMAL: a checkpoint saved must survive a power loss too, since the json
            // sink drops the delivery marks that saved checkpoints cover (a checkpoint lost after
            // that would have its records written twice). One fsync per save, about one a second.
            try exec("PRAGMA synchronous = FULL")
            // Small writes of one row per input: a 256 KiB page cache, not SQLite's 2 MB, which a
            // run over 50,000 articles filled (part of issue 13's peak-memory goal).
            try exec("PRAGMA cache_size = -256")
            try exec("""
                CREATE TABLE IF NOT EXISTS sources(source TEXT PRIMARY KEY, base_epoch INTEGER NOT NULL DEFAULT 1);
                CREATE TABLE IF NOT EXISTS inputs(
                    source TEXT NOT NULL, input TEXT NOT NULL, epoch INTEGER NOT NULL, offset INTEGER NOT NULL,
                    line INTEGER NOT NULL, complete INTEGER NOT NULL, size INTEGER NOT NULL, modified REAL NOT NULL,
                    fingerprint TEXT NOT NULL, last_value TEXT, records INTEGER NOT NULL, updated TEXT NOT NULL,
                    PRIMARY KEY(source, input)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY, started TEXT NOT NULL, finished TEXT NOT NULL,
                    status TEXT NOT NULL, records_read INTEGER NOT NULL, delivered INTEGER NOT NULL,
                    dead_letters INTEGER NOT NULL, full INTEGER NOT NULL);
                """)
        } catch {
            let notADatabase = sqlite3_errcode(db) == SQLITE_NOTADB
            sqlite3_close_v2(db)
            if notADatabase {
                throw CheckpointError(message: "\(path) is not a checkpoint store (not an SQLite database); move it away and "
                                      + "the next run starts afresh, reading every input again")
            }
            throw error
        }
    }

    deinit {
        sqlite3_finalize(lookupStatement)
        sqlite3_close_v2(db)
    }

    // MARK: - CheckpointStore

    /// The checkpoints of `source`, each read from the file when the source asks for it
    /// (``saved(source:input:)``): a re-run over 50,000 unchanged articles held 25 MB of
    /// checkpoints when they were loaded at once, and a million articles would hold half a
    /// gigabyte.
    public func load(source: String) throws -> SourceCheckpoint {
        try locked {
            // A source the store has no row for (new, or back in the config after a full run
            // forgot it) starts at the current base epoch, never below what sinks have marked.
            var base: Int64 = 1
            try query("SELECT coalesce((SELECT base_epoch FROM sources WHERE source = ?1), max(base_epoch), 1) FROM sources",
                      [.string(source)]) { base = max(1, $0.int(0)) }
            let window = ReadAheadWindow()
            return SourceCheckpoint(baseEpoch: base) { [self] input in try self.saved(source: source, input: input, window: window) }
        }
    }

    /// Checkpoints read ahead: the rows of one source from one input on, in the table's order
    /// (UTF-8 bytes), up to ``readAhead`` of them. Sources ask for their inputs in sorted order,
    /// so one query answers the next lookups: a lookup per query made a re-run over 50,000
    /// unchanged articles 0.28 → 0.46 s (each one a read transaction, with its file locks).
    private struct ReadAhead {
        var source: String
        /// The input the rows start at (included)…
        var from: String
        /// …and the last row's input, or nil when the rows reach the end of the source's.
        var through: String?
        var rows: [String: InputCheckpoint]

        /// The answer for `input`, when it lies inside the range read: the row, or none.
        func answer(_ source: String, _ input: String) -> InputCheckpoint?? {
            guard source == self.source, !input.utf8.lexicographicallyPrecedes(from.utf8) else { return nil }
            if let through, through.utf8.lexicographicallyPrecedes(input.utf8) { return nil }
            return .some(rows[input])
        }
    }

    /// The rows one view (``load(source:)``) read ahead, used under the store's lock. One per
    /// view, not per store: a source and the runtime (dropping a sink's settled marks) ask for
    /// the same source's inputs side by side, each in order; one shared window would be read
    /// again at nearly every lookup.
    private final class ReadAheadWindow: @unchecked Sendable {
        // @unchecked: used only while the store's lock is held.
        var rows: ReadAhead?
        /// The store's ``changes`` when the rows were read: rows of an older one are stale.
        var changes = 0
    }

    /// Rows read per look-ahead query.
    static let readAhead = 256
    /// Counts the changes to the inputs table: rows read ahead before the last one are stale.
    private var changes = 0

    /// The saved checkpoint of one input of `source`, if any.
    public func saved(source: String, input: String) throws -> InputCheckpoint? {
        try saved(source: source, input: input, window: ReadAheadWindow())
    }

    private func saved(source: String, input: String, window: ReadAheadWindow) throws -> InputCheckpoint? {
        try locked {
            if window.changes == changes, let known = window.rows?.answer(source, input) { return known }
            if lookupStatement == nil {
                var statement: OpaquePointer?
                let sql = "SELECT \(Self.inputColumns) FROM inputs WHERE source = ?1 AND input >= ?2 ORDER BY input LIMIT \(Self.readAhead)"
                guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK,
                      let statement else { throw failure("cannot prepare the lookup of a checkpoint") }
                lookupStatement = statement
            }
            guard let statement = lookupStatement else { return nil }
            defer {
                sqlite3_reset(statement)
                sqlite3_clear_bindings(statement)
            }
            sqlite3_bind_text(statement, 1, source, -1, sluice_sqlite_transient())
            sqlite3_bind_text(statement, 2, input, -1, sluice_sqlite_transient())
            var rows: [String: InputCheckpoint] = [:]
            var last: String?
            while true {
                let rc = sqlite3_step(statement)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else { throw failure("cannot read the checkpoint of '\(input)'") }
                let checkpoint = Self.checkpoint(Row(statement: statement))
                rows[checkpoint.input] = checkpoint
                last = checkpoint.input
            }
            window.rows = ReadAhead(source: source, from: input, through: rows.count < Self.readAhead ? nil : last, rows: rows)
            window.changes = changes
            return rows[input]
        }
    }

    public func save(_ checkpoints: [(source: String, checkpoint: InputCheckpoint)]) throws {
        guard !checkpoints.isEmpty else { return }
        try locked {
            changes += 1
            try transaction {
                let now = Timestamp.string(Date())
                for (source, cp) in checkpoints {
                    var lastValue: Value = .null
                    if let v = cp.lastValue { lastValue = .string(JSONWriter.string(v)) }
                    try run("""
                        INSERT OR REPLACE INTO inputs(source, input, epoch, offset, line, complete, size, modified,
                            fingerprint, last_value, records, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                        """, [.string(source), .string(cp.input), .int(cp.epoch), .int(cp.offset), .int(cp.line),
                              .int(cp.complete ? 1 : 0), .int(cp.size), .double(cp.modified), .string(cp.fingerprint),
                              lastValue, .int(cp.records), .string(now)])
                }
            }
        }
    }

    public func startFullRun(sources: [String]) throws {
        try locked {
            changes += 1
            try transaction { try restartAll(sources) }
        }
    }

    public func fullRunPending() throws -> Bool {
        try locked {
            var pending = false
            try query("SELECT value FROM meta WHERE key = 'full_run_pending'") { pending = $0.text(0) == "1" }
            return pending
        }
    }

    public func completedRuns() throws -> Int64 {
        try locked {
            var count: Int64 = 0
            // Replays emit aggregates too: they take an epoch of their own.
            try query("SELECT count(*) FROM runs WHERE status IN ('complete', 'replay')") { count = $0.int(0) }
            return count
        }
    }

    public func finishRun(_ record: RunRecord) throws {
        try locked {
            try transaction {
                try run("""
                    INSERT INTO runs(started, finished, status, records_read, delivered, dead_letters, full)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                    """, [.string(Timestamp.string(record.started)), .string(Timestamp.string(record.finished)),
                          .string(record.status), .int(record.read), .int(record.delivered), .int(record.deadLetters),
                          .int(record.full ? 1 : 0)])
                if record.status == "complete" { try run("DELETE FROM meta WHERE key = 'full_run_pending'") }
            }
        }
    }

    public func lastRun() throws -> RunRecord? {
        try locked {
            var last: RunRecord?
            try query("""
                SELECT started, finished, status, records_read, delivered, dead_letters, full FROM runs ORDER BY id DESC LIMIT 1
                """) { row in
                last = RunRecord(started: Timestamp.date(row.text(0)) ?? Date(timeIntervalSince1970: 0),
                                 finished: Timestamp.date(row.text(1)) ?? Date(timeIntervalSince1970: 0), status: row.text(2),
                                 read: row.int(3), delivered: row.int(4), deadLetters: row.int(5), full: row.int(6) != 0)
            }
            return last
        }
    }

    public func allInputs() throws -> [String: [InputCheckpoint]] {
        try locked {
            var out: [String: [InputCheckpoint]] = [:]
            try query("SELECT source, \(Self.inputColumns) FROM inputs ORDER BY source, input") { row in
                out[row.text(0), default: []].append(Self.checkpoint(row, from: 1))
            }
            return out
        }
    }

    public func reset(source: String?) throws {
        try locked {
            changes += 1
            try transaction {
                if let source {
                    // Keep the epoch moving up: records read again are new versions for the sinks.
                    var highest: Int64 = 0
                    try query("SELECT max(epoch) FROM inputs WHERE source = ?1", [.string(source)]) { highest = $0.int(0) }
                    try query("SELECT base_epoch FROM sources WHERE source = ?1", [.string(source)]) {
                        highest = max(highest, $0.int(0))
                    }
                    try run("DELETE FROM inputs WHERE source = ?1", [.string(source)])
                    try run("INSERT OR REPLACE INTO sources(source, base_epoch) VALUES (?1, ?2)",
                            [.string(source), .int(highest + 1)])
                } else {
                    try restartAll([])
                }
            }
        }
    }

    /// Forgets every input and raises the base epoch of `sources` and of every source the store
    /// knows above any epoch delivered before; the next run is a full one (file outputs start
    /// afresh instead of getting every record appended a second time). Call inside a transaction.
    private func restartAll(_ sources: [String]) throws {
        let highest = try highestEpoch()
        var names = sources
        try query("SELECT DISTINCT source FROM inputs UNION SELECT source FROM sources") {
            if !names.contains($0.text(0)) { names.append($0.text(0)) }
        }
        try run("DELETE FROM inputs")
        try run("DELETE FROM sources")
        for name in names {
            try run("INSERT INTO sources(source, base_epoch) VALUES (?1, ?2)", [.string(name), .int(highest + 1)])
        }
        try run("INSERT OR REPLACE INTO meta(key, value) VALUES ('full_run_pending', '1')")
    }

    /// The highest epoch any input or source reached.
    private func highestEpoch() throws -> Int64 {
        var highest: Int64 = 0
        try query("SELECT max(epoch) FROM inputs") { highest = max(highest, $0.int(0)) }
        try query("SELECT max(base_epoch) FROM sources") { highest = max(highest, $0.int(0)) }
        return highest
    }

    // MARK: - SQLite plumbing

    private static let inputColumns =
        "input, epoch, offset, line, complete, size, modified, fingerprint, last_value, records"

    private static func checkpoint(_ row: Row, from k: Int32 = 0) -> InputCheckpoint {
        var lastValue: Value?
        if let text = row.optionalText(k + 8) { lastValue = try? JSONReader.parse(text) }
        return InputCheckpoint(input: row.text(k), epoch: row.int(k + 1), offset: row.int(k + 2), line: row.int(k + 3),
                               complete: row.int(k + 4) != 0, size: row.int(k + 5), modified: row.double(k + 6),
                               fingerprint: row.text(k + 7), lastValue: lastValue, records: row.int(k + 9))
    }

    private func locked<R>(_ body: () throws -> R) throws -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private func failure(_ doing: String) -> CheckpointError {
        CheckpointError(message: "checkpoint store \(path): \(doing): \(String(cString: sqlite3_errmsg(db)))")
    }

    private func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw failure("cannot run \(sql.prefix(40))") }
    }

    private func transaction(_ body: () throws -> Void) throws {
        try exec("BEGIN IMMEDIATE")
        do {
            try body()
            try exec("COMMIT")
        } catch {
            _ = sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
            throw error
        }
    }

    /// A row being read, valid only inside the callback.
    private struct Row {
        let statement: OpaquePointer
        func int(_ i: Int32) -> Int64 { sqlite3_column_int64(statement, i) }
        func double(_ i: Int32) -> Double { sqlite3_column_double(statement, i) }
        func text(_ i: Int32) -> String { optionalText(i) ?? "" }
        func optionalText(_ i: Int32) -> String? {
            guard sqlite3_column_type(statement, i) != SQLITE_NULL, let p = sqlite3_column_text(statement, i) else { return nil }
            return String(cString: p)
        }
    }

    private func prepared(_ sql: String, _ arguments: [Value]) throws -> OpaquePointer {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw failure("cannot prepare \(sql.prefix(40))")
        }
        for (k, value) in arguments.enumerated() {
            let index = Int32(k + 1)
            switch value {
            case .int(let i): sqlite3_bind_int64(statement, index, i)
            case .double(let d): sqlite3_bind_double(statement, index, d)
            case .string(let s): sqlite3_bind_text(statement, index, s, -1, sluice_sqlite_transient())
            default: sqlite3_bind_null(statement, index)
            }
        }
        return statement
    }

    private func query(_ sql: String, _ arguments: [Value] = [], _ row: (Row) throws -> Void) throws {
        let statement = try prepared(sql, arguments)
        defer { sqlite3_finalize(statement) }
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw failure("cannot read") }
            try row(Row(statement: statement))
        }
    }

    private func run(_ sql: String, _ arguments: [Value] = []) throws {
        let statement = try prepared(sql, arguments)
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_DONE else { throw failure("cannot write") }
    }
}

/// A store that reads another one and saves nothing (`run --dry-run`: see what a run would
/// read, change no state).
public final class ReadOnlyCheckpointStore: CheckpointStore {
    private let base: any CheckpointStore

    /// Wraps `base`.
    public init(_ base: any CheckpointStore) { self.base = base }

    public func load(source: String) throws -> SourceCheckpoint { try base.load(source: source) }
    public func save(_ checkpoints: [(source: String, checkpoint: InputCheckpoint)]) throws {}
    public func startFullRun(sources: [String]) throws {}
    public func fullRunPending() throws -> Bool { try base.fullRunPending() }
    public func completedRuns() throws -> Int64 { try base.completedRuns() }
    public func finishRun(_ run: RunRecord) throws {}
    public func lastRun() throws -> RunRecord? { try base.lastRun() }
    public func allInputs() throws -> [String: [InputCheckpoint]] { try base.allInputs() }
    public func reset(source: String?) throws {}
}
