#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A compiled Lua 5.4 pattern with the exact semantics of stock Lua's `string.find`,
/// `string.match`, `string.gmatch` and `string.gsub`, but bounded by a `MatchBudget`.
///
/// Behaviour follows Lua 5.4's manual (§6.4.1) and the stock interpreter, checked by a
/// differential test suite against `lua5.4`:
/// - byte-wise, C locale: `%a %c %d %g %l %p %s %u %w %x` and their upper-case complements only
///   ever match ASCII bytes (`%z`, deprecated but still in Lua 5.4, is the NUL byte); `.` matches
///   any byte;
/// - `^` anchors only as the first byte (and not at all in `gmatch`), `$` only as the last;
/// - at most 32 captures, recursion at most 200 levels (`pattern too complex`);
/// - errors are raised lazily, exactly as in Lua: a bad item is reported only when matching
///   reaches it, so `string.find("", "x[")` returns no match rather than an error. This is why
///   `init` never throws in practice; the messages are Lua's own (`malformed pattern (missing
///   ']')`, `invalid capture index %2`, ...).
///
/// Positions in this API are 0-based byte offsets; `LuaPatternCapture.position` holds the
/// 1-based value Lua returns for a `()` capture.
public struct LuaPattern: Sendable {
    /// The pattern's bytes as given (including a leading `^`).
    public let source: [UInt8]
    /// Whether the pattern starts with `^` (an anchor for find, match and gsub).
    public let isAnchored: Bool
    /// Items for find/match/gsub (after the anchor).
    let items: LuaPatternProgram
    /// Items for gmatch, where a leading `^` is an ordinary character.
    let gmatchItems: LuaPatternProgram

    /// Lua's `LUA_MAXCAPTURES`.
    static let maxCaptures = 32
    /// Lua's `MAXCCALLS`: how deep matching may recurse.
    static let maxDepth = 200

    /// Compiles `pattern` (its bytes, e.g. `Array("%d+".utf8)`).
    ///
    /// Never throws today: like Lua, a malformed pattern is reported by the matching call that
    /// reaches the bad item. The signature stays throwing so callers need not change if an
    /// eager check is ever added.
    public init<C: Collection>(_ pattern: C) throws(MatchError) where C.Element == UInt8 {
        self.init(Array(pattern), fastPaths: true)
    }

    /// Compiles `bytes`; `fastPaths: false` keeps every match on the general machine (the tests
    /// check that both give the same results and charge the same steps).
    init(_ bytes: [UInt8], fastPaths: Bool) {
        source = bytes
        isAnchored = bytes.first == UInt8(ascii: "^")
        items = LuaPatternProgram(bytes, from: isAnchored ? 1 : 0, fastPaths: fastPaths)
        gmatchItems = isAnchored ? LuaPatternProgram(bytes, from: 0, fastPaths: fastPaths) : items
    }

    /// Whether matches of this pattern take the single-class fast path (`%S+`, `(%d+)`, …).
    var usesFastPath: Bool { items.repetition != nil }

    /// Compiles a pattern given as a Swift string (its UTF-8 bytes).
    public init(_ pattern: String) throws(MatchError) {
        try self.init(Array(pattern.utf8))
    }

    /// Whether the pattern contains one of Lua's special characters `^$*+?.([%-`. When it does
    /// not, `string.find` does a plain search (Lua's "no specials" fast path).
    public var hasSpecials: Bool { LuaPattern.hasSpecials(source) }

