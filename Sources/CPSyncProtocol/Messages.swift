import CPSyncCore
import CPSyncText

// MARK: - health and status

/// `GET /v1/health` → `{"ok":true}`.
public struct HealthResponse: WireMessage, Hashable {
    public var ok: Bool
    public init(ok: Bool = true) { self.ok = ok }

    public static let wire = WireShape(HealthResponse(), [.required("ok", \.ok)])
}

/// The limits a server announces in `GET /v1/status`.
public struct ServerLimits: WireMessage, Hashable {
    public var maxBodyBytes: Int
    public var maxChangesPerPush: Int
    public var maxPageSize: Int
    public var defaultPageSize: Int

    public init(maxBodyBytes: Int = ProtocolLimits.maxBodyBytes, maxChangesPerPush: Int = ProtocolLimits.maxChangesPerPush,
                maxPageSize: Int = ProtocolLimits.maxPageSize, defaultPageSize: Int = ProtocolLimits.defaultPageSize) {
        self.maxBodyBytes = maxBodyBytes
        self.maxChangesPerPush = maxChangesPerPush
        self.maxPageSize = maxPageSize
        self.defaultPageSize = defaultPageSize
    }

    public static let wire = WireShape(ServerLimits(), [
        .required("maxBodyBytes", \.maxBodyBytes), .required("maxChangesPerPush", \.maxChangesPerPush),
        .required("maxPageSize", \.maxPageSize), .optional("defaultPageSize", \.defaultPageSize),
    ])
}

/// `GET /v1/status`.
public struct StatusResponse: WireMessage, Hashable {
    /// The newest protocol version the server speaks (key `protocol`).
    public var protocolVersion: Int
    public var minProtocol: Int
    public var schemaVersion: Int
    /// The server's clock, milliseconds since 1970-01-01T00:00:00Z.
    public var serverTime: Int64
    public var serverSite: String
    public var maxSkewMs: Int64
    public var limits: ServerLimits
    /// Names the county database's history: it changes when the database is restored from a backup, which tells
    /// offices to pull and push everything again (their cursors point into a history the server no longer has).
    /// Omitted by servers that do not track it.
    public var epoch: String?
    /// What the server reads besides plain JSON bodies (§15): `compact-1` (compact push bodies) and `gzip`
    /// (`Content-Encoding: gzip` request bodies). Omitted by servers that read plain JSON only.
    public var encodings: [String]?
    /// The county's limits on attached files (§19); omitted by servers without attachments.
    public var attachments: BlobLimits?

    public init(protocolVersion: Int = ProtocolVersion.current, minProtocol: Int = ProtocolVersion.minimum, schemaVersion: Int,
                serverTime: Int64, serverSite: String = "cpsyncd", maxSkewMs: Int64 = ProtocolLimits.maxSkewMs,
                limits: ServerLimits = ServerLimits(), epoch: String? = nil, encodings: [String]? = nil) {
        self.epoch = epoch
        self.encodings = encodings
        self.protocolVersion = protocolVersion
        self.minProtocol = minProtocol
        self.schemaVersion = schemaVersion
        self.serverTime = serverTime
        self.serverSite = serverSite
        self.maxSkewMs = maxSkewMs
        self.limits = limits
    }

    public static let wire = WireShape(StatusResponse(schemaVersion: 0, serverTime: 0), [
        .required("protocol", \.protocolVersion), .required("minProtocol", \.minProtocol),
        .required("schemaVersion", \.schemaVersion), .required("serverTime", \.serverTime), .required("serverSite", \.serverSite),
        .required("maxSkewMs", \.maxSkewMs, .nonNegative), .required("limits", \.limits), .omitted("epoch", \.epoch),
        .omitted("encodings", \.encodings, String.wireCodec.array(maxCount: 64).orNull), .omitted("attachments", \.attachments),
    ])

