import ArgumentParser
import SluiceCore
import SluiceRuntime

/// `sluice schema`: the JSON Schema of a pipeline config file, from the registered stage types.
struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print a JSON Schema (draft 2020-12) of the config file, generated from the stage types.",
        discussion: """
            Editors complete and check pipeline files with it: `sluice schema > sluice.schema.json`, \
            then put `# yaml-language-server: $schema=sluice.schema.json` at the top of the config \
            (see docs/config.md, "Editor completion").
            """)

    func run() throws {
        print(ConfigSchema.json(registry: SluiceMain.registry), terminator: "")
    }
}
