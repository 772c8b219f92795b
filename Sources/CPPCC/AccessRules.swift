import CPSyncText
import CPSyncCore

/// Who may write what: the permission matrix of the CPPCC tables, in one place. The site tree is the permission
/// tree: a site writes the records of its own subtree; a site of kind `county` (and the county server itself)
/// writes everything. The workflow steps belong to who performs them in a real county: offices record members,
/// social-conditions reports and activities of their area and draft and submit proposals; review, 立案 / 不予立案 /
/// 并案 / 转, 交办, replies, evaluations and 办结 are the county committee's.
///
/// The rules are rendered once, as SQL triggers on every replica (`installSQL`). They run for every local write —
/// through `cpsync` or any SQLite tool — so a clerk is refused at the moment of writing, and for every merge made
/// on behalf of a site (`Replica.merge(_:actingFor:)`: the county checks each push as written by its site), so a
/// forged push is refused too, naming the row and the rule. Merges of changes that came from the county (pulls)
/// are trusted and not checked. A replica that does not know its own site yet (an office before its first pull)
/// is not restricted locally; the county still checks every push.
///
/// | table | an office (township, street, station) may | owner |
/// |---|---|---|
/// | sites | nothing (the county's tree) | — |
/// | members | add, edit, delete members of its subtree; not move them to another site | `site_id` (NULL: anyone's) |
/// | proposals | add, edit, delete its subtree's proposals while 草稿/已提交, set status 草稿 or 已提交 only; not the county's columns (`filed_on`, `closed_on`, `merged_into`, `converted_to`, `review_note`, `is_key`, `supervisor`); not move | `site_id` |
/// | proposal_cosigners | edit co-signers of its subtree's proposals while 草稿/已提交 | the proposal's `site_id` |
/// | proposal_handlers | nothing (交办, 答复, 评价 are the county's) | — |
/// | social_reports | add, edit, delete its subtree's reports; not `adopted`, `instruction`, `forwarded_to`; not move | `site_id` |
/// | activities | add, edit, delete its subtree's activities; not move | `site_id` |
///
/// Voiding (作废) a record is an office's for its own area; restoring a voided record is the county's.
/// | activity_participants | edit participants of its subtree's activities | the activity's `site_id` |
/// | *_attachments | attach files to its subtree's records (proposals: while 草稿/已提交) | the record's `site_id` |
public enum AccessRules {
    /// Tables the access rules' triggers read: a copy of a replica (a snapshot) must keep them.
    public static let ownTables: Set<String> = ["_cppcc_acting", "_cppcc_subtrees", "_cppcc_dead_owner", "_cppcc_former_owner"]

    /// Bumped whenever the SQL below changes, so replicas re-install it.
    static let version = 10
    static let metaKey = "cppcc.access_rules"

    /// Tables whose records can be voided (schema v2).
    static let voidable: Set<String> = ["members", "proposals", "social_reports", "activities"]

    /// Statuses an office may write (drafting and submitting).
    static let officeStatuses = [ProposalStatus.draft, .submitted].map(\.rawValue)

    enum Owner {
        /// Only the county writes the table.
        case county
        /// The row's own column names its site.
        case column(String)
        /// The row belongs to the row of `table` its column `key` points at.
        case parent(table: String, key: String, gated: Bool)
    }

    struct TableRule {
        let table: String
        let owner: Owner
        /// Columns only the county sets (an office leaves them at their default and never changes them).
        let countyColumns: [String]
        /// Proposals: an office writes a proposal only while it is a draft or submitted.
        let gated: Bool
    }

    static let rules: [TableRule] = [
        TableRule(table: "sites", owner: .county, countyColumns: [], gated: false),
        TableRule(table: "members", owner: .column("site_id"), countyColumns: [], gated: false),
        TableRule(table: "proposals", owner: .column("site_id"),
                  countyColumns: ["filed_on", "closed_on", "merged_into", "converted_to", "review_note", "is_key", "supervisor"], gated: true),
        TableRule(table: "proposal_cosigners", owner: .parent(table: "proposals", key: "proposal_id", gated: true), countyColumns: [], gated: false),
        TableRule(table: "proposal_handlers", owner: .county, countyColumns: [], gated: false),
        TableRule(table: "social_reports", owner: .column("site_id"), countyColumns: ["adopted", "instruction", "forwarded_to"], gated: false),
        TableRule(table: "activities", owner: .column("site_id"), countyColumns: [], gated: false),
        TableRule(table: "activity_participants", owner: .parent(table: "activities", key: "activity_id", gated: false), countyColumns: [], gated: false),
    ] + Attachments.kinds.map {
        TableRule(table: $0.table, owner: .parent(table: $0.parent, key: $0.key, gated: $0.gated), countyColumns: [], gated: false)
    }

