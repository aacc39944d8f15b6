import Foundation
@testable import SluiceCore
import Testing

/// A stage type that uses every kind of declaration: defaults on properties, a range, a
/// not-empty string, a choice, a size, a path, exactly-one-of and goes-with rules.
private struct Probe: SourceConfiguration {
    enum Speed: String, CaseIterable, OptionChoice { case slow, fast }
    static let type = "probe"
    static let summary = "Probes binding."
    static let example = "type: probe\ntable: t"
    static let options: [ConfigOption<Self>] = [
        .init("table", \.table, notEmpty: true, doc: "A table."),
        .init("query", \.query, doc: "A query."),
        .init("params", \.params, doc: "Query parameters."),
        .init("workers", \.workers, range: OptionRange(1...8), doc: "Workers."),
        .init("speed", \.speed, doc: "A choice."),
        .init("buffer", \.buffer, .size, doc: "A size."),
        .init("file", \.file, .path, doc: "A path."),
        .init("timeout", \.timeout, range: .positive, doc: "Seconds."),
    ]
    static let rules: [OptionRule] = [.exactlyOne(["table", "query"]), .goesWith("params", "query")]

    var table: String?
    var query: String?
    var params: [String] = []
    var workers = 2
    var speed = Speed.slow
    var buffer = 1 << 20
    var file: String?
    var timeout = 30.0

    func makeSource(_ context: BuildContext) throws -> any Source {
        if table == "refused" { throw context.error(\Self.table, "option 'table' is refused by the stage") }
        return Built(configuration: self)
    }

    struct Built: Source {
        let configuration: Probe
        func run(_ context: SourceContext) throws {}
    }
}

private func options(_ values: Fields) -> StageOptions {
    StageOptions(name: "p", type: "probe", kind: .source, values: values,
                 environment: BuildEnvironment(configFile: "/cfg/p.yaml", baseDirectory: "/cfg", dataDirectory: "/cfg/.sluice"))
}

private func messages(_ values: Fields) -> [String] {
    do {
        _ = try Probe.bind(options(values))
        return []
    } catch {
        return error.diagnostics.map(\.message)
    }
}

@Suite("Stage configurations: one declaration binds, checks and documents a stage's options")
struct StageConfigurationTests {
    @Test("values are bound to typed properties; what the config leaves out keeps the property's initial value")
    func binding() throws {
        let probe = try Probe.bind(options(["table": "t", "speed": "fast", "buffer": 4096, "file": "data/x.db"]))
        #expect(probe.table == "t")
        #expect(probe.speed == .fast)
        #expect(probe.buffer == 4096)
        #expect(probe.file == "/cfg/data/x.db", "a path option is resolved against the config's folder")
        #expect(probe.workers == 2)
        #expect(probe.timeout == 30)
    }

    @Test("the documented defaults are the properties' initial values, a size written as a size")
    func documentedDefaults() {
        let specs = Dictionary(uniqueKeysWithValues: Probe.options.map { ($0.name, $0.spec) })
        #expect(specs["workers"]?.defaultValue == 2)
        #expect(specs["speed"]?.defaultValue == "slow")
        #expect(specs["speed"]?.type == .oneOf(["slow", "fast"]))
        #expect(specs["buffer"]?.defaultValue == "1MiB")
        #expect(specs["table"]?.defaultValue == nil, "an optional without a value has no default")
        #expect(specs["params"]?.defaultValue == nil, "an empty list is no default")
        #expect(specs["workers"]?.typeDescription == "integer 1..8")
        #expect(specs["timeout"]?.typeDescription == "number > 0")
    }

    @Test("ranges and not-empty are checked with messages that say the allowed values")
    func ranges() {
        #expect(messages(["table": "t", "workers": 0]) == ["source 'p': option 'workers' must be between 1 and 8, not 0"])
        #expect(messages(["table": "t", "timeout": 0]) == ["source 'p': option 'timeout' must be positive, not 0"])
        #expect(messages(["table": ""]) == ["source 'p': option 'table' must not be empty"])
        #expect(OptionRange(1...).problem(0, unit: "byte") == "must be at least 1 byte, not 0")
        #expect(OptionRange(1...8).problem(9, unit: "byte") == "must be between 1 and 8 bytes, not 9")
        #expect(OptionRange(1...8).problem(8, unit: "byte") == nil)
        #expect(OptionRange(0...).problem(-1) == "must not be negative, not -1")
        #expect(OptionRange(maximum: 10).problem(11) == "must be at most 10, not 11")
        #expect(OptionRange().problem(.nan) == "must be a finite number, not nan")
        #expect(OptionRange(1...8).problem(.infinity) == "must be between 1 and 8, not inf")
    }

