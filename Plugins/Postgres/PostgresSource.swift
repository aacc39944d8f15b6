import Foundation
import SluiceCore
import SluiceFormats

/// The `postgres` source: one record per row of a table or of a query, fields in column order,
/// streamed through a server-side cursor (`DECLARE … NO SCROLL CURSOR`, `FETCH batch_size`) in
/// a read-only transaction, so a table of any size is read in constant memory.
///
/// Values map by column type:
///
/// | PostgreSQL | record value |
/// | --- | --- |
/// | `boolean` | boolean |
/// | `smallint`, `integer`, `bigint`, `oid` | integer |
/// | `real`, `double precision` | double |
/// | `numeric` | integer when it is a whole number that fits in 64 bits; double when the double prints back to the same digits; else the exact digits as a string (never a rounded number) |
/// | `json`, `jsonb` | the JSON value (objects, arrays, strings, numbers…) |
/// | `timestamp` | ISO 8601 string without zone: `2024-05-01T12:30:00.5` |
/// | `timestamptz` | ISO 8601 string in UTC: `2024-05-01T10:30:00.5Z` (the session runs in UTC) |
/// | `date`, `time`, `interval`, `uuid`, text types, enums, anything else | PostgreSQL's text form, a string |
/// | `bytea` | base64 string (as the sqlite source gives BLOBs) |
/// | arrays of the types above (`int[]`, `text[]`, `jsonb[]`…, nested) | arrays of the mapped values |
/// | NULL | null |
///
/// `query` runs with `params` as `$1`, `$2`… (sent as text; the server types them from the
/// query). The read runs in a `READ ONLY` transaction: a statement that would write fails.
///
/// Re-runs and exactly-once delivery (when the pipeline keeps checkpoints): with
/// `incremental: COLUMN` the rows are read in COLUMN order (`WHERE COLUMN > last value`, NULLs
/// not read) and the checkpoint keeps the last value read (in PostgreSQL's own text form, so a
/// timestamp or numeric compares exactly); a re-run reads only the rows after it. Positions are
/// ordinals that go on across runs, so rows read again after a crash keep their positions and
/// sinks skip what they committed. Rows that share the last value read with rows added later
/// are missed: use a unique, increasing column (an id, a sequence, a timestamp no two rows
/// share). Without `incremental` rows have no positions: every run reads them all and sinks
/// write them again (a sink `key` makes that an upsert). Changing `incremental` starts a new
/// version of the input, read whole.
public struct PostgresSource: Source, ConfiguredStage {
    /// The options of a `postgres` source.
    public struct Configuration: SourceConfiguration {
        /// The type name in configs.
        public static let type = "postgres"
        /// One line for `sluice stages`.
        public static let summary = "Reads the rows of a PostgreSQL table or query as records (streamed with a cursor; incremental re-runs)."
        /// An entry for `sluice stages postgres`.
        public static let example = """
            type: postgres
            url: postgresql://reader:${PGPASSWORD}@db.internal/news
            query: SELECT id, title, body, updated_at FROM stories WHERE section = $1
            params: [business]
            incremental: updated_at
            """
        /// Every option.
        public static let options: [ConfigOption<Self>] = [
            .init("url", \.url, required: true, notEmpty: true,
                  doc: "libpq connection URI or keyword string (postgresql://user:${PGPASSWORD}@host/db; ${VAR} reads the environment)"),
            .init("table", \.table, doc: "the table (or view) to read; give this or 'query'"),
            .init("schema", \.schema, doc: "the table's schema; default: the connection's search path"),
            .init("query", \.query, doc: "a SELECT statement whose rows are the records ($1, $2… take 'params'); give this or 'table'"),
            .init("params", \.params, .list(.any), doc: "values for the query's $1, $2… (sent as text)"),
            .init("incremental", \.incremental,
                  doc: "a unique column that grows as rows are added or changed (an id, updated_at): re-runs read only the rows after the last value read"),
        ]
        /// `table` or `query`; `params` only with `query`.
        public static let rules: [OptionRule] = [.exactlyOne(["table", "query"]), .goesWith("params", "query")]

        /// `url`.
        public var url = ""
        /// `table`.
        public var table: String?
        /// `schema`.
        public var schema: String?
        /// `query`.
        public var query: String?
        /// `params`.
        public var params: Value?
        /// `incremental`.
        public var incremental: String?

        /// Every option at its default.
        public init() {}

