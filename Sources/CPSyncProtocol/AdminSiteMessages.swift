/// The admin endpoints on sites and accounts: the sync dashboard (`GET /v1/admin/sites`) and managing sites and
/// their tokens from the admin page (Protocol/README.md §6.5).

/// A site as the county registered it: `{"id","name","kind","parent"}`, `parent` null (or absent, or "") for a site
/// at the top. The body of `POST /v1/admin/sites`, the `site` of `GET /v1/whoami`, and the first members of a
/// dashboard row.
public struct SiteDTO: SiteShape, WireMessage, Hashable {
    public var id: String
    public var name: String
    /// `county`, `township`, `street` or `station`.
    public var kind: String
    /// The parent site's id; nil for the county.
    public var parent: String?

    public init(id: String, name: String, kind: String, parent: String?) {
        self.id = id
        self.name = name
        self.kind = kind
        self.parent = parent
    }

    public static let wire = WireShape(SiteDTO(id: "", name: "", kind: "", parent: nil), siteMembers(parentRequired: false)) { m in
        if m.parent == "" { m.parent = nil }
        return nil
    }
}

/// `POST /v1/admin/sites` body.
public typealias SiteCreateRequest = SiteDTO

/// A type whose JSON begins with a site's members.
public protocol SiteShape: Sendable {
    var id: String { get set }
    var name: String { get set }
    var kind: String { get set }
    var parent: String? { get set }
}

extension SiteShape {
    /// id, name, kind (required) and parent (written as null when nil).
    static func siteMembers(parentRequired: Bool) -> [WireMember<Self>] {
        [.required("id", \.id), .required("name", \.name), .required("kind", \.kind),
         parentRequired ? .required("parent", \.parent) : .optional("parent", \.parent)]
    }
}

/// One office as the dashboard shows it. Member order as declared; nullable members are written as `null`, never
/// omitted. Times are ms since 1970.
public struct SiteStatusDTO: SiteShape, WireMessage, Hashable {
    public var id: String
    public var name: String
    /// `county`, `township`, `street` or `station`.
    public var kind: String
    public var parent: String?
    /// 0 for a site without a parent, 1 below it, and so on (the list is in site-tree order).
    public var depth: Int
    /// `active` (used), `unused` (never pushed nor pulled) or `revoked`.
    public var token: String
    public var createdAt: Int64
    public var lastPushAt: Int64?
    /// Changes the last new (not replayed) push applied.
    public var lastPushChanges: Int64?
    public var lastPullAt: Int64?
    /// The server cursor the office's last pull page ended at.
    public var pullCursor: Int64?
    /// Records in the office's scope changed at the county after `pullCursor` (all of them when it never pulled).
    public var pending: Int64
    /// `pending` was counted only up to a bound; there are more.
    public var pendingMore: Bool
    /// Changes the office said it still has to send (at its last pull), when it said so.
    public var reportedUnsent: Int64?
    /// The last push refused because the office's clock was too far ahead, and by how much.
    public var clockRefusedAt: Int64?
    public var clockSkewMs: Int64?
    /// The clock refusal is newer than the last accepted push: the office's clock is still wrong.
    public var clockAhead: Bool
    /// The last push refused for its content (rows the site may not write, values the county refuses): those
    /// changes are held back at the office until a clerk fixes them.
    public var refusedAt: Int64?
    public var refusedChanges: Int64?
    public var refusedCode: String?
    public var refusedReason: String?
    /// Pushes refused for their content, ever.
    public var refusals: Int64

    public init(id: String, name: String, kind: String, parent: String?, depth: Int, token: String, createdAt: Int64,
                lastPushAt: Int64? = nil, lastPushChanges: Int64? = nil, lastPullAt: Int64? = nil, pullCursor: Int64? = nil,
                pending: Int64 = 0, pendingMore: Bool = false, reportedUnsent: Int64? = nil, clockRefusedAt: Int64? = nil,
                clockSkewMs: Int64? = nil, clockAhead: Bool = false, refusedAt: Int64? = nil, refusedChanges: Int64? = nil,
                refusedCode: String? = nil, refusedReason: String? = nil, refusals: Int64 = 0) {
        self.id = id
        self.name = name
        self.kind = kind
        self.parent = parent
        self.depth = depth
        self.token = token
        self.createdAt = createdAt
        self.lastPushAt = lastPushAt
        self.lastPushChanges = lastPushChanges
        self.lastPullAt = lastPullAt
        self.pullCursor = pullCursor
        self.pending = pending
        self.pendingMore = pendingMore
        self.reportedUnsent = reportedUnsent
        self.clockRefusedAt = clockRefusedAt
        self.clockSkewMs = clockSkewMs
        self.clockAhead = clockAhead
        self.refusedAt = refusedAt
        self.refusedChanges = refusedChanges
        self.refusedCode = refusedCode
        self.refusedReason = refusedReason
        self.refusals = refusals
    }

