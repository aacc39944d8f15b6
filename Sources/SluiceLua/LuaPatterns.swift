import CLua
import Foundation
import SluiceCore

/// `string.find`, `string.match`, `string.gmatch` and `string.gsub` replaced by the bounded
/// matcher of `Matching/`: the same Lua 5.4 semantics, but every matching step is charged to
/// the per-record budget the instruction hook also draws from, so
/// `string.find(string.rep("a", 5000), ".-.-.-b")` fails that record with
/// "pattern too complex: step budget exhausted" instead of running for minutes (stock Lua's
/// matcher is C code the hook never interrupts). Compiled patterns are cached per state.
extension LuaEngine {
    func installPatternFunctions() {
        sluice_pushglobaltable(L)
        lua_getfield(L, -1, "string")
        vm.setFunction("find") { [unowned self] t throws(LuaRaise) in try self.stringFind(t, find: true) }
        vm.setFunction("match") { [unowned self] t throws(LuaRaise) in try self.stringFind(t, find: false) }
        vm.setFunction("gmatch") { [unowned self] t throws(LuaRaise) in try self.stringGmatch(t) }
        vm.setFunction("gsub") { [unowned self] t throws(LuaRaise) in try self.stringGsub(t) }
        let step = vm.register { [unowned self] t throws(LuaRaise) in try self.stringGmatchStep(t) }
        gmatchStepFunction = step
        lua_settop(L, 0)
    }

    // MARK: - Budget

    /// The Lua error for a matcher failure.
    func matchFailure(_ error: MatchError, regex: String? = nil) -> LuaRaise {
        switch error {
        case .budgetExceeded:
            vm.notePatternBudgetExhausted()
            return .message("pattern too complex: step budget exhausted")
        case .malformed(let message):
            if let regex { return .message("bad regex '\(regex)': \(message)") }
            return .message(message)
        }
    }

    /// The compiled pattern for `bytes`, from the cache.
    @inline(__always)
    func luaPattern(_ bytes: UnsafeBufferPointer<UInt8>) throws(LuaRaise) -> PatternCache<LuaPattern>.Entry {
        if let cached = patterns.lookup(bytes) { return cached }
        do {
            return patterns.store(bytes, try LuaPattern(bytes))
        } catch {
            throw matchFailure(error)
        }
    }

    /// Pushes one capture.
    func push(_ capture: LuaPatternCapture, subject: UnsafeBufferPointer<UInt8>, on t: OpaquePointer) {
        switch capture {
        case .substring(let r): pushBytes(t, UnsafeBufferPointer(rebasing: subject[r]))
        case .position(let p): lua_pushinteger(t, lua_Integer(p))
        case .unfinished: lua_pushnil(t)
        }
    }

    // MARK: - find / match

    /// `string.find(s, pattern [, init [, plain]])` and `string.match(s, pattern [, init])`.
    /// The hottest Swift function of rule scripts (called per position by scanning rules), so it
    /// avoids closures and arrays.
    func stringFind(_ t: OpaquePointer, find: Bool) throws(LuaRaise) -> Int32 {
        let args = LuaArguments(t, find ? "find" : "match")
        let subject = try args.bytes(1)
        let patternBytes = try args.bytes(2)
        let initial = lua_type(t, 3) == LUA_TNUMBER && lua_isinteger(t, 3) != 0
            ? Int(lua_tointegerx(t, 3, nil)) : try args.integer(3, default: 1)
        let start = LuaPattern.startOffset(luaInit: initial, length: subject.count)
        if start > subject.count {
            lua_pushnil(t)
            return 1
        }
        if find && (args.truthy(4) || !LuaPattern.hasSpecials(patternBytes)) {
            // A plain search costs about one step per eight bytes looked at.
            let found = LuaEngine.plainFind(patternBytes, in: subject, from: start)
            if !vm.charge(1 + ((found?.upperBound ?? subject.count) - start) / 8) {
                vm.notePatternBudgetExhausted()
                throw .message("pattern too complex: step budget exhausted")
            }
            guard let found else { lua_pushnil(t); return 1 }
            lua_pushinteger(t, lua_Integer(found.lowerBound + 1))
            lua_pushinteger(t, lua_Integer(found.upperBound))
            return 2
        }
        let compiled = try luaPattern(patternBytes)
        let pattern = compiled.value
        var budget = MatchBudget(steps: vm.matchSteps)
        defer { vm.matchSteps = budget.remaining }
        return try pattern.items.withMatcher(subject: subject, budget: &budget) { (m) throws(LuaRaise) -> Int32 in
            let found: Bool
            do throws(MatchError) {
                found = try m.find(from: start, anchored: pattern.isAnchored, skipEnd: -1)
            } catch {
                throw matchFailure(error)
            }
            guard found else { lua_pushnil(t); return 1 }
            var n: Int32 = 0
            if find {
                lua_pushinteger(t, lua_Integer(m.matchStart + 1))
                lua_pushinteger(t, lua_Integer(m.matchEnd))
                n = 2
            }
            return n + (try pushCaptures(t, m, wholeWhenNone: !find))
        }
    }

