import Foundation
import SluiceCore
import SluiceLua
import SluiceTestSupport
import Testing

@Suite("JSON values cross the Lua boundary exactly")
struct MarshalTests {
    static let identity = "function process(record) return record end"

    @Test("a record returned unchanged comes back identical, types and key order included")
    func identityRoundTrip() throws {
        let fixture = try ScriptFixture(MarshalTests.identity)
        let input: Fields = [
            "zeta": 1, "alpha": 1.0, "big": .int(Int64.max), "neg": -7, "pi": 3.25, "t": true, "f": false,
            "none": .null, "text": "héllo wörld 日本 🎉", "empty_array": [], "empty_object": .object([:]),
            "nested": ["b": [1, 2.5, "x", .null, ["k": []]], "a": .object([:])],
            "long": .string(String(repeating: "x", count: 5000)),
        ]
        let output = try #require(fixture.output(input))
        #expect(output == input)
        #expect(Array(output.keys) == Array(input.keys))
        #expect(json(output) == json(input))
    }

    @Test("integers stay integers and doubles stay doubles, also after arithmetic")
    func numberKinds() throws {
        let fixture = try ScriptFixture("""
            function process(r)
              r.sum = r.a + r.b          -- integer + integer
              r.half = r.a / 2           -- '/' always gives a float
              r.floor = r.a // 2         -- integer division stays integer
              r.whole = 2.0              -- a float with an integral value stays a float
              r.is_int = math.type(r.a)
              r.is_float = math.type(r.c)
              return r
            end
            """)
        let output = try #require(fixture.output(["a": 7, "b": 5, "c": 1.0]))
        #expect(output["sum"] == .int(12))
        #expect(output["half"] == .double(3.5))
        #expect(output["floor"] == .int(3))
        #expect(output["whole"] == .double(2.0))
        #expect(output["is_int"] == "integer")
        #expect(output["is_float"] == "float")
        #expect(json(output).contains("\"whole\":2.0"))
    }

    @Test("null arrives as sluice.null, prints as null, and a script can write it")
    func nullSentinel() throws {
        let fixture = try ScriptFixture("""
            function process(r)
              return {
                is_null = (r.x == sluice.null),
                text = tostring(r.x),
                kind = type(r.x),
                written = sluice.null,
                meta = getmetatable(sluice.null),
              }
            end
            """)
        let output = try #require(fixture.output(["x": .null]))
        #expect(output["is_null"] == true)
        #expect(output["text"] == "null")
        #expect(output["kind"] == "userdata")
        #expect(output["written"] == .null)
        #expect(output["meta"] == "sluice.null")
    }

    @Test("empty arrays stay arrays and empty objects stay objects; plain {} is an object")
    func emptyContainers() throws {
        let fixture = try ScriptFixture("""
            function process(r)
              r.made_array = sluice.array()
              r.made_object = {}
              r.cleared = r.list
              for i = #r.cleared, 1, -1 do r.cleared[i] = nil end
              r.array_meta = getmetatable(r.list)
              r.object_meta = getmetatable(r.obj)
              return r
            end
            """)
        let output = try #require(fixture.output(["arr": [], "obj": .object([:]), "list": [1, 2]]))
        #expect(output["arr"] == .array([]))
        #expect(output["obj"] == .object([:]))
        #expect(output["made_array"] == .array([]))
        #expect(output["made_object"] == .object([:]))
        #expect(output["cleared"] == .array([]))
        #expect(output["array_meta"] == "sluice.array")
        #expect(output["object_meta"] == "sluice.object")
    }

    @Test("a script table with keys 1..n is an array, anything else an object with sorted keys")
    func scriptTables() throws {
        let fixture = try ScriptFixture("""
            function process(r)
              return {
                seq = {10, 20, 30},
                holes = {[1] = "a", [3] = "c"},
                zero = {[0] = "z", [1] = "a"},
                mixed = {1, 2, x = 3},
                named = {zebra = 1, apple = 2, mango = 3},
                floats = {[1.5] = "x"},
                args = sluice.array(1, nil, 3),
              }
            end
            """)
        let output = try #require(fixture.output([:]))
        #expect(output["seq"] == [10, 20, 30])
        #expect(output["holes"] == ["1": "a", "3": "c"])
        #expect(output["zero"] == ["0": "z", "1": "a"])
        #expect(output["mixed"] == ["1": 1, "2": 2, "x": 3])
        #expect(Array(output["named"]?.objectValue?.keys ?? []) == ["apple", "mango", "zebra"])
        #expect(output["floats"] == ["1.5": "x"])
        #expect(output["args"] == [1, .null, 3])
        // The returned table itself was made by the script: its keys come back sorted.
        #expect(Array(output.keys) == ["args", "floats", "holes", "mixed", "named", "seq", "zero"])
    }

    @Test("original keys keep their order; new keys follow in the order first assigned")
    func keyOrder() throws {
        let fixture = try ScriptFixture("""
            function process(r)
              r.zz = 1
              r.b = nil
              r.aa = 2
              r.b = "back"        -- an original key set again keeps its original place
              rawset(r, "raw", 3) -- rawset is tracked too
              r.meta.new = true
              return r
            end
            """)
        let output = try #require(fixture.output(["c": 1, "b": 2, "a": 3, "meta": ["y": 1, "x": 2]]))
        #expect(Array(output.keys) == ["c", "b", "a", "meta", "zz", "aa", "raw"])
        #expect(output["b"] == "back")
        #expect(Array(output["meta"]?.objectValue?.keys ?? []) == ["y", "x", "new"])
    }

