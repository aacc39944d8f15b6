/// A sink's record of the highest position it committed, per source input and route: what makes
/// its writes exactly once.
///
/// After a crash the sources read again from their last checkpoint, which may be behind what a
/// sink had already committed. The sink keeps, in the same transaction as its rows (or, for a
/// file, in the same commit step as its length), one ``Mark`` per ``Key``; on the next run the
/// runtime asks ``admit(_:route:)`` before each batch and the records at or below the mark are
/// skipped. Inside one input, records arrive in position order (sources read in order,
/// transforms keep order), and the records that share a position (several outputs of one input
/// record) are counted, so "the third record at offset 120" is the same record on every run of
/// a deterministic rule.
///
/// The life of a ledger: the writer calls ``load(_:)`` when it opens (a writer that never
/// calls it is at-least-once); the runtime calls ``admit(_:route:)`` before each `write`; the
/// writer stores ``pendingMarks`` with every commit and then calls ``committed()``. Used on the
/// sink's thread only.
public final class DeliveryLedger: @unchecked Sendable {
    // @unchecked: created by the runtime, then used only on the sink's own thread.

    /// What a mark is kept for: one input of one source, reached through one route of the graph.
    public struct Key: Hashable, Sendable {
        /// The source stage (``Origin/source``).
        public var source: String
        /// The input inside the source (``Position/input``).
        public var input: String
        /// The path through fan-ins, "" on a straight line (records of one input that reach the
        /// sink through two branches are ordered per branch, not across them).
        public var route: String

        /// Creates a key.
        public init(source: String, input: String, route: String) {
            self.source = source
            self.input = input
            self.route = route
        }
    }

    /// The last record committed for a key: its epoch and offset, and how many records at that
    /// offset were committed.
    public struct Mark: Sendable, Equatable, Comparable {
        /// The input version.
        public var epoch: Int64
        /// The offset inside it.
        public var offset: Int64
        /// Records at this offset committed.
        public var count: Int64

        /// Creates a mark.
        public init(epoch: Int64, offset: Int64, count: Int64) {
            self.epoch = epoch
            self.offset = offset
            self.count = count
        }

        public static func < (a: Mark, b: Mark) -> Bool {
            (a.epoch, a.offset, a.count) < (b.epoch, b.offset, b.count)
        }
    }

    private var committedMarks: [Key: Mark] = [:]
    private var current: [Key: Mark] = [:]
    private var dirty: Set<Key> = []
    /// Whether the writer loaded its marks (exactly once) or not (at least once).
    public private(set) var isEnabled = false
    /// Records skipped in this run because the sink had committed them before.
    public private(set) var skipped = 0

    /// Creates an empty ledger.
    public init() {}

    /// Gives the ledger the marks the sink committed before; from now on it filters batches.
    public func load(_ marks: [Key: Mark]) {
        committedMarks = marks
        isEnabled = true
    }

    /// The records of `batch` that the sink has not committed before; advances the marks.
    ///
    /// Hot path (every record a sink receives): the mark being advanced and the committed one
    /// it is compared with stay in locals while consecutive records share a key (the usual
    /// case: one input after another), so a batch costs a few dictionary operations, not
    /// several per record; the batch is copied only when something is skipped.
    public func admit(_ batch: [Record], route: String) -> [Record] {
        guard isEnabled else { return batch }
        var out: [Record]?
        var key: Key?
        var mark = Mark(epoch: Int64.min, offset: Int64.min, count: 0)
        var done: Mark?
        func store() {
            guard let key else { return }
            current[key] = mark
            dirty.insert(key)
        }
        for (index, record) in batch.enumerated() {
            guard let position = record.origin.position else {
                out?.append(record)
                continue
            }
            if let k = key, k.input == position.input, k.source == record.origin.source {
                // Same key as the record before.
            } else {
                store()
                let next = Key(source: record.origin.source, input: position.input, route: route)
                key = next
                mark = current[next] ?? Mark(epoch: Int64.min, offset: Int64.min, count: 0)
                done = committedMarks[next]
            }
            if mark.epoch == position.epoch && mark.offset == position.offset {
                mark.count += 1
            } else {
                mark = Mark(epoch: position.epoch, offset: position.offset, count: 1)
            }
            if let done, mark <= done {
                if out == nil { out = Array(batch[..<index]) }
                skipped += 1
            } else {
                out?.append(record)
            }
        }
        store()
        return out ?? batch
    }

    /// The marks that changed since the last commit: store them with the rows.
    public var pendingMarks: [Key: Mark] {
        var out: [Key: Mark] = [:]
        for key in dirty { if let mark = current[key] { out[key] = mark } }
        return out
    }

    /// Every mark: what was committed before this run, advanced by this run.
    public var allMarks: [Key: Mark] {
        committedMarks.merging(current) { old, new in max(old, new) }
    }

    /// The mark committed for `key` as far as this writer knows: loaded at open, or committed by
    /// it since. A shared sink compares it with the stored mark before committing, to find out
    /// whether another process delivered the same input meanwhile (a lost lease in a cluster run).
    public func committedMark(for key: Key) -> Mark? {
        committedMarks[key]
    }

    /// The pending marks are now committed.
    public func committed() {
        for key in dirty { if let mark = current[key] { committedMarks[key] = max(committedMarks[key] ?? mark, mark) } }
        dirty.removeAll(keepingCapacity: true)
    }
}
