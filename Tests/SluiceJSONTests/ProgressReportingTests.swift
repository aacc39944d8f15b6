import Foundation
import SluiceCore
import SluiceRuntime
import SluiceJSON
import SluiceTestSupport
import Testing

@Suite("json source: progress reporting")
struct JSONProgressTests {
    @Test("the source announces its files and bytes and counts the bytes it reads")
    func announcesAndCounts() throws {
        let dir = TemporaryDirectory("sluice-json-progress")
        let a = (1...600).map { "{\"n\": \($0)}" }.joined(separator: "\n") + "\n"
        let b = "[{\"n\": 1}, {\"n\": 2}]"
        try dir.write("in/a.jsonl", a)
        try dir.write("in/b.json", b)
        let metrics = StageMetrics(name: "in", kind: .source, type: "json")
        let context = SourceContext(stage: StageContext(name: "in", metrics: metrics), batchSize: 100, send: { _ in })
        try JSONSource(path: dir.file("in")).run(context)
        let counts = metrics.snapshot
        let total = Int64(a.utf8.count + b.utf8.count)
        #expect(counts.filesTotal == 2 && counts.filesDone == 2)
        #expect(counts.bytesTotal == total && counts.bytesRead == total)
        #expect(counts.emitted == 602)
    }
}
