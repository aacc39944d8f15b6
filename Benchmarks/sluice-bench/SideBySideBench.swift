import Foundation
import SluiceCore
import SluiceTextArticles

#if canImport(Glibc)
import Glibc
#endif

/// `make bench`: the jobs of issue 13 side by side with the same work done by Python, by the
/// raw SQLite C API, by sqlite-utils and by stock `lua5.4` + lua-cjson (when installed), in one
/// invocation on deterministic generated data. Every program — `sluice` itself included — runs
/// as a child process on files in a temporary folder; its wall time is measured around
/// `posix_spawn`…`wait4`, and its peak RSS is the `ru_maxrss` that `wait4` reports for it.
///
/// Environment: `BENCH_QUICK=1` (a smoke run on small data, one pass), `BENCH_RECORDS` (default
/// 200,000), `BENCH_ARTICLES` (default 10,000), `BENCH_SCALE` (multiplies both defaults: `5` is
/// issue 13's "5× larger input" for the peak-RSS goal), `BENCH_KEEP` (a folder to generate the
/// data in and keep, for profiling a job by hand), `BENCH_PEERS=0` (sluice alone: no Python, C,
/// sqlite-utils or Lua rows — a 5× run for peak RSS in minutes), `BENCH_RUNS` (passes per program, the fastest
/// counts; default 3), `BENCH_JOBS` (e.g. `1,3`), `SLUICE_BIN` (default: `sluice` next to this
/// binary), `BENCH_C_LIMIT` (the built `Benchmarks/c/sqlite_limit`; else it is compiled with
/// `cc`), `PYTHON` (default `python3`).
enum SideBySideBench {
    /// One measured run of a program.
    struct Measure {
        var seconds: Double
        var maxRSS: Int      // bytes
        var status: Int32
    }

    /// One program's line of a job's table.
    struct Row {
        var label: String
        var measure: Measure?
        var note: String = ""
        var isSluice = false
    }

    static let environment = ProcessInfo.processInfo.environment
    static let quick = environment["BENCH_QUICK"].map { $0 != "0" && !$0.isEmpty } ?? false
    static let scale = max(1, environment["BENCH_SCALE"].flatMap { Int($0) } ?? 1)
    static let records = environment["BENCH_RECORDS"].flatMap { Int($0) } ?? (quick ? 1_000 : 200_000) * scale
    static let articles = environment["BENCH_ARTICLES"].flatMap { Int($0) } ?? (quick ? 100 : 10_000) * scale
    static let keep = environment["BENCH_KEEP"].flatMap { $0.isEmpty ? nil : $0 }
    static let peers = environment["BENCH_PEERS"].map { $0 != "0" } ?? true
    static let runs = max(1, environment["BENCH_RUNS"].flatMap { Int($0) } ?? (quick ? 1 : 3))
    static let jobs = Set((environment["BENCH_JOBS"] ?? "1,2,3").split(separator: ",").compactMap { Int($0) })
    static let python = environment["PYTHON"] ?? "python3"

