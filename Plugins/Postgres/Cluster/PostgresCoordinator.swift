import Foundation
import SluiceCore
import SluiceFormats
import Synchronization

/// One connection used from several threads (the unit loop and the heartbeat), one call at a
/// time; a lost connection is opened again once per call.
final class SharedPostgres: @unchecked Sendable {
    // @unchecked: `connection` is only used while `lock` is held.
    private let lock = NSLock()
    private let connection: PostgresConnection

    init(url: String) throws {
        connection = try PostgresConnection(url: url)
    }

    /// The connection string without its password.
    var displayURL: String { connection.displayURL }

    /// Runs `body` with the connection; when the connection was lost, reconnects and runs it
    /// once more (every caller's work is one transaction or one statement: safe to repeat).
    @discardableResult
    func with<R>(_ body: (PostgresConnection) throws -> R) throws -> R {
        lock.lock()
        defer { lock.unlock() }
        do {
            return try body(connection)
        } catch let error as PostgresError where error.isConnectionLost {
            try connection.reconnect()
            return try body(connection)
        }
    }
}

/// The cluster coordinator in PostgreSQL: a pipeline's work units in `_sluice_units`, claimed
/// with `SELECT … FOR UPDATE SKIP LOCKED` under a lease (`lease_until`, the holder's host and
/// pid) that the holder renews with its heartbeat; a unit whose lease ran out is claimable
/// again. Times are the server's (`now()`), so machines with skewed clocks agree.
///
/// Tables (created when missing, under an advisory lock so that processes starting together
/// do not race): `_sluice_cluster_runs` (the current generation per pipeline; its row lock
/// makes listing a new generation happen once), `_sluice_units`, `_sluice_cluster_processes`
/// (heartbeat, records and rate per process).
public final class PostgresCoordinator: WorkCoordinator, Sendable {
    private let db: SharedPostgres
    /// The pipeline (config name) whose units this coordinates.
    public let pipeline: String
    /// The generations this process is known in (its row in `_sluice_cluster_processes`).
    private let registered = Mutex<Set<Int64>>([])

    /// Connects and creates the tables when missing.
    public init(url: String, pipeline: String) throws {
        self.db = try SharedPostgres(url: url)
        self.pipeline = pipeline
        try db.with { pg in
            try pg.transaction {
                try pg.execute("SELECT pg_advisory_xact_lock(7361029384756)", doing: "locking the cluster schema")
                try pg.execute("""
                    CREATE TABLE IF NOT EXISTS _sluice_cluster_runs (
                        pipeline text PRIMARY KEY, generation bigint NOT NULL DEFAULT 0);
                    CREATE TABLE IF NOT EXISTS _sluice_units (
                        pipeline text NOT NULL, generation bigint NOT NULL, unit_id text NOT NULL,
                        ordinal integer NOT NULL, unit jsonb NOT NULL, state text NOT NULL DEFAULT 'pending',
                        holder_host text, holder_pid integer, claimed_at timestamptz, lease_until timestamptz,
                        done_at timestamptz, done_by_host text, done_by_pid integer,
                        records bigint NOT NULL DEFAULT 0, attempts integer NOT NULL DEFAULT 0,
                        PRIMARY KEY (pipeline, generation, unit_id));
                    CREATE INDEX IF NOT EXISTS _sluice_units_pending ON _sluice_units (pipeline, generation, ordinal)
                        WHERE state = 'pending';
                    CREATE INDEX IF NOT EXISTS _sluice_units_claimed ON _sluice_units (pipeline, generation, lease_until)
                        WHERE state = 'claimed';
                    CREATE TABLE IF NOT EXISTS _sluice_cluster_processes (
                        pipeline text NOT NULL, generation bigint NOT NULL, host text NOT NULL, pid integer NOT NULL,
                        started timestamptz NOT NULL DEFAULT now(), heartbeat timestamptz NOT NULL DEFAULT now(),
                        records bigint NOT NULL DEFAULT 0, rate double precision NOT NULL DEFAULT 0,
                        PRIMARY KEY (pipeline, generation, host, pid));
                    """, doing: "creating the cluster tables")
            }
        }
    }

