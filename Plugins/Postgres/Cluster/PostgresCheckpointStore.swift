import Foundation
import SluiceCore
import SluiceFormats

/// The checkpoint store in PostgreSQL, shared by every machine of a cluster: what the
/// pipeline's sources delivered, its runs, and a pending `--full` run, keyed by pipeline name
/// so that one database serves many pipelines. Any machine can run the next (incremental) run.
///
/// The same model as ``SQLiteCheckpointStore`` (one row per source input; a base epoch per
/// source that `reset` and full runs raise), in tables `_sluice_checkpoints`,
/// `_sluice_checkpoint_sources`, `_sluice_checkpoint_meta` and `_sluice_checkpoint_runs`. Each
/// ``save(_:)`` is one transaction.
public final class PostgresCheckpointStore: CheckpointStore, Sendable {
    private let db: SharedPostgres
    /// The pipeline whose checkpoints these are.
    public let pipeline: String

    /// Connects and creates the tables when missing.
    public init(url: String, pipeline: String) throws {
        self.db = try SharedPostgres(url: url)
        self.pipeline = pipeline
        try db.with { pg in
            try pg.transaction {
                try pg.execute("SELECT pg_advisory_xact_lock(7361029384757)", doing: "locking the checkpoint schema")
                try pg.execute("""
                    CREATE TABLE IF NOT EXISTS _sluice_checkpoints (
                        pipeline text NOT NULL, source text NOT NULL, input text NOT NULL, epoch bigint NOT NULL,
                        "offset" bigint NOT NULL, line bigint NOT NULL, complete boolean NOT NULL, size bigint NOT NULL,
                        modified double precision NOT NULL, fingerprint text NOT NULL, last_value text,
                        records bigint NOT NULL, updated timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (pipeline, source, input));
                    CREATE TABLE IF NOT EXISTS _sluice_checkpoint_sources (
                        pipeline text NOT NULL, source text NOT NULL, base_epoch bigint NOT NULL DEFAULT 1,
                        PRIMARY KEY (pipeline, source));
                    CREATE TABLE IF NOT EXISTS _sluice_checkpoint_meta (
                        pipeline text NOT NULL, key text NOT NULL, value text NOT NULL, PRIMARY KEY (pipeline, key));
                    CREATE TABLE IF NOT EXISTS _sluice_checkpoint_runs (
                        id bigserial PRIMARY KEY, pipeline text NOT NULL, started timestamptz NOT NULL,
                        finished timestamptz NOT NULL, status text NOT NULL, records_read bigint NOT NULL,
                        delivered bigint NOT NULL, dead_letters bigint NOT NULL, full_run boolean NOT NULL);
                    """, doing: "creating the checkpoint tables")
            }
        }
    }

    private static let columns = #"input, epoch, "offset", line, complete, size, modified, fingerprint, last_value, records"#

    private static func checkpoint(_ row: [String?], from k: Int = 0) -> InputCheckpoint {
        func int(_ i: Int) -> Int64 { row[k + i].flatMap { Int64($0) } ?? 0 }
        return InputCheckpoint(input: row[k] ?? "", epoch: int(1), offset: int(2), line: int(3), complete: row[k + 4] == "t",
                               size: int(5), modified: row[k + 6].flatMap { Double($0) } ?? 0, fingerprint: row[k + 7] ?? "",
                               lastValue: row[k + 8].flatMap { try? JSONReader.parse($0) }, records: int(9))
    }