    /// Lua's plain find (`lmemfind`): `memchr` to the needle's first byte, then `memcmp`. A
    /// byte-by-byte loop here was 10 % of the shipped extract_facts rule's run time.
    static func plainFind(_ needle: UnsafeBufferPointer<UInt8>, in haystack: UnsafeBufferPointer<UInt8>,
                          from start: Int) -> Range<Int>? {
        let m = needle.count
        let n = haystack.count
        guard start >= 0, start <= n else { return nil }
        if m == 0 { return start..<start }
        guard m <= n - start, let base = haystack.baseAddress, let pattern = needle.baseAddress else { return nil }
        let last = n - m
        var i = start
        while i <= last {
            guard let hit = memchr(base + i, Int32(pattern[0]), last - i + 1) else { return nil }
            let j = UnsafeRawPointer(hit) - UnsafeRawPointer(base)
            if m == 1 || memcmp(base + j + 1, pattern + 1, m - 1) == 0 { return j..<(j + m) }
            i = j + 1
        }
        return nil
    }

    /// Pushes the captures of the matcher's last match (or the whole match when it has none
    /// and `wholeWhenNone`); returns how many values were pushed. An unclosed capture is Lua's
    /// "unfinished capture".
    @inline(__always)
    func pushCaptures(_ t: OpaquePointer, _ m: LuaPatternMatcher, wholeWhenNone: Bool) throws(LuaRaise) -> Int32 {
        let count = m.captureCount
        if count == 0 {
            guard wholeWhenNone else { return 0 }
            pushBytes(t, UnsafeBufferPointer(rebasing: m.subject[m.matchStart..<m.matchEnd]))
            return 1
        }
        guard lua_checkstack(t, Int32(count) + 2) != 0 else { throw .message("too many captures") }
        for k in 0..<count {
            switch m.rawCapture(k) {
            case .substring(let r): pushBytes(t, UnsafeBufferPointer(rebasing: m.subject[r]))
            case .position(let p): lua_pushinteger(t, lua_Integer(p))
            case .unfinished: throw .message("unfinished capture")
            }
        }
        return Int32(count)
    }

    // MARK: - gmatch

    /// `string.gmatch(s, pattern [, init])`: an iterator whose state lives in its upvalues
    /// (subject, pattern, next offset, end of the last match), so nothing in Swift outlives it.
    func stringGmatch(_ t: OpaquePointer) throws(LuaRaise) -> Int32 {
        let args = LuaArguments(t, "gmatch")
        let subject = try args.bytes(1)
        _ = try args.bytes(2)
        let initial = try args.integer(3, default: 1)
        var start = LuaPattern.startOffset(luaInit: initial, length: subject.count)
        if start > subject.count { start = subject.count + 1 }
        lua_pushvalue(t, 1)
        // In gmatch a leading '^' is an ordinary character: escape it for the matcher.
        if lua_rawlen(t, 2) > 0, let p = stringBytes(t, 2), p[0] == UInt8(ascii: "^") {
            pushString(t, "%")
            lua_pushvalue(t, 2)
            lua_concat(t, 2)
        } else {
            lua_pushvalue(t, 2)
        }
        lua_pushinteger(t, lua_Integer(start))
        lua_pushinteger(t, -1)
        vm.pushFunction(gmatchStepFunction, upvalues: 4, on: t)
        return 1
    }

