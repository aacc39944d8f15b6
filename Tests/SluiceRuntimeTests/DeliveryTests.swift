import Foundation
@testable import SluiceCore
import SluiceFormats
@testable import SluiceRuntime
import SluiceTestSupport
import Synchronization
import Testing

/// A source of `count` records at offsets 0, 10, 20…, saying after each batch how far it read.
private struct OffsetSource: Source {
    let count: Int
    func run(_ context: SourceContext) throws {
        let saved = try context.checkpoint["numbers"]
        let epoch = saved?.epoch ?? context.checkpoint.baseEpoch
        var n = Int(saved?.offset ?? 0) / 10
        var batch: [Record] = []
        while n < count {
            let position = Position(input: "numbers", epoch: epoch, offset: Int64(n * 10))
            batch.append(Record(["n": .int(Int64(n))], origin: Origin(source: context.name, position: position)))
            n += 1
            if batch.count == context.batchSize || n == count {
                context.progress(InputCheckpoint(input: "numbers", epoch: epoch, offset: Int64(n * 10), records: Int64(n)))
                try context.emit(batch)
                batch = []
            }
        }
    }
}

/// Keeps what it committed; fails its `failOnFlush`-th flush (1-based).
private final class Committed: Sendable {
    let rows = Mutex<[Int64]>([])
    let flushes = Atomic<Int>(0)
}

private struct RecordingSink: Sink {
    let box: Committed
    let failOnFlush: Int?
    func makeWriter(_ context: StageContext) throws -> any SinkWriter { Writer(box: box, failOnFlush: failOnFlush) }
    final class Writer: SinkWriter {
        let box: Committed
        let failOnFlush: Int?
        var pending: [Int64] = []
        init(box: Committed, failOnFlush: Int?) { self.box = box; self.failOnFlush = failOnFlush }
        func write(_ batch: [Record]) throws { pending += batch.compactMap { $0["n"]?.intValue } }
        func flush() throws {
            let k = box.flushes.add(1, ordering: .relaxed).newValue
            if let failOnFlush, k >= failOnFlush { throw StageError(stage: "sink", message: "disk gone") }
            box.rows.withLock { $0 += pending }
            pending = []
        }
        func close() throws { try flush() }
    }
}

private func pipeline(_ source: any Source, _ sink: any Sink) -> Pipeline {
    let env = BuildEnvironment(configFile: "t.yaml", baseDirectory: "/tmp", dataDirectory: "/tmp/none")
    let options = StageOptions(name: "x", type: "x", kind: .source, values: [:], environment: env)
    return Pipeline(configFile: "t.yaml", environment: env, deadLetterPath: "/dev/null", stages: [
        PipelineStage(name: "src", type: "offsets", kind: .source, inputs: [], options: options, stage: .source(source)),
        PipelineStage(name: "sink", type: "recording", kind: .sink, inputs: ["src"], options: options, stage: .sink(sink)),
    ], tests: [])
}

@Suite("Delivery: ledgers, acknowledgements, checkpoints")
struct DeliveryCoreTests {
    static func record(_ n: Int64, offset: Int64, epoch: Int64 = 1, input: String = "a") -> Record {
        Record(["n": .int(n)], origin: Origin(source: "s", position: Position(input: input, epoch: epoch, offset: offset)))
    }

