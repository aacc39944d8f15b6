import Foundation
import Synchronization

/// Live per-stage counters, safe to update from any thread.
///
/// Besides the record counts every stage has, a source may announce how much input it will read
/// (files, bytes, records) and say which input it is reading (``SourceContext/announceInputs(_:)``
/// and friends): the progress display turns that into a percentage and an ETA. A sink that can
/// tell inserted from updated and unchanged rows counts them (``StageContext/countRows(inserted:updated:unchanged:)``).
public final class StageMetrics: Sendable {
    /// The stage's name.
    public let name: String
    /// `source`, `transform` or `sink`.
    public let kind: StageKind
    /// The stage's type name.
    public let type: String
    private let inCount = Atomic<Int>(0)
    private let outCount = Atomic<Int>(0)
    private let droppedCount = Atomic<Int>(0)
    private let deadCount = Atomic<Int>(0)
    // Input progress (sources). -1: not announced.
    private let filesTotal = Atomic<Int>(-1)
    private let bytesTotal = Atomic<Int>(-1)
    private let recordsTotal = Atomic<Int>(-1)
    private let filesDone = Atomic<Int>(0)
    private let bytesDone = Atomic<Int>(0)
    private let current = Mutex<String?>(nil)
    // Rows (keyed sinks). -1 until the sink counts any.
    private let inserted = Atomic<Int>(-1)
    private let updated = Atomic<Int>(0)
    private let unchanged = Atomic<Int>(0)
    // Time.
    private let busy = Atomic<Int>(0)
    private let lua = Atomic<Int>(0)

    /// Creates zeroed counters.
    public init(name: String, kind: StageKind, type: String) {
        self.name = name
        self.kind = kind
        self.type = type
    }

    /// Counts records received.
    public func addIn(_ n: Int) { inCount.wrappingAdd(n, ordering: .relaxed) }
    /// Counts records passed on (or, for a sink, written).
    public func addOut(_ n: Int) { outCount.wrappingAdd(n, ordering: .relaxed) }
    /// Counts records dropped on purpose.
    public func addDropped(_ n: Int) { droppedCount.wrappingAdd(n, ordering: .relaxed) }
    /// Counts dead letters.
    public func addDeadLettered(_ n: Int) { deadCount.wrappingAdd(n, ordering: .relaxed) }

    /// Dead letters so far (cheaper than a whole ``snapshot``).
    public var deadLetteredCount: Int { deadCount.load(ordering: .relaxed) }

    /// Sets (or raises) the input this run will read; nil leaves a total as it is.
    public func setTotals(files: Int? = nil, bytes: Int64? = nil, records: Int? = nil) {
        if let files { filesTotal.store(files, ordering: .relaxed) }
        if let bytes { bytesTotal.store(Int(bytes), ordering: .relaxed) }
        if let records { recordsTotal.store(records, ordering: .relaxed) }
    }

    /// Takes one input (of `bytes` bytes) off the announced totals: it will not be read (unchanged
    /// since the last run).
    public func removeFromTotals(files: Int = 1, bytes: Int64) {
        if filesTotal.load(ordering: .relaxed) >= files { filesTotal.wrappingSubtract(files, ordering: .relaxed) }
        if bytesTotal.load(ordering: .relaxed) >= bytes { bytesTotal.wrappingSubtract(Int(bytes), ordering: .relaxed) }
    }

    /// Counts input bytes read and inputs finished.
    public func addRead(bytes: Int64, files: Int = 0) {
        if bytes != 0 { bytesDone.wrappingAdd(Int(bytes), ordering: .relaxed) }
        if files != 0 { filesDone.wrappingAdd(files, ordering: .relaxed) }
    }

    /// The input being read now (a file's relative path), or nil.
    public func setCurrentInput(_ input: String?) { current.withLock { $0 = input } }

    /// Counts rows a keyed sink inserted, updated, or left as they were (the record equalled the row).
    public func addRows(inserted: Int, updated: Int, unchanged: Int) {
        if self.inserted.load(ordering: .relaxed) < 0 { self.inserted.store(0, ordering: .relaxed) }
        self.inserted.wrappingAdd(inserted, ordering: .relaxed)
        self.updated.wrappingAdd(updated, ordering: .relaxed)
        self.unchanged.wrappingAdd(unchanged, ordering: .relaxed)
    }

