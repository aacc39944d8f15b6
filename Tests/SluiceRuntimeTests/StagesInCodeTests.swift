import Foundation
import SluiceCore
import SluiceRuntime
import Testing

@Suite("Stages built in code (sluice try): the config's checks without YAML text")
struct StagesInCodeTests {
    let loader = ConfigLoader(registry: TestStages.registry, variables: ["HOME": "/home/x"], defaultWorkers: 2)
    let environment = BuildEnvironment(configFile: "<code>", baseDirectory: "/tmp/cfg", dataDirectory: "/tmp/cfg/.sluice/x")

    @Test("options get the config's defaults, coercions and path resolution; strings stay data, '$' included")
    func defaultsAndCoercions() throws {
        let stage = try loader.stage(.transform, type: "tag", name: "t", inputs: ["src"],
                                     options: ["field": "${HOME} $5", "size": "2K", "paths": ["a", "/b"], "value": "1"],
                                     environment: environment)
        #expect(stage.kind == .transform && stage.inputs == ["src"] && stage.type == "tag")
        #expect(stage.options.string("field") == "${HOME} $5")
        #expect(stage.options["value"] == .string("1"))
        #expect(stage.options.int("size") == 2048)
        #expect(stage.options.strings("paths") == ["/tmp/cfg/a", "/b"])
        #expect(stage.options.string("mode") == "a" && stage.options.int("workers") == 1)
    }

    @Test("an unknown type, an unknown option and a mistyped value are refused with the config's messages")
    func refusals() {
        func messages(_ kind: StageKind, _ type: String, _ options: Fields) -> [String] {
            do {
                _ = try loader.stage(kind, type: type, name: "s", options: options, environment: environment)
                return []
            } catch {
                return error.diagnostics.map(\.message)
            }
        }
        #expect(messages(.source, "nubmers", [:]).contains { $0.hasPrefix("unknown source type 'nubmers'") && $0.contains("numbers") })
        #expect(messages(.source, "numbers", ["cont": 3]).contains { $0.contains("unknown option 'cont'") && $0.contains("count") })
        #expect(messages(.source, "numbers", ["count": "many"]).contains { $0.contains("option 'count'") })
        #expect(messages(.sink, "memory", [:]).contains { $0.contains("missing the required option 'slot'") })
    }
}
