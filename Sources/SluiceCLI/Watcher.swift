import ArgumentParser
import Dispatch
import Foundation
import SluiceCore
import SluiceFormats
import SluiceRuntime

/// `sluice run --watch`: runs the pipeline, then watches what it depends on — the files its
/// sources read (new files in their folders and globs too), the config file, and the Lua scripts
/// its stages use (with the `.lua` files beside them, which `require` loads) — and runs it again
/// when something changes. Each run after the first is an ordinary incremental run: the
/// checkpoints make it read only what is new or changed.
///
/// Watching is polling: the files' sizes and modification times, compared every second (less
/// often when listing takes long: at most a tenth of the time goes to it), and a change is acted
/// on once two looks half a second apart agree (an editor's save or a copy in progress is not
/// caught half done). Polling works on every file system, network ones included, and needs no
/// watch limits; the cost is one `stat` per input file per look.
///
/// What the pipeline writes (sink outputs, dead letters, the data folder) is not watched, so a
/// run never triggers the next one. A config that became invalid is reported and the watch goes
/// on; so does a run that fails (a source path that matches nothing yet, say). SIGINT or SIGTERM
/// ends the watch with status 0 — after a clean flush when a run is going on.
struct Watcher {
    let command: RunCommand
    /// What the config says to watch, loaded again only when the config file changes (loading
    /// compiles every Lua script: too much to do every second).
    private let plan = PlanCache()

    final class PlanCache {
        var stamp: FileStamp?
        var plan: Plan?
    }

    /// The file sets to list and the paths never to watch.
    struct Plan {
        var sets: [FileSet] = []
        var written: Set<String> = []
        var dataDirectory: String?
    }

    init(command: RunCommand) { self.command = command }

    /// Seconds between two looks when listing is quick.
    static let pollInterval = 1.0
    /// Seconds a change must stay still before the run starts.
    static let settle = 0.5

    func run() throws {
        let signals = SignalWatcher()
        let wake = DispatchSemaphore(value: 0)
        signals.onSignal { wake.signal() }
        var command = self.command
        var first = true
        while true {
            // Taken before the run: a file added while the run goes on triggers the next one.
            var before = snapshot()
            do {
                try command.runOnce(signals: signals)
            } catch let code as ExitCode {
                // An invalid config at the start is a usage error, as for `run`; later, while
                // the user edits it, the watch goes on.
                if first && code.rawValue == ExitStatus.usage && signals.received == nil { throw code }
            }
            first = false
            command.full = false   // `--full` is for the first run; the next ones are incremental
            if signals.received != nil { return }
            printError("watching \(before.count) file\(before.count == 1 ? "" : "s") for changes (Ctrl-C stops)")
            // Wait for a change that has settled.
            while true {
                let started = Date()
                let now = snapshot()
                let cost = Date().timeIntervalSince(started)
                if now != before {
                    var settled = now
                    repeat {
                        before = settled
                        if wake.wait(timeout: .now() + Self.settle) == .success { return }
                        settled = snapshot()
                    } while settled != before
                    printError("change seen: running again")
                    break
                }
                let pause = min(10, max(Self.pollInterval, cost * 10))
                if wake.wait(timeout: .now() + pause) == .success { return }
            }
        }
    }

    /// Size and modification time of every watched file, by path.
    func snapshot() -> [String: FileStamp] {
        var stamps: [String: FileStamp] = [:]
        for path in watchedFiles() {
            if let stamp = FileStamp(path: path) { stamps[path] = stamp }
        }
        return stamps
    }

    /// The config, every file the sources read, every script and its neighbouring `.lua`
    /// files; never what the pipeline writes.
    func watchedFiles() -> Set<String> {
        let config = FileClaimsPath.absolute(command.config)
        var files: Set<String> = [config]
        let stamp = FileStamp(path: config)
        if plan.plan == nil || stamp != plan.stamp {
            plan.stamp = stamp
            plan.plan = Self.plan(for: command.config)
        }
        guard let current = plan.plan else { return files }
        let dataDirectory = current.dataDirectory.map { $0 + "/" }
        for set in current.sets {
            for file in (try? set.files()) ?? [] {
                let path = FileClaimsPath.absolute(file.path)
                if current.written.contains(path) { continue }
                if let dataDirectory, path.hasPrefix(dataDirectory) { continue }
                // A database's journal files change with every write.
                if current.written.contains(where: { path.hasPrefix($0 + "-") }) { continue }
                files.insert(path)
            }
        }
        return files
    }

    /// What `config` says to watch; nil when it does not load (only the config is watched).
    static func plan(for config: String) -> Plan? {
        var loader = ConfigLoader(registry: SluiceMain.registry)
        loader.checkDisk = false
        guard let pipeline = try? loader.load(path: config) else { return nil }
        var plan = Plan()
        plan.written = [FileClaimsPath.absolute(pipeline.deadLetterPath)]
        plan.dataDirectory = FileClaimsPath.absolute(pipeline.environment.dataDirectory)
        for stage in pipeline.stages {
            let resources = stage.stage.resources
            for path in resources.filesWritten { plan.written.insert(FileClaimsPath.absolute(path)) }
            guard stage.kind != .sink else { continue }
            for set in resources.filesRead {
                plan.sets.append(set)
                // Modules a transform's script may `require`.
                guard stage.kind == .transform else { continue }
                for file in (try? set.files()) ?? [] {
                    let folder = (file.path as NSString).deletingLastPathComponent
                    plan.sets.append(FileSet(pattern: folder, extensions: ["lua"]))
                }
            }
        }
        return plan
    }
}

/// Absolute, standardized paths for comparing the watched files with the written ones.
enum FileClaimsPath {
    static func absolute(_ path: String) -> String {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path)
            : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path)
        return url.standardizedFileURL.path
    }
}
