import CLua
import Foundation
import Logging
import SluiceCore

/// One Lua state set up for Sluice: the standard libraries, the `sluice` module, the sandbox,
/// the limits and the marshaller. Not `Sendable`: made and used on one worker thread.
///
/// The public faces are ``LuaRule`` (a rule script) and ``LuaExpression`` (a filter
/// condition); both own an engine.
final class LuaEngine {
    let vm: LuaVM
    let marshal: LuaMarshal
    let settings: LuaSettings
    var logger: Logger
    /// The record being processed, for log metadata.
    var currentOrigin: Origin?
    /// Records passed to `emit` during the current call.
    var emitted: [Fields] = []
    /// Whether `emit` may be called now (in `process` and `finish`).
    var emitAllowed = false
    /// The worker's index (exposed as `sluice.worker`).
    let workerIndex: Int
    /// Sources of loaded chunks by display name, for `script_line`.
    var chunkSources: [String: [UInt8]] = [:]
    /// Lua's shortened chunk names (`...ng/path.lua`) to display names.
    var shortNames: [String: String] = [:]
    /// The folders `require`, `loadfile` and `dofile` may read, real paths.
    var moduleRoots: [String] = []
    /// Registry reference of the `emit` function handed to `process` and `finish`.
    var emitFunctionRef: Int32 = 0
    /// Swift function numbers of the gmatch iterators.
    var gmatchStepFunction: Int32 = 0
    var reGmatchStepFunction: Int32 = 0
    /// The coroutine calls run in, and its registry reference.
    private var worker: OpaquePointer?
    private var workerRef: Int32 = 0
    /// Compiled Lua patterns, most recently used first.
    var patterns = PatternCache<LuaPattern>()
    /// Compiled regexes, by pattern and flags.
    var regexes = PatternCache<PCRE2Pattern>()
    /// PCRE2's match context and JIT stack for this state's regex calls.
    lazy var regexWorkspace = PCRE2Workspace()

    var L: OpaquePointer { vm.L }

    /// Sets up a state. Nothing of the script runs yet.
    init(settings: LuaSettings, scriptFolder: String?, logger: Logger, workerIndex: Int = 0) throws(LuaFailure) {
        self.settings = settings
        self.logger = logger
        self.workerIndex = workerIndex
        do {
            vm = try LuaVM(memoryLimit: settings.limits.maxMemory, instructionLimit: settings.limits.maxInstructions)
        } catch {
            throw LuaFailure(kind: .script, message: error.description)
        }
        let L = vm.L
        luaL_openlibs(L)
        marshal = LuaMarshal(L)
        var roots: [String] = []
        for folder in (scriptFolder.map { [$0] } ?? []) + settings.modulePaths {
            let real = LuaEngine.realPath(folder) ?? folder
            if !roots.contains(real) { roots.append(real) }
        }
        moduleRoots = roots
        // Generational GC: records are short-lived garbage. Measured (LuaBench): the boundary
        // 1.8 µs vs 2.2 µs per record (record in, nothing back) with the incremental default.
        sluice_gc_generational(L)
        installProtections()
        installModule()
        installPatternFunctions()
        if settings.sandbox {
            installSandbox()
        } else {
            installUnsandboxedPaths()
        }
        lua_settop(L, 0)
    }

    // MARK: - Loading and calling

    /// Compiles a text chunk and leaves the function on the stack of `thread` (the main thread
    /// by default), or returns the failure.
    func load(_ source: [UInt8], displayName: String, on thread: OpaquePointer? = nil) -> LuaFailure? {
        let L = thread ?? self.L
        chunkSources[displayName] = source
        let short = LuaEngine.shortSource(displayName)
        if short != displayName { shortNames[short] = displayName }
        let status = LuaEngine.loadText(L, LuaEngine.withoutPreamble(source), chunkName: "@" + displayName)
        guard status != LUA_OK else { return nil }
        let message = expandChunkName(stringValue(L, -1) ?? "cannot load the script")
        lua_settop(L, -2)
        return LuaFailure(kind: .syntax, message: message, scriptLine: scriptLine(for: message))
    }