    /// Whether `pattern` contains one of `^$*+?.([%-` (the inverse of lstrlib's `nospecials`).
    public static func hasSpecials<C: Collection>(_ pattern: C) -> Bool where C.Element == UInt8 {
        pattern.contains { byte in
            switch byte {
            case UInt8(ascii: "^"), UInt8(ascii: "$"), UInt8(ascii: "*"), UInt8(ascii: "+"),
                 UInt8(ascii: "?"), UInt8(ascii: "."), UInt8(ascii: "("), UInt8(ascii: "["),
                 UInt8(ascii: "%"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }

    /// Lua's `posrelatI(init, len) - 1`: the 0-based byte offset where a search given Lua's
    /// 1-based (possibly negative) `init` starts. May be `length + 1` or more, which means
    /// "after the end" (find and match then fail; gmatch yields nothing).
    public static func startOffset(luaInit: Int, length: Int) -> Int {
        if luaInit > 0 { return luaInit - 1 }
        if luaInit == 0 { return 0 }
        if luaInit < -length { return 0 }
        return length + luaInit
    }

    /// Finds `needle` in `haystack` at or after byte offset `start`, as Lua's plain find
    /// (`lmemfind`): an empty needle is found at `start`.
    public static func plainFind(_ needle: UnsafeBufferPointer<UInt8>,
                                 in haystack: UnsafeBufferPointer<UInt8>,
                                 from start: Int) -> Range<Int>? {
        let n = haystack.count
        let m = needle.count
        guard start >= 0, start <= n else { return nil }
        if m == 0 { return start..<start }
        guard m <= n - start else { return nil }
        let first = needle[0]
        var i = start
        let last = n - m
        while i <= last {
            if haystack[i] == first {
                var k = 1
                while k < m && haystack[i + k] == needle[k] { k += 1 }
                if k == m { return i..<(i + m) }
            }
            i += 1
        }
        return nil
    }

    /// Tries the pattern at byte offsets `start`, `start + 1`, … up to the subject's end (only at
    /// `start` when the pattern is anchored with `^`), like Lua's `str_find_aux`. Returns nil
    /// when nothing matches or `start` is past the end.
    public func match(in subject: UnsafeBufferPointer<UInt8>, from start: Int,
                      budget: inout MatchBudget) throws(MatchError) -> LuaPatternMatch? {
        guard start <= subject.count else { return nil }
        let anchored = isAnchored
        return try items.withMatcher(subject: subject, budget: &budget) { (m) throws(MatchError) -> LuaPatternMatch? in
            try m.find(from: max(0, start), anchored: anchored, skipEnd: -1) ? m.makeMatch() : nil
        }
    }

    /// `string.find(subject, pattern, init, plain)` with Lua's argument rules: `luaInit` is
    /// Lua's 1-based (or negative) init; a plain search is done when `plain` is true or the
    /// pattern has no special characters. A plain match has no captures.
    public func find(in subject: UnsafeBufferPointer<UInt8>, luaInit: Int = 1, plain: Bool = false,
                     budget: inout MatchBudget) throws(MatchError) -> LuaPatternMatch? {
        let start = LuaPattern.startOffset(luaInit: luaInit, length: subject.count)
        guard start <= subject.count else { return nil }
        if plain || !hasSpecials {
            let found = source.withUnsafeBufferPointer { needle in
                LuaPattern.plainFind(needle, in: subject, from: start)
            }
            // A plain search costs about one step per eight bytes looked at.
            let cost = 1 + ((found?.upperBound ?? subject.count) - start) / 8
            if budget.remaining < cost { budget.remaining = 0; throw .budgetExceeded }
            budget.remaining -= cost
            return found.map { LuaPatternMatch(range: $0, captures: []) }
        }
        return try match(in: subject, from: start, budget: &budget)
    }

    /// `string.match(subject, pattern, init)`: the first match at or after Lua's `luaInit`.
    /// Use `LuaPatternMatch.values()` for the values Lua returns.
    public func firstMatch(in subject: UnsafeBufferPointer<UInt8>, luaInit: Int = 1,
                           budget: inout MatchBudget) throws(MatchError) -> LuaPatternMatch? {
        let start = LuaPattern.startOffset(luaInit: luaInit, length: subject.count)
        return try match(in: subject, from: start, budget: &budget)
    }

    /// Every match `string.gmatch(subject, pattern, init)` yields, in order (a leading `^` is an
    /// ordinary character there, as in Lua 5.4). Use `LuaMatchIterator` to pull matches one at a
    /// time instead.
    public func allMatches(in subject: UnsafeBufferPointer<UInt8>, luaInit: Int = 1,
                           budget: inout MatchBudget) throws(MatchError) -> [LuaPatternMatch] {
        var source = LuaPattern.startOffset(luaInit: luaInit, length: subject.count)
        guard source <= subject.count else { return [] }
        return try gmatchItems.withMatcher(subject: subject, budget: &budget) { (m) throws(MatchError) -> [LuaPatternMatch] in
            var result: [LuaPatternMatch] = []
            var last = -1
            while source <= subject.count, try m.find(from: source, anchored: false, skipEnd: last) {
                result.append(m.makeMatch())
                source = m.matchEnd
                last = source
            }
            return result
        }
    }

    /// `string.gsub(subject, pattern, replacement, n)` with a string replacement. Returns the new
    /// bytes and the number of substitutions. `maxReplacements` nil means no limit (Lua's
    /// default `#s + 1`); zero or negative means none.
    public func gsub(in subject: UnsafeBufferPointer<UInt8>, replacement: LuaReplacement,
                     maxReplacements: Int? = nil,
                     budget: inout MatchBudget) throws(MatchError) -> (bytes: [UInt8], count: Int) {
        var out = LuaByteBuffer(capacity: subject.count)
        let count = try substitute(in: subject, replacement: replacement,
                                   maxReplacements: maxReplacements ?? (subject.count + 1),
                                   budget: &budget, into: &out,
                                   failure: { $0 }, replace: { (_, _) throws(MatchError) in })
        return (out.array(), count)
    }
}

/// One successful match of a `LuaPattern`.
public struct LuaPatternMatch: Sendable, Hashable {
    /// The matched bytes, as 0-based byte offsets (Lua's `find` returns
    /// `range.lowerBound + 1` and `range.upperBound`).
    public var range: Range<Int>
    /// The pattern's captures in order (empty when the pattern has none). Read them through
    /// `values()`, `findCaptures()` or `capture(at:)`, which apply Lua's rules and errors.
    public var captures: [LuaPatternCapture]

    /// Creates a match.
    public init(range: Range<Int>, captures: [LuaPatternCapture]) {
        self.range = range
        self.captures = captures
    }

    /// What `string.match`, `string.gmatch` and a function replacement of `string.gsub`
    /// receive: the captures, or the whole match when the pattern has none. Throws
    /// `unfinished capture` for a `(` that was never closed.
    public func values() throws(MatchError) -> [LuaPatternCapture] {
        if captures.isEmpty { return [.substring(range)] }
        return try captures.map { (c) throws(MatchError) -> LuaPatternCapture in try LuaPatternMatch.checked(c) }
    }

    /// The values `string.find` returns after the start and end: the captures only.
    public func findCaptures() throws(MatchError) -> [LuaPatternCapture] {
        try captures.map { (c) throws(MatchError) -> LuaPatternCapture in try LuaPatternMatch.checked(c) }
    }

    /// Lua's `get_onecapture`: capture `index` (0-based, so `%1` is index 0), where index 0
    /// of a pattern without captures is the whole match (a table replacement's key, `%1` in
    /// a replacement string). Throws `invalid capture index %N` or `unfinished capture`.
    public func capture(at index: Int) throws(MatchError) -> LuaPatternCapture {
        if index >= captures.count {
            if index != 0 { throw .malformed("invalid capture index %\(index + 1)") }
            return .substring(range)
        }
        return try LuaPatternMatch.checked(captures[index])
    }

    private static func checked(_ c: LuaPatternCapture) throws(MatchError) -> LuaPatternCapture {
        if case .unfinished = c { throw .malformed("unfinished capture") }
        return c
    }
}

/// One capture of a Lua pattern match.
public enum LuaPatternCapture: Sendable, Hashable {
    /// A `(...)` capture: the captured bytes (0-based offsets into the subject).
    case substring(Range<Int>)
    /// A `()` position capture: the 1-based position Lua returns as an integer.
    case position(Int)
    /// A `(` still open when the match ended; reading it is Lua's error `unfinished capture`.
    /// The accessors of `LuaPatternMatch` throw that error, so callers using them never see
    /// this case.
    case unfinished(start: Int)
}

/// How many times an item may repeat.
enum LuaQuantifier: Sendable {
    case one, star, plus, minus, optional
}

/// One item of a compiled Lua pattern, in the order matching walks them.
enum LuaPatternItem: Sendable {
    /// `()`.
    case positionCapture
    /// `(`.
    case openCapture
    /// `)`.
    case closeCapture
    /// `$` as the last byte.
    case endAnchor
    /// `%bxy`.
    case balance(UInt8, UInt8)
    /// `%f[set]`, with the index of its set.
    case frontier(Int32)
    /// `%d` with a digit byte `d` (checked when reached, as in Lua).
    case backReference(UInt8)
    /// A single-byte class (index of its set) with its quantifier.
    case single(Int32, LuaQuantifier)
    /// Reaching this item raises Lua's error (index into the messages); nothing after it is
    /// reachable.
    case fail(Int32)
}

/// A pattern parsed to items (small values, for a fast matching loop), with the byte sets
/// and error messages they refer to. `LuaPatternProgram` keeps them where matching reads them.
struct LuaPatternParse: Sendable {
    var items: [LuaPatternItem] = []
    /// 256 flags per set: `table[set << 8 | byte]` says whether the byte is in the set.
    var table: [Bool] = []
    var messages: [String] = []

    /// Walks the pattern from `start` the way lstrlib's `match` does and lists its items.
    init(_ p: [UInt8], from start: Int) {
        var items: [LuaPatternItem] = []
        var sets: [ByteSet] = []
        var messages: [String] = []
        func set(_ s: ByteSet) -> Int32 {
            sets.append(s)
            return Int32(sets.count - 1)
        }
        func fail(_ message: String) -> LuaPatternItem {
            messages.append(message)
            return .fail(Int32(messages.count - 1))
        }
        defer {
            self.items = items
            var table = [Bool](repeating: false, count: sets.count * 256)
            for (k, set) in sets.enumerated() {
                for b in 0..<256 where set.contains(UInt8(b)) { table[k << 8 | b] = true }
            }
            self.table = table
            self.messages = messages
        }
        let n = p.count
        func at(_ i: Int) -> UInt8 { i < n ? p[i] : 0 }
        var i = start
        while i < n {
            switch p[i] {
            case UInt8(ascii: "("):
                if at(i + 1) == UInt8(ascii: ")") {
                    items.append(.positionCapture); i += 2
                } else {
                    items.append(.openCapture); i += 1
                }
                continue
            case UInt8(ascii: ")"):
                items.append(.closeCapture); i += 1
                continue
            case UInt8(ascii: "$") where i + 1 == n:
                items.append(.endAnchor); i += 1
                continue
            case UInt8(ascii: "%"):
                let next = at(i + 1)
                if next == UInt8(ascii: "b") {
                    if i + 2 >= n - 1 {
                        items.append(fail("malformed pattern (missing arguments to '%b')"))
                        return
                    }
                    items.append(.balance(p[i + 2], p[i + 3])); i += 4
                    continue
                }
                if next == UInt8(ascii: "f") {
                    i += 2
                    if at(i) != UInt8(ascii: "[") {
                        items.append(fail("missing '[' after '%f' in pattern"))
                        return
                    }
                    switch LuaPatternItem.classEnd(p, i) {
                    case .failure(let message):
                        items.append(fail(message))
                        return
                    case .success(let end):
                        let start = i
                        items.append(.frontier(set(ByteSet { LuaPatternItem.bracketClassContains(p, start, end - 1, $0) })))
                        i = end
                    }
                    continue
                }
                if next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9") {
                    items.append(.backReference(next)); i += 2
                    continue
                }
            default:
                break
            }
            // A single-byte class, maybe followed by a quantifier.
            switch LuaPatternItem.classEnd(p, i) {
            case .failure(let message):
                items.append(fail(message))
                return
            case .success(let end):
                let byteSet = LuaPatternItem.singleSet(p, i, end)
                var quantifier = LuaQuantifier.one
                switch at(end) {
                case UInt8(ascii: "*"): quantifier = .star
                case UInt8(ascii: "+"): quantifier = .plus
                case UInt8(ascii: "-"): quantifier = .minus
                case UInt8(ascii: "?"): quantifier = .optional
                default: break
                }
                items.append(.single(set(byteSet), quantifier))
                i = quantifier == .one ? end : end + 1
            }
        }
    }
}

extension LuaPatternItem {
    enum ClassEnd { case success(Int), failure(String) }

    /// lstrlib's `classEnd`: where the single-byte class starting at `i` ends.
    static func classEnd(_ p: [UInt8], _ start: Int) -> ClassEnd {
        let n = p.count
        func at(_ i: Int) -> UInt8 { i < n ? p[i] : 0 }
        var i = start
        let c = p[i]
        i += 1
        if c == UInt8(ascii: "%") {
            if i >= n { return .failure("malformed pattern (ends with '%')") }
            return .success(i + 1)
        }
        if c == UInt8(ascii: "[") {
            if at(i) == UInt8(ascii: "^") { i += 1 }
            repeat {
                if i >= n { return .failure("malformed pattern (missing ']')") }
                let d = p[i]
                i += 1
                if d == UInt8(ascii: "%") && i < n { i += 1 }
            } while at(i) != UInt8(ascii: "]")
            return .success(i + 1)
        }
        return .success(i)
    }

    /// The bytes the single class `p[start..<end]` matches.
    static func singleSet(_ p: [UInt8], _ start: Int, _ end: Int) -> ByteSet {
        switch p[start] {
        case UInt8(ascii: "."): return ByteSet { _ in true }
        case UInt8(ascii: "%"): return ByteSet { classContains(p[start + 1], $0) }
        case UInt8(ascii: "["): return ByteSet { bracketClassContains(p, start, end - 1, $0) }
        default:
            var set = ByteSet()
            set.insert(p[start])
            return set
        }
    }

    /// lstrlib's `matchbracketclass`: `p[start]` is `[`, `p[close]` its `]`.
    static func bracketClassContains(_ p: [UInt8], _ start: Int, _ close: Int, _ c: UInt8) -> Bool {
        var matches = true
        var i = start
        if i + 1 < p.count && p[i + 1] == UInt8(ascii: "^") {
            matches = false
            i += 1
        }
        while true {
            i += 1
            if i >= close { break }
            if p[i] == UInt8(ascii: "%") {
                i += 1
                if classContains(p[i], c) { return matches }
            } else if i + 2 < close && p[i + 1] == UInt8(ascii: "-") {
                i += 2
                if p[i - 2] <= c && c <= p[i] { return matches }
            } else if p[i] == c {
                return matches
            }
        }
        return !matches
    }

    /// lstrlib's `match_class` in the C locale: whether class letter `cl` (after `%`) matches `c`.
    static func classContains(_ cl: UInt8, _ c: UInt8) -> Bool {
        let isUpper = { (b: UInt8) in b >= 65 && b <= 90 }
        let isLower = { (b: UInt8) in b >= 97 && b <= 122 }
        let isDigit = { (b: UInt8) in b >= 48 && b <= 57 }
        let isAlpha = { (b: UInt8) in isUpper(b) || isLower(b) }
        let isGraph = { (b: UInt8) in b >= 33 && b <= 126 }
        let result: Bool
        switch cl | 0x20 {
        case UInt8(ascii: "a"): result = isAlpha(c)
        case UInt8(ascii: "c"): result = c < 32 || c == 127
        case UInt8(ascii: "d"): result = isDigit(c)
        case UInt8(ascii: "g"): result = isGraph(c)
        case UInt8(ascii: "l"): result = isLower(c)
        case UInt8(ascii: "p"): result = isGraph(c) && !isAlpha(c) && !isDigit(c)
        case UInt8(ascii: "s"): result = c == 32 || (c >= 9 && c <= 13)
        case UInt8(ascii: "u"): result = isUpper(c)
        case UInt8(ascii: "w"): result = isAlpha(c) || isDigit(c)
        case UInt8(ascii: "x"): result = isDigit(c) || (c | 0x20 >= 97 && c | 0x20 <= 102)
        case UInt8(ascii: "z"): result = c == 0  // deprecated in the manual, still in Lua 5.4
        default: return cl == c
        }
        // `cl | 0x20` also maps some non-letters onto letters; only real letters are classes.
        guard isAlpha(cl) else { return cl == c }
        return isUpper(cl) ? !result : result
    }
}

/// A compiled pattern in memory that never moves: the items, the byte-set table and the error
/// messages, plus what the matcher precomputes once (the first item's set, the single-class fast
/// path). Matching reads it through raw pointers, so a match step neither copies nor retains
/// anything (the profile of `gsub(body, "%S+", "")` showed ≥ 45 % of each match spent on
/// per-match set-up: copying the program's arrays with retain/release and re-initialising the
/// matcher).
///
/// Immutable after `init`; the pointers are owned and freed by the instance, hence
/// `@unchecked Sendable`.
final class LuaPatternProgram: @unchecked Sendable {
    let items: UnsafeMutablePointer<LuaPatternItem>
    let itemCount: Int
    /// 256 flags per set: `table[set << 8 | byte]` says whether the byte is in the set.
    let table: UnsafeMutablePointer<Bool>
    let messages: [String]
    /// When the first item must consume one byte of a set (`.one` or `.plus`), that set: an
    /// unanchored search skips offsets whose byte is not in it. -1 otherwise.
    let firstSet: Int32
    /// When that set is a single byte, that byte (the skip is a `memchr`-like scan). -1 otherwise.
    let firstByte: Int
    /// The single-class repetition this program is, if it is one (the fast path).
    let repetition: LuaSingleRepetition?

    /// Compiles the pattern `p` from byte `start`. `fastPaths: false` keeps every match on the
    /// general machine (the tests compare both).
    init(_ p: [UInt8], from start: Int, fastPaths: Bool = true) {
        let parse = LuaPatternParse(p, from: start)
        itemCount = parse.items.count
        items = .allocate(capacity: max(1, itemCount))
        items.initialize(from: parse.items, count: itemCount)
        table = .allocate(capacity: max(1, parse.table.count))
        table.initialize(from: parse.table, count: parse.table.count)
        messages = parse.messages
        var firstSet: Int32 = -1
        var firstByte = -1
        if let first = parse.items.first, case .single(let set, let q) = first, q == .one || q == .plus {
            firstSet = set
            let members = (0..<256).filter { parse.table[Int(set) << 8 | $0] }
            if members.count == 1 { firstByte = members[0] }
        }
        self.firstSet = firstSet
        self.firstByte = firstByte
        repetition = fastPaths ? LuaSingleRepetition(parse.items) : nil
    }

    deinit {
        items.deinitialize(count: itemCount)
        items.deallocate()
        table.deallocate()
    }

    /// Runs `body` with a matcher over `subject` (set up once for every match `body` asks
    /// for), charging `budget`; the budget is updated whatever the outcome.
    @inline(__always)
    func withMatcher<R, E: Error>(subject: UnsafeBufferPointer<UInt8>, budget: inout MatchBudget,
                                  _ body: (inout LuaPatternMatcher) throws(E) -> R) throws(E) -> R {
        try withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * LuaPattern.maxCaptures) { (storage) throws(E) -> R in
            // A non-empty temporary allocation always has a base address.
            let base = storage.baseAddress.unsafelyUnwrapped
            var matcher = LuaPatternMatcher(program: self, subject: subject, captures: base,
                                            remaining: budget.remaining)
            defer { budget.remaining = max(0, matcher.remaining) }
            return try body(&matcher)
        }
    }
}

/// A pattern that is one single-byte class with `*`, `+`, `?` or no quantifier (`%S+`, `%d+`,
/// `[%w_]+`, `.`), possibly inside one capture and between position captures (`(%a+)`,
/// `()%d+()`): each match is one tight loop over the subject instead of the general machine.
/// Results, and the steps charged to the budget, are exactly those of the general machine.
struct LuaSingleRepetition: Sendable {
    let set: Int32
    let quantifier: LuaQuantifier
    /// `()` before the class.
    let positionBefore: Bool
    /// `(` … `)` around the class.
    let substring: Bool
    /// `()` after the class.
    let positionAfter: Bool
    /// Steps the general machine charges for the items before the class (one each).
    let prefixSteps: Int
    /// Steps it charges for the items after the class (one each).
    let suffixSteps: Int

