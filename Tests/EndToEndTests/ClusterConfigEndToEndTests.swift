import CSQLite
import Foundation
import Testing
import SluiceTestSupport

/// `cluster:` in the config, `status`/`reset` against the cluster's checkpoints, and a sqlite
/// table shared in rowid ranges: the built binary against a real PostgreSQL server.
@Suite("cluster config, status, reset and sqlite rowid ranges (real PostgreSQL)", .serialized)
struct ClusterConfigEndToEndTests {
    /// `url` with a password parameter that the server (trust authentication) ignores but that
    /// must never be printed.
    static func withPassword(_ url: String) -> String {
        url + (url.contains("?") ? "&" : "?") + "password=s3cr3tpw"
    }

    static func trimmed(_ text: String) -> String { text.trimmingCharacters(in: .whitespacesAndNewlines) }

    @Test("the config's cluster: URL (${VAR} expanded) makes run a cluster run; status and reset act on the cluster's checkpoints; --cluster wins; the password is never printed")
    func clusterKeyStatusAndReset() throws {
        let url = Self.withPassword(try TestPostgres.freshDatabase("cluster_cfg"))
        let other = try TestPostgres.freshDatabase("cluster_cfg_other")
        let dir = TemporaryDirectory("sluice-cluster-cfg")
        // One file cut into ranges at 2,000-byte units, one small file.
        try dir.write("data/big.jsonl", (1...400).map { "{\"id\":\"big-\($0)\",\"n\":\($0)}\n" }.joined())
        try dir.write("data/small.jsonl", (1...10).map { "{\"id\":\"small-\($0)\",\"n\":\($0)}\n" }.joined())
        try dir.write("cfg.yaml", """
            cluster: ${PGURL}
            sources:
              records: {type: json, path: data/*.jsonl}
            sinks:
              table: {type: postgres, inputs: [records], url: "${PGURL}", table: records}
            """)
        let env = ["PGURL": url]
        var outputs: [String] = []
        func sluice(_ args: [String]) throws -> Sluice.Result {
            let result = try Sluice.run(args, in: dir.path, environment: env)
            outputs.append(result.stdout + result.stderr)
            return result
        }
        func count() throws -> String { Self.trimmed(try TestPostgres.psql(url, "SELECT count(*) || ' ' || count(DISTINCT id) FROM records")) }

        let validate = try sluice(["validate", "cfg.yaml"])
        #expect(validate.status == 0, "\(validate.stderr)")
        #expect(!validate.stderr.contains("unknown key"), "\(validate.stderr)")

        let run = try sluice(["run", "cfg.yaml", "--unit-size", "2000", "--progress", "never"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("cluster run 1"), "run without --cluster is a cluster run: \(run.stderr)")
        #expect(try count() == "410 410")
        let ranges = Self.trimmed(try TestPostgres.psql(url, "SELECT count(*) FROM _sluice_units WHERE unit->>'kind' = 'bytes'"))
        #expect((Int(ranges) ?? 0) >= 3, "ranges: \(ranges)")

        let status = try sluice(["status", "cfg.yaml"])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("state: cluster postgresql"), "\(status.stdout)")
        let line = status.stdout.split(separator: "\n").first { $0.contains("records ") && $0.contains("json") } ?? ""
        #expect(line.contains("410"), "the records delivered, from PostgreSQL: \(status.stdout)")
        #expect(status.stdout.contains("complete"), "the last run is the cluster's: \(status.stdout)")

        // --cluster wins over the config's: another database has no checkpoints of the pipeline.
        let elsewhere = try sluice(["status", "cfg.yaml", "--cluster", other])
        #expect(elsewhere.status == 0, "\(elsewhere.stderr)")
        #expect(elsewhere.stdout.contains("last run:         none"), "\(elsewhere.stdout)")
        let resetElsewhere = try sluice(["reset", "cfg.yaml", "--cluster", other, "--yes"])
        #expect(resetElsewhere.status == 0, "\(resetElsewhere.stderr)")
        #expect(Self.trimmed(try TestPostgres.psql(url, "SELECT count(*) FROM _sluice_checkpoints")) != "0")

        let reset = try sluice(["reset", "cfg.yaml", "--yes"])
        #expect(reset.status == 0, "\(reset.stderr)")
        #expect(reset.stdout.contains("source 'records': forgot"), "\(reset.stdout)")
        #expect(reset.stdout.contains("next cluster run"), "\(reset.stdout)")
        #expect(Self.trimmed(try TestPostgres.psql(url, "SELECT count(*) FROM _sluice_checkpoints")) == "0")

        // The next cluster run reads everything again, the ranged file too (its last generation's
        // roll-up checkpoint is not brought back): an unkeyed table gets every record twice.
        let again = try sluice(["run", "cfg.yaml", "--unit-size", "2000", "--progress", "never"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try count() == "820 410")
        let nothing = try sluice(["run", "cfg.yaml", "--unit-size", "2000", "--progress", "never"])
        #expect(nothing.status == 0, "\(nothing.stderr)")
        #expect(try count() == "820 410")

        // --dry-run cannot be a cluster run: said, not silently run locally.
        let dry = try sluice(["run", "cfg.yaml", "--dry-run"])
        #expect(dry.status != 0)
        #expect(dry.stderr.contains("cluster:"), "\(dry.stderr)")
        for output in outputs { #expect(!output.contains("s3cr3tpw"), "the password was printed: \(output)") }

        // A cluster: that is not a string is a config error at its line.
        try dir.write("bad.yaml", """
            cluster: [a, b]
            sources:
              records: {type: json, path: data/*.jsonl}
            sinks:
              out: {type: json, inputs: [records], path: out/x.jsonl}
            """)
        let bad = try sluice(["validate", "bad.yaml"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("bad.yaml:1:") && bad.stderr.contains("'cluster' must be"), "\(bad.stderr)")
    }

    @Test("three processes share a sqlite table in rowid ranges into one PostgreSQL table; one is killed with SIGKILL holding a range and restarted: every row exactly once; the next run reads only the rows added")
    func sqliteTableInRowidRanges() throws {
        let url = try TestPostgres.freshDatabase("cluster_sqlite")
        let dir = TemporaryDirectory("sluice-cluster-sqlite")
        try FileManager.default.createDirectory(atPath: dir.file("data"), withIntermediateDirectories: true)
        let db = dir.file("data/in.db")
        func exec(_ sql: String) throws {
            var handle: OpaquePointer?
            guard sqlite3_open(db, &handle) == SQLITE_OK else { throw CocoaError(.fileWriteUnknown) }
            defer { sqlite3_close(handle) }
            var message: UnsafeMutablePointer<CChar>?
            guard sqlite3_exec(handle, sql, nil, nil, &message) == SQLITE_OK else {
                let text = message.map { String(cString: $0) } ?? "?"
                sqlite3_free(message)
                throw StageErrorText(text: text)
            }
        }
        try exec("CREATE TABLE items (id TEXT, n INTEGER, pad TEXT)")
        let rows = 20_000
        try exec("BEGIN; " + (1...rows).map { "INSERT INTO items VALUES ('i-\($0)', \($0), '\(String(repeating: "p", count: 60))');" }.joined() + " COMMIT;")
        try dir.write("rows.yaml", """
            sources:
              items: {type: sqlite, path: data/in.db, table: items}
            sinks:
              table: {type: postgres, inputs: [items], url: "${PGURL}", table: items, batch_size: 100}
            """)
        let env = ["PGURL": url]
        // ~100-byte rows, 100,000-byte units: ~1,000 rows a unit, ~20 units.
        let args = ["run", "rows.yaml", "--cluster", url, "--unit-size", "100000", "--lease", "3", "--progress", "never"]
        let victim = try Sluice.start(args, in: dir.path, environment: env)
        let others = try (0..<2).map { _ in try Sluice.start(args, in: dir.path, environment: env) }
        let pid = victim.process.processIdentifier
        // Kill the victim while it holds a range part of which its sink committed.
        func holdsPartRange() -> Bool {
            let held = (try? TestPostgres.psql(url, """
                SELECT count(*) FROM _sluice_units u JOIN _sluice_delivered d
                  ON d.input = (u.unit->'files'->>0) || '#' || (u.unit->>'start') || '-' || (u.unit->>'end')
                WHERE u.state = 'claimed' AND u.holder_pid = \(pid)
                """).trimmingCharacters(in: .whitespacesAndNewlines)) ?? "0"
            return held != "0" && held != ""
        }
        let deadline = Date().addingTimeInterval(60)
        while victim.process.isRunning && Date() < deadline && !holdsPartRange() {
            Thread.sleep(forTimeInterval: 0.01)
        }
        var killed = false
        if victim.process.isRunning {
            kill(pid, SIGKILL)
            killed = true
        }
        _ = try victim.wait()
        // Whether the dead process still held a range part of which was committed: seen before the
        // kill, it may have finished that range in the moment before the signal landed (then
        // nothing is taken over). Its claims stay until their 3 s lease runs out.
        let partial = holdsPartRange()
        print("sqlite rowid ranges: the victim was killed \(partial ? "with part of its range committed" : "while holding a range")")
        #expect(killed, "the victim ended before it could be killed")
        let restarted = try Sluice.start(args, in: dir.path, environment: env)
        var outputs: [String] = []
        for process in others + [restarted] {
            let result = try process.wait(timeout: 300)
            #expect(result.status == 0, "\(result.stderr)")
            outputs.append(result.stderr)
        }
        if partial {
            #expect(outputs.contains { $0.contains("already written by an earlier run") },
                    "the range taken over skipped what the killed process had committed")
        }
        let count = Self.trimmed(try TestPostgres.psql(url, "SELECT count(*) || ' ' || count(DISTINCT id) FROM items"))
        #expect(count == "\(rows) \(rows)")
        let units = Self.trimmed(try TestPostgres.psql(url, "SELECT count(*) FILTER (WHERE unit->>'kind' = 'rows') || ' ' || count(*) FROM _sluice_units"))
            .split(separator: " ").compactMap { Int($0) }
        #expect(units.count == 2 && units[0] >= 10 && units[0] == units[1], "units: \(units)")

        // Rows added later: the next cluster run lists and reads only them.
        try exec("INSERT INTO items VALUES ('i-new-1', -1, 'x'), ('i-new-2', -2, 'x');")
        let grown = try Sluice.run(args, in: dir.path, environment: env)
        #expect(grown.status == 0, "\(grown.stderr)")
        let after = Self.trimmed(try TestPostgres.psql(url, "SELECT count(*) || ' ' || count(DISTINCT id) FROM items"))
        #expect(after == "\(rows + 2) \(rows + 2)")
        let status = try Sluice.run(["cluster", "status", "rows.yaml", "--cluster", url], in: dir.path, environment: env)
        #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
    }
}

private struct StageErrorText: Error { var text: String }
