import Foundation
import SluiceCore

/// The `postgres` sink: writes records as rows of one PostgreSQL table, creating and widening
/// the table as fields appear.
///
/// - The table is created from the first batch, a column per field in order of first
///   appearance, typed by the sqlite sink's rules in PostgreSQL's types (see
///   ``PostgresColumnKind``): `boolean`, `bigint`, `double precision`, `text`, and `jsonb` for
///   fields that hold only arrays and objects; a field that is only null gets `text`. A field
///   that appears later is added with `ALTER TABLE … ADD COLUMN`. An existing table is used as
///   it is, with missing columns added. Names are quoted (`"a""b"`) and, as PostgreSQL quoted
///   identifiers are, case-sensitive; a field name longer than 63 bytes (PostgreSQL would cut
///   it) or holding NUL is a dead letter.
/// - Each value is checked against its column's type before it is sent: a value the column
///   cannot hold exactly (text in a `bigint` column unless it is a canonical integer, a
///   fraction in an integer column, a number in a `boolean` one, a string with a NUL
///   character, which PostgreSQL text and jsonb cannot hold) makes the record a dead letter
///   naming the field. Types the sink does not create (timestamps, uuid, enums of an existing
///   table) get the value's text and the server decides; a record it refuses is a dead letter.
/// - Rows are sent with `COPY … FROM STDIN` (text format), one COPY per run of consecutive
///   records with the same fields (a field a record lacks is not set, so column defaults
///   apply). When the server refuses a run (a constraint, a value of an existing table's type),
///   the run is written again record by record, each in a savepoint, and the refused ones
///   become dead letters with the server's message.
/// - `key` makes writes upserts: the run is copied into a temporary staging table, then
///   `INSERT INTO t (…) SELECT DISTINCT ON (key) … ON CONFLICT (key) DO UPDATE SET` the
///   record's fields (the last record of a key in a run wins; columns the record lacks are
///   kept). A new table gets the key as its `PRIMARY KEY`; an existing one gets a unique index
///   when it has none. A record without its key field, or with a null one, is a dead letter.
/// - `fts: [fields]` keeps a generated column (`fts_column`, default `fts`) of type `tsvector`
///   = `to_tsvector(fts_config, field1 || ' ' || field2 …)` with a GIN index; query it with
///   `WHERE fts @@ websearch_to_tsquery('simple', 'words')`. Changing the fields or the config
///   rebuilds the column.
/// - `indexes` creates an index per entry (a field, or a list of fields).
/// - Rows are written in transactions committed after the batch that brings them to
///   `batch_size` rows and at every flush (the runtime flushes at least every second).
///
/// Exactly once, as the sqlite sink: the table `_sluice_delivered` in the same schema holds,
/// per pipeline, target table, source, input and route, the position of the last record
/// written; its rows are updated in the same transaction as the data, and a re-run skips every
/// record at or below them.
///
/// A lost connection (the server restarted, the backend was terminated, the network failed)
/// is retried `retries` times with a growing pause (0.5 s, 1 s, 2 s…): the sink reconnects and
/// writes again the records of the transaction that was open — they were never committed,
/// as PostgreSQL rolls back what a lost session left open. When the connection was lost
/// during `COMMIT` itself, the marks table tells whether the commit landed (the marks are in
/// the same transaction as the rows), so nothing is written twice — except records without a
/// position (standard input), for which a commit lost in flight may be written again. After the
/// last try the run fails with a message naming the server and the error; everything committed
/// before stays, and the next run writes the rest.
public struct PostgresSink: Sink, ConfiguredStage {
    /// The options of a `postgres` sink.
    public struct Configuration: SinkConfiguration {
        /// The type name in configs.
        public static let type = "postgres"
        /// One line for `sluice stages`.
        public static let summary = "Writes records to a PostgreSQL table with COPY (created and widened from the fields; upserts, full-text search, indexes)."
        /// An entry for `sluice stages postgres`.
        public static let example = """
            type: postgres
            inputs: articles
            url: postgresql://loader:${PGPASSWORD}@db.internal/news
            table: articles
            key: id
            fts: [title, body]
            fts_config: english
            """
        /// Every option.
        public static let options: [ConfigOption<Self>] = [
            .init("url", \.url, required: true, notEmpty: true,
                  doc: "libpq connection URI or keyword string (postgresql://user:${PGPASSWORD}@host/db; ${VAR} reads the environment)"),
            .init("table", \.table, required: true, doc: "the table to write (created from the records' fields)"),
            .init("schema", \.schema, doc: "the table's schema (created when missing); default: the connection's current schema"),
            .init("key", \.key, .stringOrList, doc: "field or fields identifying a record: writes become upserts (INSERT … ON CONFLICT DO UPDATE)"),
            .init("fts", \.fts, doc: "fields kept in a generated tsvector column with a GIN index"),
            .init("fts_config", \.ftsConfig, notEmpty: true, doc: "the text search configuration (simple, english, german…)"),
            .init("fts_column", \.ftsColumn, doc: "the name of the generated tsvector column"),
            .init("indexes", \.indexes, doc: "indexes to create: a field, or a list whose items are fields or lists of fields (composite)"),
            .init("batch_size", \.batchSize, range: OptionRange(1...),
                  doc: "rows per transaction: committed after the batch that reaches it (a flush also commits)"),
            .init("retries", \.retries, range: OptionRange(0...),
                  doc: "how many times a lost connection is retried (pauses of 0.5 s, 1 s, 2 s…) before the run fails"),
        ]

