import Foundation
import Testing
import SluiceCore
import SluiceTestSupport
@testable import SluiceJSON

/// Reads a source to its end.
func collect(_ source: JSONSource, batchSize: Int = 256) throws -> (records: [Record], letters: [DeadLetter]) {
    let result = try StageHarness.collect(source, batchSize: batchSize)
    return (result.records, result.deadLetters)
}

/// The `id` field of each record.
func ids(_ records: [Record]) -> [Int64] { records.compactMap { $0["id"]?.intValue } }

@Suite("json source: JSON Lines")
struct JSONLinesTests {
    @Test("good, bad, huge, deep and non-object lines: only the goods become records, one dead letter each with its line and column")
    func badLinesAreDeadLettersAndNothingElseIsLost() throws {
        let dir = TemporaryDirectory()
        let deep = String(repeating: "{\"a\":", count: 600) + "1" + String(repeating: "}", count: 600)
        let huge = "{\"id\": 99, \"body\": \"" + String(repeating: "x", count: 5000) + "\"}"
        let lines = [
            #"{"id": 1, "name": "one"}"#,
            #"{"id": 2, "name": }"#,
            #"{"id": 3}"#,
            huge,
            deep,
            "42",
            "[1,2]",
            #"{"id": 4, "ok": true}"#,
        ]
        let path = try dir.write("in.jsonl", lines.joined(separator: "\n") + "\n")
        let (records, letters) = try collect(JSONSource(path: path, maxLineBytes: 4500))
        #expect(ids(records) == [1, 3, 4])
        #expect(records.map(\.origin.line) == [1, 3, 8])
        #expect(records.allSatisfy { $0.origin.file == "in.jsonl" && $0.origin.source == "source" })
        #expect(letters.count == 5)
        let byLine = Dictionary(uniqueKeysWithValues: letters.map { ($0.origin?.line ?? 0, $0) })

        let bad = try #require(byLine[2])
        #expect(bad.error == "invalid JSON: unexpected '}', expected a value")
        #expect(bad.origin?.column == 19)
        #expect(bad.origin?.location == "in.jsonl:2:19")
        #expect(bad.raw == lines[1])

        let long = try #require(byLine[4])
        #expect(long.error.contains("line is longer than max_line_bytes"))
        #expect(long.error.contains("\(huge.utf8.count) bytes"))
        #expect(long.raw == String(huge.prefix(4096)))
        #expect(long.details["raw_truncated"] == .bool(true))
        #expect(long.details["raw_bytes"] == .int(Int64(huge.utf8.count)))

        let tooDeep = try #require(byLine[5])
        #expect(tooDeep.error == "invalid JSON: nesting deeper than 512 levels (max_depth)")
        #expect(tooDeep.origin?.column == 1 + 5 * 512)
        #expect(tooDeep.raw == deep)

        #expect(byLine[6]?.error == "a record must be a JSON object, got integer")
        #expect(byLine[6]?.raw == "42")
        #expect(byLine[7]?.error == "a record must be a JSON object, got array")
        #expect(letters.allSatisfy { $0.stage == "source" && $0.origin?.file == "in.jsonl" })
    }

    @Test("CRLF endings, blank lines, a byte order mark and a last line without newline are all read")
    func lineEndingsBlankLinesAndBOM() throws {
        let dir = TemporaryDirectory()
        var bytes: [UInt8] = [0xEF, 0xBB, 0xBF]
        bytes += Array("{\"id\": 1}\r\n\r\n   \n{\"id\": 2}\r\n\t\n{\"id\": 3}".utf8)
        let path = try dir.write("crlf.jsonl", Data(bytes))
        let (records, letters) = try collect(JSONSource(path: path))
        #expect(letters.isEmpty)
        #expect(ids(records) == [1, 2, 3])
        #expect(records.map(\.origin.line) == [1, 4, 6])
    }

    @Test("a line with invalid UTF-8 is a dead letter and the next line goes on")
    func invalidUTF8() throws {
        let dir = TemporaryDirectory()
        var bytes = Array("{\"id\": 1}\n{\"id\": 2, \"t\": \"caf".utf8)
        bytes += [0xC3, 0x28]
        bytes += Array("\"}\n{\"id\": 3}\n".utf8)
        let path = try dir.write("utf.jsonl", Data(bytes))
        let (records, letters) = try collect(JSONSource(path: path))
        #expect(ids(records) == [1, 3])
        #expect(letters.count == 1)
        #expect(letters.first?.error == "invalid JSON: invalid UTF-8 in string")
        #expect(letters.first?.origin?.location == "utf.jsonl:2:20")
    }

