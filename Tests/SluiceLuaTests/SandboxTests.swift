import Foundation
import SluiceCore
import SluiceLua
import SluiceTestSupport
import Testing

/// Each attempt runs as one record: it must fail (or be refused) with a clear message, and the
/// record after it must go through.
@Suite("The sandbox refuses every way out")
struct SandboxTests {
    /// A rule that runs `attempt` when the record says so, else returns the record.
    static func fixture(_ attempt: String, files: [String: String] = [:], modules: [String] = []) throws -> ScriptFixture {
        try ScriptFixture("""
            function process(r)
              if r.go then
                \(attempt)
              end
              return r
            end
            """, files: files, modules: modules)
    }

    /// Runs the attempt, then checks the next record still passes; returns the failure message.
    static func refused(_ attempt: String, files: [String: String] = [:], modules: [String] = [],
                        sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let f = try fixture(attempt, files: files, modules: modules)
        let message = f.failure(["go": true], sourceLocation: sourceLocation)?.message ?? ""
        #expect(f.output(["go": false, "n": 2], sourceLocation: sourceLocation) == ["go": false, "n": 2],
                sourceLocation: sourceLocation)
        return message
    }

    @Test("io is not there")
    func noIO() throws {
        let message = try SandboxTests.refused(#"local f = io.open("/etc/passwd")"#)
        #expect(message == "rule.lua:3: attempt to index a nil value (global 'io')")
    }

    @Test("os.execute, os.getenv, os.exit, os.remove, os.rename, os.tmpname and os.setlocale are not there")
    func noDangerousOS() throws {
        for name in ["execute", "getenv", "exit", "remove", "rename", "tmpname", "setlocale"] {
            let message = try SandboxTests.refused(#"os.\#(name)("x")"#)
            #expect(message == "rule.lua:3: attempt to call a nil value (field '\(name)')")
        }
    }

    @Test("os.time, os.clock, os.date and os.difftime still work")
    func safeOS() throws {
        let value = try evaluate(#"type(os.time()) == "number" and type(os.clock()) == "number" and os.date("!%Y", 0) == "1970" and os.difftime(2, 1) == 1"#)
        #expect(value == true)
    }

    @Test("a binary chunk from string.dump does not load")
    func noBinaryChunks() throws {
        let f = try ScriptFixture("""
            function process(r)
              local f, err = load(string.dump(function() return 1 end))
              return { loaded = f ~= nil, err = err }
            end
            """)
        let output = try #require(f.output([:]))
        #expect(output["loaded"] == false)
        #expect(output["err"] == "attempt to load a binary chunk (mode is 't')")
        let message = try SandboxTests.refused(#"load("return 1", "x", "b")"#)
        #expect(message == "rule.lua:3: loading binary chunks is not allowed in the sandbox (mode 'b')")
    }

    @Test("load of text works and stays in the sandbox")
    func textLoad() throws {
        #expect(try evaluate(#"load("return 1 + 1")()"#) == 2)
        #expect(try evaluate(#"load("return io")() == nil"#) == true)
        #expect(try evaluate(#"load("return x", "chunk", "t", { x = 5 })()"#) == 5)
    }

    @Test("no C modules: package.loadlib and package.searchpath are gone, cpath is empty")
    func noCModules() throws {
        #expect(try evaluate("package.loadlib == nil and package.searchpath == nil and package.cpath == ''") == true)
        let message = try SandboxTests.refused(#"require("socket.core")"#)
        #expect(message.contains("module 'socket.core' not found"))
        #expect(!message.contains(".so"))
        // One line per place tried, none of them empty.
        #expect(!message.split(separator: "\n", omittingEmptySubsequences: false).contains { $0.trimmingCharacters(in: .whitespaces).isEmpty },
                "\(message)")
        #expect(message.contains("\n\tno file '"))
    }

    @Test("require loads Lua files from the script's folder and the modules folders only")
    func requireInsideFolders() throws {
        let f = try ScriptFixture("""
            local helper = require("lib.helper")
            local extra = require("extra")
            function process(r) r.a = helper.twice(r.n); r.b = extra.name; return r end
            """, files: ["lib/helper.lua": "return { twice = function(n) return 2 * n end }",
                         "mods/extra.lua": "return { name = 'extra' }"],
            modules: ["mods"])
        #expect(f.output(["n": 21]) == ["n": 21, "a": 42, "b": "extra"])
    }

    @Test("require refuses paths out of the folders: '..', '/', absolute names and symlinks")
    func requireTraversal() throws {
        for name in ["../x", "/etc/passwd", "..x", "a/../../b", "x.lua/"] {
            let message = try SandboxTests.refused(#"require("\#(name)")"#)
            #expect(message.contains("module name '\(name)' is not allowed"), "\(name): \(message)")
        }
        // A symlink inside the folder that points outside it is refused too.
        let outside = TemporaryDirectory("sluice-outside")
        try outside.write("secret.lua", "return { secret = true }")
        let f = try SandboxTests.fixture(#"require("link")"#)
        try FileManager.default.createSymbolicLink(atPath: f.directory.file("link.lua"),
                                                   withDestinationPath: outside.file("secret.lua"))
        let message = f.failure(["go": true])?.message ?? ""
        #expect(message.contains("module 'link' is outside the folders scripts may read"))
        #expect(f.output(["go": false]) == ["go": false])
    }

    @Test("dofile and loadfile read only inside the folders, and never standard input")
    func fileLoading() throws {
        let outside = try SandboxTests.refused(#"dofile("/etc/passwd")"#)
        #expect(outside.contains("outside the folders scripts may read"))
        #expect(outside.hasPrefix("rule.lua:"), "the message names the script's line, not the sandbox: \(outside)")
        #expect(try SandboxTests.refused("dofile()").contains("dofile needs a file name"))
        #expect(try SandboxTests.refused(#"loadfile("../../etc/passwd")"#).contains("outside the folders"))
        let f = try ScriptFixture("""
            local get = dofile("data.lua")
            function process(r) r.v = get(); r.f = loadfile("data.lua") ~= nil; return r end
            """, files: ["data.lua": "return function() return 'from file' end"])
        #expect(f.output([:]) == ["v": "from file", "f": true])
    }

    @Test("debug is reduced to traceback: no sethook, getinfo, setmetatable, getlocal")
    func reducedDebug() throws {
        #expect(try SandboxTests.refused("debug.sethook()") == "rule.lua:3: attempt to call a nil value (field 'sethook')")
        #expect(try SandboxTests.refused("debug.getinfo(1)") == "rule.lua:3: attempt to call a nil value (field 'getinfo')")
        #expect(try SandboxTests.refused("debug.setmetatable('', {})").contains("field 'setmetatable'"))
        #expect(try evaluate("type(debug.traceback())") == "string")
    }

    @Test("the string metatable cannot be read or changed")
    func stringMetatable() throws {
        #expect(try evaluate(#"getmetatable("")"#) == "string")
        let message = try SandboxTests.refused(#"getmetatable("").__index = function() return 1 end"#)
        #expect(message.hasPrefix("rule.lua:3: attempt to index a string value"))
        #expect(try SandboxTests.refused(#"setmetatable("", {})"#).contains("bad argument #1 to 'setmetatable'"))
        // Strings still have their methods.
        #expect(try evaluate(#"("abc"):upper()"#) == "ABC")
    }

    @Test("record tables' metatables are protected")
    func recordMetatables() throws {
        #expect(try SandboxTests.refused("setmetatable(r, nil)").contains("cannot change a protected metatable"))
    }

    @Test("collectgarbage cannot stop the collector; harmless options work")
    func collectgarbage() throws {
        let message = try SandboxTests.refused(#"collectgarbage("stop")"#)
        #expect(message == "rule.lua:3: collectgarbage('stop') is not allowed in the sandbox")
        #expect(try SandboxTests.refused(#"collectgarbage("generational")"#).contains("not allowed"))
        #expect(try evaluate(#"type(collectgarbage("count")) == "number" and collectgarbage() == 0"#) == true)
    }

    @Test("finalizers (__gc) are refused")
    func noFinalizers() throws {
        let message = try SandboxTests.refused("setmetatable({}, { __gc = function() while true do end end })")
        #expect(message == "rule.lua:3: __gc metamethods are not allowed in the sandbox")
    }

    @Test("print goes to the log, not to standard output")
    func printIsLogged() throws {
        #expect(try evaluate(#"print("hello", 1, {a = 1}) == nil"#) == true)
    }

    @Test("sandbox: false gives the whole standard library")
    func unsandboxed() throws {
        let f = try ScriptFixture("function process(r) return { io = io ~= nil, exec = os.execute ~= nil, hook = debug.sethook ~= nil } end",
                                  sandbox: false)
        #expect(f.output([:]) == ["exec": true, "hook": true, "io": true])
    }
}
