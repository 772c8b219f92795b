/// A full transfer — a pull from the start into a replica that already holds rows (its scope grew, a reset, a county
/// restored from a backup) — brings every row of the replica's scope whole, and nothing of the rows that left the
/// scope meanwhile (a reader from the start has nothing to leave, so no leave notice comes). The rows it brings are
/// noted as its pages commit; when its last page has, the rows held but not brought are forgotten (`forget`: not a
/// delete, nothing travels), except what must go first or stay listed: own changes not yet acknowledged, set-aside
/// (held) rows and displaced edits in the outbox.
extension Replica {
    static let sweepSQL = "CREATE TABLE IF NOT EXISTS _cp_sweep (tbl TEXT NOT NULL, pk TEXT NOT NULL, PRIMARY KEY (tbl, pk))"

    static let sweepKey = "sync.sweep_underway"

    /// Begins a full transfer's note of the rows it brings, when this replica holds any rows (a new one has nothing to
    /// forget, and its first pull — the largest — notes nothing). Returns whether the transfer sweeps.
    @discardableResult
    public func startSweep() throws -> Bool {
        try foldLog()
        var holds = false
        for name in syncedTables {
            guard let t = tables[name] else { continue }
            if try database.scalar("SELECT EXISTS (SELECT 1 FROM \(t.quotedShadow))") == .integer(1) { holds = true; break }
        }
        try database.execute(Self.sweepSQL)
        try database.run("DELETE FROM _cp_sweep")
        try setMeta(Self.sweepKey, holds ? .integer(1) : .null)
        return holds
    }

    /// Whether a full transfer that sweeps is under way (it was cut short and resumes).
    public func sweepUnderway() throws -> Bool {
        try meta(Self.sweepKey) == .integer(1)
    }

    /// Notes the rows a page of the full transfer brought (in the page's transaction).
    public func noteSwept(_ changes: [Change]) throws {
        try database.execute(Self.sweepSQL)
        var seen: Set<RowKey> = []
        for c in changes where seen.insert(RowKey(c)).inserted {
            try database.run("INSERT OR IGNORE INTO _cp_sweep(tbl, pk) VALUES (?, ?)", [.text(c.table), .text(c.pk)])
        }
    }

    /// Ends a full transfer: forgets the rows it did not bring, but those with own changes after `pushed`, held ones and
    /// displaced ones. Returns how many rows were forgotten.
    @discardableResult
    public func finishSweep(unacknowledgedAfter pushed: Int64) throws -> Int {
        try foldLog()
        try database.execute(Self.sweepSQL)
        let kept = Set(try held().map { RowKey(table: $0.table, pk: $0.pk) } + outbox().map { RowKey($0.change) })
        var gone: [(table: String, pk: String)] = []
        for name in syncedTables {
            guard let t = tables[name] else { continue }
            for row in try database.query("SELECT pk FROM \(t.quotedShadow) WHERE pk NOT IN (SELECT pk FROM _cp_sweep WHERE tbl = ?)", [.text(name)]) {
                guard let pk = row[0].stringValue, !kept.contains(RowKey(table: name, pk: pk)),
                      try !hasUnsentOwnChanges(table: name, pk: pk, after: pushed) else { continue }
                gone.append((name, pk))
            }
        }
        try database.transaction {
            try forget(gone)
            try database.run("DELETE FROM _cp_sweep")
            try setMeta(Self.sweepKey, .null)
        }
        return gone.count
    }
}