    /// The fast path for `items`, or nil when they are not of that shape.
    init?(_ items: [LuaPatternItem]) {
        var i = 0
        let positionBefore = i < items.count && { if case .positionCapture = items[i] { return true }; return false }()
        if positionBefore { i += 1 }
        let substring = i < items.count && { if case .openCapture = items[i] { return true }; return false }()
        if substring { i += 1 }
        guard i < items.count, case .single(let set, let quantifier) = items[i], quantifier != .minus else { return nil }
        i += 1
        if substring {
            guard i < items.count, case .closeCapture = items[i] else { return nil }
            i += 1
        }
        let positionAfter = i < items.count && { if case .positionCapture = items[i] { return true }; return false }()
        if positionAfter { i += 1 }
        guard i == items.count else { return nil }
        self.set = set
        self.quantifier = quantifier
        self.positionBefore = positionBefore
        self.substring = substring
        self.positionAfter = positionAfter
        prefixSteps = (positionBefore ? 1 : 0) + (substring ? 1 : 0)
        suffixSteps = (positionAfter ? 1 : 0) + (substring ? 1 : 0)
    }
}

/// The matching machine: lstrlib's `match` over compiled items, charging the budget. One
/// matcher serves every match of a find, gmatch step or gsub call; the last match's bounds and
/// captures stay in it until the next `find`.
struct LuaPatternMatcher {
    let items: UnsafeMutablePointer<LuaPatternItem>
    let itemCount: Int
    let table: UnsafeMutablePointer<Bool>
    /// Kept alive by the caller of `withMatcher` for the matcher's whole life.
    unowned(unsafe) let program: LuaPatternProgram
    let subject: UnsafeBufferPointer<UInt8>
    var level = 0
    /// Start offsets of the captures (`maxCaptures` entries).
    let captureStart: UnsafeMutablePointer<Int>
    /// Lengths of the captures, or `unfinished` / `position`.
    let captureLength: UnsafeMutablePointer<Int>
    var depth = LuaPattern.maxDepth
    /// Steps left; below zero only while a `budgetExceeded` is being thrown.
    var remaining: Int
    /// The bounds of the last match `find` returned.
    var matchStart = 0
    var matchEnd = 0
    /// The program's fast path and first-item facts, copied once per call out of the program.
    let repetition: LuaSingleRepetition?
    let firstSet: Int32
    let firstByte: Int