        /// `url`.
        public var url = ""
        /// `table`.
        public var table = ""
        /// `schema`.
        public var schema: String?
        /// `key`.
        public var key: [String] = []
        /// `fts`.
        public var fts: [String] = []
        /// `fts_config`.
        public var ftsConfig = "simple"
        /// `fts_column`.
        public var ftsColumn = "fts"
        /// `indexes`.
        public var indexes = FieldGroups()
        /// `batch_size`.
        public var batchSize = 10_000
        /// `retries`.
        public var retries = 4

        /// Every option at its default.
        public init() {}

        /// Checks the names and builds the sink.
        public func makeSink(_ context: BuildContext) throws -> any Sink { try PostgresSink(self, context) }
    }

    /// The connection string (`${VAR}` not yet expanded).
    public let url: String
    /// The table written.
    public let table: String
    /// The schema, or nil for the connection's current schema.
    public let schema: String?
    /// The key fields (empty: plain inserts).
    public let key: [String]
    /// The fields of the full-text column (empty: none).
    public let fts: [String]
    /// The text search configuration.
    public let ftsConfig: String
    /// The generated tsvector column's name.
    public let ftsColumn: String
    /// The indexes to create, each a list of fields.
    public let indexes: [[String]]
    /// Rows per transaction.
    public let batchSize: Int
    /// Tries after a lost connection.
    public let retries: Int
    /// The first pause before a reconnection, in seconds (doubled each time).
    public var retryPause: Double = 0.5

    /// Creates a sink directly.
    public init(url: String, table: String, schema: String? = nil, key: [String] = [], fts: [String] = [],
                ftsConfig: String = "simple", ftsColumn: String = "fts", indexes: [[String]] = [],
                batchSize: Int = 10_000, retries: Int = 4) {
        self.url = url
        self.table = table
        self.schema = schema
        self.key = key
        self.fts = fts
        self.ftsConfig = ftsConfig
        self.ftsColumn = ftsColumn
        self.indexes = indexes
        self.batchSize = max(1, batchSize)
        self.retries = max(0, retries)
    }

    /// Builds the sink from its configuration; throws a ``ConfigError`` for a name the server
    /// would refuse, a repeated key field or a malformed index.
    public init(_ configuration: Configuration, _ context: BuildContext) throws(ConfigError) {
        typealias C = Configuration
        let table = configuration.table
        if let problem = PostgresConnection.identifierProblem(table) { throw context.error(\C.table, "option 'table': \(problem)") }
        guard table != PostgresSinkWriter.marksTable else {
            throw context.error(\C.table, "option 'table' cannot be '\(table)': the sink keeps its delivery marks there; choose another table")
        }
        let schema = configuration.schema
        if let schema, let problem = PostgresConnection.identifierProblem(schema) {
            throw context.error(\C.schema, "option 'schema': \(problem)")
        }
        let key = configuration.key
        if let problem = Self.fieldListProblem(key) { throw context.error(\C.key, "option 'key' \(problem)") }
        let fts = configuration.fts
        if let problem = Self.fieldListProblem(fts) { throw context.error(\C.fts, "option 'fts' \(problem)") }
        let ftsColumn = configuration.ftsColumn
        if let problem = PostgresConnection.identifierProblem(ftsColumn) {
            throw context.error(\C.ftsColumn, "option 'fts_column': \(problem)")
        }
        if fts.contains(ftsColumn) || key.contains(ftsColumn) {
            throw context.error(\C.ftsColumn, "option 'fts_column' '\(ftsColumn)' is also a field the sink writes; choose another name")
        }
        let ftsConfig = configuration.ftsConfig
        guard !ftsConfig.utf8.contains(0) else {
            throw context.error(\C.ftsConfig, "option 'fts_config' must name a text search configuration")
        }
        var indexes: [[String]] = []
        for (n, fields) in configuration.indexes.groups.enumerated() {
            if let problem = Self.fieldListProblem(fields) { throw context.error(\C.indexes, "option 'indexes' item \(n + 1) \(problem)") }
            indexes.append(fields)
        }
        self.init(url: configuration.url, table: table, schema: schema, key: key, fts: fts, ftsConfig: ftsConfig,
                  ftsColumn: ftsColumn, indexes: indexes, batchSize: configuration.batchSize, retries: configuration.retries)
    }

