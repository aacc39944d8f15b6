import Testing
@testable import SluiceLua

/// Lua pattern behaviour pinned with fixed expectations (taken from stock Lua 5.4), so the
/// engine is checked even where the `lua5.4` interpreter is not installed.
@Suite("Lua patterns: fixed expectations")
struct MatchingLuaPatternTests {
    /// string.find's results as Lua would print them ("1 3 cap"), or "nil", or the error.
    static func find(_ s: String, _ p: String, _ luaInit: Int = 1, plain: Bool = false) -> String {
        let subject = Array(s.utf8)
        var budget = MatchBudget(steps: 1_000_000)
        do {
            return try subject.withUnsafeBufferPointer { (b) throws(MatchError) -> String in
                guard let m = try LuaPattern(p).find(in: b, luaInit: luaInit, plain: plain, budget: &budget) else {
                    return "nil"
                }
                let extra = try m.findCaptures().map { render($0, subject) }
                return (["\(m.range.lowerBound + 1)", "\(m.range.upperBound)"] + extra).joined(separator: " ")
            }
        } catch {
            return "error: \(error)"
        }
    }

    static func match(_ s: String, _ p: String, _ luaInit: Int = 1) -> String {
        let subject = Array(s.utf8)
        var budget = MatchBudget(steps: 1_000_000)
        do {
            return try subject.withUnsafeBufferPointer { (b) throws(MatchError) -> String in
                guard let m = try LuaPattern(p).firstMatch(in: b, luaInit: luaInit, budget: &budget) else { return "nil" }
                return try m.values().map { render($0, subject) }.joined(separator: " ")
            }
        } catch {
            return "error: \(error)"
        }
    }

    static func gmatch(_ s: String, _ p: String, _ luaInit: Int = 1) -> [String] {
        let subject = Array(s.utf8)
        var budget = MatchBudget(steps: 1_000_000)
        do {
            return try subject.withUnsafeBufferPointer { (b) throws(MatchError) -> [String] in
                var out: [String] = []
                for m in try LuaPattern(p).allMatches(in: b, luaInit: luaInit, budget: &budget) {
                    out.append(try m.values().map { render($0, subject) }.joined(separator: " "))
                }
                return out
            }
        } catch {
            return ["error: \(error)"]
        }
    }

    static func gsub(_ s: String, _ p: String, _ r: String, _ n: Int? = nil) -> String {
        let subject = Array(s.utf8)
        var budget = MatchBudget(steps: 1_000_000)
        do {
            return try subject.withUnsafeBufferPointer { (b) throws(MatchError) -> String in
                let (bytes, count) = try LuaPattern(p).gsub(in: b, replacement: LuaReplacement(r),
                                                            maxReplacements: n, budget: &budget)
                return "\(String(decoding: bytes, as: UTF8.self)) \(count)"
            }
        } catch {
            return "error: \(error)"
        }
    }

    static func render(_ c: LuaPatternCapture, _ subject: [UInt8]) -> String {
        switch c {
        case .substring(let r): return String(decoding: subject[r], as: UTF8.self)
        case .position(let p): return "\(p)"
        case .unfinished: return "<unfinished>"
        }
    }

    @Test("find returns 1-based start and end plus captures, and honours init")
    func findBasics() {
        #expect(Self.find("hello world", "o w") == "5 7")
        #expect(Self.find("hello world", "(o)%s(w)") == "5 7 o w")
        #expect(Self.find("hello", "l+", 4) == "4 4")
        #expect(Self.find("hello", "l", -2) == "4 4")
        #expect(Self.find("hello", "x") == "nil")
        #expect(Self.find("hello", "", 6) == "6 5")
        #expect(Self.find("hello", "", 7) == "nil")
        #expect(Self.find("a.b", ".", 1, plain: true) == "2 2")
        #expect(Self.find("a+b", "+b") == "2 3")
        #expect(Self.find("café", "é") == "4 5")
        #expect(Self.find("abc", "()b()") == "2 2 2 3")
    }

    @Test("match returns captures or the whole match")
    func matchBasics() {
        #expect(Self.match("key = value", "(%w+)%s*=%s*(%w+)") == "key value")
        #expect(Self.match("  trim  ", "^%s*(.-)%s*$") == "trim")
        #expect(Self.match("2025-11-20", "%d+") == "2025")
        #expect(Self.match("THE (quick) fox", "%f[%a]%a+", 5) == "quick")
        #expect(Self.match("x = f(a(b)c) + 1", "%b()") == "(a(b)c)")
        #expect(Self.match("abba", "(.)(.)%2%1") == "a b")
        #expect(Self.match("hello", "()ll()") == "3 5")
        #expect(Self.match("[x]", "[]]") == "]")
        #expect(Self.match("^a", "^a") == "nil")
    }

    @Test("gmatch follows Lua 5.4's empty-match rule and treats ^ as a literal")
    func gmatchRules() {
        #expect(Self.gmatch("one two  three", "%a+") == ["one", "two", "three"])
        #expect(Self.gmatch("abc", "x*") == ["", "", "", ""])
        #expect(Self.gmatch("hello world", "o*") == ["", "", "", "", "o", "", "o", "", "", ""])
        #expect(Self.gmatch("k1=v1, k2=v2", "(%w+)=(%w+)") == ["k1 v1", "k2 v2"])
        #expect(Self.gmatch("^a^a", "^a") == ["^a", "^a"])
        #expect(Self.gmatch("abcabc", "b", 3) == ["b"])
        #expect(Self.gmatch("abc", ".", 10) == [])
    }

