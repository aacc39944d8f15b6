import Foundation
import SluiceCore
import SluiceFormats
import Yams

/// Loads a YAML pipeline config, checks it completely and builds its stages.
///
/// Every problem is collected and reported at once, each with its `FILE:LINE:COL`: YAML syntax,
/// unknown keys (with a "did you mean"), unknown stage types (listing the known ones), missing
/// or mistyped options, unknown inputs, cycles, sources nobody reads, stages with no input, and
/// whatever each stage's factory finds (for example a Lua syntax error).
public struct ConfigLoader: Sendable {
    /// The stage types available.
    public var registry: StageRegistry
    /// The environment variables `${VAR}` reads.
    public var variables: [String: String]
    /// The default number of workers for parallel stages.
    public var defaultWorkers: Int
    /// Whether to look at the disk too: warn about source paths that match no file, refuse
    /// sink and dead-letter paths that cannot be written. The commands turn it on; off by
    /// default so that configs can be loaded for what they say alone (tests, tools).
    public var checkDisk = false

    /// A pipeline's name: its config file's name without the extension.
    static func pipelineName(of file: String) -> String {
        let base = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        return base.isEmpty ? "pipeline" : base
    }

    static let topLevelKeys = ["data_dir", "dead_letter", "cluster", "sources", "transforms", "sinks", "tests"]
    static let testKeys = ["name", "transform", "input", "inputs", "expect"]

    /// Creates a loader.
    public init(registry: StageRegistry, variables: [String: String] = ProcessInfo.processInfo.environment,
                defaultWorkers: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.registry = registry
        self.variables = variables
        self.defaultWorkers = defaultWorkers
    }

    /// Loads the config at `path`.
    public func load(path: String) throws(ConfigError) -> Pipeline {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            let reason = !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) ? "no such file"
                : isDirectory.boolValue ? "it is a folder" : "permission denied or unreadable"
            throw ConfigError(SourcePosition(file: path, line: 1, column: 1), "cannot read the config file (\(reason))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(SourcePosition(file: path, line: 1, column: 1), "the config file is not valid UTF-8")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try load(yaml: text, file: path, baseDirectory: base)
    }

    /// Loads a config from text; `file` names it in messages, `baseDirectory` anchors paths.
    public func load(yaml text: String, file: String, baseDirectory: String) throws(ConfigError) -> Pipeline {
        var session = LoadSession(loader: self, file: file, baseDirectory: baseDirectory)
        return try session.run(text)
    }
}

/// Why an option value does not fit its type; completes "option 'x' …".
struct OptionProblem: Error, ExpressibleByStringLiteral, ExpressibleByStringInterpolation {
    var text: String
    init(stringLiteral value: String) { text = value }
    init(_ text: String) { self.text = text }
}

/// The state of one load: the diagnostics found so far.
struct LoadSession {
    let loader: ConfigLoader
    let file: String
    let baseDirectory: String
    var problems: [Diagnostic] = []
    /// Per line of the interpolated text: (column after a substitution, length change).
    var shifts: [Int: [(Int, Int)]] = [:]

    init(loader: ConfigLoader, file: String, baseDirectory: String) {
        self.loader = loader
        self.file = file
        self.baseDirectory = baseDirectory
    }

    // MARK: - Top level

    mutating func run(_ original: String) throws(ConfigError) -> Pipeline {
        if let script = scriptInsteadOfConfig(original) { throw ConfigError([script]) }
        let tabs = tabIndentation(original)
        if !tabs.isEmpty { throw ConfigError(tabs) }
        let text = interpolate(original)
        if !problems.isEmpty { throw ConfigError(problems) }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigError([yamlDiagnostic(error)])
        } catch {
            throw ConfigError(SourcePosition(file: file, line: 1, column: 1), "\(error)")
        }
        guard let root, case .mapping(let top) = root else {
            throw ConfigError(position(root), "the config must be a mapping with 'sources', 'transforms' and 'sinks'")
        }
        var sections: [String: Node] = [:]
        for (keyNode, valueNode) in top {
            guard let key = scalarKey(keyNode) else { continue }
            if !ConfigLoader.topLevelKeys.contains(key) {
                report(keyNode, misplacedStageHint(key: key, keyNode: keyNode, value: valueNode, top: top)
                    ?? "unknown key '\(key)' at the top level\(Suggest.didYouMean(key, in: ConfigLoader.topLevelKeys))")
                continue
            }
            if sections[key] != nil { report(keyNode, "'\(key)' is given twice"); continue }
            sections[key] = valueNode
        }

