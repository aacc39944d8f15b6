import Foundation
@testable import SluiceCLI
@testable import SluiceCore
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
            "stage     kind       type              in    out  dropped  dead",
            "articles  source     text_articles      -  1,234        -     2",
            "facts     transform  lua            1,234  1,200       30     4",
            "db        sink       sqlite         1,200  1,200        -     0",
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
