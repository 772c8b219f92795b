import CPPCC
import CPSyncCore
import CPSyncProtocol
import Foundation

/// The sync dashboard and managing sites from the admin page. Managing calls the same store functions as
/// `cpsyncd site …` (`addSite`, `issueSiteToken`, `revokeSite`, `moveSite`), audited with the actor `admin:<name>`.
extension AdminService {
    /// How many pending records the dashboard counts per office before it says "more than".
    static let pendingBound = 500

    /// Every registered site with its sync state, in site-tree order, and the admin accounts.
    public func sites(now: Int64 = HLC.wallClock().milliseconds) throws(ErrorBody) -> SiteListResponse {
        do {
            let activity = try activity.snapshot()
            let registered = try store.sites()
            let admins = try store.admins().map { AdminAccountDTO(name: $0.name, createdAt: $0.createdAt, revoked: $0.revoked) }
            return try store.read { r in
                let head = try r.sequence
                let names = try r.database.query("SELECT id, name FROM sites").reduce(into: [String: String]()) {
                    if let id = $1[0].stringValue, let name = $1[1].stringValue { $0[id] = name }
                }
                var out: [SiteStatusDTO] = []
                for (site, depth) in Self.treeOrder(registered, names: names) {
                    out.append(try status(site, depth: depth, activity: activity[site.id], names: names, replica: r))
                }
                return SiteListResponse(serverTime: now, head: head, sites: out, admins: admins)
            }
        } catch let e as ErrorBody {
            throw e
        } catch {
            throw ErrorBody(code: .serverError, message: "could not read the sites: \(error)")
        }
    }

    /// Sites depth first from the top (a site whose parent is not registered counts as a top), siblings by kind
    /// (county, township, street, station) and then by name.
    static func treeOrder(_ sites: [RegisteredSite], names: [String: String]) -> [(RegisteredSite, Int)] {
        let ids = Set(sites.map(\.id))
        let rank = ["county": 0, "township": 1, "street": 2, "station": 3]
        func sorted(_ list: [RegisteredSite]) -> [RegisteredSite] {
            list.sorted {
                let (a, b) = (rank[$0.kind] ?? 4, rank[$1.kind] ?? 4)
                if a != b { return a < b }
                let (na, nb) = (names[$0.id] ?? $0.name, names[$1.id] ?? $1.name)
                return na != nb ? na < nb : $0.id < $1.id
            }
        }
        var children: [String: [RegisteredSite]] = [:]
        var tops: [RegisteredSite] = []
        for s in sites {
            if let p = s.parent, ids.contains(p), p != s.id { children[p, default: []].append(s) } else { tops.append(s) }
        }
        var out: [(RegisteredSite, Int)] = []
        var seen: Set<String> = []
        func visit(_ s: RegisteredSite, _ depth: Int) {
            guard seen.insert(s.id).inserted else { return }
            out.append((s, depth))
            for c in sorted(children[s.id] ?? []) { visit(c, depth + 1) }
        }
        for t in sorted(tops) { visit(t, 0) }
        // A cycle made by hand has no top: list what is left rather than hide it.
        for s in sorted(sites) where !seen.contains(s.id) { visit(s, 0) }
        return out
    }

    private func status(_ site: RegisteredSite, depth: Int, activity a: SiteActivity.Record?, names: [String: String],
                        replica r: Replica) throws -> SiteStatusDTO {
        let a = a ?? SiteActivity.Record()
        let used = a.lastPushAt != nil || a.lastPullAt != nil || a.clockRefusedAt != nil || a.refusedAt != nil
        let (pending, more) = try pendingRecords(for: site.id, after: a.pullCursor ?? 0, in: r)
        return SiteStatusDTO(
            id: site.id, name: names[site.id] ?? site.name, kind: site.kind, parent: site.parent, depth: depth,
            token: site.revoked ? "revoked" : used ? "active" : "unused", createdAt: site.createdAt,
            lastPushAt: a.lastPushAt, lastPushChanges: a.lastPushChanges, lastPullAt: a.lastPullAt, pullCursor: a.pullCursor,
            pending: pending, pendingMore: more, reportedUnsent: a.reportedUnsent, clockRefusedAt: a.clockRefusedAt,
            clockSkewMs: a.clockSkewMs, clockAhead: (a.clockRefusedAt ?? Int64.min) > (a.lastPushAt ?? Int64.min),
            refusedAt: a.refusedAt, refusedChanges: a.refusedChanges, refusedCode: a.refusedCode, refusedReason: a.refusedReason,
            refusals: a.refusals)
    }

