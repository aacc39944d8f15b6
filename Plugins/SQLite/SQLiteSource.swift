import CSQLite
import Foundation
import SluiceCore

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
public struct SQLiteSource: Source {
    /// The type name in configs.
    public static let type = "sqlite"
    /// One line for `sluice stages`.
    public static let summary = "Reads the rows of an SQLite table or query as records."

    /// The database file: a json sink may not overwrite it (a sqlite sink may write other tables).
    public var inputFiles: FileSet? { FileSet(pattern: path) }
    /// The options of the `sqlite` source, as `sluice stages sqlite` shows them.
    public static let optionSpecs: [OptionSpec] = [
        OptionSpec("path", .path, required: true, doc: "the database file"),
        OptionSpec("table", .string, doc: "the table (or view) to read; give this or 'query'"),
        OptionSpec("query", .string, doc: "a SELECT statement whose rows are the records; give this or 'table'"),
        OptionSpec("json_columns", .list(.string), doc: "columns whose JSON text (arrays, objects) is decoded back"),
    ]

    /// The database file.
    public let path: String
    /// The table or view read, if reading a table.
    public let table: String?
    /// The query run, if running a query.
    public let query: String?
    /// Columns whose JSON text is decoded.
    public let jsonColumns: [String]

    /// Creates a source reading a table (`query == nil`) or a query (`table == nil`).
    public init(path: String, table: String? = nil, query: String? = nil, jsonColumns: [String] = []) {
        self.path = path
        self.table = table
        self.query = query
        self.jsonColumns = jsonColumns
    }

    /// Builds the source from checked config options; exactly one of `table` and `query` must
    /// be given (a ``ConfigError`` otherwise).
    public init(options: StageOptions) throws {
        guard let configured = options.string("path"), !configured.isEmpty else {
            throw options.error("the option 'path' is required")
        }
        // The config loader resolves paths already; resolving again keeps options made by hand working.
        let path = options.environment.resolve(configured)
        let table = options.string("table")
        let query = options.string("query")
        switch (table, query) {
        case (nil, nil):
            throw options.error("give either 'table' (a table to read) or 'query' (a SELECT statement)")
        case (.some, .some):
            throw options.error("query", "give either 'table' or 'query', not both")
        case (let t?, nil) where t.isEmpty:
            throw options.error("table", "option 'table' must not be empty")
        case (nil, let q?) where q.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty:
            throw options.error("query", "option 'query' must not be empty")
        default:
            break
        }
        self.init(path: path, table: table, query: query, jsonColumns: options.strings("json_columns") ?? [])
    }

    /// Streams every row, in batches.
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
        let statement: Statement
        var rowidColumn = false
        var rowidAlias: String?
        if let table {
            (statement, rowidAlias) = try prepareTable(table, db: db, fail: fail)
            rowidColumn = rowidAlias != nil
        } else {
            do throws(SQLiteError) {
                statement = try db.prepare(query ?? "")
            } catch {
                throw fail("invalid query: \(error.message)")
            }
            guard !statement.hasTrailingSQL else { throw fail("the query must be a single statement") }
            guard statement.isReadOnly else { throw fail("the query must only read (a SELECT), it would change \(path)") }
        }