    static let unfinished = -1
    static let position = -2

    init(program: LuaPatternProgram, subject: UnsafeBufferPointer<UInt8>, captures: UnsafeMutablePointer<Int>,
         remaining: Int) {
        items = program.items
        itemCount = program.itemCount
        table = program.table
        self.program = program
        repetition = program.repetition
        firstSet = program.firstSet
        firstByte = program.firstByte
        self.subject = subject
        captureStart = captures
        captureLength = captures + LuaPattern.maxCaptures
        self.remaining = remaining
    }

    /// The first match at offsets from `start` (only `start` when anchored), skipping matches
    /// that end at `skipEnd` (gmatch/gsub's `lastmatch` rule; -1 for none). On success the match
    /// is in `matchStart`, `matchEnd` and the captures.
    @inline(__always)
    mutating func find(from start: Int, anchored: Bool, skipEnd: Int) throws(MatchError) -> Bool {
        var from = start
        while true {
            guard try scan(from: from, anchored: anchored) else { return false }
            if matchEnd != skipEnd { return true }
            if anchored || matchStart >= subject.count { return false }
            from = matchStart + 1
        }
    }

    /// Tries the items at each offset from `start` (only `start` when anchored), like
    /// lstrlib's `str_find_aux` loop.
    mutating func scan(from start: Int, anchored: Bool) throws(MatchError) -> Bool {
        let n = subject.count
        // When the first item must consume a byte, offsets where that byte is not in its set
        // cannot match and are skipped without entering the machine (same result as Lua).
        let firstSet = anchored ? -1 : self.firstSet
        var s1 = start
        while true {
            if firstSet >= 0 {
                let from = s1
                if firstByte >= 0 {
                    // One literal byte (`%$`, `<`): memchr's vector loop instead of a table
                    // lookup per byte.
                    if s1 < n, let base = subject.baseAddress {
                        if let hit = memchr(base + s1, Int32(firstByte), n - s1) {
                            s1 = UnsafeRawPointer(hit) - UnsafeRawPointer(base)
                        } else {
                            s1 = n
                        }
                    }
                } else {
                    let row = table + Int(firstSet) << 8
                    while s1 < n && !row[Int(subject[s1])] { s1 += 1 }
                }
                try charge(s1 - from)
                if s1 >= n { return false }
            }
            let e = try matchAt(s1)
            if e >= 0 {
                matchStart = s1
                matchEnd = e
                return true
            }
            if anchored || s1 >= n { return false }
            s1 += 1
        }
    }