        /// Checks the names and builds the source.
        public func makeSource(_ context: BuildContext) throws -> any Source { try PostgresSource(self, context) }
    }

    /// The connection string (`${VAR}` not yet expanded).
    public let url: String
    /// The table read, if reading a table.
    public let table: String?
    /// The table's schema, if given.
    public let schema: String?
    /// The query run, if running a query.
    public let query: String?
    /// The query's parameters as text (nil: NULL).
    public let params: [String?]
    /// The column whose order re-runs follow, if any.
    public let incremental: String?

    /// Creates a source reading a table (`query == nil`) or a query (`table == nil`).
    public init(url: String, table: String? = nil, schema: String? = nil, query: String? = nil, params: [String?] = [],
                incremental: String? = nil) {
        self.url = url
        self.table = table
        self.schema = schema
        self.query = query
        self.params = params
        self.incremental = incremental
    }

    /// Builds the source from its configuration; throws a ``ConfigError`` for a name the server
    /// would refuse or an empty query.
    public init(_ configuration: Configuration, _ context: BuildContext) throws(ConfigError) {
        typealias C = Configuration
        let table = configuration.table
        let query = configuration.query
        if let table, let problem = PostgresConnection.identifierProblem(table) {
            throw context.error(\C.table, "option 'table': \(problem)")
        }
        if let query, query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw context.error(\C.query, "option 'query' must not be empty")
        }
        let schema = configuration.schema
        if let schema, let problem = PostgresConnection.identifierProblem(schema) {
            throw context.error(\C.schema, "option 'schema': \(problem)")
        }
        var params: [String?] = []
        if let list = configuration.params {
            guard case .array(let items) = list else { throw context.error(\C.params, "option 'params' must be a list") }
            for item in items {
                switch item {
                case .null: params.append(nil)
                case .string(let s): params.append(s)
                case .bool(let b): params.append(b ? "true" : "false")
                case .int(let n): params.append(String(n))
                case .double(let d): params.append(CopyText.doubleText(d))
                case .array, .object: params.append(JSONWriter.string(item))
                }
            }
        }
        let incremental = configuration.incremental
        if let incremental, let problem = PostgresConnection.identifierProblem(incremental) {
            throw context.error(\C.incremental, "option 'incremental': \(problem)")
        }
        self.init(url: configuration.url, table: table, schema: schema, query: query, params: params, incremental: incremental)
    }

    /// Streams every row (or, with a checkpoint, the rows after it), in batches.
    public func run(_ context: SourceContext) throws {
        let fail = { (message: String) in StageError(stage: context.name, message: message) }
        let pg: PostgresConnection
        do {
            pg = try PostgresConnection(url: url)
        } catch {
            throw fail("cannot connect to PostgreSQL: \(error)")
        }
        defer { pg.close() }
        do {
            try read(pg, context, fail)
        } catch let error as PostgresError {
            pg.rollback()
            throw fail("cannot read \(table.map { "table '\($0)'" } ?? "the query") from \(pg.displayURL): \(error)")
        }
    }

    private func read(_ pg: PostgresConnection, _ context: SourceContext, _ fail: (String) -> StageError) throws {
        let q = PostgresConnection.quoteIdentifier
        try pg.execute("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'; SET bytea_output = 'hex'; SET extra_float_digits = 1",
                       doing: "setting up the session")
        let from: String
        let input: String
        if let table {
            from = (schema.map { q($0) + "." } ?? "") + q(table)
            input = (schema.map { $0 + "." } ?? "") + table
            guard try pg.scalar("SELECT to_regclass($1)", [from]) != nil else {
                let tables = try pg.execute("""
                    SELECT table_name FROM information_schema.tables WHERE table_schema = coalesce($1, current_schema())
                    AND table_name <> '_sluice_delivered' ORDER BY 1
                    """, [schema]).firstColumn.compactMap { $0 }
                let listing = tables.isEmpty ? "it has no tables" : "its tables are: \(tables.joined(separator: ", "))"
                throw fail("no table '\(input)' in \(pg.displayURL) (\(listing))\(Suggest.didYouMean(table, in: tables))")
            }
        } else {
            var trimmed = Substring(query ?? "")
            while let last = trimmed.last, last.isWhitespace || last == ";" { trimmed = trimmed.dropLast() }
            from = "(\n\(trimmed)\n) AS \"_sluice_query\""
            input = "query"
        }
        // The columns, to check `incremental` and repeated names before reading.
        let shape = try pg.execute("SELECT * FROM \(from) LIMIT 0", params, doing: "reading the columns")
        let names = shape.columnNames
        var seen = Set<String>()
        if let twice = names.first(where: { !seen.insert($0).inserted }) {
            throw fail("the query returns the column '\(twice)' more than once; give each a distinct name (… AS \(twice)_2)")
        }
        var incrementalIndex: Int?
        if let incremental {
            guard let index = names.firstIndex(of: incremental) else {
                let listing = names.isEmpty ? "it has no columns" : "its columns are: \(names.joined(separator: ", "))"
                throw fail("option 'incremental': no column '\(incremental)' in \(table.map { "table '\($0)'" } ?? "the query's result") (\(listing))\(Suggest.didYouMean(incremental, in: names))")
            }
            incrementalIndex = index
        }

        // Where to start: the saved checkpoint when it was made with the same column.
        let checkpoints = context.checkpoint
        var epoch = checkpoints.baseEpoch
        var ordinal: Int64 = 0
        var lastValue: String?
        var records: Int64 = 0
        if let incremental, checkpoints.enabled, let saved = try checkpoints[input] {
            if case .array(let items)? = saved.lastValue, items.count == 2, items[0].stringValue == incremental,
               let value = items[1].stringValue {
                epoch = max(saved.epoch, checkpoints.baseEpoch)
                lastValue = value
                ordinal = saved.offset
                records = saved.records
            } else {
                epoch = max(saved.epoch + 1, checkpoints.baseEpoch)
                context.logger.info("reading \(input) whole, as a new version: it was read with another 'incremental' column before")
            }
        }

        var sql = "SELECT * FROM \(from)"
        var parameters = params
        if let incremental {
            let column = q(incremental)
            if let lastValue {
                parameters.append(lastValue)
                sql += " WHERE \(column) > $\(parameters.count)"
            } else {
                sql += " WHERE \(column) IS NOT NULL"
            }
            sql += " ORDER BY \(column)"
        }
        try pg.execute("BEGIN READ ONLY", doing: "starting a read-only transaction")
        try pg.execute("DECLARE \"_sluice_cursor\" NO SCROLL CURSOR FOR \(sql)", parameters, doing: "opening a cursor")
        let decoders = (0..<shape.columnCount).map { PostgresValueDecoder(oid: shape.columnType($0)) }
        func reportProgress() {
            guard checkpoints.enabled, let incremental, let lastValue else { return }
            context.progress(InputCheckpoint(input: input, epoch: epoch, offset: ordinal,
                                             lastValue: .array([.string(incremental), .string(lastValue)]), records: records))
        }
        while true {
            let page = try pg.execute("FETCH \(max(1, context.batchSize)) FROM \"_sluice_cursor\"", doing: "fetching rows")
            let count = page.rowCount
            guard count > 0 else { break }
            var batch: [Record] = []
            batch.reserveCapacity(count)
            for row in 0..<count {
                var fields = Fields(minimumCapacity: names.count)
                for (column, name) in names.enumerated() {
                    fields[name] = page.withBytes(row, column) { decoders[column].decode($0) } ?? .null
                }
                var position: Position?
                if incrementalIndex != nil {
                    position = Position(input: input, epoch: epoch, offset: ordinal)
                    ordinal += 1
                }
                records += 1
                batch.append(Record(fields, origin: Origin(source: context.name, file: input, position: position)))
            }
            // Only the page's last value is kept: reading it per row made a String per row.
            if let incrementalIndex { lastValue = page.value(count - 1, incrementalIndex) }
            reportProgress()
            try context.emit(batch)
            if count < context.batchSize { break }
        }
        try pg.execute("CLOSE \"_sluice_cursor\"; COMMIT", doing: "closing the cursor")
        reportProgress()
        try context.emit([])
    }
}

