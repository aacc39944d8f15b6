import Foundation
import SluiceCore
import SluiceRuntime
import SluiceSQLite
import SluiceTextArticles

/// Throughput of the `text_articles` source: 10,000 generated article files (deterministic:
/// the same bytes on every run and machine) read through `text_articles` into a sink.
///
/// Three figures: the source alone on this thread, the pipeline into a counting sink, and the
/// pipeline into the sqlite sink (with and without an FTS5 index).
enum ArticlesBench {
    /// 10,000 unless `SLUICE_BENCH_ARTICLES` says otherwise (for profiling).
    static let articleCount = ProcessInfo.processInfo.environment["SLUICE_BENCH_ARTICLES"].flatMap { Int($0) } ?? 10_000
    /// `SLUICE_BENCH_SOURCE_ONLY=1`: only the source alone (for a profile under callgrind:
    /// `valgrind --tool=callgrind --toggle-collect='*TextArticlesSourceV3run*' …`).
    static let sourceOnly = ProcessInfo.processInfo.environment["SLUICE_BENCH_SOURCE_ONLY"] == "1"

    static func run() throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("sluice-articles-bench-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        var generator = ArticleGenerator(seed: 0x5EED_A871_C1E5)
        var totalBytes = 0
        for n in 0..<articleCount {
            let data = generator.article(number: n)
            totalBytes += data.count
            // 100 folders of 100 files, as a real archive would be laid out.
            let folder = dir.appendingPathComponent(String(format: "%02d", n / 100))
            if n % 100 == 0 { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
            try data.write(to: folder.appendingPathComponent(String(format: "article-%05d.%@", n, n % 10 == 3 ? "md" : "txt")))
        }
        let megabytes = Double(totalBytes) / 1_000_000
        print("text_articles: \(articleCount) articles, \(String(format: "%.1f", megabytes)) MB on disk")

        // 1. The source alone, emitting into nothing.
        let source = TextArticlesSource(path: dir.path)
        let counter = Counter()
        let letters = CollectingDeadLetterQueue()
        let context = SourceContext(stage: StageContext(name: "articles", deadLetters: letters), batchSize: 256,
                                    send: { counter.add($0.count) })
        let start = Date()
        try source.run(context)
        let alone = Date().timeIntervalSince(start)
        report("source alone (1 thread)", records: counter.value, dead: letters.letters.count, seconds: alone, megabytes: megabytes)
        if sourceOnly { return }

        // 2. A pipeline from a config: text_articles → a counting sink.
        var registry = try StageRegistry(plugins: [TextArticlesPlugin.self])
        try registry.register(CountingSink.Configuration.self)
        let yaml = """
            sources:
              articles:
                type: text_articles
                path: \(dir.path)
            sinks:
              counted:
                type: count
                inputs: [articles]
            """
        let pipeline = try ConfigLoader(registry: registry).load(yaml: yaml, file: "bench.yaml", baseDirectory: dir.path)
        let dead = CollectingDeadLetterQueue()
        let result = PipelineRunner(pipeline: pipeline, deadLetters: dead).run()
        if let failure = result.failure { throw failure }
        report("pipeline → counting sink", records: result.delivered, dead: dead.letters.count, seconds: result.elapsed,
               megabytes: megabytes)

        // 3. The issue's figure: text_articles → sqlite (key id, FTS on title and body off/on).
        for fts in [false, true] {
            let db = dir.appendingPathComponent("bench-\(fts ? "fts" : "plain").db").path
            var sqliteRegistry = try StageRegistry(plugins: [TextArticlesPlugin.self, SQLitePlugin.self])
            try sqliteRegistry.register(CountingSink.Configuration.self)
            let sqliteYAML = """
                sources:
                  articles:
                    type: text_articles
                    path: \(dir.path)
                sinks:
                  db:
                    type: sqlite
                    inputs: [articles]
                    path: \(db)
                    table: articles
                    key: id
                \(fts ? "    fts: [title, body]" : "")
                """
            let p = try ConfigLoader(registry: sqliteRegistry).load(yaml: sqliteYAML, file: "bench.yaml", baseDirectory: dir.path)
            let letters = CollectingDeadLetterQueue()
            let r = PipelineRunner(pipeline: p, deadLetters: letters).run()
            if let failure = r.failure { throw failure }
            report("pipeline → sqlite\(fts ? " with FTS5" : "")", records: r.delivered, dead: letters.letters.count,
                   seconds: r.elapsed, megabytes: megabytes)
        }
    }

    private static func report(_ label: String, records: Int, dead: Int, seconds: Double, megabytes: Double) {
        print(String(format: "  %@: %d records, %d dead letters, %.2f s, %.0f articles/s, %.1f MB/s", label, records, dead,
                     seconds, Double(records) / seconds, megabytes / seconds))
    }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add(_ n: Int) { lock.lock(); count += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

private struct CountingSink: Sink {
    struct Configuration: SinkConfiguration {
        static let type = "count"
        static let summary = "Counts records (benchmark)."
        static let example = "type: count\ninputs: articles"
        static let options: [ConfigOption<Self>] = []
        func makeSink(_ context: BuildContext) throws -> any Sink { CountingSink() }
    }

    func makeWriter(_ context: StageContext) throws -> any SinkWriter { CountingWriter() }
}

private final class CountingWriter: SinkWriter {
    var count = 0
    func write(_ batch: [Record]) throws { count += batch.count }
    func flush() throws {}
    func close() throws {}
}

/// Deterministic article text in the shapes real outlets use: kicker, headline, byline, date
/// line, captions (sometimes repeated), paragraphs, trailer; some CRLF, Windows-1252, BOM and
/// hard-wrapped files.
struct ArticleGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// SplitMix64.
    private mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    private mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

    private mutating func chance(_ percent: Int) -> Bool { int(0...99) < percent }

    static let words = """
        the of and to in a is that for on with as by at from said will its new year government officials \
        city people percent million billion country minister president company market trade energy water \
        project report week month plan security talks support growth police court school health service \
        rail airport bridge power station farm river coast border price cost tax budget law vote council \
        leaders group local national regional international public private workers students families \
        record data survey study research science climate weather storm flood heat winter summer spring \
        autumn morning evening night first second third last next early late high low long short strong \
        weak major minor former current annual daily weekly official economic political social cultural \
        agreed announced reported expected planned opened closed rose fell reached cut added built signed
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
    static let names = ["Li Wei", "Jane Roe", "Ana Reyes", "Tom Hale", "Priya Nair", "Kenji Sato", "Olga Petrova",
                        "Maria Lopez", "Sam Okafor", "Grace Liu", "Élodie Martin", "Daniel Kim"]
    static let kickers = ["CHINA / DIPLOMACY", "WORLD / ASIA-PACIFIC", "BUSINESS", "SPORT / FOOTBALL", "OPINION",
                          "SCIENCE / CLIMATE"]
    static let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                         "October", "November", "December"]

    private mutating func sentence(_ min: Int, _ max: Int) -> String {
        var words: [String] = []
        for _ in 0..<int(min...max) { words.append(pick(Self.words)) }
        var s = words.joined(separator: " ")
        s = s.prefix(1).uppercased() + s.dropFirst()
        return s + "."
    }

    private mutating func date() -> String {
        let year = int(2019...2025), month = int(1...12), day = int(1...28)
        switch int(0...4) {
        case 0: return "Published: \(Self.months[month - 1].prefix(3)) \(day), \(year) \(int(1...12)):\(String(format: "%02d", int(0...59))) \(chance(50) ? "AM" : "PM")"
        case 1: return String(format: "%04d-%02d-%02d %02d:%02d", year, month, day, int(0...23), int(0...59))
        case 2: return "\(day) \(Self.months[month - 1]) \(year)"
        case 3: return "Updated: \(Self.months[month - 1]) \(day), \(year) \(int(1...12)):\(String(format: "%02d", int(0...59))) PM EST"
        default: return String(format: "Date: %04d-%02d-%02dT%02d:%02d:00+08:00", year, month, day, int(0...23), int(0...59))
        }
    }

    mutating func article(number: Int) -> Data {
        let markdown = number % 10 == 3
        var lines: [String] = []
        if chance(30) && !markdown { lines.append(pick(Self.kickers)) }
        let title = sentence(6, 14).dropLast() + " \(number)"
        lines.append(markdown ? "# " + title : String(title))
        if chance(70) {
            let byline = chance(70) ? "By \(pick(Self.names))" : "By \(pick(Self.names)) and \(pick(Self.names))"
            lines.append(markdown ? "**\(byline)**" : byline)
        }
        if chance(90) { lines.append(date()) }
        let caption = sentence(10, 20) + " Photo: " + pick(["Xinhua", "VCG", "Reuters", "Chinese Foreign Ministry"])
        if chance(50) { lines.append(caption) }
        lines.append("")
        let wrap = chance(10)
        for p in 0..<int(6...14) {
            var paragraph = ""
            for _ in 0..<int(2...5) { paragraph += (paragraph.isEmpty ? "" : " ") + sentence(8, 24) }
            lines.append(contentsOf: wrap ? Self.wrapped(paragraph, width: 72) : [paragraph])
            lines.append("")
            if p == 2 && chance(20) { lines.append(caption); lines.append("") }
        }
        if chance(40) { lines.append("Tags: \(pick(Self.words)), \(pick(Self.words)), \(pick(Self.words))") }
        if chance(30) { lines.append("Editor: \(pick(Self.names))") }
        let crlf = chance(10)
        var text = lines.joined(separator: crlf ? "\r\n" : "\n")
        if chance(20) { text = text.replacingOccurrences(of: " said.", with: ", he said, “as planned.”") }
        if chance(5), let legacy = text.data(using: .windowsCP1252) { return legacy }
        return (chance(5) ? Data([0xEF, 0xBB, 0xBF]) : Data()) + Data(text.utf8)
    }

    static func wrapped(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }
}
