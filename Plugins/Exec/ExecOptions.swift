import Foundation
import SluiceCore

/// Options the `exec` source, transform and sink share, and the checks made when the config
/// loads (so `sluice validate` reports a program that is missing).
enum ExecOptions {
    static let command = OptionSpec(
        "command", .stringOrList, required: true,
        doc: "the program and its arguments, [program, args…] (no shell); a program without / is looked up on PATH, one with / in the config's folder")
    static let env = OptionSpec(
        "env", .object, doc: "environment variables added for the program, {NAME: value}")
    static let timeout = OptionSpec(
        "timeout", .number, default: .double(30),
        doc: "seconds the program may take to answer one record (a sink: to take its input) before it counts as hung")
    static let workers = OptionSpec(
        "workers", .integer, default: .int(1), doc: "copies of the program running in parallel, 1 to \(maxWorkers)")
    static let ordered = OptionSpec(
        "ordered", .boolean, default: true, doc: "keep output in input order when workers > 1")
    static let maxRestarts = OptionSpec(
        "max_restarts", .integer, default: .int(5),
        doc: "restarts in a row without a single answer before the stage fails (the backoff doubles from 0.1 s to 5 s)")

    /// More processes than this is a typo, not a plan.
    static let maxWorkers = 64

    /// The command, checked: the program exists and is executable.
    static func command(_ options: StageOptions) throws(ConfigError) -> ExecCommand {
        guard let words = options.strings("command"), let first = words.first, !first.isEmpty else {
            throw options.error("command", "'command' needs at least the program: [program, args…]")
        }
        var environment: [String: String] = [:]
        for (key, value) in options["env"]?.objectValue ?? [:] {
            switch value {
            case .string(let s): environment[key] = s
            case .int, .double, .bool: environment[key] = JSONWriter.string(value)
            default: throw options.error("env", "'env' maps names to strings; '\(key)' is \(value.kindName)")
            }
        }
        let display = "`" + words.joined(separator: " ") + "`"
        let base = options.environment.baseDirectory
        let program: String
        if first.contains("/") {
            program = options.environment.resolve(first)
            guard FileManager.default.fileExists(atPath: program) else {
                throw options.error("command", "the program \(first) of \(display) does not exist (looked for \(program))")
            }
            guard FileManager.default.isExecutableFile(atPath: program) else {
                throw options.error("command", "the program \(first) of \(display) is not executable (chmod +x, or name its interpreter first: [python3, \(first)])")
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
                throw options.error("command", "the program '\(first)' of \(display) is not on PATH\(hint)")
            }
            program = found
        }
        return ExecCommand(program: program, arguments: Array(words.dropFirst()), environment: environment,
                           directory: base, display: display)
    }

    /// The timeout in seconds, checked.
    static func timeout(_ options: StageOptions) throws(ConfigError) -> Double {
        let t = options.double("timeout") ?? 30
        guard t > 0, t.isFinite else { throw options.error("timeout", "'timeout' must be a positive number of seconds, not \(t)") }
        return t
    }
}
