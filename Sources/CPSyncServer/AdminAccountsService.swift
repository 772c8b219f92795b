import CPSyncText
import CPSyncCore
import CPSyncProtocol
import Foundation

/// Managing admin accounts from the admin page: the same store calls as `cpsyncd admin add|token|revoke`
/// (`addAdmin`, `issueAdminToken`, `revokeAdmin`), audited with the actor `admin:<name>`. The page may not revoke the
/// last active admin (nobody could sign in any more), and neither may the command line (one rule, in the store).
extension AdminService {
    public func createAdmin(body: [UInt8], admin: String, chinese: Bool) throws(ErrorBody) -> AdminTokenResponse {
        let request: AdminCreateRequest
        do { request = try AdminCreateRequest.decode(body) } catch {
            throw ErrorBody(code: .badRequest, message: chinese ? "管理员请求格式有误：\(error)" : "malformed admin request: \(error)")
        }
        let token = try adminAccount(admin, "admin-add", request.name, chinese: chinese) {
            try store.addAdmin(name: request.name, actor: "admin:" + admin)
        }
        return AdminTokenResponse(admin: try adminDTO(request.name, chinese: chinese), token: token)
    }

    /// A new token for the admin (shown once); the old one stops at once, a revoked admin is re-activated.
    public func issueAdminToken(_ name: String, admin: String, chinese: Bool) throws(ErrorBody) -> AdminTokenResponse {
        let token = try adminAccount(admin, "admin-token", name, chinese: chinese) { try store.issueAdminToken(name, actor: "admin:" + admin) }
        return AdminTokenResponse(admin: try adminDTO(name, chinese: chinese), token: token)
    }

    public func revokeAdmin(_ name: String, admin: String, chinese: Bool) throws(ErrorBody) -> AdminAccountDTO {
        try adminAccount(admin, "admin-revoke", name, chinese: chinese) {
            try store.revokeAdmin(name, actor: "admin:" + admin)
        }
        return try adminDTO(name, chinese: chinese)
    }

    private func adminDTO(_ name: String, chinese: Bool) throws(ErrorBody) -> AdminAccountDTO {
        let found: RegisteredAdmin?
        do { found = try store.admins().first { $0.name == name } } catch {
            throw ErrorBody(code: .serverError, message: "could not read the admins: \(error)")
        }
        guard let a = found else { throw ErrorBody(.notFound, Self.adminMessage(.unknownAdmin(name))) }
        return AdminAccountDTO(name: a.name, createdAt: a.createdAt, revoked: a.revoked)
    }

    /// Runs an admin-account change; its refusals become 404 (no such admin) or 400, in the request's language.
    private func adminAccount<T>(_ admin: String, _ action: String, _ subject: String, chinese: Bool,
                                 _ body: () throws -> T) throws(ErrorBody) -> T {
        try account(admin, action, subject, refusal: { e in
            if case .unknownAdmin = e { return ErrorBody(.notFound, Self.adminMessage(e)) }
            return ErrorBody(.badRequest, Self.adminMessage(e))
        }, body)
    }

    /// The page's wording of the store's refusals: in the browser's language (not the daemon's), and without the
    /// command names the command line's messages point to.
    static func adminMessage(_ e: ServerError) -> Phrase {
        func pick(_ en: String, _ zh: String) -> Phrase { Phrase(en: en, zh: zh) }
        switch e {
        case .badAdminName(let n):
            return pick("admin name '\(n)' must be 1–64 characters, without spaces at either end or control characters; nothing was changed",
                        "管理员名称“\(n)”须为 1–64 个字符，首尾不能有空格，也不能含控制字符；未做任何改动")
        case .adminExists(let n):
            return pick("admin '\(n)' already exists; choose another name, or issue '\(n)' a new token; nothing was changed",
                        "管理员“\(n)”已存在；请换一个名称，或为其签发新令牌；未做任何改动")
        case .unknownAdmin(let n):
            return pick("no admin '\(n)'; nothing was changed", "没有管理员“\(n)”；未做任何改动")
        case .adminAlreadyRevoked(let n):
            return pick("admin '\(n)' is already revoked; issue a new token to re-activate it",
                        "管理员“\(n)”的令牌已吊销；如需恢复请为其签发新令牌")
        case .lastActiveAdmin(let n):
            return pick("keep at least one active admin account: '\(n)' is the last one (add another admin first); nothing was changed",
                        "至少保留一个有效的管理员账户：“\(n)”是最后一个有效的管理员（请先添加另一位管理员）；未做任何改动")
        default:
            return Phrase(e)
        }
    }
}

extension ServerStore {
    /// An admin name: 1–64 characters, no space at either end, no control characters (a name is shown in tables and
    /// audit entries, and typed on the command line and the page).
    public static func isValidAdminName(_ name: String) -> Bool {
        guard !name.isEmpty, name.count <= 64, name.trimmingCharacters(in: .whitespacesAndNewlines) == name else { return false }
        return !name.unicodeScalars.contains { CharacterSet.controlCharacters.contains($0) }
    }
}
