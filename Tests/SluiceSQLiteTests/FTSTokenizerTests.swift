import Foundation
import SluiceCore
import SluiceSQLite
import SluiceTestSupport
import Testing

@Suite("sqlite sink: fts_tokenizer")
struct FTSTokenizerTests {
    static func count(_ db: String, _ query: String) throws -> Int64? {
        try rows(db, "SELECT count(*) FROM t_fts WHERE t_fts MATCH '\(query)'").first?.first?.intValue
    }

    @Test("unicode61 does not find a Chinese word inside a phrase; switching the sink to trigram rebuilds the index and does")
    func trigramFindsChineseWords() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let records = [Record(["id": 1, "body": "吉尔吉斯斯坦总统扎帕罗夫在比什凯克会见中国外交部长王毅"], origin: .synthetic("t"))]
        _ = try StageHarness.deliver(records, to: SQLiteSink(path: db, table: "t", key: ["id"], fts: ["body"]))
        #expect(try Self.count(db, "扎帕罗夫") == 0)
        _ = try StageHarness.deliver([], to: SQLiteSink(path: db, table: "t", key: ["id"], fts: ["body"], ftsTokenizer: "trigram"))
        #expect(try Self.count(db, "扎帕罗夫") == 1)
        #expect(try Self.count(db, "比什凯克会见") == 1)
    }

    @Test("porter finds English stems")
    func porterStems() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let records = [Record(["id": 1, "body": "The ministers were meeting in Bishkek"], origin: .synthetic("t"))]
        _ = try StageHarness.deliver(records, to: SQLiteSink(path: db, table: "t", key: ["id"], fts: ["body"], ftsTokenizer: "porter"))
        #expect(try Self.count(db, "meet") == 1)
    }
}
