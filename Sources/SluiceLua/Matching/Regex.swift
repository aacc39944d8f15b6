/// A compiled regular expression (a PCRE/ECMAScript subset) run by a backtracking machine that
/// charges every step to a `MatchBudget`, so no pattern can hang a worker.
///
/// The subject is UTF-8 bytes; matching goes by Unicode scalar (`.` consumes one character,
/// `é` is one character) and every position is a byte offset. A byte that is not part of valid
/// UTF-8 is a character of its own that only `.`, `\D`/`\W`/`\S`-style negations and negated
/// classes match.
///
/// Syntax:
/// - Literals; `\` before any ASCII punctuation makes it literal. Escapes `\n \r \t \f \v \a \e
///   \0`, `\xHH`, `\x{H…}`, `\uHHHH`, `\u{H…}`. An unknown letter escape (`\q`) is an error.
/// - `.` any character except `\n` (any at all with flag `s`).
/// - Classes `[abc]`, `[^abc]`, ranges `[a-z]` (by scalar), escapes and `\d \w \s \p{..}`
///   inside; `]` first in a class is literal; `-` first or last is literal; `\b` in a class is
///   backspace. POSIX `[:alpha:]` is refused with a hint.
/// - `\d` ASCII digits 0–9 only (`\p{Nd}` for all scripts); `\w` Unicode letters, marks,
///   decimal digits and `_` (so `é`, `ß`, `日` are word characters); `\s` Unicode White_Space
///   (includes the no-break space). `\D \W \S` are their complements.
/// - `\p{X}` / `\P{X}` / `\pL`: general categories `L Lu Ll Lt Lm Lo L& M Mn Mc Me N Nd Nl No
///   P Pc Pd Ps Pe Pi Pf Po S Sm Sc Sk So Z Zs Zl Zp C Cc Cf Cs Co Cn` (long names such as
///   `Letter`, `Uppercase_Letter` too), and `Any ASCII Alphabetic White_Space Uppercase
///   Lowercase`; `\p{^X}` negates. Scripts (`\p{Greek}`) are not supported.
/// - Anchors: `^` `$` at the text's start and end (`$` does not match before a final newline;
///   `\Z` does); with flag `m` at line starts and ends (`\n`). `\A` `\z` always the text.
///   `\b` `\B` word boundaries by `\w`.
/// - Groups `( )`, `(?: )`, named `(?<name> )` / `(?P<name> )`, atomic `(?> )`, comments
///   `(?# )`; alternation `|`.
/// - Quantifiers `* + ? {n} {n,} {n,m}` (counts up to 1000), lazy with `?`, possessive with
///   `+`. An iteration that matches nothing ends a loop (so `(a*)*` cannot spin).
/// - Lookahead `(?= )` `(?! )`, lookbehind `(?<= )` `(?<! )` (any width).
/// - Back-references `\1`…`\99` and `\k<name>`; a group that has not matched makes the
///   reference fail (as in PCRE and Python). Captures keep their last value across loop
///   iterations.
/// - Flags (the `flags` string, or inline `(?imsx-imsx)` for the rest of the group and
///   `(?i: )` scoped): `i` case-insensitive by simple case folding (`K` (Kelvin) matches `k`,
///   `ς` matches `Σ`), `m` multiline, `s` dot matches newline, `x` extended (whitespace and `#`
///   comments outside classes are ignored).
///
/// Errors name the problem and its byte offset in the pattern, e.g. `unclosed group at offset
/// 4`, `nothing to repeat at offset 0`, `unknown escape '\q' at offset 2`.
///
/// Memory: the machine's backtracking stack is limited to 4,000,000 entries (64 MB); needing
/// more counts as exceeding the budget. Subjects must be smaller than 2 GiB.
public final class Regex: Sendable {
    /// The pattern as given.
    public let pattern: String
    /// The flags as given.
    public let flags: String
    /// The number of capture groups (named ones included).
    public let captureCount: Int
    /// Capture group numbers (1-based) by name.
    public let captureNames: [String: Int]

