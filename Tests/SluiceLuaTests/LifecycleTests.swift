import Foundation
import SluiceCore
import SluiceLua
import SluiceTestSupport
import Testing

@Suite("init, process, emit and finish behave as SPEC §6 says")
struct LifecycleTests {
    @Test("init runs once per state with the stage's options; process sees what it set")
    func initOptions() throws {
        let f = try ScriptFixture("""
            local calls = 0
            function init(options)
              calls = calls + 1
              prefix = options.prefix
              limit = options.limit
              nested = options.nested.list[2]
            end
            function process(r) return { text = prefix .. r.text, limit = limit, nested = nested, calls = calls } end
            """, options: ["prefix": ">", "limit": 3, "nested": ["list": [1, 2.5]]])
        #expect(f.output(["text": "a"]) == ["calls": 1, "limit": 3, "nested": 2.5, "text": ">a"])
        #expect(f.output(["text": "b"]) == ["calls": 1, "limit": 3, "nested": 2.5, "text": ">b"])
    }

    @Test("emit adds records before the returned one; nil drops the input but keeps emitted records")
    func emitAndDrop() throws {
        let f = try ScriptFixture("""
            function process(r, emit)
              for i = 1, r.n do emit({ part = i }) end
              if r.drop then return nil end
              return r
            end
            """)
        let kept = try f.run(["n": 2]).get()
        #expect(kept.records == [["part": 1], ["part": 2], ["n": 2]])
        #expect(kept.dropped == false)
        let dropped = try f.run(["n": 1, "drop": true]).get()
        #expect(dropped.records == [["part": 1]])
        #expect(dropped.dropped == true)
    }

    @Test("a failed record loses the records it emitted before failing")
    func emitThenFail() throws {
        let f = try ScriptFixture("""
            function process(r, emit)
              emit({ early = true })
              if r.fail then error("boom") end
              return r
            end
            """)
        let failure = try #require(f.failure(["fail": true]))
        #expect(failure.message == "rule.lua:3: boom")
        #expect(try f.run(["fail": false]).get().records == [["early": true], ["fail": false]])
    }

    @Test("finish can emit aggregates built over all records")
    func finishAggregates() throws {
        let f = try ScriptFixture("""
            local total, count = 0, 0
            function process(r) total = total + r.v; count = count + 1; return nil end
            function finish(emit) emit({ total = total, count = count }) end
            """)
        for v in 1...4 { _ = f.run(["v": .int(Int64(v))]) }
        #expect(try f.rule.finish().get() == [["count": 4, "total": 10]])
    }

    @Test("a script without finish finishes with nothing")
    func noFinish() throws {
        let f = try ScriptFixture("function process(r) return r end")
        #expect(try f.rule.finish().get().isEmpty)
    }

    @Test("emitting something that is not a record is an error at the emit line")
    func emitMisuse() throws {
        let f = try ScriptFixture("""
            function process(r, emit)
              if r.bad then emit("text") end
              if r.list then emit({1, 2}) end
              if r.none then emit() end
              return r
            end
            """)
        #expect(f.failure(["bad": true])?.message == "rule.lua:2: emit: a record must be a table, not a string value")
        #expect(f.failure(["none": true])?.message == "rule.lua:4: emit: a record must be a table, not nothing")
        #expect(f.failure(["list": true])?.message == "rule.lua:3: emit: a record must be a table with named fields, not an array")
        #expect(f.output(["ok": true]) == ["ok": true])
    }

    @Test("a runtime error gives SCRIPT:LINE: message, the script line and a traceback")
    func runtimeError() throws {
        let f = try ScriptFixture("""
            local function helper(r)
              return r.meta.author
            end
            function process(r)
              r.author = helper(r)
              return r
            end
            """)
        let failure = try #require(f.failure(["title": "x"]))
        #expect(failure.message == "rule.lua:2: attempt to index a nil value (field 'meta')")
        #expect(failure.scriptLine == "return r.meta.author")
        #expect(failure.kind == .script)
        let traceback = try #require(failure.traceback)
        #expect(traceback.contains("rule.lua:2: in"))
        #expect(traceback.contains("rule.lua:5: in function 'process'"))
        #expect(failure.details["script_line"] == "return r.meta.author")
        #expect(failure.details["traceback"] != nil)
        #expect(f.output(["meta": ["author": "A"]])?["author"] == "A")
    }

    @Test("error values without a position get the line where they were raised")
    func errorObjects() throws {
        let f = try ScriptFixture("""
            function process(r)
              if r.kind == "table" then error({ code = 1 }) end
              if r.kind == "level0" then error("plain", 0) end
              if r.kind == "tostring" then error(setmetatable({}, { __tostring = function() return "custom" end })) end
              if r.kind == "number" then error(42) end
              return r
            end
            """)
        #expect(f.failure(["kind": "table"])?.message == "rule.lua:2: (error object is a table value)")
        #expect(f.failure(["kind": "level0"])?.message == "rule.lua:3: plain")
        #expect(f.failure(["kind": "tostring"])?.message == "rule.lua:4: custom")
        #expect(f.failure(["kind": "number"])?.message == "rule.lua:5: 42")
    }

