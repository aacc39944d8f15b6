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

    mutating func report(_ node: Node?, _ message: String) {
        problems.append(Diagnostic(position(node), message))
    }

    func position(_ node: Node?) -> SourcePosition {
        let mark = node?.mark
        let line = mark?.line ?? 1
        return SourcePosition(file: file, line: line, column: originalColumn(line: line, column: mark?.column ?? 1))
    }

    /// Maps a column of the interpolated text back to the column the user wrote.
    func originalColumn(line: Int, column: Int) -> Int {
        guard let moves = shifts[line] else { return column }
        var c = column
        for (after, delta) in moves where after <= column { c -= delta }
        return max(1, c)
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
                let built: BuiltStage
                switch descriptor.factory {
                case .source(let make): built = .source(try make(options))
                case .transform(let make): built = .transform(try make(options))
                case .sink(let make): built = .sink(try make(options))
                }
                stages.append(PipelineStage(name: entry.name, type: entry.type, kind: entry.kind,
                                            inputs: entry.inputs.map(\.name), options: options, stage: built))
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

    mutating func yamlDiagnostic(_ error: YamlError) -> Diagnostic {
        func at(_ mark: Mark, _ text: String) -> Diagnostic {
            Diagnostic(SourcePosition(file: file, line: mark.line, column: mark.column), "YAML: \(text)")
        }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            let extra = context.map { " (\($0.text))" } ?? ""
            return at(mark, problem + extra)
        case let .duplicatedKeysInMapping(duplicates, context):
            return at(context.mark, "duplicate keys: \(duplicates.joined(separator: ", "))")
        case let .reader(problem, offset, _, _):
            return Diagnostic(SourcePosition(file: file, line: 1, column: 1), "YAML: \(problem)\(offset.map { " at byte \($0)" } ?? "")")
        default:
            return Diagnostic(SourcePosition(file: file, line: 1, column: 1), "YAML: \(error)")
        }
    }

    // MARK: - Stages

    struct InputRef { var name: String; var node: Node }

    struct StageEntry {
        var name: String
        var kind: StageKind
        var type: String
        var nameNode: Node
        var inputs: [InputRef]
        var hasInputsKey: Bool
        var descriptor: StageDescriptor?
        var options: StageOptions?
    }

    mutating func parseStage(kind: StageKind, name: String, nameNode: Node, body: Node,
                             environment: BuildEnvironment) -> StageEntry? {
        guard case .mapping(let mapping) = body else {
            report(body, "\(kind) '\(name)' must be a mapping with at least a 'type'")
            return nil
        }
        var typeName: String?
        var inputs: [InputRef] = []
        var hasInputs = false
        var rest: [(Node, Node)] = []
        var keysSeen: Set<String> = []
        for (k, v) in mapping {
            guard let key = scalarKey(k) else { continue }
            if !keysSeen.insert(key).inserted { report(k, "\(kind) '\(name)': '\(key)' is given twice"); continue }
            switch key {
            case "type":
                if case .string(let t)? = value(of: v) { typeName = t } else { report(v, "\(kind) '\(name)': 'type' must be a string") }
            case "inputs" where kind != .source:
                hasInputs = true
                switch v {
                case .sequence(let seq):
                    for item in seq {
                        if case .string(let s)? = value(of: item) { inputs.append(InputRef(name: s, node: item)) }
                        else { report(item, "\(kind) '\(name)': each input must be a stage name") }
                    }
                case .scalar:
                    if case .string(let s)? = value(of: v) { inputs.append(InputRef(name: s, node: v)) }
                    else { report(v, "\(kind) '\(name)': 'inputs' must be a list of stage names") }
                default:
                    report(v, "\(kind) '\(name)': 'inputs' must be a list of stage names")
                }
            default:
                rest.append((k, v))
            }
        }
        guard let typeName else {
            if !mapping.contains(where: { scalarKey($0.key) == "type" }) {
                report(nameNode, "\(kind) '\(name)' has no 'type'; known \(kind) types: \(loader.registry.typeNames(kind).joined(separator: ", "))")
            }
            return nil
        }
        var entry = StageEntry(name: name, kind: kind, type: typeName, nameNode: nameNode, inputs: inputs,
                               hasInputsKey: hasInputs, descriptor: nil, options: nil)
        guard let descriptor = loader.registry.descriptor(kind, typeName) else {
            let typeNode = mapping.first { scalarKey($0.key) == "type" }?.value
            let known = loader.registry.typeNames(kind)
            var message = "unknown \(kind) type '\(typeName)'"
            if let guess = Suggest.closest(to: typeName, in: known) { message += " (did you mean '\(guess)'?)" }
            message += "; known \(kind) types: \(known.isEmpty ? "none" : known.joined(separator: ", "))"
            if let other = StageKind.allCases.first(where: { $0 != kind && loader.registry.descriptor($0, typeName) != nil }) {
                message += " ('\(typeName)' is a \(other) type; put it under '\(other.section)')"
            }
            report(typeNode, message)
            return entry
        }
        entry.descriptor = descriptor
        entry.options = checkOptions(descriptor: descriptor, name: name, nameNode: nameNode, pairs: rest,
                                     environment: environment)
        return entry
    }

    mutating func checkOptions(descriptor: StageDescriptor, name: String, nameNode: Node, pairs: [(Node, Node)],
                               environment: BuildEnvironment) -> StageOptions? {
        let kind = descriptor.kind
        var values = Fields()
        var positions: [String: SourcePosition] = [:]
        var ok = true
        let specs = Dictionary(descriptor.options.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var allowed = descriptor.options.map(\.name) + ["type"]
        if kind != .source { allowed.append("inputs") }
        // Options already reported (a wrong type, or an unknown key that suggests this one), so
        // that one mistake gives one message, not a second "missing" one.
        var reported = Set<String>()
        for (k, v) in pairs {
            guard let key = scalarKey(k) else { ok = false; continue }
            guard let spec = specs[key] else {
                var message = "\(kind) '\(name)' (\(descriptor.type)): unknown option '\(key)'\(Suggest.didYouMean(key, in: allowed))"
                if key == "inputs" { message = "\(kind) '\(name)': a source has no 'inputs'" }
                report(k, message)
                if let meant = Suggest.closest(to: key, in: allowed) { reported.insert(meant) }
                // The stage is still built from its known options, so that its own checks (a
                // script's syntax, a condition) are reported in the same pass.
                continue
            }
            guard let raw = value(of: v) else { ok = false; continue }
            switch coerce(raw, to: spec.type, environment: environment) {
            case .success(let converted):
                values[key] = converted
                positions[key] = position(v)
            case .failure(let why):
                report(v, "\(kind) '\(name)': option '\(key)' \(why.text)")
                reported.insert(key)
                ok = false
            }
        }
        for spec in descriptor.options where values[spec.name] == nil {
            if spec.required {
                ok = false
                if reported.contains(spec.name) { continue }
                report(nameNode, "\(kind) '\(name)' (\(descriptor.type)) is missing the required option '\(spec.name)' (\(spec.type): \(spec.doc))")
            } else if let d = spec.defaultValue {
                if case .success(let converted) = coerce(d, to: spec.type, environment: environment) {
                    values[spec.name] = converted
                } else {
                    values[spec.name] = d
                }
            }
        }
        guard ok else { return nil }
        return StageOptions(name: name, type: descriptor.type, kind: kind, values: values, environment: environment,
                            position: position(nameNode), positions: positions)
    }

    /// Checks and normalizes one option value; the failure text completes "option 'x' …".
    func coerce(_ value: Value, to type: OptionType, environment: BuildEnvironment) -> Result<Value, OptionProblem> {
        switch (type, value) {
        case (.any, _): return .success(value)
        case (.string, .string): return .success(value)
        case (.string, .int), (.string, .double), (.string, .bool): return .success(.string(scalarText(value)))
        case (.integer, .int): return .success(value)
        case (.number, .int), (.number, .double): return .success(value)
        case (.boolean, .bool): return .success(value)
        case (.path, .string(let s)):
            if s.isEmpty { return .failure("must not be empty") }
            return .success(.string(environment.resolve(s)))
        case (.size, .int(let n)):
            return n >= 0 ? .success(value) : .failure("must not be negative")
        case (.size, .string(let s)):
            if let n = parseSize(s) { return .success(.int(n)) }
            return .failure("must be a size such as 4096, 64KiB, 16MiB or 1GiB, not '\(s)'")
        case (.oneOf(let names), .string(let s)):
            if names.contains(s) { return .success(value) }
            return .failure("must be one of \(names.joined(separator: ", ")), not '\(s)'\(Suggest.didYouMean(s, in: names))")
        case (.stringOrList, .string): return .success(.array([value]))
        case (.stringOrList, .array(let items)):
            if items.allSatisfy({ $0.stringValue != nil }) { return .success(value) }
            return .failure("must be a string or a list of strings")
        case (.list(let inner), .array(let items)):
            var out: [Value] = []
            for (k, item) in items.enumerated() {
                switch coerce(item, to: inner, environment: environment) {
                case .success(let v): out.append(v)
                case .failure(let why): return .failure(OptionProblem("item \(k + 1) \(why.text)"))
                }
            }
            return .success(.array(out))
        case (.object, .object): return .success(value)
        case (.object, .null): return .success(.object([:]))
        default:
            return .failure("must be \(article(type)), not \(value.kindName) \(preview(value))")
        }
    }

    func article(_ type: OptionType) -> String {
        switch type {
        case .integer: return "an integer"
        case .list(let t): return "a list of \(t)"
        case .oneOf(let n): return "one of \(n.joined(separator: ", "))"
        case .object: return "a mapping"
        case .any: return "a value"
        case .stringOrList: return "a string or a list of strings"
        default: return "a \(type)"
        }
    }

    func preview(_ v: Value) -> String {
        let text = JSONWriter.string(v)
        return text.count > 40 ? String(text.prefix(37)) + "..." : text
    }

    func scalarText(_ v: Value) -> String {
        switch v {
        case .string(let s): return s
        default: return JSONWriter.string(v)
        }
    }

    func parseSize(_ text: String) -> Int64? {
        let s = text.trimmingCharacters(in: .whitespaces)
        let digits = s.prefix { $0.isNumber || $0 == "." }
        guard let number = Double(digits), number >= 0 else { return nil }
        let unit = s.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let factors: [String: Double] = [
            "": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 1_048_576, "mb": 1_000_000, "mib": 1_048_576,
            "g": 1_073_741_824, "gb": 1_000_000_000, "gib": 1_073_741_824,
        ]
        guard let f = factors[unit] else { return nil }
        let result = number * f
        return result < 9e18 ? Int64(result) : nil
    }

    // MARK: - Wiring

    /// Clashes between the stages' resources (``StageResource``), never their type names: a
    /// stage that writes a file another stage reads would destroy the run's own input (the
    /// reader may open it after the writer has emptied it); two writers of one file overwrite
    /// each other; a dead-letter file that is also an input or an output loses letters or reads
    /// them back. Stages that share a database through its locks (`.database`) may use one file
    /// together. Paths are compared after resolving links, and existing files also by device
    /// and inode (a hard link is the same file). Each problem is reported at the place of the
    /// option that declared the writing resource.
    mutating func checkFileClashes(_ stages: [PipelineStage], deadLetter: String, deadLetterPosition: SourcePosition) {
        struct Claim { var name: String; var resource: StageResource; var position: SourcePosition }
        var claims: [Claim] = []
        for stage in stages {
            let resources: [StageResource]
            switch stage.stage {
            case .source(let source): resources = source.resources
            case .transform(let transform): resources = transform.resources
            case .sink(let sink): resources = sink.resources
            }
            for resource in resources {
                if let written = resource.writtenPath, written == "-" { continue }
                claims.append(Claim(name: "\(stage.kind) '\(stage.name)'", resource: resource,
                                    position: stage.options.position(of: resource.option)))
            }
        }
        claims.append(Claim(name: "the dead-letter file", resource: .writes(deadLetter), position: deadLetterPosition))
        claims.append(Claim(name: "the config file itself", resource: .reads(FileSet(pattern: file)),
                            position: SourcePosition(file: file, line: 1, column: 1)))
        let writers = claims.filter { $0.resource.writtenPath != nil }
        // A use that writes as well as reads (a shared database) clashes as a writer.
        let readers = claims.filter { $0.resource.readFiles != nil && $0.resource.writtenPath == nil }

        for (i, writer) in writers.enumerated() {
            guard let path = writer.resource.writtenPath else { continue }
            let shown = displayPath(FileClaims.resolved(path))
            let subject = writer.name == "the dead-letter file" ? "'dead_letter'" : writer.name
            for other in writers[..<i] {
                guard let otherPath = other.resource.writtenPath, FileClaims.same(otherPath, path) else { continue }
                if other.resource.sharesThroughLocks && writer.resource.sharesThroughLocks { continue }
                problems.append(Diagnostic(writer.position,
                                           "\(subject): \(other.name) also writes \(shown); one file takes one writer"))
            }
            for reader in readers where reader.name != writer.name {
                guard let files = reader.resource.readFiles, FileClaims.reads(files, path) else { continue }
                if reader.resource.sharesThroughLocks && writer.resource.sharesThroughLocks { continue }
                problems.append(Diagnostic(writer.position,
                                           "\(subject): writes \(shown), which \(reader.name) reads; the run would destroy its own input (write to another file)"))
            }
        }
    }

    private func displayPath(_ path: String) -> String {
        let base = baseDirectory.hasSuffix("/") ? baseDirectory : baseDirectory + "/"
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }

    mutating func checkWiring(_ entries: [StageEntry]) {
        let byName = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let readable = entries.filter { $0.kind != .sink }.map(\.name)
        var readers: [String: Int] = [:]
        for entry in entries where entry.kind != .source {
            var listed: Set<String> = []
            if entry.inputs.isEmpty {
                let why = entry.hasInputsKey ? "has an empty 'inputs' list" : "has no 'inputs'"
                report(entry.nameNode, "\(entry.kind) '\(entry.name)' \(why); it must read at least one source or transform")
            }
            for input in entry.inputs {
                if !listed.insert(input.name).inserted {
                    report(input.node, "\(entry.kind) '\(entry.name)' lists the input '\(input.name)' twice")
                    continue
                }
                guard let target = byName[input.name] else {
                    report(input.node, "\(entry.kind) '\(entry.name)' reads '\(input.name)', which is not defined\(Suggest.didYouMean(input.name, in: readable))")
                    continue
                }
                if target.kind == .sink {
                    report(input.node, "\(entry.kind) '\(entry.name)' reads '\(input.name)', which is a sink; only sources and transforms can be inputs")
                    continue
                }
                readers[input.name, default: 0] += 1
            }
        }
        for entry in entries where entry.kind != .sink && readers[entry.name] == nil {
            let what = entry.kind == .source ? "source" : "transform"
            report(entry.nameNode, "\(what) '\(entry.name)' is not read by any transform or sink; add it to some stage's 'inputs'")
        }
        // Cycles: depth-first search over transform → input edges.
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        var stack: [String] = []
        var reported: Set<String> = []
        let order = Dictionary(entries.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        func visit(_ name: String, _ session: inout LoadSession) {
            state[name] = 1
            stack.append(name)
            for input in byName[name]?.inputs ?? [] where byName[input.name]?.kind == .transform {
                switch state[input.name] {
                case 1?:
                    if let start = stack.firstIndex(of: input.name) {
                        let cycle = Array(stack[start...])
                        let key = cycle.sorted().joined(separator: ",")
                        if reported.insert(key).inserted {
                            // Name the cycle in data-flow order (each stage feeds the next), starting
                            // from the stage that comes first in the config.
                            var flow = Array(cycle.reversed())
                            if let first = flow.min(by: { (order[$0] ?? 0) < (order[$1] ?? 0) }),
                               let k = flow.firstIndex(of: first) {
                                flow = Array(flow[k...] + flow[..<k])
                            }
                            let text = (flow + [flow[0]]).joined(separator: " -> ")
                            session.report(input.node, "the pipeline has a cycle: \(text)")
                        }
                    }
                case nil: visit(input.name, &session)
                default: break
                }
            }
            stack.removeLast()
            state[name] = 2
        }
        for entry in entries where entry.kind == .transform && state[entry.name] == nil { visit(entry.name, &self) }
    }

    // MARK: - Tests

    mutating func parseTests(_ node: Node?, entries: [StageEntry]) -> [TestCase] {
        guard let node else { return [] }
        guard case .sequence(let seq) = node else {
            if case .scalar(let s) = node, s.string.isEmpty || s.string == "~" || s.string == "null" { return [] }
            report(node, "'tests' must be a list of test cases")
            return []
        }
        let transforms = entries.filter { $0.kind == .transform }.map(\.name)
        var cases: [TestCase] = []
        for (k, item) in seq.enumerated() {
            guard case .mapping(let mapping) = item else { report(item, "test \(k + 1) must be a mapping"); continue }
            var fields: [String: (Node, Value)] = [:]
            var ok = true
            for (kn, vn) in mapping {
                guard let key = scalarKey(kn) else { ok = false; continue }
                guard ConfigLoader.testKeys.contains(key) else {
                    report(kn, "unknown key '\(key)' in a test case\(Suggest.didYouMean(key, in: ConfigLoader.testKeys))")
                    ok = false
                    continue
                }
                guard let v = value(of: vn) else { ok = false; continue }
                fields[key] = (vn, v)
            }
            let label = fields["name"]?.1.stringValue ?? "test \(k + 1)"
            guard case .string(let transform)? = fields["transform"]?.1 else {
                report(fields["transform"]?.0 ?? item, "test '\(label)' must name a 'transform'")
                continue
            }
            if !transforms.contains(transform) {
                report(fields["transform"]?.0, "test '\(label)' names '\(transform)', which is not a transform\(Suggest.didYouMean(transform, in: transforms))")
                ok = false
            }
            var inputs: [Fields] = []
            switch (fields["input"], fields["inputs"]) {
            case (let one?, nil):
                if case .object(let o) = one.1 { inputs = [o] } else { report(one.0, "test '\(label)': 'input' must be a mapping (one record)"); ok = false }
            case (nil, let many?):
                if case .array(let items) = many.1, items.allSatisfy({ $0.objectValue != nil }) {
                    inputs = items.compactMap(\.objectValue)
                } else { report(many.0, "test '\(label)': 'inputs' must be a list of mappings (records)"); ok = false }
            case (_?, _?):
                report(fields["inputs"]?.0, "test '\(label)': give 'input' or 'inputs', not both"); ok = false
            case (nil, nil):
                report(item, "test '\(label)' has no 'input' or 'inputs'"); ok = false
            }
            var expect: [Value] = []
            if let e = fields["expect"] {
                if case .array(let items) = e.1 { expect = items } else { report(e.0, "test '\(label)': 'expect' must be a list of records ([] when all are dropped)"); ok = false }
            } else {
                report(item, "test '\(label)' has no 'expect' (use 'expect: []' when the records must be dropped)"); ok = false
            }
            if ok {
                cases.append(TestCase(name: label, transform: transform, inputs: inputs, expect: expect, position: position(item)))
            }
        }
        return cases
    }

    // MARK: - YAML values

    func scalarKey(_ node: Node) -> String? {
        if case .scalar(let s) = node { return s.string }
        return nil
    }

    /// Converts a YAML node to a value, interpolating `${VAR}` in scalars and typing plain
    /// scalars the YAML 1.2 core way. Reports and returns `nil` on a problem.
    mutating func value(of node: Node) -> Value? {
        switch node {
        case .scalar(let scalar):
            let text = scalar.string
            if scalar.style != .plain || scalar.tag.description == Tag.Name.str.rawValue { return .string(text) }
            return typedScalar(text)
        case .sequence(let seq):
            var items: [Value] = []
            for item in seq {
                guard let v = value(of: item) else { return nil }
                items.append(v)
            }
            return .array(items)
        case .mapping(let mapping):
            var fields = Fields()
            for (k, v) in mapping {
                guard let key = scalarKey(k), let val = value(of: v) else {
                    if scalarKey(k) == nil { report(k, "mapping keys must be plain strings") }
                    return nil
                }
                fields[key] = val
            }
            return .object(fields)
        case .alias:
            report(node, "YAML aliases are not supported here")
            return nil
        }
    }

    func typedScalar(_ text: String) -> Value {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        if let i = Int64(text) { return .int(i) }
        if text.hasPrefix("0x"), let i = Int64(text.dropFirst(2), radix: 16) { return .int(i) }
        if text.hasPrefix("0o"), let i = Int64(text.dropFirst(2), radix: 8) { return .int(i) }
        if let first = text.first, first.isNumber || first == "-" || first == "+" || first == ".",
           text.allSatisfy({ $0.isNumber || "+-.eE".contains($0) }), let d = Double(text) {
            return .double(d)
        }
        return .string(text)
    }

    /// Replaces `${VAR}` and `${VAR:-default}` with environment variables, and `$$` with `$`,
    /// in the config text before YAML parsing — so a substituted value is typed like any other
    /// (`workers: ${N}` is an integer) and works inside `{ … }` too. Comments are left alone.
    mutating func interpolate(_ text: String) -> String {
        guard text.contains("$") else { return text }
        var out = String.UnicodeScalarView()
        var lineNumber = 1
        for (index, line) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if index > 0 { out.append("\n"); lineNumber += 1 }
            let chars = Array(line)
            var produced = 0
            var inSingle = false
            var inDouble = false
            var k = 0
            while k < chars.count {
                let c = chars[k]
                if c == "#" && !inSingle && !inDouble && (k == 0 || chars[k - 1] == " " || chars[k - 1] == "\t") {
                    out.append(contentsOf: chars[k...])
                    break
                }
                if c == "'" && !inDouble { inSingle.toggle() }
                if c == "\"" && !inSingle && (k == 0 || chars[k - 1] != "\\") { inDouble.toggle() }
                guard c == "$", k + 1 < chars.count else { out.append(c); produced += 1; k += 1; continue }
                if chars[k + 1] == "$" {
                    out.append("$")
                    produced += 1
                    shifts[lineNumber, default: []].append((produced + 1, -1))
                    k += 2
                    continue
                }
                guard chars[k + 1] == "{", let close = chars[(k + 2)...].firstIndex(of: "}") else {
                    out.append(c); produced += 1; k += 1; continue
                }
                let inner = String(String.UnicodeScalarView(chars[(k + 2)..<close]))
                let name: String
                var fallback: String?
                if let sep = inner.range(of: ":-") {
                    name = String(inner[..<sep.lowerBound])
                    fallback = String(inner[sep.upperBound...])
                } else {
                    name = inner
                }
                let replacement: String
                if let v = loader.variables[name], !(fallback != nil && v.isEmpty) {
                    replacement = v
                } else if let fallback {
                    replacement = fallback
                } else {
                    problems.append(Diagnostic(SourcePosition(file: file, line: lineNumber, column: k + 1),
                                               "environment variable '\(name)' is not set (write ${\(name):-default} to give a default)"))
                    replacement = ""
                }
                out.append(contentsOf: replacement.unicodeScalars)
                let length = replacement.unicodeScalars.count
                produced += length
                shifts[lineNumber, default: []].append((produced + 1, length - (close - k + 1)))
                k = close + 1
            }
        }
        return String(out)
    }
}

