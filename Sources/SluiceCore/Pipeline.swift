/// A stage built from the config, ready to run.
public enum BuiltStage: Sendable {
    /// A source.
    case source(any Source)
    /// A transform.
    case transform(any Transform)
    /// A sink.
    case sink(any Sink)
}

/// One named stage of a loaded pipeline.
public struct PipelineStage: Sendable {
    /// Its name (the key under `sources:`, `transforms:` or `sinks:`).
    public var name: String
    /// Its type name.
    public var type: String
    /// Its kind.
    public var kind: StageKind
    /// The names of the stages it reads, in config order.
    public var inputs: [String]
    /// Its checked options.
    public var options: StageOptions
    /// The built stage.
    public var stage: BuiltStage
}

/// One `tests:` case of a config.
public struct TestCase: Sendable {
    /// The case's name.
    public var name: String
    /// The transform it exercises.
    public var transform: String
    /// The records fed in.
    public var inputs: [Fields]
    /// The records that must come out, each matched on the fields it lists; empty: all dropped.
    public var expect: [Value]
    /// Where the case is in the config.
    public var position: SourcePosition

    /// Creates a test case.
    public init(name: String, transform: String, inputs: [Fields], expect: [Value], position: SourcePosition) {
        self.name = name
        self.transform = transform
        self.inputs = inputs
        self.expect = expect
        self.position = position
    }
}

/// A loaded, valid config: the stages wired into a directed acyclic graph, and the tests.
public struct Pipeline: Sendable {
    /// The config file's path as given.
    public var configFile: String
    /// Facts used while building it.
    public var environment: BuildEnvironment
    /// Where dead letters go.
    public var deadLetterPath: String
    /// Every stage: sources, transforms, sinks, each in config order.
    public var stages: [PipelineStage]
    /// The config's test cases.
    public var tests: [TestCase]

    /// Creates a pipeline (the config loader normally does this).
    public init(configFile: String, environment: BuildEnvironment, deadLetterPath: String,
                stages: [PipelineStage], tests: [TestCase]) {
        self.configFile = configFile
        self.environment = environment
        self.deadLetterPath = deadLetterPath
        self.stages = stages
        self.tests = tests
    }

    /// The pipeline's name: its config file's name without the extension (`articles` for
    /// `examples/articles.yaml`). Its state lives in `<data_dir>/<name>/`.
    public var name: String { ConfigLoader.pipelineName(of: configFile) }

    /// The stage with this name.
    public func stage(named name: String) -> PipelineStage? { stages.first { $0.name == name } }

    /// The names of the stages that read `name`, in config order.
    public func consumers(of name: String) -> [String] {
        stages.filter { $0.inputs.contains(name) }.map(\.name)
    }

    /// The pipeline as a Graphviz DOT digraph.
    public func dot() -> String {
        var lines = ["digraph sluice {", "  rankdir=LR;"]
        for s in stages {
            let shape = s.kind == .source ? "invhouse" : s.kind == .sink ? "house" : "box"
            lines.append("  \(quoteDOT(s.name)) [shape=\(shape), label=\(quoteDOT("\(s.name)\n(\(s.type))"))];")
        }
        for s in stages { for i in s.inputs { lines.append("  \(quoteDOT(i)) -> \(quoteDOT(s.name));") } }
        lines.append("}")
        return lines.joined(separator: "\n")
    }

    /// The pipeline as a Mermaid flowchart.
    public func mermaid() -> String {
        var ids: [String: String] = [:]
        for (k, s) in stages.enumerated() { ids[s.name] = "n\(k)" }
        var lines = ["flowchart LR"]
        for s in stages {
            let label = "\(s.name)<br/>(\(s.type))".replacingOccurrences(of: "\"", with: "#quot;")
            let id = ids[s.name] ?? s.name
            switch s.kind {
            case .source: lines.append("  \(id)[/\"\(label)\"/]")
            case .transform: lines.append("  \(id)[\"\(label)\"]")
            case .sink: lines.append("  \(id)[(\"\(label)\")]")
            }
        }
        for s in stages {
            for i in s.inputs { lines.append("  \(ids[i] ?? i) --> \(ids[s.name] ?? s.name)") }
        }
        return lines.joined(separator: "\n")
    }

    private func quoteDOT(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
