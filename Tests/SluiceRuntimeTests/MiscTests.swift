import Foundation
import SluiceCore
import SluiceFormats
import SluiceRuntime
import SluiceTestSupport
import Testing

@Suite("Dead letters, test cases")
struct MiscTests {
    @Test("a dead letter is one JSON line with stage, error, source, location, record and time")
    func deadLetterFile() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("out/dead.jsonl")
        let queue = FileDeadLetterQueue(path: path)
        #expect(!FileManager.default.fileExists(atPath: path))
        queue.send(DeadLetter(stage: "facts", error: "rule.lua:3: boom",
                              origin: Origin(source: "articles", file: "a.txt", line: 1),
                              record: ["title": "t"], details: ["script_line": "error('boom')"]))
        queue.send(DeadLetter(stage: "lines", error: "invalid JSON", origin: Origin(source: "lines", file: "x.jsonl", line: 4, column: 2),
                              raw: "{oops"))
        queue.close()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try JSONReader.parse(String(lines[0]))
        #expect(first.objectValue?.keys.elements == ["stage", "error", "source", "location", "record", "script_line", "time"])
        #expect(first["location"] == "a.txt:1")
        let second = try JSONReader.parse(String(lines[1]))
        #expect(second["raw"] == "{oops")
        #expect(second["location"] == "x.jsonl:4:2")
        #expect(queue.count == 2)
    }

    @Test("test-case comparison matches listed fields and reports kinds and paths")
    func comparison() {
        var problems: [String] = []
        let actual: Value = ["a": 1, "money": [["text": "$1", "value": 1.0, "extra": true]], "other": "x"]
        TestCaseRunner.compare(["money": [["text": "$1", "value": 1]]], actual, path: "record 1", into: &problems)
        #expect(problems == ["record 1.money[0].value: expected 1, got 1.0 (expected integer, got number)"])
        problems = []
        TestCaseRunner.compare(["a": 1, "missing": "y", "money": []], actual, path: "record 1", into: &problems)
        #expect(problems == [
            "record 1.missing: missing (expected \"y\")",
            "record 1.money: expected 0 items, got 1: [{\"text\":\"$1\",\"value\":1.0,\"extra\":true}]",
        ])
    }
}
