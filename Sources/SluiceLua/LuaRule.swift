import CLua
import Foundation
import Logging
import OrderedCollections
import SluiceCore

/// What a rule made of one record.
public struct LuaRecordResult: Sendable {
    /// The records to pass on, in order: each `emit(t)`, then the returned record.
    public var records: [Fields]
    /// Whether `process` returned nil (the input record is dropped; emitted records still go on).
    public var dropped: Bool
}

/// A rule script running in one Lua state: `init(options)` once, `process(record, emit)` per
/// record, `finish(emit)` at the end (SPEC §6).
///
/// Not `Sendable`: make one per worker thread, on that thread, and use it only there. A failed
/// record never affects the next one; after a memory error the state is rebuilt (the script
/// and `init` run again) before the next record, because a state that ran out of memory may
/// hold half-updated globals.
public final class LuaRule {
    /// The script.
    public let script: LuaScript
    /// The `options` mapping handed to `init`.
    public let options: Fields
    /// Limits, sandbox and module folders.
    public let settings: LuaSettings
    private let logger: Logger
    private let workerIndex: Int
    private var engine: LuaEngine
    private var processRef: Int32 = 0
    private var finishRef: Int32?

    /// Loads the script in a new state and runs its top level and `init(options)`. Throws the
    /// failure of any of those steps (a syntax error, a runtime error, no `process` function).
    public init(script: LuaScript, options: Fields = [:], settings: LuaSettings, logger: Logger? = nil,
                workerIndex: Int = 0) throws(LuaFailure) {
        self.script = script
        self.options = options
        self.settings = settings
        var log = logger ?? Logger(label: "sluice.\(settings.stageName)")
        log[metadataKey: "stage"] = .string(settings.stageName)
        self.logger = log
        self.workerIndex = workerIndex
        let (engine, processRef, finishRef) = try LuaRule.build(script: script, options: options, settings: settings,
                                                                logger: log, workerIndex: workerIndex)
        self.engine = engine
        self.processRef = processRef
        self.finishRef = finishRef
    }

    private static func build(script: LuaScript, options: Fields, settings: LuaSettings, logger: Logger,
                              workerIndex: Int) throws(LuaFailure) -> (LuaEngine, Int32, Int32?) {
        let engine = try LuaEngine(settings: settings, scriptFolder: script.folder, logger: logger, workerIndex: workerIndex)
        if let failure = engine.runChunk(script.source, displayName: script.displayName) { throw failure }
        let process = engine.globalFunction("process")
        guard let processRef = process.ref else {
            throw LuaFailure(kind: .script, message: process.kind == "nil"
                ? "\(script.displayName): the script defines no global function 'process(record, emit)'"
                : "\(script.displayName): 'process' must be a function, not a \(process.kind)")
        }
        let finish = engine.globalFunction("finish")
        if finish.ref == nil && finish.kind != "nil" {
            throw LuaFailure(kind: .script, message: "\(script.displayName): 'finish' must be a function, not a \(finish.kind)")
        }
        let initial = engine.globalFunction("init")
        if let initRef = initial.ref {
            engine.marshal.beginCall()
            let co = engine.callThread()
            lua_rawgeti(co, luaRegistryIndex, lua_Integer(initRef))
            engine.marshal.push(co, object: options)
            if let failure = engine.call(nargs: 1, nresults: 0) { throw failure }
            luaL_unref(engine.L, luaRegistryIndex, initRef)
        } else if initial.kind != "nil" {
            throw LuaFailure(kind: .script, message: "\(script.displayName): 'init' must be a function, not a \(initial.kind)")
        }
        return (engine, processRef, finish.ref)
    }

    /// Bytes the state holds now.
    public var memoryUsed: Int { engine.vm.memoryUsed }

