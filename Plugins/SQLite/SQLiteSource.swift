import CSQLite
import Foundation
import SluiceCore
import SluiceFormats

/// The `sqlite` source: one record per row of a table or of a query, fields in column order.
///
/// Values map as INTEGER → integer, REAL → double, TEXT → string, BLOB → base64 string,
/// NULL → null. TEXT holding a JSON array or object is decoded back into an array or object
/// for the columns named in `json_columns` and for columns whose declared type mentions
/// `JSON`; text that does not parse stays a string. (The `sqlite` sink stores arrays and
/// objects as TEXT, so name those columns in `json_columns` to read them back exactly.)
///
/// The database is opened read-only and rows are streamed from one prepared statement. With
/// `table`, each record's origin is its rowid (`file#rowid`); tables without rowid and views
/// are read without one. A missing database, a file that is not a database, a missing table
/// (the error lists the tables there) and a query that does not parse or would write stop the
/// source with an error.
///
/// Re-runs and exactly-once delivery (when the pipeline keeps checkpoints):
///
/// - A table with a rowid is read in rowid order and each record's position is its rowid
///   (input: the table's name). The checkpoint keeps the next rowid to read, so a re-run reads
///   only the rows added since. Rows updated in place, and rows inserted with a rowid below the
///   checkpoint (SQLite may reuse the highest rowids after the last rows were deleted, unless
///   the table is `AUTOINCREMENT`), are not seen again; use `incremental` to pick up updates.
///   A table whose highest rowid fell below what was read (emptied, or reloaded) is read again
///   whole, as a new version.
/// - `incremental: COLUMN` reads rows in (COLUMN, rowid) order and the checkpoint keeps the last
///   COLUMN value and rowid: a re-run reads the rows whose (COLUMN, rowid) comes after them, so
///   a column that grows when a row is added or changed (`updated_at`, a version number) brings
///   new and updated rows. Rows whose COLUMN is NULL are not read. Positions are ordinals that
///   go on across runs, so the rows read again after a crash keep their positions. An index on
///   COLUMN keeps each page cheap. The column must exist (the error lists the columns).
/// - With `incremental`, a `query` (and a view or a table without rowid) is read as
///   `SELECT * FROM (query) WHERE COLUMN > last value ORDER BY COLUMN`: there is no rowid to
///   break ties, so rows that share the last value read may be missed by the next run (and
///   rows added later with that same value are). Use a unique, increasing column there (an id,
///   or a timestamp no two rows share).
/// - A `query`, a view or a table without rowid read without `incremental` has no positions:
///   every run reads all its rows again and sinks write them again (a sink `key` makes that an
///   upsert).
/// - Changing `incremental` (on, off, another column) starts a new version of the input, read
///   whole. Without checkpoints (`sluice try`, tests) every run reads everything.
public struct SQLiteSource: Source, ConfiguredStage {
    /// Reads the database through SQLite's locks, so a sqlite sink may write other tables of it.
    public var resources: [StageResource] { [.database(path, writes: false)] }
    /// The options of a `sqlite` source.
    public struct Configuration: SourceConfiguration {
        /// The type name in configs.
        public static let type = "sqlite"
        /// One line for `sluice stages`.
        public static let summary = "Reads the rows of an SQLite table or query as records."
        /// An entry for `sluice stages sqlite`.
        public static let example = """
            type: sqlite
            path: archive/news.db
            table: stories
            json_columns: [tags]
            incremental: updated_at
            """
        /// Every option.
        public static let options: [ConfigOption<Self>] = [
            .init("path", \.path, .path, required: true, doc: "the database file"),
            .init("table", \.table, notEmpty: true, doc: "the table (or view) to read; give this or 'query'"),
            .init("query", \.query, doc: "a SELECT statement whose rows are the records; give this or 'table'"),
            .init("json_columns", \.jsonColumns, doc: "columns whose JSON text (arrays, objects) is decoded back"),
            .init("incremental", \.incremental,
                  doc: "a column that grows as rows are added or changed (updated_at, an id): re-runs read only the rows after the last value read"),
        ]
        /// `table` or `query`.
        public static let rules: [OptionRule] = [.exactlyOne(["table", "query"])]

