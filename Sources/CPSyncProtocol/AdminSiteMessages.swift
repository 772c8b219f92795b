/// The admin endpoints on sites and accounts: the sync dashboard (`GET /v1/admin/sites`) and managing sites and
/// their tokens from the admin page (Protocol/README.md §6.5).

/// One office as the dashboard shows it. Member order as declared; nullable members are written as `null`, never
/// omitted. Times are ms since 1970.
public struct SiteStatusDTO: WireMessage, Hashable {
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

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"id\":"); w.string(id)
        w.raw(",\"name\":"); w.string(name)
        w.raw(",\"kind\":"); w.string(kind)
        w.raw(",\"parent\":"); w.optionalString(parent)
        w.raw(",\"depth\":"); w.int(depth)
        w.raw(",\"token\":"); w.string(token)
        w.raw(",\"createdAt\":"); w.int(createdAt)
        w.raw(",\"lastPushAt\":"); w.optionalInt(lastPushAt)
        w.raw(",\"lastPushChanges\":"); w.optionalInt(lastPushChanges)
        w.raw(",\"lastPullAt\":"); w.optionalInt(lastPullAt)
        w.raw(",\"pullCursor\":"); w.optionalInt(pullCursor)
        w.raw(",\"pending\":"); w.int(pending)
        w.raw(",\"pendingMore\":"); w.bool(pendingMore)
        w.raw(",\"reportedUnsent\":"); w.optionalInt(reportedUnsent)
        w.raw(",\"clockRefusedAt\":"); w.optionalInt(clockRefusedAt)
        w.raw(",\"clockSkewMs\":"); w.optionalInt(clockSkewMs)
        w.raw(",\"clockAhead\":"); w.bool(clockAhead)
        w.raw(",\"refusedAt\":"); w.optionalInt(refusedAt)
        w.raw(",\"refusedChanges\":"); w.optionalInt(refusedChanges)
        w.raw(",\"refusedCode\":"); w.optionalString(refusedCode)
        w.raw(",\"refusedReason\":"); w.optionalString(refusedReason)
        w.raw(",\"refusals\":"); w.int(refusals)
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["id", "name", "kind", "parent", "depth", "token", "createdAt", "lastPushAt", "lastPushChanges",
                                        "lastPullAt", "pullCursor", "pending", "pendingMore", "reportedUnsent", "clockRefusedAt",
                                        "clockSkewMs", "clockAhead", "refusedAt", "refusedChanges", "refusedCode", "refusedReason",
                                        "refusals"])
    public static func read(from r: inout JSONReader) throws(WireError) -> SiteStatusDTO {
        var st = try r.beginObject()
        var m = SiteStatusDTO(id: "", name: "", kind: "", parent: nil, depth: 0, token: "", createdAt: 0)
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.id = try r.memberString("id")
            case 1: m.name = try r.memberString("name")
            case 2: m.kind = try r.memberString("kind")
            case 3: m.parent = try r.memberOptionalString("parent")
            case 4: m.depth = try r.memberCount("depth")
            case 5: m.token = try r.memberString("token")
            case 6: m.createdAt = try r.memberInt64("createdAt")
            case 7: m.lastPushAt = try r.memberOptionalInt64("lastPushAt")
            case 8: m.lastPushChanges = try r.memberOptionalInt64("lastPushChanges")
            case 9: m.lastPullAt = try r.memberOptionalInt64("lastPullAt")
            case 10: m.pullCursor = try r.memberOptionalInt64("pullCursor")
            case 11: m.pending = try r.memberInt64("pending")
            case 12: m.pendingMore = try r.memberBool("pendingMore")
            case 13: m.reportedUnsent = try r.memberOptionalInt64("reportedUnsent")
            case 14: m.clockRefusedAt = try r.memberOptionalInt64("clockRefusedAt")
            case 15: m.clockSkewMs = try r.memberOptionalInt64("clockSkewMs")
            case 16: m.clockAhead = try r.memberBool("clockAhead")
            case 17: m.refusedAt = try r.memberOptionalInt64("refusedAt")
            case 18: m.refusedChanges = try r.memberOptionalInt64("refusedChanges")
            case 19: m.refusedCode = try r.memberOptionalString("refusedCode")
            case 20: m.refusedReason = try r.memberOptionalString("refusedReason")
            case 21: m.refusals = try r.memberInt64("refusals")
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b11_1111_1111_1111_1111_1111)
        return m
    }
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

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"name\":"); w.string(name)
        w.raw(",\"createdAt\":"); w.int(createdAt)
        w.raw(",\"revoked\":"); w.bool(revoked)
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["name", "createdAt", "revoked"])
    public static func read(from r: inout JSONReader) throws(WireError) -> AdminAccountDTO {
        var st = try r.beginObject()
        var m = AdminAccountDTO(name: "", createdAt: 0, revoked: false)
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.name = try r.memberString("name")
            case 1: m.createdAt = try r.memberInt64("createdAt")
            case 2: m.revoked = try r.memberBool("revoked")
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b111)
        return m
    }
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

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"serverTime\":"); w.int(serverTime)
        w.raw(",\"head\":"); w.int(head)
        w.raw(",\"sites\":"); w.messages(sites)
        w.raw(",\"admins\":"); w.messages(admins)
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["serverTime", "head", "sites", "admins"])
    public static func read(from r: inout JSONReader) throws(WireError) -> SiteListResponse {
        var st = try r.beginObject()
        var m = SiteListResponse(serverTime: 0, head: 0, sites: [], admins: [])
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.serverTime = try r.memberInt64("serverTime")
            case 1: m.head = try r.memberInt64("head")
            case 2: m.sites = try r.memberArray("sites", SiteStatusDTO.self)
            case 3: m.admins = try r.memberArray("admins", AdminAccountDTO.self)
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b1111)
        return m
    }
}

