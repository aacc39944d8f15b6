import ArgumentParser
import Foundation
import SluiceCore
import SluiceRuntime

struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Print the pipeline graph (Graphviz DOT, or Mermaid).",
        discussion: """
            An invalid config is drawn all the same, to help debug it: its problems go to standard \
            error, the drawing to standard output with the cycles' edges in red, stages of an unknown \
            type in red, and inputs that name no stage as dashed red nodes; the exit status is then 2.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case dot, mermaid }

    @Argument(help: "The pipeline config (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var config: String

    @Option(help: "dot or mermaid.")
    var format: Format = .dot

    func run() throws {
        let pipeline: Pipeline
        do {
            pipeline = try loadPipeline(config)
        } catch let code as ExitCode where code.rawValue == ExitStatus.usage {
            // The problems are printed; draw what can be read, marked.
            guard let text = try? String(contentsOfFile: config, encoding: .utf8),
                  let sketch = ConfigSketch(yaml: text, registry: SluiceMain.registry) else { throw code }
            print(format == .dot ? sketch.dot() : sketch.mermaid())
            printError("note: the config is invalid; drawn as written, problems marked in red")
            throw code
        }
        print(format == .dot ? pipeline.dot() : pipeline.mermaid())
    }
}
