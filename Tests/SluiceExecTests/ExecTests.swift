import Foundation
import Logging
import OrderedCollections
import SluiceCore
import SluiceFormats
import SluiceRuntime
@testable import SluiceExec
import SluiceTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Python 3 for the test programs (the system one: a version manager's shim can take a second
/// to start).
let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"

/// A log handler that keeps every message, for checking what reached the log.
final class CapturedLog: Sendable {
    let messages = Mutex<[String]>([])
    var logger: Logger {
        Logger(label: "test") { _ in Handler(log: self) }
    }
    var all: [String] { messages.withLock { $0 } }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            log.messages.withLock { $0.append(event.message.description) }
        }
    }
}

/// Records a source handed on.
final class RecordList: Sendable {
    let records = Mutex<[Record]>([])
}

@Suite("exec stages: programs in any language over JSON Lines")
struct ExecTests {
    let dir = TemporaryDirectory("sluice-exec")

    /// A Python transform whose body handles `r` (a dict) and sets `out` to the answer.
    @discardableResult
    func pythonTransform(_ body: String) throws -> String {
        try dir.write("t.py", """
            import json, sys, time, os
            for line in sys.stdin:
                r = json.loads(line)
                out = r
            \(body.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n"))
                print(json.dumps(out), flush=True)
            """)
    }

    func options(_ values: Fields, kind: StageKind) -> StageOptions {
        var values = values
        if values["timeout"] == nil && kind != .source { values["timeout"] = 30 }
        if values["workers"] == nil && kind == .transform { values["workers"] = 1 }
        if values["max_restarts"] == nil && kind == .transform { values["max_restarts"] = 5 }
        return StageHarness.options(values, type: "exec", kind: kind, name: "prog", directory: dir.path)
    }

    func transform(_ extra: Fields = [:], command: [String]? = nil) throws -> ExecTransform {
        var values: Fields = ["command": .array((command ?? [python, "t.py"]).map { .string($0) })]
        for (k, v) in extra { values[k] = v }
        return try ExecTransform(stageOptions: options(values, kind: .transform))
    }

    func records(_ count: Int, _ make: (Int) -> Fields = { ["i": .int(Int64($0))] }) -> [Record] {
        (0..<count).map { StageHarness.record(make($0), line: $0 + 1) }
    }

    // MARK: - Transform protocol

    @Test("records go to the program one JSON object per line and come back exactly, keeping their origin")
    func framing() throws {
        try pythonTransform("out['seen'] = True")
        let input: [Fields] = [
            ["id": 1, "title": "café\n\"quoted\"", "x": 1.5, "nested": ["a": [1, 2, nil]]],
            ["id": 2, "big": .int(9_007_199_254_740_993), "empty": [:]],
        ]
        let recs = input.enumerated().map { StageHarness.record($0.element, line: $0.offset + 1) }
        let out = try StageHarness.apply(try transform(), to: recs, name: "prog")
        #expect(out.deadLetters.isEmpty, "\(out.deadLetters.map(\.error))")
        #expect(out.records.map(\.fields) == input.map { var f = $0; f["seen"] = true; return f })
        #expect(out.records.map(\.origin) == recs.map(\.origin))
    }

    @Test("a batch far larger than a pipe's buffer is written while answers are read: no deadlock")
    func largeBatch() throws {
        try pythonTransform("out = {'i': r['i'], 'n': len(r['pad'])}")
        let pad = String(repeating: "x", count: 1000)
        let recs = records(1500) { ["i": .int(Int64($0)), "pad": .string(pad)] }
        let out = try StageHarness.apply(try transform(), to: recs, batchSize: 1500)
        #expect(out.records.map { $0["i"] } == (0..<1500).map { .int(Int64($0)) })
        #expect(out.records.allSatisfy { $0["n"] == 1000 })
    }

    @Test("null and [] drop a record; an array of objects gives several records, in order")
    func droppedAndMultiple() throws {
        try pythonTransform("""
            if r['i'] == 0: out = None
            elif r['i'] == 1: out = []
            elif r['i'] == 2: out = [{'i': 2, 'k': 'a'}, {'i': 2, 'k': 'b'}]
            """)
        let out = try StageHarness.apply(try transform(), to: records(4))
        #expect(out.dropped == 2)
        #expect(out.records.map(\.fields) == [["i": 2, "k": "a"], ["i": 2, "k": "b"], ["i": 3]])
        #expect(out.records[0].origin.line == 3 && out.records[1].origin.line == 3)
        #expect(out.deadLetters.isEmpty)
    }

