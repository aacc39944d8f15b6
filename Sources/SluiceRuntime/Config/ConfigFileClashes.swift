import Foundation
import SluiceCore
import SluiceFormats
import Yams

/// Checking that the stages' files do not clash (one stage writing what another reads or
/// writes, a dead-letter file that is also an input or an output).
extension LoadSession {
    /// Clashes between the stages' resources (``StageResource``), never their type names: a
    /// stage that writes a file another stage reads would destroy the run's own input (the
    /// reader may open it after the writer has emptied it); two writers of one file overwrite
    /// each other; a dead-letter file that is also an input or an output loses letters or reads
    /// them back. Stages that share a database through its locks (`.database`) may use one file
    /// together. Paths are compared after resolving links, and existing files also by device
    /// and inode (a hard link is the same file). Each problem is reported at the place of the
    /// option that declared the writing resource.
    mutating func checkFileClashes(_ stages: [PipelineStage], deadLetter: String, deadLetterPosition: SourcePosition) {
        struct Claim { var name: String; var resource: StageResource; var position: SourcePosition }
        var claims: [Claim] = []
        for stage in stages {
            for resource in stage.stage.resources {
                if let written = resource.writtenPath, written == "-" { continue }
                claims.append(Claim(name: "\(stage.kind) '\(stage.name)'", resource: resource,
                                    position: stage.options.position(of: resource.option)))
            }
        }
        claims.append(Claim(name: "the dead-letter file", resource: .writes(deadLetter), position: deadLetterPosition))
        claims.append(Claim(name: "the config file itself", resource: .reads(FileSet(pattern: file)),
                            position: SourcePosition(file: file, line: 1, column: 1)))
        let writers = claims.filter { $0.resource.writtenPath != nil }
        // A use that writes as well as reads (a shared database) clashes as a writer.
        let readers = claims.filter { $0.resource.readFiles != nil && $0.resource.writtenPath == nil }

        for (i, writer) in writers.enumerated() {
            guard let path = writer.resource.writtenPath else { continue }
            let shown = displayPath(FileClaims.resolved(path))
            let subject = writer.name == "the dead-letter file" ? "'dead_letter'" : writer.name
            for other in writers[..<i] {
                guard let otherPath = other.resource.writtenPath, FileClaims.same(otherPath, path) else { continue }
                if other.resource.sharesThroughLocks && writer.resource.sharesThroughLocks { continue }
                problems.append(Diagnostic(writer.position,
                                           "\(subject): \(other.name) also writes \(shown); one file takes one writer"))
            }
            for reader in readers where reader.name != writer.name {
                guard let files = reader.resource.readFiles, FileClaims.reads(files, path) else { continue }
                if reader.resource.sharesThroughLocks && writer.resource.sharesThroughLocks { continue }
                problems.append(Diagnostic(writer.position,
                                           "\(subject): writes \(shown), which \(reader.name) reads; the run would destroy its own input (write to another file)"))
            }
        }
    }

    private func displayPath(_ path: String) -> String {
        let base = baseDirectory.hasSuffix("/") ? baseDirectory : baseDirectory + "/"
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }
}

/// Path comparisons for ``LoadSession/checkFileClashes(_:deadLetter:deadLetterPosition:)``.
enum FileClaims {
    /// `path` with links resolved: the file's own real path when it exists, else its folder's
    /// real path and its name.
    static func resolved(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if FileManager.default.fileExists(atPath: url.path) { return url.resolvingSymlinksInPath().path }
        // Resolve the nearest folder that exists (`link/new/sub/x.jsonl`), keep the rest.
        var existing = url.deletingLastPathComponent()
        var rest = [url.lastPathComponent]
        while existing.path != "/" && !FileManager.default.fileExists(atPath: existing.path) {
            rest.insert(existing.lastPathComponent, at: 0)
            existing = existing.deletingLastPathComponent()
        }
        var result = existing.resolvingSymlinksInPath()
        for part in rest { result.appendPathComponent(part) }
        return result.path
    }

    /// The device and inode of an existing file, and how many names (hard links) it has.
    static func identity(_ path: String) -> (device: UInt64, inode: UInt64, links: UInt64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino), UInt64(info.st_nlink))
    }

    /// Whether two paths name the same file (now, or once it is created).
    static func same(_ a: String, _ b: String) -> Bool {
        if resolved(a) == resolved(b) { return true }
        if let x = identity(a), let y = identity(b) { return x.device == y.device && x.inode == y.inode }
        return false
    }

    /// Whether `files` would read `path`: by the pattern (as written, and with its folder's
    /// links resolved), or, for a file that exists, by identity with one the set finds.
    static func reads(_ files: FileSet, _ path: String) -> Bool {
        let target = resolved(path)
        if files.wouldInclude(path) || files.wouldInclude(target) { return true }
        let root = files.root
        let realRoot = URL(fileURLWithPath: root).resolvingSymlinksInPath().path
        if realRoot != root {
            let rebased = FileSet(pattern: realRoot + String(files.pattern.dropFirst(root.count)), extensions: files.extensions)
            if rebased.wouldInclude(target) { return true }
        }
        // Links are resolved above; only a file with several names (hard links) needs the walk
        // over the set's files — a config load does not list an input tree for nothing.
        guard let id = identity(path), id.links > 1, let found = try? files.files() else { return false }
        return found.contains { file in
            identity(file.path).map { $0.device == id.device && $0.inode == id.inode } ?? false
        }
    }
}