    @Test("a syntax error is reported at its line when the rule is built")
    func syntaxError() throws {
        do {
            _ = try ScriptFixture("function process(r)\n  local x = = 1\n  return r\nend\n").rule
            Issue.record("expected a syntax error")
        } catch let failure as LuaFailure {
            #expect(failure.kind == .syntax)
            #expect(failure.message == "rule.lua:2: unexpected symbol near '='")
            #expect(failure.scriptLine == "local x = = 1")
        }
    }

    @Test("a script without process, or with a non-function process, cannot be built")
    func missingProcess() throws {
        #expect(throws: LuaFailure.self) { _ = try ScriptFixture("function proces(r) return r end").rule }
        do {
            _ = try ScriptFixture("process = 5").rule
        } catch let failure as LuaFailure {
            #expect(failure.message == "rule.lua: 'process' must be a function, not a number")
        }
    }

    @Test("an error in init stops the rule from being built, naming the line")
    func initError() throws {
        do {
            _ = try ScriptFixture("function init(o) error('bad options: ' .. tostring(o.x)) end\nfunction process(r) return r end").rule
            Issue.record("expected init to fail")
        } catch let failure as LuaFailure {
            #expect(failure.message == "rule.lua:1: bad options: nil")
        }
    }

    @Test("coroutine.yield straight from process fails the record, and the next one runs")
    func yieldFromProcess() throws {
        let f = try ScriptFixture("function process(r) if r.y then coroutine.yield(1) end return r end")
        #expect(f.failure(["y": true])?.message == "rule.lua:1: attempt to yield from outside a coroutine")
        #expect(f.output(["y": false]) == ["y": false])
    }

    @Test("coroutines inside a script work")
    func coroutines() throws {
        let value = try evaluate("""
            (function()
              local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
              return gen() + gen() + gen()
            end)()
            """)
        #expect(value == 6)
    }

    @Test("a module's error names the module file and line")
    func moduleErrors() throws {
        let f = try ScriptFixture("""
            local m = require("lib.m")
            function process(r) return m.run(r) end
            """, files: ["lib/m.lua": "local M = {}\nfunction M.run(r)\n  return r.x.y\nend\nreturn M\n"])
        let failure = try #require(f.failure(["a": 1]))
        #expect(failure.message.hasPrefix("lib/m.lua:3: attempt to index a nil value"))
        #expect(failure.scriptLine == "return r.x.y")
    }

    @Test("a long script path keeps its full name in messages")
    func longPath() throws {
        let name = String(repeating: "very_long_folder_name/", count: 4) + "extract_facts_from_articles.lua"
        let f = try ScriptFixture("function process(r) error('boom') end", name: name)
        #expect(f.failure()?.message == "\(name):1: boom")
    }

    @Test("a script in 'strict' mode (an erroring __index on _G) still runs: hooks are looked up raw")
    func strictGlobals() throws {
        let f = try ScriptFixture("""
            function process(r) r.ok = true return r end
            setmetatable(_G, {
              __index = function(_, k) error("undefined global " .. tostring(k), 2) end,
              __newindex = function(_, k) error("assignment to undefined global " .. tostring(k), 2) end,
            })
            """)
        #expect(f.output([:]) == ["ok": true])
        #expect(try f.rule.finish().get().isEmpty)
    }

    @Test("metamethods on tables handed to Sluice helpers cannot escape the protected call")
    func metamethodsInHelpers() throws {
        let f = try ScriptFixture("""
            function process(r)
              local opts = setmetatable({}, { __index = function() error("boom from __index") end })
              r.json = sluice.json.encode({ a = 1 }, opts)
              r.gsub = string.gsub("ab", "%a", setmetatable({}, { __index = function(_, k) error("no " .. k) end }))
              return r
            end
            """)
        #expect(f.failure()?.message == "rule.lua:4: no a")
    }

    @Test("a byte order mark and a #! first line are skipped, keeping line numbers")
    func preamble() throws {
        let f = try ScriptFixture("\u{FEFF}#!/usr/bin/env lua\nfunction process(r)\n  error('line three')\nend\n")
        #expect(f.failure()?.message == "rule.lua:3: line three")
        let g = try ScriptFixture("\u{FEFF}function process(r) return { ok = true } end")
        #expect(g.output([:]) == ["ok": true])
    }

    @Test("pcall still catches ordinary errors")
    func pcallWorks() throws {
        #expect(try evaluate(#"select(2, pcall(error, "x", 0))"#) == "x")
        #expect(try evaluate(#"select(1, pcall(function() return 1 end))"#) == true)
        #expect(try evaluate(#"select(2, xpcall(function() error("y", 0) end, function(m) return "handled " .. m end))"#) == "handled y")
    }
}
