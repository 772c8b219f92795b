import Foundation

/// A replica: one SQLite file holding application tables, the sync metadata (`_cp_*` tables) and a site id.
/// Local writes to synced tables are captured by triggers; `changes(after:)` reads them out and `merge(_:)` applies
/// other replicas' changes. Not `Sendable`: use one replica from one thread at a time.
public final class Replica {
    public let database: Database
    /// This replica's site id (a UUID, lower case).
    public let siteID: String
    /// Whether merges record real conflicts in `_cp_conflicts` (the county server does; it sees every change);
    /// otherwise (an office) its own displaced edits wait in the outbox for the county (`DisplacedEdits`).
    public var recordsConflicts = true
    /// A county below a higher tier: the higher tier's sites (whose versions came down); a conflict with one of their
    /// versions is the higher tier's to review (`DisplacedEdits.recordedExcept`). nil: no higher tier.
    public var upstreamSites: Set<String>?
    /// The scope index this replica keeps and its scoped reads use (the county's; see `ScopeIndex`); nil: none.
    public var scopeIndex: ScopeIndex?

    var tables: [String: SyncedTable] = [:]
    /// What `schemaCached` found, and the schema version it holds for.
    private var schemaCache: (version: Int64, values: [String: Any]) = (-1, [:])
    var rules: [String: [String: MergeRule]] = [:]
    var siteIDs: [Int64: String] = [:]
    var siteNumbers: [String: Int64] = [:]
    var localSiteNumber: Int64 = 0
    /// The last site number looked up: a merge asks for the same few sites for every cell.
    private var lastSiteNumber: (uuid: String, number: Int64)?
    /// `database.rollbacks` when the site cache was last known to hold only committed or live rows. A site registered
    /// inside a transaction that rolled back (a push refused in part is tried row by row and rolled back) must not
    /// keep its number here: the next site to register would take that number, and versions written under it would
    /// name the wrong site.
    private var siteCacheRollbacks = 0

    static let metadataTables = ["_cp_state", "_cp_sites", "_cp_tables", "_cp_rules", "_cp_meta", "_cp_log", "_cp_conflicts", "_cp_resolutions",
                                 "_cp_outbox", "_cp_held"]

    static let metadataSQL = """
        CREATE TABLE IF NOT EXISTS _cp_state (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          site_id INTEGER NOT NULL,
          hlc INTEGER NOT NULL,
          seq INTEGER NOT NULL,
          merging INTEGER NOT NULL DEFAULT 0,
          acting TEXT
        );
        CREATE TABLE IF NOT EXISTS _cp_sites (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE);
        CREATE TABLE IF NOT EXISTS _cp_tables (name TEXT PRIMARY KEY NOT NULL);
        CREATE TABLE IF NOT EXISTS _cp_rules (tbl TEXT NOT NULL, col TEXT NOT NULL, rule TEXT NOT NULL, PRIMARY KEY (tbl, col));
        CREATE TABLE IF NOT EXISTS _cp_meta (key TEXT PRIMARY KEY NOT NULL, value);
        CREATE TABLE IF NOT EXISTS _cp_log (
          seq INTEGER PRIMARY KEY,
          tbl TEXT NOT NULL, pk TEXT NOT NULL,
          kind INTEGER NOT NULL CHECK (kind IN (1, 2, 3)),
          hlc INTEGER NOT NULL,
          mask INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS _cp_conflicts (
          id INTEGER PRIMARY KEY,
          tbl TEXT NOT NULL, pk TEXT NOT NULL, col TEXT NOT NULL,
          winner_value, winner_hlc INTEGER NOT NULL, winner_site TEXT NOT NULL,
          other_value, other_hlc INTEGER NOT NULL, other_site TEXT NOT NULL,
          detected_at INTEGER NOT NULL,
          status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
          UNIQUE (tbl, pk, col, winner_hlc, winner_site, other_hlc, other_site)
        );
        CREATE INDEX IF NOT EXISTS _cp_conflicts_status ON _cp_conflicts(status, tbl);
        CREATE TABLE IF NOT EXISTS _cp_resolutions (
          conflict_id INTEGER PRIMARY KEY NOT NULL,
          action TEXT NOT NULL, value, before, by TEXT NOT NULL, at INTEGER NOT NULL, note TEXT,
          hlc INTEGER NOT NULL, site TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS _cp_outbox (
          id INTEGER PRIMARY KEY,
          tbl TEXT NOT NULL, pk TEXT NOT NULL, col TEXT NOT NULL, val,
          hlc INTEGER NOT NULL, site TEXT NOT NULL, cl INTEGER NOT NULL, base_hlc INTEGER, base_site TEXT,
          UNIQUE (tbl, pk, col, hlc, site)
        );
        CREATE TABLE IF NOT EXISTS _cp_held (
          tbl TEXT NOT NULL, pk TEXT NOT NULL, col TEXT NOT NULL DEFAULT '',
          hlc INTEGER, site TEXT, code TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL,
          PRIMARY KEY (tbl, pk, col)
        );
        CREATE TRIGGER IF NOT EXISTS _cp_resolutions_no_update BEFORE UPDATE ON _cp_resolutions
          BEGIN SELECT RAISE(ABORT, 'cpsync: the audit trail cannot be edited'); END;
        CREATE TRIGGER IF NOT EXISTS _cp_resolutions_no_delete BEFORE DELETE ON _cp_resolutions
          BEGIN SELECT RAISE(ABORT, 'cpsync: the audit trail cannot be edited'); END;
        """

