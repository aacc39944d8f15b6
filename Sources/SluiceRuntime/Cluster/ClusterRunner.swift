import Foundation
import Logging
import SluiceCore
import Synchronization

/// Knobs of a cluster run.
public struct ClusterRunOptions: Sendable {
    /// The options of every unit's run. Its `store` must be the shared checkpoint store (every
    /// process of the cluster sees the same checkpoints); `fullRun` and `limit` are not used.
    public var run = RunOptions()
    /// How long a claim lasts without a heartbeat; a process renews its claims every third of it.
    public var lease: TimeInterval = 30
    /// About how many bytes (or rows) one unit holds.
    public var unitSize: Int64 = 32 << 20
    /// This process.
    public var holder = UnitHolder.current
    /// How long to wait before asking again when every unit left is held by another process.
    public var pollInterval: TimeInterval = 1
    /// How many times a unit whose run fails is run before the process gives up (with the error).
    public var attempts = 3

    /// Default options.
    public init() {}
}

/// How this process's share of a cluster run ended.
public struct ClusterRunResult: Sendable {
    /// The counters of every stage, summed over the units this process ran, in pipeline order.
    public var counts: [StageCounts]
    /// Wall-clock time.
    public var elapsed: TimeInterval
    /// The fatal error that stopped this process, if any.
    public var failure: StageError?
    /// Whether it was stopped on request (SIGINT/SIGTERM).
    public var stopped: Bool
    /// The generation (cluster run) worked on.
    public var generation: Int64
    /// Units this process completed.
    public var units: Int
    /// Units it completed but had lost to another process meanwhile (its lease ran out).
    public var lostUnits: Int

    /// As a single run's result (for the summary table).
    public var asRunResult: RunResult {
        RunResult(counts: counts, elapsed: elapsed, failure: failure, stopped: stopped)
    }
}

/// Runs this process's share of a pipeline's cluster run: opens (or joins) the generation,
/// then claims a unit, runs it, and completes it once every sink committed its records, until
/// no unit is left. A heartbeat thread renews the lease of the unit being run.
///
/// Each unit runs as a pipeline run of its own in which the unit's source reads only that unit
/// (the other sources read nothing). Its sinks open afresh, so a sink that keeps delivery marks
/// (the `postgres` sink's) loads the marks a dead process committed for a unit taken over from
/// it, and skips those records. The unit is complete when the delivery machinery finalizes its
/// last batch: the source's last checkpoint of the unit is saved only once every sink committed
/// every record before it.
public final class ClusterRunner: Sendable {
    /// The pipeline.
    public let pipeline: Pipeline
    private let coordinator: any WorkCoordinator
    private let options: ClusterRunOptions
    private let deadLetters: any DeadLetterQueue
    private let stopping = Atomic<Bool>(false)
    private let current = Mutex<PipelineRunner?>(nil)
    /// Records read by the units finished so far, plus the running unit's (for heartbeats).
    private let finishedRecords = Atomic<Int>(0)

    /// Prepares a cluster run; nothing starts until ``run()``.
    public init(pipeline: Pipeline, coordinator: any WorkCoordinator, options: ClusterRunOptions,
                deadLetters: any DeadLetterQueue) {
        self.pipeline = pipeline
        self.coordinator = coordinator
        self.options = options
        self.deadLetters = deadLetters
    }

    /// The sources that cannot be split into units (a cluster run refuses them).
    public static func unsplittableSources(of pipeline: Pipeline) -> [PipelineStage] {
        pipeline.stages.filter { stage in
            guard case .source(let source) = stage.stage else { return false }
            return !(source is any SplittableSource)
        }
    }

    /// Asks this process to stop: the running unit flushes what it read and is given back.
    public func requestStop() {
        stopping.store(true, ordering: .relaxed)
        current.withLock { $0?.requestStop() }
    }

