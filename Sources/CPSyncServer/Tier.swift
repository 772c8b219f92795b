import CPPCC
import CPSyncCore
import CPSyncProtocol
import Foundation

/// County → city → province (Protocol/README.md §18). A county daemon syncs upward as an office of a higher-level
/// daemon (`cpsyncd uplink`): same messages, same merge, its own cursors. At the higher tier the county is a
/// registered site of kind `county` under the higher tier's root, marked as a *member county* (`cpsyncd tier add`);
/// its subtree is the county's site tree as synced up. Member counties use `/v1/tier/push` and `/v1/tier/pull` only:
///
/// - a push may carry changes written by any site the county owns (its offices and its daemon), never a site id
///   that another county or the higher tier itself owns (refused, 403, nothing applied); the first county to send a
///   site id owns it (`_srv_tier_sites`), which is also how the higher tier tells which county a record came from;
/// - every row a push touches must lie in the county's subtree, before and after (the higher tier's own rows and
///   other counties' rows are out of reach), and the county's own site row is the higher tier's;
/// - members' personal data (`Tier.personalColumns`) never comes up: the uplink leaves it out, the higher tier
///   refuses it, and it never goes down either, so the county's own copy cannot be overwritten from above;
/// - a conflict between two sites of one county is the county's to review (it recorded it when both versions met
///   there): the higher tier does not record it again; conflicts between counties, or with its own edits, it records;
/// - a pull returns the county's subtree only (`TierScope`), without the county's own site row; the county drops the
///   scope cells of rows it never held and forgets, after each pull, the rows that left its subtree
///   (`withoutExitsOfRowsNotHeld`, `forgetOutOfScope`), so it holds nothing of other counties.
public enum Tier {
    /// Members' personal data: phone, WeChat id (schema v3) and any ID-like column added later. It stays in the county.
    public static let personalColumns: [String: Set<String>] = ["members": ["phone", "wechat"]]

    public static func isPersonal(_ c: Change) -> Bool {
        guard let column = c.column else { return false }
        return personalColumns[c.table]?.contains(column) ?? false
    }

    /// Which county owns which site id (version sites and site-tree ids share one namespace).
    static let registrySQL = """
        CREATE TABLE IF NOT EXISTS _srv_tier_sites (
          site TEXT PRIMARY KEY NOT NULL, county TEXT NOT NULL, at INTEGER NOT NULL
        );
        """

    /// Where a site lies relative to a member county's subtree, read from the higher tier's site tree.
    enum Placement { case inside, outside, unknown }

    static func placement(of site: String, county: String, in db: Database) throws -> Placement {
        var current = site
        for _ in 0..<64 {
            if current == county { return .inside }
            guard let row = try db.query("SELECT parent_id FROM sites WHERE id = ?", [.text(current)]).first else {
                // Not in the tree (yet): a site of a later page, or no site at all. Nobody else's.
                return .unknown
            }
            guard let parent = row[0].stringValue else { return .outside }
            current = parent
        }
        return .outside
    }

    /// The site that owns a row of the CPPCC tables: `.text(site)`, `.null` (no site: anyone's), or nil when the
    /// row (or, for a child row, its parent) is not there.
    static func owner(table: String, pk: String, in db: Database) throws -> Value? {
        let sql: String
        switch table {
        case "sites": sql = "SELECT id FROM sites WHERE id = ?"
        case "members", "proposals", "social_reports", "activities": sql = "SELECT site_id FROM \(table) WHERE id = ?"
        case "proposal_cosigners", "proposal_handlers":
            sql = "SELECT p.site_id FROM \(table) c JOIN proposals p ON p.id = c.proposal_id WHERE c.id = ?"
        case "activity_participants": sql = "SELECT a.site_id FROM activity_participants c JOIN activities a ON a.id = c.activity_id WHERE c.id = ?"
        default:
            guard let k = Attachments.kind(of: table) else { return nil }
            sql = "SELECT p.site_id FROM \(k.table) c JOIN \(k.parent) p ON p.id = c.\(k.key) WHERE c.id = ?"
        }
        return try db.query(sql, [.text(pk)]).first?[0]
    }
}

