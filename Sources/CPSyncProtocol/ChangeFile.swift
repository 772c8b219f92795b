import CPSyncCore
import Foundation

// Change files: sync by USB stick for stations with no link (Protocol/README.md §17). A file is lines of canonical
// JSON: a header, the content lines (push batches, or batch results then pull pages), and a signature line
// `{"hmac":"<hex>"}` over every byte before it. Canonical JSON never holds a raw newline, so lines frame it.

/// What a change file carries.
public enum ChangeFileKind: String, Sendable, CaseIterable {
    /// A station's unacknowledged changes, carried to the county (`cpsync export-changes`).
    case changes
    /// The county's answer: push acknowledgements and pull pages, carried back (`cpsyncd import --reply`).
    case reply
}

/// An outbox entry a change file sends: its id and the identity of its change, so that an acknowledgement removes
/// exactly that entry even if the id was reused since.
public struct OutboxRef: WireMessage, Hashable {
    public var id: Int64
    public var table: String
    public var pk: String
    public var column: String
    public var version: Version

    public init(id: Int64, table: String, pk: String, column: String, version: Version) {
        self.id = id
        self.table = table
        self.pk = pk
        self.column = column
        self.version = version
    }

    /// `version`'s two members on the wire.
    var hlc: Int64 {
        get { version.hlc.rawValue }
        set { version = Version(hlc: HLC(rawValue: newValue), site: version.site) }
    }
    var site: String {
        get { version.site }
        set { version = Version(hlc: version.hlc, site: newValue) }
    }

    public static let wire = WireShape(OutboxRef(id: 0, table: "", pk: "", column: "", version: Version(hlc: HLC(rawValue: 0), site: "")), [
        .required("id", \.id), .required("table", \.table), .required("pk", \.pk), .required("col", \.column),
        .required("hlc", \.hlc), .required("site", \.site),
    ])
}

/// The first line of a change file. Positions are the station's sync cursors (see §13.1): in a `changes` file where
/// the station stands; in a `reply`, what the county's answer covers.
public struct ChangeFileHeader: WireMessage, Hashable {
    /// Key `cpsyncChangeFile`: the format version.
    public var version: Int
    public var kind: ChangeFileKind
    /// The station the file is for (its changes, or the answer to them).
    public var site: String
    /// A fresh UUID per file.
    public var fileId: String
    /// reply: the `fileId` of the changes file it answers.
    public var replyTo: String?
    /// Milliseconds since 1970, when the file was written.
    public var createdAt: Int64
    /// changes: the county epoch the station last synced with (nil: never); reply: the county's epoch.
    public var epoch: String?
    public var schemaVersion: Int
    /// changes: the station's pull cursor and mark; reply: where the pull pages start (`pullAfter`, `pullSince`) and
    /// end (`pullCursor`).
    public var pullAfter: Int64
    public var pullSince: Int64
    public var pullCursor: Int64?
    /// The station's push reader: from (`pushAfter`, `pushSince`) through `pushThrough`, the local sequence up to
    /// which the file's batches hold every own change. A reply copies them from the changes file.
    public var pushAfter: Int64
    public var pushSince: Int64
    public var pushThrough: Int64
    /// reply: whether every batch was settled (applied, replayed, or its refused changes named), so the station may
    /// move its push cursor to `pushThrough`.
    public var pushComplete: Bool?
    /// The outbox entries in the first batch (a reply copies them).
    public var outbox: [OutboxRef]
    /// Content lines: changes — push batches; reply — one result per batch, then `pages` pull pages.
    public var batches: Int
    public var pages: Int
    /// reply: the county's change sequence when the reply was made; a station ignores a reply not newer than the last
    /// one it imported.
    public var serverSeq: Int64?
    /// Attached files (§19.6): changes — the SHA-256 of each file in the companion directory `FILE.files/` (the
    /// signature covers the list; each file's bytes are checked against its name); reply — the station's files the
    /// county now holds (the station stops carrying them). Omitted when there are none.
    public var files: [String]?

