import Foundation
@testable import SluiceCLI
@testable import SluiceCore
@testable import SluiceRuntime
import SluiceTestSupport
import Synchronization
import Testing

@Suite("dead letters read back, replay pipelines, status lines")
struct DeliveryReplayTests {
    // MARK: - Dead letters as JSON

    @Test("a dead letter's JSON carries the position after the location, and reads back to the same letter")
    func deadLetterRoundTrip() throws {
        let time = Date(timeIntervalSince1970: 1_700_000_000.25)
        let origin = Origin(source: "input", file: "in.jsonl", line: 2, position: Position(input: "in.jsonl", epoch: 3, offset: 120))
        let letter = DeadLetter(stage: "rule", error: "rule.lua:2: boom", origin: origin, record: ["n": 2, "tags": ["a"]],
                                details: ["script_line": "error('boom')"], time: time)
        let json = letter.json
        #expect(json.keys.elements == ["stage", "error", "source", "location", "position", "record", "script_line", "time"])
        #expect(json["position"] == ["input": "in.jsonl", "epoch": 3, "offset": 120])
        let back = try DeadLetter(line: JSONWriter.string(.object(json)))
        #expect(back.stage == "rule")
        #expect(back.error == "rule.lua:2: boom")
        #expect(back.origin == origin)
        #expect(back.record == ["n": 2, "tags": ["a"]])
        #expect(back.details == ["script_line": "error('boom')"])
        #expect(abs(back.time.timeIntervalSince(time)) < 0.001)
        #expect(back.json == json)
    }

    @Test("without a position the key is left out, as before")
    func noPosition() {
        let letter = DeadLetter(stage: "s", error: "e", origin: Origin(source: "in", file: "a.txt", line: 1), record: [:])
        #expect(letter.json.keys.elements == ["stage", "error", "source", "location", "record", "time"])
    }

    @Test("raw input that is not text is written as raw_base64 and reads back byte for byte; text stays raw")
    func rawBytes() throws {
        var letter = DeadLetter(stage: "lines", error: "invalid UTF-8", origin: Origin(source: "lines", file: "x.jsonl", line: 4))
        let bytes: [UInt8] = [0x7B, 0xFF, 0xFE, 0x00, 0x7D]
        letter.setRaw(bytes)
        #expect(letter.raw == nil)
        #expect(letter.json["raw_base64"] == .string(Data(bytes).base64EncodedString()))
        #expect(letter.json["raw"] == nil)
        let back = try DeadLetter(line: JSONWriter.string(.object(letter.json)))
        #expect(back.rawBytes == bytes)
        #expect(back.record == nil)

        var text = DeadLetter(stage: "lines", error: "bad JSON")
        text.setRaw(Array("{oops".utf8))
        #expect(text.raw == "{oops")
        #expect(text.rawBytes == nil)
        #expect(text.json.keys.elements == ["stage", "error", "source", "location", "raw", "time"])
    }

    @Test("locations read back to the same origin parts", arguments: [
        "a.txt:1", "x.jsonl:4:2", "db.sqlite#17", "line 3", "line 3:4", "row 9", "notes.txt", "c:/odd:name.txt:5",
    ])
    func locationRoundTrip(_ location: String) throws {
        let back = try DeadLetter(json: ["stage": "s", "error": "e", "source": "in", "location": .string(location)])
        #expect(back.origin?.location == location)
    }

    @Test("a line that is not a dead letter says why")
    func badLines() {
        #expect(throws: DeadLetterFormatError.self) { try DeadLetter(line: "{oops") }
        #expect(throws: DeadLetterFormatError.self) { try DeadLetter(line: #"{"error": "no stage"}"#) }
        #expect(throws: DeadLetterFormatError.self) { try DeadLetter(line: #"{"stage": "s", "error": "e", "record": 3}"#) }
    }

    // MARK: - The dead-letter file