    /// The rule a trigger names when it refuses a write.
    public enum Rule: String, Sendable, CaseIterable {
        /// The table is written by the county only.
        case countyTable = "county_table"
        /// The record belongs to a site outside the writer's subtree (or to none).
        case owner
        /// Moving a record to another site is the county's.
        case move
        /// The column is recorded by the county committee.
        case countyColumn = "county_column"
        /// The proposal is past submission: the county's workflow.
        case workflow
    }

    /// A write refused by the rules: which table and rule, in the clerk's language.
    public struct Violation: Error, Renderable, Equatable {
        public let table: String
        public let rule: Rule
        public let column: String?

        public func text(in language: Language) -> String {
            let t = FieldLabels.table(table, chinese: true)
            switch rule {
            case .countyTable:
                return language.pick(en: "only the county committee writes \(table); nothing was changed",
                                 zh: "\(t)只能由县政协维护，本站点不能修改；未做任何更改")
            case .owner:
                return language.pick(en: "this \(table) record belongs to a site outside this office's area; nothing was changed",
                                 zh: "该\(t)记录不属于本站点及下级站点，本站点不能修改；未做任何更改")
            case .move:
                return language.pick(en: "moving a record to another site is done by the county committee; nothing was changed",
                                 zh: "记录变更所属站点（如委员调动）须由县政协办理；未做任何更改")
            case .countyColumn:
                return language.pick(en: "\(table).\(column ?? "") is recorded by the county committee; nothing was changed",
                                 zh: "\(t)的“\(column.map { FieldLabels.column($0, chinese: true) } ?? "")”由县政协填写；未做任何更改")
            case .workflow:
                return language.pick(en: "the proposal is in the county committee's handling (review, filing, assignment, replies, closing); an office only drafts and submits; nothing was changed",
                                 zh: "该提案已进入县政协办理环节（审查、立案、交办、答复、办结），本站点只能起草和提交；未做任何更改")
            }
        }

        /// The violation a trigger's message names (`cpsync-permission:RULE:TABLE[:COLUMN]`), if it is one.
        public init?(message: String) {
            guard let start = message.range(of: "cpsync-permission:") else { return nil }
            let parts = message[start.upperBound...].prefix { $0 != " " && $0 != "'" && $0 != ";" }.split(separator: ":").map(String.init)
            guard parts.count >= 2, let rule = Rule(rawValue: parts[0]) else { return nil }
            self.rule = rule
            self.table = parts[1]
            self.column = parts.count > 2 ? parts[2] : nil
        }

        public init(table: String, rule: Rule, column: String? = nil) {
            self.table = table
            self.rule = rule
            self.column = column
        }
    }

    /// The violation inside an error from a write or a merge, if the error is one.
    public static func violation(in error: any Error) -> Violation? {
        switch error {
        case let e as SQLiteError: Violation(message: e.message)
        case ReplicaError.rowRefused(_, _, let reason): Violation(message: reason)
        case ReplicaError.sqlite(let e): Violation(message: e.message)
        default: nil
        }
    }

    // MARK: SQL

    static func raise(_ rule: Rule, _ table: String, _ column: String? = nil) -> String {
        "SELECT RAISE(ABORT, 'cpsync-permission:\(rule.rawValue):\(table)\(column.map { ":" + $0 } ?? "")')"
    }

