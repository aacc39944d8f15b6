import CPCRE2

/// A compiled PCRE2 regular expression over UTF-8 bytes, for `sluice.re`: a thin binding of
/// the system's libpcre2-8, bounded by a `MatchBudget` like the Lua pattern matcher.
///
/// Compiled with `PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF` (so `\w`, `\d`, `\b`, `\s`
/// and POSIX classes follow Unicode properties, `.` consumes one character, and bytes that are
/// not valid UTF-8 are never matched but do not stop the search), `PCRE2_DOLLAR_ENDONLY` (`$`
/// is the very end, not before a final newline: that is `\Z`) and `PCRE2_NEVER_BACKSLASH_C`.
/// The syntax is PCRE2's (Perl's): <https://www.pcre.org/current/doc/html/pcre2pattern.html>.
/// Positions are byte offsets; a search that finds an empty match goes on one character later.
///
/// Not `Sendable`: it owns the match data PCRE2 writes results into. A Lua state caches its own
/// patterns (`PatternCache`), so each is used by one thread; results are copied out at once,
/// so a nested call with the same pattern (from a `gsub` replacement function) is safe.
public final class PCRE2Pattern {
    /// The pattern as given (for messages).
    public let pattern: String
    /// The number of capture groups (named ones included).
    public let captureCount: Int
    /// Capture group numbers (1-based) by name.
    public let captureNames: [String: Int]
    /// Whether the pattern was JIT-compiled (false where the library or system refuses JIT).
    public let isJIT: Bool

    private let code: OpaquePointer
    private let matchData: OpaquePointer

    /// Compiles `pattern` with `flags` (any of `i` caseless, `m` multiline, `s` dot-all, `x`
    /// extended). A bad pattern throws `.malformed` with PCRE2's message and the byte offset
    /// where it stopped (`missing closing parenthesis at offset 3`).
    /// `jit: false` keeps to PCRE2's interpreter (for measuring what JIT brings).
    public convenience init(_ pattern: String, flags: String = "", jit: Bool = true) throws(MatchError) {
        try self.init(bytes: Array(pattern.utf8), flags: Array(flags.utf8), jit: jit)
    }