    /// Writes letters as `run` would and returns the file's path.
    static func writeLetters(_ letters: [DeadLetter], extra: [String] = [], in dir: TemporaryDirectory) -> String {
        let path = dir.file("state/dead_letter.jsonl")
        let queue = FileDeadLetterQueue(path: path)
        for letter in letters { queue.send(letter) }
        queue.close()
        if !extra.isEmpty, let handle = FileHandle(forWritingAtPath: path) {
            _ = try? handle.seekToEnd()
            handle.write(Data(extra.map { $0 + "\n" }.joined().utf8))
            try? handle.close()
        }
        return path
    }

    static func letter(_ stage: String, _ n: Int64, raw: Bool = false) -> DeadLetter {
        let origin = Origin(source: "input", file: "in.jsonl", line: Int(n), position: Position(input: "in.jsonl", epoch: 1, offset: n * 10))
        return raw ? DeadLetter(stage: stage, error: "bad", origin: origin, raw: "{\(n)")
            : DeadLetter(stage: stage, error: "bad", origin: origin, record: ["n": .int(n)])
    }

    @Test("the inventory counts replayable letters per stage, raw-only letters and lines that are not letters")
    func inventory() throws {
        let dir = TemporaryDirectory()
        let path = Self.writeLetters([Self.letter("rule", 1), Self.letter("input", 2, raw: true), Self.letter("db", 3),
                                      Self.letter("rule", 4)], extra: ["not json"], in: dir)
        let all = try DeadLetterInventory(path: path)
        #expect(all.replayable.map(\.stage) == ["rule", "db"])
        #expect(all.replayable.map(\.count) == [2, 1])
        #expect(all.rawOnly.map(\.stage) == ["input"])
        #expect(all.unreadable.map(\.line) == [5])
        #expect(all.input.hasPrefix("dead_letter.jsonl@"))
        let one = try DeadLetterInventory(path: path, stage: "db")
        #expect(one.replayable.map(\.stage) == ["db"])
        #expect(one.rawOnly.isEmpty)
        #expect(throws: ReplayError.self) { try DeadLetterInventory(path: dir.file("missing.jsonl")) }
    }

    @Test("the input name stays the same when letters are appended, and changes when the file is written afresh")
    func inputName() throws {
        let dir = TemporaryDirectory()
        let path = Self.writeLetters([Self.letter("rule", 1)], in: dir)
        let before = try DeadLetterInventory.inputName(path: path)
        _ = Self.writeLetters([Self.letter("rule", 2)], in: dir)
        #expect(try DeadLetterInventory.inputName(path: path) == before)
        try FileManager.default.removeItem(atPath: path)
        _ = Self.writeLetters([Self.letter("rule", 7)], in: dir)
        #expect(try DeadLetterInventory.inputName(path: path) != before)
    }

