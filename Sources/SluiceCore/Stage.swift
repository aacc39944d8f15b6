import OrderedCollections
import Foundation
import Logging
import Synchronization

// The three stage protocols. A stage is split in two on purpose:
//
// - the `Source` / `Transform` / `Sink` value is built from validated options when the config
//   loads. It is `Sendable` and cheap; it holds configuration, not open files or Lua states.
// - the runtime then calls it *on the thread that will run it* to open the working object
//   (`run`, `makeWorker`, `makeWriter`). That object is not `Sendable` and never leaves its
//   thread, which is what embedded interpreters and database handles need.
//
// Records move in batches (`[Record]`), never one call per record.

/// A stage that reads input and produces records.
public protocol Source: Sendable {
    /// Reads all input, handing records to `context.emit` in batches, until the input ends or
    /// `emit` throws ``PipelineStop``. Runs on a thread of its own; blocking I/O is fine.
    ///
    /// Bad input that affects one record or one file goes to `context.deadLetter`; throw only
    /// for errors that make the whole source unusable.
    func run(_ context: SourceContext) throws

    /// The files and databases the source uses (see ``StageResource``), each with the option
    /// that named it; default none. The one declaration serves every check: the config loader
    /// refuses clashes on it, `validate` warns when the files read match nothing, `sluice
    /// status` counts them, `run --watch` watches them.
    var resources: [StageResource] { get }
}

extension Source {
    /// No files declared.
    public var resources: [StageResource] { [] }
}

/// A stage that turns records into zero or more records each.
public protocol Transform: Sendable {
    /// How many workers (threads, each with its own ``TransformWorker``) run this stage.
    var workers: Int { get }
    /// Whether output must keep input order when `workers > 1`.
    var ordered: Bool { get }
    /// Opens one worker. Called on the worker's own thread; the worker never leaves it.
    func makeWorker(_ context: StageContext) throws -> any TransformWorker
    /// The files the transform uses (a rule script: `.reads(…, option: "script")`), which no
    /// sink may write and `run --watch` watches; default none.
    var resources: [StageResource] { get }
}

extension Transform {
    /// One worker by default.
    public var workers: Int { 1 }
    /// Ordered by default.
    public var ordered: Bool { true }
    /// No files declared.
    public var resources: [StageResource] { [] }
}

/// The per-thread working half of a ``Transform``.
public protocol TransformWorker: AnyObject {
    /// Processes one batch. Emit, drop or dead-letter each record through `output`; throw only
    /// for a fatal error that must stop the pipeline.
    func process(_ batch: [Record], into output: inout TransformOutput) throws
    /// Called once when the input has ended; may emit records (aggregates).
    func finish(into output: inout TransformOutput) throws
}

extension TransformWorker {
    /// Nothing to do at the end by default.
    public func finish(into output: inout TransformOutput) throws {}
}

/// A stage that delivers records somewhere.
public protocol Sink: Sendable {
    /// Opens the writer. Called on the sink's own thread.
    func makeWriter(_ context: StageContext) throws -> any SinkWriter

    /// Whether this sink rebuilds its output from scratch on every run (the sqlite sink's
    /// `mode: replace`): then every run of the pipeline must read all of its input, so the
    /// command line makes each run a full one. Default false.
    var rebuildsEachRun: Bool { get }

    /// What the sink uses that other stages may clash with (see ``StageResource``): the file
    /// it writes alone (`.writes(path)`: `validate` checks it can be written, the config loader
    /// refuses a second writer or a reader of it), or a database it shares with other stages
    /// through its locks (`.database(path, writes: true)`). Default none.
    var resources: [StageResource] { get }
}

extension Sink {
    /// Incremental by default.
    public var rebuildsEachRun: Bool { false }
    /// No file declared.
    public var resources: [StageResource] { [] }
}

/// The per-thread working half of a ``Sink``.
public protocol SinkWriter: AnyObject {
    /// Writes one batch. A record that cannot be written goes to `context.deadLetter`; throw
    /// only when the destination itself fails.
    func write(_ batch: [Record]) throws
    /// Makes everything written so far durable (commits the open transaction, flushes buffers).
    /// The runtime calls it when its input goes idle and at the end.
    func flush() throws
    /// Flushes and releases the destination. Called once, last.
    func close() throws
    /// Releases the destination after the pipeline failed elsewhere; called instead of
    /// ``close()``. A writer that has not written anything yet may leave the destination as it
    /// found it (the json sink does not empty the previous output). Defaults to ``close()``.
    func abort() throws
}

