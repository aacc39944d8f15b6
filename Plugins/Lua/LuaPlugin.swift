import SluiceCore

/// The Lua family: the `lua` transform (a rule script) and the `filter` transform (a Lua
/// condition over `record`).
public enum LuaPlugin: SluicePlugin {
    /// Registers `lua` and `filter`.
    public static func register(in registry: inout StageRegistry) {
        registry.transform(LuaTransform.type, summary: LuaTransform.summary, options: LuaTransform.options) { options in
            try LuaTransform(options)
        }
        registry.transform(FilterTransform.type, summary: FilterTransform.summary, options: FilterTransform.options) { options in
            try FilterTransform(options)
        }
    }
}
