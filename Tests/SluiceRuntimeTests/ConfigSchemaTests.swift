import Foundation
import SluiceCore
import SluiceFormats
import SluiceRuntime
import Testing

@Suite("JSON Schema of the config file")
struct ConfigSchemaTests {
    /// A tiny registry: one source, one transform with every option type, one sink.
    enum Tiny: SluicePlugin {
        static func register(in registry: inout StageRegistry) throws(RegistryError) {
            try registry.register(Counter.self)
            try registry.register(Shape.self)
            try registry.register(Keep.self)
        }
    }

    struct Counter: SourceConfiguration {
        static let type = "counter"
        static let summary = "Counts."
        static let example = "type: counter\ncount: 3"
        static let options: [ConfigOption<Self>] = [
            .init("count", \.count, required: true, range: OptionRange(1...100), doc: "How many records."),
            .init("table", \.table, notEmpty: true, doc: "A table."),
            .init("query", \.query, doc: "A query."),
            .init("params", \.params, doc: "Its parameters."),
        ]
        static let rules: [OptionRule] = [.exactlyOne(["table", "query"]), .goesWith("params", "query")]
        var count = 0
        var table: String?
        var query: String?
        var params: [String] = []
        func makeSource(_ context: BuildContext) throws -> any Source {
            throw StageError(stage: "counter", message: "not built in this test")
        }
    }

    enum Mode: String, CaseIterable, OptionChoice { case fast, safe }

    struct Shape: TransformConfiguration {
        static let type = "shape"
        static let summary = "Shapes records."
        static let example = "type: shape\ninputs: c"
        static let options: [ConfigOption<Self>] = [
            .init("label", \.label, doc: "A label."),
            .init("ratio", \.ratio, doc: "A ratio."),
            .init("strict", \.strict, doc: "Strict mode."),
            .init("script", \.script, .path, doc: "A script."),
            .init("max", \.max, .size, doc: "A size."),
            .init("mode", \.mode, doc: "A choice."),
            .init("names", \.names, doc: "Some names."),
            .init("key", \.key, .stringOrList, doc: "One key or several."),
            .init("extra", \.extra, .object, doc: "A mapping."),
            .init("anything", \.anything, doc: "Anything."),
        ]
        var label = "x"
        var ratio = 0.5
        var strict = false
        var script: String?
        var max = 1024
        var mode = Mode.safe
        var names: [String] = []
        var key: [String] = []
        var extra: Value?
        var anything: Value?
        func makeTransform(_ context: BuildContext) throws -> any Transform {
            throw StageError(stage: "shape", message: "not built in this test")
        }
    }

    struct Keep: SinkConfiguration {
        static let type = "keep"
        static let summary = "Keeps them."
        static let example = "type: keep\ninputs: c\nslot: a"
        static let options: [ConfigOption<Self>] = [.init("slot", \.slot, required: true, doc: "Where.")]
        var slot = ""
        func makeSink(_ context: BuildContext) throws -> any Sink { throw StageError(stage: "keep", message: "not built in this test") }
    }

    struct Webhook: SinkConfiguration {
        static let type = "webhook"
        static let summary = "Posts records."
        static let example = "type: webhook\ninputs: c\nurl: https://example.org/hook"
        static let options: [ConfigOption<Self>] = [.init("url", \.url, required: true, doc: "Where to post.")]
        var url = ""
        func makeSink(_ context: BuildContext) throws -> any Sink { throw StageError(stage: "webhook", message: "not built in this test") }
    }

    static func schema(_ registry: StageRegistry? = nil) -> Fields {
        let registry = registry ?? (try? StageRegistry(plugins: [Tiny.self])) ?? StageRegistry()
        return ConfigSchema.generate(registry: registry).objectValue ?? [:]
    }

    static func def(_ schema: Fields, _ name: String) -> Fields {
        schema["$defs"]?.objectValue?[name]?.objectValue ?? [:]
    }

