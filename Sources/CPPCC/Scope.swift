import CPSyncCore

/// Who holds what: the scoping rules of partial replication, next to the permission matrix (`AccessRules`). A site
/// of kind county (and an admin) holds everything. Any other site holds:
///
/// | table | what a site holds |
/// |---|---|
/// | sites | all (the tree is shared) |
/// | members | its subtree's members (no other office's personal data) |
/// | proposals | its subtree's proposals, and every proposal that is filed (立案 and later: public within the county) |
/// | proposal_cosigners | those of its subtree's proposals |
/// | proposal_handlers | those of the proposals it holds |
/// | social_reports, activities | its subtree's |
/// | activity_participants | those of its subtree's activities |
/// | *_attachments | those of the records it holds (a filed proposal's, as its handlers) |
///
/// Records without a site (NULL) are everyone's. The county applies the rules when it reads a pull page
/// (`Replica.changes(scope:)`): rows out of scope are not sent, a row that entered the scope comes whole, a row that
/// left it brings only the cells that moved it; the office then forgets rows out of its scope (`purge`), without a
/// trace in its change log. A change of the site tree that gives an office new sites makes it pull everything again.
public final class SiteScope: RowScope {
    public let site: String
    let database: Database
    private var subtreeCache: Set<String>?
    private var parents: [String: (site: String?, status: String?)] = [:]

    /// Statuses that make a proposal public within the county.
    static let publicStatuses: Set<String> = Set([ProposalStatus.filed, .assigned, .replied, .evaluated, .closed].map(\.rawValue))

    public init(site: String, database: Database) {
        self.site = site
        self.database = database
    }

    /// The scope of `site` as read from `database`'s site tree, or nil when the site sees everything (kind county).
    public static func of(site: String, in database: Database) throws -> SiteScope? {
        if try database.scalar("SELECT kind FROM sites WHERE id = ?", [.text(site)])?.stringValue == SiteKind.county.rawValue { return nil }
        return SiteScope(site: site, database: database)
    }

    /// The site and every site below it, read once per scope object (inside the page's snapshot): from the subtrees
    /// the access rules keep at the county (`_cppcc_subtrees`: every restricted site's or none, always those of the
    /// tree in the same snapshot), else walked.
    public func subtree() throws -> Set<String> {
        if let subtreeCache { return subtreeCache }
        // (A replica whose rules predate the table has none: walked.)
        var rows = (try? database.query("SELECT id FROM _cppcc_subtrees WHERE acting = ?", [.text(site)])) ?? []
        if rows.isEmpty {
            rows = try database.query("""
                WITH RECURSIVE tree(id) AS (SELECT ? UNION SELECT s.id FROM sites s JOIN tree t ON s.parent_id = t.id)
                SELECT id FROM tree
                """, [.text(site)])
        }
        let ids = Set(rows.compactMap { $0[0].stringValue })
        subtreeCache = ids
        return ids
    }

    public func scopeColumns(of table: String) -> [String] { Self.scopeColumns(of: table) }

    static func scopeColumns(of table: String) -> [String] {
        switch table {
        case "members", "social_reports", "activities": ["site_id"]
        case "proposals": ["site_id", "status"]
        case "proposal_cosigners", "proposal_handlers": ["proposal_id"]
        case "activity_participants": ["activity_id"]
        default: Attachments.kind(of: table).map { [$0.key] } ?? []
        }
    }

    /// The county's index of rows by the site that holds them (`ScopeIndex`): `contains` in SQL, a row's bucket being
    /// the site whose subtree holds it. Rows without a site, filed proposals and their handlers are everyone's.
    public static let index: ScopeIndex = {
        let everyone = ScopeIndex.everyoneSQL
        let site = { (row: String) in "CASE WHEN typeof(\(row).site_id) = 'text' THEN \(row).site_id ELSE \(everyone) END" }
        let isPublic = { (row: String) in "\(row).status IN (\(publicStatuses.sorted().map { "'\($0)'" }.joined(separator: ", ")))" }
        let parent = { (table: String, key: String, bucket: String) in
            "coalesce((SELECT \(bucket) FROM \(table) AS p WHERE p.id = t.\(key)), \(ScopeIndex.nobodySQL))"
        }
        let buckets: [(table: String, sql: String, parent: (table: String, key: String)?)] = [
            ("members", site("t"), nil),
            ("proposals", "CASE WHEN \(isPublic("t")) THEN \(everyone) ELSE \(site("t")) END", nil),
            ("social_reports", site("t"), nil),
            ("activities", site("t"), nil),
            ("proposal_cosigners", parent("proposals", "proposal_id", site("p")), ("proposals", "proposal_id")),
            ("proposal_handlers", parent("proposals", "proposal_id", "CASE WHEN \(isPublic("p")) THEN \(everyone) ELSE \(site("p")) END"),
             ("proposals", "proposal_id")),
            ("activity_participants", parent("activities", "activity_id", site("p")), ("activities", "activity_id")),
        ] + Attachments.kinds.map { k in
            // An attachment goes where its record goes (a filed proposal's files with it, to every office).
            (k.table, parent(k.parent, k.key, k.parent == "proposals" ? "CASE WHEN \(isPublic("p")) THEN \(everyone) ELSE \(site("p")) END" : site("p")),
             (k.parent, k.key))
        }
        return ScopeIndex(tables: buckets.map { .init(name: $0.table, bucketSQL: $0.sql, scopeColumns: scopeColumns(of: $0.table), parent: $0.parent) })
    }()

