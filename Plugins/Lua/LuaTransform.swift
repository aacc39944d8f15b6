import Foundation
import Logging
import SluiceCore
import SluiceLua

/// The `lua` transform: runs an analyst's rule script on every record (SPEC §6).
///
/// The script defines `process(record, emit)` and may define `init(options)` and
/// `finish(emit)`. Each worker thread has its own Lua state: with `workers: N` there are N
/// independent sets of globals, `init` runs in each, and `finish` runs once per state (so an
/// aggregate built in globals is per worker). A script that defines `finish` therefore runs on
/// one worker unless `workers` is set explicitly, so that its aggregate is one total. The script is
/// compiled, its top level run (in the sandbox, with the limits) and its hooks checked when the
/// config loads, so `sluice validate` reports syntax errors at `SCRIPT:LINE:COL`, a missing
/// `process` and misspelled hooks.
///
/// A record whose script fails (an error, a limit) follows `on_error`; records it emitted
/// before failing are discarded with it. After a memory error the state is rebuilt (script and
/// `init` run again) before the next record, so globals start over.
public struct LuaTransform: Transform, ConfiguredStage {
    /// The options of a `lua` stage.
    public struct Configuration: LuaStageConfiguration {
        /// The type name in configs.
        public static let type = "lua"
        /// One line for `sluice stages`.
        public static let summary = "Runs a Lua rule script (process/init/finish) on each record."
        /// An entry for `sluice stages lua`.
        public static let example = """
            type: lua
            inputs: articles
            script: rules/money.lua
            options: {currency: USD}
            on_error: dead_letter
            """
        /// Every option.
        public static let options: [ConfigOption<Self>] = [
            .init("script", \.script, .path, required: true,
                  doc: "the Lua rule: a file defining process(record, emit), optionally init(options) and finish(emit)"),
            .init("options", \.initOptions, .object, doc: "a mapping handed to init(options)"),
        ] + luaOptions(workersDoc: "Lua states running in parallel, 1 to \(maxLuaWorkers) (default: --workers, the number of cores; 1 for a script with finish)") + [
            .init("modules", \.modules, .list(.path),
                  doc: "more folders require() may load Lua modules from (the script's folder always is one)"),
        ]

        /// `script`.
        public var script = ""
        /// `options`.
        public var initOptions: Value?
        /// `on_error`, `workers`, `ordered`, the limits and `sandbox`.
        public var common = LuaCommonOptions()
        /// `modules`.
        public var modules: [String] = []

        /// Every option at its default.
        public init() {}

        /// Reads and checks the script.
        public func makeTransform(_ context: BuildContext) throws -> any Transform {
            try LuaTransform(self, context)
        }
    }

    /// The script.
    public let script: LuaScript
    /// The mapping handed to `init`.
    public let initOptions: Fields
    /// Limits, sandbox and module folders.
    public let settings: LuaSettings
    /// What a failed record becomes.
    public let onError: LuaErrorPolicy
    /// Lua states in parallel.
    public let workers: Int
    /// Whether output keeps input order.
    public let ordered: Bool

    /// Reads the script, named by the option `script`.
    public var resources: [StageResource] { [.reads(FileSet(pattern: script.path), option: "script")] }

    /// Builds the stage from its configuration: reads the script and checks it (throws every
    /// problem found as a `ConfigError`).
    public init(_ configuration: Configuration, _ context: BuildContext) throws(ConfigError) {
        var problems: [Diagnostic] = []
        for folder in configuration.modules {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) || !isDirectory.boolValue {
                problems += context.error(\Configuration.modules, "the modules folder \(folder) does not exist").diagnostics
            }
        }
        settings = configuration.settings(context, modulePaths: configuration.modules, problems: &problems)
        onError = configuration.common.onError
        ordered = configuration.common.ordered
        initOptions = configuration.initOptions?.objectValue ?? [:]

        let path = configuration.script
        let loaded: LuaScript
        do {
            loaded = try LuaScript(path: path, baseDirectory: context.environment.baseDirectory)
        } catch {
            let name = LuaScript.displayName(of: path, relativeTo: context.environment.baseDirectory)
            problems += context.error(\Configuration.script, "the script \(name) \(error.reason)").diagnostics
            throw ConfigError(problems)
        }
        script = loaded
        let report = LuaScriptChecker.inspect(loaded, settings: settings)
        // An aggregate built in globals and emitted by finish must be one total, not one partial
        // result per core: such a script runs in parallel only when the config asks for it.
        workers = configuration.common.workers ?? (report.hooks.contains("finish") ? 1 : context.environment.defaultWorkers)
        for problem in report.problems {
            if let line = problem.line {
                problems.append(Diagnostic(SourcePosition(file: loaded.displayName, line: line, column: problem.column),
                                           "\(context.kind) '\(context.name)': \(problem.message)"))
            } else {
                problems += context.error(\Configuration.script, "\(loaded.displayName): \(problem.message)").diagnostics
            }
        }
        if !problems.isEmpty { throw ConfigError(problems) }
    }

    /// Opens one Lua state on the calling (worker) thread: runs the script's top level and
    /// `init(options)`. A failure there stops the pipeline.
    public func makeWorker(_ context: StageContext) throws -> any TransformWorker {
        do {
            let rule = try LuaRule(script: script, options: initOptions, settings: settings, logger: context.logger,
                                   workerIndex: context.workerIndex)
            let worker = LuaTransformWorker(rule: rule, policy: FailurePolicy(policy: onError, stage: context.name),
                                            logger: context.logger)
            worker.context = context
            return worker
        } catch {
            throw StageError(stage: context.name, message: error.message)
        }
    }
}

/// One worker of the `lua` transform.
final class LuaTransformWorker: TransformWorker {
    let rule: LuaRule
    let policy: FailurePolicy
    let logger: Logger
    /// Where the time spent in Lua is counted (nil in tests that make workers by hand).
    var context: StageContext?

    init(rule: LuaRule, policy: FailurePolicy, logger: Logger) {
        self.rule = rule
        self.policy = policy
        self.logger = logger
    }

    func process(_ batch: [Record], into output: inout TransformOutput) throws {
        // Time in Lua (marshalling included), for the summary: two monotonic clock reads per
        // record (tens of nanoseconds; one rule call costs 1.3–20 µs, FACTS: Lua boundary).
        var lua: UInt64 = 0
        defer { context?.addLuaTime(nanoseconds: lua) }
        for record in batch {
            let started = DispatchTime.now().uptimeNanoseconds
            let result = rule.process(record)
            lua &+= DispatchTime.now().uptimeNanoseconds &- started
            switch result {
            case .success(let result):
                for fields in result.records { output.emit(Record(fields, origin: record.origin)) }
                if result.dropped { output.drop(record) }
            case .failure(let failure):
                try policy.apply(failure, to: record, output: &output, logger: logger)
            }
        }
    }

    func finish(into output: inout TransformOutput) throws {
        switch rule.finish() {
        case .success(let records):
            for fields in records { output.emit(Record(fields, origin: .synthetic(policy.stage))) }
        case .failure(let failure):
            switch policy.policy {
            case .deadLetter:
                output.deadLetter(DeadLetter(stage: policy.stage, error: failure.message, origin: .synthetic(policy.stage),
                                             details: failure.details))
            case .drop:
                logger.warning("finish failed: \(failure.message)")
            case .fail:
                throw StageError(stage: policy.stage, message: failure.message)
            }
        }
    }
}
