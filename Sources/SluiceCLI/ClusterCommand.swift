import ArgumentParser
import Dispatch
import Foundation
import Logging
import SluiceCore
import SluiceRuntime
import SluicePostgres
import Synchronization

/// The options `sluice run` takes for a cluster run.
struct ClusterRunFlags: ParsableArguments {
    @Option(help: ArgumentHelp("Run as one process of a cluster run that this PostgreSQL database coordinates (a libpq URL or connection string; ${VAR} in it is read from the environment). Default: the config's 'cluster:' URL, if any.",
                               valueName: "url"))
    var cluster: String?

    @Option(help: ArgumentHelp("With --cluster: seconds a claimed work unit stays held without a heartbeat (renewed every third of it); a dead process's unit is taken over after it.", valueName: "seconds"))
    var lease: Double = 30

    @Option(help: ArgumentHelp("With --cluster: about how many bytes one work unit holds (default 32 MiB); JSON Lines files of twice that are cut into line ranges.", valueName: "bytes"))
    var unitSize: Int64 = 32 << 20
}

/// The variable a config can use to give each cluster process a file of its own.
let clusterProcessVariable = "SLUICE_PROCESS"

/// Loads a pipeline for a cluster process: `${SLUICE_PROCESS}` is `HOST-PID`, state lives in a
/// folder of its own under `data_dir`, and every file a sink writes must be the process's own.
func loadClusterPipeline(_ config: String, workers: Int?, holder: UnitHolder) throws -> Pipeline {
    let token = "\(holder.host)-\(holder.pid)"
    var pipeline = try loadPipeline(config, workers: workers, variables: [clusterProcessVariable: token])
    if !pipeline.unmatchedInputs.isEmpty {
        for warning in pipeline.unmatchedInputs { printError("\(warning.position): error: \(warning.message)") }
        throw ExitCode(ExitStatus.fatal)
    }
    for stage in pipeline.stages where stage.kind == .sink {
        guard let file = stage.stage.resources.filesWritten.first(where: { $0 != "-" && !$0.contains(token) }) else { continue }
        printError("error: sink '\(stage.name)' writes \(displayPath(file)): in a cluster run every process writes a file "
                   + "of its own (records of a unit taken over from a dead process would land in two files anyway); "
                   + "put ${\(clusterProcessVariable)} in its path, e.g. out/records-${\(clusterProcessVariable)}.jsonl")
        throw ExitCode(ExitStatus.usage)
    }
    // Sink state (a json sink's length and marks), dedupe keys: per process.
    pipeline.environment.dataDirectory = (pipeline.environment.dataDirectory as NSString)
        .appendingPathComponent("cluster-\(token)")
    return pipeline
}

/// The config's `cluster:` URL (`${VAR}` expanded), or nil when it has none or cannot be loaded
/// (the caller's own load then reports why). Loads the config only when it has a top-level
/// `cluster:` line, with `${SLUICE_PROCESS}` defined as in a cluster run.
func configuredCluster(_ config: String) -> String? {
    guard let text = try? String(contentsOfFile: config, encoding: .utf8),
          text.range(of: #"(?m)^cluster[ \t]*:"#, options: .regularExpression) != nil else { return nil }
    var loader = ConfigLoader(registry: SluiceMain.registry)
    loader.variables[clusterProcessVariable] = "\(UnitHolder.current.host)-\(UnitHolder.current.pid)"
    return (try? loader.load(path: config))?.cluster
}

/// Loads a config for `status` and `reset`: as `loadPipeline`, with `${SLUICE_PROCESS}` defined
/// as in a cluster run (a cluster config's file sinks name it in their paths).
func loadStatePipeline(_ config: String) throws -> Pipeline {
    try loadPipeline(config, variables: [clusterProcessVariable: "\(UnitHolder.current.host)-\(UnitHolder.current.pid)"])
}

/// The PostgreSQL checkpoint store of a pipeline's cluster runs, for `status` and `reset`:
/// `--cluster URL`, else the config's `cluster:`; nil when neither is given.
func clusterCheckpointStore(flag: String?, pipeline: Pipeline) throws -> (store: PostgresCheckpointStore, url: String)? {
    guard let url = flag ?? pipeline.cluster else { return nil }
    do {
        return (try PostgresCheckpointStore(url: url, pipeline: pipeline.name), url)
    } catch {
        printError("error: cluster \(PostgresConnection.redact(url)): \(error)")
        throw ExitCode(ExitStatus.fatal)
    }
}

extension RunCommand {
    /// `sluice run CONFIG --cluster URL` (or a config with `cluster: URL`): this process's share
    /// of the pipeline's cluster run.
    func runCluster(url: String, signals: SignalWatcher) throws {
        if full || dryRun || limit != nil {
            throw ValidationError(clusterFlags.cluster == nil
                ? "the config's 'cluster:' makes this a cluster run, which cannot be combined with --full, --dry-run or --limit"
                : "--cluster cannot be combined with --full, --dry-run or --limit")
        }
        let flags = clusterFlags
        guard flags.lease >= 1 else { throw ValidationError("--lease must be at least 1 second") }
        guard flags.unitSize >= 1 else { throw ValidationError("--unit-size must be at least 1 byte") }
        let holder = UnitHolder.current
        let pipeline = try loadClusterPipeline(config, workers: workers, holder: holder)
        let coordinator: PostgresCoordinator
        let store: PostgresCheckpointStore
        do {
            coordinator = try PostgresCoordinator(url: url, pipeline: pipeline.name)
            store = try PostgresCheckpointStore(url: url, pipeline: pipeline.name)
        } catch {
            printError("error: cluster \(PostgresConnection.redact(url)): \(error)")
            throw ExitCode(ExitStatus.fatal)
        }
        var options = ClusterRunOptions()
        options.run.logger = Logger(label: "sluice")
        options.run.store = store
        options.lease = flags.lease
        options.unitSize = flags.unitSize
        options.holder = holder
        let letters = FileDeadLetterQueue(path: pipeline.deadLetterPath,
                                          observer: Self.echoFirstLetters(label: "dead letter", file: pipeline.deadLetterPath))
        let runner = ClusterRunner(pipeline: pipeline, coordinator: coordinator, options: options, deadLetters: letters)
        signals.attach({ runner.requestStop() },
                       message: "stopping after a clean flush; the unit being read goes back to the cluster")
        defer { signals.attach(nil) }
        let result = runner.run()
        letters.close()
        let status = result.failure != nil ? "failed" : result.stopped ? "interrupted" : "complete"
        try? store.finishRun(RunRecord(started: Date(timeIntervalSinceNow: -result.elapsed), finished: Date(),
                                       status: status, read: Int64(result.asRunResult.read),
                                       delivered: Int64(result.asRunResult.delivered),
                                       deadLetters: Int64(result.asRunResult.deadLetters), full: false))
        printError(Summary.render(result.asRunResult))
        printError("cluster run \(result.generation): \(holder) completed \(result.units) unit\(result.units == 1 ? "" : "s")"
                   + (result.lostUnits > 0 ? " (\(result.lostUnits) more had been taken over by another process)" : ""))
        if let failure = result.failure {
            printError("error: \(failure)")
            throw ExitCode(ExitStatus.fatal)
        }
        let dead = result.asRunResult.deadLetters
        if dead > 0 && letters.unwritten.count == 0 {
            printError("\(dead) record\(dead == 1 ? "" : "s") went to dead letters: \(pipeline.deadLetterPath)")
        }
        try failIfLettersLost(letters)
        try exitIfStopped(by: signals.received)
        if dead > 0 { throw ExitCode(ExitStatus.deadLetters) }
    }
}

/// `sluice cluster …`: the state of a pipeline's cluster runs.
struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Inspect the cluster runs of a pipeline that PostgreSQL coordinates.",
        subcommands: [ClusterStatusCommand.self])
}

