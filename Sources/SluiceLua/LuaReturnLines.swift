/// Finds which `return` statement of a function gave a value of the wrong type, so that the
/// message points at that line rather than at `function process` (issue 11).
///
/// After the call has returned, Lua no longer knows where it returned from (the activation
/// record is gone), and a return hook would cost every function return of every record.
/// Instead, only when a rule returns a wrong type, the function's source is read again: its
/// `return` statements (not those of nested functions) are listed with what each visibly
/// returns — nothing, `nil`, a table constructor, a string, a number, a boolean, a function, or
/// an expression whose type cannot be told without running it (`return record`). The line is
/// the one return whose literal has the returned type, else the one return that could have
/// returned it; when several could, all of their lines are given.
enum LuaReturnLines {
    /// What a `return` visibly returns.
    enum Kind: Equatable {
        case nothing, nilValue, table, string, number, boolean, function, unknown
    }

    /// One `return` statement.
    struct Return: Equatable {
        var line: Int
        var kind: Kind
    }

    /// The lines that may have returned a value of Lua type `typeName` (`"string"`, `"table"`…)
    /// from the function whose `function` keyword is on `firstLine`: one line when it is
    /// certain, several when any of them could have, none when the source does not tell.
    static func candidates(returning typeName: String, in source: [UInt8], firstLine: Int) -> [Int] {
        let returns = returns(in: source, firstLine: firstLine)
        let exact = returns.filter { $0.kind.matches(typeName) }
        if exact.count == 1 { return [exact[0].line] }
        let possible = returns.filter { $0.kind == .unknown || $0.kind.matches(typeName) }
        return possible.map(\.line)
    }

    /// The `return` statements of the function whose `function` keyword is on `firstLine`, in
    /// order; nested functions' returns are left out.
    static func returns(in source: [UInt8], firstLine: Int) -> [Return] {
        let tokens = LuaTokens(source).all()
        guard let start = tokens.firstIndex(where: { $0.line == firstLine && $0.isName("function") }) else { return [] }
        var functions = 0          // open `function` blocks, the rule's own one included
        var blocks: [Bool] = []    // open blocks; true for a function
        var found: [Return] = []
        var k = start
        while k < tokens.count {
            let token = tokens[k]
            if token.kind == .name {
                switch token.text {
                case "function":
                    blocks.append(true)
                    functions += 1
                case "if", "do", "repeat":
                    blocks.append(false)
                case "end", "until":
                    if let last = blocks.popLast(), last { functions -= 1 }
                    if blocks.isEmpty { return found }
                case "return" where functions == 1:
                    found.append(Return(line: token.line, kind: kind(after: k, in: tokens)))
                default:
                    break
                }
            }
            k += 1
        }
        return found
    }

    private static func kind(after index: Int, in tokens: [LuaTokens.Token]) -> Kind {
        guard index + 1 < tokens.count else { return .nothing }
        let next = tokens[index + 1]
        let following = index + 2 < tokens.count ? tokens[index + 2] : nil
        let endsThere = following.map { $0.isTerminator } ?? true
        switch next.kind {
        case .string: return .string
        case .number: return .number
        case .symbol:
            if next.text == ";" { return .nothing }
            if next.text == "{" { return .table }
            if next.text == "-" || next.text == "#" { return .number }
            return .unknown
        case .name:
            if next.isTerminator { return .nothing }
            switch next.text {
            case "nil": return endsThere ? .nilValue : .unknown
            case "true", "false", "not": return endsThere || next.text == "not" ? .boolean : .unknown
            case "function": return .function
            default: return .unknown
            }
        }
    }
}

extension LuaReturnLines.Kind {
    /// Whether a value of this visible kind has Lua type `typeName`.
    func matches(_ typeName: String) -> Bool {
        switch self {
        case .string: return typeName == "string"
        case .number: return typeName == "number"
        case .boolean: return typeName == "boolean"
        case .table: return typeName == "table"
        case .function: return typeName == "function"
        case .nothing, .nilValue, .unknown: return false
        }
    }
}

/// A minimal Lua 5.4 tokenizer: names and keywords, numbers, strings (quoted and long), and
/// other symbols, with their lines; comments are skipped. Enough to find statements, not to
/// check syntax (Lua has already compiled the script).
struct LuaTokens {
    enum Kind { case name, number, string, symbol }

    struct Token {
        var kind: Kind
        var text: String
        var line: Int

