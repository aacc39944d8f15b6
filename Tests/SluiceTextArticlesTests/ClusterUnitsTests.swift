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

private func run(_ source: TextArticlesSource, _ unit: WorkUnit, _ checkpoint: SourceCheckpoint,
                 letters: CollectingDeadLetterQueue = CollectingDeadLetterQueue()) throws
    -> (records: [Record], progress: [InputCheckpoint])
{
    let box = UnitBox()
    let context = SourceContext(stage: StageContext(name: "articles", deadLetters: letters), checkpoint: checkpoint, deliver: { records, progress in
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

    @Test("a unit's file that cannot be read (unreadable, or gone since the listing) is a dead letter naming it; the unit's other files are delivered")
    func unreadableFileInAUnit() throws {
        let dir = TemporaryDirectory("articles-units-unreadable")
        for k in 1...3 { try dir.write("news/\(k).txt", "Title \(k)\n\nBody \(k).\n") }
        let source = TextArticlesSource(path: dir.file("news"))
        let units = try source.workUnits(UnitListing(source: "articles", checkpoint: SourceCheckpoint(baseEpoch: 1), targetSize: 1 << 20))
        #expect(units.map(\.files) == [["1.txt", "2.txt", "3.txt"]])
        // Gone since the listing, and unreadable (as root, chmod 000 would not stop the read).
        try FileManager.default.removeItem(atPath: dir.file("news/2.txt"))
        try FileManager.default.createDirectory(atPath: dir.file("news/3.txt.tmp"), withIntermediateDirectories: true)
        try FileManager.default.removeItem(atPath: dir.file("news/3.txt"))
        try FileManager.default.moveItem(atPath: dir.file("news/3.txt.tmp"), toPath: dir.file("news/3.txt"))   // a folder now
        let letters = CollectingDeadLetterQueue()
        let (records, _) = try run(source, units[0], SourceCheckpoint(baseEpoch: 1), letters: letters)
        #expect(records.compactMap { $0["title"]?.stringValue } == ["Title 1"])
        let errors = letters.letters.map(\.error).sorted()
        #expect(errors.count == 2, "\(errors)")
        #expect(errors.first?.hasPrefix("2.txt: cannot read") == true, "\(errors)")
        #expect(errors.last?.hasPrefix("3.txt: cannot read") == true, "\(errors)")
    }
}