/// What a member county holds of the higher tier: its own subtree's rows (not its own site row, which is the
/// higher tier's), and records without a site. Nothing of other counties: no filed proposals or sites of theirs either.
/// The higher tier reads pull pages with it; the county, on its own database, forgets what it no longer contains
/// (`Tier.forgetOutOfScope`).
public final class TierScope: RowScope {
    public let county: String
    let database: Database
    private var placements: [String: Tier.Placement] = [:]
    private var parents: [String: Value] = [:]

    public init(county: String, database: Database) {
        self.county = county
        self.database = database
    }

    public func scopeColumns(of table: String) -> [String] { Self.scopeColumns(of: table) }

    static func scopeColumns(of table: String) -> [String] {
        switch table {
        case "sites": ["parent_id"]
        case "members", "social_reports", "activities", "proposals": ["site_id"]
        case "proposal_cosigners", "proposal_handlers": ["proposal_id"]
        case "activity_participants": ["activity_id"]
        default: Attachments.kind(of: table).map { [$0.key] } ?? []
        }
    }

    func owns(_ site: Value) throws -> Bool {
        guard case .text(let s) = site else { return site.isNull }
        if let p = placements[s] { return p == .inside }
        let p = try Tier.placement(of: s, county: county, in: database)
        placements[s] = p
        return p == .inside
    }

    private func parentSite(_ table: String, _ id: Value) throws -> Value? {
        guard case .text(let key) = id else { return nil }
        if let p = parents[table + "\u{0}" + key] { return p }
        guard let row = try database.query("SELECT site_id FROM \(table) WHERE id = ?", [.text(key)]).first else { return nil }
        parents[table + "\u{0}" + key] = row[0]
        return row[0]
    }

    public func contains(table: String, pk: String, value: (String) -> Value) throws -> Bool {
        switch table {
        case "sites":
            if pk == county { return false }
            return try owns(.text(pk))
        case "members", "social_reports", "activities", "proposals": return try owns(value("site_id"))
        case "proposal_cosigners", "proposal_handlers":
            guard let site = try parentSite("proposals", value("proposal_id")) else { return false }
            return try owns(site)
        case "activity_participants":
            guard let site = try parentSite("activities", value("activity_id")) else { return false }
            return try owns(site)
        default:
            guard let k = Attachments.kind(of: table), let site = try parentSite(k.parent, value(k.key)) else { return false }
            return try owns(site)
        }
    }
}

/// The county's side of `TierScope`: what a county daemon keeps of what its uplink pulls (Protocol/README.md §18).
extension Tier {
    /// A pull page says that a row left the reader's scope by bringing only the row's scope cells (§14.2). Of a row
    /// this county does not hold there is nothing to leave — the page read it out of the county's subtree at the
    /// higher tier, and the county never had it: another county's new record, site or child, or the higher tier's own
    /// site. Those cells are dropped before the merge, so not even a key or a site id of another county is stored here,
    /// where the county's own offices would pull it. (The higher tier cannot tell such a row from one that left: it
    /// keeps no history of what a reader held.)
    public static func withoutExitsOfRowsNotHeld(_ changes: [Change], in replica: Replica) throws -> [Change] {
        var onlyScopeCells: [RowKey: Bool] = [:]
        for c in changes {
            // A row's existence and the knowledge of its last death come with its scope cells (§14.2: so that a
            // reader sees a new life begin); they say nothing the county needs of a row it never held either.
            let exit = c.column.map { c.causalLength % 2 == 0 || TierScope.scopeColumns(of: c.table).contains($0) } ?? true
            onlyScopeCells[RowKey(c), default: true] = onlyScopeCells[RowKey(c), default: true] && exit
        }
        var drop: Set<RowKey> = []
        for (key, exit) in onlyScopeCells where exit {
            if try !replica.holdsRow(table: key.table, pk: key.pk) { drop.insert(key) }
        }
        return drop.isEmpty ? changes : changes.filter { !drop.contains(RowKey($0)) }
    }

    /// What places a row in the site tree: a cell of its own (a site's parent, a record's site), or its parent row.
    enum Placing { case cell(String), parent(table: String, key: String) }

