import Foundation
import Logging
import SluiceCore

/// The `exec` sink: runs a program and writes each record to its stdin, one compact JSON
/// object per line (UTF-8, `\n`-terminated).
///
/// The program is started when the sink opens and kept for the whole run. Its stdout and
/// stderr go to the log (level info, labelled with the stage's name), so it never blocks on a
/// full pipe. At the end of the run its stdin is closed and Sluice waits for it to exit: a
/// status other than 0, or no exit within `timeout` seconds, fails the run with the status and
/// its last stderr lines. A program that exits early, or takes none of its input for `timeout`
/// seconds, fails the run too (a sink cannot tell which records it handled). When the pipeline
/// fails elsewhere the program is killed.
///
/// **Delivery is at least once.** A record counts as delivered once it is written to the
/// program's stdin (a flush writes nothing more: lines go out as each batch comes); the sink
/// keeps no delivery marks, so records read again by a later run are written again. A program
/// that must not see duplicates deduplicates on a key of its own.
public struct ExecSink: ConfiguredStage, Sink {
    /// The options of an `exec` sink.
    public struct Configuration: SinkConfiguration, ExecTimeoutConfiguration {
        /// The type name in configs.
        public static let type = "exec"
        /// One line for `sluice stages`.
        public static let summary = "Runs a program and writes each record to its stdin as a JSON Lines line."
        /// An entry for `sluice stages exec`.
        public static let example = """
            type: exec
            inputs: articles
            command: [python3, load_warehouse.py]
            timeout: 60
            """
        /// Every option.
        public static var options: [ConfigOption<Self>] { commandOptions + [timeoutOption] }

        /// `command`.
        public var command: [String] = []
        /// `env`.
        public var env: Value?
        /// `timeout`.
        public var timeout = 30.0

        /// Every option at its default.
        public init() {}

        /// Checks the program exists.
        public func makeSink(_ context: BuildContext) throws -> any Sink {
            try ExecSink(self, context)
        }
    }

    let command: ExecCommand

    /// Builds the stage from its configuration (the program must exist).
    public init(_ configuration: Configuration, _ context: BuildContext) throws(ConfigError) {
        command = try configuration.checkedCommand(context)
        timeout = configuration.timeout
    }
    /// Seconds the program may take to take its input, and to exit at the end.
    public let timeout: Double

    /// Starts the program.
    public func makeWriter(_ context: StageContext) throws -> any SinkWriter {
        do throws(ExecFailure) {
            return ExecSinkWriter(sink: self, context: context,
                                  child: try ChildProcess(command, wiring: .writeOnly, logger: context.logger))
        } catch {
            throw StageError(stage: context.name, message: error.message)
        }
    }
}

/// The working half of ``ExecSink``.
final class ExecSinkWriter: SinkWriter {
    let sink: ExecSink
    let context: StageContext
    let child: ChildProcess
    private var payload: [UInt8] = []

    init(sink: ExecSink, context: StageContext, child: ChildProcess) {
        self.sink = sink
        self.context = context
        self.child = child
    }

    deinit { child.kill() }

    func write(_ batch: [Record]) throws {
        payload.removeAll(keepingCapacity: true)
        for record in batch {
            JSONWriter.write(record.fields, to: &payload)
            payload.append(UInt8(ascii: "\n"))
        }
        do throws(ExecFailure) {
            try child.writeAll(payload, timeout: sink.timeout)
        } catch {
            // Gone or stuck: say how it ended, if it did.
            let status = child.wait(timeout: 1)
            child.kill()
            let how = status.map { "\($0)" } ?? error.message
            throw StageError(stage: context.name, message:
                "\(sink.command.display) failed while records were written to it: \(how)" + child.stderr.suffix())
        }
    }

    /// Lines are written as each batch comes; nothing is held back.
    func flush() throws {}

    func close() throws {
        child.closeInput()
        guard let status = child.wait(timeout: sink.timeout) else {
            child.kill()
            throw StageError(stage: context.name, message:
                "\(sink.command.display) did not exit within \(ChildProcess.seconds(sink.timeout)) after its input ended; it was killed"
                + child.stderr.suffix())
        }
        if !status.isSuccess {
            throw StageError(stage: context.name, message: "\(sink.command.display): \(status)" + child.stderr.suffix())
        }
    }

    func abort() throws { child.kill() }
}
