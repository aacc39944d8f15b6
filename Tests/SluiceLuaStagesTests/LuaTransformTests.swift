import Foundation
import SluiceCore
import SluiceRuntime
import SluiceLuaStages
import SluiceTestSupport
import Synchronization
import Testing

// MARK: - In-memory stages for whole-pipeline tests

/// Records `{n: 0}`, `{n: 1}`, … in batches.
struct NumberSource: Source {
    struct Configuration: SourceConfiguration {
        static let type = "numbers"
        static let summary = "Test numbers."
        static let example = "type: numbers\ncount: 3"
        static let options: [ConfigOption<Self>] = [.init("count", \.count, required: true, doc: "how many")]
        var count = 0
        func makeSource(_ context: BuildContext) throws -> any Source { NumberSource(count: count) }
    }
    let count: Int
    func run(_ context: SourceContext) throws {
        var batch: [Record] = []
        for n in 0..<count {
            batch.append(Record(["n": .int(Int64(n))], origin: Origin(source: context.name, file: "numbers", line: n + 1)))
            if batch.count == context.batchSize {
                try context.emit(batch)
                batch.removeAll()
            }
        }
        try context.emit(batch)
    }
}

/// Keeps what reaches a sink, by sink name.
final class Collected: Sendable {
    private let storage = Mutex<[String: [Record]]>([:])
    func add(_ records: [Record], to sink: String) { storage.withLock { $0[sink, default: []] += records } }
    func records(_ sink: String) -> [Record] { storage.withLock { $0[sink] ?? [] } }
}

struct CollectSink: Sink {
    struct Configuration: SinkConfiguration {
        static let type = "collect"
        static let summary = "Test sink."
        static let example = "type: collect\ninputs: rule"
        static let options: [ConfigOption<Self>] = []
        /// Where records go: a fixture's own store, handed in at registration.
        var collected = Collected()
        func makeSink(_ context: BuildContext) throws -> any Sink { CollectSink(collected: collected) }
    }
    let collected: Collected
    func makeWriter(_ context: StageContext) throws -> any SinkWriter { Writer(collected: collected, name: context.name) }
    final class Writer: SinkWriter {
        let collected: Collected
        let name: String
        init(collected: Collected, name: String) { self.collected = collected; self.name = name }
        func write(_ batch: [Record]) throws { collected.add(batch, to: name) }
        func flush() throws {}
        func close() throws {}
    }
}

/// A registry with the Lua family and the in-memory test stages.
func registry(_ collected: Collected) throws(RegistryError) -> StageRegistry {
    var registry = try StageRegistry(plugins: [LuaPlugin.self])
    try registry.register(NumberSource.Configuration.self)
    try registry.register(CollectSink.Configuration.self, from: CollectSink.Configuration(collected: collected))
    return registry
}

/// A config folder with files, loaded with the test registry.
struct PipelineFixture {
    let directory = TemporaryDirectory("sluice-lua-stage")
    let collected = Collected()

    func load(_ yaml: String, files: [String: String], workers: Int = 2) throws(ConfigError) -> Pipeline {
        for (name, text) in files { _ = try? directory.write(name, text) }
        let config = (try? directory.write("pipeline.yaml", yaml)) ?? directory.file("pipeline.yaml")
        let stages: StageRegistry
        do {
            stages = try registry(collected)
        } catch {
            throw ConfigError(SourcePosition(file: config, line: 1, column: 1), "\(error)")
        }
        return try ConfigLoader(registry: stages, variables: [:], defaultWorkers: workers).load(path: config)
    }

    /// The problems a config has, as `file:line:col: message` lines (file names shortened).
    func problems(_ yaml: String, files: [String: String]) -> [String] {
        do {
            _ = try load(yaml, files: files)
            return []
        } catch {
            return error.diagnostics.map { d in
                let file = d.position.file.hasPrefix(directory.path) ? String(d.position.file.dropFirst(directory.path.count + 1)) : d.position.file
                return "\(file):\(d.position.line):\(d.position.column): \(d.message)"
            }
        }
    }
}

// MARK: - Tests

