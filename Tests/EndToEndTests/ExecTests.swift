import Foundation
import SluiceCore
import SluiceFormats
import SluiceTestSupport
import Testing

@Suite("exec stages through the built binary")
struct ExecExampleTests {
    @Test("examples/exec: the Python stage adds title_upper; the record without a title is dropped; its stderr reaches the log")
    func pythonExample() throws {
        let dir = TemporaryDirectory("sluice-e2e-exec")
        for name in ["upper.py", "pipeline.yaml", "articles.jsonl"] {
            try FileManager.default.copyItem(atPath: Sluice.repository + "/examples/exec/" + name, toPath: dir.file(name))
        }
        let result = try Sluice.run(["run", "pipeline.yaml", "--progress", "never"], in: dir.path)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let records = try String(contentsOfFile: dir.file("out/articles.jsonl"), encoding: .utf8).lines
            .map { try JSONReader.parse($0) }
        #expect(records.map { $0["id"] } == [1, 2, 4])
        #expect(records.map { $0["title_upper"] } == ["RIVERS RISE AFTER A WEEK OF RAIN", "CAFÉ OWNERS PROTEST NEW RULES",
                                                      "STRASSE CLOSED FOR REPAIRS"])
        #expect(records[1]["title"] == "Café owners protest new rules")
        #expect(result.stderr.contains("no title in record 3, dropped"), "stderr: \(result.stderr)")
    }

    @Test("a crashing exec transform: the record is a dead letter naming the stage and the exit status; the run goes on and exits 3")
    func crashInARun() throws {
        let dir = TemporaryDirectory("sluice-e2e-exec")
        try dir.write("in.jsonl", "{\"i\": 1}\n{\"i\": 2, \"crash\": true}\n{\"i\": 3}\n")
        try dir.write("t.sh", """
            #!/bin/sh
            while IFS= read -r line; do
              case "$line" in *crash*) echo "giving up on $line" >&2; exit 9 ;; esac
              echo "$line"
            done
            """)
        chmod(dir.file("t.sh"), 0o755)
        try dir.write("p.yaml", """
            dead_letter: out/dead.jsonl
            sources:
              in: { type: json, path: in.jsonl }
            transforms:
              shell: { type: exec, inputs: [in], command: [./t.sh] }
            sinks:
              out: { type: json, inputs: [shell], path: out/out.jsonl }
            """)
        let result = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(result.status == 3, "stderr: \(result.stderr)")
        let out = try String(contentsOfFile: dir.file("out/out.jsonl"), encoding: .utf8).lines
        #expect(out == ["{\"i\":1}", "{\"i\":3}"])
        let dead = try String(contentsOfFile: dir.file("out/dead.jsonl"), encoding: .utf8).lines.map { try JSONReader.parse($0) }
        #expect(dead.count == 1)
        #expect(dead.first?["stage"] == "shell")
        #expect(dead.first?["error"] == "the program exited with status 9")
        #expect(dead.first?["location"] == "in.jsonl:2")
    }

    @Test("validate names an exec program that is not there")
    func validateMissingProgram() throws {
        let dir = TemporaryDirectory("sluice-e2e-exec")
        try dir.write("in.jsonl", "{}\n")
        try dir.write("p.yaml", """
            sources:
              in: { type: json, path: in.jsonl }
            transforms:
              t: { type: exec, inputs: [in], command: [./nope.py, --fast] }
            sinks:
              out: { type: json, inputs: [t], path: out.jsonl }
            """)
        let result = try Sluice.run(["validate", "p.yaml"], in: dir.path)
        #expect(result.status == 2)
        #expect(result.stderr.contains("p.yaml:4:"), "stderr: \(result.stderr)")
        #expect(result.stderr.contains("the program ./nope.py of `./nope.py --fast` does not exist"), "stderr: \(result.stderr)")
    }
}
