import Foundation
import SluiceCore

/// The result of one `tests:` case.
public struct TestOutcome: Sendable {
    /// The case.
    public var test: TestCase
    /// What is wrong, one line each; empty when the case passed.
    public var problems: [String]
    /// The records the transform produced.
    public var actual: [Fields]
    /// The dead letters it produced.
    public var deadLetters: [DeadLetter]

    /// Whether the case passed.
    public var passed: Bool { problems.isEmpty }
}

/// Runs a config's `tests:` cases: each feeds its input records to one transform (one worker,
/// then `finish`) and compares what comes out with `expect`.
///
/// Matching: the outputs must be as many as the expected records, in order; each expected
/// record is matched on the fields it lists (an expected object matches an actual object that has
/// at least those fields, recursively; arrays must have the same length). Scalars must be equal
/// and of the same kind: `1` (integer) does not match `1.0` (number), since types are part of
/// the contract.
public enum TestCaseRunner {
    /// Runs every case of `pipeline`, in order.
    public static func run(_ pipeline: Pipeline) -> [TestOutcome] {
        pipeline.tests.map { run($0, in: pipeline) }
    }

    /// Runs one case.
    public static func run(_ test: TestCase, in pipeline: Pipeline) -> TestOutcome {
        guard let stage = pipeline.stage(named: test.transform), case .transform(let transform) = stage.stage else {
            return TestOutcome(test: test, problems: ["'\(test.transform)' is not a transform"], actual: [], deadLetters: [])
        }
        let records = test.inputs.enumerated().map { k, fields in
            Record(fields, origin: Origin(source: "test", file: test.position.file, line: test.position.line, row: Int64(k + 1)))
        }
        let letters = CollectingDeadLetterQueue()
        var output = TransformOutput(stage: stage.name)
        // Each case gets a fresh, empty state folder: a case must neither read nor change the
        // state of real runs (dedupe keys) or of other cases.
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-test-\(getpid())-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        do {
            let worker = try transform.makeWorker(StageContext(name: stage.name, dataDirectory: scratch,
                                                               deadLetters: letters))
            try worker.process(records, into: &output)
            var end = TransformOutput(stage: stage.name)
            try worker.finish(into: &end)
            for r in end.records { output.emit(r) }
            for d in end.deadLetters { output.deadLetter(d) }
        } catch {
            return TestOutcome(test: test, problems: ["the transform failed: \(error)"], actual: output.records.map(\.fields),
                               deadLetters: output.deadLetters + letters.letters)
        }
        let dead = output.deadLetters + letters.letters
        let actual = output.records.map(\.fields)
        var problems: [String] = dead.map { "a record went to dead letters: \($0.error)" }
        if actual.count != test.expect.count {
            problems.append("expected \(test.expect.count) record\(test.expect.count == 1 ? "" : "s"), got \(actual.count)")
        }
        for (k, (expected, got)) in zip(test.expect, actual).enumerated() {
            compare(expected, .object(got), path: "record \(k + 1)", into: &problems)
        }
        return TestOutcome(test: test, problems: problems, actual: actual, deadLetters: dead)
    }

    /// Appends one line per difference between `expected` and `actual` at `path`.
    public static func compare(_ expected: Value, _ actual: Value, path: String, into problems: inout [String]) {
        switch (expected, actual) {
        case (.object(let e), .object(let a)):
            for (key, ev) in e {
                let sub = "\(path).\(key)"
                guard let av = a[key] else {
                    problems.append("\(sub): missing (expected \(JSONWriter.string(ev)))")
                    continue
                }
                compare(ev, av, path: sub, into: &problems)
            }
        case (.array(let e), .array(let a)):
            if e.count != a.count {
                problems.append("\(path): expected \(e.count) item\(e.count == 1 ? "" : "s"), got \(a.count): \(JSONWriter.string(actual))")
                return
            }
            for (k, (ev, av)) in zip(e, a).enumerated() { compare(ev, av, path: "\(path)[\(k)]", into: &problems) }
        default:
            if expected != actual {
                var line = "\(path): expected \(JSONWriter.string(expected)), got \(JSONWriter.string(actual))"
                if expected.kindName != actual.kindName { line += " (expected \(expected.kindName), got \(actual.kindName))" }
                problems.append(line)
            }
        }
    }
}
