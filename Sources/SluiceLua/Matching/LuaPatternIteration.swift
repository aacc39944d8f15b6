/// Pulls the successive matches of `string.gmatch` or `string.gsub` one at a time, with Lua
/// 5.4's rules: after a match ending at offset `e`, the next attempt starts at `e`, and a
/// match that ends where the previous one ended (an empty match right after a match) is
/// skipped by advancing one byte (lstrlib's `lastmatch`).
///
/// - gmatch: a leading `^` is an ordinary character; the search starts at Lua's `init`.
/// - gsub: a leading `^` anchors (at most one match, at offset 0); at most `maxReplacements`
///   matches. The caller builds the result by copying the subject between matches and
///   appending each replacement, then the rest after the last match — exactly Lua's output.
///
/// The iterator is a plain value: it holds no pointer to the subject, so the caller may keep
/// it across calls (for example in a gmatch closure's state) and pass the same subject bytes
/// each time.
public struct LuaMatchIterator: Sendable {
    private let pattern: LuaPattern
    private let anchored: Bool
    private let limit: Int
    private let gmatchMode: Bool
    private var source: Int
    private var lastMatch: Int = -1
    private var count = 0
    private var done = false

    private init(pattern: LuaPattern, anchored: Bool, limit: Int, gmatchMode: Bool, source: Int) {
        self.pattern = pattern
        self.anchored = anchored
        self.limit = limit
        self.gmatchMode = gmatchMode
        self.source = source
    }

    /// The iteration of `string.gmatch(s, pattern, luaInit)` over a subject of `subjectLength`
    /// bytes.
    public static func gmatch(_ pattern: LuaPattern, luaInit: Int = 1, subjectLength: Int) -> LuaMatchIterator {
        var start = LuaPattern.startOffset(luaInit: luaInit, length: subjectLength)
        if start > subjectLength { start = subjectLength + 1 }
        return LuaMatchIterator(pattern: pattern, anchored: false, limit: Int.max, gmatchMode: true,
                                source: start)
    }

    /// The matches `string.gsub(s, pattern, repl, maxReplacements)` replaces. nil means no
    /// limit (Lua's default `#s + 1`).
    public static func gsub(_ pattern: LuaPattern, maxReplacements: Int? = nil, subjectLength: Int) -> LuaMatchIterator {
        LuaMatchIterator(pattern: pattern, anchored: pattern.isAnchored,
                         limit: maxReplacements ?? (subjectLength + 1), gmatchMode: false, source: 0)
    }

    /// How many matches have been returned so far (gsub's substitution count).
    public var matchCount: Int { count }

    /// The next match, or nil when there are no more. `subject` must be the same bytes every
    /// call.
    public mutating func next(in subject: UnsafeBufferPointer<UInt8>,
                              budget: inout MatchBudget) throws(MatchError) -> LuaPatternMatch? {
        let n = subject.count
        guard !done, count < limit, source <= n else {
            done = true
            return nil
        }
        let program = gmatchMode ? pattern.gmatchItems : pattern.items
        // Lua tries each offset in turn and skips a match that ends where the previous one
        // ended; scanning from `source` visits the offsets in the same order.
        let found = try LuaPatternMatcher.firstMatch(program, subject: subject, from: source, anchored: anchored,
                                                     skipEnd: lastMatch, budget: &budget)
        if anchored { done = true }
        guard let found else {
            done = true
            return nil
        }
        count += 1
        source = found.range.upperBound
        self.lastMatch = source
        return found
    }
}

/// A parsed `string.gsub` replacement string: literal bytes, `%0` (the whole match), `%1`–`%9`
/// (captures) and `%%`. As in Lua, a bad `%` is reported only when a match is replaced (a
/// subject with no match returns unchanged, without error): the error is
/// `invalid use of '%' in replacement string` or `invalid capture index %N`.
public struct LuaReplacement: Sendable {
    enum Part: Sendable {
        case literal([UInt8])
        case wholeMatch
        case capture(Int)
        case invalid
    }

    let parts: [Part]

    /// Parses `replacement` (its bytes).
    public init<C: Collection>(_ replacement: C) where C.Element == UInt8 {
        let bytes = Array(replacement)
        var parts: [Part] = []
        var literal: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c != UInt8(ascii: "%") {
                literal.append(c)
                i += 1
                continue
            }
            let next: UInt8 = i + 1 < bytes.count ? bytes[i + 1] : 0
            i += 2
            if next == UInt8(ascii: "%") {
                literal.append(next)
                continue
            }
            if !literal.isEmpty { parts.append(.literal(literal)); literal = [] }
            if next == UInt8(ascii: "0") {
                parts.append(.wholeMatch)
            } else if next >= UInt8(ascii: "1") && next <= UInt8(ascii: "9") {
                parts.append(.capture(Int(next - UInt8(ascii: "1"))))
            } else {
                parts.append(.invalid)
                break
            }
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
    }

    /// Parses a replacement given as a Swift string.
    public init(_ replacement: String) {
        self.init(Array(replacement.utf8))
    }

    /// Whether the replacement has no `%` item (the same text for every match).
    public var isLiteral: Bool {
        parts.allSatisfy { if case .literal = $0 { return true } else { return false } }
    }

    /// Appends the replacement for `match` of `subject` to `out` (Lua's `add_s`).
    public func expand(_ match: LuaPatternMatch, subject: UnsafeBufferPointer<UInt8>,
                       into out: inout [UInt8]) throws(MatchError) {
        for part in parts {
            switch part {
            case .literal(let bytes):
                out.append(contentsOf: bytes)
            case .wholeMatch:
                out.append(contentsOf: subject[match.range])
            case .capture(let index):
                switch try match.capture(at: index) {
                case .substring(let r): out.append(contentsOf: subject[r])
                case .position(let p): out.append(contentsOf: Array(String(p).utf8))
                case .unfinished: throw .malformed("unfinished capture")
                }
            case .invalid:
                throw .malformed("invalid use of '%' in replacement string")
            }
        }
    }
}