    @Test("a ledger skips the records at or below the committed marks, counting records that share a position")
    func ledgerSkipsCommitted() throws {
        let first = DeliveryLedger()
        first.load([:])
        let batch = [Self.record(1, offset: 0), Self.record(2, offset: 10), Self.record(3, offset: 10), Self.record(4, offset: 20)]
        #expect(try first.admit(Array(batch[0..<3]), route: "").count == 3)
        let marks = first.pendingMarks
        #expect(marks[DeliveryLedger.Key(source: "s", input: "a", route: "")] == DeliveryLedger.Mark(epoch: 1, offset: 10, count: 2))

        let second = DeliveryLedger()
        second.load(marks)
        #expect(try second.admit(batch, route: "").map { $0["n"] } == [4])
        #expect(second.skipped == 3)
        let fourth = DeliveryLedger()
        fourth.load(marks)
        #expect(try fourth.admit(Array(batch[0..<3]), route: "").isEmpty)
        #expect(fourth.pendingMarks.isEmpty, "every record skipped: no mark moved, none to store")
        // Another route, another epoch, or no position: not skipped.
        let third = DeliveryLedger()
        third.load(marks)
        #expect(try third.admit(batch, route: "branch").count == 4)
        #expect(try third.admit([Self.record(9, offset: 0, epoch: 2)], route: "").count == 1)
        #expect(try third.admit([Record(["n": 1], origin: Origin(source: "s"))], route: "").count == 1)
    }