/// Path comparisons for ``LoadSession/checkFileClashes(_:deadLetter:deadLetterPosition:)``.
enum FileClaims {
    /// `path` with links resolved: the file's own real path when it exists, else its folder's
    /// real path and its name.
    static func resolved(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if FileManager.default.fileExists(atPath: url.path) { return url.resolvingSymlinksInPath().path }
        // Resolve the nearest folder that exists (`link/new/sub/x.jsonl`), keep the rest.
        var existing = url.deletingLastPathComponent()
        var rest = [url.lastPathComponent]
        while existing.path != "/" && !FileManager.default.fileExists(atPath: existing.path) {
            rest.insert(existing.lastPathComponent, at: 0)
            existing = existing.deletingLastPathComponent()
        }
        var result = existing.resolvingSymlinksInPath()
        for part in rest { result.appendPathComponent(part) }
        return result.path
    }

    /// The device and inode of an existing file, and how many names (hard links) it has.
    static func identity(_ path: String) -> (device: UInt64, inode: UInt64, links: UInt64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino), UInt64(info.st_nlink))
    }

    /// Whether two paths name the same file (now, or once it is created).
    static func same(_ a: String, _ b: String) -> Bool {
        if resolved(a) == resolved(b) { return true }
        if let x = identity(a), let y = identity(b) { return x.device == y.device && x.inode == y.inode }
        return false
    }

    /// Whether `files` would read `path`: by the pattern (as written, and with its folder's
    /// links resolved), or, for a file that exists, by identity with one the set finds.
    static func reads(_ files: FileSet, _ path: String) -> Bool {
        let target = resolved(path)
        if files.wouldInclude(path) || files.wouldInclude(target) { return true }
        let root = files.root
        let realRoot = URL(fileURLWithPath: root).resolvingSymlinksInPath().path
        if realRoot != root {
            let rebased = FileSet(pattern: realRoot + String(files.pattern.dropFirst(root.count)), extensions: files.extensions)
            if rebased.wouldInclude(target) { return true }
        }
        // Links are resolved above; only a file with several names (hard links) needs the walk
        // over the set's files — a config load does not list an input tree for nothing.
        guard let id = identity(path), id.links > 1, let found = try? files.files() else { return false }
        return found.contains { file in
            identity(file.path).map { $0.device == id.device && $0.inode == id.inode } ?? false
        }
    }
}
