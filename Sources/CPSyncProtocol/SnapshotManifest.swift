/// `GET /v1/snapshot`: what a new office downloads instead of replaying every change of its scope (Protocol/README.md
/// §6.7 and §16). The file's bytes come from `GET /v1/snapshot/{id}` in ranges: the SQLite file gzipped once when the
/// snapshot was made (`encoding` "gzip"), or the SQLite file itself when `encoding` is absent.
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
    /// How the served bytes are encoded: "gzip" (one gzip stream of the SQLite file), or nil for the SQLite file itself.
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

    /// The `encoding` of a gzipped snapshot.
    public static let gzipEncoding = "gzip"

    /// Whether `id` has the shape the server gives ids (so it can name a file and a path segment).
    public static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 200
            && id.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
    }

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"id\":")
        w.string(id)
        if let site {
            w.raw(",\"site\":")
            w.string(site)
        }
        w.raw(",\"cursor\":")
        w.int(cursor)
        w.raw(",\"size\":")
        w.int(size)
        w.raw(",\"sha256\":")
        w.string(sha256)
        w.raw(",\"schemaVersion\":")
        w.int(schemaVersion)
        if let epoch {
            w.raw(",\"epoch\":")
            w.string(epoch)
        }
        w.raw(",\"createdAt\":")
        w.int(createdAt)
        w.raw(",\"expiresAt\":")
        w.int(expiresAt)
        w.raw(",\"maxRangeBytes\":")
        w.int(maxRangeBytes)
        if let encoding {
            w.raw(",\"encoding\":")
            w.string(encoding)
        }
        if let rawSize {
            w.raw(",\"rawSize\":")
            w.int(rawSize)
        }
        if let rawSha256 {
            w.raw(",\"rawSha256\":")
            w.string(rawSha256)
        }
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["id", "site", "cursor", "size", "sha256", "schemaVersion", "epoch", "createdAt", "expiresAt",
                                        "maxRangeBytes", "encoding", "rawSize", "rawSha256"])
    public static func read(from r: inout JSONReader) throws(WireError) -> SnapshotManifest {
        var st = try r.beginObject()
        var m = SnapshotManifest(id: "", site: nil, cursor: 0, size: 0, sha256: "", schemaVersion: 0, epoch: nil, createdAt: 0, expiresAt: 0,
                                 maxRangeBytes: 0)
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.id = try r.memberString("id")
            case 1: m.site = try r.memberOptionalString("site")
            case 2: m.cursor = try r.memberInt64("cursor", in: 0...Int64.max)
            case 3: m.size = try r.memberInt64("size", in: 0...Int64.max)
            case 4: m.sha256 = try r.memberString("sha256")
            case 5: m.schemaVersion = try r.memberCount("schemaVersion")
            case 6: m.epoch = try r.memberOptionalString("epoch")
            case 7: m.createdAt = try r.memberInt64("createdAt")
            case 8: m.expiresAt = try r.memberInt64("expiresAt")
            case 9: m.maxRangeBytes = try r.memberCount("maxRangeBytes")
            case 10: m.encoding = try r.memberOptionalString("encoding")
            case 11: m.rawSize = try r.memberOptionalInt64("rawSize")
            case 12: m.rawSha256 = try r.memberOptionalString("rawSha256")
            default: try r.skipValue()
            }
        }
        // id, cursor, size, sha256, schemaVersion, maxRangeBytes
        try r.requireMembers(st, keys, 0b10_0011_1101)
        return m
    }
}
