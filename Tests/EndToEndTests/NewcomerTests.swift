import Foundation
import SluiceCore
import SluiceFormats
import SluiceTestSupport
import Testing

/// A newcomer's first hour: `init`, `tap`, `run --limit/--dry-run`, `try --source`, machine-read
/// logs and metrics (issue 11).
@Suite("newcomer: init, tap, dry runs, samples, logs and metrics")
struct NewcomerTests {
    @Test("sluice init writes a project that validate, test and run accept at once; a second init into it is refused")
    func initProject() throws {
        let dir = TemporaryDirectory("sluice-init")
        let created = try Sluice.run(["init", "proj"], in: dir.path)
        #expect(created.status == 0, "stderr: \(created.stderr)")
        #expect(created.stdout.contains("sluice run pipeline.yaml"))
        let project = dir.file("proj")
        let validate = try Sluice.run(["validate", "pipeline.yaml"], in: project)
        #expect(validate.status == 0 && validate.stderr.isEmpty, "stderr: \(validate.stderr)")
        let test = try Sluice.run(["test", "pipeline.yaml"], in: project)
        #expect(test.status == 0)
        #expect(test.stdout.contains("2 passed, 0 failed") || test.stderr.contains("2 passed, 0 failed"), "\(test.stdout)\(test.stderr)")
        let run = try Sluice.run(["run", "pipeline.yaml", "--progress", "never"], in: project)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let rows = try SQLiteRows.query(project + "/out/articles.db", "SELECT title, sentence_count FROM articles ORDER BY title")
        #expect(rows.map { $0["title"] } == ["New harbour opens on the north coast", "Rail link to the airport approved"])
        #expect(rows.allSatisfy { ($0["sentence_count"]?.intValue ?? 0) > 0 })
        let again = try Sluice.run(["init", "proj"], in: dir.path)
        #expect(again.status == 2)
        #expect(again.stderr.contains("is not empty"), "stderr: \(again.stderr)")
    }