    /// The repository (for Benchmarks/python, Benchmarks/lua, Benchmarks/c).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func run() throws {
        let folder = keep ?? NSTemporaryDirectory() + "sluice-side-by-side-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: folder) } }
        let sluice = try sluiceBinary()
        print("side by side: \(records) records, \(articles) articles, fastest of \(runs) run\(runs == 1 ? "" : "s") "
              + "(peers once), \(ProcessInfo.processInfo.activeProcessorCount) cores\(quick ? ", QUICK smoke run" : "")"
              + (scale > 1 ? ", input \(scale)× (BENCH_SCALE)" : "") + (peers ? "" : ", sluice alone (BENCH_PEERS=0)"))
        print("sluice: \(sluice)")
        let data = folder + "/records.jsonl"
        let bytes = try writeRecords(count: records, to: data)
        print(String(format: "data: %@ (%.1f MB, %.0f bytes/record)", data, Double(bytes) / 1e6, Double(bytes) / Double(records)))
        // What this run says of the issue's goals, printed at the end.
        var goals: [String] = []
        if jobs.contains(1) { try job1(sluice: sluice, data: data, bytes: bytes, folder: folder, goals: &goals) }
        if jobs.contains(2) { try job2(sluice: sluice, data: data, bytes: bytes, folder: folder, goals: &goals) }
        if jobs.contains(3) { try job3(sluice: sluice, folder: folder, goals: &goals) }
        if !goals.isEmpty {
            print("\nissue 13 goals (this run):")
            for goal in goals { print("  " + goal) }
        }
    }

    // MARK: - Jobs

    static func job1(sluice: String, data: String, bytes: Int, folder: String, goals: inout [String]) throws {
        let work = folder + "/job1"
        var rows: [Row] = []
        let yaml = """
            sources:
              in: { type: json, path: \(data) }
            sinks:
              db: { type: sqlite, inputs: [in], path: \(work)/out.db, table: bench, key: id }
            """
        rows.append(Row(label: "sluice json → sqlite (key: id)", measure: try measureSluice(sluice, yaml: yaml, work: work,
                                                                                         check: .table(work + "/out.db", "bench")),
                        isSluice: true))
        rows.append(Row(label: "Python json.loads + executemany", measure: try measureProgram(
            [python, repository + "/Benchmarks/python/jsonl_to_sqlite.py", data, work + "/out.db"], work: work)))
        if let limit = try cLimit(folder) {
            // The cache the sqlite sink grows to at most: enough for the key's index (SQLite's default
            // 2,000 KiB is not, and makes the limit slower than sluice).
            rows.append(Row(label: "C, SQLite API (the limit)",
                            measure: try measureProgram([limit, data, work + "/out.db", "--cache", "16384"], work: work),
                            note: "rollback journal, 32 KiB pages, 16 MiB cache"))
        } else {
            rows.append(Row(label: "C, SQLite API (the limit)", measure: nil, note: "no cc: not measured"))
        }
        if let utils = which("sqlite-utils") {
            rows.append(Row(label: "sqlite-utils insert --nl", measure: try measureProgram(
                [utils, "insert", work + "/out.db", "bench", data, "--nl", "--pk", "id"], work: work, runs: 1)))
        } else {
            rows.append(Row(label: "sqlite-utils insert --nl", measure: nil, note: "not installed"))
        }
        table("job 1: JSON Lines → sqlite, key id, new database", rows, records: records, bytes: bytes, goals: &goals)
        if let s = rows[0].measure, let py = rows[1].measure {
            goal(&goals, "1. JSON Lines → sqlite ≥ 3× Python", py.seconds / s.seconds, ">=", 3)
        }
        if let s = rows[0].measure, let c = rows[2].measure {
            goal(&goals, "1. … within 1.6× of the C API", s.seconds / c.seconds, "<=", 1.6)
        }
    }

    static func job2(sluice: String, data: String, bytes: Int, folder: String, goals: inout [String]) throws {
        let work = folder + "/job2"
        let rule = repository + "/Benchmarks/lua/rule.lua"
        var rows: [Row] = []
        for workers in [1, 2] {
            let yaml = """
                sources:
                  in: { type: json, path: \(data) }
                transforms:
                  rule: { type: lua, inputs: [in], script: \(rule), workers: \(workers) }
                sinks:
                  out: { type: json, inputs: [rule], path: \(work)/out.jsonl }
                """
            rows.append(Row(label: "sluice json → lua rule → json, \(workers) worker\(workers == 1 ? "" : "s")",
                            measure: try measureSluice(sluice, yaml: yaml, work: work, check: .lines(work + "/out.jsonl")),
                            isSluice: true))
        }
        rows.append(Row(label: "Python json + re", measure: try measureProgram(
            [python, repository + "/Benchmarks/python/lua_rule.py", data, work + "/out.jsonl"], work: work)))
        if let lua = which("lua5.4"), (try? runProgram([lua, "-e", "require('cjson')"], work: folder).status) == 0 {
            rows.append(Row(label: "lua5.4 + lua-cjson", measure: try measureProgram(
                [lua, repository + "/Benchmarks/lua/cjson_job.lua"], work: work, stdin: data, stdout: work + "/out.jsonl", runs: 1)))
        } else {
            rows.append(Row(label: "lua5.4 + lua-cjson", measure: nil, note: "not installed"))
        }
        table("job 2: JSON Lines → lua rule → JSON Lines", rows, records: records, bytes: bytes, goals: &goals)
        if let one = rows[0].measure, let py = rows[2].measure {
            goal(&goals, "2. Lua rule, 1 worker ≥ 2× Python", py.seconds / one.seconds, ">=", 2)
        }
        if let two = rows[1].measure, let py = rows[2].measure {
            goal(&goals, "2. Lua rule, 2 workers ≥ 2.5× Python", py.seconds / two.seconds, ">=", 2.5)
        }
    }

    static func job3(sluice: String, folder: String, goals: inout [String]) throws {
        let work = folder + "/job3"
        let articlesFolder = folder + "/articles"
        var generator = ArticleGenerator(seed: 0x5EED_A871_C1E5)
        var bytes = 0
        for n in 0..<articles {
            let data = generator.article(number: n)
            bytes += data.count
            let sub = articlesFolder + String(format: "/%02d", n / 100)
            if n % 100 == 0 { try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true) }
            try data.write(to: URL(fileURLWithPath: sub + String(format: "/article-%05d.%@", n, n % 10 == 3 ? "md" : "txt")))
        }
        var rows: [Row] = []
        let cores = ProcessInfo.processInfo.activeProcessorCount
        // As a user runs it (workers: the cores), then with one thread parsing.
        for workers in [nil, 1] {
            let yaml = """
                sources:
                  articles: { type: text_articles, path: \(articlesFolder)\(workers.map { ", workers: \($0)" } ?? "") }
                sinks:
                  db: { type: sqlite, inputs: [articles], path: \(work)/out.db, table: articles, key: id, fts: [title, body] }
                """
            rows.append(Row(label: "sluice text_articles → sqlite + FTS5" + (workers.map { ", workers: \($0)" } ?? ""),
                            measure: try measureSluice(sluice, yaml: yaml, work: work, check: .table(work + "/out.db", "articles")),
                            isSluice: workers == nil))
        }
        // The source alone, in this process (no child: no RSS figure), on one thread and on every core.
        var alone: [Int: Double] = [:]
        for workers in Set([1, cores]).sorted() {
            var best = Double.infinity
            for _ in 0..<runs {
                let source = TextArticlesSource(path: articlesFolder, workers: workers)
                let context = SourceContext(stage: StageContext(name: "articles", deadLetters: CollectingDeadLetterQueue()),
                                            batchSize: 256, send: { _ in })
                let start = DispatchTime.now().uptimeNanoseconds
                try source.run(context)
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            alone[workers] = best
            rows.append(Row(label: "sluice text_articles source alone, workers: \(workers)",
                            measure: Measure(seconds: best, maxRSS: 0, status: 0), note: "in process"))
        }
        rows.append(Row(label: "Python read/decode/NFC/sha256 + FTS5", measure: try measureProgram(
            [python, repository + "/Benchmarks/python/articles_to_sqlite.py", articlesFolder, work + "/out.db"], work: work),
                        note: "simplified parser"))
        table("job 3: text_articles → sqlite with FTS5", rows, records: articles, bytes: bytes, unit: "articles", goals: &goals)
        if let s = rows[0].measure {
            // Today's figure before issue 13 (FACTS.md, profile of main at 5558150): 5,300 articles/s.
            goal(&goals, "3. text_articles → sqlite+FTS ≥ 4× today's 5,300/s", Double(articles) / s.seconds / 5_300, ">=", 4)
        }
        for (workers, seconds) in alone.sorted(by: { $0.key < $1.key }) {
            goal(&goals, "3. text_articles source alone ≥ 20,000 articles/s (workers: \(workers))", Double(articles) / seconds,
                 ">=", 20_000, unit: "/s")
        }
    }

    // MARK: - Output

    static func table(_ title: String, _ rows: [Row], records: Int, bytes: Int, unit: String = "records",
                      goals: inout [String]) {
        print("\n\(title): \(records) \(unit), \(String(format: "%.1f", Double(bytes) / 1e6)) MB")
        let sluiceTime = rows.first(where: \.isSluice)?.measure?.seconds
        let pythonTime = rows.first(where: { $0.label.hasPrefix("Python") })?.measure?.seconds
        print("  | program | s | \(unit)/s | MB/s | peak RSS | vs Python | sluice is |")
        print("  | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for row in rows {
            guard let m = row.measure else {
                print("  | \(row.label) | – | – | – | – | – | \(row.note) |")
                continue
            }
            let rss = m.maxRSS > 0 ? String(format: "%.0f MB", Double(m.maxRSS) / 1_048_576) : "–"
            let versusPython = pythonTime.map { String(format: "%.2f×", $0 / m.seconds) } ?? "–"
            var sluiceIs = "–"
            if !row.isSluice, let s = sluiceTime { sluiceIs = String(format: "%.2f×", m.seconds / s) }
            let failed = m.status != 0 ? " (FAILED, status \(m.status))" : ""
            let note = row.note.isEmpty ? "" : " (\(row.note))"
            print(String(format: "  | %@%@%@ | %.2f | %.0f | %.1f | %@ | %@ | %@ |", row.label, note, failed, m.seconds,
                         Double(records) / m.seconds, Double(bytes) / 1e6 / m.seconds, rss, versusPython, sluiceIs))
            if row.isSluice && m.maxRSS > 0 {
                goal(&goals, "4. peak RSS ≤ 64 MB\(scale > 1 ? " at \(scale)× input" : ""): \(row.label)", Double(m.maxRSS) / 1_048_576, "<=", 64, unit: " MB")
            }
        }
    }

    static func goal(_ goals: inout [String], _ label: String, _ value: Double, _ comparison: String, _ target: Double, unit: String = "×") {
        let met = comparison == ">=" ? value >= target : value <= target
        let shown = unit == "×" ? String(format: "%.2f×", value) : String(format: "%.0f%@", value, unit)
        goals.append("\(met ? "met    " : "NOT met") \(label): \(shown)")
    }

    // MARK: - Running programs

    enum Check {
        case table(String, String)
        case lines(String)
    }

    /// Runs `sluice run` on `yaml` in a fresh folder each pass (no checkpoints carried over).
    static func measureSluice(_ binary: String, yaml: String, work: String, check: Check) throws -> Measure? {
        var best: Measure?
        for _ in 0..<runs {
            try? FileManager.default.removeItem(atPath: work)
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            try yaml.write(toFile: work + "/bench.yaml", atomically: true, encoding: .utf8)
            let m = try runProgram([binary, "run", work + "/bench.yaml", "--progress", "never"], work: work)
            if m.status != 0 {
                let errors = (try? String(contentsOfFile: work + "/stderr.txt", encoding: .utf8)) ?? ""
                print("  sluice failed (status \(m.status)): \(errors.suffix(2000))")
                return m
            }
            best = best.map { b in Measure(seconds: min(b.seconds, m.seconds), maxRSS: max(b.maxRSS, m.maxRSS), status: 0) } ?? m
        }
        switch check {
        case .table(let db, let table):
            let count = (try? runCapture(["sqlite3", db, "SELECT count(*) FROM \"\(table)\""]))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            print("  (sluice wrote \(count) rows to \(table))")
        case .lines(let file):
            // Counted in chunks: this process must stay small (see ``runProgram``).
            var count = 0
            if let handle = FileHandle(forReadingAtPath: file) {
                while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                    count += chunk.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                }
                try? handle.close()
            }
            print("  (sluice wrote \(count) lines)")
        }
        return best
    }

    /// Runs a program `runs` times in a fresh `work` folder; the fastest time, the largest RSS
    /// (nil with `BENCH_PEERS=0`: only sluice is measured).
    static func measureProgram(_ arguments: [String], work: String, stdin: String? = nil, stdout: String? = nil,
                               runs: Int = SideBySideBench.runs) throws -> Measure? {
        guard peers else { return nil }
        var best: Measure?
        for _ in 0..<runs {
            try? FileManager.default.removeItem(atPath: work)
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            let m = try runProgram(arguments, work: work, stdin: stdin, stdout: stdout)
            if m.status != 0 {
                let errors = (try? String(contentsOfFile: work + "/stderr.txt", encoding: .utf8)) ?? ""
                print("  \((arguments[0] as NSString).lastPathComponent) failed (status \(m.status)): \(errors.suffix(2000))")
                return m
            }
            best = best.map { b in Measure(seconds: min(b.seconds, m.seconds), maxRSS: max(b.maxRSS, m.maxRSS), status: 0) } ?? m
        }
        return best ?? Measure(seconds: .infinity, maxRSS: 0, status: -1)
    }

    /// Spawns `arguments` (stdout and stderr to files in `work`) and waits for it: its wall time
    /// and peak RSS. Linux carries the spawning process's peak RSS into a child's `ru_maxrss`
    /// across `exec` (a 800 MB bench process made every child "800 MB"), so the program runs
    /// under GNU `/usr/bin/time`, itself small, which reports the program's own peak; without
    /// it, `wait4`'s figure is used (an upper bound).
    static func runProgram(_ arguments: [String], work: String, stdin: String? = nil, stdout: String? = nil) throws -> Measure {
        let timeTool = "/usr/bin/time"
        guard FileManager.default.isExecutableFile(atPath: timeTool) else {
            return try spawn(arguments, work: work, stdin: stdin, stdout: stdout)
        }
        let rssFile = work + "/maxrss.txt"
        var m = try spawn([timeTool, "-f", "%M", "-o", rssFile] + arguments, work: work, stdin: stdin, stdout: stdout)
        if let text = try? String(contentsOfFile: rssFile, encoding: .utf8),
           let kb = text.split(separator: "\n").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) {
            m.maxRSS = kb * 1024
        }
        return m
    }

    /// Spawns `arguments` and waits with `wait4` for its wall time and `ru_maxrss`.
    static func spawn(_ arguments: [String], work: String, stdin: String? = nil, stdout: String? = nil) throws -> Measure {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout ?? work + "/stdout.txt", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, work + "/stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let start = DispatchTime.now().uptimeNanoseconds
        let spawned = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
        guard spawned == 0 else {
            // Reported as a failed run (status 127, as a shell would), not as the end of the bench.
            print("  cannot start \(arguments[0]): \(String(cString: strerror(spawned)))")
            return Measure(seconds: .infinity, maxRSS: 0, status: 127)
        }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let exited = status & 0x7F == 0
        return Measure(seconds: seconds, maxRSS: Int(usage.ru_maxrss) * 1024, status: exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F))
    }

    /// The standard output of a short command.
    static func runCapture(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    static func which(_ program: String) -> String? {
        for dir in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(program)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static func sluiceBinary() throws -> String {
        if let path = environment["SLUICE_BIN"] { return path }
        let next = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("sluice").path
        guard FileManager.default.isExecutableFile(atPath: next) else {
            throw StageError(stage: "bench", message: "no sluice binary next to sluice-bench (\(next)); build it or set SLUICE_BIN")
        }
        return next
    }

    /// `Benchmarks/c/sqlite_limit`, built by `make bench` (BENCH_C_LIMIT) or compiled here.
    static func cLimit(_ folder: String) throws -> String? {
        if let path = environment["BENCH_C_LIMIT"], FileManager.default.isExecutableFile(atPath: path) { return path }
        guard let cc = which("cc") else { return nil }
        let out = folder + "/sqlite_limit"
        let m = try runProgram([cc, "-O2", "-o", out, repository + "/Benchmarks/c/sqlite_limit.c", "-lsqlite3"], work: folder)
        return m.status == 0 ? out : nil
    }

    // MARK: - Data

    /// Writes `count` article-like records (``BenchRecords``) as JSON Lines; returns the bytes.
    static func writeRecords(count: Int, to path: String) throws -> Int {
        guard let file = fopen(path, "w") else { throw StageError(stage: "bench", message: "cannot write \(path)") }
        defer { fclose(file) }
        var generator = BenchRecords()
        var out: [UInt8] = []
        var total = 0
        for n in 0..<count {
            JSONWriter.write(generator.fields(n), to: &out)
            out.append(0x0A)
            if out.count > 1 << 20 || n == count - 1 {
                total += out.count
                guard fwrite(out, 1, out.count, file) == out.count else { throw StageError(stage: "bench", message: "cannot write \(path)") }
                out.removeAll(keepingCapacity: true)
            }
        }
        return total
    }
}

/// The article-like records of the benchmarks (FACTS.md's shape, ~1.8 KB of JSON each): id, url,
/// section, title, published, author and a body of at least 1,500 bytes with money amounts
/// and percentages. Deterministic: the same bytes on every run and machine.
struct BenchRecords {
    static let words = ["the", "trade", "deficit", "reached", "$14.25 billion", "in", "November", "according", "to",
                        "officials", "who", "said", "growth", "slowed", "while", "exports", "rose", "by", "3.2%", "café",
                        "Beijing", "and", "Washington", "agreed", "on", "new", "tariffs", "worth", "$300 million", "yesterday"]
    private var state: UInt64 = 0x2545_F491_4F6C_DD1D

    /// The fields of record `n` (records must be asked for in order, from 0).
    mutating func fields(_ n: Int) -> Fields {
        var body = ""
        while body.utf8.count < 1500 {
            // xorshift: cheap and the same every run
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            body += Self.words[Int(state % UInt64(Self.words.count))] + " "
        }
        return [
            "id": .string(String(format: "%016llx", UInt64(n) &* 0x9E37_79B9_7F4A_7C15)),
            "url": .string("https://news.example.com/2025/11/20/article-\(n).html"),
            "section": "CHINA / DIPLOMACY",
            "title": .string("Trade talks resume as officials meet in Beijing, part \(n)"),
            "published": "2025-11-20T22:10:00",
            "author": "Jane Doe",
            "body": .string(body),
        ]
    }
}
