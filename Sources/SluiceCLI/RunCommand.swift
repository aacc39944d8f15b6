import ArgumentParser
import Dispatch
import Foundation
import SluiceCore
import SluiceRuntime
import Synchronization

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run every pipeline in the config to the end of its input.",
        discussion: """
            Exit status: 0 all records delivered; 3 finished, but some records went to dead letters; \
            1 fatal error; 2 bad usage or invalid config; 130/143 stopped by SIGINT/SIGTERM after a clean flush.
            """)

    enum Progress: String, ExpressibleByArgument, CaseIterable { case auto, always, never }

    @Argument(help: "The pipeline config (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var config: String

    @Option(help: "Default number of workers for parallel stages (default: the number of cores).")
    var workers: Int?

    @Option(help: "Progress: auto (live lines per stage on a terminal, else a log line every --progress-interval seconds), always (live lines) or never.")
    var progress: Progress = .auto

    @Option(help: "Write per-stage counters as JSON to this file at the end.")
    var metrics: String?

    @Flag(help: "Ignore checkpoints and re-ingest every input; file outputs start afresh (unkeyed tables get the records again).")
    var full = false

    @Option(help: "Read at most N records from each source (a sample); checkpoints stay before what was not read.")
    var limit: Int?

    @Flag(help: "Run sources and transforms, but write nothing: sinks only count, no checkpoints, no dead-letter file.")
    var dryRun = false

    @Option(help: "Format of the --metrics file: json, or prometheus (a textfile a node exporter reads).")
    var metricsFormat: MetricsFormat = .json

    enum MetricsFormat: String, ExpressibleByArgument, CaseIterable { case json, prometheus }

    @Flag(help: "After the run, watch the inputs, the config and its Lua scripts, and run again (incrementally) when they change; Ctrl-C stops (exit 0).")
    var watch = false

    @Option(help: "Seconds between progress log lines when standard error is not a terminal (0: none).")
    var progressInterval: Double = 10

    @OptionGroup var logging: LoggingOptions

    /// `--cluster URL` and its knobs (ClusterCommand.swift).
    @OptionGroup var clusterFlags: ClusterRunFlags

    func validate() throws {
        if let workers, !(1...256).contains(workers) { throw ValidationError("--workers must be between 1 and 256") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if dryRun && full { throw ValidationError("--dry-run writes nothing, so --full has nothing to start afresh; give one of them") }
        if progressInterval < 0 { throw ValidationError("--progress-interval must not be negative") }
    }

    func run() throws {
        logging.bootstrap()
        if watch {
            try Watcher(command: self).run()
            return
        }
        try runOnce(signals: SignalWatcher())
    }

    /// One run of the pipeline (a `--watch` loop calls it again on every change); throws
    /// `ExitCode` for every status but 0.
    func runOnce(signals: SignalWatcher) throws {
        if let cluster = clusterFlags.cluster ?? configuredCluster(config) { return try runCluster(url: cluster, signals: signals) }
        var pipeline = try loadPipeline(config, workers: workers)
        // Every source whose path matches nothing, at once (not only the first one to start).
        if !pipeline.unmatchedInputs.isEmpty {
            for warning in pipeline.unmatchedInputs { printError("\(warning.position): error: \(warning.message)") }
            throw ExitCode(ExitStatus.fatal)
        }
        if let metrics {
            // Find out now, not after an hour of work, that the metrics cannot be written.
            let url = URL(fileURLWithPath: metrics)
            try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let fd = open(metrics, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                printError("error: cannot write metrics to \(metrics): \(String(cString: strerror(errno)))")
                throw ExitCode(ExitStatus.usage)
            }
            close(fd)
        }
        var options = RunOptions()
        options.logger = .init(label: "sluice")
        options.limit = limit
        // A dry run writes nothing: sinks only count, dead letters are shown, not filed.
        let fileLetters = dryRun ? nil : FileDeadLetterQueue(path: pipeline.deadLetterPath,
                                                            observer: Self.echoFirstLetters(label: "dead letter", file: pipeline.deadLetterPath))
        let deadLetters: any DeadLetterQueue = fileLetters ?? EchoingDeadLetterQueue(echo: Self.echoFirstLetters(label: "dead letter", file: "(not written: dry run)"))
        if dryRun {
            for k in pipeline.stages.indices where pipeline.stages[k].kind == .sink {
                pipeline.stages[k].stage = .sink(DiscardingSink())
            }
        }
        // Checkpoints: what earlier runs of this pipeline delivered (SPEC §7).
        var store: SQLiteCheckpointStore?
        // A sink that rebuilds its output each run (sqlite `mode: replace`) needs all the input.
        let rebuilds = pipeline.stages.contains { stage in
            if case .sink(let sink) = stage.stage { return sink.rebuildsEachRun }
            return false
        }
        if dryRun {
            // Read what earlier runs delivered (a dry run shows what a real one would do), save nothing.
            if let saved = try? SQLiteCheckpointStore(path: pipeline.checkpointStorePath, create: false) {
                options.store = ReadOnlyCheckpointStore(saved)
            }
        } else {
            do {
                let opened = try SQLiteCheckpointStore(path: pipeline.checkpointStorePath)
                let sources = pipeline.stages.filter { $0.kind == .source }.map(\.name)
                let pending = try opened.fullRunPending()
                options.continuingFullRun = pending
                if pending {
                    // Starting it again would raise the epochs while file outputs continue their
                    // partial copies: the same records twice. Continuing gives the same result.
                    printError("note: continuing the interrupted full run (run --full or reset)")
                } else if full || rebuilds {
                    try opened.startFullRun(sources: sources)
                }
                options.fullRun = try full || opened.fullRunPending()
                options.aggregateEpoch = try opened.completedRuns() + 1
                store = opened
            } catch {
                printError("error: \(error)")
                throw ExitCode(ExitStatus.fatal)
            }
        }
        if !dryRun { options.store = store }
        let runner = PipelineRunner(pipeline: pipeline, options: options, deadLetters: deadLetters)

        let (result, signal) = runWatched(runner, progress: progress, interval: progressInterval, signals: signals)
        fileLetters?.close()
        // A limited run is not complete: it must not end a pending full run.
        let status = result.failure != nil ? "failed" : result.stopped ? "interrupted" : limit != nil ? "limited" : "complete"
        if let store {
            do {
                try store.finishRun(RunRecord(started: Date(timeIntervalSinceNow: -result.elapsed), finished: Date(),
                                              status: status, read: Int64(result.read), delivered: Int64(result.delivered),
                                              deadLetters: Int64(result.deadLetters), full: options.fullRun))
            } catch {
                printError("warning: could not record the run in \(store.path): \(error)")
            }
        }

        // The status this run ends with (a metrics file that cannot be written makes it 1 later).
        let lettersLost = (fileLetters?.unwritten.count ?? 0) > 0
        let exitStatus = result.failure != nil || lettersLost ? ExitStatus.fatal
            : signal.map { $0 == SIGTERM ? ExitStatus.terminated : ExitStatus.interrupted }
            ?? (result.deadLetters > 0 ? ExitStatus.deadLetters : ExitStatus.ok)
        printError(Summary.render(result, exitStatus: exitStatus, signal: signal))
        var metricsFailed = false
        if dryRun { printError("dry run: nothing was written (sinks only counted the records they would have written)") }
        if let metrics {
            do {
                try writeMetrics(result, status: status, exitStatus: exitStatus, to: metrics)
            } catch {
                printError("error: cannot write metrics to \(metrics): \(error.localizedDescription)")
                metricsFailed = true
            }
        }
        if let failure = result.failure {
            printError("error: \(failure)")
        } else if result.deadLetters > 0 && (fileLetters?.unwritten.count ?? 1) == 0 {
            printError("\(result.deadLetters) record\(result.deadLetters == 1 ? "" : "s") went to dead letters: \(pipeline.deadLetterPath)")
        }
        if result.failure == nil { reportLostLetters(fileLetters) }
        // The status decided above, except that a metrics file that could not be written turns
        // a run that was otherwise fine (or only dead-lettered) into a failure.
        let finalStatus = metricsFailed && (exitStatus == ExitStatus.ok || exitStatus == ExitStatus.deadLetters)
            ? ExitStatus.fatal : exitStatus
        if finalStatus != ExitStatus.ok { throw ExitCode(finalStatus) }
    }

    /// Shows the first five dead letters on standard error as they happen (`LABEL: stage: error
    /// (place)`), then where the rest are; the summary gives the total.
    static func echoFirstLetters(label: String, file: String) -> @Sendable (DeadLetter) -> Void {
        let shown = Atomic<Int>(0)
        return { letter in
            let n = shown.wrappingAdd(1, ordering: .relaxed).newValue
            if n <= 5 {
                let place = letter.origin?.location.map { " (\($0))" } ?? ""
                printError("\(label): \(letter.stage): \(letter.error)\(place)")
            } else if n == 6 {
                printError("\(label): … more in \(file)")
            }
        }
    }

    private func writeMetrics(_ result: RunResult, status: String, exitStatus: Int32, to path: String) throws {
        let rate = result.elapsed > 0 ? Double(result.read) / result.elapsed : 0
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        switch metricsFormat {
        case .json:
            let value: Value = [
                "config": .string(config),
                "status": .string(status),
                "elapsed_seconds": .double((result.elapsed * 1000).rounded() / 1000),
                "records_read": .int(Int64(result.read)),
                "records_delivered": .int(Int64(result.delivered)),
                "records_skipped": .int(Int64(result.skipped)),
                "dead_letters": .int(Int64(result.deadLetters)),
                "records_per_second": .double(rate.rounded()),
                "bytes_read": .int(result.bytesRead),
                "failed": .bool(result.failure != nil),
                "interrupted": .bool(result.stopped),
                "exit_status": .int(Int64(exitStatus)),
                "stages": .array(result.counts.map(\.json)),
            ]
            try Data((JSONWriter.string(value, pretty: true) + "\n").utf8).write(to: url)
        case .prometheus:
            // Written to a temporary file and renamed: a node exporter's textfile collector
            // must never read half a file.
            let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
            try Data(Self.prometheus(result, config: config, status: status, exitStatus: exitStatus).utf8).write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(at: temporary)
                throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: reason])
            }
        }
    }

    /// The run's counters in the Prometheus text exposition format.
    static func prometheus(_ result: RunResult, config: String, status: String, exitStatus: Int32 = 0) -> String {
        func escaped(_ s: String) -> String {
            s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
        }
        let pipeline = "pipeline=\"\(escaped(config))\""
        var lines: [String] = []
        func metric(_ name: String, _ help: String, _ type: String, _ samples: [(String, Double)]) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
            for (labels, value) in samples {
                let text = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
                lines.append("\(name){\(labels)} \(text)")
            }
        }
        metric("sluice_run_duration_seconds", "Wall-clock time of the last run.", "gauge", [(pipeline, result.elapsed)])
        metric("sluice_run_records_read", "Records read by the sources in the last run.", "gauge", [(pipeline, Double(result.read))])
        metric("sluice_run_dead_letters", "Dead letters written in the last run.", "gauge", [(pipeline, Double(result.deadLetters))])
        metric("sluice_run_success", "1 when the last run completed without a fatal error.", "gauge",
               [(pipeline, result.failure == nil ? 1 : 0)])
        metric("sluice_run_bytes_read", "Input bytes read by the sources in the last run.", "gauge", [(pipeline, Double(result.bytesRead))])
        metric("sluice_run_interrupted", "1 when the last run was stopped by SIGINT/SIGTERM (after a clean flush).", "gauge",
               [(pipeline, result.stopped ? 1 : 0)])
        metric("sluice_run_exit_status", "The exit status of the last run.", "gauge", [(pipeline, Double(exitStatus))])
        metric("sluice_run_last_end_timestamp_seconds", "When the last run ended (Unix time).", "gauge",
               [(pipeline, Date().timeIntervalSince1970.rounded())])
        func stageLabels(_ c: StageCounts) -> String {
            "\(pipeline),stage=\"\(escaped(c.name))\",kind=\"\(c.kind.rawValue)\",type=\"\(escaped(c.type))\""
        }
        metric("sluice_stage_records_in", "Records a stage received in the last run.", "gauge",
               result.counts.map { (stageLabels($0), Double($0.received)) })
        metric("sluice_stage_records_out", "Records a stage passed on (a sink: wrote) in the last run.", "gauge",
               result.counts.map { (stageLabels($0), Double($0.emitted)) })
        metric("sluice_stage_records_dropped", "Records a transform dropped, or a sink skipped as already written.", "gauge",
               result.counts.map { (stageLabels($0), Double($0.dropped)) })
        metric("sluice_stage_dead_letters", "Dead letters a stage wrote in the last run.", "gauge",
               result.counts.map { (stageLabels($0), Double($0.deadLettered)) })
        metric("sluice_stage_busy_seconds", "Seconds a stage spent working in the last run (a transform: all workers).", "gauge",
               result.counts.map { (stageLabels($0), ($0.busySeconds * 1000).rounded() / 1000) })
        let lua = result.counts.filter { $0.luaSeconds > 0 || $0.type == "lua" || $0.type == "filter" }
        if !lua.isEmpty {
            metric("sluice_stage_lua_seconds", "Of the busy time, seconds spent in Lua.", "gauge",
                   lua.map { (stageLabels($0), ($0.luaSeconds * 1000).rounded() / 1000) })
        }
        let sources = result.counts.filter { $0.kind == .source }
        metric("sluice_source_bytes_read", "Input bytes a source read in the last run.", "gauge",
               sources.map { (stageLabels($0), Double($0.bytesRead)) })
        let keyed = result.counts.filter { $0.rows != nil }
        if !keyed.isEmpty {
            metric("sluice_sink_rows", "Rows a sink inserted, updated or left unchanged in the last run.", "gauge",
                   keyed.flatMap { c -> [(String, Double)] in
                       guard let rows = c.rows else { return [] }
                       return [("\(stageLabels(c)),action=\"inserted\"", Double(rows.inserted)),
                               ("\(stageLabels(c)),action=\"updated\"", Double(rows.updated)),
                               ("\(stageLabels(c)),action=\"unchanged\"", Double(rows.unchanged))]
                   })
        }
        _ = status
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A sink that writes nothing (`run --dry-run`, `tap`): the runtime counts what it receives.
struct DiscardingSink: Sink {
    func makeWriter(_ context: StageContext) throws -> any SinkWriter { Writer() }
    final class Writer: SinkWriter {
        func write(_ batch: [Record]) throws {}
        func flush() throws {}
        func close() throws {}
    }
}

