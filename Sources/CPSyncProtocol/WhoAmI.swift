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
    public struct Site: WireMessage, Hashable {
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

        public func encode(to w: inout JSONWriter) {
            w.raw("{\"id\":"); w.string(id)
            w.raw(",\"name\":"); w.string(name)
            w.raw(",\"kind\":"); w.string(kind)
            w.raw(",\"parent\":"); w.optionalString(parent)
            w.byte(UInt8(ascii: "}"))
        }

        private static let keys = KeyTable(["id", "name", "kind", "parent"])
        public static func read(from r: inout JSONReader) throws(WireError) -> Site {
            var st = try r.beginObject()
            var m = Site(id: "", name: "", kind: "", parent: nil)
            while let k = try r.nextKey(&st, keys) {
                switch k {
                case 0: m.id = try r.memberString("id")
                case 1: m.name = try r.memberString("name")
                case 2: m.kind = try r.memberString("kind")
                case 3: m.parent = try r.memberOptionalString("parent")
                default: try r.skipValue()
                }
            }
            try r.requireMembers(st, keys, 0b0111)
            return m
        }
    }

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

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"principal\":"); w.string(principal)
        w.raw(",\"site\":"); w.optionalMessage(site)
        w.raw(",\"admin\":"); w.optionalString(admin)
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["principal", "site", "admin"])
    public static func read(from r: inout JSONReader) throws(WireError) -> WhoAmIResponse {
        var st = try r.beginObject()
        var m = WhoAmIResponse(principal: "")
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.principal = try r.memberString("principal")
            case 1: m.site = try r.memberOptionalMessage("site", Site.self)
            case 2: m.admin = try r.memberOptionalString("admin")
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b1)
        return m
    }
}
