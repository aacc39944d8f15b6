import SluiceCore

/// Placeholder until the family lands; registers nothing.
public enum SQLitePlugin: SluicePlugin {
    /// Registers nothing yet.
    public static func register(in registry: inout StageRegistry) {}
}
