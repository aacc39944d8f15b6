import Foundation
import Logging
import SluiceCore
import SluiceFormats

/// The `exec` transform: hands each record to a program, in any language, and takes its answer.
///
/// **Protocol.** The program is started once (per worker) and kept running. Sluice writes one
/// record per line to its stdin, as one compact JSON object followed by `\n` (UTF-8; integers
/// stay integers, key order is kept). For every input line the program writes **exactly one
/// line** to its stdout, in the same order, and flushes it:
///
/// - a JSON object: the output record (it keeps the input record's origin);
/// - a JSON array of objects: several output records, in that order; `[]` drops the record;
/// - `null`: the record is dropped.
///
/// Anything else (a line that is not JSON, a string, a number, an array holding something other
/// than objects) fails that record: it goes to the dead letters with the stage's name and an
/// excerpt of the bad answer, and the next record goes on. At the end of input stdin is closed;
/// the program should then exit (it is killed after `timeout` seconds). Its stderr goes to the
/// log (level info, labelled with the stage's name), line by line. The program runs in the
/// config's folder with Sluice's environment plus `env`.
///
/// **Failures.** A program that exits (crashes) or gives no answer within `timeout` seconds
/// fails only the record it was answering: that record becomes a dead letter with the reason
/// (`the program exited with status N`, `no answer within T s`) and its last stderr lines. The
/// program is killed (with anything it started) and restarted after a pause that starts at
/// 0.1 s and doubles up to 5 s; the records after the failed one are sent again to the new
/// process. After `max_restarts` restarts in a row without a single answer the stage fails
/// (the run stops) with the exit status and last stderr lines. A program that cannot start at
/// all fails the stage at once, naming the command.
///
/// **Throughput.** A whole batch is written while answers are read (one `poll` loop, no
/// deadlock however large the batch), so the program must answer line by line and flush each
/// answer (Python: `print(..., flush=True)` or `sys.stdout.flush()`), never wait for more input
/// before answering. `workers: N` runs N copies; output keeps input order unless
/// `ordered: false`.
public struct ExecTransform: ConfiguredStage, Transform {
    /// The options of an `exec` transform.
    public struct Configuration: TransformConfiguration, ExecTimeoutConfiguration {
        /// The type name in configs.
        public static let type = "exec"
        /// One line for `sluice stages`.
        public static let summary = "Runs a program in any language on each record: a JSON Lines line in, one line out (object, array or null)."
        /// An entry for `sluice stages exec`.
        public static let example = """
            type: exec
            inputs: articles
            command: [python3, rules/entities.py]
            workers: 2
            timeout: 10
            """
        /// Every option.
        public static var options: [ConfigOption<Self>] {
            commandOptions + [
                timeoutOption,
                .init("workers", \.workers, range: OptionRange(1...maxExecWorkers), doc: "copies of the program running in parallel"),
                .init("ordered", \.ordered, doc: "keep output in input order when workers > 1"),
                .init("max_restarts", \.maxRestarts, range: OptionRange(0...),
                      doc: "restarts in a row without a single answer before the stage fails (the backoff doubles from 0.1 s to 5 s)"),
            ]
        }

        /// `command`.
        public var command: [String] = []
        /// `env`.
        public var env: Value?
        /// `timeout`.
        public var timeout = 30.0
        /// `workers`.
        public var workers = 1
        /// `ordered`.
        public var ordered = true
        /// `max_restarts`.
        public var maxRestarts = 5

        /// Every option at its default.
        public init() {}

        /// Checks the program exists.
        public func makeTransform(_ context: BuildContext) throws -> any Transform {
            try ExecTransform(self, context)
        }
    }

    let command: ExecCommand
    /// Seconds a record may wait for its answer.
    public let timeout: Double
    /// Processes in parallel.
    public let workers: Int
    /// Whether output keeps input order.
    public let ordered: Bool
    /// Restarts in a row without an answer before the stage fails.
    public let maxRestarts: Int

    /// Builds the stage from its configuration (the program must exist).
    public init(_ configuration: Configuration, _ context: BuildContext) throws(ConfigError) {
        command = try configuration.checkedCommand(context)
        timeout = configuration.timeout
        workers = configuration.workers
        ordered = configuration.ordered
        maxRestarts = configuration.maxRestarts
    }

    /// Starts this worker's program.
    public func makeWorker(_ context: StageContext) throws -> any TransformWorker {
        do throws(ExecFailure) {
            return try ExecTransformWorker(spec: self, context: context)
        } catch {
            throw StageError(stage: context.name, message: error.message)
        }
    }
}

/// One worker of ``ExecTransform``: one program.
final class ExecTransformWorker: TransformWorker {
    let spec: ExecTransform
    let context: StageContext
    var child: ChildProcess?
    /// Failures since the last answer.
    var failuresInARow = 0
    var lastFailure = ""

    init(spec: ExecTransform, context: StageContext) throws(ExecFailure) {
        self.spec = spec
        self.context = context
        child = try ChildProcess(spec.command, wiring: .both, logger: context.logger)
    }

