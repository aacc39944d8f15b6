import Foundation
import Testing
import SluiceCore
import SluiceFormats
import SluiceRuntime
import SluiceTestSupport
import SluiceJSON

@Suite("json stages in a pipeline")
struct JSONPipelineTests {
    @Test("a config wires the json source to the json sink; bad lines land in the dead-letter file with their place")
    func configRun() throws {
        let dir = TemporaryDirectory()
        try dir.write("in/a.jsonl", "{\"id\": 1, \"x\": 1.0}\n{\"id\": oops}\n{\"id\": 2}\n")
        let yaml = """
            dead_letter: out/dead.jsonl
            sources:
              raw:
                type: json
                path: in/*.jsonl
                max_line_bytes: 1KiB
            sinks:
              copy:
                type: json
                inputs: [raw]
                path: out/copy.json
                format: array
            """
        let loader = ConfigLoader(registry: try StageRegistry(plugins: [JSONPlugin.self]), variables: [:])
        let pipeline = try loader.load(yaml: yaml, file: dir.file("p.yaml"), baseDirectory: dir.path)
        let deadLetters = FileDeadLetterQueue(path: dir.file("out/dead.jsonl"))
        let result = PipelineRunner(pipeline: pipeline, deadLetters: deadLetters).run()
        deadLetters.close()
        #expect(result.failure == nil)
        #expect(result.deadLetters == 1)
        let copy = try JSONReader.parse(String(decoding: try Data(contentsOf: URL(fileURLWithPath: dir.file("out/copy.json"))), as: UTF8.self))
        #expect(copy == [["id": 1, "x": 1.0], ["id": 2]])
        let letter = try JSONReader.parse(String(decoding: try Data(contentsOf: URL(fileURLWithPath: dir.file("out/dead.jsonl"))), as: UTF8.self))
        #expect(letter["stage"] == "raw")
        #expect(letter["error"] == "invalid JSON: unexpected 'o', expected a value")
        #expect(letter["location"] == "a.jsonl:2:8")
        #expect(letter["raw"] == "{\"id\": oops}")
    }

    @Test("config mistakes in json options are reported at load time")
    func configErrors() throws {
        let dir = TemporaryDirectory()
        let yaml = """
            sources:
              raw:
                type: json
                path: in.jsonl
                format: jsonl
                pointer: items
            sinks:
              out:
                type: json
                inputs: [raw]
                path: out.jsonl
            """
        let loader = ConfigLoader(registry: try StageRegistry(plugins: [JSONPlugin.self]), variables: [:])
        do {
            _ = try loader.load(yaml: yaml, file: "p.yaml", baseDirectory: dir.path)
            Issue.record("expected a config error")
        } catch {
            #expect(error.description.contains("p.yaml:5:13: error: source 'raw': option 'format' must be one of auto, lines, array, object, not 'jsonl'"))
        }
    }

    @Test("the plugin registers the json source and sink with documented options")
    func registration() throws {
        let registry = try StageRegistry(plugins: [JSONPlugin.self])
        #expect(registry.descriptor(.source, "json")?.options.map(\.name) == ["path", "format", "pointer", "max_line_bytes", "max_depth", "extensions"])
        #expect(registry.descriptor(.sink, "json")?.options.map(\.name) == ["path", "format", "append"])
        #expect(registry.all.allSatisfy { !$0.summary.isEmpty && $0.options.allSatisfy { !$0.doc.isEmpty } })
    }
}