    /// Adds time the stage spent working (not waiting for input or for room downstream).
    public func addBusy(nanoseconds: UInt64) { busy.wrappingAdd(Int(clamping: nanoseconds), ordering: .relaxed) }
    /// Adds time spent inside Lua (rules, conditions); part of the busy time.
    public func addLua(nanoseconds: UInt64) { lua.wrappingAdd(Int(clamping: nanoseconds), ordering: .relaxed) }

    /// The counters now.
    public var snapshot: StageCounts {
        func known(_ a: borrowing Atomic<Int>) -> Int? {
            let v = a.load(ordering: .relaxed)
            return v < 0 ? nil : v
        }
        var counts = StageCounts(name: name, kind: kind, type: type,
                                 received: inCount.load(ordering: .relaxed), emitted: outCount.load(ordering: .relaxed),
                                 dropped: droppedCount.load(ordering: .relaxed), deadLettered: deadCount.load(ordering: .relaxed))
        counts.filesTotal = known(filesTotal)
        counts.bytesTotal = known(bytesTotal).map(Int64.init)
        counts.recordsTotal = known(recordsTotal)
        counts.filesDone = filesDone.load(ordering: .relaxed)
        counts.bytesRead = Int64(bytesDone.load(ordering: .relaxed))
        counts.currentInput = current.withLock { $0 }
        if let rows = known(inserted) {
            counts.rows = RowCounts(inserted: rows, updated: updated.load(ordering: .relaxed),
                                    unchanged: unchanged.load(ordering: .relaxed))
        }
        counts.busySeconds = Double(busy.load(ordering: .relaxed)) / 1e9
        counts.luaSeconds = Double(lua.load(ordering: .relaxed)) / 1e9
        return counts
    }
}

/// What a keyed sink did with the records it wrote.
public struct RowCounts: Sendable, Equatable {
    /// New rows.
    public var inserted: Int
    /// Existing rows (same key) that the record changed.
    public var updated: Int
    /// Existing rows the record left as they were: every field equal to the stored value
    /// (or, with `on_conflict: ignore`, any existing row).
    public var unchanged: Int

    /// Creates counts.
    public init(inserted: Int, updated: Int, unchanged: Int) {
        self.inserted = inserted
        self.updated = updated
        self.unchanged = unchanged
    }
}

/// A stage's counters at one moment.
public struct StageCounts: Sendable, Equatable {
    /// The stage's name.
    public var name: String
    /// Its kind.
    public var kind: StageKind
    /// Its type name.
    public var type: String
    /// Records in (a source has none).
    public var received: Int
    /// Records out (for a sink: written).
    public var emitted: Int
    /// Records dropped on purpose.
    public var dropped: Int
    /// Dead letters.
    public var deadLettered: Int
    /// A source's input files to read in this run, when it announced them.
    public var filesTotal: Int?
    /// A source's input bytes to read in this run, when it announced them.
    public var bytesTotal: Int64?
    /// A source's records to read in this run, when it announced them (a table's rows).
    public var recordsTotal: Int?
    /// Input files read to their end.
    public var filesDone = 0
    /// Input bytes read.
    public var bytesRead: Int64 = 0
    /// The input being read.
    public var currentInput: String?
    /// For a sink that counts them: rows inserted, updated and unchanged.
    public var rows: RowCounts?
    /// Seconds the stage spent working (for a transform: all its workers together).
    public var busySeconds: Double = 0
    /// Of which in Lua.
    public var luaSeconds: Double = 0

    /// Creates counters.
    public init(name: String, kind: StageKind, type: String, received: Int, emitted: Int, dropped: Int,
                deadLettered: Int) {
        self.name = name
        self.kind = kind
        self.type = type
        self.received = received
        self.emitted = emitted
        self.dropped = dropped
        self.deadLettered = deadLettered
    }

