import Foundation
import SluiceCore
import SluiceLua
import Logging

/// Options the `lua` and `filter` transforms share.
enum LuaStageOptions {
    static let onError = OptionSpec(
        "on_error", .oneOf(LuaErrorPolicy.allCases.map(\.rawValue)), default: .string(LuaErrorPolicy.deadLetter.rawValue),
        doc: "what a record whose script fails becomes: dead_letter, drop, or fail (stop the pipeline)")
    static let workers = OptionSpec(
        "workers", .integer, doc: "Lua states running in parallel, 1 to \(maxWorkers) (default: --workers, the number of cores; 1 for a script with finish)")
    static let filterWorkers = OptionSpec(
        "workers", .integer, doc: "Lua states running in parallel, 1 to \(maxWorkers) (default: --workers, the number of cores)")
    /// More threads than this is a typo, not a plan (each worker is a thread and a Lua state).
    static let maxWorkers = 256
    static let ordered = OptionSpec(
        "ordered", .boolean, default: true, doc: "keep output in input order when workers > 1")
    static let maxInstructions = OptionSpec(
        "max_instructions", .integer, default: .int(Int64(LuaLimits.defaultMaxInstructions)),
        doc: "budget per record in Lua VM instructions, pattern steps included (0: no limit)")
    static let maxMemory = OptionSpec(
        "max_memory", .size, default: .string("64MiB"),
        doc: "memory one Lua state may use, e.g. 64MiB (0: no limit)")
    static let sandbox = OptionSpec(
        "sandbox", .boolean, default: true,
        doc: "no io, os.execute, C modules or files outside the script's folders; false is dangerous (trusted scripts only)")

    /// The common settings, checked; problems are added to `problems`.
    static func settings(_ options: StageOptions, modulePaths: [String] = [], problems: inout [Diagnostic])
        -> (LuaSettings, LuaErrorPolicy, workers: Int, ordered: Bool)
    {
        var maxInstructions = options.int("max_instructions") ?? LuaLimits.defaultMaxInstructions
        if maxInstructions < 0 {
            problems.append(options.error("max_instructions", "option 'max_instructions' must not be negative (0 means no limit)").diagnostics[0])
            maxInstructions = 0
        }
        let maxMemory = options.int("max_memory") ?? LuaLimits.defaultMaxMemory
        if maxMemory > 0 && maxMemory < 1 << 20 {
            problems.append(options.error("max_memory", "option 'max_memory' of \(maxMemory) bytes is too small for a Lua state; give at least 1MiB (0 means no limit)").diagnostics[0])
        }
        var workers = options.int("workers") ?? options.environment.defaultWorkers
        if workers < 1 || workers > maxWorkers {
            problems.append(options.error("workers", "option 'workers' must be between 1 and \(maxWorkers), not \(workers)").diagnostics[0])
            workers = 1
        }
        let policy = options.string("on_error").flatMap(LuaErrorPolicy.init(rawValue:)) ?? .deadLetter
        let settings = LuaSettings(stageName: options.name,
                                   limits: LuaLimits(maxInstructions: maxInstructions, maxMemory: max(0, maxMemory)),
                                   sandbox: options.bool("sandbox") ?? true,
                                   modulePaths: modulePaths,
                                   baseDirectory: options.environment.baseDirectory)
        return (settings, policy, workers, options.bool("ordered") ?? true)
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
