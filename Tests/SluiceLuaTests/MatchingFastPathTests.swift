import Foundation
import Testing
@testable import SluiceLua

/// The single-class fast path (`%S+`, `%d+`, `[%w_]+`, `(%a+)`, `()%d+()` …) gives exactly the
/// results of the general machine and charges exactly the same steps, so budgets behave the
/// same whichever path runs. (Agreement with stock lua5.4 is checked in the differential suite.)
@Suite("Lua pattern fast path")
struct MatchingFastPathTests {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Patterns of the fast path's shape, anchored or not, with and without captures.
    static let fastPatterns: [String] = [
        "%S+", "%d+", "%a+", "[%w_]+", "%s+", "%s*", "%a*", "%a?", "%d", ".", ".+", ".*", "[^%s]+",
        "[\u{80}-\u{FF}]+", "%z+", "[%z]*", "a+", "^%S+", "^%d*", "^.", "^%a?", "(%S+)", "(%d*)", "()%a+",
        "%a+()", "()(%w+)()", "()%s*", "^(%a+)", "^()%d+()", "(.)", "(%a?)", "[]]+", "%%+",
    ]

    /// Patterns that look close but must stay on the general machine.
    static let generalPatterns: [String] = [
        ".-", "%a-", "%a+%d", "(%a+", "%a+)", "((%a+))", "(%a+)()()", "%a+$", "%f[%w]%w+", "%b()",
        "()", "", "(%a)%1", "[a", "%", "(()%a+)",
    ]

    static let subjects: [String] = [
        "", " ", "a", "ab", "hello world", "  lead and trail  ", "12 345 6x7", "naïve café 日本 ok",
        "a_b-c d__e", "\u{0}a\u{0}\u{0}b", "]]x%%%y", "\t\n\r", "éé", String(repeating: "word ", count: 40),
    ]

    @Test("single-class repetitions take the fast path; other shapes do not")
    func shapes() throws {
        for p in MatchingFastPathTests.fastPatterns {
            #expect(LuaPattern(MatchingFastPathTests.b(p), fastPaths: true).usesFastPath, "\(p) should use the fast path")
        }
        for p in MatchingFastPathTests.generalPatterns {
            #expect(!LuaPattern(MatchingFastPathTests.b(p), fastPaths: true).usesFastPath, "\(p) should not")
        }
        #expect(!LuaPattern(MatchingFastPathTests.b("%S+"), fastPaths: false).usesFastPath)
    }

    /// find, match, gmatch and gsub of one case, encoded, plus the steps each charged.
    static func results(_ pattern: [UInt8], fastPaths: Bool, subject: [UInt8], luaInit: Int, limit: Int?,
                        replacement: [UInt8], steps: Int) -> String {
        let compiled = LuaPattern(pattern, fastPaths: fastPaths)
        func run(_ body: (UnsafeBufferPointer<UInt8>, inout MatchBudget) throws(MatchError) -> String) -> String {
            var budget = MatchBudget(steps: steps)
            let text: String
            do {
                text = try subject.withUnsafeBufferPointer { (s) throws(MatchError) -> String in try body(s, &budget) }
            } catch {
                text = "\(error)"
            }
            return text + " [left \(budget.remaining)]"
        }
        func encode(_ m: LuaPatternMatch) -> String { "\(m.range)\(m.captures)" }
        let find = run { (s, budget) throws(MatchError) -> String in
            (try compiled.find(in: s, luaInit: luaInit, budget: &budget)).map(encode) ?? "nil"
        }
        let match = run { (s, budget) throws(MatchError) -> String in
            (try compiled.firstMatch(in: s, luaInit: luaInit, budget: &budget)).map(encode) ?? "nil"
        }
        let all = run { (s, budget) throws(MatchError) -> String in
            (try compiled.allMatches(in: s, luaInit: luaInit, budget: &budget)).map(encode).joined(separator: ";")
        }
        let iterated = run { (s, budget) throws(MatchError) -> String in
            var iterator = LuaMatchIterator.gmatch(compiled, luaInit: luaInit, subjectLength: s.count)
            var parts: [String] = []
            while let m = try iterator.next(in: s, budget: &budget) { parts.append(encode(m)) }
            return parts.joined(separator: ";")
        }
        let gsub = run { (s, budget) throws(MatchError) -> String in
            let r = try compiled.gsub(in: s, replacement: LuaReplacement(replacement), maxReplacements: limit, budget: &budget)
            return "\(r.bytes) \(r.count)"
        }
        return [find, match, all, iterated, gsub].joined(separator: "\n")
    }