    let program: [RegexInstruction]
    let classes: [RegexCharClass]
    /// `classTable[k << 7 | c]`: whether class `k` matches ASCII scalar `c`.
    let classTable: [Bool]
    let literalPool: [UInt8]
    let registerCount: Int
    let firstBytes: ByteSet?
    let anchoredAtStart: Bool

    /// Compiles `pattern` with `flags` (any of `i m s x`).
    public init(_ pattern: String, flags: String = "") throws(MatchError) {
        var parsedFlags = RegexFlags()
        for c in flags.utf8 where !parsedFlags.set(c, true) {
            let name = String(decoding: [c], as: UTF8.self)
            throw .malformed("unknown regex flag '\(name)' (flags are i, m, s, x)")
        }
        var parser = RegexParser(Array(pattern.utf8), flags: parsedFlags)
        let tree = try parser.parse()
        var compiler = RegexCompiler(groupCount: parser.groupCount, names: parser.names)
        try compiler.compile(tree)
        self.pattern = pattern
        self.flags = flags
        captureCount = parser.groupCount
        captureNames = parser.names
        program = compiler.program
        classes = compiler.classes
        var table = [Bool](repeating: false, count: compiler.classes.count * 128)
        for (k, cls) in compiler.classes.enumerated() {
            for c in 0..<128 where cls.contains(UInt32(c)) { table[k << 7 | c] = true }
        }
        classTable = table
        literalPool = compiler.literalPool
        registerCount = compiler.registers
        let (first, nullable) = RegexCompiler.firstBytes(tree)
        firstBytes = nullable ? nil : first
        anchoredAtStart = RegexCompiler.isAnchoredAtStart(tree)
    }

    /// The leftmost match starting at or after byte offset `from` (which should be a character
    /// boundary), or nil.
    public func firstMatch(in subject: UnsafeBufferPointer<UInt8>, from: Int = 0,
                           budget: inout MatchBudget) throws(MatchError) -> RegexMatch? {
        if subject.count > Int(Int32.max) { throw .malformed("regex subject over 2 GiB") }
        var machine = RegexMachine(regex: self, subject: subject, remaining: budget.remaining)
        defer { budget.remaining = max(0, machine.remaining) }
        return try machine.search(from: max(0, from))
    }

    /// Whether the regex matches anywhere in `subject`.
    public func matches(_ subject: UnsafeBufferPointer<UInt8>, budget: inout MatchBudget) throws(MatchError) -> Bool {
        try firstMatch(in: subject, from: 0, budget: &budget) != nil
    }

    /// Every non-overlapping match, left to right. After an empty match the next search starts
    /// one character later (as JavaScript's `matchAll` and Python's `finditer`).
    public func allMatches(in subject: UnsafeBufferPointer<UInt8>, budget: inout MatchBudget,
                           limit: Int = Int.max) throws(MatchError) -> [RegexMatch] {
        var result: [RegexMatch] = []
        try forEachMatch(in: subject, limit: limit, budget: &budget) { result.append($0) }
        return result
    }

    /// `subject` with every match (at most `limit`) replaced by `replacement`, and the number
    /// of replacements.
    public func replacing(in subject: UnsafeBufferPointer<UInt8>, with replacement: RegexReplacement,
                          limit: Int = Int.max,
                          budget: inout MatchBudget) throws(MatchError) -> (bytes: [UInt8], count: Int) {
        var out: [UInt8] = []
        out.reserveCapacity(subject.count)
        var copied = 0
        var count = 0
        try forEachMatch(in: subject, limit: limit, budget: &budget) { m in
            out.append(contentsOf: subject[copied..<m.range.lowerBound])
            replacement.expand(m, subject: subject, into: &out)
            copied = m.range.upperBound
            count += 1
        }
        out.append(contentsOf: subject[copied..<subject.count])
        return (out, count)
    }

    /// Calls `body` for each successive match with one machine (no allocation per match).
    func forEachMatch(in subject: UnsafeBufferPointer<UInt8>, limit: Int, budget: inout MatchBudget,
                      _ body: (RegexMatch) -> Void) throws(MatchError) {
        if subject.count > Int(Int32.max) { throw .malformed("regex subject over 2 GiB") }
        var machine = RegexMachine(regex: self, subject: subject, remaining: budget.remaining)
        defer { budget.remaining = max(0, machine.remaining) }
        var position: Int? = 0
        var count = 0
        while count < limit, let from = position, let m = try machine.search(from: from) {
            body(m)
            count += 1
            position = Regex.nextSearchStart(after: m, in: subject)
        }
    }