    /// How far the office clock `localMs` is ahead of the server (negative: behind), given the request's round trip.
    public func skewMs(localMs: Int64, roundTripMs: Int64 = 0) -> Int64 { localMs - (serverTime + roundTripMs / 2) }
}

// MARK: - push and pull

/// `POST /v1/push` body.
public struct PushRequest: WireMessage, Hashable {
    /// Key `protocol`.
    public var protocolVersion: Int
    public var schemaVersion: Int
    /// A UUID, fresh per batch, re-sent unchanged on retry.
    public var batchId: String
    /// The pushing office: must equal the token's site and every change's `site`.
    public var site: String
    public var changes: [Change]

    public init(protocolVersion: Int = ProtocolVersion.current, schemaVersion: Int, batchId: String, site: String, changes: [Change]) {
        self.protocolVersion = protocolVersion
        self.schemaVersion = schemaVersion
        self.batchId = batchId
        self.site = site
        self.changes = changes
    }

    public static let wire = WireShape(PushRequest(schemaVersion: 0, batchId: "", site: "", changes: []), [
        .required("protocol", \.protocolVersion), .required("schemaVersion", \.schemaVersion), .required("batchId", \.batchId),
        .required("site", \.site), .required("changes", \.changes, Change.arrayCodec),
    ])

    /// Canonical bytes, with capacity reserved for the change array.
    public func encoded() -> [UInt8] {
        var w = JSONWriter(capacity: 128 + changes.count * 200)
        encode(to: &w)
        return w.bytes
    }

    /// Reads only the `protocol` member of a push body (any order, rest skipped), so that a server can answer 426
    /// `protocol_version` before interpreting a body of a version it does not know. Nil when absent or malformed.
    public static func peekProtocolVersion(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let keys = KeyTable(["protocol"])
        return try? JSONReader.read(bytes, limits: WireLimits(maxChanges: Int.max)) { (r: inout JSONReader) throws(WireError) -> Int? in
            var st = try r.beginObject()
            var v: Int? = nil
            while let k = try r.nextKey(&st, keys) {
                if k == 0 { v = Int(try r.readInt(in: 0...Int64(Int32.max))) } else { try r.skipValue() }
            }
            return v
        }
    }
}

/// `POST /v1/push` answer (200). A re-sent batch gets these exact bytes again.
public struct PushResponse: WireMessage, Hashable {
    public var batchId: String
    public var applied: Int
    public var alreadyKnown: Int
    public var superseded: Int
    public var conflicts: Int
    /// The server's change sequence after the batch was applied.
    public var serverSeq: Int64
    /// Rows of the batch the server kept as conflicts instead of applying (the record had left the site's area or
    /// entered the county's handling before the office learnt it): the office forgets its copy of each, and its next
    /// pull brings the server's version whole (or nothing, when the row is no longer in its scope). Omitted when empty.
    public var displaced: [RowKey] = []

    public init(batchId: String, applied: Int, alreadyKnown: Int, superseded: Int, conflicts: Int, serverSeq: Int64) {
        self.batchId = batchId
        self.applied = applied
        self.alreadyKnown = alreadyKnown
        self.superseded = superseded
        self.conflicts = conflicts
        self.serverSeq = serverSeq
    }

    public init(batchId: String, result: MergeResult, serverSeq: Int64) {
        self.init(batchId: batchId, applied: result.applied, alreadyKnown: result.alreadyKnown, superseded: result.superseded,
                  conflicts: result.conflicts.count, serverSeq: serverSeq)
    }

    public static let wire = WireShape(PushResponse(batchId: "", applied: 0, alreadyKnown: 0, superseded: 0, conflicts: 0, serverSeq: 0), [
        .required("batchId", \.batchId), .required("applied", \.applied), .required("alreadyKnown", \.alreadyKnown),
        .required("superseded", \.superseded), .required("conflicts", \.conflicts), .required("serverSeq", \.serverSeq, .nonNegative),
        .omittedWhenEmpty("displaced", \.displaced, RowKey.wireCodec.array(maxCount: .max)),
    ])
}

