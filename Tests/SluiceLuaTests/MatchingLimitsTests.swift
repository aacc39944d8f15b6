import Testing
@testable import SluiceLua

/// Pathological patterns end in `budgetExceeded` instead of hanging; huge subjects neither crash
/// nor overflow the stack; ordinary work costs what the budget model promises.
@Suite("Matching budgets and big subjects")
struct MatchingLimitsTests {
    static func luaFind(_ pattern: String, _ subject: [UInt8], steps: Int) -> (Result<LuaPatternMatch?, MatchError>, MatchBudget) {
        var budget = MatchBudget(steps: steps)
        let result = subject.withUnsafeBufferPointer { s in
            Result { () throws(MatchError) -> LuaPatternMatch? in
                try LuaPattern(pattern).find(in: s, budget: &budget)
            }
        }
        return (result, budget)
    }

    static func regexFind(_ pattern: String, flags: String = "", _ subject: [UInt8],
                          steps: Int) -> (Result<PCRE2Match?, MatchError>, MatchBudget) {
        var budget = MatchBudget(steps: steps)
        let result = subject.withUnsafeBufferPointer { s in
            Result { () throws(MatchError) -> PCRE2Match? in
                try PCRE2Pattern(pattern, flags: flags).firstMatch(in: s, budget: &budget, workspace: PCRE2Workspace())
            }
        }
        return (result, budget)
    }

    static let luaPathological: [(String, [UInt8])] = [
        (".-.-.-b", Array(String(repeating: "a", count: 5000).utf8)),
        ("a*a*a*a*a*a*b", Array(String(repeating: "a", count: 3000).utf8)),
        ("(.-)%1%1x", Array(String(repeating: "ab", count: 2000).utf8)),
        ("%b()", Array(String(repeating: "(", count: 200_000).utf8)),
        ("(.*)(.*)(.*)$x", Array(String(repeating: "z", count: 3000).utf8)),
    ]

    @Test("pathological Lua patterns stop with budgetExceeded and leave the budget at zero",
          arguments: 0..<luaPathological.count)
    func luaPathologicalStops(_ index: Int) {
        let (pattern, subject) = MatchingLimitsTests.luaPathological[index]
        let (result, budget) = MatchingLimitsTests.luaFind(pattern, subject, steps: 2_000_000)
        #expect(throws: MatchError.budgetExceeded) { try result.get() }
        #expect(budget.remaining == 0)
    }