extension SinkWriter {
    /// Closes as usual.
    public func abort() throws { try close() }
}

/// Thrown by ``SourceContext/emit(_:)`` when the pipeline is stopping; a source should let it
/// propagate (its input simply ends there).
public struct PipelineStop: Error, Sendable {
    /// Creates the stop signal.
    public init() {}
}

/// What a stage's worker knows about its surroundings.
public final class StageContext: Sendable {
    /// The stage's name in the config.
    public let name: String
    /// A logger labelled with the stage's name.
    public let logger: Logger
    /// The folder for state (checkpoints, dedupe keys), created on demand by the stage.
    public let dataDirectory: String
    /// Which worker this is, from 0, for stages with several.
    public let workerIndex: Int
    /// The pipeline's name (its config file's name without the extension): sinks that keep
    /// delivery marks in a shared destination key them by it.
    public let pipeline: String
    /// For a sink: the positions it committed, which make its writes exactly once. The writer
    /// loads its saved marks into it when it opens and stores ``DeliveryLedger/pendingMarks``
    /// with every commit (see ``DeliveryLedger``).
    public let ledger: DeliveryLedger
    /// Whether this run re-ingests everything (`run --full`, or a full run that was
    /// interrupted and is being continued): file sinks start their output afresh.
    public let fullRun: Bool
    /// Whether this full run continues one that was interrupted: outputs already hold part of
    /// it (a sink that empties its output at the start of a run must not do it again).
    public let continuingFullRun: Bool
    let deadLetters: any DeadLetterQueue
    let metrics: StageMetrics?

    /// Creates a context; the runtime makes these, tests may too.
    public init(name: String, logger: Logger? = nil, dataDirectory: String = ".sluice", workerIndex: Int = 0,
                deadLetters: any DeadLetterQueue = DiscardingDeadLetterQueue(), metrics: StageMetrics? = nil,
                pipeline: String = "pipeline", ledger: DeliveryLedger = DeliveryLedger(), fullRun: Bool = false,
                continuingFullRun: Bool = false) {
        self.name = name
        self.logger = logger ?? Logger(label: "sluice.\(name)")
        self.dataDirectory = dataDirectory
        self.workerIndex = workerIndex
        self.deadLetters = deadLetters
        self.metrics = metrics
        self.pipeline = pipeline
        self.ledger = ledger
        self.fullRun = fullRun
        self.continuingFullRun = continuingFullRun
    }

    /// Sends a record (or raw input) to the dead letters with the reason, and counts it.
    public func deadLetter(_ letter: DeadLetter) {
        var letter = letter
        if letter.stage.isEmpty { letter.stage = name }
        metrics?.addDeadLettered(1)
        deadLetters.send(letter)
    }

    /// Sends a record that this stage could not handle to the dead letters.
    public func deadLetter(_ record: Record, error: String, details: Fields = [:]) {
        deadLetter(DeadLetter(stage: name, error: error, origin: record.origin, record: record.fields, details: details))
    }
}

/// What a source hands its records to.
public final class SourceContext: Sendable {
    /// The general stage context (name, logger, dead letters).
    public let stage: StageContext
    /// A good number of records per batch.
    public let batchSize: Int
    /// What earlier runs delivered from this source's inputs (``SourceCheckpoint/none`` when
    /// checkpoints are not in use): read only what is new or changed.
    public let checkpoint: SourceCheckpoint
    private let deliver: @Sendable ([Record], [InputCheckpoint]) throws -> Void
    private let stopping: @Sendable () -> Bool
    private let pending = Mutex<[InputCheckpoint]>([])

    /// Creates a context; the runtime makes these, tests may too.
    public convenience init(stage: StageContext, batchSize: Int = 256, checkpoint: SourceCheckpoint = .none,
                send: @escaping @Sendable ([Record]) throws -> Void,
                isStopping: @escaping @Sendable () -> Bool = { false }) {
        self.init(stage: stage, batchSize: batchSize, checkpoint: checkpoint,
                  deliver: { records, _ in try send(records) }, isStopping: isStopping)
    }

    /// Creates a context whose batches carry the checkpoints they reach.
    public init(stage: StageContext, batchSize: Int = 256, checkpoint: SourceCheckpoint,
                deliver: @escaping @Sendable ([Record], [InputCheckpoint]) throws -> Void,
                isStopping: @escaping @Sendable () -> Bool = { false }) {
        self.stage = stage
        self.batchSize = batchSize
        self.checkpoint = checkpoint
        self.deliver = deliver
        self.stopping = isStopping
    }