        let first: Int32 = rowidColumn ? 1 : 0
        let count = statement.columnCount
        let names = (first..<max(first, count)).map { statement.columnName($0) }
        // A record cannot hold two fields of one name: `SELECT a.id, b.id` would silently keep
        // only the second value.
        var seenNames = Set<String>()
        if let twice = names.first(where: { !seenNames.insert($0).inserted }) {
            throw fail("the query returns the column '\(twice)' more than once; give each a distinct name (… AS \(twice)_2)")
        }
        let wanted = Set(jsonColumns)
        let decode = (first..<max(first, count)).map { index -> Bool in
            wanted.contains(statement.columnName(index))
                || (statement.declaredType(index)?.range(of: "json", options: .caseInsensitive) != nil)
        }
        let file = (path as NSString).lastPathComponent
        var batch: [Record] = []
        batch.reserveCapacity(context.batchSize)
        // Paged (a table with a rowid): the next rowid to read, and the rows of this page. The
        // read stops at the highest rowid there was at the start, so rows a sink appends to the
        // same table during the run are not read back (that would never end).
        let paged = rowidColumn
        var nextRowid = Int64.min
        var pageRows = 0
        var highest = Int64.max
        if paged, let table, let alias = rowidAlias {
            let top = try? db.strings("SELECT max(\(alias)) FROM \(quoteIdentifier(table))")
            highest = top?.first.flatMap { Int64($0) } ?? Int64.min
        }
        func startPage() throws {
            do throws(SQLiteError) {
                try statement.bind(.int(nextRowid), at: 1)
                try statement.bind(.int(Int64(context.batchSize)), at: 2)
                try statement.bind(.int(highest), at: 3)
            } catch {
                throw fail("cannot read \(path): \(error.message)")
            }
            pageRows = 0
        }
        if paged { try startPage() }
        while true {
            let hasRow: Bool
            do throws(SQLiteError) {
                hasRow = try statement.step()
            } catch {
                throw fail("cannot read \(path): \(error.message)")
            }
            if !hasRow {
                guard paged, pageRows == context.batchSize, nextRowid != Int64.max else { break }
                // A full page: release the read lock, hand the batch on, read the next page.
                statement.reset()
                try context.emit(batch)
                batch.removeAll(keepingCapacity: true)
                try startPage()
                continue
            }
            if paged {
                let rowid = statement.int64(at: 0)
                nextRowid = rowid == Int64.max ? Int64.max : rowid + 1
                pageRows += 1
            }
            var fields = Fields(minimumCapacity: names.count)
            for (k, name) in names.enumerated() {
                let index = first + Int32(k)
                fields[name] = decode[k] ? Self.decodedValue(statement, index) : statement.value(at: index)
            }
            let origin = Origin(source: context.name, file: file, row: rowidColumn ? statement.int64(at: 0) : nil)
            batch.append(Record(fields, origin: origin))
            if !paged && batch.count >= context.batchSize {
                try context.emit(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        statement.reset()
        try context.emit(batch)
    }

    /// `SELECT rowid, * FROM table … ` in rowid pages, with the rowid's usable name (or
    /// `SELECT *` and nil when it has no rowid), or an error naming the table and listing the
    /// tables there.
    private func prepareTable(_ table: String, db: Database, fail: (String) -> StageError) throws -> (Statement, String?) {
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
                SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name
                """)) ?? []
            let listing = tables.isEmpty ? "it has no tables" : "its tables are: \(tables.joined(separator: ", "))"
            throw fail("no table '\(table)' in \(path) (\(listing))\(Suggest.didYouMean(table, in: tables))")
        }
        let quoted = quoteIdentifier(table)
        let columns = Set(((try? db.strings("SELECT name FROM pragma_table_info(?1)", [.string(table)])) ?? []).map(identifierKey))
        // The rowid has three names; use one that no real column hides.
        // Read in pages by rowid (`WHERE rowid > ?1 … LIMIT ?2`): between pages the statement is
        // reset and the read lock released, so a sink writing another table of this database
        // (in rollback-journal mode) can commit while this source waits on backpressure.
        if kinds.first == "table", let alias = ["rowid", "_rowid_", "oid"].first(where: { !columns.contains($0) }),
           let statement = try? db.prepare("SELECT \(alias), * FROM \(quoted) WHERE \(alias) >= ?1 AND \(alias) <= ?3 ORDER BY \(alias) LIMIT ?2") {
            return (statement, alias)
        }
        do throws(SQLiteError) {
            return (try db.prepare("SELECT * FROM \(quoted)"), nil)
        } catch {
            throw fail("cannot read table '\(table)' in \(path): \(error.message)")
        }
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