    @Test("an empty .jsonl file gives no records and no dead letter")
    func emptyLinesFile() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("empty.jsonl", "")
        let (records, letters) = try collect(JSONSource(path: path))
        #expect(records.isEmpty)
        #expect(letters.isEmpty)
    }

    @Test("a pointer applies to each line; its array's elements are the records")
    func pointerPerLine() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("p.jsonl", """
            {"data": {"items": [{"id": 1}, {"id": 2}]}}
            {"data": {"other": []}}
            {"data": {"items": [{"id": 3}, 7]}}
            {"data": {"items": {"id": 4}}}
            {"data": {"items": "no"}}

            """)
        let (records, letters) = try collect(JSONSource(path: path, pointer: try JSONPointer("/data/items")))
        #expect(ids(records) == [1, 2, 3, 4])
        #expect(records.map(\.origin.line) == [1, 1, 3, 4])
        #expect(letters.map(\.error) == [
            "pointer '/data/items' not found: no key 'items' in the object at '/data'",
            "a record must be a JSON object, got integer (element 1 of '/data/items')",
            "pointer '/data/items' selects a string, not an array or an object of records",
        ])
        #expect(letters.map { $0.origin?.line } == [2, 3, 5])
    }

    @Test("records are handed on in batches of the context's batch size")
    func batching() throws {
        let dir = TemporaryDirectory()
        let text = (1...1000).map { "{\"id\": \($0)}" }.joined(separator: "\n")
        let path = try dir.write("many.jsonl", text)
        let (records, _) = try collect(JSONSource(path: path), batchSize: 7)
        #expect(ids(records) == Array(1...1000))
    }
}

@Suite("json source: line splitting")
struct LineSplitterTests {
    func split(_ text: [UInt8], chunk: Int, max: Int) throws -> [(Int, String, Int?)] {
        let dir = TemporaryDirectory()
        let path = try dir.write("s.txt", Data(text))
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var out: [(Int, String, Int?)] = []
        let splitter = LineSplitter(chunkSize: chunk, maxLineBytes: max, keepBytes: 8)
        try splitter.run(initial: UnsafeRawBufferPointer(start: nil, count: 0), fd: fd, file: "s.txt") { n, event in
            switch event {
            case .line(let b): out.append((n, String(decoding: b, as: UTF8.self), nil))
            case .tooLong(let p, let length): out.append((n, String(decoding: p, as: UTF8.self), length))
            }
        }
        return out
    }

    @Test("lines spanning read chunks are joined, and a line over the limit is skipped keeping only its first bytes")
    func chunkBoundariesAndLongLines() throws {
        let long = String(repeating: "L", count: 100)
        let text = "ab\ncdefghijklmnop\n\(long)\nq\nrstuvwxyz"
        for chunk in [16, 17, 3, 1000] {
            let lines = try split(Array(text.utf8), chunk: chunk, max: 20)
            #expect(lines.map(\.0) == [1, 2, 3, 4, 5])
            #expect(lines.map(\.1) == ["ab", "cdefghijklmnop", "LLLLLLLL", "q", "rstuvwxyz"])
            #expect(lines.map(\.2) == [nil, nil, 100, nil, nil])
        }
    }

    @Test("a long last line without newline is still reported as too long")
    func longLastLine() throws {
        let lines = try split(Array(("ok\n" + String(repeating: "z", count: 50)).utf8), chunk: 16, max: 20)
        #expect(lines.map(\.2) == [nil, 50])
    }
}

