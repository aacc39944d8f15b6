import Foundation
import SluiceCore

/// `make bench BENCH=postgres`: the postgres sink on the 200,000-record JSON Lines job (the
/// side-by-side bench's records), beside `psql`'s `\copy … CSV` of the same rows into the same
/// table — PostgreSQL's own bulk path, the practical limit here. Both load a fresh table on a
/// throwaway server (`scripts/test-postgres.sh`, fsync off) or on `SLUICE_BENCH_POSTGRES_URL`.
enum PostgresBench {
    static func run() throws {
        let env = SideBySideBench.environment
        let records = SideBySideBench.records
        let folder = NSTemporaryDirectory() + "sluice-postgres-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let sluice = try SideBySideBench.sluiceBinary()
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let script = root.path + "/scripts/test-postgres.sh"
        let url: String
        var owned: String?
        if let given = env["SLUICE_BENCH_POSTGRES_URL"], !given.isEmpty {
            url = given
        } else {
            // Spawned with its output in a file (the script leaves the server running).
            let m = try SideBySideBench.spawn([script, "start"], work: folder, stdout: folder + "/url.txt")
            let text = (try? String(contentsOfFile: folder + "/url.txt", encoding: .utf8)) ?? ""
            guard m.status == 0, !text.isEmpty else {
                throw StageError(stage: "bench", message: "cannot start a PostgreSQL server with \(script) (make deps installs it)")
            }
            url = text.trimmingCharacters(in: .whitespacesAndNewlines)
            owned = url
        }
        defer { if let owned { _ = try? SideBySideBench.spawn([script, "stop", owned], work: folder) } }
        guard let psql = SideBySideBench.which("psql") else {
            throw StageError(stage: "bench", message: "psql is not installed (make deps installs postgresql)")
        }
        let data = folder + "/records.jsonl"
        let bytes = try SideBySideBench.writeRecords(count: records, to: data)
        let csv = folder + "/records.csv"
        try writeCSV(count: records, to: csv)
        print("postgres: \(records) records (\(String(format: "%.1f", Double(bytes) / 1e6)) MB of JSON Lines), fastest of \(SideBySideBench.runs), server \(url)")
        let columns = ["id", "url", "section", "title", "published", "author", "body"]
        func sql(_ text: String) throws {
            let m = try SideBySideBench.spawn([psql, url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", text], work: folder)
            guard m.status == 0 else { throw StageError(stage: "bench", message: "psql failed: \(text)") }
        }
        func count() -> String {
            _ = try? SideBySideBench.spawn([psql, url, "-X", "-A", "-t", "-c", "SELECT count(*) FROM bench"], work: folder,
                                           stdout: folder + "/count.txt")
            return ((try? String(contentsOfFile: folder + "/count.txt", encoding: .utf8)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let yaml = """
            sources:
              in: { type: json, path: \(data) }
            sinks:
              pg: { type: postgres, inputs: [in], url: "\(url)", table: bench }
            """
        var sluiceBest: SideBySideBench.Measure?
        for _ in 0..<SideBySideBench.runs {
            try sql("DROP TABLE IF EXISTS bench; DROP TABLE IF EXISTS _sluice_delivered")
            let work = folder + "/sluice"
            try? FileManager.default.removeItem(atPath: work)
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            try yaml.write(toFile: work + "/bench.yaml", atomically: true, encoding: .utf8)
            let m = try SideBySideBench.runProgram([sluice, "run", work + "/bench.yaml", "--progress", "never"], work: work)
            guard m.status == 0 else {
                let errors = (try? String(contentsOfFile: work + "/stderr.txt", encoding: .utf8)) ?? ""
                print("  sluice failed (status \(m.status)): \(errors.suffix(2000))")
                return
            }
            if sluiceBest.map({ m.seconds < $0.seconds }) ?? true { sluiceBest = m }
        }
        print("  (sluice wrote \(count()) rows)")
        // The same table (the sink's column types), emptied, then psql's \copy of the CSV.
        var copyBest: SideBySideBench.Measure?
        try FileManager.default.createDirectory(atPath: folder + "/psql", withIntermediateDirectories: true)
        for _ in 0..<SideBySideBench.runs {
            try sql("TRUNCATE bench")
            let m = try SideBySideBench.runProgram(
                [psql, url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                 "\\copy bench (\(columns.joined(separator: ", "))) FROM '\(csv)' CSV"], work: folder + "/psql")
            guard m.status == 0 else { print("  psql \\copy failed (status \(m.status))"); return }
            if copyBest.map({ m.seconds < $0.seconds }) ?? true { copyBest = m }
        }
        print("  (psql \\copy wrote \(count()) rows)")
        print("\njob: JSON Lines → postgres table, no key: \(records) records, \(String(format: "%.1f", Double(bytes) / 1e6)) MB")
        print("  | program | s | records/s | MB/s | peak RSS |")
        print("  | --- | ---: | ---: | ---: | ---: |")
        for (label, m) in [("sluice json → postgres (COPY)", sluiceBest), ("psql \\copy … CSV (the limit)", copyBest)] {
            guard let m else { continue }
            print(String(format: "  | %@ | %.2f | %.0f | %.1f | %.0f MB |", label, m.seconds, Double(records) / m.seconds,
                         Double(bytes) / 1e6 / m.seconds, Double(m.maxRSS) / 1_048_576))
        }
        if let s = sluiceBest, let c = copyBest {
            print(String(format: "  sluice takes %.2f× the time of psql \\copy (%.0f%% of its rate)", s.seconds / c.seconds,
                         100 * c.seconds / s.seconds))
        }
    }

    /// The same records as CSV (every field quoted), in the table's column order.
    static func writeCSV(count: Int, to path: String) throws {
        guard let file = fopen(path, "w") else { throw StageError(stage: "bench", message: "cannot write \(path)") }
        defer { fclose(file) }
        var generator = BenchRecords()
        var out: [UInt8] = []
        for n in 0..<count {
            let fields = generator.fields(n)
            for (k, value) in fields.values.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "\""))
                for b in (value.stringValue ?? "").utf8 {
                    if b == UInt8(ascii: "\"") { out.append(b) }
                    out.append(b)
                }
                out.append(UInt8(ascii: "\""))
            }
            out.append(0x0A)
            if out.count > 1 << 20 || n == count - 1 {
                guard fwrite(out, 1, out.count, file) == out.count else { throw StageError(stage: "bench", message: "cannot write \(path)") }
                out.removeAll(keepingCapacity: true)
            }
        }
    }
}
