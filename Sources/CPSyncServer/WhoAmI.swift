import CPSyncCore
import CPSyncProtocol

/// `GET /v1/whoami`: what a valid token stands for (§6.6 of Protocol/README.md).
enum WhoAmI {
    static func response(for principal: Principal, store: ServerStore) throws(ErrorBody) -> WhoAmIResponse {
        switch principal {
        case .admin(let name):
            return WhoAmIResponse(principal: "admin", admin: name)
        case .site(let id):
            let site: RegisteredSite?
            do { site = try store.sites().first { $0.id == id } } catch {
                throw ErrorBody(code: .serverError, message: "could not read the site tree: \(error)")
            }
            guard let site else { throw ErrorBody(code: .serverError, message: "the token's site \(id) is not in the site tree") }
            return WhoAmIResponse(principal: "site", site: .init(id: site.id, name: site.name, kind: site.kind, parent: site.parent))
        }
    }
}