    @Test("gsub replaces with %0-%9 and %%, honours n and the ^ anchor")
    func gsubRules() {
        #expect(Self.gsub("hello world", "o", "0") == "hell0 w0rld 2")
        #expect(Self.gsub("hello world", "(%w+)", "<%1>") == "<hello> <world> 2")
        #expect(Self.gsub("hello", "", "-") == "-h-e-l-l-o- 6")
        #expect(Self.gsub("abc", "%w", "%0%0", 2) == "aabbc 2")
        #expect(Self.gsub("abc", "%w", "x", 0) == "abc 0")
        #expect(Self.gsub("aaa", "^a", "b") == "baa 1")
        #expect(Self.gsub("50", "%d+", "%% %0") == "% 50 1")
        #expect(Self.gsub("abc", "()b", "%1") == "a2c 1")
        #expect(Self.gsub("abc", "b", "%1") == "abc 1")
        #expect(Self.gsub("hello world", "o*", "-") == "-h-e-l-l- -w-r-l-d- 10")
    }

    @Test("pattern errors carry Lua's exact messages, raised only when reached")
    func patternErrors() {
        #expect(Self.find("abc", "%") == "error: malformed pattern (ends with '%')")
        #expect(Self.find("abc", "[a") == "error: malformed pattern (missing ']')")
        #expect(Self.find("", "x[") == "nil")
        #expect(Self.find("aa", "(a)%2") == "error: invalid capture index %2")
        #expect(Self.find("a", "a)") == "nil")
        #expect(Self.match("a", "a)") == "error: invalid pattern capture")
        #expect(Self.find("a", "%fa") == "error: missing '[' after '%f' in pattern")
        #expect(Self.find("a", "%b") == "error: malformed pattern (missing arguments to '%b')")
        #expect(Self.find("abc", "(a") == "error: unfinished capture")
        #expect(Self.find(String(repeating: "a", count: 40), String(repeating: "(a)", count: 33)) == "error: too many captures")
        #expect(Self.find(String(repeating: "a", count: 300), String(repeating: "a?", count: 300)) == "error: pattern too complex")
    }

    @Test("replacement errors appear only when a match is replaced")
    func replacementErrors() {
        #expect(Self.gsub("abc", "a", "%") == "error: invalid use of '%' in replacement string")
        #expect(Self.gsub("abc", "a", "%x") == "error: invalid use of '%' in replacement string")
        #expect(Self.gsub("abc", "(a)", "%2") == "error: invalid capture index %2")
        #expect(Self.gsub("abc", "z", "%") == "abc 0")
        #expect(Self.gsub("abc", "(a", "x") == "xbc 1")
        #expect(Self.gsub("abc", "(a", "%1") == "error: unfinished capture")
    }

    @Test("character classes are byte-wise in the C locale")
    func classesAreBytewise() {
        #expect(Self.match("café", "%a+") == "caf")
        #expect(Self.match("naïve", "[^%w]+") == "ï")
        #expect(Self.find("a\u{00A0}b", "%s") == "nil")
        #expect(Self.match("x\u{0}y", "%z") == "\u{0}")
        #expect(Self.match("AbC", "%u%l%u") == "AbC")
        #expect(Self.match("0x1F", "%x+", 3) == "1F")
        #expect(Self.match("a,b", "%p") == ",")
        #expect(Self.match("\tx", "%c") == "\t")
    }

    @Test("helpers: specials detection, plain find, init conversion, capture access")
    func helpers() throws {
        #expect(LuaPattern.hasSpecials(Array("abc".utf8)) == false)
        #expect(LuaPattern.hasSpecials(Array("a]c".utf8)) == false)
        #expect(LuaPattern.hasSpecials(Array("a-c".utf8)) == true)
        #expect(try LuaPattern("^x").isAnchored)
        #expect(LuaPattern.startOffset(luaInit: 1, length: 5) == 0)
        #expect(LuaPattern.startOffset(luaInit: -2, length: 5) == 3)
        #expect(LuaPattern.startOffset(luaInit: -9, length: 5) == 0)
        #expect(LuaPattern.startOffset(luaInit: 0, length: 5) == 0)
        #expect(LuaPattern.startOffset(luaInit: 9, length: 5) == 8)
        let hay = Array("abcabc".utf8), needle = Array("ca".utf8)
        let r = hay.withUnsafeBufferPointer { h in needle.withUnsafeBufferPointer { n in LuaPattern.plainFind(n, in: h, from: 0) } }
        #expect(r == 2..<4)
        let none = hay.withUnsafeBufferPointer { h in needle.withUnsafeBufferPointer { n in LuaPattern.plainFind(n, in: h, from: 3) } }
        #expect(none == nil)
        let m = LuaPatternMatch(range: 0..<3, captures: [])
        #expect(try m.capture(at: 0) == .substring(0..<3))
        #expect(throws: MatchError.malformed("invalid capture index %2")) { try m.capture(at: 1) }
        let open = LuaPatternMatch(range: 0..<1, captures: [.unfinished(start: 0)])
        #expect(throws: MatchError.malformed("unfinished capture")) { try open.values() }
        #expect(LuaReplacement("plain").isLiteral)
        #expect(!LuaReplacement("%1").isLiteral)
    }
}