    public func load(source: String) throws -> SourceCheckpoint {
        try db.with { pg in
            var inputs: [String: InputCheckpoint] = [:]
            for row in try pg.rows("SELECT \(Self.columns) FROM _sluice_checkpoints WHERE pipeline = $1 AND source = $2",
                                   [pipeline, source], doing: "reading the checkpoints of source '\(source)'") where row.count == 10 {
                let cp = Self.checkpoint(row)
                inputs[cp.input] = cp
            }
            let base = try pg.scalar("""
                SELECT coalesce((SELECT base_epoch FROM _sluice_checkpoint_sources WHERE pipeline = $1 AND source = $2),
                                (SELECT max(base_epoch) FROM _sluice_checkpoint_sources WHERE pipeline = $1), 1)
                """, [pipeline, source], doing: "reading the base epoch of source '\(source)'")
            return SourceCheckpoint(inputs: inputs, baseEpoch: max(1, base.flatMap { Int64($0) } ?? 1), enabled: true)
        }
    }

    public func save(_ checkpoints: [(source: String, checkpoint: InputCheckpoint)]) throws {
        guard !checkpoints.isEmpty else { return }
        try db.with { pg in
            try pg.transaction {
                for (source, cp) in checkpoints {
                    try pg.execute("""
                        INSERT INTO _sluice_checkpoints (pipeline, source, input, epoch, "offset", line, complete, size, modified,
                            fingerprint, last_value, records, updated)
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now())
                        ON CONFLICT (pipeline, source, input) DO UPDATE SET epoch = EXCLUDED.epoch, "offset" = EXCLUDED."offset",
                            line = EXCLUDED.line, complete = EXCLUDED.complete, size = EXCLUDED.size, modified = EXCLUDED.modified,
                            fingerprint = EXCLUDED.fingerprint, last_value = EXCLUDED.last_value, records = EXCLUDED.records,
                            updated = now()
                        """, [pipeline, source, cp.input, String(cp.epoch), String(cp.offset), String(cp.line),
                              cp.complete ? "true" : "false", String(cp.size), String(cp.modified), cp.fingerprint,
                              cp.lastValue.map { JSONWriter.string($0) }, String(cp.records)],
                        doing: "saving the checkpoint of \(source)/\(cp.input)")
                }
            }
        }
    }

    public func startFullRun(sources: [String]) throws {
        try db.with { pg in try pg.transaction { try restartAll(pg, sources) } }
    }

    public func fullRunPending() throws -> Bool {
        try db.with { pg in
            try pg.scalar("SELECT value FROM _sluice_checkpoint_meta WHERE pipeline = $1 AND key = 'full_run_pending'",
                          [pipeline], doing: "reading whether a full run is pending") == "1"
        }
    }

    public func completedRuns() throws -> Int64 {
        try db.with { pg in
            Int64(try pg.scalar("""
                SELECT count(*) FROM _sluice_checkpoint_runs WHERE pipeline = $1 AND status IN ('complete', 'replay')
                """, [pipeline], doing: "counting the runs") ?? "0") ?? 0
        }
    }

    public func finishRun(_ record: RunRecord) throws {
        try db.with { pg in
            try pg.transaction {
                try pg.execute("""
                    INSERT INTO _sluice_checkpoint_runs (pipeline, started, finished, status, records_read, delivered,
                        dead_letters, full_run) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                    """, [pipeline, Timestamp.string(record.started), Timestamp.string(record.finished), record.status,
                          String(record.read), String(record.delivered), String(record.deadLetters), record.full ? "true" : "false"],
                    doing: "recording the run")
                if record.status == "complete" {
                    try pg.execute("DELETE FROM _sluice_checkpoint_meta WHERE pipeline = $1 AND key = 'full_run_pending'",
                                   [pipeline], doing: "ending the full run")
                }
            }
        }
    }

    public func lastRun() throws -> RunRecord? {
        try db.with { pg in
            let rows = try pg.rows("""
                SELECT to_char(started AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                       to_char(finished AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                       status, records_read, delivered, dead_letters, full_run
                FROM _sluice_checkpoint_runs WHERE pipeline = $1 ORDER BY id DESC LIMIT 1
                """, [pipeline], doing: "reading the last run")
            guard let row = rows.first, row.count == 7 else { return nil }
            return RunRecord(started: row[0].flatMap(Timestamp.date) ?? Date(timeIntervalSince1970: 0),
                             finished: row[1].flatMap(Timestamp.date) ?? Date(timeIntervalSince1970: 0),
                             status: row[2] ?? "", read: row[3].flatMap { Int64($0) } ?? 0,
                             delivered: row[4].flatMap { Int64($0) } ?? 0, deadLetters: row[5].flatMap { Int64($0) } ?? 0,
                             full: row[6] == "t")
        }
    }

