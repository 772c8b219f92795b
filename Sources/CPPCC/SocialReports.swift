import CPSyncText
import CPSyncCore
import Foundation

/// A piece of social-conditions information (社情民意信息).
public struct SocialReport: Codable, Sendable, Equatable {
    public var id: String
    public var title: String
    public var body: String
    public var reporterID: String?
    public var siteID: String?
    public var reportedOn: String?
    /// Where it was sent on (报送单位).
    public var forwardedTo: String
    /// 采用.
    public var adopted: Bool
    /// A leader's instruction on it (批示).
    public var instruction: String

    public init(id: String = Office.newID(), title: String, body: String = "", reporterID: String? = nil,
                siteID: String? = nil, reportedOn: String? = nil, forwardedTo: String = "", adopted: Bool = false,
                instruction: String = "") {
        self.id = id
        self.title = title
        self.body = body
        self.reporterID = reporterID
        self.siteID = siteID
        self.reportedOn = reportedOn
        self.forwardedTo = forwardedTo
        self.adopted = adopted
        self.instruction = instruction
    }

    enum CodingKeys: String, CodingKey {
        case id, title, body, adopted, instruction
        case reporterID = "reporter_id", siteID = "site_id", reportedOn = "reported_on", forwardedTo = "forwarded_to"
    }

    static let columns = "id, title, body, reporter_id, site_id, reported_on, forwarded_to, adopted, instruction"

    init(row r: [Value]) {
        self.init(id: r[0].str, title: r[1].str, body: r[2].str, reporterID: r[3].opt, siteID: r[4].opt,
                  reportedOn: r[5].opt, forwardedTo: r[6].str, adopted: r[7].int == 1, instruction: r[8].str)
    }

    var values: [Value] {
        [.text(id), .text(title), .text(body), textOrNull(reporterID), textOrNull(siteID), textOrNull(reportedOn),
         .text(forwardedTo), .integer(adopted ? 1 : 0), .text(instruction)]
    }
}

extension Office {
    @discardableResult
    public func addSocialReport(_ report: SocialReport) throws -> SocialReport {
        var r = report
        r.title = r.title.trimmingCharacters(in: .whitespacesAndNewlines)
        if r.title.isEmpty { throw CPPCCError.missingValue(field: FieldName(en: "title", zh: "标题")) }
        try Office.checkID(r.id)
        r.reportedOn = try Office.date(r.reportedOn, field: FieldName(en: "date", zh: "日期")) ?? Office.today()
        return try db.transaction {
            if let m = r.reporterID { r.reporterID = try member(m).id }
            if r.siteID == nil, let m = r.reporterID { r.siteID = try member(m).siteID }
            if r.siteID == nil { r.siteID = try defaultSite() }
            try checkSite(r.siteID)
            try db.run("INSERT INTO social_reports(\(SocialReport.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", r.values)
            return r
        }
    }

    /// A social report by id or by a unique start of it (`resolveID`).
    public func socialReport(_ key: String) throws -> SocialReport {
        let id = try resolveID(key, in: .socialReports)
        return SocialReport(row: try db.query("SELECT \(SocialReport.columns) FROM social_reports WHERE id = ?", [.text(id)])[0])
    }

    /// An activity by id or by a unique start of it (`resolveID`).
    public func activity(_ key: String) throws -> Activity {
        let id = try resolveID(key, in: .activities)
        guard let a = try (activities() + activities(voidedOnly: true)).first(where: { $0.id == id }) else { throw CPPCCError.notFound(kind: "activity", key: key) }
        return a
    }

    /// 采用: marks a report adopted, with the leader's instruction (批示) and where it went, when given.
    public func adoptSocialReport(_ id: String, instruction: String? = nil, forwardedTo: String? = nil) throws {
        try db.transaction {
            let r = try socialReport(id)
            try db.run("UPDATE social_reports SET adopted = 1, instruction = coalesce(?, instruction), forwarded_to = coalesce(?, forwarded_to) WHERE id = ?",
                       [textOrNull(instruction), textOrNull(forwardedTo), .text(r.id)])
        }
    }

