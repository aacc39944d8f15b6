import Foundation
import SluiceCore
import SluiceRuntime
import Synchronization

/// In-memory stages for exercising the config loader and the runtime.
enum TestStages: SluicePlugin {
    static func register(in registry: inout StageRegistry) {
        registry.source("numbers", summary: "Counts from 1 to `count`.", options: [
            OptionSpec("count", .integer, default: 10, doc: "How many records."),
            OptionSpec("fail_at", .integer, doc: "Throw after this many records."),
            OptionSpec("lag", .string, default: "", doc: "Key for lag tracking."),
        ]) { o in NumberSource(count: o.int("count") ?? 10, failAt: o.int("fail_at"), name: o.name, lag: o.string("lag") ?? "") }
        registry.transform("tag", summary: "Adds a field.", options: [
            OptionSpec("field", .string, required: true, doc: "The field to set."),
            OptionSpec("value", .any, default: true, doc: "The value."),
            OptionSpec("workers", .integer, default: 1, doc: "Workers."),
            OptionSpec("jitter", .boolean, default: false, doc: "Sleep a little, unevenly, per batch."),
            OptionSpec("dead_every", .integer, doc: "Dead-letter every Nth record (by n)."),
            OptionSpec("size", .size, doc: "A size, to test parsing."),
            OptionSpec("paths", .list(.path), doc: "Paths, to test resolution."),
            OptionSpec("mode", .oneOf(["a", "b"]), default: "a", doc: "A choice."),
        ]) { o in
            TagTransform(field: o.string("field") ?? "", value: o["value"] ?? .null, workers: o.int("workers") ?? 1,
                         jitter: o.bool("jitter") ?? false, deadEvery: o.int("dead_every"))
        }
        registry.sink("memory", summary: "Keeps records in memory.", options: [
            OptionSpec("slot", .string, required: true, doc: "Where the test finds them."),
            OptionSpec("delay_ms", .integer, default: 0, doc: "Sleep per batch."),
            OptionSpec("lag", .string, default: "", doc: "Key for lag tracking."),
        ]) { o in MemorySink(slot: o.string("slot") ?? "", delay: o.int("delay_ms") ?? 0, lag: o.string("lag") ?? "") }
    }

    static var registry: StageRegistry {
        var registry = StageRegistry(plugins: [TestStages.self])
        registry.source("files", summary: "Declares the files it would read.", options: [
            OptionSpec("path", .path, required: true, doc: "A file, folder or glob."),
        ]) { o in FilesSource(files: FileSet(pattern: o.string("path") ?? "", extensions: ["jsonl"])) }
        registry.sink("file", summary: "Declares the file it would write.", options: [
            OptionSpec("path", .path, required: true, doc: "A file."),
        ]) { o in FileSink(outputFile: o.string("path")) }
        return registry
    }
}

struct FilesSource: Source {
    let files: FileSet
    var inputFiles: FileSet? { files }
    func run(_ context: SourceContext) throws {}
}

struct FileSink: Sink {
    let outputFile: String?
    func makeWriter(_ context: StageContext) throws -> any SinkWriter { Writer() }
    final class Writer: SinkWriter { func write(_ batch: [Record]) throws {}; func flush() throws {}; func close() throws {} }
}

/// Shared outputs of MemorySink, by slot name.
final class Slots: Sendable {
    static let shared = Slots()
    private let storage = Mutex<[String: [Record]]>([:])
    private let peak = Mutex<[String: Int]>([:])
    func append(_ slot: String, _ records: [Record]) { storage.withLock { $0[slot, default: []] += records } }
    func records(_ slot: String) -> [Record] { storage.withLock { $0[slot] ?? [] } }
    func reset(_ slot: String) { storage.withLock { $0[slot] = nil } }
}

/// Tracks how far a source runs ahead of its sink, per test (keyed by `lag`).
final class Lag: Sendable {
    static let shared = Lag()
    private struct Entry { var emitted = 0; var delivered = 0; var maxAhead = 0 }
    private let entries = Mutex<[String: Entry]>([:])
    func emitted(_ key: String, _ n: Int) {
        entries.withLock { e in
            e[key, default: Entry()].emitted += n
            let x = e[key]!
            e[key]!.maxAhead = max(x.maxAhead, x.emitted - x.delivered)
        }
    }
    func delivered(_ key: String, _ n: Int) { entries.withLock { $0[key, default: Entry()].delivered += n } }
    func maxAhead(_ key: String) -> Int { entries.withLock { $0[key]?.maxAhead ?? 0 } }
}

struct NumberSource: Source {
    let count: Int
    let failAt: Int?
    let name: String
    let lag: String
    func run(_ context: SourceContext) throws {
        var batch: [Record] = []
        for n in 1...max(1, count) where count > 0 {
            if let failAt, n > failAt { throw StageError(stage: name, message: "disk on fire at \(n)") }
            batch.append(Record(["n": .int(Int64(n))], origin: Origin(source: context.name, file: "numbers", line: n)))
            if batch.count == context.batchSize {
                Lag.shared.emitted(lag, batch.count)
                try context.emit(batch)
                batch = []
            }
        }
        if !batch.isEmpty { try context.emit(batch) }
    }
}

struct TagTransform: Transform {
    let field: String
    let value: Value
    let workers: Int
    let jitter: Bool
    let deadEvery: Int?
    func makeWorker(_ context: StageContext) throws -> any TransformWorker { Worker(spec: self, index: context.workerIndex) }
    final class Worker: TransformWorker {
        let spec: TagTransform
        let index: Int
        init(spec: TagTransform, index: Int) { self.spec = spec; self.index = index }
        func process(_ batch: [Record], into output: inout TransformOutput) throws {
            if spec.jitter, let n = batch.first?["n"]?.intValue {
                usleep(UInt32((n * 7919) % 5) * 300)
            }
            for var r in batch {
                if let every = spec.deadEvery, let n = r["n"]?.intValue, n % Int64(every) == 0 {
                    output.deadLetter(r, error: "record \(n) is unlucky")
                    continue
                }
                r[spec.field] = spec.value
                output.emit(r)
            }
        }
    }
}

struct MemorySink: Sink {
    let slot: String
    let delay: Int
    let lag: String
    func makeWriter(_ context: StageContext) throws -> any SinkWriter { Writer(slot: slot, delay: delay, lag: lag) }
    final class Writer: SinkWriter {
        let slot: String
        let delay: Int
        let lag: String
        init(slot: String, delay: Int, lag: String) { self.slot = slot; self.delay = delay; self.lag = lag }
        func write(_ batch: [Record]) throws {
            if delay > 0 { usleep(UInt32(delay * 1000)) }
            Lag.shared.delivered(lag, batch.count)
            Slots.shared.append(slot, batch)
        }
        func flush() throws {}
        func close() throws {}
    }
}

/// Loads YAML text with the test stages, from a config "file" named test.yaml in `/tmp/cfg`.
func load(_ yaml: String, variables: [String: String] = [:]) throws(ConfigError) -> Pipeline {
    try ConfigLoader(registry: TestStages.registry, variables: variables, defaultWorkers: 2)
        .load(yaml: yaml, file: "test.yaml", baseDirectory: "/tmp/cfg")
}

/// The diagnostics of a config that must fail.
func problems(_ yaml: String, variables: [String: String] = [:]) -> [String] {
    do {
        _ = try load(yaml, variables: variables)
        return []
    } catch {
        return error.diagnostics.map(\.description)
    }
}
