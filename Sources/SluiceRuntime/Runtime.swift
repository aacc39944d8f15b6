import Foundation
import Logging
import SluiceCore
import Synchronization

/// Knobs of one run.
public struct RunOptions: Sendable {
    /// Records per batch that sources aim for.
    public var batchSize: Int = 256
    /// Batches each stage's input queue holds before its producers wait.
    public var channelCapacity: Int = 8
    /// Bytes of record data (strings, numbers, keys; an estimate) each stage's input queue holds
    /// before its producers wait, whatever the number of batches: large records (4 KB articles)
    /// would otherwise fill eight 256-record batches with ~20 MB. Measured on 50,000 generated
    /// articles into sqlite + FTS: peak RSS 83 MB with the batch bound alone.
    public var channelBytes: Int = 4 << 20
    /// How long a sink's input may stay idle before the sink flushes what it has.
    public var sinkIdleFlush: TimeInterval = 1.0
    /// How often a busy sink commits (and so lets its sources' checkpoints move on).
    public var commitInterval: TimeInterval = 1.0
    /// Where the sources' checkpoints are kept; nil: no checkpoints (every input read whole).
    public var store: (any CheckpointStore)?
    /// Whether this run re-ingests everything (the CLI has already told the store); file sinks
    /// start their outputs afresh.
    public var fullRun = false
    /// Whether this full run continues one that was interrupted (its outputs hold part of it
    /// already): a sink that rebuilds its output each run must not empty it again.
    public var continuingFullRun = false
    /// The epoch of the records transforms emit at the end of their input (aggregates): the
    /// number of the run, so each complete run's aggregates are new to the sinks.
    public var aggregateEpoch: Int64 = 1
    /// At most this many records from each source (`run --limit`); the source's input then
    /// ends as if it were empty. Checkpoints stay before the records that were not read.
    public var limit: Int?
    /// The logger stages derive theirs from.
    public var logger = Logger(label: "sluice")

    /// Default options.
    public init() {}
}

/// How a run ended.
public struct RunResult: Sendable {
    /// The counters of every stage, in pipeline order.
    public var counts: [StageCounts]
    /// Wall-clock time.
    public var elapsed: TimeInterval
    /// The fatal error that stopped the run, if any.
    public var failure: StageError?
    /// Whether the run was stopped on request (SIGINT/SIGTERM) after a clean flush.
    public var stopped: Bool
    /// How many dead letters were written.
    public var deadLetters: Int {
        counts.reduce(0) { $0 + $1.deadLettered }
    }
    /// Records written by all sinks.
    public var delivered: Int {
        counts.filter { $0.kind == .sink }.reduce(0) { $0 + $1.emitted }
    }
    /// Records read by all sources.
    public var read: Int {
        counts.filter { $0.kind == .source }.reduce(0) { $0 + $1.emitted + $1.deadLettered }
    }
    /// Records the sinks skipped because an earlier (interrupted) run had committed them.
    public var skipped: Int {
        counts.filter { $0.kind == .sink }.reduce(0) { $0 + $1.dropped }
    }
}

/// The flags every thread of a run shares.
final class RunControl: Sendable {
    let stopping = Atomic<Bool>(false)
    let failure = Mutex<StageError?>(nil)
}

/// What flows through the channels: records, the acknowledgement of the source batch they came
/// from, and the route they took through fan-ins.
extension Record {
    /// Roughly the bytes the record's data takes: strings by their UTF-8 length, other scalars
    /// as 8, plus each key. What a channel's byte bound counts; not the exact heap use.
    var approximateBytes: Int { Self.approximateBytes(of: fields) }

    private static func approximateBytes(of fields: Fields) -> Int {
        var total = 0
        for (key, value) in fields { total += key.utf8.count + approximateBytes(of: value) }
        return total
    }

    private static func approximateBytes(of value: Value) -> Int {
        switch value {
        case .string(let s): return s.utf8.count
        case .array(let items): return items.reduce(8) { $0 + approximateBytes(of: $1) }
        case .object(let fields): return 8 + approximateBytes(of: fields)
        default: return 8
        }
    }
}