    /// Compiles a pattern given as bytes (a Lua string may hold any bytes).
    public init<P: Collection, F: Collection>(bytes: P, flags: F, jit: Bool = true) throws(MatchError)
    where P.Element == UInt8, F.Element == UInt8 {
        var options = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C
        for c in flags {
            switch c {
            case UInt8(ascii: "i"): options |= PCRE2_CASELESS
            case UInt8(ascii: "m"): options |= PCRE2_MULTILINE
            case UInt8(ascii: "s"): options |= PCRE2_DOTALL
            case UInt8(ascii: "x"): options |= PCRE2_EXTENDED
            default:
                let name = String(decoding: [c], as: UTF8.self)
                throw .malformed("unknown regex flag '\(name)' (flags are i, m, s, x)")
            }
        }
        let patternBytes = Array(bytes)
        var errorCode: Int32 = 0
        var errorOffset = 0
        let compiled = patternBytes.withUnsafeBufferPointer { p -> OpaquePointer? in
            var empty: UInt8 = 0
            return withUnsafePointer(to: &empty) { emptyPointer in
                pcre2_compile_8(p.baseAddress ?? emptyPointer, p.count, options, &errorCode, &errorOffset, nil)
            }
        }
        guard let compiled else {
            throw .malformed("\(PCRE2Pattern.message(for: errorCode)) at offset \(errorOffset)")
        }
        guard let data = pcre2_match_data_create_from_pattern_8(compiled, nil) else {
            pcre2_code_free_8(compiled)
            throw .malformed("out of memory compiling the regex")
        }
        code = compiled
        matchData = data
        pattern = String(decoding: patternBytes, as: UTF8.self)
        // Measured with `sluice-bench matching` (release, all matches in a 1.5 KB article
        // body): JIT took 1/4 to 1/40 of the interpreter's time (money regex 1 µs vs 27–39 µs,
        // `\w+` 60–84 µs vs 0.85–1.3 ms); compiling with JIT costs 35–115 µs, once per
        // pattern and state thanks to the per-state cache.
        isJIT = jit && pcre2_jit_compile_8(compiled, PCRE2_JIT_COMPLETE) == 0
        var count: UInt32 = 0
        _ = pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_CAPTURECOUNT), &count)
        captureCount = Int(count)
        captureNames = PCRE2Pattern.names(compiled)
    }

    deinit {
        pcre2_match_data_free_8(matchData)
        pcre2_code_free_8(code)
    }

    /// PCRE2's text for an error code.
    static func message(for code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = buffer.withUnsafeMutableBufferPointer { pcre2_get_error_message_8(code, $0.baseAddress, $0.count) }
        guard length > 0 else { return "PCRE2 error \(code)" }
        return String(decoding: buffer[..<Int(length)], as: UTF8.self)
    }

    /// The name table: each entry is a big-endian group number and the name, NUL-terminated.
    private static func names(_ code: OpaquePointer) -> [String: Int] {
        var count: UInt32 = 0
        var entrySize: UInt32 = 0
        var table: UnsafePointer<UInt8>?
        _ = pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMECOUNT), &count)
        guard count > 0 else { return [:] }
        _ = pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMEENTRYSIZE), &entrySize)
        _ = pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMETABLE), &table)
        guard let table else { return [:] }
        var names: [String: Int] = [:]
        for k in 0..<Int(count) {
            let entry = table + k * Int(entrySize)
            let number = Int(entry[0]) << 8 | Int(entry[1])
            var end = 2
            while end < Int(entrySize), entry[end] != 0 { end += 1 }
            let name = String(decoding: UnsafeBufferPointer(start: entry + 2, count: end - 2), as: UTF8.self)
            if names[name] == nil { names[name] = number }
        }
        return names
    }

    /// The leftmost match starting at or after byte offset `from`, or nil. Charges the bytes
    /// it scanned to `budget`; a search that needs more backtracking than the budget allows
    /// throws `.budgetExceeded` and leaves the budget at zero (see `PCRE2Limits`).
    public func firstMatch(in subject: UnsafeBufferPointer<UInt8>, from: Int = 0, budget: inout MatchBudget,
                           workspace: PCRE2Workspace) throws(MatchError) -> PCRE2Match? {
        let start = max(0, from)
        guard start <= subject.count else { return nil }
        guard budget.remaining > 0 else { throw .budgetExceeded }
        workspace.setLimits(remaining: budget.remaining, jit: isJIT)
        var empty: UInt8 = 0
        // `pcre2_jit_match` skips `pcre2_match`'s argument checks (the offset is checked above;
        // MATCH_INVALID_UTF needs no UTF check): measured 12–24 µs instead of 25–31 µs for the
        // 244 `\w+` matches of a 1.5 KB text, one call each.
        let rc = withUnsafePointer(to: &empty) { emptyPointer in
            isJIT
                ? pcre2_jit_match_8(code, subject.baseAddress ?? emptyPointer, subject.count, start, 0, matchData, workspace.context)
                : pcre2_match_8(code, subject.baseAddress ?? emptyPointer, subject.count, start, 0, matchData, workspace.context)
        }
        if rc == PCRE2_ERROR_NOMATCH {
            charge(subject.count - start, &budget)
            return nil
        }
        guard rc > 0 else {
            switch rc {
            case PCRE2_ERROR_MATCHLIMIT, PCRE2_ERROR_DEPTHLIMIT, PCRE2_ERROR_HEAPLIMIT, PCRE2_ERROR_JIT_STACKLIMIT,
                 PCRE2_ERROR_NOMEMORY:
                budget.remaining = 0
                throw .budgetExceeded
            default:
                throw .malformed(PCRE2Pattern.message(for: rc))
            }
        }
        guard let ovector = pcre2_get_ovector_pointer_8(matchData) else { throw .malformed("PCRE2 returned no match data") }
        let unset = sluice_pcre2_unset()
        let end = ovector[1]
        // `\K` can set the start after the end; the match is then empty at the end.
        let range = min(ovector[0], end)..<end
        var captures: [Range<Int>?] = []
        if captureCount > 0 {
            captures.reserveCapacity(captureCount)
            for n in 1...captureCount {
                let a = ovector[2 * n], b = ovector[2 * n + 1]
                captures.append(n >= Int(rc) || a == unset || b == unset ? nil : min(a, b)..<b)
            }
        }
        charge(end - start, &budget)
        return PCRE2Match(range: range, captures: captures)
    }

    /// One step per byte scanned, and one for the call.
    @inline(__always)
    private func charge(_ bytes: Int, _ budget: inout MatchBudget) {
        budget.remaining = max(0, budget.remaining - max(0, bytes) - 1)
    }

    /// Every non-overlapping match, left to right. After an empty match the next search starts
    /// one character later (as JavaScript's `matchAll` and Python's `finditer`).
    public func allMatches(in subject: UnsafeBufferPointer<UInt8>, budget: inout MatchBudget,
                           workspace: PCRE2Workspace, limit: Int = Int.max) throws(MatchError) -> [PCRE2Match] {
        var result: [PCRE2Match] = []
        var iterator = PCRE2MatchIterator(self, workspace: workspace)
        while result.count < limit, let m = try iterator.next(in: subject, budget: &budget) { result.append(m) }
        return result
    }

    /// `subject` with every match (at most `limit`) replaced by `replacement`, and the number
    /// of replacements.
    public func replacing(in subject: UnsafeBufferPointer<UInt8>, with replacement: PCRE2Replacement,
                          limit: Int = Int.max, budget: inout MatchBudget,
                          workspace: PCRE2Workspace) throws(MatchError) -> (bytes: [UInt8], count: Int) {
        var out: [UInt8] = []
        out.reserveCapacity(subject.count)
        var copied = 0
        var count = 0
        var iterator = PCRE2MatchIterator(self, workspace: workspace)
        while count < limit, let m = try iterator.next(in: subject, budget: &budget) {
            out.append(contentsOf: subject[copied..<m.range.lowerBound])
            replacement.expand(m, subject: subject, into: &out)
            copied = m.range.upperBound
            count += 1
        }
        out.append(contentsOf: subject[copied..<subject.count])
        return (out, count)
    }

    /// Where the search after match `m` starts: its end, or one character further after an
    /// empty match; nil when the subject is used up.
    static func nextSearchStart(after m: PCRE2Match, in subject: UnsafeBufferPointer<UInt8>) -> Int? {
        guard m.range.isEmpty else { return m.range.upperBound }
        if m.range.upperBound >= subject.count { return nil }
        return m.range.upperBound + utf8Length(subject, at: m.range.upperBound)
    }

    /// The length of the UTF-8 character at `i`: 1 for a byte that does not start a valid one.
    static func utf8Length(_ s: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
        let lead = s[i]
        let length: Int
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return 1
        }
        guard i + length <= s.count else { return 1 }
        for k in 1..<length where s[i + k] & 0xC0 != 0x80 { return 1 }
        return length
    }
}