    public func openGeneration(list: ([WorkUnit]) throws -> [WorkUnit]) throws -> Int64 {
        try db.with { pg in
            try pg.transaction {
                try pg.execute("INSERT INTO _sluice_cluster_runs (pipeline) VALUES ($1) ON CONFLICT DO NOTHING", [pipeline],
                               doing: "registering the pipeline")
                let current = Int64(try pg.scalar("SELECT generation FROM _sluice_cluster_runs WHERE pipeline = $1 FOR UPDATE",
                                                  [pipeline], doing: "locking the pipeline's cluster run") ?? "0") ?? 0
                if current > 0 {
                    let open = try pg.scalar("""
                        SELECT count(*) FROM _sluice_units WHERE pipeline = $1 AND generation = $2 AND state <> 'done'
                        """, [pipeline, String(current)], doing: "reading the open units")
                    if (Int(open ?? "0") ?? 0) > 0 { return current }
                }
                let previous = try pg.rows("SELECT unit::text FROM _sluice_units WHERE pipeline = $1 AND generation = $2 ORDER BY ordinal",
                                           [pipeline, String(current)], doing: "reading the last run's units")
                    .compactMap { row in row.first.flatMap { $0 }.flatMap { try? JSONReader.parse($0) }.flatMap(WorkUnit.init(json:)) }
                let units = try list(previous)
                guard !units.isEmpty else { return current }
                let next = current + 1
                var seen = Set<String>()
                let fresh = units.filter { seen.insert($0.id).inserted }
                // Many rows per statement: a listing of 100,000 files registers in seconds.
                for chunkStart in stride(from: 0, to: fresh.count, by: 1_000) {
                    let chunk = fresh[chunkStart..<min(fresh.count, chunkStart + 1_000)]
                    var ids: [String] = []
                    var bodies: [String] = []
                    var ordinals: [String] = []
                    for (k, unit) in zip(chunk.indices, chunk) {
                        ids.append(unit.id)
                        bodies.append(JSONWriter.string(unit.json))
                        ordinals.append(String(k))
                    }
                    try pg.execute("""
                        INSERT INTO _sluice_units (pipeline, generation, unit_id, ordinal, unit)
                        SELECT $1, $2, u.id, u.ordinal, u.body::jsonb
                        FROM unnest($3::text[], $4::integer[], $5::text[]) AS u(id, ordinal, body)
                        ON CONFLICT DO NOTHING
                        """, [pipeline, String(next), PostgresConnection.textArray(ids), PostgresConnection.textArray(ordinals), PostgresConnection.textArray(bodies)],
                        doing: "registering \(chunk.count) work units")
                }
                try pg.execute("UPDATE _sluice_cluster_runs SET generation = $2 WHERE pipeline = $1", [pipeline, String(next)],
                               doing: "starting cluster run \(next)")
                return next
            }
        }
    }

    public func claim(generation: Int64, holder: UnitHolder, lease: TimeInterval) throws -> ClaimedUnit? {
        try db.with { pg in
            // A unit nobody took yet (the partial index of pending units), else one whose lease ran out.
            var body: String?
            for free in ["state = 'pending' ORDER BY ordinal", "state = 'claimed' AND lease_until < now() ORDER BY lease_until"] {
                body = try pg.scalar("""
                    UPDATE _sluice_units u SET state = 'claimed', holder_host = $3, holder_pid = $4, claimed_at = now(),
                        lease_until = now() + make_interval(secs => $5::double precision), attempts = u.attempts + 1
                    WHERE u.pipeline = $1 AND u.generation = $2 AND u.unit_id = (
                        SELECT unit_id FROM _sluice_units WHERE pipeline = $1 AND generation = $2 AND \(free)
                        LIMIT 1 FOR UPDATE SKIP LOCKED)
                    RETURNING u.unit::text
                    """, [pipeline, String(generation), holder.host, String(holder.pid), String(lease)], doing: "claiming a work unit")
                if body != nil { break }
            }
            guard let body else { return nil }
            guard let unit = (try? JSONReader.parse(body)).flatMap(WorkUnit.init(json:)) else {
                throw PostgresError(doing: "claiming a work unit", message: "a unit of cluster run \(generation) is not readable: \(body.prefix(200))")
            }
            if registered.withLock({ $0.insert(generation).inserted }) {
                try heartbeat(pg, generation: generation, holder: holder, records: nil)
            }
            return ClaimedUnit(generation: generation, unit: unit)
        }
    }

