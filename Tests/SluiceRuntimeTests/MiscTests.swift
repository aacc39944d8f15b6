import Foundation
import SluiceCore
import SluiceTestSupport
import Testing

@Suite("Suggestions, file sets, dead letters, test cases")
struct MiscTests {
    @Test("did-you-mean finds near misses and stays quiet for unrelated words")
    func suggestions() {
        #expect(Suggest.closest(to: "proces", in: ["process", "init", "finish"]) == "process")
        #expect(Suggest.closest(to: "fnish", in: ["process", "init", "finish"]) == "finish")
        #expect(Suggest.closest(to: "tabel", in: ["table", "path"]) == "table")
        #expect(Suggest.closest(to: "zzzz", in: ["process", "init"]) == nil)
    }

    @Test("a glob with ** finds files in every folder, sorted, skipping hidden ones and other extensions")
    func globs() throws {
        let dir = TemporaryDirectory()
        for name in ["a.txt", "sub/b.txt", "sub/deeper/c.md", "sub/d.json", ".hidden/e.txt", "sub/.f.txt"] {
            try dir.write(name, "x")
        }
        let all = try FileSet(pattern: dir.path + "/**/*.txt").files().map(\.relativePath)
        #expect(all == ["a.txt", "sub/b.txt"])
        let folder = try FileSet(pattern: dir.path, extensions: ["txt", "md"]).files().map(\.relativePath)
        #expect(folder == ["a.txt", "sub/b.txt", "sub/deeper/c.md"])
        let braces = try FileSet(pattern: dir.path + "/sub/**/*.{md,json}").files().map(\.relativePath)
        #expect(braces == ["d.json", "deeper/c.md"])
        let single = try FileSet(pattern: dir.path + "/sub/b.txt").files()
        #expect(single.map(\.relativePath) == ["b.txt"])
        #expect(throws: FileSetError.self) { try FileSet(pattern: dir.path + "/missing.txt").files() }
        #expect(try FileSet(pattern: dir.path + "/nothing/*.txt").files().isEmpty)
    }

    @Test("symbolic links to files are found, dangling ones are kept for the source to report, folder links are not followed")
    func symlinks() throws {
        let dir = TemporaryDirectory()
        try dir.write("real/a.txt", "x")
        try FileManager.default.createDirectory(atPath: dir.file("in"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir.file("in/link.txt"), withDestinationPath: dir.file("real/a.txt"))
        try FileManager.default.createSymbolicLink(atPath: dir.file("in/dangling.txt"), withDestinationPath: dir.file("gone.txt"))
        try FileManager.default.createSymbolicLink(atPath: dir.file("in/loop"), withDestinationPath: dir.file("in"))
        let found = try FileSet(pattern: dir.file("in"), extensions: ["txt"]).files().map(\.relativePath)
        #expect(found == ["dangling.txt", "link.txt"])
        let globbed = try FileSet(pattern: dir.file("in") + "/**/*.txt").files().map(\.relativePath)
        #expect(globbed == ["dangling.txt", "link.txt"])
        #expect(try FileSet(pattern: dir.file("in/dangling.txt")).files().count == 1)
    }

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

@Suite("Text normalization")
struct NFCTests {
    @Test("NFC in pieces gives exactly the NFC of the whole text, across piece boundaries")
    func piecewiseNFCMatchesWhole() {
        // Decomposed accents, Hangul jamo, a run of non-ASCII longer than a piece, and marks
        // right at the cut points.
        var text = ""
        for i in 0..<3000 {
            text += i % 7 == 0 ? "Cafe\u{301} " : i % 11 == 0 ? "\u{1100}\u{1161}\u{11A8}" : "a\u{308}\u{323}b "
            if i == 1500 { text += String(repeating: "\u{E9}\u{301}", count: 3000) }
        }
        #expect(text.utf8.count > 3 * 4096)
        let whole = text.precomposedStringWithCanonicalMapping
        #expect(Array(TextDecoding.nfc(text).unicodeScalars) == Array(whole.unicodeScalars))
        #expect(TextDecoding.nfc("short e\u{301}") == "short \u{E9}")
    }
}

@Suite("File sets through links")
struct FileSetLinkTests {
    @Test("a folder named in the pattern may be a link: globs, folders and ** all find the files below its target")
    func linkedRootFolder() throws {
        let dir = TemporaryDirectory()
        try dir.write("real/a.jsonl", "{}\n")
        try dir.write("real/sub/b.jsonl", "{}\n")
        try FileManager.default.createSymbolicLink(atPath: dir.file("link"), withDestinationPath: dir.file("real"))
        for pattern in ["link/*.jsonl", "link", "link/**/*.jsonl"] {
            let found = try FileSet(pattern: dir.file(pattern)).files().map(\.relativePath)
            #expect(found.contains("a.jsonl"), "\(pattern): \(found)")
        }
        #expect(try FileSet(pattern: dir.file("link/**/*.jsonl")).files().map(\.relativePath) == ["a.jsonl", "sub/b.jsonl"])
    }
}