    /// Where the search after match `m` starts: its end, or one character further after an
    /// empty match; nil when the subject is used up.
    static func nextSearchStart(after m: RegexMatch, in subject: UnsafeBufferPointer<UInt8>) -> Int? {
        guard m.range.isEmpty else { return m.range.upperBound }
        if m.range.upperBound >= subject.count { return nil }
        return m.range.upperBound + RegexUnicode.decode(subject, m.range.upperBound).length
    }
}

/// One regex match: byte offsets into the subject.
public struct RegexMatch: Sendable, Hashable {
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

/// Pulls successive non-overlapping matches of a `Regex` one at a time. A value type holding
/// no pointer: pass the same subject bytes to every `next` call.
public struct RegexMatchIterator: Sendable {
    private let regex: Regex
    private var position = 0
    private var done = false

    /// Starts at byte offset `from`.
    public init(_ regex: Regex, from: Int = 0) {
        self.regex = regex
        position = from
    }

    /// The next match, or nil.
    public mutating func next(in subject: UnsafeBufferPointer<UInt8>,
                              budget: inout MatchBudget) throws(MatchError) -> RegexMatch? {
        guard !done, position <= subject.count else { return nil }
        guard let m = try regex.firstMatch(in: subject, from: position, budget: &budget) else {
            done = true
            return nil
        }
        if let next = Regex.nextSearchStart(after: m, in: subject) {
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
public struct RegexReplacement: Sendable {
    enum Part: Sendable {
        case literal([UInt8])
        case group(Int)
    }

    let parts: [Part]

    /// Parses `template` against `regex`'s groups; an unknown group or a stray `$` is an error
    /// naming its offset in the template.
    public init(_ template: String, for regex: Regex) throws(MatchError) {
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
                    if two <= regex.captureCount {
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
                } else if let n = regex.captureNames[name] {
                    group = n
                } else {
                    throw error("no group named '\(name)'", start)
                }
                i = close + 1
            } else {
                throw error("invalid '$' (write '$$' for a dollar sign)", start)
            }
            guard group <= regex.captureCount else { throw error("no group \(group)", start) }
            if !literal.isEmpty { parts.append(.literal(literal)); literal = [] }
            parts.append(.group(group))
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
    }

    /// Appends the expansion for `match` to `out`.
    public func expand(_ match: RegexMatch, subject: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        for part in parts {
            switch part {
            case .literal(let bytes): out.append(contentsOf: bytes)
            case .group(let n): if let r = match.group(n) { out.append(contentsOf: subject[r]) }
            }
        }
    }
}

/// A growable array of trivial values in manually managed memory: no uniqueness checks or
/// reference counting on the matching machine's hot path (measured: about a quarter of the
/// time of `(a+)+$` went to `Array` bookkeeping).
struct RawBuffer<Element: BitwiseCopyable>: ~Copyable {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = Swift.max(capacity, 1)
        base = UnsafeMutablePointer<Element>.allocate(capacity: self.capacity)
    }

    init(repeating value: Element, count: Int) {
        self.init(capacity: count)
        base.initialize(repeating: value, count: count)
        self.count = count
    }

    deinit { base.deallocate() }

    @inline(__always)
    subscript(_ i: Int) -> Element {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }

    @inline(__always)
    mutating func append(_ value: Element) {
        if count == capacity { grow() }
        base[count] = value
        count += 1
    }

    @inline(__always)
    mutating func popLast() -> Element? {
        guard count > 0 else { return nil }
        count -= 1
        return base[count]
    }

    /// Keeps the first `newCount` elements.
    mutating func truncate(to newCount: Int) { count = Swift.min(count, newCount) }

    func fill(_ value: Element) { base.update(repeating: value, count: count) }

    private mutating func grow() {
        let bigger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity *= 2
    }
}

/// The backtracking machine: an explicit stack of frames, so Swift recursion never depends on
/// the subject's length.
struct RegexMachine: ~Copyable {
    /// One backtracking record, 16 bytes: `tag` packs the kind (top 8 bits) and an
    /// instruction, slot or register index (low 24 bits; programs have at most 100,000
    /// instructions); `b` is a position or count (subjects are limited to 2 GiB).
    struct Frame {
        var a: Int
        var b: Int32
        var tag: UInt32

