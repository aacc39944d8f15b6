import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who holds a unit: a process on a host.
public struct UnitHolder: Sendable, Hashable, CustomStringConvertible {
    /// The host name.
    public var host: String
    /// The process id.
    public var pid: Int32

    /// Creates a holder.
    public init(host: String, pid: Int32) {
        self.host = host
        self.pid = pid
    }

    /// This process.
    public static var current: UnitHolder {
        UnitHolder(host: ProcessInfo.processInfo.hostName, pid: getpid())
    }

    /// `host:pid`.
    public var description: String { "\(host):\(pid)" }
}

/// A unit a process holds, with the generation it was registered in.
public struct ClaimedUnit: Sendable, Hashable {
    /// The cluster run (generation) the unit belongs to.
    public var generation: Int64
    /// The unit.
    public var unit: WorkUnit

    /// Creates a claimed unit.
    public init(generation: Int64, unit: WorkUnit) {
        self.generation = generation
        self.unit = unit
    }
}

/// Where one pipeline's cluster runs stand, as `sluice cluster status` shows it.
public struct ClusterStatus: Sendable, Equatable {
    /// One process that took part.
    public struct Process: Sendable, Equatable {
        /// Who.
        public var holder: UnitHolder
        /// Units it holds now.
        public var claimed: Int
        /// Units it completed in this generation.
        public var done: Int
        /// Records it delivered in this generation.
        public var records: Int64
        /// Its delivery rate over its last heartbeats, records per second.
        public var recordsPerSecond: Double
        /// Seconds since its last heartbeat.
        public var silentFor: Double

        /// Creates a process line.
        public init(holder: UnitHolder, claimed: Int, done: Int, records: Int64, recordsPerSecond: Double, silentFor: Double) {
            self.holder = holder
            self.claimed = claimed
            self.done = done
            self.records = records
            self.recordsPerSecond = recordsPerSecond
            self.silentFor = silentFor
        }
    }

    /// The current (latest) generation, 0 when nothing was ever registered.
    public var generation: Int64
    /// Units nobody holds (never claimed, released, or with an expired lease).
    public var pending: Int
    /// Units held under a live lease.
    public var claimed: Int
    /// Units whose records every sink committed.
    public var done: Int
    /// The claimed units whose lease ran out (their process died or hangs): claimable again.
    public var expired: Int
    /// Seconds since the oldest live claim was taken, if any.
    public var oldestLeaseAge: Double?
    /// The unit with the oldest live claim.
    public var oldestLeaseUnit: String?
    /// The processes that took part, by host and pid.
    public var processes: [Process]

    /// Creates a status.
    public init(generation: Int64 = 0, pending: Int = 0, claimed: Int = 0, done: Int = 0, expired: Int = 0,
                oldestLeaseAge: Double? = nil, oldestLeaseUnit: String? = nil, processes: [Process] = []) {
        self.generation = generation
        self.pending = pending
        self.claimed = claimed
        self.done = done
        self.expired = expired
        self.oldestLeaseAge = oldestLeaseAge
        self.oldestLeaseUnit = oldestLeaseUnit
        self.processes = processes
    }

    /// Every unit of the generation.
    public var total: Int { pending + claimed + done }
    /// Whether every unit of the generation is done.
    public var finished: Bool { pending == 0 && claimed == 0 }
}

/// Hands out a pipeline's work units to the processes of a cluster run.
///
/// A cluster run is a *generation*: the first process to start one lists the units of what is
/// new (``openGeneration(list:)``, done once, under a lock), every process then claims units one
/// at a time under a lease it renews, and completes each unit once every sink committed its
/// records. A unit whose lease runs out (its process died or hangs) is claimable again. All
/// methods are safe from any thread.
public protocol WorkCoordinator: AnyObject, Sendable {
    /// The generation to work on: the latest one when it still has units that are not done,
    /// else a new one whose units `list` returns (given the units of the generation before, so
    /// that the caller can save their roll-up checkpoints first). Only one process at a time
    /// runs `list`; registering the same units twice is harmless.
    func openGeneration(list: ([WorkUnit]) throws -> [WorkUnit]) throws -> Int64
    /// Takes a unit of `generation` that nobody holds (or whose lease ran out) for `lease`
    /// seconds, or nil when there is none right now.
    func claim(generation: Int64, holder: UnitHolder, lease: TimeInterval) throws -> ClaimedUnit?
    /// Extends the leases of the units `holder` holds and reports the records it read so far;
    /// returns those of the `held` unit ids it no longer holds (taken over after its lease ran out).
    func renew(generation: Int64, holder: UnitHolder, lease: TimeInterval, records: Int64, held: [String]) throws -> Set<String>
    /// Marks a unit done; false when `holder` no longer held it (another process took it over).
    func complete(_ unit: ClaimedUnit, holder: UnitHolder, records: Int64) throws -> Bool
    /// Gives a unit back without completing it (a stopped run), so another process takes it at once.
    func release(_ unit: ClaimedUnit, holder: UnitHolder) throws
    /// Where the latest generation stands.
    func status() throws -> ClusterStatus
    /// Whether every unit of `generation` is done: what an idle process asks every second, so
    /// a coordinator answers it without the full ``status()``.
    func isFinished(generation: Int64) throws -> Bool
}

