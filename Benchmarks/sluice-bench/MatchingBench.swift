import Foundation
import SluiceCore
import SluiceLua

/// Speed of the bounded matchers on a 1.5 KB article body, against stock `lua5.4` running the
/// same Lua patterns when it is installed (the engine API, then the `string.*` functions called
/// from a rule, Lua → Swift call included), plus how long a runaway pattern takes to exhaust a
/// 50,000,000-step budget. "× lua5.4" is stock Lua's time divided by ours (above 1: faster).
enum MatchingBench {
    static let body = Array("""
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

    enum Op { case gmatch, gsub, find }

    static let luaCases: [(String, Op, String)] = [
        ("money gmatch", .gmatch, "%$[%d,]+%.?%d*%s*%a*"),
        ("words gmatch", .gmatch, "%a+"),
        ("word count gsub %S+", .gsub, "%S+"),
        ("numbers gmatch (%d+)", .gmatch, "(%d+)"),
        ("frontier words", .gmatch, "%f[%w]%w+"),
        ("squeeze spaces gsub", .gsub, "%s+"),
        ("percent find", .find, "(%d+%.?%d*)%%"),
        ("trim match", .find, "^%s*(.-)%s*$"),
    ]

    static let regexCases: [(String, String, String)] = [
        ("money", "\\$\\d{1,3}(?:,\\d{3})*(?:\\.\\d+)?(?:\\s+(?:billion|million))?", ""),
        ("words \\w+", "\\w+", ""),
        ("percent lookahead", "\\d+(?:\\.\\d+)?(?=%)", ""),
        ("case-insensitive word", "\\bbeijing\\b", "i"),
        ("capitalised names", "\\b\\p{Lu}\\p{Ll}+(?:\\s+\\p{Lu}\\p{Ll}+)+", ""),
    ]

    static func time(_ iterations: Int, _ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { try body() }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / Double(iterations) / 1000
    }

    static func stockLua(_ pattern: String, _ op: Op, iterations: Int) -> Double? {
        let lua = "/usr/bin/lua5.4"
        guard FileManager.default.isExecutableFile(atPath: lua) else { return nil }
        let literal = "\"" + body.map { "\\\($0)" }.joined() + "\""
        let p = "\"" + pattern.utf8.map { "\\\($0)" }.joined() + "\""
        let call: String
        switch op {
        case .gmatch: call = "for _ in string.gmatch(s, p) do end"
        case .gsub: call = "string.gsub(s, p, ' ')"
        case .find: call = "string.find(s, p)"
        }
        let script = """
            local s, p = \(literal), \(p)
            local t = os.clock()
            for _ = 1, \(iterations) do \(call) end
            io.write(string.format("%.6f", (os.clock() - t) / \(iterations) * 1e6))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: lua)
        process.arguments = ["-e", script]
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Double(String(decoding: data, as: UTF8.self))
    }

    /// The `string.*` calls of the Lua job, made from a rule (the Lua → Swift boundary
    /// and the pushing of results included) and by stock lua5.4 on the same body.
    static let ruleCallCases: [(String, String)] = [
        ("gsub(body, \"%S+\", \"\")", "string.gsub(body, \"%S+\", \"\")"),
        ("gmatch money %$[%d%.]+ %a+illion", "for m in string.gmatch(body, \"%$[%d%.]+ %a+illion\") do end"),
        ("gmatch words %a+", "for w in string.gmatch(body, \"%a+\") do end"),
        ("gsub(body, \"%s+\", \" \")", "string.gsub(body, \"%s+\", \" \")"),
        ("gsub(body, \"%a+\", function)", "string.gsub(body, \"%a+\", string.upper)"),
        ("find(body, \"(%d+%.?%d*)%%\")", "string.find(body, \"(%d+%.?%d*)%%\")"),
    ]

    static func ruleCalls() throws {
        print("string.* from a rule               µs/call  stock lua5.4 µs/call  × lua5.4")
        let literal = "\"" + body.map { "\\\($0)" }.joined() + "\""
        let rounds = 500
        for (name, call) in ruleCallCases {
            let source = """
                local body = \(literal)
                function process(record)
                  for _ = 1, \(rounds) do \(call) end
                  return record
                end
                """
            let script = LuaScript(source: source, path: "bench.lua", displayName: "bench.lua")
            let rule = try LuaRule(script: script, settings: LuaSettings(
                stageName: "bench", limits: LuaLimits(maxInstructions: 0, maxMemory: 0)))
            let record = Record([:], origin: .synthetic("bench"))
            var best = Double.infinity
            for _ in 0..<5 {
                // CPU time of this thread, as stock Lua's os.clock, so other processes do not count.
                let start = LuaBench.cpuTime()
                _ = rule.process(record)
                best = min(best, (LuaBench.cpuTime() - start) * 1e6 / Double(rounds))
            }
            var stockBest: Double?
            let lua = "/usr/bin/lua5.4"
            if FileManager.default.isExecutableFile(atPath: lua) {
                let stockScript = """
                    local body = \(literal)
                    local best = math.huge
                    for _ = 1, 5 do
                      local t = os.clock()
                      for _ = 1, \(rounds) do \(call) end
                      best = math.min(best, os.clock() - t)
                    end
                    io.write(string.format("%.6f", best / \(rounds) * 1e6))
                    """
                let process = Process()
                process.executableURL = URL(fileURLWithPath: lua)
                process.arguments = ["-e", stockScript]
                let pipe = Pipe()
                process.standardOutput = pipe
                if (try? process.run()) != nil {
                    let data = pipe.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    stockBest = Double(String(decoding: data, as: UTF8.self))
                }
            }
            let stock = stockBest.map { String(format: "%8.2f              %5.2f", $0, $0 / best) } ?? "     n/a"
            print(String(format: "%-34@ %7.2f  ", name as NSString, best) + stock)
        }
    }

    static func run() throws {
        print("== Matching: \(body.count)-byte article body ==")
        let iterations = 2_000
        try body.withUnsafeBufferPointer { s in
            print("Lua patterns                 µs/call  steps/call  stock lua5.4 µs/call  × lua5.4")
            for (name, op, source) in luaCases {
                let pattern = try LuaPattern(source)
                var steps = 0
                let micros = try time(iterations) {
                    var budget = MatchBudget(steps: 50_000_000)
                    switch op {
                    case .gmatch: _ = try pattern.allMatches(in: s, budget: &budget)
                    case .gsub: _ = try pattern.gsub(in: s, replacement: LuaReplacement(" "), budget: &budget)
                    case .find: _ = try pattern.find(in: s, budget: &budget)
                    }
                    steps = 50_000_000 - budget.remaining
                }
                let stockMicros = stockLua(source, op, iterations: iterations)
                let stock = stockMicros.map { String(format: "%8.2f              %5.2f", $0, $0 / micros) } ?? "     n/a"
                print(String(format: "%-26@ %8.2f  %10d  ", name as NSString, micros, steps) + stock)
            }
            print("Regex (PCRE2), all matches   µs/call  steps/call  matches  interpreter µs/call  × JIT  compile µs (JIT)")
            let workspace = PCRE2Workspace()
            for (name, source, flags) in regexCases {
                let regex = try PCRE2Pattern(source, flags: flags)
                let interpreted = try PCRE2Pattern(source, flags: flags, jit: false)
                var steps = 0
                var count = 0
                let micros = try time(iterations) {
                    var budget = MatchBudget(steps: 50_000_000)
                    count = try regex.allMatches(in: s, budget: &budget, workspace: workspace).count
                    steps = 50_000_000 - budget.remaining
                }
                let interpreterMicros = try time(iterations) {
                    var budget = MatchBudget(steps: 50_000_000)
                    _ = try interpreted.allMatches(in: s, budget: &budget, workspace: workspace)
                }
                let compileMicros = try time(200) { _ = try PCRE2Pattern(source, flags: flags) }
                print(String(format: "%-26@ %8.2f  %10d  %7d  %8.2f            %5.2f  %6.1f",
                             name as NSString, micros, steps, count, interpreterMicros, interpreterMicros / micros,
                             compileMicros))
            }
        }

        try ruleCalls()

        print("== Runaway patterns against a 50,000,000-step budget ==")
        let aaaa = Array(String(repeating: "a", count: 5000).utf8)
        let luaRunaway = try LuaPattern(".-.-.-b")
        let luaMs = try aaaa.withUnsafeBufferPointer { s in
            try time(1) {
                var budget = MatchBudget(steps: 50_000_000)
                do { _ = try luaRunaway.find(in: s, budget: &budget) } catch MatchError.budgetExceeded {}
            } / 1000
        }
        print(String(format: "lua  string.find(rep('a',5000), '.-.-.-b'): %.0f ms (%.1f ns/step)", luaMs, luaMs * 1e6 / 5e7))
        let evil = Array((String(repeating: "a", count: 40) + "b").utf8)
        let workspace = PCRE2Workspace()
        for jit in [true, false] {
            let regexRunaway = try PCRE2Pattern("(a+)+$", jit: jit)
            let regexMs = try evil.withUnsafeBufferPointer { s in
                try time(1) {
                    var budget = MatchBudget(steps: 50_000_000)
                    do {
                        _ = try regexRunaway.firstMatch(in: s, budget: &budget, workspace: workspace)
                    } catch MatchError.budgetExceeded {}
                } / 1000
            }
            print(String(format: "regex (a+)+$ on 'a'*40+'b' (PCRE2, %@): %.0f ms",
                         (regexRunaway.isJIT ? "JIT" : "interpreter") as NSString, regexMs))
        }
    }
}