/// Dead letters shown on standard error only (`run --dry-run`).
struct EchoingDeadLetterQueue: DeadLetterQueue {
    let echo: @Sendable (DeadLetter) -> Void
    func send(_ letter: DeadLetter) { echo(letter) }
}

/// Runs `runner` with SIGINT/SIGTERM turned into a clean stop and, when asked for, live
/// progress (a block redrawn in place on a terminal, a log line every `interval` seconds
/// otherwise); returns the result and the signal that stopped the run, if any.
func runWatched(_ runner: PipelineRunner, progress: RunCommand.Progress, interval: Double = 10,
                signals: SignalWatcher? = nil) -> (result: RunResult, signal: Int32?) {
    let signals = signals ?? SignalWatcher()
    signals.attach(runner)
    defer { signals.attach(nil) }
    let terminal = isatty(STDERR_FILENO) != 0
    let meter: ProgressDisplay?
    switch progress {
    case .never: meter = nil
    case .always: meter = ProgressDisplay(runner: runner, mode: .live)
    case .auto: meter = terminal ? ProgressDisplay(runner: runner, mode: .live)
        : interval > 0 ? ProgressDisplay(runner: runner, mode: .log(every: interval)) : nil
    }
    meter?.start()
    let result = runner.run()
    meter?.stop()
    return (result, signals.received)
}