/// Records a sink has written, handed back to the source that made them so that they are freed
/// on the source's thread. Measured (job 1, perf): the sink thread is the busier of the two and
/// freeing records there was ~12 % of it (glibc frees into the arena of the thread that
/// allocated, under its lock); the source thread had time to spare.
final class RecordReturn: @unchecked Sendable {
    // @unchecked: `batches` is read and written only with `lock` held.
    private let lock = NSLock()
    private var batches: [[Record]] = []

    /// Hands written records back.
    func give(_ records: [Record]) {
        lock.lock()
        batches.append(records)
        lock.unlock()
    }

    /// Takes every batch handed back; the caller lets them go on its own thread.
    func take() -> [[Record]] {
        lock.lock()
        defer { lock.unlock() }
        guard !batches.isEmpty else { return [] }
        let taken = batches
        batches.removeAll(keepingCapacity: true)
        return taken
    }
}

struct Batch: Sendable {
    var records: [Record]
    var ack: BatchAck?
    var route: String
    /// Where a sink hands the records back once written (batches straight from a source).
    var returnTo: RecordReturn?
    /// False once the batch went through a transform whose workers do not keep order: its
    /// records may overtake each other, so sinks cannot skip by position (at least once).
    var ordered = true
}

/// Runs a pipeline: one thread per source and sink, `workers` threads per transform, bounded
/// channels between them, batches flowing one way.
///
/// Threads rather than Swift tasks: Lua calls, SQLite writes and file reads block, and would
/// starve the cooperative pool's few threads (one per core).
///
/// Delivery: each source batch carries a ``BatchAck``; sinks give it back after they commit,
/// and the source's ``DeliveryTracker`` saves its checkpoints in order once every batch up to
/// them is done. Before each write the runtime asks the sink's ``DeliveryLedger`` which records
/// it committed in an earlier run, so a run after a crash writes each record once.
public final class PipelineRunner: Sendable {
    /// The pipeline being run.
    public let pipeline: Pipeline
    /// The live counters, in pipeline order.
    public let metrics: [StageMetrics]
    private let options: RunOptions
    private let deadLetters: any DeadLetterQueue
    private let control = RunControl()
    private let channels: [String: BoundedChannel<Batch>]
    private let sinksOpened: Barrier
    private let trackers: [String: DeliveryTracker]
    private let ledgers: [String: DeliveryLedger]
    /// Actions of batches that no source acknowledges (aggregates): run after a clean end.
    private let lateActions = Mutex<[@Sendable () throws -> Void]>([])

    /// Prepares a run; nothing starts until ``run()``.
    public init(pipeline: Pipeline, options: RunOptions = RunOptions(), deadLetters: any DeadLetterQueue) {
        self.pipeline = pipeline
        self.options = options
        self.deadLetters = deadLetters
        self.metrics = pipeline.stages.map { StageMetrics(name: $0.name, kind: $0.kind, type: $0.type) }
        var channels: [String: BoundedChannel<Batch>] = [:]
        var ledgers: [String: DeliveryLedger] = [:]
        for stage in pipeline.stages where stage.kind != .source {
            // Every input stage is one producer; the channel ends when all of them have finished.
            channels[stage.name] = BoundedChannel(capacity: options.channelCapacity, producers: stage.inputs.count,
                                                     maxWeight: options.channelBytes)
            if stage.kind == .sink { ledgers[stage.name] = DeliveryLedger() }
        }
        self.channels = channels
        self.ledgers = ledgers
        self.sinksOpened = Barrier(count: pipeline.stages.filter { $0.kind == .sink }.count)
        let lock = NSLock()
        var trackers: [String: DeliveryTracker] = [:]
        let control = self.control
        let allChannels = channels
        for stage in pipeline.stages where stage.kind == .source {
            let name = stage.name
            trackers[name] = DeliveryTracker(source: name, lock: lock, store: options.store,
                                             ledgers: Array(ledgers.values)) { error in
                let first = control.failure.withLock { current -> Bool in
                    guard current == nil else { return false }
                    current = StageError(stage: name, message: "cannot save the checkpoint: \(error)")
                    return true
                }
                if first {
                    control.stopping.store(true, ordering: .relaxed)
                    for channel in allChannels.values { channel.cancel() }
                }
            }
        }
        self.trackers = trackers
    }

