import ArgumentParser
import Foundation
import Logging
import SluiceBasics
import SluiceCore
import SluiceRuntime
import SluiceExec
import SluiceJSON
import SluiceLuaStages
import SluicePostgres
import SluiceSQLite
import SluiceTextArticles
import Synchronization

/// The stage families built into `sluice`.
public var builtinPlugins: [any SluicePlugin.Type] {
    [TextArticlesPlugin.self, JSONPlugin.self, SQLitePlugin.self, LuaPlugin.self, BasicsPlugin.self, ExecPlugin.self,
     PostgresPlugin.self]
}

/// Entry point of the `sluice` command.
///
/// A third-party plugin ships its own binary with one line:
/// `SluiceMain.main(plugins: builtinPlugins + [MyPlugin.self])`.
public enum SluiceMain {
    static let registryStore = Mutex(builtinRegistry())

    /// The built-in stage types. Two built-in families claiming one type name is a defect of
    /// this binary, caught by the first test that runs.
    static func builtinRegistry() -> StageRegistry {
        do {
            return try StageRegistry(plugins: builtinPlugins)
        } catch {
            fatalError("sluice: \(error)")
        }
    }

    /// The stage types the commands see.
    static var registry: StageRegistry { registryStore.withLock { $0 } }

    /// Parses the command line, runs the command and exits with the SPEC's status codes
    /// (bad usage: 2, not ArgumentParser's 64).
    public static func main(plugins: [any SluicePlugin.Type] = builtinPlugins,
                            arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
        do {
            let registry = try StageRegistry(plugins: plugins)
            registryStore.withLock { $0 = registry }
        } catch {
            // A plugin that registers a type name another already has: refuse to run rather
            // than let one silently replace the other.
            printError("error: \(error)")
            exit(ExitStatus.fatal)
        }
        do {
            var command = try SluiceCommand.parseAsRoot(arguments)
            try command.run()
            exit(0)
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            let status = SluiceCommand.exitCode(for: error)
            let message = SluiceCommand.fullMessage(for: error)
            if status == .success {
                print(message)
                exit(0)
            }
            FileHandle.standardError.write(Data((message + "\n").utf8))
            exit(status == .validationFailure ? ExitStatus.usage : ExitStatus.fatal)
        }
    }
}

/// The exit statuses of SPEC §2.
enum ExitStatus {
    static let ok: Int32 = 0
    static let fatal: Int32 = 1
    static let usage: Int32 = 2
    static let deadLetters: Int32 = 3
    static let interrupted: Int32 = 130
    static let terminated: Int32 = 143
}

struct SluiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Ingest articles, JSON and SQLite through Lua rules into SQLite or JSON Lines.",
        version: "0.1.0",
        subcommands: [RunCommand.self, ValidateCommand.self, TestCommand.self, StagesCommand.self,
                      TryCommand.self, GraphCommand.self, StatusCommand.self, ResetCommand.self,
                      ReplayCommand.self, TapCommand.self, InitCommand.self, ClusterCommand.self,
                      SchemaCommand.self])
}

/// Options every command that logs takes.
struct LoggingOptions: ParsableArguments {
    /// How log lines look.
    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "text (for people) or json (one JSON object per line, for log collectors).")
    var logFormat: Format = .text

    func bootstrap() {
        let level = logLevel
        let format = logFormat
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                return JSONLogHandler(label: label, logLevel: level)
            }
        }
    }
}

/// Writes each log message as one JSON object on standard error:
/// `{"time", "level", "label", "message", "source", …metadata}`.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    init(label: String, logLevel: Logger.Level) {
        self.label = label
        self.logLevel = logLevel
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = Fields()
        fields["time"] = .string(Date().formatted(.iso8601))
        fields["level"] = .string(event.level.rawValue)
        fields["label"] = .string(label)
        fields["message"] = .string(event.message.description)
        fields["source"] = .string(event.source)
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        for key in all.keys.sorted() where fields[key] == nil {
            if let value = all[key] { fields[key] = Self.value(value) }
        }
        var out: [UInt8] = []
        JSONWriter.write(fields, to: &out)
        out.append(0x0A)
        FileHandle.standardError.write(Data(out))
    }

    private static func value(_ m: Logger.Metadata.Value) -> Value {
        switch m {
        case .string(let s): return .string(s)
        case .stringConvertible(let c): return .string(c.description)
        case .array(let a): return .array(a.map(value))
        case .dictionary(let d):
            var f = Fields()
            for key in d.keys.sorted() { if let v = d[key] { f[key] = value(v) } }
            return .object(f)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Writes to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Loads a config or prints its problems and exits 2. `variables` add to the environment's
/// for `${VAR}` (a cluster process's `${SLUICE_PROCESS}`).
func loadPipeline(_ path: String, workers: Int? = nil, variables: [String: String] = [:]) throws -> Pipeline {
    var loader = ConfigLoader(registry: SluiceMain.registry)
    loader.checkDisk = true
    if let workers { loader.defaultWorkers = workers }
    loader.variables.merge(variables) { _, added in added }
    do {
        return try loader.load(path: path)
    } catch {
        for d in error.diagnostics { printError(d.description) }
        throw ExitCode(ExitStatus.usage)
    }
}
