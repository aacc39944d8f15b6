import Foundation
import SluiceCore
import SluiceFormats
import SluiceTestSupport
import Testing

/// Exactly-once delivery and incremental re-runs, on the built binary (SPEC §7).
@Suite("delivery: checkpoints, exactly once across kill -9, incremental re-runs", .serialized)
struct DeliveryTests {
    /// Runs `p.yaml` in `dir` up to `attempts` times and kills each run with SIGKILL once `file`
    /// has grown by a number of bytes drawn from `growth` (seeded): mid-transaction or just after
    /// a commit, whatever the machine's speed (kills after a drawn time stopped killing when the
    /// sinks got faster). Stops after `wanted` kills or when a run ends first; returns the kills.
    static func killRuns(in dir: TemporaryDirectory, watching file: String, growth: ClosedRange<Int>, seed: UInt64,
                         attempts: Int, wanted: Int) throws -> Int {
        var generator = SeededGenerator(seed: seed)
        var kills = 0
        for _ in 0..<attempts where kills < wanted {
            let running = try Sluice.start(["run", "p.yaml", "--progress", "never"], in: dir.path)
            guard killOnceGrown(running, file: dir.file(file), by: Int.random(in: growth, using: &generator)) else {
                _ = try running.wait()
                break
            }
            kills += 1
        }
        return kills
    }

    /// Kills `running` with SIGKILL once `file` and its `-wal` file (an SQLite database with
    /// content is written in WAL mode) have grown by `bytes` since this call (polled every 5 ms,
    /// for at most 30 s); false when the run ended first.
    static func killOnceGrown(_ running: Sluice.Running, file: String, by bytes: Int) -> Bool {
        func size() -> Int {
            var info = stat()
            let paths: [String] = [file, file + "-wal"]
            return paths.reduce(0) { $0 + (stat($1, &info) == 0 ? Int(info.st_size) : 0) }
        }
        let start = size()
        let deadline = Date().addingTimeInterval(30)
        while running.process.isRunning && Date() < deadline {
            if size() >= start + bytes {
                kill(running.process.processIdentifier, SIGKILL)
                running.process.waitUntilExit()
                return true
            }
            usleep(5_000)
        }
        return false
    }

    /// `count` JSON Lines records `{"n": i, "text": …}`, deterministic.
    static func lines(_ range: Range<Int>, tag: String = "v1") -> String {
        var out = ""
        out.reserveCapacity(range.count * 60)
        for i in range { out += "{\"n\": \(i), \"tag\": \"\(tag)\", \"text\": \"record number \(i) of the test input\"}\n" }
        return out
    }

    /// A rule that adds a field and, for every 1,000th record, emits one more record: two
    /// outputs share that input's position.
    static let rule = """
        function process(record, emit)
          record.words = #sluice.text.words(record.text)
          if record.n % 1000 == 0 then emit({ n = record.n, extra = true }) end
          return record
        end
        """

    /// The (n, extra) pairs of a JSON Lines file, and how many lines it has.
    static func jsonKeys(_ path: String) throws -> (keys: Set<String>, lines: Int) {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var keys = Set<String>()
        var count = 0
        for line in text.split(separator: "\n") {
            count += 1
            guard case .object(let f) = try JSONReader.parse(String(line)), let n = f["n"]?.intValue else { continue }
            keys.insert("\(n)/\(f["extra"]?.boolValue ?? false)")
        }
        return (keys, count)
    }

    static func tableCounts(_ db: String, _ table: String, column: String = "n || '/' || coalesce(extra, 0)") throws -> (rows: Int64, distinct: Int64) {
        let rows = try SQLiteRows.query(db, "SELECT count(*) AS c, count(DISTINCT \(column)) AS d FROM \(table)")
        return (rows.first?["c"]?.intValue ?? -1, rows.first?["d"]?.intValue ?? -1)
    }

