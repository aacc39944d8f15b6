import Testing
@testable import SluiceCore
@testable import SluiceRuntime

/// Stages that declare resources only (no type is special): `db` shares a database through
/// its locks, `rule` reads a script named by `script`, `export` writes the file named by `out`.
private struct ResourceSource: Source {
    let declared: [StageResource]
    var resources: [StageResource] { declared }
    func run(_ context: SourceContext) throws {}
}

private struct ResourceTransform: Transform {
    let declared: [StageResource]
    var resources: [StageResource] { declared }
    func makeWorker(_ context: StageContext) throws -> any TransformWorker { Worker() }
    final class Worker: TransformWorker { func process(_ batch: [Record], into output: inout TransformOutput) throws {} }
}

private struct ResourceSink: Sink {
    let declared: [StageResource]
    var resources: [StageResource] { declared }
    func makeWriter(_ context: StageContext) throws -> any SinkWriter { Writer() }
    final class Writer: SinkWriter { func write(_ batch: [Record]) throws {}; func flush() throws {}; func close() throws {} }
}

private struct DatabaseSourceConfiguration: SourceConfiguration {
    static let type = "db"
    static let summary = "Reads a database through its locks."
    static let example = "type: db\npath: a.db"
    static let options: [ConfigOption<Self>] = [.init("path", \.path, .path, required: true, doc: "A file.")]
    var path = ""
    func makeSource(_ context: BuildContext) throws -> any Source {
        ResourceSource(declared: [.database(path, writes: false)])
    }
}

private struct DatabaseSinkConfiguration: SinkConfiguration {
    static let type = "db"
    static let summary = "Writes a database through its locks."
    static let example = "type: db\ninputs: x\npath: a.db"
    static let options: [ConfigOption<Self>] = [.init("path", \.path, .path, required: true, doc: "A file.")]
    var path = ""
    func makeSink(_ context: BuildContext) throws -> any Sink { ResourceSink(declared: [.database(path, writes: true)]) }
}

private struct RawDatabaseSinkConfiguration: SinkConfiguration {
    static let type = "rawdb"
    static let summary = "Writes a database file plainly."
    static let example = "type: rawdb\ninputs: x\npath: a.db"
    static let options: [ConfigOption<Self>] = [.init("path", \.path, .path, required: true, doc: "A file.")]
    var path = ""
    func makeSink(_ context: BuildContext) throws -> any Sink { ResourceSink(declared: [.writes(path)]) }
}

private struct RuleConfiguration: TransformConfiguration {
    static let type = "rule"
    static let summary = "Reads a script."
    static let example = "type: rule\ninputs: x\nscript: a.lua"
    static let options: [ConfigOption<Self>] = [.init("script", \.script, .path, required: true, doc: "The script.")]
    var script = ""
    func makeTransform(_ context: BuildContext) throws -> any Transform {
        ResourceTransform(declared: [.reads(FileSet(pattern: script), option: "script")])
    }
}

private struct ExportConfiguration: SinkConfiguration {
    static let type = "export"
    static let summary = "Writes the file named by 'out'."
    static let example = "type: export\ninputs: x\nout: a.csv"
    static let options: [ConfigOption<Self>] = [.init("out", \.out, .path, required: true, doc: "The file.")]
    var out = ""
    func makeSink(_ context: BuildContext) throws -> any Sink { ResourceSink(declared: [.writes(out, option: "out")]) }
}

private func registry() throws -> StageRegistry {
    var registry = TestStages.registry
    try registry.register(DatabaseSourceConfiguration.self)
    try registry.register(DatabaseSinkConfiguration.self)
    try registry.register(RawDatabaseSinkConfiguration.self)
    try registry.register(RuleConfiguration.self)
    try registry.register(ExportConfiguration.self)
    return registry
}

private func clashes(_ yaml: String) -> [String] {
    do {
        _ = try ConfigLoader(registry: registry(), defaultWorkers: 2).load(yaml: yaml, file: "test.yaml", baseDirectory: "/tmp/cfg")
        return []
    } catch let error as ConfigError {
        return error.diagnostics.map(\.description)
    } catch {
        return ["\(error)"]
    }
}

@Suite("Resource clashes: decided by the stages' declared resources, not their type names")
struct ResourceClashTests {
    @Test("one file written by two stages is refused at the place of the option that declared the second")
    func twoWriters() {
        #expect(clashes("""
            sources:
              numbers: { type: numbers }
            sinks:
              a: { type: export, inputs: [numbers], out: out/x.jsonl }
              b: { type: export, inputs: [numbers], out: out/./x.jsonl }
            """) == ["test.yaml:5:46: error: sink 'b': sink 'a' also writes out/x.jsonl; one file takes one writer"])
    }

    @Test("a source and a sink that share one database through its locks are allowed, of any type names")
    func sharedDatabase() {
        #expect(clashes("""
            sources:
              rows: { type: db, path: data/app.db }
            sinks:
              back: { type: db, inputs: [rows], path: data/app.db }
              again: { type: db, inputs: [rows], path: data/app.db }
            """) == [])
    }

    @Test("a plain reader of a database another stage writes, or a plain writer of a shared database, is refused")
    func plainUseOfSharedDatabase() {
        #expect(clashes("""
            sources:
              dumps: { type: files, path: "data/*.jsonl" }
            sinks:
              db: { type: db, inputs: [dumps], path: data/app.jsonl }
            """) == ["test.yaml:4:42: error: sink 'db': writes data/app.jsonl, which source 'dumps' reads; the run would destroy its own input (write to another file)"])
        #expect(clashes("""
            sources:
              rows: { type: db, path: data/app.db }
            sinks:
              raw: { type: rawdb, inputs: [rows], path: data/app.db }
            """) == ["test.yaml:4:45: error: sink 'raw': writes data/app.db, which source 'rows' reads; the run would destroy its own input (write to another file)"])
        #expect(clashes("""
            sources:
              numbers: { type: numbers }
            sinks:
              db: { type: db, inputs: [numbers], path: data/app.db }
              raw: { type: rawdb, inputs: [numbers], path: data/app.db }
            """) == ["test.yaml:5:48: error: sink 'raw': sink 'db' also writes data/app.db; one file takes one writer"])
    }

    @Test("a sink may not overwrite a transform's script, declared by its 'script' option")
    func scriptIsRead() {
        #expect(clashes("""
            sources:
              numbers: { type: numbers }
            transforms:
              r: { type: rule, inputs: [numbers], script: rules/r.lua }
            sinks:
              out: { type: export, inputs: [r], out: rules/r.lua }
            """) == ["test.yaml:6:42: error: sink 'out': writes rules/r.lua, which transform 'r' reads; the run would destroy its own input (write to another file)"])
    }

    @Test("the dead-letter file may not be a shared database either")
    func deadLetterOnDatabase() {
        #expect(clashes("""
            dead_letter: data/app.db
            sources:
              numbers: { type: numbers }
            sinks:
              db: { type: db, inputs: [numbers], path: data/app.db }
            """) == ["test.yaml:1:14: error: 'dead_letter': sink 'db' also writes data/app.db; one file takes one writer"])
    }
}