        func isName(_ word: String) -> Bool { kind == .name && text == word }

        /// A token that ends a `return` statement's expression list.
        var isTerminator: Bool {
            (kind == .name && ["end", "else", "elseif", "until"].contains(text)) || (kind == .symbol && text == ";")
        }
    }

    private let bytes: [UInt8]

    init(_ source: [UInt8]) { bytes = source }

    func all() -> [Token] {
        var tokens: [Token] = []
        var i = 0
        var line = 1
        let n = bytes.count
        func at(_ k: Int) -> UInt8 { k < n ? bytes[k] : 0 }
        /// The level of a long bracket opening at `k` (`[[` 0, `[==[` 2), or nil.
        func longBracket(_ k: Int) -> Int? {
            guard at(k) == UInt8(ascii: "[") else { return nil }
            var j = k + 1
            while at(j) == UInt8(ascii: "=") { j += 1 }
            return at(j) == UInt8(ascii: "[") ? j - k - 1 : nil
        }
        /// Skips a long bracket body opened at `k` with `level`; returns the index after it.
        func skipLong(_ k: Int, level: Int) -> Int {
            var j = k + level + 2
            while j < n {
                if bytes[j] == 0x0A { line += 1 }
                if bytes[j] == UInt8(ascii: "]") {
                    var e = j + 1
                    var eq = 0
                    while at(e) == UInt8(ascii: "=") { eq += 1; e += 1 }
                    if eq == level && at(e) == UInt8(ascii: "]") { return e + 1 }
                }
                j += 1
            }
            return n
        }
        // A first line `#!…` is not Lua.
        if at(0) == UInt8(ascii: "#") { while i < n && bytes[i] != 0x0A { i += 1 } }
        while i < n {
            let c = bytes[i]
            if c == 0x0A { line += 1; i += 1; continue }
            if c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0B || c == 0x0C { i += 1; continue }
            if c == UInt8(ascii: "-") && at(i + 1) == UInt8(ascii: "-") {
                if let level = longBracket(i + 2) {
                    i = skipLong(i + 2, level: level)
                } else {
                    while i < n && bytes[i] != 0x0A { i += 1 }
                }
                continue
            }
            let startLine = line
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                var j = i + 1
                while j < n && bytes[j] != c && bytes[j] != 0x0A {
                    if bytes[j] == UInt8(ascii: "\\") {
                        j += 1
                        if at(j) == 0x0A { line += 1 }
                    }
                    j += 1
                }
                tokens.append(Token(kind: .string, text: "", line: startLine))
                i = j + 1
                continue
            }
            if let level = longBracket(i) {
                i = skipLong(i, level: level)
                tokens.append(Token(kind: .string, text: "", line: startLine))
                continue
            }
            if c == UInt8(ascii: "_") || (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") || c >= 0x80 {
                var j = i
                while j < n, bytes[j] == UInt8(ascii: "_") || bytes[j] >= 0x80
                        || ((bytes[j] | 0x20) >= UInt8(ascii: "a") && (bytes[j] | 0x20) <= UInt8(ascii: "z"))
                        || (bytes[j] >= UInt8(ascii: "0") && bytes[j] <= UInt8(ascii: "9")) {
                    j += 1
                }
                tokens.append(Token(kind: .name, text: String(decoding: bytes[i..<j], as: UTF8.self), line: startLine))
                i = j
                continue
            }
            if (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || (c == UInt8(ascii: ".") && at(i + 1) >= UInt8(ascii: "0") && at(i + 1) <= UInt8(ascii: "9")) {
                var j = i + 1
                while j < n {
                    let d = bytes[j]
                    let isExponentSign = (d == UInt8(ascii: "+") || d == UInt8(ascii: "-"))
                        && [UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "p"), UInt8(ascii: "P")].contains(bytes[j - 1])
                    guard isExponentSign || d == UInt8(ascii: ".") || d == UInt8(ascii: "_")
                        || (d | 0x20) >= UInt8(ascii: "a") && (d | 0x20) <= UInt8(ascii: "z")
                        || (d >= UInt8(ascii: "0") && d <= UInt8(ascii: "9")) else { break }
                    j += 1
                }
                tokens.append(Token(kind: .number, text: "", line: startLine))
                i = j
                continue
            }
            tokens.append(Token(kind: .symbol, text: String(UnicodeScalar(c)), line: startLine))
            i += 1
        }
        return tokens
    }
}
