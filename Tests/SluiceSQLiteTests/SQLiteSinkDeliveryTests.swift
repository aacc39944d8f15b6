import Foundation
import Testing
import SluiceCore
import SluiceTestSupport
@testable import SluiceSQLite

/// A record at a position of input `input` of source `s`.
func positioned(_ fields: Fields, offset: Int64, epoch: Int64 = 1, input: String = "in.jsonl") -> Record {
    Record(fields, origin: Origin(source: "s", file: input, position: Position(input: input, epoch: epoch, offset: offset)))
}

/// Opens a writer the way the runtime does and writes `batches` through the ledger; returns the
/// writer (still open) and its context's ledger.
func openWriter(_ sink: SQLiteSink, pipeline: String = "p", letters: CollectingDeadLetterQueue = CollectingDeadLetterQueue())
    throws -> (SinkWriter, DeliveryLedger)
{
    let ledger = DeliveryLedger()
    let writer = try sink.makeWriter(StageContext(name: "sink", deadLetters: letters, pipeline: pipeline, ledger: ledger))
    return (writer, ledger)
}

/// Admits and writes each batch as the runtime does; returns how many records were admitted.
@discardableResult
func admitAndWrite(_ batches: [[Record]], writer: SinkWriter, ledger: DeliveryLedger) throws -> Int {
    var admittedCount = 0
    for batch in batches {
        let admitted = try ledger.admit(batch, route: "")
        admittedCount += admitted.count
        if !admitted.isEmpty { try writer.write(admitted) }
    }
    return admittedCount
}

@Suite("sqlite sink: exactly once")
struct SQLiteSinkDeliveryTests {
    @Test("a second writer with the same pipeline skips the records at or below the committed marks; another pipeline does not")
    func secondWriterSkipsCommitted() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("out.db")
        let all = (1...10).map { positioned(["n": .int(Int64($0))], offset: Int64($0) * 100) }
        let sink = SQLiteSink(path: db, table: "t")

        let (first, firstLedger) = try openWriter(sink)
        #expect(firstLedger.isEnabled)
        try admitAndWrite([Array(all[0..<3]), Array(all[3..<6])], writer: first, ledger: firstLedger)
        try first.close()

        // A re-run reads everything again (its source's checkpoint was behind the sink).
        let (second, secondLedger) = try openWriter(sink)
        let admitted = try admitAndWrite([Array(all[0..<4]), Array(all[4...])], writer: second, ledger: secondLedger)
        try second.close()
        #expect(admitted == 4)
        #expect(secondLedger.skipped == 6)
        #expect(try rows(db, "SELECT n FROM t ORDER BY rowid") == (1...10).map { [.int(Int64($0))] })