    /// The thread calls run in: a coroutine kept in the registry and reused while calls
    /// succeed. Running in a coroutine keeps the stack of a failed call inspectable after the
    /// error (a dead coroutine keeps its frames), which gives the exact line and a traceback
    /// for every failure, memory errors included (Lua raises those without a message handler).
    /// Push the function and its arguments on it, then `call`.
    func callThread() -> OpaquePointer {
        if let thread = worker { return thread }
        let thread = lua_newthread(L)!
        workerRef = luaL_ref(L, luaRegistryIndex)
        worker = thread
        return thread
    }

    /// Empties the call thread's stack after a successful call.
    func clearCallThread() {
        if let worker { lua_settop(worker, 0) }
    }

    private func discardCallThread() {
        if workerRef != 0 { luaL_unref(L, luaRegistryIndex, workerRef) }
        workerRef = 0
        worker = nil
    }

    /// Runs the function below `nargs` arguments on the call thread with the budget and the
    /// cap. On success leaves exactly `nresults` results there (the caller clears them).
    func call(nargs: Int32, nresults: Int32) -> LuaFailure? {
        let co = callThread()
        vm.resetBudget(settings.limits.maxInstructions)
        vm.enforcing = true
        var results: Int32 = 0
        let status = lua_resume(co, nil, nargs, &results)
        vm.enforcing = false
        let fatal = vm.fatal
        if status == LUA_OK && fatal == fatalNone {
            lua_settop(co, nresults)
            return nil
        }
        let failure = makeFailure(co, status: status, fatal: fatal)
        lua_settop(co, 0)
        discardCallThread()
        return failure
    }

    /// Whether the last failure leaves the state untrustworthy (it must be rebuilt).
    private(set) var needsRebuild = false

    private func makeFailure(_ co: OpaquePointer, status: Int32, fatal: Int32) -> LuaFailure {
        var place = expandChunkName(vm.errorPlace)
        if place.isEmpty { place = expandChunkName(errorPlace(in: co)) }
        let at = place.isEmpty ? "" : place + " "
        let traceback = self.traceback(of: co)
        func failure(_ kind: LuaFailure.Kind, _ message: String) -> LuaFailure {
            LuaFailure(kind: kind, message: message, scriptLine: scriptLine(for: message), traceback: traceback)
        }
        switch fatal {
        case fatalInstructions:
            return failure(.instructionLimit, "\(at)instruction limit of \(settings.limits.maxInstructions) exceeded")
        case fatalPattern:
            return failure(.patternBudget, "\(at)pattern too complex: step budget exhausted")
        case fatalMemory:
            needsRebuild = true
            return failure(.memoryLimit, "\(at)memory limit of \(settings.limits.maxMemory) bytes exceeded")
        default:
            break
        }
        if status == LUA_ERRMEM {
            needsRebuild = true
            return failure(.memoryLimit, settings.limits.maxMemory > 0
                ? "\(at)memory limit of \(settings.limits.maxMemory) bytes exceeded" : "\(at)out of memory")
        }
        if status == LUA_YIELD {
            return failure(.script, "\(at)attempt to yield from outside a coroutine")
        }
        var message = expandChunkName(errorMessage(co))
        if LuaEngine.splitPlace(message) == nil && !place.isEmpty { message = at + message }
        return failure(.script, message)
    }

    /// The error object on the stack top of a failed thread, as text (`__tostring` honoured,
    /// in a protected call).
    private func errorMessage(_ co: OpaquePointer) -> String {
        switch lua_type(co, -1) {
        case LUA_TSTRING, LUA_TNUMBER:
            return stringValue(co, -1) ?? ""
        case LUA_TNONE:
            return "unknown error"
        default:
            let kind = typeName(co, -1)
            sluice_pushcfunction(L, sluice_tostring_function)
            lua_xmove(co, L, 1)
            defer { lua_settop(L, -2) }
            if sluice_pcall(L, 1, 1, 0) == LUA_OK, lua_type(L, -1) == LUA_TSTRING, !marshal.isNull(L, -1) {
                let text = stringValue(L, -1) ?? ""
                if !text.hasPrefix(kind + ": 0x") { return text }
            }
            return "(error object is a \(kind) value)"
        }
    }

