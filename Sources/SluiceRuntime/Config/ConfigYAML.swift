import Foundation
import SluiceCore
import SluiceFormats
import Yams

/// Reading the YAML: positions as the user wrote them (before `${VAR}` substitution), YAML
/// errors, scalar keys and values, and the interpolation of variables.
extension LoadSession {
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
