/// The admin endpoints on admin accounts: adding an admin, issuing an admin a new token, revoking an admin
/// (Protocol/README.md §6.5). The list of admins is part of `GET /v1/admin/sites` (`SiteListResponse.admins`).

/// `POST /v1/admin/accounts` body: `{"name":"…"}`.
public struct AdminCreateRequest: WireMessage, Hashable {
    public var name: String
    public init(name: String) { self.name = name }

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"name\":"); w.string(name)
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["name"])
    public static func read(from r: inout JSONReader) throws(WireError) -> AdminCreateRequest {
        var st = try r.beginObject()
        var m = AdminCreateRequest(name: "")
        while let k = try r.nextKey(&st, keys) {
            if k == 0 { m.name = try r.memberString("name") } else { try r.skipValue() }
        }
        try r.requireMembers(st, keys, 0b1)
        return m
    }
}

/// An admin's new token, shown once: `{"admin":AdminAccount,"token":"…"}` (answer of adding an admin and of
/// `POST /v1/admin/accounts/{name}/token`).
public struct AdminTokenResponse: WireMessage, Hashable {
    public var admin: AdminAccountDTO
    public var token: String

    public init(admin: AdminAccountDTO, token: String) {
        self.admin = admin
        self.token = token
    }

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"admin\":"); admin.encode(to: &w)
        w.raw(",\"token\":"); w.string(token)
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["admin", "token"])
    public static func read(from r: inout JSONReader) throws(WireError) -> AdminTokenResponse {
        var st = try r.beginObject()
        var m = AdminTokenResponse(admin: AdminAccountDTO(name: "", createdAt: 0, revoked: false), token: "")
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.admin = try r.memberMessage("admin", AdminAccountDTO.self)
            case 1: m.token = try r.memberString("token")
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b11)
        return m
    }
}
