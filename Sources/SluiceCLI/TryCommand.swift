import ArgumentParser
import Foundation
import SluiceCore
import SluiceFormats
import SluiceRuntime

struct TryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "try",
        abstract: "Apply a Lua rule to JSON Lines records and print the output records as JSON Lines.",
        discussion: """
            Reads FILE (or standard input), runs each record through SCRIPT's process(record, emit), \
            and prints what comes out on standard output. Errors go to standard error with the script \
            and line. Exit status 0, or 3 when some records failed.
            """)

    @Argument(help: "The Lua rule.", completion: .file(extensions: ["lua"]))
    var script: String

    @Option(help: "The input: a JSON Lines file (default: standard input), or for --source text_articles a file, folder or glob.")
    var input: String?

    @Option(help: "The source type that reads --input: json (JSON Lines, the default) or any other source type, such as text_articles.")
    var source: String = "json"

    @Option(help: "The rule's init(options) table, as a JSON object.")
    var options: String?

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        let cwd = FileManager.default.currentDirectoryPath
        let scriptPath = script.hasPrefix("/") ? script : cwd + "/" + script
        guard FileManager.default.fileExists(atPath: scriptPath) else {
            printError("error: no such script: \(script)")
            throw ExitCode(ExitStatus.usage)
        }
        if let input, !FileSet.hasWildcard(input), !FileManager.default.isReadableFile(atPath: input.hasPrefix("/") ? input : cwd + "/" + input) {
            printError("error: cannot read the input \(input)")
            throw ExitCode(ExitStatus.usage)
        }
        if source != "json" && input == nil {
            printError("error: --source \(source) reads files: give --input FILE, FOLDER or GLOB")
            throw ExitCode(ExitStatus.usage)
        }
        if input == nil && isatty(STDIN_FILENO) != 0 {
            printError("reading JSON Lines records from standard input (one JSON object per line; Ctrl-D to end, or give --input FILE)…")
        }
        var optionsValue: Value = [:]
        if let options {
            do {
                optionsValue = try JSONReader.parse(options)
            } catch {
                printError("error: --options is not valid JSON: \(error)")
                throw ExitCode(ExitStatus.usage)
            }
            guard optionsValue.objectValue != nil else {
                printError("error: --options must be a JSON object")
                throw ExitCode(ExitStatus.usage)
            }
        }
        // Build the one-rule pipeline through the registry's descriptors, with the same option
        // checks, defaults and factories as `run`, so `try` behaves exactly like the rule inside
        // a real pipeline. The user's paths and options are data: no `${VAR}` is read in them.
        let inputPath = input.map { $0.hasPrefix("/") ? $0 : cwd + "/" + $0 } ?? "-"
        let loader = ConfigLoader(registry: SluiceMain.registry, defaultWorkers: 1)
        // The state folder a config named `<try>` would get (`.sluice/<try>`), as before.
        let stateDir = URL(fileURLWithPath: cwd).appendingPathComponent(".sluice/<try>").path
        let environment = BuildEnvironment(configFile: "<try>", baseDirectory: cwd, dataDirectory: stateDir, defaultWorkers: 1)
        var sourceOptions: Fields = ["path": .string(inputPath)]
        if source == "json" { sourceOptions["format"] = "lines" }
        let pipeline: Pipeline
        do throws(ConfigError) {
            let stages = [
                try loader.stage(.source, type: source, name: "input", options: sourceOptions, environment: environment),
                try loader.stage(.transform, type: "lua", name: "rule", inputs: ["input"],
                                 options: ["script": .string(scriptPath), "workers": 1, "options": optionsValue],
                                 environment: environment),
                try loader.stage(.sink, type: "json", name: "output", inputs: ["rule"], options: ["path": "-"],
                                 environment: environment),
            ]
            pipeline = Pipeline(configFile: "<try>", environment: environment,
                                deadLetterPath: stateDir + "/dead_letter.jsonl", stages: stages, tests: [])
        } catch {
            for d in error.diagnostics where d.position.file != "<try>" { printError(d.description) }
            for d in error.diagnostics where d.position.file == "<try>" { printError("error: \(d.message)") }
            throw ExitCode(ExitStatus.usage)
        }
        let letters = StderrDeadLetterQueue()
        let result = PipelineRunner(pipeline: pipeline, deadLetters: letters).run()
        if let failure = result.failure {
            printError("error: \(failure)")
            throw ExitCode(ExitStatus.fatal)
        }
        if result.deadLetters > 0 { throw ExitCode(ExitStatus.deadLetters) }
    }
}

/// Prints each dead letter as a readable error on standard error.
struct StderrDeadLetterQueue: DeadLetterQueue {
    func send(_ letter: DeadLetter) {
        let place = letter.origin?.location.map { " (input \($0))" } ?? ""
        var text = "error: \(letter.error)\(place)"
        if case .string(let line)? = letter.details["script_line"] { text += "\n    \(line)" }
        if case .string(let tb)? = letter.details["traceback"] { text += "\n" + tb }
        printError(text)
    }
}
