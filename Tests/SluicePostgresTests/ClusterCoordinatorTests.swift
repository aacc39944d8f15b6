import Foundation
import Synchronization
import Testing
@testable import SluicePostgres
import SluiceCore
import SluiceTestSupport

private func units(_ n: Int, source: String = "s") -> [WorkUnit] {
    (0..<n).map { WorkUnit(source: source, kind: .files, files: [String(format: "file-%05d.jsonl", $0)], size: 10) }
}

@Suite("postgres cluster coordinator and checkpoint store (real server)")
struct ClusterCoordinatorTests {
    @Test("claimers on separate connections never get the same unit, and together get them all")
    func claimersNeverShareAUnit() throws {
        let url = try TestPostgres.freshDatabase("claims")
        let setup = try PostgresCoordinator(url: url, pipeline: "p")
        let generation = try setup.openGeneration { _ in units(300) }
        let claimers = try (0..<4).map { _ in try PostgresCoordinator(url: url, pipeline: "p") }
        let got = Mutex<[String]>([])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: claimers.count) { k in
            let holder = UnitHolder(host: "host\(k)", pid: Int32(1000 + k))
            do {
                while let claimed = try claimers[k].claim(generation: generation, holder: holder, lease: 60) {
                    got.withLock { $0.append(claimed.unit.id) }
                    guard try claimers[k].complete(claimed, holder: holder, records: 1) else {
                        failures.withLock { $0.append("could not complete \(claimed.unit.id)") }
                        return
                    }
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        let ids = got.withLock { $0 }
        #expect(ids.count == 300)
        #expect(Set(ids).count == 300)
        let status = try setup.status()
        #expect(status.done == 300 && status.finished)
        #expect(status.processes.map(\.done).reduce(0, +) == 300)
    }

    @Test("a unit whose lease ran out is taken over; the old holder can neither complete nor renew it")
    func expiredLeaseIsTakenOver() throws {
        let url = try TestPostgres.freshDatabase("lease")
        let a = try PostgresCoordinator(url: url, pipeline: "p")
        let b = try PostgresCoordinator(url: url, pipeline: "p")
        let generation = try a.openGeneration { _ in units(1) }
        let dead = UnitHolder(host: "a", pid: 1)
        let alive = UnitHolder(host: "b", pid: 2)
        let first = try #require(try a.claim(generation: generation, holder: dead, lease: 1))
        #expect(try b.claim(generation: generation, holder: alive, lease: 30) == nil, "held under a live lease")
        #expect(try b.status().claimed == 1)
        // Let the lease run out (the server's clock decides).
        var second: ClaimedUnit?
        for _ in 0..<100 where second == nil {
            Thread.sleep(forTimeInterval: 0.1)
            second = try b.claim(generation: generation, holder: alive, lease: 30)
        }
        let taken = try #require(second)
        #expect(taken.unit == first.unit)
        #expect(try a.renew(generation: generation, holder: dead, lease: 1, records: 5, held: [first.unit.id]) == [first.unit.id])
        #expect(try a.complete(first, holder: dead, records: 5) == false)
        #expect(try b.complete(taken, holder: alive, records: 5))
        #expect(try b.status().finished)
    }

    @Test("processes that start together list the generation once; a new one starts only when every unit is done")
    func generationListedOnce() throws {
        let url = try TestPostgres.freshDatabase("generation")
        let coordinators = try (0..<3).map { _ in try PostgresCoordinator(url: url, pipeline: "p") }
        let listed = Atomic<Int>(0)
        let generations = Mutex<[Int64]>([])
        DispatchQueue.concurrentPerform(iterations: 3) { k in
            let g = try? coordinators[k].openGeneration { _ in
                listed.add(1, ordering: .relaxed)
                Thread.sleep(forTimeInterval: 0.2)
                return units(5)
            }
            generations.withLock { $0.append(g ?? -1) }
        }
        #expect(listed.load(ordering: .relaxed) == 1)
        #expect(generations.withLock { $0 } == [1, 1, 1])
        #expect(try coordinators[0].status().pending == 5)
        // Another pipeline in the same database is independent.
        let other = try PostgresCoordinator(url: url, pipeline: "q")
        #expect(try other.openGeneration { _ in units(2) } == 1)
        #expect(try other.status().total == 2)
        // Done: the next opening lists again and gets the units of the last run for their roll-ups.
        let holder = UnitHolder(host: "h", pid: 9)
        while let unit = try coordinators[0].claim(generation: 1, holder: holder, lease: 30) {
            _ = try coordinators[0].complete(unit, holder: holder, records: 0)
        }
        let previous = Mutex<[WorkUnit]>([])
        let next = try coordinators[1].openGeneration { last in
            previous.withLock { $0 = last }
            return units(1, source: "t")
        }
        #expect(next == 2)
        #expect(previous.withLock { $0 } == units(5))
        // Nothing new: the finished generation stays current.
        let holder2 = UnitHolder(host: "h", pid: 10)
        let unit = try #require(try coordinators[2].claim(generation: 2, holder: holder2, lease: 30))
        #expect(try coordinators[2].complete(unit, holder: holder2, records: 0))
        #expect(try coordinators[2].openGeneration { _ in [] } == 2)
    }

    @Test("a released unit is claimable at once; status shows claims by host and pid and the oldest lease")
    func releaseAndStatus() throws {
        let url = try TestPostgres.freshDatabase("status")
        let c = try PostgresCoordinator(url: url, pipeline: "p")
        let generation = try c.openGeneration { _ in units(3) }
        let me = UnitHolder(host: "m", pid: 7)
        let one = try #require(try c.claim(generation: generation, holder: me, lease: 30))
        _ = try c.renew(generation: generation, holder: me, lease: 30, records: 42, held: [one.unit.id])
        var status = try c.status()
        #expect(status.claimed == 1 && status.pending == 2)
        #expect(status.oldestLeaseUnit == one.unit.id)
        #expect(status.processes.first?.holder == me)
        #expect(status.processes.first?.records == 42)
        #expect(status.processes.first?.claimed == 1)
        try c.release(one, holder: me)
        status = try c.status()
        #expect(status.claimed == 0 && status.pending == 3)
        #expect(try c.claim(generation: generation, holder: UnitHolder(host: "o", pid: 8), lease: 30)?.unit == one.unit)
    }

    @Test("checkpoints saved on one connection are loaded on another; reset and full runs raise epochs")
    func checkpointStoreRoundTrip() throws {
        let url = try TestPostgres.freshDatabase("checkpoints")
        let a = try PostgresCheckpointStore(url: url, pipeline: "p")
        let b = try PostgresCheckpointStore(url: url, pipeline: "p")
        let other = try PostgresCheckpointStore(url: url, pipeline: "q")
        let cp = InputCheckpoint(input: "dir/a \"b\".jsonl", epoch: 3, offset: 120, line: 7, complete: false, size: 500,
                                 modified: 1_700_000_000.25, fingerprint: "abc", lastValue: .string("2024-01-01"), records: 9)
        try a.save([(source: "src", checkpoint: cp)])
        #expect(try b.load(source: "src")[cp.input] == cp)
        #expect(try other.load(source: "src").inputs.isEmpty)
        var done = cp
        done.complete = true
        done.offset = 500
        try b.save([(source: "src", checkpoint: done)])
        #expect(try a.allInputs()["src"] == [done])
        try a.reset(source: "src")
        let afterReset = try b.load(source: "src")
        #expect(afterReset.inputs.isEmpty)
        #expect(afterReset.baseEpoch == 4)
        #expect(try a.fullRunPending() == false)
        try a.startFullRun(sources: ["src", "new"])
        #expect(try b.fullRunPending())
        #expect(try b.load(source: "new").baseEpoch == 5)
        let started = Date(timeIntervalSince1970: 1_750_000_000.5)
        try b.finishRun(RunRecord(started: started, finished: started.addingTimeInterval(2), status: "complete", read: 10,
                                  delivered: 10, deadLetters: 0, full: true))
        #expect(try a.fullRunPending() == false)
        #expect(try a.completedRuns() == 1)
        let last = try #require(try a.lastRun())
        #expect(last.status == "complete" && last.read == 10 && last.full)
        #expect(abs(last.started.timeIntervalSince(started)) < 0.01)
    }
}
