import CLua
import SluiceCore

/// `sluice.re`: regular expressions richer than Lua patterns — PCRE2 (`Matching/PCRE2Pattern.swift`:
/// Unicode properties and scripts, POSIX classes, case folding, alternation, lookaround, named
/// groups), bounded by the same per-record budget as everything else.
///
/// Positions are 1-based byte positions, as in Lua's string functions. A group that did not
/// take part in a match is `false` (so `for a, b in sluice.re.gmatch(...)` never stops early on
/// an absent group). `flags` is any of `i` (case-insensitive), `m` (`^`/`$` at lines), `s`
/// (`.` matches newline), `x` (extended); it may be given in place of `init`.
///
/// - `find(s, re [, init [, flags]])` → start, end, groups… or nil
/// - `match(s, re [, init [, flags]])` → the groups, or the whole match when there are none; nil
/// - `gmatch(s, re [, flags])` → an iterator over the matches (groups or whole match)
/// - `gsub(s, re, repl [, n [, flags]])` → new string, count. `repl` is a template (`$0`/`$&`,
///   `$1`…, `${name}`, `$$`), a table (indexed by the first group or the whole match) or a
///   function (called with the groups or the whole match); false/nil keeps the match
/// - `split(s, re [, max [, flags]])` → an array of the pieces between matches (at most `max`)
/// - `exec(s, re [, init [, flags]])` → a table `{match=, start=, ["end"]=, [1]=…, name=…}`
extension LuaEngine {
    func installRegex() {
        lua_createtable(L, 0, 6)
        vm.setFunction("find") { [unowned self] t throws(LuaRaise) in try self.reFind(t, mode: .find) }
        vm.setFunction("match") { [unowned self] t throws(LuaRaise) in try self.reFind(t, mode: .match) }
        vm.setFunction("exec") { [unowned self] t throws(LuaRaise) in try self.reFind(t, mode: .exec) }
        vm.setFunction("gmatch") { [unowned self] t throws(LuaRaise) in try self.reGmatch(t) }
        vm.setFunction("gsub") { [unowned self] t throws(LuaRaise) in try self.reGsub(t) }
        vm.setFunction("split") { [unowned self] t throws(LuaRaise) in try self.reSplit(t) }
        reGmatchStepFunction = vm.register { [unowned self] t throws(LuaRaise) in try self.reGmatchStep(t) }
        lua_setfield(L, -2, "re")
    }

    /// The compiled regex for the pattern and flags at the given argument indexes (cached).
    func regex(_ t: OpaquePointer, _ args: LuaArguments, pattern: Int32, flags: Int32?) throws(LuaRaise) -> PCRE2Pattern {
        let patternBytes = try args.bytes(pattern)
        var flagBytes: UnsafeBufferPointer<UInt8>?
        if let flags, sluice_isnoneornil(t, flags) == 0 { flagBytes = try args.bytes(flags) }
        var key = Array(patternBytes)
        key.append(0)
        if let flagBytes { key.append(contentsOf: flagBytes) }
        let cached = key.withUnsafeBufferPointer { regexes.lookup($0) }
        if let cached { return cached.value }
        do {
            let compiled = try PCRE2Pattern(bytes: patternBytes, flags: flagBytes ?? UnsafeBufferPointer(start: nil, count: 0))
            _ = key.withUnsafeBufferPointer { regexes.store($0, compiled) }
            return compiled
        } catch {
            throw matchFailure(error, regex: String(decoding: patternBytes, as: UTF8.self))
        }
    }

    /// Pushes group `n` of a match (false when it did not take part).
    func pushGroup(_ t: OpaquePointer, _ match: PCRE2Match, _ n: Int, subject: UnsafeBufferPointer<UInt8>) {
        if let r = match.group(n) {
            pushBytes(t, UnsafeBufferPointer(rebasing: subject[r]))
        } else {
            lua_pushboolean(t, 0)
        }
    }

    /// Pushes what match/gmatch return: the groups, or the whole match. Returns the count.
    func pushValues(_ t: OpaquePointer, _ match: PCRE2Match, subject: UnsafeBufferPointer<UInt8>) throws(LuaRaise) -> Int32 {
        if match.captures.isEmpty {
            pushGroup(t, match, 0, subject: subject)
            return 1
        }
        guard lua_checkstack(t, Int32(match.captures.count) + 2) != 0 else { throw .message("too many groups") }
        for n in 1...match.captures.count { pushGroup(t, match, n, subject: subject) }
        return Int32(match.captures.count)
    }

    enum RegexFindMode { case find, match, exec }

    /// Splits `(init, flags)` arguments at `index`: flags may stand in place of init.
    private func initAndFlags(_ args: LuaArguments, at index: Int32, length: Int) throws(LuaRaise) -> (start: Int, flags: Int32) {
        if args.isNonNumericString(index) { return (0, index) }
        let initial = try args.integer(index, default: 1)
        return (LuaPattern.startOffset(luaInit: initial, length: length), index + 1)
    }