    /// Registers the generation's units (the first process does), then runs units to the end.
    public func run() -> ClusterRunResult {
        let start = Date()
        var counts = pipeline.stages.map {
            StageCounts(name: $0.name, kind: $0.kind, type: $0.type, received: 0, emitted: 0, dropped: 0, deadLettered: 0)
        }
        var result = ClusterRunResult(counts: counts, elapsed: 0, failure: nil, stopped: false, generation: 0, units: 0,
                                      lostUnits: 0)
        func finish(_ failure: StageError?) -> ClusterRunResult {
            result.counts = counts
            result.elapsed = Date().timeIntervalSince(start)
            result.failure = failure
            result.stopped = failure == nil && stopping.load(ordering: .relaxed)
            return result
        }
        if let bad = Self.unsplittableSources(of: pipeline).first {
            return finish(StageError(stage: bad.name, message: "a \(bad.type) source cannot be split into work units, "
                                     + "so it cannot take part in a cluster run (json, text_articles and sqlite can)"))
        }
        guard let store = options.run.store else {
            return finish(StageError(stage: "", message: "a cluster run needs a shared checkpoint store"))
        }
        let generation: Int64
        do {
            generation = try coordinator.openGeneration { previous in try listUnits(store: store, previous: previous) }
        } catch {
            return finish(StageError(stage: "", message: "cannot register the work units: \(error)"))
        }
        result.generation = generation
        options.run.logger.info("cluster run \(generation): \(options.holder) joins")

        let heldUnit = Mutex<ClaimedUnit?>(nil)
        let heartbeat = Heartbeat(interval: max(0.2, options.lease / 3)) { [self] in
            let live = current.withLock { runner in
                runner?.metrics.filter { $0.kind == .source }.reduce(0) { $0 + $1.snapshot.emitted } ?? 0
            }
            let held = heldUnit.withLock { $0 }
            do {
                let lost = try coordinator.renew(generation: generation, holder: options.holder, lease: options.lease,
                                                 records: Int64(finishedRecords.load(ordering: .relaxed) + live),
                                                 held: held.map { [$0.unit.id] } ?? [])
                if let held, lost.contains(held.unit.id) {
                    options.run.logger.warning("lost the lease of unit \(held.unit.id) to another process: stopping it")
                    current.withLock { $0?.requestStop() }
                }
            } catch {
                options.run.logger.warning("cannot renew the lease: \(error)")
            }
        }
        heartbeat.start()
        defer { heartbeat.stop() }

        while !stopping.load(ordering: .relaxed) {
            let claimed: ClaimedUnit?
            do {
                claimed = try coordinator.claim(generation: generation, holder: options.holder, lease: options.lease)
            } catch {
                return finish(StageError(stage: "", message: "cannot claim a work unit: \(error)"))
            }
            guard let claimed else {
                // Nothing free: done when every unit is done, else wait for the units others
                // hold (a dead process's lease runs out and its unit becomes claimable).
                do {
                    if try coordinator.isFinished(generation: generation) { break }
                } catch {
                    return finish(StageError(stage: "", message: "cannot read the cluster status: \(error)"))
                }
                Thread.sleep(forTimeInterval: options.pollInterval)
                continue
            }
            heldUnit.withLock { $0 = claimed }
            var outcome = runUnit(claimed.unit, store: store)
            // A unit whose run failed is tried again before the process gives up: a transient
            // failure (a dropped connection, two processes creating one table) must not end the
            // process. Safe: sinks skip what the failed attempt committed, as after a crash.
            var attempt = 1
            while let failure = outcome.result.failure, attempt < options.attempts, !stopping.load(ordering: .relaxed) {
                options.run.logger.warning("unit \(claimed.unit.id) failed (\(failure.message)); trying it again")
                add(outcome.result, to: &counts)
                Thread.sleep(forTimeInterval: 0.5 * Double(attempt))
                attempt += 1
                outcome = runUnit(claimed.unit, store: store)
            }
            heldUnit.withLock { $0 = nil }
            add(outcome.result, to: &counts)
            let read = outcome.result.read
            finishedRecords.add(read, ordering: .relaxed)
            if let failure = outcome.result.failure {
                try? coordinator.release(claimed, holder: options.holder)
                return finish(StageError(stage: failure.stage, message: "unit \(claimed.unit.id): \(failure.message)"))
            }
            guard outcome.completed else {
                // Stopped before the unit's end: give it back for another process.
                try? coordinator.release(claimed, holder: options.holder)
                break
            }
            do {
                if try coordinator.complete(claimed, holder: options.holder, records: Int64(read)) {
                    result.units += 1
                } else {
                    result.lostUnits += 1
                    options.run.logger.warning("unit \(claimed.unit.id) was taken over by another process before it completed here")
                }
            } catch {
                return finish(StageError(stage: "", message: "cannot mark unit \(claimed.unit.id) done: \(error)"))
            }
            options.run.logger.debug("unit \(claimed.unit.id): \(read) records")
        }
        return finish(nil)
    }

    /// Adds one unit run's counters to the process's.
    private func add(_ result: RunResult, to counts: inout [StageCounts]) {
        for k in counts.indices where k < result.counts.count { counts[k].add(result.counts[k]) }
    }

    /// Saves the roll-up checkpoints of the generation before, then lists every source's units.
    private func listUnits(store: any CheckpointStore, previous: [WorkUnit]) throws -> [WorkUnit] {
        var rollups: [String: (source: String, checkpoint: InputCheckpoint)] = [:]
        var baseEpochs: [String: Int64] = [:]
        for unit in previous {
            guard let rollup = unit.rollup else { continue }
            // A `reset` (or a full run) since that generation raised the source's base epoch
            // above the roll-up's: what it says was forgotten on purpose, do not bring it back.
            let base: Int64
            if let known = baseEpochs[unit.source] {
                base = known
            } else {
                base = try store.load(source: unit.source).baseEpoch
                baseEpochs[unit.source] = base
            }
            guard rollup.epoch >= base else { continue }
            rollups[unit.source + "\u{0}" + rollup.input] = (unit.source, rollup)
        }
        if !rollups.isEmpty { try store.save(rollups.keys.sorted().compactMap { rollups[$0] }) }
        var units: [WorkUnit] = []
        for stage in pipeline.stages {
            guard case .source(let source) = stage.stage, let splittable = source as? any SplittableSource else { continue }
            let listing = UnitListing(source: stage.name, checkpoint: try store.load(source: stage.name),
                                      targetSize: options.unitSize)
            units += try splittable.workUnits(listing)
        }
        return units
    }