        // State belongs to one pipeline: two configs beside each other (one default data_dir)
        // keep their checkpoints, dedupe keys and dead letters apart, in a folder per config.
        let dataDir = topLevelPath(sections["data_dir"], name: "data_dir") ?? resolve(".sluice")
        let stateDir = URL(fileURLWithPath: dataDir).appendingPathComponent(ConfigLoader.pipelineName(of: file)).path
        let deadLetter = topLevelPath(sections["dead_letter"], name: "dead_letter")
            ?? URL(fileURLWithPath: stateDir).appendingPathComponent("dead_letter.jsonl").path
        let environment = BuildEnvironment(configFile: file, baseDirectory: baseDirectory, dataDirectory: stateDir,
                                           defaultWorkers: loader.defaultWorkers)

        // Parse every stage entry first, so wiring can be checked against all names.
        var entries: [StageEntry] = []
        var seen: [String: StageKind] = [:]
        for kind in StageKind.allCases {
            guard let sectionNode = sections[kind.section] else { continue }
            guard case .mapping(let mapping) = sectionNode else {
                if case .scalar(let s) = sectionNode, s.string.isEmpty || s.string == "~" || s.string == "null" { continue }
                report(sectionNode, "'\(kind.section)' must be a mapping of names to \(kind.section)")
                continue
            }
            for (nameNode, body) in mapping {
                guard let name = scalarKey(nameNode) else { continue }
                if let other = seen[name] {
                    report(nameNode, "the name '\(name)' is used twice (also a \(other)); stage names must be unique")
                    continue
                }
                seen[name] = kind
                if let entry = parseStage(kind: kind, name: name, nameNode: nameNode, body: body, environment: environment) {
                    entries.append(entry)
                }
            }
        }
        if entries.isEmpty && problems.isEmpty {
            report(root, "the config defines no sources, transforms or sinks")
        }
        checkWiring(entries)

        var stages: [PipelineStage] = []
        for entry in entries {
            guard let options = entry.options, let descriptor = entry.descriptor else { continue }
            do {
                stages.append(PipelineStage(name: entry.name, type: entry.type, kind: entry.kind,
                                            inputs: entry.inputs.map(\.name), options: options,
                                            stage: try descriptor.build(options)))
            } catch let error as ConfigError {
                problems.append(contentsOf: error.diagnostics)
            } catch {
                problems.append(Diagnostic(options.position, "\(entry.kind) '\(entry.name)': \(error)"))
            }
        }

        checkFileClashes(stages, deadLetter: deadLetter, deadLetterPosition: position(sections["dead_letter"]))
        if problems.isEmpty && loader.checkDisk {
            checkOutputsWritable(stages, deadLetter: deadLetter, deadLetterPosition: position(sections["dead_letter"]))
        }
        let tests = parseTests(sections["tests"], entries: entries)
        // `cluster: URL` (a PostgreSQL URL, `${VAR}` already expanded): the value is never
        // echoed in a message, it may hold a password.
        var cluster: String?
        if let node = sections["cluster"] {
            if case .string(let url)? = value(of: node), !url.trimmingCharacters(in: .whitespaces).isEmpty {
                cluster = url
            } else {
                report(node, "'cluster' must be the URL of the PostgreSQL database that coordinates cluster runs (a string)")
            }
        }
        if !problems.isEmpty { throw ConfigError(problems) }
        var pipeline = Pipeline(configFile: file, environment: environment, deadLetterPath: deadLetter,
                                stages: stages, tests: tests)
        pipeline.cluster = cluster
        if loader.checkDisk { pipeline.unmatchedInputs = unmatchedInputs(stages) }
        return pipeline
    }

    func resolve(_ path: String) -> String {
        BuildEnvironment(configFile: file, baseDirectory: baseDirectory, dataDirectory: "").resolve(path)
    }

    mutating func topLevelPath(_ node: Node?, name: String) -> String? {
        guard let node else { return nil }
        guard case .string(let s)? = value(of: node), !s.isEmpty else {
            report(node, "'\(name)' must be a path")
            return nil
        }
        return resolve(s)
    }
}
