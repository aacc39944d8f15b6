import Dispatch
import Synchronization

/// Independent pieces of work run on several threads, their results handed back in order.
///
/// For a source whose inputs can be worked on apart (the `text_articles` source parses one file
/// into one record), while everything that must stay in input order — emitting, checkpoints,
/// dead letters, logging — stays on the source's own thread: it maps a group of inputs with
/// ``map(count:workers:_:)``, then walks the results in order.
public enum ParallelWork {
    /// `body(0)`, `body(1)`, … `body(count - 1)`, run on up to `workers` threads at once (the
    /// calling thread among them), in the order of their indexes.
    ///
    /// Each thread takes the next index not yet taken, so a slow piece does not hold up the
    /// others. With `workers <= 1`, or a single piece, everything runs on the calling thread.
    /// The call returns once every piece is done; `body` must not depend on the order in which
    /// pieces run.
    public static func map<T: Sendable>(count: Int, workers: Int, _ body: @Sendable (Int) -> T) -> [T] {
        guard workers > 1, count > 1 else { return (0..<count).map(body) }
        let threads = min(workers, count)
        let next = Atomic<Int>(0)
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard let base = buffer.baseAddress else { return }
            let slots = Slots(base: base)
            DispatchQueue.concurrentPerform(iterations: threads) { _ in
                while true {
                    let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    if index >= count { break }
                    // Each index is taken by exactly one thread: its slot is written once.
                    (slots.base + index).initialize(to: body(index))
                }
            }
            // concurrentPerform returns after every iteration ended: every slot is written,
            // and its writes are visible here.
            initialized = count
        }
    }

    /// The result buffer, shared by the threads; each writes only the slots of the indexes it
    /// took.
    private struct Slots<T>: @unchecked Sendable {
        let base: UnsafeMutablePointer<T>
    }
}