/// Says so when dead letters never reached the disk: those records are lost. Returns whether
/// any were.
@discardableResult
func reportLostLetters(_ letters: FileDeadLetterQueue?) -> Bool {
    guard let unwritten = letters?.unwritten, unwritten.count > 0 else { return false }
    printError("error: \(unwritten.count) dead letter\(unwritten.count == 1 ? "" : "s") could not be written (\(unwritten.reason ?? "unknown reason")); those records are lost")
    return true
}

/// A dead letter that never reached the disk is a lost record: the command fails (exit 1).
func failIfLettersLost(_ letters: FileDeadLetterQueue?) throws {
    if reportLostLetters(letters) { throw ExitCode(ExitStatus.fatal) }
}

/// Exits 130 or 143 when a signal stopped the run.
func exitIfStopped(by signal: Int32?) throws {
    guard let signal else { return }
    throw ExitCode(signal == SIGTERM ? ExitStatus.terminated : ExitStatus.interrupted)
}

/// Turns the first SIGINT/SIGTERM into a clean stop (sources stop reading, everything in flight
/// is flushed); a second one exits at once. One per process: `run --watch` keeps it across
/// runs, attaching each run's runner in turn.
final class SignalWatcher {
    private final class Shared: Sendable {
        let signal = Atomic<Int32>(0)
        /// What the next signal stops, and the line that says so.
        let stop = Mutex<(message: String, action: @Sendable () -> Void)?>(nil)
        let wake = Mutex<(@Sendable () -> Void)?>(nil)
    }
    private let shared = Shared()
    private var sources: [any DispatchSourceSignal] = []

