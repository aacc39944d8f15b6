import Foundation
@testable import SluiceBasics
import SluiceCore
import SluiceRuntime
import SluiceTestSupport
import Testing

@Suite("fields and dedupe transforms")
struct BasicsTests {
    let registry = (try? StageRegistry(plugins: [BasicsPlugin.self])) ?? StageRegistry()

    func make(_ type: String, _ yamlOptions: String, dir: TemporaryDirectory) throws -> any Transform {
        let yaml = """
            data_dir: state
            sources:
              s: { type: src }
            transforms:
              t:
                type: \(type)
                inputs: [s]
            \(yamlOptions.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            sinks:
              k: { type: snk, inputs: [t] }
            """
        var registry = self.registry
        try registry.register(NoSource.Configuration.self)
        try registry.register(NoSink.Configuration.self)
        let pipeline = try ConfigLoader(registry: registry, variables: [:]).load(yaml: yaml, file: "t.yaml", baseDirectory: dir.path)
        guard case .transform(let t)? = pipeline.stage(named: "t")?.stage else { throw StageError(stage: "t", message: "not built") }
        return t
    }

    func records(_ values: [Fields]) -> [Record] { values.map { StageHarness.record($0) } }

    @Test("fields: select keeps the listed fields in the listed order")
    func select() throws {
        let dir = TemporaryDirectory()
        let t = try make("fields", "select: [title, id, missing]", dir: dir)
        let out = try StageHarness.apply(t, to: records([["id": 1, "body": "b", "title": "t"]]))
        #expect(out.records.map(\.fields) == [["title": "t", "id": 1]])
    }

    @Test("fields: drop, rename in place and set apply in that order")
    func dropRenameSet() throws {
        let dir = TemporaryDirectory()
        let t = try make("fields", """
            drop: body
            rename: { title: headline }
            set: { origin: "feed", version: 2, id: 99 }
            """, dir: dir)
        let out = try StageHarness.apply(t, to: records([["id": 1, "title": "t", "body": "b", "z": nil]]))
        #expect(JSONWriter.string(.object(out.records[0].fields)) == #"{"id":99,"headline":"t","z":null,"origin":"feed","version":2}"#)
    }

    @Test("fields: a renamed field replaces a field that already has the new name, in the renamed field's place; a chain of renames moves each value once")
    func renameOntoExistingField() throws {
        let dir = TemporaryDirectory()
        let onto = try make("fields", "rename: { a: b }", dir: dir)
        let out = try StageHarness.apply(onto, to: records([["b": "BBB", "a": "AAA", "c": "CCC"], ["b": "only b"]]))
        #expect(JSONWriter.string(.object(out.records[0].fields)) == #"{"b":"AAA","c":"CCC"}"#)
        #expect(JSONWriter.string(.object(out.records[1].fields)) == #"{"b":"only b"}"#)
        let chain = try make("fields", "rename: { a: b, b: c }", dir: dir)
        let moved = try StageHarness.apply(chain, to: records([["a": 1, "b": 2, "c": 3]]))
        #expect(JSONWriter.string(.object(moved.records[0].fields)) == #"{"b":1,"c":2}"#)
    }

    @Test("fields: two renames to one name, or to an empty name, are refused at load")
    func renameClashesRefused() throws {
        let dir = TemporaryDirectory()
        do {
            _ = try make("fields", "rename: { a: x, c: x }", dir: dir)
            Issue.record("expected a config error")
        } catch let error as ConfigError {
            #expect(error.description.contains("'rename' maps both 'a' and 'c' to 'x'; one value would be lost"), "\(error)")
        }
        do {
            _ = try make("fields", "rename: { a: \"\" }", dir: dir)
            Issue.record("expected a config error")
        } catch let error as ConfigError {
            #expect(error.description.contains("'rename' maps 'a' to an empty name"), "\(error)")
        }
    }

    @Test("fields: a config with nothing to do, or a non-string rename, is refused at load")
    func fieldsConfigErrors() throws {
        let dir = TemporaryDirectory()
        #expect(throws: ConfigError.self) { try make("fields", "", dir: dir) }
        do {
            _ = try make("fields", "rename: { a: 3 }", dir: dir)
        } catch let error as ConfigError {
            #expect(error.description.contains("'a' maps to integer"))
        }
    }

