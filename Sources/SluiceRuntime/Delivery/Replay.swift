import Foundation
import SluiceCore
import SluiceFormats

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// `sluice replay`: dead letters fed back into the stages that refused them.
//
// A dead-letter file is read twice: once to plan (which stages refused what, which letters
// cannot be replayed), then by one ``ReplaySource`` per refusing stage, streaming, so memory
// does not grow with the file. Replayed records are new input with positions of their own:
// `(input: "<file name>@<fingerprint>", epoch: 1, offset: <byte offset of the letter>)`. A sink
// that keeps delivery marks therefore writes each of them once, even when the same file is
// replayed twice, and never mistakes one for a record it wrote from the original input.

/// One line of a dead-letter file: where it is, and the letter or why it cannot be read.
public struct DeadLetterLine: Sendable {
    /// The byte offset of the line in the file.
    public var offset: Int64
    /// The 1-based line number.
    public var line: Int
    /// The letter, or the reason the line is not one.
    public var letter: Result<DeadLetter, DeadLetterFormatError>
}

/// Reads a dead-letter file line by line, with each line's byte offset, up to a byte limit.
public struct DeadLetterReader {
    /// The file.
    public let path: String
    /// Bytes read at most (the file's size when it was planned: letters added later are not
    /// part of this replay).
    public let limit: Int64

    /// Creates a reader of the first `limit` bytes of `path` (nil: all of it).
    public init(path: String, limit: Int64? = nil) {
        self.path = path
        self.limit = limit ?? Int64.max
    }

    /// Calls `body` for every non-blank line, in file order; stops early when `body` returns false.
    public func forEach(_ body: (DeadLetterLine) throws -> Bool) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ReplayError("cannot read the dead letters \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var pending: [UInt8] = []
        var lineStart: Int64 = 0
        var consumed: Int64 = 0
        var lineNumber = 0
        func emit(_ bytes: [UInt8], at offset: Int64) throws -> Bool {
            lineNumber += 1
            var slice = bytes[...]
            if slice.last == 0x0D { slice = slice.dropLast() }
            if slice.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return true }
            let letter: Result<DeadLetter, DeadLetterFormatError>
            if let text = String(validating: slice, as: UTF8.self) {
                do { letter = .success(try DeadLetter(line: text)) } catch { letter = .failure(error) }
            } else {
                letter = .failure(DeadLetterFormatError("not UTF-8 text"))
            }
            return try body(DeadLetterLine(offset: offset, line: lineNumber, letter: letter))
        }
        while consumed < limit {
            let want = Int(min(Int64(buffer.count), limit - consumed))
            let read = buffer.withUnsafeMutableBytes { raw in
                Result { () throws(IOFailure) -> Int in
                    try RawIO.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[..<want]), file: path)
                }
            }
            let n: Int
            switch read {
            case .success(let count): n = count
            case .failure(let failure): throw ReplayError("cannot read the dead letters \(path): \(failure.reason)")
            }
            if n == 0 { break }
            var start = 0
            for k in 0..<n where buffer[k] == 0x0A {
                pending.append(contentsOf: buffer[start..<k])
                let line = pending
                pending.removeAll(keepingCapacity: true)
                let offset = lineStart
                lineStart = consumed + Int64(k) + 1
                start = k + 1
                guard try emit(line, at: offset) else { return }
            }
            pending.append(contentsOf: buffer[start..<n])
            consumed += Int64(n)
        }
        if !pending.isEmpty { _ = try emit(pending, at: lineStart) }
    }
}

/// What a dead-letter file holds, found by reading it once before a replay.
public struct DeadLetterInventory: Sendable {
    /// The file.
    public var path: String
    /// Its size when it was read: the replay reads no further.
    public var size: Int64
    /// The input name of the replayed records: the file's name and a fingerprint of its first
    /// line (see ``inputName(path:)``).
    public var input: String
    /// Letters that carry a record, by stage, in order of first appearance.
    public var replayable: [(stage: String, count: Int)]
    /// Letters that hold only raw input (no record to feed to a stage), by stage.
    public var rawOnly: [(stage: String, count: Int)]
    /// Lines that are not dead letters: line number and reason.
    public var unreadable: [(line: Int, reason: String)]

    /// Reads the file; `stage`, when given, keeps only the letters of that stage.
    public init(path: String, stage: String? = nil) throws {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ReplayError("cannot read the dead letters \(path): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw ReplayError("\(path) is not a file") }
        size = Int64(info.st_size)
        input = try Self.inputName(path: path)
        var replayable: [String: Int] = [:]
        var rawOnly: [String: Int] = [:]
        var order: [String] = []
        var unreadable: [(line: Int, reason: String)] = []
        try DeadLetterReader(path: path, limit: size).forEach { line in
            switch line.letter {
            case .failure(let error):
                unreadable.append((line.line, error.message))
            case .success(let letter):
                if let stage, letter.stage != stage { return true }
                if !order.contains(letter.stage) { order.append(letter.stage) }
                if letter.record != nil {
                    replayable[letter.stage, default: 0] += 1
                } else {
                    rawOnly[letter.stage, default: 0] += 1
                }
            }
            return true
        }
        self.replayable = order.compactMap { s in replayable[s].map { (s, $0) } }
        self.rawOnly = order.compactMap { s in rawOnly[s].map { (s, $0) } }
        self.unreadable = unreadable
    }

    /// `dead_letter.jsonl@3f9a…`: the file's name and a fingerprint of its first line. A file
    /// that later runs appended to keeps its name and first line, and its earlier letters keep
    /// their offsets, so replaying it again writes only the letters that are new; a file
    /// written afresh (its first letter has a different time) is a new input.
    public static func inputName(path: String) throws -> String {
        var firstLine: Int64 = 0
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ReplayError("cannot read the dead letters \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        scan: while true {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(firstLine)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            if let k = buffer[0..<n].firstIndex(of: 0x0A) {
                firstLine += Int64(k)
                break scan
            }
            firstLine += Int64(n)
        }
        let fingerprint = FileFingerprint.of(fd: fd, length: firstLine) ?? "0"
        return (path as NSString).lastPathComponent + "@" + fingerprint
    }
}

