import CPSyncText
import CPSyncCore
import Foundation

/// Files attached to records (schema v3): a proposal's signed original or the unit's reply letter, an activity's
/// photos, a social report's material, a member's photo.
///
/// The metadata is rows of one table per kind of record (`proposal_attachments`, …), each a child of its record as
/// `proposal_cosigners` is of its proposal: the same merge, permissions (an office attaches to its area's records;
/// to a proposal only while it is a draft or submitted, as co-signers), scope (an office holds the attachments of
/// the records it holds) and conflicts as every other row. The bytes are not in the rows: they are kept by their
/// SHA-256 in a `BlobStore` beside the replica and move apart (`BlobTransfer`), so a 200 MB scan never sits in a
/// change log, a pull page or memory.
public enum Attachments {
    /// A kind of record files attach to.
    public struct Kind: Sendable {
        /// The attachments table.
        public let table: String
        /// The record's table and the column naming the record.
        public let parent: String
        public let key: String
        /// What `cpsync attach --KIND` and the lookups call it.
        public let option: String
        /// The kind named in messages (`CPPCCError.zh`).
        public let recordKind: String
        /// Proposals: an office attaches only while the proposal is a draft or submitted (the county any time).
        public let gated: Bool
    }

    public static let kinds: [Kind] = [
        Kind(table: "proposal_attachments", parent: "proposals", key: "proposal_id", option: "proposal", recordKind: "proposal", gated: true),
        Kind(table: "activity_attachments", parent: "activities", key: "activity_id", option: "activity", recordKind: "activity", gated: false),
        Kind(table: "social_report_attachments", parent: "social_reports", key: "social_report_id", option: "social", recordKind: "social report", gated: false),
        Kind(table: "member_attachments", parent: "members", key: "member_id", option: "member", recordKind: "member", gated: false),
    ]

    public static func kind(of table: String) -> Kind? { kinds.first { $0.table == table } }
    public static var tables: [String] { kinds.map(\.table) }

    static let columns = "id, name, size, sha256, media_type, added_by, added_at"

    /// Schema v3: the attachment tables.
    static var migrationSQL: String {
        kinds.map { k in
            """
            CREATE TABLE IF NOT EXISTS \(k.table) (
              id TEXT PRIMARY KEY NOT NULL,
              \(k.key) TEXT,
              name TEXT NOT NULL DEFAULT '',
              size INTEGER NOT NULL DEFAULT 0,
              sha256 TEXT NOT NULL DEFAULT '',
              media_type TEXT NOT NULL DEFAULT '',
              added_by TEXT NOT NULL DEFAULT '',
              added_at TEXT NOT NULL DEFAULT ''
            );
            CREATE INDEX IF NOT EXISTS \(k.table)_record ON \(k.table)(\(k.key));
            CREATE INDEX IF NOT EXISTS \(k.table)_sha256 ON \(k.table)(sha256);
            """
        }.joined(separator: "\n")
    }

    /// One attachment, as listed.
    public struct Attachment: Sendable, Equatable, Encodable {
        public let id: String
        public let table: String
        public let recordID: String
        public let name: String
        public let size: Int64
        public let sha256: String
        public let mediaType: String
        public let addedBy: String
        public let addedAt: String
        /// Whether this replica holds the bytes (set by the caller that knows the store).
        public var present: Bool = false

        public var recordKind: String { Attachments.kind(of: table)?.recordKind ?? table }
        /// The table of the record it is attached to.
        public var recordTable: String { Attachments.kind(of: table)?.parent ?? table }
    }

    /// A record a file is attached to: a kind and the key a clerk gives (a proposal's 案号, an id or its start).
    public struct RecordRef: Sendable {
        public let kind: Kind
        public let key: String
        public init(kind: Kind, key: String) { self.kind = kind; self.key = key }
        public init?(option: String, key: String) {
            guard let k = Attachments.kinds.first(where: { $0.option == option }) else { return nil }
            self.init(kind: k, key: key)
        }
    }

    // MARK: Writing