    /// Asks sources to stop reading; what is in flight is still processed and flushed.
    public func requestStop() { control.stopping.store(true, ordering: .relaxed) }

    /// Whether a stop was requested.
    public var isStopping: Bool { control.stopping.load(ordering: .relaxed) }

    /// Runs to the end of the input (or a stop, or a fatal error) and reports.
    public func run() -> RunResult {
        let start = Date()
        let threads = ThreadGroup()
        for (index, stage) in pipeline.stages.enumerated() {
            let metrics = self.metrics[index]
            switch stage.stage {
            case .source(let source):
                threads.spawn(name: "source:\(stage.name)") { self.runSource(stage, source, metrics) }
            case .transform(let transform):
                let exec = TransformExecution(workers: max(1, transform.workers), ordered: transform.ordered)
                for worker in 0..<exec.workers {
                    threads.spawn(name: "transform:\(stage.name)#\(worker)") {
                        self.runTransformWorker(stage, transform, worker, exec, metrics)
                    }
                }
            case .sink(let sink):
                threads.spawn(name: "sink:\(stage.name)") { self.runSink(stage, sink, metrics) }
            }
        }
        threads.wait()
        if !failed {
            for action in lateActions.withLock({ $0 }) {
                do { try action() } catch { fail("", error); break }
            }
        }
        let failed = control.failure.withLock { $0 }
        return RunResult(counts: metrics.map(\.snapshot), elapsed: Date().timeIntervalSince(start),
                         failure: failed, stopped: failed == nil && isStopping)
    }

    // MARK: - Plumbing

    private func context(_ stage: PipelineStage, _ metrics: StageMetrics, worker: Int = 0) -> StageContext {
        var logger = options.logger
        logger[metadataKey: "stage"] = .string(stage.name)
        return StageContext(name: stage.name, logger: logger, dataDirectory: pipeline.environment.dataDirectory,
                            workerIndex: worker, deadLetters: deadLetters, metrics: metrics,
                            pipeline: pipeline.name, ledger: ledgers[stage.name] ?? DeliveryLedger(),
                            fullRun: options.fullRun, continuingFullRun: options.continuingFullRun)
    }

    /// The channels of the stages that read `name`, each with the route its batches take: a
    /// consumer with several inputs records which one a batch came through.
    private func consumers(of name: String) -> [(channel: BoundedChannel<Batch>, fanIn: Bool)] {
        pipeline.consumers(of: name).compactMap { consumer in
            channels[consumer].map { ($0, (pipeline.stage(named: consumer)?.inputs.count ?? 1) > 1) }
        }
    }

    /// Sends records on to every consumer, each taking a hold on the ack. The caller keeps (and
    /// later gives back) its own hold. On a failure the holds are not given back: a batch that
    /// did not reach every sink must never let its checkpoint move.
    private func send(_ records: [Record], ack: BatchAck?, route: String, from: String, ordered: Bool = true,
                      returnTo: RecordReturn? = nil,
                      to outputs: [(channel: BoundedChannel<Batch>, fanIn: Bool)]) throws {
        guard !records.isEmpty, !outputs.isEmpty else { return }
        ack?.retain(outputs.count)
        let weight = records.reduce(0) { $0 + $1.approximateBytes }
        for output in outputs {
            let path = output.fanIn ? (route.isEmpty ? from : route + ">" + from) : route
            try output.channel.send(Batch(records: records, ack: ack, route: path, returnTo: returnTo, ordered: ordered),
                                    weight: weight)
        }
    }

    /// Records the first fatal error and tears the pipeline down.
    private func fail(_ stage: String, _ error: any Error) {
        let message: String
        if let e = error as? StageError { message = e.message } else { message = "\(error)" }
        let first = control.failure.withLock { current -> Bool in
            if current == nil { current = StageError(stage: stage, message: message); return true }
            return false
        }
        if first {
            // The caller reports the failure (the CLI prints it once as `error:`).
            options.logger.debug("stage '\(stage)' failed: \(message)")
            control.stopping.store(true, ordering: .relaxed)
            for channel in channels.values { channel.cancel() }
        }
    }

