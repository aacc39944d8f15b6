import Foundation
import SluiceCore
import SluiceFormats
import Yams

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Checks that turn common mistakes into messages in the user's words: a Lua script given where
// the config belongs, tabs in the indentation, a stage written at the top level, and (when the
// loader may look at the disk) inputs that match nothing and outputs that cannot be written.
extension LoadSession {
    /// A Lua script (or other non-YAML text) given as the config.
    func scriptInsteadOfConfig(_ text: String) -> Diagnostic? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        let luaStarts = ["function ", "local ", "return ", "--", "if ", "for ", "require("]
        // `---` starts a YAML document, `--` a Lua comment.
        let looksLikeLua = file.hasSuffix(".lua")
            || (lines.first.map { first in !first.hasPrefix("---") && luaStarts.contains { first.hasPrefix($0) } } ?? false)
        guard looksLikeLua else { return nil }
        return Diagnostic(SourcePosition(file: file, line: 1, column: 1),
                          "this looks like a Lua script, not a pipeline config: a config is a YAML file with 'sources:', "
                          + "'transforms:' and 'sinks:' that names the script (type: lua, script: \((file as NSString).lastPathComponent)); "
                          + "to apply a rule on its own: sluice try \((file as NSString).lastPathComponent) --input FILE")
    }

    /// Every line whose indentation holds a tab: YAML indents with spaces only.
    func tabIndentation(_ text: String) -> [Diagnostic] {
        var found: [Diagnostic] = []
        for (k, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let indentation = line.prefix { $0 == " " || $0 == "\t" }
            guard let tab = indentation.firstIndex(of: "\t") else { continue }
            let column = line.distance(from: line.startIndex, to: tab) + 1
            found.append(Diagnostic(SourcePosition(file: file, line: k + 1, column: column),
                                    "a tab in the indentation: YAML indents with spaces only; replace the tab with spaces (two per level)"))
        }
        return found
    }

    /// For an unknown top-level key whose value looks like a stage (a mapping with `type`):
    /// "'db' is at the top level; did you mean to indent it under 'sinks:'?".
    func misplacedStageHint(key: String, keyNode: Node, value: Node, top: Node.Mapping) -> String? {
        guard case .mapping(let body) = value,
              let typeNode = body.first(where: { $0.key.string == "type" })?.value, let type = typeNode.string else { return nil }
        let kinds = StageKind.allCases.filter { loader.registry.descriptor($0, type) != nil }
        var section: String?
        if kinds.count == 1 {
            section = kinds[0].section
        } else {
            // The section written just above it (its entries were meant to follow).
            let line = keyNode.mark?.line ?? 0
            section = top.compactMap { pair -> (Int, String)? in
                guard let name = pair.key.string, ["sources", "transforms", "sinks"].contains(name),
                      let at = pair.key.mark?.line, at < line else { return nil }
                return (at, name)
            }.max { $0.0 < $1.0 }?.1 ?? kinds.first?.section
        }
        guard let section else { return nil }
        return "'\(key)' is at the top level; did you mean to indent it under '\(section):'? (a \(type) stage belongs in '\(section)')"
    }

    /// Sources whose files match nothing now (a warning: the files may come later).
    func unmatchedInputs(_ stages: [PipelineStage]) -> [Diagnostic] {
        var warnings: [Diagnostic] = []
        for stage in stages where stage.kind == .source {
            for resource in stage.stage.resources {
                guard let files = resource.readFiles, !files.matchesAny() else { continue }
                let kinds = files.extensions.isEmpty ? "" : " with extension " + files.extensions.map { "." + $0 }.joined(separator: ", ")
                warnings.append(Diagnostic(stage.options.position(of: resource.option),
                                           "source '\(stage.name)': path '\(files.pattern)' matches no files\(kinds) (yet); run stops there"))
            }
        }
        return warnings
    }

    /// Sink outputs and the dead-letter file that cannot be written: the nearest folder that
    /// exists is not a folder, or cannot be written to.
    mutating func checkOutputsWritable(_ stages: [PipelineStage], deadLetter: String, deadLetterPosition: SourcePosition) {
        var targets: [(String, String, SourcePosition)] = []
        for stage in stages where stage.kind == .sink {
            for resource in stage.stage.resources {
                guard let output = resource.writtenPath, output != "-" else { continue }
                targets.append(("sink '\(stage.name)'", output, stage.options.position(of: resource.option)))
            }
        }
        targets.append(("'dead_letter'", deadLetter, deadLetterPosition))
        for (who, path, position) in targets {
            if let reason = Self.unwritable(path) {
                problems.append(Diagnostic(position, "\(who): cannot write \(path): \(reason)"))
            }
        }
    }

    /// Why `path` cannot be created or written, or nil.
    static func unwritable(_ path: String) -> String? {
        let fm = FileManager.default
        var isFolder: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isFolder) {
            if isFolder.boolValue { return "it is a folder" }
            return access(path, W_OK) == 0 ? nil : "permission denied"
        }
        var folder = (path as NSString).deletingLastPathComponent
        while !folder.isEmpty && folder != "/" && !fm.fileExists(atPath: folder, isDirectory: &isFolder) {
            folder = (folder as NSString).deletingLastPathComponent
        }
        if folder.isEmpty { folder = "." }
        _ = fm.fileExists(atPath: folder, isDirectory: &isFolder)
        if !isFolder.boolValue { return "\(folder) is a file, not a folder" }
        return access(folder, W_OK) == 0 ? nil : "the folder \(folder) is not writable"
    }
}
