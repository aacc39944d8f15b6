import Foundation
import Logging
import SluiceCore
import SluiceFormats

/// The `exec` source: runs a program and reads the records it writes, one JSON object per line
/// on its stdout, until it exits.
///
/// Its stdin is `/dev/null`, its stderr goes to the log (level info, labelled with the stage's
/// name), it runs in the config's folder with Sluice's environment plus `env`. A line that is
/// not a JSON object is a dead letter (with the line number in the program's output and the
/// raw line) and the next line goes on; blank lines are skipped. Records are handed on in
/// batches, and whatever was read is handed on when the program has been quiet for 0.2 s, so a
/// program that produces records slowly (a poller) is not held back.
///
/// When the program exits with status 0 the source ends. Any other exit fails the source, and
/// the run, with the status and the program's last stderr lines (the records read before it are
/// still delivered). When the pipeline stops (Ctrl-C, a failure elsewhere) the program is
/// killed, with anything it started.
///
/// **Delivery is at least once.** A program's output cannot be read again at a position, so
/// records carry no position (`origin.position` is nil) and no checkpoint is kept: every run
/// starts the program afresh, and what it writes is delivered again. A program that should emit
/// only what is new keeps its own state (a file in the config's folder, say).
public struct ExecSource: ConfiguredStage, Source {
    /// The options of an `exec` source.
    public struct Configuration: SourceConfiguration, ExecStageConfiguration {
        /// The type name in configs.
        public static let type = "exec"
        /// One line for `sluice stages`.
        public static let summary = "Runs a program and reads the JSON Lines it writes to stdout until it exits."
        /// An entry for `sluice stages exec`.
        public static let example = """
            type: exec
            command: [python3, fetch_feed.py, --since, yesterday]
            env: {FEED_TOKEN: "${FEED_TOKEN}"}
            """
        /// Every option.
        public static var options: [ConfigOption<Self>] { commandOptions }

        /// `command`.
        public var command: [String] = []
        /// `env`.
        public var env: Value?

        /// Every option at its default.
        public init() {}

        /// Checks the program exists.
        public func makeSource(_ context: BuildContext) throws -> any Source {
            try ExecSource(self, context)
        }
    }

    let command: ExecCommand

    /// Builds the stage from its configuration (the program must exist).
    public init(_ configuration: Configuration, _ context: BuildContext) throws(ConfigError) {
        command = try configuration.checkedCommand(context)
    }
    /// Seconds of quiet after which a partial batch is handed on.
    static let idle = 0.2

    /// Runs the program to its end.
    public func run(_ context: SourceContext) throws {
        let child: ChildProcess
        do throws(ExecFailure) {
            child = try ChildProcess(command, wiring: .readOnly, logger: context.logger)
        } catch {
            throw StageError(stage: context.name, message: error.message)
        }
        defer { child.kill() }
        var batch: [Record] = []
        batch.reserveCapacity(context.batchSize)
        var lineNumber = 0
        while true {
            let (line, ended) = child.readLine(idle: Self.idle)
            if let line {
                lineNumber += 1
                let origin = Origin(source: context.name, line: lineNumber)
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                do {
                    let value = try JSONReader.parse(line)
                    if case .object(let fields) = value {
                        batch.append(Record(fields, origin: origin))
                    } else {
                        context.deadLetter(rawBytes: line, error: "the program wrote \(value.kindName), not a JSON object",
                                           origin: origin, details: ["command": .string(command.display)])
                    }
                } catch {
                    var at = origin
                    at.column = error.column
                    context.deadLetter(rawBytes: line, error: "the program wrote a line that is not JSON: \(error.message)",
                                       origin: at, details: ["command": .string(command.display)])
                }
                if batch.count >= context.batchSize {
                    try context.emit(batch)
                    batch.removeAll(keepingCapacity: true)
                }
            } else if ended {
                break
            } else {
                // Quiet: hand on what was read, and notice a stop.
                try context.emit(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        try context.emit(batch)
        // Its stdout is closed; it normally exits right after.
        let status = child.wait(timeout: nil) ?? .exited(-1)
        if !status.isSuccess {
            throw StageError(stage: context.name, message: "\(command.display): \(status)" + child.stderr.suffix())
        }
    }
}