    private var failed: Bool { control.failure.withLock { $0 != nil } }

    // MARK: - Sources

    private func runSource(_ stage: PipelineStage, _ source: any Source, _ metrics: StageMetrics) {
        let outputs = consumers(of: stage.name)
        defer { for output in outputs { output.channel.finish() } }
        guard let tracker = trackers[stage.name] else { return }
        var checkpoint = SourceCheckpoint.none
        if let store = options.store {
            do {
                checkpoint = try store.load(source: stage.name)
            } catch {
                fail(stage.name, StageError(stage: stage.name, message: "cannot read the checkpoints: \(error)"))
                return
            }
        }
        let name = stage.name
        let returned = RecordReturn()
        defer { _ = returned.take() }
        let remaining = Atomic<Int>(options.limit ?? Int.max)
        // Busy time: the thread's time less the time spent handing batches on (backpressure).
        let started = monotonicNanoseconds()
        let waiting = Atomic<Int>(0)
        defer {
            let total = Int(clamping: monotonicNanoseconds() - started)
            metrics.addBusy(nanoseconds: UInt64(max(0, total - waiting.load(ordering: .relaxed))))
        }
        let context = SourceContext(
            stage: context(stage, metrics), batchSize: options.batchSize, checkpoint: checkpoint,
            deliver: { [self] records, progress in
                var records = records
                var progress = progress
                var reachedLimit = false
                if options.limit != nil {
                    let left = remaining.load(ordering: .relaxed)
                    if records.count >= left {
                        // The limit cuts this batch: its checkpoints would pass records that
                        // are not sent, so they are dropped (the next run reads on from before).
                        if records.count > left {
                            progress = []
                            metrics.addOut(left - records.count)   // counted as read before the cut
                        }
                        records = Array(records.prefix(left))
                        reachedLimit = true
                    }
                    remaining.subtract(records.count, ordering: .relaxed)
                }
                _ = returned.take()   // the records sinks wrote, freed here on the thread that made them
                let ack = tracker.begin(progress: progress)
                let sendStart = monotonicNanoseconds()
                defer { waiting.wrappingAdd(Int(clamping: monotonicNanoseconds() - sendStart), ordering: .relaxed) }
                try send(records, ack: ack, route: "", from: name, returnTo: returned, to: outputs)
                ack.release()
                if reachedLimit { throw PipelineStop() }
            },
            isStopping: { [self] in isStopping })
        do {
            try source.run(context)
            try context.emit([])   // checkpoints given after the last batch
        } catch is PipelineStop {
            // The input ends here: a stop was requested or the pipeline failed elsewhere.
        } catch {
            fail(stage.name, error)
        }
    }

    // MARK: - Transforms

    private func runTransformWorker(_ stage: PipelineStage, _ transform: any Transform, _ index: Int,
                                    _ exec: TransformExecution, _ metrics: StageMetrics) {
        let outputs = consumers(of: stage.name)
        guard let input = channels[stage.name] else { return }
        let context = context(stage, metrics, worker: index)
        var worker: (any TransformWorker)?
        do {
            worker = try transform.makeWorker(context)
        } catch {
            fail(stage.name, error)
        }
        defer {
            if exec.workerDone() {
                // The last worker out sends what `finish` produced, then ends the output.
                if !failed {
                    let epoch = options.aggregateEpoch
                    let input = "finish:" + stage.name
                    for output in exec.takeFinishOutputs() {
                        var records = output.records
                        for k in records.indices {
                            records[k].origin.position = Position(input: input, epoch: epoch, offset: 0)
                        }
                        if !output.commitActions.isEmpty { lateActions.withLock { $0.append(contentsOf: output.commitActions) } }
                        do { try send(records, ack: nil, route: "", from: stage.name, to: outputs) } catch { break }
                    }
                }
                for output in outputs { output.channel.finish() }
            }
        }
        guard let worker else { input.cancel(); return }

        while exec.waitForWindow(), case .element(let batch, let sequence) = input.receive(timeout: nil) {
            metrics.addIn(batch.records.count)
            var output = TransformOutput(stage: stage.name, capacity: batch.records.count)
            let processStart = monotonicNanoseconds()
            do {
                try worker.process(batch.records, into: &output)
                metrics.addBusy(nanoseconds: monotonicNanoseconds() - processStart)
            } catch {
                fail(stage.name, error)
                exec.abandon()
                return
            }
            account(output, metrics)
            if !output.commitActions.isEmpty {
                if let ack = batch.ack {
                    ack.attach(output.commitActions)
                } else {
                    lateActions.withLock { $0.append(contentsOf: output.commitActions) }
                }
            }
            let keepsOrder = batch.ordered && (exec.ordered || exec.workers == 1)
            let done = Completed(records: output.records, ack: batch.ack, route: batch.route, ordered: keepsOrder)
            do {
                if exec.ordered && exec.workers > 1 {
                    try exec.complete(sequence, done) { item in
                        try send(item.records, ack: item.ack, route: item.route, from: stage.name, ordered: item.ordered,
                                 to: outputs)
                        item.ack?.release()
                    }
                } else {
                    try send(done.records, ack: done.ack, route: done.route, from: stage.name, ordered: done.ordered,
                             to: outputs)
                    done.ack?.release()
                    exec.release()
                }
            } catch {
                exec.abandon()
                return
            }
        }
        exec.release()
        if failed { return }
        var output = TransformOutput(stage: stage.name)
        do {
            try worker.finish(into: &output)
        } catch {
            fail(stage.name, error)
            return
        }
        account(output, metrics)
        exec.addFinishOutput(output, worker: index)
    }

