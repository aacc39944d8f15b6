import Foundation
import SluiceCore
import SluiceTestSupport
import SluiceTextArticles
import Synchronization
import Testing

private final class UnitBox: Sendable {
    let records = Mutex<[Record]>([])
    let progress = Mutex<[InputCheckpoint]>([])
}

private func run(_ source: TextArticlesSource, _ unit: WorkUnit, _ checkpoint: SourceCheckpoint) throws
    -> (records: [Record], progress: [InputCheckpoint])
{
    let box = UnitBox()
    let context = SourceContext(stage: StageContext(name: "articles"), checkpoint: checkpoint, deliver: { records, progress in
        box.records.withLock { $0 += records }
        box.progress.withLock { $0 += progress }
    })
    try source.run(unit: unit, context)
    return (box.records.withLock { $0 }, box.progress.withLock { $0 })
}

@Suite("text_articles source: work units of a cluster run")
struct ArticleClusterUnitsTests {
    @Test("a cluster listing of a path that matches no articles fails with the message a normal run gives, naming the stage and the extensions")
    func listingAPathThatMatchesNothingSaysSoAsANormalRunDoes() throws {
        let dir = TemporaryDirectory("articles-units-empty")
        try dir.write("news/notes.csv", "a,b\n")
        let source = TextArticlesSource(path: dir.file("news"))
        let listing = UnitListing(source: "articles", checkpoint: SourceCheckpoint(baseEpoch: 1), targetSize: 1_000)
        var listed = ""
        do { _ = try source.workUnits(listing) } catch { listed = "\(error)" }
        var ran = ""
        let context = SourceContext(stage: StageContext(name: "articles"), checkpoint: SourceCheckpoint(baseEpoch: 1), deliver: { _, _ in })
        do { try source.run(context) } catch { ran = "\(error)" }
        #expect(listed.contains("matches no files with extension .txt, .md"), "\(listed)")
        #expect(listed.contains("articles"), "\(listed)")
        #expect(listed == ran)
    }

    @Test("articles are grouped into units in path order; each unit reads only its files; delivered files are not listed again")
    func unitsCoverEachArticleOnce() throws {
        let dir = TemporaryDirectory("articles-units")
        for k in 1...7 { try dir.write("news/\(k).txt", "Title \(k)\n\n" + String(repeating: "Body text. ", count: 10 * k) + "\n") }
        let source = TextArticlesSource(path: dir.file("news"))
        let units = try source.workUnits(UnitListing(source: "articles", checkpoint: SourceCheckpoint(baseEpoch: 1), targetSize: 1_000))
        #expect(units.count > 1 && units.count < 7)
        #expect(units.flatMap(\.files) == (1...7).map { "\($0).txt" })
        var titles: [String] = []
        var saved: [String: InputCheckpoint] = [:]
        for unit in units {
            let (records, progress) = try run(source, unit, SourceCheckpoint(baseEpoch: 1))
            #expect(records.compactMap { $0.origin.position?.input }.sorted() == unit.files.sorted())
            titles += records.compactMap { $0["title"]?.stringValue }
            for cp in progress { saved[cp.input] = cp }
        }
        #expect(titles.sorted() == (1...7).map { "Title \($0)" }.sorted())
        try dir.write("news/8.txt", "Title 8\n\nNew body.\n")
        let next = try source.workUnits(UnitListing(source: "articles", checkpoint: SourceCheckpoint(inputs: saved, baseEpoch: 1),
                                                    targetSize: 1_000))
        #expect(next.map(\.files) == [["8.txt"]])
    }
}
