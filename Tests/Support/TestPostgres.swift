import Foundation

/// The PostgreSQL server the tests use: `SLUICE_TEST_POSTGRES_URL` when it is set, otherwise a
/// throwaway server that `scripts/test-postgres.sh` starts on first use (initdb in a temporary
/// folder, Unix socket only) and stops when the test process exits (at exit, or by the script's
/// watcher when the process dies). Each test takes its own database with ``freshDatabase(_:)``,
/// so tests run in parallel without seeing each other's tables.
///
/// When no server can be had, ``serverURL()`` throws an error that says why: tests that need
/// PostgreSQL fail; they are never skipped silently.
public enum TestPostgres {
    /// Why the server could not be had, for a test failure.
    public struct Unavailable: Error, CustomStringConvertible {
        /// What went wrong and what to do.
        public var description: String
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var started: Result<String, Unavailable>?
    /// The URL of the server this process started (stopped at exit), if any.
    nonisolated(unsafe) private static var owned: String?

    /// The repository's `scripts/test-postgres.sh`.
    public static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/test-postgres.sh").path
    }

    /// The URL of the server's `postgres` database (starting the server on first use).
    public static func serverURL() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let started { return try started.get() }
        let result: Result<String, Unavailable>
        if let given = ProcessInfo.processInfo.environment["SLUICE_TEST_POSTGRES_URL"], !given.isEmpty {
            result = .success(given)
        } else {
            let run = shell([script, "start", "--owner", String(getpid())])
            let url = run.output.trimmingCharacters(in: .whitespacesAndNewlines)
            if run.status == 0, !url.isEmpty {
                result = .success(url)
                owned = url
                atexit { TestPostgres.stopOwnedServer() }
            } else {
                result = .failure(Unavailable(description: """
                    the tests' PostgreSQL server could not be started with \(script) start (exit \(run.status)): \
                    \(run.errors.trimmingCharacters(in: .whitespacesAndNewlines)). Install the server with \
                    'make deps' (apt-get install postgresql libpq-dev), or set SLUICE_TEST_POSTGRES_URL to a server to use.
                    """))
            }
        }
        started = result
        return try result.get()
    }

    /// Stops the server this process started (registered with `atexit`).
    static func stopOwnedServer() {
        lock.lock()
        let url = owned
        owned = nil
        lock.unlock()
        if let url { _ = shell([script, "stop", url]) }
    }

    /// Creates a new, empty database named `sluice_<label>_<random>` and returns its URL.
    public static func freshDatabase(_ label: String = "test") throws -> String {
        let server = try serverURL()
        let cleaned = String(label.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }.prefix(30))
        let name = "sluice_\(cleaned)_\(UUID().uuidString.prefix(8).lowercased())"
        _ = try psql(server, "CREATE DATABASE \"\(name)\"")
        return databaseURL(server, name: name)
    }

    /// `url` with its database replaced by `name` (URI form: the path; keyword form: `dbname=`).
    public static func databaseURL(_ url: String, name: String) -> String {
        guard let scheme = url.range(of: "://") else { return url + " dbname=\(name)" }
        let rest = url[scheme.upperBound...]
        let query = rest.firstIndex(of: "?") ?? url.endIndex
        let pathStart = rest[..<query].firstIndex(of: "/") ?? query
        return String(url[..<pathStart]) + "/" + name + String(url[query...])
    }

    /// Runs SQL with `psql` (unaligned, tuples only, stop at the first error) and returns its
    /// output; throws with psql's message when it fails.
    @discardableResult
    public static func psql(_ url: String, _ sql: String) throws -> String {
        let run = shell(["psql", url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        guard run.status == 0 else {
            throw Unavailable(description: "psql failed (exit \(run.status)) running \(sql): \(run.errors)")
        }
        return run.output
    }

    /// Runs a program (looked up on PATH) and returns its exit status, output and errors.
    /// `posix_spawnp` and `waitpid` rather than Foundation's `Process`: the script leaves a
    /// watcher running in the background, and `Process` was seen never to notice the script's
    /// end in the test process (waiting forever on a reaped-but-unseen child).
    static func shell(_ arguments: [String]) -> (status: Int32, output: String, errors: String) {
        let base = NSTemporaryDirectory() + "sluice-pg-shell-\(UUID().uuidString.prefix(8))"
        let outPath = base + ".out"
        let errPath = base + ".err"
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
        guard rc == 0 else { return (127, "", "cannot run \(arguments[0]): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7F == 0
        let code = exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return (code, output, errors)
    }
}

