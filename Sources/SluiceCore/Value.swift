import OrderedCollections

/// The fields of a record or of a JSON object: an ordered map that keeps insertion order.
public typealias Fields = OrderedDictionary<String, Value>

/// One value of a record field: the JSON data model, with integers kept apart from doubles.
///
/// `Value` round-trips JSON exactly: `1` stays `.int(1)`, `1.0` stays `.double(1.0)`, and the
/// key order of objects is kept.
public enum Value: Sendable, Hashable {
    /// JSON `null` (`sluice.null` in Lua).
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A 64-bit signed integer.
    case int(Int64)
    /// A double-precision number that was written with a fraction or an exponent.
    case double(Double)
    /// A UTF-8 string.
    case string(String)
    /// An ordered sequence.
    case array([Value])
    /// An ordered map from strings to values.
    case object(Fields)
}

extension Value {
    /// The string payload, or `nil` when this is not a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The integer payload; a double with an exact integer value converts, anything else is `nil`.
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9.2e18: return Int64(d)
        default: return nil
        }
    }

    /// The numeric payload of an integer or a double.
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// The boolean payload, or `nil` when this is not a bool.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements of an array, or `nil` when this is not an array.
    public var arrayValue: [Value]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The fields of an object, or `nil` when this is not an object.
    public var objectValue: Fields? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// Whether this is `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// A short name of the value's kind, as users read it in messages ("string", "integer"…).
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// Looks up a field of an object value; `nil` for other kinds or a missing key.
    public subscript(key: String) -> Value? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
}

extension Value: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    /// `nil` is `.null`.
    public init(nilLiteral: ()) { self = .null }
    /// A boolean literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer literal.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// A floating-point literal.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// A string literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An array literal.
    public init(arrayLiteral elements: Value...) { self = .array(elements) }
    /// A dictionary literal; its order is kept.
    public init(dictionaryLiteral elements: (String, Value)...) {
        var fields = Fields(minimumCapacity: elements.count)
        for (k, v) in elements { fields[k] = v }
        self = .object(fields)
    }
}

extension Value: CustomStringConvertible {
    /// The value as compact JSON.
    public var description: String { JSONWriter.string(self) }
}
