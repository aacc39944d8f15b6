/// Something a stage uses that another stage of the same run may clash with: files it reads, a
/// file it writes, a database it shares through its own locks. Each names the option that
/// declared it, so a clash is reported at that option's place in the YAML file.
///
/// The config loader decides whether two stages may share a file from their resources alone,
/// never from their type names (the model: Vector's `Resource` conflicts):
///
/// | one stage | another stage | allowed? |
/// | --- | --- | --- |
/// | `writes(f)` | `writes(f)`, `reads(…f…)`, `database(f)` | no: one file takes one writer, and a run must not destroy its own input |
/// | `database(f, writes: true)` | `reads(…f…)` | no: the reader sees a file being written |
/// | `database(f, …)` | `database(f, …)` | yes: both go through the database's locks (other tables) |
/// | `reads(…)` | `reads(…)` | yes |
///
/// The dead-letter file counts as `writes`, the config file itself as `reads`.
public struct StageResource: Sendable {
    /// How the stage uses the resource.
    public enum Use: Sendable {
        /// Reads these files (a source's input, a rule script): no stage may write one of them.
        case reads(FileSet)
        /// Replaces or appends to this file, alone: no other stage may read or write it.
        case writes(String)
        /// Reads (or, with `writes`, also writes) this database file through the database's
        /// own locks: other stages that share it the same way may use it too; a stage that
        /// reads or writes the file plainly may not, when anyone writes.
        case database(String, writes: Bool)
    }

    /// How the stage uses it.
    public var use: Use
    /// The option that named it (`path`, `script`): clashes are reported at its YAML place.
    public var option: String

    /// A resource declared by `option`.
    public init(_ use: Use, option: String) {
        self.use = use
        self.option = option
    }

    /// Reads `files` (named by `option`, default `path`).
    public static func reads(_ files: FileSet, option: String = "path") -> StageResource {
        StageResource(.reads(files), option: option)
    }

    /// Writes the file at `path` alone (named by `option`, default `path`).
    public static func writes(_ path: String, option: String = "path") -> StageResource {
        StageResource(.writes(path), option: option)
    }

    /// Shares the database file at `path` through its locks, reading or also writing it.
    public static func database(_ path: String, writes: Bool, option: String = "path") -> StageResource {
        StageResource(.database(path, writes: writes), option: option)
    }

    /// The file written, if this use writes one.
    public var writtenPath: String? {
        switch use {
        case .writes(let path): return path
        case .database(let path, let writes): return writes ? path : nil
        case .reads: return nil
        }
    }

    /// The files read, if this use reads some.
    public var readFiles: FileSet? {
        switch use {
        case .reads(let files): return files
        case .database(let path, _): return FileSet(pattern: path)
        case .writes: return nil
        }
    }

    /// Whether this use goes through a database's locks.
    package var sharesThroughLocks: Bool {
        if case .database = use { return true }
        return false
    }
}

extension Array where Element == StageResource {
    /// The files read: `.reads` sets, and database files (read through their locks).
    public var filesRead: [FileSet] { compactMap(\.readFiles) }

    /// The files written: `.writes` paths, and databases written through their locks.
    public var filesWritten: [String] { compactMap(\.writtenPath) }
}
