/// The parsed form of a regex (see `Regex` for the syntax).
indirect enum RegexNode: Sendable {
    case empty
    /// One scalar; `caseInsensitive` from the `i` flag in force.
    case literal(UInt32, caseInsensitive: Bool)
    /// Several case-sensitive scalars as UTF-8 bytes (made by merging literals).
    case string([UInt8])
    case dot(matchesNewline: Bool)
    case charClass(RegexCharClass)
    case assertion(RegexAssertion)
    case group(RegexNode, capture: Int?)
    case concat([RegexNode])
    case alternation([RegexNode])
    case quantified(RegexNode, min: Int, max: Int?, mode: RegexQuantifierMode, offset: Int)
    case backReference(Int, caseInsensitive: Bool, offset: Int)
    case namedBackReference(String, caseInsensitive: Bool, offset: Int)
    case look(RegexNode, behind: Bool, negative: Bool)
    case atomic(RegexNode)
}

enum RegexQuantifierMode: Sendable { case greedy, lazy, possessive }

enum RegexAssertion: Sendable {
    case textStart, textEnd, textEndOrFinalNewline, lineStart, lineEnd, wordBoundary, notWordBoundary
}

/// A bracket class or a class escape (`\d`, `\p{L}`, ...).
struct RegexCharClass: Sendable {
    enum Kind: Sendable {
        case range(UInt32, UInt32)
        case digit, word, space
        case category(UInt32)
        case any, ascii, alphabetic, uppercase, lowercase
    }

    struct Item: Sendable {
        var kind: Kind
        var negated: Bool

        func contains(_ c: UInt32) -> Bool {
            let hit: Bool
            switch kind {
            case .range(let lo, let hi): hit = c >= lo && c <= hi
            case .digit: hit = RegexUnicode.isDigit(c)
            case .word: hit = RegexUnicode.isWord(c)
            case .space: hit = RegexUnicode.isSpace(c)
            case .category(let mask): hit = GeneralCategoryMask.of(c) & mask != 0
            case .any: hit = c < RegexUnicode.invalidBase
            case .ascii: hit = c < 0x80
            case .alphabetic: hit = Unicode.Scalar(c)?.properties.isAlphabetic ?? false
            case .uppercase: hit = Unicode.Scalar(c)?.properties.isUppercase ?? false
            case .lowercase: hit = Unicode.Scalar(c)?.properties.isLowercase ?? false
            }
            return hit != negated
        }
    }

    var items: [Item]
    var negated: Bool
    var caseInsensitive: Bool
    /// The final answer for ASCII scalars, computed once.
    private(set) var ascii = ByteSet()

    init(items: [Item], negated: Bool, caseInsensitive: Bool) {
        self.items = items
        self.negated = negated
        self.caseInsensitive = caseInsensitive
        var set = ByteSet()
        for c in 0..<128 where slowContains(UInt32(c)) { set.insert(UInt8(c)) }
        ascii = set
    }

    /// Whether the class matches scalar (or undecodable byte) `c`.
    @inline(__always)
    func contains(_ c: UInt32) -> Bool {
        if c < 0x80 { return ascii.contains(UInt8(truncatingIfNeeded: c)) }
        return slowContains(c)
    }

    func slowContains(_ c: UInt32) -> Bool {
        var hit = items.contains { $0.contains(c) }
        if !hit && caseInsensitive && c < RegexUnicode.invalidBase {
            for v in RegexUnicode.caseVariants(c) where v != c && items.contains(where: { $0.contains(v) }) {
                hit = true
                break
            }
        }
        return hit != negated
    }

    /// Whether any non-ASCII scalar (or undecodable byte) may match.
    var mayMatchNonASCII: Bool {
        if negated { return true }
        return items.contains { item in
            if item.negated { return true }
            switch item.kind {
            case .range(_, let hi): return hi >= 0x80 || caseInsensitive
            case .digit, .ascii: return false
            default: return true
            }
        }
    }
}

struct RegexFlags: Sendable {
    var ignoreCase = false
    var multiline = false
    var dotAll = false
    var extended = false

