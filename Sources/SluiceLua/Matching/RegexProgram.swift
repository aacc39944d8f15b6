/// What one instruction matches when it consumes exactly one character.
enum RegexSingle: Sendable {
    case scalar(UInt32)
    /// Any scalar whose case fold is this value.
    case folded(UInt32)
    /// Any character but `\n`.
    case dot
    case dotAll
    /// Index into the program's class table.
    case charClass(Int)
}

enum RegexLookKind: Sendable { case ahead, notAhead, behind, notBehind, atomic }

/// One instruction of the backtracking machine.
enum RegexInstruction: Sendable {
    /// Case-sensitive UTF-8 bytes: `count` bytes of the literal pool from `start`.
    case bytes(start: Int32, count: Int32)
    case one(RegexSingle)
    /// `single{min,max}`, consumed in one go and given back one character at a time.
    case star(RegexSingle, min: Int, max: Int, greedy: Bool, possessive: Bool)
    /// Continue at the first target; on failure, at the second.
    case split(Int, Int)
    case jump(Int)
    case save(Int)
    case assert(RegexAssertion)
    case backReference(Int, caseInsensitive: Bool)
    /// `register = position` (undone on backtracking).
    case mark(Int)
    /// Fails when the position has not moved since `mark` (an empty loop iteration).
    case checkProgress(Int)
    /// Starts a lookaround or atomic group whose body follows; `end` is the instruction after
    /// it, `register` keeps the stack depth of its barrier, `target` (lookbehind) the position
    /// the body must end at, `maxBack` how many characters back a lookbehind may start (nil:
    /// any).
    case lookStart(RegexLookKind, register: Int, target: Int, end: Int, maxBack: Int?)
    case lookEnd(register: Int)
    /// Fails unless the position equals `register` (end of a lookbehind body).
    case atRegister(Int)
    case match
}

/// Turns a parsed regex into a program.
struct RegexCompiler {
    var program: [RegexInstruction] = []
    var classes: [RegexCharClass] = []
    /// The bytes of every literal string, referred to by `.bytes` instructions.
    var literalPool: [UInt8] = []
    var registers = 0
    let groupCount: Int
    let names: [String: Int]

    static let maxInstructions = 100_000

    init(groupCount: Int, names: [String: Int]) {
        self.groupCount = groupCount
        self.names = names
    }

    mutating func compile(_ node: RegexNode) throws(MatchError) {
        program.append(.save(0))
        try emit(node)
        program.append(.save(1))
        program.append(.match)
    }

    private mutating func append(_ instruction: RegexInstruction, offset: Int) throws(MatchError) {
        if program.count >= RegexCompiler.maxInstructions {
            throw RegexParser.error("regex too large after expanding repetitions (over \(RegexCompiler.maxInstructions) instructions)", offset)
        }
        program.append(instruction)
    }

    private mutating func newRegister() -> Int {
        registers += 1
        return registers - 1
    }

    private mutating func single(_ node: RegexNode) -> RegexSingle? {
        switch node {
        case .literal(let c, let ci):
            return ci ? .folded(RegexUnicode.fold(c)) : .scalar(c)
        case .dot(let all):
            return all ? .dotAll : .dot
        case .charClass(let cls):
            classes.append(cls)
            return .charClass(classes.count - 1)
        case .group(let inner, nil):
            return single(inner)
        default:
            return nil
        }
    }

    private static func isSingle(_ node: RegexNode) -> Bool {
        switch node {
        case .literal, .dot, .charClass: return true
        case .group(let inner, nil): return isSingle(inner)
        default: return false
        }
    }

