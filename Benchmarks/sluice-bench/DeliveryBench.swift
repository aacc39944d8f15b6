import Foundation
import SluiceCore
import SluiceRuntime
import SluiceJSON
import SluiceSQLite

/// What exactly-once delivery costs: the JSON Lines → sqlite (`key: id`) pipeline of
/// ``StoresBench`` (200,000 records of ~1.8 KB) run through the real runtime with checkpoints
/// and sink positions (what `sluice run` does) and without them (no checkpoint store: no
/// positions, no marks, no checkpoint writes). Runs alternate, five of each; the fastest of
/// each are compared (on a shared, noisy machine the fastest run is the one least disturbed),
/// and the medians are shown too. The goal is ≤ 5 %.
enum DeliveryBench {
    static func run() throws {
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("sluice-delivery-bench-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("articles.jsonl").path
        let bytes = try StoresBench.generate(to: input)
        let registry = try StageRegistry(plugins: [JSONPlugin.self, SQLitePlugin.self])
        print("json source → sqlite sink (key: id), \(StoresBench.count) records, \(String(format: "%.1f", Double(bytes) / 1e6)) MB")
        var with: [Double] = []
        var without: [Double] = []
        for round in 0..<5 {
            for exactlyOnce in [true, false] {
                let dir = folder.appendingPathComponent("run-\(round)-\(exactlyOnce)")
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                let yaml = """
                    sources:
                      in: { type: json, path: "\(input)" }
                    sinks:
                      db: { type: sqlite, inputs: [in], path: out.db, table: articles, key: id }
                    """
                let pipeline = try ConfigLoader(registry: registry).load(yaml: yaml, file: "bench.yaml", baseDirectory: dir.path)
                var options = RunOptions()
                if exactlyOnce { options.store = try SQLiteCheckpointStore(path: dir.appendingPathComponent("state.db").path) }
                let result = PipelineRunner(pipeline: pipeline, options: options, deadLetters: DiscardingDeadLetterQueue()).run()
                if let failure = result.failure { throw failure }
                guard result.delivered == StoresBench.count else {
                    throw StageError(stage: "bench", message: "delivered \(result.delivered) records")
                }
                if exactlyOnce { with.append(result.elapsed) } else { without.append(result.elapsed) }
                try? FileManager.default.removeItem(at: dir)
            }
        }
        let a = with.min() ?? 0
        let b = without.min() ?? 0
        let medianA = with.sorted()[with.count / 2]
        let medianB = without.sorted()[without.count / 2]
        for (label, seconds, median) in [("with checkpoints + positions", a, medianA), ("without (no store)", b, medianB)] {
            print(String(format: "  %-30@ %8.0f records/s  %6.1f MB/s  (fastest of 5: %.2f s, median %.2f s)",
                         label as NSString, Double(StoresBench.count) / seconds, Double(bytes) / 1e6 / seconds, seconds, median))
        }
        print(String(format: "  cost of exactly-once delivery: %+.1f %% fastest, %+.1f %% median (goal ≤ 5 %%)",
                     (a / b - 1) * 100, (medianA / medianB - 1) * 100))
    }
}