    public func renew(generation: Int64, holder: UnitHolder, lease: TimeInterval, records: Int64,
                      held: [String]) throws -> Set<String> {
        try db.with { pg in
            try pg.execute("""
                UPDATE _sluice_units SET lease_until = now() + make_interval(secs => $5::double precision)
                WHERE pipeline = $1 AND generation = $2 AND state = 'claimed' AND holder_host = $3 AND holder_pid = $4
                """, [pipeline, String(generation), holder.host, String(holder.pid), String(lease)], doing: "renewing the leases")
            try heartbeat(pg, generation: generation, holder: holder, records: records)
            guard !held.isEmpty else { return [] }
            let kept = try pg.rows("""
                SELECT unit_id FROM _sluice_units WHERE pipeline = $1 AND generation = $2 AND unit_id = ANY($5::text[])
                    AND state = 'claimed' AND holder_host = $3 AND holder_pid = $4
                """, [pipeline, String(generation), holder.host, String(holder.pid), PostgresConnection.textArray(held)],
                doing: "checking the units held").compactMap { $0.first ?? nil }
            return Set(held).subtracting(kept)
        }
    }

    private func heartbeat(_ pg: PostgresConnection, generation: Int64, holder: UnitHolder, records: Int64?) throws {
        try pg.execute("""
            INSERT INTO _sluice_cluster_processes AS p (pipeline, generation, host, pid, records)
            VALUES ($1, $2, $3, $4, coalesce($5::bigint, 0))
            ON CONFLICT (pipeline, generation, host, pid) DO UPDATE SET
                rate = CASE WHEN $5::bigint IS NULL THEN p.rate
                            WHEN extract(epoch FROM now() - p.heartbeat) > 0
                            THEN greatest(0, ($5::bigint - p.records) / extract(epoch FROM now() - p.heartbeat))
                            ELSE p.rate END,
                records = coalesce($5::bigint, p.records),
                heartbeat = CASE WHEN $5::bigint IS NULL THEN p.heartbeat ELSE now() END
            """, [pipeline, String(generation), holder.host, String(holder.pid), records.map(String.init)],
            doing: "recording the heartbeat")
    }

    public func complete(_ unit: ClaimedUnit, holder: UnitHolder, records: Int64) throws -> Bool {
        try db.with { pg in
            try pg.execute("""
                UPDATE _sluice_units SET state = 'done', done_at = now(), done_by_host = $3, done_by_pid = $4, records = $6,
                    holder_host = NULL, holder_pid = NULL, lease_until = NULL
                WHERE pipeline = $1 AND generation = $2 AND unit_id = $5 AND state = 'claimed'
                    AND holder_host = $3 AND holder_pid = $4
                """, [pipeline, String(unit.generation), holder.host, String(holder.pid), unit.unit.id, String(records)],
                doing: "marking unit \(unit.unit.id) done").affectedRows == 1
        }
    }

    public func release(_ unit: ClaimedUnit, holder: UnitHolder) throws {
        try db.with { pg in
            try pg.execute("""
                UPDATE _sluice_units SET state = 'pending', holder_host = NULL, holder_pid = NULL, lease_until = NULL
                WHERE pipeline = $1 AND generation = $2 AND unit_id = $5 AND state = 'claimed'
                    AND holder_host = $3 AND holder_pid = $4
                """, [pipeline, String(unit.generation), holder.host, String(holder.pid), unit.unit.id],
                doing: "giving unit \(unit.unit.id) back")
        }
    }

