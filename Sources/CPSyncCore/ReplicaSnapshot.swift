import Foundation

/// A replica copied for another site: what the county serves a new office (`GET /v1/snapshot`) and what the office
/// installs as its own replica. The copy is made with the online backup API inside the read transaction that also
/// reads the cursor (see the server's `SnapshotService`); this file holds the two steps that do not depend on the
/// domain: clearing what belonged to the source replica alone, and giving the copy its new owner's identity.
public enum ReplicaSnapshot {
    /// `_cp_meta` keys the copy keeps: the shape of the data (capture, schema, access rules), nothing about where the
    /// source replica synced with or which credentials it held.
    static let keptMetaKeys: Set<String> = ["capture_version", "schema_version", "cppcc.access_rules"]

    /// Clears a copy of everything that is the source replica's own business rather than shared data: tables that
    /// are neither synced, nor their shadows, nor the engine's metadata (a server's accounts, token hashes, push
    /// answers and audit trail), the conflicts the source recorded and their resolutions (the county's review work,
    /// with both values of every conflict), queued and held changes, and every metadata key but the schema's.
    /// Logged writes are folded first, under the source's identity, so none is ever attributed to the new owner.
    /// Then `VACUUM`, so no freed page still holds what was removed. Returns the names of the tables dropped.
    /// `keeping` names the domain's own tables that its triggers need (they are emptied, not dropped).
    @discardableResult
    public static func strip(_ replica: Replica, keeping domainTables: Set<String> = []) throws -> [String] {
        try replica.foldLog()
        let db = replica.database
        var keep = Set(Replica.metadataTables).union(domainTables)
        for t in replica.syncedTables { keep.insert(t); keep.insert(shadowName(t)) }
        let tables = try db.query("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .compactMap { $0[0].stringValue }
        let dropped = tables.filter { !keep.contains($0) }
        try db.transaction {
            for t in dropped { try db.execute("DROP TABLE \(quoted(t))") }
            for t in domainTables.sorted() where tables.contains(t) { try db.execute("DELETE FROM \(quoted(t))") }
            if try db.tableExists("sqlite_sequence") { try db.execute("DELETE FROM sqlite_sequence") }
            // The audit trail refuses deletes by trigger; the copy starts an empty one, so the trigger goes and comes back.
            try db.execute("""
                DROP TRIGGER IF EXISTS _cp_resolutions_no_delete;
                DELETE FROM _cp_resolutions;
                DELETE FROM _cp_conflicts;
                DELETE FROM _cp_outbox;
                DELETE FROM _cp_held;
                DELETE FROM _cp_log;
                UPDATE _cp_state SET merging = 0, acting = NULL;
                """)
            try db.execute(Replica.metadataSQL)
            for key in try db.query("SELECT key FROM _cp_meta").compactMap({ $0[0].stringValue }) where !keptMetaKeys.contains(key) {
                try db.run("DELETE FROM _cp_meta WHERE key = ?", [.text(key)])
            }
        }
        try db.execute("VACUUM")
        return dropped
    }

    /// Forgets many rows of a copy at once, as `Replica.forget` does one by one (the rows and their versions, capture
    /// suppressed): a township's snapshot leaves out nearly all of a county's rows.
    public static func forget(_ rows: [(table: String, pk: String)], in replica: Replica) throws {
        guard !rows.isEmpty else { return }
        try replica.foldLog()
        let db = replica.database
        try db.transaction {
            try db.execute("""
                UPDATE _cp_state SET merging = 1;
                CREATE TEMP TABLE IF NOT EXISTS _cp_gone (tbl TEXT NOT NULL, pk TEXT NOT NULL, PRIMARY KEY (tbl, pk)) WITHOUT ROWID;
                DELETE FROM _cp_gone;
                """)
            let insert = try db.statement("INSERT OR IGNORE INTO _cp_gone(tbl, pk) VALUES (?, ?)")
            for r in rows { try insert.execute([.text(r.table), .text(r.pk)]) }
            for name in Set(rows.map(\.table)).sorted() {
                guard let t = replica.tables[name] else { continue }
                try db.run("DELETE FROM \(t.quotedName) WHERE \(t.quotedPK) IN (SELECT pk FROM _cp_gone WHERE tbl = ?)", [.text(name)])
                try db.run("DELETE FROM \(t.quotedShadow) WHERE pk IN (SELECT pk FROM _cp_gone WHERE tbl = ?)", [.text(name)])
            }
            try db.execute("DROP TABLE _cp_gone; UPDATE _cp_state SET merging = 0;")
        }
    }

    /// Makes the replica file at `path` (a stripped snapshot of another replica) the replica of `siteID`: from now on
    /// its captured writes are stamped with `siteID`, never with the source's id. The versions it holds keep their
    /// writers (the source's own among them), and its clock keeps the newest stamp it holds, so the new owner's next
    /// write is stamped after everything it received. Refuses a file whose capture log is not empty (those writes
    /// would be folded as the new owner's).
    public static func adopt(at path: String, siteID: String) throws -> Replica {
        guard Replica.isValidSiteID(siteID) else {
            throw ReplicaError.malformedChange("site id '\(siteID)' must be 1–64 characters of a–z, 0–9, '-' or '_'")
        }
        do {
            let db = try Database(path: path)
            guard try db.tableExists("_cp_state") else { throw ReplicaError.notAReplica(path: path) }
            try db.transaction {
                if try db.scalar("SELECT count(*) FROM _cp_log")?.int64Value != 0 {
                    throw ReplicaError.malformedChange("snapshot '\(path)' holds unfolded local writes; it was not made by cpsyncd")
                }
                try db.run("INSERT INTO _cp_sites(uuid) VALUES (?) ON CONFLICT(uuid) DO NOTHING", [.text(siteID)])
                guard let number = try db.scalar("SELECT id FROM _cp_sites WHERE uuid = ?", [.text(siteID)])?.int64Value else {
                    throw ReplicaError.malformedChange("site '\(siteID)' could not be registered")
                }
                try db.run("UPDATE _cp_state SET site_id = ?, merging = 0, acting = NULL, hlc = max(hlc, ?)",
                           [.integer(number), .integer(HLC.wallClock().rawValue)])
            }
        }
        return try Replica(path: path, siteID: siteID, create: false)
    }
}
