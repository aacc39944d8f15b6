import Foundation
import SluiceCore
@testable import SluiceLuaStages
import SluiceTestSupport
import Testing

@Suite("dead letters name the missing field")
struct MissingFieldHintTests {
    @Test("a rule that reads a field no record has: the dead letter says which field was nil and suggests the nearest one")
    func ruleHint() throws {
        let dir = TemporaryDirectory("sluice-hint")
        let script = try dir.write("r.lua", "function process(record)\n  record.big = record.wordcount > 3\n  return record\nend\n")
        let options = StageHarness.options(["script": .string(script)], type: "lua", kind: .transform, directory: dir.path)
        let out = try StageHarness.apply(try LuaTransform(stageOptions: options), to: [StageHarness.record(["word_count": 5, "title": "t"])])
        let error = try #require(out.deadLetters.first?.error)
        #expect(error.hasSuffix("attempt to compare number with nil (record.wordcount is nil: the record has no field 'wordcount'; did you mean 'word_count'?)"),
                "\(error)")
    }

    @Test("a filter condition gets the same hint")
    func filterHint() throws {
        let options = StageHarness.options(["condition": .string("record.wordcount >= 100")], type: "filter", kind: .transform,
                                           directory: NSTemporaryDirectory())
        let out = try StageHarness.apply(try FilterTransform(stageOptions: options), to: [StageHarness.record(["word_count": 500])])
        let error = try #require(out.deadLetters.first?.error)
        #expect(error.contains("record.wordcount is nil") && error.contains("did you mean 'word_count'?"), "\(error)")
    }

    @Test("record[\"name\"] is read too; a field only assigned on the failing line is not blamed")
    func bracketsAndAssignments() throws {
        let dir = TemporaryDirectory("sluice-hint-2")
        let script = try dir.write("r.lua", "function process(record)\n  record.upper = string.upper(record[\"titel\"])\n  return record\nend\n")
        let options = StageHarness.options(["script": .string(script)], type: "lua", kind: .transform, directory: dir.path)
        let out = try StageHarness.apply(try LuaTransform(stageOptions: options), to: [StageHarness.record(["title": "t"])])
        let error = try #require(out.deadLetters.first?.error)
        #expect(error.contains("(record.titel is nil: the record has no field 'titel'; did you mean 'title'?)"), "\(error)")
        #expect(!error.contains("record.upper is nil"))
    }
}
