// `make bench` runs `sluice-bench side-by-side` (issue 13's jobs against Python, the SQLite C API
// and other tools); `sluice-bench NAME…` runs the others: throughput on deterministic generated
// data, printed as records/s and MB/s. Performance is measured here, never asserted in tests.
import Foundation

let benches: [(name: String, run: () throws -> Void)] = [
    ("side-by-side", SideBySideBench.run),
    ("articles", ArticlesBench.run),
    ("lua", LuaBench.run),
    ("pipeline", PipelineBench.run),
    ("stores", StoresBench.run),
    ("delivery", DeliveryBench.run),
    ("matching", MatchingBench.run),
    ("postgres", PostgresBench.run),
    ("coordinator", CoordinatorBench.run),
]
let wanted = Set(CommandLine.arguments.dropFirst())
if let unknown = wanted.first(where: { name in !benches.contains { $0.name == name } }) {
    FileHandle.standardError.write(Data("unknown benchmark '\(unknown)'; have: \(benches.map(\.name).joined(separator: ", "))\n".utf8))
    exit(2)
}
for bench in benches where wanted.isEmpty || wanted.contains(bench.name) {
    print("== \(bench.name)")
    do {
        try bench.run()
    } catch {
        print("  failed: \(error)")
        exit(1)
    }
}
