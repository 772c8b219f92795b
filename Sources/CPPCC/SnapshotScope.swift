import CPSyncCore

extension SiteScope {
    /// Removes from a snapshot copy of the county replica every live row that `site` may not hold, with its versions
    /// (`ReplicaSnapshot.forget`, in bulk): what is left is exactly what a pull from 0 would have sent that site at the copy's cursor
    /// (the same `contains` the pull asks, on the same snapshot). Unlike `purge`, it spares nothing (the copy has no
    /// unsent own changes) and works for a site not in the tree (which then holds only shared data). Dead rows stay:
    /// the pull sends every row's death too, and they hold versions, not values. Returns how many rows went.
    ///
    /// It reads every row into Swift; the county's snapshots are cut in SQL instead (`snapshotConditions`), and this is
    /// the reference that cut is tested against.
    @discardableResult
    public static func keepOnly(site: String, in replica: Replica) throws -> Int {
        guard let scope = try of(site: site, in: replica.database) else { return 0 }
        let out = try rows(outside: scope, in: replica)
        try ReplicaSnapshot.forget(out, in: replica)
        return out.count
    }

    /// The rows of each scoped table that `site` holds, as SQL conditions over the row `t` of the county database
    /// `main` (for `ReplicaSnapshot.write`, inside its read transaction): the same decision as `contains`, without
    /// reading a row into Swift. Empty when the site holds everything (kind county). Makes the temp table
    /// `_cp_snapshot_subtree` on `database`.
    ///
    /// SQLite compares text byte for byte, Swift by canonical equivalence; the two agree on ASCII site ids, which
    /// `Replica.isValidSiteID` requires. A subtree with any other id is decided by `contains` itself: the rows are
    /// streamed through it (one at a time) and those left out listed in the temp table `_cp_snapshot_out`.
    public static func snapshotConditions(site: String, in database: Database) throws -> [String: String] {
        guard let scope = try of(site: site, in: database) else { return [:] }
        let subtree = try scope.subtree()
        if !subtree.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } }) { return try streamedConditions(scope, in: database) }
        try database.execute("""
            CREATE TEMP TABLE IF NOT EXISTS _cp_snapshot_subtree (id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
            DELETE FROM temp._cp_snapshot_subtree;
            """)
        for id in subtree { try database.run("INSERT INTO temp._cp_snapshot_subtree(id) VALUES (?)", [.text(id)]) }
        let inSubtree = { (v: String) in "\(v) COLLATE BINARY IN (SELECT id FROM temp._cp_snapshot_subtree)" }
        // `owns`: a row's own site, NULL counting as everyone's; a parent's site, anything but TEXT counting as NULL.
        let owns = { (v: String) in "(\(v) IS NULL OR (typeof(\(v)) = 'text' AND \(inSubtree(v))))" }
        let parentOwns = { (v: String) in "(typeof(\(v)) != 'text' OR \(inSubtree(v)))" }
        let isPublic = { (v: String) in
            "(typeof(\(v)) = 'text' AND \(v) COLLATE BINARY IN (\(publicStatuses.sorted().map { "'\($0)'" }.joined(separator: ", "))))"
        }
        let parent = { (table: String, key: String, test: String) in
            "(typeof(t.\(key)) = 'text' AND EXISTS (SELECT 1 FROM main.\(table) AS p WHERE p.id = t.\(key) AND \(test)))"
        }
        // A row whose key is not TEXT is never decided (`rows(outside:)` skips it): it stays.
        var conditions = [
            "members": owns("t.site_id"),
            "social_reports": owns("t.site_id"),
            "activities": owns("t.site_id"),
            "proposals": "(\(isPublic("t.status")) OR \(owns("t.site_id")))",
            "proposal_cosigners": parent("proposals", "proposal_id", parentOwns("p.site_id")),
            "proposal_handlers": parent("proposals", "proposal_id", "(\(isPublic("p.status")) OR \(parentOwns("p.site_id")))"),
            "activity_participants": parent("activities", "activity_id", parentOwns("p.site_id")),
        ]
        // Attachments go where their record goes (a filed proposal's with it, to every office).
        for k in Attachments.kinds {
            conditions[k.table] = parent(k.parent, k.key, k.parent == "proposals" ? "(\(isPublic("p.status")) OR \(parentOwns("p.site_id")))" : parentOwns("p.site_id"))
        }
        return conditions.mapValues { "(typeof(t.id) != 'text' OR \($0))" }
    }

    /// `snapshotConditions` by `contains` itself, one row at a time.
    static func streamedConditions(_ scope: SiteScope, in database: Database) throws -> [String: String] {
        try database.execute("""
            CREATE TEMP TABLE IF NOT EXISTS _cp_snapshot_out (tbl TEXT NOT NULL, pk TEXT NOT NULL, PRIMARY KEY (tbl, pk)) WITHOUT ROWID;
            DELETE FROM temp._cp_snapshot_out;
            """)
        let insert = try database.statement("INSERT OR IGNORE INTO temp._cp_snapshot_out(tbl, pk) VALUES (?, ?)")
        var conditions: [String: String] = [:]
        for table in scopedTables where try database.tableExists(table) {
            let columns = try database.columns(of: table).map(\.name)
            let index = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, Int32($0)) })
            guard let key = index["id"] else { continue }
            try database.statement("SELECT \(columns.map { "\"\($0)\"" }.joined(separator: ", ")) FROM main.\"\(table)\"").forEachRow { row in
                guard row.isText(key), let pk = row.string(key) else { return }
                if try !scope.contains(table: table, pk: pk, value: { index[$0].map { row.column($0) } ?? .null }) {
                    try insert.execute([.text(table), .text(pk)])
                }
            }
            conditions[table] = "NOT EXISTS (SELECT 1 FROM temp._cp_snapshot_out AS o WHERE o.tbl = '\(table)' AND o.pk = t.id)"
        }
        return conditions
    }
}
