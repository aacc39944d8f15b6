import Foundation
import SluiceCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// `FileSet` and `MatchedFile` themselves are declared in SluiceCore (a source names its
// input files in the stage protocol); this is how a set is expanded into files.

/// Expanding a file set: globbing, folders, links, and matching a path against the pattern.
extension FileSet {
    /// The folder that relative paths are relative to: the longest wildcard-free prefix.
    public var root: String {
        if !FileSet.hasWildcard(pattern) {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: pattern, isDirectory: &isDir), isDir.boolValue { return pattern }
            return (pattern as NSString).deletingLastPathComponent
        }
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: false)
        let fixed = segments.prefix { !FileSet.hasWildcard(String($0)) }
        let joined = fixed.joined(separator: "/")
        return joined.isEmpty ? (pattern.hasPrefix("/") ? "/" : ".") : joined
    }

    /// `folder` ending with one `/`: what a relative path is appended to.
    static func folderPrefix(_ folder: String) -> String {
        folder.hasSuffix("/") ? folder : folder + "/"
    }

    /// Whether `text` contains glob syntax.
    public static func hasWildcard(_ text: String) -> Bool {
        text.contains { "*?[{".contains($0) }
    }

    /// The matching files, sorted. Throws when a named file or folder does not exist.
    public func files() throws -> [MatchedFile] {
        let root = self.root
        let folder = FileSet.folderPrefix(root)
        // Relative paths only (the walk's absolute paths are dropped as they come): one listing
        // of 50,000 articles held ~8 MB of paths before. Every path is below the root, so they
        // sort as the absolute paths would; brace alternatives may repeat a file.
        var relatives: [String] = []
        var outside: [String] = []
        var named: String?
        let namedFile = try forEachMatch { path in
            if path.hasPrefix(folder) {
                relatives.append(String(decoding: path.utf8.dropFirst(folder.utf8.count), as: UTF8.self))
            } else {
                outside.append(path)
            }
            named = path
            return true
        }
        // A named file (or dangling link) is relative to its own folder.
        if namedFile, let named { return [MatchedFile(path: named, relativePath: (named as NSString).lastPathComponent)] }
        relatives.sort()
        var files: [MatchedFile] = []
        files.reserveCapacity(relatives.count + outside.count)
        var previous: String?
        for relative in relatives where relative != previous {
            files.append(MatchedFile(folder: folder, relativePath: relative))
            previous = relative
        }
        for path in Set(outside).sorted() { files.append(MatchedFile(path: path, relativePath: path)) }
        return files
    }

    /// The files of the set named by their paths relative to its root (a cluster work unit's
    /// list), in the order ``files()`` gives them, without walking the tree: a unit's run reads
    /// its own files, not the whole input tree again. A file that has gone since it was listed
    /// is still returned (reading it then reports why).
    public func files(relativePaths: some Sequence<String>) -> [MatchedFile] {
        if !FileSet.hasWildcard(pattern) {
            var isDir: ObjCBool = false
            if !(FileManager.default.fileExists(atPath: pattern, isDirectory: &isDir) && isDir.boolValue) {
                // A named file is relative to its own folder.
                let name = (pattern as NSString).lastPathComponent
                return relativePaths.contains(name) ? [MatchedFile(path: pattern, relativePath: name)] : []
            }
        }
        let prefix = FileSet.folderPrefix(root)
        return Set(relativePaths).sorted().map { MatchedFile(folder: prefix, relativePath: $0) }
    }

    /// Whether the set matches at least one file; stops at the first one (a config check at
    /// start-up must not walk a whole archive). A named file or folder that does not exist
    /// matches nothing.
    public func matchesAny() -> Bool {
        var found = false
        _ = try? forEachMatch { _ in found = true; return false }
        return found
    }

    /// Calls `body` with each matching file's path, in no particular order, until it returns
    /// false. Throws when a named file or folder does not exist. Returns whether the pattern
    /// named one file (or a dangling link) rather than a folder or a glob.
    @discardableResult
    private func forEachMatch(_ body: (String) -> Bool) throws -> Bool {
        if !FileSet.hasWildcard(pattern) {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: pattern, isDirectory: &isDir) else {
                // A dangling symbolic link is still a named input: hand it on to be reported.
                if (try? FileManager.default.destinationOfSymbolicLink(atPath: pattern)) != nil {
                    _ = body(pattern)
                    return true
                }
                throw FileSetError(message: "no such file or folder: \(pattern)")
            }
            if !isDir.boolValue {
                _ = body(pattern)
                return true
            }
            walk(root) { file in keepExtension(file) ? body(file) : true }
            return false
        }
        for alternative in FileSet.expandBraces(pattern) {
            let altRoot = FileSet(pattern: alternative).root
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: altRoot, isDirectory: &isDir), isDir.boolValue else { continue }
            let rest = String(alternative.dropFirst(altRoot.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            let restSegments = rest.split(separator: "/").map(String.init)
            let showHidden = rest.split(separator: "/").contains { $0.hasPrefix(".") }
            var going = true
            let prefix = FileSet.folderPrefix(altRoot)   // once per alternative, not per file
            walk(altRoot, includeHidden: showHidden) { file in
                let rel = file.hasPrefix(prefix) ? String(file.dropFirst(prefix.count)) : file
                if FileSet.matches(segments: restSegments[...], path: rel.split(separator: "/").map(String.init)[...]),
                   keepExtension(file) {
                    going = body(file)
                }
                return going
            }
            if !going { return false }
        }
        return false
    }

    private func keepExtension(_ path: String) -> Bool {
        extensions.isEmpty || extensions.contains(FileSet.pathExtension(path).lowercased())
    }

    /// What `NSString.pathExtension` answers (the text after the last `.` of the last path
    /// component, none for a name that only starts with one), on the string's bytes: it was
    /// ~1.3 % of the text_articles source's time, bridged for every file of a listing.
    public static func pathExtension(_ path: String) -> String {
        var bytes = path.utf8[...]
        while bytes.count > 1, bytes.last == UInt8(ascii: "/") { bytes = bytes.dropLast() }
        let start = bytes.lastIndex(of: UInt8(ascii: "/")).map { bytes.index(after: $0) } ?? bytes.startIndex
        guard let dot = bytes[start...].lastIndex(of: UInt8(ascii: ".")), dot != start else { return "" }
        return String(Substring(bytes[bytes.index(after: dot)...]))
    }

    /// Calls `visit` with every regular file below `folder`, skipping hidden entries unless
    /// asked, until it returns false.
    ///
    /// Hand-written on `opendir`/`readdir` rather than `FileManager.enumerator` with URL
    /// resource values: the enumerator was 18 % of the text_articles source's instructions per
    /// article (callgrind, 300 generated articles); `readdir` gives the entry type for free on
    /// the file systems Linux uses and needs no URL per file.
    private func walk(_ folder: String, includeHidden: Bool = false, _ visit: (String) -> Bool) {
        // The folder named in the pattern may itself be a link (`data -> /mnt/dumps`): opendir
        // follows it. Links met below it are still not followed into folders. Paths are built
        // from the configured folder so relative paths stay as the user wrote them.
        var base = folder
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        _ = FileSet.walkFolder(base, includeHidden: includeHidden, visit)
    }

    /// One folder of ``walk(_:includeHidden:_:)``: its files first, then its subfolders. Returns
    /// false once `visit` asked to stop.
    private static func walkFolder(_ folder: String, includeHidden: Bool, _ visit: (String) -> Bool) -> Bool {
        guard let handle = opendir(folder) else { return true }
        var subfolders: [String] = []
        var going = true
        while going, let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." || (!includeHidden && name.hasPrefix(".")) { continue }
            let path = folder == "/" ? "/" + name : folder + "/" + name
            var type = entry.pointee.d_type
            if type == UInt8(DT_UNKNOWN) {
                // Some file systems do not fill d_type: ask lstat.
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFREG: type = UInt8(DT_REG)
                case S_IFDIR: type = UInt8(DT_DIR)
                case S_IFLNK: type = UInt8(DT_LNK)
                default: continue
                }
            }
            switch type {
            case UInt8(DT_REG):
                going = visit(path)
            case UInt8(DT_DIR):
                subfolders.append(path)
            case UInt8(DT_LNK):
                // A link to a file is read like the file; a dangling link is kept so the source
                // can report it as unreadable; a link to a folder is not followed (no loops).
                var target = stat()
                if stat(path, &target) == 0, target.st_mode & S_IFMT == S_IFDIR { continue }
                going = visit(path)
            default:
                continue
            }
        }
        closedir(handle)
        guard going else { return false }
        for subfolder in subfolders where !walkFolder(subfolder, includeHidden: includeHidden, visit) {
            return false
        }
        return true
    }

    /// Whether `path` (absolute) is, or once created would be, one of this set's files. Decided
    /// from the pattern alone, so it also answers for files that do not exist yet.
    public func wouldInclude(_ path: String) -> Bool {
        let target = URL(fileURLWithPath: path).standardizedFileURL.path
        let ext = FileSet.pathExtension(target).lowercased()
        let extensionKept = extensions.isEmpty || extensions.contains(ext)
        let targetSegments = target.split(separator: "/").map(String.init)
        if !FileSet.hasWildcard(pattern) {
            let named = URL(fileURLWithPath: pattern).standardizedFileURL.path
            if named == target { return true }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: named, isDirectory: &isDirectory), isDirectory.boolValue,
                  target.hasPrefix(FileSet.folderPrefix(named)) else { return false }
            // A folder means every file below it, hidden ones excepted.
            let below = targetSegments.dropFirst(named.split(separator: "/").count)
            return extensionKept && !below.contains { $0.hasPrefix(".") }
        }
        guard extensionKept else { return false }
        return FileSet.expandBraces(pattern).contains { expanded in
            let segments = expanded.split(separator: "/").map(String.init)
            return FileSet.matches(segments: segments[...], path: targetSegments[...])
        }
    }

    /// Matches path segments against pattern segments, `**` spanning any number of folders.
    static func matches(segments: ArraySlice<String>, path: ArraySlice<String>) -> Bool {
        guard let first = segments.first else { return path.isEmpty }
        if first == "**" {
            let rest = segments.dropFirst()
            var p = path
            while true {
                if matches(segments: rest, path: p) { return true }
                guard let head = p.first, !head.hasPrefix(".") else { return false }
                p = p.dropFirst()
            }
        }
        guard let head = path.first else { return false }
        guard fnmatch(first, head, FNM_PERIOD) == 0 else { return false }
        return matches(segments: segments.dropFirst(), path: path.dropFirst())
    }

    /// `a{b,c}d` → `abd`, `acd` (nested braces expand too).
    static func expandBraces(_ text: String) -> [String] {
        let chars = Array(text)
        guard let open = chars.firstIndex(of: "{") else { return [text] }
        var depth = 0
        var close: Int?
        var commas: [Int] = []
        for i in open..<chars.count {
            switch chars[i] {
            case "{": depth += 1
            case "}":
                depth -= 1
                if depth == 0 { close = i }
            case "," where depth == 1: commas.append(i)
            default: break
            }
            if close != nil { break }
        }
        guard let close, !commas.isEmpty else { return [text] }
        let head = String(chars[..<open])
        let tail = String(chars[(close + 1)...])
        var parts: [String] = []
        var start = open + 1
        for c in commas + [close] {
            parts.append(String(chars[start..<c]))
            start = c + 1
        }
        return parts.flatMap { expandBraces(head + $0 + tail) }
    }
}

/// A `path` that names nothing.
public struct FileSetError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// The message.
    public var description: String { message }
}
