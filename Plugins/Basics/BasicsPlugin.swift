import SluiceCore

/// The small general-purpose transforms: `fields` and `dedupe`.
public enum BasicsPlugin: SluicePlugin {
    /// Registers `fields` and `dedupe`.
    public static func register(in registry: inout StageRegistry) throws(RegistryError) {
        try registry.register(FieldsTransform.Configuration.self)
        try registry.register(DedupeTransform.Configuration.self)
    }
}