    @Test("the same Lua pattern works again after a budget ran out")
    func luaReusableAfterExhaustion() throws {
        let pattern = try LuaPattern(".-.-.-b")
        var small = MatchBudget(steps: 10_000)
        let long = Array(String(repeating: "a", count: 2000).utf8)
        #expect(throws: MatchError.budgetExceeded) {
            try long.withUnsafeBufferPointer { s throws(MatchError) in _ = try pattern.find(in: s, budget: &small) }
        }
        var fresh = MatchBudget(steps: 10_000)
        let m = try Array("xxab".utf8).withUnsafeBufferPointer { s throws(MatchError) in
            try pattern.find(in: s, budget: &fresh)
        }
        #expect(m?.range == 0..<4)
        #expect(fresh.remaining > 0 && fresh.remaining < 10_000)
    }

    @Test("one budget is shared by all matches of a gsub and a gmatch")
    func luaIterationsShareBudget() throws {
        let pattern = try LuaPattern("%a+")
        let text = Array(String(repeating: "word ", count: 10_000).utf8)
        var budget = MatchBudget(steps: 5_000)
        #expect(throws: MatchError.budgetExceeded) {
            try text.withUnsafeBufferPointer { s throws(MatchError) in
                _ = try pattern.gsub(in: s, replacement: LuaReplacement("x"), budget: &budget)
            }
        }
        var iterator = LuaMatchIterator.gmatch(pattern, subjectLength: text.count)
        var budget2 = MatchBudget(steps: 5_000)
        var seen = 0
        #expect(throws: MatchError.budgetExceeded) {
            try text.withUnsafeBufferPointer { s throws(MatchError) in
                while try iterator.next(in: s, budget: &budget2) != nil { seen += 1 }
            }
        }
        #expect(seen > 100 && seen < 10_000)
    }

    /// Each subject holds the character the pattern requires (PCRE2 proves a match impossible
    /// at once when it is missing) where it cannot complete a match.
    static let regexPathological: [(String, [UInt8])] = [
        ("(a+)+$", Array((String(repeating: "a", count: 40) + "b").utf8)),
        ("(a|a)*b", Array((String(repeating: "a", count: 40) + "cb").utf8)),
        ("(x+x+)+y", Array((String(repeating: "x", count: 40) + "!y").utf8)),
        ("^(\\w+\\s?)+$", Array((String(repeating: "word ", count: 20) + "!").utf8)),
        ("(.*a){12}x", Array((String(repeating: "a", count: 200) + "\nx").utf8)),
        ("(a*)*\\1b", Array((String(repeating: "a", count: 300) + "!b").utf8)),
        ("^(a|aa)+$", Array((String(repeating: "a", count: 60) + "!").utf8)),
        (".*.*.*x", Array((String(repeating: "é", count: 3000) + "\nx").utf8)),
    ]

    @Test("pathological regexes stop with budgetExceeded", arguments: 0..<regexPathological.count)
    func regexPathologicalStops(_ index: Int) {
        let (pattern, subject) = MatchingLimitsTests.regexPathological[index]
        let (result, budget) = MatchingLimitsTests.regexFind(pattern, subject, steps: 2_000_000)
        #expect(throws: MatchError.budgetExceeded) { try result.get() }
        #expect(budget.remaining == 0)
    }

    /// Patterns that were runaway cases for a plain backtracker, on subjects without the
    /// character they require: PCRE2 proves there is no match before trying any.
    static let regexProvedImpossible: [(String, [UInt8])] = [
        ("(a|a)*b", Array(String(repeating: "a", count: 40).utf8)),
        ("(x+x+)+y", Array(String(repeating: "x", count: 40).utf8)),
        ("(.*a){12}x", Array(String(repeating: "a", count: 200).utf8)),
        ("(?:(?=(a+))a)*b", Array(String(repeating: "a", count: 5000).utf8)),
        ("(a*)*\\1b", Array(String(repeating: "a", count: 300).utf8)),
        (".*.*.*x", Array(String(repeating: "é", count: 3000).utf8)),
    ]

    @Test("runaway shapes whose required character is missing fail at once, within budget",
          arguments: 0..<regexProvedImpossible.count)
    func regexProvedImpossibleIsCheap(_ index: Int) throws {
        let (pattern, subject) = MatchingLimitsTests.regexProvedImpossible[index]
        let (result, budget) = MatchingLimitsTests.regexFind(pattern, subject, steps: 2_000_000)
        #expect(try result.get() == nil)
        #expect(budget.remaining > 2_000_000 - 20_000)
    }

    @Test("(a+)+$ still answers correctly on a short subject within budget")
    func catastrophicPatternOnSmallInput() throws {
        let (result, budget) = MatchingLimitsTests.regexFind("(a+)+$", Array("aaab".utf8), steps: 10_000)
        #expect(try result.get() == nil)
        #expect(budget.remaining > 0)
        let (ok, _) = MatchingLimitsTests.regexFind("(a+)+$", Array("baaa".utf8), steps: 10_000)
        #expect(try ok.get()?.range == 1..<4)
    }

    static func megabyteText() -> [UInt8] {
        var text: [UInt8] = []
        let words = ["lorem", "ipsum", "dolor", "sit", "amet", "café", "naïve", "日本"]
        var k = 0
        while text.count < 1_000_000 {
            text += Array(words[k % words.count].utf8)
            text.append(k % 13 == 0 ? 0x0A : 0x20)
            k += 1
        }
        return text + Array("contact: bob@example.com end".utf8)
    }

    @Test("regexes over a 1 MB subject finish without overflowing the stack")
    func regexMegabyte() throws {
        let text = MatchingLimitsTests.megabyteText()
        let big = 200_000_000
        let (email, _) = MatchingLimitsTests.regexFind("(\\w+)@(\\w+)\\.com", text, steps: big)
        let m = try #require(try email.get())
        #expect(m.range.upperBound == text.count - 4)
        let (all, _) = MatchingLimitsTests.regexFind("(?s).*", text, steps: big)
        #expect(try all.get()?.range == 0..<text.count)
        let (loop, _) = MatchingLimitsTests.regexFind("^(?:\\w+[ \\n])*contact", text, steps: big)
        #expect(try loop.get()?.range.lowerBound == 0)
        let (lazy, _) = MatchingLimitsTests.regexFind("^.*?end$", flags: "s", text, steps: big)
        #expect(try lazy.get()?.range == 0..<text.count)
        let ab = Array(String(repeating: "ab", count: 500_000).utf8) + [0x63]
        let (alternation, _) = MatchingLimitsTests.regexFind("^(?:a|b)*c", ab, steps: big)
        #expect(try alternation.get()?.range == 0..<ab.count)
        let (behind, _) = MatchingLimitsTests.regexFind("(?<=aaa)c", Array(String(repeating: "a", count: 1_000_000).utf8) + [0x63], steps: big)
        #expect(try behind.get()?.range == 1_000_000..<1_000_001)
    }

    @Test("a regex needing more backtracking memory than allowed reports budgetExceeded")
    func regexStackCap() {
        let ab = Array(String(repeating: "ab", count: 1_500_000).utf8)
        let (result, _) = MatchingLimitsTests.regexFind("^(a|b)*c", ab, steps: Int.max)
        #expect(throws: MatchError.budgetExceeded) { try result.get() }
    }

    @Test("Lua patterns over a 1 MB subject finish without overflowing the stack")
    func luaMegabyte() throws {
        let text = MatchingLimitsTests.megabyteText()
        var budget = MatchBudget(steps: 200_000_000)
        try text.withUnsafeBufferPointer { s throws(MatchError) in
            let email = try LuaPattern("(%w+)@(%w+)%.com").find(in: s, budget: &budget)
            #expect(email?.range.upperBound == text.count - 4)
            let squeezed = try LuaPattern("%s+").gsub(in: s, replacement: LuaReplacement(" "), budget: &budget)
            #expect(squeezed.count > 100_000)
            #expect(!squeezed.bytes.contains(0x0A))
            let words = try LuaPattern("%a+").allMatches(in: s, budget: &budget)
            #expect(words.count > 100_000)
            let whole = try LuaPattern("^(.-)end$").firstMatch(in: s, budget: &budget)
            #expect(whole?.range == 0..<text.count)
            let greedy = try LuaPattern("^.*$").firstMatch(in: s, budget: &budget)
            #expect(greedy?.range == 0..<text.count)
        }
    }

    static let article = Array("""
        BEIJING — China's exports rose 7.2% in October, the customs office said on Nov. 7, 2025, \
        beating forecasts as shipments to Southeast Asia climbed. Trade with the bloc reached \
        $14.25 billion, while imports slipped 1.1% to $201.5 billion. Analysts at the bank said \
        the surplus of $95.7 billion was the largest since June. "Demand held up better than \
        we feared," said economist Li Wei, adding that a weaker yuan helped. The figures come \
        ahead of talks in Washington next week, where officials will discuss tariffs on steel, \
        solar panels and electric vehicles. Shares in Shanghai rose 0.8% and the Hang Seng index \
        gained 1.3% by midday. Exporters of machinery and chips led the gains, with shipments of \
        integrated circuits up 21% from a year earlier. Rare-earth exports, however, fell for a \
        third month, to 4,020 tonnes, the lowest since 2023. The ministry said it would keep \
        "a prudent monetary policy" and support private firms. Beijing set a growth target of \
        around 5% for the year; economists expect 4.8%. Consumer prices were flat, and producer \
        prices fell 2.1%, extending a deflationary streak that began in late 2022. Officials also \
        reported that foreign direct investment fell 10.4% in the first ten months. The data \
        were released at 10:00 a.m. local time, and markets in Europe opened higher on the news, \
        with carmakers and luxury groups, which depend on Chinese buyers, among the best performers \
        of the morning session. Editor: Jane Doe. Source: Reuters.
        """.utf8)

    @Test("an ordinary pattern over a 1.5 KB article costs a few thousand steps, not more")
    func ordinaryCost() throws {
        #expect(MatchingLimitsTests.article.count > 1400)
        var budget = MatchBudget(steps: 1_000_000)
        let before = budget.remaining
        let money = try MatchingLimitsTests.article.withUnsafeBufferPointer { s throws(MatchError) in
            try LuaPattern("%$[%d,]+%.?%d*%s*%a*").allMatches(in: s, budget: &budget)
        }
        #expect(money.count == 3)
        let luaCost = before - budget.remaining
        #expect(luaCost > 1_000 && luaCost < 20_000, "Lua gmatch cost \(luaCost) steps")

        var regexBudget = MatchBudget(steps: 1_000_000)
        let regex = try PCRE2Pattern("\\$\\d{1,3}(?:,\\d{3})*(?:\\.\\d+)?(?:\\s+(?:billion|million))?")
        let found = try MatchingLimitsTests.article.withUnsafeBufferPointer { s throws(MatchError) in
            try regex.allMatches(in: s, budget: &regexBudget, workspace: PCRE2Workspace())
        }
        #expect(found.count == 3)
        let regexCost = 1_000_000 - regexBudget.remaining
        #expect(regexCost > 100 && regexCost < 20_000, "regex cost \(regexCost) steps")
    }
}
