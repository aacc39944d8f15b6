import Foundation
import Logging
import Testing
import SluiceCore
import SluiceFormats
import SluiceTestSupport
@testable import SluiceJSON

/// A log handler that keeps what it is given.
final class SinkLogCapture: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [(level: Logger.Level, message: String)] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lock.lock()
        stored.append((event.level, event.message.description))
        lock.unlock()
    }

    /// The messages logged at `level`.
    func messages(_ level: Logger.Level) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        return stored.filter { $0.level == level }.map(\.message)
    }
}

/// One run of a json sink, driven the way the runtime drives it: a ledger admits each batch
/// before the writer sees it.
final class SinkRun {
    let ledger = DeliveryLedger()
    let log = SinkLogCapture()
    let writer: JSONSinkWriter

    init(_ sink: JSONSink, data: String, fullRun: Bool = false, name: String = "out") throws {
        let log = self.log
        let context = StageContext(name: name, logger: Logger(label: "test") { _ in log }, dataDirectory: data,
                                   ledger: ledger, fullRun: fullRun)
        writer = try JSONSinkWriter(sink: sink, context: context)
    }

    /// Admits and writes a batch.
    func write(_ batch: [Record]) throws {
        let admitted = try ledger.admit(batch, route: "")
        if !admitted.isEmpty { try writer.write(admitted) }
    }
}

/// Records `{"id":n}` read from one input, at offset 10·n of version `epoch`.
func positioned(_ ids: ClosedRange<Int>, epoch: Int64 = 1) -> [Record] {
    ids.map {
        Record(["id": .int(Int64($0))],
               origin: Origin(source: "src", file: "in.jsonl", position: Position(input: "in.jsonl", epoch: epoch, offset: Int64($0) * 10)))
    }
}

/// The JSON Lines of `{"id":n}` for each id.
func lines(_ ids: [Int]) -> String { ids.map { "{\"id\":\($0)}\n" }.joined() }
func lines(_ ids: ClosedRange<Int>) -> String { lines(Array(ids)) }

/// Adds bytes to the end of a file (what a killed run leaves after its last commit).
func appendBytes(_ path: String, _ text: String) throws {
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(text.utf8))
}

/// The sink state saved for stage `out`.
func savedState(_ data: String, name: String = "out") throws -> JSONSinkState? {
    try JSONSinkSidecar(dataDirectory: data, stage: name).load()
}

@Suite("json sink delivery")
struct JSONSinkDeliveryTests {
    @Test("the sink state written by hand reads back with JSONDecoder as the same state, odd characters included")
    func stateEncodingRoundTrips() throws {
        let odd = "a/b \"quoted\" back\\slash\ttab\u{1}ctl é 東京 🙂"
        for marks in [[], [JSONSinkState.MarkEntry(source: "s", input: odd, route: "x>y", epoch: -3, offset: Int64.max, count: 0),
                            JSONSinkState.MarkEntry(source: odd, input: "", route: "", epoch: 1, offset: 0, count: 7)]] {
            let state = JSONSinkState(path: "/data/" + odd, format: "lines", partial: true, length: 12, body: 10, elements: 3,
                                      fingerprint: "ff00", marks: marks)
            let decoded = try JSONDecoder().decode(JSONSinkState.self, from: Data(state.encoded()))
            #expect(decoded == state)
            #expect((try? JSONReader.parse(state.encoded())) != nil, "valid JSON")
        }
    }

    @Test("a second run continues the output and skips the records committed before")
    func secondRunAppendsAndSkips() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("out/x.jsonl")
        let data = dir.file("state")
        let first = try SinkRun(JSONSink(path: path), data: data)
        #expect(first.writer.opening == .firstRun)
        try first.write(positioned(1...3))
        try first.writer.flush()
        try first.write(positioned(4...5))
        try first.writer.close()
        #expect(try text(path) == lines(1...5))
        let state = try #require(try savedState(data))
        #expect(state.length == Int64(lines(1...5).utf8.count))
        #expect(state.partial == false)
        #expect(state.marks == [.init(source: "src", input: "in.jsonl", route: "", epoch: 1, offset: 50, count: 1)])

