import Foundation
import SluiceCore
import SluiceLua
import SluiceTestSupport
import Testing

/// The bounded string.find/match/gmatch/gsub keep Lua 5.4's behaviour (the matcher itself has
/// its own differential suite against lua5.4 in the Matching tests).
@Suite("string pattern functions behave like stock Lua")
struct PatternFunctionTests {
    @Test("find returns positions and captures; plain find and init work")
    func find() throws {
        #expect(try evaluate(#"{ string.find("hello world", "o w") }"#) == [5, 7])
        #expect(try evaluate(#"{ string.find("hello world", "(o)%s(w)") }"#) == [5, 7, "o", "w"])
        #expect(try evaluate(#"{ string.find("a.b", ".", 1, true) }"#) == [2, 2])
        #expect(try evaluate(#"{ string.find("abcabc", "b", 3) }"#) == [5, 5])
        #expect(try evaluate(#"{ string.find("abc", "b", -2) }"#) == [2, 2])
        #expect(try evaluate(#"string.find("abc", "x") == nil"#) == true)
        #expect(try evaluate(#"string.find("abc", "", 10) == nil"#) == true)
        #expect(try evaluate(#"{ ("key=val"):find("(%w+)=(%w+)") }"#) == [1, 7, "key", "val"])
    }

    @Test("match returns captures, the whole match, or position captures")
    func match() throws {
        #expect(try evaluate(#"string.match("Price: $14.25", "%$([%d%.]+)")"#) == "14.25")
        #expect(try evaluate(#"string.match("hello", "l+")"#) == "ll")
        #expect(try evaluate(#"{ string.match("hello", "()ll()") }"#) == [3, 5])
        #expect(try evaluate(#"string.match("  x  ", "^%s*(.-)%s*$")"#) == "x")
        #expect(try evaluate(#"string.match("THE (quick) fox", "%b()")"#) == "(quick)")
        #expect(try evaluate(#"string.match("THE (quick) fox", "%f[%a]%a+", 5)"#) == "quick")
    }