    private func account(_ output: TransformOutput, _ metrics: StageMetrics) {
        metrics.addOut(output.records.count)
        metrics.addDropped(output.dropped)
        if !output.deadLetters.isEmpty {
            metrics.addDeadLettered(output.deadLetters.count)
            for letter in output.deadLetters { deadLetters.send(letter) }
        }
    }

    // MARK: - Sinks

    private func runSink(_ stage: PipelineStage, _ sink: any Sink, _ metrics: StageMetrics) {
        guard let input = channels[stage.name] else { return }
        let context = context(stage, metrics)
        let writer: any SinkWriter
        do {
            writer = try sink.makeWriter(context)
        } catch {
            fail(stage.name, error)
            sinksOpened.arrive()
            input.cancel()
            return
        }
        // A writer that loaded all its marks (a file sink) drops those the saved checkpoints
        // cover: no run reads their records again.
        if let store = options.store, context.ledger.isEnabled {
            do {
                var views: [String: SourceCheckpoint] = [:]
                let dropped = try context.ledger.dropSettled { source, input in
                    if views[source] == nil { views[source] = try store.load(source: source) }
                    return try views[source]?[input]
                }
                if dropped > 0 { context.logger.debug("dropped \(dropped) delivery marks that saved checkpoints cover") }
            } catch {
                fail(stage.name, StageError(stage: stage.name,
                                            message: "cannot read the checkpoints whose inputs' delivery marks it may drop: \(error)"))
                try? writer.abort()
                sinksOpened.arrive()
                input.cancel()
                return
            }
        }
        // No sink takes a record before every sink has opened its destination: a sink that
        // cannot open fails the run before another one has replaced its previous output.
        sinksOpened.arrive()
        sinksOpened.wait()
        if failed {
            try? writer.abort()
            return
        }
        let ledger = context.ledger
        // Acknowledgements of the batches written since the last commit: given back only after
        // the commit, so that no checkpoint moves past a record that is not durable here.
        var held: [BatchAck] = []
        var dirty = false
        var lastCommit = Date()
        func commit() throws {
            let flushStart = monotonicNanoseconds()
            defer { metrics.addBusy(nanoseconds: monotonicNanoseconds() - flushStart) }
            try writer.flush()
            lastCommit = Date()
            dirty = false
            for ack in held { ack.release() }
            held.removeAll(keepingCapacity: true)
        }
        do {
            loop: while true {
                let wait = dirty ? max(0.01, min(options.sinkIdleFlush, options.commitInterval + lastCommit.timeIntervalSinceNow)) : nil
                switch input.receive(timeout: wait) {
                case .element(let batch, _):
                    metrics.addIn(batch.records.count)
                    let admitted = batch.ordered ? try ledger.admit(batch.records, route: batch.route) : batch.records
                    if admitted.count < batch.records.count { metrics.addDropped(batch.records.count - admitted.count) }
                    if !admitted.isEmpty {
                        let before = metrics.deadLetteredCount
                        let writeStart = monotonicNanoseconds()
                        defer { metrics.addBusy(nanoseconds: monotonicNanoseconds() - writeStart) }
                        try writer.write(admitted)
                        metrics.addOut(admitted.count - (metrics.deadLetteredCount - before))
                    }
                    batch.returnTo?.give(batch.records)
                    if let ack = batch.ack { held.append(ack) }
                    dirty = true
                    if -lastCommit.timeIntervalSinceNow >= options.commitInterval { try commit() }
                case .idle:
                    try commit()
                case .end:
                    break loop
                }
            }
            if failed {
                try writer.abort()
            } else {
                let closeStart = monotonicNanoseconds()
                try writer.close()
                metrics.addBusy(nanoseconds: monotonicNanoseconds() - closeStart)
                for ack in held { ack.release() }
                held.removeAll()
            }
        } catch {
            fail(stage.name, error)
            try? writer.abort()
        }
    }
}