    private mutating func emit(_ node: RegexNode, offset: Int = 0) throws(MatchError) {
        switch node {
        case .empty:
            break
        case .literal, .dot, .charClass:
            if let s = single(node) { try append(.one(s), offset: offset) }
        case .string(let bytes):
            let start = literalPool.count
            literalPool += bytes
            try append(.bytes(start: Int32(start), count: Int32(bytes.count)), offset: offset)
        case .assertion(let a):
            try append(.assert(a), offset: offset)
        case .group(let inner, let capture):
            if let capture { try append(.save(2 * capture), offset: offset) }
            try emit(inner, offset: offset)
            if let capture { try append(.save(2 * capture + 1), offset: offset) }
        case .concat(let items):
            for item in items { try emit(item, offset: offset) }
        case .alternation(let branches):
            var jumps: [Int] = []
            for (k, branch) in branches.enumerated() {
                if k < branches.count - 1 {
                    let split = program.count
                    try append(.split(split + 1, -1), offset: offset)
                    try emit(branch, offset: offset)
                    jumps.append(program.count)
                    try append(.jump(-1), offset: offset)
                    program[split] = .split(split + 1, program.count)
                } else {
                    try emit(branch, offset: offset)
                }
            }
            for j in jumps { program[j] = .jump(program.count) }
        case .quantified(let inner, let min, let max, let mode, let qOffset):
            try emitQuantified(inner, min: min, max: max, mode: mode, offset: qOffset)
        case .backReference(let n, let ci, let refOffset):
            guard n >= 1 && n <= groupCount else {
                throw RegexParser.error("reference to undefined group \(n)", refOffset)
            }
            try append(.backReference(n, caseInsensitive: ci), offset: refOffset)
        case .namedBackReference(let name, let ci, let refOffset):
            guard let n = names[name] else {
                throw RegexParser.error("reference to undefined group name '\(name)'", refOffset)
            }
            try append(.backReference(n, caseInsensitive: ci), offset: refOffset)
        case .look(let inner, let behind, let negative):
            let kind: RegexLookKind = behind ? (negative ? .notBehind : .behind) : (negative ? .notAhead : .ahead)
            try emitLook(inner, kind: kind, offset: offset)
        case .atomic(let inner):
            try emitLook(inner, kind: .atomic, offset: offset)
        }
    }

    private mutating func emitLook(_ inner: RegexNode, kind: RegexLookKind, offset: Int) throws(MatchError) {
        let register = newRegister()
        let behind = kind == .behind || kind == .notBehind
        let target = behind ? newRegister() : -1
        let start = program.count
        try append(.jump(-1), offset: offset)
        try emit(inner, offset: offset)
        if behind { try append(.atRegister(target), offset: offset) }
        try append(.lookEnd(register: register), offset: offset)
        program[start] = .lookStart(kind, register: register, target: target, end: program.count,
                                    maxBack: behind ? RegexCompiler.maxWidth(inner) : nil)
    }

    private mutating func emitQuantified(_ inner: RegexNode, min: Int, max: Int?, mode: RegexQuantifierMode,
                                         offset: Int) throws(MatchError) {
        if RegexCompiler.isSingle(inner), let s = single(inner) {
            try append(.star(s, min: min, max: max ?? Int.max, greedy: mode != .lazy, possessive: mode == .possessive),
                       offset: offset)
            return
        }
        if mode == .possessive {
            try emitLook(.quantified(inner, min: min, max: max, mode: .greedy, offset: offset), kind: .atomic,
                         offset: offset)
            return
        }
        let greedy = mode == .greedy
        let nullable = RegexCompiler.isNullable(inner)
        if max == nil && min >= 1 {
            // min-1 copies, then a loop whose body runs at least once.
            for _ in 0..<(min - 1) { try emit(inner, offset: offset) }
            let register = nullable ? newRegister() : -1
            let top = program.count
            if nullable { try append(.mark(register), offset: offset) }
            try emit(inner, offset: offset)
            if nullable { try append(.checkProgress(register), offset: offset) }
            let exit = program.count + 1
            try append(greedy ? .split(top, exit) : .split(exit, top), offset: offset)
            return
        }
        for _ in 0..<min { try emit(inner, offset: offset) }
        if let max {
            // Optional copies: each may be skipped, ending the repetition.
            var splits: [Int] = []
            for _ in min..<max {
                splits.append(program.count)
                try append(.jump(-1), offset: offset)
                try emit(inner, offset: offset)
            }
            let exit = program.count
            for s in splits { program[s] = greedy ? .split(s + 1, exit) : .split(exit, s + 1) }
            return
        }
        // min == 0, unbounded.
        let register = nullable ? newRegister() : -1
        let top = program.count
        try append(.jump(-1), offset: offset)
        if nullable { try append(.mark(register), offset: offset) }
        try emit(inner, offset: offset)
        if nullable { try append(.checkProgress(register), offset: offset) }
        try append(.jump(top), offset: offset)
        let exit = program.count
        program[top] = greedy ? .split(top + 1, exit) : .split(exit, top + 1)
    }