    /// Records of the site's scope written at the county after `cursor`: what its next pull brings. Counted by
    /// reading pages as a pull would, up to `pendingBound` records or ten times as many rows read; past either, the
    /// count so far and `true` (more than that).
    func pendingRecords(for site: String, after cursor: Int64, in r: Replica) throws -> (Int64, Bool) {
        let scope = try SiteScope.of(site: site, in: r.database)
        var after = cursor, rows = Set<RowKey>(), scanned = 0
        while true {
            let page = try r.changes(after: after, since: cursor, limit: 1000, scope: scope)
            for c in page.changes { rows.insert(RowKey(c)) }
            scanned += 1000
            after = page.cursor
            if !page.hasMore { return (Int64(rows.count), false) }
            // Bounded work per office (a far-behind office's scope may be a small part of what it has not pulled).
            if rows.count > Self.pendingBound || scanned >= 10 * Self.pendingBound { return (Int64(rows.count), true) }
        }
    }

    /// One site of the dashboard.
    func siteStatus(_ id: String) throws(ErrorBody) -> SiteStatusDTO {
        guard let s = try sites().sites.first(where: { $0.id == id }) else {
            throw ErrorBody(code: .notFound, message: "no site '\(id)'")
        }
        return s
    }

    // MARK: managing sites (the same calls as `cpsyncd site …`)

    public func createSite(body: [UInt8], admin: String) throws(ErrorBody) -> SiteTokenResponse {
        let request: SiteCreateRequest
        do { request = try SiteCreateRequest.decode(body) } catch {
            throw ErrorBody(code: .badRequest, message: "malformed site: \(error)")
        }
        let name = request.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= 100 else {
            throw ErrorBody(code: .badRequest, message: "a site needs a name of 1–100 characters; nothing was changed")
        }
        let token = try account(admin, "site-add", request.id) {
            try store.addSite(id: request.id, name: name, kind: request.kind, parent: request.parent, actor: "admin:" + admin)
        }
        return SiteTokenResponse(site: try siteStatus(request.id), token: token)
    }

    /// A new token for the site (shown once); a revoked site is re-activated by it.
    public func issueToken(_ id: String, admin: String) throws(ErrorBody) -> SiteTokenResponse {
        let token = try account(admin, "site-token", id) { try store.issueSiteToken(id, actor: "admin:" + admin) }
        return SiteTokenResponse(site: try siteStatus(id), token: token)
    }

    public func revokeSite(_ id: String, admin: String) throws(ErrorBody) -> SiteStatusDTO {
        try account(admin, "site-revoke", id) { try store.revokeSite(id, actor: "admin:" + admin) }
        return try siteStatus(id)
    }

    public func moveSite(_ id: String, body: [UInt8], admin: String) throws(ErrorBody) -> SiteStatusDTO {
        let request: SiteMoveRequest
        do { request = try SiteMoveRequest.decode(body) } catch {
            throw ErrorBody(code: .badRequest, message: "malformed move: \(error)")
        }
        _ = try account(admin, "site-move", id) { try store.moveSite(id, parent: request.parent, actor: "admin:" + admin) }
        return try siteStatus(id)
    }

    /// Corrects a site's kind (`ServerStore.setSiteKind`): a township, street or station only, as the tree allows.
    public func setSiteKind(_ id: String, body: [UInt8], admin: String) throws(ErrorBody) -> SiteStatusDTO {
        let request: SiteKindRequest
        do { request = try SiteKindRequest.decode(body) } catch {
            throw ErrorBody(code: .badRequest, message: "malformed kind change: \(error)")
        }
        _ = try account(admin, "site-kind", id) { try store.setSiteKind(id, kind: request.kind, actor: "admin:" + admin) }
        return try siteStatus(id)
    }

    /// Runs an account change; its refusals become 404 (no such site) or 400 with the command's own wording, in the
    /// request's language.
    private func account<T>(_ admin: String, _ action: String, _ subject: String, _ body: () throws -> T) throws(ErrorBody) -> T {
        try account(admin, action, subject, refusal: { e in
            if case .unknownSite = e { return ErrorBody(.notFound, e) }
            return ErrorBody(.badRequest, e)
        }, body)
    }

    /// Runs an account change (a site's or an admin's) on the store and logs it; `refusal` turns what the store
    /// refuses into the answer (404 for what does not exist, 400 otherwise), any other failure is a storage error.
    func account<T>(_ admin: String, _ action: String, _ subject: String, refusal: (ServerError) -> ErrorBody,
                    _ body: () throws -> T) throws(ErrorBody) -> T {
        do {
            let result = try body()
            log.event("account", ["admin": .text(admin), "action": .text(action), "subject": .text(subject)])
            return result
        } catch let e as ServerError {
            throw refusal(e)
        } catch let e as ReplicaError {
            throw SyncService.errorBody(e, databasePath: store.databasePath)
        } catch let e as SQLiteError {
            throw SyncService.errorBody(.sqlite(e), databasePath: store.databasePath)
        } catch {
            throw ErrorBody(code: .serverError, message: "\(error); nothing was changed")
        }
    }
}