    /// Why a list of field names is unusable, or `nil`.
    static func fieldListProblem(_ fields: [String]) -> String? {
        for field in fields {
            if let problem = PostgresConnection.identifierProblem(field) { return "names '\(field)': \(problem)" }
        }
        var seen: Set<String> = []
        for field in fields where !seen.insert(field).inserted { return "names '\(field)' twice" }
        return nil
    }

    /// The name of the index on `fields` (cut to PostgreSQL's 63 bytes with a hash to stay unique).
    static func indexName(table: String, fields: [String]) -> String {
        shortName("idx_\(table)_\(fields.joined(separator: "_"))")
    }

    /// `name` when it fits in 63 bytes, else its start and an FNV-1a hash of the whole.
    static func shortName(_ name: String) -> String {
        guard name.utf8.count > PostgresConnection.maxIdentifierBytes else { return name }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
        var prefix = ""
        for c in name {
            if prefix.utf8.count + String(c).utf8.count > 46 { break }
            prefix.append(c)
        }
        return prefix + "_" + String(hash, radix: 16)
    }

    /// Connects and sets up the table and the delivery marks.
    public func makeWriter(_ context: StageContext) throws -> any SinkWriter {
        try PostgresSinkWriter(sink: self, context: context)
    }
}

/// The working half of ``PostgresSink``, on the sink's thread.
final class PostgresSinkWriter: SinkWriter, DeliveryMarkStore {
    /// The bookkeeping table of delivery marks (see ``PostgresSink``).
    static let marksTable = "_sluice_delivered"

    private let sink: PostgresSink
    private let context: StageContext
    private var pg: PostgresConnection
    /// The schema written (resolved at open when the sink names none).
    private var schemaName = ""
    private var qualifiedTable = ""
    private var qualifiedMarks = ""
    /// "schema.table", the `target` of the delivery marks.
    private var target = ""
    /// The table's columns by name: their types (empty until the table exists).
    private var columns: [String: PostgresColumnType] = [:]
    /// The records of the open transaction that were written (to write again after a lost connection).
    private var retained: [Record] = []
    private var inTransaction = false
    private var closed = false
    /// Set while a batch is written: the marks cover the whole batch, so a batch stopped in the
    /// middle by a fatal error is never committed.
    private var partialBatch = false
    private var buffer: [UInt8] = []
    private var scratch: [UInt8] = []
    private var stagingColumns: [String]?
    /// The dead letters of the batch being written.
    private var letters: [(Record, String)] = []

    init(sink: PostgresSink, context: StageContext) throws {
        self.sink = sink
        self.context = context
        do {
            pg = try PostgresConnection(url: sink.url)
        } catch {
            throw StageError(stage: context.name, message: "cannot connect to PostgreSQL: \(error)")
        }
        buffer.reserveCapacity(1 << 20)
        try withRetries("setting up table '\(sink.table)'") { try self.setUp() }
    }

    private func fatal(_ message: String) -> StageError { StageError(stage: context.name, message: message) }

    // MARK: - Set-up

    /// Resolves the schema, creates the marks table, loads the marks and the table's columns,
    /// and sets up the key, the full-text column and the indexes of an existing table.
    private func setUp() throws {
        if let schema = sink.schema {
            schemaName = schema
        } else {
            schemaName = try pg.scalar("SELECT current_schema()", doing: "finding the current schema") ?? "public"
        }
        let q = PostgresConnection.quoteIdentifier
        qualifiedTable = q(schemaName) + "." + q(sink.table)
        qualifiedMarks = q(schemaName) + "." + q(Self.marksTable)
        target = schemaName + "." + sink.table
        try pg.transaction {
            try lockSchema()
            if sink.schema != nil {
                try pg.execute("CREATE SCHEMA IF NOT EXISTS \(q(schemaName))", doing: "creating schema \(q(schemaName))")
            }
            try pg.execute("""
                CREATE TABLE IF NOT EXISTS \(qualifiedMarks) (
                    pipeline text NOT NULL, target text NOT NULL, source text NOT NULL, input text NOT NULL,
                    route text NOT NULL, epoch bigint NOT NULL, "offset" bigint NOT NULL, count bigint NOT NULL,
                    PRIMARY KEY (pipeline, target, source, input, route))
                """, doing: "creating the delivery marks table \(qualifiedMarks)")
            if try loadColumns() { try setUpTable() }
        }
        // Looked up as the ledger meets their inputs, not loaded: a table filled from a million
        // article files holds a million marks.
        context.ledger.load(from: self)
    }