@Suite("The lua and filter transforms in pipelines")
struct LuaTransformTests {
    @Test("20,000 records through 4 Lua workers come out complete and in input order")
    func orderedWorkers() throws {
        let fixture = PipelineFixture()
        let pipeline = try fixture.load("""
            sources:
              numbers: { type: numbers, count: 20000 }
            transforms:
              rule:
                type: lua
                inputs: [numbers]
                script: rule.lua
                workers: 4
            sinks:
              out: { type: collect, inputs: [rule] }
            """, files: ["rule.lua": """
                function process(r)
                  -- uneven work so that workers finish their batches out of order
                  local spin = (r.n * 7919) % 2000
                  local x = 0
                  for i = 1, spin do x = x + i end
                  r.square = r.n * r.n
                  r.worker = sluice.worker
                  return r
                end
                """])
        let letters = CollectingDeadLetterQueue()
        let result = PipelineRunner(pipeline: pipeline, deadLetters: letters).run()
        #expect(result.failure == nil)
        let records = fixture.collected.records("out")
        #expect(records.count == 20_000)
        #expect(records.map { $0["n"]?.intValue ?? -1 } == (0..<20_000).map(Int64.init))
        #expect(records.allSatisfy { $0["square"]?.intValue == ($0["n"]?.intValue).map { $0 * $0 } })
        #expect(records.allSatisfy { (0..<4).contains($0["worker"]?.intValue ?? -1) })
        #expect(letters.letters.isEmpty)
    }

    @Test("ordered: false still delivers every record")
    func unorderedWorkers() throws {
        let fixture = PipelineFixture()
        let pipeline = try fixture.load("""
            sources:
              numbers: { type: numbers, count: 5000 }
            transforms:
              rule: { type: lua, inputs: [numbers], script: rule.lua, workers: 3, ordered: false }
            sinks:
              out: { type: collect, inputs: [rule] }
            """, files: ["rule.lua": "function process(r) return r end"])
        _ = PipelineRunner(pipeline: pipeline, deadLetters: CollectingDeadLetterQueue()).run()
        let numbers = fixture.collected.records("out").compactMap { $0["n"]?.intValue }.sorted()
        #expect(numbers == (0..<5000).map(Int64.init))
    }

