import Foundation
import SluiceTestSupport
import Testing

/// `make bench` in its smoke mode (`BENCH_QUICK=1`: 1,000 records, 100 articles, one pass) on the
/// debug build: every job runs and prints its table. Nothing about speed is asserted.
@Suite("make bench, quick mode")
struct BenchSmokeTests {
    /// `sluice-bench`, built next to `sluice` by `swift build`.
    static let benchBinary = URL(fileURLWithPath: Sluice.binary).deletingLastPathComponent()
        .appendingPathComponent("sluice-bench").path

    @Test("the side-by-side bench runs every job on small data through the sluice binary and prints the tables and the goals",
          .enabled(if: FileManager.default.isExecutableFile(atPath: BenchSmokeTests.benchBinary)))
    func quickRun() throws {
        let dir = TemporaryDirectory("sluice-bench-smoke")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.benchBinary)
        process.arguments = ["side-by-side"]
        var environment = ProcessInfo.processInfo.environment
        environment["BENCH_QUICK"] = "1"
        environment["SLUICE_BIN"] = Sluice.binary
        environment["TMPDIR"] = dir.path + "/"
        process.environment = environment
        let output = dir.file("bench.out")
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardError = process.standardOutput
        try process.run()
        let deadline = Date().addingTimeInterval(300)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 0, "\(text)")
        for heading in ["job 1: JSON Lines → sqlite", "job 2: JSON Lines → lua rule → JSON Lines", "job 3: text_articles → sqlite",
                        "issue 13 goals"] {
            #expect(text.contains(heading), "missing '\(heading)' in:\n\(text)")
        }
        #expect(text.contains("(sluice wrote 1000 rows to bench)"), "\(text)")
        #expect(text.contains("(sluice wrote 1000 lines)"), "\(text)")
        #expect(text.contains("| sluice json → sqlite (key: id) |"), "\(text)")
        #expect(!text.contains("sluice failed"), "\(text)")
    }
}
