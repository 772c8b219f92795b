import CPPCC
import CPSyncCore
import Foundation

// Accounts and the site tree on the county server: rotating, revoking and re-activating tokens, moving sites, and
// the audit trail of all of it (`_srv_audit`, written in the same transaction as each change).

/// What an account-audit entry records.
public enum AccountAction: String, Sendable, CaseIterable {
    case siteAdd = "site-add"
    case siteRevoke = "site-revoke"
    case siteActivate = "site-activate"
    case siteToken = "site-token"
    case siteMove = "site-move"
    /// A site's kind corrected (a township entered as a street): the admin page.
    case siteKind = "site-kind"
    case adminAdd = "admin-add"
    case adminRevoke = "admin-revoke"
    /// An active admin's token replaced (`cpsyncd admin token`, or the admin page).
    case adminToken = "admin-token"
    /// A revoked admin given a new token.
    case adminActivate = "admin-activate"
    /// A record moved to another site (a member changing township): the county's action, pushed by its office.
    case recordMove = "record-move"
    /// An office deleted a record that had meanwhile left its area (transferred, re-parented): the delete was not
    /// applied (the record lives on where it went), and is kept here for the admin (Protocol §13.6).
    case recordDeleteNotApplied = "record-delete-not-applied"
}

/// One change to sites, tokens or admins: who (`cli:<os user>`), when, what, to which site or admin.
public struct AccountEvent: Sendable, Equatable {
    public let id: Int64
    /// Milliseconds since 1970.
    public let at: Int64
    public let actor: String
    public let action: String
    /// The site id or admin name changed.
    public let subject: String
    /// `key=value` pairs (e.g. `from=county to=huashan`); tokens appear only as the first 8 hex digits of their SHA-256.
    public let detail: String
}

/// An admin registered on the server.
public struct RegisteredAdmin: Sendable, Equatable {
    public let name: String
    public let createdAt: Int64
    public let revoked: Bool
}

extension ServerStore {
    static let auditTableSQL = """
        CREATE TABLE IF NOT EXISTS _srv_audit (
          id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
          subject TEXT NOT NULL, detail TEXT NOT NULL DEFAULT ''
        );
        """

    /// The actor of a command run on the server: `cli:` and the OS user (USER, LOGNAME, getlogin(), then the name
    /// the password database gives the process's user — under systemd, cron or `sudo -u` the first three are often
    /// unset); `cli:uid N` only for a user id without a name.
    public static func commandLineActor(environment: [String: String] = ProcessInfo.processInfo.environment,
                                        uid: uid_t = getuid()) -> String {
        for key in ["USER", "LOGNAME"] {
            if let v = environment[key], !v.isEmpty { return "cli:" + v }
        }
        if let login = getlogin(), login.pointee != 0 { return "cli:" + String(cString: login) }
        if let name = userName(uid) { return "cli:" + name }
        return "cli:uid\(uid)"
    }

