import SluiceCore

/// The PostgreSQL family: the `postgres` source (rows of a table or a query, streamed with a
/// cursor) and the `postgres` sink (rows written with COPY into a table created from the
/// records, with upserts, full-text search and indexes, exactly once).
public enum PostgresPlugin: SluicePlugin {
    /// Registers the `postgres` source and the `postgres` sink.
    public static func register(in registry: inout StageRegistry) throws(RegistryError) {
        try registry.register(PostgresSource.Configuration.self)
        try registry.register(PostgresSink.Configuration.self)
    }
}
