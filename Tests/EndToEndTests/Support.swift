import CSQLite
import Foundation
import SluiceCore
import SluiceTestSupport

/// Runs the built `sluice` binary.
enum Sluice {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The repository's root (for Scripts/, seeds/, examples/).
    static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The binary built next to the test bundle (`swift build` puts both in .build/debug).
    static let binary: String = {
        if let override = ProcessInfo.processInfo.environment["SLUICE_BIN"] { return override }
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("sluice").path,
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("sluice").path,
            repository + "/.build/debug/sluice",
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[2]
    }()

    /// Runs `sluice ARGS` in `directory`, feeding `stdin`; waits for it to end.
    static func run(_ arguments: [String], in directory: String, stdin: String? = nil,
                    environment: [String: String] = [:]) throws -> Result {
        try start(arguments, in: directory, stdin: stdin, environment: environment).wait()
    }

    /// A started process whose output goes to files (no pipe deadlocks on big outputs).
    final class Running {
        let process = Process()
        let out: URL
        let err: URL
        init(out: URL, err: URL) { self.out = out; self.err = err }
        /// Waits for the end, at most `timeout` seconds: a hung binary is killed and reported as
        /// status -1 rather than hanging the test run.
        func wait(timeout: TimeInterval = 180) throws -> Result {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return Result(status: -1, stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                              stderr: "timed out after \(Int(timeout)) s\n" + ((try? String(contentsOf: err, encoding: .utf8)) ?? ""))
            }
            process.waitUntilExit()
            return Result(status: process.terminationStatus,
                          stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                          stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
        }
    }

    static func start(_ arguments: [String], in directory: String, stdin: String? = nil,
                      stdinPipe: Pipe? = nil, environment: [String: String] = [:]) throws -> Running {
        let id = UUID().uuidString.prefix(8)
        let tmp = URL(fileURLWithPath: NSTemporaryDirectory())
        let running = Running(out: tmp.appendingPathComponent("sluice-\(id).out"), err: tmp.appendingPathComponent("sluice-\(id).err"))
        _ = FileManager.default.createFile(atPath: running.out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: running.err.path, contents: nil)
        let p = running.process
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        p.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        p.standardOutput = try FileHandle(forWritingTo: running.out)
        p.standardError = try FileHandle(forWritingTo: running.err)
        if let stdinPipe {
            p.standardInput = stdinPipe
        } else if let stdin {
            let input = tmp.appendingPathComponent("sluice-\(id).in")
            try Data(stdin.utf8).write(to: input)
            p.standardInput = try FileHandle(forReadingFrom: input)
        } else {
            p.standardInput = FileHandle.nullDevice
        }
        try p.run()
        return running
    }

    /// A temp folder holding copies of seeds/, Scripts/ and examples/, like a fresh checkout.
    static func workspace() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory("sluice-e2e")
        for folder in ["seeds", "Scripts", "examples"] {
            let from = repository + "/" + folder
            if FileManager.default.fileExists(atPath: from) {
                try FileManager.default.copyItem(atPath: from, toPath: dir.file(folder))
            }
        }
        return dir
    }
}

/// Reads rows back from a SQLite file with the C API.
enum SQLiteRows {
    /// The rows of `sql`; throws SQLite's message when it fails. `writable` opens the file for
    /// writing (FTS5's `integrity-check` is an INSERT).
    static func query(_ path: String, _ sql: String, writable: Bool = false) throws -> [Fields] {
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY, nil) == SQLITE_OK else {
            throw StageError(stage: "test", message: "cannot open \(path)")
        }
        defer { sqlite3_close(db) }
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK else {
            throw StageError(stage: "test", message: String(cString: sqlite3_errmsg(db)))
        }
        defer { sqlite3_finalize(stmt) }
        var rows: [Fields] = []
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw StageError(stage: "test", message: String(cString: sqlite3_errmsg(db))) }
            var row = Fields()
            for i in 0..<sqlite3_column_count(stmt) {
                let name = String(cString: sqlite3_column_name(stmt, i))
                switch sqlite3_column_type(stmt, i) {
                case SQLITE_INTEGER: row[name] = .int(sqlite3_column_int64(stmt, i))
                case SQLITE_FLOAT: row[name] = .double(sqlite3_column_double(stmt, i))
                case SQLITE_TEXT: row[name] = .string(String(cString: sqlite3_column_text(stmt, i)))
                default: row[name] = .null
                }
            }
            rows.append(row)
        }
        return rows
    }
}

extension String {
    /// The non-empty lines.
    var lines: [String] { split(separator: "\n").map(String.init) }
}