@Suite("json source: arrays and documents")
struct JSONDocumentTests {
    @Test("a top-level array streams its elements; non-objects are dead letters with line and column")
    func arrayElements() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("a.json", """
            [
              {"id": 1},
              {"id": 2}, "text",
              {"id": 3}
            ]

            """)
        let (records, letters) = try collect(JSONSource(path: path))
        #expect(ids(records) == [1, 2, 3])
        #expect(records.map(\.origin.line) == [2, 3, 4])
        #expect(letters.count == 1)
        #expect(letters.first?.error == "a record must be a JSON object, got string")
        #expect(letters.first?.origin?.location == "a.json:3:14")
        #expect(letters.first?.raw == "\"text\"")
    }

    @Test("a syntax error inside an array keeps the records before it and names the place")
    func brokenArray() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("b.json", "[{\"id\": 1},\n {\"id\": 2},\n {\"id\" 3},\n {\"id\": 4}]")
        let (records, letters) = try collect(JSONSource(path: path, format: .array))
        #expect(ids(records) == [1, 2])
        #expect(letters.count == 1)
        #expect(letters.first?.error == "invalid JSON: unexpected '3', expected ':' after object key; the rest of the file was skipped")
        #expect(letters.first?.origin?.location == "b.json:3:8")
        #expect(letters.first?.raw == " {\"id\" 3},")
    }

    @Test("a pretty-printed single object is one record")
    func prettyObject() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("o.json", "{\n  \"id\": 1,\n  \"tags\": [\"a\", \"b\"]\n}\n")
        let (records, letters) = try collect(JSONSource(path: path))
        #expect(letters.isEmpty)
        #expect(records.count == 1)
        #expect(records.first?["tags"] == ["a", "b"])
        #expect(records.first?.origin.line == 1)
    }

    @Test("auto reads a .json file holding one object per line as JSON Lines, even when its first line is bad")
    func autoDetectsLinesInDotJSON() throws {
        let dir = TemporaryDirectory()
        let good = try dir.write("good.json", "{\"id\": 1}\n{\"id\": 2}\n")
        let badFirst = try dir.write("bad.json", "{\"id\": }\n{\"id\": 2}\n{\"id\": 3}\n")
        let unbalanced = try dir.write("cut.json", "{\"id\": 1, \"x\": [\n{\"id\": 2}\n")
        #expect(ids(try collect(JSONSource(path: good)).records) == [1, 2])
        let (records, letters) = try collect(JSONSource(path: badFirst))
        #expect(ids(records) == [2, 3])
        #expect(letters.map { $0.origin?.location } == ["bad.json:1:8"])
        let (cutRecords, cutLetters) = try collect(JSONSource(path: unbalanced))
        #expect(ids(cutRecords) == [2])
        #expect(cutLetters.map { $0.origin?.line } == [1])
    }

    @Test("auto detection reads a first line longer than one read, in a .json file and on standard input")
    func autoDetectsLongFirstLine() throws {
        let dir = TemporaryDirectory()
        let long = "{\"id\": 1, \"body\": \"" + String(repeating: "b", count: 300_000) + "\"}"
        let text = long + "\n{\"id\": 2}\n"
        let path = try dir.write("long.json", text)
        let (records, letters) = try collect(JSONSource(path: path))
        #expect(letters.isEmpty)
        #expect(ids(records) == [1, 2])
        #expect(records.first?["body"]?.stringValue?.count == 300_000)

        let pipe = Pipe()
        let writer = Thread {
            pipe.fileHandleForWriting.write(Data(text.utf8))
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        let (fromStdin, stdinLetters) = try collect(JSONSource(path: "-", standardInput: pipe.fileHandleForReading))
        #expect(stdinLetters.isEmpty)
        #expect(ids(fromStdin) == [1, 2])
    }

    @Test("a truncated pretty-printed document is one dead letter naming where it ends")
    func truncatedDocument() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("t.json", "{\n  \"id\": 1,\n  \"tags\": [\"a\",\n")
        let (records, letters) = try collect(JSONSource(path: path))
        #expect(records.isEmpty)
        #expect(letters.count == 1)
        #expect(letters.first?.error == "invalid JSON: unexpected end of input, expected a value")
        #expect(letters.first?.origin?.location == "t.json:4:1")
    }

    @Test("an empty .json file is a dead letter; with format: array too")
    func emptyDocument() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("e.json", "  \n")
        for format in [JSONSource.Format.auto, .array, .object] {
            let (records, letters) = try collect(JSONSource(path: path, format: format))
            #expect(records.isEmpty)
            #expect(letters.map(\.error) == ["empty file: expected a JSON document"])
            #expect(letters.first?.origin?.file == "e.json")
        }
    }

    @Test("format: array refuses a document that is not an array")
    func arrayFormatNeedsArray() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("o.json", "{\"id\": 1}")
        let (records, letters) = try collect(JSONSource(path: path, format: .array))
        #expect(records.isEmpty)
        #expect(letters.first?.error == "expected a JSON array (format: array), found '{'")
    }

    @Test("trailing content after the document is reported, the records before it kept")
    func trailingGarbage() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("g.json", "[{\"id\": 1}] x")
        let (records, letters) = try collect(JSONSource(path: path))
        #expect(ids(records) == [1])
        #expect(letters.first?.error == "invalid JSON: unexpected 'x' after the JSON value; the rest of the file was skipped")
        #expect(letters.first?.origin?.location == "g.json:1:13")
    }

    @Test("a pointer into a document streams the array it selects, through objects and array indexes")
    func pointerInDocument() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("p.json", """
            {"meta": {"n": 2, "list": [1, 2, 3]},
             "results": [
               {"skip": true},
               {"a/b": {"items": [
                 {"id": 1},
                 {"id": 2}
               ]}}
             ],
             "after": "still checked"}
            """)
        let (records, letters) = try collect(JSONSource(path: path, pointer: try JSONPointer("/results/1/a~1b/items")))
        #expect(letters.isEmpty)
        #expect(ids(records) == [1, 2])
        #expect(records.map(\.origin.line) == [5, 6])
    }

    @Test("a pointer that names nothing is a dead letter saying what is missing")
    func pointerNotFound() throws {
        let dir = TemporaryDirectory()
        let oneLine = try dir.write("p.json", "{\"results\": [{\"x\": 1}]}")
        let pretty = try dir.write("q.json", "{\n  \"results\": [\n    {\"x\": 1}\n  ]\n}\n")
        let cases: [(String, String)] = [
            ("/data", "pointer '/data' not found: no key 'data' in the object at the root"),
            ("/results/3", "pointer '/results/3' not found: index 3 is past the end of the array at '/results' (1 elements)"),
            ("/results/x", "pointer '/results/x' not found: 'x' is not an array index (the value at '/results' is an array)"),
            ("/results/0/x/y", "pointer '/results/0/x/y' not found: the value at '/results/0/x' is an integer, which has no 'y'"),
        ]
        for path in [oneLine, pretty] {
            for (pointer, message) in cases {
                let (records, letters) = try collect(JSONSource(path: path, pointer: try JSONPointer(pointer)))
                #expect(records.isEmpty)
                #expect(letters.map(\.error) == [message])
                #expect(letters.first?.origin?.file == (path as NSString).lastPathComponent)
            }
        }
    }

    @Test("a pointer that is not RFC 6901 syntax is a config error at the option")
    func badPointerIsConfigError() throws {
        let dir = TemporaryDirectory()
        let options = StageHarness.options(["path": .string(dir.file("x.json")), "pointer": "data/items"],
                                           type: "json", kind: .source, directory: dir.path)
        #expect(throws: ConfigError.self) { try JSONSource(stageOptions: options) }
        do {
            _ = try JSONSource(stageOptions: options)
        } catch let error as ConfigError {
            #expect(error.description.contains("option 'pointer' is not a valid JSON pointer"))
        }
        #expect(throws: JSONPointerError.self) { try JSONPointer("/a~2") }
        let tooDeep = StageHarness.options(["path": "x.json", "max_depth": 1_000_000], type: "json", kind: .source,
                                           directory: dir.path)
        #expect(throws: ConfigError.self) { try JSONSource(stageOptions: tooDeep) }
        // 5,000 levels crashed a debug build's 8 MiB stack: the option stops at 1,000.
        let deepButAllowedBefore = StageHarness.options(["path": "x.json", "max_depth": 5_000], type: "json",
                                                        kind: .source, directory: dir.path)
        do {
            _ = try JSONSource(stageOptions: deepButAllowedBefore)
            Issue.record("max_depth 5000 must be refused")
        } catch let error as ConfigError {
            #expect(error.description.contains("option 'max_depth' must be between 1 and 1000, not 5000"), "\(error)")
        }
        let deepest = StageHarness.options(["path": "x.json", "max_depth": 1_000], type: "json", kind: .source,
                                           directory: dir.path)
        #expect(try JSONSource(stageOptions: deepest).maxDepth == 1_000)
    }

    @Test("a document nested far deeper than max_depth is a dead letter, not a crash")
    func veryDeepDocument() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("deep.json", "[" + String(repeating: "[", count: 200_000) + "]")
        let (records, letters) = try collect(JSONSource(path: path))
        #expect(records.isEmpty)
        #expect(letters.first?.error == "invalid JSON: nesting deeper than 512 levels (max_depth)")
    }
}

