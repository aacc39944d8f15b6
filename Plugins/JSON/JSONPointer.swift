import SluiceCore

/// An RFC 6901 JSON Pointer such as `/data/items` or `/a~1b/0`.
///
/// The empty pointer `""` selects the whole document. In a token, `~1` stands for `/` and `~0`
/// for `~`. An array is indexed by a decimal number without leading zeros.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    /// The pointer as written.
    public let text: String
    /// The unescaped reference tokens, in order.
    public let tokens: [String]

    /// Parses a pointer; throws ``JSONPointerError`` when it is not valid RFC 6901 syntax.
    public init(_ text: String) throws(JSONPointerError) {
        self.text = text
        if text.isEmpty {
            tokens = []
            return
        }
        guard text.hasPrefix("/") else {
            throw JSONPointerError(message: "a JSON pointer must be empty or start with '/', as in '/data/items'")
        }
        var parsed: [String] = []
        for raw in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            var token = ""
            var chars = raw.makeIterator()
            while let c = chars.next() {
                guard c == "~" else { token.append(c); continue }
                switch chars.next() {
                case "0": token.append("~")
                case "1": token.append("/")
                default:
                    throw JSONPointerError(message: "'~' in a JSON pointer must be followed by 0 or 1 ('~0' is '~', '~1' is '/')")
                }
            }
            parsed.append(token)
        }
        tokens = parsed
    }

    /// The pointer as written.
    public var description: String { text }

    /// Whether this is the empty pointer (the whole document).
    public var isEmpty: Bool { tokens.isEmpty }

    /// Escapes one token for writing it in a pointer.
    public static func escape(_ token: String) -> String {
        token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    /// Parses an array index token: digits without a leading zero (`0`, `12`).
    static func index(_ token: String) -> Int? {
        guard let first = token.utf8.first, token.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        if first == 0x30 && token.utf8.count > 1 { return nil }
        return Int(token)
    }

    /// The pointer made of the first `count` tokens, for messages (`/data`).
    func prefix(_ count: Int) -> String {
        tokens.prefix(count).map { "/" + JSONPointer.escape($0) }.joined()
    }

    /// The value this pointer selects in `value`, or a message saying why there is none.
    public func resolve(in value: Value) -> Result<Value, JSONPointerError> {
        var current = value
        for (depth, token) in tokens.enumerated() {
            switch current {
            case .object(let fields):
                guard let next = fields[token] else {
                    return .failure(notFound("no key '\(token)' in the object at \(place(depth))"))
                }
                current = next
            case .array(let items):
                guard let index = JSONPointer.index(token) else {
                    return .failure(notFound("'\(token)' is not an array index (the value at \(place(depth)) is an array)"))
                }
                guard index < items.count else {
                    return .failure(notFound("index \(index) is past the end of the array at \(place(depth)) (\(items.count) elements)"))
                }
                current = items[index]
            default:
                return .failure(notFound("the value at \(place(depth)) is \(Self.article(current.kindName)), which has no '\(token)'"))
            }
        }
        return .success(current)
    }

    /// `pointer '/a/b' not found: REASON`.
    func notFound(_ reason: String) -> JSONPointerError {
        JSONPointerError(message: "pointer '\(text)' not found: \(reason)")
    }

    /// The place of the first `depth` tokens for messages: `'/data'`, or `the root` for none.
    func place(_ depth: Int) -> String {
        depth == 0 ? "the root" : "'\(prefix(depth))'"
    }

    /// `an integer`, `a string`, `an array`.
    static func article(_ kind: String) -> String {
        let vowels: Set<Character> = ["a", "e", "i", "o", "u"]
        return (kind.first.map { vowels.contains($0) } ?? false) ? "an \(kind)" : "a \(kind)"
    }
}

/// A JSON pointer that is malformed or names nothing in a document.
public struct JSONPointerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// The message.
    public var description: String { message }
}
