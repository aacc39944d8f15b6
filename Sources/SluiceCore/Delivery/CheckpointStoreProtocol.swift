import Foundation

/// Where a pipeline keeps what its sources fully delivered, across runs.
///
/// The local implementation is ``SQLiteCheckpointStore`` (`<data_dir>/<pipeline>/state.db`); a
/// shared store (PostgreSQL, for runs spread over machines) implements the same protocol.
/// Every method is safe to call from any thread; ``save(_:)`` is atomic.
public protocol CheckpointStore: AnyObject, Sendable {
    /// What earlier runs delivered from `source`'s inputs.
    func load(source: String) throws -> SourceCheckpoint
    /// Saves checkpoints (source name, input) in one atomic step.
    func save(_ checkpoints: [(source: String, checkpoint: InputCheckpoint)]) throws
    /// Starts a `run --full`: every input is forgotten and the next versions of all inputs
    /// get a higher epoch than any delivered before, so sinks write them all again. The store
    /// remembers that a full run is under way until ``finishRun(_:)`` records a complete one.
    func startFullRun(sources: [String]) throws
    /// Whether a `run --full` started and has not completed yet (the next run continues it).
    func fullRunPending() throws -> Bool
    /// How many runs completed so far (the epoch of the aggregates the next run emits).
    func completedRuns() throws -> Int64
    /// Records the end of a run; a complete run also ends a pending full run.
    func finishRun(_ run: RunRecord) throws
    /// The last run recorded, if any.
    func lastRun() throws -> RunRecord?
    /// Every saved input checkpoint, by source.
    func allInputs() throws -> [String: [InputCheckpoint]]
    /// Forgets the checkpoints of `source` (its inputs are read again and written again), or
    /// of every source, which makes the next run a full one (file outputs start afresh).
    func reset(source: String?) throws
}

/// One run, as ``CheckpointStore/finishRun(_:)`` records it.
public struct RunRecord: Sendable, Equatable {
    /// When it started and ended.
    public var started: Date
    /// When it ended.
    public var finished: Date
    /// "complete", "interrupted", "failed".
    public var status: String
    /// Records read by the sources.
    public var read: Int64
    /// Records written by the sinks (each sink counted).
    public var delivered: Int64
    /// Dead letters written.
    public var deadLetters: Int64
    /// Whether it was a `--full` run.
    public var full: Bool

    /// Creates a run record.
    public init(started: Date, finished: Date, status: String, read: Int64, delivered: Int64, deadLetters: Int64,
                full: Bool) {
        self.started = started
        self.finished = finished
        self.status = status
        self.read = read
        self.delivered = delivered
        self.deadLetters = deadLetters
        self.full = full
    }
}

/// An error of the checkpoint store, with the file and SQLite's reason.
public struct CheckpointError: Error, CustomStringConvertible, Sendable {
    /// What went wrong.
    public var message: String
    /// The message.
    public var description: String { message }

    /// Creates an error with its message.
    public init(message: String) { self.message = message }
}
