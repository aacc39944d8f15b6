import Foundation
import SluiceCore
import Yams

extension ConfigLoader {
    /// Builds one stage from options given in code (`sluice try`), through the registry's
    /// descriptor with the same checks, defaults, coercions and messages as an entry of a config
    /// file. Messages point at `environment.configFile` (a label such as `<try>`); values are
    /// data: no `${VAR}` is read in them.
    public func stage(_ kind: StageKind, type: String, name: String, inputs: [String] = [], options: Fields,
                      environment: BuildEnvironment) throws(ConfigError) -> PipelineStage {
        var session = LoadSession(loader: self, file: environment.configFile, baseDirectory: environment.baseDirectory)
        var body = Fields()
        body["type"] = .string(type)
        if kind != .source { body["inputs"] = .array(inputs.map(Value.string)) }
        for (key, value) in options { body[key] = value }
        let nameNode = Self.node(.string(name))
        guard let entry = session.parseStage(kind: kind, name: name, nameNode: nameNode, body: Self.node(.object(body)),
                                             environment: environment),
              let descriptor = entry.descriptor, let checked = entry.options, session.problems.isEmpty else {
            throw ConfigError(session.problems)
        }
        do {
            return PipelineStage(name: name, type: type, kind: kind, inputs: inputs, options: checked,
                                 stage: try descriptor.build(checked))
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError(checked.position, "\(kind) '\(name)': \(error)")
        }
    }

    /// A YAML node that ``LoadSession/value(of:)`` reads back as `value`: strings quoted, so
    /// that `"1"` stays a string.
    static func node(_ value: Value) -> Node {
        switch value {
        case .null: return Node("null", .implicit, .plain)
        case .bool(let b): return Node(b ? "true" : "false", .implicit, .plain)
        case .int, .double: return Node(JSONWriter.string(value), .implicit, .plain)
        case .string(let s): return Node(s, .implicit, .doubleQuoted)
        case .array(let items): return .sequence(Node.Sequence(items.map(node)))
        case .object(let fields): return .mapping(Node.Mapping(fields.map { (node(.string($0.key)), node($0.value)) }))
        }
    }
}

extension StageDescriptor {
    /// Builds the stage from its checked options.
    func build(_ options: StageOptions) throws -> BuiltStage {
        switch factory {
        case .source(let make): return .source(try make(options))
        case .transform(let make): return .transform(try make(options))
        case .sink(let make): return .sink(try make(options))
        }
    }
}