    public init(version: Int = ChangeFileHeader.currentVersion, kind: ChangeFileKind, site: String, fileId: String, replyTo: String? = nil,
                createdAt: Int64, epoch: String?, schemaVersion: Int, pullAfter: Int64, pullSince: Int64, pullCursor: Int64? = nil,
                pushAfter: Int64, pushSince: Int64, pushThrough: Int64, pushComplete: Bool? = nil, outbox: [OutboxRef],
                batches: Int, pages: Int = 0, serverSeq: Int64? = nil, files: [String]? = nil) {
        self.files = files
        self.version = version
        self.kind = kind
        self.site = site
        self.fileId = fileId
        self.replyTo = replyTo
        self.createdAt = createdAt
        self.epoch = epoch
        self.schemaVersion = schemaVersion
        self.pullAfter = pullAfter
        self.pullSince = pullSince
        self.pullCursor = pullCursor
        self.pushAfter = pushAfter
        self.pushSince = pushSince
        self.pushThrough = pushThrough
        self.pushComplete = pushComplete
        self.outbox = outbox
        self.batches = batches
        self.pages = pages
        self.serverSeq = serverSeq
    }

    public static let currentVersion = 1

    public static let wire = WireShape(
        ChangeFileHeader(kind: .changes, site: "", fileId: "", createdAt: 0, epoch: nil, schemaVersion: 0, pullAfter: 0, pullSince: 0,
                         pushAfter: 0, pushSince: 0, pushThrough: 0, outbox: [], batches: 0), [
        // Required: everything but the nullable members (replyTo, epoch, pullCursor, pushComplete, serverSeq).
        .required("cpsyncChangeFile", \.version), .required("kind", \.kind, .oneOf(ChangeFileKind.allCases)),
        .required("site", \.site), .required("fileId", \.fileId), .optional("replyTo", \.replyTo),
        .required("createdAt", \.createdAt), .optional("epoch", \.epoch), .required("schemaVersion", \.schemaVersion),
        .required("pullAfter", \.pullAfter, .nonNegative), .required("pullSince", \.pullSince, .nonNegative),
        .optional("pullCursor", \.pullCursor, WireCodec.nonNegative.orNull), .required("pushAfter", \.pushAfter, .nonNegative),
        .required("pushSince", \.pushSince, .nonNegative), .required("pushThrough", \.pushThrough, .nonNegative),
        .optional("pushComplete", \.pushComplete), .required("outbox", \.outbox), .required("batches", \.batches),
        .required("pages", \.pages), .optional("serverSeq", \.serverSeq, WireCodec.nonNegative.orNull),
        .omitted("files", \.files, String.wireCodec.array(maxCount: 100_000).orNull),
    ])
}

/// Changes of one batch the county refused, with its reason (code and message as in the HTTP error body); the
/// station holds them (`cpsync status` lists them), as after an HTTP refusal.
public struct RefusedGroup: WireMessage, Hashable {
    public var code: String
    public var message: String
    public var changes: [Change]

    public init(code: String, message: String, changes: [Change]) {
        self.code = code
        self.message = message
        self.changes = changes
    }

    public static let wire = WireShape(RefusedGroup(code: "", message: "", changes: []), [
        .required("code", \.code), .required("message", \.message), .required("changes", \.changes, Change.arrayCodec),
    ])
}

/// How the county settled one batch of a changes file: its push answer (`response`, the HTTP 200 body), the changes
/// it refused (set aside by the station), or an error that refused the whole batch (the station keeps it queued).
public struct BatchResult: WireMessage, Hashable {
    public var batchId: String
    public var response: PushResponse?
    public var refused: [RefusedGroup]
    public var error: ErrorBody?

    public init(batchId: String, response: PushResponse?, refused: [RefusedGroup] = [], error: ErrorBody? = nil) {
        self.batchId = batchId
        self.response = response
        self.refused = refused
        self.error = error
    }