    public func allInputs() throws -> [String: [InputCheckpoint]] {
        try db.with { pg in
            var out: [String: [InputCheckpoint]] = [:]
            for row in try pg.rows("SELECT source, \(Self.columns) FROM _sluice_checkpoints WHERE pipeline = $1 ORDER BY source, input",
                                   [pipeline], doing: "reading the checkpoints") where row.count == 11 {
                out[row[0] ?? "", default: []].append(Self.checkpoint(row, from: 1))
            }
            return out
        }
    }

    public func reset(source: String?) throws {
        try db.with { pg in
            try pg.transaction {
                guard let source else { return try restartAll(pg, []) }
                let highest = try pg.scalar("""
                    SELECT greatest((SELECT max(epoch) FROM _sluice_checkpoints WHERE pipeline = $1 AND source = $2),
                                    (SELECT base_epoch FROM _sluice_checkpoint_sources WHERE pipeline = $1 AND source = $2), 0)
                    """, [pipeline, source], doing: "reading the epochs of source '\(source)'").flatMap { Int64($0) } ?? 0
                try pg.execute("DELETE FROM _sluice_checkpoints WHERE pipeline = $1 AND source = $2", [pipeline, source],
                               doing: "forgetting the checkpoints of source '\(source)'")
                try pg.execute("""
                    INSERT INTO _sluice_checkpoint_sources (pipeline, source, base_epoch) VALUES ($1, $2, $3)
                    ON CONFLICT (pipeline, source) DO UPDATE SET base_epoch = EXCLUDED.base_epoch
                    """, [pipeline, source, String(highest + 1)], doing: "raising the epoch of source '\(source)'")
            }
        }
    }

    /// Forgets every input, raises every source's base epoch above any delivered before, and
    /// notes a pending full run (inside the caller's transaction).
    private func restartAll(_ pg: PostgresConnection, _ sources: [String]) throws {
        let highest = try pg.scalar("""
            SELECT greatest((SELECT max(epoch) FROM _sluice_checkpoints WHERE pipeline = $1),
                            (SELECT max(base_epoch) FROM _sluice_checkpoint_sources WHERE pipeline = $1), 0)
            """, [pipeline], doing: "reading the highest epoch").flatMap { Int64($0) } ?? 0
        var names = sources
        for row in try pg.rows("""
            SELECT DISTINCT source FROM _sluice_checkpoints WHERE pipeline = $1
            UNION SELECT source FROM _sluice_checkpoint_sources WHERE pipeline = $1
            """, [pipeline], doing: "listing the sources") {
            if let name = row.first ?? nil, !names.contains(name) { names.append(name) }
        }
        try pg.execute("DELETE FROM _sluice_checkpoints WHERE pipeline = $1", [pipeline], doing: "forgetting the checkpoints")
        try pg.execute("DELETE FROM _sluice_checkpoint_sources WHERE pipeline = $1", [pipeline], doing: "forgetting the epochs")
        for name in names {
            try pg.execute("INSERT INTO _sluice_checkpoint_sources (pipeline, source, base_epoch) VALUES ($1, $2, $3)",
                           [pipeline, name, String(highest + 1)], doing: "raising the epoch of source '\(name)'")
        }
        try pg.execute("""
            INSERT INTO _sluice_checkpoint_meta (pipeline, key, value) VALUES ($1, 'full_run_pending', '1')
            ON CONFLICT (pipeline, key) DO UPDATE SET value = '1'
            """, [pipeline], doing: "noting the full run")
    }
}