    static func project() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory("sluice-newcomer")
        try dir.write("in.jsonl", (1...10).map { "{\"n\": \($0), \"title\": \"t\($0)\"}" }.joined(separator: "\n") + "\n")
        try dir.write("rule.lua", "function process(r) r.big = r.n > 5; return r end\n")
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: in.jsonl }
            transforms:
              rule: { type: lua, inputs: [input], script: rule.lua }
            sinks:
              db: { type: sqlite, inputs: [rule], path: out.db, table: t }
            """)
        return dir
    }

    @Test("tap prints what a stage emits, at most --limit records, and writes nothing; an unknown stage is exit 2 with a suggestion")
    func tap() throws {
        let dir = try Self.project()
        let tapped = try Sluice.run(["tap", "p.yaml", "rule", "--limit", "3"], in: dir.path)
        #expect(tapped.status == 0, "stderr: \(tapped.stderr)")
        #expect(tapped.stdout.lines == [#"{"n":1,"title":"t1","big":false}"#, #"{"n":2,"title":"t2","big":false}"#,
                                        #"{"n":3,"title":"t3","big":false}"#])
        #expect(!FileManager.default.fileExists(atPath: dir.file("out.db")), "tap runs no sink")
        #expect(!FileManager.default.fileExists(atPath: dir.file(".sluice/p/state.db")), "tap keeps no state")
        let sink = try Sluice.run(["tap", "p.yaml", "db"], in: dir.path)
        #expect(sink.stdout.lines.count == 10, "a sink's tap shows what it receives")
        let unknown = try Sluice.run(["tap", "p.yaml", "rlue"], in: dir.path)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no stage 'rlue'") && unknown.stderr.contains("did you mean 'rule'"), "\(unknown.stderr)")
    }

    @Test("run --dry-run writes no output, no checkpoint and no dead-letter file, and says so")
    func dryRun() throws {
        let dir = try Self.project()
        let result = try Sluice.run(["run", "p.yaml", "--dry-run", "--progress", "never"], in: dir.path)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("10 records read") && result.stderr.contains("dry run: nothing was written"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("out.db")))
        #expect(!FileManager.default.fileExists(atPath: dir.file(".sluice/p/state.db")))
    }

    @Test("run --limit N delivers a sample of N records per source; the next run delivers the rest, each once")
    func limitedRun() throws {
        let dir = try Self.project()
        let sample = try Sluice.run(["run", "p.yaml", "--limit", "3", "--progress", "never"], in: dir.path)
        #expect(sample.status == 0, "stderr: \(sample.stderr)")
        #expect(sample.stderr.contains("3 records read"), "stderr: \(sample.stderr)")
        #expect(try SQLiteRows.query(dir.file("out.db"), "SELECT count(*) AS c FROM t").first?["c"] == 3)
        let rest = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(rest.status == 0)
        let rows = try SQLiteRows.query(dir.file("out.db"), "SELECT count(*) AS c, count(DISTINCT n) AS d FROM t").first
        #expect(rows?["c"] == 10 && rows?["d"] == 10)
    }

    @Test("--metrics-format prometheus writes a textfile with per-stage counters; --log-format json writes one JSON object per log line")
    func metricsAndLogs() throws {
        let dir = try Self.project()
        let result = try Sluice.run(["run", "p.yaml", "--progress", "never", "--metrics", "m.prom", "--metrics-format", "prometheus"],
                                    in: dir.path)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let text = try String(contentsOfFile: dir.file("m.prom"), encoding: .utf8)
        #expect(text.contains("# TYPE sluice_stage_records_out gauge"))
        #expect(text.contains(#"sluice_stage_records_out{pipeline="p.yaml",stage="db",kind="sink",type="sqlite"} 10"#), "\(text)")
        #expect(text.contains(#"sluice_run_success{pipeline="p.yaml"} 1"#))
        // A second run logs that the input is unchanged.
        let second = try Sluice.run(["run", "p.yaml", "--progress", "never", "--log-format", "json"], in: dir.path)
        let logLines = second.stderr.lines.filter { $0.hasPrefix("{") }
        #expect(logLines.contains { $0.contains("unchanged since the last run") }, "stderr: \(second.stderr)")
        for line in logLines {
            guard case .object(let f) = try JSONReader.parse(line) else { Issue.record("not an object: \(line)"); continue }
            #expect(f["level"] != nil && f["message"] != nil && f["time"] != nil)
        }
    }

    @Test("try --source text_articles runs a rule on real article files")
    func tryOnArticles() throws {
        let dir = TemporaryDirectory("sluice-try-articles")
        try dir.write("a/one.txt", "Harbour opens\n\nThe harbour opened on Monday.\n")
        try dir.write("rule.lua", "function process(r) return { title = r.title, words = r.word_count } end\n")
        let result = try Sluice.run(["try", "rule.lua", "--source", "text_articles", "--input", "a"], in: dir.path)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.lines == [#"{"title":"Harbour opens","words":5}"#])
        let missing = try Sluice.run(["try", "rule.lua", "--source", "text_articles"], in: dir.path)
        #expect(missing.status == 2 && missing.stderr.contains("give --input"))
    }

    @Test("the man page docs/man/sluice.1 names every subcommand and option (run `make man` after changing them)")
    func manPageIsCurrent() throws {
        let man = try String(contentsOfFile: Sluice.repository + "/docs/man/sluice.1", encoding: .utf8)
        let help = try Sluice.run(["--help"], in: Sluice.repository)
        // The names listed under SUBCOMMANDS:, one per line.
        let listed = help.stdout.components(separatedBy: "SUBCOMMANDS:").last ?? ""
        let subcommands = listed.components(separatedBy: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { return nil }
            let name = line.trimmingCharacters(in: .whitespaces).prefix { $0.isLetter }
            return name.isEmpty || name == "See" ? nil : String(name)
        }.filter { $0 != "help" }
        for sub in subcommands {
            #expect(man.contains(".It Em \(sub)"), "docs/man/sluice.1 lacks the subcommand \(sub)")
            let usage = try Sluice.run([sub, "--help"], in: Sluice.repository).stdout
            // Option lines of the help: "  --name <value>" or "  -x, --name".
            let options = Set(usage.components(separatedBy: "\n").compactMap { line -> String? in
                var rest = line.trimmingCharacters(in: .whitespaces)
                guard line.hasPrefix("  "), rest.hasPrefix("-") else { return nil }
                if !rest.hasPrefix("--"), let comma = rest.firstIndex(of: ",") { rest = String(rest[rest.index(after: comma)...]).trimmingCharacters(in: .whitespaces) }
                guard rest.hasPrefix("--") else { return nil }
                return String(rest.dropFirst(2).prefix { $0.isLetter || $0.isNumber || $0 == "-" })
            })
            for option in options where option != "help" && option != "version" {
                #expect(man.contains("Fl -\(option)"), "docs/man/sluice.1 lacks \(sub) --\(option)")
            }
        }
    }

    @Test("shell completions complete subcommands, config files and stage types in bash, zsh and fish")
    func completions() throws {
        for shell in ["bash", "zsh", "fish"] {
            let script = try Sluice.run(["--generate-completion-script", shell], in: Sluice.repository)
            #expect(script.status == 0)
            for word in ["init", "tap", "replay", "text_articles", "yaml"] {
                #expect(script.stdout.contains(word), "\(shell) completion lacks \(word)")
            }
        }
    }
}