    /// `chunk:line:` of the innermost Lua function with a line on a failed thread's stack.
    private func errorPlace(in co: OpaquePointer) -> String {
        var ar = lua_Debug()
        var level: Int32 = 0
        while level < 100, lua_getstack(co, level, &ar) != 0 {
            if lua_getinfo(co, "Sl", &ar) != 0, ar.currentline > 0 {
                let source = withUnsafeBytes(of: ar.short_src) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                return "\(source):\(ar.currentline):"
            }
            level += 1
        }
        return ""
    }

    /// Lua's traceback of a failed thread.
    private func traceback(of co: OpaquePointer) -> String? {
        luaL_traceback(L, co, nil, 0)
        defer { lua_settop(L, -2) }
        return stringValue(L, -1).map(expandChunkNames(in:))
    }

    /// Whether `message` starts with `chunk:line:`.
    private func hasPlace(_ message: String) -> Bool {
        LuaEngine.splitPlace(message) != nil
    }

    /// (chunk, line) of a message that starts with `chunk:line:`.
    static func splitPlace(_ message: String) -> (chunk: Substring, line: Int)? {
        var search = message.startIndex
        while let colon = message[search...].firstIndex(of: ":") {
            let afterColon = message.index(after: colon)
            let digits = message[afterColon...].prefix { $0.isASCII && $0.isNumber }
            if !digits.isEmpty, digits.endIndex < message.endIndex, message[digits.endIndex] == ":",
               let line = Int(digits) {
                return (message[..<colon], line)
            }
            if message[..<colon].contains(" ") { return nil }
            search = afterColon
        }
        return nil
    }

    /// The trimmed source line a `chunk:line:` message points at.
    func scriptLine(for message: String) -> String? {
        guard let (chunk, line) = LuaEngine.splitPlace(message) else { return nil }
        if let source = chunkSources[String(chunk)] { return LuaScript.line(line, of: source) }
        return nil
    }

    /// Lua's `short_src` for a chunk named `@name` (LUA_IDSIZE 60).
    static func shortSource(_ name: String) -> String {
        let bytes = Array(name.utf8)
        let room = 60 - 1
        if bytes.count <= room { return name }
        return "..." + String(decoding: bytes.suffix(room - 3), as: UTF8.self)
    }

    /// A message with a shortened chunk name at its start replaced by the full name.
    func expandChunkName(_ message: String) -> String {
        guard !shortNames.isEmpty else { return message }
        for (short, full) in shortNames where message.hasPrefix(short) {
            return full + message.dropFirst(short.count)
        }
        return message
    }

    private func expandChunkNames(in text: String) -> String {
        var out = text
        for (short, full) in shortNames { out = out.replacingOccurrences(of: short, with: full) }
        return out
    }

    /// Compiles a chunk onto the call thread and runs it (no arguments); `nresults` results
    /// stay there.
    func runChunk(_ source: [UInt8], displayName: String, nresults: Int32 = 0) -> LuaFailure? {
        if let failure = load(source, displayName: displayName, on: callThread()) { return failure }
        return call(nargs: 0, nresults: nresults)
    }

    /// A registry reference to global `name` when it is a function (else nil), and the Lua
    /// type of the value.
    func globalFunction(_ name: String) -> (ref: Int32?, kind: String) {
        // Raw access: a script may give _G an erroring __index ("strict" mode), and a Lua error
        // here, outside any protected call, would abort the process.
        sluice_pushglobaltable(L)
        pushString(L, name)
        let type = lua_rawget(L, -2)
        sluice_remove(L, -2)
        if type == LUA_TFUNCTION { return (luaL_ref(L, luaRegistryIndex), "function") }
        let kind = typeName(L, -1)
        lua_settop(L, -2)
        return (nil, kind)
    }

    /// Real path of a file or folder, or nil.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    // MARK: - Protections that hold with or without the sandbox

