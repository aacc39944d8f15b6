import Foundation
import OrderedCollections
import SluiceCore
import SluiceLua
import SluiceTestSupport
import Testing

/// A rule script in a temporary folder, kept alive with the rule.
struct ScriptFixture {
    let directory: TemporaryDirectory
    let rule: LuaRule

    init(_ source: String, options: Fields = [:], limits: LuaLimits = LuaLimits(), sandbox: Bool = true,
         files: [String: String] = [:], modules: [String] = [], name: String = "rule.lua") throws {
        let folder = TemporaryDirectory("sluice-lua")
        directory = folder
        for (file, text) in files { try folder.write(file, text) }
        let path = try folder.write(name, source)
        let script = try LuaScript(path: path, baseDirectory: folder.path)
        let settings = LuaSettings(stageName: "test", limits: limits, sandbox: sandbox,
                                   modulePaths: modules.map { folder.file($0) }, baseDirectory: folder.path)
        rule = try LuaRule(script: script, options: options, settings: settings)
    }

    /// Runs one record and returns the output records, or the failure message.
    func run(_ fields: Fields, line: Int = 1) -> Result<LuaRecordResult, LuaFailure> {
        rule.process(Record(fields, origin: Origin(source: "test", file: "input.jsonl", line: line)))
    }

    /// The single output record of one input, or nil (and records an issue).
    func output(_ fields: Fields, sourceLocation: SourceLocation = #_sourceLocation) -> Fields? {
        switch run(fields) {
        case .success(let result):
            #expect(result.records.count == 1, "expected one record, got \(result.records.count)", sourceLocation: sourceLocation)
            return result.records.last
        case .failure(let failure):
            Issue.record("the script failed: \(failure.message)", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// The failure of one input (records an issue when it succeeds).
    func failure(_ fields: Fields = [:], sourceLocation: SourceLocation = #_sourceLocation) -> LuaFailure? {
        switch run(fields) {
        case .success(let result):
            Issue.record("expected a failure, got \(result.records.map { JSONWriter.string(.object($0)) })",
                         sourceLocation: sourceLocation)
            return nil
        case .failure(let failure):
            return failure
        }
    }
}

/// A rule whose `process` returns `{ result = EXPRESSION }` for the given Lua expression
/// over `record`.
func evaluate(_ expression: String, record: Fields = [:], sourceLocation: SourceLocation = #_sourceLocation) throws -> Value? {
    let fixture = try ScriptFixture("function process(record) return { result = (\(expression)) } end")
    return fixture.output(record, sourceLocation: sourceLocation)?["result"]
}

/// JSON text of fields, for compact comparisons.
func json(_ fields: Fields?) -> String {
    fields.map { JSONWriter.string(.object($0)) } ?? "<none>"
}
