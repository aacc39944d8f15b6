import SluiceCore

/// The Lua family: the `lua` transform (a rule script) and the `filter` transform (a Lua
/// condition over `record`).
public enum LuaPlugin: SluicePlugin {
    /// Registers `lua` and `filter`.
    public static func register(in registry: inout StageRegistry) throws(RegistryError) {
        try registry.register(LuaTransform.Configuration.self)
        try registry.register(FilterTransform.Configuration.self)
    }
}
