import Foundation
import SluiceCore

/// The `text_articles` source in a cluster run: its new and changed files grouped, in path
/// order, into units of about the unit size. Each record's position is its file (as in a
/// normal run), and a file belongs to one unit only.
extension TextArticlesSource: SplittableSource {
    /// The units of the files that are new or changed since they were delivered.
    public func workUnits(_ listing: UnitListing) throws -> [WorkUnit] {
        let files = try matchedFiles(stage: listing.source)
        var todo: [(relativePath: String, size: Int64)] = []
        for file in files {
            // A file that cannot be read is listed: its unit's run files the dead letter.
            guard let stamp = FileStamp(path: file.path) else { todo.append((file.relativePath, 0)); continue }
            let plan = try listing.checkpoint.planWhole(input: file.relativePath, stamp: stamp) {
                FileFingerprint.of(path: file.path, length: stamp.size)
            }
            if plan != .skip { todo.append((file.relativePath, stamp.size)) }
        }
        return listing.groupFiles(todo)
    }

    /// Reads the files of one unit as a normal run reads them.
    public func run(unit: WorkUnit, _ context: SourceContext) throws {
        var scoped = self
        scoped.unitScope = Set(unit.files)
        try scoped.run(context)
    }
}
