/// The query of `GET /v1/pull`: `after`, `limit` (optional), `protocol`, `schemaVersion`.
public struct PullQuery: Sendable, Hashable {
    public var after: Int64
    /// Where the transfer that this page continues started (its low-water mark): of each row in the page, the cells
    /// written after `since` come. nil: `after` (a transfer that starts with this page).
    public var since: Int64?
    /// nil: the server's default page size.
    public var limit: Int?
    /// About how many bytes a page may take (an office on a slow link keeps pages small); nil: no bound.
    public var maxBytes: Int?
    public var protocolVersion: Int
    public var schemaVersion: Int
    /// How many changes the office still has to send (set-aside ones included); the county shows it on the admin
    /// dashboard. nil: not said.
    public var unsent: Int64?

    public init(after: Int64, since: Int64? = nil, limit: Int? = nil, maxBytes: Int? = nil, protocolVersion: Int = ProtocolVersion.current,
                schemaVersion: Int, unsent: Int64? = nil) {
        self.unsent = unsent
        self.after = after
        self.since = since
        self.maxBytes = maxBytes
        self.limit = limit
        self.protocolVersion = protocolVersion
        self.schemaVersion = schemaVersion
    }

    /// `after=…&limit=…&protocol=…&schemaVersion=…` (no leading `?`).
    public var queryString: String {
        "after=\(after)" + (since.map { "&since=\($0)" } ?? "") + (limit.map { "&limit=\($0)" } ?? "") + (maxBytes.map { "&maxBytes=\($0)" } ?? "") + "&protocol=\(protocolVersion)&schemaVersion=\(schemaVersion)"
            + (unsent.map { "&unsent=\($0)" } ?? "")
    }

    /// Parses decoded query parameters; 400 `bad_request` naming the parameter when one is missing or invalid.
    /// Does not check versions (see `ErrorBody.versionProblem`) nor clamp `limit` (see `effectiveLimit`).
    public init(parameters: [String: String]) throws(ErrorBody) {
        func int(_ name: String, required: Bool, min: Int64) throws(ErrorBody) -> Int64? {
            guard let s = parameters[name] else {
                if required { throw ErrorBody(code: .badRequest, message: "missing query parameter \(name)") }
                return nil
            }
            var used = 0
            let v: Int64? = Array(s.utf8).withUnsafeBufferPointer { b in
                b.count > 0 ? parseDecimal(b.baseAddress!, b.count, consumed: &used, whole: true) : nil
            }
            guard let v, v >= min, v <= Int64(Int32.max) || name == "after" || name == "since" else {
                throw ErrorBody(code: .badRequest, message: "query parameter \(name)=\(s) is not an integer ≥ \(min)")
            }
            return v
        }
        after = try int("after", required: true, min: 0)!
        since = try int("since", required: false, min: 0)
        if let since, since > after {
            throw ErrorBody(code: .badRequest, message: "query parameter since=\(since) must not be beyond after=\(after)")
        }
        limit = try int("limit", required: false, min: 1).map { Int($0) }
        maxBytes = try int("maxBytes", required: false, min: 1024).map { Int($0) }
        protocolVersion = Int(try int("protocol", required: true, min: 0)!)
        schemaVersion = Int(try int("schemaVersion", required: true, min: 0)!)
        unsent = try int("unsent", required: false, min: 0)
    }

    /// `limit` defaulted and clamped to the server's limits.
    public func effectiveLimit(_ limits: ServerLimits = ServerLimits()) -> Int {
        min(limit ?? limits.defaultPageSize, limits.maxPageSize)
    }
}

extension ErrorBody {
    /// The version check of every push and pull: 426 `protocol_version` for an unsupported protocol, 409
    /// `upgrade_required` for an office schema older than the server's, 409 `schema_version` for a newer one; nil when
    /// the request may proceed.
    public static func versionProblem(protocolVersion: Int, officeSchema: Int, serverSchema: Int) -> ErrorBody? {
        if !ProtocolVersion.supported.contains(protocolVersion) { return .protocolVersion(protocolVersion) }
        if officeSchema < serverSchema { return .upgradeRequired(serverSchema: serverSchema) }
        if officeSchema > serverSchema { return .schemaVersion(serverSchema: serverSchema, officeSchema: officeSchema) }
        return nil
    }
}
