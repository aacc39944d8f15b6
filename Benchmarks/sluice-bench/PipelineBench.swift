import Foundation
import SluiceCore
import SluiceRuntime
import SluiceLuaStages

/// The `lua` stage inside a real pipeline (config loader, runtime, bounded channels): a trivial
/// rule and the shipped `Scripts/extract_facts.lua`, with 1 worker and with one per core, on
/// the article-like records of ``LuaBench`` (FACTS.md's shape, ~1.8 KB each).
enum PipelineBench {
    static func run() throws {
        let count = Int(ProcessInfo.processInfo.environment["PIPELINE_BENCH_RECORDS"] ?? "") ?? 20_000
        let records = LuaBench.makeRecords(count)
        let bytes = records.reduce(0) { total, record in
            var out: [UInt8] = []
            JSONWriter.write(record.fields, to: &out)
            return total + out.count
        }
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let folder = NSTemporaryDirectory() + "sluice-pipeline-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let trivial = folder + "/trivial.lua"
        try "function process(record) return record end\n".write(toFile: trivial, atomically: true, encoding: .utf8)
        let facts = repository + "/Scripts/extract_facts.lua"

        let cores = ProcessInfo.processInfo.activeProcessorCount
        print("memory source → lua → counting sink, \(count) records of \(bytes / count) bytes, \(cores) cores")
        var registry = try StageRegistry(plugins: [LuaPlugin.self])
        MemorySource.records = records
        try registry.register(MemorySource.Configuration.self)
        try registry.register(CountSink.Configuration.self)
        for (label, script) in [("trivial rule", trivial), ("extract_facts.lua", facts)] {
            var single: Double = 0
            for workers in Array(Set([1, cores])).sorted() {
                let yaml = """
                    sources:
                      in: { type: memory }
                    transforms:
                      rule: { type: lua, inputs: [in], script: "\(script)", workers: \(workers) }
                    sinks:
                      out: { type: count, inputs: [rule] }
                    """
                let pipeline = try ConfigLoader(registry: registry).load(yaml: yaml, file: "bench.yaml", baseDirectory: folder)
                let letters = CollectingDeadLetterQueue()
                let result = PipelineRunner(pipeline: pipeline, deadLetters: letters).run()
                if let failure = result.failure { throw failure }
                let rate = Double(result.delivered) / result.elapsed
                if workers == 1 { single = rate }
                let scaling = workers > 1 && single > 0 ? String(format: "  (%.2f× one worker)", rate / single) : ""
                let name = label.padding(toLength: 18, withPad: " ", startingAt: 0)
                print(String(format: "  %@ %d worker%@  %8.0f records/s  %6.1f MB/s  %7.2f µs/record%@",
                             name, workers, workers == 1 ? " " : "s", rate,
                             Double(bytes) / 1_000_000 / result.elapsed, 1_000_000 / rate, scaling))
                if !letters.letters.isEmpty { print("    \(letters.letters.count) dead letters: \(letters.letters[0].error)") }
            }
        }
    }

    struct MemorySource: Source {
        /// The records every memory source emits (set once before the runs).
        nonisolated(unsafe) static var records: [Record] = []
        struct Configuration: SourceConfiguration {
            static let type = "memory"
            static let summary = "Benchmark records."
            static let example = "type: memory"
            static let options: [ConfigOption<Self>] = []
            func makeSource(_ context: BuildContext) throws -> any Source { MemorySource(records: MemorySource.records) }
        }
        let records: [Record]
        func run(_ context: SourceContext) throws {
            var start = 0
            while start < records.count {
                try context.emit(Array(records[start..<min(records.count, start + context.batchSize)]))
                start += context.batchSize
            }
        }
    }

    struct CountSink: Sink {
        struct Configuration: SinkConfiguration {
            static let type = "count"
            static let summary = "Counts."
            static let example = "type: count\ninputs: in"
            static let options: [ConfigOption<Self>] = []
            func makeSink(_ context: BuildContext) throws -> any Sink { CountSink() }
        }
        func makeWriter(_ context: StageContext) throws -> any SinkWriter { Writer() }
        final class Writer: SinkWriter {
            func write(_ batch: [Record]) throws {}
            func flush() throws {}
            func close() throws {}
        }
    }
}
