import Foundation
import SluiceCore
@testable import SluiceJSON
import SluiceTestSupport
import Synchronization
import Testing

/// What a source run handed on: records and the checkpoints that went with them.
private final class Delivered: Sendable {
    let records = Mutex<[Record]>([])
    let progress = Mutex<[InputCheckpoint]>([])
}

private func read(_ source: JSONSource, checkpoint: SourceCheckpoint, batchSize: Int = 256) throws -> (records: [Record], progress: [InputCheckpoint]) {
    let box = Delivered()
    let context = SourceContext(stage: StageContext(name: "in"), batchSize: batchSize, checkpoint: checkpoint,
                                deliver: { records, progress in
                                    box.records.withLock { $0 += records }
                                    box.progress.withLock { $0 += progress }
                                })
    try source.run(context)
    try context.emit([])
    return (box.records.withLock { $0 }, box.progress.withLock { $0 })
}

@Suite("json source: positions and checkpoints")
struct JSONSourceCheckpointTests {
    @Test("records carry the byte offset of their line; the last checkpoint is at the end of the file with the next line number")
    func positionsAndFinalCheckpoint() throws {
        let dir = TemporaryDirectory()
        try dir.write("a.jsonl", "{\"n\":1}\n{\"n\":22}\n\n{\"n\":3}\n")
        let (records, progress) = try read(JSONSource(path: dir.file("a.jsonl")), checkpoint: SourceCheckpoint(baseEpoch: 7))
        #expect(records.map { $0.origin.position?.offset } == [0, 8, 18])
        #expect(records.allSatisfy { $0.origin.position?.epoch == 7 && $0.origin.position?.input == "a.jsonl" })
        let last = try #require(progress.last)
        #expect(last.offset == 26 && last.line == 5 && last.complete && last.records == 3)
    }

    @Test("a run after a checkpoint reads only the lines after it, with their real line numbers")
    func resumesAfterCheckpoint() throws {
        let dir = TemporaryDirectory()
        try dir.write("a.jsonl", "{\"n\":1}\n{\"n\":2}\n")
        let first = try read(JSONSource(path: dir.file("a.jsonl")), checkpoint: SourceCheckpoint(baseEpoch: 1))
        let saved = try #require(first.progress.last)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.file("a.jsonl")))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"n\":3}\nnot json\n".utf8))
        try handle.close()
        let letters = CollectingDeadLetterQueue()
        let box = Delivered()
        let context = SourceContext(stage: StageContext(name: "in", deadLetters: letters), batchSize: 256,
                                    checkpoint: SourceCheckpoint(inputs: ["a.jsonl": saved], baseEpoch: 1),
                                    deliver: { records, _ in box.records.withLock { $0 += records } })
        try JSONSource(path: dir.file("a.jsonl")).run(context)
        let records = box.records.withLock { $0 }
        #expect(records.map { $0["n"] } == [3])
        #expect(records.first?.origin.line == 3)
        #expect(records.first?.origin.position?.offset == 16)
        #expect(letters.letters.first?.origin?.line == 4, "line numbers continue from the checkpoint")
    }

    @Test("an unchanged file is skipped; a rewritten one is read whole as the next version")
    func skipsUnchangedRereadsChanged() throws {
        let dir = TemporaryDirectory()
        try dir.write("a.jsonl", "{\"n\":1}\n{\"n\":2}\n")
        let first = try read(JSONSource(path: dir.file("a.jsonl")), checkpoint: SourceCheckpoint(baseEpoch: 1))
        let saved = SourceCheckpoint(inputs: ["a.jsonl": try #require(first.progress.last)], baseEpoch: 1)
        #expect(try read(JSONSource(path: dir.file("a.jsonl")), checkpoint: saved).records.isEmpty)
        try dir.write("a.jsonl", "{\"n\":5}\n{\"n\":6}\n{\"n\":7}\n")
        let again = try read(JSONSource(path: dir.file("a.jsonl")), checkpoint: saved)
        #expect(again.records.map { $0["n"] } == [5, 6, 7])
        #expect(again.records.allSatisfy { $0.origin.position?.epoch == 2 })
    }

    @Test("a last line without its newline is delivered, and the checkpoint stays before it (it may still be being written)")
    func unterminatedLastLine() throws {
        let dir = TemporaryDirectory()
        try dir.write("a.jsonl", "{\"n\":1}\n{\"n\":2}")
        let (records, progress) = try read(JSONSource(path: dir.file("a.jsonl")), checkpoint: SourceCheckpoint(baseEpoch: 1))
        #expect(records.count == 2)
        #expect(progress.last?.offset == 8)
        #expect(progress.last?.line == 2)
    }

    @Test("a checkpoint sent in the middle of a line's records (a pointer's array) stays at that line's start")
    func checkpointInsideALine() throws {
        let dir = TemporaryDirectory()
        try dir.write("a.jsonl", "{\"items\":[{\"n\":1},{\"n\":2},{\"n\":3}]}\n{\"items\":[{\"n\":4}]}\n")
        let source = JSONSource(path: dir.file("a.jsonl"), pointer: try JSONPointer("/items"))
        let (records, progress) = try read(source, checkpoint: SourceCheckpoint(baseEpoch: 1), batchSize: 2)
        #expect(records.map { $0["n"] } == [1, 2, 3, 4])
        #expect(records.prefix(3).allSatisfy { $0.origin.position?.offset == 0 }, "three records share the first line's position")
        #expect(progress.first?.offset == 0, "the first batch ends inside line 1: the checkpoint does not pass it")
        #expect(progress.last?.offset == 56)
    }

    @Test("standard input and runs without checkpoints carry no positions")
    func noCheckpointsNoPositions() throws {
        let dir = TemporaryDirectory()
        try dir.write("a.jsonl", "{\"n\":1}\n")
        let (records, progress) = try read(JSONSource(path: dir.file("a.jsonl")), checkpoint: .none)
        #expect(records.count == 1 && records[0].origin.position == nil)
        #expect(progress.isEmpty)
    }
}
