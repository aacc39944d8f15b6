import Foundation
import SluiceCore
import SluiceRuntime
import SluiceTestSupport
import SluiceTextArticles
import Testing

@Suite("text_articles: progress reporting")
struct TextArticlesProgressTests {
    @Test("the source announces its files and bytes and counts them as it reads")
    func announcesAndCounts() throws {
        let dir = TemporaryDirectory("sluice-ta-progress")
        let a = "Harbour opens on the north coast\n\nThe new harbour opened on Monday with three berths.\n"
        let b = "Rail link approved\n\nThe council approved the rail link to the airport.\n"
        try dir.write("a.txt", a)
        try dir.write("b.txt", b)
        let metrics = StageMetrics(name: "articles", kind: .source, type: "text_articles")
        let context = SourceContext(stage: StageContext(name: "articles", metrics: metrics), send: { _ in })
        try TextArticlesSource(path: dir.path).run(context)
        let counts = metrics.snapshot
        let total = Int64(a.utf8.count + b.utf8.count)
        #expect(counts.filesTotal == 2 && counts.filesDone == 2)
        #expect(counts.bytesTotal == total && counts.bytesRead == total)
        #expect(counts.emitted == 2 && counts.currentInput == nil)
    }
}