    /// Opens the replica at `path`, creating the file and its sync metadata when absent. A new replica takes
    /// `siteID` (or a fresh UUID); an existing one keeps its own and refuses a different `siteID`.
    public init(path: String, siteID requested: String? = nil, create: Bool = true) throws {
        if !create && !FileManager.default.fileExists(atPath: path) {
            throw ReplicaError.notAReplica(path: path)
        }
        let database: Database
        do { database = try Database(path: path) } catch { throw ReplicaError.sqlite(error) }
        self.database = database
        if let requested, !Replica.isValidSiteID(requested) {
            throw ReplicaError.malformedChange("site id '\(requested)' must be 1–64 characters of a–z, 0–9, '-' or '_'")
        }
        let isNew = try !database.tableExists("_cp_state")
        if isNew && !create { throw ReplicaError.notAReplica(path: path) }
        // Creating the metadata takes the write lock; an existing replica (every open but the first) skips it, so
        // opening a reader never waits behind a merge.
        let complete = try database.scalar(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN (\(Self.metadataTables.map { "'\($0)'" }.joined(separator: ", ")))"
        )?.int64Value == Int64(Self.metadataTables.count)
        let initialised = try complete && database.scalar("SELECT count(*) FROM _cp_state")?.int64Value == 1
        if !initialised { try database.transaction {
            try database.execute(Replica.metadataSQL)
            if try database.scalar("SELECT count(*) FROM _cp_state")?.int64Value == 0 {
                let site = requested ?? UUID().uuidString.lowercased()
                try database.run("INSERT INTO _cp_sites(id, uuid) VALUES (1, ?)", [.text(site)])
                try database.run("INSERT INTO _cp_state(id, site_id, hlc, seq) VALUES (1, 1, ?, 0)", [.integer(HLC.wallClock().rawValue)])
            }
        } }
        let row = try database.query("SELECT s.uuid, s.id FROM _cp_state st JOIN _cp_sites s ON s.id = st.site_id")[0]
        self.siteID = row[0].stringValue ?? ""
        self.localSiteNumber = row[1].int64Value ?? 1
        if let requested, requested != siteID {
            throw ReplicaError.malformedChange("replica '\(path)' belongs to site '\(siteID)', not '\(requested)'")
        }
        try loadSchema()
        // Replicas made by an older cpsync get the newer columns once (the only writes an open may make).
        let old = try tables.values.filter { try ChangeCapture.shadowNeedsUpgrade($0, database: database) }
        let noActing = try database.scalar("SELECT count(*) FROM pragma_table_info('_cp_state') WHERE name = 'acting'")?.int64Value == 0
        let captureVersion = try meta("capture_version")?.int64Value ?? 1
        let oldTriggers = !tables.isEmpty && captureVersion < ChangeCapture.version
        if !old.isEmpty || noActing || oldTriggers {
            try foldLog()
            try database.transaction {
                for t in old { try ChangeCapture.upgradeShadow(t, database: database) }
                if noActing { try database.execute("ALTER TABLE _cp_state ADD COLUMN acting TEXT") }
                if oldTriggers { for t in tables.values { try ChangeCapture.install(t, database: database) } }
                try setMeta("capture_version", .integer(ChangeCapture.version))
            }
        }
    }

    /// Site ids are what offices type and what logs show: short, lower-case, no spaces. UUIDs qualify.
    public static func isValidSiteID(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64 && s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
    }

    /// Re-reads the synced tables, their columns and merge rules (after a migration changed them).
    func loadSchema() throws {
        tables = [:]
        for row in try database.query("SELECT name FROM _cp_tables ORDER BY name") {
            guard let name = row[0].stringValue else { continue }
            tables[name] = try SyncedTable(name: name, database: database)
        }
        rules = [:]
        for row in try database.query("SELECT tbl, col, rule FROM _cp_rules") {
            guard let t = row[0].stringValue, let c = row[1].stringValue, let r = row[2].stringValue,
                  let rule = MergeRule(encoded: r) else { continue }
            rules[t, default: [:]][c] = rule
        }
        siteIDs = [:]
        siteNumbers = [:]
        lastSiteNumber = nil
        for row in try database.query("SELECT id, uuid FROM _cp_sites") {
            guard let id = row[0].int64Value, let uuid = row[1].stringValue else { continue }
            siteIDs[id] = uuid
            siteNumbers[uuid] = id
        }
    }