/// Turns one column's text values into record values, by the column's type OID.
struct PostgresValueDecoder {
    enum Kind {
        case bool, int, float, numeric, json, timestamp, timestamptz, bytea, text
        indirect case array(Kind)
    }

    let kind: Kind

    init(oid: UInt32) { kind = Self.kind(oid) }

    static func kind(_ oid: UInt32) -> Kind {
        switch oid {
        case 16: return .bool
        case 20, 21, 23, 26: return .int
        case 700, 701: return .float
        case 1700: return .numeric
        case 114, 3802: return .json
        case 1114: return .timestamp
        case 1184: return .timestamptz
        case 17: return .bytea
        case 1000: return .array(.bool)
        case 1005, 1007, 1016, 1028: return .array(.int)
        case 1021, 1022: return .array(.float)
        case 1231: return .array(.numeric)
        case 199, 3807: return .array(.json)
        case 1115: return .array(.timestamp)
        case 1185: return .array(.timestamptz)
        case 1001: return .array(.bytea)
        case 1009, 1015, 1014, 2951, 1182, 1183, 1187: return .array(.text)
        default: return .text
        }
    }

    func decode(_ bytes: UnsafeRawBufferPointer) -> Value {
        Self.decode(String(decoding: bytes, as: UTF8.self), kind)
    }

