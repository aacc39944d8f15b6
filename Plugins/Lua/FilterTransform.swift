import Foundation
import Logging
import SluiceCore
import SluiceLua

/// The `filter` transform: keeps the records for which a Lua expression over `record` is
/// truthy (`record.word_count >= 100`). nil, false and `sluice.null` drop the record. The
/// expression runs in the same sandbox and under the same limits as a `lua` rule; an error in
/// it follows `on_error`.
public struct FilterTransform: Transform, ConfiguredStage {
    /// The options of a `filter` stage.
    public struct Configuration: LuaStageConfiguration {
        /// The type name in configs.
        public static let type = "filter"
        /// One line for `sluice stages`.
        public static let summary = "Keeps the records for which a Lua condition over `record` is true."
        /// An entry for `sluice stages filter`.
        public static let example = """
            type: filter
            inputs: articles
            condition: record.word_count >= 100 and record.language == "en"
            """
        /// Every option.
        public static let options: [ConfigOption<Self>] = [
            .init("condition", \.condition, required: true, doc: "a Lua expression over `record`, e.g. record.word_count >= 100"),
        ] + luaOptions(workersDoc: "Lua states running in parallel, 1 to \(maxLuaWorkers) (default: --workers, the number of cores)")

        /// `condition`.
        public var condition = ""
        /// `on_error`, `workers`, `ordered`, the limits and `sandbox`.
        public var common = LuaCommonOptions()

        /// Every option at its default.
        public init() {}

        /// Compiles the condition.
        public func makeTransform(_ context: BuildContext) throws -> any Transform {
            try FilterTransform(self, context)
        }
    }

    /// The condition's text.
    public let condition: String
    /// Limits and sandbox.
    public let settings: LuaSettings
    /// What a record whose condition fails becomes.
    public let onError: LuaErrorPolicy
    /// Lua states in parallel.
    public let workers: Int
    /// Whether output keeps input order.
    public let ordered: Bool

    /// Builds the stage and compiles the condition (a syntax error is a `ConfigError` at the
    /// `condition` option).
    public init(_ configuration: Configuration, _ context: BuildContext) throws(ConfigError) {
        var problems: [Diagnostic] = []
        settings = configuration.settings(context, problems: &problems)
        onError = configuration.common.onError
        workers = configuration.common.workers ?? context.environment.defaultWorkers
        ordered = configuration.common.ordered
        condition = configuration.condition
        if condition.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            problems += context.error(\Configuration.condition, "option 'condition' must be a Lua expression, such as record.word_count >= 100").diagnostics
        } else if let failure = LuaExpression.check(condition, settings: settings) {
            problems += context.error(\Configuration.condition, "the condition does not compile: \(failure.message)").diagnostics
        }
        if !problems.isEmpty { throw ConfigError(problems) }
    }

    /// Compiles the condition in a new Lua state on the worker's thread.
    public func makeWorker(_ context: StageContext) throws -> any TransformWorker {
        do {
            let expression = try LuaExpression(condition, settings: settings, logger: context.logger,
                                               workerIndex: context.workerIndex)
            let worker = FilterWorker(expression: expression, policy: FailurePolicy(policy: onError, stage: context.name),
                                      logger: context.logger)
            worker.context = context
            return worker
        } catch {
            throw StageError(stage: context.name, message: error.message)
        }
    }
}

/// One worker of the `filter` transform.
final class FilterWorker: TransformWorker {
    let expression: LuaExpression
    let policy: FailurePolicy
    let logger: Logger
    /// Where the time spent in Lua is counted (nil in tests that make workers by hand).
    var context: StageContext?

    init(expression: LuaExpression, policy: FailurePolicy, logger: Logger) {
        self.expression = expression
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
            let result = expression.evaluate(record)
            lua &+= DispatchTime.now().uptimeNanoseconds &- started
            switch result {
            case .success(true): output.emit(record)
            case .success(false): output.drop(record)
            case .failure(let failure): try policy.apply(failure, to: record, output: &output, logger: logger)
            }
        }
    }
}
