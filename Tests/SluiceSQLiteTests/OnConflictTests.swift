import Foundation
import SluiceCore
@testable import SluiceSQLite
import SluiceTestSupport
import Testing

@Suite("sqlite sink: on_conflict")
struct OnConflictTests {
    /// Writes `first` then `second` (same key) with `mode`, and returns the table's rows.
    static func write(_ mode: SQLiteSink.OnConflict) throws -> [[Value]] {
        let dir = TemporaryDirectory()
        let db = dir.file("a.db")
        let sink = SQLiteSink(path: db, table: "t", key: ["id"], onConflict: mode)
        _ = try StageHarness.deliver([record(["id": 1, "title": "old", "summary": "kept?"])], to: sink)
        _ = try StageHarness.deliver([record(["id": 1, "title": "new"])], to: sink)
        return try rows(db, "SELECT id, title, summary FROM t")
    }

    @Test("update (the default) sets the record's columns and keeps the row's others")
    func update() throws {
        #expect(try Self.write(.update) == [[1, "new", "kept?"]])
    }

    @Test("replace makes the row exactly the new record: columns it lacks are emptied")
    func replace() throws {
        #expect(try Self.write(.replace) == [[1, "new", .null]])
    }

    @Test("ignore keeps the existing row")
    func ignore() throws {
        #expect(try Self.write(.ignore) == [[1, "old", "kept?"]])
    }

    @Test("on_conflict is read from the config")
    func option() throws {
        let options = StageHarness.options(["path": "a.db", "table": "t", "key": "id", "on_conflict": "replace"],
                                           type: "sqlite", kind: .sink, directory: NSTemporaryDirectory())
        #expect(try SQLiteSink(stageOptions: options).onConflict == .replace)
    }
}