    func reFind(_ t: OpaquePointer, mode: RegexFindMode) throws(LuaRaise) -> Int32 {
        let name = mode == .find ? "sluice.re.find" : mode == .match ? "sluice.re.match" : "sluice.re.exec"
        let args = LuaArguments(t, name)
        let subject = try args.bytes(1)
        let (start, flagsIndex) = try initAndFlags(args, at: 3, length: subject.count)
        let re = try regex(t, args, pattern: 2, flags: flagsIndex)
        guard start <= subject.count else { lua_pushnil(t); return 1 }
        let workspace = regexWorkspace
        let found = try withRegexBudget(re) { (budget: inout MatchBudget) throws(MatchError) in
            try re.firstMatch(in: subject, from: start, budget: &budget, workspace: workspace)
        }
        guard let m = found else { lua_pushnil(t); return 1 }
        switch mode {
        case .find:
            lua_pushinteger(t, lua_Integer(m.range.lowerBound + 1))
            lua_pushinteger(t, lua_Integer(m.range.upperBound))
            guard lua_checkstack(t, Int32(m.captures.count) + 2) != 0 else { throw .message("too many groups") }
            if !m.captures.isEmpty { for n in 1...m.captures.count { pushGroup(t, m, n, subject: subject) } }
            return 2 + Int32(m.captures.count)
        case .match:
            return try pushValues(t, m, subject: subject)
        case .exec:
            lua_createtable(t, Int32(m.captures.count), 3 + Int32(re.captureNames.count))
            pushGroup(t, m, 0, subject: subject)
            lua_setfield(t, -2, "match")
            lua_pushinteger(t, lua_Integer(m.range.lowerBound + 1))
            lua_setfield(t, -2, "start")
            lua_pushinteger(t, lua_Integer(m.range.upperBound))
            lua_setfield(t, -2, "end")
            if !m.captures.isEmpty {
                for n in 1...m.captures.count {
                    pushGroup(t, m, n, subject: subject)
                    lua_rawseti(t, -2, lua_Integer(n))
                }
            }
            for (groupName, n) in re.captureNames {
                pushGroup(t, m, n, subject: subject)
                lua_setfield(t, -2, groupName)
            }
            return 1
        }
    }

    /// Runs a regex call with the current budget, naming the regex in errors.
    func withRegexBudget<T>(_ re: PCRE2Pattern, _ body: (inout MatchBudget) throws(MatchError) -> T) throws(LuaRaise) -> T {
        var budget = MatchBudget(steps: vm.matchSteps)
        do {
            let result = try body(&budget)
            vm.matchSteps = budget.remaining
            return result
        } catch {
            throw matchFailure(error, regex: re.pattern)
        }
    }

    /// `gmatch(s, re [, flags])`: upvalues 2–5 are the subject, the pattern, the flags and the
    /// next offset (-1 when done).
    func reGmatch(_ t: OpaquePointer) throws(LuaRaise) -> Int32 {
        let args = LuaArguments(t, "sluice.re.gmatch")
        _ = try args.bytes(1)
        _ = try regex(t, args, pattern: 2, flags: 3)
        let hasFlags = sluice_isnoneornil(t, 3) == 0
        lua_pushvalue(t, 1)
        lua_pushvalue(t, 2)
        if hasFlags { lua_pushvalue(t, 3) } else { lua_pushstring(t, "") }
        lua_pushinteger(t, 0)
        vm.pushFunction(reGmatchStepFunction, upvalues: 4, on: t)
        return 1
    }

    func reGmatchStep(_ t: OpaquePointer) throws(LuaRaise) -> Int32 {
        let position = Int(sluice_tointeger(t, upvalueIndex(5)))
        guard position >= 0, let subject = stringBytes(t, upvalueIndex(2)), position <= subject.count else { return 0 }
        lua_pushvalue(t, upvalueIndex(3))
        lua_pushvalue(t, upvalueIndex(4))
        let top = lua_gettop(t)
        let re = try regex(t, LuaArguments(t, "sluice.re.gmatch"), pattern: top - 1, flags: top)
        lua_settop(t, top - 2)
        let workspace = regexWorkspace
        let found = try withRegexBudget(re) { (budget: inout MatchBudget) throws(MatchError) in
            try re.firstMatch(in: subject, from: position, budget: &budget, workspace: workspace)
        }
        let next = found.flatMap { PCRE2Pattern.nextSearchStart(after: $0, in: subject) } ?? -1
        lua_pushinteger(t, lua_Integer(next))
        lua_copy(t, -1, upvalueIndex(5))
        lua_settop(t, -2)
        guard let m = found else { return 0 }
        return try pushValues(t, m, subject: subject)
    }

