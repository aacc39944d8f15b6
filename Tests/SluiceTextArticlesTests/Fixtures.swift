import Foundation
import SluiceCore
import SluiceFormats
import SluiceTestSupport
import SluiceTextArticles

/// Where the article corpus and the seeds are, found from this file's path (the corpus lives
/// outside the test target's folder so that SwiftPM does not treat it as resources).
enum Corpus {
    static let testsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let articles = testsFolder.appendingPathComponent("Fixtures/articles").path
    static let seeds = testsFolder.deletingLastPathComponent().appendingPathComponent("seeds").path

    /// The article files of the corpus (`.txt` and `.md`), sorted.
    static var articleNames: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: articles)) ?? []
        return names.filter { $0.hasSuffix(".txt") || $0.hasSuffix(".md") }.sorted()
    }

    /// The record fields `text_articles` produces, in order.
    static let fieldOrder = ["id", "source", "section", "title", "authors", "published", "published_text", "updated",
                             "updated_text", "captions", "tags", "related", "meta", "paragraphs", "body", "word_count",
                             "language"]
}

/// Runs `text_articles` on a path and returns records and dead letters. Three threads parse by
/// default, so that every test of the parser also holds the parallel reading to file order.
func readArticles(_ path: String, extensions: [String] = ["txt", "md"], timeZone: TimeZoneSpec? = nil,
                  maxBytes: Int = 16 << 20, batchSize: Int = 256,
                  workers: Int = 3) throws -> (records: [Record], deadLetters: [DeadLetter]) {
    let source = TextArticlesSource(path: path, extensions: extensions, timeZone: timeZone, maxBytes: maxBytes,
                                    workers: workers)
    return try StageHarness.collect(source, name: "articles", batchSize: batchSize)
}

/// Compact JSON of a value, for messages.
func json(_ value: Value?) -> String { value.map { JSONWriter.string($0) } ?? "(missing)" }
