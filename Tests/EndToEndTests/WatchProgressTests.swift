import Foundation
import SluiceCore
import SluiceFormats
import SluiceTestSupport
import Testing

/// `run --watch`, progress on a terminal and in logs, the summary's row counts and exit status,
/// `mode: replace`, and `graph` of an invalid config (issue 11).
@Suite("newcomer: watch, progress, row counts, replace mode, graph of an invalid config")
struct WatchProgressTests {
    /// Waits (polling, at most `limit` seconds) until `condition` holds; false if it never did.
    static func eventually(_ limit: Double = 90, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(limit)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return condition()
    }

    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test("run --watch ingests a file added to the input folder, reading only it; SIGINT ends the watch with status 0")
    func watchIngestsNewFiles() throws {
        let dir = TemporaryDirectory("sluice-watch")
        try dir.write("in/a.jsonl", "{\"n\": 1}\n{\"n\": 2}\n")
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: in }
            sinks:
              out: { type: json, inputs: [input], path: out/all.jsonl }
            """)
        let running = try Sluice.start(["run", "p.yaml", "--watch", "--progress", "never"], in: dir.path)
        defer { if running.process.isRunning { kill(running.process.processIdentifier, SIGKILL) } }
        let output = dir.file("out/all.jsonl")
        #expect(Self.eventually { Self.lines(output).count == 2 }, "the first run writes the two records")
        #expect(Self.eventually { ((try? String(contentsOf: running.err, encoding: .utf8)) ?? "").contains("watching") })
        try dir.write("in/b.jsonl", "{\"n\": 3}\n")
        #expect(Self.eventually { Self.lines(output).count == 3 }, "the new file is ingested by a re-run")
        Thread.sleep(forTimeInterval: 0.3)
        #expect(Self.lines(output) == [#"{"n":1}"#, #"{"n":2}"#, #"{"n":3}"#], "an incremental re-run: nothing twice")
        kill(running.process.processIdentifier, SIGINT)
        let result = try running.wait(timeout: 60)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("change seen: running again"), "stderr: \(result.stderr)")
    }

    @Test("run --watch re-runs when the Lua rule changes")
    func watchSeesRuleChanges() throws {
        let dir = TemporaryDirectory("sluice-watch-rule")
        try dir.write("in/a.jsonl", "{\"n\": 1}\n")
        try dir.write("rule.lua", "function process(r) r.v = 1; return r end\n")
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: in }
            transforms:
              rule: { type: lua, inputs: [input], script: rule.lua }
            sinks:
              out: { type: json, inputs: [rule], path: out/all.jsonl }
            """)
        let running = try Sluice.start(["run", "p.yaml", "--watch", "--progress", "never"], in: dir.path)
        defer { if running.process.isRunning { kill(running.process.processIdentifier, SIGKILL) } }
        #expect(Self.eventually { ((try? String(contentsOf: running.err, encoding: .utf8)) ?? "").contains("watching") })
        try dir.write("rule.lua", "function process(r) r.v = 2; return r end\n")
        #expect(Self.eventually { ((try? String(contentsOf: running.err, encoding: .utf8)) ?? "").contains("change seen") })
        #expect(Self.eventually {
            ((try? String(contentsOf: running.err, encoding: .utf8)) ?? "").components(separatedBy: "watching").count >= 3
        }, "a second run, then watching again")
        kill(running.process.processIdentifier, SIGTERM)
        let result = try running.wait(timeout: 60)
        #expect(result.status == 0, "stderr: \(result.stderr)")
    }

    /// A pipeline that takes a couple of seconds: a file source (with totals) and a slow exec
    /// source, fanned out to two sinks.
    static func slowProject() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory("sluice-progress")
        try dir.write("in/a.jsonl", (1...50).map { "{\"id\": \($0)}" }.joined(separator: "\n") + "\n")
        let slow = try dir.write("slow.sh", "#!/bin/sh\necho '{\"id\": 1000}'\nsleep 2\necho '{\"id\": 1001}'\n")
        chmod(slow, 0o755)
        try dir.write("p.yaml", """
            sources:
              files: { type: json, path: in }
              slow: { type: exec, command: [./slow.sh] }
            sinks:
              db: { type: sqlite, inputs: [files, slow], path: out/p.db, table: t, key: id }
              lines: { type: json, inputs: [files, slow], path: out/p.jsonl }
            """)
        return dir
    }

    @Test("on a terminal, progress shows per source files and bytes of total with a percentage, and one line per sink, redrawn in place")
    func progressOnATerminal() throws {
        let dir = try Self.slowProject()
        // script(1) gives the command a pseudo-terminal and copies what it writes.
        let command = "\(Sluice.binary) run p.yaml --progress auto"
        let result = try Sluice.runProgram("/usr/bin/script", ["-q", "-e", "-c", command, "/dev/null"], in: dir.path,
                                           environment: ["COLUMNS": "200"])
        #expect(result.status == 0, "output: \(result.stdout)")
        let screen = result.stdout
        #expect(screen.contains("1/1 file"), "the json source's files of total: \(screen)")
        #expect(screen.contains("100%"), "\(screen)")
        #expect(screen.contains("written 51") || screen.contains("written 50"), "per-sink written counts: \(screen)")
        #expect(screen.range(of: #"db\s+sqlite\s+in \d+\s+written \d+"#, options: .regularExpression) != nil, "\(screen)")
        #expect(screen.range(of: #"lines\s+json\s+in \d+\s+written \d+"#, options: .regularExpression) != nil, "\(screen)")
        #expect(screen.contains("\u{1B}[") && screen.range(of: "\u{1B}\\[\\d+A", options: .regularExpression) != nil,
                "redrawn in place (cursor up)")
        #expect(screen.contains("run complete: exit status 0"), "\(screen)")
    }

    @Test("when standard error is not a terminal, progress is a log line every --progress-interval seconds")
    func progressLogLines() throws {
        let dir = try Self.slowProject()
        let result = try Sluice.run(["run", "p.yaml", "--progress-interval", "0.5"], in: dir.path)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("progress after"), "stderr: \(result.stderr)")
        #expect(result.stderr.contains("db in ") && result.stderr.contains("lines in "), "per sink: \(result.stderr)")
        #expect(!result.stderr.contains("\u{1B}["), "no terminal codes in a log")
    }

    @Test("the summary and --metrics count inserted, updated and unchanged rows of a keyed sink, bytes read, time per stage, interruption and exit status")
    func rowCountsAndMetrics() throws {
        let dir = TemporaryDirectory("sluice-rows")
        try dir.write("in/a.jsonl", "{\"id\": 1, \"v\": \"a\"}\n{\"id\": 2, \"v\": \"b\"}\n{\"id\": 3, \"v\": \"c\"}\n")
        try dir.write("rule.lua", "function process(r) return r end\n")
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: in }
            transforms:
              rule: { type: lua, inputs: [input], script: rule.lua }
            sinks:
              db: { type: sqlite, inputs: [rule], path: out/p.db, table: t, key: id }
            """)
        let first = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(first.status == 0, "stderr: \(first.stderr)")
        #expect(first.stderr.contains("db: 3 inserted, 0 updated, 0 unchanged"), "stderr: \(first.stderr)")
        #expect(first.stderr.contains("3 records read, 3 delivered") && first.stderr.contains("records/s, 60 B read)"),
                "bytes read: \(first.stderr)")
        #expect(first.stderr.contains("(lua "), "Lua time apart: \(first.stderr)")
        try dir.write("in/a.jsonl", "{\"id\": 1, \"v\": \"a\"}\n{\"id\": 2, \"v\": \"B\"}\n{\"id\": 3, \"v\": \"c\"}\n{\"id\": 4, \"v\": \"d\"}\n")
        let second = try Sluice.run(["run", "p.yaml", "--progress", "never", "--full", "--metrics", "m.json"], in: dir.path)
        #expect(second.status == 0, "stderr: \(second.stderr)")
        #expect(second.stderr.contains("db: 1 inserted, 1 updated, 2 unchanged"), "stderr: \(second.stderr)")
        #expect(second.stderr.contains("run complete: exit status 0"))
        let metrics = try JSONReader.parse(Array(try Data(contentsOf: URL(fileURLWithPath: dir.file("m.json")))))
        #expect(metrics["exit_status"] == 0)
        #expect(metrics["interrupted"] == false)
        #expect(metrics["bytes_read"] == 80)
        let stages = metrics["stages"]?.arrayValue ?? []
        let db = try #require(stages.first { $0["name"] == "db" })
        #expect(db["inserted"] == 1 && db["updated"] == 1 && db["unchanged"] == 2, "\(db)")
        #expect(db["busy_seconds"]?.doubleValue != nil)
        let rule = try #require(stages.first { $0["name"] == "rule" })
        #expect(rule["lua_seconds"]?.doubleValue != nil)
        let rows = try SQLiteRows.query(dir.file("out/p.db"), "SELECT v FROM t ORDER BY id")
        #expect(rows.map { $0["v"] } == ["a", "B", "c", "d"])
        let prom = try Sluice.run(["run", "p.yaml", "--progress", "never", "--full", "--metrics", "m.prom",
                                   "--metrics-format", "prometheus"], in: dir.path)
        #expect(prom.status == 0)
        let text = try String(contentsOfFile: dir.file("m.prom"), encoding: .utf8)
        #expect(text.contains(#"sluice_sink_rows{pipeline="p.yaml",stage="db",kind="sink",type="sqlite",action="unchanged"} 4"#), "\(text)")
        #expect(text.contains(#"sluice_run_exit_status{pipeline="p.yaml"} 0"#))
        #expect(text.contains(#"sluice_run_interrupted{pipeline="p.yaml"} 0"#))
        #expect(text.contains(#"sluice_run_bytes_read{pipeline="p.yaml"} 80"#))
        #expect(text.contains("sluice_stage_lua_seconds{"))
    }

    @Test("sqlite mode: replace rebuilds the table on every run: all input is read again, earlier rows are not kept twice")
    func replaceMode() throws {
        let dir = TemporaryDirectory("sluice-replace")
        try dir.write("in/a.jsonl", "{\"n\": 1}\n{\"n\": 2}\n")
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: in }
            sinks:
              db: { type: sqlite, inputs: [input], path: out/p.db, table: t, mode: replace }
            """)
        let first = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(first.status == 0, "stderr: \(first.stderr)")
        try dir.write("in/b.jsonl", "{\"n\": 3}\n")
        let second = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(second.status == 0, "stderr: \(second.stderr)")
        let rows = try SQLiteRows.query(dir.file("out/p.db"), "SELECT n FROM t ORDER BY n")
        #expect(rows.map { $0["n"] } == [1, 2, 3], "the table is this run's output: every input once")
        try FileManager.default.removeItem(atPath: dir.file("in/a.jsonl"))
        _ = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        let after = try SQLiteRows.query(dir.file("out/p.db"), "SELECT n FROM t ORDER BY n")
        #expect(after.map { $0["n"] } == [3], "rows of an input that is gone go with it")
    }

    @Test("graph of an invalid config draws it anyway: the cycle's edges in red, an unknown type and a missing input marked; exit 2")
    func graphOfAnInvalidConfig() throws {
        let dir = TemporaryDirectory("sluice-graph")
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: in.jsonl }
            transforms:
              a: { type: fields, inputs: [input, b] }
              b: { type: fields, inputs: [a] }
              c: { type: magic, inputs: [nowhere] }
            sinks:
              out: { type: json, inputs: [b, c], path: out.jsonl }
            """)
        let result = try Sluice.run(["graph", "p.yaml"], in: dir.path)
        #expect(result.status == 2)
        #expect(result.stderr.contains("cycle"), "the problems are still reported: \(result.stderr)")
        let dot = result.stdout
        #expect(dot.hasPrefix("digraph sluice {"), "\(dot)")
        #expect(dot.contains(#""b" -> "a" [color=red"#) && dot.contains(#""a" -> "b" [color=red"#), "\(dot)")
        #expect(dot.contains(#""input" -> "a";"#), "an edge outside the cycle stays black: \(dot)")
        #expect(dot.contains("unknown transform type 'magic'"), "\(dot)")
        #expect(dot.contains(#""nowhere" [shape=box, style=dashed, color=red"#), "\(dot)")
        let mermaid = try Sluice.run(["graph", "p.yaml", "--format", "mermaid"], in: dir.path)
        #expect(mermaid.status == 2)
        #expect(mermaid.stdout.contains("-->|cycle|") && mermaid.stdout.contains("linkStyle"), "\(mermaid.stdout)")
    }
}

extension Sluice {
    /// Runs another program (here `script`, for a pseudo-terminal) in `directory`; its output
    /// goes to a file (no pipe deadlock), stdin is empty.
    static func runProgram(_ program: String, _ arguments: [String], in directory: String,
                           environment: [String: String] = [:], timeout: TimeInterval = 120) throws -> Result {
        let out = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("sluice-program-\(UUID().uuidString.prefix(8)).out")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let handle = try FileHandle(forWritingTo: out)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try handle.close()
        return Result(status: process.terminationStatus, stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "", stderr: "")
    }
}
