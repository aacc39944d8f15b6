import Foundation
@testable import SluiceCLI
@testable import SluiceCore
@testable import SluiceRuntime
import Testing

@Suite("run's summary and exit statuses")
struct SummaryTests {
    @Test("the summary table aligns names left and counts right, shows '-' where a count does not apply, and ends with totals")
    func summaryTable() {
        let result = RunResult(counts: [
            StageCounts(name: "articles", kind: .source, type: "text_articles", received: 0, emitted: 1234, dropped: 0, deadLettered: 2),
            StageCounts(name: "facts", kind: .transform, type: "lua", received: 1234, emitted: 1200, dropped: 30, deadLettered: 4),
            StageCounts(name: "db", kind: .sink, type: "sqlite", received: 1200, emitted: 1200, dropped: 0, deadLettered: 0),
        ], elapsed: 2, failure: nil, stopped: false)
        let lines = Summary.render(result).split(separator: "\n").map(String.init)
        #expect(lines == [
            "stage     kind       type              in    out  dropped  dead    time",
            "articles  source     text_articles      -  1,234        -     2  0.00 s",
            "facts     transform  lua            1,234  1,200       30     4  0.00 s",
            "db        sink       sqlite         1,200  1,200        -     0  0.00 s",
            "1,236 records read, 1,200 delivered, 6 dead-lettered in 2.00 s (618 records/s)",
        ])
    }

    @Test("with fan-out, the totals say how many sinks wrote the records")
    func fanOutTotals() {
        let result = RunResult(counts: [
            StageCounts(name: "in", kind: .source, type: "json", received: 0, emitted: 1, dropped: 0, deadLettered: 0),
            StageCounts(name: "a", kind: .sink, type: "json", received: 1, emitted: 1, dropped: 0, deadLettered: 0),
            StageCounts(name: "b", kind: .sink, type: "sqlite", received: 1, emitted: 1, dropped: 0, deadLettered: 0),
        ], elapsed: 0.5, failure: nil, stopped: false)
        #expect(Summary.render(result).hasSuffix("1 record read, 2 written by 2 sinks, 0 dead-lettered in 0.50 s (2.0 records/s)"))
    }

    @Test("the summary shows busy time with Lua's share, a keyed sink's row counts, bytes read, and how the run ended")
    func timesRowsAndStatus() {
        var source = StageCounts(name: "in", kind: .source, type: "json", received: 0, emitted: 4, dropped: 0, deadLettered: 0)
        source.bytesRead = 2_500_000
        source.busySeconds = 0.25
        var rule = StageCounts(name: "rule", kind: .transform, type: "lua", received: 4, emitted: 4, dropped: 0, deadLettered: 0)
        rule.busySeconds = 12.34
        rule.luaSeconds = 11.5
        var db = StageCounts(name: "db", kind: .sink, type: "sqlite", received: 4, emitted: 4, dropped: 0, deadLettered: 0)
        db.rows = RowCounts(inserted: 1, updated: 1, unchanged: 2)
        let result = RunResult(counts: [source, rule, db], elapsed: 1, failure: nil, stopped: true)
        let lines = Summary.render(result, exitStatus: 130, signal: SIGINT).split(separator: "\n").map(String.init)
        #expect(lines[1].hasSuffix("0.25 s"))
        #expect(lines[2].hasSuffix("12.3 s (lua 11.5 s)"))
        #expect(lines.contains("db: 1 inserted, 1 updated, 2 unchanged"))
        #expect(lines.contains { $0.hasPrefix("4 records read, 4 delivered") && $0.hasSuffix("(4.0 records/s, 2.5 MB read)") })
        #expect(lines.last == "run interrupted by SIGINT (after a clean flush): exit status 130")
        #expect(Summary.byteText(999) == "999 B" && Summary.byteText(12_345) == "12 kB" && Summary.byteText(1_500_000_000) == "1.5 GB")
    }

    @Test("progress text: a source with totals shows done of total, a percentage and an ETA; each sink its own written count")
    func progressText() {
        var source = StageCounts(name: "articles", kind: .source, type: "text_articles", received: 0, emitted: 30, dropped: 0, deadLettered: 0)
        source.filesTotal = 100
        source.filesDone = 25
        source.bytesTotal = 4_000_000
        source.bytesRead = 1_000_000
        source.currentInput = "2024/a.txt"
        let text = ProgressDisplay.stageText(source, elapsed: 10, rate: 3)
        #expect(text == "25/100 files  1.0 MB/4.0 MB  30 records  25%  ETA 0:30  3.0 rec/s  2024/a.txt")
        let a = StageCounts(name: "a", kind: .sink, type: "json", received: 30, emitted: 30, dropped: 0, deadLettered: 0)
        let b = StageCounts(name: "b", kind: .sink, type: "sqlite", received: 30, emitted: 28, dropped: 0, deadLettered: 2)
        let lines = ProgressDisplay.lines([source, a, b], elapsed: 10, rates: [:])
        #expect(lines[1] == "a         json           in 30  written 30")
        #expect(lines[2] == "b         sqlite         in 30  written 28  dead 2")
        #expect(lines.last == "elapsed 10.0 s")
        #expect(ProgressDisplay.fit("abcdefghij", width: 6) == "abcd…")
    }

    @Test("numbers are grouped by thousands; slow rates keep one decimal instead of rounding to 0")
    func numbers() {
        #expect(Summary.grouped(0) == "0")
        #expect(Summary.grouped(999) == "999")
        #expect(Summary.grouped(1_000) == "1,000")
        #expect(Summary.grouped(-1_234_567) == "-1,234,567")
        #expect(Summary.rateText(0.5) == "0.5")
        #expect(Summary.rateText(9.96) == "10.0")
        #expect(Summary.rateText(12_345.9) == "12,345")
        #expect(Summary.rateText(1 / 20.96) == "0.048")
        #expect(Summary.rateText(1 / 1.51) == "0.66")
    }

    @Test("exit statuses are those of SPEC §2")
    func exitStatuses() {
        #expect([ExitStatus.ok, ExitStatus.fatal, ExitStatus.usage, ExitStatus.deadLetters,
                  ExitStatus.interrupted, ExitStatus.terminated] == [0, 1, 2, 3, 130, 143])
    }
}