        // The source read again from before the end (its checkpoint lagged behind).
        let second = try SinkRun(JSONSink(path: path), data: data)
        #expect(second.writer.opening == .resumed(cut: 0))
        try second.write(positioned(4...8))
        try second.writer.close()
        #expect(second.ledger.skipped == 2)
        #expect(try text(path) == lines(1...8))
    }

    @Test("a second run continues an array and skips the records committed before")
    func secondRunContinuesArray() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("a.json")
        let data = dir.file("state")
        let first = try SinkRun(JSONSink(path: path, format: .array), data: data)
        try first.write(positioned(1...2))
        try first.writer.close()
        let second = try SinkRun(JSONSink(path: path, format: .array), data: data)
        try second.write(positioned(2...3))
        try second.writer.flush()
        #expect(try text(path) == "[\n{\"id\":1},\n{\"id\":2},\n{\"id\":3}\n]\n")
        try second.writer.close()
        #expect(try text(path) == "[\n{\"id\":1},\n{\"id\":2},\n{\"id\":3}\n]\n")
        #expect(second.ledger.skipped == 1)
    }

    @Test("bytes written after the last commit by a killed run are cut off and their records written once")
    func tornTailIsCutBack() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("x.jsonl")
        let data = dir.file("state")
        let first = try SinkRun(JSONSink(path: path), data: data)
        try first.write(positioned(1...3))
        try first.writer.flush()
        // Killed: records 4 and a half of 5 reached the file, the commit did not happen.
        let torn = "{\"id\":4}\n{\"id\":"
        try appendBytes(path, torn)

        let second = try SinkRun(JSONSink(path: path), data: data)
        #expect(second.writer.opening == .resumed(cut: Int64(torn.utf8.count)))
        #expect(second.log.messages(.notice).contains { $0.contains("cut \(torn.utf8.count) bytes") })
        #expect(try text(path) == lines(1...3))
        try second.write(positioned(1...6))
        try second.writer.close()
        #expect(try text(path) == lines(1...6))
    }

    @Test("an array whose closing bytes a killed run was replacing is continued and closed")
    func tornArrayTail() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("a.json")
        let data = dir.file("state")
        let first = try SinkRun(JSONSink(path: path, format: .array), data: data)
        try first.write(positioned(1...2))
        try first.writer.flush()
        // Killed while writing record 3 over the closing "\n]\n".
        let committed = try text(path)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seek(toOffset: UInt64(committed.utf8.count - 3))
        try handle.write(contentsOf: Data(",\n{\"id\":3},\n{\"i".utf8))
        try handle.close()

        let second = try SinkRun(JSONSink(path: path, format: .array), data: data)
        guard case .resumed = second.writer.opening else {
            Issue.record("expected the array to be continued, got \(second.writer.opening)")
            return
        }
        try second.write(positioned(2...4))
        try second.writer.close()
        #expect(try JSONReader.parse(try text(path)) == [["id": 1], ["id": 2], ["id": 3], ["id": 4]])
    }

    @Test("a file changed outside Sluice is not cut: a warning, no marks, records added after its content")
    func changedOutsideIsKept() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("x.jsonl")
        let data = dir.file("state")
        let first = try SinkRun(JSONSink(path: path), data: data)
        try first.write(positioned(1...3))
        try first.writer.close()

        // Replaced by something longer than the committed length, with other content.
        let replaced = "{\"mine\":\"a line that someone else wrote\"}"
        try dir.write("x.jsonl", replaced)
        let second = try SinkRun(JSONSink(path: path), data: data)
        guard case .changedOutside = second.writer.opening else {
            Issue.record("expected a change outside Sluice, got \(second.writer.opening)")
            return
        }
        #expect(second.log.messages(.warning).count == 1)
        try second.write(positioned(3...4))
        try second.writer.close()
        #expect(second.ledger.skipped == 0)
        #expect(try text(path) == replaced + "\n" + lines(3...4))

        // Shorter than committed: also kept.
        try dir.write("x.jsonl", "{}\n")
        let third = try SinkRun(JSONSink(path: path), data: data)
        guard case .changedOutside = third.writer.opening else {
            Issue.record("expected a change outside Sluice, got \(third.writer.opening)")
            return
        }
        try third.write(positioned(5...5))
        try third.writer.close()
        #expect(try text(path) == "{}\n" + lines(5...5))

        // Missing: created.
        try FileManager.default.removeItem(atPath: path)
        let fourth = try SinkRun(JSONSink(path: path), data: data)
        #expect(fourth.writer.opening == .changedOutside("it is missing"))
        #expect(fourth.log.messages(.warning).count == 1)
        try fourth.write(positioned(6...6))
        try fourth.writer.close()
        #expect(try text(path) == lines(6...6))

        // And the run after that continues normally again.
        let fifth = try SinkRun(JSONSink(path: path), data: data)
        #expect(fifth.writer.opening == .resumed(cut: 0))
        try fifth.write(positioned(6...7))
        try fifth.writer.close()
        #expect(try text(path) == lines(6...7))
    }

    @Test("a full run writes <path>.partial and puts it in place only when it closes")
    func fullRunRenamesOnClose() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("x.jsonl")
        let data = dir.file("state")
        let first = try SinkRun(JSONSink(path: path), data: data)
        try first.write(positioned(1...2))
        try first.writer.close()

        let full = try SinkRun(JSONSink(path: path), data: data, fullRun: true)
        #expect(full.writer.opening == .newPartial)
        try full.write(positioned(1...3, epoch: 2))
        try full.writer.flush()
        #expect(try text(path) == lines(1...2))
        #expect(try text(path + ".partial") == lines(1...3))
        #expect(try savedState(data)?.partial == true)
        try full.writer.close()
        #expect(try text(path) == lines(1...3))
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
        let state = try #require(try savedState(data))
        #expect(state.partial == false)
        #expect(state.length == Int64(lines(1...3).utf8.count))

        // The run after it continues the new output.
        let next = try SinkRun(JSONSink(path: path), data: data)
        try next.write(positioned(3...4, epoch: 2))
        try next.writer.close()
        #expect(try text(path) == lines(1...4))
    }

    @Test("a full run that fails leaves the complete earlier output in place")
    func abortedFullRunKeepsOutput() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("x.jsonl")
        let data = dir.file("state")
        let first = try SinkRun(JSONSink(path: path), data: data)
        try first.write(positioned(1...2))
        try first.writer.close()

        // Fails before its first commit: the partial file goes, the old state stays.
        let early = try SinkRun(JSONSink(path: path), data: data, fullRun: true)
        try early.write(positioned(1...3, epoch: 2))
        try early.writer.abort()
        #expect(try text(path) == lines(1...2))
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
        #expect(try savedState(data)?.partial == false)

        // Fails after a commit: the partial file is cut back to it and kept for the next full run.
        let late = try SinkRun(JSONSink(path: path), data: data, fullRun: true)
        try late.write(positioned(1...3, epoch: 2))
        try late.writer.flush()
        try late.write(positioned(4...5, epoch: 2))
        try late.writer.abort()
        #expect(try text(path) == lines(1...2))
        #expect(try text(path + ".partial") == lines(1...3))
        #expect(try savedState(data)?.partial == true)
    }

    @Test("an interrupted full run is continued in its partial file, each record once")
    func interruptedFullRunContinues() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("x.jsonl")
        let data = dir.file("state")
        let first = try SinkRun(JSONSink(path: path), data: data)
        try first.write(positioned(1...2))
        try first.writer.close()

        let full = try SinkRun(JSONSink(path: path), data: data, fullRun: true)
        try full.write(positioned(1...3, epoch: 2))
        try full.writer.flush()
        try appendBytes(path + ".partial", "{\"id\":4}\n")  // killed after this, before a commit

        let again = try SinkRun(JSONSink(path: path), data: data, fullRun: true)
        #expect(again.writer.opening == .resumed(cut: 9))
        #expect(try text(path) == lines(1...2))
        try again.write(positioned(2...5, epoch: 2))
        try again.writer.close()
        #expect(again.ledger.skipped == 2)
        #expect(try text(path) == lines(1...5))
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
    }

    @Test("a full run killed between the rename and its state is continued in the renamed output")
    func fullRunKilledAfterRename() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("x.jsonl")
        let data = dir.file("state")
        let full = try SinkRun(JSONSink(path: path), data: data, fullRun: true)
        try full.write(positioned(1...3, epoch: 2))
        try full.writer.flush()
        try FileManager.default.moveItem(atPath: path + ".partial", toPath: path)

        let again = try SinkRun(JSONSink(path: path), data: data, fullRun: true)
        #expect(again.writer.opening == .resumed(cut: 0))
        try again.write(positioned(3...4, epoch: 2))
        try again.writer.close()
        #expect(try text(path) == lines(1...4))
        #expect(try savedState(data)?.partial == false)
    }

    @Test("a run that is not a full run drops an abandoned partial file and starts afresh")
    func abandonedPartialIsRemoved() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("x.jsonl", "{\"old\":1}\n")
        let data = dir.file("state")
        let full = try SinkRun(JSONSink(path: path), data: data, fullRun: true)
        try full.write(positioned(1...2, epoch: 2))
        try full.writer.flush()

        let plain = try SinkRun(JSONSink(path: path), data: data)
        #expect(plain.writer.opening == .firstRun)
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
        try plain.write(positioned(1...1, epoch: 3))
        try plain.writer.close()
        #expect(try text(path) == lines(1...1))
    }

    @Test("a failed run cuts the output back to its last commit")
    func abortCutsBackToCommit() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("a.json")
        let data = dir.file("state")
        let first = try SinkRun(JSONSink(path: path, format: .array), data: data)
        try first.write(positioned(1...2))
        try first.writer.flush()
        try first.write(positioned(3...(JSONSink.bufferSize / 8)))  // more than a buffer: written out
        try first.writer.abort()
        #expect(try text(path) == "[\n{\"id\":1},\n{\"id\":2}\n]\n")

        let second = try SinkRun(JSONSink(path: path, format: .array), data: data)
        #expect(second.writer.opening == .resumed(cut: 0))
        try second.write(positioned(1...3))
        try second.writer.close()
        #expect(try JSONReader.parse(try text(path)) == [["id": 1], ["id": 2], ["id": 3]])
    }

    @Test("a first run replaces the old content and starts the state; a failure before writing keeps it")
    func firstRunReplaces() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("x.jsonl", "{\"old\":1}\n")
        let data = dir.file("state")
        let failed = try SinkRun(JSONSink(path: path), data: data)
        try failed.writer.abort()
        #expect(try text(path) == "{\"old\":1}\n")
        #expect(try savedState(data) == nil)

        let first = try SinkRun(JSONSink(path: path), data: data)
        #expect(first.ledger.isEnabled)
        try first.write(positioned(1...1))
        try first.writer.close()
        #expect(try text(path) == lines(1...1))
        #expect(try savedState(data)?.length == Int64(lines(1...1).utf8.count))
    }

    @Test("append never replaces content, also in a full run, and later runs skip what it committed")
    func appendKeepsContent() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("x.jsonl", "{\"old\":1}")
        let data = dir.file("state")
        let first = try SinkRun(JSONSink(path: path, append: true), data: data, fullRun: true)
        try first.write(positioned(1...2))
        try first.writer.close()
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
        #expect(try text(path) == "{\"old\":1}\n" + lines(1...2))
        let second = try SinkRun(JSONSink(path: path, append: true), data: data)
        try second.write(positioned(2...3))
        try second.writer.close()
        #expect(try text(path) == "{\"old\":1}\n" + lines(1...3))
    }

    @Test("standard output keeps no state and is at least once")
    func standardOutputHasNoState() throws {
        let dir = TemporaryDirectory()
        let data = dir.file("state")
        let pipe = Pipe()
        let run = try SinkRun(JSONSink(path: "-", standardOutput: pipe.fileHandleForWriting), data: data)
        try run.write(positioned(1...2))
        try run.writer.close()
        try pipe.fileHandleForWriting.close()
        #expect(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) == lines(1...2))
        #expect(run.writer.opening == .stream)
        #expect(!run.ledger.isEnabled)
        #expect(!FileManager.default.fileExists(atPath: data + "/sinks"))
    }

    @Test("the state file's name is safe for any stage name and differs between names")
    func stateFileNames() {
        #expect(JSONSinkSidecar.fileName(for: "out_1-a") == "out_1-a.json")
        #expect(JSONSinkSidecar.fileName(for: "../a b") == "%2E%2E%2Fa%20b.json")
        #expect(JSONSinkSidecar.fileName(for: "") == "%.json")
        #expect(JSONSinkSidecar.fileName(for: "é") == "%C3%A9.json")
        let long = JSONSinkSidecar.fileName(for: String(repeating: "x", count: 500))
        #expect(long.utf8.count < 200)
        #expect(long != JSONSinkSidecar.fileName(for: String(repeating: "x", count: 501)))
    }

    @Test("temporary state files of a process that is gone are removed; those of a live one are kept")
    func staleTemporaryFiles() throws {
        let dir = TemporaryDirectory()
        let data = dir.file("state")
        let stale = try dir.write("state/sinks/out.json.2147483646.7.tmp", "{")
        let live = try dir.write("state/sinks/out.json.\(getpid()).7.tmp", "{")
        let other = try dir.write("state/sinks/outer.json.2147483646.7.tmp", "{")
        #expect(try savedState(data) == nil)
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: live))
        #expect(FileManager.default.fileExists(atPath: other))
    }

    @Test("a state file that cannot be read stops the sink with a message naming it")
    func damagedState() throws {
        let dir = TemporaryDirectory()
        let data = dir.file("state")
        try dir.write("state/sinks/out.json", "{not json")
        do {
            _ = try JSONSink(path: dir.file("x.jsonl")).makeWriter(StageContext(name: "out", dataDirectory: data))
            Issue.record("expected an error")
        } catch let error as StageError {
            #expect(error.description.contains("sinks/out.json"))
        }
    }
}
