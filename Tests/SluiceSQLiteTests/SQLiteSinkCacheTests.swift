import Foundation
import Testing
import SluiceCore
import SluiceRuntime
import SluiceTestSupport
@testable import SluiceSQLite

@Suite("sqlite sink: the page cache grows with the table's indexes")
struct SQLiteSinkCacheTests {
    /// A key of `digits` hex digits that says nothing of `n`'s order (drawn from a generator
    /// seeded with n).
    static func scatteredKey(_ n: Int, digits: Int = 64) -> String {
        var generator = SeededGenerator(seed: UInt64(n) &* 0x9E37_79B9_7F4A_7C15)
        var text = ""
        while text.count < digits {
            let hex = String(generator.next(), radix: 16)
            text += String(repeating: "0", count: 16 - hex.count) + hex
        }
        return String(text.prefix(digits))
    }

    /// The writer's `PRAGMA cache_size` (negative: KiB).
    static func cacheSize(_ writer: SQLiteSinkWriter) throws -> Int {
        Int(try writer.db.strings("PRAGMA cache_size").first ?? "") ?? 0
    }

    /// Writes `count` rows (`id` from `key`, a short `text`) in batches of 1,000, committing every
    /// `commitEvery` rows as a run does (nil: only at the end), calling `afterBatch` after each;
    /// returns the writer's cache size (``cacheSize(_:)``) before the first row and after the last
    /// commit, and the pages of the table's indexes (dbstat).
    func fill(_ sink: SQLiteSink, count: Int, commitEvery: Int? = 10_000, key: (Int) -> Value,
              afterBatch: (SQLiteSinkWriter) throws -> Void = { _ in }) throws -> (before: Int, after: Int, indexPages: Int) {
        let state = TemporaryDirectory()
        let writer = try #require(sink.makeWriter(StageContext(name: "db", dataDirectory: state.path)) as? SQLiteSinkWriter)
        let before = try Self.cacheSize(writer)
        for start in stride(from: 0, to: count, by: 1_000) {
            try writer.write((start..<min(count, start + 1_000)).map { record(["id": key($0), "text": .string("row \($0)")]) })
            try afterBatch(writer)
            if let commitEvery, (start + 1_000) % commitEvery == 0 { try writer.flush() }
        }
        try writer.flush()
        let after = try Self.cacheSize(writer)
        try writer.close()
        let pages = try rows(sink.path, """
            SELECT count(*) FROM dbstat WHERE name IN (SELECT name FROM pragma_index_list('\(sink.table)'))
            """)
        #expect(try rows(sink.path, "SELECT count(*) FROM \(sink.table)") == [[.int(Int64(count))]])
        return (before, after, Int(pages.first?.first?.intValue ?? 0))
    }

    @Test("keys in no order: the cache starts at SQLite's 2,000 KiB and grows to hold the key's index and a quarter more")
    func growsWithTheKeyIndex() throws {
        let dir = TemporaryDirectory()
        let sink = SQLiteSink(path: dir.file("k.db"), table: "t", key: ["id"])
        #expect(sink.cache == nil)
        let filled = try fill(sink, count: 50_000) { .string(Self.scatteredKey($0)) }
        #expect(filled.before == -2_000)
        let indexBytes = filled.indexPages * SQLiteSink.newDatabasePageSize
        #expect(indexBytes > 5 * (2_000 << 10) / 4, "the index outgrew the default cache by a quarter: \(indexBytes) bytes")
        let grownBytes = -filled.after * 1_024
        // Measured a quarter more rows ago at most, the index had a quarter more room then.
        #expect(grownBytes >= indexBytes, "cache \(grownBytes) bytes for an index of \(indexBytes)")
        #expect(grownBytes % (1 << 20) == 0 && grownBytes <= SQLiteSink.grownCacheLimit)
    }

    @Test("in one long transaction the cache grows before the commit, as the index grows")
    func growsInsideTheTransaction() throws {
        let dir = TemporaryDirectory()
        let sink = SQLiteSink(path: dir.file("t.db"), table: "t", key: ["id"], batchSize: 1_000_000)
        var sizes: [Int] = []
        _ = try fill(sink, count: 50_000, commitEvery: nil, key: { .string(Self.scatteredKey($0)) }) { writer in
            sizes.append(try Self.cacheSize(writer))
        }
        #expect(sizes.first == -2_000)
        #expect(sizes.last.map { $0 < -2_048 } == true, "grown before any commit: \(sizes)")
        #expect(zip(sizes, sizes.dropFirst()).allSatisfy { $0 >= $1 }, "it only grows: \(sizes)")
    }

    @Test("an index up to a quarter larger than the default cache leaves the cache as it is")
    func smallIndexNoGrowth() throws {
        let dir = TemporaryDirectory()
        let filled = try fill(SQLiteSink(path: dir.file("s.db"), table: "t", key: ["id"]), count: 27_500) {
            .string(Self.scatteredKey($0))
        }
        let indexBytes = filled.indexPages * SQLiteSink.newDatabasePageSize
        #expect(indexBytes > 2_000 << 10 && indexBytes < 5 * (2_000 << 10) / 4, "index \(indexBytes) bytes")
        #expect(filled.after == -2_000)
    }

    @Test("a table without indexes keeps the default cache, whatever it holds")
    func noIndexNoGrowth() throws {
        let dir = TemporaryDirectory()
        let filled = try fill(SQLiteSink(path: dir.file("n.db"), table: "t"), count: 30_000) { .string(Self.scatteredKey($0)) }
        #expect(filled.indexPages == 0)
        #expect(filled.after == -2_000)
    }

    @Test("a cache option fixes the cache: it does not grow with the index")
    func optionFixesTheCache() throws {
        let dir = TemporaryDirectory()
        let options = StageHarness.options(["path": .string(dir.file("f.db")), "table": "t", "key": "id", "cache": 1_048_576],
                                           type: "sqlite", kind: .sink, directory: dir.path)
        let filled = try fill(try SQLiteSink(stageOptions: options), count: 30_000) { .string(Self.scatteredKey($0)) }
        #expect(filled.before == -1_024)
        #expect(filled.after == -1_024)
        #expect(filled.indexPages * SQLiteSink.newDatabasePageSize > 1 << 20)
    }

    @Test("the cache grows no further than 16 MiB, however large the index")
    func growthStopsAtTheLimit() throws {
        let dir = TemporaryDirectory()
        let filled = try fill(SQLiteSink(path: dir.file("l.db"), table: "t", key: ["id"]), count: 80_000) {
            .string(Self.scatteredKey($0, digits: 240))
        }
        #expect(filled.indexPages * SQLiteSink.newDatabasePageSize > SQLiteSink.grownCacheLimit)
        #expect(filled.after == -(SQLiteSink.grownCacheLimit >> 10))
    }
}