    @Test("a deleted field is gone and a replaced value is read back")
    func deletionsAndChanges() throws {
        let fixture = try ScriptFixture("""
            function process(r)
              r.drop_me = nil
              r.title = string.upper(r.title)
              r.tags[#r.tags + 1] = "new"
              table.insert(r.tags, 1, "first")
              return r
            end
            """)
        let output = try #require(fixture.output(["title": "café", "drop_me": 1, "tags": ["a"]]))
        #expect(output["drop_me"] == nil)
        #expect(output["title"] == "CAFé")   // Lua's upper is byte-wise (FACTS.md)
        #expect(output["tags"] == ["first", "a", "new"])
    }

    @Test("a new table built from the record's fields keeps their values")
    func copiedFields() throws {
        let fixture = try ScriptFixture("""
            function process(r) return { body = r.body, n = #r.body, title = r.title } end
            """)
        let body = String(repeating: "Unicode ünïcödé text. ", count: 100)
        let output = try #require(fixture.output(["title": "T", "body": .string(body)]))
        #expect(output["body"] == .string(body))
        #expect(output["n"] == .int(Int64(body.utf8.count)))
    }

    @Test("deeply nested JSON goes in and out")
    func deepNesting() throws {
        let fixture = try ScriptFixture(MarshalTests.identity)
        var value: Value = "leaf"
        for k in 0..<300 { value = k % 2 == 0 ? .array([value]) : ["k": value] }
        let output = try #require(fixture.output(["deep": value]))
        #expect(output["deep"] == value)
    }

    @Test("a table that contains itself fails that record with a clear message")
    func cycles() throws {
        let fixture = try ScriptFixture("""
            function process(r)
              if r.cycle then local t = {}; t.self = t; r.t = t end
              return r
            end
            """)
        let failure = try #require(fixture.failure(["cycle": true]))
        #expect(failure.message.contains("nested more than"))
        #expect(failure.message.contains("does a table contain itself"))
        #expect(fixture.output(["cycle": false])?["cycle"] == false)
    }

    @Test("values that are not JSON (functions, booleans as keys) fail the record, naming the field")
    func unconvertible() throws {
        let fixture = try ScriptFixture("""
            function process(r)
              if r.kind == "function" then r.meta.f = print end
              if r.kind == "key" then r.k = { [true] = 1 } end
              if r.kind == "string" then return "text" end
              return r
            end
            """)
        let f1 = try #require(fixture.failure(["kind": "function", "meta": .object([:])]))
        #expect(f1.message.contains("field 'meta.f'"))
        #expect(f1.message.contains("function value cannot be converted to JSON"))
        #expect(f1.message.hasPrefix("rule.lua:5:"), "at the return that gave the record: \(f1.message)")
        let f2 = try #require(fixture.failure(["kind": "key"]))
        #expect(f2.message.contains("boolean cannot be a JSON object key"))
        let f3 = try #require(fixture.failure(["kind": "string"]))
        #expect(f3.message.contains("process returned a string"))
        #expect(f3.message.hasPrefix("rule.lua:4:"), "at `return \"text\"`: \(f3.message)")
        #expect(fixture.output(["kind": "fine"])?["kind"] == "fine")
    }

    @Test("arrays refuse named fields and gaps, with a message at the script line")
    func arrayDiscipline() throws {
        let fixture = try ScriptFixture("""
            function process(r)
              if r.mode == "name" then r.list.name = 1 end
              if r.mode == "gap" then r.list[10] = 1 end
              if r.mode == "rawset" then rawset(r.list, "x", 1) end
              return r
            end
            """)
        let name = try #require(fixture.failure(["mode": "name", "list": [1]]))
        #expect(name.message == "rule.lua:2: cannot set field 'name' of an array (arrays take indexes 1, 2, 3...)")
        let gap = try #require(fixture.failure(["mode": "gap", "list": [1]]))
        #expect(gap.message.contains("index 10 is past the end of an array of length 1"))
        let raw = try #require(fixture.failure(["mode": "rawset", "list": [1]]))
        #expect(raw.message.contains("cannot set field 'x' of an array"))
        #expect(fixture.output(["mode": "ok", "list": [1]])?["list"] == [1])
    }

    @Test("invalid UTF-8 made by byte operations is repaired, not a crash")
    func invalidUTF8() throws {
        let fixture = try ScriptFixture("function process(r) r.cut = string.sub(r.s, 1, 1) return r end")
        let output = try #require(fixture.output(["s": "é!"]))
        #expect(output["cut"] == "\u{FFFD}")
    }

    @Test("a record nested deeper than 1000 levels fails with a message instead of reaching the script with nulls")
    func tooDeepRecordFails() throws {
        var deep: Value = 1
        for _ in 0..<1_100 { deep = .array([deep]) }
        let fixture = try ScriptFixture("function process(r) return r end")
        let failure = fixture.failure(["deep": deep])
        #expect(failure?.message == "the record is nested more than 1000 levels deep; Lua rules take at most 1000")
        // The state is fine for the next record.
        #expect(fixture.output(["n": 1]) == ["n": 1])
    }

    @Test("sluice.null is called by its name in argument errors")
    func nullNamedInArgumentErrors() throws {
        let fixture = try ScriptFixture("function process(r) return { t = sluice.text.normalize(r.t) } end")
        #expect(fixture.failure(["t": .null])?.message
            == "rule.lua:1: bad argument #1 to 'sluice.text.normalize' (string expected, got sluice.null)")
    }
}