    /// Runs one unit as a pipeline run of its own; `completed` when its last checkpoint was saved.
    private func runUnit(_ unit: WorkUnit, store: any CheckpointStore) -> (result: RunResult, completed: Bool) {
        var unitPipeline = pipeline
        for k in unitPipeline.stages.indices {
            guard case .source(let source) = unitPipeline.stages[k].stage else { continue }
            if unitPipeline.stages[k].name == unit.source, let splittable = source as? any SplittableSource {
                unitPipeline.stages[k].stage = .source(UnitSource(base: splittable, unit: unit))
            } else {
                unitPipeline.stages[k].stage = .source(NoInputSource())
            }
        }
        let unitStore = UnitCheckpointStore(base: store, marker: UnitSource.marker(unit))
        var runOptions = options.run
        runOptions.store = unitStore
        runOptions.fullRun = false
        runOptions.limit = nil
        // Aggregates (`finish` outputs) are per unit: each unit's are new to the sinks.
        runOptions.aggregateEpoch = Int64(Date().timeIntervalSince1970 * 1000)
        let runner = PipelineRunner(pipeline: unitPipeline, options: runOptions, deadLetters: deadLetters)
        current.withLock { $0 = runner }
        if stopping.load(ordering: .relaxed) { runner.requestStop() }
        let result = runner.run()
        current.withLock { $0 = nil }
        return (result, unitStore.completed && result.failure == nil)
    }
}

/// The source of one unit's run: the real source reading only that unit, then the marker
/// checkpoint that tells the unit is done once it is saved.
struct UnitSource: Source {
    let base: any SplittableSource
    let unit: WorkUnit

    static func marker(_ unit: WorkUnit) -> String { "\u{1}unit:" + unit.id }

    func run(_ context: SourceContext) throws {
        try base.run(unit: unit, context)
        context.progress(InputCheckpoint(input: Self.marker(unit), epoch: 0, complete: true))
    }
}

/// A source with nothing to read (the other sources of a unit's run).
struct NoInputSource: Source {
    func run(_ context: SourceContext) throws {}
}

/// The shared store, seen by one unit's run: the unit's marker checkpoint is not saved but
/// noted (the unit is done: every batch before it was committed by every sink).
final class UnitCheckpointStore: CheckpointStore, Sendable {
    private let base: any CheckpointStore
    private let marker: String
    private let seen = Atomic<Bool>(false)

    init(base: any CheckpointStore, marker: String) {
        self.base = base
        self.marker = marker
    }

    var completed: Bool { seen.load(ordering: .relaxed) }

    func load(source: String) throws -> SourceCheckpoint { try base.load(source: source) }
    func save(_ checkpoints: [(source: String, checkpoint: InputCheckpoint)]) throws {
        var rest = checkpoints
        rest.removeAll { $0.checkpoint.input.hasPrefix("\u{1}unit:") }
        try base.save(rest)
        if rest.count < checkpoints.count && checkpoints.contains(where: { $0.checkpoint.input == marker }) {
            seen.store(true, ordering: .relaxed)
        }
    }
    func startFullRun(sources: [String]) throws {}
    func fullRunPending() throws -> Bool { false }
    func completedRuns() throws -> Int64 { try base.completedRuns() }
    func finishRun(_ run: RunRecord) throws {}
    func lastRun() throws -> RunRecord? { try base.lastRun() }
    func allInputs() throws -> [String: [InputCheckpoint]] { try base.allInputs() }
    func reset(source: String?) throws {}
}

/// Calls `beat` every `interval` seconds on a thread of its own until stopped.
final class Heartbeat: Sendable {
    private let interval: TimeInterval
    private let beat: @Sendable () -> Void
    private let done = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let wake = NSCondition()

    init(interval: TimeInterval, beat: @escaping @Sendable () -> Void) {
        self.interval = interval
        self.beat = beat
    }

    func start() {
        let thread = Thread { [self] in
            while !done.load(ordering: .relaxed) {
                wake.lock()
                if !done.load(ordering: .relaxed) { _ = wake.wait(until: Date(timeIntervalSinceNow: interval)) }
                wake.unlock()
                if done.load(ordering: .relaxed) { break }
                beat()
            }
            finished.signal()
        }
        thread.name = "cluster-heartbeat"
        thread.start()
    }

    /// Stops the thread, then beats once more (the last counts reach the coordinator).
    func stop() {
        wake.lock()
        done.store(true, ordering: .relaxed)
        wake.broadcast()
        wake.unlock()
        finished.wait()
        beat()
    }
}