    /// pcall/xpcall/coroutine.resume that cannot swallow a limit, rawset that keeps record
    /// tables' bookkeeping, and library loops charged to the budget.
    private func installProtections() {
        sluice_pushglobaltable(L)
        lua_pushcclosure(L, sluice_safe_pcall, 0)
        lua_setfield(L, -2, "pcall")
        lua_pushcclosure(L, sluice_safe_xpcall, 0)
        lua_setfield(L, -2, "xpcall")
        lua_getfield(L, -1, "rawset")
        lua_rawgeti(L, luaRegistryIndex, lua_Integer(marshal.objectMetaRef))
        lua_rawgeti(L, luaRegistryIndex, lua_Integer(marshal.arrayMetaRef))
        lua_rawgeti(L, luaRegistryIndex, lua_Integer(marshal.newKeysRef))
        lua_pushcclosure(L, sluice_safe_rawset, 4)
        lua_setfield(L, -2, "rawset")

        lua_getfield(L, -1, "coroutine")
        sluice_wrap_field(L, "resume", sluice_safe_resume)
        lua_settop(L, -2)

        lua_getfield(L, -1, "string")
        sluice_charge_field(L, "rep", Int32(SLUICE_COST_REP))
        // string.byte is not charged: its work is bounded by the Lua stack (a slice of at most
        // about a million values), and it is hot in scanning rules.
        for name in ["upper", "lower", "reverse"] {
            sluice_charge_field(L, name, Int32(SLUICE_COST_LENGTH))
        }
        lua_settop(L, -2)
        lua_getfield(L, -1, "table")
        sluice_charge_field(L, "concat", Int32(SLUICE_COST_COUNT))
        sluice_charge_field(L, "unpack", Int32(SLUICE_COST_COUNT))
        sluice_charge_field(L, "insert", Int32(SLUICE_COST_INSERT))
        sluice_charge_field(L, "remove", Int32(SLUICE_COST_REMOVE))
        sluice_charge_field(L, "sort", Int32(SLUICE_COST_SORT))
        sluice_charge_field(L, "move", Int32(SLUICE_COST_MOVE))
        lua_settop(L, -2)
        lua_getfield(L, -1, "utf8")
        for name in ["len", "codepoint", "offset"] { sluice_charge_field(L, name, Int32(SLUICE_COST_LENGTH)) }
        lua_settop(L, -2)
        lua_settop(L, -2)

        // coroutine.wrap on top of the safe resume, so a limit inside a wrapped coroutine is
        // re-raised too.
        let prelude = """
            local create, resume, error, type = coroutine.create, coroutine.resume, error, type
            coroutine.wrap = function(f)
              local co = create(f)
              local function finish(ok, ...)
                if ok then return ... end
                local e = ...
                if type(e) == "string" then error(e, 2) end
                error(e, 0)
              end
              return function(...) return finish(resume(co, ...)) end
            end
            """
        runInternal(prelude, name: "=sluice.prelude")
    }

    /// A file's text without a UTF-8 byte order mark and with a first line starting with `#`
    /// (`#!/usr/bin/env lua`) emptied, as `lua` itself reads files; line numbers stay the same.
    static func withoutPreamble(_ source: [UInt8]) -> [UInt8] {
        var start = 0
        if source.count >= 3, source[0] == 0xEF, source[1] == 0xBB, source[2] == 0xBF { start = 3 }
        guard start < source.count, source[start] == UInt8(ascii: "#") || start > 0 else { return source }
        var bytes = Array(source[start...])
        if bytes.first == UInt8(ascii: "#") {
            let end = bytes.firstIndex(of: 0x0A) ?? bytes.count
            bytes.removeSubrange(0..<end)
        }
        return bytes
    }

    /// Compiles text (never a binary chunk) onto the stack: the function, or the error message.
    static func loadText(_ L: OpaquePointer, _ source: [UInt8], chunkName: String) -> Int32 {
        var bytes = source
        bytes.append(0)
        return bytes.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) { chars in
                // A non-empty array always has a base address.
                sluice_load_text(L, chars.baseAddress, source.count, chunkName)
            }
        }
    }

    /// Runs a piece of Sluice's own Lua during setup.
    func runInternal(_ code: String, name: String) {
        let bytes = Array(code.utf8)
        let status = LuaEngine.loadText(L, bytes, chunkName: name)
        if status == LUA_OK {
            _ = sluice_pcall(L, 0, 0, 0)
        }
        if lua_gettop(L) > 0, status != LUA_OK || lua_type(L, -1) == LUA_TSTRING {
            logger.error("sluice: internal Lua setup failed: \(stringValue(L, -1) ?? "?")")
        }
        lua_settop(L, 0)
    }
}

