import DequeModule
import Foundation
import SluiceCore

/// A bounded multi-producer, multi-consumer queue between stage threads.
///
/// `send` blocks while the queue is full — `capacity` elements, or elements whose weights add
/// up to `maxWeight` (batches weigh their records' bytes) — that is the backpressure that keeps
/// memory flat whatever the input size and however large each record is. One element is
/// always let in, however heavy. The channel ends when every producer has called `finish`, or at
/// once when `cancel` is called.
public final class BoundedChannel<Element: Sendable>: @unchecked Sendable {
    // @unchecked: every stored property below is read and written only with `condition` held.
    private let condition = NSCondition()
    private var buffer = Deque<(element: Element, weight: Int)>()
    private let capacity: Int
    private let maxWeight: Int
    private var weight = 0
    private var producers: Int
    private var cancelled = false
    private var received = 0

    /// What a timed receive saw.
    public enum Receipt {
        /// An element, numbered in receive order from 0.
        case element(Element, sequence: Int)
        /// Nothing arrived in time.
        case idle
        /// Every producer finished (or the channel was cancelled) and the queue is empty.
        case end
    }

    /// Creates a channel holding at most `capacity` elements and at most `maxWeight` of weight,
    /// fed by `producers` producers.
    public init(capacity: Int, producers: Int, maxWeight: Int = .max) {
        self.capacity = max(1, capacity)
        self.maxWeight = max(1, maxWeight)
        self.producers = producers
    }

    /// Adds an element of `weight`, waiting while the queue is full. Throws ``PipelineStop``
    /// once cancelled.
    public func send(_ element: Element, weight: Int = 0) throws {
        condition.lock()
        defer { condition.unlock() }
        while !buffer.isEmpty && (buffer.count >= capacity || self.weight + weight > maxWeight) && !cancelled {
            condition.wait()
        }
        if cancelled { throw PipelineStop() }
        buffer.append((element, weight))
        self.weight += weight
        condition.broadcast()
    }

    /// Takes the next element, waiting for one; `nil` at the end.
    public func receive() -> Element? {
        if case .element(let e, _) = receive(timeout: nil) { return e }
        return nil
    }

    /// Takes the next element with its receive number, waiting at most `timeout` seconds
    /// (`nil`: no limit).
    public func receive(timeout: TimeInterval?) -> Receipt {
        condition.lock()
        defer { condition.unlock() }
        let deadline = timeout.map { Date(timeIntervalSinceNow: $0) }
        while buffer.isEmpty && producers > 0 && !cancelled {
            if let deadline {
                if !condition.wait(until: deadline) && buffer.isEmpty && producers > 0 && !cancelled { return .idle }
            } else {
                condition.wait()
            }
        }
        if cancelled || buffer.isEmpty { return .end }
        let (element, elementWeight) = buffer.removeFirst()
        weight -= elementWeight
        let sequence = received
        received += 1
        condition.broadcast()
        return .element(element, sequence: sequence)
    }

    /// One producer is done; when all are, receivers see the end after the queue drains.
    public func finish() {
        condition.lock()
        producers -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Ends the channel now: blocked senders throw, receivers see the end.
    public func cancel() {
        condition.lock()
        cancelled = true
        buffer.removeAll()
        weight = 0
        condition.broadcast()
        condition.unlock()
    }
}

/// Starts threads and waits for them.
final class ThreadGroup: Sendable {
    private let group = DispatchGroup()

    /// Starts `body` on a new thread with an 8 MiB stack (room for deep C recursion in Lua).
    func spawn(name: String, _ body: @escaping @Sendable () -> Void) {
        group.enter()
        let thread = Thread { [group] in
            body()
            group.leave()
        }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Waits for every thread started so far.
    func wait() { group.wait() }
}
