import OrderedCollections
import Foundation
import Synchronization

/// A record or a piece of input that could not be processed, with the reason and its place.
///
/// Written as one JSON line: `{stage, error, source, location, position, record | raw |
/// raw_base64, …details, time}` (`position` only when the origin has one). ``init(json:)``
/// reads such a line back, for `sluice replay`.
public struct DeadLetter: Sendable {
    /// The stage that gave up on it.
    public var stage: String
    /// Why, in words (`extract.lua:12: attempt to index a nil value`).
    public var error: String
    /// Where the input came from.
    public var origin: Origin?
    /// The record as it was when the stage received it.
    public var record: Fields?
    /// The raw input, when it never became a record (a bad JSON line, an unreadable file).
    public var raw: String?
    /// Raw input that is not text (invalid UTF-8, binary), written base64-encoded as
    /// `raw_base64`. ``setRaw(_:)`` picks between this and ``raw``.
    public var rawBytes: [UInt8]?
    /// Extra facts for the reader (`traceback`, `script_line`…), written after the above.
    public var details: Fields
    /// When it happened.
    public var time: Date

    /// The keys the letter itself writes; any other key of a letter read back is a detail.
    public static let reservedKeys: Set<String> = ["stage", "error", "source", "location", "position", "record",
                                                   "raw", "raw_base64", "time"]

    /// Creates a dead letter.
    public init(stage: String, error: String, origin: Origin? = nil, record: Fields? = nil, raw: String? = nil,
                rawBytes: [UInt8]? = nil, details: Fields = [:], time: Date = Date()) {
        self.stage = stage
        self.error = error
        self.origin = origin
        self.record = record
        self.raw = raw
        self.rawBytes = rawBytes
        self.details = details
        self.time = time
    }

    /// Keeps `bytes` as the raw input: as text (``raw``) when they are valid UTF-8 without NUL
    /// bytes, else as bytes (``rawBytes``, written base64-encoded) so nothing is lost or mangled.
    public mutating func setRaw(_ bytes: some Collection<UInt8>) {
        let array = Array(bytes)
        if !array.contains(0), let text = String(validating: array, as: UTF8.self) {
            raw = text
            rawBytes = nil
        } else {
            raw = nil
            rawBytes = array
        }
    }

    /// The JSON object written to the dead-letter file.
    public var json: Fields {
        var f = Fields()
        f["stage"] = .string(stage)
        f["error"] = .string(error)
        f["source"] = origin.map { .string($0.source) } ?? .null
        f["location"] = origin?.location.map { .string($0) } ?? .null
        if let position = origin?.position {
            f["position"] = ["input": .string(position.input), "epoch": .int(position.epoch), "offset": .int(position.offset)]
        }
        if let record { f["record"] = .object(record) }
        if let raw { f["raw"] = .string(raw) }
        if let rawBytes { f["raw_base64"] = .string(Data(rawBytes).base64EncodedString()) }
        for (k, v) in details where f[k] == nil { f[k] = v }
        f["time"] = .string(Timestamp.string(time))
        return f
    }

    /// Reads a letter back from the object ``json`` wrote. `stage` and `error` must be strings;
    /// everything else is optional (a letter written by an older version still reads). The
    /// origin's file, line, column and row are recovered from `location`; keys that are not
    /// the letter's own come back as ``details``.
    public init(json: Fields) throws(DeadLetterFormatError) {
        guard case .string(let stage)? = json["stage"] else { throw DeadLetterFormatError("no \"stage\" string") }
        guard case .string(let error)? = json["error"] else { throw DeadLetterFormatError("no \"error\" string") }
        var origin: Origin?
        if case .string(let source)? = json["source"] {
            var o = Origin(source: source)
            if case .string(let location)? = json["location"] { o.setLocation(location) }
            origin = o
        }
        if let value = json["position"], !value.isNull {
            guard case .string(let input)? = value["input"], let epoch = value["epoch"]?.intValue,
                  let offset = value["offset"]?.intValue else {
                throw DeadLetterFormatError("\"position\" must be {input, epoch, offset}")
            }
            if origin == nil { origin = Origin(source: "") }
            origin?.position = Position(input: input, epoch: epoch, offset: offset)
        }
        var record: Fields?
        if let value = json["record"], !value.isNull {
            guard case .object(let fields) = value else { throw DeadLetterFormatError("\"record\" must be an object") }
            record = fields
        }
        var raw: String?
        if let value = json["raw"], !value.isNull {
            guard case .string(let text) = value else { throw DeadLetterFormatError("\"raw\" must be a string") }
            raw = text
        }
        var rawBytes: [UInt8]?
        if let value = json["raw_base64"], !value.isNull {
            guard case .string(let text) = value, let data = Data(base64Encoded: text) else {
                throw DeadLetterFormatError("\"raw_base64\" must be base64 text")
            }
            rawBytes = Array(data)
        }
        var time = Date()
        if case .string(let text)? = json["time"], let parsed = Timestamp.date(text) { time = parsed }
        var details = Fields()
        for (k, v) in json where !Self.reservedKeys.contains(k) { details[k] = v }
        self.init(stage: stage, error: error, origin: origin, record: record, raw: raw, rawBytes: rawBytes,
                  details: details, time: time)
    }
}