    static func decode(_ text: String, _ kind: Kind) -> Value {
        switch kind {
        case .bool: return .bool(text == "t" || text == "true")
        case .int: return Int64(text).map(Value.int) ?? .string(text)
        case .float:
            switch text {
            case "NaN": return .double(.nan)
            case "Infinity": return .double(.infinity)
            case "-Infinity": return .double(-.infinity)
            default: return Double(text).map(Value.double) ?? .string(text)
            }
        case .numeric:
            if let n = Int64(text) { return .int(n) }
            if let d = Double(text), d.isFinite, "\(d)" == text { return .double(d) }
            return .string(text)
        case .json:
            return (try? JSONReader.parse(text)) ?? .string(text)
        case .timestamp:
            return .string(isoTimestamp(text))
        case .timestamptz:
            var iso = isoTimestamp(text)
            if iso.hasSuffix("+00") { iso.removeLast(3); iso += "Z" }
            return .string(iso)
        case .bytea:
            guard text.hasPrefix("\\x") else { return .string(text) }
            var data = Data(capacity: (text.utf8.count - 2) / 2)
            var high: UInt8?
            for b in text.utf8.dropFirst(2) {
                let v: UInt8
                switch b {
                case 0x30...0x39: v = b - 0x30
                case 0x61...0x66: v = b - 0x61 + 10
                case 0x41...0x46: v = b - 0x41 + 10
                default: continue
                }
                if let h = high { data.append(h << 4 | v); high = nil } else { high = v }
            }
            return .string(data.base64EncodedString())
        case .text:
            return .string(text)
        case .array(let element):
            var parser = ArrayLiteralParser(text)
            return parser.parse(element) ?? .string(text)
        }
    }

    /// `2024-05-01 12:30:00.5` → `2024-05-01T12:30:00.5` (infinity and BC dates stay as they are).
    static func isoTimestamp(_ text: String) -> String {
        guard text.utf8.count >= 19, !text.hasSuffix(" BC"), let space = text.firstIndex(of: " ") else { return text }
        var out = text
        out.replaceSubrange(space...space, with: "T")
        return out
    }
}

/// Parses PostgreSQL's array text form: `{1,2,NULL}`, `{"a b","c\"d"}`, `{{1,2},{3,4}}`,
/// `[0:1]={…}` (bounds dropped).
struct ArrayLiteralParser {
    private let bytes: [UInt8]
    private var i = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    mutating func parse(_ element: PostgresValueDecoder.Kind) -> Value? {
        if bytes.first == UInt8(ascii: "["), let eq = bytes.firstIndex(of: UInt8(ascii: "=")) { i = eq + 1 }
        let value = parseArray(element)
        return i == bytes.count ? value : nil
    }

    private mutating func parseArray(_ element: PostgresValueDecoder.Kind) -> Value? {
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        var items: [Value] = []
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .array([]) }
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "{") {
                guard let inner = parseArray(element) else { return nil }
                items.append(inner)
            } else if bytes[i] == UInt8(ascii: "\"") {
                i += 1
                var text: [UInt8] = []
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                    if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count { i += 1 }
                    text.append(bytes[i])
                    i += 1
                }
                guard i < bytes.count else { return nil }
                i += 1
                items.append(PostgresValueDecoder.decode(String(decoding: text, as: UTF8.self), element))
            } else {
                let start = i
                while i < bytes.count, bytes[i] != UInt8(ascii: ","), bytes[i] != UInt8(ascii: "}") { i += 1 }
                let text = String(decoding: bytes[start..<i], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                items.append(text == "NULL" ? .null : PostgresValueDecoder.decode(text, element))
            }
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return .array(items) }
            return nil
        }
        return nil
    }
}
