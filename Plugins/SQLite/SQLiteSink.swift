import CSQLite
import Foundation
import SluiceCore

/// The `sqlite` sink: writes records as rows of one table, creating and widening the table
/// as fields appear.
///
/// - The table is created from the first batch: a column per field, in order of first
///   appearance, typed `INTEGER` (integers and booleans, stored 0/1), `REAL` (doubles, or a
///   mix of doubles and integers), `TEXT` (strings, and arrays and objects stored as compact
///   JSON text, or any mix with strings). A field that is only `null` in the first batch gets
///   a column with no declared type (it stores any value as given).
/// - A field that appears later is added with `ALTER TABLE … ADD COLUMN`, typed from the
///   values of that batch. An existing table is used as it is, with missing columns added.
///   Column names are matched as SQLite does, ignoring the case of ASCII letters.
/// - Later values of another kind are stored under SQLite's type affinity rules (an integer
///   in a `REAL` column reads back as a double, a number in a `TEXT` column as text) — except
///   where that would change the text: a string such as `"007"`, `"1e3"` or `"1.50"` bound for
///   an `INTEGER`/`REAL`/`NUMERIC` column (SQLite would store 7, 1000, 1.5) is a dead letter
///   naming the field, never silently altered.
/// - `key` (one field or several) makes writes upserts: `INSERT … ON CONFLICT (key) DO UPDATE`
///   sets the fields the record has and keeps the other columns. A new table gets the key as
///   its `PRIMARY KEY`; an existing table gets a unique index on it when it has none. A
///   record without a key field (or with a null one) is a dead letter naming the field.
/// - `fts` keeps an FTS5 index `<table>_fts` (external content, rowids of the table) in step
///   through insert, update and delete triggers, so it stays right under upserts and under
///   other programs' inserts, updates and deletes (not under their `INSERT OR REPLACE`, which
///   SQLite runs without delete triggers; the sink's own `on_conflict: replace` deletes the old
///   row first). An index with other columns is rebuilt. The rows the sink itself inserts are
///   indexed 500 at a time and at each commit, one statement each (row by row, FTS5 made a
///   segment of every row):
///   the insert trigger is dropped inside the sink's transaction and created again before its
///   COMMIT, so other connections always see it, but each commit changes the schema and they
///   prepare their statements again.
/// - `indexes` creates an index per entry: a field, or a list of fields for one composite index.
/// - SQLite's page cache starts at its default (2,000 KiB) and, once the table's indexes (the
///   key's and those of `indexes`) are a quarter larger than that, grows to hold them, up to
///   16 MiB: keys in no order otherwise read an index page back from the file for nearly every
///   row (`SQLiteSinkWriter`'s `growCacheForIndexes`). A `cache` option fixes it instead.
/// - Rows are written in transactions (`BEGIN IMMEDIATE`) committed after the batch that
///   brings them to `batch_size` rows (never in the middle of a batch) and at every flush,
///   with `synchronous=NORMAL` and a busy timeout. Prepared statements are reused, one per set
///   of fields, and prepared again after a schema change.
/// - `journal` chooses how SQLite journals the writes. A rollback journal on a new table writes
///   each new page once (only pages that existed before the transaction go to the journal);
///   WAL writes each page twice (to the `-wal` file, then to the database at checkpoint,
///   reading it back) but lets readers read while the sink commits and never makes the sink
///   wait for a reader. `auto` (the default) takes the rollback journal while the sink fills a
///   database it has just created (an empty file: nobody reads it yet) and leaves it in WAL
///   mode when the writer closes; a database that has content is written in WAL mode. `wal`
///   always uses WAL (as before this option existed); `delete` always uses the rollback
///   journal (readers then wait while a transaction commits or spills to the file, and the
///   sink waits for readers to finish before it can commit).
///   Measured with the raw C API (`Benchmarks/c/sqlite_limit.c`, 200,000 keyed rows of 1.75 KB,
///   10,000-row transactions, upserts; CPU seconds, the machine's disk too busy for wall
///   times): rollback journal 2.7 s at 16/32 KiB pages, 3.0 s at 4 KiB, 4.0 s at 64 KiB;
///   WAL 3.4 s at 4 KiB, 4.7 s at 64 KiB; block writes counted by the kernel: 460–480 MB with
///   the rollback journal, 770–940 MB with WAL (the data is 350 MB).
/// - A database the sink creates gets 32 KiB pages in every mode (SQLite fixes the page size
///   when the first table is made): fewer, larger writes than the default 4 KiB, without the
///   system time 64 KiB pages cost with SQLite's default 2 MB cache, and small enough that a
///   later small upsert in WAL mode does not copy much more than it changes.
/// - Every identifier is quoted (`"a""b"`); field names never reach SQL unquoted.
/// - A record SQLite refuses (a constraint of an existing table, a key of the wrong type for
///   an `INTEGER PRIMARY KEY`, a value too big), a record with no fields, and a record whose
///   field names differ only in case are dead letters; the others go on.
///
/// Exactly once: the sink keeps a bookkeeping table `_sluice_delivered` in the same database,
///
///     _sluice_delivered(pipeline TEXT, target TEXT, source TEXT, input TEXT, route TEXT,
///                       epoch INTEGER, offset INTEGER, count INTEGER,
///                       PRIMARY KEY(pipeline, target, source, input, route))
///
/// one row per pipeline (the config file's name), target table, source stage, source input (a
/// file, a table) and route through the graph, holding the position of the last record written
/// from that input: its input version (`epoch`), its place in it (`offset`: a byte offset, a
/// rowid, an ordinal) and how many records at that place were written (`count`, for a rule
/// that makes several records of one input record). The rows are updated in the same
/// transaction as the data, so after a crash (even `kill -9`) the re-run, which reads again
/// from the sources' last checkpoint, skips every record at or below these marks: each record
/// is written exactly once, with or without a `key`. A record that went to the dead letters
/// counts as done (it is not tried again). Marks only move forward. The table is created when
/// the sink opens; deleting its rows for a pipeline makes the next run write again whatever
/// its sources read (`run --full` starts new input versions, which are written in any case).
///
/// That holds when the records of one input reach the sink in the same order, and as the same
/// records, on every run: the transforms between source and sink are deterministic (the same
/// input gives the same output) and keep order (`ordered: true`, the default, when
/// `workers > 1`). Records without a position (standard input) are always written.
public struct SQLiteSink: Sink, ConfiguredStage {
    /// Shares the database through SQLite's locks: other stages that do (sqlite sources and
    /// sinks on other tables) may use it too; a plain reader or writer of the file may not.
    public var resources: [StageResource] { [.database(path, writes: true)] }
    /// The options of a `sqlite` sink.
    public struct Configuration: SinkConfiguration {
        /// The type name in configs.
        public static let type = "sqlite"
        /// One line for `sluice stages`.
        public static let summary = "Writes records to an SQLite table (created and widened from the fields; upserts, FTS5, indexes)."
        /// An entry for `sluice stages sqlite`.
        public static let example = """
            type: sqlite
            inputs: articles
            path: out/news.db
            table: articles
            key: id
            fts: [title, body]
            indexes: [published, [section, published]]
            """
        /// Every option.
        public static let options: [ConfigOption<Self>] = [
            .init("path", \.path, .path, required: true, doc: "the database file (created with its folder when missing)"),
            .init("table", \.table, required: true, notEmpty: true, doc: "the table to write (created from the records' fields)"),
            .init("key", \.key, .stringOrList, doc: "field or fields identifying a record: writes become upserts"),
            .init("fts", \.fts, doc: "fields kept in an FTS5 full-text index <table>_fts"),
            .init("fts_tokenizer", \.ftsTokenizer,
                  doc: "how the index splits text: unicode61 (words), porter (English stems), trigram (any 3 characters: Chinese, Japanese, substrings)"),
            .init("indexes", \.indexes, doc: "indexes to create: a field, or a list whose items are fields or lists of fields (composite)"),
            .init("batch_size", \.batchSize, range: OptionRange(1...),
                  doc: "rows per transaction: committed after the batch that reaches it (a flush, and a busy sink every second, also commit; fewer let other writers of the database in sooner)"),
            .init("busy_timeout", \.busyTimeout, range: OptionRange(0...), doc: "milliseconds to wait for a database locked by another writer"),
            .init("cache", \.cache, .size, range: OptionRange((64 << 10)...),
                  doc: "SQLite's page cache for this sink, fixed (default: 2000KiB, grown to hold the table's indexes as they grow, up to 16MiB)"),
            .init("on_conflict", \.onConflict,
                  doc: "with a key, a record whose key is already there: update (set the columns it has, keep the others), replace (the row becomes the record; columns it lacks are emptied), ignore (keep the old row)"),
            .init("mode", \.mode,
                  doc: "append: rows accumulate over runs; replace: the table is emptied and rebuilt by every run (every run of the pipeline then reads all of its input)"),
            .init("journal", \.journal,
                  doc: "auto: a rollback journal while filling a database the sink creates (pages written once, not twice), then WAL; wal: always WAL (readers never wait); delete: always a rollback journal"),
        ]

