import CLua
import Foundation
import Logging
import SluiceCore

/// The sandbox (SPEC §6), on by default:
///
/// - no `io`; `os` keeps only `time`, `clock`, `date` and `difftime` (no `execute`, `remove`,
///   `rename`, `exit`, `getenv`, `tmpname`, `setlocale`);
/// - only text chunks load: `load` forces mode `"t"`, so `load(string.dump(f))` fails;
/// - `require`, `loadfile` and `dofile` read only Lua files inside the script's folder and the
///   `modules` folders (resolved through symlinks; `..` and absolute paths are refused); no C
///   modules (`package.loadlib`, `package.cpath` and the C searchers are gone);
/// - `debug` is reduced to `debug.traceback`;
/// - `collectgarbage` accepts only "collect", "count", "step" and "isrunning";
/// - `setmetatable` refuses `__gc` (a finalizer could run script code at any allocation);
/// - the string metatable is protected (`getmetatable("")` gives "string");
///
/// With `sandbox: false` all of Lua's standard library is there, and `require` also searches
/// the script's folder and `modules` first. Dangerous: only for trusted scripts.
///
/// Either way `print` writes to the stage's log at info level, not to standard output, which
/// may be the pipeline's own output (`sluice try`, a `json` sink writing to `-`).
extension LuaEngine {
    func installSandbox() {
        sluice_pushglobaltable(L)
        lua_pushnil(L)
        lua_setfield(L, -2, "io")

        lua_getfield(L, -1, "os")
        for name in ["execute", "remove", "rename", "exit", "getenv", "tmpname", "setlocale"] {
            lua_pushnil(L)
            lua_setfield(L, -2, name)
        }
        lua_settop(L, -2)

        // debug: only traceback.
        lua_createtable(L, 0, 1)
        lua_getfield(L, -2, "debug")
        lua_getfield(L, -1, "traceback")
        lua_setfield(L, -3, "traceback")
        lua_settop(L, -2)
        lua_pushvalue(L, -1)
        lua_setfield(L, -3, "debug")
        setLoaded("debug")

        sluice_wrap_field(L, "load", sluice_safe_load)
        sluice_wrap_field(L, "collectgarbage", sluice_safe_collectgarbage)
        sluice_wrap_field(L, "setmetatable", sluice_safe_setmetatable)

        // loadfile / dofile inside the allowed folders.
        vm.pushFunction { [unowned self] thread throws(LuaRaise) in try self.loadFile(thread) }
        lua_setfield(L, -2, "loadfile")

        // package: no C modules, Lua files from the allowed folders only.
        lua_getfield(L, -1, "package")
        for name in ["loadlib", "searchpath"] {
            lua_pushnil(L)
            lua_setfield(L, -2, name)
        }
        lua_pushstring(L, "")
        lua_setfield(L, -2, "cpath")
        lua_pushstring(L, "")
        lua_setfield(L, -2, "path")
        lua_createtable(L, 2, 0)
        lua_getfield(L, -2, "searchers")
        lua_rawgeti(L, -1, 1)              // the preload searcher
        lua_rawseti(L, -3, 1)
        lua_settop(L, -2)
        vm.pushFunction { [unowned self] thread throws(LuaRaise) in try self.searchModule(thread) }
        lua_rawseti(L, -2, 2)
        lua_setfield(L, -2, "searchers")
        lua_getfield(L, -1, "loaded")
        lua_pushnil(L)
        lua_setfield(L, -2, "io")
        lua_settop(L, -3)

        // The string metatable cannot be read or replaced.
        lua_pushstring(L, "")
        if lua_getmetatable(L, -1) != 0 {
            lua_pushstring(L, "string")
            lua_setfield(L, -2, "__metatable")
            lua_settop(L, -2)
        }
        lua_settop(L, -2)
        lua_settop(L, -2)

        runInternal("""
            local loadfile, error, pcall = loadfile, error, pcall
            dofile = function(path)
              if path == nil then error("dofile needs a file name in the sandbox (standard input is not readable)", 2) end
              local ok, f, message = pcall(loadfile, path)
              if not ok then error(f, 2) end
              if not f then error(message, 2) end
              return f()
            end
            """, name: "=sluice.sandbox")
    }

    /// Sets `package.loaded[name]` to the value on the stack top (which stays).
    private func setLoaded(_ name: String) {
        lua_getfield(L, luaRegistryIndex, "_LOADED")
        lua_pushvalue(L, -2)
        lua_setfield(L, -2, name)
        lua_settop(L, -2)
        lua_settop(L, -2)
    }

