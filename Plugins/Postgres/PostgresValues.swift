import Foundation
import SluiceCore

/// The kind of column a field gets when the sink creates it, from the values seen for it: the
/// sqlite sink's rules, with PostgreSQL's types.
///
/// | values | column |
/// | --- | --- |
/// | only booleans | `boolean` |
/// | integers (and booleans, stored 1/0) | `bigint` |
/// | doubles (with integers or booleans) | `double precision` |
/// | only arrays and objects | `jsonb` |
/// | any string, or arrays/objects mixed with scalars | `text` (arrays and objects as JSON text) |
/// | only nulls | `text` (PostgreSQL needs a type; text takes any later value) |
enum PostgresColumnKind: Equatable {
    case none, boolean, integer, real, json, text

    mutating func merge(_ value: Value) {
        switch value {
        case .null: break
        case .bool:
            switch self {
            case .none: self = .boolean
            case .json: self = .text
            default: break
            }
        case .int:
            switch self {
            case .none, .boolean: self = .integer
            case .json: self = .text
            default: break
            }
        case .double:
            switch self {
            case .none, .boolean, .integer: self = .real
            case .json: self = .text
            default: break
            }
        case .string: self = .text
        case .array, .object:
            switch self {
            case .none: self = .json
            case .boolean, .integer, .real: self = .text
            default: break
            }
        }
    }

    /// The SQL type of a new column.
    var sqlType: String {
        switch self {
        case .none, .text: return "text"
        case .boolean: return "boolean"
        case .integer: return "bigint"
        case .real: return "double precision"
        case .json: return "jsonb"
        }
    }
}

/// How the sink turns values into COPY text for a column of a given SQL type.
enum PostgresColumnType: Equatable {
    case boolean
    /// bigint, integer, smallint: the range of values it holds.
    case integer(min: Int64, max: Int64)
    /// double precision, real.
    case float
    /// numeric / decimal.
    case numeric
    case json
    case text
    /// Any other type (timestamp, uuid, an enum…): the value's text, parsed by the server.
    case other(String)

    /// The column type for `format_type(...)`'s answer.
    init(sqlType: String) {
        let t = sqlType.lowercased()
        switch t {
        case "boolean": self = .boolean
        case "bigint": self = .integer(min: Int64.min, max: Int64.max)
        case "integer": self = .integer(min: Int64(Int32.min), max: Int64(Int32.max))
        case "smallint": self = .integer(min: Int64(Int16.min), max: Int64(Int16.max))
        case "double precision", "real": self = .float
        case "jsonb", "json": self = .json
        case "text", "citext", "name": self = .text
        default:
            if t.hasPrefix("numeric") { self = .numeric }
            else if t.hasPrefix("character") || t.hasPrefix("varchar") { self = .text }
            else { self = .other(sqlType) }
        }
    }

    /// Whether a string value goes into this column only in its canonical number form.
    var isNumeric: Bool {
        switch self {
        case .integer, .float, .numeric: return true
        default: return false
        }
    }
}

/// Writes values in COPY's text format (`\N` for NULL; backslash, tab, newline and carriage
/// return escaped), checking each against its column's type first: a value the column cannot
/// take exactly is refused here, with the field named, rather than failing the whole COPY.
enum CopyText {
    /// Appends `value` for a column of `type`, or returns why it cannot go there.
    static func append(_ value: Value, as type: PostgresColumnType, field: String, to out: inout [UInt8],
                       scratch: inout [UInt8]) -> String? {
        switch value {
        case .null:
            out.append(contentsOf: [0x5C, 0x4E])   // \N
            return nil
        case .bool(let b):
            switch type {
            case .boolean, .other: appendASCII(b ? "t" : "f", to: &out)
            case .integer, .float, .numeric: out.append(b ? 0x31 : 0x30)
            case .text: appendASCII(b ? "true" : "false", to: &out)
            case .json: appendASCII(b ? "true" : "false", to: &out)
            }
            return nil
        case .int(let n):
            switch type {
            case .boolean:
                return "field '\(field)': the number \(n) cannot go in a boolean column"
            case .integer(let lo, let hi) where n < lo || n > hi:
                return "field '\(field)': \(n) is out of range for its column (\(lo)…\(hi))"
            default:
                appendASCII(String(n), to: &out)
                return nil
            }
        case .double(let d):
            switch type {
            case .boolean:
                return "field '\(field)': the number \(d) cannot go in a boolean column"
            case .integer:
                return "field '\(field)': \(d) would lose its fraction in an integer column"
            case .json where !d.isFinite:
                return "field '\(field)': \(d) cannot be stored in JSON"
            default:
                appendASCII(doubleText(d), to: &out)
                return nil
            }
        case .string(let s):
            if s.utf8.contains(0) {
                return "field '\(field)' contains a NUL character (\\u0000), which PostgreSQL text cannot hold"
            }
            switch type {
            case .boolean:
                return "field '\(field)': the text \(JSONWriter.string(value)) cannot go in a boolean column; send a boolean"
            case .integer(let lo, let hi):
                guard let n = Int64(s), String(n) == s, n >= lo, n <= hi else {
                    return "field '\(field)': the text \(JSONWriter.string(value)) is not an integer in its exact form for the integer column; send a number"
                }
                appendASCII(s, to: &out)
            case .float, .numeric:
                guard let d = Double(s), d.isFinite, doubleText(d) == s || String(Int64(exactly: d) ?? Int64.min) == s else {
                    return "field '\(field)': the text \(JSONWriter.string(value)) is not a number in its exact form for the numeric column; send a number"
                }
                appendASCII(s, to: &out)
            case .json:
                scratch.removeAll(keepingCapacity: true)
                JSONWriter.write(value, to: &scratch)
                appendEscaped(scratch, to: &out)
            case .text, .other:
                appendEscaped(s.utf8, to: &out)
            }
            return nil
        case .array, .object:
            if containsNUL(value) {
                return "field '\(field)' contains a NUL character (\\u0000), which PostgreSQL text and jsonb cannot hold"
            }
            switch type {
            case .boolean, .integer, .float, .numeric:
                return "field '\(field)': \(value.kindName == "array" ? "an array" : "an object") cannot go in a \(type.isNumeric ? "numeric" : "boolean") column"
            default:
                scratch.removeAll(keepingCapacity: true)
                JSONWriter.write(value, to: &scratch)
                appendEscaped(scratch, to: &out)
                return nil
            }
        }
    }

    /// A double as PostgreSQL reads it back to the same value (`NaN`, `Infinity` spelled its way).
    static func doubleText(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return "\(d)"
    }

    static func containsNUL(_ value: Value) -> Bool {
        switch value {
        case .string(let s): return s.utf8.contains(0)
        case .array(let items): return items.contains(where: containsNUL)
        case .object(let fields): return fields.contains { $0.key.utf8.contains(0) || containsNUL($0.value) }
        default: return false
        }
    }

    private static func appendASCII(_ text: String, to out: inout [UInt8]) {
        out.append(contentsOf: text.utf8)
    }

    /// Appends text with COPY's escapes: `\` → `\\`, tab → `\t`, newline → `\n`, CR → `\r`.
    static func appendEscaped<S: Sequence>(_ bytes: S, to out: inout [UInt8]) where S.Element == UInt8 {
        for b in bytes {
            switch b {
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x09: out.append(0x5C); out.append(0x74)
            case 0x0A: out.append(0x5C); out.append(0x6E)
            case 0x0D: out.append(0x5C); out.append(0x72)
            default: out.append(b)
            }
        }
    }
}