    /// Views: who is writing (the site a merge acts for, else this replica's own site), whether that writer is
    /// restricted (a known site that is not of kind county), and the writer's subtree.
    static let viewsSQL = """
        DROP VIEW IF EXISTS _cppcc_writer;
        CREATE VIEW _cppcc_writer AS
          SELECT CASE WHEN (SELECT merging FROM _cp_state) = 1 THEN (SELECT acting FROM _cp_state)
                      ELSE (SELECT s.uuid FROM _cp_sites s JOIN _cp_state st ON s.id = st.site_id) END AS id;
        DROP VIEW IF EXISTS _cppcc_restricted;
        CREATE VIEW _cppcc_restricted AS
          SELECT 1 AS yes FROM sites WHERE id = (SELECT id FROM _cppcc_writer) AND kind != 'county';
        DROP VIEW IF EXISTS _cppcc_subtree;
        CREATE VIEW _cppcc_subtree AS
          WITH RECURSIVE tree(id) AS (SELECT id FROM _cppcc_writer UNION SELECT s.id FROM sites s JOIN tree t ON s.parent_id = t.id)
          SELECT id FROM tree;
        DROP VIEW IF EXISTS _cppcc_subtrees_walked;
        CREATE VIEW _cppcc_subtrees_walked AS
          WITH RECURSIVE tree(acting, id) AS (SELECT id, id FROM sites WHERE kind != 'county'
                                              UNION SELECT t.acting, s.id FROM sites s JOIN tree t ON s.parent_id = t.id)
          SELECT acting, id FROM tree;
        """

    /// The subtree of the site a merge acts for, kept in a table while the merge runs (empty otherwise, and empty
    /// when that site is not restricted). The recursive view costs a walk of the site tree and temporary b-trees
    /// each time a trigger reads it; a push writes thousands of rows, so the subtree is put in `_cppcc_acting` once,
    /// when the merge starts (`_cp_state.merging`/`acting` set), and again whenever the site tree changes during a
    /// merge; when the merge ends it is only emptied. Written inside the merge's transaction, so no other connection
    /// ever sees it filled.
    ///
    /// The site tree is walked once for all sites, not once per push: `_cppcc_subtrees` keeps every restricted
    /// site's subtree (all of them or none), any write to `sites` (merged or local, in any process: the triggers are
    /// in the database) empties it, and the next merge on behalf of a site fills it again. At a merge's start two
    /// triggers run, in either order: one fills `_cppcc_subtrees` when it is empty, the other copies the acting
    /// site's subtree from it into `_cppcc_acting`; each ends with the copy, so whichever runs last leaves it whole.
    /// A write to `sites` during a merge walks the acting site's subtree alone (as before this table). Re-installing
    /// the rules empties it too.
    static let actingSQL = """
        CREATE TABLE IF NOT EXISTS _cppcc_acting (id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS _cppcc_subtrees (acting TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (acting, id)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS _cppcc_dead_owner (tbl TEXT NOT NULL, pk TEXT NOT NULL, site TEXT NOT NULL, PRIMARY KEY (tbl, pk)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS _cppcc_former_owner (tbl TEXT NOT NULL, pk TEXT NOT NULL, site TEXT NOT NULL, PRIMARY KEY (tbl, pk, site)) WITHOUT ROWID;
        DROP TRIGGER IF EXISTS cppcc_former_parent;
        CREATE TRIGGER cppcc_former_parent AFTER UPDATE OF parent_id ON sites WHEN OLD.parent_id IS NOT NULL AND OLD.parent_id IS NOT NEW.parent_id
        BEGIN INSERT OR IGNORE INTO _cppcc_former_owner(tbl, pk, site) VALUES ('sites', OLD.id, OLD.parent_id); END;
        DROP TRIGGER IF EXISTS cppcc_scope_state;
        DROP TRIGGER IF EXISTS cppcc_scope_state_walk;
        DROP TRIGGER IF EXISTS cppcc_scope_state_end;
        DROP TRIGGER IF EXISTS cppcc_scope_sites_ins;
        DROP TRIGGER IF EXISTS cppcc_scope_sites_upd;
        DROP TRIGGER IF EXISTS cppcc_scope_sites_del;
        CREATE TRIGGER cppcc_scope_state AFTER UPDATE OF merging, acting ON _cp_state WHEN NEW.merging = 1
        BEGIN \(copyKept) END;
        CREATE TRIGGER cppcc_scope_state_walk AFTER UPDATE OF merging, acting ON _cp_state
        WHEN NEW.merging = 1 AND NEW.acting IS NOT NULL AND NOT EXISTS (SELECT 1 FROM _cppcc_subtrees)
        BEGIN INSERT INTO _cppcc_subtrees(acting, id) SELECT acting, id FROM _cppcc_subtrees_walked; \(copyKept) END;
        CREATE TRIGGER cppcc_scope_state_end AFTER UPDATE OF merging, acting ON _cp_state WHEN NEW.merging IS NOT 1
        BEGIN DELETE FROM _cppcc_acting; END;
        CREATE TRIGGER cppcc_scope_sites_ins AFTER INSERT ON sites
        BEGIN DELETE FROM _cppcc_subtrees; \(walkActing) END;
        CREATE TRIGGER cppcc_scope_sites_upd AFTER UPDATE ON sites
        BEGIN DELETE FROM _cppcc_subtrees; \(walkActing) END;
        CREATE TRIGGER cppcc_scope_sites_del AFTER DELETE ON sites
        BEGIN DELETE FROM _cppcc_subtrees; \(walkActing) END;
        DELETE FROM _cppcc_acting;
        DELETE FROM _cppcc_subtrees;
        """

