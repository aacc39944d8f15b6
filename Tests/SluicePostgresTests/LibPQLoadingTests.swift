import CLibPQ
import Foundation
import Testing

/// libpq is loaded when a PostgreSQL stage connects, not linked into the binary.
@Suite("postgres: libpq loaded on first use")
struct LibPQLoadingTests {
    @Test("the sluice binary does not link libpq (nor the Kerberos, LDAP and TLS libraries it pulls in)")
    func binaryDoesNotLinkLibpq() throws {
        let ldd = Process()
        ldd.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        ldd.arguments = ["ldd", PostgresEndToEndTests.binary]
        let out = Pipe()
        ldd.standardOutput = out
        try ldd.run()
        let listing = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        ldd.waitUntilExit()
        #expect(ldd.terminationStatus == 0)
        #expect(listing.contains("libsqlite3"), "ldd lists the linked libraries: \(listing)")
        #expect(!listing.contains("libpq"))
        #expect(!listing.contains("libkrb5") && !listing.contains("libldap"))
    }

    @Test("loading libpq succeeds on a machine that has it, with no message")
    func loads() {
        var why = [CChar](repeating: 0, count: 512)
        #expect(sluice_libpq_load(&why, Int32(why.count)) == 1)
        #expect(why[0] == 0)
        #expect(sluice_libpq_load(nil, 0) == 1, "a second call answers the same")
    }
}
