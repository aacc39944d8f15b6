import ArgumentParser
import Foundation
import SluiceCore
import SluiceRuntime
import SluicePostgres

struct ResetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Forget checkpoints: the next run reads the inputs again.",
        discussion: """
            Forgets what the sources of the config (or only --source NAME) delivered, so the next \
            run reads those inputs again, as new versions: sinks write their records again. With \
            --cluster URL (or a config with 'cluster:'), the checkpoints forgotten are the cluster's, \
            in PostgreSQL: the next cluster run, from any machine, reads the inputs again. On a \
            terminal it asks for --yes first. Exit status 0; 2 for a bad config, an unknown source \
            or a missing --yes.
            """)

    @Argument(help: "The pipeline config (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var config: String

    @Option(help: "Forget only this source's checkpoints.")
    var source: String?

    @Flag(help: "Do it without asking (needed on a terminal).")
    var yes = false

    @Option(help: ArgumentHelp("Forget the checkpoints of the pipeline's cluster runs in this PostgreSQL database (default: the config's 'cluster:' URL, if any) instead of the local ones.", valueName: "url"))
    var cluster: String?

    func run() throws {
        let pipeline = try loadStatePipeline(config)
        let statePath = pipeline.checkpointStorePath
        let shared = try clusterCheckpointStore(flag: cluster, pipeline: pipeline)
        let hasState = shared != nil || FileManager.default.fileExists(atPath: statePath)
        let store: (any CheckpointStore)?
        do {
            store = try shared?.store ?? (hasState ? SQLiteCheckpointStore(path: statePath, create: false) : nil)
        } catch {
            printError("error: \(error)")
            throw ExitCode(ExitStatus.fatal)
        }
        var saved: [String: [InputCheckpoint]] = [:]
        do {
            saved = try store?.allInputs() ?? [:]
        } catch {
            printError("error: \(error)")
            throw ExitCode(ExitStatus.fatal)
        }
        let sources = pipeline.stages.filter { $0.kind == .source }.map(\.name)
        if let source, !sources.contains(source) && saved[source] == nil {
            printError("error: no source '\(source)' in \(config)\(Suggest.didYouMean(source, in: sources))")
            throw ExitCode(ExitStatus.usage)
        }
        if !yes && isatty(STDIN_FILENO) != 0 {
            let what = source.map { "the checkpoints of source '\($0)'" } ?? "every checkpoint of \(pipeline.name)"
            printError("error: reset forgets \(what): the next run reads those inputs again. Pass --yes to do it.")
            throw ExitCode(ExitStatus.usage)
        }
        guard let store else {
            print("nothing to forget: \(pipeline.name) has no run yet")
            return
        }
        let names = source.map { [$0] } ?? (sources + saved.keys.sorted().filter { !sources.contains($0) })
        let pending: Bool
        do {
            pending = source == nil ? try store.fullRunPending() : false
            try store.reset(source: source)
        } catch {
            printError("error: \(error)")
            throw ExitCode(ExitStatus.fatal)
        }
        for name in names {
            let inputs = saved[name] ?? []
            if inputs.isEmpty {
                if source != nil { print("source '\(name)': no checkpoints; nothing to forget") }
                continue
            }
            let records = inputs.reduce(0) { $0 + $1.records }
            print("source '\(name)': forgot \(Summary.grouped(inputs.count)) input\(inputs.count == 1 ? "" : "s") "
                + "(\(Summary.grouped(Int(records))) record\(records == 1 ? "" : "s") delivered)")
        }
        if source == nil && names.allSatisfy({ (saved[$0] ?? []).isEmpty }) { print("no checkpoints; nothing to forget") }
        if pending { print("a --full run was pending: the next run starts it afresh") }
        if let shared {
            print("the next cluster run (\(PostgresConnection.redact(shared.url))) reads "
                + (source.map { "the inputs of '\($0)'" } ?? "every input") + " again, and the sinks write their records again")
        } else if source == nil {
            print("the next run reads every input again, like run --full: file outputs start afresh, unkeyed tables get the records again")
        } else {
            print("the next run reads the inputs of '\(source ?? "")' again, and the sinks write their records again")
        }
    }
}