        // Marks are per pipeline: another pipeline writing the same table starts from none.
        let (other, otherLedger) = try openWriter(sink, pipeline: "other")
        #expect(try otherLedger.admit(all, route: "").count == 10)
        try other.close()
    }

    @Test("the marks are committed in the same transaction as the rows: nothing before the commit, both after; a writer that dies uncommitted leaves neither")
    func marksCommittedWithRows() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("out.db")
        let sink = SQLiteSink(path: db, table: "docs")
        let marks = "SELECT pipeline, target, source, input, route, epoch, \"offset\", count FROM _sluice_delivered"
        do {
            let (writer, ledger) = try openWriter(sink, pipeline: "crash")
            try admitAndWrite([[positioned(["a": 1], offset: 0), positioned(["a": 2], offset: 7)]], writer: writer, ledger: ledger)
            // Written, not committed (the default batch_size is 100,000): another connection sees neither
            // (not even the table, created in the same transaction).
            #expect(try rows(db, "SELECT count(*) FROM sqlite_master WHERE name = 'docs'") == [[0]])
            #expect(try rows(db, marks) == [])
            // The writer is dropped without a flush or close, as a process killed would be.
        }
        #expect(try rows(db, "SELECT count(*) FROM sqlite_master WHERE name = 'docs'") == [[0]])
        #expect(try rows(db, marks) == [])

        let (writer, ledger) = try openWriter(sink, pipeline: "crash")
        // Nothing was committed: both records are admitted again.
        #expect(try admitAndWrite([[positioned(["a": 1], offset: 0), positioned(["a": 2], offset: 7)]], writer: writer, ledger: ledger) == 2)
        try writer.flush()
        #expect(try rows(db, "SELECT a FROM docs ORDER BY a") == [[1], [2]])
        #expect(try rows(db, marks) == [["crash", "docs", "s", "in.jsonl", "", 1, 7, 1]])
        try writer.close()
    }

    @Test("records that share a position are counted: the third output of an input record is written after a restart that committed two")
    func samePositionCounted() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("out.db")
        let sink = SQLiteSink(path: db, table: "t")
        let batch = [
            positioned(["k": "5a"], offset: 5), positioned(["k": "5b"], offset: 5), positioned(["k": "5c"], offset: 5),
            positioned(["k": "6a"], offset: 6),
        ]
        let (first, firstLedger) = try openWriter(sink)
        try admitAndWrite([Array(batch[0..<2])], writer: first, ledger: firstLedger)
        try first.close()
        #expect(try rows(db, "SELECT \"offset\", count FROM _sluice_delivered") == [[5, 2]])

        let (second, secondLedger) = try openWriter(sink)
        #expect(try admitAndWrite([batch], writer: second, ledger: secondLedger) == 2)
        try second.close()
        #expect(try rows(db, "SELECT k FROM t ORDER BY rowid") == [["5a"], ["5b"], ["5c"], ["6a"]])
        #expect(try rows(db, "SELECT \"offset\", count FROM _sluice_delivered") == [[6, 1]])
    }

    @Test("the marks of thousands of inputs are looked up in the table, not held: memory stays one transaction's, each record lands once")
    func marksLookedUpNotHeld() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("out.db")
        let sink = SQLiteSink(path: db, table: "t", batchSize: 200)
        // One record per input, like an article folder; names that need quoting in SQL.
        let inputs = (0..<3_000).map { "news/it's \"\($0)\".txt" }
        func batches(_ names: ArraySlice<String>) -> [[Record]] {
            stride(from: names.startIndex, to: names.endIndex, by: 100).map { start in
                names[start..<min(start + 100, names.endIndex)].map { positioned(["name": .string($0)], offset: 0, input: $0) }
            }
        }
        let (first, firstLedger) = try openWriter(sink)
        var mostHeld = 0
        for batch in batches(inputs[0..<2_000]) {
            try admitAndWrite([batch], writer: first, ledger: firstLedger)
            mostHeld = max(mostHeld, firstLedger.heldMarks)
        }
        try first.close()
        #expect(mostHeld <= 1_200, "at most a transaction's inputs past the ledger's retained 1,000, not 2,000")
        #expect(try rows(db, "SELECT count(*) FROM _sluice_delivered") == [[2_000]])

        // The re-run reads all 3,000 again: the 2,000 committed are skipped, looked up in the table.
        let (second, secondLedger) = try openWriter(sink)
        let admitted = try admitAndWrite(batches(inputs[0...]), writer: second, ledger: secondLedger)
        try second.close()
        #expect(admitted == 1_000)
        #expect(secondLedger.skipped == 2_000)
        #expect(try rows(db, "SELECT count(*), count(DISTINCT name) FROM t") == [[3_000, 3_000]])
        #expect(try rows(db, "SELECT count(*) FROM _sluice_delivered") == [[3_000]])
    }

    @Test("batch_size commits after the batch that reaches it, never in the middle: the marks cover exactly the committed rows")
    func commitsBetweenBatches() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("out.db")
        let (writer, ledger) = try openWriter(SQLiteSink(path: db, table: "t", batchSize: 2))
        try admitAndWrite([(1...5).map { positioned(["n": .int(Int64($0))], offset: Int64($0)) }], writer: writer, ledger: ledger)
        // Committed by the batch_size rule alone (no flush): all five rows, and the mark at the fifth.
        #expect(try rows(db, "SELECT count(*) FROM t") == [[5]])
        #expect(try rows(db, "SELECT \"offset\" FROM _sluice_delivered") == [[5]])
        try admitAndWrite([[positioned(["n": 6], offset: 6)]], writer: writer, ledger: ledger)
        // One row pending, below batch_size: not committed yet.
        #expect(try rows(db, "SELECT count(*) FROM t") == [[5]])
        try writer.close()
        #expect(try rows(db, "SELECT count(*), max(n) FROM t") == [[6, 6]])
        #expect(try rows(db, "SELECT \"offset\" FROM _sluice_delivered") == [[6]])
    }

    @Test("a dead-lettered record counts as done: its position is in the marks and a re-run does not try it again")
    func deadLetterCountsAsDone() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("out.db")
        let sink = SQLiteSink(path: db, table: "t")
        let batch = [positioned(["n": 1], offset: 1), positioned([:], offset: 2)]
        let letters = CollectingDeadLetterQueue()
        let (first, firstLedger) = try openWriter(sink, letters: letters)
        try admitAndWrite([batch], writer: first, ledger: firstLedger)
        try first.close()
        #expect(letters.letters.count == 1)
        #expect(try rows(db, "SELECT \"offset\" FROM _sluice_delivered") == [[2]])

        let again = CollectingDeadLetterQueue()
        let (second, secondLedger) = try openWriter(sink, letters: again)
        #expect(try admitAndWrite([batch], writer: second, ledger: secondLedger) == 0)
        try second.close()
        #expect(again.letters.isEmpty)
        #expect(try rows(db, "SELECT count(*) FROM t") == [[1]])
    }

    @Test("a mark never goes back: a run that reads committed records again (skipped) and commits other rows keeps the higher mark")
    func marksOnlyMoveForward() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("out.db")
        let sink = SQLiteSink(path: db, table: "t")
        let (first, firstLedger) = try openWriter(sink)
        try admitAndWrite([(1...10).map { positioned(["n": .int(Int64($0))], offset: Int64($0)) }], writer: first, ledger: firstLedger)
        try first.close()

        let (second, secondLedger) = try openWriter(sink)
        // Offsets 1–3 again (skipped) and a record without a position (always written): a commit
        // happens while the ledger's mark for the input stands at 3.
        let unpositioned = Record(["n": 99], origin: Origin(source: "stdin"))
        #expect(try admitAndWrite([(1...3).map { positioned(["n": .int(Int64($0))], offset: Int64($0)) } + [unpositioned]],
                                  writer: second, ledger: secondLedger) == 1)
        try second.close()
        #expect(try rows(db, "SELECT \"offset\" FROM _sluice_delivered WHERE input = 'in.jsonl'") == [[10]])

        let (third, thirdLedger) = try openWriter(sink)
        #expect(try thirdLedger.admit([positioned(["n": 4], offset: 4)], route: "").isEmpty)
        try third.close()
    }

    @Test("the bookkeeping table cannot be the sink's table")
    func bookkeepingTableIsReserved() throws {
        let dir = TemporaryDirectory()
        let options = StageHarness.options(["path": "out.db", "table": "_Sluice_Delivered"], type: "sqlite", kind: .sink,
                                           directory: dir.path)
        #expect(throws: (any Error).self) { try SQLiteSink(stageOptions: options) }
        do {
            _ = try SQLiteSink(path: dir.file("out.db"), table: "_sluice_delivered").makeWriter(StageContext(name: "sink"))
            Issue.record("expected an error")
        } catch let error as StageError {
            #expect(error.message.contains("the sink keeps its delivery marks there"))
        }
    }
}