    /// Without the sandbox: `require` looks in the script's folder and `modules` first.
    func installUnsandboxedPaths() {
        guard !moduleRoots.isEmpty else { return }
        sluice_pushglobaltable(L)
        lua_getfield(L, -1, "package")
        lua_getfield(L, -1, "path")
        let current = stringValue(L, -1) ?? ""
        lua_settop(L, -2)
        let ours = moduleRoots.map { "\($0)/?.lua;\($0)/?/init.lua" }.joined(separator: ";")
        pushString(L, ours + ";" + current)
        lua_setfield(L, -2, "path")
        lua_settop(L, 0)
    }

    // MARK: - Files

    /// Checks a module name: dotted names of Lua files only.
    static func validModuleName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 200 else { return false }
        for part in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
            else { return false }
        }
        return true
    }

    /// The real path of `candidate` when it is a regular file inside one of the allowed
    /// folders; nil when it does not exist; throws when it exists outside them.
    func allowedFile(_ candidate: String, what: String) throws(LuaRaise) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
              let real = LuaEngine.realPath(candidate) else { return nil }
        guard moduleRoots.contains(where: { real.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }) else {
            throw .message("\(what) is outside the folders scripts may read (the script's folder and 'modules')")
        }
        return real
    }

    /// Loads a Lua text file and pushes its function on `thread`, or returns the load error.
    func loadFile(at real: String, on thread: OpaquePointer) -> String? {
        guard let data = FileManager.default.contents(atPath: real) else { return "cannot read \(real)" }
        let display = LuaScript.displayName(of: real, relativeTo: settings.baseDirectory)
        if let failure = load([UInt8](data), displayName: display, on: thread) { return failure.message }
        return nil
    }

    /// The sandbox's package searcher: `require("a.b")` finds `a/b.lua` or `a/b/init.lua` in the
    /// allowed folders.
    func searchModule(_ thread: OpaquePointer) throws(LuaRaise) -> Int32 {
        guard let name = stringValue(thread, 1) else { throw .message("bad argument #1 to 'require' (string expected)") }
        guard LuaEngine.validModuleName(name) else {
            throw .message("module name '\(name)' is not allowed: require takes dotted names of Lua files inside the script's folder or 'modules' (no '/', '..' or absolute paths)")
        }
        let relative = name.replacingOccurrences(of: ".", with: "/")
        var tried: [String] = []
        for root in moduleRoots {
            for candidate in ["\(root)/\(relative).lua", "\(root)/\(relative)/init.lua"] {
                tried.append(candidate)
                guard let real = try allowedFile(candidate, what: "module '\(name)'") else { continue }
                if let message = loadFile(at: real, on: thread) {
                    throw .message("error loading module '\(name)' from file '\(real)':\n\t\(message)")
                }
                pushString(thread, real)
                return 2
            }
        }
        // Lua 5.4's require puts "\n\t" before each searcher's message itself.
        pushString(thread, tried.map { "no file '\($0)'" }.joined(separator: "\n\t"))
        return 1
    }

    /// `loadfile(path [, mode [, env]])` inside the allowed folders, text chunks only.
    func loadFile(_ thread: OpaquePointer) throws(LuaRaise) -> Int32 {
        guard let path = stringValue(thread, 1) else {
            throw .message("bad argument #1 to 'loadfile' (a file name is needed in the sandbox)")
        }
        if lua_type(thread, 2) == LUA_TSTRING, let mode = stringValue(thread, 2), !mode.contains("t") {
            throw .message("loading binary chunks is not allowed in the sandbox (mode '\(mode)')")
        }
        let hasEnv = lua_type(thread, 3) != LUA_TNONE
        let base = moduleRoots.first ?? FileManager.default.currentDirectoryPath
        let candidate = path.hasPrefix("/") ? path : base + "/" + path
        guard let real = try allowedFile(candidate, what: "'\(path)'") else {
            lua_pushnil(thread)
            pushString(thread, "cannot open \(path)")
            return 2
        }
        if let message = loadFile(at: real, on: thread) {
            lua_pushnil(thread)
            pushString(thread, message)
            return 2
        }
        if hasEnv {
            lua_pushvalue(thread, 3)
            _ = lua_setupvalue(thread, -2, 1)
        }
        return 1
    }
}
