import Foundation
import SluiceTestSupport
import Testing
@testable import SluicePostgres

/// The built `sluice` binary, run with a YAML config that writes into PostgreSQL.
@Suite("postgres: end to end on the built binary")
struct PostgresEndToEndTests {
    /// The binary next to the test bundle (`swift build` puts both in .build/debug).
    static let binary: String = {
        if let override = ProcessInfo.processInfo.environment["SLUICE_BIN"] { return override }
        var repository = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { repository.deleteLastPathComponent() }
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("sluice").path,
            repository.path + "/.build/debug/sluice",
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[1]
    }()

    /// Runs `sluice ARGS` in `directory` with extra environment; returns the status and errors.
    static func sluice(_ arguments: [String], in directory: String, environment: [String: String]) -> (status: Int32, errors: String) {
        let errPath = directory + "/sluice.err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, directory + "/sluice.out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // The shell changes into the folder (glibc's addchdir is not visible from Swift).
        let argv: [UnsafeMutablePointer<CChar>?] = (["sh", "-c", "cd \"$0\" && exec \"$@\"", directory, binary] + arguments)
            .map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in envp { free(p) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/bin/sh", &actions, nil, argv, envp) == 0 else { return (127, "cannot run \(binary)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return (code, (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    @Test func aJSONLinesPipelineWritesIntoPostgresOnceAcrossReRunsWithThePasswordFromTheEnvironment() throws {
        let url = try TestPostgres.freshDatabase("e2e")
        let dir = TemporaryDirectory("sluice-pg-e2e")
        let lines = (1...500).map { #"{"id": \#($0), "title": "title \#($0)", "tags": ["a", "b"], "score": \#($0).5}"# }
        try dir.write("in/articles.jsonl", lines.joined(separator: "\n") + "\n")
        // The URL comes from the environment, as a password would.
        try dir.write("pipeline.yaml", """
            data_dir: state
            sources:
              lines:
                type: json
                path: in/*.jsonl
            sinks:
              pg:
                type: postgres
                inputs: [lines]
                url: ${TEST_PG_URL}
                table: articles
                fts: [title]
                batch_size: 100
            """)
        let env = ["TEST_PG_URL": url]
        let first = Self.sluice(["run", "pipeline.yaml", "--progress", "never"], in: dir.path, environment: env)
        #expect(first.status == 0, "\(first.errors)")
        let pg = try PostgresConnection(url: url)
        #expect(try pg.scalar("SELECT count(*) || ' ' || count(DISTINCT id) FROM articles") == "500 500")
        #expect(try pg.rows("SELECT title, tags::text, score FROM articles WHERE id = 7") == [["title 7", "[\"a\", \"b\"]", "7.5"]])
        #expect(try pg.scalar("SELECT id FROM articles WHERE fts @@ to_tsquery('simple', '42')") == "42")

        // A re-run reads nothing new; more lines are written once.
        let second = Self.sluice(["run", "pipeline.yaml", "--progress", "never"], in: dir.path, environment: env)
        #expect(second.status == 0, "\(second.errors)")
        try dir.write("in/articles.jsonl", (lines + [#"{"id": 501, "title": "late"}"#]).joined(separator: "\n") + "\n")
        let third = Self.sluice(["run", "pipeline.yaml", "--progress", "never"], in: dir.path, environment: env)
        #expect(third.status == 0, "\(third.errors)")
        #expect(try pg.scalar("SELECT count(*) || ' ' || count(DISTINCT id) FROM articles") == "501 501")

        // Even with the source's checkpoints gone, the sink's marks keep every row single.
        try FileManager.default.removeItem(atPath: dir.file("state"))
        let fourth = Self.sluice(["run", "pipeline.yaml", "--progress", "never"], in: dir.path, environment: env)
        #expect(fourth.status == 0, "\(fourth.errors)")
        #expect(try pg.scalar("SELECT count(*) FROM articles") == "501")
    }

    @Test func aServerThatCannotBeReachedFailsTheRunWithAMessageNamingIt() throws {
        let dir = TemporaryDirectory("sluice-pg-e2e-down")
        try dir.write("in/a.jsonl", "{\"a\": 1}\n")
        try dir.write("pipeline.yaml", """
            data_dir: state
            sources:
              lines: { type: json, path: in/*.jsonl }
            sinks:
              pg: { type: postgres, inputs: [lines], url: "postgresql://u:secret@/db?host=\(dir.path)&connect_timeout=2", table: t }
            """)
        let run = Self.sluice(["run", "pipeline.yaml", "--progress", "never"], in: dir.path, environment: [:])
        #expect(run.status != 0)
        #expect(run.errors.contains("cannot connect to PostgreSQL"), "\(run.errors)")
        #expect(!run.errors.contains("secret"), "\(run.errors)")
    }
}
