import CPSyncCore

/// The CPPCC office tables (§3 of DESIGN.md), their merge rules and their migrations.
///
/// Every table is synced, so every table follows the engine's rules: one TEXT primary key, no FOREIGN KEY or
/// UNIQUE constraints (references and duplicates are checked in Swift, because offices apply changes in any order),
/// NOT NULL only with a constant DEFAULT, and only single-column CHECKs that accept that default.
///
/// ## Versions and mixed fleets
/// The installed version lives in the replica's meta key `schema_version`. Migrations are an ordered list and must
/// be **additive only**: add tables, add nullable columns or columns with constant defaults; never drop, rename or
/// tighten. That is what lets a newer replica hold older data: every change a v1 office writes is a valid change for
/// a v2 replica (the new columns simply have no version yet).
///
/// The reverse does not hold. A v2 change that names a new column cannot be merged into a v1 replica: the engine
/// refuses the whole batch with `ReplicaError.unknownColumn` and applies nothing. So the protocol never lets it
/// happen: an office whose schema version is lower than the server's gets HTTP 409 `upgrade_required`
/// ("upgrade cpsync to schema vN") on push and pull, and its local changes stay queued in its change log (the push
/// cursor does not move). After the office upgrades cpsync, the next command runs `migrate(_:to:)` (in
/// `Replica.migrate`, so capture is re-installed for the new columns) and the queued changes go out unchanged.
public enum CPPCCSchema {
    /// The schema version this build installs and expects.
    public static let version = 3
    /// The replica meta key that holds the installed version.
    public static let metaKey = "schema_version"

    /// The synced tables, in dependency order (for display; the engine does not need an order).
    public static let tables = [
        "sites", "members", "proposals", "proposal_cosigners", "proposal_handlers",
        "social_reports", "activities", "activity_participants",
    ]

    /// One step forward. `sql` runs inside `Replica.migrate`, which re-installs capture afterwards.
    public struct Migration: Sendable {
        public let version: Int
        public let summary: String
        public let sql: String
    }

    /// Every migration after v1, in order. v2 adds void (作废): a voided record is kept, leaves lists and the
    /// report, and can be restored by the county (Void.swift). v3 adds the attachment tables (Attachments.swift).
    /// v4 is the worked example (and what the migration tests exercise): this build installs v3 (`version`), and a
    /// later release that raises `version` to 4 will upgrade offices to it.
    public static let migrations: [Migration] = [
        Migration(version: 2, summary: "voided_on and void_reason (作废) on members, proposals, social_reports, activities",
                  sql: VoidRecords.tables.map { "ALTER TABLE \($0) ADD COLUMN voided_on TEXT; ALTER TABLE \($0) ADD COLUMN void_reason TEXT;" }.joined(separator: "\n")),
        Migration(version: 3, summary: "attachments (附件): proposal_attachments, activity_attachments, social_report_attachments, member_attachments",
                  sql: Attachments.migrationSQL),
        Migration(version: 4, summary: "members.wechat (微信号)", sql: "ALTER TABLE members ADD COLUMN wechat TEXT"),
    ]

    /// The highest version this build knows how to reach.
    public static var latestKnownVersion: Int { migrations.last?.version ?? 1 }