    static let merging = "(SELECT merging FROM _cp_state) = 1"

    /// While merging for a restricted site: walks its subtree into `_cppcc_acting`; otherwise leaves it empty.
    static let walkActing = """
        DELETE FROM _cppcc_acting;
        INSERT INTO _cppcc_acting(id) SELECT id FROM _cppcc_subtree WHERE \(merging) AND EXISTS (SELECT 1 FROM _cppcc_restricted);
        """

    /// The acting site's kept subtree into `_cppcc_acting` (nothing kept: empty).
    static let copyKept = """
        DELETE FROM _cppcc_acting;
        INSERT INTO _cppcc_acting(id) SELECT id FROM _cppcc_subtrees WHERE acting = (SELECT acting FROM _cp_state);
        """

    /// Whether the writer is restricted: while merging, whether the acting site's subtree was kept (it is, exactly
    /// when that site is restricted); otherwise the view.
    static let restricted = "(CASE WHEN \(merging) THEN EXISTS (SELECT 1 FROM _cppcc_acting) ELSE EXISTS (SELECT 1 FROM _cppcc_restricted) END)"

    /// A record with no site (NULL) belongs to no office in particular: any site may write it (only records made
    /// without `cpsync`'s help lack one; `cpsync` always records the site).
    static func inSubtree(_ expr: String) -> String {
        "(\(expr) IS NULL OR CASE WHEN \(merging) THEN \(expr) IN (SELECT id FROM _cppcc_acting) ELSE \(expr) IN (SELECT id FROM _cppcc_subtree) END)"
    }

    static func isDefault(_ expr: String) -> String { "(\(expr) IS NULL OR \(expr) IN ('', 0))" }

    static var officeStatusList: String { officeStatuses.map { "'\($0)'" }.joined(separator: ", ") }