    static func placing(of table: String) -> Placing? {
        switch table {
        case "sites": .cell("parent_id")
        case "members", "social_reports", "activities", "proposals": .cell("site_id")
        case "proposal_cosigners", "proposal_handlers": .parent(table: "proposals", key: "proposal_id")
        case "activity_participants": .parent(table: "activities", key: "activity_id")
        default: Attachments.kind(of: table).map { .parent(table: $0.parent, key: $0.key) }
        }
    }

    /// After an uplink pull, the county forgets the rows out of its subtree — as an office does after its pull
    /// (`SiteScope.purge`), with the county's scope at the higher tier (`TierScope`, read from the county's own site
    /// tree): a row the higher tier moved to another county, and its children. A forget leaves no trace in the change
    /// log: it is not a delete, and nothing of it reaches the county's offices. Spared:
    /// - the county's own site row (the root of its tree here);
    /// - rows with changes of the county's own sites (`own`) the higher tier has not acknowledged (after `pushedSince`
    ///   in the county's change log): they go first;
    /// - rows the higher tier refused (`held`): they wait, listed, until a person acts;
    /// - rows the county placed itself (the placing cell's current version is one of `own`'s): only the higher tier
    ///   moves a row out of the county, and what the county wrote outside its tree (a site id it does not know) stays
    ///   the county's to fix;
    /// - the children of a spared row, and of a row deleted here (they did not leave the county).
    ///
    /// Returns how many rows were forgotten.
    @discardableResult
    public static func forgetOutOfScope(_ replica: Replica, county: String, own: Set<String>, pushedSince: Int64, held: Set<RowKey>) throws -> Int {
        func spared(_ table: String, _ pk: String) throws -> Bool {
            if table == "sites" && pk == county { return true }
            if held.contains(RowKey(table: table, pk: pk)) { return true }
            if try replica.hasUnsentOwnChanges(table: table, pk: pk, after: pushedSince, writers: own) { return true }
            switch placing(of: table) {
            case .cell(let column):
                return try replica.writer(table: table, pk: pk, column: column).map(own.contains) ?? false
            case .parent(let parent, let key):
                guard let parentKey = try replica.database.scalar("SELECT \(key) FROM \(table) WHERE id = ?", [.text(pk)])?.stringValue
                else { return false }
                guard try replica.holdsRow(table: parent, pk: parentKey) else {
                    // A child of a record deleted here (an attachment, a participant whose record someone deleted
                    // meanwhile) did not leave the county: it stays, as at the county of a single tier. A child of a
                    // record forgotten here (moved to another county) leaves with it.
                    return try replica.causalLength(table: parent, pk: parentKey).map { $0 % 2 == 0 } ?? false
                }
                return try spared(parent, parentKey)
            case nil:
                // A table the site tree does not place is not the county's scope to decide.
                return true
            }
        }
        return try SiteScope.purge(replica, to: TierScope(county: county, database: replica.database), sparing: spared)
    }
}

extension ServerStore {
    /// Which registered sites are member counties (`cpsyncd tier add`). A plain site of kind county with a parent
    /// (e.g. 县政协机关 under the county) is an office, not a member county.
    static let tierMembersSQL = """
        CREATE TABLE IF NOT EXISTS _srv_tier_members (site TEXT PRIMARY KEY NOT NULL, created_at INTEGER NOT NULL);
        """

    /// Registers a county below this server (a county under this city, a city under this province): a site of kind
    /// county under `parent`, marked as a member county. Returns its token (shown once).
    public func addMemberCounty(id: String, name: String, parent: String, actor: String = ServerStore.commandLineActor()) throws -> String {
        if try sites().contains(where: { $0.id == id }) { throw ServerError.siteExists(id) }
        // The mark goes first: a crash between the two leaves a mark without a site, which means nothing.
        try write { r in
            try r.database.transaction {
                try r.database.execute(Self.tierMembersSQL)
                try r.database.run("INSERT OR IGNORE INTO _srv_tier_members(site, created_at) VALUES (?, ?)",
                                   [.text(id), .integer(HLC.wallClock().milliseconds)])
            }
        }
        do {
            return try addSite(id: id, name: name, kind: SiteKind.county.rawValue, parent: parent, actor: actor)
        } catch {
            try? write { r in try r.database.run("DELETE FROM _srv_tier_members WHERE site = ?", [.text(id)]) }
            throw error
        }
    }

