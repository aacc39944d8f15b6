import CSQLite
import Foundation
import SluiceCore

/// The `sqlite` source in a cluster run.
///
/// A table read by rowid (a `table` with a rowid, no `incremental`) is cut into **rowid ranges**
/// (units of kind `rows`): the rows not delivered yet, up to the highest rowid at listing time,
/// in units of about `targetSize` bytes each, counted in rows: the table's bytes (its pages, from
/// SQLite's `dbstat` table when the library has it, else the database file's size) divided by
/// its rows gives the bytes per row. A range's records carry the input `TABLE#FIRST-LAST` (their
/// offsets stay rowids), so each range has delivery marks and a checkpoint of its own, and a
/// range taken over from a dead process reads on after the last rowid it delivered. Once every
/// range is done, the next listing saves the table's checkpoint as read up to the last range's
/// end, so the next cluster run lists only the rows added since.
///
/// A `query`, a view, a table without rowid and `incremental` reads stay **one unit** (the whole
/// table or query, read as a normal run reads it, from its checkpoint in the shared store).
extension SQLiteSource: SplittableSource {
    /// Rowid ranges for a table read by rowid; else one unit for the table or query (also when
    /// the database cannot be opened: the unit's run then reports why).
    public func workUnits(_ listing: UnitListing) throws -> [WorkUnit] {
        let size = FileStamp(path: path)?.size ?? 0
        let whole = [WorkUnit(source: listing.source, kind: .files, files: [table ?? "query"],
                              epoch: listing.checkpoint.baseEpoch, size: size)]
        guard let table, incremental == nil, FileManager.default.fileExists(atPath: path),
              let db = try? Database(path: path, readOnly: true) else { return whole }
        sqlite3_busy_timeout(db.handle, 10_000)
        let fail = { (message: String) in StageError(stage: listing.source, message: message) }
        guard let alias = try tableColumns(table, db: db, fail: fail).rowidAlias else { return whole }
        let from = quoteIdentifier(table)
        func integers(_ sql: String, _ values: [Value] = []) throws -> [Int64] {
            do throws(SQLiteError) {
                return try db.strings(sql, values).compactMap { Int64($0) }
            } catch {
                throw fail("cannot cut table '\(table)' of \(path) into rowid ranges: \(error.message)")
            }
        }
        guard let highest = try integers("SELECT max(\(alias)) FROM \(from)").first else { return [] }   // empty

        // Where the rows not delivered yet start: as a normal run decides (SQLiteSource.run).
        let checkpoint = listing.checkpoint
        var epoch = checkpoint.baseEpoch
        var startRowid = Int64.min
        var delivered: Int64 = 0
        if checkpoint.enabled, let saved = try checkpoint[table] {
            switch SQLiteSource.rowidResumption(saved, highest: highest) {
            case .resume(let next):
                epoch = max(saved.epoch, checkpoint.baseEpoch)
                startRowid = next
                delivered = saved.records
            case .whole:
                epoch = max(saved.epoch + 1, checkpoint.baseEpoch)   // read whole, as a new version
            }
        }
        guard startRowid <= highest else { return [] }
        let rows = try integers("SELECT count(*) FROM \(from) WHERE \(alias) >= ?1 AND \(alias) <= ?2",
                                [.int(startRowid), .int(highest)]).first ?? 0
        guard rows > 0 else { return [] }
        let perUnit = rowsPerUnit(table: table, db: db, targetBytes: listing.targetSize, databaseSize: size,
                                  rowsAfterStart: rows, startsAtFirstRow: startRowid == Int64.min)
        // The first rowid of every unit: each `perUnit`-th rowid (one pass over the table's keys).
        var starts = try integers("SELECT min(\(alias)) FROM \(from) WHERE \(alias) >= ?1", [.int(startRowid)])
        while let last = starts.last {
            guard let next = try integers("SELECT \(alias) FROM \(from) WHERE \(alias) > ?1 AND \(alias) <= ?2 ORDER BY \(alias) LIMIT 1 OFFSET ?3",
                                          [.int(last), .int(highest), .int(perUnit - 1)]).first else { break }
            starts.append(next)
        }
        let rollup = InputCheckpoint(input: table, epoch: epoch, offset: highest == Int64.max ? Int64.max : highest + 1,
                                     records: delivered + rows)
        return starts.enumerated().map { k, start in
            let end = k + 1 < starts.count ? starts[k + 1] - 1 : highest
            let count = k + 1 < starts.count ? perUnit : rows - perUnit * Int64(starts.count - 1)
            return WorkUnit(source: listing.source, kind: .rowRange, files: [table], start: start, end: end, epoch: epoch,
                            size: count, rollup: rollup)
        }
    }

    /// Reads one unit: a rowid range, or the whole table or query as a normal run does.
    public func run(unit: WorkUnit, _ context: SourceContext) throws {
        guard unit.kind == .rowRange else { return try run(context) }
        var scoped = self
        scoped.rowRange = unit
        try scoped.run(context)
    }

    /// How many rows hold about `targetBytes`: the table's bytes (`dbstat`, when SQLite has it;
    /// else the whole database file) over its rows; at least 1. The rows are counted only
    /// when the listing did not already count them all (`rowsAfterStart` from the first row).
    func rowsPerUnit(table: String, db: Database, targetBytes: Int64, databaseSize: Int64,
                     rowsAfterStart: Int64, startsAtFirstRow: Bool) -> Int64 {
        let total = startsAtFirstRow ? rowsAfterStart
            : (try? db.strings("SELECT count(*) FROM \(quoteIdentifier(table))"))?.first.flatMap { Int64($0) } ?? 0
        guard total > 0 else { return 1 }
        let pages = (try? db.strings("SELECT sum(pgsize) FROM dbstat WHERE name = ?1", [.string(table)]))?
            .first.flatMap { Int64($0) }
        let bytes = max(1, pages ?? databaseSize)
        let perRow = max(1, bytes / total)
        return max(1, targetBytes / perRow)
    }
}
