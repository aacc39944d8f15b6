import Foundation
import SluiceCore
import SluiceTestSupport
import SluiceTextArticles
import Synchronization
import Testing

private final class Box: Sendable {
    let records = Mutex<[Record]>([])
    let progress = Mutex<[InputCheckpoint]>([])
}

private func read(_ folder: String, _ checkpoint: SourceCheckpoint) throws -> (records: [Record], progress: [InputCheckpoint]) {
    let box = Box()
    let context = SourceContext(stage: StageContext(name: "articles"), checkpoint: checkpoint, deliver: { records, progress in
        box.records.withLock { $0 += records }
        box.progress.withLock { $0 += progress }
    })
    try TextArticlesSource(path: folder).run(context)
    return (box.records.withLock { $0 }, box.progress.withLock { $0 })
}

@Suite("text_articles source: checkpoints")
struct ArticleCheckpointTests {
    @Test("a re-run skips unchanged articles (a touch alone is no change), reads new ones, and reads a changed one again as its next version")
    func incremental() throws {
        let dir = TemporaryDirectory("articles-cp")
        try dir.write("a.txt", "First title\n\nOne body.\n")
        try dir.write("b.txt", "Second title\n\nAnother body.\n")
        let first = try read(dir.path, SourceCheckpoint(baseEpoch: 1))
        #expect(first.records.count == 2)
        #expect(first.records.allSatisfy { $0.origin.position?.epoch == 1 && $0.origin.position?.offset == 0 })
        var inputs: [String: InputCheckpoint] = [:]
        for cp in first.progress { inputs[cp.input] = cp }
        #expect(inputs.keys.sorted() == ["a.txt", "b.txt"] && inputs.values.allSatisfy(\.complete))
        let saved = SourceCheckpoint(inputs: inputs, baseEpoch: 1)

        // Touch a.txt (new time, same content), change b.txt, add c.txt.
        let later = Date().addingTimeInterval(60)
        try FileManager.default.setAttributes([.modificationDate: later], ofItemAtPath: dir.file("a.txt"))
        try dir.write("b.txt", "Second title\n\nA corrected body.\n")
        try dir.write("c.txt", "Third title\n\nNew.\n")
        let second = try read(dir.path, saved)
        #expect(second.records.compactMap { $0["source"]?.stringValue }.sorted() == ["b.txt", "c.txt"])
        #expect(second.records.first { $0["source"] == "b.txt" }?.origin.position?.epoch == 2)
        #expect(second.records.first { $0["source"] == "c.txt" }?.origin.position?.epoch == 1)
    }

    @Test("an empty article is a dead letter, and its checkpoint still moves (it is not read again)")
    func deadLetterMovesOn() throws {
        let dir = TemporaryDirectory("articles-cp-empty")
        try dir.write("empty.txt", "")
        let (records, progress) = try read(dir.path, SourceCheckpoint(baseEpoch: 1))
        #expect(records.isEmpty)
        #expect(progress.map(\.input) == ["empty.txt"] && progress.first?.records == 0)
    }
}