    /// The end of a match of the whole pattern at `s`, or -1 (captures set on success).
    @inline(__always)
    mutating func matchAt(_ s: Int) throws(MatchError) -> Int {
        if let repetition { return try matchRepetition(repetition, at: s) }
        level = 0
        depth = LuaPattern.maxDepth
        return try doMatch(s, 0)
    }

    /// The fast path: a single class with its quantifier, in a loop. Charges what `doMatch`
    /// would: one step per item reached, plus the bytes `maxExpand` looks at.
    @inline(__always)
    mutating func matchRepetition(_ r: LuaSingleRepetition, at s: Int) throws(MatchError) -> Int {
        let n = subject.count
        let length: Int
        switch r.quantifier {
        case .plus, .star:
            var e = s
            let row = table + Int(r.set) << 8
            while e < n && row[Int(subject[e])] { e += 1 }
            length = e - s
            if length == 0 && r.quantifier == .plus {
                try charge(r.prefixSteps + 1)
                return -1
            }
            // `+`: the item, then `maxExpand` from the second byte; `*`: the item, then all.
            try charge(r.prefixSteps + 1 + r.suffixSteps + (r.quantifier == .plus ? length - 1 : length))
        case .one, .optional:
            length = s < n && contains(r.set, subject[s]) ? 1 : 0
            if length == 0 && r.quantifier == .one {
                try charge(r.prefixSteps + 1)
                return -1
            }
            try charge(r.prefixSteps + 1 + r.suffixSteps)
        case .minus:
            // Never chosen for the fast path (see `LuaSingleRepetition.init`).
            level = 0
            depth = LuaPattern.maxDepth
            return try doMatch(s, 0)
        }
        let e = s + length
        level = 0
        if r.positionBefore {
            captureStart[level] = s
            captureLength[level] = LuaPatternMatcher.position
            level += 1
        }
        if r.substring {
            captureStart[level] = s
            captureLength[level] = length
            level += 1
        }
        if r.positionAfter {
            captureStart[level] = e
            captureLength[level] = LuaPatternMatcher.position
            level += 1
        }
        return e
    }