    /// The member counties (registered with `addMemberCounty`), by id.
    public func memberCounties() throws -> [RegisteredSite] {
        let members = try read { r -> Set<String> in
            guard try r.database.scalar("SELECT count(*) FROM sqlite_master WHERE name = '_srv_tier_members'")?.int64Value == 1 else { return [] }
            return Set(try r.database.query("SELECT site FROM _srv_tier_members").compactMap { $0[0].stringValue })
        }
        return try sites().filter { members.contains($0.id) && $0.kind == SiteKind.county.rawValue }
    }

    /// Whether `site` is a member county (registered with `cpsyncd tier add`). It syncs through `/v1/tier/*` only.
    public func isMemberCounty(_ site: String) -> Bool {
        (try? read { r in
            try r.database.scalar("""
                SELECT count(*) FROM _srv_sites s JOIN _srv_tier_members m ON m.site = s.id WHERE s.id = ? AND s.kind = 'county'
                """, [.text(site)])?.int64Value == 1
        }) ?? false
    }

    /// Every version site this replica knows (whoever wrote what it holds), for checking the bases of a push: an
    /// office may have edited a cell the higher tier wrote.
    public func knownVersionSites() -> Set<String> {
        Set((try? read { r in try r.database.query("SELECT uuid FROM _cp_sites").compactMap { $0[0].stringValue } }) ?? [])
    }

    /// The member county that owns `site` (sent it up first), at a higher tier; nil for the higher tier's own sites,
    /// and at a county.
    public func tierCounty(of site: String) -> String? {
        try? read { r in
            guard try r.database.tableExists("_srv_tier_sites") else { return nil }
            return try r.database.scalar("SELECT county FROM _srv_tier_sites WHERE site = ?", [.text(site)])?.stringValue
        }
    }

    /// The site ids each member county owns (`site`, `county`), for attribution.
    public func tierSites() throws -> [(site: String, county: String)] {
        try read { r in
            guard try r.database.scalar("SELECT count(*) FROM sqlite_master WHERE name = '_srv_tier_sites'")?.int64Value == 1 else { return [] }
            return try r.database.query("SELECT site, county FROM _srv_tier_sites ORDER BY county, site").map {
                (site: $0[0].stringValue ?? "", county: $0[1].stringValue ?? "")
            }
        }
    }
}

/// The higher tier's side of `cpsyncd uplink`: a member county's push and pull.
public struct TierService: Sendable {
    public let store: ServerStore
    public let maxSkewMs: Int64
    public let log: EventLog

    public init(store: ServerStore, maxSkewMs: Int64 = ProtocolLimits.maxSkewMs, log: EventLog = EventLog()) {
        self.store = store
        self.maxSkewMs = maxSkewMs
        self.log = log
    }

    /// `/v1/push` and `/v1/pull` refuse a member county: kind county would let it write and read everything there.
    /// Told whether the site is one (`ServerStore.authenticateNotingTier` reads it with the token).
    public func refuseOfficeSync(_ principal: Principal, memberCounty: Bool) throws(ErrorBody) {
        guard case .site(let site) = principal, memberCounty else { return }
        throw ErrorBody(code: .forbidden,
                        message: "site '\(site)' is a county below this server (`cpsyncd tier add`): it syncs with `cpsyncd uplink` (/v1/tier/push and /v1/tier/pull), not as an office; nothing was applied",
                        site: site)
    }

    func requireMember(_ principal: Principal) throws(ErrorBody) -> String {
        guard case .site(let site) = principal else {
            throw ErrorBody(code: .forbidden, message: "tier sync needs the token of a county registered here, not an admin token")
        }
        guard store.isMemberCounty(site) else {
            throw ErrorBody(code: .forbidden,
                            message: "site '\(site)' is not a county below this server; register the county with `cpsyncd tier add --id \(site) --name NAME --parent CITY` at this server",
                            site: site)
        }
        return site
    }

