import SluiceCore

/// The SQLite family: the `sqlite` source (rows of a table or a query) and the `sqlite` sink
/// (rows of a table created from the records, with upserts, full-text search and indexes).
public enum SQLitePlugin: SluicePlugin {
    /// Registers the `sqlite` source and the `sqlite` sink.
    public static func register(in registry: inout StageRegistry) throws(RegistryError) {
        try registry.register(SQLiteSource.Configuration.self)
        try registry.register(SQLiteSink.Configuration.self)
    }
}
