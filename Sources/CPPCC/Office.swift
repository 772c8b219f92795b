import CPSyncText
import CPSyncCore
import Foundation

/// The CPPCC records of one office replica: the domain API the `cpsync` verbs call. Every write is plain SQL on
/// synced tables (captured by the engine's triggers) inside one transaction, after the references it makes were
/// checked here — the schema cannot declare foreign keys.
public struct Office {
    public let replica: Replica
    var db: Database { replica.database }

    /// Opens the domain on a replica, installing or migrating the CPPCC schema when needed.
    public init(_ replica: Replica) throws {
        try CPPCCSchema.prepare(replica)
        self.replica = replica
    }

    /// A fresh row id (lower-case UUID).
    public static func newID() -> String { UUID().uuidString.lowercased() }

    /// Today in the office's time zone, as YYYY-MM-DD.
    public static func today() -> String {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone.current, from: Date())
        return String(format: "%04d-%02d-%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1)
    }

    /// Checks a YYYY-MM-DD date (also accepts YYYY/MM/DD and YYYY.MM.DD, as Excel writes them) and normalises it.
    /// A day the month does not have (2026-02-30) is refused with `field` named.
    public static func date(_ text: String?, field: FieldName) throws(DateError) -> String? {
        guard let raw = text?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
        let parts = raw.split(whereSeparator: { $0 == "-" || $0 == "/" || $0 == "." }).map(String.init)
        guard parts.count == 3, parts[0].count == 4, parts[1].count <= 2, parts[2].count <= 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]), (1900...2999).contains(y) else {
            throw DateError.malformed(field: field, value: raw)
        }
        let days = Gregorian.days(inMonth: m, of: y)
        guard days > 0, (1...days).contains(d) else { throw DateError.noSuchDay(field: field, value: raw, daysInMonth: days) }
        return String(format: "%04d-%02d-%02d", y, m, d)
    }

    /// Row ids travel as primary keys: non-empty, at most 128 bytes, no control characters.
    static func checkID(_ id: String) throws {
        if id.isEmpty || id.utf8.count > 128 || id.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            throw CPPCCError.invalidValue(field: "id", value: String(id.prefix(40)), expected: Phrase(en: "1–128 bytes without control characters", zh: "1–128 字节、不含控制字符"))
        }
    }

    // MARK: sites

    /// Every site, in the county's order (SortOrder.swift): the county first, then the order it set, then by kind and
    /// name in Chinese order.
    public func sites() throws -> [Site] {
        try sortedSites(try db.query("SELECT id, name, kind, parent_id FROM sites ORDER BY id")
            .map { Site(id: $0[0].str, name: $0[1].str, kind: SiteKind(rawValue: $0[2].str) ?? .station, parentID: $0[3].opt) })
    }

    /// Adds or updates a site (the county seeds the tree; offices receive it by sync).
    public func saveSite(_ site: Site) throws {
        guard Replica.isValidSiteID(site.id) else {
            throw CPPCCError.invalidValue(field: "site id", value: site.id, expected: Phrase(en: "1–64 characters of a–z, 0–9, '-' or '_'", zh: "1–64 个 a–z、0–9、'-' 或 '_' 字符"))
        }
        try db.run("""
            INSERT INTO sites(id, name, kind, parent_id) VALUES (?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET name = excluded.name, kind = excluded.kind, parent_id = excluded.parent_id
            """, [.text(site.id), .text(site.name), .text(site.kind.rawValue), site.parentID.map { .text($0) } ?? .null])
    }

    /// `site` and every site below it in the tree (a county sees its townships and their stations).
    public func siteAndDescendants(_ site: String) throws -> [String] {
        let rows = try db.query("""
            WITH RECURSIVE tree(id) AS (SELECT ? UNION SELECT s.id FROM sites s JOIN tree t ON s.parent_id = t.id)
            SELECT id FROM tree
            """, [.text(site)])
        return rows.map { $0[0].str }
    }

    /// Checks that `site` is a known site. A fresh office that has not pulled the site tree yet has no sites at
    /// all; then any well-formed id is accepted (the tree arrives with the first pull).
    func checkSite(_ site: String?, field: String = "site") throws {
        guard let site else { return }
        if try db.scalar("SELECT count(*) FROM sites")?.int64Value == 0 { return }
        if try db.scalar("SELECT count(*) FROM sites WHERE id = ?", [.text(site)])?.int64Value == 0 {
            throw CPPCCError.unknownReference(field: FieldName(field), kind: "site", key: site)
        }
    }

    /// The default site for new records: this replica's own site when it is in the tree, or — before the first
    /// pull brought the tree — when the server confirmed it at `cpsync init` (`OfficeSiteMeta`).
    func defaultSite() throws -> String? {
        if let id = try db.scalar("SELECT id FROM sites WHERE id = ?", [.text(replica.siteID)])?.stringValue { return id }
        return try replica.meta(OfficeSiteMeta.kind) != nil ? replica.siteID : nil
    }

    /// A SQL condition and its parameters restricting `column` to a site subtree (or nothing when `site` is nil).
    func siteFilter(_ column: String, _ site: String?) throws -> (sql: String, values: [Value]) {
        guard let site else { return ("1", []) }
        let ids = try siteAndDescendants(site)
        return ("\(column) IN (\(ids.map { _ in "?" }.joined(separator: ", ")))", ids.map { .text($0) })
    }
}

/// What `cpsync init` learnt from the server about the office's own site (`GET /v1/whoami`), kept in the replica's
/// metadata until the first pull brings the site tree: records entered before then belong to the office.
public enum OfficeSiteMeta {
    public static let name = "office.site_name"
    public static let kind = "office.site_kind"
    public static let parent = "office.site_parent"
}

/// One office in the site tree.
public struct Site: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var kind: SiteKind
    public var parentID: String?

    public init(id: String, name: String, kind: SiteKind, parentID: String?) {
        self.id = id
        self.name = name
        self.kind = kind
        self.parentID = parentID
    }

    enum CodingKeys: String, CodingKey { case id, name, kind, parentID = "parent_id" }
}

extension SiteKind: Codable {}

extension Value {
    /// The text of a value ("" for NULL; numbers printed).
    var str: String {
        switch self {
        case .null: ""
        case .text(let s): s
        default: description
        }
    }

    /// The text of a value, nil for NULL or "".
    var opt: String? {
        let s = str
        return s.isEmpty ? nil : s
    }

    var int: Int { Int(int64Value ?? Int64(str) ?? 0) }
}

func textOrNull(_ s: String?) -> Value {
    guard let s, !s.isEmpty else { return .null }
    return .text(s)
}
