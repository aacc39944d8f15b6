import Foundation
import SluiceCore
import SluiceRuntime
import Testing

@Suite("Pipeline runtime")
struct RuntimeTests {
    func run(_ yaml: String, batchSize: Int = 256, capacity: Int = 8, stopAfter: TimeInterval? = nil) throws
        -> (RunResult, CollectingDeadLetterQueue)
    {
        let pipeline = try load(yaml)
        var options = RunOptions()
        options.batchSize = batchSize
        options.channelCapacity = capacity
        let letters = CollectingDeadLetterQueue()
        let runner = PipelineRunner(pipeline: pipeline, options: options, deadLetters: letters)
        if let stopAfter {
            DispatchQueue.global().asyncAfter(deadline: .now() + stopAfter) { runner.requestStop() }
        }
        return (runner.run(), letters)
    }

    func numbers(_ slot: String) -> [Int64] { Slots.shared.records(slot).compactMap { $0["n"]?.intValue } }

    @Test("fan-out: every sink that reads a stage gets every record")
    func fanOut() throws {
        let (result, _) = try run("""
            sources:
              nums: { type: numbers, count: 1000 }
            sinks:
              a: { type: memory, inputs: [nums], slot: fanout-a }
              b: { type: memory, inputs: [nums], slot: fanout-b }
            """)
        #expect(result.failure == nil)
        #expect(numbers("fanout-a") == Array(1...1000))
        #expect(numbers("fanout-b") == Array(1...1000))
        #expect(result.delivered == 2000)
    }

    @Test("fan-in: a stage reading two sources gets the records of both")
    func fanIn() throws {
        let (result, _) = try run("""
            sources:
              one: { type: numbers, count: 300 }
              two: { type: numbers, count: 500 }
            transforms:
              t: { type: tag, inputs: [one, two], field: seen }
            sinks:
              out: { type: memory, inputs: [t], slot: fanin }
            """)
        #expect(result.failure == nil)
        let got = Slots.shared.records("fanin")
        #expect(got.count == 800)
        #expect(got.filter { $0.origin.source == "one" }.count == 300)
        #expect(got.allSatisfy { $0["seen"] == .bool(true) })
        #expect(result.counts.first { $0.name == "t" }?.received == 800)
    }

    @Test("with 4 workers and uneven work, output keeps input order")
    func orderedWorkers() throws {
        let (result, _) = try run("""
            sources:
              nums: { type: numbers, count: 20000 }
            transforms:
              t: { type: tag, inputs: [nums], field: seen, workers: 4, jitter: true }
            sinks:
              out: { type: memory, inputs: [t], slot: ordered }
            """, batchSize: 16)
        #expect(result.failure == nil)
        #expect(numbers("ordered") == Array(1...20000))
    }

    @Test("backpressure: a slow sink holds the source back to a bounded lead")
    func backpressure() throws {
        let (result, _) = try run("""
            sources:
              nums: { type: numbers, count: 20000, lag: bp }
            sinks:
              out: { type: memory, inputs: [nums], slot: bp, delay_ms: 1, lag: bp }
            """, batchSize: 100, capacity: 4)
        #expect(result.failure == nil)
        #expect(numbers("bp").count == 20000)
        // At most: the queue (4 batches), one batch in the sink's hands, one being sent.
        #expect(Lag.shared.maxAhead("bp") <= 7 * 100)
    }

    @Test("dead letters from a transform are counted and the other records go on")
    func deadLettersCounted() throws {
        let (result, letters) = try run("""
            sources:
              nums: { type: numbers, count: 100 }
            transforms:
              t: { type: tag, inputs: [nums], field: seen, dead_every: 10 }
            sinks:
              out: { type: memory, inputs: [t], slot: dead }
            """)
        #expect(result.failure == nil)
        #expect(result.deadLetters == 10)
        #expect(numbers("dead").count == 90)
        #expect(letters.letters.count == 10)
        let first = try #require(letters.letters.first)
        #expect(first.stage == "t")
        #expect(first.error == "record 10 is unlucky")
        #expect(first.origin?.location == "numbers:10")
        #expect(first.record?["n"] == .int(10))
    }

    @Test("a fatal error in a source stops the run and names the stage, without hanging")
    func fatalSourceError() throws {
        let (result, _) = try run("""
            sources:
              nums: { type: numbers, count: 100000, fail_at: 5000 }
            transforms:
              t: { type: tag, inputs: [nums], field: seen, workers: 3 }
            sinks:
              out: { type: memory, inputs: [t], slot: fatal, delay_ms: 1 }
            """, batchSize: 50)
        #expect(result.failure?.stage == "nums")
        #expect(result.failure?.message.contains("disk on fire at 5001") == true)
        #expect(result.stopped == false)
    }

    @Test("a stop request ends the input early but delivers what was read")
    func stopRequest() throws {
        let (result, _) = try run("""
            sources:
              nums: { type: numbers, count: 10000000 }
            sinks:
              out: { type: memory, inputs: [nums], slot: stop, delay_ms: 1 }
            """, batchSize: 100, stopAfter: 0.2)
        #expect(result.stopped)
        #expect(result.failure == nil)
        let got = numbers("stop")
        #expect(got.count > 0 && got.count < 10_000_000)
        #expect(got == Array(1...Int64(got.count)))
        let source = try #require(result.counts.first { $0.name == "nums" })
        #expect(source.emitted == got.count)
    }
}