    /// Runs `process(record, emit)` on one record.
    public func process(_ record: Record) -> Result<LuaRecordResult, LuaFailure> {
        if engine.needsRebuild {
            do {
                try rebuild()
            } catch {
                return .failure(LuaFailure(kind: error.kind, message: "the Lua state could not be rebuilt after a memory error: \(error.message)"))
            }
        }
        let engine = self.engine
        engine.marshal.beginCall()
        engine.currentOrigin = record.origin
        engine.emitted.removeAll(keepingCapacity: true)
        engine.emitAllowed = true
        let L = engine.callThread()
        defer {
            engine.emitAllowed = false
            engine.clearCallThread()
        }
        lua_rawgeti(L, luaRegistryIndex, lua_Integer(processRef))
        engine.marshal.push(L, object: record.fields)
        if engine.marshal.truncated { return .failure(.tooDeep) }
        lua_rawgeti(L, luaRegistryIndex, lua_Integer(engine.emitFunctionRef))
        if let failure = engine.call(nargs: 2, nresults: 1) { return .failure(failure) }
        var records = engine.emitted
        switch lua_type(L, -1) {
        case LUA_TNIL:
            return .success(LuaRecordResult(records: records, dropped: true))
        case LUA_TTABLE:
            do throws(MarshalError) {
                records.append(try engine.marshal.record(L, at: -1))
            } catch {
                return .failure(badResult("process returned a record that cannot be written: \(error.message)", returned: "table"))
            }
            return .success(LuaRecordResult(records: records, dropped: false))
        default:
            if engine.marshal.isNull(L, -1) {
                return .success(LuaRecordResult(records: records, dropped: true))
            }
            let returned = typeName(L, -1)
            return .failure(badResult("process returned a \(returned); it must return a table (the record) or nil (to drop it)",
                                      returned: returned))
        }
    }

    /// Runs `finish(emit)` if the script defines it; returns the emitted records.
    public func finish() -> Result<[Fields], LuaFailure> {
        guard let finishRef else { return .success([]) }
        if engine.needsRebuild {
            do { try rebuild() } catch { return .failure(error) }
        }
        let engine = self.engine
        engine.marshal.beginCall()
        engine.currentOrigin = nil
        engine.emitted.removeAll(keepingCapacity: true)
        engine.emitAllowed = true
        let L = engine.callThread()
        defer {
            engine.emitAllowed = false
            engine.clearCallThread()
        }
        lua_rawgeti(L, luaRegistryIndex, lua_Integer(finishRef))
        lua_rawgeti(L, luaRegistryIndex, lua_Integer(engine.emitFunctionRef))
        if let failure = engine.call(nargs: 1, nresults: 0) { return .failure(failure) }
        return .success(engine.emitted)
    }

    private func rebuild() throws(LuaFailure) {
        // A warning: globals start over, so an aggregate kept for finish() loses what it had.
        logger.warning("rebuilding the Lua state after a memory error: the script's globals start over (totals kept for finish restart)",
                       metadata: ["script": .string(script.displayName)])
        let (engine, processRef, finishRef) = try LuaRule.build(script: script, options: options, settings: settings,
                                                                logger: logger, workerIndex: workerIndex)
        self.engine = engine
        self.processRef = processRef
        self.finishRef = finishRef
    }

    /// A failure about what `process` returned (a value of Lua type `returned`), placed at the
    /// `return` statement that gave it when the source tells which one (``LuaReturnLines``),
    /// else at the function's first line with the lines of the returns that may have.
    private func badResult(_ text: String, returned: String) -> LuaFailure {
        let L = engine.L
        lua_rawgeti(L, luaRegistryIndex, lua_Integer(processRef))
        var ar = lua_Debug()
        var place = script.displayName
        var note = ""
        if lua_getinfo(L, ">S", &ar) != 0, ar.linedefined > 0 {
            let source = ar.source.map { String(cString: $0) } ?? ""
            // Only a function defined in the rule's own file (not a module) can be read again.
            let lines = source == "@" + script.displayName
                ? LuaReturnLines.candidates(returning: returned, in: LuaEngine.withoutPreamble(script.source), firstLine: Int(ar.linedefined)) : []
            if lines.count == 1 {
                place += ":\(lines[0])"
            } else {
                place += ":\(ar.linedefined)"
                if lines.count > 1 { note = " (from one of the returns on lines \(lines.map(String.init).joined(separator: ", ")))" }
            }
        }
        lua_settop(L, 0)
        let message = "\(place): \(text)\(note)"
        return LuaFailure(kind: .badResult, message: message, scriptLine: engine.scriptLine(for: message))
    }
}

