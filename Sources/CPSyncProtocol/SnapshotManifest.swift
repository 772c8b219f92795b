/// `GET /v1/snapshot`: what a new office downloads instead of replaying every change of its scope (Protocol/README.md
/// §6.7 and §16). The file's bytes come from `GET /v1/snapshot/{id}` in ranges: the SQLite file gzipped once when the
/// snapshot was made (`encoding` "gzip", or "cpsync-compact+gzip" for the compact form an office expands on install),
/// or the SQLite file itself when `encoding` is absent.
public struct SnapshotManifest: WireMessage, Hashable {
    /// Names this snapshot; its bytes are at `/v1/snapshot/{id}` and its ETag is `"{id}"`. Letters, digits, `-`, `_`.
    public var id: String
    /// The site whose scope the file holds; nil for the whole county (an admin's snapshot).
    public var site: String?
    /// The pull cursor the file corresponds to: read in the same transaction that copied it. Pull from here
    /// (`after` = `since` = cursor) and nothing is missed or received twice.
    public var cursor: Int64
    /// Size in bytes of what `/v1/snapshot/{id}` serves (the bytes that are ranged and resumed): the gzip file when
    /// `encoding` is "gzip", else the SQLite file.
    public var size: Int64
    /// SHA-256 of those served bytes, 64 lower-case hex digits.
    public var sha256: String
    /// How the served bytes are encoded: "gzip" (one gzip stream of the SQLite file), "cpsync-compact+gzip" (one gzip
    /// stream of the SQLite file in the compact form), or nil for the SQLite file itself.
    public var encoding: String?
    /// With an encoding: size and SHA-256 of the SQLite file the served bytes inflate to (an office refuses to
    /// inflate beyond `rawSize`).
    public var rawSize: Int64?
    public var rawSha256: String?
    /// The CPPCC schema version of the file.
    public var schemaVersion: Int
    /// The county database's epoch when the snapshot was made (see `StatusResponse.epoch`).
    public var epoch: String?
    /// When it was made and until when the server keeps it, ms since 1970.
    public var createdAt: Int64
    public var expiresAt: Int64
    /// The most bytes one ranged answer carries.
    public var maxRangeBytes: Int

    public init(id: String, site: String?, cursor: Int64, size: Int64, sha256: String, schemaVersion: Int, epoch: String?,
                createdAt: Int64, expiresAt: Int64, maxRangeBytes: Int, encoding: String? = nil, rawSize: Int64? = nil, rawSha256: String? = nil) {
        self.id = id
        self.site = site
        self.cursor = cursor
        self.size = size
        self.sha256 = sha256
        self.schemaVersion = schemaVersion
        self.epoch = epoch
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.maxRangeBytes = maxRangeBytes
        self.encoding = encoding
        self.rawSize = rawSize
        self.rawSha256 = rawSha256
    }

    /// The `encoding` of a gzipped snapshot: the SQLite file of a replica, gzipped.
    public static let gzipEncoding = "gzip"
    /// The `encoding` of a gzipped snapshot in the compact form (what cpsyncd makes now): a SQLite file without the
    /// indexes and shadow keys the office rebuilds (`ReplicaSnapshot.write`), gzipped. An office that cannot expand it
    /// refuses the encoding by name instead of installing a file it cannot use.
    public static let compactGzipEncoding = "cpsync-compact+gzip"

    /// Whether `encoding` names gzipped bytes.
    public static func isGzip(_ encoding: String?) -> Bool { encoding == gzipEncoding || encoding == compactGzipEncoding }

    /// Whether `id` has the shape the server gives ids (so it can name a file and a path segment).
    public static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 200
            && id.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
    }

    public static let wire = WireShape(
        SnapshotManifest(id: "", site: nil, cursor: 0, size: 0, sha256: "", schemaVersion: 0, epoch: nil, createdAt: 0, expiresAt: 0,
                         maxRangeBytes: 0), [
        .required("id", \.id), .omitted("site", \.site), .required("cursor", \.cursor, .nonNegative),
        .required("size", \.size, .nonNegative), .required("sha256", \.sha256), .required("schemaVersion", \.schemaVersion),
        .omitted("epoch", \.epoch), .optional("createdAt", \.createdAt), .optional("expiresAt", \.expiresAt),
        .required("maxRangeBytes", \.maxRangeBytes), .omitted("encoding", \.encoding), .omitted("rawSize", \.rawSize),
        .omitted("rawSha256", \.rawSha256),
    ])
}