/// `sluice cluster status CONFIG --cluster URL`.
struct ClusterStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the current cluster run: units pending, claimed (by host and process) and done, records per second per process, the oldest lease.",
        discussion: "Changes nothing. Exit status 0 when the status was printed (the first line says whether every unit is done), 2 when the database cannot be read or the command is wrong (SPEC: 0 / 2).")

    @Argument(help: "The pipeline config (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var config: String

    @Option(help: ArgumentHelp("The PostgreSQL database that coordinates the cluster runs (default: the config's 'cluster:' URL).", valueName: "url"))
    var cluster: String?

    func run() throws {
        guard let cluster = cluster ?? configuredCluster(config) else {
            throw ValidationError("give the coordinating database: --cluster URL, or 'cluster: URL' in \(config)")
        }
        // The pipeline's name, as Pipeline.name makes it (the config file's name without extension).
        let base = URL(fileURLWithPath: config).deletingPathExtension().lastPathComponent
        let name = base.isEmpty ? "pipeline" : base
        let status: ClusterStatus
        do {
            status = try PostgresCoordinator(url: cluster, pipeline: name).status()
        } catch {
            printError("error: cluster \(PostgresConnection.redact(cluster)): \(error)")
            throw ExitCode(ExitStatus.usage)
        }
        print(Self.render(status, pipeline: name))
    }

    static func render(_ s: ClusterStatus, pipeline: String) -> String {
        guard s.generation > 0 else { return "pipeline \(pipeline): no cluster run yet" }
        var lines = ["pipeline \(pipeline), cluster run \(s.generation): \(s.total) units: \(s.done) done, "
                     + "\(s.claimed) claimed, \(s.pending) pending" + (s.expired > 0 ? " (\(s.expired) with an expired lease)" : "")
                     + (s.finished ? " — finished" : "")]
        if let age = s.oldestLeaseAge, let unit = s.oldestLeaseUnit {
            lines.append("oldest lease: \(unit), claimed \(String(format: "%.1f", age)) s ago")
        }
        if !s.processes.isEmpty {
            var rows = [["process", "claimed", "done", "records", "records/s", "last heartbeat"]]
            for p in s.processes {
                rows.append([p.holder.description, "\(p.claimed)", "\(p.done)", Summary.grouped(Int(p.records)),
                             Summary.rateText(p.recordsPerSecond), String(format: "%.1f s ago", p.silentFor)])
            }
            let widths = (0..<6).map { c in rows.map { $0[c].count }.max() ?? 0 }
            for row in rows {
                var cells: [String] = []
                for c in 0..<6 {
                    let cell = row[c]
                    let pad = String(repeating: " ", count: widths[c] - cell.count)
                    cells.append(c == 0 || c == 5 ? cell + pad : pad + cell)
                }
                lines.append(cells.joined(separator: "  ").replacingOccurrences(of: #"\s+$"#, with: "", options: .regularExpression))
            }
        }
        return lines.joined(separator: "\n")
    }
}