/// `POST /v1/admin/sites` body: `{"id","name","kind","parent"}` (`parent` optional or null: a site at the top).
public struct SiteCreateRequest: WireMessage, Hashable {
    public var id: String
    public var name: String
    public var kind: String
    public var parent: String?

    public init(id: String, name: String, kind: String, parent: String?) {
        self.id = id
        self.name = name
        self.kind = kind
        self.parent = parent
    }

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"id\":"); w.string(id)
        w.raw(",\"name\":"); w.string(name)
        w.raw(",\"kind\":"); w.string(kind)
        w.raw(",\"parent\":"); w.optionalString(parent)
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["id", "name", "kind", "parent"])
    public static func read(from r: inout JSONReader) throws(WireError) -> SiteCreateRequest {
        var st = try r.beginObject()
        var m = SiteCreateRequest(id: "", name: "", kind: "", parent: nil)
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.id = try r.memberString("id")
            case 1: m.name = try r.memberString("name")
            case 2: m.kind = try r.memberString("kind")
            case 3: m.parent = try r.memberOptionalString("parent")
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b111)
        if m.parent == "" { m.parent = nil }
        return m
    }
}

/// `POST /v1/admin/sites/{id}/move` body: `{"parent":"…"}`.
public struct SiteMoveRequest: WireMessage, Hashable {
    public var parent: String
    public init(parent: String) { self.parent = parent }

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"parent\":"); w.string(parent)
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["parent"])
    public static func read(from r: inout JSONReader) throws(WireError) -> SiteMoveRequest {
        var st = try r.beginObject()
        var m = SiteMoveRequest(parent: "")
        while let k = try r.nextKey(&st, keys) {
            if k == 0 { m.parent = try r.memberString("parent") } else { try r.skipValue() }
        }
        try r.requireMembers(st, keys, 0b1)
        return m
    }
}

/// `POST /v1/admin/sites/{id}/kind`: `{"kind":"township"|"street"|"station"}`.
public struct SiteKindRequest: WireMessage, Hashable {
    public var kind: String
    public init(kind: String) { self.kind = kind }

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"kind\":"); w.string(kind)
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["kind"])
    public static func read(from r: inout JSONReader) throws(WireError) -> SiteKindRequest {
        var st = try r.beginObject()
        var m = SiteKindRequest(kind: "")
        while let k = try r.nextKey(&st, keys) {
            if k == 0 { m.kind = try r.memberString("kind") } else { try r.skipValue() }
        }
        try r.requireMembers(st, keys, 0b1)
        return m
    }
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

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"site\":"); site.encode(to: &w)
        w.raw(",\"token\":"); w.string(token)
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["site", "token"])
    public static func read(from r: inout JSONReader) throws(WireError) -> SiteTokenResponse {
        var st = try r.beginObject()
        var m = SiteTokenResponse(site: SiteStatusDTO(id: "", name: "", kind: "", parent: nil, depth: 0, token: "", createdAt: 0), token: "")
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.site = try r.memberMessage("site", SiteStatusDTO.self)
            case 1: m.token = try r.memberString("token")
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b11)
        return m
    }
}

extension JSONWriter {
    mutating func optionalInt(_ v: Int64?) { if let v { int(v) } else { null() } }
}

extension JSONReader {
    mutating func memberOptionalInt64(_ key: String) throws(WireError) -> Int64? {
        try member(key) { (r: inout JSONReader) throws(WireError) -> Int64? in r.readNull() ? nil : try r.readInt64() }
    }
}
