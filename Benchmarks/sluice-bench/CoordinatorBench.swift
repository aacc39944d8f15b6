import Foundation
import SluiceCore
import SluicePostgres
import Synchronization

/// What one PostgreSQL serves as a cluster coordinator: empty work units registered, then
/// claimed and completed (the two statements every unit costs) from N connections at once.
/// The server: `SLUICE_BENCH_POSTGRES_URL`, or a throwaway one started with
/// `scripts/test-postgres.sh` (fsync off: a real server with fsync on pays one WAL flush per
/// commit, see docs/cluster.md).
enum CoordinatorBench {
    static let units = 6_000

    static func run() throws {
        var started: String?
        let url: String
        if let given = ProcessInfo.processInfo.environment["SLUICE_BENCH_POSTGRES_URL"], !given.isEmpty {
            url = given
        } else {
            let out = try shell(["scripts/test-postgres.sh", "start"])
            url = out.trimmingCharacters(in: .whitespacesAndNewlines)
            started = url
        }
        defer { if let started { _ = try? shell(["scripts/test-postgres.sh", "stop", started]) } }
        print("coordinator bench: \(units) empty units per round, claim + complete each; server \(url.prefix(60))…")
        for connections in [1, 2, 4, 8, 16] {
            let pipeline = "coordinator-bench-\(getpid())-\(connections)"
            let setup = try PostgresCoordinator(url: url, pipeline: pipeline)
            let list = (0..<units).map { WorkUnit(source: "s", kind: .files, files: ["f\($0)"], size: 0) }
            let registerStart = Date()
            let generation = try setup.openGeneration { _ in list }
            let registerTime = Date().timeIntervalSince(registerStart)
            let claimers = try (0..<connections).map { _ in try PostgresCoordinator(url: url, pipeline: pipeline) }
            let done = Atomic<Int>(0)
            let failure = Mutex<String?>(nil)
            let start = Date()
            DispatchQueue.concurrentPerform(iterations: connections) { k in
                let holder = UnitHolder(host: "bench", pid: Int32(k))
                do {
                    while let unit = try claimers[k].claim(generation: generation, holder: holder, lease: 60) {
                        _ = try claimers[k].complete(unit, holder: holder, records: 0)
                        done.add(1, ordering: .relaxed)
                    }
                } catch {
                    failure.withLock { $0 = "\(error)" }
                }
            }
            let elapsed = Date().timeIntervalSince(start)
            if let message = failure.withLock({ $0 }) { throw StageError(stage: "bench", message: message) }
            let n = done.load(ordering: .relaxed)
            print(String(format: "  %2d connection%@: %6.0f units/s claimed+completed (%.2f ms per unit per connection); registered %d units in %.2f s",
                         connections, connections == 1 ? " " : "s", Double(n) / elapsed,
                         elapsed * 1000 * Double(connections) / Double(max(1, n)), units, registerTime))
        }
    }

    private static func shell(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw StageError(stage: "bench", message: "\(arguments.joined(separator: " ")) failed (exit \(process.terminationStatus))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
