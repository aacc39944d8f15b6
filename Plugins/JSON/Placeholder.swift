import SluiceCore

/// Placeholder until the family lands; registers nothing.
public enum JSONPlugin: SluicePlugin {
    /// Registers nothing yet.
    public static func register(in registry: inout StageRegistry) {}
}
