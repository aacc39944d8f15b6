import Foundation
import SluiceTestSupport
import Testing

/// Config mistakes in the user's words (issue 11): tabs, a stage at the top level, a script
/// where the config belongs, paths that match nothing or cannot be written.
@Suite("config messages that name the fix")
struct ConfigMessageTests {
    @Test("a tab in the indentation is named, with its line, and the fix")
    func tabs() throws {
        let dir = TemporaryDirectory()
        try dir.write("p.yaml", "sources:\n\tinput: { type: json, path: in.jsonl }\nsinks:\n  out: { type: json, inputs: [input], path: o.jsonl }\n")
        let result = try Sluice.run(["validate", "p.yaml"], in: dir.path)
        #expect(result.status == 2)
        #expect(result.stderr.contains("p.yaml:2:1: error: a tab in the indentation: YAML indents with spaces only"), "\(result.stderr)")
    }

    @Test("a stage written at the top level is pointed back under its section")
    func misIndentedStage() throws {
        let dir = TemporaryDirectory()
        try dir.write("p.yaml", "sources:\n  input: { type: json, path: in.jsonl }\nsinks:\ndb:\n  type: sqlite\n  inputs: [input]\n  path: o.db\n  table: t\n")
        let result = try Sluice.run(["validate", "p.yaml"], in: dir.path)
        #expect(result.status == 2)
        #expect(result.stderr.contains("p.yaml:4:1: error: 'db' is at the top level; did you mean to indent it under 'sinks:'?"), "\(result.stderr)")
    }

    @Test("a Lua script given where the config belongs says so and suggests sluice try")
    func scriptForConfig() throws {
        let dir = TemporaryDirectory()
        try dir.write("rule.lua", "function process(r) return r end\n")
        for command in ["validate", "run"] {
            let result = try Sluice.run([command, "rule.lua"], in: dir.path)
            #expect(result.status == 2)
            #expect(result.stderr.contains("looks like a Lua script, not a pipeline config") && result.stderr.contains("sluice try rule.lua"),
                    "\(command): \(result.stderr)")
        }
    }

    @Test("a config that starts with the YAML document marker '---' is not taken for a Lua script")
    func documentMarker() throws {
        let dir = TemporaryDirectory()
        try dir.write("in.jsonl", "{}\n")
        try dir.write("p.yaml", "---\nsources:\n  input: { type: json, path: in.jsonl }\nsinks:\n  out: { type: json, inputs: [input], path: o.jsonl }\n")
        let result = try Sluice.run(["validate", "p.yaml"], in: dir.path)
        #expect(result.status == 0, "stderr: \(result.stderr)")
    }

    @Test("validate warns about source paths that match nothing (exit 0); run names every such source at once (exit 1)")
    func missingInputs() throws {
        let dir = TemporaryDirectory()
        try dir.write("p.yaml", """
            sources:
              a: { type: json, path: none1.jsonl }
              b: { type: json, path: none2/*.jsonl }
            sinks:
              out: { type: json, inputs: [a, b], path: o.jsonl }
            """)
        let validate = try Sluice.run(["validate", "p.yaml"], in: dir.path)
        #expect(validate.status == 0)
        #expect(validate.stderr.contains("p.yaml:2:26: warning: source 'a'") && validate.stderr.contains("p.yaml:3:26: warning: source 'b'"),
                "\(validate.stderr)")
        let run = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(run.status == 1)
        #expect(run.stderr.contains("source 'a'") && run.stderr.contains("source 'b'") && run.stderr.contains("matches no files"), "\(run.stderr)")
    }

    @Test("a sink or dead-letter path that cannot be written is an error before the run")
    func unwritableOutputs() throws {
        let dir = TemporaryDirectory()
        try dir.write("in.jsonl", "{}\n")
        try dir.write("blocker", "a file where a folder should be")
        try dir.write("p.yaml", """
            dead_letter: blocker/dead.jsonl
            sources:
              input: { type: json, path: in.jsonl }
            sinks:
              out: { type: json, inputs: [input], path: blocker/o.jsonl }
            """)
        let result = try Sluice.run(["validate", "p.yaml"], in: dir.path)
        #expect(result.status == 2)
        #expect(result.stderr.contains("sink 'out': cannot write") && result.stderr.contains("is a file, not a folder"), "\(result.stderr)")
        #expect(result.stderr.contains("'dead_letter': cannot write"), "\(result.stderr)")
    }
}