    /// The names of the synced tables, sorted.
    public var syncedTables: [String] { tables.keys.sorted() }

    /// The non-key columns of a synced table, in table order.
    public func columns(of table: String) throws -> [ColumnInfo] {
        guard let t = tables[table] else { throw ReplicaError.unknownTable(table) }
        return t.columns
    }

    /// The primary-key column of a synced table.
    public func primaryKey(of table: String) throws -> String {
        guard let t = tables[table] else { throw ReplicaError.unknownTable(table) }
        return t.primaryKey
    }

    /// Makes `table` synced: checks its shape, installs the shadow table and capture triggers, and gives rows that
    /// already exist a version. Idempotent.
    public func makeSynced(_ table: String) throws {
        guard try database.tableExists(table), !table.hasPrefix("_cp_"), !table.hasPrefix("sqlite_") else {
            throw ReplicaError.unknownTable(table)
        }
        try foldLog()
        try database.transaction {
            let t = try SyncedTable(name: table, database: database)
            try ChangeCapture.check(t, database: database)
            try ChangeCapture.install(t, database: database)
            try database.run("INSERT OR IGNORE INTO _cp_tables(name) VALUES (?)", [.text(table)])
            try setMeta("capture_version", .integer(ChangeCapture.version))
        }
        try loadSchema()
    }

    /// Sets how one column merges. Every replica must use the same rules (the domain schema installs them).
    public func setMergeRule(_ rule: MergeRule, table: String, column: String) throws {
        guard let t = tables[table] else { throw ReplicaError.unknownTable(table) }
        guard t.columnIndex[column] != nil else { throw ReplicaError.unknownColumn(table: table, column: column) }
        try database.run("INSERT OR REPLACE INTO _cp_rules(tbl, col, rule) VALUES (?, ?, ?)", [.text(table), .text(column), .text(rule.encoded)])
        rules[table, default: [:]][column] = rule
    }

    /// The merge rule of one column (LWW unless set).
    public func mergeRule(table: String, column: String) throws -> MergeRule {
        rules[table]?[column] ?? .lww
    }

    /// Runs a schema migration in one transaction, then re-installs capture for every synced table so new columns
    /// get versions and triggers. A failed migration leaves the replica as it was.
    public func migrate(_ body: (Database) throws -> Void) throws {
        // Logged writes name columns by position: fold them while the positions still hold.
        try foldLog()
        try database.transaction {
            try body(database)
            for name in try database.query("SELECT name FROM _cp_tables").compactMap({ $0[0].stringValue }) {
                let t = try SyncedTable(name: name, database: database)
                try ChangeCapture.check(t, database: database)
                try ChangeCapture.install(t, database: database)
            }
        }
        try loadSchema()
    }

    /// The value `find` gives for `key`, found again only when the schema changed (`PRAGMA schema_version`, which any
    /// connection's change of the schema moves): for facts about the schema asked on every request.
    func schemaCached<T>(_ key: String, _ find: () throws -> T) throws -> T {
        let version = try database.scalar("PRAGMA schema_version")?.int64Value ?? 0
        if version != schemaCache.version { schemaCache = (version, [:]) }
        if let known = schemaCache.values[key] as? T { return known }
        let found = try find()
        schemaCache.values[key] = found
        return found
    }

    /// The local sequence: every captured write and every merged row takes the next number.
    public var sequence: Int64 {
        get throws {
            try foldLog()
            return try foldedSequence
        }
    }

    /// The sequence as stored, without folding logged writes first: inside a read transaction that folded before it
    /// began (`changes(after:)`), where folding would have to write.
    var foldedSequence: Int64 {
        get throws { try database.scalar("SELECT seq FROM _cp_state")?.int64Value ?? 0 }
    }

    /// The replica's hybrid logical clock (the last timestamp it issued or received).
    public var clock: HLC {
        get throws {
            try foldLog()
            return HLC(rawValue: try database.scalar("SELECT hlc FROM _cp_state")?.int64Value ?? 0)
        }
    }

    /// A value from the replica's key/value metadata (schema version, server cursor, …).
    public func meta(_ key: String) throws -> Value? {
        try database.scalar("SELECT value FROM _cp_meta WHERE key = ?", [.text(key)])
    }

    public func setMeta(_ key: String, _ value: Value) throws {
        try database.run("INSERT OR REPLACE INTO _cp_meta(key, value) VALUES (?, ?)", [.text(key), value])
    }