        @inline(__always) var kind: Int32 { Int32(tag >> 24) }
        @inline(__always) var pc: Int32 { Int32(tag & 0xFF_FFFF) }
    }

    // Frame kinds.
    static let branch: Int32 = 0        // resume at pc with position a
    static let restoreSlot: Int32 = 1   // slots[pc] = a
    static let restoreRegister: Int32 = 2 // registers[pc] = a
    static let greedyStar: Int32 = 3    // give back one character: resume at pc, position from b down to a
    static let lazyStar: Int32 = 4      // take one more: star instruction at pc, position a, count b
    static let barrier: Int32 = 5       // lookaround/atomic started by instruction pc at position a
    static let behindNext: Int32 = 6    // lookbehind at pc: next start before a, not before b

    /// At most this many backtracking records (64 MB).
    static let maxFrames = 4_000_000

    let program: [RegexInstruction]
    let classTable: [Bool]
    let literalPool: [UInt8]
    let regex: Regex
    let subject: UnsafeBufferPointer<UInt8>
    var remaining: Int
    var slots: RawBuffer<Int>
    var registers: RawBuffer<Int>
    var stack = RawBuffer<Frame>(capacity: 64)
    var pc = 0
    var pos = 0

    init(regex: Regex, subject: UnsafeBufferPointer<UInt8>, remaining: Int) {
        self.regex = regex
        self.subject = subject
        self.remaining = remaining
        program = regex.program
        classTable = regex.classTable
        literalPool = regex.literalPool
        slots = RawBuffer(repeating: -1, count: 2 * (regex.captureCount + 1))
        registers = RawBuffer(repeating: -1, count: regex.registerCount)
    }

    mutating func search(from: Int) throws(MatchError) -> RegexMatch? {
        let n = subject.count
        var start = from
        while start <= n {
            if let first = regex.firstBytes {
                while start < n && !first.contains(subject[start]) {
                    start += RegexUnicode.decode(subject, start).length
                    remaining -= 1
                }
                if remaining < 0 { throw .budgetExceeded }
                if start >= n { return nil }
            }
            try charge(1)
            if try run(at: start) {
                var captures: [Range<Int>?] = []
                captures.reserveCapacity(regex.captureCount)
                if regex.captureCount > 0 {
                    for g in 1...regex.captureCount {
                        let s = slots[2 * g], e = slots[2 * g + 1]
                        captures.append(s >= 0 && e >= s ? s..<e : nil)
                    }
                }
                return RegexMatch(range: slots[0]..<slots[1], captures: captures)
            }
            if regex.anchoredAtStart || start >= n { return nil }
            start += RegexUnicode.decode(subject, start).length
        }
        return nil
    }

    @inline(__always)
    mutating func charge(_ steps: Int) throws(MatchError) {
        remaining -= steps
        if remaining < 0 { throw .budgetExceeded }
    }

    @inline(__always)
    mutating func push(_ kind: Int32, _ pc: Int, _ a: Int, _ b: Int = 0) throws(MatchError) {
        if stack.count >= RegexMachine.maxFrames { throw .budgetExceeded }
        stack.append(Frame(a: a, b: Int32(truncatingIfNeeded: b), tag: UInt32(kind) << 24 | UInt32(truncatingIfNeeded: pc)))
    }

    @inline(__always)
    func matches(_ single: RegexSingle, _ c: UInt32) -> Bool {
        switch single {
        case .scalar(let v): return c == v
        case .folded(let v): return RegexUnicode.fold(c) == v
        case .dot: return c != 0x0A
        case .dotAll: return true
        case .charClass(let k): return c < 0x80 ? classTable[k << 7 | Int(c)] : regex.classes[k].slowContains(c)
        }
    }