    @Test("the replay source emits one stage's letters as records: its own name, the letter's place, the letter's byte offset")
    func replaySource() throws {
        let dir = TemporaryDirectory()
        let path = Self.writeLetters([Self.letter("rule", 1), Self.letter("db", 2), Self.letter("rule", 3, raw: true),
                                      Self.letter("rule", 4)], in: dir)
        let inventory = try DeadLetterInventory(path: path)
        let source = ReplaySource(path: path, limit: inventory.size, stage: "rule", input: inventory.input)
        let (records, letters) = try StageHarness.collect(source, name: "replay:rule", batchSize: 1)
        #expect(letters.isEmpty)
        #expect(records.map(\.fields) == [["n": 1], ["n": 4]])
        #expect(records.allSatisfy { $0.origin.source == "replay:rule" })
        #expect(records.map(\.origin.location) == ["in.jsonl:1", "in.jsonl:4"])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lineStarts = [0] + text.utf8.enumerated().filter { $0.element == 0x0A }.map { $0.offset + 1 }
        #expect(records.map(\.origin.position) == [
            Position(input: inventory.input, epoch: 1, offset: Int64(lineStarts[0])),
            Position(input: inventory.input, epoch: 1, offset: Int64(lineStarts[3])),
        ])
    }

    @Test("replay files go next to the letters, named for the time, without piling up .replay- parts")
    func replayFileName() {
        let now = Date(timeIntervalSince1970: 1_738_343_045)   // 2025-01-31 17:04:05 UTC
        #expect(ReplayCommand.replayFile(next: "/tmp/x/dead_letter.jsonl", now: now)
            == "/tmp/x/dead_letter.replay-20250131T170405Z.jsonl")
        #expect(ReplayCommand.replayFile(next: "/tmp/x/dead_letter.replay-20250101T000000Z.jsonl", now: now)
            == "/tmp/x/dead_letter.replay-20250131T170405Z.jsonl")
    }

    // MARK: - The replay pipeline

    static func pipeline(_ dir: TemporaryDirectory, sink: any Sink = NullSink()) -> Pipeline {
        let env = StageHarness.environment(dir.path)
        func stage(_ name: String, _ kind: StageKind, _ inputs: [String]) -> PipelineStage {
            let built: BuiltStage
            switch kind {
            case .source: built = .source(NullSource())
            case .transform: built = .transform(PassTransform(failOn: name == "b" ? 2 : nil))
            case .sink: built = .sink(sink)
            }
            return PipelineStage(name: name, type: "test", kind: kind, inputs: inputs,
                                 options: StageOptions(name: name, type: "test", kind: kind, values: [:], environment: env),
                                 stage: built)
        }
        // input → a → b → out1;  input → c → out2;  other → b
        return Pipeline(configFile: dir.file("p.yaml"), environment: env, deadLetterPath: dir.file("dead.jsonl"),
                        stages: [stage("input", .source, []), stage("other", .source, []),
                                 stage("a", .transform, ["input"]), stage("b", .transform, ["a", "other"]),
                                 stage("c", .transform, ["input"]), stage("out1", .sink, ["b"]), stage("out2", .sink, ["c"])],
                        tests: [])
    }

    @Test("the replay pipeline holds the refusing stage fed by a replay source, and only what is downstream of it")
    func replayPipelineShape() throws {
        let dir = TemporaryDirectory()
        let path = Self.writeLetters([Self.letter("b", 1), Self.letter("gone", 2)], in: dir)
        let replay = Self.pipeline(dir).replaying(try DeadLetterInventory(path: path))
        #expect(replay.stages.map(\.name) == ["replay:b", "b", "out1"])
        #expect(replay.stages.map(\.inputs) == [[], ["replay:b"], ["b"]])
        #expect(replay.stages.first?.kind == .source)
    }

    @Test("several refusing stages, one downstream of another; a refusing source is replaced by its replay source")
    func replayPipelineSeveral() throws {
        let dir = TemporaryDirectory()
        let path = Self.writeLetters([Self.letter("b", 1), Self.letter("a", 2), Self.letter("input", 3)], in: dir)
        let replay = Self.pipeline(dir).replaying(try DeadLetterInventory(path: path))
        #expect(replay.stages.map(\.name) == ["replay:b", "replay:a", "replay:input", "a", "b", "c", "out1", "out2"])
        let inputs = Dictionary(uniqueKeysWithValues: replay.stages.map { ($0.name, $0.inputs) })
        #expect(inputs["a"] == ["replay:input", "replay:a"])
        #expect(inputs["b"] == ["a", "replay:b"])
        #expect(inputs["c"] == ["replay:input"])
    }

    @Test("replaying one file twice into a sink that keeps delivery marks writes each record once; failures go to the new queue")
    func replayTwiceWritesOnce() throws {
        let dir = TemporaryDirectory()
        let path = Self.writeLetters([Self.letter("b", 1), Self.letter("b", 2), Self.letter("b", 3), Self.letter("c", 4)], in: dir)
        let sink = MarkingSink()
        let pipeline = Self.pipeline(dir, sink: sink)
        for round in 1...2 {
            let replay = pipeline.replaying(try DeadLetterInventory(path: path, stage: "b"))
            let letters = CollectingDeadLetterQueue()
            let result = PipelineRunner(pipeline: replay, deadLetters: letters).run()
            #expect(result.failure == nil)
            #expect(letters.letters.map(\.record) == [["n": 2]], "round \(round)")
            #expect(letters.letters.first?.origin?.source == "replay:b")
            #expect(result.skipped == (round == 1 ? 0 : 2))
        }
        #expect(sink.store.rows.withLock { $0 } == [["n": 1], ["n": 3]])
    }

    // MARK: - Status

    @Test("status counts a file source's new and changed files against its checkpoints")
    func statusLine() throws {
        let dir = TemporaryDirectory()
        try dir.write("in/a.jsonl", "{}\n")
        try dir.write("in/b.jsonl", "{}\n")
        try dir.write("in/c.jsonl", "{}\n")
        let stamp = try #require(FileStamp(path: dir.file("in/a.jsonl")))
        let saved = [
            InputCheckpoint(input: "a.jsonl", epoch: 1, offset: 3, complete: true, size: stamp.size, modified: stamp.modified, records: 1),
            InputCheckpoint(input: "b.jsonl", epoch: 1, offset: 3, complete: false, size: 1, modified: 0, records: 4),
        ]
        let line = DeliveryStatus.line(name: "input", type: "json", files: FileSet(pattern: dir.file("in")), saved: saved)
        #expect(line == DeliveryStatus.SourceLine(name: "input", type: "json", inputs: 2, partial: 1, records: 5, new: 1, changed: 1))
        let tables = DeliveryStatus.line(name: "db", type: "sqlite", files: FileSet(pattern: dir.file("in/a.jsonl")),
                                         saved: [InputCheckpoint(input: "articles", epoch: 1, records: 9)])
        #expect(tables.new == nil && tables.changed == nil && tables.records == 9)
        #expect(DeliveryStatus.countLines(dir.file("in/a.jsonl")) == 1)
        #expect(DeliveryStatus.countLines(dir.file("missing")) == nil)
    }
}