    public static let wire = WireShape(SiteStatusDTO(id: "", name: "", kind: "", parent: nil, depth: 0, token: "", createdAt: 0),
                                       siteMembers(parentRequired: true) + [
        .required("depth", \.depth), .required("token", \.token), .required("createdAt", \.createdAt),
        .required("lastPushAt", \.lastPushAt), .required("lastPushChanges", \.lastPushChanges), .required("lastPullAt", \.lastPullAt),
        .required("pullCursor", \.pullCursor), .required("pending", \.pending), .required("pendingMore", \.pendingMore),
        .required("reportedUnsent", \.reportedUnsent), .required("clockRefusedAt", \.clockRefusedAt),
        .required("clockSkewMs", \.clockSkewMs), .required("clockAhead", \.clockAhead), .required("refusedAt", \.refusedAt),
        .required("refusedChanges", \.refusedChanges), .required("refusedCode", \.refusedCode),
        .required("refusedReason", \.refusedReason), .required("refusals", \.refusals),
    ])
}

/// An admin account: `{"name","createdAt","revoked"}`.
public struct AdminAccountDTO: WireMessage, Hashable {
    public var name: String
    public var createdAt: Int64
    public var revoked: Bool

    public init(name: String, createdAt: Int64, revoked: Bool) {
        self.name = name
        self.createdAt = createdAt
        self.revoked = revoked
    }

    public static let wire = WireShape(AdminAccountDTO(name: "", createdAt: 0, revoked: false), [
        .required("name", \.name), .required("createdAt", \.createdAt), .required("revoked", \.revoked),
    ])
}

/// `GET /v1/admin/sites` answer: `{"serverTime","head","sites":[SiteStatus…],"admins":[AdminAccount…]}`, sites in
/// site-tree order (each site followed by the sites below it; siblings county, township, street, station, then by
/// name); `head` is the server's latest change sequence.
public struct SiteListResponse: WireMessage, Hashable {
    public var serverTime: Int64
    public var head: Int64
    public var sites: [SiteStatusDTO]
    public var admins: [AdminAccountDTO]

    public init(serverTime: Int64, head: Int64, sites: [SiteStatusDTO], admins: [AdminAccountDTO]) {
        self.serverTime = serverTime
        self.head = head
        self.sites = sites
        self.admins = admins
    }

    public static let wire = WireShape(SiteListResponse(serverTime: 0, head: 0, sites: [], admins: []), [
        .required("serverTime", \.serverTime), .required("head", \.head), .required("sites", \.sites), .required("admins", \.admins),
    ])
}

/// `POST /v1/admin/sites/{id}/move` body: `{"parent":"…"}`.
public struct SiteMoveRequest: WireMessage, Hashable {
    public var parent: String
    public init(parent: String) { self.parent = parent }

    public static let wire = WireShape(SiteMoveRequest(parent: ""), [.required("parent", \.parent)])
}

/// `POST /v1/admin/sites/{id}/kind`: `{"kind":"township"|"street"|"station"}`.
public struct SiteKindRequest: WireMessage, Hashable {
    public var kind: String
    public init(kind: String) { self.kind = kind }

    public static let wire = WireShape(SiteKindRequest(kind: ""), [.required("kind", \.kind)])
}

/// A site's new token, shown once: `{"site":SiteStatus,"token":"…"}` (answer of creating a site and of
/// `POST /v1/admin/sites/{id}/token`).
public struct SiteTokenResponse: WireMessage, Hashable {
    public var site: SiteStatusDTO
    public var token: String

    public init(site: SiteStatusDTO, token: String) {
        self.site = site
        self.token = token
    }

    public static let wire = WireShape(SiteTokenResponse(site: SiteStatusDTO.wire.blank, token: ""), [
        .required("site", \.site), .required("token", \.token),
    ])
}
