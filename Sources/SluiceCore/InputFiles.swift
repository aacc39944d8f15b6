import Foundation

/// One input file found by a ``FileSet``.
public struct MatchedFile: Sendable, Hashable {
    /// The absolute path.
    public var path: String
    /// The path relative to the set's root (the part of the pattern before any wildcard).
    public var relativePath: String

    /// Creates a matched file.
    public init(path: String, relativePath: String) {
        self.path = path
        self.relativePath = relativePath
    }
}

/// A source's `path` option — a file, a folder, or a glob — that SluiceFormats expands into a
/// sorted list of files (`files()`, `matchesAny()`, `wouldInclude(_:)`).
///
/// Globs use shell syntax: `*` and `?` within one path segment (never matching a leading `.`),
/// `[abc]` classes, `{a,b}` alternatives, and `**` for any number of folders (`seeds/**/*.txt`).
/// A folder means every file below it. Hidden files and folders (`.git`) are skipped unless the
/// pattern names them. Symbolic links to files count as files (a dangling one too, so that the
/// source reports it); links to folders are not followed. The order is by path, so runs are
/// repeatable.
public struct FileSet: Sendable {
    /// The pattern as configured (after path resolution).
    public var pattern: String
    /// File extensions to keep, lower-case without the dot; empty keeps all. Applies to folders
    /// and globs, not to a single named file.
    public var extensions: [String]

    /// Creates a file set.
    public init(pattern: String, extensions: [String] = []) {
        self.pattern = pattern
        self.extensions = extensions.map { $0.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: ".")) }
    }
}
