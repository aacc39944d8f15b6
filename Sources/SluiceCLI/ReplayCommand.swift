import ArgumentParser
import Foundation
import SluiceCore
import SluiceRuntime
import Synchronization

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Feed dead letters back into the stage that refused them, and on to the sinks.",
        discussion: """
            Each letter that carries a record goes back into its stage (only those of --stage NAME \
            when given) and through every stage downstream of it. Letters that fail again go to a new \
            file next to DEAD_LETTERS, printed at the end: after the next fix, replay that one (in \
            the file given, a letter that comes before one already delivered counts as delivered). \
            The file given is left as it is. Refused while a --full run is pending. Replayed records are new input for the sinks, placed by the letter's \
            offset in the file: replaying the same file twice writes them once (with sinks that keep \
            delivery marks), and letters a later run appends to it are replayed next time. Letters \
            holding only raw input, and letters of stages not in the config, cannot be fed back: \
            they are reported and stay in the file. Exit status as for run: 0 every letter went \
            through; 3 some did not; 1 fatal error; 2 bad usage or invalid config; 130/143 stopped.
            """)

    @Argument(help: "The dead-letter file (JSON Lines, as run writes it).", completion: .file(extensions: ["jsonl"]))
    var deadLetters: String

    @Argument(help: "The pipeline config (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var config: String

    @Option(help: "Replay only the letters of this stage.")
    var stage: String?

    @Option(help: "Default number of workers for parallel stages (default: the number of cores).")
    var workers: Int?

    @Option(help: "Show a live progress line: auto (only on a terminal), always or never.")
    var progress: RunCommand.Progress = .auto

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let workers, !(1...256).contains(workers) { throw ValidationError("--workers must be between 1 and 256") }
    }

    func run() throws {
        logging.bootstrap()
        let pipeline = try loadPipeline(config, workers: workers)
        if let stage, pipeline.stage(named: stage) == nil {
            printError("error: no stage '\(stage)' in \(config)\(Suggest.didYouMean(stage, in: pipeline.stages.map(\.name)))")
            throw ExitCode(ExitStatus.usage)
        }
        let inventory: DeadLetterInventory
        do {
            inventory = try DeadLetterInventory(path: deadLetters, stage: stage)
        } catch {
            printError("error: \(error)")
            throw ExitCode(ExitStatus.usage)
        }

        // What cannot be fed back is said first, and stays in the file.
        var leftBehind = 0
        for (line, reason) in inventory.unreadable.prefix(5) {
            printError("\(deadLetters):\(line): not a dead letter (\(reason)); left as it is")
        }
        if inventory.unreadable.count > 5 {
            printError("\(deadLetters): \(inventory.unreadable.count - 5) more lines that are not dead letters")
        }
        leftBehind += inventory.unreadable.count
        for (name, count) in inventory.rawOnly {
            printError("\(count) letter\(count == 1 ? "" : "s") of '\(name)' hold\(count == 1 ? "s" : "") only raw input, "
                + "with no record to feed back: left in \(deadLetters)")
            leftBehind += count
        }
        for (name, count) in inventory.replayable where pipeline.stage(named: name) == nil {
            printError("\(count) letter\(count == 1 ? "" : "s") of '\(name)', which is not a stage of \(config)"
                + "\(Suggest.didYouMean(name, in: pipeline.stages.map(\.name))): left in \(deadLetters)")
            leftBehind += count
        }
        let replay = pipeline.replaying(inventory)
        let fed = inventory.replayable.filter { pipeline.stage(named: $0.stage) != nil }
        guard !fed.isEmpty else {
            printError(stage.map { "no dead letters of '\($0)' to replay in \(deadLetters)" }
                ?? "no dead letters to replay in \(deadLetters)")
            if leftBehind > 0 { throw ExitCode(ExitStatus.deadLetters) }
            return
        }

        let store: SQLiteCheckpointStore
        let aggregateEpoch: Int64
        let fullRunPending: Bool
        do {
            store = try SQLiteCheckpointStore(path: pipeline.checkpointStorePath)
            aggregateEpoch = try store.completedRuns() + 1
            fullRunPending = try store.fullRunPending()
        } catch {
            printError("error: \(error)")
            throw ExitCode(ExitStatus.fatal)
        }
        if fullRunPending {
            // The continuation of the full run rewrites the outputs from the sources: records
            // replayed into them now would be dropped, and a replay would abandon its partial output.
            printError("error: a --full run of \(pipeline.name) is pending; finish it with 'sluice run \(config)' before replaying")
            throw ExitCode(ExitStatus.usage)
        }
        let newPath = ReplayCommand.replayFile(next: inventory.path)
        let letters = FileDeadLetterQueue(path: newPath,
                                          observer: RunCommand.echoFirstLetters(label: "dead letter again", file: displayPath(newPath)))
        var options = RunOptions()
        options.logger = .init(label: "sluice")
        options.store = store
        options.aggregateEpoch = aggregateEpoch
        let runner = PipelineRunner(pipeline: replay, options: options, deadLetters: letters)
        let started = Date()
        let (result, signal) = runWatched(runner, progress: progress)
        letters.close()

        printError(Summary.render(result))
        let status = result.failure != nil ? "replay (failed)" : result.stopped ? "replay (interrupted)" : "replay"
        // Shown by `status` as the last run; not a complete run: it does not end a pending --full run.
        try? store.finishRun(RunRecord(started: started, finished: Date(), status: status, read: Int64(result.read),
                                       delivered: Int64(result.delivered), deadLetters: Int64(result.deadLetters),
                                       full: false))
        let total = fed.reduce(0) { $0 + $1.count }
        let into = fed.map { "'\($0.stage)' \(Summary.grouped($0.count))" }.joined(separator: ", ")
        printError("replayed \(Summary.grouped(total)) letter\(total == 1 ? "" : "s") of \(deadLetters) (\(into))")
        if result.skipped > 0 {
            printError("\(Summary.grouped(result.skipped)) record\(result.skipped == 1 ? " was" : "s were") written by an earlier replay of this file and not written again")
        }
        if let failure = result.failure {
            printError("error: \(failure)")
            throw ExitCode(ExitStatus.fatal)
        }
        try failIfLettersLost(letters)
        if result.deadLetters > 0 {
            printError("\(result.deadLetters) record\(result.deadLetters == 1 ? "" : "s") failed again: \(displayPath(newPath)) (fix, then replay that file)")
        }
        try exitIfStopped(by: signal)
        if result.deadLetters > 0 || leftBehind > 0 { throw ExitCode(ExitStatus.deadLetters) }
    }

    /// `dead_letter.replay-20250131T170405Z.jsonl` next to `dead_letter.jsonl` (also next to an
    /// earlier replay file, without piling up `.replay-` parts); a number is added when a file of
    /// that name exists.
    static func replayFile(next path: String, now: Date = Date()) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        var stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        if let cut = stem.range(of: ".replay-", options: .backwards) { stem = String(stem[..<cut.lowerBound]) }
        if stem.isEmpty { stem = "dead_letter" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let base = "\(stem).replay-\(formatter.string(from: now))"
        var candidate = (folder as NSString).appendingPathComponent(base + ".jsonl")
        var n = 2
        while FileManager.default.fileExists(atPath: candidate) {
            candidate = (folder as NSString).appendingPathComponent("\(base)-\(n).jsonl")
            n += 1
        }
        return candidate
    }
}