/// How a `MatchBudget` becomes PCRE2's limits. PCRE2 cannot report how much work a match did,
/// so a call is charged the bytes it scanned, and the budget left bounds the backtracking:
///
/// - `pcre2_set_match_limit` and `pcre2_set_depth_limit`: the remaining steps divided by
///   `jitDivisor` (JIT) or `interpreterDivisor`. Measured with `(a+)+$` on 40 `a`s and a `b`
///   and the default 50,000,000-step budget (`sluice-bench matching`, release, on the 2-core
///   build machine): stopped after 57 ms with JIT (about 9 ns per unit of the limit), 33 ms in
///   the interpreter (about 40 ns per unit; 240 ns under heavy load, hence its larger divisor).
///   PCRE2 counts the limit afresh at each start position of an unanchored search, and stops
///   at the first position over it, so a runaway pattern stops at once. Not bounded: a pattern
///   that spends just under the limit at each of very many positions, or scans far inside one
///   item at each (`(?:(?=(a+))a)*b` on 5,000 `a`s and `!b`: tens of seconds), since PCRE2
///   counts neither.
/// - JIT ignores the depth and heap limits: its backtracking lives on a JIT stack of at most
///   `jitStackBytes` (a match that needs more fails as over budget).
/// - The interpreter keeps backtracking frames on the heap: `pcre2_set_heap_limit` caps them at
///   `heapKiB`.
public enum PCRE2Limits {
    /// Budget steps per unit of PCRE2's match limit with JIT.
    public static let jitDivisor = 8
    /// Budget steps per unit of PCRE2's match limit in the interpreter.
    public static let interpreterDivisor = 64
    /// The JIT stack's maximum size: 64 MiB (as the old engine's backtracking cap).
    public static let jitStackBytes = 64 << 20
    /// The interpreter's backtracking heap cap, in KiB: 64 MiB.
    public static let heapKiB: UInt32 = 64 << 10

