import Foundation
import SluiceRuntime
import Synchronization
import Testing

@Suite("Bounded channels")
struct ChannelTests {
    /// Sends `weights` from another thread; returns how many sends have returned after a pause.
    private func sendsDone(_ channel: BoundedChannel<Int>, weights: [Int]) -> (done: @Sendable () -> Int, finished: DispatchSemaphore) {
        let finished = DispatchSemaphore(value: 0)
        let box = UncheckedBox(Atomic<Int>(0))
        Thread {
            for (i, w) in weights.enumerated() {
                try? channel.send(i, weight: w)
                box.value.add(1, ordering: .sequentiallyConsistent)
            }
            channel.finish()
            finished.signal()
        }.start()
        return ({ box.value.load(ordering: .sequentiallyConsistent) }, finished)
    }

    /// Waits (up to 10 s) for `expected` sends to return, then a little longer: the count that
    /// stands is what got in before the sender had to wait.
    private func settled(_ done: () -> Int, at expected: Int) -> Int {
        let deadline = Date(timeIntervalSinceNow: 10)
        while done() < expected && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        Thread.sleep(forTimeInterval: 0.1)
        return done()
    }

    @Test("a sender waits once the queued weight would pass the bound, however few elements are queued")
    func weightBound() {
        let channel = BoundedChannel<Int>(capacity: 8, producers: 1, maxWeight: 100)
        let (done, finished) = sendsDone(channel, weights: [60, 30, 20, 5])
        #expect(settled(done, at: 2) == 2, "60 + 30 fit; 20 more would make 110")
        #expect(channel.receive() == 0)  // 30 queued: 20 and 5 fit now
        finished.wait()
        #expect([channel.receive(), channel.receive(), channel.receive(), channel.receive()] == [1, 2, 3, nil])
    }

    @Test("one element heavier than the bound still goes through when the queue is empty")
    func heavyElement() {
        let channel = BoundedChannel<Int>(capacity: 8, producers: 1, maxWeight: 10)
        let (done, finished) = sendsDone(channel, weights: [500, 1])
        #expect(settled(done, at: 1) == 1, "the heavy one is in; the next waits for it to leave")
        #expect(channel.receive() == 0)
        finished.wait()
        #expect(channel.receive() == 1)
        #expect(channel.receive() == nil)
    }

    @Test("the element bound still holds when weights are small")
    func countBound() {
        let channel = BoundedChannel<Int>(capacity: 2, producers: 1, maxWeight: 1_000)
        let (done, finished) = sendsDone(channel, weights: [1, 1, 1])
        #expect(settled(done, at: 2) == 2)
        #expect(channel.receive() == 0)
        finished.wait()
        #expect([channel.receive(), channel.receive(), channel.receive()] == [1, 2, nil])
    }
}

/// Hands a non-copyable atomic to another thread by reference.
private final class UncheckedBox: @unchecked Sendable {
    let value: Atomic<Int>
    init(_ value: consuming Atomic<Int>) { self.value = value }
}
