import Foundation
import SluiceCore
import SluiceLua
import Logging

/// The values of the options the `lua` and `filter` transforms share.
public struct LuaCommonOptions: Sendable {
    /// `on_error`.
    public var onError = LuaErrorPolicy.deadLetter
    /// `workers`; `nil`: `--workers` (the cores).
    public var workers: Int?
    /// `ordered`.
    public var ordered = true
    /// `max_instructions`.
    public var maxInstructions = LuaLimits.defaultMaxInstructions
    /// `max_memory`.
    public var maxMemory = LuaLimits.defaultMaxMemory
    /// `sandbox`.
    public var sandbox = true

    /// Every option at its default.
    public init() {}
}

/// A configuration with the shared Lua options, listing ``luaOptions(workersDoc:)`` among its
/// options.
protocol LuaStageConfiguration: TransformConfiguration {
    /// The shared options' values.
    var common: LuaCommonOptions { get set }
}

/// More threads than this is a typo, not a plan (each worker is a thread and a Lua state).
let maxLuaWorkers = 256

extension LuaStageConfiguration {
    /// The shared options; `workersDoc` says what `workers` defaults to.
    static func luaOptions(workersDoc: String) -> [ConfigOption<Self>] {
        [
            .init("on_error", \.common.onError, doc: "what a record whose script fails becomes: dead_letter, drop, or fail (stop the pipeline)"),
            .init("workers", \.common.workers, range: OptionRange(1...maxLuaWorkers), doc: workersDoc),
            .init("ordered", \.common.ordered, doc: "keep output in input order when workers > 1"),
            .init("max_instructions", \.common.maxInstructions, range: OptionRange(0...),
                  doc: "budget per record in Lua VM instructions, pattern steps included (0: no limit)"),
            .init("max_memory", \.common.maxMemory, .size, doc: "memory one Lua state may use, e.g. 64MiB (0: no limit)"),
            .init("sandbox", \.common.sandbox, doc: "no io, os.execute, C modules or files outside the script's folders; false is dangerous (trusted scripts only)"),
        ]
    }

    /// The settings built from the shared options; problems are added to `problems`.
    func settings(_ context: BuildContext, modulePaths: [String] = [], problems: inout [Diagnostic]) -> LuaSettings {
        let maxMemory = common.maxMemory
        if maxMemory > 0 && maxMemory < 1 << 20 {
            problems += context.error(\Self.common.maxMemory, "option 'max_memory' of \(maxMemory) bytes is too small for a Lua state; give at least 1MiB (0 means no limit)").diagnostics
        }
        return LuaSettings(stageName: context.name,
                           limits: LuaLimits(maxInstructions: common.maxInstructions, maxMemory: max(0, maxMemory)),
                           sandbox: common.sandbox, modulePaths: modulePaths,
                           baseDirectory: context.environment.baseDirectory)
    }
}

/// Applies a stage's `on_error` policy to a failed record.
struct FailurePolicy {
    let policy: LuaErrorPolicy
    let stage: String

    func apply(_ failure: LuaFailure, to record: Record, output: inout TransformOutput, logger: Logger) throws {
        let failure = failure.explainingMissingFields(in: record.fields)
        switch policy {
        case .deadLetter:
            output.deadLetter(record, error: failure.message, details: failure.details)
        case .drop:
            logger.debug("dropped a record after a script error: \(failure.message)",
                         metadata: ["record": .string(record.origin.location ?? record.origin.source)])
            output.drop(record)
        case .fail:
            throw StageError(stage: stage, message: failure.message
                + (record.origin.location.map { " (record from \($0))" } ?? ""))
        }
    }
}
