import OrderedCollections
import Foundation
import Synchronization

/// A record or a piece of input that could not be processed, with the reason and its place.
///
/// Written as one JSON line: `{stage, error, source, location, record | raw, …details, time}`.
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
    /// Extra facts for the reader (`traceback`, `script_line`…), written after the above.
    public var details: Fields
    /// When it happened.
    public var time: Date

    /// Creates a dead letter.
    public init(stage: String, error: String, origin: Origin? = nil, record: Fields? = nil, raw: String? = nil,
                details: Fields = [:], time: Date = Date()) {
        self.stage = stage
        self.error = error
        self.origin = origin
        self.record = record
        self.raw = raw
        self.details = details
        self.time = time
    }

    /// The JSON object written to the dead-letter file.
    public var json: Fields {
        var f = Fields()
        f["stage"] = .string(stage)
        f["error"] = .string(error)
        f["source"] = origin.map { .string($0.source) } ?? .null
        f["location"] = origin?.location.map { .string($0) } ?? .null
        if let record { f["record"] = .object(record) }
        if let raw { f["raw"] = .string(raw) }
        for (k, v) in details where f[k] == nil { f[k] = v }
        f["time"] = .string(Self.timestamp(time))
        return f
    }

    static func timestamp(_ date: Date) -> String {
        // A new formatter per letter: ISO8601DateFormatter is not Sendable, and letters are rare.
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
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