@Suite("json source: paths")
struct JSONPathTests {
    @Test("a glob reads every matching file in path order, each record naming its file relative to the root")
    func globOverFiles() throws {
        let dir = TemporaryDirectory()
        try dir.write("in/b/2.jsonl", "{\"id\": 2}\n{\"id\": 3}\n")
        try dir.write("in/a/1.jsonl", "{\"id\": 1}\n")
        try dir.write("in/c.json", "[{\"id\": 4}]")
        try dir.write("in/notes.txt", "not json")
        let (records, letters) = try collect(JSONSource(path: dir.file("in/**/*.json*")))
        #expect(letters.isEmpty)
        #expect(ids(records) == [1, 2, 3, 4])
        #expect(records.map { $0.origin.file ?? "" } == ["a/1.jsonl", "b/2.jsonl", "b/2.jsonl", "c.json"])
    }

    @Test("a folder reads its JSON files only")
    func folder() throws {
        let dir = TemporaryDirectory()
        try dir.write("in/1.jsonl", "{\"id\": 1}\n")
        try dir.write("in/2.ndjson", "{\"id\": 2}\n")
        try dir.write("in/readme.md", "# not json")
        let (records, letters) = try collect(JSONSource(path: dir.file("in")))
        #expect(letters.isEmpty)
        #expect(ids(records) == [1, 2])
    }

