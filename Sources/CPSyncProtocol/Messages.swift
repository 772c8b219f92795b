import CPSyncCore
import CPSyncText
import Foundation

/// A protocol v1 message with a canonical JSON form (see `Protocol/README.md` § Canonical JSON).
public protocol WireMessage: Sendable {
    /// Appends the canonical JSON of `self`.
    func encode(to w: inout JSONWriter)
    /// Reads one message; unknown members are skipped, known ones may come in any order.
    static func read(from r: inout JSONReader) throws(WireError) -> Self
}

extension WireMessage {
    /// The canonical JSON bytes (no trailing newline).
    public func encoded() -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        encode(to: &w)
        return w.bytes
    }

    public func encodedData() -> Data { Data(encoded()) }

    public static func decode(_ bytes: UnsafeRawBufferPointer, limits: WireLimits = .default) throws(WireError) -> Self {
        try JSONReader.read(bytes, limits: limits) { (r: inout JSONReader) throws(WireError) in try Self.read(from: &r) }
    }

    public static func decode(_ bytes: [UInt8], limits: WireLimits = .default) throws(WireError) -> Self {
        let result = bytes.withUnsafeBytes { buf in
            Result { () throws(WireError) -> Self in try decode(buf, limits: limits) }
        }
        return try result.get()
    }

    public static func decode(_ data: Data, limits: WireLimits = .default) throws(WireError) -> Self {
        let result = data.withUnsafeBytes { buf in
            Result { () throws(WireError) -> Self in try decode(buf, limits: limits) }
        }
        return try result.get()
    }
}

extension JSONReader {
    mutating func memberString(_ key: String) throws(WireError) -> String {
        try member(key) { (r: inout JSONReader) throws(WireError) in try r.readString() }
    }
    mutating func memberOptionalString(_ key: String) throws(WireError) -> String? {
        try member(key) { (r: inout JSONReader) throws(WireError) in try r.readOptionalString() }
    }
    mutating func memberInt64(_ key: String, in range: ClosedRange<Int64> = Int64.min...Int64.max) throws(WireError) -> Int64 {
        try member(key) { (r: inout JSONReader) throws(WireError) in try r.readInt(in: range) }
    }
    mutating func memberCount(_ key: String) throws(WireError) -> Int {
        Int(try memberInt64(key, in: 0...Int64(Int32.max)))
    }
    mutating func memberBool(_ key: String) throws(WireError) -> Bool {
        try member(key) { (r: inout JSONReader) throws(WireError) in try r.readBool() }
    }
    mutating func memberValue(_ key: String) throws(WireError) -> Value {
        try member(key) { (r: inout JSONReader) throws(WireError) in try r.readValue() }
    }
    mutating func memberMessage<T: WireMessage>(_ key: String, _ type: T.Type) throws(WireError) -> T {
        try member(key) { (r: inout JSONReader) throws(WireError) in try T.read(from: &r) }
    }
    mutating func memberOptionalMessage<T: WireMessage>(_ key: String, _ type: T.Type) throws(WireError) -> T? {
        try member(key) { (r: inout JSONReader) throws(WireError) -> T? in r.readNull() ? nil : try T.read(from: &r) }
    }
    mutating func memberArray<T: WireMessage>(_ key: String, _ type: T.Type) throws(WireError) -> [T] {
        try member(key) { (r: inout JSONReader) throws(WireError) in
            try r.array(maxCount: r.limits.maxChanges) { (e: inout JSONReader) throws(WireError) in try T.read(from: &e) }
        }
    }
}

extension JSONWriter {
    public mutating func message<T: WireMessage>(_ m: T) { m.encode(to: &self) }
    public mutating func optionalMessage<T: WireMessage>(_ m: T?) { if let m { m.encode(to: &self) } else { null() } }
    public mutating func messages<T: WireMessage>(_ ms: [T]) {
        byte(UInt8(ascii: "["))
        for (i, m) in ms.enumerated() {
            if i > 0 { byte(UInt8(ascii: ",")) }
            m.encode(to: &self)
        }
        byte(UInt8(ascii: "]"))
    }
}

// MARK: - health and status

