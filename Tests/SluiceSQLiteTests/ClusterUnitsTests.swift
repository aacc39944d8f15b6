import Foundation
import Testing
import SluiceCore
import SluiceTestSupport
@testable import SluiceSQLite

/// Reads one work unit of a source with checkpoints on (what earlier holders saved: `saved`).
private func readUnit(_ source: SQLiteSource, _ unit: WorkUnit, saved: [InputCheckpoint] = [],
                      batchSize: Int = 64) throws -> DeliveryBox {
    let box = DeliveryBox()
    let checkpoint = SourceCheckpoint(inputs: Dictionary(uniqueKeysWithValues: saved.map { ($0.input, $0) }),
                                      baseEpoch: unit.epoch, enabled: true)
    let context = SourceContext(stage: StageContext(name: "src"), batchSize: batchSize, checkpoint: checkpoint,
                                deliver: { box.append($0, $1) })
    try source.run(unit: unit, context)
    try context.emit([])
    return box
}

@Suite("sqlite source: rowid ranges of a cluster run")
struct SQLiteClusterUnitsTests {
    /// A table of `rows` rows of ~100 bytes, rowids 1, 3, 5, … (gaps, as after deletions).
    static func table(_ dir: TemporaryDirectory, rows: Int) throws -> String {
        let db = dir.file("in.db")
        let values = (1...rows).map { "(\(2 * $0 - 1), \($0), '\(String(repeating: "x", count: 100))')" }.joined(separator: ",")
        try exec(db, "CREATE TABLE t (n INTEGER, pad TEXT); INSERT INTO t (rowid, n, pad) VALUES \(values);")
        return db
    }

    @Test("a table is cut into rowid ranges of about the unit size that together read every row exactly once, each with its own input and the table's roll-up")
    func rangesCoverEveryRowOnce() throws {
        let dir = TemporaryDirectory()
        let db = try Self.table(dir, rows: 1_000)
        let source = SQLiteSource(path: db, table: "t")
        let units = try source.workUnits(UnitListing(source: "src", checkpoint: SourceCheckpoint(baseEpoch: 2), targetSize: 10_000))
        #expect(units.count > 5 && units.count < 40, "\(units.count) units")
        #expect(units.allSatisfy { $0.kind == .rowRange && $0.files == ["t"] && $0.epoch == 2 })
        #expect(units.first?.start == 1 && units.last?.end == 1_999)
        for (a, b) in zip(units, units.dropFirst()) { #expect(a.end < b.start) }
        #expect(units.reduce(0) { $0 + $1.size } == 1_000)
        #expect(Set(units.compactMap(\.rollup)).count == 1)
        #expect(units.first?.rollup == InputCheckpoint(input: "t", epoch: 2, offset: 2_000, records: 1_000))
        var seen: [Int64] = []
        for unit in units {
            let box = try readUnit(source, unit)
            seen += box.records.compactMap { $0["n"]?.intValue }
            #expect(box.records.allSatisfy { $0.origin.position?.input == unit.rangeInput && $0.origin.position?.epoch == 2 })
            #expect(box.records.allSatisfy { ($0.origin.row ?? 0) >= unit.start && ($0.origin.row ?? Int64.max) <= unit.end })
            // The checkpoint is the rowid after the unit's last row (the range may end in a gap).
            #expect(box.last[unit.rangeInput]?.offset == (box.records.last?.origin.row ?? 0) + 1)
            #expect((box.last[unit.rangeInput]?.offset ?? 0) > unit.end - 2)
            #expect(box.last["t"] == nil, "a range never saves the whole table's checkpoint")
        }
        #expect(seen == Array(1...1_000))
    }

    @Test("a range taken over reads on after the rowid its earlier holder delivered, and one delivered in full reads nothing")
    func takenOverRangeResumes() throws {
        let dir = TemporaryDirectory()
        let db = try Self.table(dir, rows: 100)
        let source = SQLiteSource(path: db, table: "t")
        let unit = WorkUnit(source: "src", kind: .rowRange, files: ["t"], start: 21, end: 99, epoch: 1, size: 40)
        let whole = try readUnit(source, unit)
        #expect(whole.records.compactMap { $0["n"]?.intValue } == Array(11...50))
        let resumed = try readUnit(source, unit, saved: [InputCheckpoint(input: "t#21-99", epoch: 1, offset: 60, records: 20)])
        #expect(resumed.records.compactMap { $0["n"]?.intValue } == Array(31...50))
        #expect(resumed.last["t#21-99"]?.records == 40)
        let done = try readUnit(source, unit, saved: [InputCheckpoint(input: "t#21-99", epoch: 1, offset: 100, records: 40)])
        #expect(done.records.isEmpty)
        // A checkpoint of another version (a reset since) does not count.
        let other = try readUnit(source, unit, saved: [InputCheckpoint(input: "t#21-99", epoch: 0, offset: 60, records: 20)])
        #expect(other.records.count == 40)
    }

    @Test("the listing starts after the table's checkpoint and lists nothing when every row was delivered; query and incremental reads stay one unit")
    func listingFollowsCheckpointAndModes() throws {
        let dir = TemporaryDirectory()
        let db = try Self.table(dir, rows: 300)
        let source = SQLiteSource(path: db, table: "t")
        let saved = InputCheckpoint(input: "t", epoch: 1, offset: 401, records: 200)
        let after = try source.workUnits(UnitListing(source: "src", checkpoint: SourceCheckpoint(inputs: ["t": saved], baseEpoch: 1),
                                                     targetSize: 2_000))
        #expect(after.first?.start == 401 && after.last?.end == 599)
        #expect(after.reduce(0) { $0 + $1.size } == 100)
        #expect(after.first?.rollup?.records == 300 && after.first?.rollup?.offset == 600)
        let all = InputCheckpoint(input: "t", epoch: 1, offset: 600, records: 300)
        #expect(try source.workUnits(UnitListing(source: "src", checkpoint: SourceCheckpoint(inputs: ["t": all], baseEpoch: 1),
                                                 targetSize: 2_000)).isEmpty)
        for other in [SQLiteSource(path: db, query: "SELECT n FROM t"), SQLiteSource(path: db, table: "t", incremental: "n")] {
            let units = try other.workUnits(UnitListing(source: "src", checkpoint: SourceCheckpoint(baseEpoch: 1), targetSize: 2_000))
            #expect(units.count == 1 && units.first?.kind == .files)
            let box = try readUnit(other, units[0])
            #expect(box.records.count == 300)
        }
    }
}