/// A small least-recently-used cache of compiled patterns keyed by their bytes.
///
/// Scripts pass the same few pattern strings over and over, and Lua keeps one string object per
/// short text, so the address of the pattern's bytes finds the entry: first in a 64-slot table
/// indexed by the address bits (no hashing), then in a dictionary; a `memcmp` against the stored
/// bytes proves the hit (an address can be reused by another string after a collection). A
/// miss by address falls back to a scan by content. Values are boxed so a hit costs one
/// retain. On the shipped extract_facts rule this took the lookup from 7.7 % of the run time
/// to about 1 %.
struct PatternCache<Compiled> {
    /// One compiled pattern and its bytes.
    final class Entry {
        let bytes: [UInt8]
        let value: Compiled
        var lastUse: Int
        init(bytes: [UInt8], value: Compiled, lastUse: Int) {
            self.bytes = bytes
            self.value = value
            self.lastUse = lastUse
        }
    }
    private var entries: [Entry] = []
    private var byAddress: [UnsafeRawPointer: Entry] = [:]
    private var slots = [(address: UnsafeRawPointer?, entry: Entry?)](repeating: (nil, nil), count: 64)
    private var clock = 0
    /// How many patterns are kept.
    static var capacity: Int { 64 }

    @inline(__always)
    private static func slot(_ address: UnsafeRawPointer) -> Int {
        Int(truncatingIfNeeded: UInt(bitPattern: address) >> 4) & 63
    }

    /// The cached entry for `key`.
    @inline(__always)
    mutating func lookup(_ key: UnsafeBufferPointer<UInt8>) -> Entry? {
        clock &+= 1
        guard let base = key.baseAddress else { return scan(key) }
        let address = UnsafeRawPointer(base)
        let s = PatternCache.slot(address)
        if slots[s].address == address, let entry = slots[s].entry, equal(entry.bytes, key) {
            entry.lastUse = clock
            return entry
        }
        if let entry = byAddress[address], equal(entry.bytes, key) {
            entry.lastUse = clock
            slots[s] = (address, entry)
            return entry
        }
        guard let entry = scan(key) else { return nil }
        // The same pattern text built anew per record has a new address each time: keep this
        // map bounded (it is only a shortcut; a miss falls back to the scan).
        if byAddress.count >= PatternCache<Compiled>.capacity * 4 { byAddress.removeAll(keepingCapacity: true) }
        byAddress[address] = entry
        slots[s] = (address, entry)
        return entry
    }

    private func scan(_ key: UnsafeBufferPointer<UInt8>) -> Entry? {
        for entry in entries where equal(entry.bytes, key) {
            entry.lastUse = clock
            return entry
        }
        return nil
    }

    /// Stores a value, replacing the least recently used one when full.
    @discardableResult
    mutating func store(_ key: UnsafeBufferPointer<UInt8>, _ value: Compiled) -> Entry {
        clock &+= 1
        let entry = Entry(bytes: Array(key), value: value, lastUse: clock)
        if entries.count >= PatternCache<Compiled>.capacity,
           let oldest = entries.indices.min(by: { entries[$0].lastUse < entries[$1].lastUse }) {
            let evicted = entries[oldest]
            entries[oldest] = entry
            byAddress = byAddress.filter { $0.value !== evicted }
            for i in slots.indices where slots[i].entry === evicted { slots[i] = (nil, nil) }
        } else {
            entries.append(entry)
        }
        if let base = key.baseAddress {
            let address = UnsafeRawPointer(base)
            byAddress[address] = entry
            slots[PatternCache.slot(address)] = (address, entry)
        }
        return entry
    }

    @inline(__always)
    private func equal(_ stored: [UInt8], _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        guard stored.count == key.count else { return false }
        if key.isEmpty { return true }
        return stored.withUnsafeBufferPointer { s in
            guard let a = s.baseAddress, let b = key.baseAddress else { return false }
            return memcmp(a, b, key.count) == 0
        }
    }
}