    /// Serializes schema changes between writers of this table (other sinks, other processes
    /// of a cluster run) until the transaction ends: `CREATE TABLE IF NOT EXISTS` and `ADD
    /// COLUMN` race otherwise.
    private func lockSchema() throws {
        try pg.execute("SELECT pg_advisory_xact_lock(hashtext($1))", ["sluice.postgres." + target],
                       doing: "locking the schema of \(qualifiedTable)")
    }

    /// The marks of `keys` this pipeline committed to this table (``DeliveryMarkStore``), in
    /// one query; reconnects when the connection was lost, like a write.
    func committedMarks(for keys: [DeliveryLedger.Key]) throws -> [DeliveryLedger.Key: DeliveryLedger.Mark] {
        var found: [DeliveryLedger.Key: DeliveryLedger.Mark] = [:]
        try withRetries("reading the delivery marks in \(qualifiedMarks)") {
            found = try savedMarks(keys)
        }
        return found
    }

    /// The marks of `keys` this pipeline committed to this table, in one query.
    private func savedMarks(_ keys: [DeliveryLedger.Key]) throws -> [DeliveryLedger.Key: DeliveryLedger.Mark] {
        var saved: [DeliveryLedger.Key: DeliveryLedger.Mark] = [:]
        guard !keys.isEmpty else { return saved }
        let text = PostgresConnection.textArray
        let result = try pg.execute("""
            SELECT source, input, route, epoch, "offset", count FROM \(qualifiedMarks)
            WHERE pipeline = $1 AND target = $2
              AND (source, input, route) IN (SELECT * FROM unnest($3::text[], $4::text[], $5::text[]))
            """, [context.pipeline, target, text(keys.map(\.source)), text(keys.map(\.input)), text(keys.map(\.route))],
            doing: "reading the delivery marks in \(qualifiedMarks)")
        for row in 0..<result.rowCount {
            let key = DeliveryLedger.Key(source: result.value(row, 0) ?? "", input: result.value(row, 1) ?? "",
                                         route: result.value(row, 2) ?? "")
            saved[key] = DeliveryLedger.Mark(epoch: Int64(result.value(row, 3) ?? "") ?? 0,
                                             offset: Int64(result.value(row, 4) ?? "") ?? 0,
                                             count: Int64(result.value(row, 5) ?? "") ?? 0)
        }
        return saved
    }

    /// Reads the table's columns; `false` when there is no such table.
    private func loadColumns() throws -> Bool {
        columns = [:]
        // pg_class read by a query, not to_regclass: after waiting for the schema lock, the
        // catalog cache may not yet know a table another process just created (seen as
        // "relation already exists" when three cluster processes start together); a query reads
        // the catalog with a fresh snapshot.
        guard let oid = try pg.scalar("""
            SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = $2
            """, [schemaName, sink.table]) else { return false }
        let result = try pg.execute("""
            SELECT attname, format_type(atttypid, atttypmod), attgenerated <> '' FROM pg_attribute
            WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum
            """, [oid], doing: "reading the columns of \(qualifiedTable)")
        for row in 0..<result.rowCount {
            guard let name = result.value(row, 0), let type = result.value(row, 1) else { continue }
            if result.value(row, 2) == "t" { continue }     // generated: never written
            columns[name] = PostgresColumnType(sqlType: type)
        }
        return true
    }

    /// Creates the table from the first batch's fields (in the open transaction).
    private func createTable(from batch: [Record]) throws {
        try lockSchema()
        if try loadColumns() { try setUpTable(); return }
        var order: [String] = []
        var kinds: [String: PostgresColumnKind] = [:]
        for record in batch {
            for (name, value) in record.fields where PostgresConnection.identifierProblem(name) == nil && name != sink.ftsColumn {
                if kinds[name] == nil {
                    order.append(name)
                    kinds[name] = PostgresColumnKind.none
                }
                kinds[name]?.merge(value)
            }
        }
        for name in sink.key + sink.indexes.flatMap({ $0 }) + sink.fts where kinds[name] == nil {
            order.append(name)
            kinds[name] = PostgresColumnKind.none
        }
        var definitions = order.map { "\(PostgresConnection.quoteIdentifier($0)) \(kinds[$0]?.sqlType ?? "text")" }
        if !sink.key.isEmpty {
            definitions.append("PRIMARY KEY (\(sink.key.map(PostgresConnection.quoteIdentifier).joined(separator: ", ")))")
        }
        try pg.execute("CREATE TABLE \(qualifiedTable) (\(definitions.joined(separator: ", ")))",
                       doing: "creating table \(qualifiedTable)")
        _ = try loadColumns()
        try setUpTable()
    }

