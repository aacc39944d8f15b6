import SluiceCore

/// The SQLite family: the `sqlite` source (rows of a table or a query) and the `sqlite` sink
/// (rows of a table created from the records, with upserts, full-text search and indexes).
public enum SQLitePlugin: SluicePlugin {
    /// Registers the `sqlite` source and the `sqlite` sink.
    public static func register(in registry: inout StageRegistry) {
        registry.source(SQLiteSource.type, summary: SQLiteSource.summary, options: SQLiteSource.optionSpecs) {
            try SQLiteSource(options: $0)
        }
        registry.sink(SQLiteSink.type, summary: SQLiteSink.summary, options: SQLiteSink.optionSpecs) {
            try SQLiteSink(options: $0)
        }
    }
}