    /// Every view and trigger of the rules, dropping earlier versions first. Idempotent. `voidable`: the schema has the
    /// void columns (v2 and later).
    static func installSQL(voidable hasVoid: Bool, attachments: Bool = true) -> String {
        var sql = viewsSQL + actingSQL
        for r in rules where attachments || Attachments.kind(of: r.table) == nil {
            for kind in ["ins", "upd", "del"] { sql += "DROP TRIGGER IF EXISTS \"cppcc_acl_\(kind)_\(r.table)\";\n" }
            var ins: [String] = [], upd: [String] = [], del: [String] = []
            let t = r.table
            switch r.owner {
            case .county:
                ins.append(raise(.countyTable, t)); upd.append(raise(.countyTable, t)); del.append(raise(.countyTable, t))
            case .column(let c):
                ins.append(raise(.owner, t) + " WHERE NOT \(inSubtree("NEW.\(c)"))")
                // A dead row belongs to the owner of its last life: only a writer of that owner's area (or the
                // county) brings it back, whatever site the new life names.
                ins.append(raise(.owner, t) + " WHERE NOT EXISTS (SELECT 1 FROM \(t) AS o WHERE o.id = NEW.id) AND EXISTS "
                    + "(SELECT 1 FROM _cppcc_dead_owner AS d WHERE d.tbl = '\(t)' AND d.pk = NEW.id AND NOT \(inSubtree("d.site")))")
                upd.append(raise(.owner, t) + " WHERE NOT \(inSubtree("OLD.\(c)"))")
                upd.append(raise(.move, t) + " WHERE NEW.\(c) IS NOT OLD.\(c)")
                del.append(raise(.owner, t) + " WHERE NOT \(inSubtree("OLD.\(c)"))")
            case .parent(let parent, let key, let gated):
                let owner = { (row: String) in "(SELECT site_id FROM \(parent) WHERE id = \(row).\(key))" }
                // An office must hold the parent it attaches to (one outside its scope is not there); the county,
                // merging a push, may see a child before its parent arrives in a later page.
                ins.append(raise(.owner, t) + " WHERE (SELECT merging FROM _cp_state) = 0 AND NOT EXISTS (SELECT 1 FROM \(parent) WHERE id = NEW.\(key))")
                ins.append(raise(.owner, t) + " WHERE NOT \(inSubtree(owner("NEW")))")
                upd.append(raise(.owner, t) + " WHERE NOT \(inSubtree(owner("OLD")))")
                upd.append(raise(.move, t) + " WHERE NEW.\(key) IS NOT OLD.\(key)")
                del.append(raise(.owner, t) + " WHERE NOT \(inSubtree(owner("OLD")))")
                if gated {
                    let status = { (row: String) in "(SELECT status FROM \(parent) WHERE id = \(row).\(key))" }
                    ins.append(raise(.workflow, t) + " WHERE \(status("NEW")) NOT IN (\(officeStatusList))")
                    upd.append(raise(.workflow, t) + " WHERE \(status("OLD")) NOT IN (\(officeStatusList))")
                    del.append(raise(.workflow, t) + " WHERE \(status("OLD")) NOT IN (\(officeStatusList))")
                }
            }
            for c in r.countyColumns {
                ins.append(raise(.countyColumn, t, c) + " WHERE NOT \(isDefault("NEW.\(c)"))")
                upd.append(raise(.countyColumn, t, c) + " WHERE NEW.\(c) IS NOT OLD.\(c)")
            }
            if hasVoid && Self.voidable.contains(t) {
                // An office may void (作废) its own area's records; restoring one is the county's.
                upd.append(raise(.countyColumn, t, "voided_on") + " WHERE OLD.voided_on IS NOT NULL AND NEW.voided_on IS NULL")
            }
            if r.gated {
                ins.append(raise(.workflow, t) + " WHERE NEW.status NOT IN (\(officeStatusList))")
                upd.append(raise(.workflow, t) + " WHERE OLD.status NOT IN (\(officeStatusList)) OR NEW.status NOT IN (\(officeStatusList))")
                del.append(raise(.workflow, t) + " WHERE OLD.status NOT IN (\(officeStatusList))")
            }
            // `INSERT OR REPLACE` over an existing row deletes it without firing delete triggers: the insert checks
            // the row it replaces as a delete would.
            let replaced = "(SELECT 1 FROM \(t) AS o WHERE o.id = NEW.id)"
            for check in del {
                guard let whereAt = check.range(of: " WHERE ") else { ins.append(check + " WHERE EXISTS \(replaced)"); continue }
                let condition = String(check[whereAt.upperBound...]).replacingOccurrences(of: "OLD.", with: "o.")
                ins.append(String(check[..<whereAt.lowerBound]) + " WHERE EXISTS (SELECT 1 FROM \(t) AS o WHERE o.id = NEW.id AND (\(condition)))")
            }
            if case .column(let c) = r.owner {
                // Who owned each row's last life (a delete, a merged death, a row forgotten when it left the scope),
                // for the revival check above; a row alive again needs no entry.
                // And every site a row ever belonged to (a transfer, a new life naming another site): whoever wrote it
                // in good faith before it left their area is kept as a conflict, not refused (`everInArea`).
                sql += """
                    DROP TRIGGER IF EXISTS "cppcc_dead_owner_del_\(t)";
                    DROP TRIGGER IF EXISTS "cppcc_dead_owner_ins_\(t)";
                    DROP TRIGGER IF EXISTS "cppcc_former_owner_\(t)";
                    CREATE TRIGGER "cppcc_dead_owner_del_\(t)" AFTER DELETE ON \(t) WHEN OLD.\(c) IS NOT NULL
                    BEGIN
                      INSERT OR REPLACE INTO _cppcc_dead_owner(tbl, pk, site) VALUES ('\(t)', OLD.id, OLD.\(c));
                      INSERT OR IGNORE INTO _cppcc_former_owner(tbl, pk, site) VALUES ('\(t)', OLD.id, OLD.\(c));
                    END;
                    CREATE TRIGGER "cppcc_former_owner_\(t)" AFTER UPDATE OF \(c) ON \(t) WHEN OLD.\(c) IS NOT NULL AND OLD.\(c) IS NOT NEW.\(c)
                    BEGIN INSERT OR IGNORE INTO _cppcc_former_owner(tbl, pk, site) VALUES ('\(t)', OLD.id, OLD.\(c)); END;
                    CREATE TRIGGER "cppcc_dead_owner_ins_\(t)" AFTER INSERT ON \(t)
                    BEGIN DELETE FROM _cppcc_dead_owner WHERE tbl = '\(t)' AND pk = NEW.id; END;

                    """
            }
            for (kind, event, body) in [("ins", "INSERT", ins), ("upd", "UPDATE", upd), ("del", "DELETE", del)] where !body.isEmpty {
                sql += """
                    CREATE TRIGGER "cppcc_acl_\(kind)_\(t)" BEFORE \(event) ON \(t) WHEN \(restricted)
                    BEGIN
                      \(body.joined(separator: ";\n  "));
                    END;

                    """
            }
        }
        return sql
    }