    /// Reports matching the filters; voided (作废) ones only with `voidedOnly`, else they are left out.
    public func socialReports(year: Int? = nil, site: String? = nil, adoptedOnly: Bool = false, voidedOnly: Bool = false) throws -> [SocialReport] {
        let f = try siteFilter("site_id", site)
        var sql = "SELECT \(SocialReport.columns) FROM social_reports WHERE \(f.sql)"
        var values = f.values
        if let year { sql += " AND substr(reported_on, 1, 4) = ?"; values.append(.text(String(format: "%04d", year))) }
        if adoptedOnly { sql += " AND adopted = 1" }
        sql += " AND " + Office.voidCondition(voidedOnly: voidedOnly)
        return try db.query(sql + " ORDER BY reported_on, id", values).map(SocialReport.init(row:))
    }
}

/// A duty activity (履职活动) and who took part.
public struct Activity: Codable, Sendable, Equatable {
    public var id: String
    public var kind: ActivityKind
    public var topic: String
    public var heldOn: String?
    public var siteID: String?
    /// The outcome or report of the activity.
    public var outcome: String
    public var participants: [String]

    public init(id: String = Office.newID(), kind: ActivityKind, topic: String, heldOn: String? = nil,
                siteID: String? = nil, outcome: String = "", participants: [String] = []) {
        self.id = id
        self.kind = kind
        self.topic = topic
        self.heldOn = heldOn
        self.siteID = siteID
        self.outcome = outcome
        self.participants = participants
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, topic, outcome, participants
        case heldOn = "held_on", siteID = "site_id"
    }
}

extension ActivityKind: Codable {}

extension Office {
    /// Records an activity with its participants (member ids or unique names).
    @discardableResult
    public func addActivity(_ activity: Activity) throws -> Activity {
        var a = activity
        a.topic = a.topic.trimmingCharacters(in: .whitespacesAndNewlines)
        if a.topic.isEmpty { throw CPPCCError.missingValue(field: FieldName(en: "topic", zh: "主题")) }
        try Office.checkID(a.id)
        a.heldOn = try Office.date(a.heldOn, field: FieldName(en: "date", zh: "日期")) ?? Office.today()
        return try db.transaction {
            if a.siteID == nil { a.siteID = try defaultSite() }
            try checkSite(a.siteID)
            a.participants = try a.participants.map { try member($0).id }
            try db.run("INSERT INTO activities(id, kind, topic, held_on, site_id, outcome) VALUES (?, ?, ?, ?, ?, ?)",
                       [.text(a.id), .text(a.kind.rawValue), .text(a.topic), textOrNull(a.heldOn), textOrNull(a.siteID), .text(a.outcome)])
            for m in a.participants {
                // Derived id: the same participant added twice, even by two offices, is one row.
                try db.run("INSERT OR IGNORE INTO activity_participants(id, activity_id, member_id) VALUES (?, ?, ?)",
                           [.text(a.id + ":" + m), .text(a.id), .text(m)])
            }
            return a
        }
    }

    /// Activities matching the filters; voided (作废) ones only with `voidedOnly`, else they are left out.
    public func activities(year: Int? = nil, site: String? = nil, kind: ActivityKind? = nil, voidedOnly: Bool = false) throws -> [Activity] {
        let f = try siteFilter("site_id", site)
        var sql = "SELECT id, kind, topic, held_on, site_id, outcome FROM activities WHERE \(f.sql)"
        var values = f.values
        if let year { sql += " AND substr(held_on, 1, 4) = ?"; values.append(.text(String(format: "%04d", year))) }
        if let kind { sql += " AND kind = ?"; values.append(.text(kind.rawValue)) }
        sql += " AND " + Office.voidCondition(voidedOnly: voidedOnly)
        return try db.query(sql + " ORDER BY held_on, id", values).map { r in
            let people = try db.query("SELECT member_id FROM activity_participants WHERE activity_id = ? ORDER BY member_id", [r[0]]).map { $0[0].str }
            return Activity(id: r[0].str, kind: ActivityKind(rawValue: r[1].str) ?? .study, topic: r[2].str, heldOn: r[3].opt,
                            siteID: r[4].opt, outcome: r[5].str, participants: people)
        }
    }
}
