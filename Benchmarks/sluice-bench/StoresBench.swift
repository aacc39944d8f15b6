import Foundation
import SluiceCore
import SluiceJSON
import SluiceSQLite

/// Throughput of the JSON and SQLite stages on 200,000 generated article-like records of
/// ~1.8 KB (id, url, section, title, published, author, word_count, tags, ~1,500-character
/// body), the data set of FACTS.md. The data is generated from a fixed seed, so every run
/// reads the same bytes.
enum StoresBench {
    /// Records generated.
    static let count = 200_000

    /// Runs the three measurements and prints records/s and MB/s (of JSON Lines input) for each.
    static func run() throws {
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("sluice-stores-bench-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("articles.jsonl").path
        let bytes = try generate(to: input)
        print("stores bench: \(count) records, \(String(format: "%.1f", Double(bytes) / 1e6)) MB of JSON Lines (avg \(bytes / count) bytes)")

        // (a) json source
        let box = Collector()
        let context = SourceContext(stage: StageContext(name: "bench"), batchSize: 256, send: { box.append($0) })
        let readTime = try measure { try JSONSource(path: input).run(context) }
        let records = box.records
        guard records.count == count else { throw StageError(stage: "bench", message: "read \(records.count) records") }
        report("json source (lines)", seconds: readTime, bytes: bytes)

        // (b) sqlite sink
        let plainTime = try measure {
            try deliver(records, to: SQLiteSink(path: folder.appendingPathComponent("plain.db").path, table: "articles"))
        }
        report("sqlite sink (plain inserts)", seconds: plainTime, bytes: bytes)
        let keyedTime = try measure {
            try deliver(records, to: SQLiteSink(path: folder.appendingPathComponent("keyed.db").path, table: "articles", key: ["id"]))
        }
        report("sqlite sink (key: id, upserts)", seconds: keyedTime, bytes: bytes)
        let ftsTime = try measure {
            try deliver(records, to: SQLiteSink(path: folder.appendingPathComponent("fts.db").path, table: "articles",
                                                key: ["id"], fts: ["title", "body"]))
        }
        report("sqlite sink (key: id, fts: title, body)", seconds: ftsTime, bytes: bytes)

        // (c) json sink
        let writeTime = try measure {
            try deliver(records, to: JSONSink(path: folder.appendingPathComponent("out.jsonl").path))
        }
        report("json sink (lines)", seconds: writeTime, bytes: bytes)
    }

    /// Writes records through a sink in batches of 256, as the runtime does, then closes it.
    static func deliver(_ records: [Record], to sink: any Sink) throws {
        let writer = try sink.makeWriter(StageContext(name: "bench"))
        var start = 0
        while start < records.count {
            try writer.write(Array(records[start..<min(records.count, start + 256)]))
            start += 256
        }
        try writer.close()
    }

    /// Wall-clock and CPU seconds (user + system, this process) spent in `body`. The CPU
    /// figure is the steadier one on a shared machine.
    static func measure(_ body: () throws -> Void) throws -> (wall: Double, cpu: Double) {
        let cpuBefore = cpuSeconds()
        let clock = ContinuousClock()
        let elapsed = try clock.measure(body)
        let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return (wall, cpuSeconds() - cpuBefore)
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return user + system
    }

    static func report(_ name: String, seconds: (wall: Double, cpu: Double), bytes: Int) {
        let label = name.padding(toLength: 42, withPad: " ", startingAt: 0)
        let rate = Double(count) / seconds.wall
        let mbs = Double(bytes) / 1e6 / seconds.wall
        let cpuRate = Double(count) / max(seconds.cpu, 1e-9)
        print(String(format: "  %@ %8.0f records/s %7.1f MB/s  (%.2f s wall; %.0f records per CPU-second)",
                     label, rate, mbs, seconds.wall, cpuRate))
    }

    /// Writes the data set; returns its size in bytes.
    static func generate(to path: String) throws -> Int {
        var random = SplitMix(seed: 0x5EED_2025)
        let words = """
            the of and to in a is that for on with as by at from trade talks minister said market growth report
            government economy officials billion percent year week city police court election vote policy energy
            prices climate water health school students company shares investors bank rates inflation export
            import agreement security border military talks summit leaders china united states europe africa
            """.split(whereSeparator: \.isWhitespace).map(String.init)
        let sections = ["WORLD", "BUSINESS", "CHINA / DIPLOMACY", "SCIENCE", "SPORT", "CULTURE"]
        let authors = ["Ana Lima", "Wei Chen", "John Smith", "Fatima Zahra", "Olga Petrova", "Kwame Mensah"]
        var out: [UInt8] = []
        out.reserveCapacity(count * 1900)
        for n in 0..<count {
            var body = ""
            while body.utf8.count < 1500 {
                let sentenceLength = 8 + Int(random.next() % 12)
                var sentence = (0..<sentenceLength).map { _ in words[Int(random.next() % UInt64(words.count))] }
                sentence[0] = sentence[0].capitalized
                body += sentence.joined(separator: " ") + ". "
            }
            let title = (0..<(5 + Int(random.next() % 6))).map { _ in words[Int(random.next() % UInt64(words.count))] }
                .joined(separator: " ").capitalized
            let day = 1 + Int(random.next() % 28)
            let record: Fields = [
                "id": .string(String(format: "art-%07d", n)),
                "url": .string("https://news.example.com/\(n % 97)/\(title.lowercased().replacingOccurrences(of: " ", with: "-"))"),
                "section": .string(sections[Int(random.next() % UInt64(sections.count))]),
                "title": .string(title),
                "published": .string(String(format: "2025-11-%02dT%02d:%02d:00", day, Int(random.next() % 24), Int(random.next() % 60))),
                "author": .string(authors[Int(random.next() % UInt64(authors.count))]),
                "word_count": .int(Int64(body.split(separator: " ").count)),
                "score": .double(Double(random.next() % 1000) / 10),
                "tags": .array([.string(words[Int(random.next() % UInt64(words.count))]), .string("news")]),
                "body": .string(body),
            ]
            JSONWriter.write(record, to: &out)
            out.append(0x0A)
        }
        try Data(out).write(to: URL(fileURLWithPath: path))
        return out.count
    }

    /// A deterministic 64-bit generator (SplitMix64).
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Keeps the records a source emits (sources emit from their own thread).
    final class Collector: @unchecked Sendable {
        // @unchecked: `storage` is only touched under `lock`.
        private let lock = NSLock()
        private var storage: [Record] = []
        func append(_ records: [Record]) { lock.lock(); storage += records; lock.unlock() }
        var records: [Record] { lock.lock(); defer { lock.unlock() }; return storage }
    }
}
