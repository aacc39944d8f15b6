import CLua

/// Raised by a Swift function called from Lua; the C trampoline turns it into a Lua error
/// after the Swift frame has returned (a Lua error must never unwind through Swift).
enum LuaRaise: Error {
    /// A message; the trampoline puts the caller's `chunk:line:` in front of it.
    case message(String)
    /// The error object is already on the stack top; raise it unchanged.
    case object
}

/// A Swift function callable from Lua. It receives the running thread (a coroutine's, not
/// always the main state) and returns how many results it left on the stack top.
typealias LuaSwiftFunction = (OpaquePointer) throws(LuaRaise) -> Int32

/// One Lua 5.4 state with a capped allocator, the instruction-count hook and a table of Swift
/// functions. Not `Sendable`: it is created on one worker thread and dies there.
final class LuaVM {
    /// The main thread of the state.
    let L: OpaquePointer
    /// Facts shared with the C side: memory used and allowed, the budget, the limit hit.
    let control: UnsafeMutablePointer<sluice_control>
    private var functions: [LuaSwiftFunction] = []

    /// Creates a state; `memoryLimit` 0 means no cap, `instructionLimit` 0 means no budget.
    init(memoryLimit: Int, instructionLimit: Int) throws(LuaEngineError) {
        control = UnsafeMutablePointer<sluice_control>.allocate(capacity: 1)
        control.initialize(to: sluice_control())
        control.pointee.limit = memoryLimit > 0 ? memoryLimit : 0
        control.pointee.limited = instructionLimit > 0 ? 1 : 0
        control.pointee.remaining = Int64(max(0, instructionLimit))
        control.pointee.dispatch = luaDispatch
        guard let state = sluice_newstate(control) else {
            control.deallocate()
            throw LuaEngineError("cannot create a Lua state (out of memory)")
        }
        L = state
        control.pointee.context = Unmanaged.passUnretained(self).toOpaque()
        if instructionLimit > 0 { sluice_install_hook(L) }
    }

    deinit {
        lua_close(L)
        control.deallocate()
    }

    /// Calls Swift function `id` for the trampoline.
    fileprivate func dispatch(_ thread: OpaquePointer, _ id: Int32) -> Int32 {
        let index = Int(id)
        guard index >= 0, index < functions.count else {
            lua_pushstring(thread, "internal error: unknown Swift function \(id)")
            return raisePositioned
        }
        do throws(LuaRaise) {
            return try functions[index](thread)
        } catch {
            switch error {
            case .message(let text):
                pushString(thread, text)
                return raisePositioned
            case .object:
                return raiseRaw
            }
        }
    }

    /// Registers a Swift function and returns its number.
    func register(_ function: @escaping LuaSwiftFunction) -> Int32 {
        functions.append(function)
        return Int32(functions.count - 1)
    }

    /// Pushes Swift function `id` as a Lua closure holding the `upvalues` values on the stack
    /// top (which are popped). Inside the function, its own upvalues start at index 2.
    func pushFunction(_ id: Int32, upvalues: Int32 = 0, on thread: OpaquePointer? = nil) {
        sluice_push_swift_function(thread ?? L, id, upvalues)
    }

    /// Registers and pushes a Swift function.
    func pushFunction(upvalues: Int32 = 0, _ function: @escaping LuaSwiftFunction) {
        pushFunction(register(function), upvalues: upvalues)
    }

    /// Sets field `name` of the table on the stack top to a new Swift function.
    func setFunction(_ name: String, _ function: @escaping LuaSwiftFunction) {
        pushFunction(function)
        lua_setfield(L, -2, name)
    }

    // MARK: - Limits

    /// Starts the budget of one call (a record, init, finish).
    func resetBudget(_ instructions: Int) {
        control.pointee.remaining = Int64(max(0, instructions))
        control.pointee.fatal = fatalNone
        control.pointee.place.0 = 0
    }

    /// The limit hit in the current call, if any.
    var fatal: Int32 { control.pointee.fatal }