/// `GET /v1/pull` answer (200).
public struct PullResponse: WireMessage, Hashable {
    public var changes: [Change]
    /// Pass as `after` in the next pull; store it in the transaction that applies `changes`.
    public var cursor: Int64
    public var hasMore: Bool
    /// The server's latest change sequence when the page was read (≥ `cursor`), so an office can tell how far through
    /// the transfer it is (`(cursor − start) ÷ (head − start)`). Optional: omitted by older servers.
    public var head: Int64?

    public init(changes: [Change], cursor: Int64, hasMore: Bool, head: Int64? = nil) {
        self.changes = changes
        self.cursor = cursor
        self.hasMore = hasMore
        self.head = head
    }

    public init(page: ChangePage) { self.init(changes: page.changes, cursor: page.cursor, hasMore: page.hasMore) }

    public static let wire = WireShape(PullResponse(changes: [], cursor: 0, hasMore: false), [
        .required("changes", \.changes, Change.arrayCodec), .required("cursor", \.cursor, .nonNegative),
        .required("hasMore", \.hasMore), .omitted("head", \.head, WireCodec.nonNegative.orNull),
    ])

    public func encoded() -> [UInt8] {
        var w = JSONWriter(capacity: 64 + changes.count * 200)
        encode(to: &w)
        return w.bytes
    }


}

// MARK: - errors

/// Every non-2xx answer: `{"error":{"code":"…","message":"…", optional details}}`. Also usable as a thrown error.
/// Detail members (omitted when nil, in this order): site, skewMs, table, column, index, minProtocol, maxProtocol,
/// schemaVersion, indices, rows.
public struct ErrorBody: WireMessage, Error, Hashable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    /// The site a clock_skew / forbidden error is about.
    public var site: String?
    /// clock_skew: how far (ms) the newest change is ahead of the server clock.
    public var skewMs: Int64?
    public var table: String?
    public var column: String?
    /// The index in `changes` of the offending change.
    public var index: Int?
    /// Every refused change's index, when a push is refused for several rows at once (rows a site may not write):
    /// the office sets them all aside in one round trip.
    public var indices: [Int]?
    /// A 403 naming several rows: each row with its own rule and message (`message` above is the first row's), so
    /// every row the office sets aside keeps its own reason. Absent from older servers.
    public var rows: [RowRefusal]?
    /// protocol_version: the supported range.
    public var minProtocol: Int?
    public var maxProtocol: Int?
    /// upgrade_required / schema_version: the server's schema version.
    public var schemaVersion: Int?
    /// The refusal in both languages, where the server has words for it (not on the wire): the server writes
    /// `message` in the request's language from it (`Accept-Language`); without it `message` is the English detail.
    public var localized: Phrase?

    public init(code: ErrorCode, message: String, site: String? = nil, skewMs: Int64? = nil, table: String? = nil,
                column: String? = nil, index: Int? = nil, minProtocol: Int? = nil, maxProtocol: Int? = nil, schemaVersion: Int? = nil) {
        self.code = code
        self.message = message
        self.site = site
        self.skewMs = skewMs
        self.table = table
        self.column = column
        self.index = index
        self.minProtocol = minProtocol
        self.maxProtocol = maxProtocol
        self.schemaVersion = schemaVersion
    }

    public var httpStatus: Int { code.httpStatus }
    public var description: String { "\(code.rawValue): \(message)" }

    /// Why the change at `index` of the request was refused: the message of the row that names it in `rows`, else
    /// the body's own.
    public func message(forChange index: Int) -> String {
        rows?.first { $0.indices.contains(index) }?.message ?? message
    }

    // Standard bodies, with the messages the README shows.
    public static func clockSkew(site: String, skewMs: Int64, maxSkewMs: Int64 = ProtocolLimits.maxSkewMs) -> ErrorBody {
        ErrorBody(code: .clockSkew,
                  message: "clock of site \(site) is \(skewMs / 1000) s ahead of the county server (limit \(maxSkewMs / 1000) s); fix the office clock, then sync again",
                  site: site, skewMs: skewMs)
    }
    public static func protocolVersion(_ got: Int?) -> ErrorBody {
        ErrorBody(code: .protocolVersion,
                  message: "protocol version \(got.map(String.init) ?? "(none)") is not supported; this server speaks \(ProtocolVersion.minimum)...\(ProtocolVersion.current)",
                  minProtocol: ProtocolVersion.minimum, maxProtocol: ProtocolVersion.current)
    }
    public static func upgradeRequired(serverSchema: Int) -> ErrorBody {
        ErrorBody(code: .upgradeRequired, message: "upgrade cpsync to schema v\(serverSchema)", schemaVersion: serverSchema)
    }
    public static func schemaVersion(serverSchema: Int, officeSchema: Int) -> ErrorBody {
        ErrorBody(code: .schemaVersion, message: "upgrade cpsyncd: the office uses schema v\(officeSchema), the server v\(serverSchema)",
                  schemaVersion: serverSchema)
    }

    public static let wire = WireShape(ErrorBody(code: .serverError, message: ""), [
        .required("code", \.code, String.wireCodec.map({ ErrorCode(rawValue: $0) }, from: { $0.rawValue })),
        .required("message", \.message), .omitted("site", \.site), .omitted("skewMs", \.skewMs), .omitted("table", \.table),
        .omitted("column", \.column), .omitted("index", \.index), .omitted("minProtocol", \.minProtocol),
        .omitted("maxProtocol", \.maxProtocol), .omitted("schemaVersion", \.schemaVersion),
        .omitted("indices", \.indices, Int.wireCodec.array(maxCount: 100_000).orNull),
        .omitted("rows", \.rows, RowRefusal.wireCodec.array(maxCount: 100_000).orNull),
    ])

    /// The body is `{"error":{…}}`: `wire` states the inner object.
    private struct Envelope: WireMessage {
        var error: ErrorBody
        static let wire = WireShape(Envelope(error: ErrorBody.wire.blank), [.required("error", \.error, ErrorBody.wire.codec)])
    }

    public func encode(to w: inout JSONWriter) { Envelope(error: self).encode(to: &w) }
    public static func read(from r: inout JSONReader) throws(WireError) -> ErrorBody { try Envelope.read(from: &r).error }
}

