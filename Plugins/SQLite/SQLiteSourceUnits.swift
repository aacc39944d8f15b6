import Foundation
import SluiceCore

/// The `sqlite` source in a cluster run: for now the whole table (or query) is one unit, read
/// as a normal run reads it (from its checkpoint in the shared store, so the next cluster run
/// reads only the new rows). Rowid ranges, which would let several processes share one large
/// table, are not implemented yet.
extension SQLiteSource: SplittableSource {
    /// One unit for the table or query, unless the database file is missing (the unit's run
    /// then reports it).
    public func workUnits(_ listing: UnitListing) throws -> [WorkUnit] {
        let size = FileStamp(path: path)?.size ?? 0
        return [WorkUnit(source: listing.source, kind: .files, files: [table ?? "query"],
                         epoch: listing.checkpoint.baseEpoch, size: size)]
    }

    /// Reads the whole table or query as a normal run does.
    public func run(unit: WorkUnit, _ context: SourceContext) throws {
        try run(context)
    }
}