    /// PCRE2's match limit for `remaining` budget steps.
    static func matchLimit(remaining: Int, jit: Bool) -> UInt32 {
        let units = remaining / (jit ? jitDivisor : interpreterDivisor)
        return UInt32(clamping: max(1, units))
    }
}

/// The per-thread part of matching: PCRE2's match context (the limits of the current call) and
/// the JIT stack. One per Lua state; never used by two threads at once.
public final class PCRE2Workspace {
    let context: OpaquePointer
    private let jitStack: OpaquePointer?
    private var lastLimit: UInt32 = 0

    /// Creates the match context and a JIT stack of up to `PCRE2Limits.jitStackBytes`
    /// (reserved address space; pages are used as the stack grows).
    public init() {
        guard let context = pcre2_match_context_create_8(nil) else {
            fatalError("PCRE2: out of memory creating a match context")
        }
        self.context = context
        jitStack = pcre2_jit_stack_create_8(32 << 10, PCRE2Limits.jitStackBytes, nil)
        if let jitStack {
            pcre2_jit_stack_assign_8(context, nil, UnsafeMutableRawPointer(jitStack))
        }
        _ = pcre2_set_heap_limit_8(context, PCRE2Limits.heapKiB)
    }

    deinit {
        if let jitStack { pcre2_jit_stack_free_8(jitStack) }
        pcre2_match_context_free_8(context)
    }

    /// Sets the match and depth limits for `remaining` budget steps.
    @inline(__always)
    func setLimits(remaining: Int, jit: Bool) {
        let limit = PCRE2Limits.matchLimit(remaining: remaining, jit: jit)
        guard limit != lastLimit else { return }
        lastLimit = limit
        _ = pcre2_set_match_limit_8(context, limit)
        _ = pcre2_set_depth_limit_8(context, limit)
    }
}

/// One regex match: byte offsets into the subject.
public struct PCRE2Match: Sendable, Hashable {
    /// The whole match.
    public var range: Range<Int>
    /// Groups 1…`captureCount` in order (index 0 is group 1); nil for a group that did not
    /// take part in the match.
    public var captures: [Range<Int>?]

    /// Creates a match.
    public init(range: Range<Int>, captures: [Range<Int>?]) {
        self.range = range
        self.captures = captures
    }

    /// Group `n` (0 is the whole match), nil if it did not take part or does not exist.
    public func group(_ n: Int) -> Range<Int>? {
        if n == 0 { return range }
        guard n >= 1 && n <= captures.count else { return nil }
        return captures[n - 1]
    }
}