    /// `gsub(s, re, repl [, n [, flags]])`.
    func reGsub(_ t: OpaquePointer) throws(LuaRaise) -> Int32 {
        let args = LuaArguments(t, "sluice.re.gsub")
        let subject = try args.bytes(1)
        let replType = lua_type(t, 3)
        guard replType == LUA_TNUMBER || replType == LUA_TSTRING || replType == LUA_TTABLE || replType == LUA_TFUNCTION else {
            throw args.typeError(3, expected: "string/function/table")
        }
        var flagsIndex: Int32 = 5
        var limit = Int.max
        if args.isNonNumericString(4) {
            flagsIndex = 4
        } else {
            limit = try args.integer(4, default: Int.max)
        }
        let re = try regex(t, args, pattern: 2, flags: flagsIndex)
        var template: PCRE2Replacement?
        if replType == LUA_TSTRING || replType == LUA_TNUMBER {
            do {
                template = try PCRE2Replacement(try args.string(3), for: re)
            } catch {
                throw args.error(3, "\(error)")
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(subject.count)
        var copied = 0
        var count = 0
        var iterator = PCRE2MatchIterator(re, workspace: regexWorkspace)
        var budget = MatchBudget(steps: vm.matchSteps)
        do {
            while count < limit, let m = try iterator.next(in: subject, budget: &budget) {
                out.append(contentsOf: subject[copied..<m.range.lowerBound])
                copied = m.range.upperBound
                count += 1
                if let template {
                    template.expand(m, subject: subject, into: &out)
                    continue
                }
                vm.matchSteps = budget.remaining
                if replType == LUA_TTABLE {
                    sluice_pushcfunction(t, sluice_index_function)
                    lua_pushvalue(t, 3)
                    pushGroup(t, m, m.captures.isEmpty ? 0 : 1, subject: subject)
                    try vm.nestedCall(t, nargs: 2, nresults: 1)
                } else {
                    lua_pushvalue(t, 3)
                    let n = try pushValues(t, m, subject: subject)
                    try vm.nestedCall(t, nargs: n, nresults: 1)
                }
                budget = MatchBudget(steps: vm.matchSteps)
                try appendRegexReplacement(t, match: m, subject: subject, into: &out)
            }
        } catch let error as MatchError {
            throw matchFailure(error, regex: re.pattern)
        } catch let error as LuaRaise {
            throw error
        } catch {
            throw .message("\(error)")
        }
        vm.matchSteps = budget.remaining
        out.append(contentsOf: subject[copied..<subject.count])
        pushBytes(t, out)
        lua_pushinteger(t, lua_Integer(count))
        return 2
    }

    private func appendRegexReplacement(_ t: OpaquePointer, match: PCRE2Match, subject: UnsafeBufferPointer<UInt8>,
                                        into out: inout [UInt8]) throws(LuaRaise) {
        defer { lua_settop(t, -2) }
        switch lua_type(t, -1) {
        case LUA_TNIL:
            out.append(contentsOf: subject[match.range])
        case LUA_TBOOLEAN where lua_toboolean(t, -1) == 0:
            out.append(contentsOf: subject[match.range])
        case LUA_TSTRING, LUA_TNUMBER:
            if let bytes = stringBytes(t, -1) { out.append(contentsOf: bytes) }
        default:
            throw .message("invalid replacement value (a \(typeName(t, -1)))")
        }
    }

    /// `split(s, re [, max [, flags]])`: the pieces between matches. An empty match at the very
    /// start or end does not make an empty piece.
    func reSplit(_ t: OpaquePointer) throws(LuaRaise) -> Int32 {
        let args = LuaArguments(t, "sluice.re.split")
        let subject = try args.bytes(1)
        var flagsIndex: Int32 = 4
        var maxPieces = Int.max
        if args.isNonNumericString(3) {
            flagsIndex = 3
        } else {
            maxPieces = try args.integer(3, default: Int.max)
            if maxPieces < 1 { maxPieces = Int.max }
        }
        let re = try regex(t, args, pattern: 2, flags: flagsIndex)
        var pieces: [Range<Int>] = []
        var copied = 0
        let workspace = regexWorkspace
        try withRegexBudget(re) { (budget: inout MatchBudget) throws(MatchError) in
            var iterator = PCRE2MatchIterator(re, workspace: workspace)
            while pieces.count < maxPieces - 1, let m = try iterator.next(in: subject, budget: &budget) {
                if m.range.isEmpty && (m.range.lowerBound == 0 || m.range.lowerBound == subject.count) { continue }
                pieces.append(copied..<m.range.lowerBound)
                copied = m.range.upperBound
            }
        }
        pieces.append(copied..<subject.count)
        marshal.pushEmptyArray(t, capacity: Int32(clamping: pieces.count))
        for (k, r) in pieces.enumerated() {
            pushBytes(t, UnsafeBufferPointer(rebasing: subject[r]))
            lua_rawseti(t, -2, lua_Integer(k + 1))
        }
        return 1
    }
}
