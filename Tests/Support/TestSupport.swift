import Foundation
import SluiceCore

/// A fresh folder under the system's temporary directory, removed when the value is released.
public final class TemporaryDirectory: @unchecked Sendable {
    /// The folder's absolute path.
    public let path: String

    /// Creates the folder.
    public init(_ label: String = "sluice-test") {
        let base = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// The absolute path of `name` inside the folder.
    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Writes text to `name` (creating folders) and returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        try write(name, Data(text.utf8))
    }

    /// Writes bytes to `name` (creating folders) and returns its path.
    @discardableResult
    public func write(_ name: String, _ data: Data) throws -> String {
        let p = file(name)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: p))
        return p
    }
}

/// Runs stages directly, without a config, for unit tests of one stage.
public enum StageHarness {
    /// A build environment rooted at `directory`.
    public static func environment(_ directory: String) -> BuildEnvironment {
        BuildEnvironment(configFile: (directory as NSString).appendingPathComponent("test.yaml"),
                         baseDirectory: directory,
                         dataDirectory: (directory as NSString).appendingPathComponent(".sluice"),
                         defaultWorkers: 2)
    }

    /// Options for a stage, as the config loader would make them (values must already be
    /// normalized: absolute paths, lists for `string or [string]`).
    public static func options(_ values: Fields, type: String, kind: StageKind, name: String = "stage",
                               directory: String) -> StageOptions {
        StageOptions(name: name, type: type, kind: kind, values: values, environment: environment(directory))
    }

    /// Runs a source to its end; returns its records and dead letters.
    public static func collect(_ source: any Source, name: String = "source", batchSize: Int = 256) throws
        -> (records: [Record], deadLetters: [DeadLetter])
    {
        let letters = CollectingDeadLetterQueue()
        let box = RecordBox()
        let context = SourceContext(stage: StageContext(name: name, deadLetters: letters), batchSize: batchSize,
                                    send: { box.append($0) })
        try source.run(context)
        return (box.records, letters.letters)
    }

    /// Pushes records through one transform worker (in batches of `batchSize`) and calls finish.
    public static func apply(_ transform: any Transform, to records: [Record], name: String = "transform",
                             batchSize: Int = 256, dataDirectory: String = ".sluice") throws -> TransformOutput {
        let worker = try transform.makeWorker(StageContext(name: name, dataDirectory: dataDirectory))
        var all = TransformOutput(stage: name)
        var start = 0
        repeat {
            let batch = Array(records[start..<min(records.count, start + batchSize)])
            var out = TransformOutput(stage: name)
            try worker.process(batch, into: &out)
            merge(out, into: &all)
            // As in a run where every sink commits the batch: its state changes are made.
            for action in out.commitActions { try action() }
            start += batchSize
        } while start < records.count
        var out = TransformOutput(stage: name)
        try worker.finish(into: &out)
        merge(out, into: &all)
        for action in out.commitActions { try action() }
        return all
    }

    /// Writes records through a sink in batches, then closes it; returns its dead letters.
    public static func deliver(_ records: [Record], to sink: any Sink, name: String = "sink",
                               batchSize: Int = 256) throws -> [DeadLetter] {
        let letters = CollectingDeadLetterQueue()
        // State (a json sink's commit record) goes to a scratch folder, not the package's.
        let state = NSTemporaryDirectory() + "sluice-deliver-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: state) }
        let writer = try sink.makeWriter(StageContext(name: name, dataDirectory: state, deadLetters: letters))
        var start = 0
        while start < records.count {
            try writer.write(Array(records[start..<min(records.count, start + batchSize)]))
            start += batchSize
        }
        try writer.close()
        return letters.letters
    }

    static func merge(_ out: TransformOutput, into all: inout TransformOutput) {
        for r in out.records { all.emit(r) }
        for l in out.deadLetters { all.deadLetter(l) }
        for _ in 0..<out.dropped { all.drop(Record([:], origin: .synthetic("drop"))) }
    }

    /// Makes a record from fields.
    public static func record(_ fields: Fields, source: String = "test", line: Int? = nil) -> Record {
        Record(fields, origin: Origin(source: source, file: line == nil ? nil : "input.jsonl", line: line))
    }
}

/// A thread-safe list of records (sources may emit from their own thread).
final class RecordBox: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Record] = []
    func append(_ records: [Record]) { lock.lock(); storage += records; lock.unlock() }
    var records: [Record] { lock.lock(); defer { lock.unlock() }; return storage }
}

/// What a source hands on when checkpoints are in use: every batch with the checkpoints that
/// went out with it.
public final class DeliveryBox: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [(records: [Record], checkpoints: [InputCheckpoint])] = []
    /// Creates an empty box.
    public init() {}
    /// Keeps one delivered batch.
    public func append(_ records: [Record], _ checkpoints: [InputCheckpoint]) {
        lock.lock(); storage.append((records, checkpoints)); lock.unlock()
    }
    /// Every batch, in order.
    public var batches: [(records: [Record], checkpoints: [InputCheckpoint])] { lock.lock(); defer { lock.unlock() }; return storage }
    /// Every record, in order.
    public var records: [Record] { batches.flatMap(\.records) }
    /// The last checkpoint given for each input.
    public var last: [String: InputCheckpoint] {
        var out: [String: InputCheckpoint] = [:]
        for batch in batches { for cp in batch.checkpoints { out[cp.input] = cp } }
        return out
    }
}

/// Runs a source with checkpoints on (what earlier runs saved: `saved`) and keeps what it delivers.
public func readDelivering(_ source: any Source, saved: [InputCheckpoint] = [], baseEpoch: Int64 = 1, enabled: Bool = true,
                           batchSize: Int = 256) throws -> DeliveryBox {
    let box = DeliveryBox()
    let checkpoint = SourceCheckpoint(inputs: Dictionary(uniqueKeysWithValues: saved.map { ($0.input, $0) }),
                                      baseEpoch: baseEpoch, enabled: enabled)
    let context = SourceContext(stage: StageContext(name: "src"), batchSize: batchSize, checkpoint: checkpoint,
                                deliver: { box.append($0, $1) })
    try source.run(context)
    return box
}

/// A small deterministic random generator (SplitMix64), so that tests which draw numbers repeat.
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    /// Starts from `seed`.
    public init(seed: UInt64) { state = seed }
    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A number in `0..<n`.
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
