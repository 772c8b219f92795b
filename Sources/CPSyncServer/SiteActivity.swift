import CPSyncCore
import CPSyncProtocol
import Foundation

/// What the county knows of each office's syncing, for the admin dashboard: its last push and pull, the cursor it
/// pulled up to, and the pushes the county refused (a clock too far ahead; values or rows it may not write), kept in
/// `_srv_site_activity`, one row per site.
///
/// Pulls and pushes never wait for the writer for it: their bookkeeping is noted in memory and written when the
/// writer is free (at most once a second, or when the dashboard is read), so a long merge never slows a pull down and
/// a burst of pushes is not followed by a burst of bookkeeping writes. A daemon killed in between forgets at most the
/// times since the last write; the next pull or push records them again.
public final class SiteActivity: Sendable {
    static let tableSQL = """
        CREATE TABLE IF NOT EXISTS _srv_site_activity (
          site TEXT PRIMARY KEY NOT NULL,
          last_push_at INTEGER, last_push_changes INTEGER,
          last_pull_at INTEGER, pull_cursor INTEGER, pull_more INTEGER NOT NULL DEFAULT 0, reported_unsent INTEGER,
          clock_refused_at INTEGER, clock_skew_ms INTEGER, clock_refusals INTEGER NOT NULL DEFAULT 0,
          refused_at INTEGER, refused_changes INTEGER, refused_code TEXT, refused_reason TEXT,
          refusals INTEGER NOT NULL DEFAULT 0
        );
        """

    /// Creates the table when absent; a data directory from before it existed gets each site's last push from the
    /// push answers it kept (`_srv_batches`), so the dashboard does not call a busy office "never used".
    static func install(_ db: Database) throws {
        guard try !db.tableExists("_srv_site_activity") else { return }
        try db.transaction {
            try db.execute(tableSQL)
            try db.execute("""
                INSERT INTO _srv_site_activity(site, last_push_at)
                  SELECT site, max(at) FROM _srv_batches WHERE site IN (SELECT id FROM _srv_sites) GROUP BY site
                """)
        }
    }

    /// A pull not yet written to the table.
    struct Pull: Sendable {
        var at: Int64
        var cursor: Int64
        var more: Bool
        var unsent: Int64?
    }

    /// A push not yet written to the table (`changes` nil: a replayed batch, which keeps the count before it).
    struct Push: Sendable {
        var at: Int64
        var changes: Int64?
    }

    let store: ServerStore
    private let pending = Guarded<[String: Pull]>([:])
    private let pendingPushes = Guarded<[String: Push]>([:])
    /// When pulls were last written (ms): under a stream of pulls they are written at most once a second.
    private let lastFlush = Guarded<Int64>(0)

    public init(store: ServerStore) {
        self.store = store
    }

    /// Notes a pull page served to `site`; the notes are written when the writer is free (at most once a second).
    public func pulled(site: String, cursor: Int64, hasMore: Bool, unsent: Int64? = nil, at: Int64 = HLC.wallClock().milliseconds) {
        pending.withLock { p in
            let reported = unsent ?? p[site]?.unsent
            p[site] = Pull(at: at, cursor: cursor, more: hasMore, unsent: reported)
        }
        flushIfDue(at: at)
    }

    /// Writes the notes when the writer is free, at most once a second.
    private func flushIfDue(at: Int64) {
        let due = lastFlush.withLock { last -> Bool in
            guard at - last >= 1000 || at < last else { return false }
            last = at
            return true
        }
        if due { _ = try? store.tryWrite { r in try self.flush(r.database) } }
    }

    /// Notes an accepted push (a replayed batch counts as contact too), written as pulls are.
    public func pushed(site: String, changes: Int?, at: Int64 = HLC.wallClock().milliseconds) {
        pendingPushes.withLock { p in p[site] = Push(at: at, changes: changes.map(Int64.init) ?? p[site]?.changes) }
        flushIfDue(at: at)
    }

    /// Records a refused push: a clock too far ahead, or changes the county refused (their rows are held back at
    /// the office). Refusals that are not about the office's data (a busy or full server) are not recorded.
    public func refused(site: String, _ e: ErrorBody, at: Int64 = HLC.wallClock().milliseconds) {
        let db: (Database) throws -> Void
        if e.code == .clockSkew {
            db = { d in
                try d.run("""
                    INSERT INTO _srv_site_activity(site, clock_refused_at, clock_skew_ms, clock_refusals) VALUES (?1, ?2, ?3, 1)
                    ON CONFLICT(site) DO UPDATE SET clock_refused_at = ?2, clock_skew_ms = ?3, clock_refusals = clock_refusals + 1
                    """, [.text(site), .integer(at), e.skewMs.map { .integer($0) } ?? .null])
            }
        } else if Self.heldBackCodes.contains(e.code) {
            let count = Int64(e.indices?.count ?? 1)
            let reason = String(e.message.prefix(500))
            db = { d in
                try d.run("""
                    INSERT INTO _srv_site_activity(site, refused_at, refused_changes, refused_code, refused_reason, refusals)
                      VALUES (?1, ?2, ?3, ?4, ?5, 1)
                    ON CONFLICT(site) DO UPDATE SET refused_at = ?2, refused_changes = ?3, refused_code = ?4, refused_reason = ?5,
                      refusals = refusals + 1
                    """, [.text(site), .integer(at), .integer(count), .text(e.code.rawValue), .text(reason)])
            }
        } else {
            return
        }
        try? store.write { r in try r.database.transaction { try db(r.database) } }
    }