    @Test("dedupe: keeps the first record per key and drops the rest")
    func dedupeWithinRun() throws {
        let dir = TemporaryDirectory()
        let t = try make("dedupe", "key: [url, lang]\nacross_runs: false", dir: dir)
        let input = records([
            ["url": "a", "lang": "en", "n": 1], ["url": "a", "lang": "fr", "n": 2],
            ["url": "a", "lang": "en", "n": 3], ["url": "b", "lang": "en", "n": 4],
        ])
        let out = try StageHarness.apply(t, to: input, batchSize: 2)
        #expect(out.records.map { $0["n"] } == [1, 2, 4])
        #expect(out.dropped == 1)
    }

    @Test("dedupe: keys are remembered across runs in data_dir")
    func dedupeAcrossRuns() throws {
        let dir = TemporaryDirectory()
        let first = try StageHarness.apply(try make("dedupe", "key: id", dir: dir), to: records([["id": 1], ["id": 2]]), name: "t", dataDirectory: dir.file("state"))
        #expect(first.records.count == 2)
        #expect(FileManager.default.fileExists(atPath: dir.file("state/dedupe/t.keys")))
        let second = try StageHarness.apply(try make("dedupe", "key: id", dir: dir), to: records([["id": 2], ["id": 3], ["id": 1]]), name: "t", dataDirectory: dir.file("state"))
        #expect(second.records.map { $0["id"] } == [3])
        #expect(second.dropped == 2)
        // Integers and strings are different keys.
        let third = try StageHarness.apply(try make("dedupe", "key: id", dir: dir), to: records([["id": "3"]]), name: "t", dataDirectory: dir.file("state"))
        #expect(third.records.count == 1)
    }

    @Test("dedupe: a record without the key field is a dead letter naming the field; others go on")
    func dedupeMissingKey() throws {
        let dir = TemporaryDirectory()
        let t = try make("dedupe", "key: id\nacross_runs: false", dir: dir)
        let out = try StageHarness.apply(t, to: records([["id": 1], ["other": 2], ["id": 3]]))
        #expect(out.records.map { $0["id"] } == [1, 3])
        #expect(out.deadLetters.map(\.error) == ["dedupe key field 'id' is missing"])
        #expect(out.deadLetters.first?.record == ["other": 2])
    }

    @Test("dedupe: stage names that differ only in punctuation keep separate state files")
    func dedupeStateFileNames() {
        #expect(DedupeTransform.fileName(for: "a.b") == "a%2Eb.keys")
        #expect(DedupeTransform.fileName(for: "a_b") == "a_b.keys")
        #expect(DedupeTransform.fileName(for: "né") == "né.keys")
        #expect(DedupeTransform.fileName(for: "新闻 去重") == "新闻%20去重.keys")
        let long = DedupeTransform.fileName(for: String(repeating: "新", count: 100))
        #expect(long.utf8.count <= 255 && long.hasSuffix(".keys"))
        #expect(long != DedupeTransform.fileName(for: String(repeating: "新", count: 101)))
    }

    @Test("dedupe: a torn state file (a crash mid-append) is read up to the last whole key")
    func dedupeTornState() throws {
        let dir = TemporaryDirectory()
        _ = try StageHarness.apply(try make("dedupe", "key: id", dir: dir), to: records([["id": 1]]), name: "t", dataDirectory: dir.file("state"))
        let path = dir.file("state/dedupe/t.keys")
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([1, 2, 3]))
        try handle.close()
        let out = try StageHarness.apply(try make("dedupe", "key: id", dir: dir), to: records([["id": 1], ["id": 2]]), name: "t", dataDirectory: dir.file("state"))
        #expect(out.records.map { $0["id"] } == [2])
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).count == 32)
    }
}

struct NoSource: Source {
    struct Configuration: SourceConfiguration {
        static let type = "src"
        static let summary = "Emits nothing (tests)."
        static let example = "type: src"
        static let options: [ConfigOption<Self>] = []
        func makeSource(_ context: BuildContext) throws -> any Source { NoSource() }
    }
    func run(_ context: SourceContext) throws {}
}
struct NoSink: Sink {
    struct Configuration: SinkConfiguration {
        static let type = "snk"
        static let summary = "Takes records and drops them (tests)."
        static let example = "type: snk\ninputs: s"
        static let options: [ConfigOption<Self>] = []
        func makeSink(_ context: BuildContext) throws -> any Sink { NoSink() }
    }
    func makeWriter(_ context: StageContext) throws -> any SinkWriter { W() }
    final class W: SinkWriter { func write(_ batch: [Record]) throws {}; func flush() throws {}; func close() throws {} }
}