        /// How the full-text index splits text.
        public enum Tokenizer: String, Sendable, CaseIterable, OptionChoice {
            /// Words (Unicode 6.1 rules).
            case unicode61
            /// English stems over unicode61 words.
            case porter
            /// Any three characters: Chinese, Japanese, substrings.
            case trigram
        }

        /// `path`.
        public var path = ""
        /// `table`.
        public var table = ""
        /// `key`.
        public var key: [String] = []
        /// `fts`.
        public var fts: [String] = []
        /// `fts_tokenizer`.
        public var ftsTokenizer = Tokenizer.unicode61
        /// `indexes`.
        public var indexes = FieldGroups()
        /// `batch_size`: 100,000 rows. A busy sink commits every second anyway (the runtime's
        /// commit interval), so this bounds only fast runs, where each commit costs a rewrite of
        /// every index page the transaction touched: keys in no order touch nearly all of them.
        /// Measured (`make bench` job 1, keys in no order, same minutes): 200,000 rows 1.43–1.68 s
        /// with 10,000-row transactions, 1.01–1.51 s with 100,000; 1,000,000 rows 18.5 s and,
        /// with commits only every second, 12.7 s.
        public var batchSize = 100_000
        /// `busy_timeout`.
        public var busyTimeout = 5_000
        /// `cache`: nil grows it from ``SQLiteSink/defaultCache`` to hold the table's indexes.
        public var cache: Int?
        /// `on_conflict`.
        public var onConflict = OnConflict.update
        /// `mode`.
        public var mode = Mode.append
        /// `journal`.
        public var journal = Journal.auto

        /// Every option at its default.
        public init() {}

        /// Checks the names (table, key and index fields) and builds the sink.
        public func makeSink(_ context: BuildContext) throws -> any Sink { try SQLiteSink(self, context) }
    }

    /// What a keyed sink does with a record whose key is already in the table.
    ///
    /// `update` is the default: a row often gathers fields from more than one record (a rule
    /// adds `language` later, another pipeline adds `summary`), and an update that emptied them
    /// would lose data silently. `replace` is for tables that must mirror the latest record
    /// exactly.
    public enum OnConflict: String, Sendable, CaseIterable, OptionChoice {
        /// Set the record's columns; keep the row's other columns.
        case update
        /// The row becomes the record (`INSERT OR REPLACE`: columns it lacks are NULL).
        case replace
        /// Keep the existing row.
        case ignore
    }

    /// Whether the table keeps the rows of earlier runs.
    ///
    /// `replace` rebuilds the table on every full run — and the command line makes every run of
    /// a pipeline with such a sink a full one; `replay` only adds rows: the sink empties it (in the transaction of its
    /// first commit, so a run that fails before committing anything leaves the old rows) and the
    /// pipeline reads all of its input (``rebuildsEachRun``: the command line makes every run a
    /// full one; an incremental run would leave only the new records). A full run that was
    /// interrupted and is continued does not empty the table again: the rows it committed stay,
    /// and the delivery marks keep them from being written twice.
    public enum Mode: String, Sendable, CaseIterable, OptionChoice {
        /// Rows accumulate over runs (the default).
        case append
        /// Every run rebuilds the table.
        case replace
    }

    /// How the sink journals its writes (see ``SQLiteSink``).
    public enum Journal: String, Sendable, CaseIterable, OptionChoice {
        /// A rollback journal for a database the sink creates, WAL for one that has content.
        case auto
        /// Always WAL: readers read while the sink commits.
        case wal
        /// Always a rollback journal (`journal_mode=DELETE`).
        case delete
    }

    /// The page size given to a database the sink creates (see ``SQLiteSink``).
    public static let newDatabasePageSize = 32_768

    /// The database file.
    public let path: String
    /// The table written.
    public let table: String
    /// The key fields (empty: plain inserts).
    public let key: [String]
    /// The fields kept in the full-text index (empty: none).
    public let fts: [String]
    /// The indexes to create, each a list of fields.
    public let indexes: [[String]]
    /// Rows per transaction.
    public let batchSize: Int
    /// Milliseconds to wait for a lock.
    public let busyTimeout: Int
    /// Bytes of SQLite page cache (`PRAGMA cache_size`), fixed; nil: ``defaultCache``, grown to
    /// hold the table's indexes, up to ``grownCacheLimit``.
    public let cache: Int?
    /// The page cache a sink starts with when `cache` is not set: SQLite's own default.
    public static let defaultCache = 2_000 << 10
    /// The most the page cache grows to when `cache` is not set.
    public static let grownCacheLimit = 16 << 20
    /// The FTS5 tokenizer: `unicode61`, `porter` or `trigram`.
    public let ftsTokenizer: String
    /// How writes are journaled.
    public let journal: Journal
    /// What a keyed write does when the key is there.
    public let onConflict: OnConflict
    /// Whether the table keeps the rows of earlier runs.
    public let mode: Mode

    /// A `mode: replace` sink needs every run to read all of the input.
    public var rebuildsEachRun: Bool { mode == .replace }

    /// Creates a sink directly.
    public init(path: String, table: String, key: [String] = [], fts: [String] = [], indexes: [[String]] = [],
                batchSize: Int = 100_000, busyTimeout: Int = 5_000, cache: Int? = nil,
                ftsTokenizer: String = "unicode61",
                journal: Journal = .auto, onConflict: OnConflict = .update, mode: Mode = .append) {
        self.cache = cache.map { max(64 << 10, $0) }
        self.ftsTokenizer = ftsTokenizer
        self.mode = mode
        self.onConflict = onConflict
        self.path = path
        self.table = table
        self.key = key
        self.fts = fts
        self.indexes = indexes
        self.batchSize = max(1, batchSize)
        self.busyTimeout = max(0, busyTimeout)
        self.journal = journal
    }

