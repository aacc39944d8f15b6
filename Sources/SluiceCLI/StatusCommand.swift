import ArgumentParser
import Foundation
import SluiceCore
import SluiceFormats
import SluiceRuntime
import SluicePostgres

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show what each source has ingested, what is new or changed, and the last run.",
        discussion: """
            One line per source: inputs delivered and their records, and for sources that read \
            files, how many matching files are new (never delivered) or changed since. Then the last \
            run, whether a --full run is pending, and the dead letters waiting. With --cluster URL \
            (or a config with 'cluster:'), the checkpoints and runs are the cluster's, in PostgreSQL. \
            Changes nothing. Exit status 0; 2 for a bad config; 1 when the state cannot be read.
            """)

    @Argument(help: "The pipeline config (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var config: String

    @Option(help: ArgumentHelp("Read the checkpoints of the pipeline's cluster runs from this PostgreSQL database (default: the config's 'cluster:' URL, if any) instead of the local state.", valueName: "url"))
    var cluster: String?

    func run() throws {
        let pipeline = try loadStatePipeline(config)
        let shared = try clusterCheckpointStore(flag: cluster, pipeline: pipeline)
        let report: DeliveryStatus
        do {
            report = try DeliveryStatus(pipeline: pipeline,
                                        shared: shared.map { ($0.store, "cluster " + PostgresConnection.redact($0.url)) })
        } catch {
            printError("error: \(error)")
            throw ExitCode(ExitStatus.fatal)
        }
        print(report.render())
    }
}

/// A path as the user would like to read it: relative to the current folder when inside it.
func displayPath(_ path: String) -> String {
    let cwd = FileManager.default.currentDirectoryPath
    let prefix = cwd.hasSuffix("/") ? cwd : cwd + "/"
    return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
}

/// What `sluice status` reports, gathered from the config, the files and the checkpoint store.
struct DeliveryStatus {
    /// One source's line.
    struct SourceLine: Equatable {
        var name: String
        var type: String
        /// Inputs with a saved checkpoint.
        var inputs: Int
        /// Of those, inputs delivered only in part so far.
        var partial: Int
        /// Records delivered from them.
        var records: Int64
        /// Matching files with no checkpoint; nil when the source does not read files.
        var new: Int?
        /// Matching files whose size or time differ from their checkpoint; nil as for `new`.
        var changed: Int?
        /// Why the files could not be listed.
        var problem: String?
    }

    var pipelineName: String
    var configFile: String
    var statePath: String
    /// Whether a run has left a state file.
    var hasState: Bool
    var sources: [SourceLine]
    /// Saved checkpoints of sources that are no longer in the config: name, inputs.
    var strays: [(name: String, inputs: Int)]
    var lastRun: RunRecord?
    var fullRunPending: Bool
    var deadLetterPath: String
    /// Lines in the dead-letter file, nil when there is none.
    var deadLetters: Int?
    /// Letters that failed again in replays (`<name>.replay-*.jsonl` next to the file).
    var replayFiles: (files: Int, letters: Int)

    /// Gathers the report; `shared` is a cluster's checkpoint store and how to name it, used
    /// instead of the local state file.
    init(pipeline: Pipeline, shared: (store: any CheckpointStore, label: String)? = nil) throws {
        pipelineName = pipeline.name
        configFile = pipeline.configFile
        statePath = shared?.label ?? pipeline.checkpointStorePath
        deadLetterPath = pipeline.deadLetterPath
        deadLetters = DeliveryStatus.countLines(pipeline.deadLetterPath)
        replayFiles = DeliveryStatus.replayFiles(next: pipeline.deadLetterPath)
        hasState = shared != nil || FileManager.default.fileExists(atPath: statePath)
        var saved: [String: [InputCheckpoint]] = [:]
        if hasState {
            let store: any CheckpointStore = try shared?.store ?? SQLiteCheckpointStore(path: statePath, create: false)
            saved = try store.allInputs()
            lastRun = try store.lastRun()
            fullRunPending = try store.fullRunPending()
        } else {
            fullRunPending = false
        }
        sources = []
        for stage in pipeline.stages where stage.kind == .source {
            sources.append(DeliveryStatus.line(name: stage.name, type: stage.type, files: stage.stage.resources.filesRead.first,
                                               saved: saved[stage.name] ?? []))
        }
        let names = Set(sources.map(\.name))
        strays = saved.keys.sorted().filter { !names.contains($0) }.map { ($0, saved[$0]?.count ?? 0) }
    }