    static let v1SQL = """
        CREATE TABLE IF NOT EXISTS sites (
          id TEXT PRIMARY KEY NOT NULL,
          name TEXT NOT NULL DEFAULT '',
          kind TEXT NOT NULL DEFAULT 'station' CHECK (kind IN ('county', 'township', 'street', 'station')),
          parent_id TEXT
        );
        CREATE TABLE IF NOT EXISTS members (
          id TEXT PRIMARY KEY NOT NULL,
          name TEXT NOT NULL DEFAULT '',
          gender TEXT NOT NULL DEFAULT '' CHECK (gender IN ('', '男', '女')),
          sector TEXT NOT NULL DEFAULT '',
          party TEXT NOT NULL DEFAULT '',
          term TEXT NOT NULL DEFAULT '',
          site_id TEXT,
          phone TEXT NOT NULL DEFAULT '',
          employer TEXT NOT NULL DEFAULT '',
          position TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX IF NOT EXISTS members_site ON members(site_id);
        CREATE TABLE IF NOT EXISTS proposals (
          id TEXT PRIMARY KEY NOT NULL,
          number TEXT NOT NULL DEFAULT '',
          session TEXT NOT NULL DEFAULT '',
          year INTEGER NOT NULL DEFAULT 0,
          title TEXT NOT NULL DEFAULT '',
          body TEXT NOT NULL DEFAULT '',
          proposer_id TEXT,
          site_id TEXT,
          submitted_on TEXT,
          status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN (\(ProposalStatus.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")))),
          merged_into TEXT,
          converted_to TEXT CHECK (converted_to IS NULL OR converted_to IN ('letter', 'social_report')),
          review_note TEXT NOT NULL DEFAULT '',
          is_key INTEGER NOT NULL DEFAULT 0 CHECK (is_key IN (0, 1)),
          supervisor TEXT NOT NULL DEFAULT '',
          filed_on TEXT,
          closed_on TEXT
        );
        CREATE INDEX IF NOT EXISTS proposals_year ON proposals(year, site_id);
        CREATE INDEX IF NOT EXISTS proposals_number ON proposals(number);
        CREATE TABLE IF NOT EXISTS proposal_cosigners (
          id TEXT PRIMARY KEY NOT NULL,
          proposal_id TEXT,
          member_id TEXT
        );
        CREATE INDEX IF NOT EXISTS proposal_cosigners_proposal ON proposal_cosigners(proposal_id);
        CREATE TABLE IF NOT EXISTS proposal_handlers (
          id TEXT PRIMARY KEY NOT NULL,
          proposal_id TEXT,
          unit TEXT NOT NULL DEFAULT '',
          role TEXT NOT NULL DEFAULT 'lead' CHECK (role IN ('lead', 'co')),
          assigned_on TEXT,
          due_on TEXT,
          replied_on TEXT,
          reply TEXT,
          category TEXT CHECK (category IS NULL OR category IN ('A', 'B', 'C')),
          met_proposer INTEGER NOT NULL DEFAULT 0 CHECK (met_proposer IN (0, 1)),
          satisfaction TEXT CHECK (satisfaction IS NULL OR satisfaction IN ('satisfied', 'basically', 'dissatisfied')),
          evaluated_on TEXT
        );
        CREATE INDEX IF NOT EXISTS proposal_handlers_proposal ON proposal_handlers(proposal_id);
        CREATE TABLE IF NOT EXISTS social_reports (
          id TEXT PRIMARY KEY NOT NULL,
          title TEXT NOT NULL DEFAULT '',
          body TEXT NOT NULL DEFAULT '',
          reporter_id TEXT,
          site_id TEXT,
          reported_on TEXT,
          forwarded_to TEXT NOT NULL DEFAULT '',
          adopted INTEGER NOT NULL DEFAULT 0 CHECK (adopted IN (0, 1)),
          instruction TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE IF NOT EXISTS activities (
          id TEXT PRIMARY KEY NOT NULL,
          kind TEXT NOT NULL DEFAULT 'study' CHECK (kind IN (\(ActivityKind.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")))),
          topic TEXT NOT NULL DEFAULT '',
          held_on TEXT,
          site_id TEXT,
          outcome TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE IF NOT EXISTS activity_participants (
          id TEXT PRIMARY KEY NOT NULL,
          activity_id TEXT,
          member_id TEXT
        );
        CREATE INDEX IF NOT EXISTS activity_participants_activity ON activity_participants(activity_id);
        """

