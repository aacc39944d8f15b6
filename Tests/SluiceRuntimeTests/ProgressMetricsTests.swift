import Foundation
@testable import SluiceCore
import SluiceFormats
@testable import SluiceRuntime
import SluiceTestSupport
import Testing

@Suite("progress reporting: sources announce totals, skip unchanged inputs and count bytes")
struct ProgressMetricsTests {
    @Test("announced files and bytes shrink by what is skipped; read bytes and finished files add up; the current input is shown")
    func totalsAndSkips() throws {
        let dir = TemporaryDirectory("sluice-progress-metrics")
        try dir.write("a.txt", String(repeating: "a", count: 100))
        try dir.write("b.txt", String(repeating: "b", count: 50))
        try dir.write("c.txt", String(repeating: "c", count: 10))
        let files = try FileSet(pattern: dir.path, extensions: ["txt"]).files()
        let metrics = StageMetrics(name: "in", kind: .source, type: "test")
        let context = SourceContext(stage: StageContext(name: "in", metrics: metrics), send: { _ in })
        context.announceInputs(files)
        var counts = metrics.snapshot
        #expect(counts.filesTotal == 3 && counts.bytesTotal == 160)
        context.skipInput(bytes: 50)                    // b.txt unchanged
        context.skipInput(bytes: 4, wholeFile: false)   // c.txt: 4 bytes read by an earlier run
        context.reading("a.txt")
        context.didRead(bytes: 60)
        counts = metrics.snapshot
        #expect(counts.currentInput == "a.txt")
        #expect(counts.filesTotal == 2 && counts.bytesTotal == 106 && counts.bytesRead == 60 && counts.filesDone == 0)
        context.finishedInput(bytes: 40)
        context.reading("c.txt")
        context.finishedInput(bytes: 6)
        counts = metrics.snapshot
        #expect(counts.filesDone == 2 && counts.bytesRead == 106 && counts.currentInput == nil)
        #expect(counts.json["bytes_read"] == 106 && counts.json["files_read"] == 2)
        let result = RunResult(counts: [counts], elapsed: 1, failure: nil, stopped: false)
        #expect(result.bytesRead == 106)
    }

    @Test("row counts appear only for a stage that reports them; busy and Lua time are kept apart")
    func rowsAndTimes() {
        let metrics = StageMetrics(name: "db", kind: .sink, type: "sqlite")
        #expect(metrics.snapshot.rows == nil)
        let context = StageContext(name: "db", metrics: metrics)
        context.countRows(inserted: 2, updated: 1, unchanged: 0)
        context.countRows(inserted: 0, updated: 0, unchanged: 3)
        metrics.addBusy(nanoseconds: 2_000_000_000)
        context.addLuaTime(nanoseconds: 500_000_000)
        let counts = metrics.snapshot
        #expect(counts.rows == RowCounts(inserted: 2, updated: 1, unchanged: 3))
        #expect(counts.busySeconds == 2 && counts.luaSeconds == 0.5)
        #expect(counts.json["unchanged"] == 3 && counts.json["lua_seconds"] == 0.5)
    }
}