/// One row of a push the access rules refuse (an element of a 403's `rows`): the row, the rule and the message that
/// name it, and the index of every change of it in the request.
public struct RowRefusal: WireMessage, Hashable {
    public var table: String
    public var pk: String
    /// The column the rule is about (a county-only column), if any.
    public var column: String?
    /// The rule's code (`owner`, `move`, `county_table`, `county_column`, `workflow`).
    public var rule: String
    public var message: String
    public var indices: [Int]

    public init(table: String, pk: String, column: String? = nil, rule: String, message: String, indices: [Int]) {
        self.table = table
        self.pk = pk
        self.column = column
        self.rule = rule
        self.message = message
        self.indices = indices
    }

    public static let wire = WireShape(RowRefusal(table: "", pk: "", rule: "", message: "", indices: []), [
        .required("table", \.table), .required("pk", \.pk), .omitted("column", \.column), .required("rule", \.rule),
        .required("message", \.message), .required("indices", \.indices, Int.wireCodec.array(maxCount: 100_000)),
    ])
}

/// A row of `PushResponse.displaced`: `{"table","pk"}`.
extension RowKey: WireValue {
    private struct Members: WireMessage {
        var table = "", pk = ""
        static let wire = WireShape(Members(), [.required("table", \.table), .required("pk", \.pk)])
    }
    public static var wireCodec: WireCodec<RowKey> {
        Members.wireCodec.map({ RowKey(table: $0.table, pk: $0.pk) }, from: { Members(table: $0.table, pk: $0.pk) })
    }
}