/// Pulls successive non-overlapping matches one at a time; pass the same subject bytes to every
/// `next` call.
public struct PCRE2MatchIterator {
    private let pattern: PCRE2Pattern
    private let workspace: PCRE2Workspace
    private var position = 0
    private var done = false

    /// Starts at byte offset `from`.
    public init(_ pattern: PCRE2Pattern, workspace: PCRE2Workspace, from: Int = 0) {
        self.pattern = pattern
        self.workspace = workspace
        position = from
    }

    /// The next match, or nil.
    public mutating func next(in subject: UnsafeBufferPointer<UInt8>,
                              budget: inout MatchBudget) throws(MatchError) -> PCRE2Match? {
        guard !done, position <= subject.count else { return nil }
        guard let m = try pattern.firstMatch(in: subject, from: position, budget: &budget, workspace: workspace) else {
            done = true
            return nil
        }
        if let next = PCRE2Pattern.nextSearchStart(after: m, in: subject) {
            position = next
        } else {
            done = true
        }
        return m
    }
}

/// A parsed replacement template for regex substitution: `$0` or `$&` (whole match),
/// `$1`…`$99`, `${name}` or `${12}`, and `$$` for a dollar sign. A group that did not take part
/// expands to nothing.
public struct PCRE2Replacement: Sendable {
    enum Part: Sendable {
        case literal([UInt8])
        case group(Int)
    }

    let parts: [Part]

    /// Parses `template` against `pattern`'s groups; an unknown group or a stray `$` is an
    /// error naming its offset in the template.
    public init(_ template: String, for pattern: PCRE2Pattern) throws(MatchError) {
        let t = Array(template.utf8)
        var parts: [Part] = []
        var literal: [UInt8] = []
        var i = 0
        func error(_ what: String, _ offset: Int) -> MatchError {
            .malformed("\(what) at offset \(offset) of the replacement")
        }
        while i < t.count {
            let c = t[i]
            guard c == UInt8(ascii: "$") else {
                literal.append(c)
                i += 1
                continue
            }
            let start = i
            i += 1
            guard i < t.count else { throw error("'$' at the end (write '$$' for a dollar sign)", start) }
            let d = t[i]
            var group: Int
            if d == UInt8(ascii: "$") {
                literal.append(d)
                i += 1
                continue
            } else if d == UInt8(ascii: "&") {
                group = 0
                i += 1
            } else if d >= UInt8(ascii: "0") && d <= UInt8(ascii: "9") {
                group = Int(d - UInt8(ascii: "0"))
                i += 1
                if i < t.count, t[i] >= UInt8(ascii: "0"), t[i] <= UInt8(ascii: "9") {
                    let two = group * 10 + Int(t[i] - UInt8(ascii: "0"))
                    if two <= pattern.captureCount {
                        group = two
                        i += 1
                    }
                }
            } else if d == UInt8(ascii: "{") {
                guard let close = t[i...].firstIndex(of: UInt8(ascii: "}")) else {
                    throw error("unclosed '${'", start)
                }
                let name = String(decoding: t[(i + 1)..<close], as: UTF8.self)
                if let n = Int(name) {
                    group = n
                } else if let n = pattern.captureNames[name] {
                    group = n
                } else {
                    throw error("no group named '\(name)'", start)
                }
                i = close + 1
            } else {
                throw error("invalid '$' (write '$$' for a dollar sign)", start)
            }
            guard group <= pattern.captureCount else { throw error("no group \(group)", start) }
            if !literal.isEmpty { parts.append(.literal(literal)); literal = [] }
            parts.append(.group(group))
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
    }

    /// Appends the expansion for `match` to `out`.
    public func expand(_ match: PCRE2Match, subject: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        for part in parts {
            switch part {
            case .literal(let bytes): out.append(contentsOf: bytes)
            case .group(let n): if let r = match.group(n) { out.append(contentsOf: subject[r]) }
            }
        }
    }
}