    /// The login name of `uid` in the password database (getpwuid_r), if it has one.
    static func userName(_ uid: uid_t) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        return buffer.withUnsafeMutableBufferPointer { b -> String? in
            var entry = passwd()
            var found: UnsafeMutablePointer<passwd>?
            guard getpwuid_r(uid, &entry, b.baseAddress!, b.count, &found) == 0, found != nil,
                  let name = entry.pw_name, name.pointee != 0 else { return nil }
            return String(cString: name)
        }
    }

    /// Names a token in the audit trail without revealing it.
    static func tokenTag(_ token: String) -> String { String(SHA256.hex(token).prefix(8)) }

    /// Appends an audit entry; callers run it inside the transaction of the change it records.
    static func audit(_ db: Database, actor: String, action: AccountAction, subject: String, detail: String) throws {
        try db.run("INSERT INTO _srv_audit(at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
                   [.integer(HLC.wallClock().milliseconds), .text(actor), .text(action.rawValue), .text(subject), .text(detail)])
    }

    /// Issues a new token for a site, printed once; the old one stops working at once. On a revoked site this
    /// re-activates it.
    public func issueSiteToken(_ id: String, actor: String = ServerStore.commandLineActor()) throws -> String {
        try replaceSiteToken(id, actor: actor, requireRevoked: false)
    }

    /// Re-activates a revoked site with a new token; refuses an active one (`issueSiteToken` rotates).
    public func activateSite(_ id: String, actor: String = ServerStore.commandLineActor()) throws -> String {
        try replaceSiteToken(id, actor: actor, requireRevoked: true)
    }

    private func replaceSiteToken(_ id: String, actor: String, requireRevoked: Bool) throws -> String {
        let token = Self.newToken()
        try write { r in
            try r.database.transaction {
                guard let revoked = try r.database.scalar("SELECT revoked FROM _srv_sites WHERE id = ?", [.text(id)])?.int64Value else {
                    throw ServerError.unknownSite(id)
                }
                if requireRevoked && revoked == 0 { throw ServerError.siteActive(id) }
                try r.database.run("UPDATE _srv_sites SET token_hash = ?, revoked = 0 WHERE id = ?", [.text(SHA256.hex(token)), .text(id)])
                try Self.audit(r.database, actor: actor, action: revoked == 1 ? .siteActivate : .siteToken, subject: id,
                               detail: "token=\(Self.tokenTag(token))")
            }
        }
        return token
    }

    /// Re-parents a site: `_srv_sites.parent` and the synced `sites.parent_id` (captured and folded here, so the
    /// change reaches every office). Returns false when the site already has that parent (nothing written). The
    /// shape of the tree is the one rule of `mayPlace`: the root does not move, no cycle, kinds nest.
    @discardableResult
    public func moveSite(_ id: String, parent: String, actor: String = ServerStore.commandLineActor()) throws -> Bool {
        guard id != siteID else { throw ServerError.moveServerSite(id) }
        return try write { r in
            try r.database.transaction {
                let db = r.database
                guard let row = try db.query("SELECT kind, parent FROM _srv_sites WHERE id = ?", [.text(id)]).first else {
                    throw ServerError.unknownSite(id)
                }
                let current = row[1].stringValue
                // The county at the top of the tree stays there; an office left without a parent by an older release
                // (or a second top) may still be placed.
                if try Self.treeRoot(db) == id { throw ServerError.moveRoot(id) }
                if current == parent { return false }
                guard try db.scalar("SELECT count(*) FROM sites WHERE id = ?", [.text(parent)])?.int64Value == 1 else {
                    throw ServerError.unknownParent(parent)
                }
                // Walk up from the new parent: meeting the site means the parent is inside its own subtree. Bounded,
                // so a tree already broken by hand cannot loop forever.
                var cursor: String? = parent
                var steps = 0
                while let c = cursor, steps < 10_000 {
                    if c == id { throw ServerError.moveIntoOwnSubtree(site: id, parent: parent) }
                    cursor = try db.scalar("SELECT parent_id FROM sites WHERE id = ?", [.text(c)])?.stringValue
                    steps += 1
                }
                try Self.checkPlacement(db, site: id, kind: row[0].stringValue ?? "", parent: parent)
                try db.run("UPDATE _srv_sites SET parent = ? WHERE id = ?", [.text(parent), .text(id)])
                try db.run("UPDATE sites SET parent_id = ? WHERE id = ?", [.text(parent), .text(id)])
                if db.changes == 0 {
                    try db.run("INSERT INTO sites(id, name, kind, parent_id) SELECT id, name, kind, parent FROM _srv_sites WHERE id = ?", [.text(id)])
                }
                try Self.audit(db, actor: actor, action: .siteMove, subject: id, detail: "from=\(current ?? "-") to=\(parent)")
                // Versions are written here, by the writer, so pulls on reader connections only ever read.
                try r.foldLog()
                return true
            }
        }
    }

    /// Corrects a site's kind (a station entered as a township): `_srv_sites.kind` and the synced `sites.kind`, so
    /// every office receives it. Returns false when the site already has that kind (nothing written). Only townships,
    /// streets and stations change kind: a county-kind site pulls and writes like the county, so becoming one (or
    /// ceasing to be one) is another site, not a correction. The tree keeps its shape (`mayPlace`), under the site's
    /// parent and for the sites under it.
    @discardableResult
    public func setSiteKind(_ id: String, kind: String, actor: String = ServerStore.commandLineActor()) throws -> Bool {
        guard SiteKind(rawValue: kind) != nil else { throw ServerError.badKind(kind) }
        return try write { r in
            try r.database.transaction {
                let db = r.database
                guard let row = try db.query("SELECT kind, parent FROM _srv_sites WHERE id = ?", [.text(id)]).first else {
                    throw ServerError.unknownSite(id)
                }
                let current = row[0].stringValue ?? ""
                if current == kind { return false }
                if current == SiteKind.county.rawValue || kind == SiteKind.county.rawValue {
                    throw ServerError.countyKindChange(site: id, from: current, to: kind)
                }
                if let parent = row[1].stringValue { try Self.checkPlacement(db, site: id, kind: kind, parent: parent) }
                for child in try db.query("SELECT id, kind FROM sites WHERE parent_id = ? ORDER BY id", [.text(id)]) {
                    let (childID, childKind) = (child[0].stringValue ?? "", child[1].stringValue ?? "")
                    if !Self.mayPlace(childKind, under: kind, parentIsRoot: false) {
                        throw ServerError.badPlacement(site: childID, kind: childKind, parent: id, parentKind: kind)
                    }
                }
                try db.run("UPDATE _srv_sites SET kind = ? WHERE id = ?", [.text(kind), .text(id)])
                try db.run("UPDATE sites SET kind = ? WHERE id = ?", [.text(kind), .text(id)])
                if db.changes == 0 {
                    try db.run("INSERT INTO sites(id, name, kind, parent_id) SELECT id, name, kind, parent FROM _srv_sites WHERE id = ?", [.text(id)])
                }
                try Self.audit(db, actor: actor, action: .siteKind, subject: id, detail: "from=\(current) to=\(kind)")
                // Versions are written here, by the writer, so pulls on reader connections only ever read.
                try r.foldLog()
                return true
            }
        }
    }

    // MARK: the shape of the site tree — one rule for every path that creates or moves a site (`site add|move`,
    // the admin page and API, `tier add`)

    /// The top of the site tree: the first registered site of kind county without a parent (the data directory's
    /// own county; at a city or province daemon, the city's or province's own committee). nil before it is added.
    static func treeRoot(_ db: Database) throws -> String? {
        try db.scalar("SELECT id FROM _srv_sites WHERE parent IS NULL AND kind = 'county' ORDER BY created_at, rowid LIMIT 1")?.stringValue
    }

    /// Where a new site goes: the first site is the root (kind county, no parent); every later one has a parent, by
    /// default the root, whose kind must hold it. Returns the parent (nil for the root).
    static func placeNewSite(_ db: Database, site: String, kind: String, parent: String?) throws -> String? {
        guard let root = try treeRoot(db) else {
            guard kind == SiteKind.county.rawValue, parent == nil else { throw ServerError.noRoot(site: site, kind: kind) }
            return nil
        }
        let parent = parent ?? root
        guard try db.scalar("SELECT count(*) FROM sites WHERE id = ?", [.text(parent)])?.int64Value != 0 else {
            throw ServerError.unknownParent(parent)
        }
        try checkPlacement(db, site: site, kind: kind, parent: parent, root: root)
        return parent
    }

    /// Which kind of site may sit under which. One root, of kind county; under it townships, streets, stations, and
    /// sites of kind county directly under it only — the county committee's own office (区县政协机关), which writes
    /// and pulls everything like the county, or at a city or province daemon a county or city below it (`tier add`);
    /// under a township or a street, stations; under a station or a county-kind site below the root, nothing.
    public static func mayPlace(_ kind: String, under parentKind: String, parentIsRoot: Bool) -> Bool {
        switch (parentKind, kind) {
        case ("county", "county"), ("county", "township"), ("county", "street"), ("county", "station"): parentIsRoot
        case ("township", "station"), ("street", "station"): true
        default: false
        }
    }

    /// Refuses a site of `kind` under `parent` when the kinds do not nest (a township under a station, a street under
    /// a township, a county-kind office below a township).
    static func checkPlacement(_ db: Database, site: String, kind: String, parent: String, root: String? = nil) throws {
        let root = try root ?? treeRoot(db)
        let parentKind = try db.scalar("SELECT kind FROM sites WHERE id = ?", [.text(parent)])?.stringValue ?? ""
        if !mayPlace(kind, under: parentKind, parentIsRoot: parent == root) {
            throw ServerError.badPlacement(site: site, kind: kind, parent: parent, parentKind: parentKind)
        }
    }

    public func admins() throws -> [RegisteredAdmin] {
        try read { r in
            try r.database.query("SELECT name, created_at, revoked FROM _srv_admins ORDER BY name").map {
                RegisteredAdmin(name: $0[0].stringValue ?? "", createdAt: $0[1].int64Value ?? 0, revoked: $0[2].int64Value == 1)
            }
        }
    }

    /// Revokes an admin's token; the next request with it is refused. The last active admin is never revoked —
    /// from the page or the command line alike: nobody could sign in to the page or resolve conflicts any more
    /// (`cpsyncd admin add` another first; `cpsyncd admin token NAME` replaces a lost or leaked token).
    public func revokeAdmin(_ name: String, actor: String = ServerStore.commandLineActor()) throws {
        try write { r in
            try r.database.transaction {
                guard let revoked = try r.database.scalar("SELECT revoked FROM _srv_admins WHERE name = ?", [.text(name)])?.int64Value else {
                    throw ServerError.unknownAdmin(name)
                }
                if revoked == 1 { throw ServerError.adminAlreadyRevoked(name) }
                if try r.database.scalar("SELECT count(*) FROM _srv_admins WHERE revoked = 0 AND name <> ?", [.text(name)])?.int64Value == 0 {
                    throw ServerError.lastActiveAdmin(name)
                }
                try r.database.run("UPDATE _srv_admins SET revoked = 1 WHERE name = ?", [.text(name)])
                try Self.audit(r.database, actor: actor, action: .adminRevoke, subject: name, detail: "")
            }
        }
    }

    /// Issues a new token for an admin, printed once; the old one stops working at once. A revoked admin is
    /// re-activated by it.
    public func issueAdminToken(_ name: String, actor: String = ServerStore.commandLineActor()) throws -> String {
        let token = Self.newToken()
        try write { r in
            try r.database.transaction {
                guard let revoked = try r.database.scalar("SELECT revoked FROM _srv_admins WHERE name = ?", [.text(name)])?.int64Value else {
                    throw ServerError.unknownAdmin(name)
                }
                try r.database.run("UPDATE _srv_admins SET token_hash = ?, revoked = 0 WHERE name = ?", [.text(SHA256.hex(token)), .text(name)])
                try Self.audit(r.database, actor: actor, action: revoked == 1 ? .adminActivate : .adminToken, subject: name,
                               detail: "token=\(Self.tokenTag(token))")
            }
        }
        return token
    }

    /// The account audit trail, oldest first; `from`/`to` bound `at` (inclusive, exclusive).
    public func accountEvents(from: Int64? = nil, to: Int64? = nil) throws -> [AccountEvent] {
        try read { r in
            try r.database.query("""
                SELECT id, at, actor, action, subject, detail FROM _srv_audit
                WHERE at >= ? AND at < ? ORDER BY id
                """, [.integer(from ?? Int64.min), .integer(to ?? Int64.max)]).map {
                AccountEvent(id: $0[0].int64Value ?? 0, at: $0[1].int64Value ?? 0, actor: $0[2].stringValue ?? "",
                             action: $0[3].stringValue ?? "", subject: $0[4].stringValue ?? "", detail: $0[5].stringValue ?? "")
            }
        }
    }
}