    /// Builds the sink from its configuration; throws a ``ConfigError`` for a table name the
    /// sink cannot use, a repeated key field or a malformed index.
    public init(_ configuration: Configuration, _ context: BuildContext) throws(ConfigError) {
        typealias C = Configuration
        let table = configuration.table
        guard !table.utf8.contains(0) else { throw context.error(\C.table, "option 'table' must not contain a NUL character") }
        guard identifierKey(table) != identifierKey(SQLiteSinkWriter.marksTable) else {
            throw context.error(\C.table, "option 'table' cannot be '\(table)': the sink keeps its delivery marks there; choose another table")
        }
        let key = configuration.key
        if let problem = Self.fieldListProblem(key) { throw context.error(\C.key, "option 'key' \(problem)") }
        let fts = configuration.fts
        if let problem = Self.fieldListProblem(fts) { throw context.error(\C.fts, "option 'fts' \(problem)") }
        if let reserved = fts.first(where: { ["rank", "rowid"].contains(identifierKey($0)) }) {
            throw context.error(\C.fts, "option 'fts' cannot index a field named '\(reserved)' (FTS5 reserves 'rank' and 'rowid')")
        }
        var indexes: [[String]] = []
        for (n, fields) in configuration.indexes.groups.enumerated() {
            if let problem = Self.fieldListProblem(fields) { throw context.error(\C.indexes, "option 'indexes' item \(n + 1) \(problem)") }
            // `[a_b]` and `[a, b]` would share a name, and CREATE INDEX IF NOT EXISTS would
            // silently skip the second.
            if let same = indexes.firstIndex(where: { Self.indexName(table: table, fields: $0) == Self.indexName(table: table, fields: fields) }) {
                throw context.error(\C.indexes, "option 'indexes' items \(same + 1) and \(n + 1) would both be named '\(Self.indexName(table: table, fields: fields))'; drop one")
            }
            indexes.append(fields)
        }
        self.init(path: configuration.path, table: table, key: key, fts: fts, indexes: indexes,
                  batchSize: configuration.batchSize, busyTimeout: configuration.busyTimeout, cache: configuration.cache,
                  ftsTokenizer: configuration.ftsTokenizer.rawValue, journal: configuration.journal,
                  onConflict: configuration.onConflict, mode: configuration.mode)
    }

    /// The `tokenize` argument of the FTS5 table for ``ftsTokenizer`` ("" for the default).
    var tokenizeClause: String {
        switch ftsTokenizer {
        case "porter": return ", tokenize='porter unicode61'"
        case "trigram": return ", tokenize='trigram'"
        default: return ""
        }
    }

    /// The name of the index on `fields`: `idx_<table>_<field>_<field>…` (always quoted in SQL).
    static func indexName(table: String, fields: [String]) -> String {
        "idx_\(table)_\(fields.joined(separator: "_"))"
    }

    /// Why a list of field names is unusable, or `nil`.
    static func fieldListProblem(_ fields: [String]) -> String? {
        if fields.contains(where: \.isEmpty) { return "must not name an empty field" }
        if fields.contains(where: { $0.utf8.contains(0) }) { return "must not contain a NUL character" }
        var seen: Set<String> = []
        for field in fields where !seen.insert(identifierKey(field)).inserted {
            return "names '\(field)' twice (SQLite column names ignore case)"
        }
        return nil
    }

    /// Opens the database (creating it and its folder when missing) and sets it up for writing.
    public func makeWriter(_ context: StageContext) throws -> any SinkWriter {
        try SQLiteSinkWriter(sink: self, context: context)
    }
}

/// The SQL type a column gets from the values seen for it.
enum ColumnKind {
    case none, integer, real, text

    mutating func merge(_ value: Value) {
        switch value {
        case .null: break
        case .bool, .int: if self == .none { self = .integer }
        case .double: if self == .none || self == .integer { self = .real }
        case .string, .array, .object: self = .text
        }
    }

    /// The declared type, or empty for none.
    var sqlType: String {
        switch self {
        case .none: return ""
        case .integer: return "INTEGER"
        case .real: return "REAL"
        case .text: return "TEXT"
        }
    }
}

/// The working half of ``SQLiteSink``, on the sink's thread.
final class SQLiteSinkWriter: SinkWriter, DeliveryMarkStore {
    /// The bookkeeping table of delivery marks (see ``SQLiteSink``).
    static let marksTable = "_sluice_delivered"

    private let sink: SQLiteSink
    private let context: StageContext
    let db: Database
    private let quotedTable: String
    /// The table's columns: identifier key (ASCII lower case) → name.
    private var columns: [String: String] = [:]
    /// The columns whose affinity turns numeric-looking text into numbers, by identifier key.
    private var numericColumns: [String: NumericAffinity] = [:]
    private var tableReady = false
    /// What is worked out once per record shape (field names in order): at most 256, dropped
    /// when a column is added.
    private var shapes: [[String]: RecordShape] = [:]
    /// The shape of the record written before (records of a batch mostly share one).
    private var lastShape: RecordShape?
    private var inTransaction = false
    private var pending = 0
    private var scratch: [UInt8] = []
    private var closed = false
    /// The upsert of one delivery mark, prepared once.
    private var markStatement: Statement?
    /// Reads one committed mark (``committedMarks(for:)``).
    private var markLookup: Statement?
    /// Whether this writer uses a rollback journal (see ``SQLiteSink/Journal``).
    private var rollbackJournal = false
    /// Set while a batch is being written: if `write` stops in the middle (a fatal error), the
    /// open transaction holds part of a batch whose marks cover all of it, so it is rolled back.
    private var partialBatch = false
    /// `mode: replace`: the table was emptied in the open transaction, which nothing has
    /// committed yet (an abort before the first commit rolls it back: the old rows stay).
    private var emptiedUncommitted = false
    /// Whether the open transaction indexes its new rows at its commit (``deferFullTextInserts()``).
    private var ftsDeferred = false
    /// The SQL of the FTS5 index (used only when `fts` is set).
    private let fullText: FullTextIndexSQL
    /// SQLite's page cache now, in bytes (`PRAGMA cache_size`).
    private var cacheBytes = SQLiteSink.defaultCache
    /// Whether the cache may still grow (see ``growCacheForIndexes()``).
    private var cacheGrows = false
    /// Rows this writer has written (inserted or updated) in all.
    private var rowsWritten = 0
    /// The count of ``rowsWritten`` at which the indexes are measured next (see
    /// ``growCacheForIndexes()``).
    private var nextCacheCheck = 2_000
    /// The database's page size in bytes.
    private var pageSize = 4_096

