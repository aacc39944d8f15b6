import SluiceCore

/// The small general-purpose transforms: `fields` and `dedupe`.
public enum BasicsPlugin: SluicePlugin {
    /// Registers `fields` and `dedupe`.
    public static func register(in registry: inout StageRegistry) {
        registry.register(FieldsTransform.descriptor)
        registry.register(DedupeTransform.descriptor)
    }
}