    /// Whether `node` can match the empty string.
    static func isNullable(_ node: RegexNode) -> Bool {
        switch node {
        case .empty, .assertion, .look, .backReference, .namedBackReference: return true
        case .literal, .string, .dot, .charClass: return false
        case .group(let inner, _), .atomic(let inner): return isNullable(inner)
        case .concat(let items): return items.allSatisfy(isNullable)
        case .alternation(let branches): return branches.contains(where: isNullable)
        case .quantified(let inner, let min, _, _, _): return min == 0 || isNullable(inner)
        }
    }

    /// The most characters `node` can match, or nil if unbounded.
    static func maxWidth(_ node: RegexNode) -> Int? {
        switch node {
        case .empty, .assertion, .look: return 0
        case .literal, .dot, .charClass: return 1
        case .string(let bytes): return String(decoding: bytes, as: UTF8.self).unicodeScalars.count
        case .group(let inner, _), .atomic(let inner): return maxWidth(inner)
        case .backReference, .namedBackReference: return nil
        case .concat(let items):
            var total = 0
            for item in items {
                guard let w = maxWidth(item) else { return nil }
                total += w
            }
            return total
        case .alternation(let branches):
            var best = 0
            for branch in branches {
                guard let w = maxWidth(branch) else { return nil }
                best = Swift.max(best, w)
            }
            return best
        case .quantified(let inner, _, let max, _, _):
            guard let w = maxWidth(inner) else { return nil }
            if w == 0 { return 0 }
            guard let max else { return nil }
            return w * max
        }
    }

    /// The bytes a match can start with, and whether it can be empty (then any start is
    /// possible and the set is not a filter).
    static func firstBytes(_ node: RegexNode) -> (ByteSet, Bool) {
        func all() -> ByteSet { ByteSet { _ in true } }
        switch node {
        case .empty, .assertion, .look:
            return (ByteSet(), true)
        case .literal(let c, let ci):
            var set = ByteSet()
            let variants = ci ? RegexUnicode.caseVariants(c) : [c]
            for v in variants { if let b = RegexUnicode.utf8(v).first { set.insert(b) } }
            return (set, false)
        case .string(let bytes):
            var set = ByteSet()
            if let b = bytes.first { set.insert(b) }
            return (set, bytes.isEmpty)
        case .dot:
            return (all(), false)
        case .charClass(let cls):
            var set = ByteSet()
            for b in 0..<128 where cls.contains(UInt32(b)) { set.insert(UInt8(b)) }
            if cls.mayMatchNonASCII { for b in 128...255 { set.insert(UInt8(b)) } }
            return (set, false)
        case .group(let inner, _), .atomic(let inner):
            return firstBytes(inner)
        case .backReference, .namedBackReference:
            return (all(), true)
        case .concat(let items):
            var set = ByteSet()
            for item in items {
                let (s, nullable) = firstBytes(item)
                set = set.union(s)
                if !nullable { return (set, false) }
            }
            return (set, true)
        case .alternation(let branches):
            var set = ByteSet()
            var nullable = false
            for branch in branches {
                let (s, n) = firstBytes(branch)
                set = set.union(s)
                nullable = nullable || n
            }
            return (set, nullable)
        case .quantified(let inner, let min, _, _, _):
            let (s, n) = firstBytes(inner)
            return (s, n || min == 0)
        }
    }

    /// Whether every match must start at the start of the text (`^` without `m`, or `\A`).
    static func isAnchoredAtStart(_ node: RegexNode) -> Bool {
        switch node {
        case .assertion(.textStart): return true
        case .group(let inner, _), .atomic(let inner): return isAnchoredAtStart(inner)
        case .concat(let items): return items.first.map(isAnchoredAtStart) ?? false
        case .alternation(let branches): return branches.allSatisfy(isAnchoredAtStart)
        default: return false
        }
    }
}

extension ByteSet {
    /// Both sets' bytes.
    func union(_ other: ByteSet) -> ByteSet {
        var result = self
        for b in 0...255 where other.contains(UInt8(b)) { result.insert(UInt8(b)) }
        return result
    }
}
