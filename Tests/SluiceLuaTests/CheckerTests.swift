import Foundation
import SluiceCore
import SluiceLua
import SluiceTestSupport
import Testing

@Suite("Scripts are checked before they run (sluice validate)")
struct CheckerTests {
    static func check(_ source: String, files: [String: String] = [:]) throws -> [LuaScriptProblem] {
        let dir = TemporaryDirectory("sluice-check")
        for (name, text) in files { try dir.write(name, text) }
        let path = try dir.write("extract.lua", source)
        let script = try LuaScript(path: path, baseDirectory: dir.path)
        return LuaScriptChecker.check(script, settings: LuaSettings(stageName: "facts", baseDirectory: dir.path))
    }

    @Test("a good script has no problems")
    func good() throws {
        #expect(try CheckerTests.check("function init(o) end\nfunction process(r, emit) return r end\nfunction finish(emit) end\nlocal function helper() end\nfunction proceed_with(x) end").isEmpty)
    }

    @Test("a syntax error is reported at its line, and the column of the token it names")
    func syntaxError() throws {
        let problems = try CheckerTests.check("function process(r)\n    local x = = 1\n  return r\nend\n")
        #expect(problems == [LuaScriptProblem(line: 2, column: 15, message: "unexpected symbol near '='")])
    }

    @Test("a syntax error at the end of the file has column 1")
    func syntaxErrorAtEnd() throws {
        let problems = try CheckerTests.check("function process(r)\n  return r\n")
        #expect(problems.count == 1)
        #expect(problems.first?.line == 3)
        #expect(problems.first?.column == 1)
        #expect(problems.first?.message.contains("'end' expected") == true)
    }

    @Test("misspelled hooks get a 'did you mean' at their line")
    func misspelledHooks() throws {
        let problems = try CheckerTests.check("""
            function init_(options) end

            function proces(record, emit)
              return record
            end
            function finsh(emit) end
            """)
        #expect(problems == [
            LuaScriptProblem(line: 1, message: "function 'init_' is not a hook Sluice calls; did you mean 'init'?"),
            LuaScriptProblem(line: 3, message: "function 'proces' is not a hook Sluice calls; did you mean 'process'?"),
            LuaScriptProblem(line: 6, message: "function 'finsh' is not a hook Sluice calls; did you mean 'finish'?"),
        ])
    }

    @Test("a capitalized hook is a misspelling too; a helper with another first letter is not")
    func capitalizedHook() throws {
        let problems = try CheckerTests.check("function Process(r) return r end\nfunction edit(x) end\nfunction unit(x) end")
        #expect(problems == [LuaScriptProblem(line: 1, message: "function 'Process' is not a hook Sluice calls; did you mean 'process'?")])
    }

    @Test("a script without process says so")
    func noProcess() throws {
        #expect(try CheckerTests.check("function transform(r) return r end")
                == [LuaScriptProblem(line: nil, message: "the script defines no global function 'process(record, emit)'")])
    }

    @Test("hooks that are not functions are reported")
    func nonFunctionHooks() throws {
        #expect(try CheckerTests.check("process = {}\ninit = 'x'")
                == [LuaScriptProblem(line: nil, message: "'init' must be a function, not a string"),
                    LuaScriptProblem(line: nil, message: "'process' must be a function, not a table")])
    }

    @Test("an error while the top level runs is reported at its line")
    func topLevelError() throws {
        let problems = try CheckerTests.check("local t = nil\nlocal x = t.field\nfunction process(r) return r end")
        #expect(problems == [LuaScriptProblem(line: 2, message: "the script's top level fails: attempt to index a nil value (local 't')")])
    }

    @Test("a missing module is reported when the top level requires it")
    func missingModule() throws {
        let problems = try CheckerTests.check("local m = require('nowhere')\nfunction process(r) return r end")
        #expect(problems.first?.line == 1)
        #expect(problems.first?.message.contains("module 'nowhere' not found") == true)
        #expect(try CheckerTests.check("local m = require('lib')\nfunction process(r) return r end",
                                       files: ["lib.lua": "return {}"]).isEmpty)
    }

    @Test("a script file that is missing or a folder cannot be read")
    func unreadable() throws {
        let dir = TemporaryDirectory("sluice-check")
        #expect(throws: LuaScriptError.self) { _ = try LuaScript(path: dir.file("none.lua")) }
        do {
            _ = try LuaScript(path: dir.path)
        } catch {
            #expect(error.reason == "is a folder, not a Lua file")
        }
    }

    @Test("display names are relative to the config folder")
    func displayNames() {
        #expect(LuaScript.displayName(of: "/a/b/Scripts/x.lua", relativeTo: "/a/b") == "Scripts/x.lua")
        #expect(LuaScript.displayName(of: "/a/Scripts/x.lua", relativeTo: "/a/b") == "../Scripts/x.lua")
        #expect(LuaScript.displayName(of: "/elsewhere/x.lua", relativeTo: "/a/b/c/d") == "/elsewhere/x.lua")
        #expect(LuaScript.displayName(of: "/a/b/./x.lua", relativeTo: "/a/b/") == "x.lua")
    }

    @Test("a filter condition that does not compile is reported; a good one compiles")
    func conditions() {
        let settings = LuaSettings(stageName: "f")
        #expect(LuaExpression.check("record.word_count >= 100", settings: settings) == nil)
        let failure = LuaExpression.check("record.word_count >=", settings: settings)
        #expect(failure?.message.hasPrefix("condition:") == true)
    }
}