    public func buckets() throws -> Set<String>? { try subtree() }

    func owns(_ site: Value) throws -> Bool {
        guard case .text(let s) = site else { return site.isNull }
        return try subtree().contains(s)
    }

    private func parent(_ table: String, _ id: Value) throws -> (site: String?, status: String?)? {
        guard case .text(let key) = id else { return nil }
        if let p = parents[table + "\u{0}" + key] { return p }
        let column = table == "proposals" ? "status" : "NULL"
        guard let row = try database.query("SELECT site_id, \(column) FROM \(table) WHERE id = ?", [.text(key)]).first else { return nil }
        let p = (site: row[0].stringValue, status: row[1].stringValue)
        parents[table + "\u{0}" + key] = p
        return p
    }

    public func contains(table: String, pk: String, value: (String) -> Value) throws -> Bool {
        switch table {
        case "members", "social_reports", "activities":
            return try owns(value("site_id"))
        case "proposals":
            if case .text(let status) = value("status"), Self.publicStatuses.contains(status) { return true }
            return try owns(value("site_id"))
        case "proposal_cosigners":
            guard let p = try parent("proposals", value("proposal_id")) else { return false }
            return try owns(p.site.map { .text($0) } ?? .null)
        case "proposal_handlers":
            guard let p = try parent("proposals", value("proposal_id")) else { return false }
            if let status = p.status, Self.publicStatuses.contains(status) { return true }
            return try owns(p.site.map { .text($0) } ?? .null)
        case "activity_participants":
            guard let p = try parent("activities", value("activity_id")) else { return false }
            return try owns(p.site.map { .text($0) } ?? .null)
        default:
            guard let k = Attachments.kind(of: table) else { return true }
            guard let p = try parent(k.parent, value(k.key)) else { return false }
            if let status = p.status, Self.publicStatuses.contains(status) { return true }
            return try owns(p.site.map { .text($0) } ?? .null)
        }
    }

    /// Forgets the rows of an office replica that are out of its scope (after a pull), except rows with own changes
    /// not yet acknowledged (they go first; the next pull forgets them). Returns how many rows were forgotten.
    @discardableResult
    public static func purge(_ replica: Replica, unacknowledgedAfter pushed: Int64) throws -> Int {
        guard let scope = try of(site: replica.siteID, in: replica.database),
              try replica.database.scalar("SELECT count(*) FROM sites WHERE id = ?", [.text(replica.siteID)])?.int64Value == 1 else { return 0 }
        return try purge(replica, to: scope) { table, pk in try replica.hasUnsentOwnChanges(table: table, pk: pk, after: pushed) }
    }

    /// Forgets the live rows of `replica` that `scope` does not contain (`Replica.forget`: no trace in the change
    /// log, so nothing travels), except those `spare` keeps. An office's purge above; a county's after its uplink pull
    /// (`Tier.forgetOutOfScope`, with the county's scope at the higher tier). Returns how many rows were forgotten.
    @discardableResult
    public static func purge(_ replica: Replica, to scope: any RowScope, sparing spare: (_ table: String, _ pk: String) throws -> Bool) throws -> Int {
        let out = try rows(outside: scope, in: replica, sparing: spare)
        try replica.forget(out)
        return out.count
    }

    /// The tables whose rows a scope decides, parents first (a child's scope reads its parent as it is now).
    static let scopedTables = ["sites", "members", "proposals", "social_reports", "activities",
                               "proposal_cosigners", "proposal_handlers", "activity_participants"] + Attachments.tables

    /// The live rows of `replica` (of the CPPCC tables, and of any other synced table after them) that `scope` does not
    /// contain, less those `spare` keeps.
    static func rows(outside scope: any RowScope, in replica: Replica,
                     sparing spare: (_ table: String, _ pk: String) throws -> Bool = { _, _ in false }) throws -> [(table: String, pk: String)] {
        var out: [(table: String, pk: String)] = []
        let synced = replica.syncedTables
        for table in scopedTables.filter(synced.contains) + synced.filter({ !scopedTables.contains($0) }) {
            let columns = try replica.database.columns(of: table).map(\.name)
            let index = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })
            guard let key = index[try replica.primaryKey(of: table)] else { continue }
            // A row at a time, each value read when the scope asks for it: memory holds a row, not the table (an
            // office's long texts would otherwise be read whole after every pull).
            let rows = try replica.database.statement("SELECT \(columns.map { "\"\($0)\"" }.joined(separator: ", ")) FROM \"\(table)\"")
            try rows.forEachRow { row in
                guard let pk = row.column(Int32(key)).stringValue else { return }
                if try scope.contains(table: table, pk: pk, value: { index[$0].map { row.column(Int32($0)) } ?? .null }) { return }
                if try spare(table, pk) { return }
                out.append((table, pk))
            }
        }
        return out
    }

    /// A signature of the office's subtree, to notice when the tree gives it new sites.
    public static func signature(_ replica: Replica) throws -> String {
        guard let scope = try of(site: replica.siteID, in: replica.database) else { return "*" }
        return try scope.subtree().sorted().joined(separator: ",")
    }
}