    /// One step of a gmatch iterator (upvalues 2–5: subject, pattern, offset, last match end).
    func stringGmatchStep(_ t: OpaquePointer) throws(LuaRaise) -> Int32 {
        guard let subject = stringBytes(t, upvalueIndex(2)), let patternBytes = stringBytes(t, upvalueIndex(3)) else {
            return 0
        }
        let source = Int(sluice_tointeger(t, upvalueIndex(4)))
        let last = Int(sluice_tointeger(t, upvalueIndex(5)))
        let compiled = try luaPattern(patternBytes)
        var budget = MatchBudget(steps: vm.matchSteps)
        defer { vm.matchSteps = budget.remaining }
        return try compiled.value.items.withMatcher(subject: subject, budget: &budget) { (m) throws(LuaRaise) -> Int32 in
            // An empty match where the previous one ended is skipped (`find`'s `skipEnd`).
            var found = false
            if source <= subject.count {
                do throws(MatchError) {
                    found = try m.find(from: source, anchored: false, skipEnd: last)
                } catch {
                    throw matchFailure(error)
                }
            }
            guard found else {
                lua_pushinteger(t, lua_Integer(subject.count + 1))
                lua_copy(t, -1, upvalueIndex(4))
                lua_settop(t, -2)
                return 0
            }
            lua_pushinteger(t, lua_Integer(m.matchEnd))
            lua_copy(t, -1, upvalueIndex(4))
            lua_copy(t, -1, upvalueIndex(5))
            lua_settop(t, -2)
            return try pushCaptures(t, m, wholeWhenNone: true)
        }
    }

    // MARK: - gsub

    /// `string.gsub(s, pattern, repl [, n])`.
    func stringGsub(_ t: OpaquePointer) throws(LuaRaise) -> Int32 {
        let args = LuaArguments(t, "gsub")
        let subject = try args.bytes(1)
        let patternBytes = try args.bytes(2)
        let replType = lua_type(t, 3)
        guard replType == LUA_TNUMBER || replType == LUA_TSTRING || replType == LUA_TTABLE || replType == LUA_TFUNCTION else {
            throw args.typeError(3, expected: "string/function/table")
        }
        let maxReplacements = try args.integer(4, default: subject.count + 1)
        let pattern = try luaPattern(patternBytes).value
        let replacement: LuaReplacement? = replType == LUA_TSTRING || replType == LUA_TNUMBER
            ? LuaReplacement(try args.bytes(3)) : nil
        var out = LuaByteBuffer(capacity: subject.count)
        var budget = MatchBudget(steps: vm.matchSteps)
        let count = try pattern.substitute(
            in: subject, replacement: replacement, maxReplacements: maxReplacements, budget: &budget, into: &out,
            failure: { (error: MatchError) -> LuaRaise in matchFailure(error) },
            replace: { (m, buffer) throws(LuaRaise) in
                // A table or a function: the value decides; false or nil keeps the match.
                vm.matchSteps = m.remaining
                if replType == LUA_TTABLE {
                    sluice_pushcfunction(t, sluice_index_function)
                    lua_pushvalue(t, 3)
                    do throws(MatchError) {
                        push(try m.capture(at: 0), subject: subject, on: t)
                    } catch {
                        throw matchFailure(error)
                    }
                    try vm.nestedCall(t, nargs: 2, nresults: 1)
                } else {
                    lua_pushvalue(t, 3)
                    let n = try pushCaptures(t, m, wholeWhenNone: true)
                    try vm.nestedCall(t, nargs: n, nresults: 1)
                }
                m.remaining = vm.matchSteps
                try appendReplacement(t, start: m.matchStart, end: m.matchEnd, subject: subject, into: &buffer)
            })
        vm.matchSteps = budget.remaining
        pushBytes(t, out.bytes)
        lua_pushinteger(t, lua_Integer(count))
        return 2
    }

    /// Appends the replacement value on the stack top (popping it), as Lua's `add_value`.
    func appendReplacement(_ t: OpaquePointer, start: Int, end: Int, subject: UnsafeBufferPointer<UInt8>,
                           into out: inout LuaByteBuffer) throws(LuaRaise) {
        defer { lua_settop(t, -2) }
        switch lua_type(t, -1) {
        case LUA_TNIL:
            out.append(subject, start, end)
        case LUA_TBOOLEAN where lua_toboolean(t, -1) == 0:
            out.append(subject, start, end)
        case LUA_TSTRING, LUA_TNUMBER:
            if let bytes = stringBytes(t, -1) { out.append(bytes, 0, bytes.count) }
        default:
            throw .message("invalid replacement value (a \(typeName(t, -1)))")
        }
    }
}
