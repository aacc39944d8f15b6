import Foundation
import SluiceCore

/// The options the `exec` source, transform and sink share, and the checks made when the
/// config loads (so `sluice validate` reports a program that is missing).
protocol ExecStageConfiguration: StageConfiguration {
    /// `command`: the program and its arguments.
    var command: [String] { get set }
    /// `env`: variables added for the program.
    var env: Value? { get set }
}

/// More processes than this is a typo, not a plan.
let maxExecWorkers = 64

extension ExecStageConfiguration {
    /// `command` and `env`.
    static var commandOptions: [ConfigOption<Self>] {
        [
            .init("command", \.command, .stringOrList, required: true,
                  doc: "the program and its arguments, [program, args…] (no shell); a program without / is looked up on PATH, one with / in the config's folder"),
            .init("env", \.env, .object, doc: "environment variables added for the program, {NAME: value}"),
        ]
    }

    /// The command, checked: the program exists and is executable.
    func checkedCommand(_ context: BuildContext) throws(ConfigError) -> ExecCommand {
        guard let first = command.first, !first.isEmpty else {
            throw context.error("command", "'command' needs at least the program: [program, args…]")
        }
        var environment: [String: String] = [:]
        for (key, value) in env?.objectValue ?? [:] {
            switch value {
            case .string(let s): environment[key] = s
            case .int, .double, .bool: environment[key] = JSONWriter.string(value)
            default: throw context.error("env", "'env' maps names to strings; '\(key)' is \(value.kindName)")
            }
        }
        let display = "`" + command.joined(separator: " ") + "`"
        let base = context.environment.baseDirectory
        let program: String
        if first.contains("/") {
            program = context.environment.resolve(first)
            guard FileManager.default.fileExists(atPath: program) else {
                throw context.error("command", "the program \(first) of \(display) does not exist (looked for \(program))")
            }
            guard FileManager.default.isExecutableFile(atPath: program) else {
                throw context.error("command", "the program \(first) of \(display) is not executable (chmod +x, or name its interpreter first: [python3, \(first)])")
            }
        } else {
            let path = environment["PATH"] ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
            let found = path.split(separator: ":").lazy
                .map { (($0.isEmpty ? "." : String($0)) as NSString).appendingPathComponent(first) }
                .map { $0.hasPrefix("/") ? $0 : (base as NSString).appendingPathComponent($0) }
                .first { FileManager.default.isExecutableFile(atPath: $0) }
            guard let found else {
                let hint = first.contains(" ")
                    ? " ('command' is a list, [program, args…]: write [\(first.split(separator: " ").joined(separator: ", "))])"
                    : ""
                throw context.error("command", "the program '\(first)' of \(display) is not on PATH\(hint)")
            }
            program = found
        }
        return ExecCommand(program: program, arguments: Array(command.dropFirst()), environment: environment,
                           directory: base, display: display)
    }
}

/// The `timeout` option of the `exec` transform and sink.
protocol ExecTimeoutConfiguration: ExecStageConfiguration {
    /// Seconds.
    var timeout: Double { get set }
}

extension ExecTimeoutConfiguration {
    /// `timeout`.
    static var timeoutOption: ConfigOption<Self> {
        .init("timeout", \.timeout, range: .positive,
              doc: "seconds the program may take to answer one record (a sink: to take its input) before it counts as hung")
    }
}
