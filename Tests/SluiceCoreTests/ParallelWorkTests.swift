import SluiceCore
import Synchronization
import Testing

@Suite("ParallelWork")
struct ParallelWorkTests {
    @Test("results come back in index order, whatever the number of threads and pieces",
          arguments: [1, 2, 3, 8], [0, 1, 2, 7, 1000])
    func inIndexOrder(workers: Int, count: Int) {
        let results = ParallelWork.map(count: count, workers: workers) { index in
            // Uneven work, so that threads finish their pieces out of order.
            var x = UInt64(index)
            for _ in 0..<((index * 7919) % 500) { x = x &* 6364136223846793005 &+ 1442695040888963407 }
            return (index, String(index), x)
        }
        #expect(results.map(\.0) == Array(0..<count))
        #expect(results.map(\.1) == (0..<count).map(String.init))
    }

    @Test("each piece runs exactly once")
    func eachPieceOnce() {
        let runs = Mutex([Int](repeating: 0, count: 500))
        let results = ParallelWork.map(count: 500, workers: 4) { index in
            runs.withLock { $0[index] += 1 }
            return index * 2
        }
        #expect(runs.withLock { $0 } == [Int](repeating: 1, count: 500))
        #expect(results == (0..<500).map { $0 * 2 })
    }

    @Test("with one worker every piece runs on the calling thread, in order")
    func oneWorkerRunsInOrder() {
        let order = Mutex<[Int]>([])
        _ = ParallelWork.map(count: 20, workers: 1) { index in order.withLock { $0.append(index) } }
        #expect(order.withLock { $0 } == Array(0..<20))
    }
}