    /// The source's name (the key under `sources:`).
    public var name: String { stage.name }
    /// A logger labelled with the source's name.
    public var logger: Logger { stage.logger }

    /// Whether the pipeline is stopping (SIGINT/SIGTERM or a fatal error elsewhere).
    public var isStopping: Bool { stopping() }

    /// Says how far an input has been read: the checkpoint is saved once every record emitted
    /// so far, and the records of the batch this goes out with, are committed by every sink
    /// they reach. Call it after adding the input's records up to that point to the batch;
    /// it goes out with the next ``emit(_:)`` (an empty one is fine: an input that gave only
    /// dead letters still moves on).
    public func progress(_ checkpoint: InputCheckpoint) {
        pending.withLock { list in
            if let k = list.firstIndex(where: { $0.input == checkpoint.input }) {
                list[k] = checkpoint
            } else {
                list.append(checkpoint)
            }
        }
    }

    /// Hands a batch downstream, with the checkpoints given to ``progress(_:)`` since the last
    /// one. Blocks while downstream queues are full (backpressure).
    ///
    /// Throws ``PipelineStop`` when the pipeline is stopping: after handing the batch on when the
    /// stop is a soft one (SIGINT/SIGTERM: what was already read is still delivered, which
    /// matters for input that cannot be read again, such as standard input), and without
    /// delivering it when the pipeline failed.
    public func emit(_ records: [Record]) throws {
        let progress = pending.withLock { list -> [InputCheckpoint] in
            defer { list.removeAll() }
            return list
        }
        if !records.isEmpty || !progress.isEmpty {
            stage.metrics?.addOut(records.count)
            try deliver(records, progress)
        }
        if stopping() { throw PipelineStop() }
    }

    /// Sends raw input that could not become a record to the dead letters.
    public func deadLetter(raw: String?, error: String, origin: Origin, details: Fields = [:]) {
        stage.deadLetter(DeadLetter(stage: name, error: error, origin: origin, raw: raw, details: details))
    }

    /// Sends raw input bytes that could not become a record to the dead letters: kept as text
    /// when they are UTF-8, else written base64-encoded (`raw_base64`).
    public func deadLetter(rawBytes: some Collection<UInt8>, error: String, origin: Origin, details: Fields = [:]) {
        var letter = DeadLetter(stage: name, error: error, origin: origin, details: details)
        letter.setRaw(rawBytes)
        stage.deadLetter(letter)
    }
}

/// Collects what a transform worker makes of one batch.
public struct TransformOutput: Sendable {
    /// The records to pass on, in order.
    public private(set) var records: [Record] = []
    /// How many input records were dropped on purpose.
    public private(set) var dropped = 0
    /// Records that failed, with their reasons.
    public private(set) var deadLetters: [DeadLetter] = []
    /// State changes to make once the input batch is committed by every sink (see
    /// ``afterCommit(_:)``).
    public private(set) var commitActions: [@Sendable () throws -> Void] = []
    /// The stage's name, used for dead letters.
    public let stage: String

    /// Creates an empty output for `stage`.
    public init(stage: String, capacity: Int = 0) {
        self.stage = stage
        records.reserveCapacity(capacity)
    }

    /// Passes a record on.
    public mutating func emit(_ record: Record) { records.append(record) }

    /// Counts a record as dropped on purpose (a filter, a rule returning nil).
    public mutating func drop(_ record: Record) { dropped += 1 }

    /// Sends a record to the dead letters with the reason.
    public mutating func deadLetter(_ record: Record, error: String, details: Fields = [:]) {
        deadLetters.append(DeadLetter(stage: stage, error: error, origin: record.origin, record: record.fields, details: details))
    }

    /// Sends a prepared dead letter.
    public mutating func deadLetter(_ letter: DeadLetter) { deadLetters.append(letter) }

    /// Runs `action` once the input batch (and every batch its source emitted before it) has
    /// been committed by every sink it reaches, just before the source's checkpoint moves past
    /// it. State that must agree with the checkpoint goes here (the dedupe transform saves the
    /// keys it passed): saved earlier, a crash would make the next run drop records no sink
    /// has; saved later, it would let duplicates through. Actions run in the source's order;
    /// when one throws, the run fails and the checkpoint stays.
    public mutating func afterCommit(_ action: @escaping @Sendable () throws -> Void) { commitActions.append(action) }
}