    /// Adds the key, FTS and index columns an existing table lacks, the key's unique index, the
    /// full-text column and the indexes.
    private func setUpTable() throws {
        for name in sink.key + sink.indexes.flatMap({ $0 }) + sink.fts where columns[name] == nil {
            try addColumn(name, kind: .none)
        }
        let q = PostgresConnection.quoteIdentifier
        if !sink.key.isEmpty {
            let keyList = sink.key.map(q).joined(separator: ", ")
            let hasUnique = try pg.scalar("""
                SELECT 1 FROM pg_index i WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indpred IS NULL
                AND i.indnkeyatts = $2::int AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
                    WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)) = (SELECT array_agg(k ORDER BY k) FROM unnest($3::text[]) k)
                LIMIT 1
                """, [qualifiedTable, String(sink.key.count), PostgresConnection.textArray(sink.key)], doing: "looking for a unique index on the key")
            if hasUnique == nil {
                let index = q(PostgresSink.shortName("\(sink.table)_key"))
                try pg.execute("CREATE UNIQUE INDEX IF NOT EXISTS \(index) ON \(qualifiedTable) (\(keyList))",
                               doing: "making (\(sink.key.joined(separator: ", "))) the key of \(qualifiedTable)")
            }
        }
        if !sink.fts.isEmpty { try ensureFullText() }
        for fields in sink.indexes {
            let name = PostgresSink.indexName(table: sink.table, fields: fields)
            try pg.execute("CREATE INDEX IF NOT EXISTS \(q(name)) ON \(qualifiedTable) (\(fields.map(q).joined(separator: ", ")))",
                           doing: "creating index \(q(name))")
        }
    }

    /// Creates (or rebuilds, when its fields or config changed) the generated tsvector column
    /// and its GIN index. The column's comment says what it was made from.
    private func ensureFullText() throws {
        let q = PostgresConnection.quoteIdentifier
        let column = q(sink.ftsColumn)
        let signature = "sluice fts: config=\(sink.ftsConfig) fields=\(JSONWriter.string(.array(sink.fts.map(Value.string))))"
        let existing = try pg.execute("""
            SELECT col_description(attrelid, attnum) FROM pg_attribute
            WHERE attrelid = $1::regclass AND attname = $2 AND NOT attisdropped
            """, [qualifiedTable, sink.ftsColumn], doing: "reading the full-text column")
        if existing.rowCount > 0 {
            if existing.value(0, 0) == signature { return }
            guard existing.value(0, 0)?.hasPrefix("sluice fts:") ?? false else {
                throw fatal("table \(qualifiedTable) has a column \(column) that the sink did not make; choose another 'fts_column'")
            }
            context.logger.info("rebuilding the full-text column \(sink.ftsColumn) of \(qualifiedTable) for fields \(sink.fts) (config \(sink.ftsConfig))")
            try pg.execute("ALTER TABLE \(qualifiedTable) DROP COLUMN \(column)", doing: "dropping the old full-text column")
        }
        let text = sink.fts.map { "coalesce(\(q($0))::text, '')" }.joined(separator: " || ' ' || ")
        try pg.execute("""
            ALTER TABLE \(qualifiedTable) ADD COLUMN \(column) tsvector
            GENERATED ALWAYS AS (to_tsvector(\(PostgresConnection.quoteLiteral(sink.ftsConfig))::regconfig, \(text))) STORED
            """, doing: "adding the full-text column \(column) to \(qualifiedTable)")
        try pg.execute("COMMENT ON COLUMN \(qualifiedTable).\(column) IS \(PostgresConnection.quoteLiteral(signature))")
        let index = q(PostgresSink.shortName("\(sink.table)_\(sink.ftsColumn)_gin"))
        try pg.execute("CREATE INDEX IF NOT EXISTS \(index) ON \(qualifiedTable) USING gin (\(column))",
                       doing: "creating the GIN index \(index)")
    }

    private func addColumn(_ name: String, kind: PostgresColumnKind) throws {
        try pg.execute("ALTER TABLE \(qualifiedTable) ADD COLUMN IF NOT EXISTS \(PostgresConnection.quoteIdentifier(name)) \(kind.sqlType)",
                       doing: "adding column '\(name)' to \(qualifiedTable)")
        columns[name] = PostgresColumnType(sqlType: kind.sqlType)
    }