    // MARK: - Reading the last match

    /// How many captures the last match has.
    var captureCount: Int { level }

    /// Capture `k` of the last match as recorded (may be `.unfinished`).
    @inline(__always)
    func rawCapture(_ k: Int) -> LuaPatternCapture {
        switch captureLength[k] {
        case LuaPatternMatcher.position: return .position(captureStart[k] + 1)
        case LuaPatternMatcher.unfinished: return .unfinished(start: captureStart[k])
        default: return .substring(captureStart[k]..<(captureStart[k] + captureLength[k]))
        }
    }

    /// Lua's `get_onecapture` on the last match: capture `index` (0-based), where index 0 of a
    /// pattern without captures is the whole match. Throws as `LuaPatternMatch.capture(at:)`.
    @inline(__always)
    func capture(at index: Int) throws(MatchError) -> LuaPatternCapture {
        if index >= level {
            if index != 0 { throw .malformed("invalid capture index %\(index + 1)") }
            return .substring(matchStart..<matchEnd)
        }
        let c = rawCapture(index)
        if case .unfinished = c { throw .malformed("unfinished capture") }
        return c
    }

    /// The last match as a value (allocates only when it has captures).
    func makeMatch() -> LuaPatternMatch {
        var captures: [LuaPatternCapture] = []
        if level > 0 {
            captures.reserveCapacity(level)
            for k in 0..<level { captures.append(rawCapture(k)) }
        }
        return LuaPatternMatch(range: matchStart..<matchEnd, captures: captures)
    }