    /// Applies flag letter `c`; false if it is not a flag.
    mutating func set(_ c: UInt8, _ on: Bool) -> Bool {
        switch c {
        case UInt8(ascii: "i"): ignoreCase = on
        case UInt8(ascii: "m"): multiline = on
        case UInt8(ascii: "s"): dotAll = on
        case UInt8(ascii: "x"): extended = on
        default: return false
        }
        return true
    }
}

/// Recursive-descent parser; recursion depth is bounded by group nesting (at most 200).
struct RegexParser {
    let p: [UInt8]
    var i = 0
    var flags: RegexFlags
    var groupCount = 0
    var names: [String: Int] = [:]
    var depth = 0

    static let maxNesting = 200
    static let maxRepeat = 1000

    init(_ pattern: [UInt8], flags: RegexFlags) {
        p = pattern
        self.flags = flags
    }

    static func error(_ what: String, _ offset: Int) -> MatchError {
        .malformed("\(what) at offset \(offset)")
    }

    mutating func parse() throws(MatchError) -> RegexNode {
        let node = try parseAlternation()
        if i < p.count { throw RegexParser.error("unmatched ')'", i) }
        return node
    }

    private func at(_ k: Int) -> UInt8 { k < p.count ? p[k] : 0 }

    private mutating func skipExtended() {
        guard flags.extended else { return }
        while i < p.count {
            let c = p[i]
            if c == 0x20 || (c >= 0x09 && c <= 0x0D) {
                i += 1
            } else if c == UInt8(ascii: "#") {
                while i < p.count && p[i] != 0x0A { i += 1 }
            } else {
                break
            }
        }
    }