    public static let wire = WireShape(BatchResult(batchId: "", response: nil), [
        .required("batchId", \.batchId), .optional("response", \.response), .optional("refused", \.refused),
        .optional("error", \.error),
    ])
}

/// `POST /v1/relay` in its file-store form (§17.5): the request names the station's changes file the relayer
/// uploaded to the county's file store (`PUT /v1/blobs/{sha256}`); the answer names the county's reply there
/// (`GET /v1/blobs/{sha256}` with ranges). Neither file travels in one body, so neither is bounded by the body limit.
public struct RelayFile: WireMessage, Hashable {
    public var sha256: String
    public var size: Int64

    public init(sha256: String, size: Int64) {
        self.sha256 = sha256
        self.size = size
    }

    public static let wire = WireShape(RelayFile(sha256: "", size: 0), [
        .required("sha256", \.sha256), .required("size", \.size, .nonNegative),
    ])
}

/// Why a change file was refused. Nothing was applied in every case. Both languages are here (the protocol module
/// has no locale); the commands pick one.
public enum ChangeFileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Not a cpsync change file at all (another file was copied, or it is empty).
    case notAChangeFile
    /// A newer cpsync wrote it.
    case unsupportedVersion(Int)
    /// The signature line is missing: the copy was cut short.
    case truncated
    /// The signature does not match the content and the site's key: altered, or signed by another token.
    case badSignature(site: String)
    /// Signed correctly but malformed inside (a line does not decode, counts do not match).
    case malformed(String)
    case wrongKind(expected: ChangeFileKind, got: ChangeFileKind)
    /// A reply for another station.
    case wrongSite(file: String, here: String)
    /// The county does not know the site, or the site is revoked.
    case unknownSite(String)
    case revokedSite(String)
    /// A reply to a changes file this station's database did not write: an earlier installation of the station (its
    /// database deleted and made again), or another copy of it. Its acknowledgement would pass over changes the
    /// county never received.
    case notThisDatabase(site: String)
    /// A line (1-based) longer than any batch or page may be (`ChangeFile.maxLineBytes`): not read, since reading it
    /// would take memory without bound.
    case lineTooLong(line: Int, limit: Int)

    public var english: String {
        switch self {
        case .notAChangeFile: "this is not a cpsync change file; check that the right file was copied; nothing was applied"
        case .unsupportedVersion(let v): "change file format \(v) is newer than this cpsync understands (\(ChangeFileHeader.currentVersion)); upgrade; nothing was applied"
        case .truncated: "the change file is incomplete (no signature line): copy it from the stick again; nothing was applied"
        case .badSignature(let site):
            "the change file's signature does not match site '\(site)': the file was altered after it was written, or it was signed with another token (a token re-issued since?); export it again at the station; nothing was applied"
        case .malformed(let why): "the change file is damaged: \(why); export it again; nothing was applied"
        case .wrongKind(let expected, _):
            expected == .reply ? "this is a station's changes file, not a county reply (`cpsyncd import` reads it at the county); nothing was applied"
                : "this is a county reply, not a station's changes file (`cpsync import-changes` reads it at the station); nothing was applied"
        case .wrongSite(let file, let here): "this reply is for site '\(file)', but this office is '\(here)'; give it to that station; nothing was applied"
        case .unknownSite(let site): "site '\(site)' is not registered on this county server; nothing was applied"
        case .revokedSite(let site): "site '\(site)' is revoked on this county server (`cpsyncd site activate \(site)` re-activates it); nothing was applied"
        case .lineTooLong(let line, let limit):
            "line \(line) of the change file is longer than \(limit) bytes, more than any batch or page may be: the file is damaged or was not written by cpsync; export it again; nothing was applied"
        case .notThisDatabase(let site):
            "this reply answers a changes file that this database of '\(site)' did not write (an earlier installation of the station, or another copy of its database); nothing was applied: export again and take the new file to the county"
        }
    }

    public var chinese: String {
        switch self {
        case .notAChangeFile: "这不是 cpsync 修改文件，请检查拷贝的文件是否正确；未导入任何内容"
        case .unsupportedVersion(let v): "修改文件格式 \(v) 比本程序支持的（\(ChangeFileHeader.currentVersion)）更新，请升级 cpsync；未导入任何内容"
        case .truncated: "修改文件不完整（缺少签名行），请从U盘重新拷贝；未导入任何内容"
        case .badSignature(let site): "修改文件的签名与站点 '\(site)' 不符：文件在导出后被改动过，或用其他令牌签名（令牌已重新签发？）；请在联络站重新导出；未导入任何内容"
        case .malformed(let why): "修改文件已损坏：\(why)；请重新导出；未导入任何内容"
        case .wrongKind(let expected, _):
            expected == .reply ? "这是联络站导出的修改文件，不是县里的回执（应在县里用 `cpsyncd import` 导入）；未导入任何内容"
                : "这是县里的回执，不是联络站的修改文件（应在联络站用 `cpsync import-changes` 导入）；未导入任何内容"
        case .wrongSite(let file, let here): "这份回执属于站点 '\(file)'，本办公室是 '\(here)'，请交给该联络站；未导入任何内容"
        case .unknownSite(let site): "站点 '\(site)' 未在本县服务器登记；未导入任何内容"
        case .revokedSite(let site): "站点 '\(site)' 已被吊销（可用 `cpsyncd site activate \(site)` 重新启用）；未导入任何内容"
        case .lineTooLong(let line, let limit):
            "修改文件第 \(line) 行超过 \(limit) 字节，比任何一批修改或一页数据都长：文件已损坏或不是 cpsync 写出的；请重新导出；未导入任何内容"
        case .notThisDatabase(let site):
            "这份回执答复的修改文件不是本机站点 '\(site)' 的这个数据库导出的（可能是联络站重装之前导出的，或另一份数据库副本）；未导入任何内容：请重新导出修改文件并送到县里"
        }
    }

    public var description: String { english }
}