    deinit { child?.kill() }

    /// The pause before restart number `n` (from 1): 0.1 s doubling, at most 5 s.
    static func backoff(_ n: Int) -> Double { min(5, 0.1 * pow(2, Double(max(0, n - 1)))) }

    func process(_ batch: [Record], into output: inout TransformOutput) throws {
        var next = 0
        while next < batch.count {
            let child = try running()
            if child.hasUnaskedOutput() {
                context.logger.warning("the program wrote lines nobody asked for (one answer per input line, please); restarting it")
                restart(after: "it wrote lines nobody asked for")
                continue
            }
            var payload: [UInt8] = []
            payload.reserveCapacity((batch.count - next) * 256)
            for record in batch[next...] {
                JSONWriter.write(record.fields, to: &payload)
                payload.append(UInt8(ascii: "\n"))
            }
            let start = next
            let (result, answered) = child.exchange(payload, expected: batch.count - next, timeout: spec.timeout) { k, answer in
                self.handle(answer, for: batch[start + k], into: &output)
            }
            next += answered
            if answered > 0 { failuresInARow = 0 }
            switch result {
            case .complete:
                break
            case .ended:
                var status = child.wait(timeout: 1)
                if status == nil {  // it closed its stdout but lives on: as good as hung
                    child.kill()
                    status = child.status
                }
                let reason = status.map { "\($0)" } ?? "the program closed its output"
                output.deadLetter(batch[next], error: reason, details: details(child))
                next += 1
                restart(after: reason + child.stderr.suffix())
            case .timedOut:
                child.kill()
                let reason = "no answer within \(ChildProcess.seconds(spec.timeout))"
                output.deadLetter(batch[next], error: reason, details: details(child))
                next += 1
                restart(after: reason + child.stderr.suffix())
            }
        }
    }

    /// What a dead letter says besides the reason: the command and its last stderr lines.
    func details(_ child: ChildProcess) -> Fields {
        var details: Fields = ["command": .string(spec.command.display)]
        let lines = child.stderr.lastLines()
        if !lines.isEmpty { details["stderr"] = .array(lines.map { .string($0) }) }
        return details
    }

    /// Turns one answer line into output records, a drop, or a dead letter.
    func handle(_ answer: ArraySlice<UInt8>, for record: Record, into output: inout TransformOutput) {
        let value: Value
        do {
            value = try answer.withUnsafeBytes { try JSONReader.parse($0) }
        } catch {
            output.deadLetter(record, error: "the program's answer is not JSON (\(error)): \(Self.excerpt(answer))")
            return
        }
        switch value {
        case .object(let fields):
            output.emit(Record(fields, origin: record.origin))
        case .null:
            output.drop(record)
        case .array(let items):
            var records: [Record] = []
            for (k, item) in items.enumerated() {
                guard case .object(let fields) = item else {
                    output.deadLetter(record, error: "the program's answer is an array whose item \(k) is \(item.kindName), not an object: \(Self.excerpt(answer))")
                    return
                }
                records.append(Record(fields, origin: record.origin))
            }
            if records.isEmpty { output.drop(record) }
            for r in records { output.emit(r) }
        default:
            output.deadLetter(record, error: "the program's answer must be an object, an array of objects or null, not \(value.kindName): \(Self.excerpt(answer))")
        }
    }

    /// The first 200 characters of a bad answer.
    static func excerpt(_ bytes: ArraySlice<UInt8>) -> String {
        let text = String(decoding: bytes.prefix(200), as: UTF8.self)
        return bytes.count > 200 ? text + "…" : text
    }

    /// The program, started again after a failure (with the backoff), or the stage fails after
    /// too many failures in a row.
    func running() throws -> ChildProcess {
        if let child { return child }
        if failuresInARow > spec.maxRestarts {
            throw StageError(stage: context.name, message:
                "\(spec.command.display) failed \(failuresInARow) times in a row without answering a record; last: \(lastFailure)")
        }
        Thread.sleep(forTimeInterval: Self.backoff(failuresInARow))
        context.logger.notice("restarting \(spec.command.display) (failure \(failuresInARow) in a row)")
        do throws(ExecFailure) {
            let started = try ChildProcess(spec.command, wiring: .both, logger: context.logger)
            child = started
            return started
        } catch {
            throw StageError(stage: context.name, message: error.message)
        }
    }

    /// Kills the program; the next ``running()`` starts a new one.
    func restart(after reason: String) {
        child?.kill()
        child = nil
        failuresInARow += 1
        lastFailure = reason
        context.logger.warning("\(spec.command.display): \(reason)")
    }

    /// Closes the program's input and lets it exit.
    func finish(into output: inout TransformOutput) throws {
        guard let child else { return }
        let status = child.finish(grace: spec.timeout)
        if !status.isSuccess {
            context.logger.warning("\(spec.command.display) ended with \(status) after its input ended")
        }
        self.child = nil
    }
}