    private mutating func parseAlternation() throws(MatchError) -> RegexNode {
        var branches = [try parseConcat()]
        while i < p.count && p[i] == UInt8(ascii: "|") {
            i += 1
            branches.append(try parseConcat())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func parseConcat() throws(MatchError) -> RegexNode {
        var items: [RegexNode] = []
        while true {
            skipExtended()
            guard i < p.count else { break }
            let c = p[i]
            if c == UInt8(ascii: "|") || c == UInt8(ascii: ")") { break }
            let start = i
            guard let atom = try parseAtom() else { continue }
            items.append(try parseQuantifier(atom, atomOffset: start))
        }
        return RegexParser.mergeLiterals(items)
    }

    /// Joins runs of case-sensitive literals into one byte string.
    static func mergeLiterals(_ items: [RegexNode]) -> RegexNode {
        var out: [RegexNode] = []
        var run: [UInt8] = []
        var runScalars = 0
        func flush() {
            if runScalars == 1, let only = String(decoding: run, as: UTF8.self).unicodeScalars.first {
                out.append(.literal(only.value, caseInsensitive: false))
            } else if runScalars > 1 {
                out.append(.string(run))
            }
            run = []
            runScalars = 0
        }
        for item in items {
            if case .literal(let c, false) = item {
                run += RegexUnicode.utf8(c)
                runScalars += 1
            } else {
                flush()
                out.append(item)
            }
        }
        flush()
        if out.isEmpty { return .empty }
        return out.count == 1 ? out[0] : .concat(out)
    }

    /// Parses `{n}`, `{n,}`, `{n,m}` at `i`; nil (and `i` unchanged) if it is not one.
    private mutating func parseBraces() throws(MatchError) -> (Int, Int?)? {
        let start = i
        var k = i + 1
        func number() -> Int? {
            var v = 0
            var digits = 0
            while k < p.count, p[k] >= UInt8(ascii: "0"), p[k] <= UInt8(ascii: "9") {
                if v < 1_000_000 { v = v * 10 + Int(p[k] - UInt8(ascii: "0")) }
                k += 1
                digits += 1
            }
            return digits > 0 ? v : nil
        }
        guard let lo = number() else { return nil }
        var hi: Int? = lo
        if at(k) == UInt8(ascii: ",") {
            k += 1
            hi = number()
        }
        guard at(k) == UInt8(ascii: "}") else { return nil }
        if lo > RegexParser.maxRepeat || (hi ?? 0) > RegexParser.maxRepeat {
            throw RegexParser.error("repetition count over \(RegexParser.maxRepeat)", start)
        }
        if let hi, hi < lo { throw RegexParser.error("quantifier range {\(lo),\(hi)} out of order", start) }
        i = k + 1
        return (lo, hi)
    }

    private mutating func parseQuantifier(_ atom: RegexNode, atomOffset: Int) throws(MatchError) -> RegexNode {
        skipExtended()
        guard i < p.count else { return atom }
        let start = i
        var bounds: (Int, Int?)
        switch p[i] {
        case UInt8(ascii: "*"): bounds = (0, nil); i += 1
        case UInt8(ascii: "+"): bounds = (1, nil); i += 1
        case UInt8(ascii: "?"): bounds = (0, 1); i += 1
        case UInt8(ascii: "{"):
            guard let b = try parseBraces() else { return atom }
            bounds = b
        default:
            return atom
        }
        switch atom {
        case .assertion, .look, .empty:
            throw RegexParser.error("nothing to repeat", start)
        default:
            break
        }
        var mode = RegexQuantifierMode.greedy
        if at(i) == UInt8(ascii: "?") {
            mode = .lazy; i += 1
        } else if at(i) == UInt8(ascii: "+") {
            mode = .possessive; i += 1
        }
        skipExtended()
        let next = at(i)
        if next == UInt8(ascii: "*") || next == UInt8(ascii: "+") || next == UInt8(ascii: "?") {
            throw RegexParser.error("nothing to repeat", i)
        }
        if next == UInt8(ascii: "{") {
            let save = i
            if try parseBraces() != nil { throw RegexParser.error("nothing to repeat", save) }
        }
        return .quantified(atom, min: bounds.0, max: bounds.1, mode: mode, offset: start)
    }

    /// Decodes the pattern scalar at `i` and advances past it.
    private mutating func nextScalar() -> UInt32 {
        let (scalar, length) = p.withUnsafeBufferPointer { RegexUnicode.decode($0, i) }
        i += length
        return scalar
    }

    /// One atom, or nil for a construct that matches nothing (`(?i)`, `(?#...)`).
    private mutating func parseAtom() throws(MatchError) -> RegexNode? {
        let start = i
        let c = p[i]
        switch c {
        case UInt8(ascii: "("):
            return try parseGroup()
        case UInt8(ascii: "["):
            return .charClass(try parseClass())
        case UInt8(ascii: "."):
            i += 1
            return .dot(matchesNewline: flags.dotAll)
        case UInt8(ascii: "^"):
            i += 1
            return .assertion(flags.multiline ? .lineStart : .textStart)
        case UInt8(ascii: "$"):
            i += 1
            return .assertion(flags.multiline ? .lineEnd : .textEnd)
        case UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"):
            throw RegexParser.error("nothing to repeat", start)
        case UInt8(ascii: "{"):
            if try parseBraces() != nil { throw RegexParser.error("nothing to repeat", start) }
            i += 1
            return .literal(UInt32(c), caseInsensitive: false)
        case UInt8(ascii: "\\"):
            return try parseEscape()
        default:
            return literal(nextScalar())
        }
    }

    private func literal(_ c: UInt32) -> RegexNode {
        if flags.ignoreCase && RegexUnicode.caseVariants(c).count > 1 {
            return .literal(c, caseInsensitive: true)
        }
        return .literal(c, caseInsensitive: false)
    }

    private mutating func parseGroupName(terminator: UInt8) throws(MatchError) -> String {
        let start = i
        while i < p.count && p[i] != terminator { i += 1 }
        guard i < p.count else { throw RegexParser.error("unterminated group name", start) }
        let name = String(decoding: p[start..<i], as: UTF8.self)
        i += 1
        let valid = !name.isEmpty && name.unicodeScalars.enumerated().allSatisfy { k, s in
            s == "_" || s.properties.isAlphabetic || (k > 0 && s.properties.numericType == .decimal)
        }
        guard valid else { throw RegexParser.error("invalid group name '\(name)'", start) }
        return name
    }

    private mutating func parseGroup() throws(MatchError) -> RegexNode? {
        let start = i
        i += 1
        var capture: Int?
        var look: (behind: Bool, negative: Bool)?
        var atomic = false
        let savedFlags = flags
        if at(i) == UInt8(ascii: "?") {
            i += 1
            let k = at(i)
            switch k {
            case UInt8(ascii: ":"):
                i += 1
            case UInt8(ascii: "="), UInt8(ascii: "!"):
                look = (false, k == UInt8(ascii: "!")); i += 1
            case UInt8(ascii: ">"):
                atomic = true; i += 1
            case UInt8(ascii: "#"):
                while i < p.count && p[i] != UInt8(ascii: ")") { i += 1 }
                guard i < p.count else { throw RegexParser.error("unclosed comment", start) }
                i += 1
                return nil
            case UInt8(ascii: "<") where at(i + 1) == UInt8(ascii: "=") || at(i + 1) == UInt8(ascii: "!"):
                look = (true, at(i + 1) == UInt8(ascii: "!")); i += 2
            case UInt8(ascii: "<"), UInt8(ascii: "P"):
                if k == UInt8(ascii: "P") {
                    guard at(i + 1) == UInt8(ascii: "<") else {
                        throw RegexParser.error("unknown group syntax '(?P'", start)
                    }
                    i += 1
                }
                i += 1
                let nameOffset = i
                let name = try parseGroupName(terminator: UInt8(ascii: ">"))
                groupCount += 1
                if names[name] != nil { throw RegexParser.error("duplicate group name '\(name)'", nameOffset) }
                names[name] = groupCount
                capture = groupCount
            default:
                // Inline flags: (?imsx-imsx) for the rest of the group, or (?imsx-imsx:...) scoped.
                var on = true
                var any = false
                while i < p.count && p[i] != UInt8(ascii: ")") && p[i] != UInt8(ascii: ":") {
                    if p[i] == UInt8(ascii: "-") && on {
                        on = false
                    } else if !flags.set(p[i], on) {
                        let bad = String(decoding: RegexUnicode.utf8(p.withUnsafeBufferPointer { RegexUnicode.decode($0, i).scalar }), as: UTF8.self)
                        throw RegexParser.error(any || !on ? "unknown inline flag '\(bad)'" : "unknown group syntax '(?\(bad)'", i)
                    }
                    any = true
                    i += 1
                }
                guard i < p.count else { throw RegexParser.error("unclosed group", start) }
                if p[i] == UInt8(ascii: ")") {
                    i += 1
                    return nil
                }
                i += 1
            }
        } else {
            groupCount += 1
            capture = groupCount
        }
        depth += 1
        if depth > RegexParser.maxNesting { throw RegexParser.error("groups nested too deeply", start) }
        let body = try parseAlternation()
        depth -= 1
        guard i < p.count, p[i] == UInt8(ascii: ")") else { throw RegexParser.error("unclosed group", start) }
        i += 1
        flags = savedFlags
        if let look { return .look(body, behind: look.behind, negative: look.negative) }
        if atomic { return .atomic(body) }
        return .group(body, capture: capture)
    }

    private static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    /// `\xHH`, `\x{H..}`, `\uHHHH`, `\u{H..}` after the letter; `escapeStart` is the backslash.
    private mutating func parseHexEscape(fixed: Int, escapeStart: Int) throws(MatchError) -> UInt32 {
        var v: UInt32 = 0
        if at(i) == UInt8(ascii: "{") {
            i += 1
            var digits = 0
            while let d = RegexParser.hexValue(at(i)) {
                v = v &* 16 &+ d
                digits += 1
                i += 1
                if digits > 8 { break }
            }
            guard digits > 0, at(i) == UInt8(ascii: "}") else { throw RegexParser.error("invalid hex escape", escapeStart) }
            i += 1
        } else {
            for _ in 0..<fixed {
                guard let d = RegexParser.hexValue(at(i)) else { throw RegexParser.error("invalid hex escape", escapeStart) }
                v = v * 16 + d
                i += 1
            }
        }
        guard Unicode.Scalar(v) != nil else { throw RegexParser.error("escape is not a Unicode scalar", escapeStart) }
        return v
    }

    /// `\p{..}`/`\P{..}`/`\pL` after the letter.
    private mutating func parseProperty(negated: Bool, escapeStart: Int) throws(MatchError) -> RegexCharClass.Item {
        var name: String
        var negated = negated
        if at(i) == UInt8(ascii: "{") {
            let start = i + 1
            var k = start
            while k < p.count && p[k] != UInt8(ascii: "}") { k += 1 }
            guard k < p.count else { throw RegexParser.error("unclosed \\p{", escapeStart) }
            name = String(decoding: p[start..<k], as: UTF8.self)
            i = k + 1
            if name.hasPrefix("^") {
                negated.toggle()
                name.removeFirst()
            }
        } else {
            guard i < p.count else { throw RegexParser.error("missing property name after \\p", escapeStart) }
            name = String(decoding: [p[i]], as: UTF8.self)
            i += 1
        }
        let key = String(name.lowercased().filter { $0 != "_" && $0 != " " && $0 != "-" })
        let kind: RegexCharClass.Kind
        switch key {
        case "any": kind = .any
        case "ascii": kind = .ascii
        case "alphabetic", "alpha": kind = .alphabetic
        case "whitespace", "space": kind = .space
        case "uppercase", "upper": kind = .uppercase
        case "lowercase", "lower": kind = .lowercase
        default:
            guard let mask = GeneralCategoryMask.named(name) else {
                throw RegexParser.error("unknown Unicode property '\(name)'", escapeStart)
            }
            kind = .category(mask)
        }
        return RegexCharClass.Item(kind: kind, negated: negated)
    }

    /// A character escape shared by atoms and classes, or nil if `c` is not one.
    private mutating func parseCharEscape(_ c: UInt8, escapeStart: Int) throws(MatchError) -> UInt32? {
        switch c {
        case UInt8(ascii: "n"): return 0x0A
        case UInt8(ascii: "r"): return 0x0D
        case UInt8(ascii: "t"): return 0x09
        case UInt8(ascii: "f"): return 0x0C
        case UInt8(ascii: "v"): return 0x0B
        case UInt8(ascii: "a"): return 0x07
        case UInt8(ascii: "e"): return 0x1B
        case UInt8(ascii: "0"): return 0
        case UInt8(ascii: "x"): return try parseHexEscape(fixed: 2, escapeStart: escapeStart)
        case UInt8(ascii: "u"): return try parseHexEscape(fixed: 4, escapeStart: escapeStart)
        default:
            let isAlnum = (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
            return isAlnum ? nil : UInt32.max
        }
    }

    private static func classEscape(_ c: UInt8) -> RegexCharClass.Item? {
        switch c {
        case UInt8(ascii: "d"): return .init(kind: .digit, negated: false)
        case UInt8(ascii: "D"): return .init(kind: .digit, negated: true)
        case UInt8(ascii: "w"): return .init(kind: .word, negated: false)
        case UInt8(ascii: "W"): return .init(kind: .word, negated: true)
        case UInt8(ascii: "s"): return .init(kind: .space, negated: false)
        case UInt8(ascii: "S"): return .init(kind: .space, negated: true)
        default: return nil
        }
    }

    private func unknownEscape(_ escapeStart: Int) -> MatchError {
        let letter = String(decoding: [at(escapeStart + 1)], as: UTF8.self)
        return RegexParser.error("unknown escape '\\\(letter)'", escapeStart)
    }

    private mutating func parseEscape() throws(MatchError) -> RegexNode {
        let start = i
        i += 1
        guard i < p.count else { throw RegexParser.error("trailing backslash", start) }
        let c = p[i]
        if let item = RegexParser.classEscape(c) {
            i += 1
            return .charClass(RegexCharClass(items: [item], negated: false, caseInsensitive: false))
        }
        switch c {
        case UInt8(ascii: "p"), UInt8(ascii: "P"):
            i += 1
            let item = try parseProperty(negated: c == UInt8(ascii: "P"), escapeStart: start)
            return .charClass(RegexCharClass(items: [item], negated: false, caseInsensitive: flags.ignoreCase))
        case UInt8(ascii: "b"): i += 1; return .assertion(.wordBoundary)
        case UInt8(ascii: "B"): i += 1; return .assertion(.notWordBoundary)
        case UInt8(ascii: "A"): i += 1; return .assertion(.textStart)
        case UInt8(ascii: "z"): i += 1; return .assertion(.textEnd)
        case UInt8(ascii: "Z"): i += 1; return .assertion(.textEndOrFinalNewline)
        case UInt8(ascii: "1")...UInt8(ascii: "9"):
            var n = 0
            while i < p.count, p[i] >= UInt8(ascii: "0"), p[i] <= UInt8(ascii: "9"), n < 100_000 {
                n = n * 10 + Int(p[i] - UInt8(ascii: "0"))
                i += 1
            }
            return .backReference(n, caseInsensitive: flags.ignoreCase, offset: start)
        case UInt8(ascii: "k"):
            i += 1
            guard at(i) == UInt8(ascii: "<") else { throw RegexParser.error("expected '<name>' after \\k", start) }
            i += 1
            let name = try parseGroupName(terminator: UInt8(ascii: ">"))
            return .namedBackReference(name, caseInsensitive: flags.ignoreCase, offset: start)
        default:
            i += 1
            guard let v = try parseCharEscape(c, escapeStart: start) else { throw unknownEscape(start) }
            if v == UInt32.max {
                i -= 1
                return literal(nextScalar())
            }
            return literal(v)
        }
    }

    /// A class member: one scalar, or a class item (`\d`, `\p{L}`).
    private enum ClassAtom { case scalar(UInt32), item(RegexCharClass.Item) }

    private mutating func parseClassAtom() throws(MatchError) -> ClassAtom {
        let c = p[i]
        if c == UInt8(ascii: "[") && at(i + 1) == UInt8(ascii: ":") {
            var k = i + 2
            while k < p.count && ((p[k] >= UInt8(ascii: "a") && p[k] <= UInt8(ascii: "z"))) { k += 1 }
            if at(k) == UInt8(ascii: ":") && at(k + 1) == UInt8(ascii: "]") {
                throw RegexParser.error("POSIX class '\(String(decoding: p[i..<(k + 2)], as: UTF8.self))' is not supported (use \\p{L}, \\d, \\s, \\w)", i)
            }
        }
        guard c == UInt8(ascii: "\\") else { return .scalar(nextScalar()) }
        let start = i
        i += 1
        guard i < p.count else { throw RegexParser.error("trailing backslash", start) }
        let e = p[i]
        if let item = RegexParser.classEscape(e) {
            i += 1
            return .item(item)
        }
        if e == UInt8(ascii: "p") || e == UInt8(ascii: "P") {
            i += 1
            return .item(try parseProperty(negated: e == UInt8(ascii: "P"), escapeStart: start))
        }
        if e == UInt8(ascii: "b") {
            i += 1
            return .scalar(0x08)
        }
        i += 1
        guard let v = try parseCharEscape(e, escapeStart: start) else { throw unknownEscape(start) }
        if v == UInt32.max {
            i -= 1
            return .scalar(nextScalar())
        }
        return .scalar(v)
    }

    private mutating func parseClass() throws(MatchError) -> RegexCharClass {
        let start = i
        i += 1
        var negated = false
        if at(i) == UInt8(ascii: "^") {
            negated = true
            i += 1
        }
        var items: [RegexCharClass.Item] = []
        var first = true
        while true {
            guard i < p.count else { throw RegexParser.error("unclosed character class", start) }
            if p[i] == UInt8(ascii: "]") && !first { i += 1; break }
            first = false
            let atomStart = i
            let atom = try parseClassAtom()
            if at(i) == UInt8(ascii: "-") && at(i + 1) != UInt8(ascii: "]") && i + 1 < p.count {
                guard case .scalar(let lo) = atom else {
                    throw RegexParser.error("invalid class range", atomStart)
                }
                i += 1
                let hiAtom = try parseClassAtom()
                guard case .scalar(let hi) = hiAtom else { throw RegexParser.error("invalid class range", atomStart) }
                if hi < lo {
                    let text = String(decoding: p[atomStart..<i], as: UTF8.self)
                    throw RegexParser.error("invalid class range '\(text)'", atomStart)
                }
                items.append(.init(kind: .range(lo, hi), negated: false))
                continue
            }
            switch atom {
            case .scalar(let v): items.append(.init(kind: .range(v, v), negated: false))
            case .item(let item): items.append(item)
            }
        }
        return RegexCharClass(items: items, negated: negated, caseInsensitive: flags.ignoreCase)
    }
}