/// A transform's result for one input batch, waiting for its turn when order is kept.
struct Completed: Sendable {
    var records: [Record]
    var ack: BatchAck?
    var route: String
    var ordered: Bool
}

/// The shared state of one transform's workers: the reorder buffer that keeps output in input
/// order, and the results of `finish`.
final class TransformExecution: @unchecked Sendable {
    // @unchecked: all mutable state is guarded by `condition`.
    let workers: Int
    let ordered: Bool
    private let condition = NSCondition()
    private let window: Int
    private var inFlight = 0
    private var pending: [Int: Completed] = [:]
    private var nextToSend = 0
    private var remaining: Int
    private var finishOutputs: [(Int, TransformOutput)] = []
    private var abandoned = false

    init(workers: Int, ordered: Bool) {
        self.workers = workers
        self.ordered = ordered
        self.window = workers * 2 + 2
        self.remaining = workers
    }

    /// Waits until the reorder buffer has room for one more batch, and takes the slot.
    /// Bounds memory when one slow batch holds back the ones after it.
    func waitForWindow() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while inFlight >= window && !abandoned { condition.wait() }
        if abandoned { return false }
        inFlight += 1
        return true
    }

    /// Gives back a slot that was not used for an ordered result.
    func release() {
        condition.lock()
        inFlight -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Files batch `sequence`'s result and sends every result that is now next in order.
    func complete(_ sequence: Int, _ output: Completed, send: (Completed) throws -> Void) throws {
        condition.lock()
        defer { condition.unlock() }
        pending[sequence] = output
        while let next = pending.removeValue(forKey: nextToSend) {
            try send(next)
            nextToSend += 1
            inFlight -= 1
        }
        condition.broadcast()
    }

    /// Wakes every worker for shutdown after a failure.
    func abandon() {
        condition.lock()
        abandoned = true
        condition.broadcast()
        condition.unlock()
    }

    func addFinishOutput(_ output: TransformOutput, worker: Int) {
        condition.lock()
        finishOutputs.append((worker, output))
        condition.unlock()
    }

    func takeFinishOutputs() -> [TransformOutput] {
        condition.lock()
        defer { condition.unlock() }
        return finishOutputs.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// Marks one worker as done; true for the last one.
    func workerDone() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        remaining -= 1
        return remaining == 0
    }
}

/// Lets threads wait until `count` of them have arrived.
final class Barrier: @unchecked Sendable {
    // @unchecked: `arrived` is only touched under `condition`.
    private let condition = NSCondition()
    private let count: Int
    private var arrived = 0

    init(count: Int) { self.count = count }

    /// Counts one thread in.
    func arrive() {
        condition.lock()
        arrived += 1
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until every thread has arrived.
    func wait() {
        condition.lock()
        while arrived < count { condition.wait() }
        condition.unlock()
    }
}

extension RunResult {
    /// Input bytes read by all sources (those that count them).
    public var bytesRead: Int64 {
        counts.filter { $0.kind == .source }.reduce(0) { $0 + $1.bytesRead }
    }
}