    @Test("the fast path gives the general machine's results and charges the same steps")
    func agreesWithGeneralMachine() {
        let replacements = ["<%0>", "%1", "", "[%2]", "%%", "x%", "%1%1"]
        let inits = [1, 2, 0, -1, -4, 7, 100]
        let limits: [Int?] = [nil, 1, 2, 0, -1]
        var k = 0
        var differences = 0
        for p in MatchingFastPathTests.fastPatterns {
            for s in MatchingFastPathTests.subjects {
                k += 1
                let pattern = MatchingFastPathTests.b(p)
                let subject = MatchingFastPathTests.b(s)
                let args = (luaInit: inits[k % inits.count], limit: limits[k % limits.count],
                            replacement: MatchingFastPathTests.b(replacements[k % replacements.count]))
                let fast = MatchingFastPathTests.results(pattern, fastPaths: true, subject: subject, luaInit: args.luaInit,
                                                         limit: args.limit, replacement: args.replacement, steps: 1_000_000)
                let general = MatchingFastPathTests.results(pattern, fastPaths: false, subject: subject, luaInit: args.luaInit,
                                                            limit: args.limit, replacement: args.replacement, steps: 1_000_000)
                if fast != general {
                    differences += 1
                    if differences <= 10 {
                        Issue.record("pattern \(p.debugDescription) subject \(s.debugDescription) init \(args.luaInit)\nfast:\n\(fast)\ngeneral:\n\(general)")
                    }
                }
            }
        }
        #expect(differences == 0)
    }

    @Test("with a budget too small, the fast path stops exactly where the general machine does")
    func sameBudgetExhaustion() {
        let subject = MatchingFastPathTests.b(String(repeating: "lorem ipsum  dolor ", count: 20))
        for p in ["%S+", "(%a+)", "()%s*", "%d+", "^%a+", ".", "[%w_]+()"] {
            for steps in [0, 1, 2, 5, 17, 60, 150, 390, 1_000] {
                let fast = MatchingFastPathTests.results(MatchingFastPathTests.b(p), fastPaths: true, subject: subject,
                                                         luaInit: 1, limit: nil, replacement: [], steps: steps)
                let general = MatchingFastPathTests.results(MatchingFastPathTests.b(p), fastPaths: false, subject: subject,
                                                            luaInit: 1, limit: nil, replacement: [], steps: steps)
                #expect(fast == general, "pattern \(p) with \(steps) steps")
            }
        }
    }

    @Test("a fast-path gsub over a megabyte stops with budgetExceeded when the budget runs out")
    func fastPathHonoursBudget() throws {
        let text = Array(String(repeating: "word ", count: 200_000).utf8)
        let pattern = try LuaPattern("%S+")
        #expect(pattern.usesFastPath)
        var budget = MatchBudget(steps: 50_000)
        #expect(throws: MatchError.budgetExceeded) {
            try text.withUnsafeBufferPointer { s throws(MatchError) in
                _ = try pattern.gsub(in: s, replacement: LuaReplacement(""), budget: &budget)
            }
        }
        #expect(budget.remaining == 0)
        var enough = MatchBudget(steps: 10_000_000)
        let r = try text.withUnsafeBufferPointer { s throws(MatchError) in
            try pattern.gsub(in: s, replacement: LuaReplacement(""), budget: &enough)
        }
        #expect(r.count == 200_000)
        #expect(r.bytes == Array(repeating: UInt8(ascii: " "), count: 200_000))
    }

    @Test("gsub output grows past the subject's size (long replacements)")
    func outputGrows() throws {
        let text = Array("a b c d e f g h".utf8)
        let r = try text.withUnsafeBufferPointer { s throws(MatchError) in
            var budget = MatchBudget.unlimited
            return try LuaPattern("%a").gsub(in: s, replacement: LuaReplacement("<%0 and %0 again, long enough to grow>"),
                                            budget: &budget)
        }
        #expect(r.count == 8)
        #expect(String(decoding: r.bytes, as: UTF8.self).hasPrefix("<a and a again, long enough to grow> <b and b"))
        #expect(r.bytes.count == 8 * 36 + 7)
    }
}