    @Test("an answer that is not JSON, not an object or an array holding a non-object fails only its record")
    func badAnswers() throws {
        try dir.write("t.py", """
            import json, sys
            for line in sys.stdin:
                i = json.loads(line)['i']
                print(['not json {', '"a string"', '[{"ok": 1}, 5]', '{"i": %d}' % i][i % 4], flush=True)
            """)
        let out = try StageHarness.apply(try transform(), to: records(4), name: "prog")
        #expect(out.records.map(\.fields) == [["i": 3]])
        #expect(out.deadLetters.count == 3)
        #expect(out.deadLetters.allSatisfy { $0.stage == "prog" })
        #expect(out.deadLetters[0].error.hasPrefix("the program's answer is not JSON"))
        #expect(out.deadLetters[0].error.hasSuffix(": not json {"))
        #expect(out.deadLetters[1].error == "the program's answer must be an object, an array of objects or null, not string: \"a string\"")
        #expect(out.deadLetters[2].error.contains("item 1 is integer"))
        #expect(out.deadLetters.map { $0.record?["i"] } == [0, 1, 2])
    }

    // MARK: - Failures

    @Test("a program that crashes on one record: only that record is a dead letter; it is restarted and later records go on")
    func crashOnOneRecord() throws {
        try pythonTransform("""
            if r.get('crash'):
                sys.stderr.write('about to crash on %d\\n' % r['i']); sys.stderr.flush()
                sys.exit(3)
            out['pid'] = os.getpid()
            """)
        let recs = records(6) { ["i": .int(Int64($0)), "crash": .bool($0 == 2)] }
        let out = try StageHarness.apply(try transform(), to: recs, name: "prog")
        #expect(out.records.map { $0["i"] } == [0, 1, 3, 4, 5])
        #expect(out.deadLetters.count == 1)
        let letter = try #require(out.deadLetters.first)
        #expect(letter.error == "the program exited with status 3")
        #expect(letter.record?["i"] == 2)
        #expect(letter.details["stderr"] == ["about to crash on 2"])
        // A new process answered after the crash.
        #expect(out.records[1]["pid"] != out.records[2]["pid"])
        #expect(out.records[0]["pid"] == out.records[1]["pid"])
    }

    @Test("a program that hangs: the record gets 'no answer within T s', the program is restarted, the next records go on")
    func hang() throws {
        try pythonTransform("if r['i'] == 1: time.sleep(1000)")
        let out = try StageHarness.apply(try transform(["timeout": 0.5]), to: records(3), name: "prog")
        #expect(out.records.map { $0["i"] } == [0, 2])
        #expect(out.deadLetters.map(\.error) == ["no answer within 0.5 s"])
        #expect(out.deadLetters.first?.record?["i"] == 1)
    }

    @Test("a program that keeps failing fails the stage after max_restarts, with its status and stderr")
    func givesUp() throws {
        let t = try transform(["max_restarts": 1], command: ["/bin/sh", "-c", "echo broken setup >&2; exit 4"])
        var caught: (any Error)?
        do { _ = try StageHarness.apply(t, to: records(5), name: "prog") } catch { caught = error }
        let error = try #require(caught as? StageError)
        #expect(error.message.contains("failed 2 times in a row without answering a record"), "\(error.message)")
        #expect(error.message.contains("the program exited with status 4"), "\(error.message)")
        #expect(error.message.contains("broken setup"), "\(error.message)")
    }

