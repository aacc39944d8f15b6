import Foundation
import Logging
import SluiceCore
import SluiceLua
import SluiceTestSupport
import Testing

@Suite("The sluice module")
struct ModuleTests {
    @Test("json.encode writes Sluice's JSON: integers, doubles, null, empty arrays, key order")
    func jsonEncode() throws {
        #expect(try evaluate(#"sluice.json.encode(record)"#, record: ["b": 1, "a": 2.0, "n": .null, "e": [], "o": .object([:])])
                == #"{"b":1,"a":2.0,"n":null,"e":[],"o":{}}"#)
        #expect(try evaluate(#"sluice.json.encode({ z = 1, a = { 1, 2 }, s = "é\n\"" })"#) == #"{"a":[1,2],"s":"é\n\"","z":1}"#)
        #expect(try evaluate(#"sluice.json.encode(sluice.null)"#) == "null")
        #expect(try evaluate(#"sluice.json.encode({ a = 1 }, { pretty = true })"#) == "{\n  \"a\": 1\n}")
    }

    @Test("json.decode keeps kinds and order, and an error names the place in the JSON")
    func jsonDecode() throws {
        let f = try ScriptFixture("""
            function process(r)
              local v = sluice.json.decode(r.text)
              r.text = nil
              r.value = v
              r.int = math.type(v.i)
              return r
            end
            """)
        let output = try #require(f.output(["text": #"{"z":[],"i":1,"d":1.0,"n":null,"o":{}}"#]))
        #expect(output["value"] == ["z": [], "i": 1, "d": 1.0, "n": .null, "o": .object([:])])
        #expect(Array(output["value"]?.objectValue?.keys ?? []) == ["z", "i", "d", "n", "o"])
        #expect(output["int"] == "integer")
        let failure = try #require(f.failure(["text": "{\"a\": }"]))
        #expect(failure.message.hasPrefix("rule.lua:2: sluice.json.decode: invalid JSON at 1:7:"))
    }