    @Test("a path that names nothing stops the source with an error naming it")
    func missingFile() throws {
        let dir = TemporaryDirectory()
        let missing = dir.file("nope.jsonl")
        do {
            _ = try collect(JSONSource(path: missing))
            Issue.record("expected an error")
        } catch let error as StageError {
            #expect(error.description.contains(missing))
        }
    }

    @Test("a glob or folder that matches no files stops the source with an error naming the path (a typo is not a clean run)")
    func globMatchingNothing() throws {
        let dir = TemporaryDirectory()
        try dir.write("notes.txt", "not json")
        for path in [dir.file("*.jsonl"), dir.path] {
            do {
                _ = try collect(JSONSource(path: path))
                Issue.record("expected an error for \(path)")
            } catch let error as StageError {
                #expect(error.description.contains("path '\(path)' matches no files"), "\(error)")
            }
        }
    }

    @Test("an input that cannot be opened is a dead letter naming it and the reason, and the run goes on")
    func unopenableFile() throws {
        let dir = TemporaryDirectory()
        // open(2) fails on a socket file even for root (ENXIO).
        let socketPath = dir.file("sock.jsonl")
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (i, byte) in socketPath.utf8.enumerated() where i < buffer.count - 1 { buffer[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        let (records, letters) = try collect(JSONSource(path: socketPath))
        #expect(records.isEmpty)
        #expect(letters.map(\.error) == ["cannot open sock.jsonl: No such device or address"])
        #expect(letters.first?.origin?.file == "sock.jsonl")
    }

    @Test("an input that fails while being read is a dead letter naming it and the reason")
    func readFailure() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("w.jsonl", "")
        let writeOnly = open(path, O_WRONLY)
        defer { close(writeOnly) }
        let source = JSONSource(path: "-", standardInput: FileHandle(fileDescriptor: writeOnly, closeOnDealloc: false))
        let (records, letters) = try collect(source)
        #expect(records.isEmpty)
        #expect(letters.map(\.error) == ["cannot read <stdin>: Bad file descriptor"])
    }

    @Test("- reads standard input: JSON Lines streamed, and a single document too")
    func standardInput() throws {
        let cases: [(String, [Int64])] = [
            ("{\"id\": 1}\n\n{\"id\": 2}\n", [1, 2]),
            ("{\n \"id\": 5\n}\n", [5]),
            ("[{\"id\": 6}, {\"id\": 7}]", [6, 7]),
            ("", []),
        ]
        for (text, expected) in cases {
            let pipe = Pipe()
            pipe.fileHandleForWriting.write(Data(text.utf8))
            try pipe.fileHandleForWriting.close()
            let source = JSONSource(path: "-", standardInput: pipe.fileHandleForReading)
            let (records, letters) = try collect(source)
            #expect(letters.isEmpty)
            #expect(ids(records) == expected)
            #expect(records.allSatisfy { $0.origin.file == "<stdin>" })
        }
    }
}
