/// The admin endpoints on admin accounts: adding an admin, issuing an admin a new token, revoking an admin
/// (Protocol/README.md §6.5). The list of admins is part of `GET /v1/admin/sites` (`SiteListResponse.admins`).

/// `POST /v1/admin/accounts` body: `{"name":"…"}`.
public struct AdminCreateRequest: WireMessage, Hashable {
    public var name: String
    public init(name: String) { self.name = name }

    public static let wire = WireShape(AdminCreateRequest(name: ""), [.required("name", \.name)])
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

    public static let wire = WireShape(AdminTokenResponse(admin: AdminAccountDTO.wire.blank, token: ""), [
        .required("admin", \.admin), .required("token", \.token),
    ])
}
