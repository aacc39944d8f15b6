import Foundation
import SluiceCore
@testable import SluiceSQLite
import SluiceTestSupport
import Testing

@Suite("sqlite source: progress reporting")
struct SQLiteSourceProgressTests {
    @Test("a table read in rowid order announces the rows left to read, and names the table")
    func announcesRows() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        _ = try StageHarness.deliver((1...5).map { StageHarness.record(["n": .int(Int64($0))]) },
                                     to: SQLiteSink(path: db, table: "t"))
        let metrics = StageMetrics(name: "rows", kind: .source, type: "sqlite")
        let context = SourceContext(stage: StageContext(name: "rows", metrics: metrics), send: { _ in })
        try SQLiteSource(path: db, table: "t").run(context)
        let counts = metrics.snapshot
        #expect(counts.recordsTotal == 5 && counts.emitted == 5)
        #expect(counts.currentInput == "t")
    }
}
