import Foundation
import Testing
import SluiceCore
import SluiceFormats
import SluiceTestSupport
@testable import SluiceJSON

/// Opens a sink writer on a test context.
func writer(_ sink: JSONSink) throws -> any SinkWriter {
    try sink.makeWriter(StageContext(name: "out"))
}

func text(_ path: String) throws -> String {
    String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
}

func records(_ ids: ClosedRange<Int>) -> [Record] {
    ids.map { StageHarness.record(["id": .int(Int64($0))]) }
}

@Suite("json sink")
struct JSONSinkTests {
    @Test("JSON Lines are written compactly, one record per line, into a new folder")
    func linesIntoNewFolder() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("out/deeper/x.jsonl")
        let letters = try StageHarness.deliver(records(1...3), to: JSONSink(path: path), batchSize: 2)
        #expect(letters.isEmpty)
        #expect(try text(path) == "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n")
    }

    @Test("an existing file is replaced unless append is set; appending adds a missing final newline")
    func truncateOrAppend() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("x.jsonl", "{\"old\":true}")
        _ = try StageHarness.deliver(records(1...1), to: JSONSink(path: path))
        #expect(try text(path) == "{\"id\":1}\n")
        try dir.write("x.jsonl", "{\"old\":true}")
        _ = try StageHarness.deliver(records(2...2), to: JSONSink(path: path, append: true))
        #expect(try text(path) == "{\"old\":true}\n{\"id\":2}\n")
    }

    @Test("format: array writes one valid array across batches, and [] when there are no records")
    func arrayAcrossBatches() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("a.json")
        _ = try StageHarness.deliver(records(1...5), to: JSONSink(path: path, format: .array), batchSize: 2)
        #expect(try text(path) == "[\n{\"id\":1},\n{\"id\":2},\n{\"id\":3},\n{\"id\":4},\n{\"id\":5}\n]\n")
        let back = try JSONReader.parse(try text(path))
        #expect(back.arrayValue?.count == 5)

        let empty = dir.file("e.json")
        _ = try StageHarness.deliver([], to: JSONSink(path: empty, format: .array))
        #expect(try text(empty) == "[]\n")
    }

    @Test("an array file is complete after every flush, and later records continue it")
    func arrayValidAfterFlush() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("a.json")
        let w = try writer(JSONSink(path: path, format: .array))
        try w.flush()
        #expect(try text(path) == "[]\n")
        try w.write(records(1...2))
        try w.flush()
        #expect(try text(path) == "[\n{\"id\":1},\n{\"id\":2}\n]\n")
        try w.write(records(3...3))
        try w.flush()
        #expect(try text(path) == "[\n{\"id\":1},\n{\"id\":2},\n{\"id\":3}\n]\n")
        try w.close()
        #expect(try text(path) == "[\n{\"id\":1},\n{\"id\":2},\n{\"id\":3}\n]\n")
    }

    @Test("append continues an existing array, empty or not; a file that is no array is refused")
    func appendToArray() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("a.json", "[{\"id\":1}]\n")
        _ = try StageHarness.deliver(records(2...3), to: JSONSink(path: path, format: .array, append: true))
        #expect(try JSONReader.parse(try text(path)) == [["id": 1], ["id": 2], ["id": 3]])

        let empty = try dir.write("e.json", "[ ]")
        _ = try StageHarness.deliver(records(1...1), to: JSONSink(path: empty, format: .array, append: true))
        #expect(try JSONReader.parse(try text(empty)) == [["id": 1]])

        let bad = try dir.write("b.json", "{\"id\":1}")
        #expect(throws: StageError.self) { try writer(JSONSink(path: bad, format: .array, append: true)) }
        #expect(try text(bad) == "{\"id\":1}")
    }

    @Test("- writes to standard output")
    func standardOutput() throws {
        let pipe = Pipe()
        let sink = JSONSink(path: "-", format: .array, standardOutput: pipe.fileHandleForWriting)
        _ = try StageHarness.deliver(records(1...2), to: sink)
        try pipe.fileHandleForWriting.close()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(out == "[\n{\"id\":1},\n{\"id\":2}\n]\n")
    }

    @Test("a path that cannot be opened fails when the writer opens, naming the path")
    func unwritablePath() throws {
        let dir = TemporaryDirectory()
        let blocker = try dir.write("file", "x")
        do {
            _ = try writer(JSONSink(path: blocker + "/sub/out.jsonl"))
            Issue.record("expected an error")
        } catch let error as StageError {
            #expect(error.description.contains(blocker))
        }
    }
}

@Suite("json round trip")
struct JSONRoundTripTests {
    @Test("source to sink keeps integers, doubles like 1.0, unicode, escapes and key order byte for byte")
    func exactRoundTrip() throws {
        let dir = TemporaryDirectory()
        let lines = [
            #"{"z":1,"a":1.0,"m":-0.5,"big":9223372036854775807,"neg":-9223372036854775808,"e":1e-07}"#,
            #"{"s":"café 東京 🎉","esc":"quote \" backslash \\ nl \n tab \t ctl \u0001","slash":"a/b"}"#,
            #"{"nested":{"b":[1,2.5,{"c":null}],"a":true},"empty":{},"list":[],"f":false}"#,
        ]
        let input = lines.joined(separator: "\n") + "\n"
        let inPath = try dir.write("in.jsonl", input)
        let outPath = dir.file("out.jsonl")
        let (records, letters) = try collect(JSONSource(path: inPath))
        #expect(letters.isEmpty)
        #expect(records[0]["a"] == .double(1.0))
        #expect(records[0]["z"] == .int(1))
        #expect(Array(records[0].fields.keys) == ["z", "a", "m", "big", "neg", "e"])
        _ = try StageHarness.deliver(records, to: JSONSink(path: outPath))
        #expect(try text(outPath) == input)
    }

    @Test("non-canonical input text reads back to the same values after a round trip")
    func valuesRoundTrip() throws {
        let dir = TemporaryDirectory()
        let input = "{ \"x\" : 1E2, \"y\": 0.10, \"u\": \"\\u00e9\\ud83d\\ude00\" }\n"
        let inPath = try dir.write("in.jsonl", input)
        let outPath = dir.file("out.jsonl")
        let (records, _) = try collect(JSONSource(path: inPath))
        _ = try StageHarness.deliver(records, to: JSONSink(path: outPath))
        let (again, _) = try collect(JSONSource(path: outPath))
        #expect(again.map(\.fields) == records.map(\.fields))
        #expect(again.first?["u"] == "é😀")
        #expect(again.first?["x"] == .double(100))
    }
}