    /// Applies a member county's push in one transaction, idempotently (the batch table of offices, keyed by site).
    public func push(_ body: [UInt8], principal: Principal, now: Int64 = HLC.wallClock().milliseconds) throws(ErrorBody) -> ([UInt8], Bool) {
        let county = try requireMember(principal)
        let request = try decodePush(body, county: county)
        try checkChanges(request.changes, county: county, now: now)
        let digest = SyncService.digest(request.changes)
        let started = Date()
        do {
            let (response, replayed, result) = try store.write { r -> ([UInt8], Bool, MergeResult?) in
                try r.database.transaction { try apply(request, county: county, digest: digest, now: now, in: r) }
            }
            log.event("tier_push", ["county": .text(county), "batch": .text(request.batchId), "changes": .integer(Int64(request.changes.count)),
                                    "applied": .integer(Int64(result?.applied ?? 0)), "conflicts": .integer(Int64(result?.conflicts.count ?? 0)),
                                    "replayed": .integer(replayed ? 1 : 0), "ms": .integer(Int64(Date().timeIntervalSince(started) * 1000))])
            return (response, replayed)
        } catch let e as ErrorBody {
            log.event("tier_push_refused", ["county": .text(county), "batch": .text(request.batchId), "error": .text(e.message)])
            throw e
        } catch {
            throw failure(error, applying: request)
        }
    }

    /// The push request in `body`, checked before any change is looked at: protocol and schema version, the
    /// county's own site, a batch id.
    private func decodePush(_ body: [UInt8], county: String) throws(ErrorBody) -> PushRequest {
        if let v = body.withUnsafeBytes({ PushRequest.peekProtocolVersion($0) }), !ProtocolVersion.supported.contains(v) {
            throw ErrorBody.protocolVersion(v)
        }
        let request: PushRequest
        do {
            request = try PushRequest.decode(body, limits: WireLimits(maxChanges: ProtocolLimits.maxChangesPerPush))
        } catch {
            var e = error.errorBody
            e.message += "; nothing was applied"
            throw e
        }
        try SyncService(store: store).checkSchema(request.schemaVersion)
        guard request.site == county else {
            throw ErrorBody(code: .forbidden, message: "this token belongs to county '\(county)', not '\(request.site)'; nothing was applied", site: request.site)
        }
        guard !request.batchId.isEmpty, request.batchId.utf8.count <= 128 else {
            throw ErrorBody(code: .badRequest, message: "batchId must be 1–128 characters")
        }
        return request
    }

    /// Refuses a push that carries members' personal data, or a version too far ahead of this server's clock.
    private func checkChanges(_ changes: [Change], county: String, now: Int64) throws(ErrorBody) {
        if let i = changes.firstIndex(where: Tier.isPersonal) {
            let c = changes[i]
            throw ErrorBody(code: .forbidden,
                            message: "change \(i) carries \(c.table).\(c.column ?? ""), members' personal data, which stays in the county and never goes to a higher tier; nothing was applied",
                            site: county, table: c.table, column: c.column, index: i)
        }
        if let ahead = changes.filter({ !SyncService.isKnowledge($0) && ClockPolicy.tooFarAhead($0.version, base: $0.base, nowMs: now, maxSkewMs: maxSkewMs) })
            .map(\.version.hlc.milliseconds).max() {
            throw ErrorBody.clockSkew(site: county, skewMs: ahead - now, maxSkewMs: maxSkewMs)
        }
    }

    /// The push inside its transaction: the stored answer of a batch seen before (replayed: true), else the merge of
    /// its changes, checked against the county's sites and rows, and its answer stored.
    private func apply(_ request: PushRequest, county: String, digest: String, now: Int64, in r: Replica) throws -> ([UInt8], Bool, MergeResult?) {
        try r.database.execute(Tier.registrySQL)
        if let bytes = try SyncService.storedAnswer(for: request, site: county, digest: digest, in: r.database, naming: "county \(county)") {
            return (bytes, true, nil)
        }
        try SyncService.checkChanges(request.changes, in: r)
        let claims = try checkSiteIDs(request.changes, county: county, db: r.database)
        let keys = Self.rows(of: request.changes)
        try checkRows(keys, request.changes, county: county, db: r.database, when: "before")
        var result = try r.merge(request.changes, actingFor: county, checked: true)
        try checkRows(keys, request.changes, county: county, db: r.database, when: "after")
        try dropCountyConflicts(&result, county: county, claims: claims, db: r.database)
        for s in claims.sorted() {
            try r.database.run("INSERT OR IGNORE INTO _srv_tier_sites(site, county, at) VALUES (?, ?, ?)",
                               [.text(s), .text(county), .integer(now)])
        }
        let response = PushResponse(batchId: request.batchId, result: result, serverSeq: try r.sequence).encoded()
        try SyncService.storeAnswer(response, for: request, site: county, digest: digest, in: r.database, now: now)
        return (response, false, result)
    }

