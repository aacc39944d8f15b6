import Foundation
import SluiceCore
import SluiceRuntime
import SluiceTestSupport
import SluiceTextArticles
import Testing

/// The `text_articles` stage: ids, streaming, options, registration.
@Suite("text_articles source")
struct SourceTests {
    static let article = """
        Harbour opens
        The new harbour opened on Monday.

        Ships can dock from June.
        """

    @Test("the id is SHA-256 of title + newline + body, first 16 bytes in hex (pinned value)")
    func idRecipe() throws {
        let dir = TemporaryDirectory("articles-id")
        try dir.write("a.txt", "Title\n\nBody.\n")
        let (records, _) = try readArticles(dir.path)
        // printf 'Title\nBody.' | sha256sum | cut -c1-32
        #expect(records.first?["id"] == "85fb4af85f6cdfd66ef1e473e22e771b")
    }

    @Test("the same article saved as UTF-8, UTF-8+BOM+CRLF, Windows-1252, UTF-16, NFD or under another name has one id")
    func sameArticleSameId() throws {
        let text = "Café owners “brace” for winter\nBy Élodie Martin\n\nOwners say costs could reach €1,200.\n\nThe council votes soon.\n"
        let dir = TemporaryDirectory("articles-same")
        try dir.write("plain.txt", text)
        try dir.write("bom-crlf.txt", Data([0xEF, 0xBB, 0xBF]) + Data(text.replacingOccurrences(of: "\n", with: "\r\n").utf8))
        try dir.write("cr.txt", text.replacingOccurrences(of: "\n", with: "\r"))
        try dir.write("legacy.txt", try #require(text.data(using: .windowsCP1252)))
        try dir.write("utf16.txt", Data([0xFF, 0xFE]) + Data(Array(text.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }))
        try dir.write("nfd.txt", text.decomposedStringWithCanonicalMapping)
        try dir.write("nbsp.txt", text.replacingOccurrences(of: " ", with: "\u{A0}").replacingOccurrences(of: "\n", with: "  \n"))
        try dir.write("other name.md", text)
        let (records, letters) = try readArticles(dir.path)
        #expect(letters.isEmpty)
        #expect(records.count == 8)
        let ids = Set(records.compactMap { $0["id"]?.stringValue })
        #expect(ids.count == 1, "ids: \(records.map { ($0.origin.file ?? "", $0["id"].map(json) ?? "") })")
        #expect(Set(records.compactMap { $0["body"] }).count == 1)
    }

    @Test("the same article hard-wrapped and unwrapped has one id; a changed word gives another")
    func wrappingDoesNotChangeId() throws {
        let long = "Trade ministers from twelve economies agreed on Friday to accept electronic certificates of origin by 2027, a step that exporters say could cut days from customs checks."
        let wrapped = "Trade ministers from twelve economies agreed on Friday to accept\nelectronic certificates of origin by 2027, a step that exporters\nsay could cut days from customs checks."
        let dir = TemporaryDirectory("articles-wrap")
        try dir.write("a.txt", "Ministers agree\n\n" + long + "\n")
        try dir.write("b.txt", "Ministers agree\n\n" + wrapped + "\n")
        try dir.write("c.txt", "Ministers agree\n\n" + long.replacingOccurrences(of: "twelve", with: "eleven") + "\n")
        let (records, _) = try readArticles(dir.path)
        let ids = records.map { $0["id"] }
        #expect(ids.count == 3 && ids[0] == ids[1] && ids[0] != ids[2])
    }

    @Test("records are emitted in batches of the context's batch size while files are still being read")
    func streamsInBatches() throws {
        let dir = TemporaryDirectory("articles-stream")
        for n in 1...5 { try dir.write("a\(n).txt", "Article \(n)\n\nText \(n).\n") }
        let sizes = BatchLog()
        let letters = CollectingDeadLetterQueue()
        let context = SourceContext(stage: StageContext(name: "articles", deadLetters: letters), batchSize: 2, send: { batch in
            sizes.add(batch.count)
            // After the first batch, remove the files not read yet: a source that had loaded
            // everything first would still emit them.
            if sizes.count == 1 { for n in 4...5 { try? FileManager.default.removeItem(atPath: dir.file("a\(n).txt")) } }
        })
        try TextArticlesSource(path: dir.path).run(context)
        #expect(sizes.all == [2, 1])
        #expect(letters.letters.map(\.error) == ["a4.txt: cannot read: No such file or directory",
                                                 "a5.txt: cannot read: No such file or directory"])
    }

    @Test("a stopping pipeline stops the source", arguments: [1, 3])
    func stops(workers: Int) throws {
        let dir = TemporaryDirectory("articles-stop")
        try dir.write("a.txt", Self.article)
        let context = SourceContext(stage: StageContext(name: "articles"), send: { _ in }, isStopping: { true })
        #expect(throws: PipelineStop.self) { try TextArticlesSource(path: dir.path, workers: workers).run(context) }
    }

    @Test("a stop asked while files are read delivers the batch in hand and sends nothing after it", arguments: [1, 3])
    func stopsBetweenGroups(workers: Int) throws {
        let dir = TemporaryDirectory("articles-stop-late")
        for n in 0..<200 { try dir.write(String(format: "a%03d.txt", n), "Article \(n)\n\nText \(n).\n") }
        let sent = BatchLog()
        let context = SourceContext(stage: StageContext(name: "articles"), batchSize: 10, send: { sent.add($0.count) },
                                    isStopping: { sent.count >= 2 })
        #expect(throws: PipelineStop.self) { try TextArticlesSource(path: dir.path, workers: workers).run(context) }
        // The batch that was being emitted when the stop came is delivered; nothing after it.
        #expect(sent.all == [10, 10])
    }

    @Test("folders are read recursively, globs with ** match nested files, and source is relative to the root")
    func pathsAndGlobs() throws {
        let dir = TemporaryDirectory("articles-glob")
        try dir.write("top.txt", Self.article)
        try dir.write("2025/11/nested.txt", Self.article)
        try dir.write("2025/11/notes.html", Self.article)
        try dir.write("2025/skip.md", Self.article)
        let (all, _) = try readArticles(dir.path)
        #expect(all.compactMap { $0["source"]?.stringValue } == ["2025/11/nested.txt", "2025/skip.md", "top.txt"])
        let (globbed, _) = try readArticles(dir.file("**/*.txt"))
        #expect(globbed.compactMap { $0["source"]?.stringValue } == ["2025/11/nested.txt", "top.txt"])
        let (html, _) = try readArticles(dir.path, extensions: ["html"])
        #expect(html.compactMap { $0["source"]?.stringValue } == ["2025/11/notes.html"])
        let (single, _) = try readArticles(dir.file("2025/11/nested.txt"))
        #expect(single.first?["source"] == "nested.txt")
        #expect(single.first?.origin == Origin(source: "articles", file: "nested.txt", line: 1))
    }

    @Test("text_articles is registered with its options, and the timezone option applies to times without a zone")
    func registeredWithOptions() throws {
        let registry = try StageRegistry(plugins: [TextArticlesPlugin.self])
        let descriptor = try #require(registry.descriptor(.source, "text_articles"))
        #expect(descriptor.options.map(\.name) == ["path", "extensions", "timezone", "max_bytes", "reference_date", "workers"])
        #expect(descriptor.options.first { $0.name == "extensions" }?.defaultValue == ["txt", "md"])
        #expect(descriptor.options.first { $0.name == "max_bytes" }?.defaultValue == "16MiB", "a size default is shown as the config would write it")
        #expect(descriptor.options.first { $0.name == "path" }?.required == true)

        let dir = TemporaryDirectory("articles-tz")
        try dir.write("a.txt", "Title\nPublished: Nov 20, 2025 10:10 PM\n\nText.\n")
        try dir.write("b.txt", "Title B\nNov 20, 2025 10:10 PM EST\n\nText.\n")
        try dir.write("c.txt", "Title C\n20 November 2025\n\nText.\n")
        guard case .source(let make) = descriptor.factory else {
            Issue.record("not a source")
            return
        }
        let options = StageHarness.options(["path": .string(dir.path), "extensions": ["txt"], "timezone": "+08:00",
                                            "max_bytes": .int(1 << 20)],
                                           type: "text_articles", kind: .source, directory: dir.path)
        let (records, _) = try StageHarness.collect(try make(options))
        #expect(records.map { $0["published"] } == ["2025-11-20T22:10:00+08:00", "2025-11-20T22:10:00-05:00", "2025-11-20"])
    }

    @Test("an unknown timezone or a zero max_bytes is a config error naming the option")
    func badOptions() throws {
        let registry = try StageRegistry(plugins: [TextArticlesPlugin.self])
        guard case .source(let make)? = registry.descriptor(.source, "text_articles")?.factory else {
            Issue.record("not registered")
            return
        }
        let bad = StageHarness.options(["path": "/tmp", "timezone": "Mars/Base"], type: "text_articles", kind: .source,
                                       name: "news", directory: "/tmp")
        #expect {
            _ = try make(bad)
        } throws: { error in
            "\(error)".contains("source 'news': option 'timezone': unknown time zone 'Mars/Base'")
        }
        let zero = StageHarness.options(["path": "/tmp", "max_bytes": 0], type: "text_articles", kind: .source,
                                        name: "news", directory: "/tmp")
        #expect {
            _ = try make(zero)
        } throws: { error in
            "\(error)".contains("source 'news': option 'max_bytes' must be at least 1 byte")
        }
    }

    @Test("reference_date gives 'yesterday' and a dateline without a year their day when the article has no full date")
    func referenceDate() throws {
        let registry = try StageRegistry(plugins: [TextArticlesPlugin.self])
        guard case .source(let make)? = registry.descriptor(.source, "text_articles")?.factory else {
            Issue.record("not registered")
            return
        }
        let dir = TemporaryDirectory("articles-reference")
        try dir.write("a.txt", "中吉乌铁路项目进展顺利\n发布时间：昨天 22:10\n\n新华社比什凯克11月20日电 中吉乌铁路项目各方举行工作会议。\n")
        try dir.write("b.txt", "Деловой визит\n\nБИШКЕК, 20 ноября — РИА Новости. Министр прибыл в Бишкек с визитом.\n")
        try dir.write("c.txt", "Title C\nPublished: Nov 2, 2024\nUpdated: today 9:30 AM\n\nText.\n")
        let options = StageHarness.options(["path": .string(dir.path), "reference_date": "2025-11-21"],
                                           type: "text_articles", kind: .source, directory: dir.path)
        let (records, _) = try StageHarness.collect(try make(options))
        #expect(records.map { $0["published"] } == ["2025-11-20T22:10:00", "2025-11-20", "2024-11-02"])
        #expect(records.map { $0["published_text"] } == ["昨天 22:10", "20 ноября", "Nov 2, 2024"])
        // The article's own date comes before the option: `today` is the day it was published.
        #expect(records[2]["updated"] == "2024-11-02T09:30:00")

        // Without the option the words stay text.
        let (plain, _) = try StageHarness.collect(
            try make(StageHarness.options(["path": .string(dir.path)], type: "text_articles", kind: .source,
                                          directory: dir.path)))
        #expect(plain.map { $0["published"] } == [.null, .null, "2024-11-02"])

        let bad = StageHarness.options(["path": "/tmp", "reference_date": "21.11.2025"], type: "text_articles",
                                       kind: .source, name: "news", directory: "/tmp")
        #expect {
            _ = try make(bad)
        } throws: { error in
            "\(error)".contains("source 'news': option 'reference_date': '21.11.2025' is not a date; write YYYY-MM-DD")
        }
    }

    @Test("a config file with text_articles loads, validates and runs")
    func fromConfig() throws {
        let dir = TemporaryDirectory("articles-config")
        try dir.write("in/a.txt", Self.article)
        var registry = try StageRegistry(plugins: [TextArticlesPlugin.self])
        try registry.register(DiscardSink.Configuration.self)
        let yaml = """
            sources:
              news:
                type: text_articles
                path: in
                timezone: Asia/Shanghai
            sinks:
              out:
                type: collect
                inputs: [news]
            """
        let pipeline = try ConfigLoader(registry: registry).load(yaml: yaml, file: dir.file("p.yaml"), baseDirectory: dir.path)
        let result = PipelineRunner(pipeline: pipeline, deadLetters: CollectingDeadLetterQueue()).run()
        #expect(result.failure == nil)
        #expect(result.delivered == 1)
    }
}

/// Batch sizes seen by a test's `send`.
final class BatchLog: @unchecked Sendable {
    private let lock = NSLock()
    private var sizes: [Int] = []
    func add(_ n: Int) { lock.lock(); sizes.append(n); lock.unlock() }
    var all: [Int] { lock.lock(); defer { lock.unlock() }; return sizes }
    var count: Int { all.count }
}

struct DiscardSink: Sink {
    struct Configuration: SinkConfiguration {
        static let type = "collect"
        static let summary = "Discards records (tests)."
        static let example = "type: collect\ninputs: news"
        static let options: [ConfigOption<Self>] = []
        func makeSink(_ context: BuildContext) throws -> any Sink { DiscardSink() }
    }
    func makeWriter(_ context: StageContext) throws -> any SinkWriter { DiscardWriter() }
}

final class DiscardWriter: SinkWriter {
    func write(_ batch: [Record]) throws {}
    func flush() throws {}
    func close() throws {}
}
