import Foundation
import SluiceCore
import Synchronization

/// The acknowledgement of one source batch as it flows through the graph: a count of the
/// places that still hold a copy of it (or of what transforms made of it). Each consumer it is
/// sent to takes one; a transform passes its hold on to its outputs; a sink gives its hold back
/// once it has committed the batch. At zero the source's ``DeliveryTracker`` learns that the
/// batch is done.
///
/// Records dropped, filtered out or dead-lettered on the way simply end their hold: they count
/// as done.
final class BatchAck: Sendable {
    private let tracker: DeliveryTracker
    let sequence: Int
    private let outstanding = Atomic<Int>(1)

    init(tracker: DeliveryTracker, sequence: Int) {
        self.tracker = tracker
        self.sequence = sequence
    }

    /// Takes `n` more holds (one per extra consumer a copy is sent to).
    func retain(_ n: Int = 1) {
        guard n > 0 else { return }
        outstanding.add(n, ordering: .relaxed)
    }

    /// Gives one hold back; the last one tells the tracker.
    func release() {
        if outstanding.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            tracker.done(sequence)
        }
    }

    /// Runs `action` when the batch is done and the checkpoints before it are saved (a
    /// transform's state that must move with the checkpoint, such as dedupe keys).
    func attach(_ actions: [@Sendable () throws -> Void]) {
        tracker.attach(actions, to: sequence)
    }
}

/// Finalizes one source's batches in the order the source emitted them (Vector's
/// `OrderedFinalizer` is the model): when every batch up to some point is done, the
/// transforms' attached actions run and the source's checkpoints for those batches are saved,
/// in one step, in order. A batch done early waits for the ones before it.
final class DeliveryTracker: @unchecked Sendable {
    // @unchecked: all mutable state is guarded by `lock`, which every tracker of a run shares,
    // so that finalizing (and writing the store) is serialized across sources.
    private struct Entry {
        var progress: [InputCheckpoint]
        var actions: [@Sendable () throws -> Void] = []
        var done = false
    }

    let source: String
    private let lock: NSLock
    private let store: (any CheckpointStore)?
    /// The run's sinks' ledgers, told of every checkpoint saved (``DeliveryLedger/settle(source:checkpoints:)``).
    private let ledgers: [DeliveryLedger]
    private let onFailure: @Sendable (any Error) -> Void
    private var entries: [Int: Entry] = [:]
    private var nextSequence = 0
    private var nextToFinalize = 0
    private var failed = false

    init(source: String, lock: NSLock, store: (any CheckpointStore)?, ledgers: [DeliveryLedger] = [],
         onFailure: @escaping @Sendable (any Error) -> Void) {
        self.source = source
        self.lock = lock
        self.store = store
        self.ledgers = ledgers
        self.onFailure = onFailure
    }

    /// Registers the next batch with the checkpoints it reaches; the returned ack holds one count.
    func begin(progress: [InputCheckpoint]) -> BatchAck {
        lock.lock()
        defer { lock.unlock() }
        let sequence = nextSequence
        nextSequence += 1
        entries[sequence] = Entry(progress: progress)
        return BatchAck(tracker: self, sequence: sequence)
    }

    func attach(_ actions: [@Sendable () throws -> Void], to sequence: Int) {
        guard !actions.isEmpty else { return }
        lock.lock()
        entries[sequence]?.actions.append(contentsOf: actions)
        lock.unlock()
    }

    /// Marks a batch done and saves every checkpoint that is now complete in order.
    func done(_ sequence: Int) {
        lock.lock()
        defer { lock.unlock() }
        entries[sequence]?.done = true
        var latest: [String: InputCheckpoint] = [:]
        var order: [String] = []
        var actions: [@Sendable () throws -> Void] = []
        while let entry = entries[nextToFinalize], entry.done {
            entries.removeValue(forKey: nextToFinalize)
            nextToFinalize += 1
            actions.append(contentsOf: entry.actions)
            for cp in entry.progress {
                if latest[cp.input] == nil { order.append(cp.input) }
                latest[cp.input] = cp
            }
        }
        guard !failed, !(actions.isEmpty && latest.isEmpty) else { return }
        do {
            for action in actions { try action() }
            if let store, !latest.isEmpty {
                let saved = order.compactMap { latest[$0] }
                try store.save(saved.map { (source: source, checkpoint: $0) })
                for ledger in ledgers { ledger.settle(source: source, checkpoints: saved) }
            }
        } catch {
            // Nothing after this point is saved: the next run reads it again, and the sinks'
            // own positions keep it from being written twice.
            failed = true
            onFailure(error)
        }
    }
}