    /// The record a row of `table` belongs to (its table and the column naming it), for tables of child rows.
    public static func parent(of table: String) -> (table: String, key: String)? {
        guard let rule = rules.first(where: { $0.table == table }), case .parent(let parent, let key, _) = rule.owner else { return nil }
        return (parent, key)
    }

    /// Whether a record was ever in `site`'s area: it, or its parent record, belongs or once belonged to a site that
    /// is or once was in `site`'s subtree (transfers and re-parentings are remembered by the rules' triggers). A write
    /// the rules refuse now may still have been made in good faith before the record left the area.
    public static func everInArea(table: String, pk: String, site: String, in db: Database) throws -> Bool {
        guard let rule = rules.first(where: { $0.table == table }) else { return false }
        var ownerTable = table, ownerKey = pk
        switch rule.owner {
        case .county: return false
        case .column: break
        case .parent(let parent, let key, _):
            guard let p = try db.scalar("SELECT \(key) FROM \(table) WHERE id = ?", [.text(pk)])?.stringValue else { return false }
            (ownerTable, ownerKey) = (parent, p)
        }
        let owners = try db.query("""
            SELECT site_id FROM \(ownerTable) WHERE id = ?1 AND site_id IS NOT NULL
            UNION SELECT site FROM _cppcc_former_owner WHERE tbl = ?2 AND pk = ?1
            """, [.text(ownerKey), .text(ownerTable)]).compactMap { $0[0].stringValue }
        guard !owners.isEmpty else { return false }
        // Every site ever under `site`, by current and former parents.
        let area = try Set(db.query("""
            WITH RECURSIVE edges(child, parent) AS (
              SELECT id, parent_id FROM sites WHERE parent_id IS NOT NULL
              UNION SELECT pk, site FROM _cppcc_former_owner WHERE tbl = 'sites'),
            tree(id) AS (SELECT ?1 UNION SELECT e.child FROM edges e JOIN tree t ON e.parent = t.id)
            SELECT id FROM tree
            """, [.text(site)]).compactMap { $0[0].stringValue })
        return owners.contains { area.contains($0) }
    }

    /// Installs (or re-installs, when this build's rules are newer) the rules on a replica.
    static func install(on replica: Replica) throws {
        let hasVoid = try replica.database.scalar("SELECT count(*) FROM pragma_table_info('members') WHERE name = 'voided_on'")?.int64Value == 1
        // The rules depend on this build's version and on the schema's columns: a migration re-installs them.
        let hasAttachments = try replica.database.tableExists(Attachments.kinds[0].table)
        let installed = "\(version)\(hasVoid ? "+void" : "")\(hasAttachments ? "+attachments" : "")"
        guard try replica.meta(metaKey)?.stringValue != installed else { return }
        try replica.database.transaction {
            try replica.database.execute(installSQL(voidable: hasVoid, attachments: hasAttachments))
            try replica.setMeta(metaKey, .text(installed))
        }
    }
}