    init(sink: SQLiteSink, context: StageContext) throws {
        self.sink = sink
        self.context = context
        self.quotedTable = quoteIdentifier(sink.table)
        self.fullText = FullTextIndexSQL(table: sink.table, fields: sink.fts, tokenizeClause: sink.tokenizeClause)
        let folder = (sink.path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        do throws(SQLiteError) {
            db = try Database(path: sink.path, readOnly: false, create: true)
        } catch {
            throw StageError(stage: context.name, message: "cannot open the database \(sink.path): \(error.message)")
        }
        do throws(SQLiteError) {
            try db.execute("PRAGMA busy_timeout = \(sink.busyTimeout)")
            // An empty file (just created): the page size can still be chosen, and nobody reads it yet.
            let created = try db.strings("PRAGMA page_count").first == "0"
            if created { try db.execute("PRAGMA page_size = \(SQLiteSink.newDatabasePageSize)") }
            switch sink.journal {
            case .auto: rollbackJournal = created
            case .wal: rollbackJournal = false
            case .delete: rollbackJournal = true
            }
            _ = try db.strings("PRAGMA journal_mode = \(rollbackJournal ? "DELETE" : "WAL")")
            try db.execute("PRAGMA synchronous = NORMAL")
            // Negative: KiB, whatever the page size. Measured (make bench data, release): job 3
            // (text_articles → sqlite + FTS5) peaks at 71 MB with the default 2,000 KiB and
            // 55 MB with 1 MiB at the same speed; job 1 (200,000 upserts) goes 58 → 43 MB but
            // takes ~25 % longer (dirty pages spill mid-transaction). Hence an option, not a
            // new default. Without the option the cache grows with the table's indexes
            // (``growCacheForIndexes()``).
            cacheBytes = sink.cache ?? SQLiteSink.defaultCache
            cacheGrows = sink.cache == nil
            try db.execute("PRAGMA cache_size = -\(cacheBytes / 1024)")
            pageSize = Int(try db.strings("PRAGMA page_size").first ?? "") ?? 4_096
            _ = try db.strings("SELECT count(*) FROM sqlite_master")
        } catch {
            if error.primaryCode == SQLITE_NOTADB {
                throw StageError(stage: context.name, message: "\(sink.path) is not an SQLite database (\(error.message))")
            }
            throw StageError(stage: context.name, message: "cannot open the database \(sink.path): \(error.message)")
        }
        guard identifierKey(sink.table) != identifierKey(Self.marksTable) else {
            throw fatal("cannot write table '\(sink.table)' in \(sink.path): the sink keeps its delivery marks there; choose another table")
        }
        try loadMarks()
        do {
            if try loadTable() {
                try begin()
                try setUpTable()
                try commit()
                if sink.mode == .replace && context.fullRun && !context.continuingFullRun {
                    // Rebuilt by this run: emptied in the transaction of the first commit.
                    try begin()
                    try db.execute("DELETE FROM \(quotedTable)")
                    emptiedUncommitted = true
                }
            }
        } catch let error as SQLiteError {
            throw fatal("cannot set up table '\(sink.table)' in \(sink.path): \(error.message)")
        }
    }

    /// Creates the bookkeeping table when missing, prepares the upsert and the lookup of a mark,
    /// and has the ledger read the marks this pipeline committed to this table as it meets their
    /// inputs (none the first time: exactly-once is on all the same). Looked up, not loaded: a
    /// table filled from a million article files holds a million marks.
    private func loadMarks() throws {
        let marks = quoteIdentifier(Self.marksTable)
        do throws(SQLiteError) {
            try db.execute("""
                CREATE TABLE IF NOT EXISTS \(marks) (
                    pipeline TEXT NOT NULL, target TEXT NOT NULL, source TEXT NOT NULL, input TEXT NOT NULL,
                    route TEXT NOT NULL, epoch INTEGER NOT NULL, "offset" INTEGER NOT NULL, count INTEGER NOT NULL,
                    PRIMARY KEY (pipeline, target, source, input, route)) WITHOUT ROWID
                """)
            markLookup = try db.prepare("""
                SELECT epoch, "offset", count FROM \(marks)
                WHERE pipeline = ?1 AND target = ?2 AND source = ?3 AND input = ?4 AND route = ?5
                """, persistent: true)
            // Marks only move forward: a run that reads again records committed before (and
            // skips them) must not pull a mark back.
            markStatement = try db.prepare("""
                INSERT INTO \(marks) (pipeline, target, source, input, route, epoch, "offset", count)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                ON CONFLICT (pipeline, target, source, input, route) DO UPDATE
                SET epoch = excluded.epoch, "offset" = excluded."offset", count = excluded.count
                WHERE (excluded.epoch, excluded."offset", excluded.count) > (epoch, "offset", count)
                """, persistent: true)
        } catch {
            throw fatal("cannot set up the delivery marks (table \(Self.marksTable)) in \(sink.path): \(error.message)")
        }
        context.ledger.load(from: self)
    }

    /// The marks of `keys` this pipeline committed to this table (``DeliveryMarkStore``): one
    /// primary-key lookup each, in the open transaction if there is one.
    func committedMarks(for keys: [DeliveryLedger.Key]) throws -> [DeliveryLedger.Key: DeliveryLedger.Mark] {
        guard let statement = markLookup else {
            throw fatal("cannot read the delivery marks in \(sink.path): the sink is closed")
        }
        var found: [DeliveryLedger.Key: DeliveryLedger.Mark] = [:]
        do throws(SQLiteError) {
            try statement.bind(.string(context.pipeline), at: 1)
            try statement.bind(.string(sink.table), at: 2)
            for key in keys {
                try statement.bind(.string(key.source), at: 3, scratch: &scratch)
                try statement.bind(.string(key.input), at: 4, scratch: &scratch)
                try statement.bind(.string(key.route), at: 5, scratch: &scratch)
                defer { statement.reset() }
                if try statement.step() {
                    found[key] = DeliveryLedger.Mark(epoch: statement.int64(at: 0), offset: statement.int64(at: 1),
                                                     count: statement.int64(at: 2))
                }
            }
        } catch {
            statement.reset()
            throw fatal("cannot read the delivery marks in \(sink.path): \(error.message)")
        }
        return found
    }

    /// Stores the ledger's new marks in the open transaction.
    private func storeMarks() throws {
        let pending = context.ledger.pendingMarks
        guard !pending.isEmpty, let statement = markStatement else { return }
        do throws(SQLiteError) {
            try statement.bind(.string(context.pipeline), at: 1)
            try statement.bind(.string(sink.table), at: 2)
            for (key, mark) in pending {
                try statement.bind(.string(key.source), at: 3, scratch: &scratch)
                try statement.bind(.string(key.input), at: 4, scratch: &scratch)
                try statement.bind(.string(key.route), at: 5, scratch: &scratch)
                try statement.bind(.int(mark.epoch), at: 6, scratch: &scratch)
                try statement.bind(.int(mark.offset), at: 7, scratch: &scratch)
                try statement.bind(.int(mark.count), at: 8, scratch: &scratch)
                defer { statement.reset() }
                try statement.step()
            }
        } catch {
            statement.reset()
            throw fatal("cannot store the delivery marks in \(sink.path): \(error.message)")
        }
    }

    deinit {
        forgetShapes()
    }

    /// Drops every shape and its prepared statement (after a schema change, and at the end).
    private func forgetShapes() {
        shapes.removeAll()
        lastShape = nil
    }

    private func fatal(_ message: String) -> StageError {
        StageError(stage: context.name, message: message)
    }

    // MARK: - Schema

    /// Reads the table's columns; `false` when there is no such table yet.
    private func loadTable() throws -> Bool {
        let kinds = try db.strings("SELECT type FROM sqlite_master WHERE name = ?1 COLLATE NOCASE AND type IN ('table', 'view')",
                                   [.string(sink.table)])
        guard let kind = kinds.first else { return false }
        guard kind == "table" else { throw fatal("'\(sink.table)' in \(sink.path) is a \(kind), not a table") }
        let names = try db.strings("SELECT name FROM pragma_table_info(?1) ORDER BY cid", [.string(sink.table)])
        let types = try db.strings("SELECT type FROM pragma_table_info(?1) ORDER BY cid", [.string(sink.table)])
        for (name, type) in zip(names, types) {
            columns[identifierKey(name)] = name
            numericColumns[identifierKey(name)] = Self.numericAffinity(type)
        }
        return true
    }

    /// Creates the table from the fields of the first batch.
    private func createTable(from batch: [Record]) throws {
        var order: [String] = []
        var kinds: [String: ColumnKind] = [:]
        for record in batch {
            for (name, value) in record.fields where !name.utf8.contains(0) {
                let id = identifierKey(name)
                if kinds[id] == nil {
                    order.append(name)
                    kinds[id] = ColumnKind.none
                }
                kinds[id]?.merge(value)
            }
        }
        for name in sink.key + sink.indexes.flatMap({ $0 }) where kinds[identifierKey(name)] == nil {
            order.append(name)
            kinds[identifierKey(name)] = ColumnKind.none
        }
        for name in sink.fts {
            let id = identifierKey(name)
            if kinds[id] == nil { order.append(name) }
            if kinds[id] == nil || kinds[id] == ColumnKind.none { kinds[id] = .text }
        }
        var definitions = order.map { name -> String in
            let type = kinds[identifierKey(name)]?.sqlType ?? ""
            numericColumns[identifierKey(name)] = Self.numericAffinity(type)
            return type.isEmpty ? quoteIdentifier(name) : "\(quoteIdentifier(name)) \(type)"
        }
        if !sink.key.isEmpty {
            definitions.append("PRIMARY KEY (\(sink.key.map(quoteIdentifier).joined(separator: ", ")))")
        }
        do throws(SQLiteError) {
            try db.execute("CREATE TABLE IF NOT EXISTS \(quotedTable) (\(definitions.joined(separator: ", ")))")
        } catch {
            throw fatal("cannot create table '\(sink.table)' in \(sink.path): \(error.message)")
        }
        _ = try loadTable()
        do {
            try setUpTable()
        } catch let error as SQLiteError {
            throw fatal("cannot set up table '\(sink.table)' in \(sink.path): \(error.message)")
        }
    }

    /// Adds the key, FTS and index columns, the key's unique index, the FTS index and its
    /// triggers, and the configured indexes.
    private func setUpTable() throws {
        for name in sink.key + sink.indexes.flatMap({ $0 }) where columns[identifierKey(name)] == nil {
            try addColumn(name, kind: .none)
        }
        for name in sink.fts where columns[identifierKey(name)] == nil {
            try addColumn(name, kind: .text)
        }
        if !sink.key.isEmpty { try ensureUniqueKey() }
        if !sink.fts.isEmpty { try ensureFullTextIndex() }
        for fields in sink.indexes {
            let name = SQLiteSink.indexName(table: sink.table, fields: fields)
            try db.execute("CREATE INDEX IF NOT EXISTS \(quoteIdentifier(name)) ON \(quotedTable) (\(fields.map(quoteIdentifier).joined(separator: ", ")))")
        }
        tableReady = true
    }

    private func addColumn(_ name: String, kind: ColumnKind) throws {
        let type = kind.sqlType
        try db.execute("ALTER TABLE \(quotedTable) ADD COLUMN \(quoteIdentifier(name))\(type.isEmpty ? "" : " " + type)")
        columns[identifierKey(name)] = name
        numericColumns[identifierKey(name)] = Self.numericAffinity(type)
        forgetShapes()
    }

    /// Makes sure an upsert on the key has a PRIMARY KEY or UNIQUE constraint to use.
    private func ensureUniqueKey() throws {
        let keyList = sink.key.map(quoteIdentifier).joined(separator: ", ")
        let nulls = Array(repeating: "NULL", count: sink.key.count).joined(separator: ", ")
        if (try? db.prepare("INSERT INTO \(quotedTable) (\(keyList)) VALUES (\(nulls)) ON CONFLICT (\(keyList)) DO NOTHING")) != nil {
            return
        }
        let index = quoteIdentifier("\(sink.table)_key")
        do throws(SQLiteError) {
            try db.execute("CREATE UNIQUE INDEX IF NOT EXISTS \(index) ON \(quotedTable) (\(keyList))")
        } catch {
            throw fatal("cannot use (\(sink.key.joined(separator: ", "))) as the key of table '\(sink.table)': \(error.message)")
        }
    }

    /// Creates (or rebuilds, when its columns changed) the FTS5 index and its triggers.
    private func ensureFullTextIndex() throws {
        let ftsName = fullText.name
        let existing = try db.strings("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
                                      [.string(ftsName)])
        if let sql = existing.first {
            guard sql.range(of: "fts5", options: .caseInsensitive) != nil else {
                throw fatal("table '\(ftsName)' in \(sink.path) exists and is not an FTS5 index; rename it or choose another table")
            }
            let current = try db.strings("SELECT name FROM pragma_table_info(?1)", [.string(ftsName)])
            var haveTriggers = true
            for trigger in fullText.triggers {
                let found = try db.strings("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name = ?1", [.string(trigger)])
                if found.isEmpty { haveTriggers = false }
            }
            // The tokenizer the index was made with is in its CREATE statement.
            let made = sql.range(of: "trigram", options: .caseInsensitive) != nil ? "trigram"
                : sql.range(of: "porter", options: .caseInsensitive) != nil ? "porter" : "unicode61"
            if current.map(identifierKey) == sink.fts.map(identifierKey) && haveTriggers && made == sink.ftsTokenizer { return }
            context.logger.info("rebuilding the full-text index \(ftsName) for fields \(sink.fts) (tokenizer \(sink.ftsTokenizer))")
            for trigger in fullText.triggers { try db.execute("DROP TRIGGER IF EXISTS \(quoteIdentifier(trigger))") }
            try db.execute("DROP TABLE \(quoteIdentifier(ftsName))")
        }
        try db.execute(fullText.create)
    }

    /// Makes the open transaction index the rows it inserts at its commit, in one statement,
    /// instead of row by row through the insert trigger.
    ///
    /// FTS5 writes its pending terms out as a new segment at every statement savepoint, and each
    /// row insert whose trigger writes the index opens one: row by row, every article became a
    /// segment of its own, merged again and again. Measured on the 10,000 bench articles: the
    /// sink's thread took 1.80 s with `fts: [title, body]` against 0.33 s without; the same rows
    /// through Python's sqlite3 (the same SQLite 3.40.1) took 2.10 s of CPU row by row and 0.79 s
    /// deferred.
    ///
    /// Inside the transaction the insert trigger is dropped and temporary triggers (this
    /// connection's only) note the new rowids; ``indexDeferredRows()`` indexes them and puts the
    /// trigger back before COMMIT, so no other connection ever sees the table without it, and a
    /// rollback puts it back too. A row inserted in this transaction that is then updated or
    /// deleted is indexed just before, so that the table's own update and delete triggers take
    /// out of the index exactly what is in it.
    private func deferFullTextInserts() throws(SQLiteError) {
        try db.execute(fullText.deferInserts)
        ftsDeferred = true
        insertsNotIndexed = 0
    }

    /// Indexes the rows the open transaction inserted and puts the insert trigger back
    /// (``deferFullTextInserts()``).
    private func indexDeferredRows() throws(SQLiteError) {
        guard ftsDeferred else { return }
        try db.execute(fullText.indexDeferred)
        ftsDeferred = false
    }

    /// Rows inserted since the open transaction began deferring or last indexed what it noted.
    private var insertsNotIndexed = 0

    /// How many inserted rows the open transaction notes before indexing them (the deferral goes
    /// on): indexing everything at COMMIT left a whole transaction's index work (up to
    /// `batch_size` rows) to the end of the input, done by the sink's thread alone after the
    /// source had finished; in steps it is done while the source reads on. Measured on the 10,000 bench
    /// articles (text_articles → sqlite with `fts: [title, body]`, `workers: 1`, 2 cores), wall
    /// time: all at COMMIT 2.29–2.63 s; every 250 rows 1.68 s; 500: 1.60–1.74 s; 1,000:
    /// 1.71–1.88 s; 2,000: 1.84–2.00 s. The CPU time stays the same (2.0–2.3 s user): FTS5 merges
    /// the extra segments as it goes.
    static let indexNotedEvery = 500

    /// Indexes the rows noted so far when there are ``indexNotedEvery`` of them.
    private func indexNotedRowsInSteps() throws(SQLiteError) {
        guard ftsDeferred, insertsNotIndexed >= Self.indexNotedEvery else { return }
        try db.execute(fullText.indexNoted)
        insertsNotIndexed = 0
    }

    // MARK: - Writing

    func write(_ batch: [Record]) throws {
        guard !batch.isEmpty else { return }
        // The ledger's marks cover the whole batch: commit only after it (never in the middle),
        // and roll back a batch left half written by an error.
        partialBatch = true
        do {
            try begin()
            if !tableReady { try createTable(from: batch) }
            if !sink.fts.isEmpty && !ftsDeferred { try deferFullTextInserts() }
        } catch let error as SQLiteError {
            throw fatal("cannot write to \(sink.path): \(error.message)")
        }
        var inserted = 0, updated = 0, unchanged = 0
        let keyed = !sink.key.isEmpty
        defer { context.countRows(inserted: inserted, updated: updated, unchanged: unchanged) }
        // Each record is read in place (`batch[position]`), not copied: a copy retains the
        // record's storage and strings, made on another thread (see ``DeliveryLedger/admit``).
        for position in batch.indices {
            if batch[position].fields.isEmpty {
                context.deadLetter(batch[position], error: "a record with no fields cannot be stored as a row")
                continue
            }
            // The shape's checks were made when it was first seen; per record, only what depends
            // on the values is looked at (a null key, text bound for a numeric column).
            let shape: RecordShape
            // `==` on the key arrays (measured, callgrind, 20,000 records of 7 fields:
            // `elementsEqual` over the OrderedSet was 14.9 M instructions, ~750 per record).
            if let last = lastShape, batch[position].fields.keys.elements == last.names {
                shape = last
            } else {
                shape = self.shape(batch[position].fields.keys.elements)
                lastShape = shape
            }
            if let problem = keyProblem(batch[position], shape) {
                context.deadLetter(batch[position], error: problem)
                continue
            }
            if let problem = shape.namesProblem {
                context.deadLetter(batch[position], error: problem)
                continue
            }
            let statement: Statement
            if let prepared = shape.statement {
                statement = prepared
            } else {
                do {
                    try addMissingColumns(shape.names, batch: batch, from: position)
                    statement = try prepareInsert(shape)
                } catch let error as SQLiteError where error.primaryCode == SQLITE_ERROR || error.isAboutTheRow {
                    context.deadLetter(batch[position], error: "cannot store the record in table '\(sink.table)': \(error.message)")
                    continue
                } catch let error as SQLiteError {
                    throw fatal("cannot write to \(sink.path): \(error.message)")
                }
            }
            if !shape.numeric.isEmpty, let problem = affinityProblem(batch[position], shape) {
                context.deadLetter(batch[position], error: problem)
                continue
            }
            // Bound (strings copied into the statement's own buffer, see ``Statement/withBound(_:scratch:_:)``) and stepped.
            let outcome: Result<Void, SQLiteError> = batch[position].fields.values.withUnsafeBufferPointer { values in
                do throws(SQLiteError) {
                    if replaceDeletesFirst { try deleteReplacedRow(values, shape) }
                    try statement.withBound(values, scratch: &scratch) { () throws(SQLiteError) in
                        // Inserted, updated or unchanged: SQLite counts a row an upsert left alone
                        // (`DO NOTHING`, or `DO UPDATE … WHERE` the row differs) as no change, and only
                        // an insert sets the last rowid (triggers restore it when they end).
                        if keyed { sqlite3_set_last_insert_rowid(db.handle, Int64.min) }
                        try statement.step()
                    }
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            statement.reset()
            switch outcome {
            case .success:
                if !keyed {
                    inserted += 1
                } else if sqlite3_changes(db.handle) == 0 {
                    unchanged += 1
                } else if sqlite3_last_insert_rowid(db.handle) != Int64.min {
                    inserted += 1
                } else {
                    updated += 1
                }
            case .failure(let error):
                guard error.isAboutTheRow else { throw fatal("cannot write to \(sink.path): \(error.message)") }
                context.deadLetter(batch[position], error: "cannot store the record in table '\(sink.table)': \(error.message)")
            }
            pending += 1
        }
        // A step of the index belongs to the batch: if it fails, the batch is rolled back with it.
        if ftsDeferred { insertsNotIndexed += inserted }
        rowsWritten += inserted + updated
        growCacheForIndexes()
        if pending < sink.batchSize {
            do {
                try indexNotedRowsInSteps()
            } catch {
                throw fatal("cannot write to \(sink.path): \(error.message)")
            }
        }
        partialBatch = false
        if pending >= sink.batchSize { try commit() }
    }

    /// Whether `on_conflict: replace` deletes the row with the record's key before inserting it.
    ///
    /// `INSERT OR REPLACE` deletes the row it replaces without firing delete triggers (unless
    /// `recursive_triggers` is on, which would also make a table's own self-updating triggers
    /// recurse): the FTS index kept the old text under a rowid that no longer exists, and a
    /// search found rows that were gone. A plain DELETE first fires the index's delete trigger.
    private var replaceDeletesFirst: Bool {
        sink.onConflict == .replace && !sink.key.isEmpty && !sink.fts.isEmpty
    }

    /// `DELETE FROM table WHERE key = ?…`, prepared on first use.
    private var replacedRowStatement: Statement?

    /// Deletes the row that has the key of the record whose values are `values`
    /// (``replaceDeletesFirst``).
    private func deleteReplacedRow(_ values: UnsafeBufferPointer<Value>, _ shape: RecordShape) throws(SQLiteError) {
        let statement: Statement
        if let prepared = replacedRowStatement {
            statement = prepared
        } else {
            let condition = sink.key.enumerated().map { "\(quoteIdentifier($0.element)) = ?\($0.offset + 1)" }
            statement = try db.prepare("DELETE FROM \(quotedTable) WHERE " + condition.joined(separator: " AND "), persistent: true)
            replacedRowStatement = statement
        }
        defer { statement.reset() }
        for (index, position) in shape.keyPositions.enumerated() {
            try statement.bind(position.map { values[$0] } ?? .null, at: Int32(index + 1))
        }
        _ = try statement.step()
    }

    /// The shape of records with these field names, from the cache or worked out now (without
    /// touching the database: columns and the statement come with its first writable record).
    private func shape(_ names: [String]) -> RecordShape {
        if let known = shapes[names] { return known }
        let shape = RecordShape(names: names, keyPositions: sink.key.map { names.firstIndex(of: $0) },
                                namesProblem: namesProblem(names))
        if shapes.count >= 256 { forgetShapes() }
        shapes[names] = shape
        return shape
    }

    /// A key field the record lacks or holds as null, or `nil`: the fields in the key's order,
    /// as if each were looked up by name (the positions come from the shape).
    private func keyProblem(_ record: Record, _ shape: RecordShape) -> String? {
        let values = record.fields.values
        for (field, position) in zip(sink.key, shape.keyPositions) {
            guard let position else { return "missing key field '\(field)'" }
            if values[values.startIndex + position].isNull { return "key field '\(field)' is null" }
        }
        return nil
    }

    /// A string field that SQLite's numeric affinity would store as a different text (`"007"`
    /// as 7), or `nil`. Only the fields the shape binds to numeric columns are looked at.
    private func affinityProblem(_ record: Record, _ shape: RecordShape) -> String? {
        let values = record.fields.values
        for (index, name, affinity) in shape.numeric {
            let value = values[values.startIndex + index]
            guard case .string(let text) = value, Self.affinityWouldChange(text, affinity) else { continue }
            let column = columns[identifierKey(name)] ?? name
            return "field '\(name)': the text \(JSONWriter.string(value)) would be stored as a number in the numeric column '\(column)' (SQLite type affinity) and lose its exact form; send this field with one type, or store it in a TEXT column"
        }
        return nil
    }

    /// A column's numeric affinity, or nil for TEXT and BLOB ones (SQLite's rules: INT →
    /// integer; CHAR, CLOB, TEXT → text; BLOB or none → blob; REAL, FLOA, DOUB → real; anything
    /// else → numeric, which converts like integer).
    static func numericAffinity(_ declared: String) -> NumericAffinity? {
        let t = declared.uppercased()
        if t.contains("INT") { return .integer }
        if t.isEmpty || t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") || t.contains("BLOB") { return nil }
        if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") { return .real }
        return .integer
    }

    /// Whether SQLite would store `text`, bound for a column of this affinity, as a number whose
    /// own text differs from it. INTEGER/NUMERIC keep `"7"` and `"1.5"` as they are, but turn
    /// `"007"`, `"+7"`, `" 7"`, `"1.50"`, `"1e3"` and `"1.0"` (an integral real) into other
    /// numbers; REAL turns every number into a double, so only `"1.5"`-style text survives
    /// (`"2"` would read back as 2.0).
    static func affinityWouldChange(_ text: String, _ affinity: NumericAffinity = .integer) -> Bool {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var bytes = Substring(trimmed).utf8[...]
        if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        let digit = { (b: UInt8) in b >= 0x30 && b <= 0x39 }
        let intPart = bytes.prefix(while: digit)
        bytes = bytes.dropFirst(intPart.count)
        var fraction = 0
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            let f = bytes.prefix(while: digit)
            fraction = f.count
            bytes = bytes.dropFirst(f.count)
        }
        guard intPart.count + fraction > 0 else { return false }
        if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
            let exponent = bytes.prefix(while: digit)
            guard !exponent.isEmpty else { return false }
            bytes = bytes.dropFirst(exponent.count)
        }
        guard bytes.isEmpty else { return false }            // not a number: stored as text
        let exponent = text.contains { $0 == "e" || $0 == "E" }
        switch affinity {
        case .integer:
            if let n = Int64(text), String(n) == text { return false }
            if let d = Double(text), !exponent, "\(d)" == text, d.rounded() != d { return false }
        case .real:
            if let d = Double(text), !exponent, "\(d)" == text { return false }
        }
        return true
    }

    /// Why a set of field names cannot be columns of one row, or `nil`.
    private func namesProblem(_ names: [String]) -> String? {
        var seen: [String: String] = [:]
        for name in names {
            if name.utf8.contains(0) { return "field name \(JSONWriter.string(.string(name))) contains a NUL character" }
            if let other = seen.updateValue(name, forKey: identifierKey(name)) {
                return "fields '\(other)' and '\(name)' would be the same column (SQLite column names ignore case)"
            }
        }
        return nil
    }

    /// Adds columns for fields the table lacks, typed from this batch's values from `start` on.
    private func addMissingColumns(_ names: [String], batch: [Record], from start: Int) throws {
        for name in names where columns[identifierKey(name)] == nil {
            var kind = ColumnKind.none
            for record in batch[start...] {
                if let value = record.fields[name] { kind.merge(value) }
                if kind == .text { break }
            }
            try addColumn(name, kind: kind)
        }
    }

    /// Prepares the insert (or upsert) statement for records of this shape and notes which of
    /// its fields go to numeric columns (the table must have a column for each field). After a
    /// new column (which drops every shape) the shape is cached again.
    private func prepareInsert(_ shape: RecordShape) throws -> Statement {
        let names = shape.names
        let cols = names.map(quoteIdentifier)
        let verb = !sink.key.isEmpty && sink.onConflict == .replace ? "INSERT OR REPLACE" : "INSERT"
        var sql = "\(verb) INTO \(quotedTable) (\(cols.joined(separator: ", "))) VALUES ("
            + Array(repeating: "?", count: names.count).joined(separator: ", ") + ")"
        if !sink.key.isEmpty && sink.onConflict == .ignore {
            sql += " ON CONFLICT (\(sink.key.map(quoteIdentifier).joined(separator: ", "))) DO NOTHING"
        } else if !sink.key.isEmpty && sink.onConflict == .update {
            let keyIDs = Set(sink.key.map(identifierKey))
            let updates = zip(names, cols).filter { !keyIDs.contains(identifierKey($0.0)) }.map { "\($0.1) = excluded.\($0.1)" }
            sql += " ON CONFLICT (\(sink.key.map(quoteIdentifier).joined(separator: ", "))) "
            // Only a row that differs is updated: an equal record leaves the row (and its
            // full-text index) untouched and counts as unchanged.
            let set = zip(names, cols).filter { !keyIDs.contains(identifierKey($0.0)) }.map(\.1)
            let differs = "(" + set.map { "\(quotedTable).\($0)" }.joined(separator: ", ") + ") IS NOT ("
                + set.map { "excluded.\($0)" }.joined(separator: ", ") + ")"
            sql += updates.isEmpty ? "DO NOTHING" : "DO UPDATE SET " + updates.joined(separator: ", ") + " WHERE " + differs
        }
        let statement = try db.prepare(sql, persistent: true)
        shape.statement = statement
        shape.numeric = names.enumerated().compactMap { index, name in
            numericColumns[identifierKey(name)].map { (index, name, $0) }
        }
        if shapes[names] !== shape {
            if shapes.count >= 256 { forgetShapes() }
            shapes[names] = shape
        }
        lastShape = shape
        return statement
    }

    // MARK: - Transactions

    private func begin() throws {
        guard !inTransaction else { return }
        do throws(SQLiteError) {
            try db.execute("BEGIN IMMEDIATE")
        } catch {
            throw fatal("cannot start a transaction on \(sink.path): \(error.message)")
        }
        inTransaction = true
    }

    /// Commits the open transaction with the ledger's new marks, then tells the ledger.
    private func commit() throws {
        guard inTransaction else { return }
        do throws(SQLiteError) {
            try indexDeferredRows()
        } catch {
            // Half done (rows indexed, the trigger not back): nothing of this transaction may be
            // committed, and its records are not acknowledged, so the next run delivers them.
            rollback()
            throw fatal("cannot update the full-text index of '\(sink.table)' in \(sink.path): \(error.message)")
        }
        try storeMarks()
        do throws(SQLiteError) {
            try db.execute("COMMIT")
        } catch {
            throw fatal("cannot commit to \(sink.path): \(error.message)")
        }
        inTransaction = false
        pending = 0
        emptiedUncommitted = false
        context.ledger.committed()
    }

    /// Grows SQLite's page cache (when `cache` is not set) to hold the table's indexes — its key's
    /// and those of `indexes` — with a quarter more for the pages being written, up to
    /// ``SQLiteSink/grownCacheLimit``, from when they are a quarter larger than the default
    /// cache: below that most of their pages stay cached and the memory buys little (the
    /// articles of `make bench` job 3 at 5×, 50,000 rows of 8.8 KB with a 2.3 MB key index: no
    /// faster with 3 MiB, 6.6 s against 6.2 s in one run each, and 1 MB more at a peak that is
    /// at issue 13's limit of 64 MB; job 1, whose rows are small, pays more for its misses:
    /// growing from 1.6 MB of index on was 1.19–1.22 s against 1.27–1.45 s from 3 MB on).
    /// Measured with `dbstat` inside the open transaction, after a batch (a transaction may hold
    /// a whole run: the cache must not wait for its commit), once 2,000 rows have been written
    /// and then each time the rows written have grown by a quarter: a measure reads every page of
    /// the indexes (up to 16 MiB of them, ~1.3 ms for 5.5 MB), so measuring every 2,000 rows of
    /// a long run into a table with a mid-sized index would cost 15–70 % of the writing (a
    /// review's simulation); growing a quarter at a time, the index outgrows its last measure by
    /// about a quarter at most, which the quarter of headroom covers. A table with no index stops
    /// measuring.
    ///
    /// Keys that do not arrive in order (hashes, UUIDs) insert all over the key's index. Once the
    /// index outgrows the cache, nearly every row reads an index page back from the file and
    /// writes another out: measured (`make bench` job 1: 200,000 rows keyed by 16 hex digits, a
    /// 5.1 MB index), 99,000 page reads, 1.5–2.1 s and 0.6–0.9 s of system time with the default
    /// 2,000 KiB; no reads, 1.3–1.4 s and 0.3 s with 6 MiB or more. Rows that arrive in key
    /// order, and tables without indexes, keep the default (and its peak memory).
    ///
    /// Not seen: keys that are the rowid (a single integer key becomes `INTEGER PRIMARY KEY`, and
    /// integers in no order insert all over the table itself) and `WITHOUT ROWID` tables (their
    /// key is the table): neither has an index to measure; `cache` is the remedy there.
    private func growCacheForIndexes() {
        guard cacheGrows, rowsWritten >= nextCacheCheck else { return }
        nextCacheCheck = rowsWritten + max(2_000, rowsWritten / 4)
        let limitPages = SQLiteSink.grownCacheLimit / pageSize
        var pages = 0
        do throws(SQLiteError) {
            // `dbstat` reads each page of the index (cached: the writes just touched them), one
            // row per page; LIMIT stops it at the most the cache would hold.
            let indexes = try db.strings("SELECT name FROM pragma_index_list(?1)", [.string(sink.table)])
            if indexes.isEmpty {
                cacheGrows = false
                return
            }
            for index in indexes where pages < limitPages {
                let counted = try db.strings("SELECT count(*) FROM (SELECT 1 FROM dbstat WHERE name = ?1 LIMIT ?2)",
                                             [.string(index), .int(Int64(limitPages - pages))])
                pages += Int(counted.first ?? "") ?? 0
            }
        } catch {
            // No `dbstat` in this SQLite (it is optional): keep the cache as it is.
            cacheGrows = false
            return
        }
        let indexBytes = pages * pageSize
        guard indexBytes > SQLiteSink.defaultCache + SQLiteSink.defaultCache / 4 else { return }
        let wanted = indexBytes + indexBytes / 4
        guard wanted > cacheBytes else { return }
        let mebibyte = 1 << 20
        cacheBytes = min(SQLiteSink.grownCacheLimit, (wanted + mebibyte - 1) / mebibyte * mebibyte)
        if cacheBytes == SQLiteSink.grownCacheLimit { cacheGrows = false }
        try? db.execute("PRAGMA cache_size = -\(cacheBytes / 1024)")
    }

    /// Drops the open transaction (a batch left half written).
    private func rollback() {
        guard inTransaction else { return }
        try? db.execute("ROLLBACK")   // the insert trigger comes back with it
        inTransaction = false
        ftsDeferred = false
        pending = 0
    }

    func flush() throws {
        guard !partialBatch else { throw fatal("cannot commit to \(sink.path): the last batch was not fully written") }
        try commit()
    }

    /// After a failure elsewhere: a table that `mode: replace` emptied, with nothing committed
    /// since, keeps its old rows.
    func abort() throws {
        if emptiedUncommitted && pending == 0 && !closed {
            rollback()
            emptiedUncommitted = false
        }
        try close()
    }

    func close() throws {
        guard !closed else { return }
        closed = true
        defer {
            forgetShapes()
            markStatement = nil
            markLookup = nil
            replacedRowStatement = nil
        }
        if partialBatch {
            rollback()
        } else {
            try commit()
        }
        // `auto` filled a new database with a rollback journal: leave it in WAL mode, as a
        // database with content is written, for readers of the live database from now on.
        // Another connection open on it keeps the mode as it is (SQLite then answers "delete").
        if rollbackJournal && sink.journal == .auto {
            _ = try? db.strings("PRAGMA journal_mode = WAL")
        }
    }
}

/// What the sqlite sink works out once per record shape — the same field names in the same
/// order — instead of once per record: where the key fields are, whether the names can be
/// columns of one row, the prepared statement, and which fields go to numeric columns.
final class RecordShape {
    /// The field names, in order.
    let names: [String]
    /// The position of each key field among ``names`` (nil: the shape lacks it).
    let keyPositions: [Int?]
    /// Why these names cannot be the columns of one row (two differ only in case…), or `nil`.
    let namesProblem: String?
    /// The insert for this shape, once the table has a column for every field.
    var statement: Statement?
    /// The fields bound for numeric columns: position, name, affinity (with ``statement``).
    var numeric: [(Int, String, NumericAffinity)] = []

    init(names: [String], keyPositions: [Int?], namesProblem: String?) {
        self.names = names
        self.keyPositions = keyPositions
        self.namesProblem = namesProblem
    }
}

/// How a numeric column converts text (see ``SQLiteSinkWriter/numericAffinity(_:)``).
enum NumericAffinity {
    /// INTEGER and NUMERIC: integral values become integers.
    case integer
    /// REAL: every number becomes a double.
    case real
}