    /// Attaches the file at `path` to `record`: the bytes go into `store` (hashed on the way, never whole in memory),
    /// then one row is written (captured, so it syncs). Checked first against the county's limits as this office
    /// last learned them, so a file the county would refuse is refused here, before anything is written.
    public static func add(_ office: Office, to record: RecordRef, file path: String, name: String? = nil,
                           store: BlobStore, limits: BlobLimits) throws -> Attachment {
        let recordID = try office.resolveID(record.key, in: lookup(record.kind))
        let fileName = (name ?? (path as NSString).lastPathComponent).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !fileName.isEmpty, fileName.utf8.count <= 255, !fileName.contains("/") else {
            throw AttachmentError.badName(fileName)
        }
        guard let size = BlobStore.regularFileSize(path), FileManager.default.isReadableFile(atPath: path) else {
            throw AttachmentError.unreadable(path: path)
        }
        let mediaType = mediaType(forName: fileName)
        if size > limits.maxFileBytes { throw AttachmentError.tooLarge(name: fileName, size: size, limit: limits.maxFileBytes) }
        if !limits.allows(mediaType: mediaType) { throw AttachmentError.typeNotAllowed(name: fileName, mediaType: mediaType) }
        let stored: (hash: String, size: Int64)
        do { stored = try store.add(file: path) } catch { throw AttachmentError.store(error) }
        let id = Office.newID()
        try office.replica.noteBlobOwn(stored.hash, table: record.kind.table, pk: id)
        let row = Attachment(id: id, table: record.kind.table, recordID: recordID, name: fileName, size: stored.size,
                             sha256: stored.hash, mediaType: mediaType, addedBy: office.replica.siteID, addedAt: timestamp(), present: true)
        try office.replica.database.run("""
            INSERT INTO \(row.table)(id, \(record.kind.key), name, size, sha256, media_type, added_by, added_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(row.id), .text(recordID), .text(row.name), .integer(row.size), .text(row.sha256), .text(row.mediaType),
                  .text(row.addedBy), .text(row.addedAt)])
        return row
    }

    /// Removes an attachment (a delete that syncs; the bytes stay until no live row names them).
    public static func remove(_ office: Office, id key: String) throws -> Attachment {
        let a = try find(office, key)
        try office.replica.database.run("DELETE FROM \(a.table) WHERE id = ?", [.text(a.id)])
        return a
    }

    // MARK: Reading

    /// The attachments of one record, or of every record when `record` is nil, newest first.
    public static func list(_ office: Office, record: RecordRef? = nil, store: BlobStore? = nil) throws -> [Attachment] {
        var out: [Attachment] = []
        for k in kinds {
            if let record, record.kind.table != k.table { continue }
            var sql = "SELECT \(columns), \(k.key) FROM \(k.table)"
            var args: [Value] = []
            if let record {
                sql += " WHERE \(k.key) = ?"
                args.append(.text(try office.resolveID(record.key, in: lookup(record.kind))))
            }
            for r in try office.replica.database.query(sql, args) { out.append(attachment(r, table: k.table, store: store)) }
        }
        return out.sorted { ($0.addedAt, $0.id) > ($1.addedAt, $1.id) }
    }

    /// The attachment an id (or the unique start of one, at least `Office.minimumIDPrefix` characters) names.
    public static func find(_ office: Office, _ key: String, store: BlobStore? = nil) throws -> Attachment {
        let key = key.trimmingCharacters(in: .whitespaces)
        var found: [Attachment] = []
        for k in kinds {
            let rows = try office.replica.database.query("""
                SELECT \(columns), \(k.key) FROM \(k.table) WHERE id = ?1 OR (length(?1) >= ?2 AND substr(id, 1, length(?1)) = ?1)
                """, [.text(key), .integer(Int64(Office.minimumIDPrefix))])
            found += rows.map { attachment($0, table: k.table, store: store) }
        }
        if let exact = found.first(where: { $0.id == key }) { return exact }
        guard found.count == 1 else {
            if found.isEmpty { throw CPPCCError.notFound(kind: "attachment", key: key) }
            throw CPPCCError.ambiguous(kind: "attachment", key: key, candidates: found.map { "\($0.id.prefix(Office.shortIDLength)) \($0.name)" })
        }
        return found[0]
    }

    /// Every file the live attachment rows of `replica` name, once per hash, with the newest time one was added:
    /// what an office sends (its own) and fetches (by its policy), what the county keeps.
    public static func referenced(in replica: Replica) throws -> [BlobReference] {
        var byHash: [String: BlobReference] = [:]
        for k in kinds where replica.syncedTables.contains(k.table) {
            for r in try replica.database.query("SELECT sha256, size, added_at, added_by FROM \(k.table) WHERE length(sha256) = 64") {
                let ref = BlobReference(hash: r[0].str, size: r[1].int64Value ?? 0, addedAt: r[2].str, addedBy: r[3].str)
                if let old = byHash[ref.hash], old.addedAt >= ref.addedAt { continue }
                byHash[ref.hash] = ref
            }
        }
        return byHash.values.sorted { $0.hash < $1.hash }
    }

    /// The live rows of every attachment table that name `hash`: which records (and so which scopes) hold it.
    public static func rows(naming hash: String, in database: Database) throws -> [(table: String, pk: String, recordID: String)] {
        var out: [(table: String, pk: String, recordID: String)] = []
        for k in kinds where try database.tableExists(k.table) {
            for r in try database.query("SELECT id, \(k.key) FROM \(k.table) WHERE sha256 = ?", [.text(hash)]) {
                out.append((k.table, r[0].str, r[1].str))
            }
        }
        return out
    }

    static func lookup(_ kind: Kind) -> Office.LookupTable {
        switch kind.parent {
        case "proposals": .proposals
        case "activities": .activities
        case "social_reports": .socialReports
        default: .members
        }
    }

    private static func attachment(_ r: [Value], table: String, store: BlobStore?) -> Attachment {
        Attachment(id: r[0].str, table: table, recordID: r[7].str, name: r[1].str, size: r[2].int64Value ?? 0, sha256: r[3].str,
                   mediaType: r[4].str, addedBy: r[5].str, addedAt: r[6].str, present: store?.has(r[3].str) ?? false)
    }

    static func timestamp() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }

    /// The media type a file name's extension says, for the types a county office sees (else octet-stream).
    public static func mediaType(forName name: String) -> String {
        let ext = (name as NSString).pathExtension.lowercased()
        return mediaTypes[ext] ?? "application/octet-stream"
    }

    static let mediaTypes: [String: String] = [
        "pdf": "application/pdf", "ofd": "application/ofd",
        "doc": "application/msword", "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "wps": "application/vnd.ms-works", "xls": "application/vnd.ms-excel",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "txt": "text/plain",
        "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
        "tif": "image/tiff", "tiff": "image/tiff", "bmp": "image/bmp", "heic": "image/heic",
        "mp4": "video/mp4", "mp3": "audio/mpeg", "m4a": "audio/mp4", "zip": "application/zip",
    ]
}

extension BlobLimits {
    /// The replica meta key where an office keeps the limits the county last gave (`GET /v1/status`).
    public static let metaKey = "attachments.limits"

    /// The limits this office last learned from the county, else the defaults.
    public static func known(by replica: Replica) throws -> BlobLimits {
        guard let text = try replica.meta(metaKey)?.stringValue,
              let limits = try? JSONDecoder().decode(BlobLimits.self, from: Data(text.utf8)) else { return BlobLimits() }
        return limits
    }

    public func remember(in replica: Replica) throws {
        let text = String(decoding: try JSONEncoder().encode(self), as: UTF8.self)
        if try replica.meta(Self.metaKey)?.stringValue != text { try replica.setMeta(Self.metaKey, .text(text)) }
    }
}

/// Why a file was not attached (nothing was written) or not stored.
public enum AttachmentError: UserFacingError, Equatable {
    case tooLarge(name: String, size: Int64, limit: Int64)
    case typeNotAllowed(name: String, mediaType: String)
    case quotaExceeded(site: String, used: Int64, size: Int64, quota: Int64)
    case badName(String)
    case unreadable(path: String)
    case store(BlobError)

    public var exitCode: ExitCode { .dataError }

    public func text(in language: Language) -> String {
        switch self {
        case .tooLarge(let name, let size, let limit):
            language.pick(en: "\(name) is \(ByteCount(size).text(in: language)); the county accepts files up to \(ByteCount(limit).text(in: language)); nothing was attached",
                          zh: "文件“\(name)”大小为 \(ByteCount(size).text(in: language))，县政协只接收不超过 \(ByteCount(limit).text(in: language)) 的文件；未添加附件")
        case .typeNotAllowed(let name, let type):
            language.pick(en: "\(name) is of type \(type), which the county does not accept (PDF, Word, Excel, text, images, audio, MP4 video); nothing was attached",
                          zh: "文件“\(name)”的类型（\(type)）县政协不接收（可用 PDF、Word、Excel、文本、图片、音频、MP4 视频）；未添加附件")
        case .quotaExceeded(let site, let used, let size, let quota):
            language.pick(en: "site \(site) has used \(ByteCount(used).text(in: language)) of its \(ByteCount(quota).text(in: language)) for attachments; this file (\(ByteCount(size).text(in: language))) does not fit: ask the county office to raise the quota; nothing else was affected",
                          zh: "站点 \(site) 的附件已用 \(ByteCount(used).text(in: language))，限额 \(ByteCount(quota).text(in: language))，放不下这个文件（\(ByteCount(size).text(in: language))）：请县政协提高限额；其他数据不受影响")
        case .badName(let name):
            language.pick(en: "'\(name)' is not a usable file name (1 to 255 bytes, no '/'); give one with --name",
                          zh: "“\(name)”不能用作文件名（1 到 255 字节，不含“/”）；请用 --name 指定")
        case .unreadable(let path):
            language.pick(en: "cannot read the file \(path); check the path and its permissions; nothing was attached",
                          zh: "无法读取文件 \(path)；请检查路径和权限；未添加附件")
        case .store(let e):
            language.pick(en: "cannot store the file: \(e); nothing was attached", zh: "无法保存文件：\(e)；未添加附件")
        }
    }
}

/// A size in bytes for people: 1.5 MB, 820 KB.
public struct ByteCount: Renderable, Sendable {
    public let bytes: Int64
    public init(_ bytes: Int64) { self.bytes = bytes }
    public func text(in language: Language) -> String {
        let b = Double(bytes)
        if bytes < 1024 { return "\(bytes) B" }
        if b < 1024 * 1024 { return String(format: "%.0f KB", b / 1024) }
        if b < 1024 * 1024 * 1024 { return String(format: "%.1f MB", b / 1024 / 1024) }
        return String(format: "%.2f GB", b / 1024 / 1024 / 1024)
    }
}
