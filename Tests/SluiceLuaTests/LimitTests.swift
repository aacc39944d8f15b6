import Foundation
import SluiceCore
import SluiceLua
import SluiceTestSupport
import Testing

/// Every limit fails only the record that crossed it, with a message naming the script and
/// line, and the next record goes on.
@Suite("Limits stop runaway scripts, one record at a time")
struct LimitTests {
    static let small = LuaLimits(maxInstructions: 200_000, maxMemory: 8 << 20)

    /// A rule running `body` when the record says so; `line` is where `body` starts (line 3).
    static func fixture(_ body: String, limits: LuaLimits = LimitTests.small) throws -> ScriptFixture {
        try ScriptFixture("""
            function process(r)
              if r.go then
                \(body)
              end
              r.ok = true
              return r
            end
            """, limits: limits)
    }

    static func expectNextRecordPasses(_ f: ScriptFixture, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(f.output(["go": false]) == ["go": false, "ok": true], sourceLocation: sourceLocation)
    }

    @Test("an infinite loop hits the instruction limit at its line")
    func infiniteLoop() throws {
        let f = try LimitTests.fixture("while true do end")
        let failure = try #require(f.failure(["go": true]))
        #expect(failure.message == "rule.lua:3: instruction limit of 200000 exceeded")
        #expect(failure.kind == .instructionLimit)
        #expect(failure.scriptLine == "while true do end")
        LimitTests.expectNextRecordPasses(f)
        // The budget is per record: the same state stops the next runaway too.
        #expect(f.failure(["go": true])?.kind == .instructionLimit)
        LimitTests.expectNextRecordPasses(f)
    }

    @Test("pcall, xpcall and coroutines cannot swallow the instruction limit")
    func limitNotSwallowed() throws {
        let attempts = [
            "while true do pcall(function() while true do end end) end",
            "while true do xpcall(function() while true do end end, function(e) return e end) end",
            // The message handler runs with hooks off after a limit error: it must not run at all.
            "xpcall(function() while true do end end, function() while true do end end)",
            "xpcall(function() error('x') end, function() while true do end end)",
            "while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
            "while true do pcall(coroutine.wrap(function() while true do end end)) end",
            "for i = 1, 10 do pcall(string.rep, 'x', -1) end while true do pcall(error, 'x') end",
        ]
        for attempt in attempts {
            let f = try LimitTests.fixture(attempt)
            let failure = try #require(f.failure(["go": true]))
            #expect(failure.kind == .instructionLimit, "\(attempt): \(failure.message)")
            #expect(failure.message.hasPrefix("rule.lua:3: instruction limit of 200000 exceeded"), "\(failure.message)")
            LimitTests.expectNextRecordPasses(f)
        }
    }

    @Test("a string.rep memory bomb hits the memory limit; the state is rebuilt for the next record")
    func memoryBomb() throws {
        let f = try ScriptFixture("""
            count = 0
            function init() inits = (inits or 0) + 1 end
            function process(r)
              count = count + 1
              if r.go then local s = string.rep("x", 1e9) end
              return { count = count, inits = inits }
            end
            """, limits: LuaLimits(maxInstructions: 0, maxMemory: 8 << 20))
        #expect(f.output([:]) == ["count": 1, "inits": 1])
        let failure = try #require(f.failure(["go": true]))
        #expect(failure.message == "rule.lua:5: memory limit of 8388608 bytes exceeded")
        #expect(failure.kind == .memoryLimit)
        // A fresh state: the script and init ran again.
        #expect(f.output([:]) == ["count": 1, "inits": 1])
        #expect(f.rule.memoryUsed < 8 << 20)
    }

    @Test("a huge table hits the memory limit, even inside pcall")
    func hugeTable() throws {
        for body in ["local t = {} for i = 1, 1e8 do t[i] = i end",
                     "pcall(function() local t = {} for i = 1, 1e8 do t[#t + 1] = {i} end end)",
                     "local s = 'x' while true do s = s .. s end"] {
            let f = try LimitTests.fixture(body, limits: LuaLimits(maxInstructions: 0, maxMemory: 8 << 20))
            let failure = try #require(f.failure(["go": true]))
            #expect(failure.kind == .memoryLimit, "\(body): \(failure.message)")
            #expect(failure.message.hasSuffix("memory limit of 8388608 bytes exceeded"))
            #expect(failure.message.hasPrefix("rule.lua:3:"), "\(failure.message)")
            LimitTests.expectNextRecordPasses(f)
        }
    }

