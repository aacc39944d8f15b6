import Synchronization

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
/// The life of a ledger: the writer calls ``load(from:)`` (or ``load(_:)``) when it opens (a
/// writer that never calls either is at-least-once); the runtime calls ``admit(_:route:)``
/// before each `write`; the writer stores ``pendingMarks`` with every commit and then calls
/// ``committed()``. Used on the sink's thread only.
///
/// Memory: a writer that keeps its marks where it can look them up one key at a time (a table)
/// gives the ledger a ``DeliveryMarkStore`` with ``load(from:)``; the ledger then reads the
/// marks of the keys it meets, batch by batch, and forgets them once they are committed, so it
/// holds the marks of one transaction's inputs whatever the number of inputs a run reads (the
/// SPEC: memory does not grow with the input). ``load(_:)`` keeps every mark in memory, for a
/// writer that stores them all at once (a file); such a ledger drops the marks that saved source
/// checkpoints cover (``settle(source:checkpoints:)``, ``dropSettled(_:)``), which no run reads
/// again, so that it holds the marks of the inputs in flight, not of every input ever written.
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

    /// Where a key's marks are kept: its input, and its source and route as a number (a run has
    /// a handful of source/route pairs and up to millions of inputs).
    private struct Slot: Hashable {
        var input: String
        var group: Int32
    }

    /// The marks of one key: committed (loaded, or committed by this writer since) and reached
    /// in this run, ``Mark/none`` when there is none. One table for both, with a compact key:
    /// measured on 50,000 articles (one input each) the two `[Key: Mark]` tables it replaces
    /// held ~12 MB of a 88 MB peak.
    private struct Marks {
        var committed: Mark
        var current: Mark
    }

    /// Each slot's number in ``entries``. The 48-byte marks live in an array rather than in the
    /// dictionary's buckets: a dictionary keeps a quarter to a half of its buckets empty (and
    /// both tables while it grows), and each bucket held a slot and its marks, 72 bytes. Measured
    /// on 50,000 articles into sqlite (massif): 9.4 MB for the table, 14.2 MB while it grew.
    private var slots: [Slot: Int32] = [:]
    /// The marks, by slot number.
    private var entries: [Marks] = []
    private var groupNumbers: [GroupName: Int32] = [:]
    private var groupNames: [GroupName] = []
    private var dirty: Set<Slot> = []
    /// Where the committed marks are read from, key by key, after ``load(from:)``; nil after
    /// ``load(_:)``, which gave them all. Weak: the store is the writer, which owns the ledger's
    /// context.
    private weak var store: (any DeliveryMarkStore)?
    /// Whether the marks come from ``store`` (and are forgotten once committed).
    private var readsStore = false
    /// The slot each group (source and route) advanced last: kept when the others are
    /// forgotten, since its input's records may go on at the same offset in the next batch
    /// (several outputs of one input record), which only its current mark can count on.
    private var lastSlots: [Int32: Slot] = [:]
    /// How many marks a ledger that reads its store keeps after a commit before it forgets them.
    private let retained: Int
    /// Source checkpoints saved since the last commit, handed over from the thread that saved
    /// them (``settle(source:checkpoints:)``); taken on the sink's thread by ``committed()``.
    private let settledInbox = Mutex<SettledInbox>(SettledInbox())

    private struct SettledInbox: Sendable {
        /// Whether the ledger holds its marks in memory (``load(_:)``) and so takes them.
        var accepts = false
        /// The sources the ledger has marks of (the checkpoints of others cover none of them).
        var sources: Set<String> = []
        var checkpoints: [(source: String, checkpoint: InputCheckpoint)] = []
    }
    /// Whether ``dropSettled(_:)`` dropped marks since the last commit: a writer that stores all
    /// its marks at once stores them again then, even with no new ones.
    public private(set) var droppedMarks = false
    /// Whether the writer loaded its marks (exactly once) or not (at least once).
    public private(set) var isEnabled = false
    /// Records skipped in this run because the sink had committed them before.
    public private(set) var skipped = 0

    private struct GroupName: Hashable {
        var source: String
        var route: String
    }

    /// Creates an empty ledger. After a commit, a ledger that reads its marks from a store
    /// (``load(from:)``) forgets them once it holds more than `retaining` (the last key of each
    /// source and route stays): a run that reads a few inputs again and again looks none up twice.
    public init(retaining: Int = 1_000) {
        retained = max(0, retaining)
    }

    private func group(source: String, route: String) -> Int32 {
        let name = GroupName(source: source, route: route)
        if let number = groupNumbers[name] { return number }
        let number = Int32(groupNames.count)
        groupNumbers[name] = number
        groupNames.append(name)
        settledInbox.withLock { _ = $0.sources.insert(source) }
        return number
    }

    private func slot(_ key: Key) -> Slot {
        Slot(input: key.input, group: group(source: key.source, route: key.route))
    }

    /// The slot of `key` when its source and route were seen, without numbering new ones.
    private func existingSlot(_ key: Key) -> Slot? {
        groupNumbers[GroupName(source: key.source, route: key.route)].map { Slot(input: key.input, group: $0) }
    }

    private func key(_ slot: Slot) -> Key {
        let name = groupNames[Int(slot.group)]
        return Key(source: name.source, input: slot.input, route: name.route)
    }

    /// Gives the ledger every mark the sink committed before, all kept in memory; from now on it
    /// filters batches. For a writer that stores its marks all at once (see ``allMarks``).
    public func load(_ loaded: [Key: Mark]) {
        forgetAll()
        store = nil
        readsStore = false
        settledInbox.withLock { $0 = SettledInbox(accepts: true, sources: Set(loaded.keys.map(\.source))) }
        slots.reserveCapacity(loaded.count)
        entries.reserveCapacity(loaded.count)
        for (key, mark) in loaded {
            let slot = slot(key)
            set(slot, number: slots[slot], Marks(committed: mark, current: .none))
        }
        isEnabled = true
    }

    /// Has the ledger read the sink's committed marks from `store` as it meets their keys (one
    /// call per batch with new keys), and forget them once committed; from now on it filters
    /// batches. ``allMarks`` then holds only the marks in memory. The ledger holds `store`
    /// weakly (it is typically the writer, which owns the ledger's context): keep it alive.
    public func load(from store: any DeliveryMarkStore) {
        forgetAll()
        self.store = store
        readsStore = true
        settledInbox.withLock { $0 = SettledInbox(accepts: false) }
        isEnabled = true
    }

    private func forgetAll() {
        slots.removeAll()
        entries.removeAll()
        dirty.removeAll()
        lastSlots.removeAll()
    }

    /// Reads from the store the committed marks of the keys of `batch[start...]` that the ledger
    /// does not hold, and holds them (``Mark/none`` for a key without one).
    private func fetchMarks(_ batch: [Record], from start: Int, route: String) throws {
        guard let store else {
            throw StageError(stage: "", message: "the sink's delivery marks were read after it closed")
        }
        var wanted: [Slot] = []
        var seen: Set<Slot> = []
        var lastInput: String?
        var lastSource = ""
        for index in start..<batch.endIndex {
            guard let position = batch[index].origin.position else { continue }
            if position.input == lastInput && batch[index].origin.source == lastSource { continue }
            lastInput = position.input
            lastSource = batch[index].origin.source
            let slot = Slot(input: position.input, group: group(source: lastSource, route: route))
            if slots[slot] == nil, seen.insert(slot).inserted { wanted.append(slot) }
        }
        guard !wanted.isEmpty else { return }
        let keys = wanted.map(key)
        let found = try store.committedMarks(for: keys)
        for (slot, key) in zip(wanted, keys) {
            set(slot, number: nil, Marks(committed: found[key] ?? .none, current: .none))
        }
    }

    /// The marks of `slot`, if it has any.
    private func entry(_ slot: Slot) -> Marks? {
        slots[slot].map { entries[Int($0)] }
    }

    /// Sets the marks of the slot numbered `number`, or numbers `slot` when it has none yet.
    private func set(_ slot: Slot, number: Int32?, _ marks: Marks) {
        if let number {
            entries[Int(number)] = marks
        } else {
            slots[slot] = Int32(entries.count)
            entries.append(marks)
        }
    }

    /// The records of `batch` that the sink has not committed before; advances the marks.
    /// Throws the store's error when the committed marks of new keys cannot be read
    /// (``load(from:)``).
    ///
    /// Hot path (every record a sink receives): the mark being advanced and the committed one
    /// it is compared with stay in locals while consecutive records share a key (the usual
    /// case: one input after another), so a batch costs a few dictionary operations, not
    /// several per record; the batch is copied only when something is skipped.
    public func admit(_ batch: [Record], route: String) throws -> [Record] {
        guard isEnabled else { return batch }
        var out: [Record]?
        var slot: Slot?
        var source = ""
        var mark = Mark.none
        var done = Mark.none
        var number: Int32?   // `slot`'s number in `entries`, nil while it has none
        // What this call changed, to be put back when reading the store fails midway: the
        // batch is then not written, so no mark may move (a sink that commits on the way out
        // would store them).
        var undo: [(slot: Slot, marks: Marks, wasDirty: Bool)] = []
        let skippedBefore = skipped
        func store() {
            guard let slot else { return }
            if readsStore, let number { undo.append((slot, entries[Int(number)], dirty.contains(slot))) }
            set(slot, number: number, Marks(committed: done, current: mark))
            dirty.insert(slot)
            lastSlots[slot.group] = slot
        }
        takeSettled()
        // Each record is read in place (`batch[index]`), not copied: a copy retains the record's
        // storage and strings, made on another thread (measured, perf, job 1 of `make bench`:
        // those copies were 1.5 % of the run's samples, on the sink's thread).
        for index in batch.indices {
            guard let position = batch[index].origin.position else {
                out?.append(batch[index])
                continue
            }
            if let s = slot, s.input == position.input, source == batch[index].origin.source {
                // Same key as the record before.
            } else {
                store()
                source = batch[index].origin.source
                let next = Slot(input: position.input, group: group(source: source, route: route))
                slot = next
                number = slots[next]
                if number == nil && readsStore {
                    do {
                        try fetchMarks(batch, from: index, route: route)
                    } catch {
                        for change in undo.reversed() {
                            if let n = slots[change.slot] { entries[Int(n)] = change.marks }
                            if !change.wasDirty { dirty.remove(change.slot) }
                        }
                        skipped = skippedBefore
                        throw error
                    }
                    number = slots[next]
                }
                let known = number.map { entries[Int($0)] }
                mark = known?.current ?? .none
                done = known?.committed ?? .none
            }
            if mark.epoch == position.epoch && mark.offset == position.offset {
                mark.count += 1
            } else {
                mark = Mark(epoch: position.epoch, offset: position.offset, count: 1)
            }
            if done != .none, mark <= done {
                if out == nil { out = Array(batch[..<index]) }
                skipped += 1
            } else {
                out?.append(batch[index])
            }
        }
        store()
        return out ?? batch
    }

    /// The marks that moved past the committed ones since the last commit: store them with the
    /// rows. An input whose records were all skipped (committed before) has none.
    public var pendingMarks: [Key: Mark] {
        var out: [Key: Mark] = [:]
        for slot in dirty {
            if let marks = entry(slot), marks.current != .none, marks.current > marks.committed { out[key(slot)] = marks.current }
        }
        return out
    }

    /// Every mark: what was committed before this run, advanced by this run (after
    /// ``load(from:)``: the marks in memory only).
    public var allMarks: [Key: Mark] {
        var out: [Key: Mark] = [:]
        out.reserveCapacity(slots.count)
        for (slot, number) in slots {
            let entry = entries[Int(number)]
            let best = max(entry.committed, entry.current)
            if best != .none { out[key(slot)] = best }
        }
        return out
    }

    /// The mark committed for `key` as far as this writer knows: loaded at open, or committed by
    /// it since. A shared sink compares it with the stored mark before committing, to find out
    /// whether another process delivered the same input meanwhile (a lost lease in a cluster run).
    public func committedMark(for key: Key) -> Mark? {
        guard let slot = existingSlot(key), let committed = entry(slot)?.committed, committed != .none else { return nil }
        return committed
    }

    /// The pending marks are now committed. A ledger that reads its marks from a store then
    /// forgets them, when it holds more than it retains, except the last key of each source and
    /// route: the store has them now.
    public func committed() {
        for slot in dirty {
            guard let number = slots[slot] else { continue }
            let entry = entries[Int(number)]
            guard entry.current != .none else { continue }
            entries[Int(number)].committed = max(entry.committed, entry.current)
        }
        dirty.removeAll(keepingCapacity: true)
        droppedMarks = false
        if readsStore && entries.count > retained { forgetCommitted() }
        takeSettled()
    }

    /// Drops the marks that the checkpoints handed over since the last look cover.
    private func takeSettled() {
        let settled = settledInbox.withLock { inbox in
            defer { inbox.checkpoints.removeAll() }
            return inbox.checkpoints
        }
        guard !settled.isEmpty else { return }
        // Only the slots the checkpoints name (every route of their source): a scan of every
        // mark per batch cost marks × log(marks) each time when many stay uncovered.
        var doomed: Set<Slot> = []
        for (source, checkpoint) in settled {
            for (number, name) in groupNames.enumerated() where name.source == source {
                let slot = Slot(input: checkpoint.input, group: Int32(number))
                if let marks = entry(slot), isSettled(slot, marks, by: checkpoint) { doomed.insert(slot) }
            }
        }
        guard !doomed.isEmpty else { return }
        droppedMarks = true
        keepOnly(slots.compactMap { slot, number in doomed.contains(slot) ? nil : (slot, entries[Int(number)]) })
    }

    /// Whether `checkpoint` covers the committed marks of `slot` (see ``covers(_:_:)``).
    private func isSettled(_ slot: Slot, _ marks: Marks, by checkpoint: InputCheckpoint) -> Bool {
        let best = max(marks.committed, marks.current)
        return !dirty.contains(slot) && best != .none && Self.covers(checkpoint, best)
    }

    /// Holds `kept` and nothing else (slot numbers are positions in ``entries``, so they are
    /// renumbered).
    private func keepOnly(_ kept: [(Slot, Marks)], keepingCapacity: Bool = true) {
        slots.removeAll(keepingCapacity: keepingCapacity)
        entries.removeAll(keepingCapacity: keepingCapacity)
        for (slot, marks) in kept { set(slot, number: nil, marks) }
    }

    /// Tells the ledger that `source`'s checkpoints were saved: every record at or below them
    /// was committed by every sink that received it, and no later run reads them again (a
    /// changed input, `run --full` and `reset` read with a higher epoch). A ledger that holds its
    /// marks in memory (``load(_:)``) drops the marks they cover at its next ``committed()``.
    /// Safe to call from any thread.
    public func settle(source: String, checkpoints: [InputCheckpoint]) {
        guard !checkpoints.isEmpty else { return }
        settledInbox.withLock { inbox in
            // Bounded: a sink that receives nothing for a while (behind a filter that passes
            // nothing) does not take the checkpoints in; it keeps those marks a run longer, and
            // the runtime drops them when the next run opens it.
            guard inbox.accepts, inbox.sources.contains(source), inbox.checkpoints.count < Self.settledLimit else { return }
            inbox.checkpoints.append(contentsOf: checkpoints.map { (source: source, checkpoint: $0) })
        }
    }

    /// How many settled checkpoints wait for the sink's thread at most.
    static let settledLimit = 10_000

    /// Drops the marks that the saved checkpoints `checkpoint(source, input)` cover (see
    /// ``settle(source:checkpoints:)``), except those not committed yet. The runtime calls it
    /// when a writer that holds its marks in memory has opened, with the checkpoint store's
    /// view, so that marks loaded from an earlier run go too. Asks in order of source and input
    /// (UTF-8 bytes), the order a store reads ahead in. Returns how many marks were dropped.
    @discardableResult
    public func dropSettled(_ checkpoint: (_ source: String, _ input: String) throws -> InputCheckpoint?) rethrows -> Int {
        var kept: [(Slot, Marks)] = []
        kept.reserveCapacity(entries.count)
        var dropped = 0
        let ordered = slots.sorted { a, b in
            let sa = groupNames[Int(a.key.group)].source, sb = groupNames[Int(b.key.group)].source
            if sa != sb { return sa.utf8.lexicographicallyPrecedes(sb.utf8) }
            return a.key.input.utf8.lexicographicallyPrecedes(b.key.input.utf8)
        }
        for (slot, number) in ordered {
            let marks = entries[Int(number)]
            if !dirty.contains(slot), max(marks.committed, marks.current) != .none,
               let saved = try checkpoint(groupNames[Int(slot.group)].source, slot.input), isSettled(slot, marks, by: saved) {
                dropped += 1
            } else {
                kept.append((slot, marks))
            }
        }
        guard dropped > 0 else { return 0 }
        droppedMarks = true
        keepOnly(kept)
        return dropped
    }

    /// Whether a saved checkpoint covers a mark: its input's records up to the mark are before
    /// the checkpoint (an older version, or an offset before where reading resumes), so no run
    /// reads them again. `complete` is not enough: a JSON Lines file's last line without a
    /// newline is read again from its start, in the same version, though the file is complete.
    static func covers(_ checkpoint: InputCheckpoint, _ mark: Mark) -> Bool {
        mark.epoch < checkpoint.epoch || (mark.epoch == checkpoint.epoch && mark.offset < checkpoint.offset)
    }

    /// Forgets every mark but those of ``lastSlots`` (called with nothing pending).
    private func forgetCommitted() {
        let kept = lastSlots.values.compactMap { slot in entry(slot).map { (slot, $0) } }
        // The tables keep their size while it is modest: the next transaction fills them again.
        keepOnly(kept, keepingCapacity: entries.count <= 8 * max(retained, 1_000))
    }

    /// How many keys' marks the ledger holds in memory (what ``load(from:)`` keeps bounded).
    public var heldMarks: Int { entries.count }
}

/// Where a sink keeps its committed delivery marks, read a few keys at a time by a ledger
/// loaded with ``DeliveryLedger/load(from:)``: typically a table keyed by source, input and
/// route, in the same database as the rows.
public protocol DeliveryMarkStore: AnyObject {
    /// The committed marks of `keys` as the sink's destination holds them now (inside the
    /// writer's open transaction, if one is open); a key without a mark is left out. Called on
    /// the sink's thread, by ``DeliveryLedger/admit(_:route:)``, once per batch that brings keys
    /// the ledger does not hold.
    func committedMarks(for keys: [DeliveryLedger.Key]) throws -> [DeliveryLedger.Key: DeliveryLedger.Mark]
}

extension DeliveryLedger.Mark {
    /// No mark: below every real one (no input has epoch `Int64.min`).
    static let none = DeliveryLedger.Mark(epoch: Int64.min, offset: Int64.min, count: 0)
}