/// `GET /v1/health` → `{"ok":true}`.
public struct HealthResponse: WireMessage, Hashable {
    public var ok: Bool
    public init(ok: Bool = true) { self.ok = ok }

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"ok\":")
        w.bool(ok)
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["ok"])
    public static func read(from r: inout JSONReader) throws(WireError) -> HealthResponse {
        var st = try r.beginObject()
        var m = HealthResponse()
        while let k = try r.nextKey(&st, keys) {
            if k == 0 { m.ok = try r.memberBool("ok") } else { try r.skipValue() }
        }
        try r.requireMembers(st, keys, 0b1)
        return m
    }
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

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"maxBodyBytes\":")
        w.int(maxBodyBytes)
        w.raw(",\"maxChangesPerPush\":")
        w.int(maxChangesPerPush)
        w.raw(",\"maxPageSize\":")
        w.int(maxPageSize)
        w.raw(",\"defaultPageSize\":")
        w.int(defaultPageSize)
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["maxBodyBytes", "maxChangesPerPush", "maxPageSize", "defaultPageSize"])
    public static func read(from r: inout JSONReader) throws(WireError) -> ServerLimits {
        var st = try r.beginObject()
        var m = ServerLimits()
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.maxBodyBytes = try r.memberCount("maxBodyBytes")
            case 1: m.maxChangesPerPush = try r.memberCount("maxChangesPerPush")
            case 2: m.maxPageSize = try r.memberCount("maxPageSize")
            case 3: m.defaultPageSize = try r.memberCount("defaultPageSize")
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b0111)
        return m
    }
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

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"protocol\":")
        w.int(protocolVersion)
        w.raw(",\"minProtocol\":")
        w.int(minProtocol)
        w.raw(",\"schemaVersion\":")
        w.int(schemaVersion)
        w.raw(",\"serverTime\":")
        w.int(serverTime)
        w.raw(",\"serverSite\":")
        w.string(serverSite)
        w.raw(",\"maxSkewMs\":")
        w.int(maxSkewMs)
        w.raw(",\"limits\":")
        limits.encode(to: &w)
        if let epoch {
            w.raw(",\"epoch\":")
            w.string(epoch)
        }
        if let encodings {
            w.raw(",\"encodings\":")
            w.strings(encodings)
        }
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["protocol", "minProtocol", "schemaVersion", "serverTime", "serverSite", "maxSkewMs", "limits", "epoch", "encodings"])
    public static func read(from r: inout JSONReader) throws(WireError) -> StatusResponse {
        var st = try r.beginObject()
        var m = StatusResponse(schemaVersion: 0, serverTime: 0)
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.protocolVersion = try r.memberCount("protocol")
            case 1: m.minProtocol = try r.memberCount("minProtocol")
            case 2: m.schemaVersion = try r.memberCount("schemaVersion")
            case 3: m.serverTime = try r.memberInt64("serverTime")
            case 4: m.serverSite = try r.memberString("serverSite")
            case 5: m.maxSkewMs = try r.memberInt64("maxSkewMs", in: 0...Int64.max)
            case 6: m.limits = try r.memberMessage("limits", ServerLimits.self)
            case 7: m.epoch = try r.memberOptionalString("epoch")
            case 8: m.encodings = try r.member("encodings") { (r: inout JSONReader) throws(WireError) -> [String]? in
                r.readNull() ? nil : try r.readStrings(maxCount: 64)
            }
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b111_1111)
        return m
    }

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

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"protocol\":")
        w.int(protocolVersion)
        w.raw(",\"schemaVersion\":")
        w.int(schemaVersion)
        w.raw(",\"batchId\":")
        w.string(batchId)
        w.raw(",\"site\":")
        w.string(site)
        w.raw(",\"changes\":")
        w.changes(changes)
        w.byte(UInt8(ascii: "}"))
    }

    /// Canonical bytes, with capacity reserved for the change array.
    public func encoded() -> [UInt8] {
        var w = JSONWriter(capacity: 128 + changes.count * 200)
        encode(to: &w)
        return w.bytes
    }

    private static let keys = KeyTable(["protocol", "schemaVersion", "batchId", "site", "changes"])
    public static func read(from r: inout JSONReader) throws(WireError) -> PushRequest {
        var st = try r.beginObject()
        var m = PushRequest(schemaVersion: 0, batchId: "", site: "", changes: [])
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.protocolVersion = try r.memberCount("protocol")
            case 1: m.schemaVersion = try r.memberCount("schemaVersion")
            case 2: m.batchId = try r.memberString("batchId")
            case 3: m.site = try r.memberString("site")
            case 4: m.changes = try r.member("changes") { (r: inout JSONReader) throws(WireError) in try r.readChanges() }
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b1_1111)
        return m
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

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"batchId\":")
        w.string(batchId)
        w.raw(",\"applied\":")
        w.int(applied)
        w.raw(",\"alreadyKnown\":")
        w.int(alreadyKnown)
        w.raw(",\"superseded\":")
        w.int(superseded)
        w.raw(",\"conflicts\":")
        w.int(conflicts)
        w.raw(",\"serverSeq\":")
        w.int(serverSeq)
        if !displaced.isEmpty {
            w.raw(",\"displaced\":[")
            for (i, row) in displaced.enumerated() {
                w.raw(i == 0 ? "{\"table\":" : ",{\"table\":")
                w.string(row.table)
                w.raw(",\"pk\":")
                w.string(row.pk)
                w.byte(UInt8(ascii: "}"))
            }
            w.byte(UInt8(ascii: "]"))
        }
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["batchId", "applied", "alreadyKnown", "superseded", "conflicts", "serverSeq", "displaced"])
    private static let rowKeys = KeyTable(["table", "pk"])
    public static func read(from r: inout JSONReader) throws(WireError) -> PushResponse {
        var st = try r.beginObject()
        var m = PushResponse(batchId: "", applied: 0, alreadyKnown: 0, superseded: 0, conflicts: 0, serverSeq: 0)
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.batchId = try r.memberString("batchId")
            case 1: m.applied = try r.memberCount("applied")
            case 2: m.alreadyKnown = try r.memberCount("alreadyKnown")
            case 3: m.superseded = try r.memberCount("superseded")
            case 4: m.conflicts = try r.memberCount("conflicts")
            case 5: m.serverSeq = try r.memberInt64("serverSeq", in: 0...Int64.max)
            case 6:
                m.displaced = try r.member("displaced") { (r: inout JSONReader) throws(WireError) -> [RowKey] in
                    var rows: [RowKey] = []
                    try r.beginArray()
                    while try r.nextElement(rows.count) {
                        var row = try r.beginObject()
                        var table = "", pk = ""
                        while let k = try r.nextKey(&row, rowKeys) {
                            switch k {
                            case 0: table = try r.memberString("table")
                            case 1: pk = try r.memberString("pk")
                            default: try r.skipValue()
                            }
                        }
                        try r.requireMembers(row, rowKeys, 0b11)
                        rows.append(RowKey(table: table, pk: pk))
                    }
                    return rows
                }
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b11_1111)
        return m
    }
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

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"changes\":")
        w.changes(changes)
        w.raw(",\"cursor\":")
        w.int(cursor)
        w.raw(",\"hasMore\":")
        w.bool(hasMore)
        if let head {
            w.raw(",\"head\":")
            w.int(head)
        }
        w.byte(UInt8(ascii: "}"))
    }

    public func encoded() -> [UInt8] {
        var w = JSONWriter(capacity: 64 + changes.count * 200)
        encode(to: &w)
        return w.bytes
    }

    private static let keys = KeyTable(["changes", "cursor", "hasMore", "head"])
    public static func read(from r: inout JSONReader) throws(WireError) -> PullResponse {
        var st = try r.beginObject()
        var m = PullResponse(changes: [], cursor: 0, hasMore: false)
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.changes = try r.member("changes") { (r: inout JSONReader) throws(WireError) in try r.readChanges() }
            case 1: m.cursor = try r.memberInt64("cursor", in: 0...Int64.max)
            case 2: m.hasMore = try r.memberBool("hasMore")
            case 3: m.head = try r.member("head") { (r: inout JSONReader) throws(WireError) -> Int64? in r.readNull() ? nil : try r.readInt(in: 0...Int64.max) }
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b111)
        return m
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

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"error\":{\"code\":")
        w.string(code.rawValue)
        w.raw(",\"message\":")
        w.string(message)
        if let site { w.raw(",\"site\":"); w.string(site) }
        if let skewMs { w.raw(",\"skewMs\":"); w.int(skewMs) }
        if let table { w.raw(",\"table\":"); w.string(table) }
        if let column { w.raw(",\"column\":"); w.string(column) }
        if let index { w.raw(",\"index\":"); w.int(index) }
        if let minProtocol { w.raw(",\"minProtocol\":"); w.int(minProtocol) }
        if let maxProtocol { w.raw(",\"maxProtocol\":"); w.int(maxProtocol) }
        if let schemaVersion { w.raw(",\"schemaVersion\":"); w.int(schemaVersion) }
        if let indices {
            w.raw(",\"indices\":[")
            for (n, i) in indices.enumerated() {
                if n > 0 { w.byte(UInt8(ascii: ",")) }
                w.int(i)
            }
            w.byte(UInt8(ascii: "]"))
        }
        if let rows { w.raw(",\"rows\":"); w.messages(rows) }
        w.raw("}}")
    }

    private static let outerKeys = KeyTable(["error"])
    private static let keys = KeyTable(["code", "message", "site", "skewMs", "table", "column", "index", "minProtocol", "maxProtocol", "schemaVersion", "indices", "rows"])
    public static func read(from r: inout JSONReader) throws(WireError) -> ErrorBody {
        var outer = try r.beginObject()
        var m: ErrorBody? = nil
        while let k = try r.nextKey(&outer, outerKeys) {
            if k == 0 { m = try r.member("error") { (r: inout JSONReader) throws(WireError) in try readInner(&r) } } else { try r.skipValue() }
        }
        try r.requireMembers(outer, outerKeys, 0b1)
        return m!
    }

    private static func readInner(_ r: inout JSONReader) throws(WireError) -> ErrorBody {
        var st = try r.beginObject()
        var m = ErrorBody(code: .serverError, message: "")
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.code = ErrorCode(rawValue: try r.memberString("code"))
            case 1: m.message = try r.memberString("message")
            case 2: m.site = try r.memberOptionalString("site")
            case 3: m.skewMs = try r.member("skewMs") { (r: inout JSONReader) throws(WireError) -> Int64? in r.readNull() ? nil : try r.readInt64() }
            case 4: m.table = try r.memberOptionalString("table")
            case 5: m.column = try r.memberOptionalString("column")
            case 6: m.index = try r.member("index") { (r: inout JSONReader) throws(WireError) -> Int? in r.readNull() ? nil : Int(try r.readInt(in: 0...Int64(Int32.max))) }
            case 7: m.minProtocol = try r.member("minProtocol") { (r: inout JSONReader) throws(WireError) -> Int? in r.readNull() ? nil : Int(try r.readInt(in: 0...Int64(Int32.max))) }
            case 8: m.maxProtocol = try r.member("maxProtocol") { (r: inout JSONReader) throws(WireError) -> Int? in r.readNull() ? nil : Int(try r.readInt(in: 0...Int64(Int32.max))) }
            case 9: m.schemaVersion = try r.member("schemaVersion") { (r: inout JSONReader) throws(WireError) -> Int? in r.readNull() ? nil : Int(try r.readInt(in: 0...Int64(Int32.max))) }
            case 10: m.indices = try r.member("indices") { (r: inout JSONReader) throws(WireError) -> [Int]? in
                r.readNull() ? nil : try r.array(maxCount: 100_000) { (r: inout JSONReader) throws(WireError) -> Int in Int(try r.readInt(in: 0...Int64(Int32.max))) }
            }
            case 11: m.rows = try r.member("rows") { (r: inout JSONReader) throws(WireError) -> [RowRefusal]? in
                r.readNull() ? nil : try r.array(maxCount: 100_000) { (r: inout JSONReader) throws(WireError) in try RowRefusal.read(from: &r) }
            }
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b11)
        return m
    }
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

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"table\":")
        w.string(table)
        w.raw(",\"pk\":")
        w.string(pk)
        if let column { w.raw(",\"column\":"); w.string(column) }
        w.raw(",\"rule\":")
        w.string(rule)
        w.raw(",\"message\":")
        w.string(message)
        w.raw(",\"indices\":[")
        for (n, i) in indices.enumerated() {
            if n > 0 { w.byte(UInt8(ascii: ",")) }
            w.int(i)
        }
        w.raw("]}")
    }

    private static let keys = KeyTable(["table", "pk", "column", "rule", "message", "indices"])
    public static func read(from r: inout JSONReader) throws(WireError) -> RowRefusal {
        var st = try r.beginObject()
        var m = RowRefusal(table: "", pk: "", rule: "", message: "", indices: [])
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.table = try r.memberString("table")
            case 1: m.pk = try r.memberString("pk")
            case 2: m.column = try r.memberOptionalString("column")
            case 3: m.rule = try r.memberString("rule")
            case 4: m.message = try r.memberString("message")
            case 5: m.indices = try r.member("indices") { (r: inout JSONReader) throws(WireError) -> [Int] in
                try r.array(maxCount: 100_000) { (r: inout JSONReader) throws(WireError) -> Int in Int(try r.readInt(in: 0...Int64(Int32.max))) }
            }
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b111011)
        return m
    }
}