    /// Refuses local writes that move a proposal's status to an earlier stage. The merge never lets a lower rank
    /// beat a higher one, so such a write would leave this office behind every other one for good. Merges
    /// (`merging = 1`) are exempt: they only ever apply the winner.
    static var statusTriggerSQL: String {
        func rank(_ expr: String) -> String {
            "(CASE \(expr) " + ProposalStatus.allCases.map { "WHEN '\($0.rawValue)' THEN \($0.rank)" }.joined(separator: " ")
                + " ELSE -1 END)"
        }
        return """
            DROP TRIGGER IF EXISTS cppcc_proposals_status_forward;
            CREATE TRIGGER cppcc_proposals_status_forward BEFORE UPDATE OF status ON proposals
            WHEN (SELECT merging FROM _cp_state) = 0 AND \(rank("NEW.status")) < \(rank("OLD.status"))
            BEGIN
              SELECT RAISE(ABORT, 'cpsync: a proposal''s status cannot move back to an earlier workflow stage (offices would diverge); record a new step instead');
            END;
            """
    }

    /// The version installed in `replica`, or nil when the CPPCC tables were never installed.
    public static func installedVersion(of replica: Replica) throws -> Int? {
        guard let v = try replica.meta(metaKey) else { return nil }
        if let i = v.int64Value { return Int(i) }
        return v.stringValue.flatMap { Int($0) }
    }

    /// Installs schema v1 (tables, capture, the status merge rule and trigger), then migrates to `target`
    /// (`version` unless a test asks for an older replica). Idempotent: an installed replica is only migrated
    /// forward when it is behind.
    public static func install(on replica: Replica, upTo target: Int = version) throws {
        if try installedVersion(of: replica) == nil {
            try replica.database.transaction {
                try replica.database.execute(v1SQL)
                for t in tables { try replica.makeSynced(t) }
                try replica.setMergeRule(statusRule, table: "proposals", column: "status")
                try replica.database.execute(statusTriggerSQL)
                try replica.setMeta(metaKey, .integer(1))
            }
        }
        try migrate(replica, to: target)
        try ensureRules(replica)
    }

    /// How `proposals.status` merges: a later stage wins; two stages on different branches of the workflow (不予立案
    /// at one office, 立案 → 交办 at another) are a conflict even though one ranks higher.
    public static var statusRule: MergeRule { .rank(ProposalStatus.ranks, parents: ProposalStatus.previousStages) }

    /// Brings the merge rules of a replica made by an older build up to this build's (every replica must merge alike).
    static func ensureRules(_ replica: Replica) throws {
        if try replica.mergeRule(table: "proposals", column: "status") != statusRule {
            try replica.setMergeRule(statusRule, table: "proposals", column: "status")
        }
        // Tables a migration created are synced (again after a crash between the migration and this).
        for t in tables + Attachments.tables where try replica.database.tableExists(t) && !replica.syncedTables.contains(t) {
            try replica.makeSynced(t)
        }
        try AccessRules.install(on: replica)
    }

    /// Applies the migrations after the installed version up to `target`, each in its own `Replica.migrate`
    /// (one transaction; capture re-installed). Never goes backwards; refuses versions this build does not know.
    public static func migrate(_ replica: Replica, to target: Int) throws {
        guard let current = try installedVersion(of: replica) else { throw CPPCCError.schemaNotInstalled }
        if target > latestKnownVersion || current > latestKnownVersion {
            throw CPPCCError.schemaTooNew(replica: max(target, current), known: latestKnownVersion)
        }
        guard target > current else { return }
        for m in migrations where m.version > current && m.version <= target {
            try replica.migrate { db in
                try db.execute(m.sql)
                try db.run("INSERT OR REPLACE INTO _cp_meta(key, value) VALUES (?, ?)", [.text(metaKey), .integer(Int64(m.version))])
            }
            for t in Attachments.tables where m.version == 3 { try replica.makeSynced(t) }
        }
    }

    /// Makes an opened office replica ready for the domain commands: installs the tables when absent, migrates an
    /// older schema forward, refuses one newer than this build.
    public static func prepare(_ replica: Replica) throws {
        if let v = try installedVersion(of: replica), v > latestKnownVersion {
            throw CPPCCError.schemaTooNew(replica: v, known: latestKnownVersion)
        }
        if let v = try installedVersion(of: replica), v >= version { return try ensureRules(replica) }
        try install(on: replica)
    }
}