extension WorkCoordinator {
    /// From ``status()`` (a coordinator that has a cheaper answer gives it). A newer
    /// generation than `generation` means it was finished: one opens only after the last is done.
    public func isFinished(generation: Int64) throws -> Bool {
        let status = try status()
        return status.generation != generation || status.finished
    }
}

/// A coordinator in memory, for the processes (threads) of one program: tests, and the
/// reference for what a shared coordinator must do.
public final class InMemoryCoordinator: WorkCoordinator, @unchecked Sendable {
    // @unchecked: all state is guarded by `lock`.
    private struct Entry {
        var unit: WorkUnit
        var holder: UnitHolder?
        var leaseUntil: Date = .distantPast
        var claimedAt: Date?
        var done = false
        var doneBy: UnitHolder?
    }
    private struct Worker {
        var records: Int64 = 0
        var heartbeat = Date()
        var rate = 0.0
    }

    private let lock = NSLock()
    private var generation: Int64 = 0
    private var entries: [Entry] = []
    private var workers: [UnitHolder: Worker] = [:]
    /// The clock (tests move it on to expire leases).
    public let now: @Sendable () -> Date

    /// Creates an empty coordinator.
    public init(now: @escaping @Sendable () -> Date = { Date() }) { self.now = now }

    public func openGeneration(list: ([WorkUnit]) throws -> [WorkUnit]) throws -> Int64 {
        lock.lock()
        defer { lock.unlock() }
        if generation > 0 && entries.contains(where: { !$0.done }) { return generation }
        let units = try list(entries.map(\.unit))
        if units.isEmpty && generation > 0 { return generation }
        generation += 1
        var seen = Set<String>()
        entries = units.filter { seen.insert($0.id).inserted }.map { Entry(unit: $0) }
        workers = [:]
        return generation
    }

    public func claim(generation: Int64, holder: UnitHolder, lease: TimeInterval) throws -> ClaimedUnit? {
        lock.lock()
        defer { lock.unlock() }
        let t = now()
        guard generation == self.generation,
              let k = entries.firstIndex(where: { !$0.done && ($0.holder == nil || $0.leaseUntil < t) }) else { return nil }
        entries[k].holder = holder
        entries[k].leaseUntil = t.addingTimeInterval(lease)
        entries[k].claimedAt = t
        if workers[holder] == nil { workers[holder] = Worker(heartbeat: t) }
        return ClaimedUnit(generation: generation, unit: entries[k].unit)
    }

    public func renew(generation: Int64, holder: UnitHolder, lease: TimeInterval, records: Int64,
                      held: [String]) throws -> Set<String> {
        lock.lock()
        defer { lock.unlock() }
        let t = now()
        var worker = workers[holder] ?? Worker(heartbeat: t)
        let dt = t.timeIntervalSince(worker.heartbeat)
        if dt > 0 { worker.rate = Double(records - worker.records) / dt }
        worker.records = records
        worker.heartbeat = t
        workers[holder] = worker
        for k in entries.indices where entries[k].holder == holder && !entries[k].done {
            entries[k].leaseUntil = t.addingTimeInterval(lease)
        }
        return Set(held.filter { id in !entries.contains { $0.unit.id == id && $0.holder == holder && !$0.done } })
    }

    public func complete(_ unit: ClaimedUnit, holder: UnitHolder, records: Int64) throws -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard unit.generation == generation, let k = entries.firstIndex(where: { $0.unit.id == unit.unit.id }),
              entries[k].holder == holder, !entries[k].done else { return false }
        entries[k].done = true
        entries[k].doneBy = holder
        entries[k].holder = nil
        return true
    }

    public func release(_ unit: ClaimedUnit, holder: UnitHolder) throws {
        lock.lock()
        defer { lock.unlock() }
        guard let k = entries.firstIndex(where: { $0.unit.id == unit.unit.id }), entries[k].holder == holder else { return }
        entries[k].holder = nil
        entries[k].leaseUntil = .distantPast
    }

    public func status() throws -> ClusterStatus {
        lock.lock()
        defer { lock.unlock() }
        let t = now()
        var status = ClusterStatus(generation: generation)
        var oldest: (Date, String)?
        for e in entries {
            if e.done {
                status.done += 1
            } else if e.holder != nil && e.leaseUntil >= t {
                status.claimed += 1
                if let at = e.claimedAt, oldest.map({ at < $0.0 }) ?? true { oldest = (at, e.unit.id) }
            } else {
                status.pending += 1
                if e.holder != nil { status.expired += 1 }
            }
        }
        status.oldestLeaseAge = oldest.map { t.timeIntervalSince($0.0) }
        status.oldestLeaseUnit = oldest?.1
        status.processes = workers.map { holder, w in
            ClusterStatus.Process(holder: holder,
                                  claimed: entries.filter { $0.holder == holder && !$0.done && $0.leaseUntil >= t }.count,
                                  done: entries.filter { $0.doneBy == holder }.count, records: w.records,
                                  recordsPerSecond: w.rate, silentFor: t.timeIntervalSince(w.heartbeat))
        }.sorted { ($0.holder.host, $0.holder.pid) < ($1.holder.host, $1.holder.pid) }
        return status
    }
}
