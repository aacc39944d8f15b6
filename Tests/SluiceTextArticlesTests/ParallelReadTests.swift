import Foundation
import SluiceCore
import SluiceTestSupport
import SluiceTextArticles
import Synchronization
import Testing

private final class Collected: Sendable {
    let records = Mutex<[Record]>([])
    let progress = Mutex<[InputCheckpoint]>([])
    let batches = Mutex<[Int]>([])
}

/// Runs the source with checkpoints on and returns what it emitted, in order.
private func run(_ folder: String, workers: Int, batchSize: Int, checkpoint: SourceCheckpoint = SourceCheckpoint(baseEpoch: 1))
    throws -> (records: [Record], letters: [DeadLetter], progress: [InputCheckpoint], batches: [Int])
{
    let box = Collected()
    let letters = CollectingDeadLetterQueue()
    let context = SourceContext(stage: StageContext(name: "articles", deadLetters: letters), batchSize: batchSize,
                                checkpoint: checkpoint, deliver: { records, progress in
                                    box.records.withLock { $0 += records }
                                    box.progress.withLock { $0 += progress }
                                    box.batches.withLock { $0.append(records.count) }
                                })
    try TextArticlesSource(path: folder, workers: workers).run(context)
    return (box.records.withLock { $0 }, letters.letters, box.progress.withLock { $0 }, box.batches.withLock { $0 })
}

@Suite("text_articles source: several workers")
struct ParallelReadTests {
    /// 60 files: articles of very different lengths (so that threads finish out of order),
    /// with empty, binary and headline-less files among them.
    static func mixedFolder() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory("articles-parallel")
        for n in 0..<60 {
            let name = String(format: "f%02d.txt", n)
            switch n % 10 {
            case 3: try dir.write(name, Data())
            case 6: try dir.write(name, Data([0x89, 0x50, 0x4E, 0x47, 0, 0, 0, 0x0D]))
            case 8: try dir.write(name, String(repeating: "A paragraph that never stops and has no headline at all. ", count: 12))
            default:
                let paragraphs = (0...(n * 37 % 23)).map { "Paragraph \($0) of article \(n) tells of the harbour, the \(n * $0) ships and the rain." }
                try dir.write(name, "Headline number \(n)\nBy Jane Roe \(n)\nPublished: March \(n % 28 + 1), 2025\n\n"
                              + paragraphs.joined(separator: "\n\n") + "\n")
            }
        }
        return dir
    }

    @Test("with several workers, records, dead letters, checkpoints and batches come in file order, exactly as with one")
    func sameAsOneWorker() throws {
        let dir = try Self.mixedFolder()
        let one = try run(dir.path, workers: 1, batchSize: 7)
        #expect(one.records.count == 42 && one.letters.count == 18)
        #expect(one.progress.map(\.input) == (0..<60).map { String(format: "f%02d.txt", $0) })
        for workers in [2, 4, 16] {
            let many = try run(dir.path, workers: workers, batchSize: 7)
            #expect(many.records == one.records, "workers: \(workers)")
            #expect(many.records.map(\.origin) == one.records.map(\.origin))
            #expect(many.letters.map(\.error) == one.letters.map(\.error))
            #expect(many.letters.map(\.origin) == one.letters.map(\.origin))
            #expect(many.progress == one.progress)
            #expect(many.batches == one.batches)
        }
    }

    @Test("with several workers, a re-run still skips unchanged files and reads a changed one as its next version")
    func checkpointsWithWorkers() throws {
        let dir = try Self.mixedFolder()
        let first = try run(dir.path, workers: 4, batchSize: 5)
        var inputs: [String: InputCheckpoint] = [:]
        for cp in first.progress { inputs[cp.input] = cp }
        try dir.write("f11.txt", "A changed headline\n\nA changed body.\n")
        let later = Date().addingTimeInterval(60)
        try FileManager.default.setAttributes([.modificationDate: later], ofItemAtPath: dir.file("f12.txt"))  // touched only
        let second = try run(dir.path, workers: 4, batchSize: 5, checkpoint: SourceCheckpoint(inputs: inputs, baseEpoch: 1))
        #expect(second.records.map(\.origin.file) == ["f11.txt"])
        #expect(second.records.first?.origin.position?.epoch == 2)
        #expect(second.records.first?["title"] == "A changed headline")
        #expect(second.letters.isEmpty)
    }

    @Test("a batch goes out once its files reach 256 KiB, before the batch size: big articles do not pile up in memory")
    func batchesBoundedInBytes() throws {
        let dir = TemporaryDirectory("articles-big")
        let paragraph = String(repeating: "The harbour board met again on Monday to discuss the new quay. ", count: 40)
        for n in 0..<10 {
            // ~100 KB each: three of them pass 256 KiB.
            let text = "Long article \(n)\n\n" + Array(repeating: paragraph, count: 39).joined(separator: "\n\n") + "\n"
            try dir.write(String(format: "a%02d.txt", n), text)
        }
        for workers in [1, 2] {
            let read = try run(dir.path, workers: workers, batchSize: 256)
            #expect(read.batches == [3, 3, 3, 1], "workers: \(workers)")
            #expect(read.records.count == 10)
        }
    }

    @Test("the workers option defaults to --workers and must be 1 to 64")
    func workersOption() throws {
        let registry = try StageRegistry(plugins: [TextArticlesPlugin.self])
        guard case .source(let make)? = registry.descriptor(.source, "text_articles")?.factory else {
            Issue.record("not registered")
            return
        }
        let zero = StageHarness.options(["path": "/tmp", "workers": 0], type: "text_articles", kind: .source,
                                        name: "news", directory: "/tmp")
        #expect {
            _ = try make(zero)
        } throws: { error in
            "\(error)".contains("source 'news': option 'workers'") && "\(error)".contains("1")
        }
        let three = StageHarness.options(["path": "/tmp", "workers": 3], type: "text_articles", kind: .source,
                                         name: "news", directory: "/tmp")
        #expect((try make(three) as? TextArticlesSource)?.workers == 3)
        let unset = StageHarness.options(["path": "/tmp"], type: "text_articles", kind: .source, name: "news", directory: "/tmp")
        #expect((try make(unset) as? TextArticlesSource)?.workers == StageHarness.environment("/tmp").defaultWorkers)
    }
}