    @Test("text.words splits on Unicode whitespace, no-break spaces included")
    func words() throws {
        #expect(try evaluate(#"sluice.text.words(record.t)"#, record: ["t": "  Trade\u{00A0}reached $14.25\u{202F}billion,\n\tsaid  Mr.\u{2009}Li\u{200B}Wei\u{2060}Jr  "])
                == ["Trade", "reached", "$14.25", "billion,", "said", "Mr.", "Li", "Wei\u{2060}Jr"])
        #expect(try evaluate(#"#sluice.text.words("")"#) == 0)
        #expect(try evaluate(#"sluice.text.words("")"#) == [])
        #expect(try evaluate(#"#sluice.text.words("日本語 テキスト")"#) == 2)
    }

    @Test("text.sentences splits after terminators but not after abbreviations or initials")
    func sentences() throws {
        let text = "Mr. Smith went to Washington on Nov. 3. He met J. Doe at 4 p.m. today! Was it fun? \"Yes.\" It cost $14.25 in the U.S. economy.\n\nNew paragraph"
        #expect(try evaluate(#"sluice.text.sentences(record.t)"#, record: ["t": .string(text)]) == [
            "Mr. Smith went to Washington on Nov. 3.",
            "He met J. Doe at 4 p.m. today!",
            "Was it fun?",
            "\"Yes.\"",
            "It cost $14.25 in the U.S. economy.",
            "New paragraph",
        ])
        #expect(try evaluate(#"sluice.text.sentences("一句话。第二句！")"#) == ["一句话。", "第二句！"])
    }

    @Test("text.normalize makes NFC, one space per whitespace run, no zero-width spaces, trimmed")
    func normalize() throws {
        #expect(try evaluate(#"sluice.text.normalize(record.t)"#, record: ["t": "  Cafe\u{0301}\u{00A0}\u{00A0}au\u{200B}lait \n\t x  "])
                == "Café au lait x")
        #expect(TextTools.normalize("Cafe\u{0301}").unicodeScalars.count == 4)
        #expect(TextTools.normalize("\u{FEFF}word\u{2060}joined ") == "wordjoined")
        #expect(TextTools.normalize("plain  ascii ") == "plain ascii")
    }

    @Test("date.parse gives ISO 8601 and nil for non-dates; a default zone applies to zoneless times")
    func dateParse() throws {
        #expect(try evaluate(#"sluice.date.parse("2025-07-15")"#) == "2025-07-15")
        #expect(try evaluate(#"sluice.date.parse(" 2025-11-20T22:10:00-05:00 ")"#) == "2025-11-20T22:10:00-05:00")
        #expect(try evaluate(#"sluice.date.parse("2025-11-20 22:10", "+08:00")"#) == "2025-11-20T22:10:00+08:00")
        #expect(try evaluate(#"sluice.date.parse("2025-11-20T22:10:00Z")"#) == "2025-11-20T22:10:00Z")
        #expect(try evaluate(#"sluice.date.parse("not a date") == nil"#) == true)
        #expect(try evaluate(#"sluice.date.parse(nil) == nil"#) == true)
        let f = try ScriptFixture(#"function process(r) return { d = sluice.date.parse("2025-01-01 10:00", "Mars/Olympus") } end"#)
        #expect(f.failure()?.message.contains("unknown time zone 'Mars/Olympus'") == true)
    }

    @Test("date.format formats ISO text or epoch seconds with strftime conversions")
    func dateFormat() throws {
        #expect(try evaluate(#"sluice.date.format("2025-11-20T22:10:05-05:00", "%Y/%m/%d %H:%M:%S %z %a %b %j %I%p")"#)
                == "2025/11/20 22:10:05 -0500 Thu Nov 324 10PM")
        #expect(try evaluate(#"sluice.date.format(0, "%F %T %Z")"#) == "1970-01-01 00:00:00 UTC")
        #expect(try evaluate(#"sluice.date.format(1700000000)"#) == "2023-11-14T22:13:20Z")
        #expect(try evaluate(#"sluice.date.format("2024-02-29", "%A %e %B")"#) == "Thursday 29 February")
        let f = try ScriptFixture(#"function process(r) return { d = sluice.date.format("2025-01-01", "%Q") } end"#)
        #expect(f.failure()?.message == "rule.lua:1: bad argument #2 to 'sluice.date.format' (unknown conversion '%Q')")
        // Numbers outside years 0000–9999 (or not finite) fail the record; they used to crash the process.
        for n in ["1e300", "0/0", "math.huge", "-1e19", "math.maxinteger", "253402300800"] {
            let out = try ScriptFixture("function process(r) return { d = sluice.date.format(\(n)) } end")
            #expect(out.failure()?.message == "rule.lua:1: bad argument #1 to 'sluice.date.format' (seconds since 1970 out of range (years 0000 to 9999))", "\(n)")
        }
        #expect(try evaluate(#"sluice.date.format(253402300799)"#) == "9999-12-31T23:59:59Z")
    }

    @Test("hash.sha256 gives the lower-case hex digest of the bytes")
    func sha256() throws {
        #expect(try evaluate(#"sluice.hash.sha256("abc")"#) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(try evaluate(#"sluice.hash.sha256("")"#) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("sluice.array makes arrays that stay arrays; sluice.stage and sluice.worker are set")
    func arrayAndFacts() throws {
        #expect(try evaluate("sluice.array()") == [])
        #expect(try evaluate("sluice.array('a', 2)") == ["a", 2])
        #expect(try evaluate("sluice.stage") == "test")
        #expect(try evaluate("sluice.worker") == 0)
        #expect(try evaluate("require('sluice') == sluice") == true)
    }

    @Test("sluice.log accepts any values at every level")
    func log() throws {
        #expect(try evaluate(#"(function() sluice.log.debug("d") sluice.log.info("i", 1, { a = 1 }) sluice.log.warn(nil) sluice.log.error(sluice.null) sluice.log("call") return true end)()"#) == true)
    }
}

/// A log handler that keeps what it is given.
final class CapturingLogHandler: LogHandler, @unchecked Sendable {
    struct Entry { var level: Logger.Level; var message: String; var metadata: Logger.Metadata }
    private let lock = NSLock()
    private var stored: [Entry] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    var entries: [Entry] { lock.lock(); defer { lock.unlock() }; return stored }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        lock.lock()
        stored.append(Entry(level: event.level, message: event.message.description, metadata: merged))
        lock.unlock()
    }
}

@Suite("sluice.log writes to the stage's logger")
struct LogTests {
    @Test("levels map to swift-log levels; metadata names the stage, the record's place and the script line")
    func logMetadata() throws {
        let handler = CapturingLogHandler()
        let logger = Logger(label: "test") { _ in handler }
        let dir = TemporaryDirectory("sluice-log")
        let path = try dir.write("rule.lua", """
            function process(r)
              sluice.log.warn("odd record", r.n, { k = 1 })
              sluice.log("plain")
              print("printed", nil)
              return r
            end
            """)
        let rule = try LuaRule(script: LuaScript(path: path, baseDirectory: dir.path),
                               settings: LuaSettings(stageName: "facts"), logger: logger)
        _ = rule.process(Record(["n": 7], origin: Origin(source: "src", file: "in.jsonl", line: 12)))
        let entries = handler.entries
        #expect(entries.map(\.level) == [.warning, .info, .info])
        #expect(entries.map(\.message) == ["odd record 7 {\"k\":1}", "plain", "printed nil"])
        #expect(entries.first?.metadata["stage"] == "facts")
        #expect(entries.first?.metadata["record"] == "in.jsonl:12")
        #expect(entries.map { $0.metadata["script"] } == ["rule.lua:2", "rule.lua:3", "rule.lua:4"])
    }
}
