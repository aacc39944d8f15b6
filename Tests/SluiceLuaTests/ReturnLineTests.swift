import Foundation
import SluiceCore
@testable import SluiceLua
import SluiceTestSupport
import Testing

@Suite("a wrong return type points at the return statement")
struct ReturnLineTests {
    @Test("a rule whose return on line 7 gives a string fails at line 7, not at `function process` (line 1)")
    func returnOnLineSeven() throws {
        let fixture = try ScriptFixture("""
            function process(record, emit)
              local words = 0
              for _ in string.gmatch(record.body or "", "%S+") do
                words = words + 1
              end
              record.words = words
              return record.title
            end
            """)
        let failure = try #require(fixture.failure(["title": "Hello", "body": "one two"]))
        #expect(failure.message.hasPrefix("rule.lua:7: process returned a string"), "\(failure.message)")
        #expect(failure.scriptLine?.contains("return record.title") == true, "the dead letter quotes that line: \(String(describing: failure.scriptLine))")
    }

    @Test("among several returns, the one whose literal has the returned type is named; returns of nested functions do not count")
    func literalWins() throws {
        let fixture = try ScriptFixture("""
            local function helper(x)
              return "not this one"
            end
            function process(r)
              local f = function() return 42 end
              if r.n == 1 then return nil end
              if r.n == 2 then return { n = 2 } end
              if r.n == 3 then return 3 end
              return r
            end
            """)
        let failure = try #require(fixture.failure(["n": 3]))
        #expect(failure.message.hasPrefix("rule.lua:8: process returned a number"), "\(failure.message)")
    }

    @Test("when several returns could have given the value, the message names their lines")
    func ambiguous() throws {
        let fixture = try ScriptFixture("""
            function process(r)
              if r.a then
                return r.a
              end
              return r.b
            end
            """)
        let failure = try #require(fixture.failure(["a": "x"]))
        #expect(failure.message.hasPrefix("rule.lua:1: process returned a string"), "\(failure.message)")
        #expect(failure.message.contains("one of the returns on lines 3, 5"), "\(failure.message)")
    }

    @Test("the scanner skips strings and comments that contain `return`, `end` or `function`")
    func scannerSkipsStringsAndComments() {
        let source = Array("""
            function process(r) -- return "no" end
              local s = "end return 'x' function"
              --[[ return 1
              end ]]
              local t = [==[ ]] end ]==]
              return s
            end
            """.utf8)
        #expect(LuaReturnLines.returns(in: source, firstLine: 1) == [LuaReturnLines.Return(line: 6, kind: .unknown)])
    }
}
