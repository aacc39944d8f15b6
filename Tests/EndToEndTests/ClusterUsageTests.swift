import Foundation
import SluiceTestSupport
import Testing

/// SPEC §2: bad usage of the cluster commands exits 2 with a message, before any server is asked.
@Suite("cluster commands: bad usage")
struct ClusterUsageTests {
    static let config = """
        sources:
          in: { type: json, path: in.jsonl }
        sinks:
          out: { type: json, inputs: [in], path: "out-${SLUICE_PROCESS}.jsonl" }
        """

    @Test("run --cluster with --lease 0 or --unit-size 0 is bad usage (exit 2), naming the flag")
    func badClusterFlags() throws {
        let dir = TemporaryDirectory("cluster-usage-flags")
        try dir.write("in.jsonl", "{\"a\":1}\n")
        try dir.write("c.yaml", Self.config)
        let url = "postgresql://u@127.0.0.1:1/x"
        let lease = try Sluice.run(["run", "c.yaml", "--cluster", url, "--lease", "0"], in: dir.path)
        #expect(lease.status == 2)
        #expect(lease.stderr.contains("--lease must be at least 1 second"), "\(lease.stderr)")
        let size = try Sluice.run(["run", "c.yaml", "--cluster", url, "--unit-size", "0"], in: dir.path)
        #expect(size.status == 2)
        #expect(size.stderr.contains("--unit-size must be at least 1 byte"), "\(size.stderr)")
    }

    @Test("cluster status without a coordinating database, or with one that cannot be reached, exits 2 and never prints the password")
    func statusWithoutCoordinator() throws {
        let dir = TemporaryDirectory("cluster-usage-status")
        try dir.write("c.yaml", Self.config)
        let none = try Sluice.run(["cluster", "status", "c.yaml"], in: dir.path)
        #expect(none.status == 2)
        #expect(none.stderr.contains("give the coordinating database: --cluster URL, or 'cluster: URL' in c.yaml"), "\(none.stderr)")
        let down = try Sluice.run(["cluster", "status", "c.yaml", "--cluster", "postgresql://u:hunter2@127.0.0.1:1/x"], in: dir.path)
        #expect(down.status == 2)
        #expect(down.stderr.contains("error: cluster "), "\(down.stderr)")
        #expect(!down.stderr.contains("hunter2"), "\(down.stderr)")
    }
}
