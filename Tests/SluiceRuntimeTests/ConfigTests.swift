import Foundation
import SluiceCore
import SluiceFormats
import SluiceRuntime
import SluiceTestSupport
import Testing

@Suite("Config loading and validation")
struct ConfigTests {
    static let valid = """
        sources:
          nums: { type: numbers, count: 5 }
        transforms:
          tagged:
            type: tag
            inputs: [nums]
            field: seen
        sinks:
          out: { type: memory, inputs: [tagged], slot: s }
        """

    @Test("a valid config loads with stages in order, defaults filled and paths resolved")
    func validConfig() throws {
        let p = try load(Self.valid)
        #expect(p.stages.map(\.name) == ["nums", "tagged", "out"])
        #expect(p.stage(named: "tagged")?.options["value"] == .bool(true))
        #expect(p.stage(named: "tagged")?.options["mode"] == .string("a"))
        #expect(p.environment.dataDirectory == "/tmp/cfg/.sluice/test", "state lives in a folder per pipeline")
        #expect(p.deadLetterPath == "/tmp/cfg/.sluice/test/dead_letter.jsonl")
        #expect(p.consumers(of: "nums") == ["tagged"])
    }

    @Test("a misspelled key is reported at its line and column with a suggestion")
    func misspelledKey() {
        let found = problems("""
            sources:
              nums: { type: numbers, cuont: 5 }
            sinks:
              out: { type: memory, inputs: [nums], slot: s }
            """)
        #expect(found == ["test.yaml:2:26: error: source 'nums' (numbers): unknown option 'cuont'; did you mean 'count'?"])
    }

    @Test("a misspelled top-level section is reported with a suggestion")
    func misspelledSection() {
        let found = problems("""
            sources:
              nums: { type: numbers }
            sink:
              out: { type: memory, inputs: [nums], slot: s }
            """)
        #expect(found.contains("test.yaml:3:1: error: unknown key 'sink' at the top level; did you mean 'sinks'?"))
    }

    @Test("an unknown stage type lists the known ones")
    func unknownType() {
        let found = problems("""
            sources:
              nums: { type: numbrs }
            sinks:
              out: { type: memory, inputs: [nums], slot: s }
            """)
        #expect(found == ["test.yaml:2:17: error: unknown source type 'numbrs' (did you mean 'numbers'?); known source types: files, numbers"])
    }

    @Test("a type under the wrong section says where it belongs")
    func wrongSection() {
        let found = problems("""
            sources:
              nums: { type: memory, slot: x }
            sinks:
              out: { type: memory, inputs: [nums], slot: s }
            """)
        #expect(found.first?.contains("'memory' is a sink type; put it under 'sinks'") == true)
    }

