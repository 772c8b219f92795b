import CPSyncCore

/// `GET /v1/whoami` (site or admin token): who the token stands for. A site token names its site as the county
/// registered it, so `cpsync init` learns the office's site from the server instead of trusting what was typed.
///
/// ```json
/// {"principal":"site","site":{"id":"huashan","name":"华山镇政协工委","kind":"township","parent":"county"},"admin":null}
/// {"principal":"admin","site":null,"admin":"zhang"}
/// ```
public struct WhoAmIResponse: WireMessage, Hashable {
    /// The site a site token belongs to.
    public typealias Site = SiteDTO

    /// `site` or `admin`.
    public var principal: String
    public var site: Site?
    /// The admin's name, for an admin token.
    public var admin: String?

    public init(principal: String, site: Site? = nil, admin: String? = nil) {
        self.principal = principal
        self.site = site
        self.admin = admin
    }

    public static let wire = WireShape(WhoAmIResponse(principal: ""), [
        .required("principal", \.principal), .optional("site", \.site), .optional("admin", \.admin),
    ])
}