    func check(_ assertion: RegexAssertion) -> Bool {
        let n = subject.count
        switch assertion {
        case .textStart: return pos == 0
        case .textEnd: return pos == n
        case .textEndOrFinalNewline: return pos == n || (pos == n - 1 && subject[pos] == 0x0A)
        case .lineStart: return pos == 0 || subject[pos - 1] == 0x0A
        case .lineEnd: return pos == n || subject[pos] == 0x0A
        case .wordBoundary, .notWordBoundary:
            let before = RegexUnicode.previousScalar(subject, pos).map(RegexUnicode.isWord) ?? false
            let after = pos < n ? RegexUnicode.isWord(RegexUnicode.decode(subject, pos).scalar) : false
            return (before != after) == (assertion == .wordBoundary)
        }
    }

    /// Runs the program at `start`; true with `slots` filled on success.
    mutating func run(at start: Int) throws(MatchError) -> Bool {
        slots.fill(-1)
        registers.fill(-1)
        stack.truncate(to: 0)
        pc = 0
        pos = start
        let n = subject.count
        while true {
            try charge(1)
            var ok = true
            switch program[pc] {
            case .bytes(let start, let count32):
                let count = Int(count32)
                if n - pos >= count {
                    var k = 0
                    let from = Int(start)
                    while k < count && subject[pos + k] == literalPool[from + k] { k += 1 }
                    ok = k == count
                } else {
                    ok = false
                }
                if ok { pos += count; pc += 1 }
            case .one(let single):
                if pos < n {
                    let (c, length) = RegexUnicode.decode(subject, pos)
                    ok = matches(single, c)
                    if ok { pos += length; pc += 1 }
                } else {
                    ok = false
                }
            case .star(let single, let min, let max, let greedy, let possessive):
                var count = 0
                var p = pos
                let want = greedy ? max : min
                var minPos = pos
                while count < want && p < n {
                    let (c, length) = RegexUnicode.decode(subject, p)
                    if !matches(single, c) { break }
                    p += length
                    count += 1
                    if count == min { minPos = p }
                }
                try charge(count)
                if count < min {
                    ok = false
                } else if greedy {
                    if !possessive && p > minPos { try push(RegexMachine.greedyStar, pc + 1, minPos, p) }
                    pos = p
                    pc += 1
                } else {
                    if count < max { try push(RegexMachine.lazyStar, pc, p, count) }
                    pos = p
                    pc += 1
                }
            case .split(let first, let second):
                try push(RegexMachine.branch, second, pos)
                pc = first
            case .jump(let target):
                pc = target
            case .save(let slot):
                try push(RegexMachine.restoreSlot, slot, slots[slot])
                slots[slot] = pos
                pc += 1
            case .assert(let assertion):
                ok = check(assertion)
                if ok { pc += 1 }
            case .backReference(let group, let ci):
                ok = try matchBackReference(group, caseInsensitive: ci)
                if ok { pc += 1 }
            case .mark(let register):
                try push(RegexMachine.restoreRegister, register, registers[register])
                registers[register] = pos
                pc += 1
            case .checkProgress(let register):
                ok = pos != registers[register]
                if ok { pc += 1 }
            case .lookStart(let kind, let register, let target, _, let maxBack):
                try push(RegexMachine.restoreRegister, register, registers[register])
                registers[register] = stack.count
                try push(RegexMachine.barrier, pc, pos)
                if kind == .behind || kind == .notBehind {
                    try push(RegexMachine.restoreRegister, target, registers[target])
                    registers[target] = pos
                    // Lowest start: maxBack characters before pos (or the text's start).
                    var lowest = pos
                    if let maxBack {
                        var k = 0
                        while k < maxBack && lowest > 0 {
                            lowest = RegexUnicode.previousStart(subject, lowest)
                            k += 1
                        }
                        try charge(k / 4)
                    } else {
                        lowest = 0
                    }
                    if pos > lowest { try push(RegexMachine.behindNext, pc, pos, lowest) }
                }
                pc += 1
            case .lookEnd(let register):
                try finishLook(barrierIndex: registers[register])
                // finishLook sets pc/pos, or reports failure by setting ok through pc = -1.
                ok = pc >= 0
            case .atRegister(let register):
                ok = pos == registers[register]
                if ok { pc += 1 }
            case .match:
                return true
            }
            if !ok {
                guard try backtrack() else { return false }
            }
        }
    }

