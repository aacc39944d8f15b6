import Foundation
import Synchronization
import Testing
@testable import SluiceCore
@testable import SluiceRuntime
import SluiceTestSupport

// MARK: - Test stages for cluster runs

/// Numbers 0 ..< total, split into units of `unitSize` numbers; a record's position is its
/// number inside the unit's input `n#LO-HI`.
private struct RangeSource: SplittableSource {
    let total: Int64
    let unitSize: Int64

    func run(_ context: SourceContext) throws {
        try run(unit: WorkUnit(source: context.name, kind: .byteRange, files: ["n"], start: 0, end: total), context)
    }

    func workUnits(_ listing: UnitListing) throws -> [WorkUnit] {
        if try listing.checkpoint["n"]?.complete == true { return [] }
        let rollup = InputCheckpoint(input: "n", epoch: 1, offset: total, complete: true)
        return stride(from: Int64(0), to: total, by: Int(unitSize)).map {
            WorkUnit(source: listing.source, kind: .byteRange, files: ["n"], start: $0, end: min(total, $0 + unitSize),
                     epoch: 1, rollup: rollup)
        }
    }

    func run(unit: WorkUnit, _ context: SourceContext) throws {
        var batch: [Record] = []
        for n in unit.start..<unit.end {
            let position = Position(input: unit.rangeInput, epoch: unit.epoch, offset: n)
            batch.append(Record(["n": .int(n)], origin: Origin(source: context.name, position: position)))
            if batch.count == context.batchSize {
                try context.emit(batch)
                batch = []
            }
        }
        try context.emit(batch)
    }
}

/// A table in memory shared by every "process": rows and delivery marks committed together.
private final class SharedTable: Sendable {
    let state = Mutex<(rows: [Int64], marks: [DeliveryLedger.Key: DeliveryLedger.Mark])>(([], [:]))
    var rows: [Int64] { state.withLock { $0.rows } }
}

/// A sink writing into a ``SharedTable`` exactly once (marks loaded at open, stored with rows).
private struct SharedTableSink: Sink {
    let table: SharedTable
    func makeWriter(_ context: StageContext) throws -> any SinkWriter {
        context.ledger.load(table.state.withLock { $0.marks })
        return Writer(table: table, ledger: context.ledger)
    }
    final class Writer: SinkWriter {
        let table: SharedTable
        let ledger: DeliveryLedger
        var pending: [Int64] = []
        init(table: SharedTable, ledger: DeliveryLedger) { self.table = table; self.ledger = ledger }
        func write(_ batch: [Record]) throws { pending += batch.compactMap { $0["n"]?.intValue } }
        func flush() throws {
            let marks = ledger.pendingMarks
            let rows = pending
            table.state.withLock { state in
                state.rows += rows
                state.marks.merge(marks) { max($0, $1) }
            }
            pending = []
            ledger.committed()
        }
        func close() throws { try flush() }
    }
}

/// A sink that fails its first `failures` writes after committing one batch each time (a
/// transient failure mid-unit).
private struct FlakySink: Sink {
    let table: SharedTable
    final class Counter: Sendable { let left: Atomic<Int>; init(_ n: Int) { left = Atomic(n) } }
    let failures: Counter
    init(table: SharedTable, failures: Int) {
        self.table = table
        self.failures = Counter(failures)
    }
    func makeWriter(_ context: StageContext) throws -> any SinkWriter {
        let inner = try SharedTableSink(table: table).makeWriter(context)
        return Writer(inner: inner, sink: self)
    }
    final class Writer: SinkWriter {
        let inner: any SinkWriter
        let sink: FlakySink
        var written = 0
        init(inner: any SinkWriter, sink: FlakySink) { self.inner = inner; self.sink = sink }
        func write(_ batch: [Record]) throws {
            try inner.write(batch)
            written += 1
            if written == 2 {
                try inner.flush()
                if sink.failures.left.load(ordering: .relaxed) > 0 {
                    sink.failures.left.subtract(1, ordering: .relaxed)
                    throw StageError(stage: "table", message: "the connection dropped")
                }
            }
        }
        func flush() throws { try inner.flush() }
        func close() throws { try inner.close() }
        func abort() throws {}
    }
}

