import ArgumentParser
import SluiceCore

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a config: every stage's options and wiring, every Lua script. Silent when valid.",
        discussion: "Exit status 0 when valid; 2 with one FILE:LINE:COL: error: MESSAGE line per problem.")

    @Argument(help: "The pipeline config (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var config: String

    func run() throws {
        _ = try loadPipeline(config)
    }
}