    /// Adds the columns of `names` the table lacks, typed from the batch's values from `start` on.
    private func addMissingColumns(_ names: [String], batch: ArraySlice<Record>) throws {
        let missing = names.filter { columns[$0] == nil }
        guard !missing.isEmpty else { return }
        try lockSchema()
        _ = try loadColumns()      // another writer may have added them meanwhile
        for name in missing where columns[name] == nil {
            var kind = PostgresColumnKind.none
            for record in batch {
                if let value = record.fields[name] { kind.merge(value) }
                if kind == .text { break }
            }
            try addColumn(name, kind: kind)
        }
    }

    // MARK: - Writing

    func write(_ batch: [Record]) throws {
        guard !batch.isEmpty else { return }
        partialBatch = true
        try withRetries("writing to \(qualifiedTable)") {
            // Dead letters are sent once the batch is written: a retry must not send them twice.
            self.letters.removeAll()
            try self.begin()
            let written = try self.writeRecords(batch, deadLetters: true)
            self.retained += written
        }
        for (record, problem) in letters { context.deadLetter(record, error: problem) }
        letters.removeAll()
        partialBatch = false
        if retained.count >= sink.batchSize { try commit() }
    }

    /// Writes records in the open transaction; returns those written (the others went to the
    /// dead letters when `deadLetters`).
    private func writeRecords(_ batch: [Record], deadLetters: Bool) throws -> [Record] {
        guard !batch.isEmpty else { return [] }
        if columns.isEmpty { try createTable(from: batch) }
        var written: [Record] = []
        written.reserveCapacity(batch.count)
        var index = 0
        while index < batch.count {
            let record = batch[index]
            if let problem = recordProblem(record) {
                if deadLetters { letters.append((record, problem)) }
                index += 1
                continue
            }
            // A run: the following records with the same fields (in any order).
            let names = Array(record.fields.keys)
            let nameSet = Set(names)
            var end = index + 1
            while end < batch.count, batch[end].fields.count == names.count,
                  batch[end].fields.keys.elements == names || batch[end].fields.keys.allSatisfy(nameSet.contains),
                  recordProblem(batch[end]) == nil {
                end += 1
            }
            try addMissingColumns(names, batch: batch[index...])
            written += try writeRun(Array(batch[index..<end]), names: names, deadLetters: deadLetters)
            index = end
        }
        return written
    }

    /// Why a record cannot become a row, or nil.
    private func recordProblem(_ record: Record) -> String? {
        if record.fields.isEmpty { return "a record with no fields cannot be stored as a row" }
        for field in sink.key {
            guard let value = record.fields[field] else { return "missing key field '\(field)'" }
            if value.isNull { return "key field '\(field)' is null" }
        }
        // The names are checked once per set of fields, not per record.
        if record.fields.keys.elements == checkedNames { return nil }
        for name in record.fields.keys {
            if name == sink.ftsColumn && !sink.fts.isEmpty {
                return "field '\(name)' is the generated full-text column; rename the field or choose another 'fts_column'"
            }
            if let problem = PostgresConnection.identifierProblem(name) { return "field '\(name)': \(problem)" }
        }
        checkedNames = Array(record.fields.keys)
        return nil
    }

    /// The last list of field names found usable as columns.
    private var checkedNames: [String] = []

    /// Writes records that share their fields: one COPY (into the table, or into the staging
    /// table for an upsert) in a savepoint; when the server refuses it, record by record.
    private func writeRun(_ run: [Record], names: [String], deadLetters: Bool) throws -> [Record] {
        // Encode first: a value its column cannot take is this record's problem, not the run's.
        // Fields go in the order of `names` (the COPY column list); records that have them in
        // another order are looked up by name.
        buffer.removeAll(keepingCapacity: true)
        var good: [Record] = []
        good.reserveCapacity(run.count)
        let types = names.map { columns[$0] ?? .text }
        for record in run {
            let mark = buffer.count
            var problem: String?
            let inOrder = record.fields.keys.elements == names
            for (k, name) in names.enumerated() {
                let value = inOrder ? record.fields.values[k] : record.fields[name] ?? .null
                if k > 0 { buffer.append(0x09) }
                if let p = CopyText.append(value, as: types[k], field: name, to: &buffer, scratch: &scratch) {
                    problem = p
                    break
                }
            }
            if let problem {
                buffer.removeSubrange(mark...)
                if deadLetters { letters.append((record, problem)) }
                continue
            }
            buffer.append(0x0A)
            good.append(record)
        }
        guard !good.isEmpty else { return [] }
        do {
            try pg.execute("SAVEPOINT sluice_run", doing: "writing to \(qualifiedTable)")
            try copyBuffer(names: names)
            try pg.execute("RELEASE SAVEPOINT sluice_run", doing: "writing to \(qualifiedTable)")
            return good
        } catch let error as PostgresError where !error.isConnectionLost && error.isAboutTheData && good.count > 1 {
            try pg.execute("ROLLBACK TO SAVEPOINT sluice_run", doing: "writing to \(qualifiedTable)")
            stagingColumns = nil
        } catch let error as PostgresError where !error.isConnectionLost && error.isAboutTheData {
            try pg.execute("ROLLBACK TO SAVEPOINT sluice_run", doing: "writing to \(qualifiedTable)")
            stagingColumns = nil
            if deadLetters { letters.append((good[0], "PostgreSQL refused the row for \(qualifiedTable): \(error.message)")) }
            return []
        }
        // The server refused the run: one record at a time finds the bad ones.
        var written: [Record] = []
        for record in good {
            written += try writeRun([record], names: names, deadLetters: deadLetters)
        }
        return written
    }

