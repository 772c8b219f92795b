import CPSyncText
import CPSyncCore
import Foundation

/// A CPPCC member (委员).
public struct Member: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    /// "男", "女" or "" when not recorded.
    public var gender: String
    /// 界别: the sector the member represents (科技、经济、教育、工商、宗教…).
    public var sector: String
    public var party: String
    /// 届: the term, e.g. "八届".
    public var term: String
    public var siteID: String?
    public var phone: String
    public var employer: String
    public var position: String

    public init(id: String = Office.newID(), name: String, gender: String = "", sector: String = "", party: String = "",
                term: String = "", siteID: String? = nil, phone: String = "", employer: String = "", position: String = "") {
        self.id = id
        self.name = name
        self.gender = gender
        self.sector = sector
        self.party = party
        self.term = term
        self.siteID = siteID
        self.phone = phone
        self.employer = employer
        self.position = position
    }

    enum CodingKeys: String, CodingKey {
        case id, name, gender, sector, party, term, phone, employer, position
        case siteID = "site_id"
    }

    static let columns = "id, name, gender, sector, party, term, site_id, phone, employer, position"

    init(row r: [Value]) {
        self.init(id: r[0].str, name: r[1].str, gender: r[2].str, sector: r[3].str, party: r[4].str, term: r[5].str,
                  siteID: r[6].opt, phone: r[7].str, employer: r[8].str, position: r[9].str)
    }

    var values: [Value] {
        [.text(id), .text(name), .text(gender), .text(sector), .text(party), .text(term), textOrNull(siteID),
         .text(phone), .text(employer), .text(position)]
    }
}

/// Filters for `members(…)`.
public struct MemberFilter: Sendable {
    public var site: String?
    public var sector: String?
    public var term: String?
    /// Only voided (作废) members; by default they are left out.
    public var voidedOnly: Bool
    public init(site: String? = nil, sector: String? = nil, term: String? = nil, voidedOnly: Bool = false) {
        self.site = site
        self.sector = sector
        self.term = term
        self.voidedOnly = voidedOnly
    }
}

extension Office {
    /// Checks a member's fields and references; normalises gender.
    func validate(_ m: inout Member) throws {
        m.name = m.name.trimmingCharacters(in: .whitespacesAndNewlines)
        if m.name.isEmpty { throw CPPCCError.missingValue(field: MemberFields.name) }
        if !m.gender.isEmpty {
            guard let g = Gender.parseLoose(m.gender) else {
                throw CPPCCError.invalidValue(field: MemberFields.gender, value: m.gender, expected: "男/女")
            }
            m.gender = g.rawValue
        }
        m.phone = m.phone.trimmingCharacters(in: .whitespaces)
        if !m.phone.isEmpty, !FieldRules.isPhone(m.phone) {
            throw CPPCCError.invalidValue(field: FieldName(en: "phone", zh: "电话"), value: m.phone,
                                          expected: Phrase(en: FieldRules.phoneExpected.en, zh: FieldRules.phoneExpected.zh))
        }
        try Office.checkID(m.id)
        try checkSite(m.siteID)
    }

    /// Adds a member; the site defaults to this office's own site.
    @discardableResult
    public func addMember(_ member: Member) throws -> Member {
        var m = member
        if m.siteID == nil { m.siteID = try defaultSite() }
        try validate(&m)
        try db.transaction {
            if try db.scalar("SELECT count(*) FROM members WHERE id = ?", [.text(m.id)])?.int64Value != 0 {
                throw CPPCCError.duplicate(kind: "member", key: m.id)
            }
            try db.run("INSERT INTO members(\(Member.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", m.values)
        }
        return m
    }

    /// Saves every field of an existing member (only the cells that changed are captured).
    public func updateMember(_ member: Member) throws {
        var m = member
        try validate(&m)
        try db.transaction {
            _ = try self.member(m.id)
            try db.run("""
                UPDATE members SET name = ?2, gender = ?3, sector = ?4, party = ?5, term = ?6, site_id = ?7, phone = ?8,
                  employer = ?9, position = ?10 WHERE id = ?1
                """, m.values)
        }
    }

    /// Other members with the same name and phone as `member` (a likely duplicate); none when it has no phone.
    public func duplicates(of member: Member) throws -> [Member] {
        guard !member.phone.isEmpty else { return [] }
        return try db.query("SELECT \(Member.columns) FROM members WHERE name = ? AND phone = ? AND id != ? ORDER BY id",
                            [.text(member.name), .text(member.phone), .text(member.id)]).map(Member.init(row:))
    }

    /// A member by id, by name when exactly one member has it, or by a unique start of the id (`resolveID`).
    public func member(_ key: String) throws -> Member {
        let id = try resolveID(key, in: .members)
        return Member(row: try db.query("SELECT \(Member.columns) FROM members WHERE id = ?", [.text(id)])[0])
    }

    /// Members matching `filter`, ordered by site (in the county's order) then name (in Chinese order).
    public func members(_ filter: MemberFilter = MemberFilter()) throws -> [Member] {
        try members(filter, countyOrder: true)
    }

    /// `countyOrder: false` keeps the plain order of site id then name (exports: the same file whatever the settings).
    func members(_ filter: MemberFilter, countyOrder: Bool) throws -> [Member] {
        var conditions: [String] = []
        var values: [Value] = []
        let site = try siteFilter("site_id", filter.site)
        conditions.append(site.sql)
        values += site.values
        if let s = filter.sector { conditions.append("sector = ?"); values.append(.text(s)) }
        if let t = filter.term { conditions.append("term = ?"); values.append(.text(t)) }
        conditions.append(Office.voidCondition(voidedOnly: filter.voidedOnly))
        let rows = try db.query("SELECT \(Member.columns) FROM members WHERE \(conditions.joined(separator: " AND ")) ORDER BY site_id, name, id", values)
            .map(Member.init(row:))
        guard countyOrder else { return rows }
        let rank = try siteRanks()
        return rows.sorted { a, b in
            let ra = a.siteID.flatMap { rank[$0] } ?? Int.max, rb = b.siteID.flatMap { rank[$0] } ?? Int.max
            if ra != rb { return ra < rb }
            if a.name != b.name { return Office.chineseOrder(a.name, b.name) }
            return a.id < b.id
        }
    }
}

/// Field names for error messages.
enum MemberFields {
    static let name = FieldName(en: "name", zh: "姓名")
    static let gender = FieldName(en: "gender", zh: "性别")
}