    // MARK: - The general machine

    /// Whether `byte` is in set number `set`.
    @inline(__always)
    func contains(_ set: Int32, _ byte: UInt8) -> Bool {
        table[Int(set) << 8 | Int(byte)]
    }

    @inline(__always)
    mutating func charge(_ steps: Int) throws(MatchError) {
        remaining -= steps
        if remaining < 0 { throw .budgetExceeded }
    }

    /// lstrlib's `match`: the end of a match of items `i...` at subject offset `s`, or -1.
    mutating func doMatch(_ s0: Int, _ i0: Int) throws(MatchError) -> Int {
        if depth == 0 { throw .malformed("pattern too complex") }
        depth -= 1
        defer { depth += 1 }
        let n = subject.count
        var s = s0
        var i = i0
        while true {
            if i == itemCount { return s }
            try charge(1)
            switch items[i] {
            case .positionCapture:
                return try startCapture(s, i + 1, LuaPatternMatcher.position)
            case .openCapture:
                return try startCapture(s, i + 1, LuaPatternMatcher.unfinished)
            case .closeCapture:
                return try endCapture(s, i + 1)
            case .endAnchor:
                return s == n ? s : -1
            case .balance(let open, let close):
                guard s < n, subject[s] == open else { return -1 }
                var depthCount = 1
                var k = s + 1
                var found = -1
                while k < n {
                    let c = subject[k]
                    if c == close {
                        depthCount -= 1
                        if depthCount == 0 { found = k + 1; break }
                    } else if c == open {
                        depthCount += 1
                    }
                    k += 1
                }
                try charge((k - s) / 8)
                if found < 0 { return -1 }
                s = found
                i += 1
            case .frontier(let index):
                let previous: UInt8 = s == 0 ? 0 : subject[s - 1]
                let current: UInt8 = s < n ? subject[s] : 0
                guard !contains(index, previous) && contains(index, current) else { return -1 }
                i += 1
            case .backReference(let digit):
                let l = Int(digit) - Int(UInt8(ascii: "1"))
                if l < 0 || l >= level || captureLength[l] == LuaPatternMatcher.unfinished {
                    throw .malformed("invalid capture index %\(l + 1)")
                }
                let len = captureLength[l]
                guard len >= 0, n - s >= len else { return -1 }
                try charge(len / 8)
                let from = captureStart[l]
                var k = 0
                while k < len && subject[from + k] == subject[s + k] { k += 1 }
                if k < len { return -1 }
                s += len
                i += 1
            case .single(let set, let quantifier):
                let matched = s < n && contains(set, subject[s])
                if !matched {
                    switch quantifier {
                    case .star, .optional, .minus: i += 1; continue
                    case .one, .plus: return -1
                    }
                }
                switch quantifier {
                case .one:
                    s += 1
                    i += 1
                case .optional:
                    let r = try doMatch(s + 1, i + 1)
                    if r >= 0 { return r }
                    i += 1
                case .plus:
                    return try maxExpand(s + 1, set, i)
                case .star:
                    return try maxExpand(s, set, i)
                case .minus:
                    return try minExpand(s, set, i)
                }
            case .fail(let index):
                throw .malformed(program.messages[Int(index)])
            }
        }
    }