    @Test("a failing record becomes a dead letter with script line and traceback; the others go on")
    func deadLetters() throws {
        let fixture = PipelineFixture()
        let pipeline = try fixture.load("""
            sources:
              numbers: { type: numbers, count: 10 }
            transforms:
              rule: { type: lua, inputs: [numbers], script: scripts/rule.lua, max_instructions: 100000 }
            sinks:
              out: { type: collect, inputs: [rule] }
            """, files: ["scripts/rule.lua": """
                function process(r)
                  if r.n == 3 then return r.missing.field end
                  if r.n == 5 then while true do end end
                  if r.n == 7 then return nil end
                  return r
                end
                """])
        let letters = CollectingDeadLetterQueue()
        let result = PipelineRunner(pipeline: pipeline, deadLetters: letters).run()
        #expect(fixture.collected.records("out").map { $0["n"]?.intValue ?? -1 } == [0, 1, 2, 4, 6, 8, 9])
        let errors = letters.letters.map(\.error)
        #expect(errors == ["scripts/rule.lua:2: attempt to index a nil value (field 'missing')",
                           "scripts/rule.lua:3: instruction limit of 100000 exceeded"])
        let first = try #require(letters.letters.first)
        #expect(first.stage == "rule")
        #expect(first.record == ["n": 3])
        #expect(first.origin?.location == "numbers:4")
        #expect(first.details["script_line"] == "if r.n == 3 then return r.missing.field end")
        #expect(first.details["traceback"]?.stringValue?.contains("scripts/rule.lua:2: in function 'process'") == true)
        let counts = try #require(result.counts.first { $0.name == "rule" })
        #expect(counts.dropped == 1)
        #expect(counts.deadLettered == 2)
    }

    @Test("on_error: drop drops failing records, on_error: fail stops the pipeline naming the stage")
    func errorPolicies() throws {
        let script = ["rule.lua": "function process(r) if r.n == 2 then error('bad record') end return r end"]
        let drop = PipelineFixture()
        let dropping = try drop.load("""
            sources: { numbers: { type: numbers, count: 5 } }
            transforms: { rule: { type: lua, inputs: [numbers], script: rule.lua, on_error: drop } }
            sinks: { out: { type: collect, inputs: [rule] } }
            """, files: script)
        let letters = CollectingDeadLetterQueue()
        let dropped = PipelineRunner(pipeline: dropping, deadLetters: letters).run()
        #expect(drop.collected.records("out").count == 4)
        #expect(letters.letters.isEmpty)
        #expect(dropped.failure == nil)

        let fail = PipelineFixture()
        let failing = try fail.load("""
            sources: { numbers: { type: numbers, count: 5 } }
            transforms: { rule: { type: lua, inputs: [numbers], script: rule.lua, on_error: fail } }
            sinks: { out: { type: collect, inputs: [rule] } }
            """, files: script)
        let failed = PipelineRunner(pipeline: failing, deadLetters: CollectingDeadLetterQueue()).run()
        #expect(failed.failure?.stage == "rule")
        #expect(failed.failure?.message == "rule.lua:1: bad record (record from numbers:3)")
    }

    @Test("finish emits aggregates at the end of the input, once per worker")
    func finishInPipeline() throws {
        let fixture = PipelineFixture()
        let pipeline = try fixture.load("""
            sources: { numbers: { type: numbers, count: 100 } }
            transforms:
              total: { type: lua, inputs: [numbers], script: sum.lua, workers: 1, options: { label: sum } }
            sinks: { out: { type: collect, inputs: [total] } }
            """, files: ["sum.lua": """
                local total, label = 0, nil
                function init(options) label = options.label end
                function process(r) total = total + r.n end
                function finish(emit) emit({ [label] = total }) end
                """])
        let result = PipelineRunner(pipeline: pipeline, deadLetters: CollectingDeadLetterQueue()).run()
        #expect(result.failure == nil)
        #expect(fixture.collected.records("out").map(\.fields) == [["sum": 4950]])
        #expect(fixture.collected.records("out").first?.origin.source == "total")
    }

    @Test("an unknown option does not hide the stage's own problems: the script's syntax error is reported in the same pass")
    func unknownOptionAndScriptErrorTogether() {
        let fixture = PipelineFixture()
        let problems = fixture.problems("""
            sources: { numbers: { type: numbers, count: 1 } }
            transforms: { rule: { type: lua, inputs: [numbers], script: bad.lua, workrs: 2 } }
            sinks: { out: { type: collect, inputs: [rule] } }
            """, files: ["bad.lua": "function process(r)\n  return r +\nend\n"])
        #expect(problems.count == 2, "\(problems)")
        #expect(problems.contains { $0.contains("unknown option 'workrs'; did you mean 'workers'?") })
        #expect(problems.contains { $0.hasPrefix("bad.lua:3:") })
    }

    @Test("a script with finish runs on one worker unless the config sets workers, so its aggregate is one total")
    func finishDefaultsToOneWorker() throws {
        let fixture = PipelineFixture()
        let sum = """
            local total = 0
            function process(r) total = total + r.n end
            function finish(emit) emit({ sum = total }) end
            """
        let implicit = try fixture.load("""
            sources: { numbers: { type: numbers, count: 2000 } }
            transforms: { total: { type: lua, inputs: [numbers], script: sum.lua } }
            sinks: { out: { type: collect, inputs: [total] } }
            """, files: ["sum.lua": sum], workers: 4)
        _ = PipelineRunner(pipeline: implicit, deadLetters: CollectingDeadLetterQueue()).run()
        #expect(fixture.collected.records("out").map(\.fields) == [["sum": 1_999_000]])
        let explicit = PipelineFixture()
        let pipeline = try explicit.load("""
            sources: { numbers: { type: numbers, count: 2000 } }
            transforms: { total: { type: lua, inputs: [numbers], script: sum.lua, workers: 3 } }
            sinks: { out: { type: collect, inputs: [total] } }
            """, files: ["sum.lua": sum], workers: 4)
        _ = PipelineRunner(pipeline: pipeline, deadLetters: CollectingDeadLetterQueue()).run()
        let partials = explicit.collected.records("out").compactMap { $0["sum"]?.intValue }
        #expect(partials.count == 3 && partials.reduce(0, +) == 1_999_000)
    }

    @Test("a filter condition's syntax error points at the user's text, and its dead letters quote the condition")
    func filterMessagesShowTheCondition() throws {
        let fixture = PipelineFixture()
        let problems = fixture.problems("""
            sources: { numbers: { type: numbers, count: 1 } }
            transforms: { f: { type: filter, inputs: [numbers], condition: "record.n >" } }
            sinks: { out: { type: collect, inputs: [f] } }
            """, files: [:])
        #expect(problems.count == 1)
        #expect(problems.first?.contains("the condition does not compile: condition:1: unexpected symbol near <eof>") == true,
                "\(problems)")
        let pipeline = try fixture.load("""
            sources: { numbers: { type: numbers, count: 2 } }
            transforms: { f: { type: filter, inputs: [numbers], condition: "record.n > 0 and record.missing > 1" } }
            sinks: { out: { type: collect, inputs: [f] } }
            """, files: [:])
        let letters = CollectingDeadLetterQueue()
        _ = PipelineRunner(pipeline: pipeline, deadLetters: letters).run()
        #expect(letters.letters.map(\.error) == ["condition:1: attempt to compare number with nil (record.missing is nil: the record has no field 'missing')"])
        #expect(letters.letters.first?.details["script_line"] == .string("record.n > 0 and record.missing > 1"))
    }

    @Test("a filter condition over its memory cap fails that record; the state is rebuilt and the next records pass")
    func filterMemoryErrorRebuildsState() throws {
        let fixture = PipelineFixture()
        let pipeline = try fixture.load("""
            sources: { numbers: { type: numbers, count: 4 } }
            transforms:
              f: { type: filter, inputs: [numbers], max_memory: 2MiB, workers: 1,
                   condition: "record.n ~= 1 or #string.rep('x', 8000000) > 0" }
            sinks: { out: { type: collect, inputs: [f] } }
            """, files: [:])
        let letters = CollectingDeadLetterQueue()
        _ = PipelineRunner(pipeline: pipeline, deadLetters: letters).run()
        #expect(fixture.collected.records("out").compactMap { $0["n"]?.intValue } == [0, 2, 3])
        #expect(letters.letters.count == 1)
        #expect(letters.letters.first?.error.contains("memory limit") == true, "\(letters.letters.map(\.error))")
    }

    @Test("filter keeps truthy records and drops false, nil and null ones")
    func filter() throws {
        let fixture = PipelineFixture()
        let pipeline = try fixture.load("""
            sources: { numbers: { type: numbers, count: 20 } }
            transforms:
              even: { type: filter, inputs: [numbers], condition: "record.n % 2 == 0 and record.n >= 10" }
              nulls: { type: filter, inputs: [numbers], condition: "record.n < 3 and sluice.null or record.n < 5 and record.n" }
            sinks:
              out: { type: collect, inputs: [even] }
              out2: { type: collect, inputs: [nulls] }
            """, files: [:])
        let result = PipelineRunner(pipeline: pipeline, deadLetters: CollectingDeadLetterQueue()).run()
        #expect(fixture.collected.records("out").compactMap { $0["n"]?.intValue } == [10, 12, 14, 16, 18])
        #expect(fixture.collected.records("out2").compactMap { $0["n"]?.intValue } == [3, 4])
        #expect(result.counts.first { $0.name == "even" }?.dropped == 15)
    }

    @Test("an error in a filter condition follows on_error and names the condition")
    func filterErrors() throws {
        let fixture = PipelineFixture()
        let pipeline = try fixture.load("""
            sources: { numbers: { type: numbers, count: 4 } }
            transforms:
              f: { type: filter, inputs: [numbers], condition: "record.n < 2 or record.missing > 1" }
            sinks: { out: { type: collect, inputs: [f] } }
            """, files: [:])
        let letters = CollectingDeadLetterQueue()
        _ = PipelineRunner(pipeline: pipeline, deadLetters: letters).run()
        #expect(fixture.collected.records("out").compactMap { $0["n"]?.intValue } == [0, 1])
        #expect(letters.letters.map(\.error) == ["condition:1: attempt to compare number with nil (record.missing is nil: the record has no field 'missing')",
                                                 "condition:1: attempt to compare number with nil (record.missing is nil: the record has no field 'missing')"])
    }

    @Test("validate reports a script's syntax error at SCRIPT:LINE:COL")
    func validateSyntax() {
        let fixture = PipelineFixture()
        let problems = fixture.problems("""
            sources: { numbers: { type: numbers, count: 1 } }
            transforms: { rule: { type: lua, inputs: [numbers], script: bad.lua } }
            sinks: { out: { type: collect, inputs: [rule] } }
            """, files: ["bad.lua": "function process(r)\n  if r.x then\n    return r\nend\n"])
        #expect(problems == ["bad.lua:5:1: transform 'rule': 'end' expected (to close 'function' at line 1) near <eof>"])
    }

    @Test("validate reports misspelled hooks and a missing process")
    func validateHooks() {
        let fixture = PipelineFixture()
        let problems = fixture.problems("""
            sources: { numbers: { type: numbers, count: 1 } }
            transforms:
              rule:
                type: lua
                inputs: [numbers]
                script: rule.lua
            sinks: { out: { type: collect, inputs: [rule] } }
            """, files: ["rule.lua": "function Init(o) end\nfunction proces(r)\n  return r\nend\n"])
        #expect(problems == [
            "rule.lua:1:1: transform 'rule': function 'Init' is not a hook Sluice calls; did you mean 'init'?",
            "rule.lua:2:1: transform 'rule': function 'proces' is not a hook Sluice calls; did you mean 'process'?",
        ])
        let missing = fixture.problems("""
            sources: { numbers: { type: numbers, count: 1 } }
            transforms:
              rule:
                type: lua
                inputs: [numbers]
                script: other.lua
            sinks: { out: { type: collect, inputs: [rule] } }
            """, files: ["other.lua": "function transform(r) return r end"])
        #expect(missing == ["pipeline.yaml:6:13: transform 'rule': other.lua: the script defines no global function 'process(record, emit)'"])
    }

    @Test("validate reports a missing script, bad limits and a bad condition at their options")
    func validateOptions() {
        let fixture = PipelineFixture()
        let problems = fixture.problems("""
            sources: { numbers: { type: numbers, count: 1 } }
            transforms:
              rule:
                type: lua
                inputs: [numbers]
                script: nowhere.lua
                max_instructions: lots
                max_memory: 12 parsecs
                on_error: ignore
              keep:
                type: filter
                inputs: [rule]
                condition: record.n >
                workers: 0
            sinks: { out: { type: collect, inputs: [keep] } }
            """, files: [:])
        #expect(problems.count == 5)
        #expect(problems.contains { $0.hasPrefix("pipeline.yaml:7:") && $0.contains("max_instructions' must be an integer") })
        #expect(problems.contains { $0.hasPrefix("pipeline.yaml:8:") && $0.contains("max_memory' must be a size") })
        #expect(problems.contains { $0.hasPrefix("pipeline.yaml:9:") && $0.contains("on_error' must be one of dead_letter, drop, fail") })
        #expect(problems.contains { $0.hasPrefix("pipeline.yaml:13:") && $0.contains("the condition does not compile: condition:") })
        #expect(problems.contains { $0.hasPrefix("pipeline.yaml:14:") && $0.contains("'workers' must be between 1 and 256, not 0") })
        let missing = fixture.problems("""
            sources: { numbers: { type: numbers, count: 1 } }
            transforms: { rule: { type: lua, inputs: [numbers], script: nowhere.lua } }
            sinks: { out: { type: collect, inputs: [rule] } }
            """, files: [:])
        #expect(missing == ["pipeline.yaml:2:61: transform 'rule': the script nowhere.lua does not exist"])
    }

    @Test("the stages are registered with documented options")
    func registration() throws {
        let registry = try StageRegistry(plugins: [LuaPlugin.self])
        let lua = try #require(registry.descriptor(.transform, "lua"))
        #expect(lua.options.map(\.name) == ["script", "options", "on_error", "workers", "ordered", "max_instructions",
                                            "max_memory", "sandbox", "modules"])
        #expect(lua.options.allSatisfy { !$0.doc.isEmpty })
        #expect(lua.options.first { $0.name == "script" }?.required == true)
        let filter = try #require(registry.descriptor(.transform, "filter"))
        #expect(filter.options.first?.name == "condition")
        #expect(filter.options.first?.required == true)
    }

    @Test("StageHarness runs a lua transform directly, with default workers from the environment")
    func harness() throws {
        let dir = TemporaryDirectory("sluice-lua-harness")
        let script = try dir.write("r.lua", "function process(r, emit) emit({ extra = r.n }) r.seen = true return r end")
        let options = StageHarness.options(["script": .string(script)], type: "lua", kind: .transform, directory: dir.path)
        let transform = try LuaTransform(stageOptions: options)
        #expect(transform.workers == 2)
        #expect(transform.ordered)
        let out = try StageHarness.apply(transform, to: [StageHarness.record(["n": 1])])
        #expect(out.records.map(\.fields) == [["extra": 1], ["n": 1, "seen": true]])
    }
}