/// A change file, read and checked, or to be written.
public struct ChangeFile: Sendable {
    public var header: ChangeFileHeader
    /// The content lines between the header and the signature (each the canonical JSON of one message).
    public var lines: [[UInt8]]

    public init(header: ChangeFileHeader, lines: [[UInt8]]) {
        self.header = header
        self.lines = lines
    }

    /// The signing key of a site: HMAC-SHA256 keyed by the SHA-256 of its token (what the county stores) over a fixed
    /// label and the site id. See §17.3 for why.
    public static func key(tokenHash: [UInt8], site: String) -> [UInt8] {
        HMACSHA256.mac(key: tokenHash, message: Array("cpsync change file v1\u{0}\(site)".utf8))
    }

    /// The key from the token itself (the station's side).
    public static func key(token: String, site: String) -> [UInt8] { key(tokenHash: SHA256.hash(Array(token.utf8)), site: site) }

    /// The key from the token hash as the county stores it (64 hex digits); nil when it is not that.
    public static func key(tokenHashHex: String, site: String) -> [UInt8]? {
        let hex = Array(tokenHashHex.utf8)
        guard hex.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for i in stride(from: 0, to: 64, by: 2) {
            guard let b = UInt8(String(decoding: hex[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(b)
        }
        return key(tokenHash: bytes, site: site)
    }

    /// The file's bytes: header, lines, and the signature line, each ending in `\n`. Built in one buffer and signed
    /// in place: no other copy of the file is made.
    public func signed(key: [UInt8]) -> [UInt8] {
        var out = header.encoded()
        out.reserveCapacity(out.count + 1 + lines.reduce(0) { $0 + $1.count + 1 } + 80)
        out.append(0x0A)
        for line in lines {
            out += line
            out.append(0x0A)
        }
        let mac = out.withUnsafeBytes { Self.macHex(key: key, message: $0) }
        out += Self.signatureLine(mac)
        return out
    }

    /// The last line of a file: `{"hmac":"<hex>"}` and its `\n`.
    static func signatureLine(_ macHex: String) -> [UInt8] { Array("{\"hmac\":\"\(macHex)\"}\n".utf8) }

    /// The bytes of a signature line, without its `\n`.
    static let signatureBytes = 75

    /// The MAC a signature line gives (its bytes without the `\n`), or nil when it is not one: a copy cut short.
    static func givenMAC(_ trailer: some Collection<UInt8>) -> String? {
        let prefix = "{\"hmac\":\"".utf8, suffix = "\"}".utf8
        guard trailer.count == prefix.count + 64 + suffix.count, trailer.starts(with: prefix), trailer.suffix(suffix.count).elementsEqual(suffix) else {
            return nil
        }
        return String(decoding: trailer.dropFirst(prefix.count).prefix(64), as: UTF8.self)
    }

    /// HMAC-SHA256 (as `HMACSHA256.hex`) of bytes where they lie: the message is hashed in place, never copied.
    static func macHex(key: [UInt8], message: UnsafeRawBufferPointer) -> String {
        var mac = HMACSHA256.Hasher(key: key)
        mac.update(message)
        return mac.finishHex()
    }

    /// The header as written, before the signature is checked (to find whose key checks it). Never act on it alone.
    public static func peekHeader(_ bytes: [UInt8]) throws(ChangeFileError) -> ChangeFileHeader {
        guard let end = bytes.firstIndex(of: 0x0A) else { throw .notAChangeFile }
        return try header(line: Array(bytes[..<end]))
    }

    /// The header line decoded, of a version this cpsync reads.
    static func header(line: [UInt8]) throws(ChangeFileError) -> ChangeFileHeader {
        let header: ChangeFileHeader
        do { header = try ChangeFileHeader.decode(line) } catch { throw .notAChangeFile }
        guard header.version == ChangeFileHeader.currentVersion else { throw .unsupportedVersion(header.version) }
        return header
    }

    /// Reads a file and checks its signature with `key` (given the unverified header, which names the site).
    public static func open(_ bytes: [UInt8], key: (ChangeFileHeader) throws -> [UInt8]) throws -> ChangeFile {
        let header = try peekHeader(bytes)
        guard bytes.last == 0x0A else { throw ChangeFileError.truncated }
        let body = bytes.dropLast()
        guard let lastBreak = body.lastIndex(of: 0x0A) else { throw ChangeFileError.truncated }
        guard let given = givenMAC(body[(lastBreak + 1)...]) else { throw ChangeFileError.truncated }
        // Checked and split where the bytes lie: the only copy made is of the content lines.
        let signingKey = try key(header)
        let expected = bytes.withUnsafeBytes { macHex(key: signingKey, message: UnsafeRawBufferPointer(rebasing: $0[...lastBreak])) }
        guard HMACSHA256.equal(Array(expected.utf8), Array(given.utf8)) else { throw ChangeFileError.badSignature(site: header.site) }
        // The header, then the content lines (the last one ends at `lastBreak`).
        let lines = bytes[..<lastBreak].split(separator: 0x0A, omittingEmptySubsequences: false).dropFirst().map(Array.init)
        let expectedLines = header.kind == .changes ? header.batches : header.batches + header.pages
        guard lines.count == expectedLines else {
            throw ChangeFileError.malformed("the header announces \(expectedLines) lines, the file holds \(lines.count)")
        }
        return ChangeFile(header: header, lines: lines)
    }

    /// Decodes content line `i` as `T`, naming the line in the error.
    public func decode<T: WireMessage>(_ type: T.Type, line i: Int, limits: WireLimits = WireLimits(maxChanges: ProtocolLimits.maxChangesPerPush)) throws(ChangeFileError) -> T {
        do { return try T.decode(lines[i], limits: limits) } catch { throw .malformed("line \(i + 2): \(error)") }
    }
}