    /// The codes of a push refused for its content: the office sets those changes aside (held back) and sends the rest.
    static let heldBackCodes: Set<ErrorCode> = [.forbidden, .badRequest, .unknownTable, .unknownColumn, .wrongType, .malformedKey,
                                                .valueTooLarge, .constraintViolated]

    /// Writes the noted pulls and pushes (the caller holds the writer).
    func flush(_ db: Database) throws {
        let notes = pending.withLock { p in defer { p.removeAll() }; return p }
        let pushes = pendingPushes.withLock { p in defer { p.removeAll() }; return p }
        guard !notes.isEmpty || !pushes.isEmpty else { return }
        do {
            // Bookkeeping for the dashboard: it does not wait for the disk (a power cut may undo it; the next pull or
            // push writes it again).
            try db.transaction(durable: false) {
                for (site, n) in pushes {
                    try db.run("""
                        INSERT INTO _srv_site_activity(site, last_push_at, last_push_changes) VALUES (?1, ?2, ?3)
                        ON CONFLICT(site) DO UPDATE SET last_push_at = ?2, last_push_changes = coalesce(?3, last_push_changes)
                        """, [.text(site), .integer(n.at), n.changes.map { .integer($0) } ?? .null])
                }
                for (site, n) in notes {
                    try db.run("""
                        INSERT INTO _srv_site_activity(site, last_pull_at, pull_cursor, pull_more, reported_unsent) VALUES (?1, ?2, ?3, ?4, ?5)
                        ON CONFLICT(site) DO UPDATE SET last_pull_at = ?2, pull_cursor = ?3, pull_more = ?4,
                          reported_unsent = coalesce(?5, reported_unsent)
                        """, [.text(site), .integer(n.at), .integer(n.cursor), .integer(n.more ? 1 : 0), n.unsent.map { .integer($0) } ?? .null])
                }
            }
        } catch {
            // Keep what could not be written for the next try (newer notes win).
            pending.withLock { p in for (k, v) in notes where p[k] == nil { p[k] = v } }
            pendingPushes.withLock { p in for (k, v) in pushes where p[k] == nil { p[k] = v } }
            throw error
        }
    }

    /// Every site's activity, with the notes not yet written applied.
    public func snapshot() throws -> [String: Record] {
        try? store.write { r in try self.flush(r.database) }
        var out = try store.read { r in
            try r.database.query("""
                SELECT site, last_push_at, last_push_changes, last_pull_at, pull_cursor, pull_more, reported_unsent, clock_refused_at,
                       clock_skew_ms, clock_refusals, refused_at, refused_changes, refused_code, refused_reason, refusals
                FROM _srv_site_activity
                """).reduce(into: [String: Record]()) { out, row in
                out[row[0].stringValue ?? ""] = Record(
                    lastPushAt: row[1].int64Value, lastPushChanges: row[2].int64Value, lastPullAt: row[3].int64Value,
                    pullCursor: row[4].int64Value, pullMore: row[5].int64Value == 1, reportedUnsent: row[6].int64Value,
                    clockRefusedAt: row[7].int64Value, clockSkewMs: row[8].int64Value, clockRefusals: row[9].int64Value ?? 0,
                    refusedAt: row[10].int64Value, refusedChanges: row[11].int64Value, refusedCode: row[12].stringValue,
                    refusedReason: row[13].stringValue, refusals: row[14].int64Value ?? 0)
            }
        }
        for (site, n) in pendingPushes.withLock({ $0 }) {
            var rec = out[site] ?? Record()
            rec.lastPushAt = n.at
            if let c = n.changes { rec.lastPushChanges = c }
            out[site] = rec
        }
        for (site, n) in pending.withLock({ $0 }) {
            var rec = out[site] ?? Record()
            rec.lastPullAt = n.at
            rec.pullCursor = n.cursor
            rec.pullMore = n.more
            if let u = n.unsent { rec.reportedUnsent = u }
            out[site] = rec
        }
        return out
    }

    /// One site's row of `_srv_site_activity`.
    public struct Record: Sendable, Equatable {
        public var lastPushAt: Int64?
        public var lastPushChanges: Int64?
        public var lastPullAt: Int64?
        public var pullCursor: Int64?
        public var pullMore = false
        public var reportedUnsent: Int64?
        public var clockRefusedAt: Int64?
        public var clockSkewMs: Int64?
        public var clockRefusals: Int64 = 0
        public var refusedAt: Int64?
        public var refusedChanges: Int64?
        public var refusedCode: String?
        public var refusedReason: String?
        public var refusals: Int64 = 0
    }
}