// MARK: - Stages for the tests

struct NullSource: Source {
    func run(_ context: SourceContext) throws {}
}

/// Passes records on; dead-letters the record whose `n` is `failOn`.
struct PassTransform: Transform {
    var failOn: Int64?
    func makeWorker(_ context: StageContext) throws -> any TransformWorker { Worker(failOn: failOn) }
    final class Worker: TransformWorker {
        let failOn: Int64?
        init(failOn: Int64?) { self.failOn = failOn }
        func process(_ batch: [Record], into output: inout TransformOutput) throws {
            for record in batch {
                if let failOn, record["n"]?.intValue == failOn {
                    output.deadLetter(record, error: "n is \(failOn)")
                } else {
                    output.emit(record)
                }
            }
        }
    }
}

struct NullSink: Sink {
    func makeWriter(_ context: StageContext) throws -> any SinkWriter { Writer() }
    final class Writer: SinkWriter {
        func write(_ batch: [Record]) throws {}
        func flush() throws {}
        func close() throws {}
    }
}

/// Keeps rows and delivery marks in memory across runs, committing them together, as the
/// sqlite and json sinks do on disk.
struct MarkingSink: Sink {
    final class Store: Sendable {
        let rows = Mutex<[Fields]>([])
        let marks = Mutex<[DeliveryLedger.Key: DeliveryLedger.Mark]>([:])
    }
    let store = Store()

    func makeWriter(_ context: StageContext) throws -> any SinkWriter {
        context.ledger.load(store.marks.withLock { $0 })
        return Writer(store: store, ledger: context.ledger)
    }

    final class Writer: SinkWriter {
        let store: Store
        let ledger: DeliveryLedger
        var pending: [Fields] = []
        init(store: Store, ledger: DeliveryLedger) {
            self.store = store
            self.ledger = ledger
        }
        func write(_ batch: [Record]) throws { pending.append(contentsOf: batch.map(\.fields)) }
        func flush() throws {
            let rows = pending
            let marks = ledger.pendingMarks
            store.rows.withLock { $0.append(contentsOf: rows) }
            store.marks.withLock { $0.merge(marks) { _, new in new } }
            pending.removeAll()
            ledger.committed()
        }
        func close() throws { try flush() }
    }
}