    /// Sends ``buffer`` with COPY into the table, or through the staging table for an upsert.
    private func copyBuffer(names: [String]) throws {
        let q = PostgresConnection.quoteIdentifier
        let list = names.map(q).joined(separator: ", ")
        let into = sink.key.isEmpty ? qualifiedTable : "pg_temp.\"_sluice_staging\""
        if !sink.key.isEmpty {
            if stagingColumns != names {
                try pg.execute("DROP TABLE IF EXISTS pg_temp.\"_sluice_staging\"", doing: "preparing the staging table")
                try pg.execute("CREATE TEMP TABLE \"_sluice_staging\" AS SELECT \(list) FROM \(qualifiedTable) WITH NO DATA",
                               doing: "preparing the staging table")
                try pg.execute("ALTER TABLE pg_temp.\"_sluice_staging\" ADD COLUMN \"_sluice_order\" bigserial",
                               doing: "preparing the staging table")
                stagingColumns = names
            } else {
                try pg.execute("TRUNCATE pg_temp.\"_sluice_staging\"", doing: "preparing the staging table")
                // TRUNCATE does not restart the ordering sequence; order only matters within a run.
            }
        }
        try pg.beginCopy("COPY \(into) (\(list)) FROM STDIN", doing: "copying rows into \(qualifiedTable)")
        do throws(PostgresError) {
            try pg.putCopyData(buffer, doing: "copying rows into \(qualifiedTable)")
        } catch {
            if !error.isConnectionLost { pg.abortCopy("sluice: \(error.message)") }
            throw error
        }
        try pg.endCopy(doing: "copying rows into \(qualifiedTable)")
        guard !sink.key.isEmpty else { return }
        let keyList = sink.key.map(q).joined(separator: ", ")
        let updates = names.filter { !sink.key.contains($0) }.map { "\(q($0)) = EXCLUDED.\(q($0))" }
        try pg.execute("""
            INSERT INTO \(qualifiedTable) (\(list))
            SELECT DISTINCT ON (\(keyList)) \(list) FROM pg_temp."_sluice_staging" ORDER BY \(keyList), "_sluice_order" DESC
            ON CONFLICT (\(keyList)) \(updates.isEmpty ? "DO NOTHING" : "DO UPDATE SET " + updates.joined(separator: ", "))
            """, doing: "upserting rows into \(qualifiedTable)")
    }

    // MARK: - Transactions and retries

    private func begin() throws {
        guard !inTransaction else { return }
        try pg.execute("BEGIN", doing: "starting a transaction on \(pg.displayURL)")
        inTransaction = true
    }

    /// Commits the open transaction with the ledger's new marks, then tells the ledger.
    private func commit() throws {
        guard inTransaction else { return }
        try withRetries("committing to \(qualifiedTable)") {
            guard self.inTransaction else { return }     // a lost COMMIT that had landed
            try self.storeMarks()
            self.committing = true
            try self.pg.execute("COMMIT", doing: "committing to \(self.qualifiedTable)")
            self.committing = false
            self.inTransaction = false
            self.retained.removeAll(keepingCapacity: true)
            self.context.ledger.committed()
        }
    }

    /// Set while COMMIT is in flight: if the connection drops then, the marks say whether it landed.
    private var committing = false