/// A source that reads the letters of one stage back from a dead-letter file: one record per
/// letter that carries a record, with the letter's original place (file, line) and a new
/// position in the dead-letter file.
public struct ReplaySource: Source {
    /// The dead-letter file.
    public var path: String
    /// Bytes of it to read (its size when the replay was planned).
    public var limit: Int64
    /// The stage whose letters are replayed.
    public var stage: String
    /// The ``Position/input`` of the records (``DeadLetterInventory/input``).
    public var input: String

    /// Creates the source.
    public init(path: String, limit: Int64, stage: String, input: String) {
        self.path = path
        self.limit = limit
        self.stage = stage
        self.input = input
    }

    /// Reads the file and emits the stage's letters as records.
    public func run(_ context: SourceContext) throws {
        var batch: [Record] = []
        batch.reserveCapacity(context.batchSize)
        try DeadLetterReader(path: path, limit: limit).forEach { line in
            guard case .success(let letter) = line.letter, letter.stage == stage, let fields = letter.record else {
                return true
            }
            var origin = letter.origin ?? Origin(source: context.name)
            origin.source = context.name
            origin.position = Position(input: input, epoch: 1, offset: line.offset)
            batch.append(Record(fields, origin: origin))
            if batch.count >= context.batchSize {
                try context.emit(batch)
                batch.removeAll(keepingCapacity: true)
            }
            return true
        }
        try context.emit(batch)
    }
}

/// An error of a replay: the dead-letter file cannot be read, or the pipeline has no such stage.
public struct ReplayError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// Creates the error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

extension Pipeline {
    /// The name of the source that replays `stage`'s dead letters: `replay:STAGE`.
    public static func replaySourceName(for stage: String) -> String { "replay:" + stage }

    /// The stages that read `names`, directly or through other stages (not `names` themselves
    /// unless one of them is downstream of another).
    public func downstream(of names: Set<String>) -> Set<String> {
        var found: Set<String> = []
        var frontier = Array(names)
        while let name = frontier.popLast() {
            for consumer in consumers(of: name) where found.insert(consumer).inserted {
                frontier.append(consumer)
            }
        }
        return found
    }

    /// The pipeline that feeds the dead letters of `inventory` back in: one ``ReplaySource``
    /// per refusing stage (named ``replaySourceName(for:)``) as an input of that stage, then the
    /// refusing stages and everything downstream of them, in config order, each reading only
    /// stages of the new pipeline. A refusing source is replaced by its replay source (its
    /// consumers read that instead). Stages of `inventory` that are not in this pipeline are
    /// left out (the caller reports them).
    public func replaying(_ inventory: DeadLetterInventory) -> Pipeline {
        let refusing = inventory.replayable.map(\.stage).filter { stage(named: $0) != nil }
        let refusingSet = Set(refusing)
        let kept = refusingSet.union(downstream(of: refusingSet))
        var stages: [PipelineStage] = []
        for name in refusing {
            let replayName = Pipeline.replaySourceName(for: name)
            let options = StageOptions(name: replayName, type: "replay", kind: .source,
                                       values: ["path": .string(inventory.path), "stage": .string(name)],
                                       environment: environment)
            stages.append(PipelineStage(
                name: replayName, type: "replay", kind: .source, inputs: [], options: options,
                stage: .source(ReplaySource(path: inventory.path, limit: inventory.size, stage: name, input: inventory.input))))
        }
        for original in self.stages where kept.contains(original.name) && original.kind != .source {
            var stage = original
            var inputs: [String] = []
            for input in original.inputs {
                let name: String
                if refusingSet.contains(input), self.stage(named: input)?.kind == .source {
                    name = Pipeline.replaySourceName(for: input)
                } else if kept.contains(input) {
                    name = input
                } else {
                    continue
                }
                if !inputs.contains(name) { inputs.append(name) }
            }
            if refusingSet.contains(original.name) { inputs.append(Pipeline.replaySourceName(for: original.name)) }
            stage.inputs = inputs
            stages.append(stage)
        }
        return Pipeline(configFile: configFile, environment: environment, deadLetterPath: deadLetterPath,
                        stages: stages, tests: [])
    }
}

extension DeadLetter {
    /// Reads a letter back from one line of a dead-letter file.
    public init(line: String) throws(DeadLetterFormatError) {
        let value: Value
        do {
            value = try JSONReader.parse(line)
        } catch {
            throw DeadLetterFormatError("not JSON: \(error)")
        }
        guard case .object(let fields) = value else { throw DeadLetterFormatError("not a JSON object") }
        try self.init(json: fields)
    }
}