    @Test("a program that cannot start: the config error names the command; a program gone by run time fails naming it")
    func neverStarts() throws {
        do {
            _ = try transform(command: ["./missing.py", "--x"])
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("the program ./missing.py of `./missing.py --x` does not exist"), "\(error)")
        }
        do {
            _ = try transform(command: ["no-such-program-sluice", "a"])
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("the program 'no-such-program-sluice' of `no-such-program-sluice a` is not on PATH"), "\(error)")
        }
        do {
            _ = try transform(command: ["python3 upper.py"])
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("write [python3, upper.py]"), "\(error)")
        }
        let script = try dir.write("gone.sh", "#!/bin/sh\ncat\n")
        chmod(script, 0o755)
        let t = try transform(command: ["./gone.sh"])
        try FileManager.default.removeItem(atPath: script)
        #expect {
            _ = try t.makeWorker(StageContext(name: "prog"))
        } throws: { error in
            "\(error)".contains("cannot start `./gone.sh`: No such file or directory")
        }
    }

    @Test("the program's stderr goes to the log, line by line")
    func stderrToLog() throws {
        try pythonTransform("sys.stderr.write('looking at %d\\n' % r['i']); sys.stderr.flush()")
        let log = CapturedLog()
        let worker = try (try transform()).makeWorker(StageContext(name: "prog", logger: log.logger))
        var out = TransformOutput(stage: "prog")
        try worker.process(records(2), into: &out)
        try worker.finish(into: &out)
        // The reader thread may still be handing over the last line: the program has exited, so
        // the stream has ended or is about to.
        var messages = log.all
        for _ in 0..<100 where !messages.contains("looking at 1") { usleep(10_000); messages = log.all }
        #expect(messages.contains("looking at 0"))
        #expect(messages.contains("looking at 1"))
    }

    @Test("no zombie: a worker released without finish kills and reaps its program")
    func noZombies() throws {
        try pythonTransform("")
        var worker: ExecTransformWorker? = try #require(try (try transform()).makeWorker(StageContext(name: "prog")) as? ExecTransformWorker)
        var out = TransformOutput(stage: "prog")
        try worker?.process(records(1), into: &out)
        let pid = try #require(worker?.child?.pid)
        #expect(kill(pid, 0) == 0)
        worker = nil
        #expect(kill(pid, 0) == -1 && errno == ESRCH)  // not even a zombie is left
    }

    // MARK: - Source and sink

    @Test("the source reads the program's JSON Lines; bad lines are dead letters with their line; the program ends the input")
    func source() throws {
        try dir.write("s.py", """
            import json
            for i in range(600): print(json.dumps({'i': i}))
            print('oops')
            print('[1]')
            print('')
            print(json.dumps({'i': 600}))
            """)
        let source = try ExecSource(stageOptions: options(["command": [.string(python), "s.py"]], kind: .source))
        let (recs, letters) = try StageHarness.collect(source, name: "prog", batchSize: 100)
        #expect(recs.map { $0["i"] } == (0...600).map { .int(Int64($0)) })
        #expect(recs.allSatisfy { $0.origin.position == nil })
        #expect(recs.last?.origin.line == 604)
        #expect(letters.map { $0.origin?.line } == [601, 602])
        #expect(letters.first?.raw == "oops")
        #expect(letters.last?.error == "the program wrote array, not a JSON object")
    }

    @Test("a source program that exits with a non-zero status fails the source with the status and its stderr")
    func sourceFailure() throws {
        let source = try ExecSource(stageOptions: options(["command": ["/bin/sh", "-c", "echo '{\"a\":1}'; echo 'no database' >&2; exit 7"]],
                                            kind: .source))
        let box = RecordList()
        let context = SourceContext(stage: StageContext(name: "prog"), send: { batch in box.records.withLock { $0 += batch } })
        #expect {
            try source.run(context)
        } throws: { error in
            let text = "\(error)"
            return text.contains("the program exited with status 7") && text.contains("no database")
        }
        #expect(box.records.withLock { $0.count } == 1)
    }

    @Test("the sink writes each record as a line on the program's stdin and waits for it to exit")
    func sink() throws {
        let sink = try ExecSink(stageOptions: options(["command": ["/bin/sh", "-c", "cat > out.jsonl"]], kind: .sink))
        let recs = records(1000) { ["i": .int(Int64($0)), "t": "é"] }
        let letters = try StageHarness.deliver(recs, to: sink, batchSize: 300)
        #expect(letters.isEmpty)
        let written = try String(contentsOfFile: dir.file("out.jsonl"), encoding: .utf8)
        #expect(written == recs.map { "{\"i\":\($0["i"]!),\"t\":\"é\"}\n" }.joined())
    }

    @Test("a sink program that fails makes the run fail with its status and stderr")
    func sinkFailure() throws {
        let sink = try ExecSink(stageOptions: options(["command": ["/bin/sh", "-c", "cat > /dev/null; echo 'cannot store' >&2; exit 2"]],
                                         kind: .sink))
        #expect {
            _ = try StageHarness.deliver(records(3), to: sink)
        } throws: { error in
            let text = "\(error)"
            return text.contains("the program exited with status 2") && text.contains("cannot store")
        }
        let early = try ExecSink(stageOptions: options(["command": ["/bin/sh", "-c", "exit 5"], "timeout": 5], kind: .sink))
        #expect {
            _ = try StageHarness.deliver(records(20_000), to: early, batchSize: 20_000)
        } throws: { error in
            "\(error)".contains("failed while records were written to it: the program exited with status 5")
        }
    }

    // MARK: - In a pipeline

    @Test("workers: 3 runs three programs and the output keeps the input order")
    func workersKeepOrder() throws {
        try dir.write("src.py", """
            import json
            for i in range(400): print(json.dumps({'i': i}))
            """)
        try pythonTransform("""
            time.sleep((r['i'] * 7919 % 13) / 10000.0)
            out['pid'] = os.getpid()
            """)
        let yaml = """
            sources:
              numbers: { type: exec, command: [\(python), src.py] }
            transforms:
              slow: { type: exec, inputs: [numbers], command: [\(python), t.py], workers: 3 }
            sinks:
              out: { type: exec, inputs: [slow], command: [/bin/sh, -c, cat > out.jsonl] }
            """
        let loader = ConfigLoader(registry: try StageRegistry(plugins: [ExecPlugin.self]), variables: [:])
        let pipeline = try loader.load(yaml: yaml, file: dir.file("p.yaml"), baseDirectory: dir.path)
        var runOptions = RunOptions()
        runOptions.batchSize = 16
        let result = PipelineRunner(pipeline: pipeline, options: runOptions, deadLetters: CollectingDeadLetterQueue()).run()
        #expect(result.failure == nil, "\(String(describing: result.failure))")
        let lines = try String(contentsOfFile: dir.file("out.jsonl"), encoding: .utf8).split(separator: "\n")
        let values = try lines.map { try JSONReader.parse(String($0)) }
        #expect(values.map { $0["i"] } == (0..<400).map { .int(Int64($0)) })
        #expect(Set(values.compactMap { $0["pid"] }).count == 3)
    }
}
