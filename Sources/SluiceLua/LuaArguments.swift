import CLua

/// Reads the arguments of a Swift function called from Lua, with Lua's own messages
/// (`bad argument #1 to 'find' (string expected, got nil)`), thrown instead of raised.
struct LuaArguments {
    let L: OpaquePointer
    /// The function's name as messages give it.
    let function: String

    init(_ L: OpaquePointer, _ function: String) {
        self.L = L
        self.function = function
    }

    /// How many arguments were passed.
    var count: Int32 { lua_gettop(L) }

    func error(_ index: Int32, _ problem: String) -> LuaRaise {
        .message("bad argument #\(index) to '\(function)' (\(problem))")
    }

    func typeError(_ index: Int32, expected: String) -> LuaRaise {
        let got = lua_type(L, index) == LUA_TNONE ? "no value" : typeName(L, index)
        return error(index, "\(expected) expected, got \(got)")
    }

    /// The bytes of a string argument (a number is converted, as Lua does).
    func bytes(_ index: Int32) throws(LuaRaise) -> UnsafeBufferPointer<UInt8> {
        let type = lua_type(L, index)
        guard type == LUA_TSTRING || type == LUA_TNUMBER, let b = stringBytes(L, index) else {
            throw typeError(index, expected: "string")
        }
        return b
    }

    /// A string argument decoded as UTF-8.
    func string(_ index: Int32) throws(LuaRaise) -> String {
        String(decoding: try bytes(index), as: UTF8.self)
    }

    /// An optional string argument.
    func optionalString(_ index: Int32) throws(LuaRaise) -> String? {
        if sluice_isnoneornil(L, index) != 0 { return nil }
        return try string(index)
    }

    /// An integer argument (a float with an exact integer value or a numeric string converts).
    func integer(_ index: Int32) throws(LuaRaise) -> Int {
        var ok: Int32 = 0
        let value = lua_tointegerx(L, index, &ok)
        if ok != 0 { return Int(value) }
        if lua_isnumber(L, index) != 0 { throw error(index, "number has no integer representation") }
        throw typeError(index, expected: "number")
    }

    /// An optional integer argument.
    func integer(_ index: Int32, default value: Int) throws(LuaRaise) -> Int {
        if sluice_isnoneornil(L, index) != 0 { return value }
        return try integer(index)
    }

    /// Whether argument `index` is a string that is not a number (used to accept flags in
    /// place of an optional position).
    func isNonNumericString(_ index: Int32) -> Bool {
        guard lua_type(L, index) == LUA_TSTRING else { return false }
        var ok: Int32 = 0
        _ = lua_tointegerx(L, index, &ok)
        return ok == 0 && lua_isnumber(L, index) == 0
    }

    /// Lua truthiness of an argument.
    func truthy(_ index: Int32) -> Bool { lua_toboolean(L, index) != 0 }

    /// Checks that the argument is a table.
    func table(_ index: Int32) throws(LuaRaise) {
        guard lua_type(L, index) == LUA_TTABLE else { throw typeError(index, expected: "table") }
    }
}