    @Test("memory made by a Swift helper counts too (a huge json.decode)")
    func memoryFromSwift() throws {
        let f = try LimitTests.fixture("local t = sluice.json.decode(r.payload)",
                                       limits: LuaLimits(maxInstructions: 0, maxMemory: 2 << 20))
        let payload = "[" + Array(repeating: "\"abcdefghijklmnopqrstuvwxyz0123456789\"", count: 100_000).joined(separator: ",") + "]"
        let failure = try #require(f.failure(["go": true, "payload": .string(payload)]))
        #expect(failure.kind == .memoryLimit)
        #expect(failure.message.hasPrefix("rule.lua:3: memory limit"))
        LimitTests.expectNextRecordPasses(f)
    }

    @Test("a pathological Lua pattern is cut off by the step budget")
    func pathologicalPattern() throws {
        let f = try LimitTests.fixture(#"local found = string.find(string.rep("a", 5000), ".-.-.-b")"#,
                                       limits: LuaLimits(maxInstructions: 5_000_000, maxMemory: 64 << 20))
        let failure = try #require(f.failure(["go": true]))
        #expect(failure.message == "rule.lua:3: pattern too complex: step budget exhausted")
        #expect(failure.kind == .patternBudget)
        LimitTests.expectNextRecordPasses(f)
    }

    @Test("pattern budget exhaustion cannot be swallowed by pcall")
    func patternNotSwallowed() throws {
        let f = try LimitTests.fixture(#"for i = 1, 100 do pcall(string.find, string.rep("a", 3000), ".-.-.-b") end"#)
        #expect(f.failure(["go": true])?.kind == .patternBudget)
        LimitTests.expectNextRecordPasses(f)
    }

    @Test("a pathological regex is cut off by the step budget")
    func pathologicalRegex() throws {
        let f = try LimitTests.fixture(#"local found = sluice.re.find(string.rep("a", 40) .. "!", "^(a+)+$")"#,
                                       limits: LuaLimits(maxInstructions: 5_000_000, maxMemory: 64 << 20))
        let failure = try #require(f.failure(["go": true]))
        #expect(failure.message == "rule.lua:3: pattern too complex: step budget exhausted")
        LimitTests.expectNextRecordPasses(f)
    }

    @Test("library loops the instruction hook never sees are charged: table.move, string.rep of empty strings, sort")
    func chargedLibraryLoops() throws {
        let f = try LimitTests.fixture("table.move({}, 1, 1e15, 2)")
        #expect(f.failure(["go": true])?.message == "rule.lua:3: instruction limit of 200000 exceeded")
        LimitTests.expectNextRecordPasses(f)
        // string.rep of an empty string returns at once instead of looping 10^15 times.
        #expect(try evaluate(#"string.rep("", 1e15) == "" and string.rep("", 1e15, "") == """#) == true)
        let sorts = try LimitTests.fixture("local t = {} for i = 1, 5000 do t[i] = -i end for k = 1, 1000 do table.sort(t) end")
        #expect(sorts.failure(["go": true])?.kind == .instructionLimit)
    }

    @Test("deep recursion fails the record with Lua's stack overflow, not the process")
    func deepRecursion() throws {
        let f = try LimitTests.fixture("local function down(n) return 1 + down(n + 1) end down(1)",
                                       limits: LuaLimits(maxInstructions: 0, maxMemory: 256 << 20))
        let failure = try #require(f.failure(["go": true]))
        #expect(failure.message.contains("stack overflow"))
        LimitTests.expectNextRecordPasses(f)
    }

    @Test("limits of 0 mean no limit")
    func unlimited() throws {
        let f = try LimitTests.fixture("local n = 0 for i = 1, 3e6 do n = n + i end",
                                       limits: LuaLimits(maxInstructions: 0, maxMemory: 0))
        #expect(f.output(["go": true]) == ["go": true, "ok": true])
    }
}
