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
    private let program: LuaPatternProgram
    private let anchored: Bool
    private let limit: Int
    private var source: Int
    private var lastMatch: Int = -1
    private var count = 0
    private var done = false

    private init(pattern: LuaPattern, anchored: Bool, limit: Int, gmatchMode: Bool, source: Int) {
        program = gmatchMode ? pattern.gmatchItems : pattern.items
        self.anchored = anchored
        self.limit = limit
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
        // Lua tries each offset in turn and skips a match that ends where the previous one
        // ended; scanning from `source` visits the offsets in the same order.
        let (from, anchored, skipEnd) = (source, self.anchored, lastMatch)
        let found = try program.withMatcher(subject: subject, budget: &budget) { (m) throws(MatchError) -> LuaPatternMatch? in
            try m.find(from: from, anchored: anchored, skipEnd: skipEnd) ? m.makeMatch() : nil
        }
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
    /// One piece of the replacement. Plain values (literals point into `text`), so expanding a
    /// match retains nothing.
    enum Part: Sendable {
        case literal(offset: Int, count: Int)
        case wholeMatch
        case capture(Int)
        case invalid
    }

    /// Every literal byte of the replacement, in order.
    let text: [UInt8]
    let parts: [Part]

    /// Parses `replacement` (its bytes).
    public init<C: Collection>(_ replacement: C) where C.Element == UInt8 {
        let bytes = Array(replacement)
        var parts: [Part] = []
        var text: [UInt8] = []
        var literalStart = 0
        func closeLiteral() {
            if text.count > literalStart { parts.append(.literal(offset: literalStart, count: text.count - literalStart)) }
            literalStart = text.count
        }
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c != UInt8(ascii: "%") {
                text.append(c)
                i += 1
                continue
            }
            let next: UInt8 = i + 1 < bytes.count ? bytes[i + 1] : 0
            i += 2
            if next == UInt8(ascii: "%") {
                text.append(next)
                continue
            }
            closeLiteral()
            if next == UInt8(ascii: "0") {
                parts.append(.wholeMatch)
            } else if next >= UInt8(ascii: "1") && next <= UInt8(ascii: "9") {
                parts.append(.capture(Int(next - UInt8(ascii: "1"))))
            } else {
                parts.append(.invalid)
                break
            }
        }
        closeLiteral()
        self.text = text
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
            case .literal(let offset, let count):
                out.append(contentsOf: text[offset..<(offset + count)])
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

    /// Appends the replacement for the matcher's last match (Lua's `add_s`); `text` and `parts`
    /// are this replacement's, already unwrapped by the caller once per gsub.
    @inline(__always)
    static func expand(_ parts: UnsafeBufferPointer<Part>, text: UnsafeBufferPointer<UInt8>,
                       _ m: inout LuaPatternMatcher, into out: inout LuaByteBuffer) throws(MatchError) {
        for part in parts {
            switch part {
            case .literal(let offset, let count):
                out.append(text, offset, offset + count)
            case .wholeMatch:
                out.append(m.subject, m.matchStart, m.matchEnd)
            case .capture(let index):
                switch try m.capture(at: index) {
                case .substring(let r): out.append(m.subject, r.lowerBound, r.upperBound)
                case .position(let p): out.append(decimal: p)
                case .unfinished: throw .malformed("unfinished capture")
                }
            case .invalid:
                throw .malformed("invalid use of '%' in replacement string")
            }
        }
    }
}

extension LuaPattern {
    /// Lua's `str_gsub` loop over one matcher: copies the subject between matches into `out`,
    /// appends each match's replacement, then the rest after the last match. With a
    /// `replacement` string the loop expands it; without one it calls `replace` with the matcher
    /// (its last match) and `out` (a table or function replacement, done by the caller).
    /// `failure` turns a matcher error into the caller's error type. Returns the number of
    /// substitutions; at most `maxReplacements` (zero or less: none).
    @inline(__always)
    func substitute<E: Error>(in subject: UnsafeBufferPointer<UInt8>, replacement: LuaReplacement?,
                              maxReplacements: Int, budget: inout MatchBudget,
                              into out: inout LuaByteBuffer,
                              failure: (MatchError) -> E,
                              replace: (inout LuaPatternMatcher, inout LuaByteBuffer) throws(E) -> Void) throws(E) -> Int {
        let anchored = isAnchored
        let text = replacement?.text ?? []
        let parts = replacement?.parts ?? []
        let literal = replacement?.isLiteral ?? false
        return try text.withUnsafeBufferPointer { (text) throws(E) -> Int in
            try parts.withUnsafeBufferPointer { (parts) throws(E) -> Int in
                try items.withMatcher(subject: subject, budget: &budget) { (m) throws(E) -> Int in
                    var source = 0
                    var last = -1
                    var copied = 0
                    var count = 0
                    while count < maxReplacements {
                        let found: Bool
                        do throws(MatchError) {
                            found = try m.find(from: source, anchored: anchored, skipEnd: last)
                        } catch {
                            throw failure(error)
                        }
                        guard found else { break }
                        out.append(subject, copied, m.matchStart)
                        if replacement == nil {
                            try replace(&m, &out)
                        } else if literal {
                            out.append(text, 0, text.count)
                        } else {
                            do throws(MatchError) {
                                try LuaReplacement.expand(parts, text: text, &m, into: &out)
                            } catch {
                                throw failure(error)
                            }
                        }
                        count += 1
                        source = m.matchEnd
                        last = source
                        copied = source
                        if anchored { break }
                    }
                    out.append(subject, copied, subject.count)
                    return count
                }
            }
        }
    }
}

/// A growable byte buffer that appends by `memcpy` (through `initialize(from:count:)`), for gsub's
/// output: one allocation per call in the common case (the subject's size), no per-append
/// uniqueness or capacity bookkeeping of a generic collection.
struct LuaByteBuffer: ~Copyable {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    /// An empty buffer with room for `capacity` bytes.
    init(capacity: Int) {
        self.capacity = max(16, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// The bytes appended so far (valid until the next append).
    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    /// A copy of the bytes as an array.
    func array() -> [UInt8] { Array(bytes) }

    /// Appends `source[from..<to]` (nothing when the range is empty).
    @inline(__always)
    mutating func append(_ source: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) {
        let n = to - from
        guard n > 0, let start = source.baseAddress else { return }
        if count + n > capacity { grow(count + n) }
        if n <= 8 {
            // Most gaps between words are a byte or two: a loop beats a call to memmove.
            for k in 0..<n { base[count + k] = start[from + k] }
        } else {
            (base + count).initialize(from: start + from, count: n)
        }
        count += n
    }

    /// Appends the decimal digits of `value` (a `()` capture in a replacement).
    mutating func append(decimal value: Int) {
        let digits = Array(String(value).utf8)
        digits.withUnsafeBufferPointer { append($0, 0, $0.count) }
    }

    @inline(never)
    private mutating func grow(_ needed: Int) {
        let newCapacity = max(needed, capacity * 2)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.initialize(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }
}