    /// One source's line: its saved inputs, and the state of its files against them.
    static func line(name: String, type: String, files: FileSet?, saved: [InputCheckpoint]) -> SourceLine {
        var line = SourceLine(name: name, type: type, inputs: saved.count, partial: saved.filter { !$0.complete }.count,
                              records: saved.reduce(0) { $0 + $1.records })
        guard let files else { return line }
        let matched: [MatchedFile]
        do {
            matched = try files.files()
        } catch {
            line.problem = "\(error)"
            return line
        }
        let byInput = Dictionary(saved.map { ($0.input, $0) }, uniquingKeysWith: { a, _ in a })
        // Files a cluster run read in byte ranges (inputs `FILE#START-END`) before their whole
        // checkpoint is saved (when the next cluster run lists its units): not new.
        let ranged = Set(saved.compactMap { cp in cp.input.lastIndex(of: "#").map { String(cp.input[..<$0]) } })
        // A source whose checkpoints name something else than its files (tables of a database)
        // has no per-file state to compare.
        if !saved.isEmpty && !matched.contains(where: { byInput[$0.relativePath] != nil || ranged.contains($0.relativePath) }) {
            return line
        }
        var new = 0
        var changed = 0
        for file in matched {
            guard let checkpoint = byInput[file.relativePath] else {
                if !ranged.contains(file.relativePath) { new += 1 }
                continue
            }
            guard let stamp = FileStamp(path: file.path) else { changed += 1; continue }
            if stamp.size != checkpoint.size || stamp.modified != checkpoint.modified { changed += 1 }
        }
        line.new = new
        line.changed = changed
        return line
    }

    /// The files a replay of `path` left its failures in, and their letters.
    static func replayFiles(next path: String) -> (files: Int, letters: Int) {
        let folder = (path as NSString).deletingLastPathComponent
        let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension + ".replay-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var result = (files: 0, letters: 0)
        for name in names where name.hasPrefix(stem) && name.hasSuffix(".jsonl") {
            result.files += 1
            result.letters += countLines((folder as NSString).appendingPathComponent(name)) ?? 0
        }
        return result
    }

    /// The number of non-empty lines of a file, nil when it does not exist.
    static func countLines(_ path: String) -> Int? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var count = 0
        var last: UInt8 = 0x0A
        while let chunk = try? handle.read(upToCount: 1 << 16), !chunk.isEmpty {
            for byte in chunk {
                if byte == 0x0A && last != 0x0A { count += 1 }
                last = byte
            }
        }
        if last != 0x0A { count += 1 }
        return count
    }

    func render() -> String {
        var out: [String] = []
        out.append("pipeline \(pipelineName)" + (hasState ? " (state: \(displayPath(statePath)))" : ": no run yet"))
        var rows: [[String]] = [["source", "type", "inputs done", "records", "new files", "changed files"]]
        for s in sources {
            let done = Summary.grouped(s.inputs) + (s.partial > 0 ? " (\(s.partial) partly)" : "")
            rows.append([s.name, s.type, done, Summary.grouped(Int(s.records)),
                         s.new.map(Summary.grouped) ?? "-", s.changed.map(Summary.grouped) ?? "-"])
        }
        let widths = (0..<6).map { col in rows.map { $0[col].count }.max() ?? 0 }
        for row in rows {
            let cells = (0..<6).map { col in
                col < 2 ? row[col].padding(toLength: widths[col], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[col] - row[col].count) + row[col]
            }
            out.append("  " + cells.joined(separator: "  "))
        }
        for s in sources where s.problem != nil { out.append("  source '\(s.name)': \(s.problem ?? "")") }
        for stray in strays {
            out.append("  checkpoints of '\(stray.name)', which is not in the config: \(stray.inputs) input\(stray.inputs == 1 ? "" : "s")")
        }
        if let run = lastRun {
            let took = String(format: "%.1f", run.finished.timeIntervalSince(run.started))
            out.append("last run:         \(DeliveryStatus.time(run.finished))  \(run.status)\(run.full ? " (--full)" : ""), "
                + "\(Summary.grouped(Int(run.read))) read, \(Summary.grouped(Int(run.delivered))) delivered, "
                + "\(Summary.grouped(Int(run.deadLetters))) dead-lettered in \(took) s")
        } else {
            out.append("last run:         none")
        }
        out.append("full run pending: " + (fullRunPending ? "yes (the next run continues it)" : "no"))
        if let count = deadLetters, count > 0 {
            out.append("dead letters:     \(Summary.grouped(count)) waiting in \(displayPath(deadLetterPath)) "
                + "(sluice replay \(displayPath(deadLetterPath)) \(configFile))")
        } else {
            out.append("dead letters:     none")
        }
        if replayFiles.files > 0 {
            let (files, letters) = replayFiles
            out.append("                  \(Summary.grouped(letters)) failed again in replays, in \(files) "
                + "file\(files == 1 ? "" : "s") next to it (\(((deadLetterPath as NSString).lastPathComponent as NSString).deletingPathExtension).replay-*.jsonl)")
        }
        return out.joined(separator: "\n")
    }

    /// `2025-01-31 17:04:05 UTC`.
    static func time(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return formatter.string(from: date)
    }
}