/// A source that cannot be split.
private struct PlainSource: Source {
    func run(_ context: SourceContext) throws {}
}

private func clusterPipeline(_ dir: TemporaryDirectory, source: any Source, table: SharedTable) -> Pipeline {
    let env = StageHarness.environment(dir.path)
    let opts = StageOptions(name: "x", type: "x", kind: .source, values: [:], environment: env)
    return Pipeline(configFile: dir.file("test.yaml"), environment: env, deadLetterPath: dir.file("dead.jsonl"),
                    stages: [PipelineStage(name: "numbers", type: "range", kind: .source, inputs: [], options: opts,
                                           stage: .source(source)),
                             PipelineStage(name: "table", type: "shared", kind: .sink, inputs: ["numbers"], options: opts,
                                           stage: .sink(SharedTableSink(table: table)))],
                    tests: [])
}

/// A clock tests move on.
private final class TestClock: Sendable {
    let offset = Mutex<TimeInterval>(0)
    var now: @Sendable () -> Date { { [self] in Date().addingTimeInterval(offset.withLock { $0 }) } }
    func advance(_ seconds: TimeInterval) { offset.withLock { $0 += seconds } }
}

// MARK: - Tests

@Suite struct ClusterUnitTests {
    @Test func lineRangesCoverEveryLineExactlyOnceAndEndAfterNewlines() throws {
        let dir = TemporaryDirectory()
        for trailingNewline in [true, false] {
            var text = (1...997).map { "{\"n\":\($0),\"pad\":\"\(String(repeating: "x", count: $0 % 37))\"}" }
                .joined(separator: "\n")
            if trailingNewline { text += "\n" }
            let path = try dir.write("lines-\(trailingNewline).jsonl", text)
            let bytes = Array(text.utf8)
            for target in [Int64(1), 100, 1_000, 7_777, 1 << 20] {
                let ranges = try LineRanges.split(path: path, from: 0, to: Int64(bytes.count), target: target)
                #expect(ranges.first?.start == 0)
                #expect(ranges.last?.end == Int64(bytes.count))
                var lines: [String] = []
                var expectedLine: Int64 = 1
                for (k, r) in ranges.enumerated() {
                    if k > 0 { #expect(r.start == ranges[k - 1].end) }
                    if r.end < Int64(bytes.count) { #expect(bytes[Int(r.end) - 1] == 0x0A) }
                    #expect(r.firstLine == expectedLine)
                    let chunk = String(decoding: bytes[Int(r.start)..<Int(r.end)], as: UTF8.self)
                    let parts = chunk.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
                    lines += parts
                    expectedLine += Int64(parts.count)
                }
                #expect(lines == text.split(separator: "\n").map(String.init), "target \(target)")
                if target == 1 { #expect(ranges.count == 997) }
            }
        }
    }

    @Test func lineRangesResumeFromAnOffsetInsideTheFile() throws {
        let dir = TemporaryDirectory()
        let text = (1...100).map { "{\"n\":\($0)}\n" }.joined()
        let path = try dir.write("f.jsonl", text)
        // Cut from a line start: the 51st line.
        let lineStart = Int64(text.components(separatedBy: "\n").prefix(50).joined(separator: "\n").utf8.count + 1)
        let ranges = try LineRanges.split(path: path, from: lineStart, to: Int64(text.utf8.count), target: 40,
                                          firstLine: 51)
        #expect(ranges.first?.start == lineStart)
        #expect(ranges.first?.firstLine == 51)
        #expect(ranges.last?.end == Int64(text.utf8.count))
        let covered = ranges.map { String(decoding: Array(text.utf8)[Int($0.start)..<Int($0.end)], as: UTF8.self) }.joined()
        #expect(covered == (51...100).map { "{\"n\":\($0)}\n" }.joined())
    }

    @Test func unitSurvivesAJSONRoundTripWithItsRollup() {
        let unit = WorkUnit(source: "s", kind: .byteRange, files: ["a b.jsonl"], start: 10, end: 99, epoch: 3, firstLine: 2,
                            size: 89, rollup: InputCheckpoint(input: "a b.jsonl", epoch: 3, offset: 99, complete: true))
        #expect(WorkUnit(json: unit.json) == unit)
        #expect(unit.id == "s/a b.jsonl#10-99@3")
        #expect(unit.rangeInput == "a b.jsonl#10-99")
    }

    @Test func filesAreGroupedIntoUnitsOfAboutTheTargetSize() {
        let listing = UnitListing(source: "s", checkpoint: SourceCheckpoint(), targetSize: 100)
        let units = listing.groupFiles([("a", 60), ("b", 30), ("c", 20), ("d", 500), ("e", 1)])
        #expect(units.map(\.files) == [["a", "b"], ["c"], ["d"], ["e"]])
        #expect(Set(units.map(\.id)).count == units.count)
    }

    @Test func twoClaimersNeverGetTheSameUnit() throws {
        let coordinator = InMemoryCoordinator()
        let units = (0..<50).map { WorkUnit(source: "s", kind: .files, files: ["f\($0)"]) }
        let generation = try coordinator.openGeneration { _ in units }
        let got = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { k in
            let holder = UnitHolder(host: "h", pid: Int32(k))
            while let claimed = try? coordinator.claim(generation: generation, holder: holder, lease: 60) {
                got.withLock { $0.append(claimed.unit.id) }
            }
        }
        let ids = got.withLock { $0 }
        #expect(ids.count == 50)
        #expect(Set(ids).count == 50)
    }

    @Test func anExpiredLeaseIsTakenOverAndTheOldHolderCannotCompleteIt() throws {
        let clock = TestClock()
        let coordinator = InMemoryCoordinator(now: clock.now)
        let generation = try coordinator.openGeneration { _ in [WorkUnit(source: "s", kind: .files, files: ["only"])] }
        let dead = UnitHolder(host: "a", pid: 1)
        let alive = UnitHolder(host: "b", pid: 2)
        let first = try #require(try coordinator.claim(generation: generation, holder: dead, lease: 5))
        #expect(try coordinator.claim(generation: generation, holder: alive, lease: 5) == nil)
        clock.advance(6)
        #expect(try coordinator.status().expired == 1)
        let second = try #require(try coordinator.claim(generation: generation, holder: alive, lease: 5))
        #expect(second.unit.id == first.unit.id)
        #expect(try coordinator.complete(first, holder: dead, records: 1) == false)
        #expect(try coordinator.complete(second, holder: alive, records: 1))
        #expect(try coordinator.status().finished)
    }

    @Test func aGenerationIsListedOnceUntilItsUnitsAreDone() throws {
        let coordinator = InMemoryCoordinator()
        let listed = Mutex(0)
        let list: ([WorkUnit]) throws -> [WorkUnit] = { _ in
            listed.withLock { $0 += 1 }
            return [WorkUnit(source: "s", kind: .files, files: ["x"])]
        }
        let g1 = try coordinator.openGeneration(list: list)
        #expect(try coordinator.openGeneration(list: list) == g1)
        let unit = try #require(try coordinator.claim(generation: g1, holder: .current, lease: 10))
        _ = try coordinator.complete(unit, holder: .current, records: 0)
        #expect(try coordinator.openGeneration(list: list) == g1 + 1)
        #expect(listed.withLock { $0 } == 2)
    }

    @Test func threeRunnersShareTheUnitsAndWriteEveryRecordOnce() throws {
        let dir = TemporaryDirectory()
        let table = SharedTable()
        let store = try SQLiteCheckpointStore(path: dir.file("state.db"))
        let coordinator = InMemoryCoordinator()
        let pipeline = clusterPipeline(dir, source: RangeSource(total: 10_000, unitSize: 700), table: table)
        let results = Mutex<[ClusterRunResult]>([])
        DispatchQueue.concurrentPerform(iterations: 3) { k in
            var options = ClusterRunOptions()
            options.run.store = store
            options.holder = UnitHolder(host: "test", pid: Int32(100 + k))
            options.pollInterval = 0.05
            let runner = ClusterRunner(pipeline: pipeline, coordinator: coordinator, options: options,
                                       deadLetters: DiscardingDeadLetterQueue())
            let result = runner.run()
            results.withLock { $0.append(result) }
        }
        let all = results.withLock { $0 }
        #expect(all.allSatisfy { $0.failure == nil })
        #expect(all.reduce(0) { $0 + $1.units } == 15)
        #expect(table.rows.sorted() == Array(0..<10_000))
        #expect(try coordinator.status().finished)
        // The next cluster run saves the roll-up and finds nothing new.
        let again = ClusterRunner(pipeline: pipeline, coordinator: coordinator, options: {
            var o = ClusterRunOptions(); o.run.store = store; return o }(), deadLetters: DiscardingDeadLetterQueue())
        let second = again.run()
        #expect(second.failure == nil)
        #expect(second.units == 0)
        #expect(try store.load(source: "numbers")["n"]?.complete == true)
        #expect(table.rows.count == 10_000)
    }

    @Test func aUnitTakenOverFromADeadProcessSkipsWhatItCommitted() throws {
        let dir = TemporaryDirectory()
        let table = SharedTable()
        let store = try SQLiteCheckpointStore(path: dir.file("state.db"))
        let clock = TestClock()
        let coordinator = InMemoryCoordinator(now: clock.now)
        let source = RangeSource(total: 3_000, unitSize: 1_000)
        let pipeline = clusterPipeline(dir, source: source, table: table)
        let generation = try coordinator.openGeneration { _ in
            try source.workUnits(UnitListing(source: "numbers", checkpoint: SourceCheckpoint(), targetSize: 1_000))
        }
        // A process claims the first unit, commits its first 400 records with their marks, and dies.
        let dead = UnitHolder(host: "gone", pid: 1)
        let claimed = try #require(try coordinator.claim(generation: generation, holder: dead, lease: 5))
        let key = DeliveryLedger.Key(source: "numbers", input: claimed.unit.rangeInput, route: "")
        table.state.withLock { state in
            state.rows = Array(claimed.unit.start..<claimed.unit.start + 400)
            state.marks[key] = DeliveryLedger.Mark(epoch: 1, offset: claimed.unit.start + 399, count: 1)
        }
        clock.advance(10)
        var options = ClusterRunOptions()
        options.run.store = store
        options.pollInterval = 0.05
        let result = ClusterRunner(pipeline: pipeline, coordinator: coordinator, options: options,
                                   deadLetters: DiscardingDeadLetterQueue()).run()
        #expect(result.failure == nil)
        #expect(result.units == 3)
        #expect(table.rows.sorted() == Array(0..<3_000))
        #expect(result.counts.first { $0.name == "table" }?.dropped == 400)
    }

    @Test func aUnitWhoseRunFailsIsTriedAgainAndWritesEachRecordOnce() throws {
        let dir = TemporaryDirectory()
        let table = SharedTable()
        var pipeline = clusterPipeline(dir, source: RangeSource(total: 2_000, unitSize: 1_000), table: table)
        pipeline.stages[1].stage = .sink(FlakySink(table: table, failures: 2))
        var options = ClusterRunOptions()
        options.run.store = try SQLiteCheckpointStore(path: dir.file("state.db"))
        options.run.batchSize = 100
        let result = ClusterRunner(pipeline: pipeline, coordinator: InMemoryCoordinator(), options: options,
                                   deadLetters: DiscardingDeadLetterQueue()).run()
        #expect(result.failure == nil)
        #expect(result.units == 2)
        #expect(table.rows.sorted() == Array(0..<2_000))

        // A failure that stays ends the process with the error, after the attempts.
        let stuck = SharedTable()
        pipeline.stages[1].stage = .sink(FlakySink(table: stuck, failures: 100))
        let failed = ClusterRunner(pipeline: pipeline, coordinator: InMemoryCoordinator(), options: options,
                                   deadLetters: DiscardingDeadLetterQueue()).run()
        #expect(failed.failure?.message.contains("the connection dropped") == true)
        #expect(failed.units == 0)
    }

    @Test func aSourceThatCannotBeSplitIsRefusedByName() throws {
        let dir = TemporaryDirectory()
        let pipeline = clusterPipeline(dir, source: PlainSource(), table: SharedTable())
        var options = ClusterRunOptions()
        options.run.store = try SQLiteCheckpointStore(path: dir.file("state.db"))
        let result = ClusterRunner(pipeline: pipeline, coordinator: InMemoryCoordinator(), options: options,
                                   deadLetters: DiscardingDeadLetterQueue()).run()
        #expect(result.failure?.stage == "numbers")
        #expect(result.failure?.message.contains("cannot be split") == true)
    }
}