    @Test("200,000 records through a 2-worker Lua rule into an unkeyed table and a JSON file, killed with SIGKILL 5 times: each record exactly once in both")
    func killNineExactlyOnce() throws {
        let dir = TemporaryDirectory("sluice-kill")
        let total = 200_000
        try dir.write("in.jsonl", Self.lines(0..<total))
        try dir.write("rule.lua", Self.rule)
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: in.jsonl }
            transforms:
              rule: { type: lua, inputs: [input], script: rule.lua, workers: 2 }
            sinks:
              db: { type: sqlite, inputs: [rule], path: out/a.db, table: t }
              other: { type: sqlite, inputs: [rule], path: out/b.db, table: t }
              lines: { type: json, inputs: [rule], path: out/out.jsonl }
            """)
        let kills = try Self.killRuns(in: dir, watching: "out/a.db", growth: 500_000...1_500_000, seed: 8, attempts: 8, wanted: 5)
        let last = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(last.status == 0, "stderr: \(last.stderr)")
        let expected = total + total / 1000
        for db in ["out/a.db", "out/b.db"] {
            let (rows, distinct) = try Self.tableCounts(dir.file(db), "t")
            #expect(rows == Int64(expected), "\(db) after \(kills) kills")
            #expect(distinct == Int64(expected), "\(db) after \(kills) kills")
        }
        let (keys, lines) = try Self.jsonKeys(dir.file("out/out.jsonl"))
        #expect(lines == expected, "out.jsonl after \(kills) kills")
        #expect(keys.count == expected)
        #expect(kills >= 1, "the run ended before it could be killed: the test proved nothing")
        // And a run after that reads nothing new.
        let again = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(again.status == 0)
        #expect(again.stderr.contains("0 records read"), "stderr: \(again.stderr)")
    }

    @Test("records into a keyed sqlite table with an FTS5 index, killed with SIGKILL 3 times: each row once, the index in step with the table and its insert trigger in place")
    func killNineWithFullTextIndex() throws {
        let dir = TemporaryDirectory("sluice-kill-fts")
        let total = 200_000   // a database of ~17 MB
        try dir.write("in.jsonl", Self.lines(0..<total))
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: in.jsonl }
            sinks:
              db: { type: sqlite, inputs: [input], path: out.db, table: t, key: n, fts: [text], batch_size: 20000 }
            """)
        let kills = try Self.killRuns(in: dir, watching: "out.db", growth: 1_000_000...2_500_000, seed: 13, attempts: 6, wanted: 3)
        let last = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(last.status == 0, "stderr: \(last.stderr)")
        let db = dir.file("out.db")
        let counts = try SQLiteRows.query(db, "SELECT count(*) AS c, count(DISTINCT n) AS d FROM t").first
        #expect(counts?["c"]?.intValue == Int64(total), "after \(kills) kills")
        #expect(counts?["d"]?.intValue == Int64(total))
        // FTS5 checks its index against the table (an error when they differ).
        _ = try SQLiteRows.query(db, "INSERT INTO t_fts(t_fts, rank) VALUES ('integrity-check', 1)", writable: true)
        let found = try SQLiteRows.query(db, "SELECT count(*) AS c FROM t_fts WHERE t_fts MATCH 'record'").first
        #expect(found?["c"]?.intValue == Int64(total))
        let triggers = try SQLiteRows.query(db, "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        #expect(triggers.compactMap { $0["name"]?.stringValue } == ["t_fts_ad", "t_fts_ai", "t_fts_au"])
        #expect(kills >= 2, "the runs ended before they could be killed: the test proved little")
    }

    @Test("2,000 input files into a sqlite table and a JSON file, killed with SIGKILL 3 times: each record once in both, and the JSON file's state keeps only the marks of inputs in flight")
    func killNineManyInputs() throws {
        let dir = TemporaryDirectory("sluice-kill-many")
        let files = 2_000, perFile = 40
        for f in 0..<files {
            var text = Self.lines((f * perFile)..<((f + 1) * perFile))
            // One file in ten ends without a newline: its last line is read again on every run
            // (it may still be being written), and must land once all the same.
            if f % 10 == 0 { text.removeLast() }
            try dir.write("in/part-\(f).jsonl", text)
        }
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: in }
            sinks:
              db: { type: sqlite, inputs: [input], path: out/a.db, table: t, batch_size: 5000 }
              lines: { type: json, inputs: [input], path: out/out.jsonl }
            """)
        let kills = try Self.killRuns(in: dir, watching: "out/a.db", growth: 200_000...700_000, seed: 21, attempts: 6, wanted: 3)
        let last = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(last.status == 0, "stderr: \(last.stderr)")
        let total = files * perFile
        let (rows, distinct) = try Self.tableCounts(dir.file("out/a.db"), "t", column: "n")
        #expect(rows == Int64(total), "after \(kills) kills")
        #expect(distinct == Int64(total), "after \(kills) kills")
        let (keys, lines) = try Self.jsonKeys(dir.file("out/out.jsonl"))
        #expect(lines == total, "out.jsonl after \(kills) kills")
        #expect(keys.count == total)
        #expect(kills >= 1, "the run ended before it could be killed: the test proved nothing")

        // The JSON file's state keeps the marks of inputs whose checkpoints are not saved, not
        // one per file ever written: after a run with nothing new, only the files whose last
        // line (no newline) is read again on every run.
        func stateMarks() throws -> Int {
            let states = try FileManager.default.subpathsOfDirectory(atPath: dir.path).filter { $0.hasSuffix("sinks/lines.json") }
            guard states.count == 1, case .object(let fields) = try JSONReader.parse(String(contentsOfFile: dir.file(states[0]), encoding: .utf8)),
                  case .array(let marks)? = fields["marks"] else { return -1 }
            return marks.count
        }
        let again = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(again.status == 0, "stderr: \(again.stderr)")
        #expect(try Self.jsonKeys(dir.file("out/out.jsonl")).lines == total, "the last lines read again are not written again")
        #expect(try Self.tableCounts(dir.file("out/a.db"), "t", column: "n").rows == Int64(total))
        #expect(try stateMarks() == files / 10)
        // One more file: its mark is kept with the others read again.
        try dir.write("in/part-new.jsonl", Self.lines(total..<(total + 5)))
        let more = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(more.status == 0, "stderr: \(more.stderr)")
        #expect(try Self.jsonKeys(dir.file("out/out.jsonl")).lines == total + 5)
        #expect(try stateMarks() == files / 10 + 1)
    }

    @Test("incremental: an unchanged folder reads nothing; a new and a grown file add only their new records; a changed file is read again; --full reads everything")
    func incrementalRuns() throws {
        let dir = TemporaryDirectory("sluice-incr")
        try dir.write("data/a.jsonl", Self.lines(0..<100))
        try dir.write("data/b.jsonl", Self.lines(100..<200))
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: data }
            sinks:
              db: { type: sqlite, inputs: [input], path: out.db, table: t }
              lines: { type: json, inputs: [input], path: out.jsonl }
            """)
        func run(_ extra: [String] = []) throws -> Sluice.Result {
            let r = try Sluice.run(["run", "p.yaml", "--progress", "never"] + extra, in: dir.path)
            #expect(r.status == 0, "stderr: \(r.stderr)")
            return r
        }
        func count() throws -> Int64 { try SQLiteRows.query(dir.file("out.db"), "SELECT count(*) AS c FROM t").first?["c"]?.intValue ?? -1 }

        _ = try run()
        #expect(try count() == 200)
        let second = try run()
        #expect(second.stderr.contains("0 records read"), "stderr: \(second.stderr)")
        #expect(try count() == 200)
        #expect(try Self.jsonKeys(dir.file("out.jsonl")).lines == 200)

        // Grow a.jsonl, add c.jsonl.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.file("data/a.jsonl")))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(Self.lines(1000..<1010).utf8))
        try handle.close()
        try dir.write("data/c.jsonl", Self.lines(2000..<2005))
        let third = try run()
        #expect(third.stderr.contains("15 records read"), "stderr: \(third.stderr)")
        #expect(try count() == 215)
        let (keys, lines) = try Self.jsonKeys(dir.file("out.jsonl"))
        #expect(lines == 215 && keys.count == 215, "the json sink appends the new records to what earlier runs wrote")

        // Rewrite b.jsonl with other content: read again whole, as a new version.
        try dir.write("data/b.jsonl", Self.lines(100..<150, tag: "v2"))
        let fourth = try run()
        #expect(fourth.stderr.contains("50 records read"), "stderr: \(fourth.stderr)")
        #expect(fourth.stderr.contains("data/b.jsonl") || fourth.stderr.contains("b.jsonl"), "the change is logged: \(fourth.stderr)")
        #expect(try SQLiteRows.query(dir.file("out.db"), "SELECT count(*) AS c FROM t WHERE tag = 'v2'").first?["c"]?.intValue == 50)

        // --full: everything again; the JSON file starts afresh, the unkeyed table gets them again.
        let full = try run(["--full"])
        #expect(full.stderr.contains("165 records read"), "stderr: \(full.stderr)")
        #expect(try Self.jsonKeys(dir.file("out.jsonl")).lines == 165)
        #expect(try count() == 265 + 165)
    }

    @Test("SIGINT mid-run exits 130 after a clean flush, and the next run completes with each record once")
    func interruptAndResume() throws {
        let dir = TemporaryDirectory("sluice-int")
        let total = 150_000
        try dir.write("in.jsonl", Self.lines(0..<total))
        try dir.write("rule.lua", Self.rule)
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: in.jsonl }
            transforms:
              rule: { type: lua, inputs: [input], script: rule.lua }
            sinks:
              db: { type: sqlite, inputs: [rule], path: out.db, table: t }
              lines: { type: json, inputs: [rule], path: out.jsonl }
            """)
        let running = try Sluice.start(["run", "p.yaml", "--progress", "never"], in: dir.path)
        Thread.sleep(forTimeInterval: 1.0)
        let wasRunning = running.process.isRunning
        kill(running.process.processIdentifier, SIGINT)
        let first = try running.wait()
        if wasRunning { #expect(first.status == 130, "stderr: \(first.stderr)") }
        let second = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(second.status == 0, "stderr: \(second.stderr)")
        let expected = total + total / 1000
        let (rows, distinct) = try Self.tableCounts(dir.file("out.db"), "t")
        #expect(rows == Int64(expected) && distinct == Int64(expected))
        let (keys, lines) = try Self.jsonKeys(dir.file("out.jsonl"))
        #expect(lines == expected && keys.count == expected)
    }

    @Test("a sink that fails mid-run (its database locked by another program) ends the run with exit 1; the next run delivers the rest, each record once")
    func sinkFailureThenResume() throws {
        let dir = TemporaryDirectory("sluice-fail")
        let total = 150_000
        try dir.write("in.jsonl", Self.lines(0..<total))
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: in.jsonl }
            sinks:
              db: { type: sqlite, inputs: [input], path: out.db, table: t, busy_timeout: 200 }
              lines: { type: json, inputs: [input], path: out.jsonl }
            """)
        let running = try Sluice.start(["run", "p.yaml", "--progress", "never"], in: dir.path)
        // Wait until the table exists, then hold an exclusive lock on the database for a while.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && running.process.isRunning
            && (try? SQLiteRows.query(dir.file("out.db"), "SELECT count(*) AS c FROM t")) == nil {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let locker = Process()
        locker.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        locker.arguments = ["python3", "-c", """
            import sqlite3, time
            c = sqlite3.connect('\(dir.file("out.db"))', isolation_level=None, timeout=30)
            c.execute('BEGIN EXCLUSIVE')
            time.sleep(3)
            """]
        try locker.run()
        let first = try running.wait()
        locker.waitUntilExit()
        if first.status != 0 {
            #expect(first.status == 1, "stderr: \(first.stderr)")
            #expect(first.stderr.contains("db") && first.stderr.contains("locked"), "a clear message: \(first.stderr)")
        }
        let second = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(second.status == 0, "stderr: \(second.stderr)")
        let rows = try SQLiteRows.query(dir.file("out.db"), "SELECT count(*) AS c, count(DISTINCT n) AS d FROM t").first
        #expect(rows?["c"]?.intValue == Int64(total) && rows?["d"]?.intValue == Int64(total))
        let (keys, lines) = try Self.jsonKeys(dir.file("out.jsonl"))
        #expect(lines == total && keys.count == total)
    }

    @Test("two configs in one folder keep their checkpoints apart")
    func statePerPipeline() throws {
        let dir = TemporaryDirectory("sluice-two")
        try dir.write("in.jsonl", Self.lines(0..<10))
        for name in ["one", "two"] {
            try dir.write("\(name).yaml", """
                sources:
                  input: { type: json, path: in.jsonl }
                sinks:
                  out: { type: json, inputs: [input], path: \(name).jsonl }
                """)
        }
        let one = try Sluice.run(["run", "one.yaml", "--progress", "never"], in: dir.path)
        let two = try Sluice.run(["run", "two.yaml", "--progress", "never"], in: dir.path)
        #expect(one.status == 0 && two.status == 0)
        #expect(two.stderr.contains("10 records read"), "the second pipeline does not see the first one's checkpoints: \(two.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.file(".sluice/one/state.db")))
        #expect(FileManager.default.fileExists(atPath: dir.file(".sluice/two/state.db")))
    }

    @Test("a damaged checkpoint store stops the run before anything is read or written (exit 1), naming the file and what to do")
    func damagedCheckpointStore() throws {
        let dir = TemporaryDirectory("sluice-bad-state")
        try dir.write("in.jsonl", Self.lines(0..<5))
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: in.jsonl }
            sinks:
              out: { type: json, inputs: [input], path: out.jsonl }
            """)
        try dir.write(".sluice/p/state.db", String(repeating: "garbage ", count: 40))
        let result = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(result.status == 1)
        #expect(result.stderr.contains(".sluice/p/state.db is not a checkpoint store"), "stderr: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("out.jsonl")), "nothing is written")
        // Moved away, the next run starts afresh and delivers everything once.
        try FileManager.default.removeItem(atPath: dir.file(".sluice/p/state.db"))
        let again = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(again.status == 0)
        #expect(try Self.jsonKeys(dir.file("out.jsonl")).lines == 5)
    }
}