    @Test("a ledger keeps one mark per source, input and route; commits move them, loaded marks stay the floor")
    func ledgerKeysAndCommits() throws {
        func key(_ source: String, _ input: String, _ route: String = "") -> DeliveryLedger.Key {
            DeliveryLedger.Key(source: source, input: input, route: route)
        }
        func record(_ source: String, _ input: String, offset: Int64) -> Record {
            Record([:], origin: Origin(source: source, position: Position(input: input, epoch: 1, offset: offset)))
        }
        let ledger = DeliveryLedger()
        ledger.load([key("s", "old"): DeliveryLedger.Mark(epoch: 1, offset: 50, count: 1)])
        // The same input name under two sources and two routes: four separate marks.
        _ = try ledger.admit([record("s", "a", offset: 5), record("t", "a", offset: 7), record("s", "a", offset: 9)], route: "")
        _ = try ledger.admit([record("s", "a", offset: 1)], route: "branch")
        #expect(ledger.committedMark(for: key("s", "a")) == nil, "nothing committed yet")
        #expect(ledger.pendingMarks == [key("s", "a"): DeliveryLedger.Mark(epoch: 1, offset: 9, count: 1),
                                        key("t", "a"): DeliveryLedger.Mark(epoch: 1, offset: 7, count: 1),
                                        key("s", "a", "branch"): DeliveryLedger.Mark(epoch: 1, offset: 1, count: 1)])
        ledger.committed()
        #expect(ledger.pendingMarks.isEmpty)
        #expect(ledger.committedMark(for: key("t", "a")) == DeliveryLedger.Mark(epoch: 1, offset: 7, count: 1))
        #expect(ledger.committedMark(for: key("s", "old")) == DeliveryLedger.Mark(epoch: 1, offset: 50, count: 1))
        #expect(ledger.allMarks.count == 4)
        // An input read again from its start in this run: records at or below the loaded mark are skipped.
        #expect(try ledger.admit([record("s", "old", offset: 50), record("s", "old", offset: 60)], route: "").count == 1)
        ledger.committed()
        #expect(ledger.allMarks[key("s", "old")] == DeliveryLedger.Mark(epoch: 1, offset: 60, count: 1))
    }

    /// A sink's marks table, in memory: counts the lookups, can be made to fail.
    final class MemoryMarkStore: DeliveryMarkStore {
        var marks: [DeliveryLedger.Key: DeliveryLedger.Mark] = [:]
        var lookups: [[DeliveryLedger.Key]] = []
        var failure: String?

        /// A store holding one mark of source "s", route "", for each input given.
        init(_ marks: [String: DeliveryLedger.Mark] = [:]) {
            for (input, mark) in marks { self.marks[DeliveryLedger.Key(source: "s", input: input, route: "")] = mark }
        }

        func committedMarks(for keys: [DeliveryLedger.Key]) throws -> [DeliveryLedger.Key: DeliveryLedger.Mark] {
            if let failure { throw StageError(stage: "sink", message: failure) }
            lookups.append(keys)
            var found: [DeliveryLedger.Key: DeliveryLedger.Mark] = [:]
            for key in keys { found[key] = marks[key] }
            return found
        }

        /// Stores the ledger's pending marks and tells it, as a sink's commit does.
        func commit(_ ledger: DeliveryLedger) {
            for (key, mark) in ledger.pendingMarks { marks[key] = max(marks[key] ?? mark, mark) }
            ledger.committed()
        }
    }

    @Test("a ledger reading its store looks up each batch's new keys in one call and skips what the store says was committed")
    func ledgerReadsStoreOncePerBatch() throws {
        let store = MemoryMarkStore(["b": DeliveryLedger.Mark(epoch: 1, offset: 10, count: 1)])
        let ledger = DeliveryLedger()
        ledger.load(from: store)
        #expect(ledger.isEnabled)
        let batch = [Self.record(1, offset: 0, input: "a"), Self.record(2, offset: 10, input: "b"),
                     Self.record(3, offset: 20, input: "b"), Self.record(4, offset: 0, input: "c")]
        #expect(try ledger.admit(batch, route: "").map { $0["n"] } == [.int(1), .int(3), .int(4)])
        #expect(store.lookups.map { $0.map(\.input) } == [["a", "b", "c"]], "one call for the batch's three new keys")
        #expect(try ledger.admit([Self.record(5, offset: 30, input: "b")], route: "").count == 1)
        #expect(store.lookups.count == 1, "keys held are not looked up again")
        store.commit(ledger)
        #expect(store.marks[DeliveryLedger.Key(source: "s", input: "b", route: "")] == DeliveryLedger.Mark(epoch: 1, offset: 30, count: 1))
    }

    @Test("a ledger reading its store holds one transaction's marks, not every input's, and still delivers each record once")
    func ledgerReadingStoreStaysSmall() throws {
        let store = MemoryMarkStore()
        let inputs = (0..<5_000).map { "article-\($0).txt" }
        func batches(_ names: ArraySlice<String>) -> [[Record]] {
            stride(from: names.startIndex, to: names.endIndex, by: 100).map { start in
                names[start..<min(start + 100, names.endIndex)].map { Self.record(1, offset: 0, input: $0) }
            }
        }
        let first = DeliveryLedger(retaining: 50)
        first.load(from: store)
        var mostHeld = 0
        for batch in batches(inputs[0..<3_000]) {
            #expect(try first.admit(batch, route: "").count == batch.count)
            store.commit(first)
            mostHeld = max(mostHeld, first.heldMarks)
        }
        #expect(mostHeld <= 101, "a batch's keys and the last key kept, not 3,000")
        #expect(first.heldMarks == 1)
        #expect(store.marks.count == 3_000)

        // The re-run reads every input again: the committed ones are skipped, the rest delivered.
        let again = DeliveryLedger(retaining: 50)
        again.load(from: store)
        var admitted = 0
        for batch in batches(inputs[0...]) {
            admitted += try again.admit(batch, route: "").count
            store.commit(again)
        }
        #expect(admitted == 2_000)
        #expect(again.skipped == 3_000)
        #expect(store.marks.count == 5_000)
    }

    @Test("records of one input position split by a commit are counted on, though the other marks were forgotten")
    func ledgerKeepsLastKeyAcrossCommits() throws {
        let store = MemoryMarkStore()
        let ledger = DeliveryLedger(retaining: 0)
        ledger.load(from: store)
        // Three outputs of the record at offset 10 of "a", in two batches with a commit between,
        // while route "branch" meets other inputs.
        _ = try ledger.admit([Self.record(1, offset: 0, input: "z"), Self.record(1, offset: 10), Self.record(2, offset: 10)], route: "")
        _ = try ledger.admit([Self.record(1, offset: 0, input: "y")], route: "branch")
        store.commit(ledger)
        #expect(ledger.heldMarks == 2, "the last key of each route")
        #expect(try ledger.admit([Self.record(3, offset: 10)], route: "").count == 1)
        store.commit(ledger)
        #expect(store.marks[DeliveryLedger.Key(source: "s", input: "a", route: "")] == DeliveryLedger.Mark(epoch: 1, offset: 10, count: 3))

        // A re-run: all three are skipped, a fourth output at that offset is new.
        let rerun = DeliveryLedger(retaining: 0)
        rerun.load(from: store)
        let outputs = (1...4).map { Self.record($0, offset: 10) }
        #expect(try rerun.admit(outputs, route: "").map { $0["n"] } == [.int(4)])
    }

    @Test("a checkpoint covers a mark of an older version, before where reading resumes, or of a version read to its end")
    func checkpointCoversMark() {
        func mark(_ epoch: Int64, _ offset: Int64) -> DeliveryLedger.Mark { DeliveryLedger.Mark(epoch: epoch, offset: offset, count: 1) }
        let resumeAt120 = InputCheckpoint(input: "a", epoch: 2, offset: 120)
        #expect(DeliveryLedger.covers(resumeAt120, mark(1, 500)), "an older version")
        #expect(DeliveryLedger.covers(resumeAt120, mark(2, 119)))
        #expect(!DeliveryLedger.covers(resumeAt120, mark(2, 120)), "the line where reading resumes is read again")
        #expect(!DeliveryLedger.covers(resumeAt120, mark(3, 0)), "a newer version")
        // A JSON Lines file read to its end whose last line has no newline: that line is read
        // again from its start, so its mark stays though the checkpoint says complete.
        #expect(!DeliveryLedger.covers(InputCheckpoint(input: "a", epoch: 2, offset: 120, complete: true), mark(2, 120)))
        // An article (one record at offset 0) checkpoints past it.
        #expect(DeliveryLedger.covers(InputCheckpoint(input: "a", epoch: 2, offset: 4_096, complete: true), mark(2, 0)))
    }

    @Test("a ledger holding its marks drops those that saved checkpoints cover, at its next commit, never uncommitted ones")
    func ledgerDropsSettledMarks() throws {
        func key(_ input: String) -> DeliveryLedger.Key { DeliveryLedger.Key(source: "s", input: input, route: "") }
        let ledger = DeliveryLedger()
        ledger.load([key("old"): DeliveryLedger.Mark(epoch: 1, offset: 50, count: 1)])
        _ = try ledger.admit([Self.record(1, offset: 0, input: "a"), Self.record(2, offset: 30, input: "b"),
                              Self.record(3, offset: 0, input: "c")], route: "")
        // Saved checkpoints arrive from the thread that saved them: "a" read whole, "b" up to 20.
        let settler = Thread {
            ledger.settle(source: "s", checkpoints: [InputCheckpoint(input: "a", epoch: 1, offset: 900, complete: true),
                                                     InputCheckpoint(input: "b", epoch: 1, offset: 20)])
        }
        settler.start()
        while !settler.isFinished { usleep(1_000) }
        #expect(ledger.dropSettled { _, input in input == "c" ? InputCheckpoint(input: "c", epoch: 1, offset: 900, complete: true) : nil } == 0,
                "nothing committed yet: nothing dropped")
        ledger.committed()
        #expect(Set(ledger.allMarks.keys) == [key("old"), key("b"), key("c")], "a dropped; b's mark is past its checkpoint")
        #expect(ledger.droppedMarks, "the writer stores its marks again at its next commit")
        ledger.committed()
        #expect(!ledger.droppedMarks)
        // At open, with the store's view: the loaded mark its checkpoint covers goes too.
        #expect(ledger.dropSettled { _, input in input == "old" ? InputCheckpoint(input: "old", epoch: 1, offset: 51) : nil } == 1)
        #expect(Set(ledger.allMarks.keys) == [key("b"), key("c")])
        // A ledger reading its store forgets by itself and takes no settled checkpoints.
        let reading = DeliveryLedger(), store = MemoryMarkStore()
        reading.load(from: store)
        reading.settle(source: "s", checkpoints: [InputCheckpoint(input: "a", epoch: 1, offset: 0, complete: true)])
        _ = try reading.admit([Self.record(1, offset: 0, input: "a")], route: "")
        reading.committed()
        #expect(reading.heldMarks == 1)
    }

    @Test("a store that cannot be read fails the batch with its message, and no mark moves, not even of the keys before")
    func ledgerStoreFailure() throws {
        let store = MemoryMarkStore(["a": DeliveryLedger.Mark(epoch: 1, offset: 0, count: 1)])
        let ledger = DeliveryLedger()
        ledger.load(from: store)
        #expect(try ledger.admit([Self.record(1, offset: 0)], route: "").isEmpty, "\"a\" is held from now on")
        // A batch whose first key is held and whose second is new, when the store fails: the
        // batch is not written, so the held key's mark must not move (a sink that commits on its
        // way out would store it, and the record at offset 10 would be lost).
        store.failure = "cannot read the delivery marks in out.db: disk I/O error"
        let batch = [Self.record(2, offset: 10), Self.record(3, offset: 0, input: "b")]
        #expect {
            try ledger.admit(batch, route: "")
        } throws: { error in
            "\(error)".contains("disk I/O error")
        }
        #expect(ledger.pendingMarks.isEmpty, "no mark moved")
        #expect(ledger.skipped == 1)
        store.failure = nil
        #expect(try ledger.admit(batch, route: "").count == 2, "the same batch, once the store answers: nothing lost")
        #expect(ledger.pendingMarks[DeliveryLedger.Key(source: "s", input: "a", route: "")] == DeliveryLedger.Mark(epoch: 1, offset: 10, count: 1))
    }

    @Test("records a sink hands back are taken once, in order, by the source that made them (to be freed on its thread)")
    func recordReturn() {
        let returned = RecordReturn()
        #expect(returned.take().isEmpty)
        returned.give([Self.record(1, offset: 0)])
        returned.give([Self.record(2, offset: 1), Self.record(3, offset: 2)])
        let taken = returned.take()
        #expect(taken.map { $0.map { $0["n"] } } == [[.int(1)], [.int(2), .int(3)]])
        #expect(returned.take().isEmpty, "taken once")
    }

    @Test("a ledger that was never loaded admits everything (at least once)")
    func ledgerDisabled() throws {
        let ledger = DeliveryLedger()
        #expect(try ledger.admit([Self.record(1, offset: 0)], route: "").count == 1)
        #expect(!ledger.isEnabled)
    }

    @Test("the store saves and loads checkpoints atomically, a full run raises every epoch, reset forgets one source")
    func storeRoundTrip() throws {
        let dir = TemporaryDirectory()
        let store = try SQLiteCheckpointStore(path: dir.file("state/state.db"))
        try store.save([(source: "a", checkpoint: InputCheckpoint(input: "x.jsonl", epoch: 3, offset: 120, line: 4, size: 200,
                                                                   modified: 12.5, fingerprint: "ff", lastValue: [1, "b"], records: 3)),
                        (source: "b", checkpoint: InputCheckpoint(input: "y", epoch: 1, offset: 7, complete: true))])
        let loaded = try store.load(source: "a")
        #expect(try loaded["x.jsonl"] == InputCheckpoint(input: "x.jsonl", epoch: 3, offset: 120, line: 4, size: 200, modified: 12.5,
                                                    fingerprint: "ff", lastValue: [1, "b"], records: 3))
        #expect(try store.fullRunPending() == false)
        try store.startFullRun(sources: ["a", "b"])
        #expect(try store.fullRunPending())
        #expect(try store.load(source: "a")["x.jsonl"] == nil, "a full run forgets every input")
        #expect(try store.load(source: "a").baseEpoch == 4, "above every epoch delivered before")
        try store.finishRun(RunRecord(started: Date(), finished: Date(), status: "complete", read: 1, delivered: 1,
                                      deadLetters: 0, full: true))
        #expect(try store.fullRunPending() == false)
        #expect(try store.completedRuns() == 1)
        try store.save([(source: "b", checkpoint: InputCheckpoint(input: "y", epoch: 4, offset: 9))])
        try store.reset(source: "b")
        #expect(try store.load(source: "b")["y"] == nil)
        #expect(try store.load(source: "b").baseEpoch == 5)
    }

    @Test("a source's checkpoints are looked up one input at a time, not loaded; a store that cannot be read says so")
    func storeLooksUpCheckpoints() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("state/state.db")
        let store = try SQLiteCheckpointStore(path: path)
        try store.save((0..<2_000).map { (source: "articles", checkpoint: InputCheckpoint(input: "a/\($0).txt", epoch: 1, offset: 0, complete: true)) })
        let view = try store.load(source: "articles")
        #expect(view.inputs.isEmpty, "nothing held")
        #expect(try view["a/1999.txt"]?.complete == true)
        #expect(try view["a/2000.txt"] == nil)
        #expect(try store.load(source: "other")["a/1.txt"] == nil, "per source")
        // Read ahead in the table's (byte) order: every lookup is right whatever order the source
        // asks in, including names Swift sorts differently (accents, decomposed ones, case, digits).
        let names = (0..<1_500).map { k in ["é", "e", "Z", "a", "ä", "o\u{308}", "p", "file 1", "file 10", "file 9", "日本"][k % 11] + "/\(k)" }
        let present = Set(names.enumerated().filter { $0.offset % 3 != 0 }.map(\.element))
        try store.save(present.map { (source: "mixed", checkpoint: InputCheckpoint(input: $0, epoch: 1, offset: 0, complete: true)) })
        let mixed = try store.load(source: "mixed")
        var seeded = SeededGenerator(seed: 7)
        for order in [names.sorted(), names, names.shuffled(using: &seeded)] {
            let found = try order.filter { try mixed[$0] != nil }
            #expect(Set(found).symmetricDifference(present).sorted() == [])
        }
        // Two sources asking in turn (each on its own thread in a run) each keep their rows read ahead.
        for k in 0..<600 {
            #expect(try (mixed[names[k]] != nil) == present.contains(names[k]))
            #expect(try view["a/\(k)" + ".txt"]?.complete == true)
        }
        // Saved after the view was made: seen too (the store is read, not a copy).
        try store.save([(source: "articles", checkpoint: InputCheckpoint(input: "late.txt", epoch: 2, offset: 5))])
        #expect(try view["late.txt"]?.epoch == 2)

        // The table gone under a store that had not looked anything up yet (the sqlite3 program).
        let broken = try SQLiteCheckpointStore(path: path).load(source: "articles")
        let sqlite3 = Process()
        sqlite3.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sqlite3.arguments = ["sqlite3", path, "DROP TABLE inputs"]
        try sqlite3.run()
        sqlite3.waitUntilExit()
        #expect(sqlite3.terminationStatus == 0)
        #expect {
            _ = try broken["a/1.txt"]
        } throws: { error in
            "\(error)".contains("checkpoint store \(path)") && "\(error)".contains("checkpoint")
        }
    }

    @Test("file plans: unchanged is skipped, grown resumes, rewritten or shrunk is read again as a new version")
    func filePlans() throws {
        let dir = TemporaryDirectory()
        try dir.write("a.jsonl", "{\"n\":1}\n{\"n\":2}\n")
        let path = dir.file("a.jsonl")
        let stamp = try #require(FileStamp(path: path))
        let saved = InputCheckpoint(input: "a.jsonl", epoch: 2, offset: stamp.size, size: stamp.size, modified: stamp.modified,
                                    fingerprint: FileFingerprint.of(path: path, length: stamp.size) ?? "")
        let cp = SourceCheckpoint(inputs: ["a.jsonl": saved], baseEpoch: 1)
        #expect(try cp.planAppendable(input: "a.jsonl", path: path, stamp: stamp) == .skip)
        #expect(try cp.planAppendable(input: "new.jsonl", path: path, stamp: stamp) == .read(epoch: 1, changed: nil))
        try dir.write("a.jsonl", "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n")
        let grown = try #require(FileStamp(path: path))
        #expect(try cp.planAppendable(input: "a.jsonl", path: path, stamp: grown) == .resume(saved))
        try dir.write("a.jsonl", "{\"n\":9}\n{\"n\":8}\n{\"n\":3}\n")
        #expect(try cp.planAppendable(input: "a.jsonl", path: path, stamp: try #require(FileStamp(path: path)))
                == .read(epoch: 3, changed: "changed"))
        try dir.write("a.jsonl", "{}\n")
        #expect(try cp.planAppendable(input: "a.jsonl", path: path, stamp: try #require(FileStamp(path: path)))
                == .read(epoch: 3, changed: "shrank"))
    }

    @Test("a checkpoint is saved only after the sink committed the batches before it, and never past a failed commit")
    func checkpointFollowsCommits() throws {
        let dir = TemporaryDirectory()
        let store = try SQLiteCheckpointStore(path: dir.file("state.db"))
        var options = RunOptions()
        options.batchSize = 100
        options.store = store
        options.commitInterval = 0   // commit after every batch
        let box = Committed()
        let result = PipelineRunner(pipeline: pipeline(OffsetSource(count: 1000), RecordingSink(box: box, failOnFlush: 4)),
                                    options: options, deadLetters: DiscardingDeadLetterQueue()).run()
        #expect(result.failure?.message == "disk gone")
        let committed = box.rows.withLock { $0 }
        let saved = try #require(try store.load(source: "src")["numbers"])
        // Three commits of 100 succeeded: the checkpoint is at most there, and at least at what it covers.
        #expect(committed.count == 300)
        #expect(saved.offset <= 3000, "the checkpoint never passes a record the sink did not commit")
        #expect(saved.records <= 300)

        // The next run reads on from the checkpoint and the sink gets the rest.
        let again = Committed()
        let second = PipelineRunner(pipeline: pipeline(OffsetSource(count: 1000), RecordingSink(box: again, failOnFlush: nil)),
                                    options: options, deadLetters: DiscardingDeadLetterQueue()).run()
        #expect(second.failure == nil)
        let rest = again.rows.withLock { $0 }
        #expect(rest.last == 999)
        #expect(Set(committed + rest).count == 1000, "together, every record at least once")
        #expect(try store.load(source: "src")["numbers"]?.offset == 10_000)
    }
}

@Suite("Delivery: store epochs")
struct DeliveryStoreEdgeTests {
    @Test("a source left out of a full run (not in the config then) keeps an epoch above what it delivered when it comes back")
    func sourceBackAfterFullRun() throws {
        let dir = TemporaryDirectory()
        let store = try SQLiteCheckpointStore(path: dir.file("state.db"))
        try store.save([(source: "b", checkpoint: InputCheckpoint(input: "x", epoch: 3, offset: 10))])
        try store.startFullRun(sources: ["a"])
        #expect(try store.load(source: "b").baseEpoch == 4)
        #expect(try store.load(source: "never-seen").baseEpoch == 4, "a new source starts at the current base epoch")
    }

    @Test("a file that is not a database where the store belongs is refused with a message that says what to do")
    func damagedStore() throws {
        let dir = TemporaryDirectory()
        try dir.write("state.db", String(repeating: "not a database ", count: 20))
        #expect {
            _ = try SQLiteCheckpointStore(path: dir.file("state.db"))
        } throws: { error in
            "\(error)".contains("is not a checkpoint store") && "\(error)".contains("move it away")
        }
    }
}