    mutating func matchBackReference(_ group: Int, caseInsensitive: Bool) throws(MatchError) -> Bool {
        let s = slots[2 * group], e = slots[2 * group + 1]
        guard s >= 0, e >= s else { return false }
        let n = subject.count
        let length = e - s
        try charge(length / 8)
        if !caseInsensitive {
            guard n - pos >= length else { return false }
            var k = 0
            while k < length && subject[s + k] == subject[pos + k] { k += 1 }
            if k < length { return false }
            pos += length
            return true
        }
        var i = s
        var j = pos
        while i < e {
            guard j < n else { return false }
            let (a, la) = RegexUnicode.decode(subject, i)
            let (b, lb) = RegexUnicode.decode(subject, j)
            if a != b && RegexUnicode.fold(a) != RegexUnicode.fold(b) { return false }
            i += la
            j += lb
        }
        pos = j
        return true
    }

    /// The body of a lookaround or atomic group matched: keep or drop its state and go on.
    mutating func finishLook(barrierIndex: Int) throws(MatchError) {
        let barrier = stack[barrierIndex]
        let startPc = Int(barrier.pc)
        guard case .lookStart(let kind, _, _, let end, _) = program[startPc] else {
            pc = -1
            return
        }
        switch kind {
        case .ahead, .behind, .atomic:
            // Drop the alternatives inside the body but keep the undo records, so captures set
            // inside are still undone if matching later backtracks past this point.
            var kept = barrierIndex
            for k in (barrierIndex + 1)..<stack.count {
                let f = stack[k]
                if f.kind == RegexMachine.restoreSlot || f.kind == RegexMachine.restoreRegister {
                    stack[kept] = f
                    kept += 1
                }
            }
            stack.truncate(to: kept)
            if kind != .atomic { pos = barrier.a }
            pc = end
        case .notAhead, .notBehind:
            // The body matched, so the negative lookaround fails: undo its effects and fail.
            while stack.count > barrierIndex, let f = stack.popLast() {
                if f.kind == RegexMachine.restoreSlot {
                    slots[Int(f.pc)] = f.a
                } else if f.kind == RegexMachine.restoreRegister {
                    registers[Int(f.pc)] = f.a
                }
            }
            pc = -1
        }
    }

    /// Resumes at the most recent alternative; false when there is none.
    mutating func backtrack() throws(MatchError) -> Bool {
        while let f = stack.popLast() {
            try charge(1)
            switch f.kind {
            case RegexMachine.branch:
                pc = Int(f.pc)
                pos = f.a
                return true
            case RegexMachine.restoreSlot:
                slots[Int(f.pc)] = f.a
            case RegexMachine.restoreRegister:
                registers[Int(f.pc)] = f.a
            case RegexMachine.greedyStar:
                let back = RegexUnicode.previousStart(subject, Int(f.b))
                if back > f.a { try push(RegexMachine.greedyStar, Int(f.pc), f.a, back) }
                pc = Int(f.pc)
                pos = back
                return true
            case RegexMachine.lazyStar:
                let starPc = Int(f.pc)
                guard case .star(let single, _, let max, _, _) = program[starPc], f.a < subject.count else { continue }
                let (c, length) = RegexUnicode.decode(subject, f.a)
                guard matches(single, c) else { continue }
                let count = Int(f.b) + 1
                if count < max { try push(RegexMachine.lazyStar, starPc, f.a + length, count) }
                pc = starPc + 1
                pos = f.a + length
                return true
            case RegexMachine.barrier:
                // The body failed everywhere.
                guard case .lookStart(let kind, _, _, let end, _) = program[Int(f.pc)] else { continue }
                if kind == .notAhead || kind == .notBehind {
                    pc = end
                    pos = f.a
                    return true
                }
            case RegexMachine.behindNext:
                let next = RegexUnicode.previousStart(subject, f.a)
                if next > Int(f.b) { try push(RegexMachine.behindNext, Int(f.pc), next, Int(f.b)) }
                pc = Int(f.pc) + 1
                pos = next
                return true
            default:
                continue
            }
        }
        return false
    }
}
