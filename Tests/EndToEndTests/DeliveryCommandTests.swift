import Foundation
import SluiceCore
import SluiceFormats
import SluiceRuntime
import SluiceTestSupport
import Testing

@Suite("sluice status, reset and replay")
struct DeliveryCommandTests {
    /// A folder with three records, a rule that fails on the one without `text`, and a SQLite sink.
    static func project() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory("sluice-delivery")
        try dir.write("in.jsonl", """
            {"n": 1, "text": "fine"}
            {"n": 2}
            {"n": 3, "text": "also fine"}

            """)
        try dir.write("rule.lua", """
            function process(record, emit)
              record.upper = string.upper(record.text)
              return record
            end
            """)
        try dir.write("p.yaml", """
            dead_letter: out/dead.jsonl
            sources:
              input: { type: json, path: in.jsonl }
            transforms:
              rule: { type: lua, inputs: [input], script: rule.lua }
            sinks:
              db: { type: sqlite, inputs: [rule], path: out/records.db, table: records }
            """)
        return dir
    }

    @Test("replay: after the rule is fixed, the dead-lettered record is delivered once and replay exits 0")
    func replayAfterFix() throws {
        let dir = try Self.project()
        let run = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(run.status == 3, "stderr: \(run.stderr)")
        #expect(try SQLiteRows.query(dir.file("out/records.db"), "SELECT n FROM records ORDER BY n").map { $0["n"] } == [1, 3])
        let dead = try String(contentsOfFile: dir.file("out/dead.jsonl"), encoding: .utf8).lines
        #expect(dead.count == 1)

        try dir.write("rule.lua", """
            function process(record, emit)
              record.upper = string.upper(record.text or "none")
              return record
            end
            """)
        let replay = try Sluice.run(["replay", "out/dead.jsonl", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(replay.status == 0, "stderr: \(replay.stderr)")
        #expect(replay.stderr.contains("replayed 1 letter of out/dead.jsonl ('rule' 1)"), "stderr: \(replay.stderr)")
        let rows = try SQLiteRows.query(dir.file("out/records.db"), "SELECT n, upper FROM records ORDER BY n")
        #expect(rows.map { $0["n"] } == [1, 2, 3])
        #expect(rows[1]["upper"] == "NONE")
        // Nothing failed again: no new dead-letter file, and the old one is left as it was.
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.file("out"))
        #expect(!files.contains { $0.contains(".replay-") }, "files: \(files)")
        #expect(try String(contentsOfFile: dir.file("out/dead.jsonl"), encoding: .utf8).lines == dead)
    }

    @Test("replay: letters that fail again go to a new file next to the old one, named at the end; exit 3")
    func replayFailsAgain() throws {
        let dir = try Self.project()
        _ = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        let replay = try Sluice.run(["replay", "out/dead.jsonl", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(replay.status == 3, "stderr: \(replay.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.file("out")).filter { $0.contains(".replay-") }
        #expect(files.count == 1)
        let newFile = try #require(files.first)
        #expect(newFile.hasPrefix("dead.replay-") && newFile.hasSuffix("Z.jsonl"))
        #expect(replay.stderr.contains("1 record failed again: out/\(newFile)"), "stderr: \(replay.stderr)")
        let letters = try String(contentsOfFile: dir.file("out/" + newFile), encoding: .utf8).lines
        #expect(letters.count == 1)
        let letter = try JSONReader.parse(letters[0])
        #expect(letter["stage"] == "rule")
        #expect(letter["source"] == "replay:rule")
        #expect(letter["record"] == ["n": 2])
        #expect(letter["location"]?.stringValue?.hasSuffix("in.jsonl:2") == true)
        #expect(letter["position"]?["input"]?.stringValue?.hasPrefix("dead.jsonl@") == true)
        #expect(try SQLiteRows.query(dir.file("out/records.db"), "SELECT n FROM records").count == 2)
    }

    @Test("replay: an unknown --stage is bad usage with a suggestion; letters of a stage not in the config stay, exit 3")
    func replayUnknownStages() throws {
        let dir = try Self.project()
        _ = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        let typo = try Sluice.run(["replay", "out/dead.jsonl", "p.yaml", "--stage", "rlue"], in: dir.path)
        #expect(typo.status == 2)
        #expect(typo.stderr.contains("no stage 'rlue' in p.yaml; did you mean 'rule'?"), "stderr: \(typo.stderr)")
        let missing = try Sluice.run(["replay", "out/nothing.jsonl", "p.yaml"], in: dir.path)
        #expect(missing.status == 2)

        try dir.write("other.jsonl", #"{"stage": "gone", "error": "e", "source": "input", "location": null, "record": {"n": 9}, "time": "2025-01-01T00:00:00.000Z"}"# + "\n")
        let gone = try Sluice.run(["replay", "other.jsonl", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(gone.status == 3, "stderr: \(gone.stderr)")
        #expect(gone.stderr.contains("1 letter of 'gone', which is not a stage of p.yaml"), "stderr: \(gone.stderr)")
        #expect(gone.stderr.contains("no dead letters to replay in other.jsonl"))
    }

    @Test("replay is refused while a --full run is pending: its continuation rewrites the outputs")
    func replayDuringFullRun() throws {
        let dir = try Self.project()
        _ = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        try SQLiteCheckpointStore(path: dir.file(".sluice/p/state.db")).startFullRun(sources: ["input"])
        let replay = try Sluice.run(["replay", "out/dead.jsonl", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(replay.status == 2)
        #expect(replay.stderr.contains("a --full run of p is pending"), "stderr: \(replay.stderr)")
        let status = try Sluice.run(["status", "p.yaml"], in: dir.path)
        #expect(status.stdout.contains("full run pending: yes"))
    }

    @Test("status before any run says so and lists every source with its files as new")
    func statusNoRun() throws {
        let dir = try Self.project()
        let status = try Sluice.run(["status", "p.yaml"], in: dir.path)
        #expect(status.status == 0, "stderr: \(status.stderr)")
        let lines = status.stdout.lines
        #expect(lines.first == "pipeline p: no run yet")
        let row = try #require(lines.first { $0.hasPrefix("  input ") })
        #expect(row.split(separator: " ").map(String.init) == ["input", "json", "0", "0", "1", "0"])
        #expect(status.stdout.contains("dead letters:     none"))
        let bad = try Sluice.run(["status", "missing.yaml"], in: dir.path)
        #expect(bad.status == 2)
    }

    /// Saves the checkpoint a complete read of `in.jsonl` leaves (the sources save their own
    /// once they take part in delivery; seeding keeps these tests about the commands).
    static func seed(_ dir: TemporaryDirectory) throws {
        let stamp = try #require(FileStamp(path: dir.file("in.jsonl")))
        let store = try SQLiteCheckpointStore(path: dir.file(".sluice/p/state.db"))
        try store.save([(source: "input", checkpoint: InputCheckpoint(
            input: "in.jsonl", epoch: 1, offset: stamp.size, line: 4, complete: true, size: stamp.size,
            modified: stamp.modified, fingerprint: FileFingerprint.of(path: dir.file("in.jsonl"), length: stamp.size) ?? "",
            records: 3))])
    }

    @Test("status after a run names the source, its inputs and records, the dead letters waiting; a changed file shows")
    func statusAfterRun() throws {
        let dir = try Self.project()
        let run = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(run.status == 3)
        try Self.seed(dir)
        let status = try Sluice.run(["status", "p.yaml"], in: dir.path)
        #expect(status.status == 0, "stderr: \(status.stderr)")
        let lines = status.stdout.lines
        #expect(lines.first == "pipeline p (state: .sluice/p/state.db)", "stdout: \(status.stdout)")
        #expect(lines.contains { $0.hasPrefix("  source ") && $0.contains("inputs done") })
        let row = try #require(lines.first { $0.hasPrefix("  input ") }, "stdout: \(status.stdout)")
        #expect(row.split(separator: " ").map(String.init) == ["input", "json", "1", "3", "0", "0"])
        #expect(status.stdout.contains("full run pending: no"))
        #expect(status.stdout.contains("dead letters:     1 waiting in out/dead.jsonl (sluice replay out/dead.jsonl p.yaml)"),
                "stdout: \(status.stdout)")

        try dir.write("in.jsonl", #"{"n": 1, "text": "rewritten"}"# + "\n")
        let changed = try Sluice.run(["status", "p.yaml"], in: dir.path)
        let changedRow = try #require(changed.stdout.lines.first { $0.hasPrefix("  input ") })
        #expect(changedRow.split(separator: " ").map(String.init) == ["input", "json", "1", "3", "0", "1"])
    }

    @Test("reset --source off a terminal forgets that source (status shows its input as new); an unknown source exits 2")
    func resetSource() throws {
        let dir = try Self.project()
        try Self.seed(dir)
        let typo = try Sluice.run(["reset", "p.yaml", "--source", "inptu"], in: dir.path)
        #expect(typo.status == 2)
        #expect(typo.stderr.contains("no source 'inptu' in p.yaml; did you mean 'input'?"), "stderr: \(typo.stderr)")

        let reset = try Sluice.run(["reset", "p.yaml", "--source", "input"], in: dir.path)
        #expect(reset.status == 0, "stderr: \(reset.stderr)")
        #expect(reset.stdout.contains("source 'input': forgot 1 input (3 records delivered)"), "stdout: \(reset.stdout)")
        let status = try Sluice.run(["status", "p.yaml"], in: dir.path)
        let row = try #require(status.stdout.lines.first { $0.hasPrefix("  input ") }, "stdout: \(status.stdout)")
        #expect(row.split(separator: " ").map(String.init) == ["input", "json", "0", "0", "1", "0"])
        let store = try SQLiteCheckpointStore(path: dir.file(".sluice/p/state.db"), create: false)
        #expect(try store.load(source: "input").baseEpoch == 2)
    }

    @Test("reset of a pipeline that never ran has nothing to forget and exits 0")
    func resetNoRun() throws {
        let dir = try Self.project()
        let reset = try Sluice.run(["reset", "p.yaml", "--yes"], in: dir.path)
        #expect(reset.status == 0, "stderr: \(reset.stderr)")
        #expect(reset.stdout.contains("nothing to forget"))
        #expect(!FileManager.default.fileExists(atPath: dir.file(".sluice/p/state.db")))
    }
}
