import ArgumentParser
import SluiceCore

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a config: every stage's options and wiring, every Lua script. Silent when valid.",
        discussion: """
            Exit status 0 when valid; 2 with one FILE:LINE:COL: error: MESSAGE line per problem. \
            Also checks the disk: sink and dead-letter paths that cannot be written are errors; \
            source paths that match no file yet are FILE:LINE:COL: warning: lines (still exit 0).
            """)

    @Argument(help: "The pipeline config (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var config: String

    func run() throws {
        let pipeline = try loadPipeline(config)
        for warning in pipeline.unmatchedInputs { printError("\(warning.position): warning: \(warning.message)") }
    }
}