    /// The counters as a JSON object (for `--metrics`).
    public var json: Value {
        var fields: Fields = ["name": .string(name), "kind": .string(kind.rawValue), "type": .string(type),
                              "in": .int(Int64(received)), "out": .int(Int64(emitted)),
                              "dropped": .int(Int64(dropped)), "dead_lettered": .int(Int64(deadLettered)),
                              "busy_seconds": .double((busySeconds * 1000).rounded() / 1000)]
        if luaSeconds > 0 || type == "lua" || type == "filter" {
            fields["lua_seconds"] = .double((luaSeconds * 1000).rounded() / 1000)
        }
        if kind == .source {
            fields["bytes_read"] = .int(bytesRead)
            fields["files_read"] = .int(Int64(filesDone))
        }
        if let rows {
            fields["inserted"] = .int(Int64(rows.inserted))
            fields["updated"] = .int(Int64(rows.updated))
            fields["unchanged"] = .int(Int64(rows.unchanged))
        }
        return .object(fields)
    }
}

/// A monotonic clock reading in nanoseconds, for stage timings.
@inline(__always)
package func monotonicNanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

extension StageContext {
    /// Counts rows this sink inserted, updated, or left unchanged (shown in the summary and
    /// `--metrics`). Only sinks that can tell these apart call it.
    public func countRows(inserted: Int, updated: Int, unchanged: Int) {
        metrics?.addRows(inserted: inserted, updated: updated, unchanged: unchanged)
    }

    /// Adds time spent running Lua for this stage (shown apart in the summary).
    public func addLuaTime(nanoseconds: UInt64) { metrics?.addLua(nanoseconds: nanoseconds) }
}

extension SourceContext {
    /// Announces the files this run may read, so that progress shows "done of total", a
    /// percentage and an ETA: their number and total size (each is `stat`ed once). Call
    /// ``skipInput(bytes:)`` for each one found unchanged since the last run.
    ///
    /// Returns each file's size and time (nil when it cannot be `stat`ed), in the order given,
    /// for a source that needs them too: the files are looked at once.
    @discardableResult
    public func announceInputs(_ files: [MatchedFile]) -> [FileStamp?] {
        let stamps = files.map { FileStamp(path: $0.path) }
        stage.metrics?.setTotals(files: files.count, bytes: stamps.reduce(0) { $0 + ($1?.size ?? 0) })
        return stamps
    }

    /// Announces totals directly (any of them may be nil: unknown).
    public func announceTotal(files: Int? = nil, bytes: Int64? = nil, records: Int? = nil) {
        stage.metrics?.setTotals(files: files, bytes: bytes, records: records)
    }

    /// Names the input being read now (for the progress display); nil when between inputs.
    public func reading(_ input: String?) { stage.metrics?.setCurrentInput(input) }

    /// Counts bytes read from the current input.
    public func didRead(bytes: Int64) { stage.metrics?.addRead(bytes: bytes) }

    /// Counts one input read to its end (its bytes already counted with ``didRead(bytes:)``,
    /// or given here).
    public func finishedInput(bytes: Int64 = 0) {
        stage.metrics?.addRead(bytes: bytes, files: 1)
        stage.metrics?.setCurrentInput(nil)
    }

    /// Takes an announced input off the totals: it is not read in this run (unchanged), or was
    /// only partly new (`bytes`: the part already read by earlier runs).
    public func skipInput(bytes: Int64, wholeFile: Bool = true) {
        stage.metrics?.removeFromTotals(files: wholeFile ? 1 : 0, bytes: bytes)
    }
}

extension StageCounts {
    /// Adds another run's counts of the same stage (a cluster process sums its units): records,
    /// files and bytes read, time, and row counts; totals and the current input stay as they are.
    public mutating func add(_ other: StageCounts) {
        received += other.received
        emitted += other.emitted
        dropped += other.dropped
        deadLettered += other.deadLettered
        filesDone += other.filesDone
        bytesRead += other.bytesRead
        busySeconds += other.busySeconds
        luaSeconds += other.luaSeconds
        if let more = other.rows {
            var sum = rows ?? RowCounts(inserted: 0, updated: 0, unchanged: 0)
            sum.inserted += more.inserted
            sum.updated += more.updated
            sum.unchanged += more.unchanged
            rows = sum
        }
    }
}
