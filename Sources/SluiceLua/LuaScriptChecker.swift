import CLua
import Foundation
import Logging
import SluiceCore

/// One problem found in a rule script before it runs.
public struct LuaScriptProblem: Sendable, Hashable, CustomStringConvertible {
    /// The 1-based line in the script, or nil when the problem is about the script as a whole.
    public var line: Int?
    /// The 1-based column (1 when unknown).
    public var column: Int
    /// What is wrong.
    public var message: String

    /// Creates a problem.
    public init(line: Int?, column: Int = 1, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    /// `LINE:COL: MESSAGE` or the message.
    public var description: String {
        line.map { "\($0):\(column): \(message)" } ?? message
    }
}

/// What `sluice validate` checks in a rule script: that it compiles (text only), that its top
/// level runs (in the sandbox, with the limits), that it defines `process` as a function, that
/// `init` and `finish`, when present, are functions, and that no global function looks like a
/// misspelled hook (`proces`, `Process`, `init_`, `finsh` → "did you mean 'process'?").
/// `init` is not run.
public enum LuaScriptChecker {
    /// The hook functions Sluice calls.
    public static let hooks = ["init", "process", "finish"]

    /// What a check found: the problems (none when the script is fine) and the hooks the
    /// script defines as functions.
    public struct Report: Sendable {
        /// Every problem found; empty when the script is fine.
        public var problems: [LuaScriptProblem]
        /// The hooks (`init`, `process`, `finish`) the script defines as functions.
        public var hooks: Set<String>
    }

    /// Checks a script; an empty result means it is fine.
    public static func check(_ script: LuaScript, settings: LuaSettings) -> [LuaScriptProblem] {
        inspect(script, settings: settings).problems
    }

    /// Checks a script and tells which hooks it defines.
    public static func inspect(_ script: LuaScript, settings: LuaSettings) -> Report {
        let engine: LuaEngine
        do {
            engine = try LuaEngine(settings: settings, scriptFolder: script.folder,
                                   logger: Logger(label: "sluice.validate"))
        } catch {
            return Report(problems: [LuaScriptProblem(line: nil, message: error.message)], hooks: [])
        }
        if let failure = engine.runChunk(script.source, displayName: script.displayName) {
            let prefix = failure.kind == .syntax ? "" : "the script's top level fails: "
            return Report(problems: [problem(failure, script: script, prefix: prefix)], hooks: [])
        }
        return checkGlobals(engine, script: script)
    }

    /// A problem from a load or run failure, at the line its message names.
    static func problem(_ failure: LuaFailure, script: LuaScript, prefix: String) -> LuaScriptProblem {
        guard let (chunk, line) = LuaEngine.splitPlace(failure.message), chunk == script.displayName else {
            return LuaScriptProblem(line: nil, message: prefix + failure.message)
        }
        // The text after "chunk:line: ".
        var text = failure.message.dropFirst(chunk.count + 1)
        text = text.drop { $0 != ":" }.dropFirst()
        let message = text.trimmingCharacters(in: .whitespaces)
        let sourceLine = LuaScript.line(line, of: script.source, trimmed: false)
        return LuaScriptProblem(line: line, column: column(of: message, inLine: sourceLine), message: prefix + message)
    }

    /// The column of the token a syntax message names (`near 'x'`), or 1. The parser stops at
    /// the offending token, so its last occurrence on the line is taken.
    static func column(of message: String, inLine line: String?) -> Int {
        guard let line, let near = message.range(of: "near '") else { return 1 }
        let token = message[near.upperBound...].prefix { $0 != "'" }
        guard !token.isEmpty, !token.hasPrefix("<"), let found = line.range(of: token, options: .backwards) else { return 1 }
        return line.utf8.distance(from: line.startIndex, to: found.lowerBound) + 1
    }

    private static func checkGlobals(_ engine: LuaEngine, script: LuaScript) -> Report {
        let L = engine.L
        var problems: [LuaScriptProblem] = []
        var defined: [String: String] = [:]            // hook -> Lua type
        var scriptFunctions: [(name: String, line: Int)] = []
        let source = "@" + script.displayName
        sluice_pushglobaltable(L)
        lua_pushnil(L)
        while lua_next(L, -2) != 0 {
            if lua_type(L, -2) == LUA_TSTRING, let name = stringValue(L, -2) {
                if hooks.contains(name) { defined[name] = typeName(L, -1) }
                if lua_type(L, -1) == LUA_TFUNCTION {
                    lua_pushvalue(L, -1)
                    var ar = lua_Debug()
                    if lua_getinfo(L, ">S", &ar) != 0, let s = ar.source, String(cString: s) == source {
                        scriptFunctions.append((name, Int(ar.linedefined)))
                    }
                }
            }
            lua_settop(L, -2)
        }
        lua_settop(L, 0)

        for hook in hooks {
            if let kind = defined[hook], kind != "function" {
                problems.append(LuaScriptProblem(line: nil, message: "'\(hook)' must be a function, not a \(kind)"))
            }
        }
        var misspelled: Set<String> = []
        for (name, line) in scriptFunctions.sorted(by: { $0.line < $1.line }) where !hooks.contains(name) {
            guard let hook = Suggest.closest(to: name, in: hooks), defined[hook] == nil,
                  name.first?.lowercased() == hook.first.map(String.init) else { continue }
            misspelled.insert(hook)
            problems.append(LuaScriptProblem(
                line: line, message: "function '\(name)' is not a hook Sluice calls; did you mean '\(hook)'?"))
        }
        if defined["process"] == nil && !misspelled.contains("process") {
            problems.append(LuaScriptProblem(line: nil, message: "the script defines no global function 'process(record, emit)'"))
        }
        return Report(problems: problems, hooks: Set(defined.filter { $0.value == "function" }.keys))
    }
}
