import Foundation
import SluiceCore
import SluiceFormats
import SluiceRuntime
import Testing

@Suite("JSON Schema of the config file")
struct ConfigSchemaTests {
    /// A tiny registry: one source, one transform with every option type, one sink.
    enum Tiny: SluicePlugin {
        static func register(in registry: inout StageRegistry) {
            registry.source("counter", summary: "Counts.", options: [
                OptionSpec("count", .integer, required: true, doc: "How many records."),
            ]) { _ in throw StageError(stage: "counter", message: "not built in this test") }
            registry.transform("shape", summary: "Shapes records.", options: [
                OptionSpec("label", .string, default: "x", doc: "A label."),
                OptionSpec("ratio", .number, default: 0.5, doc: "A ratio."),
                OptionSpec("strict", .boolean, default: false, doc: "Strict mode."),
                OptionSpec("script", .path, doc: "A script."),
                OptionSpec("max", .size, default: .int(1024), doc: "A size."),
                OptionSpec("mode", .oneOf(["fast", "safe"]), default: "safe", doc: "A choice."),
                OptionSpec("names", .list(.string), doc: "Some names."),
                OptionSpec("key", .stringOrList, doc: "One key or several."),
                OptionSpec("extra", .object, doc: "A mapping."),
                OptionSpec("anything", .any, doc: "Anything."),
            ]) { _ in throw StageError(stage: "shape", message: "not built in this test") }
            registry.sink("keep", summary: "Keeps them.", options: [
                OptionSpec("slot", .string, required: true, doc: "Where."),
            ]) { _ in throw StageError(stage: "keep", message: "not built in this test") }
        }
    }

    static func schema(_ registry: StageRegistry = StageRegistry(plugins: [Tiny.self])) -> Fields {
        ConfigSchema.generate(registry: registry).objectValue ?? [:]
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
        #expect(props["max"]?.objectValue?["default"] == .int(1024))
        #expect(props["mode"]?.objectValue?["anyOf"]?.arrayValue?.first == .object(["type": "string", "enum": ["fast", "safe"]]))
        #expect(props["names"] == .object(["type": "array", "items": .object(["type": ["string", "number", "boolean"]]),
                                           "description": "Some names."]))
        #expect(props["key"]?.objectValue?["type"] == ["string", "array"])
        #expect(props["extra"]?.objectValue?["type"] == ["object", "null"])
        #expect(props["anything"] == .object(["description": "Anything."]))
        #expect(Self.def(s, "source.counter")["required"] == ["count"])
        #expect(Self.def(s, "sink.keep")["properties"]?.objectValue?["inputs"] != nil)
        #expect(Self.def(s, "source.counter")["properties"]?.objectValue?["inputs"] == nil)
    }

    @Test("a stage type registered later (a third-party plugin) is in the schema with no other step")
    func pluginStagesAreCovered() {
        var registry = StageRegistry(plugins: [Tiny.self])
        #expect(Self.def(Self.schema(registry), "sink.webhook").isEmpty)
        registry.sink("webhook", summary: "Posts records.", options: [
            OptionSpec("url", .string, required: true, doc: "Where to post."),
        ]) { _ in throw StageError(stage: "webhook", message: "not built in this test") }
        let s = Self.schema(registry)
        #expect(Self.def(s, "sink")["properties"]?.objectValue?["type"]?.objectValue?["enum"] == ["keep", "webhook"])
        #expect(Self.def(s, "sink.webhook")["required"] == ["url"])
    }

    @Test("the printed schema is JSON that reads back to the generated value")
    func printedJSON() throws {
        let registry = StageRegistry(plugins: [Tiny.self])
        let text = ConfigSchema.json(registry: registry)
        #expect(text.hasSuffix("}\n"))
        #expect(try JSONReader.parse(text) == ConfigSchema.generate(registry: registry))
    }
}