    /// Forgets the merge's conflicts between two versions from sites of this county (`claims`: the sites this push
    /// makes its own): the county recorded each of them when they met there.
    private func dropCountyConflicts(_ result: inout MergeResult, county: String, claims: Set<String>, db: Database) throws {
        let countySites = Set(try db.query("SELECT site FROM _srv_tier_sites WHERE county = ?", [.text(county)])
            .compactMap { $0[0].stringValue }).union(claims).union([county])
        var kept: [Conflict] = []
        for c in result.conflicts {
            if countySites.contains(c.winnerVersion.site) && countySites.contains(c.otherVersion.site) {
                try db.run("DELETE FROM _cp_conflicts WHERE id = ?", [.integer(Int64(c.id) ?? -1)])
            } else {
                kept.append(c)
            }
        }
        result.conflicts = kept
    }

    /// The refusal sent for an error other than an `ErrorBody` while the push was applied (nothing was).
    private func failure(_ error: any Error, applying request: PushRequest) -> ErrorBody {
        if let problem = StorageProblem(error, databasePath: store.databasePath) { return problem.errorBody(nothingApplied: true) }
        if let sqlite = SyncService.sqliteError(error), sqlite.isConstraint {
            return ConstraintLocator(store: store).errorBody(for: sqlite, in: request.changes)
        }
        if let e = error as? ReplicaError { return SyncService.errorBody(e, databasePath: store.databasePath) }
        return ErrorBody(code: .serverError, message: "could not apply the county's push: \(error); nothing was applied")
    }

    /// Site ids of a push: every version site of what it wrote and every site-tree row it sends must be this
    /// county's, or new here (then it becomes this county's); bases and knowledge may name any site. Returns the new
    /// ids.
    func checkSiteIDs(_ changes: [Change], county: String, db: Database) throws -> Set<String> {
        var owners: [String: String] = [:]
        for row in try db.query("SELECT site, county FROM _srv_tier_sites") {
            if let s = row[0].stringValue, let c = row[1].stringValue { owners[s] = c }
        }
        // Ids this server uses itself: its own, its registered sites (other counties' roots, its own offices), and
        // every version site it holds that no county claimed.
        var own = Set(try db.query("SELECT id FROM _srv_sites WHERE id != ?", [.text(county)]).compactMap { $0[0].stringValue })
        own.insert(store.siteID)
        let known = Set(try db.query("SELECT uuid FROM _cp_sites").compactMap { $0[0].stringValue })
        own.formUnion(known.filter { owners[$0] == nil })
        var claims: Set<String> = []
        func check(_ site: String, index i: Int, what: String) throws {
            if site == county || owners[site] == county || claims.contains(site) { return }
            if let other = owners[site] {
                throw ErrorBody(code: .siteIDTaken,
                                message: "change \(i) carries site id '\(site)' (\(what)), which county '\(other)' already uses here; site ids must be unique across the counties of this tier (qualify them with the 6-digit division code, e.g. '\(county)-\(site)'); nothing was applied",
                                site: site, index: i)
            }
            if own.contains(site) {
                throw ErrorBody(code: .siteIDTaken,
                                message: "change \(i) carries site id '\(site)' (\(what)), which this higher-tier server uses itself; give the county's office or daemon another id (qualify it with the 6-digit division code, e.g. '\(county)-\(site)'); nothing was applied",
                                site: site, index: i)
            }
            claims.insert(site)
        }
        for (i, c) in changes.enumerated() {
            if c.table == "sites" && c.pk == county {
                throw ErrorBody(code: .forbidden,
                                message: "change \(i) writes the county's own site row '\(county)', which belongs to this higher tier (it places the county in its tree); nothing was applied",
                                site: county, table: "sites", index: i)
            }
            if c.table == "sites" { try check(c.pk, index: i, what: "a site of the county's tree") }
            if !SyncService.isKnowledge(c) { try check(c.version.site, index: i, what: "the writer of the change") }
        }
        // Versions a change only names (its base, the knowledge of a death) may be anyone's this county has seen:
        // never refused; one nobody here uses yet is one of the county's own (an office whose edits were all
        // overwritten before they went up), and becomes the county's.
        for c in changes {
            for s in [c.base?.site, SyncService.isKnowledge(c) ? c.version.site : nil].compactMap({ $0 })
            where s != county && owners[s] == nil && !own.contains(s) {
                claims.insert(s)
            }
        }
        return claims
    }

