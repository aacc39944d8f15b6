import Foundation
import SluiceCore
import SluiceFormats
import Yams

/// A stage entry: its type, its `inputs`, its options checked against the type's specs and
/// coerced to their types.
extension LoadSession {
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
                report(nameNode, spec.missingMessage(kind: kind, stage: name, type: descriptor.type))
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
}