        /// `path`.
        public var path = ""
        /// `table`.
        public var table: String?
        /// `query`.
        public var query: String?
        /// `json_columns`.
        public var jsonColumns: [String] = []
        /// `incremental`.
        public var incremental: String?

        /// Every option at its default.
        public init() {}

        /// Checks the query and the column and builds the source.
        public func makeSource(_ context: BuildContext) throws -> any Source { try SQLiteSource(self, context) }
    }

    /// Builds the source from its configuration; an empty query or a bad column name is a config
    /// error.
    public init(_ configuration: Configuration, _ context: BuildContext) throws(ConfigError) {
        typealias C = Configuration
        if let query = configuration.query, query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw context.error(\C.query, "option 'query' must not be empty")
        }
        if let incremental = configuration.incremental {
            guard !incremental.isEmpty else { throw context.error(\C.incremental, "option 'incremental' must name a column") }
            guard !incremental.utf8.contains(0) else {
                throw context.error(\C.incremental, "option 'incremental' must not contain a NUL character")
            }
        }
        self.init(path: configuration.path, table: configuration.table, query: configuration.query,
                  jsonColumns: configuration.jsonColumns, incremental: configuration.incremental)
    }

    /// The database file.
    public let path: String
    /// The table or view read, if reading a table.
    public let table: String?
    /// The query run, if running a query.
    public let query: String?
    /// Columns whose JSON text is decoded.
    public let jsonColumns: [String]
    /// The column whose order re-runs follow (see the type's documentation), if any.
    public let incremental: String?
    /// In a cluster run: the rowid range (a ``WorkUnit`` of kind `rows`) to read instead of the
    /// whole table (SQLiteSourceUnits.swift).
    var rowRange: WorkUnit?

    /// Creates a source reading a table (`query == nil`) or a query (`table == nil`).
    public init(path: String, table: String? = nil, query: String? = nil, jsonColumns: [String] = [],
                incremental: String? = nil) {
        self.path = path
        self.table = table
        self.query = query
        self.jsonColumns = jsonColumns
        self.incremental = incremental
    }

    /// Where a table read by rowid goes on from its checkpoint.
    enum RowidResumption: Equatable {
        /// At this rowid (the one after the last read).
        case resume(at: Int64)
        /// From the start, as a new version, for this reason.
        case whole(reason: String)
    }

    /// Where a table read by rowid goes on from `saved`, given its highest rowid now: after
    /// the last rowid read, or from the start when it was read with `incremental` before or
    /// its rows were replaced (the highest rowid fell below the last one read). A normal run
    /// and a cluster run's listing of rowid ranges decide the same way.
    static func rowidResumption(_ saved: InputCheckpoint, highest: Int64) -> RowidResumption {
        if saved.lastValue != nil { return .whole(reason: "it was read with 'incremental' before") }
        if saved.offset > Int64.min, highest < saved.offset - 1 {
            return .whole(reason: "its highest rowid (\(highest == Int64.min ? "none: it is empty" : String(highest))) is below the last one read (\(saved.offset - 1))")
        }
        return .resume(at: saved.offset)
    }

    /// How the rows are read.
    private enum Mode {
        /// By rowid, in pages; the position is the rowid.
        case rowid
        /// By (column, rowid), in pages; the position is an ordinal.
        case incrementalRowid
        /// By column, one statement over the table or the query; the position is an ordinal.
        case incrementalQuery
        /// One statement, no positions.
        case plain
    }

    /// Streams every row (or, with a checkpoint, the rows after it), in batches.
    public func run(_ context: SourceContext) throws {
        let fail = { (message: String) in StageError(stage: context.name, message: message) }
        guard FileManager.default.fileExists(atPath: path) else { throw fail("no such database file: \(path)") }
        let db: Database
        do throws(SQLiteError) {
            db = try Database(path: path, readOnly: true)
            // A sink in the same pipeline may be writing this file (another table): wait for
            // its lock rather than fail.
            sqlite3_busy_timeout(db.handle, 10_000)
            _ = try db.strings("SELECT count(*) FROM sqlite_master")
        } catch {
            if error.primaryCode == SQLITE_NOTADB { throw fail("\(path) is not an SQLite database (\(error.message))") }
            throw fail("cannot open the database \(path): \(error.message)")
        }

        // What is read: a table with a rowid (paged), or one statement over a table or query.
        var rowidAlias: String?
        var incrementalColumn: String?
        let from: String
        if let table {
            let columns = try tableColumns(table, db: db, fail: fail)
            from = quoteIdentifier(table)
            rowidAlias = columns.rowidAlias
            if let incremental {
                if let real = columns.names.first(where: { identifierKey($0) == identifierKey(incremental) }) {
                    incrementalColumn = real
                } else if rowidAlias == nil || !["rowid", "_rowid_", "oid"].contains(identifierKey(incremental)) {
                    throw fail(Self.noSuchColumn(incremental, in: "table '\(table)'", columns: columns.names))
                }
                // `incremental: rowid` is the plain rowid order.
            }
        } else {
            let text = query ?? ""
            let statement: Statement
            do throws(SQLiteError) {
                statement = try db.prepare(text)
            } catch {
                throw fail("invalid query: \(error.message)")
            }
            guard !statement.hasTrailingSQL else { throw fail("the query must be a single statement") }
            guard statement.isReadOnly else { throw fail("the query must only read (a SELECT), it would change \(path)") }
            let names = (0..<statement.columnCount).map { statement.columnName($0) }
            try Self.checkDistinct(names, fail: fail)
            if let incremental {
                guard let real = names.first(where: { identifierKey($0) == identifierKey(incremental) }) else {
                    throw fail(Self.noSuchColumn(incremental, in: "the query's result", columns: names))
                }
                incrementalColumn = real
            }
            // Wrapped below for `incremental`; the newlines keep a trailing `-- comment` inside.
            var trimmed = Substring(text)
            while let last = trimmed.last, last.isWhitespace || last == ";" { trimmed = trimmed.dropLast() }
            from = "(\n\(trimmed)\n)"
        }
        let mode: Mode
        switch (incrementalColumn, rowidAlias) {
        case (nil, _?): mode = .rowid
        case (_?, _?): mode = .incrementalRowid
        case (_?, nil): mode = .incrementalQuery
        case (nil, nil): mode = .plain
        }

        // Where to start: the saved checkpoint when it was made the same way, else a new version.
        var input = table ?? "query"
        let checkpoints = context.checkpoint
        let saved = checkpoints.enabled && mode != .plain && rowRange == nil ? try checkpoints[input] : nil
        var epoch = checkpoints.baseEpoch
        var resumed: InputCheckpoint?
        var nextRowid = Int64.min
        var ordinal: Int64 = 0
        var lastValue: Value?
        var lastRowid = Int64.min
        var highest = Int64.max
        if mode == .rowid, let alias = rowidAlias {
            let top = try? db.strings("SELECT max(\(alias)) FROM \(from)")
            highest = top?.first.flatMap { Int64($0) } ?? Int64.min
        }
        if let unit = rowRange {
            // One rowid range of a cluster run: its own input, epoch and end; resumed after
            // what an earlier holder of the unit delivered.
            guard mode == .rowid else {
                throw fail("table '\(input)' has no rowid (or is read with 'incremental') any more: it cannot be read by rowid ranges")
            }
            input = unit.rangeInput
            epoch = unit.epoch
            nextRowid = unit.start
            highest = unit.end
            if checkpoints.enabled, let saved = try checkpoints[input], saved.epoch == unit.epoch,
               saved.offset > unit.start, saved.offset <= unit.end &+ 1 {
                nextRowid = saved.offset
                resumed = saved
            }
        } else if let saved {
            epoch = max(saved.epoch, checkpoints.baseEpoch)
            let reason: String?
            switch mode {
            case .rowid:
                switch Self.rowidResumption(saved, highest: highest) {
                case .resume(let next):
                    reason = nil
                    nextRowid = next
                case .whole(let why):
                    reason = why
                }
            case .incrementalRowid, .incrementalQuery:
                if let state = Self.incrementalState(saved.lastValue, column: incrementalColumn ?? "",
                                                     withRowid: mode == .incrementalRowid) {
                    reason = nil
                    lastValue = state.value
                    lastRowid = state.rowid
                    ordinal = saved.offset
                } else {
                    reason = "it was read " + (saved.lastValue == nil ? "without 'incremental'" : "with another 'incremental' column") + " before"
                }
            case .plain:
                reason = nil
            }
            if let reason {
                epoch = max(saved.epoch + 1, checkpoints.baseEpoch)
                context.logger.info("reading \(table.map { "table '\($0)'" } ?? "the query") of \(path) whole, as a new version: \(reason)")
            } else {
                resumed = saved
            }
        }
        var records = resumed?.records ?? 0
        // Progress: rows left to read, from the rowid range (cheap; exact when rowids have no gaps).
        if mode == .rowid, highest != Int64.min, let alias = rowidAlias {
            let low = nextRowid > Int64.min ? nextRowid
                : (try? db.strings("SELECT min(\(alias)) FROM \(from)"))?.first.flatMap { Int64($0) } ?? highest
            context.announceTotal(records: Int(max(0, min(Double(Int.max), Double(highest) - Double(low) + 1))))
        }
        context.reading(table ?? "query")

        // The statement(s).
        let paged = mode == .rowid || mode == .incrementalRowid
        let first: Int32 = paged ? 1 : 0
        var statement: Statement
        var afterStatement: Statement?          // incremental by rowid: the pages after a last value
        var topValue: Value = .null             // incremental by rowid: the column's highest value at the start
        var topIsBlob = false
        do throws(SQLiteError) {
            switch mode {
            case .rowid:
                let alias = rowidAlias ?? "rowid"
                statement = try db.prepare("SELECT \(alias), * FROM \(from) WHERE \(alias) >= ?1 AND \(alias) <= ?3 ORDER BY \(alias) LIMIT ?2")
            case .incrementalRowid:
                let alias = rowidAlias ?? "rowid"
                let column = quoteIdentifier(incrementalColumn ?? "")
                let top = try db.prepare("SELECT max(\(column)) FROM \(from)")
                if try top.step() {
                    topIsBlob = top.isBlob(at: 0)
                    topValue = top.value(at: 0)
                }
                statement = try db.prepare("""
                    SELECT \(alias), * FROM \(from) WHERE \(column) IS NOT NULL AND \(column) <= ?3 ORDER BY \(column), \(alias) LIMIT ?2
                    """)
                afterStatement = try db.prepare("""
                    SELECT \(alias), * FROM \(from) WHERE \(column) >= ?1 AND (\(column) > ?1 OR \(alias) > ?4) AND \(column) <= ?3 \
                    ORDER BY \(column), \(alias) LIMIT ?2
                    """)
                if lastValue != nil, let after = afterStatement { statement = after }
            case .incrementalQuery:
                let column = quoteIdentifier(incrementalColumn ?? "")
                if let lastValue {
                    statement = try db.prepare("SELECT * FROM \(from) WHERE \(column) > ?1 ORDER BY \(column)")
                    try statement.bind(lastValue, at: 1)
                } else {
                    statement = try db.prepare("SELECT * FROM \(from) WHERE \(column) IS NOT NULL ORDER BY \(column)")
                }
            case .plain:
                statement = try db.prepare(table == nil ? query ?? "" : "SELECT * FROM \(from)")
            }
        } catch {
            throw fail("cannot read \(table.map { "table '\($0)' in " } ?? "")\(path): \(error.message)")
        }

        if topIsBlob { throw fail(Self.blobMessage(incrementalColumn ?? "")) }
        let count = statement.columnCount
        let names = (first..<max(first, count)).map { statement.columnName($0) }
        // A record cannot hold two fields of one name: `SELECT a.id, b.id` would silently keep
        // only the second value.
        try Self.checkDistinct(names, fail: fail)
        let incrementalIndex: Int32 = incrementalColumn.flatMap { column in
            names.firstIndex { identifierKey($0) == identifierKey(column) }.map { first + Int32($0) }
        } ?? -1
        let wanted = Set(jsonColumns)
        let decode = (first..<max(first, count)).map { index -> Bool in
            wanted.contains(statement.columnName(index))
                || (statement.declaredType(index)?.range(of: "json", options: .caseInsensitive) != nil)
        }
        let file = (path as NSString).lastPathComponent
        var batch: [Record] = []
        batch.reserveCapacity(context.batchSize)
        // Paged (a table with a rowid): the rows of this page. A rowid read stops at the highest
        // rowid there was at the start, an incremental one at the highest value, so rows a sink
        // appends to the same table during the run are not read back (that would never end).
        var pageRows = 0
        if mode == .incrementalRowid && topValue.isNull {
            // No row has a value in the column: nothing to read.
            context.logger.debug("no row of table '\(table ?? "")' has a value in column '\(incrementalColumn ?? "")'")
        }
        func startPage() throws {
            do throws(SQLiteError) {
                if mode == .incrementalRowid, let lastValue, let after = afterStatement {
                    statement = after
                    try statement.bind(lastValue, at: 1)
                    try statement.bind(.int(lastRowid), at: 4)
                    try statement.bind(topValue, at: 3)
                } else if mode == .incrementalRowid {
                    try statement.bind(topValue, at: 3)
                } else {
                    try statement.bind(.int(nextRowid), at: 1)
                    try statement.bind(.int(highest), at: 3)
                }
                try statement.bind(.int(Int64(context.batchSize)), at: 2)
            } catch {
                throw fail("cannot read \(path): \(error.message)")
            }
            pageRows = 0
        }
        /// Says how far the input is read (with checkpoints, for inputs that have positions).
        func reportProgress() {
            guard checkpoints.enabled else { return }
            switch mode {
            case .rowid:
                context.progress(InputCheckpoint(input: input, epoch: epoch, offset: nextRowid, records: records))
            case .incrementalRowid, .incrementalQuery:
                var state: [Value] = [.string(incrementalColumn ?? "")]
                if let lastValue { state.append(lastValue) } else { return }
                if mode == .incrementalRowid { state.append(.int(lastRowid)) }
                context.progress(InputCheckpoint(input: input, epoch: epoch, offset: ordinal, lastValue: .array(state),
                                                 records: records))
            case .plain:
                break
            }
        }
        if paged { try startPage() }
        while !(mode == .incrementalRowid && topValue.isNull) {
            let hasRow: Bool
            do throws(SQLiteError) {
                hasRow = try statement.step()
            } catch {
                throw fail("cannot read \(path): \(error.message)")
            }
            if !hasRow {
                guard paged, pageRows == context.batchSize, mode != .rowid || nextRowid != Int64.max else { break }
                // A full page: release the read lock, hand the batch on, read the next page.
                statement.reset()
                reportProgress()
                try context.emit(batch)
                batch.removeAll(keepingCapacity: true)
                try startPage()
                continue
            }
            let rowid: Int64? = first == 1 ? statement.int64(at: 0) : nil
            let position: Position?
            switch mode {
            case .rowid:
                let id = rowid ?? 0
                nextRowid = id == Int64.max ? Int64.max : id + 1
                position = Position(input: input, epoch: epoch, offset: id)
            case .incrementalRowid, .incrementalQuery:
                if statement.isBlob(at: incrementalIndex) { throw fail(Self.blobMessage(incrementalColumn ?? "")) }
                lastValue = statement.value(at: incrementalIndex)
                lastRowid = rowid ?? Int64.min
                position = Position(input: input, epoch: epoch, offset: ordinal)
                ordinal += 1
            case .plain:
                position = nil
            }
            pageRows += 1
            records += 1
            var fields = Fields(minimumCapacity: names.count)
            for (k, name) in names.enumerated() {
                let index = first + Int32(k)
                fields[name] = decode[k] ? Self.decodedValue(statement, index) : statement.value(at: index)
            }
            let origin = Origin(source: context.name, file: file, row: rowid, position: position)
            batch.append(Record(fields, origin: origin))
            if !paged && batch.count >= context.batchSize {
                reportProgress()
                try context.emit(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        statement.reset()
        reportProgress()
        try context.emit(batch)
    }

    /// The last value (and rowid) of a checkpoint made by an incremental read of `column`, or
    /// nil when it was made otherwise (without `incremental`, with another column or order).
    static func incrementalState(_ saved: Value?, column: String, withRowid: Bool) -> (value: Value, rowid: Int64)? {
        guard case .array(let items)? = saved, items.count == (withRowid ? 3 : 2),
              let name = items[0].stringValue, identifierKey(name) == identifierKey(column) else { return nil }
        switch items[1] {
        case .int, .double, .string: break
        default: return nil
        }
        guard withRowid else { return (items[1], Int64.min) }
        guard case .int(let rowid) = items[2] else { return nil }
        return (items[1], rowid)
    }

    /// The message for an `incremental` column that holds a BLOB.
    static func blobMessage(_ column: String) -> String {
        "the incremental column '\(column)' holds a BLOB; use a column of integers, reals or text"
    }

    /// The message for an `incremental` column that is not there.
    static func noSuchColumn(_ column: String, in place: String, columns: [String]) -> String {
        let listing = columns.isEmpty ? "it has no columns" : "its columns are: \(columns.joined(separator: ", "))"
        return "option 'incremental': no column '\(column)' in \(place) (\(listing))\(Suggest.didYouMean(column, in: columns))"
    }

    /// Throws when a column name repeats (a record cannot hold two fields of one name).
    static func checkDistinct(_ names: [String], fail: (String) -> StageError) throws {
        var seenNames = Set<String>()
        if let twice = names.first(where: { !seenNames.insert($0).inserted }) {
            throw fail("the query returns the column '\(twice)' more than once; give each a distinct name (… AS \(twice)_2)")
        }
    }

    /// The table's (or view's) columns and the name its rowid can be read by (nil for a view or
    /// a table without rowid), or an error naming the table and listing the tables there.
    func tableColumns(_ table: String, db: Database, fail: (String) -> StageError) throws -> (names: [String], rowidAlias: String?) {
        let kinds: [String]
        do throws(SQLiteError) {
            kinds = try db.strings("SELECT type FROM sqlite_master WHERE name = ?1 COLLATE NOCASE AND type IN ('table', 'view')",
                                   [.string(table)])
        } catch {
            // A lock or a damaged file is not "no such table": say what SQLite said.
            throw fail("cannot read \(path): \(error.message)")
        }
        guard !kinds.isEmpty else {
            let tables = (try? db.strings("""
                SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
                AND name <> '\(SQLiteSinkWriter.marksTable)' ORDER BY name
                """)) ?? []
            let listing = tables.isEmpty ? "it has no tables" : "its tables are: \(tables.joined(separator: ", "))"
            throw fail("no table '\(table)' in \(path) (\(listing))\(Suggest.didYouMean(table, in: tables))")
        }
        let quoted = quoteIdentifier(table)
        let names = (try? db.strings("SELECT name FROM pragma_table_info(?1) ORDER BY cid", [.string(table)])) ?? []
        let columns = Set(names.map(identifierKey))
        // The rowid has three names; use one that no real column hides.
        // Read in pages by rowid (`WHERE rowid >= ?1 … LIMIT ?2`): between pages the statement is
        // reset and the read lock released, so a sink writing another table of this database
        // (in rollback-journal mode) can commit while this source waits on backpressure.
        if kinds.first == "table", let alias = ["rowid", "_rowid_", "oid"].first(where: { !columns.contains($0) }),
           (try? db.prepare("SELECT \(alias) FROM \(quoted) LIMIT 0")) != nil {
            return (names, alias)
        }
        return (names, nil)
    }

    /// The column's value, with JSON array or object text decoded.
    static func decodedValue(_ statement: Statement, _ index: Int32) -> Value {
        let decoded = statement.withText(at: index) { bytes -> Value? in
            guard let first = bytes.first(where: { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }),
                  first == UInt8(ascii: "[") || first == UInt8(ascii: "{") else { return nil }
            return try? JSONReader.parse(bytes)
        }
        return (decoded ?? nil) ?? statement.value(at: index)
    }
}
