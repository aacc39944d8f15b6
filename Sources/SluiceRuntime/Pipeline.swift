import Foundation
import SluiceCore

/// A stage built from the config, ready to run.
public enum BuiltStage: Sendable {
    /// A source.
    case source(any Source)
    /// A transform.
    case transform(any Transform)
    /// A sink.
    case sink(any Sink)

    /// What the stage declared it reads and writes.
    public var resources: [StageResource] {
        switch self {
        case .source(let source): return source.resources
        case .transform(let transform): return transform.resources
        case .sink(let sink): return sink.resources
        }
    }
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

    /// Creates a stage for a pipeline built in code (tools such as `sluice tap`).
    public init(name: String, type: String, kind: StageKind, inputs: [String], options: StageOptions, stage: BuiltStage) {
        self.name = name
        self.type = type
        self.kind = kind
        self.inputs = inputs
        self.options = options
        self.stage = stage
    }
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
    /// Sources whose path matches no file (yet), found when the loader looks at the disk:
    /// `validate` warns about them, `run` stops before it starts, naming them all.
    public var unmatchedInputs: [Diagnostic] = []
    /// The config's `cluster:` URL (`${VAR}` expanded), if any: the PostgreSQL database that
    /// coordinates `sluice run` as a cluster run when `--cluster` is not given.
    public var cluster: String?

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

    /// The file of the pipeline's checkpoint store: `<data_dir>/<pipeline>/state.db`.
    public var checkpointStorePath: String {
        URL(fileURLWithPath: environment.dataDirectory).appendingPathComponent("state.db").path
    }

    /// The stage with this name.
    public func stage(named name: String) -> PipelineStage? { stages.first { $0.name == name } }

    /// The names of the stages that read `name`, in config order.
    public func consumers(of name: String) -> [String] {
        stages.filter { $0.inputs.contains(name) }.map(\.name)
    }

    /// The pipeline as a Graphviz DOT digraph (drawn by ``ConfigSketch``, which also draws
    /// configs that do not load).
    public func dot() -> String { ConfigSketch(self).dot() }

    /// The pipeline as a Mermaid flowchart.
    public func mermaid() -> String { ConfigSketch(self).mermaid() }
}

extension Pipeline {
    /// The stages that `names` read, directly or through other stages.
    public func upstream(of names: [String]) -> Set<String> {
        var found: Set<String> = []
        var frontier = names
        while let name = frontier.popLast() {
            for input in stage(named: name)?.inputs ?? [] where found.insert(input).inserted { frontier.append(input) }
        }
        return found
    }

    /// The pipeline that shows what `stageName` emits (for a sink: what it receives): that
    /// stage and everything upstream of it, in config order, with `sink` as the only sink,
    /// reading the tapped stage (or the tapped sink's inputs). Nil when there is no such stage.
    public func tapping(_ stageName: String, into sink: any Sink) -> Pipeline? {
        guard let target = stage(named: stageName) else { return nil }
        let tapped = target.kind == .sink ? target.inputs : [target.name]
        let kept = upstream(of: tapped).union(tapped)
        var stages = self.stages.filter { kept.contains($0.name) && $0.kind != .sink }
        let options = StageOptions(name: "tap", type: "tap", kind: .sink, values: [:], environment: environment)
        stages.append(PipelineStage(name: "(tap)", type: "tap", kind: .sink, inputs: tapped, options: options,
                                    stage: .sink(sink)))
        return Pipeline(configFile: configFile, environment: environment, deadLetterPath: deadLetterPath,
                        stages: stages, tests: [])
    }
}