    @Test("missing required options, wrong types and bad choices are all reported at once")
    func everyProblemAtOnce() {
        let found = problems("""
            sources:
              nums: { type: numbers, count: many }
            transforms:
              t:
                type: tag
                inputs: [nums]
                mode: c
                size: lots
            sinks:
              out: { type: memory, inputs: [t] }
            """)
        #expect(found == [
            "test.yaml:2:33: error: source 'nums': option 'count' must be an integer, not string \"many\"",
            "test.yaml:4:3: error: transform 't' (tag) is missing the required option 'field' (string: The field to set.)",
            "test.yaml:7:11: error: transform 't': option 'mode' must be one of a, b, not 'c'",
            "test.yaml:8:11: error: transform 't': option 'size' must be a size such as 4096, 64KiB, 16MiB or 1GiB, not 'lots'",
            "test.yaml:10:3: error: sink 'out' (memory) is missing the required option 'slot' (string: Where the test finds them.)",
        ])
    }

    @Test("references to unknown inputs are reported with a suggestion")
    func unknownInput() {
        let found = problems("""
            sources:
              numbers_in: { type: numbers }
            sinks:
              out: { type: memory, inputs: [numbers_inn], slot: s }
            """)
        #expect(found.contains("test.yaml:4:33: error: sink 'out' reads 'numbers_inn', which is not defined; did you mean 'numbers_in'?"))
        #expect(found.contains("test.yaml:2:3: error: source 'numbers_in' is not read by any transform or sink; add it to some stage's 'inputs'"))
    }

    @Test("a cycle is refused and named in data-flow order")
    func cycle() {
        let found = problems("""
            sources:
              nums: { type: numbers }
            transforms:
              a: { type: tag, field: x, inputs: [nums, c] }
              b: { type: tag, field: x, inputs: [a] }
              c: { type: tag, field: x, inputs: [b] }
            sinks:
              out: { type: memory, inputs: [c], slot: s }
            """)
        #expect(found.count == 1)
        #expect(found.first?.contains("the pipeline has a cycle: a -> b -> c -> a") == true)
    }

    @Test("a stage reading itself is a cycle")
    func selfLoop() {
        let found = problems("""
            sources:
              nums: { type: numbers }
            transforms:
              a: { type: tag, field: x, inputs: [nums, a] }
            sinks:
              out: { type: memory, inputs: [a], slot: s }
            """)
        #expect(found == ["test.yaml:4:44: error: the pipeline has a cycle: a -> a"])
    }

    @Test("sinks with no input, sinks used as inputs and duplicate names are refused")
    func wiringMistakes() {
        let found = problems("""
            sources:
              nums: { type: numbers }
            transforms:
              nums: { type: tag, field: x, inputs: [nums] }
            sinks:
              out: { type: memory, slot: s, inputs: [nums] }
              out2: { type: memory, slot: s, inputs: [out] }
              lonely: { type: memory, slot: s }
            """)
        #expect(found.contains("test.yaml:4:3: error: the name 'nums' is used twice (also a source); stage names must be unique"))
        #expect(found.contains("test.yaml:7:43: error: sink 'out2' reads 'out', which is a sink; only sources and transforms can be inputs"))
        #expect(found.contains("test.yaml:8:3: error: sink 'lonely' has no 'inputs'; it must read at least one source or transform"))
    }

    @Test("YAML syntax errors carry their position")
    func yamlSyntax() {
        let found = problems("sources:\n  nums: { type: numbers\nsinks: {}\n")
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("test.yaml:3:") == true)
        #expect(found.first?.contains("error: YAML:") == true)
    }

    @Test("environment variables interpolate, with defaults, and typed afterwards")
    func interpolation() throws {
        let yaml = """
            data_dir: ${STATE:-state}
            sources:
              nums: { type: numbers, count: ${N} }
            transforms:
              t: { type: tag, inputs: [nums], field: "${FIELD:-tagged}", value: ${VAL}, workers: ${W:-3} }
            sinks:
              out: { type: memory, inputs: [t], slot: "$${literal}" }
            """
        let p = try load(yaml, variables: ["VAL": "12", "N": "7"])
        #expect(p.environment.dataDirectory == "/tmp/cfg/state/test")
        #expect(p.stage(named: "t")?.options["field"] == .string("tagged"))
        #expect(p.stage(named: "t")?.options["value"] == .int(12))
        #expect(p.stage(named: "t")?.options["workers"] == .int(3))
        #expect(p.stage(named: "out")?.options["slot"] == .string("${literal}"))
        // A quoted "${N}" stays a string, so it is refused as an integer, with its place.
        let quoted = yaml.replacingOccurrences(of: "count: ${N}", with: "count: \"${N}\"")
        #expect(problems(quoted, variables: ["VAL": "1", "N": "7"]) == [
            "test.yaml:3:33: error: source 'nums': option 'count' must be an integer, not string \"7\"",
        ])
    }

    @Test("an unset variable without a default is an error naming it")
    func unsetVariable() {
        let found = problems("""
            sources:
              nums: { type: numbers, count: ${COUNT} }
            sinks:
              out: { type: memory, inputs: [nums], slot: s }
            """)
        #expect(found == ["test.yaml:2:33: error: environment variable 'COUNT' is not set (write ${COUNT:-default} to give a default)"])
    }

    @Test("sizes and paths are normalized before stages see them")
    func normalization() throws {
        let p = try load("""
            sources:
              nums: { type: numbers }
            transforms:
              t: { type: tag, inputs: [nums], field: x, size: 64MiB, paths: [a/b.lua, /abs/c.lua, ../up.lua] }
            sinks:
              out: { type: memory, inputs: [t], slot: s }
            """)
        let o = try #require(p.stage(named: "t")?.options)
        #expect(o.int("size") == 64 * 1024 * 1024)
        #expect(o.strings("paths") == ["/tmp/cfg/a/b.lua", "/abs/c.lua", "/tmp/up.lua"])
    }

    @Test("test cases parse, and mistakes in them are reported")
    func testCases() throws {
        let p = try load(Self.valid + """

            tests:
              - name: tags one
                transform: tagged
                input: { n: 1 }
                expect: [ { n: 1, seen: true } ]
              - name: several
                transform: tagged
                inputs: [ { n: 1 }, { n: 2 } ]
                expect: []
            """)
        #expect(p.tests.map(\.name) == ["tags one", "several"])
        #expect(p.tests[1].inputs.count == 2)
        let found = problems(Self.valid + """

            tests:
              - name: bad
                transfrom: tagged
                input: 3
              - name: worse
                transform: nope
                input: {}
                expect: []
            """)
        #expect(found.contains { $0.contains("unknown key 'transfrom' in a test case; did you mean 'transform'?") })
        #expect(found.contains { $0.contains("test 'worse' names 'nope', which is not a transform") })
    }

    @Test("a sink writing a file that a source reads, or two sinks writing one file, are refused at the sink's path")
    func fileClashes() {
        let found = problems("""
            sources:
              dumps: { type: files, path: "data/**/*.jsonl" }
            sinks:
              back: { type: file, inputs: [dumps], path: data/2025/all.jsonl }
              copy: { type: file, inputs: [dumps], path: ./data/2025/../2025/all.jsonl }
              fine: { type: file, inputs: [dumps], path: data/all.json }
            """)
        #expect(found == [
            "test.yaml:4:46: error: sink 'back': writes data/2025/all.jsonl, which source 'dumps' reads; the run would destroy its own input (write to another file)",
            "test.yaml:5:46: error: sink 'copy': sink 'back' also writes data/2025/all.jsonl; one file takes one writer",
            "test.yaml:5:46: error: sink 'copy': writes data/2025/all.jsonl, which source 'dumps' reads; the run would destroy its own input (write to another file)",
        ])
    }

    @Test("file clashes see through links: a symlinked folder, a hard link, the dead-letter file and the config file itself")
    func fileClashesThroughLinks() throws {
        let dir = TemporaryDirectory()
        try dir.write("data/a.jsonl", "{}\n")
        try FileManager.default.createSymbolicLink(atPath: dir.file("linked"), withDestinationPath: dir.file("data"))
        try FileManager.default.linkItem(atPath: dir.file("data/a.jsonl"), toPath: dir.file("hard.jsonl"))
        try FileManager.default.createSymbolicLink(atPath: dir.file("alias"), withDestinationPath: dir.file("data"))
        let yaml = """
            dead_letter: out/all.jsonl
            sources:
              dumps: { type: files, path: "linked/**/*.jsonl" }
            sinks:
              viaLink: { type: file, inputs: [dumps], path: data/a.jsonl }
              viaHardLink: { type: file, inputs: [dumps], path: hard.jsonl }
              letters: { type: file, inputs: [dumps], path: out/all.jsonl }
              config: { type: file, inputs: [dumps], path: p.yaml }
              newFolder: { type: file, inputs: [dumps], path: alias/new/sub/b.jsonl }
            """
        try dir.write("p.yaml", yaml)
        let found = messages(ofConfigAt: dir.file("p.yaml"))
        #expect(found.contains("sink 'viaLink': writes data/a.jsonl, which source 'dumps' reads; the run would destroy its own input (write to another file)"), "\(found)")
        #expect(found.contains { $0.hasPrefix("sink 'viaHardLink': writes ") && $0.contains("which source 'dumps' reads") }, "\(found)")
        #expect(found.contains("'dead_letter': sink 'letters' also writes out/all.jsonl; one file takes one writer") ||
                found.contains("sink 'letters': the dead-letter file also writes out/all.jsonl; one file takes one writer"), "\(found)")
        #expect(found.contains("sink 'config': writes p.yaml, which the config file itself reads; the run would destroy its own input (write to another file)"), "\(found)")
        #expect(found.contains { $0.hasPrefix("sink 'newFolder': writes ") }, "a folder that does not exist yet under a link: \(found)")
    }

    @Test("FileSet.wouldInclude answers from the pattern, for files that do not exist yet")
    func fileSetWouldInclude() {
        let globs = FileSet(pattern: "/d/in/**/*.{jsonl,ndjson}")
        #expect(globs.wouldInclude("/d/in/a.jsonl"))
        #expect(globs.wouldInclude("/d/in/x/y/b.ndjson"))
        #expect(!globs.wouldInclude("/d/in/x/.hidden/b.jsonl"))
        #expect(!globs.wouldInclude("/d/out/a.jsonl"))
        #expect(!globs.wouldInclude("/d/in/a.json"))
        #expect(FileSet(pattern: "/d/one.jsonl").wouldInclude("/d/./one.jsonl"))
        #expect(!FileSet(pattern: "/d/*.txt", extensions: ["md"]).wouldInclude("/d/a.txt"))
    }

    @Test("a misspelled required option gives one message (the suggestion), not a second 'missing' one")
    func misspelledRequiredOptionOnce() {
        let found = problems("""
            sources:
              nums: { type: numbers }
            transforms:
              t: { type: tag, inputs: [nums], feild: x }
            sinks:
              out: { type: memory, inputs: [t], slot: s }
            """)
        #expect(found == ["test.yaml:4:35: error: transform 't' (tag): unknown option 'feild'; did you mean 'field'?"])
    }

    @Test("a config that is not a mapping, or is empty, is refused")
    func notAMapping() {
        #expect(problems("- a\n- b\n").first?.contains("the config must be a mapping") == true)
        #expect(problems("data_dir: x\n") == ["test.yaml:1:1: error: the config defines no sources, transforms or sinks"])
    }

    @Test("an unreadable config file is reported at FILE:1:1")
    func missingFile() {
        do {
            _ = try ConfigLoader(registry: TestStages.registry).load(path: "/nonexistent/x.yaml")
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.description == "/nonexistent/x.yaml:1:1: error: cannot read the config file (no such file)")
        }
    }
}

/// The messages of the problems a config file has (none when it loads).
func messages(ofConfigAt path: String) -> [String] {
    do {
        _ = try ConfigLoader(registry: TestStages.registry).load(path: path)
        return []
    } catch {
        return error.diagnostics.map(\.message)
    }
}
