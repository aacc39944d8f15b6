import Foundation
import Synchronization
import Testing
@testable import SluiceJSON
import SluiceCore
import SluiceTestSupport

private final class UnitOutput: Sendable {
    let records = Mutex<[Record]>([])
    let progress = Mutex<[InputCheckpoint]>([])
}

private func run(_ source: JSONSource, unit: WorkUnit, checkpoint: SourceCheckpoint = SourceCheckpoint(baseEpoch: 1))
    throws -> (records: [Record], progress: [InputCheckpoint])
{
    let out = UnitOutput()
    let context = SourceContext(stage: StageContext(name: "in"), batchSize: 7, checkpoint: checkpoint,
                                deliver: { records, progress in
                                    out.records.withLock { $0 += records }
                                    out.progress.withLock { $0 += progress }
                                })
    try source.run(unit: unit, context)
    try context.emit([])
    return (out.records.withLock { $0 }, out.progress.withLock { $0 })
}

@Suite("json source: work units of a cluster run")
struct JSONClusterUnitsTests {
    @Test("a large JSON Lines file is cut into line ranges whose units read every line exactly once, with or without a last newline")
    func rangesReadEveryLineOnce() throws {
        let dir = TemporaryDirectory()
        for trailing in [true, false] {
            let lines = (1...500).map { "{\"n\":\($0),\"pad\":\"\(String(repeating: "y", count: $0 % 23))\"}" }
            try dir.write("data/big.jsonl", lines.joined(separator: "\n") + (trailing ? "\n" : ""))
            try dir.write("data/small.jsonl", "{\"n\":-1}\n{\"n\":-2}\n")
            let source = JSONSource(path: dir.file("data"))
            let units = try source.workUnits(UnitListing(source: "in", checkpoint: SourceCheckpoint(baseEpoch: 1), targetSize: 1_000))
            let ranges = units.filter { $0.kind == .byteRange }
            #expect(ranges.count > 5)
            #expect(units.filter { $0.kind == .files }.map(\.files) == [["small.jsonl"]])
            var seen: [Int64] = []
            for unit in units {
                let (records, progress) = try run(source, unit: unit)
                seen += records.compactMap { $0["n"]?.intValue }
                if unit.kind == .byteRange {
                    #expect(records.allSatisfy { $0.origin.position?.input == unit.rangeInput })
                    #expect(records.allSatisfy { ($0.origin.position?.offset ?? -1) >= unit.start
                        && ($0.origin.position?.offset ?? Int64.max) < unit.end })
                    #expect(records.first?.origin.line == Int(unit.firstLine))
                    #expect(progress.last?.complete == true)
                    #expect(progress.last?.input == unit.rangeInput)
                }
            }
            #expect(seen.sorted() == [-2, -1] + Array(1...500), "trailing newline: \(trailing)")
            #expect(Set(ranges.compactMap(\.rollup)).count == 1)
            #expect(ranges.first?.rollup?.offset == ranges.last?.end)
        }
    }

    @Test("a range taken over reads on after its saved checkpoint, and a completed one reads nothing")
    func rangeResumesFromItsCheckpoint() throws {
        let dir = TemporaryDirectory()
        try dir.write("big.jsonl", (1...300).map { "{\"n\":\($0)}\n" }.joined())
        let source = JSONSource(path: dir.file("big.jsonl"))
        let units = try source.workUnits(UnitListing(source: "in", checkpoint: SourceCheckpoint(baseEpoch: 1), targetSize: 500))
        let unit = try #require(units.first { $0.kind == .byteRange && $0.start > 0 })
        let full = try run(source, unit: unit)
        let middle = try #require(full.progress.first { !$0.complete && $0.offset > unit.start })
        let resumed = try run(source, unit: unit, checkpoint: SourceCheckpoint(inputs: [unit.rangeInput: middle], baseEpoch: 1))
        #expect(resumed.records.count < full.records.count)
        #expect(resumed.records.map { $0["n"] } == Array(full.records.map { $0["n"] }.suffix(resumed.records.count)))
        let done = try #require(full.progress.last)
        #expect(try run(source, unit: unit, checkpoint: SourceCheckpoint(inputs: [unit.rangeInput: done], baseEpoch: 1))
            .records.isEmpty)
    }

    @Test("files delivered before are not listed; a grown JSON Lines file is listed from where it was delivered")
    func listingFollowsCheckpoints() throws {
        let dir = TemporaryDirectory()
        try dir.write("a.jsonl", "{\"n\":1}\n")
        try dir.write("b.jsonl", "{\"n\":2}\n")
        let source = JSONSource(path: dir.path + "/*.jsonl")
        let first = try source.workUnits(UnitListing(source: "in", checkpoint: SourceCheckpoint(baseEpoch: 1), targetSize: 1 << 20))
        #expect(first.map(\.files) == [["a.jsonl", "b.jsonl"]])
        let delivered = try run(source, unit: try #require(first.first))
        var saved: [String: InputCheckpoint] = [:]
        for cp in delivered.progress { saved[cp.input] = cp }
        try dir.write("b.jsonl", "{\"n\":2}\n{\"n\":3}\n")
        let second = try source.workUnits(UnitListing(source: "in", checkpoint: SourceCheckpoint(inputs: saved, baseEpoch: 1),
                                                      targetSize: 1 << 20))
        #expect(second.map(\.files) == [["b.jsonl"]])
        let grown = try run(source, unit: try #require(second.first), checkpoint: SourceCheckpoint(inputs: saved, baseEpoch: 1))
        #expect(grown.records.map { $0["n"] } == [3])
    }
}
