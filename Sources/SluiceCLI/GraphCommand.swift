import ArgumentParser
import SluiceCore

struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Print the pipeline graph (Graphviz DOT, or Mermaid).")

    enum Format: String, ExpressibleByArgument, CaseIterable { case dot, mermaid }

    @Argument(help: "The pipeline config (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var config: String

    @Option(help: "dot or mermaid.")
    var format: Format = .dot

    func run() throws {
        let pipeline = try loadPipeline(config)
        print(format == .dot ? pipeline.dot() : pipeline.mermaid())
    }
}