    @Test("rules across options: exactly one of, and goes with")
    func rules() {
        #expect(messages([:]) == ["source 'p': give either 'table' or 'query'"])
        #expect(messages(["table": "t", "query": "q"]) == ["source 'p': give either 'table' or 'query', not both"])
        #expect(messages(["table": "t", "params": ["1"]]) == ["source 'p': option 'params' goes with 'query'; give 'query' too"])
        #expect(messages(["query": "select 1", "params": ["1"]]) == [])
        #expect(OptionRule.atLeastOne(["a", "b", "c"]).violation(in: [:])?.message == "give at least one of 'a', 'b' or 'c'")
        #expect(OptionRule.atLeastOne(["a", "b"]).violation(in: ["a": .array([])]) != nil, "an empty list asks for nothing")
        #expect(OptionRule.atMostOne(["a", "b"]).violation(in: ["a": 1, "b": 2])?.option == "b")
        #expect(OptionRule.atMostOne(["a", "b"]).violation(in: ["a": 1, "b": 2])?.message == "give at most one of 'a' and 'b', not 'a' and 'b'")
        #expect(OptionRule.exactlyOne(["a", "b", "c"]).violation(in: ["a": 1, "b": 2, "c": 3])?.message
                == "give one of 'a', 'b' or 'c', not several")
    }

    @Test("a refused value does not hide the stage's own problems: the stage is built with the default and both are reported")
    func softProblemsStillBuild() {
        var registry = StageRegistry()
        #expect(throws: Never.self) { try registry.register(Probe.self) }
        guard case .source(let make)? = registry.descriptor(.source, "probe")?.factory else {
            Issue.record("probe is not registered as a source")
            return
        }
        do {
            _ = try make(options(["table": "refused", "workers": 99]))
            Issue.record("expected a config error")
        } catch let error as ConfigError {
            #expect(error.diagnostics.map(\.message) == [
                "source 'p': option 'workers' must be between 1 and 8, not 99",
                "source 'p': option 'table' is refused by the stage",
            ])
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("field groups (an indexes option): one field, or fields and lists of fields; a bad item is named by its number")
    func fieldGroups() {
        #expect(FieldGroups(optionValue: "a")?.groups == [["a"]])
        #expect(FieldGroups(optionValue: ["a", ["b", "c"]])?.groups == [["a"], ["b", "c"]])
        #expect(FieldGroups(optionValue: ["a", 5]) == nil)
        #expect(FieldGroups.problem(with: ["a", 5]) == "item 2 must be a field or a list of fields, not integer 5")
        #expect(FieldGroups.problem(with: ["a", .array([])]) == "item 2 must be a field or a list of fields, not array []")
        #expect(FieldGroups.problem(with: 3) == "must be a field or a list of fields, not integer 3")
        #expect(FieldGroups([["a"], ["b", "c"]]).optionValue == ["a", ["b", "c"]])
    }

    @Test("a type name registered twice for one kind is an error, not a silent replacement")
    func duplicateTypeName() {
        var registry = StageRegistry()
        #expect(throws: Never.self) { try registry.register(Probe.self) }
        #expect {
            try registry.register(Probe.self)
        } throws: { error in
            "\(error)" == "the source type 'probe' is registered twice; type names must be unique per kind"
        }
    }

    @Test("a registration from a base value binds the config's options onto it")
    func registrationFromBase() throws {
        var registry = StageRegistry()
        var base = Probe()
        base.workers = 7
        base.speed = .fast
        try registry.register(Probe.self, from: base)
        guard case .source(let make)? = registry.descriptor(.source, "probe")?.factory else {
            Issue.record("probe is not registered as a source")
            return
        }
        let built = try #require(try make(options(["table": "t", "speed": "slow"])) as? Probe.Built)
        #expect(built.configuration.workers == 7)
        #expect(built.configuration.speed == .slow, "the config still wins over the base")
    }
}
