/// The office's two side queues next to the change log.
///
/// - The **outbox** holds this replica's own edits that a merge displaced before they reached the county (a pulled
///   value its writer had not seen won, or a delete ended the row's life). They are sent with the next push; the
///   county keeps each as a conflict with both values. Conflict detection therefore does not depend on which office
///   syncs first.
/// - The **held** list holds local changes that will not be sent as they are (the county refused them, or the same
///   checks run here did), with the reason. Every other change keeps flowing; a new write of the same cell replaces
///   the held ones of its row, which then goes again whole (`supersededHeld`).
extension Replica {
    /// One displaced own edit waiting to be sent.
    public struct OutboxEntry: Sendable, Hashable {
        public let id: Int64
        public let change: Change
    }

    /// The displaced own edits not yet acknowledged by the county, oldest first.
    public func outbox() throws -> [OutboxEntry] {
        try database.query("SELECT id, tbl, pk, col, val, hlc, site, cl, base_hlc, base_site FROM _cp_outbox ORDER BY id").map { r in
            let base: Version? = r[8].int64Value.map { Version(hlc: HLC(rawValue: $0), site: r[9].stringValue ?? "") }
            return OutboxEntry(id: r[0].int64Value ?? 0, change: Change(
                table: r[1].stringValue ?? "", pk: r[2].stringValue ?? "", column: r[3].stringValue, value: r[4],
                version: Version(hlc: HLC(rawValue: r[5].int64Value ?? 0), site: r[6].stringValue ?? ""),
                causalLength: r[7].int64Value ?? 1, base: base))
        }
    }

    /// Removes acknowledged outbox entries (in the caller's transaction).
    public func removeFromOutbox(_ ids: [Int64]) throws {
        for id in ids { try database.run("DELETE FROM _cp_outbox WHERE id = ?", [.integer(id)]) }
    }

    /// A local change set aside, and why.
    public struct HeldChange: Sendable, Hashable {
        public let table: String
        public let pk: String
        /// nil: the row itself.
        public let column: String?
        public let version: Version?
        public let code: String
        public let reason: String
        public let at: Int64
    }

    /// Sets a change aside with its reason (replacing an earlier entry for the same cell).
    public func hold(_ refused: RefusedChange) throws {
        try database.run("""
            INSERT OR REPLACE INTO _cp_held(tbl, pk, col, hlc, site, code, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(refused.table), .text(refused.pk), .text(refused.column ?? ""),
                  refused.version.map { .integer($0.hlc.rawValue) } ?? .null, refused.version.map { .text($0.site) } ?? .null,
                  .text(refused.reason.code), .text(refused.reason.description), .integer(HLC.wallClock().milliseconds)])
    }

    /// The changes set aside, oldest first.
    public func held() throws -> [HeldChange] {
        try database.query("SELECT tbl, pk, col, hlc, site, code, reason, at FROM _cp_held ORDER BY at, tbl, pk, col").map { r in
            let column = r[2].stringValue ?? ""
            return HeldChange(table: r[0].stringValue ?? "", pk: r[1].stringValue ?? "", column: column.isEmpty ? nil : column,
                              version: r[3].int64Value.map { Version(hlc: HLC(rawValue: $0), site: r[4].stringValue ?? "") },
                              code: r[5].stringValue ?? "", reason: r[6].stringValue ?? "", at: r[7].int64Value ?? 0)
        }
    }

    /// Whether this exact version of a cell was set aside (so the push does not send it).
    public func isHeld(_ c: Change, in held: Set<HeldKey>) -> Bool {
        held.contains(HeldKey(c))
    }

    /// A change's identity as the held list knows it: its row (by the key's bytes), column and version.
    public struct HeldKey: Hashable, Sendable {
        let row: RowKey
        let column: String
        let version: Version?

        public init(_ c: Change) { (row, column, version) = (RowKey(c), c.column ?? "", c.version) }
        public init(_ h: HeldChange) { (row, column, version) = (RowKey(table: h.table, pk: h.pk), h.column ?? "", h.version) }
    }

    /// The rows written again since a change of theirs was set aside (the clerk fixed it), or gone since, with every
    /// held change of them: such a row goes again whole (`changes(ofRows:)`) — its upstream never had its older cells,
    /// and a push position has passed them — and its held changes are forgotten once the upstream took it
    /// (`unhold`). Displaced edits held in the outbox stay held as long as they stay there.
    public func supersededHeld() throws -> (rows: Set<RowKey>, entries: [HeldChange]) {
        try foldLog()
        let outboxed = Set(try outbox().map { HeldKey($0.change) })
        let held = try held().filter { !outboxed.contains(HeldKey($0)) }
        var rows: Set<RowKey> = []
        for h in held where try currentVersion(of: h) != h.version { rows.insert(RowKey(table: h.table, pk: h.pk)) }
        return (rows, held.filter { rows.contains(RowKey(table: $0.table, pk: $0.pk)) })
    }

    /// Forgets these held changes as they were read: an entry held again since (with another version, or set aside
    /// again at or after `heldSince`, ms — by the upstream or by the checks here) stays.
    public func unhold(_ entries: [HeldChange], heldSince: Int64 = .max) throws {
        try database.transaction {
            for h in entries {
                try database.run("DELETE FROM _cp_held WHERE tbl = ? AND pk = ? AND col = ? AND hlc IS ? AND site IS ? AND at < ?",
                                 [.text(h.table), .text(h.pk), .text(h.column ?? ""), h.version.map { .integer($0.hlc.rawValue) } ?? .null,
                                  h.version.map { .text($0.site) } ?? .null, .integer(heldSince)])
            }
        }
    }

    /// Forgets held changes whose cell has been written again since (the new version travels as usual) or whose
    /// row is gone, one by one (a changes file, which cannot wait for an answer to release a row whole). Returns
    /// how many were dropped.
    @discardableResult
    public func dropSupersededHeld() throws -> Int {
        try foldLog()
        let outboxed = Set(try outbox().map { HeldKey($0.change) })
        let stale = try held().filter { h in try !outboxed.contains(HeldKey(h)) && currentVersion(of: h) != h.version }
        try unhold(stale)
        return stale.count
    }

    /// The version the replica holds now of a held change's cell (or row).
    private func currentVersion(of h: HeldChange) throws -> Version? {
        guard let t = tables[h.table] else { return h.version }
        if let column = h.column { return try cellVersion(t, pk: h.pk, column: column) }
        return try database.query("SELECT rh, rs FROM \(t.quotedShadow) WHERE pk = ?", [.text(h.pk)]).first.flatMap { r in
            r[0].int64Value.flatMap { hlc in siteUUID(r[1].int64Value).map { Version(hlc: HLC(rawValue: hlc), site: $0) } }
        }
    }

    /// The keys of the held changes, for filtering a page.
    public func heldKeys() throws -> Set<HeldKey> {
        Set(try held().map(HeldKey.init))
    }

    /// The changes of `changes` that are not held.
    public func withoutHeld(_ changes: [Change], keys: Set<HeldKey>) -> [Change] {
        keys.isEmpty ? changes : changes.filter { !isHeld($0, in: keys) }
    }
}
