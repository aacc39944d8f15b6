import Foundation
import Logging
import Synchronization

/// Knobs of one run.
public struct RunOptions: Sendable {
    /// Records per batch that sources aim for.
    public var batchSize: Int = 256
    /// Batches each stage's input queue holds before its producers wait.
    public var channelCapacity: Int = 8
    /// How long a sink's input may stay idle before the sink flushes what it has.
    public var sinkIdleFlush: TimeInterval = 1.0
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
}

/// Runs a pipeline: one thread per source and sink, `workers` threads per transform, bounded
/// channels between them, batches flowing one way.
///
/// Threads rather than Swift tasks: Lua calls, SQLite writes and file reads block, and would
/// starve the cooperative pool's few threads (one per core).
public final class PipelineRunner: Sendable {
    /// The pipeline being run.
    public let pipeline: Pipeline
    /// The live counters, in pipeline order.
    public let metrics: [StageMetrics]
    private let options: RunOptions
    private let deadLetters: any DeadLetterQueue
    private let stopping = Atomic<Bool>(false)
    private let failure = Mutex<StageError?>(nil)
    private let channels: [String: BoundedChannel<[Record]>]
    private let sinksOpened: Barrier

    /// Prepares a run; nothing starts until ``run()``.
    public init(pipeline: Pipeline, options: RunOptions = RunOptions(), deadLetters: any DeadLetterQueue) {
        self.pipeline = pipeline
        self.options = options
        self.deadLetters = deadLetters
        self.metrics = pipeline.stages.map { StageMetrics(name: $0.name, kind: $0.kind, type: $0.type) }
        var channels: [String: BoundedChannel<[Record]>] = [:]
        for stage in pipeline.stages where stage.kind != .source {
            // Every input stage is one producer; the channel ends when all of them have finished.
            channels[stage.name] = BoundedChannel(capacity: options.channelCapacity, producers: stage.inputs.count)
        }
        self.channels = channels
        self.sinksOpened = Barrier(count: pipeline.stages.filter { $0.kind == .sink }.count)
    }

    /// Asks sources to stop reading; what is in flight is still processed and flushed.
    public func requestStop() { stopping.store(true, ordering: .relaxed) }

    /// Whether a stop was requested.
    public var isStopping: Bool { stopping.load(ordering: .relaxed) }

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
        let failed = failure.withLock { $0 }
        return RunResult(counts: metrics.map(\.snapshot), elapsed: Date().timeIntervalSince(start),
                         failure: failed, stopped: failed == nil && isStopping)
    }

    // MARK: - Plumbing

    private func context(_ stage: PipelineStage, _ metrics: StageMetrics, worker: Int = 0) -> StageContext {
        var logger = options.logger
        logger[metadataKey: "stage"] = .string(stage.name)
        return StageContext(name: stage.name, logger: logger, dataDirectory: pipeline.environment.dataDirectory,
                            workerIndex: worker, deadLetters: deadLetters, metrics: metrics)
    }

    private func consumers(of name: String) -> [BoundedChannel<[Record]>] {
        pipeline.consumers(of: name).compactMap { channels[$0] }
    }

    private func send(_ records: [Record], to outputs: [BoundedChannel<[Record]>]) throws {
        guard !records.isEmpty else { return }
        for channel in outputs { try channel.send(records) }
    }

    /// Records the first fatal error and tears the pipeline down.
    private func fail(_ stage: String, _ error: any Error) {
        let message: String
        if let e = error as? StageError { message = e.message } else { message = "\(error)" }
        let first = failure.withLock { current -> Bool in
            if current == nil { current = StageError(stage: stage, message: message); return true }
            return false
        }
        if first {
            // The caller reports the failure (the CLI prints it once as `error:`).
            options.logger.debug("stage '\(stage)' failed: \(message)")
            stopping.store(true, ordering: .relaxed)
            for channel in channels.values { channel.cancel() }
        }
    }

    private var failed: Bool { failure.withLock { $0 != nil } }

    // MARK: - Sources

    private func runSource(_ stage: PipelineStage, _ source: any Source, _ metrics: StageMetrics) {
        let outputs = consumers(of: stage.name)
        let context = SourceContext(stage: context(stage, metrics), batchSize: options.batchSize,
                                    send: { [self] batch in try send(batch, to: outputs) },
                                    isStopping: { [self] in isStopping })
        do {
            try source.run(context)
        } catch is PipelineStop {
            // The input ends here: a stop was requested or the pipeline failed elsewhere.
        } catch {
            fail(stage.name, error)
        }
        for channel in outputs { channel.finish() }
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
                    for output in exec.takeFinishOutputs() {
                        do { try send(output.records, to: outputs) } catch { break }
                    }
                }
                for channel in outputs { channel.finish() }
            }
        }
        guard let worker else { input.cancel(); return }

        while exec.waitForWindow(), case .element(let batch, let sequence) = input.receive(timeout: nil) {
            metrics.addIn(batch.count)
            var output = TransformOutput(stage: stage.name, capacity: batch.count)
            do {
                try worker.process(batch, into: &output)
            } catch {
                fail(stage.name, error)
                exec.abandon()
                return
            }
            account(output, metrics)
            do {
                if exec.ordered && exec.workers > 1 {
                    try exec.complete(sequence, output) { try send($0.records, to: outputs) }
                } else {
                    try send(output.records, to: outputs)
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
        // No sink takes a record before every sink has opened its destination: a sink that
        // cannot open fails the run before another one has replaced its previous output.
        sinksOpened.arrive()
        sinksOpened.wait()
        if failed {
            try? writer.abort()
            return
        }
        var dirty = false
        do {
            loop: while true {
                switch input.receive(timeout: dirty ? options.sinkIdleFlush : nil) {
                case .element(let batch, _):
                    metrics.addIn(batch.count)
                    let before = metrics.snapshot.deadLettered
                    try writer.write(batch)
                    metrics.addOut(batch.count - (metrics.snapshot.deadLettered - before))
                    dirty = true
                case .idle:
                    try writer.flush()
                    dirty = false
                case .end:
                    break loop
                }
            }
            if failed { try writer.abort() } else { try writer.close() }
        } catch {
            fail(stage.name, error)
            try? writer.close()
        }
    }
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
    private var pending: [Int: TransformOutput] = [:]
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
    func complete(_ sequence: Int, _ output: TransformOutput, send: (TransformOutput) throws -> Void) throws {
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