    /// Stores the ledger's new marks in the open transaction (marks only move forward).
    ///
    /// Fenced: each mark's row is locked and compared with what this writer knows was committed.
    /// When another process moved it meanwhile — in a cluster run, one that took over a unit
    /// whose lease this process lost while it hung — the rows of this transaction may repeat
    /// that process's, so nothing is committed and the run stops instead.
    private func storeMarks() throws {
        for (key, mark) in context.ledger.pendingMarks {
            let keyValues = [context.pipeline, target, key.source, key.input, key.route]
            let stored = try pg.execute("""
                SELECT epoch, "offset", count FROM \(qualifiedMarks)
                WHERE pipeline = $1 AND target = $2 AND source = $3 AND input = $4 AND route = $5 FOR UPDATE
                """, keyValues, doing: "locking the delivery marks in \(qualifiedMarks)")
            let known = context.ledger.committedMark(for: key)
            if stored.rowCount > 0 {
                let found = DeliveryLedger.Mark(epoch: Int64(stored.value(0, 0) ?? "") ?? 0,
                                                offset: Int64(stored.value(0, 1) ?? "") ?? 0,
                                                count: Int64(stored.value(0, 2) ?? "") ?? 0)
                if known.map({ found > $0 }) ?? true { throw fenced(key.input) }
            }
            let result = try pg.execute("""
                INSERT INTO \(qualifiedMarks) AS m (pipeline, target, source, input, route, epoch, "offset", count)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                ON CONFLICT (pipeline, target, source, input, route) DO UPDATE
                SET epoch = EXCLUDED.epoch, "offset" = EXCLUDED."offset", count = EXCLUDED.count
                WHERE (EXCLUDED.epoch, EXCLUDED."offset", EXCLUDED.count) > (m.epoch, m."offset", m.count)
                RETURNING (xmax = 0)
                """, keyValues + [String(mark.epoch), String(mark.offset), String(mark.count)],
                doing: "storing the delivery marks in \(qualifiedMarks)")
            // No row: a stored mark at or past ours. An update where there was no row a moment
            // ago: another process inserted it meanwhile. Either way someone else delivered it.
            if result.rowCount == 0 || (stored.rowCount == 0 && result.value(0, 0) != "t") { throw fenced(key.input) }
        }
    }

    /// The error of a fenced commit: the transaction is rolled back by the caller's failure.
    private func fenced(_ input: String) -> StageError {
        pg.rollback()
        inTransaction = false
        return fatal("""
            another process delivered records of '\(input)' to \(qualifiedTable) since this one read its delivery \
            marks (in a cluster run: this process lost its lease on the unit, and another took it over); \
            this transaction was rolled back, so nothing is written twice
            """)
    }

    /// Runs `body`; when the connection is lost, reconnects (pausing 0.5 s, 1 s, 2 s…), writes
    /// the open transaction's records again, and runs `body` again — up to `retries` times.
    private func withRetries(_ doing: String, _ body: () throws -> Void) throws {
        var attempt = 0
        var lastError: PostgresError?
        while true {
            do {
                if let lastError { try recover(after: lastError) }
                try body()
                return
            } catch let error as PostgresError where error.isConnectionLost {
                attempt += 1
                lastError = error
                guard attempt <= sink.retries else {
                    throw fatal("""
                        lost the connection to PostgreSQL (\(pg.displayURL)) while \(doing), and \(sink.retries) \
                        reconnection\(sink.retries == 1 ? "" : "s") failed: \(error); the rows committed before are kept, \
                        the open transaction was rolled back by the server, and the next run writes the rest
                        """)
                }
                let pause = sink.retryPause * Double(1 << min(attempt - 1, 6))
                context.logger.warning("lost the connection to PostgreSQL while \(doing) (\(error)); reconnecting in \(pause) s (try \(attempt) of \(sink.retries))")
                Thread.sleep(forTimeInterval: pause)
            } catch let error as PostgresError {
                throw fatal("\(error)")
            }
        }
    }

    /// After a lost connection: reconnect, find out whether a COMMIT in flight landed, and write
    /// the open transaction's records again in a new one.
    private func recover(after error: PostgresError) throws {
        try pg.reconnect()
        stagingColumns = nil
        _ = try loadColumns()
        if committing {
            committing = false
            let pending = context.ledger.pendingMarks
            let saved = try savedMarks(Array(pending.keys))
            if !pending.isEmpty && pending.allSatisfy({ key, mark in saved[key].map { mark <= $0 } ?? false }) {
                // The COMMIT landed before the connection went.
                context.logger.info("the commit interrupted by the lost connection had landed")
                inTransaction = false
                retained.removeAll(keepingCapacity: true)
                context.ledger.committed()
                return
            }
        }
        guard inTransaction else { return }
        inTransaction = false
        try begin()
        let again = retained
        retained = try writeRecords(again, deadLetters: false)
        if retained.count < again.count {
            context.logger.warning("\(again.count - retained.count) record(s) written before the lost connection were refused when written again")
        }
        context.logger.info("wrote the \(retained.count) record(s) of the lost transaction again")
    }

    func flush() throws {
        guard !partialBatch else { throw fatal("cannot commit to \(qualifiedTable): the last batch was not fully written") }
        try commit()
    }

    func close() throws {
        guard !closed else { return }
        closed = true
        defer { pg.close() }
        if partialBatch {
            pg.rollback()
        } else {
            try commit()
        }
    }
}
