import Foundation
import SluiceCore
import SluiceRuntime
import SluiceJSON
import SluiceTestSupport
import Testing

/// The plugin author's guide (docs/plugins.md) walks through `UpperPlugin.swift`; these tests
/// keep the guide's code the code that is compiled here, and show it working in a pipeline.
@Suite("the plugin guide's stage")
struct PluginGuideTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test("docs/plugins.md shows UpperPlugin.swift exactly as it is compiled")
    func guideShowsTheCompiledCode() throws {
        let guide = try String(contentsOf: Self.repository.appendingPathComponent("docs/plugins.md"), encoding: .utf8)
        let code = try String(contentsOf: Self.repository.appendingPathComponent("Tests/PluginGuideTests/UpperPlugin.swift"),
                              encoding: .utf8)
        #expect(guide.contains("```swift\n" + code + "```\n"),
                "copy Tests/PluginGuideTests/UpperPlugin.swift into the guide's Swift block")
    }

    func registry() throws -> StageRegistry {
        try StageRegistry(plugins: [JSONPlugin.self, UpperPlugin.self])
    }

    func pipeline(_ upper: String, in dir: TemporaryDirectory) -> String {
        """
        sources:
          articles: { type: json, path: in.jsonl }
        transforms:
          shout:
            type: upper
            inputs: [articles]
        \(upper.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        sinks:
          out: { type: json, inputs: [shout], path: out.jsonl }
        """
    }

    @Test("registered with one line, the stage runs in a pipeline: fields upper-cased, a too-long value a dead letter")
    func runsInAPipeline() throws {
        let dir = TemporaryDirectory("plugin-guide")
        try dir.write("in.jsonl", """
            {"id":1,"title":"calm news","section":"world"}
            {"id":2,"title":"\(String(repeating: "x", count: 20))","section":"long"}
            {"id":3,"title":"more","n":5}

            """)
        let yaml = pipeline("fields: [title, section]\nkeep_original: true\nmax_length: 10", in: dir)
        let loaded = try ConfigLoader(registry: registry(), variables: [:]).load(yaml: yaml, file: dir.file("p.yaml"),
                                                                                baseDirectory: dir.path)
        let dead = CollectingDeadLetterQueue()
        let result = PipelineRunner(pipeline: loaded, deadLetters: dead).run()
        #expect(result.failure == nil)
        let lines = try String(contentsOfFile: dir.file("out.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines == [
            #"{"id":1,"title":"CALM NEWS","section":"WORLD","title_original":"calm news","section_original":"world"}"#,
            #"{"id":3,"title":"MORE","n":5,"title_original":"more"}"#,
        ])
        #expect(dead.letters.map(\.error) == ["'title' is longer than 10 bytes"])
    }

    @Test("its options are checked from the declaration, each problem at its place in the YAML file")
    func optionsAreChecked() throws {
        let dir = TemporaryDirectory("plugin-guide-bad")
        func problems(_ options: String) throws -> [String] {
            do {
                _ = try ConfigLoader(registry: registry(), variables: [:])
                    .load(yaml: pipeline(options, in: dir), file: "p.yaml", baseDirectory: dir.path)
                return []
            } catch let error as ConfigError {
                return error.diagnostics.map(\.description)
            }
        }
        #expect(try problems("fields: [title, \"\"]") == ["p.yaml:7:13: error: transform 'shout': field 2 of 'fields' is empty"])
        #expect(try problems("fields: []") == ["p.yaml:7:13: error: transform 'shout': option 'fields' must not be empty"])
        #expect(try problems("fields: title\nmax_length: 0")
            == ["p.yaml:8:17: error: transform 'shout': option 'max_length' must be at least 1, not 0"])
        #expect(try problems("keep_original: true").first?.contains("is missing the required option 'fields'") == true)
    }
}