    @Test("gmatch iterates matches, with init and a literal leading ^")
    func gmatch() throws {
        #expect(try evaluate(#"(function() local t = {} for w in string.gmatch("one two  three", "%a+") do t[#t+1] = w end return t end)()"#)
                == ["one", "two", "three"])
        #expect(try evaluate(#"(function() local t = {} for k, v in string.gmatch("a=1, b=2", "(%w+)=(%w+)") do t[k] = v end return t end)()"#)
                == ["a": "1", "b": "2"])
        #expect(try evaluate(#"(function() local n = 0 for _ in ("abc"):gmatch("") do n = n + 1 end return n end)()"#) == 4)
        #expect(try evaluate(#"(function() local t = {} for w in string.gmatch("^a^b", "^%a") do t[#t+1] = w end return t end)()"#)
                == ["^a", "^b"])
        #expect(try evaluate(#"(function() local t = {} for w in string.gmatch("ab cd ef", "%a+", 4) do t[#t+1] = w end return t end)()"#)
                == ["cd", "ef"])
    }

    @Test("gsub replaces with strings, tables and functions, honours n, and counts")
    func gsub() throws {
        #expect(try evaluate(#"{ string.gsub("hello world", "o", "0") }"#) == ["hell0 w0rld", 2])
        #expect(try evaluate(#"{ string.gsub("hello world", "(%w+)", "<%1>") }"#) == ["<hello> <world>", 2])
        #expect(try evaluate(#"{ string.gsub("abc", "%w", "%0%0", 2) }"#) == ["aabbc", 2])
        #expect(try evaluate(#"{ string.gsub("$name is $age", "%$(%w+)", { name = "Li", age = 30 }) }"#) == ["Li is 30", 2])
        #expect(try evaluate(#"{ string.gsub("a b c", "%a", function(c) if c == "b" then return nil end return c:upper() end) }"#)
                == ["A b C", 3])
        #expect(try evaluate(#"{ string.gsub("abc", "", "-") }"#) == ["-a-b-c-", 4])
        #expect(try evaluate(#"{ string.gsub("hello", "^h", "H") }"#) == ["Hello", 1])
    }

    @Test("bad patterns and replacements raise Lua's own messages at the script line")
    func errors() throws {
        let f = try ScriptFixture("""
            function process(r)
              if r.k == 1 then string.find("x", "[a") end
              if r.k == 2 then string.gsub("abc", "b", "%9") end
              if r.k == 3 then string.gsub("abc", "b", {b = {}}) end
              if r.k == 4 then string.find(nil, "x") end
              return r
            end
            """)
        #expect(f.failure(["k": 1])?.message == "rule.lua:2: malformed pattern (missing ']')")
        #expect(f.failure(["k": 2])?.message == "rule.lua:3: invalid capture index %9")
        #expect(f.failure(["k": 3])?.message == "rule.lua:4: invalid replacement value (a table)")
        #expect(f.failure(["k": 4])?.message == "rule.lua:5: bad argument #1 to 'find' (string expected, got nil)")
        #expect(f.output(["k": 0]) == ["k": 0])
    }

    @Test("many dynamic patterns (more than the cache holds, addresses reused) still match correctly")
    func patternCache() throws {
        let value = try evaluate("""
            (function()
              local s = string.rep("ab", 50)
              local ok = 0
              for round = 1, 3 do
                for i = 1, 150 do
                  collectgarbage()               -- let pattern strings die and addresses be reused
                  local pattern = "^" .. string.rep("ab", i % 60 + 1) .. "()"
                  if string.match(s, pattern) == 2 * (i % 60 + 1) + 1 then ok = ok + 1 end
                end
              end
              return ok
            end)()
            """)
        #expect(value == 390)   // what stock lua5.4 gives: k > 50 cannot match
    }

    /// A Lua chunk exercising the Lua-facing find/match/gmatch/gsub on fast-path patterns and
    /// near-misses, returning every result hex-encoded (errors with their position prefix
    /// removed), so the same chunk can run in a rule and in stock lua5.4.
    static let bindingChunk = #"""
        local subjects = { "", "hello world", "  lead  trail ", "12 345 6x7", "naïve café 日本", "a\0b\0\0c", "x", "aaa" }
        local patterns = { "%S+", "%d+", "%a+", "[%w_]+", "(%S+)", "()%a+()", "()(%w+)()", "%s*", "^%S+", "^(%a*)",
                           ".", "%a?", "%f[%w]%w+", ".-", "%a+$", "[a" }
        local repls = { "<%0>", "%1", "", "[%1|%0]", "%%", "%2",
                        function(a, b) return tostring(a):upper() .. (b ~= nil and tostring(b) or "") end,
                        function() return nil end, function() return false end, function(w) if #tostring(w) > 3 then return "#" end end,
                        { hello = "HI", world = 42, ["12"] = "twelve", lead = false }, 7 }
        local counts = { false, 1, 2, 0, -1, false }
        local function enc(ok, ...)
          if not ok then return "E:" .. (tostring((...)):gsub("^[^\n]-:%d+: ", "")) end
          local t = table.pack(...)
          local o = {}
          for i = 1, t.n do o[#o + 1] = type(t[i]) .. ":" .. tostring(t[i]) end
          return table.concat(o, ",")
        end
        local function gm(s, p, init)
          local g = {}
          local it = string.gmatch(s, p, init)
          while true do
            local r = table.pack(it())
            if r[1] == nil then break end
            g[#g + 1] = enc(true, table.unpack(r, 1, r.n))
          end
          return table.concat(g, ";")
        end
        local out = {}
        for i, s in ipairs(subjects) do
          for j, p in ipairs(patterns) do
            out[#out + 1] = enc(pcall(string.find, s, p))
            out[#out + 1] = enc(pcall(string.find, s, p, 3))
            out[#out + 1] = enc(pcall(string.match, s, p, -4))
            out[#out + 1] = enc(pcall(gm, s, p))
            out[#out + 1] = enc(pcall(gm, s, p, 2))
            for k, r in ipairs(repls) do
              local n = counts[(i + j + k) % #counts + 1]
              if n then out[#out + 1] = enc(pcall(string.gsub, s, p, r, n))
              else out[#out + 1] = enc(pcall(string.gsub, s, p, r)) end
            end
          end
        end
        return (table.concat(out, "\n"):gsub(".", function(c) return string.format("%02x", c:byte()) end))
        """#

    @Test("string.find/match/gmatch/gsub in a rule agree with lua5.4 on fast-path patterns and every replacement kind")
    func bindingsMatchStockLua() throws {
        let luaPath = "/usr/bin/lua5.4"
        try #require(FileManager.default.isExecutableFile(atPath: luaPath), "needs the stock interpreter: apt-get install lua5.4")
        let chunk = PatternFunctionTests.bindingChunk
        let folder = TemporaryDirectory("sluice-binding-diff")
        let script = try folder.write("stock.lua", "io.write((function()\n\(chunk)\nend)())")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: luaPath)
        process.arguments = [script]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let expected = String(decoding: data, as: UTF8.self)
        try #require(expected.count > 1000)
        let fixture = try ScriptFixture("function process(record) return { result = (function()\n\(chunk)\nend)() } end",
                                        limits: LuaLimits(maxInstructions: 0, maxMemory: 0))
        guard case .string(let ours)? = fixture.output([:])?["result"] else {
            Issue.record("the rule returned no result")
            return
        }
        if ours != expected {
            let decode = { (hex: String) -> [String] in
                var bytes: [UInt8] = []
                var i = hex.startIndex
                while i < hex.endIndex, let j = hex.index(i, offsetBy: 2, limitedBy: hex.endIndex),
                      let b = UInt8(hex[i..<j], radix: 16) { bytes.append(b); i = j }
                return String(decoding: bytes, as: UTF8.self).components(separatedBy: "\n")
            }
            let (a, b) = (decode(ours), decode(expected))
            for (k, (x, y)) in zip(a, b).enumerated() where x != y {
                Issue.record("line \(k): ours \(x.debugDescription), lua5.4 \(y.debugDescription)")
                break
            }
            #expect(a.count == b.count)
        }
        #expect(ours == expected)
    }

    @Test("a fast-path gsub over a huge string is cut off by the step budget")
    func fastPathBudget() throws {
        let f = try ScriptFixture("""
            function process(r)
              local _, n = string.gsub(string.rep("word ", 2000000), "%S+", "")
              r.n = n
              return r
            end
            """, limits: LuaLimits(maxInstructions: 1_000_000, maxMemory: 64 << 20))
        let failure = try #require(f.failure(["go": true]))
        #expect(failure.message == "rule.lua:2: pattern too complex: step budget exhausted")
        #expect(failure.kind == .patternBudget)
    }

    @Test("a gsub replacement function that fails fails the record at its own line")
    func gsubFunctionError() throws {
        let f = try ScriptFixture("""
            function process(r)
              r.s = r.s:gsub("%a", function(c)
                error("no " .. c)
              end)
              return r
            end
            """)
        #expect(f.failure(["s": "ab"])?.message == "rule.lua:3: no a")
    }
}

@Suite("sluice.re: regular expressions")
struct RegexFunctionTests {
    @Test("find and match with groups, flags in place of init, and false for absent groups")
    func findAndMatch() throws {
        #expect(try evaluate(#"{ sluice.re.find("Trade reached $14.25 billion", [[\$(\d+(?:\.\d+)?)\s*(billion|million)]]) }"#)
                == [15, 28, "14.25", "billion"])
        #expect(try evaluate(#"sluice.re.match("Hello WORLD", "world", "i")"#) == "WORLD")
        #expect(try evaluate(#"{ sluice.re.match("ab", "(a)(x)?(b)") }"#) == ["a", false, "b"])
        #expect(try evaluate(#"sluice.re.match("café crème", [[\w+$]])"#) == "crème")
        #expect(try evaluate(#"sluice.re.match("abc", "x") == nil"#) == true)
        #expect(try evaluate(#"sluice.re.find("aXbX", "X", 3)"#) == 4)
    }

    @Test("exec returns a table with named groups")
    func exec() throws {
        #expect(try evaluate(#"sluice.re.exec("on 2025-07-15", [[(?<y>\d{4})-(?<m>\d\d)-(?<d>\d\d)]])"#) == [
            "1": "2025", "2": "07", "3": "15", "d": "15", "end": 13, "m": "07", "match": "2025-07-15", "start": 4, "y": "2025",
        ])
    }

    @Test("gmatch iterates matches and steps over empty matches by one character")
    func gmatch() throws {
        #expect(try evaluate(#"(function() local t = {} for n in sluice.re.gmatch("a1 b22 c333", [[\d+]]) do t[#t+1] = n end return t end)()"#)
                == ["1", "22", "333"])
        #expect(try evaluate(#"(function() local t = {} for k, v in sluice.re.gmatch("x=1;Y=2", [[(\w)=(\d)]], "i") do t[#t+1] = k .. v end return t end)()"#)
                == ["x1", "Y2"])
        #expect(try evaluate(#"(function() local n = 0 for _ in sluice.re.gmatch("éé", "") do n = n + 1 end return n end)()"#) == 3)
    }

    @Test("gsub with templates, named groups, tables, functions and a limit")
    func gsub() throws {
        #expect(try evaluate(#"{ sluice.re.gsub("2025-07-15", [[(\d+)-(\d+)-(\d+)]], "$3/$2/$1") }"#) == ["15/07/2025", 1])
        #expect(try evaluate(#"{ sluice.re.gsub("John Smith", [[(?<first>\w+) (?<last>\w+)]], "${last}, ${first}") }"#) == ["Smith, John", 1])
        #expect(try evaluate(#"{ sluice.re.gsub("a b c", "[a-z]", { a = "1", c = false }) }"#) == ["1 b c", 3])
        #expect(try evaluate(#"{ sluice.re.gsub("a b c", "[a-z]", string.upper, 2) }"#) == ["A B c", 2])
        #expect(try evaluate(#"{ sluice.re.gsub("A b", "[a-z]", "x", "i") }"#) == ["x x", 2])
        #expect(try evaluate(#"{ sluice.re.gsub("cost: $5", [[\$]], "$$") }"#) == ["cost: $5", 1])
    }

    @Test("split returns the pieces between matches, with a maximum")
    func split() throws {
        #expect(try evaluate(#"sluice.re.split("a, b;c ,d", [[\s*[,;]\s*]])"#) == ["a", "b", "c", "d"])
        #expect(try evaluate(#"sluice.re.split("a,b,c", ",", 2)"#) == ["a", "b,c"])
        #expect(try evaluate(#"sluice.re.split("", ",")"#) == [""])
        #expect(try evaluate(#"sluice.re.split("aXbxc", "x", "i")"#) == ["a", "b", "c"])
    }

    @Test("a bad regex fails the record with PCRE2's reason and its offset, at the script's line")
    func badRegex() throws {
        let f = try ScriptFixture(#"function process(r) return { m = sluice.re.match("x", r.re) } end"#)
        #expect(f.failure(["re": "(ab"])?.message == "rule.lua:1: bad regex '(ab': missing closing parenthesis at offset 3")
        #expect(f.failure(["re": "*a"])?.message
                == "rule.lua:1: bad regex '*a': quantifier does not follow a repeatable item at offset 0")
        #expect(f.output(["re": "x"]) == ["m": "x"])
    }

    @Test("a bad replacement template or an unknown flag fails only that record, naming the problem at the script's line")
    func badTemplateAndFlag() throws {
        let f = try ScriptFixture("""
            function process(r)
              local out = sluice.re.gsub(r.text, "(a)", r.template, nil, r.flags)
              return { out = out }
            end
            """)
        let template = try #require(f.failure(["text": "banana", "template": "x$9", "flags": ""])?.message)
        #expect(template.hasPrefix("rule.lua:2: "), "\(template)")
        #expect(template.contains("of the replacement"), "\(template)")
        let dollar = try #require(f.failure(["text": "banana", "template": "5$", "flags": ""])?.message)
        #expect(dollar.hasPrefix("rule.lua:2: ") && dollar.contains("'$' at the end (write '$$' for a dollar sign)"), "\(dollar)")
        #expect(f.failure(["text": "banana", "template": "o", "flags": "q"])?.message
                == "rule.lua:2: bad regex '(a)': unknown regex flag 'q' (flags are i, m, s, x)")
        #expect(f.output(["text": "banana", "template": "[$1]", "flags": "i"]) == ["out": "b[a]n[a]n[a]"],
                "the next record is unaffected")
    }

    @Test("scripts and POSIX classes from a rule: \\p{Han}, \\p{Cyrillic}, [[:alpha:]], named groups")
    func unicodeScripts() throws {
        #expect(try evaluate(#"sluice.re.match("Beijing 北京 Москва", [[\p{Han}+]])"#) == "北京")
        #expect(try evaluate(#"sluice.re.match("Beijing 北京 Москва", [[\p{Cyrillic}+]])"#) == "Москва")
        #expect(try evaluate(#"{ sluice.re.gsub("a1b2é3", "[[:alpha:]]", "_") }"#) == ["_1_2_3", 3])
        #expect(try evaluate(#"sluice.re.exec("会议 in 上海", [[(?<city>\p{Han}+)$]]).city"#) == "上海")
    }
}
