import Foundation
import Testing
import SluiceTestSupport

/// Issue 10's cluster run, on the built binary and a real PostgreSQL server.
@Suite("cluster runs end to end (real PostgreSQL)", .serialized)
struct ClusterEndToEndTests {
    static let files = 20
    static let perFile = 8_000
    static let bigFile = 40_000

    /// Writes 20 files of 8,000 records and one JSON Lines file of 40,000: 200,000 records of ~45 bytes.
    static func writeData(in dir: TemporaryDirectory) throws {
        for f in 1...files {
            var text = ""
            text.reserveCapacity(perFile * 48)
            for n in 1...perFile { text += "{\"id\":\"p\(f)-\(n)\",\"n\":\(n),\"f\":\(f)}\n" }
            try dir.write(String(format: "data/part-%02d.jsonl", f), text)
        }
        var big = ""
        for n in 1...bigFile { big += "{\"id\":\"big-\(n)\",\"n\":\(n),\"f\":0}\n" }
        try dir.write("data/big.jsonl", big)
    }

    @Test("three processes share 200,000 records into one table without a key; one is killed with SIGKILL mid-unit and restarted; every record lands exactly once and every unit is done")
    func threeProcessesOneKilled() throws {
        let url = try TestPostgres.freshDatabase("cluster_e2e")
        let dir = TemporaryDirectory("sluice-cluster")
        try Self.writeData(in: dir)
        try dir.write("cluster.yaml", """
            sources:
              records:
                type: json
                path: data/*.jsonl
            sinks:
              table:
                type: postgres
                inputs: [records]
                url: ${PGURL}
                table: records
                batch_size: 500
            """)
        let env = ["PGURL": url]
        // 200 KB units: each part file (~360 KB) is a unit, the big file (~1.8 MB) is cut into ranges.
        let args = ["run", "cluster.yaml", "--cluster", url, "--unit-size", "200000", "--lease", "3", "--progress", "never"]
        let victim = try Sluice.start(args, in: dir.path, environment: env)
        let others = try (0..<2).map { _ in try Sluice.start(args, in: dir.path, environment: env) }
        let pid = victim.process.processIdentifier

        // Kill the victim while it holds a unit part of which its sink has committed (the marks
        // table has a mark for the unit's input), so that the process taking the unit over must skip
        // those records; failing that within 60 s, while it holds any unit.
        var partial = false
        var killed = false
        let deadline = Date().addingTimeInterval(60)
        while victim.process.isRunning && Date() < deadline {
            let held = (try? TestPostgres.psql(url, """
                SELECT count(*) FROM _sluice_units u JOIN _sluice_delivered d
                  ON d.input IN (u.unit->'files'->>0, (u.unit->'files'->>0) || '#' || (u.unit->>'start') || '-' || (u.unit->>'end'))
                WHERE u.state = 'claimed' AND u.holder_pid = \(pid)
                """).trimmingCharacters(in: .whitespacesAndNewlines)) ?? "0"
            if held != "0" && held != "" {
                partial = true
                break
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        if victim.process.isRunning {
            kill(pid, SIGKILL)
            killed = true
        }
        print("cluster end to end: the victim was killed \(partial ? "with part of its unit committed" : "while holding a unit")")
        let victimResult = try victim.wait()
        #expect(killed, "the victim ended before it could be killed: \(victimResult.stderr)")
        let restarted = try Sluice.start(args, in: dir.path, environment: env)

        var outputs: [String] = []
        for running in others + [restarted] {
            let result = try running.wait(timeout: 600)
            #expect(result.status == 0, "\(result.stderr)")
            outputs.append(result.stderr)
        }
        let counts = try TestPostgres.psql(url, "SELECT count(*) || ' ' || count(DISTINCT id) FROM records")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(counts == "200000 200000")
        let perFile = try TestPostgres.psql(url, "SELECT count(*) FROM (SELECT f FROM records GROUP BY f) AS g")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(perFile == "21")
        if partial {
            #expect(outputs.contains { $0.contains("already written by an earlier run") },
                    "the unit taken over skipped what the killed process had committed")
        }
        let status = try Sluice.run(["cluster", "status", "cluster.yaml", "--cluster", url], in: dir.path, environment: env)
        #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
        #expect(status.stdout.contains("0 claimed, 0 pending"), "\(status.stdout)")
        #expect(status.stdout.contains("finished"), "\(status.stdout)")
        let units = try TestPostgres.psql(url, "SELECT count(*) FILTER (WHERE unit->>'kind' = 'bytes') || ' ' || count(*) FROM _sluice_units")
            .trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").compactMap { Int($0) }
        #expect(units.count == 2 && units[0] >= 5 && units[1] == units[0] + 20, "units: \(units)")

        // The next cluster run, from any machine, finds nothing new; an appended line is read alone.
        let again = try Sluice.run(args, in: dir.path, environment: env)
        #expect(again.status == 0, "\(again.stderr)")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.file("data/big.jsonl")))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"id\":\"big-extra\",\"n\":0,\"f\":0}\n".utf8))
        try handle.close()
        let grown = try Sluice.run(args, in: dir.path, environment: env)
        #expect(grown.status == 0, "\(grown.stderr)")
        let after = try TestPostgres.psql(url, "SELECT count(*) || ' ' || count(DISTINCT id) FROM records")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(after == "200001 200001")
    }

    @Test("a cluster run refuses a file sink that every process would share, and a source that cannot be split")
    func refusesSharedFilesAndUnsplittableSources() throws {
        let url = try TestPostgres.freshDatabase("cluster_refuse")
        let dir = TemporaryDirectory("sluice-cluster")
        try dir.write("data/a.jsonl", "{\"id\":1}\n")
        try dir.write("shared.yaml", """
            sources:
              records: {type: json, path: data/a.jsonl}
            sinks:
              out: {type: json, inputs: [records], path: out/all.jsonl}
            """)
        let shared = try Sluice.run(["run", "shared.yaml", "--cluster", url], in: dir.path)
        #expect(shared.status == 2)
        #expect(shared.stderr.contains("${SLUICE_PROCESS}"), "\(shared.stderr)")

        try dir.write("own.yaml", """
            sources:
              records: {type: json, path: data/a.jsonl}
            sinks:
              out: {type: json, inputs: [records], path: "out/part-${SLUICE_PROCESS}.jsonl"}
            """)
        let own = try Sluice.run(["run", "own.yaml", "--cluster", url], in: dir.path)
        #expect(own.status == 0, "\(own.stderr)")
        let written = try FileManager.default.contentsOfDirectory(atPath: dir.file("out"))
        #expect(written.count == 1 && written[0].hasPrefix("part-"), "\(written)")

        try dir.write("exec.yaml", """
            sources:
              records: {type: exec, command: [echo, "{}"]}
            sinks:
              out: {type: json, inputs: [records], path: "out/e-${SLUICE_PROCESS}.jsonl"}
            """)
        let exec = try Sluice.run(["run", "exec.yaml", "--cluster", url], in: dir.path)
        #expect(exec.status == 1)
        #expect(exec.stderr.contains("cannot be split"), "\(exec.stderr)")
    }
}