/// A dead-letter line that cannot be read back as a ``DeadLetter``.
public struct DeadLetterFormatError: Error, Sendable, CustomStringConvertible {
    /// What is wrong with it.
    public var message: String
    /// Creates the error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

extension Origin {
    /// Sets file, line, column and row from a ``location`` text (`file:line:col`, `file#row`,
    /// `line N`, `row N`, `file`), so that a letter read back shows the same place. A file
    /// name that itself ends in `:digits` is taken for a line number: the text is ambiguous.
    mutating func setLocation(_ location: String) {
        var text = Substring(location)
        func digits(_ s: Substring) -> Int64? {
            guard !s.isEmpty, s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int64(s)
        }
        if let hash = text.lastIndex(of: "#"), let row = digits(text[text.index(after: hash)...]) {
            self.row = row
            text = text[..<hash]
        } else if text.hasPrefix("row "), let row = digits(text.dropFirst(4)) {
            self.row = row
            return
        }
        var prefix = text
        if text.hasPrefix("line ") { prefix = text.dropFirst(5) }
        let parts = prefix.split(separator: ":", omittingEmptySubsequences: false)
        let lineOnly = text.hasPrefix("line ")
        if lineOnly {
            // `line N` or `line N:C`.
            if parts.count == 1, let line = digits(parts[0]) { self.line = Int(line); return }
            if parts.count == 2, let line = digits(parts[0]), let column = digits(parts[1]) {
                self.line = Int(line)
                self.column = Int(column)
                return
            }
        }
        if parts.count >= 3, let line = digits(parts[parts.count - 2]), let column = digits(parts[parts.count - 1]) {
            file = parts.dropLast(2).joined(separator: ":")
            self.line = Int(line)
            self.column = Int(column)
        } else if parts.count >= 2, let line = digits(parts[parts.count - 1]) {
            file = parts.dropLast().joined(separator: ":")
            self.line = Int(line)
        } else if !text.isEmpty {
            file = String(text)
        }
    }
}

/// Where dead letters go.
public protocol DeadLetterQueue: Sendable {
    /// Takes one dead letter. Must be safe to call from any thread.
    func send(_ letter: DeadLetter)
}

/// Drops dead letters (for tests and tools that collect them otherwise).
public struct DiscardingDeadLetterQueue: DeadLetterQueue {
    /// Creates the queue.
    public init() {}
    /// Does nothing.
    public func send(_ letter: DeadLetter) {}
}

/// Keeps dead letters in memory (tests, `sluice test`, `sluice try`).
public final class CollectingDeadLetterQueue: DeadLetterQueue {
    private let storage = Mutex<[DeadLetter]>([])
    /// Creates an empty queue.
    public init() {}
    /// Appends the letter.
    public func send(_ letter: DeadLetter) { storage.withLock { $0.append(letter) } }
    /// Everything received so far.
    public var letters: [DeadLetter] { storage.withLock { $0 } }
}

/// Appends dead letters to a JSON Lines file, one `write(2)` per letter so that nothing is
/// held in a buffer when the process dies. The file is created (with its folder) on the first
/// letter only: a clean run leaves no empty file behind.
public final class FileDeadLetterQueue: DeadLetterQueue {
    /// The file's path.
    public let path: String
    private struct State {
        var handle: FileHandle?
        var count = 0
        var failed = false
        var lost = 0
        var lastFailure: String?
    }
    private let state = Mutex(State())
    /// Also told about each letter (the CLI prints the first few).
    private let observer: (@Sendable (DeadLetter) -> Void)?

    /// Creates the queue; nothing is opened yet.
    public init(path: String, observer: (@Sendable (DeadLetter) -> Void)? = nil) {
        self.path = path
        self.observer = observer
    }

    /// How many letters were received (written or not).
    public var count: Int { state.withLock { $0.count } }

    /// How many letters could not be written (the file could not be opened, or a write failed:
    /// a full disk, a revoked permission), and the last reason. The CLI fails the run when this
    /// is not zero: a dead letter that is not on disk is a lost record.
    public var unwritten: (count: Int, reason: String?) { state.withLock { ($0.lost, $0.lastFailure) } }

    /// Appends one JSON line.
    public func send(_ letter: DeadLetter) {
        var line: [UInt8] = []
        JSONWriter.write(.object(letter.json), to: &line)
        line.append(0x0A)
        state.withLock { st in
            st.count += 1
            if st.handle == nil && !st.failed {
                let url = URL(fileURLWithPath: path)
                try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                if !FileManager.default.fileExists(atPath: path) {
                    _ = FileManager.default.createFile(atPath: path, contents: nil)
                }
                st.handle = FileHandle(forWritingAtPath: path)
                _ = try? st.handle?.seekToEnd()
                if st.handle == nil {
                    st.failed = true
                    st.lastFailure = "cannot open \(path) for writing: \(String(cString: strerror(errno)))"
                    FileHandle.standardError.write(Data("sluice: cannot open dead-letter file \(path)\n".utf8))
                }
            }
            guard let handle = st.handle else { st.lost += 1; return }
            do {
                try handle.write(contentsOf: line)
            } catch {
                st.lost += 1
                if st.lastFailure == nil {
                    FileHandle.standardError.write(Data("sluice: cannot write to dead-letter file \(path): \(error.localizedDescription)\n".utf8))
                }
                st.lastFailure = "writing \(path) failed: \(error.localizedDescription)"
            }
        }
        observer?(letter)
    }

    /// Closes the file.
    public func close() {
        state.withLock { st in
            try? st.handle?.close()
            st.handle = nil
        }
    }
}
