import SluiceCore
import SluiceFormats
import Testing

@Suite("JSON reading and writing")
struct JSONTests {
    @Test("integers stay integers and doubles stay doubles through a round trip")
    func numberKinds() throws {
        let text = #"{"i":1,"d":1.0,"big":9223372036854775807,"neg":-42,"e":1e300,"small":5e-324,"frac":0.1}"#
        let value = try JSONReader.parse(text)
        #expect(value["i"] == .int(1))
        #expect(value["d"] == .double(1.0))
        #expect(value["big"] == .int(Int64.max))
        #expect(value["neg"] == .int(-42))
        #expect(value["e"] == .double(1e300))
        #expect(JSONWriter.string(value) == #"{"i":1,"d":1.0,"big":9223372036854775807,"neg":-42,"e":1e+300,"small":5e-324,"frac":0.1}"#)
    }

    @Test("a series of records parsed with a shared field-count hint reads as each parsed alone, whatever their sizes")
    func fieldsHintSeries() throws {
        let lines = [#"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}"#, #"{"a":1}"#, #"{}"#,
                     #"{"x":{"y":1,"z":[{"k":1}]},"a":"é","a":"again"}"#, #"[1,2]"#, #"{"only":null}"#]
        var hint = 0
        for line in lines {
            let alone = try JSONReader.parse(line)
            let series = try Array(line.utf8).withUnsafeBytes { try JSONReader.parse($0, fieldsHint: &hint) }
            #expect(series == alone, "\(line)")
            #expect(JSONWriter.string(series) == JSONWriter.string(alone))
        }
        #expect(hint == 1, "the last object had one field")
    }

    @Test("an integer too large for 64 bits becomes a double instead of failing")
    func hugeInteger() throws {
        #expect(try JSONReader.parse("123456789012345678901234567890") == .double(1.2345678901234568e29))
    }

    @Test("key order is kept, also for nested objects")
    func keyOrder() throws {
        let text = #"{"zeta":1,"alpha":{"y":true,"b":null},"mid":[{"k2":1,"k1":2}]}"#
        #expect(JSONWriter.string(try JSONReader.parse(text)) == text)
    }

    @Test("strings decode escapes and surrogate pairs, and encode without escaping / or non-ASCII")
    func strings() throws {
        let value = try JSONReader.parse(#""a\"b\\c\/d\n\t\u00e9\ud83d\ude00 café""#)
        #expect(value == .string("a\"b\\c/d\n\té😀 café"))
        #expect(JSONWriter.string(value) == #""a\"b\\c/d\n\té😀 café""#)
        #expect(JSONWriter.string(.string("\u{01}")) == #""\u0001""#)
    }

    @Test("empty arrays and objects keep their kind")
    func emptyContainers() throws {
        let value = try JSONReader.parse(#"{"a":[],"o":{}}"#)
        #expect(value["a"] == .array([]))
        #expect(value["o"] == .object([:]))
        #expect(JSONWriter.string(value) == #"{"a":[],"o":{}}"#)
    }

    @Test("errors name the line and column of the offending character",
          arguments: [
            ("{\n  \"a\": 1,\n  \"b\" 2\n}", 3, 7, "expected ':'"),
            ("[1, 2,, 3]", 1, 7, "expected a value"),
            ("{\"a\": tru}", 1, 7, "invalid literal"),
            ("{\"a\": 01}", 1, 7, "leading zero"),
            ("\"abc", 1, 1, "unterminated string"),
            ("{} x", 1, 4, "after the JSON value"),
            ("{\"é\": é}", 1, 7, "expected a value"),
            ("", 1, 1, "end of input"),
          ])
    func errorPositions(text: String, line: Int, column: Int, fragment: String) {
        #expect(throws: JSONError.self) { try JSONReader.parse(text) }
        do {
            _ = try JSONReader.parse(text)
        } catch {
            #expect(error.line == line)
            #expect(error.column == column)
            #expect(error.message.contains(fragment), "message was: \(error.message)")
        }
    }

    @Test("nesting deeper than the limit is an error, not a stack overflow")
    func deepNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        do {
            _ = try JSONReader.parse(deep)
            Issue.record("deep nesting was accepted")
        } catch {
            #expect(error.message.contains("nesting deeper than 512"))
        }
        #expect((try? JSONReader.parse(String(repeating: "[", count: 500) + String(repeating: "]", count: 500))) != nil)
    }

    @Test("invalid UTF-8 inside a string is an error with its position")
    func invalidUTF8() {
        let bytes: [UInt8] = Array(#"{"a": "ok", "b": "x"#.utf8) + [0xFF, 0x22, 0x7D]
        do {
            _ = try JSONReader.parse(bytes)
            Issue.record("invalid UTF-8 accepted")
        } catch {
            #expect(error.message.contains("invalid UTF-8"))
            #expect(error.column == 20)
        }
    }

    @Test("non-finite doubles are written as null")
    func nonFinite() {
        #expect(JSONWriter.string(.array([.double(.infinity), .double(.nan)])) == "[null,null]")
    }

    @Test("pretty output indents and still parses back to the same value")
    func pretty() throws {
        let value: Value = ["a": [1, 2], "b": ["c": "d"], "e": [], "f": [:]]
        let text = JSONWriter.string(value, pretty: true)
        #expect(text.contains("\n  \"a\": [\n    1,"))
        #expect(try JSONReader.parse(text) == value)
    }

    /// The escaping JSONWriter must produce, byte by byte (the reference for the fast writer).
    static func referenceEscaped(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    @Test("a character needing care at every position of strings up to 24 bytes is written and read back exactly (the 8-byte scan's edges)",
          arguments: ["\"", "\\", "\n", "\u{01}", "\u{1F}", "\u{7F}", "é", "😀", "/"])
    func everyPosition(special: String) throws {
        for length in 0...24 {
            for position in 0...length {
                let plain = String(repeating: "a", count: length)
                let index = plain.index(plain.startIndex, offsetBy: position)
                let text = String(plain[..<index]) + special + String(plain[index...])
                let written = JSONWriter.string(.string(text))
                #expect(written == Self.referenceEscaped(text), "length \(length), position \(position)")
                #expect(try JSONReader.parse(written) == .string(text), "length \(length), position \(position)")
                #expect(try JSONReader.parse("[\(written),\(written)]") == .array([.string(text), .string(text)]))
            }
        }
    }

    @Test("escapes next to long plain runs decode, non-ASCII included, in strings longer than a word")
    func escapesAmidRuns() throws {
        let text = #""0123456789\n0123456789\u00e9café0123456789\"end\ud83d\ude00 ok 漢字 012345678""#
        #expect(try JSONReader.parse(text) == .string("0123456789\n0123456789écafé0123456789\"end😀 ok 漢字 012345678"))
        #expect(try JSONReader.parse(#""\ud800 lone""#) == .string("\u{FFFD} lone"))
        #expect(try JSONReader.parse(#""\udc00\ud800\u0041""#) == .string("\u{FFFD}\u{FFFD}A"))
    }

    @Test("invalid UTF-8 is an error at its byte wherever it sits in a long string, also where repairing would keep the length")
    func invalidUTF8EveryPosition() {
        for position in 0..<20 {
            var bytes = Array(#"{"k": ""#.utf8)          // the string starts at byte 7
            var content = Array(repeating: UInt8(ascii: "x"), count: 20)
            content[position] = 0xFF
            bytes += content + [0x22, 0x7D]
            do {
                _ = try JSONReader.parse(bytes)
                Issue.record("invalid UTF-8 accepted at \(position)")
            } catch {
                #expect(error.message.contains("invalid UTF-8"))
                #expect(error.offset == 7 + position)
            }
        }
        // A 4-byte sequence cut short: decoding would put one U+FFFD (3 bytes) for F0 90 80, so
        // the length alone would not tell.
        for invalid: [UInt8] in [[0xF0, 0x90, 0x80, 0x41], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xC0, 0xAF]] {
            let bytes = Array("\"abcdefghij".utf8) + invalid + Array("klmnop\"".utf8)
            #expect(throws: JSONError.self, "\(invalid)") { try JSONReader.parse(bytes) }
            let escaped = Array("\"abc\\ndefghij".utf8) + invalid + Array("klmnop\"".utf8)
            #expect(throws: JSONError.self, "\(invalid) after an escape") { try JSONReader.parse(escaped) }
        }
    }

    @Test("invalid UTF-8 after an escape, or before one, is reported at its own byte, not at the string's start")
    func invalidUTF8AroundEscapes() throws {
        // `"ab\ncd` then 0xFF: the string starts at byte 1, the bad byte is byte 7.
        let after = Array("\"ab\\ncd".utf8) + [0xFF] + Array("ef\"".utf8)
        // 0xFF then `\n`: the bad byte is byte 3, before the escape.
        let before = Array("\"ab".utf8) + [0xFF] + Array("\\ncd\"".utf8)
        // Valid multi-byte text between escapes still parses.
        let fine = Array("\"é\\n漢字\\t😀\"".utf8)
        for (bytes, at) in [(after, 7), (before, 3)] {
            do {
                _ = try JSONReader.parse(bytes)
                Issue.record("invalid UTF-8 accepted")
            } catch {
                #expect(error.message == "invalid UTF-8 in string")
                #expect(error.offset == at)
            }
        }
        #expect(try JSONReader.parse(fine) == .string("é\n漢字\t😀"))
    }

    @Test("a raw control character in a string is an error at its place, also after a word of plain bytes")
    func rawControlCharacter() {
        for prefix in ["", "abcdefgh", "abcdefghijk", "abc\\ndefghijk"] {
            let text = "\"" + prefix + "\n" + "rest\""
            do {
                _ = try JSONReader.parse(text)
                Issue.record("raw newline accepted after \(prefix)")
            } catch {
                #expect(error.message.contains("control character"))
            }
        }
    }
}