    /// One `NOT EXISTS` on the pending-units index instead of the full status: an idle process
    /// asks this every poll interval while others finish their units.
    public func isFinished(generation: Int64) throws -> Bool {
        try db.with { pg in
            try pg.scalar("""
                SELECT NOT EXISTS (SELECT 1 FROM _sluice_units WHERE pipeline = $1 AND generation = $2 AND state <> 'done')
                """, [pipeline, String(generation)], doing: "checking whether the cluster run is done") == "t"
        }
    }

    public func status() throws -> ClusterStatus {
        try db.with { pg in
            let generation = Int64(try pg.scalar("SELECT generation FROM _sluice_cluster_runs WHERE pipeline = $1", [pipeline],
                                                 doing: "reading the cluster run") ?? "0") ?? 0
            var status = ClusterStatus(generation: generation)
            guard generation > 0 else { return status }
            let g = String(generation)
            let counts = try pg.rows("""
                SELECT count(*) FILTER (WHERE state = 'done'),
                       count(*) FILTER (WHERE state = 'claimed' AND lease_until >= now()),
                       count(*) FILTER (WHERE state = 'pending' OR (state = 'claimed' AND lease_until < now())),
                       count(*) FILTER (WHERE state = 'claimed' AND lease_until < now()),
                       extract(epoch FROM now() - min(claimed_at) FILTER (WHERE state = 'claimed' AND lease_until >= now()))
                FROM _sluice_units WHERE pipeline = $1 AND generation = $2
                """, [pipeline, g], doing: "counting the units")
            if let row = counts.first, row.count == 5 {
                status.done = Int(row[0] ?? "0") ?? 0
                status.claimed = Int(row[1] ?? "0") ?? 0
                status.pending = Int(row[2] ?? "0") ?? 0
                status.expired = Int(row[3] ?? "0") ?? 0
                status.oldestLeaseAge = row[4].flatMap(Double.init)
            }
            if status.oldestLeaseAge != nil {
                status.oldestLeaseUnit = try pg.scalar("""
                    SELECT unit_id FROM _sluice_units WHERE pipeline = $1 AND generation = $2 AND state = 'claimed'
                        AND lease_until >= now() ORDER BY claimed_at LIMIT 1
                    """, [pipeline, g], doing: "finding the oldest lease")
            }
            let processes = try pg.rows("""
                SELECT p.host, p.pid, p.records, p.rate, extract(epoch FROM now() - p.heartbeat),
                    (SELECT count(*) FROM _sluice_units u WHERE u.pipeline = p.pipeline AND u.generation = p.generation
                        AND u.state = 'claimed' AND u.lease_until >= now() AND u.holder_host = p.host AND u.holder_pid = p.pid),
                    (SELECT count(*) FROM _sluice_units u WHERE u.pipeline = p.pipeline AND u.generation = p.generation
                        AND u.state = 'done' AND u.done_by_host = p.host AND u.done_by_pid = p.pid)
                FROM _sluice_cluster_processes p WHERE p.pipeline = $1 AND p.generation = $2 ORDER BY p.host, p.pid
                """, [pipeline, g], doing: "reading the processes")
            status.processes = processes.compactMap { row in
                guard row.count == 7, let host = row[0], let pid = row[1].flatMap({ Int32($0) }) else { return nil }
                return ClusterStatus.Process(holder: UnitHolder(host: host, pid: pid), claimed: Int(row[5] ?? "0") ?? 0,
                                             done: Int(row[6] ?? "0") ?? 0, records: Int64(row[2] ?? "0") ?? 0,
                                             recordsPerSecond: row[3].flatMap(Double.init) ?? 0,
                                             silentFor: row[4].flatMap(Double.init) ?? 0)
            }
            return status
        }
    }
}
