import ArgumentParser
import Foundation
import SluiceCore
import SluiceRuntime
import Synchronization

/// `sluice tap CONFIG STAGE`: prints the records a stage emits, as JSON Lines, writing nothing
/// to sinks or state (Vector's `vector tap` is the model).
struct TapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tap",
        abstract: "Print the records a stage emits (for a sink: receives) as JSON Lines; writes nothing.",
        discussion: """
            Runs the stage and everything upstream of it, reading every input from the start (no \
            checkpoints are read or saved), and prints its records on standard output. Sinks are \
            not run. Dead letters are shown on standard error, not filed. Exit status 0, or 2 for \
            a bad config or an unknown stage.
            """)

    @Argument(help: "The pipeline config (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var config: String

    @Argument(help: "The stage whose records to show.")
    var stage: String

    @Option(help: "Stop after N records.")
    var limit: Int?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        logging.bootstrap()
        let pipeline = try loadPipeline(config)
        let printer = PrintingSink(limit: limit)
        guard let tapped = pipeline.tapping(stage, into: printer) else {
            let names = pipeline.stages.map(\.name)
            printError("error: no stage '\(stage)' in \(config)\(Suggest.didYouMean(stage, in: names)) (stages: \(names.joined(separator: ", ")))")
            throw ExitCode(ExitStatus.usage)
        }
        var options = RunOptions()
        options.logger = .init(label: "sluice")
        let letters = EchoingDeadLetterQueue(echo: RunCommand.echoFirstLetters(label: "dead letter", file: "(not written: tap)"))
        let runner = PipelineRunner(pipeline: tapped, options: options, deadLetters: letters)
        printer.onLimit = { runner.requestStop() }
        let (result, signal) = runWatched(runner, progress: .never)
        if let failure = result.failure {
            printError("error: \(failure)")
            throw ExitCode(ExitStatus.fatal)
        }
        try exitIfStopped(by: signal)
    }
}

/// Prints records as JSON Lines on standard output, at most `limit` of them.
final class PrintingSink: Sink, @unchecked Sendable {
    // @unchecked: `onLimit` is set once before the run starts.
    let limit: Int?
    var onLimit: (@Sendable () -> Void)?
    private let printed = Atomic<Int>(0)

    init(limit: Int?) { self.limit = limit }

    func makeWriter(_ context: StageContext) throws -> any SinkWriter { Writer(sink: self) }

    final class Writer: SinkWriter {
        let sink: PrintingSink
        var buffer: [UInt8] = []
        init(sink: PrintingSink) { self.sink = sink }

        func write(_ batch: [Record]) throws {
            for record in batch {
                if let limit = sink.limit {
                    let n = sink.printed.add(1, ordering: .relaxed).newValue
                    if n > limit { break }
                    if n == limit { sink.onLimit?() }
                }
                JSONWriter.write(record.fields, to: &buffer)
                buffer.append(0x0A)
            }
            try flush()
        }

        func flush() throws {
            guard !buffer.isEmpty else { return }
            FileHandle.standardOutput.write(Data(buffer))
            buffer.removeAll(keepingCapacity: true)
        }

        func close() throws { try flush() }
    }
}
