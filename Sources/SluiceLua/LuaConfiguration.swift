import Foundation
import SluiceCore

/// The limits a Lua stage runs under.
public struct LuaLimits: Sendable, Hashable {
    /// Budget per record (and per `init` / `finish` call), in VM instructions; pattern and
    /// regex matching steps and the work of library loops (`string.rep`, `table.sort`…) are
    /// charged to the same budget. 0 means no limit.
    public var maxInstructions: Int
    /// Bytes one Lua state may hold (its globals, the record, everything). 0 means no limit.
    public var maxMemory: Int

    /// 50 million. Measured by `sluice-bench` (LuaBench): the shipped extract_facts rule needs
    /// about 350,000 units for its heaviest call on the 4.8 KB seed article (its start-up, which
    /// builds the gazetteer, included), a money/word-count rule about 1,800 per 1.5 KB record;
    /// `while true do end` is stopped after about 0.25 s and
    /// `string.find(string.rep("a", 5000), ".-.-.-b")` after about 0.2–0.4 s.
    public static let defaultMaxInstructions = 50_000_000
    /// 64 MiB per state.
    public static let defaultMaxMemory = 64 << 20

    /// Creates limits.
    public init(maxInstructions: Int = LuaLimits.defaultMaxInstructions, maxMemory: Int = LuaLimits.defaultMaxMemory) {
        self.maxInstructions = max(0, maxInstructions)
        self.maxMemory = max(0, maxMemory)
    }
}

/// What happens to a record whose script fails (an error, or a limit).
public enum LuaErrorPolicy: String, Sendable, CaseIterable, OptionChoice {
    /// The record goes to the dead letters with the message (the default).
    case deadLetter = "dead_letter"
    /// The record is dropped (counted, logged at debug level).
    case drop
    /// The pipeline stops with a fatal error.
    case fail
}

/// A Lua script's text and the name messages give it.
public struct LuaScript: Sendable, Hashable {
    /// The absolute path of the file (or of a folder-relative stand-in for inline code).
    public var path: String
    /// The name in messages: the path relative to the config's folder, as users write it.
    public var displayName: String
    /// The script's bytes.
    public var source: [UInt8]

    /// Reads the script at `path` (absolute); `displayName` defaults to the path relative to
    /// `baseDirectory` (or the path itself when it is outside).
    public init(path: String, baseDirectory: String? = nil) throws(LuaScriptError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            throw LuaScriptError(exists ? (isDirectory.boolValue ? "is a folder, not a Lua file" : "cannot be read")
                                        : "does not exist", path: path)
        }
        self.path = path
        self.displayName = LuaScript.displayName(of: path, relativeTo: baseDirectory)
        self.source = [UInt8](data)
    }

    /// A script given as text. `path` places it (its folder is where `require` looks).
    public init(source: String, path: String, displayName: String) {
        self.path = path
        self.displayName = displayName
        self.source = Array(source.utf8)
    }

    /// The folder holding the script.
    public var folder: String { (path as NSString).deletingLastPathComponent }

    /// `path` relative to `base` when it is inside it (or near it: `../x.lua`), else `path`.
    public static func displayName(of path: String, relativeTo base: String?) -> String {
        guard let base, path.hasPrefix("/"), base.hasPrefix("/") else { return path }
        let target = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
        let root = URL(fileURLWithPath: base).standardizedFileURL.pathComponents
        var common = 0
        while common < target.count && common < root.count && target[common] == root[common] { common += 1 }
        let ups = root.count - common
        // Only climb a little: beyond that the absolute path is clearer.
        guard common > 1 || root.count <= 1, ups <= 2 else { return path }
        let parts = Array(repeating: "..", count: ups) + target[common...]
        return parts.isEmpty ? path : parts.joined(separator: "/")
    }

    /// The 1-based line `line` of the source, trimmed; nil when out of range.
    public func line(_ line: Int) -> String? {
        LuaScript.line(line, of: source)
    }

    static func line(_ line: Int, of source: [UInt8], trimmed: Bool = true) -> String? {
        guard line >= 1 else { return nil }
        var current = 1
        var start = 0
        var i = 0
        while i < source.count {
            if source[i] == 0x0A {
                if current == line { break }
                current += 1
                start = i + 1
            }
            i += 1
        }
        guard current == line, start <= source.count else { return nil }
        let text = String(decoding: source[start..<min(i, source.count)], as: UTF8.self)
        return trimmed ? text.trimmingCharacters(in: .whitespacesAndNewlines) : text
    }
}

/// A script file that cannot be used.
public struct LuaScriptError: Error, Sendable, CustomStringConvertible {
    /// What is wrong with it.
    public var reason: String
    /// Its path.
    public var path: String

    /// Creates the error.
    public init(_ reason: String, path: String) {
        self.reason = reason
        self.path = path
    }

    /// `the script PATH REASON`.
    public var description: String { "the script \(path) \(reason)" }
}

/// Everything a Lua state of one stage needs, shared by its workers.
public struct LuaSettings: Sendable {
    /// The stage's name (for logs and dead letters).
    public var stageName: String
    /// Limits.
    public var limits: LuaLimits
    /// Whether the sandbox is on (the default). Off gives scripts `io`, `os.execute`, C modules
    /// and the whole `debug` library: only for trusted scripts.
    public var sandbox: Bool
    /// Extra folders `require` may load Lua modules from (absolute), after the script's own.
    public var modulePaths: [String]
    /// The folder display names of module files are made relative to (the config's folder).
    public var baseDirectory: String?

    /// Creates settings.
    public init(stageName: String, limits: LuaLimits = LuaLimits(), sandbox: Bool = true,
                modulePaths: [String] = [], baseDirectory: String? = nil) {
        self.stageName = stageName
        self.limits = limits
        self.sandbox = sandbox
        self.modulePaths = modulePaths
        self.baseDirectory = baseDirectory
    }
}

/// Why a script failed on one record (or in `init` / `finish`).
public struct LuaFailure: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public enum Kind: String, Sendable {
        /// The script raised an error or failed at run time.
        case script
        /// The script does not compile.
        case syntax
        /// The per-record instruction budget ran out.
        case instructionLimit = "instruction_limit"
        /// The state's memory cap was reached.
        case memoryLimit = "memory_limit"
        /// A pattern or regex ran out of the step budget.
        case patternBudget = "pattern_budget"
        /// `process` returned something that is not a record.
        case badResult = "bad_result"
        /// The record cannot be handed to Lua (nested deeper than Lua rules take).
        case unsupportedInput = "unsupported_input"
    }

    /// The kind of failure.
    public var kind: Kind
    /// `SCRIPT:LINE: message`.
    public var message: String
    /// The script line the message points at, trimmed.
    public var scriptLine: String?
    /// Lua's stack traceback.
    public var traceback: String?

    /// Creates a failure.
    public init(kind: Kind, message: String, scriptLine: String? = nil, traceback: String? = nil) {
        self.kind = kind
        self.message = message
        self.scriptLine = scriptLine
        self.traceback = traceback
    }

    /// The extra fields of a dead letter: `script_line`, `traceback`.
    public var details: Fields {
        var f = Fields()
        if let scriptLine { f["script_line"] = .string(scriptLine) }
        if let traceback { f["traceback"] = .string(traceback) }
        return f
    }

    /// The message.
    public var description: String { message }
}
