import Foundation
import SluiceCore
import SluiceRuntime
import Synchronization

/// In-memory stages for exercising the config loader and the runtime.
enum TestStages: SluicePlugin {
    static func register(in registry: inout StageRegistry) throws(RegistryError) {
        try registry.register(NumbersConfiguration.self)
        try registry.register(TagConfiguration.self)
        try registry.register(MemoryConfiguration.self)
    }

    static var registry: StageRegistry {
        do {
            var registry = try StageRegistry(plugins: [TestStages.self])
            try registry.register(FilesConfiguration.self)
            try registry.register(FileConfiguration.self)
            return registry
        } catch {
            fatalError("\(error)")
        }
    }

    struct NumbersConfiguration: SourceConfiguration {
        static let type = "numbers"
        static let summary = "Counts from 1 to `count`."
        static let example = "type: numbers\ncount: 3"
        static let options: [ConfigOption<Self>] = [
            .init("count", \.count, doc: "How many records."),
            .init("fail_at", \.failAt, doc: "Throw after this many records."),
            .init("lag", \.lag, doc: "Key for lag tracking."),
        ]
        var count = 10
        var failAt: Int?
        var lag = ""
        func makeSource(_ context: BuildContext) throws -> any Source {
            NumberSource(count: count, failAt: failAt, name: context.name, lag: lag)
        }
    }

    enum Mode: String, CaseIterable, OptionChoice { case a, b }

    struct TagConfiguration: TransformConfiguration {
        static let type = "tag"
        static let summary = "Adds a field."
        static let example = "type: tag\ninputs: numbers\nfield: seen"
        static let options: [ConfigOption<Self>] = [
            .init("field", \.field, required: true, doc: "The field to set."),
            .init("value", \.value, doc: "The value."),
            .init("workers", \.workers, doc: "Workers."),
            .init("jitter", \.jitter, doc: "Sleep a little, unevenly, per batch."),
            .init("dead_every", \.deadEvery, doc: "Dead-letter every Nth record (by n)."),
            .init("size", \.size, .size, doc: "A size, to test parsing."),
            .init("paths", \.paths, .list(.path), doc: "Paths, to test resolution."),
            .init("mode", \.mode, doc: "A choice."),
        ]
        var field = ""
        var value: Value = true
        var workers = 1
        var jitter = false
        var deadEvery: Int?
        var size: Int?
        var paths: [String] = []
        var mode = Mode.a
        func makeTransform(_ context: BuildContext) throws -> any Transform {
            TagTransform(field: field, value: value, workers: workers, jitter: jitter, deadEvery: deadEvery)
        }
    }

    struct MemoryConfiguration: SinkConfiguration {
        static let type = "memory"
        static let summary = "Keeps records in memory."
        static let example = "type: memory\ninputs: numbers\nslot: out"
        static let options: [ConfigOption<Self>] = [
            .init("slot", \.slot, required: true, doc: "Where the test finds them."),
            .init("delay_ms", \.delay, doc: "Sleep per batch."),
            .init("lag", \.lag, doc: "Key for lag tracking."),
        ]
        var slot = ""
        var delay = 0
        var lag = ""
        func makeSink(_ context: BuildContext) throws -> any Sink { MemorySink(slot: slot, delay: delay, lag: lag) }
    }

    struct FilesConfiguration: SourceConfiguration {
        static let type = "files"
        static let summary = "Declares the files it would read."
        static let example = "type: files\npath: in"
        static let options: [ConfigOption<Self>] = [.init("path", \.path, .path, required: true, doc: "A file, folder or glob.")]
        var path = ""
        func makeSource(_ context: BuildContext) throws -> any Source {
            FilesSource(files: FileSet(pattern: path, extensions: ["jsonl"]))
        }
    }

    struct FileConfiguration: SinkConfiguration {
        static let type = "file"
        static let summary = "Declares the file it would write."
        static let example = "type: file\ninputs: numbers\npath: out.jsonl"
        static let options: [ConfigOption<Self>] = [.init("path", \.path, .path, required: true, doc: "A file.")]
        var path = ""
        func makeSink(_ context: BuildContext) throws -> any Sink { FileSink(outputFile: path) }
    }
}

struct FilesSource: Source {
    let files: FileSet
    var resources: [StageResource] { [.reads(files)] }
    func run(_ context: SourceContext) throws {}
}

struct FileSink: Sink {
    let outputFile: String?
    var resources: [StageResource] { outputFile.map { [.writes($0)] } ?? [] }
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
