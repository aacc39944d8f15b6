import Foundation
@testable import SluiceCLI
import SluiceCore
import SluiceRuntime
import SluiceTestSupport
import Testing

@Suite("every built-in stage type's example")
struct StageExampleTests {
    /// A pipeline around one stage type's example: the example is the stage `articles` when
    /// it is a source, otherwise it reads a json source named `articles`; a transform feeds a
    /// json sink.
    static func pipeline(around descriptor: StageDescriptor) -> String {
        let entry = descriptor.example.split(separator: "\n", omittingEmptySubsequences: false)
            .map { "    " + $0 }.joined(separator: "\n")
        switch descriptor.kind {
        case .source:
            return "sources:\n  articles:\n\(entry)\nsinks:\n  out: { type: json, inputs: [articles], path: out.jsonl }\n"
        case .transform:
            return "sources:\n  articles: { type: json, path: in.jsonl }\ntransforms:\n  example:\n\(entry)\n"
                + "sinks:\n  out: { type: json, inputs: [example], path: out.jsonl }\n"
        case .sink:
            return "sources:\n  articles: { type: json, path: in.jsonl }\nsinks:\n  example:\n\(entry)\n"
        }
    }

    @Test("loads, binds and builds through the config loader: it is a valid entry of its type")
    func examplesBuild() throws {
        let registry = SluiceMain.registry
        #expect(registry.all.count >= 14)
        for descriptor in registry.all {
            let dir = TemporaryDirectory("stage-example")
            // A rule file wherever an example names one, so the lua stage can check it.
            for line in descriptor.example.split(separator: "\n") where line.hasPrefix("script: ") {
                try dir.write(String(line.dropFirst("script: ".count)), "function process(record) return record end\n")
            }
            #expect(descriptor.example.hasPrefix("type: \(descriptor.type)\n"), "\(descriptor.type): the example starts with its type")
            if descriptor.kind != .source {
                #expect(descriptor.example.contains("\ninputs: articles"), "\(descriptor.type): a \(descriptor.kind) example names its inputs")
            }
            let loader = ConfigLoader(registry: registry, variables: ["PGPASSWORD": "secret", "FEED_TOKEN": "t"])
            do {
                let pipeline = try loader.load(yaml: Self.pipeline(around: descriptor), file: dir.file("p.yaml"), baseDirectory: dir.path)
                #expect(pipeline.stages.contains { $0.type == descriptor.type && $0.kind == descriptor.kind })
            } catch {
                Issue.record("the example of \(descriptor.kind) '\(descriptor.type)' does not load:\n\(error)")
            }
        }
    }
}