    static func rows(of changes: [Change]) -> [(key: RowKey, index: Int)] {
        var seen: Set<RowKey> = []
        var out: [(key: RowKey, index: Int)] = []
        for (i, c) in changes.enumerated() where seen.insert(RowKey(c)).inserted { out.append((RowKey(c), i)) }
        return out
    }

    /// Every row a push touches lies in the county's subtree (or has no site), before and after the merge.
    func checkRows(_ keys: [(key: RowKey, index: Int)], _ changes: [Change], county: String, db: Database, when: String) throws {
        var placements: [String: Tier.Placement] = [:]
        for (key, i) in keys {
            guard case .text(let site)? = try Tier.owner(table: key.table, pk: key.pk, in: db) else { continue }
            let p = try placements[site] ?? Tier.placement(of: site, county: county, in: db)
            placements[site] = p
            guard p == .outside else { continue }
            let message = when == "before"
                ? "change \(i) writes \(key.table) row '\(key.pk.prefix(80))', which belongs to site '\(site)' outside county '\(county)'; a county writes its own subtree only; nothing was applied"
                : "change \(i) would place \(key.table) row '\(key.pk.prefix(80))' at site '\(site)', outside county '\(county)'; nothing was applied"
            throw ErrorBody(code: .forbidden, message: message, site: county, table: key.table, index: i)
        }
    }

    /// A member county's pull: its subtree only, without members' personal data.
    public func pull(after: Int64, since: Int64? = nil, limit: Int, maxBytes: Int? = nil, principal: Principal) throws(ErrorBody) -> PullResponse {
        let county = try requireMember(principal)
        do {
            let page = try store.read { r -> ChangePage in
                let latest = try r.sequence
                if after > latest {
                    throw ErrorBody(code: .cursorAhead,
                                    message: "cursor \(after) is beyond this server's latest change \(latest): its database was restored from an older backup; the uplink pulls everything again (nothing is lost)")
                }
                return try r.changes(after: after, since: since, maxChanges: limit, maxBytes: maxBytes ?? Int.max,
                                     scope: TierScope(county: county, database: r.database))
            }
            let changes = page.changes.filter { !Tier.isPersonal($0) }
            log.event("tier_pull", ["county": .text(county), "after": .integer(after), "cursor": .integer(page.cursor),
                                    "changes": .integer(Int64(changes.count))])
            return PullResponse(changes: changes, cursor: page.cursor, hasMore: page.hasMore)
        } catch let e as ErrorBody {
            throw e
        } catch let e as ReplicaError {
            throw SyncService.errorBody(e, databasePath: store.databasePath)
        } catch {
            throw ErrorBody(code: .serverError, message: "could not read changes: \(error)")
        }
    }
}

extension ServerStore {
    /// A county that syncs up (`cpsyncd uplink` has run): the sites whose versions came from the higher tier — every
    /// version site that is not the county's own, its registered sites' or (a city) its member counties' — so that
    /// a conflict with the higher tier's own edit is reviewed there only (`DisplacedEdits.recordedExcept`).
    static func noteUpstreamSites(_ r: Replica) throws {
        guard try r.meta("uplink.epoch") != nil || r.meta("uplink.pull_cursor") != nil else { return }
        let own = Set(try r.database.query("SELECT id FROM sites UNION SELECT id FROM _srv_sites").compactMap { $0[0].stringValue }).union([r.siteID])
            .union(try r.database.tableExists("_srv_tier_sites")
                ? r.database.query("SELECT site FROM _srv_tier_sites").compactMap { $0[0].stringValue } : [])
        r.upstreamSites = Set(try r.database.query("SELECT uuid FROM _cp_sites").compactMap { $0[0].stringValue }).subtracting(own)
    }
}