    /// The site id behind a shadow-table site number. Another connection to the same file may have registered
    /// the site since this one loaded its cache, so a miss reads the table.
    func siteUUID(_ number: Int64?) -> String? {
        guard let number else { return nil }
        dropSiteCacheAfterRollback()
        if let s = siteIDs[number] { return s }
        guard let s = (try? database.scalar("SELECT uuid FROM _cp_sites WHERE id = ?", [.integer(number)]))??.stringValue else { return nil }
        siteIDs[number] = s
        siteNumbers[s] = number
        return s
    }

    /// The small integer that stands for a site in the shadow tables; registers new sites.
    func siteNumber(_ uuid: String) throws -> Int64 {
        dropSiteCacheAfterRollback()
        if let last = lastSiteNumber, UTF8Bytes.equal(last.uuid, uuid) { return last.number }
        if let n = siteNumbers[uuid] {
            lastSiteNumber = (uuid, n)
            return n
        }
        try database.run("INSERT INTO _cp_sites(uuid) VALUES (?) ON CONFLICT(uuid) DO NOTHING", [.text(uuid)])
        guard let n = try database.scalar("SELECT id FROM _cp_sites WHERE uuid = ?", [.text(uuid)])?.int64Value else {
            throw ReplicaError.malformedChange("site '\(uuid)' could not be registered")
        }
        siteNumbers[uuid] = n
        siteIDs[n] = uuid
        return n
    }

    /// After a rollback the cache may name sites whose rows are gone: it is read again from the table.
    private func dropSiteCacheAfterRollback() {
        guard database.rollbacks != siteCacheRollbacks else { return }
        siteCacheRollbacks = database.rollbacks
        siteIDs = [:]
        siteNumbers = [:]
        lastSiteNumber = nil
        guard let rows = try? database.query("SELECT id, uuid FROM _cp_sites") else { return }
        for row in rows {
            guard let id = row[0].int64Value, let uuid = row[1].stringValue else { continue }
            siteIDs[id] = uuid
            siteNumbers[uuid] = id
        }
    }
}

/// How a column merges. `lww`: last writer wins on (HLC, site). `rank`: a value of higher rank wins whatever its
/// clock (a later workflow stage beats an earlier one); equal ranks fall back to LWW. Values absent from the ranking
/// rank lowest. `parents` (may be empty) is the workflow's tree: each value's previous stage. Two concurrent
/// different values are a conflict unless one lies on the other's path (立案 then 交办 is one road; 不予立案 and
/// 交办 are two). Without a tree, only equal ranks conflict.
public enum MergeRule: Sendable, Equatable {
    case lww
    case rank([String: Int], parents: [String: String] = [:])

    var encoded: String {
        switch self {
        case .lww: return "lww"
        case .rank(let r, let parents):
            let ranks = "rank:" + r.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            if parents.isEmpty { return ranks }
            return ranks + ";parents:" + parents.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        }
    }

    init?(encoded: String) {
        if encoded == "lww" { self = .lww; return }
        guard encoded.hasPrefix("rank:") else { return nil }
        let parts = encoded.dropFirst(5).split(separator: ";", maxSplits: 1)
        func pairs(_ text: Substring) -> [(String, String)]? {
            var out: [(String, String)] = []
            for part in text.split(separator: ",") {
                let kv = part.split(separator: "=", maxSplits: 1)
                guard kv.count == 2 else { return nil }
                out.append((String(kv[0]), String(kv[1])))
            }
            return out
        }
        var ranks: [String: Int] = [:]
        for (k, v) in pairs(parts.first ?? "") ?? [] {
            guard let r = Int(v) else { return nil }
            ranks[k] = r
        }
        var parents: [String: String] = [:]
        if parts.count == 2, parts[1].hasPrefix("parents:") {
            guard let p = pairs(parts[1].dropFirst(8)) else { return nil }
            for (k, v) in p { parents[k] = v }
        }
        self = .rank(ranks, parents: parents)
    }

    func rank(of value: Value) -> Int {
        guard case .rank(let r, _) = self, case .text(let s) = value else { return 0 }
        return r[s] ?? Int.min
    }

    /// Whether two different values written concurrently are a real conflict under this rule.
    func concurrentValuesConflict(_ a: Value, _ b: Value) -> Bool {
        guard a != b else { return false }
        switch self {
        case .lww: return true
        case .rank(_, let parents):
            if parents.isEmpty { return rank(of: a) == rank(of: b) }
            guard case .text(let x) = a, case .text(let y) = b else { return true }
            return !Self.onPath(x, below: y, parents) && !Self.onPath(y, below: x, parents)
        }
    }

    /// Whether `ancestor` is a stage on the way to `value` (bounded walk: the tree is small).
    private static func onPath(_ ancestor: String, below value: String, _ parents: [String: String]) -> Bool {
        var v = value
        for _ in 0..<64 {
            guard let p = parents[v] else { return false }
            if p == ancestor { return true }
            v = p
        }
        return false
    }
}