    /// `chunk:line:` noted by the C side for the current call's error, or "".
    var errorPlace: String {
        withUnsafeBytes(of: control.pointee.place) { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[..<end]), as: UTF8.self)
        }
    }

    /// Bytes the state holds now.
    var memoryUsed: Int { control.pointee.used }

    /// Whether script code runs with the memory cap on.
    var enforcing: Bool {
        get { control.pointee.enforce != 0 }
        set { control.pointee.enforce = newValue ? 1 : 0 }
    }

    /// Calls a Lua function from inside a Swift function (a gsub replacement function, a
    /// searcher): protected, with the cap on while Lua runs. An error stays on the stack top and
    /// becomes `LuaRaise.object`, so the trampoline re-raises it.
    func nestedCall(_ thread: OpaquePointer, nargs: Int32, nresults: Int32) throws(LuaRaise) {
        let saved = control.pointee.enforce
        control.pointee.enforce = 1
        let status = sluice_pcall(thread, nargs, nresults, 0)
        control.pointee.enforce = saved
        if status != LUA_OK {
            if status == LUA_ERRMEM && control.pointee.fatal == fatalNone {
                control.pointee.fatal = fatalMemory
            }
            throw .object
        }
    }

    /// Charges `steps` to the current call's budget (pattern matching); false when exhausted.
    func charge(_ steps: Int) -> Bool {
        guard control.pointee.limited != 0 else { return true }
        control.pointee.remaining -= Int64(steps)
        return control.pointee.remaining >= 0
    }

    /// The budget left for pattern matching in the current call.
    var matchSteps: Int {
        get { control.pointee.limited != 0 ? Int(max(0, control.pointee.remaining)) : Int.max }
        set { if control.pointee.limited != 0 { control.pointee.remaining = Int64(newValue) } }
    }

    /// Marks the current call as over its budget in a matcher.
    func notePatternBudgetExhausted() {
        if control.pointee.fatal == fatalNone {
            control.pointee.fatal = fatalPattern
        }
        control.pointee.remaining = -1
    }
}

/// The dispatcher the C trampoline calls: finds the VM from the control block's context.
private func luaDispatch(_ thread: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ id: Int32) -> Int32 {
    guard let thread, let context else { return raiseRaw }
    let vm = Unmanaged<LuaVM>.fromOpaque(context).takeUnretainedValue()
    return vm.dispatch(thread, id)
}

// MARK: - Small stack helpers

/// Pushes a Swift string's UTF-8 bytes.
@inline(__always)
func pushString(_ L: OpaquePointer, _ s: String) {
    if let done = s.utf8.withContiguousStorageIfAvailable({ buf -> Bool in
        lua_pushlstring(L, buf.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }, buf.count)
        return true
    }), done { return }
    var copy = s
    _ = copy.withUTF8 { buf in
        lua_pushlstring(L, buf.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }, buf.count)
    }
}

/// Pushes raw bytes as a Lua string.
@inline(__always)
func pushBytes(_ L: OpaquePointer, _ bytes: UnsafeBufferPointer<UInt8>) {
    lua_pushlstring(L, bytes.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }, bytes.count)
}

/// Pushes a byte array as a Lua string.
func pushBytes(_ L: OpaquePointer, _ bytes: [UInt8]) {
    bytes.withUnsafeBufferPointer { pushBytes(L, $0) }
}

/// The bytes of the string (or number, converted in place) at `index`; nil for other types.
/// Valid while the value stays on the stack.
@inline(__always)
func stringBytes(_ L: OpaquePointer, _ index: Int32) -> UnsafeBufferPointer<UInt8>? {
    var length = 0
    guard let p = lua_tolstring(L, index, &length) else { return nil }
    return UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: length)
}

/// The string at `index` decoded as UTF-8 (invalid bytes become U+FFFD); nil for non-strings.
func stringValue(_ L: OpaquePointer, _ index: Int32) -> String? {
    guard lua_type(L, index) == LUA_TSTRING || lua_type(L, index) == LUA_TNUMBER,
          let bytes = stringBytes(L, index) else { return nil }
    return String(decoding: bytes, as: UTF8.self)
}

/// The Lua type name of the value at `index` ("nil", "table"...).
func typeName(_ L: OpaquePointer, _ index: Int32) -> String {
    // A userdata with a `__name` (sluice.null) is called by it, as luaL_tolstring does.
    if lua_type(L, index) == LUA_TUSERDATA, luaL_getmetafield(L, index, "__name") == LUA_TSTRING {
        defer { lua_settop(L, -2) }
        if let name = lua_tolstring(L, -1, nil) { return String(cString: name) }
    }
    return String(cString: sluice_typename(L, index))
}

/// Statuses of the C trampoline and limit kinds of the control block (see shim.h).
let raisePositioned = Int32(SLUICE_RAISE_POSITIONED)
let raiseRaw = Int32(SLUICE_RAISE_RAW)
let fatalNone = Int32(SLUICE_FATAL_NONE)
let fatalInstructions = Int32(SLUICE_FATAL_INSTRUCTIONS)
let fatalMemory = Int32(SLUICE_FATAL_MEMORY)
let fatalPattern = Int32(SLUICE_FATAL_PATTERN)

/// The registry's pseudo-index.
let luaRegistryIndex: Int32 = sluice_registryindex()

/// An upvalue's pseudo-index.
@inline(__always)
func upvalueIndex(_ i: Int32) -> Int32 { sluice_upvalueindex(i) }

/// A fatal problem with the engine itself (the state cannot be made).
struct LuaEngineError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