/// A Lua expression over `record` (the `filter` transform's condition), compiled once per
/// state as `function(record) return (EXPRESSION) end`, with the same sandbox and limits.
public final class LuaExpression {
    /// The expression's text.
    public let expression: String
    /// The chunk name messages use (`condition`).
    public let name: String
    private let settings: LuaSettings
    private let logger: Logger
    private let workerIndex: Int
    private var engine: LuaEngine
    private var functionRef: Int32

    /// Compiles the expression in a new state.
    public init(_ expression: String, name: String = "condition", settings: LuaSettings, logger: Logger? = nil,
                workerIndex: Int = 0) throws(LuaFailure) {
        self.expression = expression
        self.name = name
        self.settings = settings
        self.workerIndex = workerIndex
        var log = logger ?? Logger(label: "sluice.\(settings.stageName)")
        log[metadataKey: "stage"] = .string(settings.stageName)
        self.logger = log
        (engine, functionRef) = try Self.compile(expression, name: name, settings: settings, logger: log,
                                                 workerIndex: workerIndex)
    }

    private static func compile(_ expression: String, name: String, settings: LuaSettings, logger: Logger,
                                workerIndex: Int) throws(LuaFailure) -> (LuaEngine, Int32) {
        let engine = try LuaEngine(settings: settings, scriptFolder: nil, logger: logger, workerIndex: workerIndex)
        // Compile the user's text alone first, so a syntax error points at what they wrote
        // (`condition:1: unexpected symbol near <eof>`), not at the wrapper's closing `)`.
        if let failure = engine.load(Array("return \(expression)".utf8), displayName: name) { throw failure }
        lua_settop(engine.L, -2)
        let source = Array("return function(record) return (\(expression)\n) end".utf8)
        if let failure = engine.runChunk(source, displayName: name, nresults: 1) { throw failure }
        // Dead letters quote the condition's own line, not the wrapper (same line numbers).
        engine.chunkSources[name] = Array(expression.utf8)
        let co = engine.callThread()
        guard lua_type(co, -1) == LUA_TFUNCTION else {
            throw LuaFailure(kind: .syntax, message: "\(name): not an expression")
        }
        let ref = luaL_ref(co, luaRegistryIndex)
        lua_settop(co, 0)
        return (engine, ref)
    }

    /// Whether the expression is truthy for `record` (nil, false and `sluice.null` are not).
    public func evaluate(_ record: Record) -> Result<Bool, LuaFailure> {
        if engine.needsRebuild {
            // A memory error leaves a state that cannot be trusted: start a fresh one.
            do {
                (engine, functionRef) = try Self.compile(expression, name: name, settings: settings, logger: logger,
                                                         workerIndex: workerIndex)
            } catch {
                return .failure(LuaFailure(kind: error.kind, message: "the Lua state could not be rebuilt after a memory error: \(error.message)"))
            }
        }
        let engine = self.engine
        engine.marshal.beginCall()
        engine.currentOrigin = record.origin
        let L = engine.callThread()
        defer { engine.clearCallThread() }
        lua_rawgeti(L, luaRegistryIndex, lua_Integer(functionRef))
        engine.marshal.push(L, object: record.fields)
        if engine.marshal.truncated { return .failure(.tooDeep) }
        if let failure = engine.call(nargs: 1, nresults: 1) { return .failure(failure) }
        return .success(lua_toboolean(L, -1) != 0 && !engine.marshal.isNull(L, -1))
    }

    /// Compiles `expression` without keeping the state: the syntax error, if any.
    public static func check(_ expression: String, name: String = "condition", settings: LuaSettings) -> LuaFailure? {
        do {
            _ = try LuaExpression(expression, name: name, settings: settings)
            return nil
        } catch {
            return error
        }
    }
}

extension LuaFailure {
    /// A record nested deeper than Lua rules take: failed rather than passed on with its
    /// deepest values replaced by null.
    static var tooDeep: LuaFailure {
        LuaFailure(kind: .unsupportedInput,
                   message: "the record is nested more than \(LuaMarshal.maxDepth) levels deep; Lua rules take at most \(LuaMarshal.maxDepth)")
    }
}