    mutating func maxExpand(_ s: Int, _ set: Int32, _ i: Int) throws(MatchError) -> Int {
        let n = subject.count
        var k = 0
        while s + k < n && contains(set, subject[s + k]) { k += 1 }
        try charge(k)
        while k >= 0 {
            let r = try doMatch(s + k, i + 1)
            if r >= 0 { return r }
            k -= 1
        }
        return -1
    }

    mutating func minExpand(_ s0: Int, _ set: Int32, _ i: Int) throws(MatchError) -> Int {
        let n = subject.count
        var s = s0
        while true {
            let r = try doMatch(s, i + 1)
            if r >= 0 { return r }
            try charge(1)
            if s < n && contains(set, subject[s]) {
                s += 1
            } else {
                return -1
            }
        }
    }

    mutating func startCapture(_ s: Int, _ i: Int, _ what: Int) throws(MatchError) -> Int {
        if level >= LuaPattern.maxCaptures { throw .malformed("too many captures") }
        captureStart[level] = s
        captureLength[level] = what
        level += 1
        let r = try doMatch(s, i)
        if r < 0 { level -= 1 }
        return r
    }

    mutating func endCapture(_ s: Int, _ i: Int) throws(MatchError) -> Int {
        var l = level - 1
        while l >= 0 && captureLength[l] != LuaPatternMatcher.unfinished { l -= 1 }
        if l < 0 { throw .malformed("invalid pattern capture") }
        captureLength[l] = s - captureStart[l]
        let r = try doMatch(s, i)
        if r < 0 { captureLength[l] = LuaPatternMatcher.unfinished }
        return r
    }
}
