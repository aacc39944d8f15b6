import Foundation
import SluiceCore
@testable import SluiceSQLite
import SluiceTestSupport
import Testing

@Suite("sqlite sink: inserted / updated / unchanged counts, mode: append|replace")
struct RowCountsAndModeTests {
    /// Writes `records` in one batch through a writer with these run flags; returns the counts.
    static func write(_ records: [Fields], to sink: SQLiteSink, fullRun: Bool = false, continuing: Bool = false,
                      abort: Bool = false) throws -> StageCounts {
        let metrics = StageMetrics(name: "db", kind: .sink, type: "sqlite")
        let context = StageContext(name: "db", dataDirectory: NSTemporaryDirectory(), metrics: metrics, fullRun: fullRun,
                                   continuingFullRun: continuing)
        let writer = try sink.makeWriter(context)
        if !records.isEmpty { try writer.write(records.map { StageHarness.record($0) }) }
        if abort { try writer.abort() } else { try writer.close() }
        return metrics.snapshot
    }

    @Test("a keyed sink counts new rows, changed rows, and rows the record left as they were")
    func keyedCounts() throws {
        let dir = TemporaryDirectory()
        let sink = SQLiteSink(path: dir.file("a.db"), table: "t", key: ["id"])
        let first = try Self.write([["id": 1, "v": "a"], ["id": 2, "v": "b"]], to: sink)
        #expect(first.rows == RowCounts(inserted: 2, updated: 0, unchanged: 0))
        let second = try Self.write([["id": 1, "v": "a"], ["id": 2, "v": "B"], ["id": 3, "v": "c"]], to: sink)
        #expect(second.rows == RowCounts(inserted: 1, updated: 1, unchanged: 1))
        #expect(try rows(dir.file("a.db"), "SELECT id, v FROM t ORDER BY id") == [[1, "a"], [2, "B"], [3, "c"]])
    }

    @Test("on_conflict: ignore counts an existing key as unchanged")
    func ignoreCounts() throws {
        let dir = TemporaryDirectory()
        let sink = SQLiteSink(path: dir.file("a.db"), table: "t", key: ["id"], onConflict: .ignore)
        _ = try Self.write([["id": 1, "v": "a"]], to: sink)
        #expect(try Self.write([["id": 1, "v": "changed"]], to: sink).rows == RowCounts(inserted: 0, updated: 0, unchanged: 1))
    }

    @Test("mode: replace empties the table at the start of a full run, not when an interrupted one is continued")
    func replaceEmpties() throws {
        let dir = TemporaryDirectory()
        let sink = SQLiteSink(path: dir.file("a.db"), table: "t", mode: .replace)
        #expect(sink.rebuildsEachRun)
        #expect(!SQLiteSink(path: dir.file("a.db"), table: "t").rebuildsEachRun)
        _ = try Self.write([["n": 1], ["n": 2]], to: sink, fullRun: true)
        _ = try Self.write([["n": 3]], to: sink, fullRun: true)
        #expect(try rows(dir.file("a.db"), "SELECT n FROM t") == [[3]])
        _ = try Self.write([["n": 4]], to: sink, fullRun: true, continuing: true)
        #expect(try rows(dir.file("a.db"), "SELECT n FROM t ORDER BY n") == [[3], [4]])
        _ = try Self.write([["n": 5]], to: sink, fullRun: false)
        #expect(try rows(dir.file("a.db"), "SELECT n FROM t ORDER BY n") == [[3], [4], [5]], "not a full run (replay): rows are added")
    }

    @Test("mode: replace keeps the old rows when the run fails before the sink committed anything")
    func replaceAbortKeepsRows() throws {
        let dir = TemporaryDirectory()
        let sink = SQLiteSink(path: dir.file("a.db"), table: "t", mode: .replace)
        _ = try Self.write([["n": 1]], to: sink, fullRun: true)
        _ = try Self.write([], to: sink, fullRun: true, abort: true)
        #expect(try rows(dir.file("a.db"), "SELECT n FROM t") == [[1]])
    }

    @Test("mode is read from the config")
    func option() throws {
        let options = StageHarness.options(["path": "a.db", "table": "t", "mode": "replace"],
                                           type: "sqlite", kind: .sink, directory: NSTemporaryDirectory())
        #expect(try SQLiteSink(stageOptions: options).mode == .replace)
    }
}