    init() {
        let shared = self.shared
        for sig in [SIGINT, SIGTERM] {
            Foundation.signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                if shared.signal.exchange(sig, ordering: .relaxed) != 0 {
                    printError("\nsluice: stopping now")
                    // _exit, not exit: atexit handlers must not run while stage threads still
                    // use the state they would tear down.
                    _exit(sig == SIGTERM ? ExitStatus.terminated : ExitStatus.interrupted)
                }
                if let stop = shared.stop.withLock({ $0 }) {
                    printError("\nsluice: " + stop.message)
                    stop.action()
                }
                shared.wake.withLock { $0 }?()
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Sends a stop request to `runner` on the next signal (nil: no run going on).
    func attach(_ runner: PipelineRunner?) {
        guard let runner else { return attach(nil, message: "") }
        attach({ runner.requestStop() }, message: "stopping after a clean flush (signal again to quit at once)")
    }

    /// Calls `stop` on the next signal, after printing `message` (nil: nothing to stop); at once
    /// when a signal came already.
    func attach(_ stop: (@Sendable () -> Void)?, message: String) {
        shared.stop.withLock { $0 = stop.map { (message, $0) } }
        if let stop, received != nil { stop() }
    }

    /// Called on a signal (after the runner, if any, was told to stop).
    func onSignal(_ action: (@Sendable () -> Void)?) { shared.wake.withLock { $0 = action } }

    /// The signal that stopped the run, if any.
    var received: Int32? {
        let s = shared.signal.load(ordering: .relaxed)
        return s == 0 ? nil : s
    }
}

/// The end-of-run table.
enum Summary {
    /// The table (per stage: in, out, dropped, dead letters, busy time with Lua's share), the
    /// rows keyed sinks inserted / updated / left unchanged, the totals, and — when given — how
    /// the run ended and its exit status.
    static func render(_ result: RunResult, exitStatus: Int32? = nil, signal: Int32? = nil) -> String {
        var rows: [[String]] = [["stage", "kind", "type", "in", "out", "dropped", "dead", "time"]]
        for c in result.counts {
            var time = seconds(c.busySeconds)
            if c.luaSeconds > 0 { time += " (lua \(seconds(c.luaSeconds)))" }
            rows.append([c.name, c.kind.rawValue, c.type,
                         c.kind == .source ? "-" : grouped(c.received),
                         grouped(c.emitted), c.kind == .transform ? grouped(c.dropped) : "-", grouped(c.deadLettered), time])
        }
        let columns = rows[0].count
        let widths = (0..<columns).map { col in rows.map { $0[col].count }.max() ?? 0 }
        var lines = rows.map { row in
            (0..<columns).map { col in
                col < 3 ? row[col].padding(toLength: widths[col], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[col] - row[col].count) + row[col]
            }.joined(separator: "  ")
        }
        for c in result.counts {
            guard let r = c.rows, c.kind == .sink else { continue }
            lines.append("\(c.name): \(grouped(r.inserted)) inserted, \(grouped(r.updated)) updated, \(grouped(r.unchanged)) unchanged")
        }
        let rate = result.elapsed > 0 ? Double(result.read) / result.elapsed : 0
        // With fan-out one record is written by several sinks: say how many sinks wrote.
        let sinks = result.counts.filter { $0.kind == .sink }.count
        let written = sinks > 1 ? "\(grouped(result.delivered)) written by \(sinks) sinks" : "\(grouped(result.delivered)) delivered"
        // The bytes at the end: scripts may look for "N records read, M delivered".
        let bytes = result.bytesRead > 0 ? ", \(byteText(result.bytesRead)) read" : ""
        lines.append("\(grouped(result.read)) record\(result.read == 1 ? "" : "s") read, \(written), "
            + "\(grouped(result.deadLetters)) dead-lettered in \(String(format: "%.2f", result.elapsed)) s (\(rateText(rate)) records/s\(bytes))")
        if result.skipped > 0 {
            lines.append("\(grouped(result.skipped)) record\(result.skipped == 1 ? " was" : "s were") already written by an earlier run that stopped before its checkpoint: skipped")
        }
        if let exitStatus {
            let how: String
            if result.failure != nil {
                how = "failed"
            } else if let signal {
                how = "interrupted by \(signal == SIGTERM ? "SIGTERM" : "SIGINT") (after a clean flush)"
            } else if exitStatus == ExitStatus.deadLetters {
                how = "finished, some records went to dead letters"
            } else if exitStatus == ExitStatus.ok {
                how = "complete"
            } else {
                how = "finished with an error"
            }
            lines.append("run \(how): exit status \(exitStatus)")
        }
        return lines.joined(separator: "\n")
    }

    /// 0.42 s, 12.3 s, 1:02:03.
    static func seconds(_ s: Double) -> String {
        if s < 10 { return String(format: "%.2f s", s) }
        if s < 600 { return String(format: "%.1f s", s) }
        return clock(s)
    }

    /// 4:05 or 1:02:03.
    static func clock(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }

    /// 512 B, 1.5 kB, 3.4 MB, 1.2 GB (powers of 1000, as `ls -h --si`).
    static func byteText(_ n: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(n)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(n) B" : String(format: value < 10 ? "%.1f" : "%.0f", value) + " " + units[unit]
    }

    /// A rate for people: whole numbers with separators, one decimal below 10 (a slow trickle
    /// of 2 records in 4 s is 0.5 records/s, not 0).
    static func rateText(_ rate: Double) -> String {
        if rate >= 10 { return grouped(Int(rate)) }
        return rate > 0 && rate < 1 ? String(format: "%.2g", rate) : String(format: "%.1f", rate)
    }

    /// 1234567 → "1,234,567".
    static func grouped(_ n: Int) -> String {
        let digits = String(abs(n))
        var out = ""
        for (k, ch) in digits.enumerated() {
            if k > 0 && (digits.count - k) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return (n < 0 ? "-" : "") + out
    }
}