    @Test("the top level is draft 2020-12, takes the loader's top-level keys and refuses others")
    func topLevel() {
        let s = Self.schema()
        #expect(s["$schema"] == .string("https://json-schema.org/draft/2020-12/schema"))
        #expect(s["additionalProperties"] == .bool(false))
        #expect(s["properties"]?.objectValue.map { Array($0.keys) }
            == ["data_dir", "dead_letter", "cluster", "sources", "transforms", "sinks", "tests"])
        #expect(s["properties"]?.objectValue?["cluster"]?.objectValue?["type"] == .string("string"))
        #expect(s["properties"]?.objectValue?["sinks"]?.objectValue?["additionalProperties"]
            == .object(["$ref": "#/$defs/sink"]))
    }

    @Test("each stage kind lists its types and sends each type to its own definition with if/then")
    func dispatchOnType() {
        let s = Self.schema()
        let transform = Self.def(s, "transform")
        #expect(transform["required"] == ["type", "inputs"])
        #expect(transform["properties"]?.objectValue?["type"]?.objectValue?["enum"] == ["shape"])
        #expect(transform["allOf"] == [.object([
            "if": .object(["properties": .object(["type": .object(["const": "shape"])]), "required": ["type"]]),
            "then": .object(["$ref": "#/$defs/transform.shape"]),
        ])])
        #expect(Self.def(s, "source")["required"] == ["type"], "a source has no inputs")
    }

    @Test("a stage type's definition gives each option its JSON type, doc, default and requiredness, and refuses unknown options")
    func optionsOfOneType() throws {
        let s = Self.schema()
        let shape = Self.def(s, "transform.shape")
        #expect(shape["additionalProperties"] == .bool(false))
        #expect(shape["required"] == nil, "no option of shape is required")
        let props = try #require(shape["properties"]?.objectValue)
        #expect(Array(props.keys) == ["type", "inputs", "label", "ratio", "strict", "script", "max", "mode", "names",
                                      "key", "extra", "anything"])
        #expect(props["type"]?.objectValue?["const"] == "shape")
        #expect(props["label"] == .object(["type": ["string", "number", "boolean"], "description": "A label.", "default": "x"]))
        #expect(props["ratio"]?.objectValue?["anyOf"]?.arrayValue?.first == .object(["type": "number"]))
        #expect(props["ratio"]?.objectValue?["default"] == .double(0.5))
        #expect(props["strict"]?.objectValue?["anyOf"]?.arrayValue?.first == .object(["type": "boolean"]))
        #expect(props["script"] == .object(["type": "string", "minLength": 1, "description": "A script."]))
        #expect(props["max"]?.objectValue?["default"] == .string("1KiB"), "a size's default is written as a size")
        #expect(props["mode"]?.objectValue?["anyOf"]?.arrayValue?.first == .object(["type": "string", "enum": ["fast", "safe"]]))
        #expect(props["names"] == .object(["type": "array", "items": .object(["type": ["string", "number", "boolean"]]),
                                           "description": "Some names."]))
        #expect(props["key"]?.objectValue?["type"] == ["string", "array"])
        #expect(props["extra"]?.objectValue?["type"] == ["object", "null"])
        #expect(props["anything"] == .object(["description": "Anything."]))
        #expect(Self.def(s, "source.counter")["required"] == ["count"])
        let counter = try #require(Self.def(s, "source.counter")["properties"]?.objectValue)
        #expect(counter["count"]?.objectValue?["anyOf"]?.arrayValue?.first == .object(["type": "integer", "minimum": 1, "maximum": 100]),
                "a range bounds the literal branch; a ${VAR} stays a string")
        #expect(counter["table"]?.objectValue?["minLength"] == .int(1))
        #expect(Self.def(s, "sink.keep")["properties"]?.objectValue?["inputs"] != nil)
        #expect(Self.def(s, "source.counter")["properties"]?.objectValue?["inputs"] == nil)
    }

    @Test("a stage type registered later (a third-party plugin) is in the schema with no other step")
    func pluginStagesAreCovered() throws {
        var registry = try StageRegistry(plugins: [Tiny.self])
        #expect(Self.def(Self.schema(registry), "sink.webhook").isEmpty)
        try registry.register(Webhook.self)
        let s = Self.schema(registry)
        #expect(Self.def(s, "sink")["properties"]?.objectValue?["type"]?.objectValue?["enum"] == ["keep", "webhook"])
        #expect(Self.def(s, "sink.webhook")["required"] == ["url"])
    }

    @Test("rules across options become oneOf and dependentRequired in the stage's definition")
    func rulesInSchema() {
        let counter = Self.def(Self.schema(), "source.counter")
        #expect(counter["allOf"] == [
            .object(["oneOf": [.object(["required": ["table"]]), .object(["required": ["query"]])],
                     "description": "exactly one of 'table' and 'query'"]),
            .object(["dependentRequired": .object(["params": ["query"]]),
                     "description": "'params' only together with 'query'"]),
        ])
    }

    @Test("the printed schema is JSON that reads back to the generated value")
    func printedJSON() throws {
        let registry = try StageRegistry(plugins: [Tiny.self])
        let text = ConfigSchema.json(registry: registry)
        #expect(text.hasSuffix("}\n"))
        #expect(try JSONReader.parse(text) == ConfigSchema.generate(registry: registry))
    }
}
