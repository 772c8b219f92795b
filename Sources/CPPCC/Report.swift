import CPSyncText
import CPSyncCore
import Foundation

/// A ratio as the annual summaries print it: a percentage to one decimal, "—" when the denominator is 0.
public struct Rate: Encodable, Sendable, Equatable {
    public let numerator: Int
    public let denominator: Int

    public init(_ numerator: Int, _ denominator: Int) {
        self.numerator = numerator
        self.denominator = denominator
    }

    /// The percentage rounded to one decimal, nil when undefined.
    public var percent: Double? {
        guard denominator > 0 else { return nil }
        return (Double(numerator) * 1000 / Double(denominator)).rounded() / 10
    }

    /// "66.7%" or "—".
    public var text: String { percent.map { String(format: "%.1f%%", $0) } ?? "—" }

    /// Encoded as the percentage number (66.7) or null.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if let p = percent { try c.encode(p) } else { try c.encodeNil() }
    }
}

/// The period a report covers: a calendar year (proposals counted by their `year` column, as the session assigns
/// them) or any `from`…`to` range of days, both included (proposals counted by their submitted date).
public struct ReportPeriod: Encodable, Sendable, Equatable {
    public let from: String
    public let to: String
    /// Set when the period is exactly one calendar year.
    public let year: Int?

    public static func year(_ y: Int) -> ReportPeriod { ReportPeriod(from: String(format: "%04d-01-01", y), to: String(format: "%04d-12-31", y), year: y) }

    /// A range of days; both ends are checked dates and `from` is not after `to`.
    public static func range(from: String, to: String) throws(DateError) -> ReportPeriod {
        guard let f = try Office.date(from, field: "--from") else { throw DateError.malformed(field: "--from", value: from) }
        guard let t = try Office.date(to, field: "--to") else { throw DateError.malformed(field: "--to", value: to) }
        guard f <= t else { throw DateError.periodReversed(from: f, to: t) }
        let y = Int(f.prefix(4))!
        let whole = f == String(format: "%04d-01-01", y) && t == String(format: "%04d-12-31", y)
        return ReportPeriod(from: f, to: t, year: whole ? y : nil)
    }

    /// "2026" / "2026 年度", else "2026-01-01 – 2026-06-30" / "2026年1月1日至6月30日".
    func label(chinese: Bool) -> String {
        if let year { return chinese ? "\(year) 年度" : "\(year)" }
        func zh(_ d: String, withYear: Bool) -> String {
            let p = d.split(separator: "-").map { Int($0) ?? 0 }
            return (withYear ? "\(p[0])年" : "") + "\(p[1])月\(p[2])日"
        }
        guard chinese else { return "\(from) – \(to)" }
        return zh(from, withYear: true) + "至" + zh(to, withYear: from.prefix(4) != to.prefix(4))
    }

    func contains(_ day: String?) -> Bool { day.map { $0 >= from && $0 <= to } ?? false }

    /// Whether a step dated `day` had happened by the end of the period (an undated step counts).
    func reached(_ day: String?) -> Bool { day.map { $0 <= to } ?? true }
}

/// The statistics every annual work summary (年度工作总结) quotes, for a year or a period and a site subtree.
///
/// `cpsync report --format json` prints this object. Its keys are stable (new keys may be added, none renamed):
///
/// - `year` (int, or null for a period that is not one calendar year), `from`, `to` (dates, both included),
///   `committee` (the name of the office's committee, or null: at a township, street or station office its own
///   site's; at the county, the county committee's own office, a county daemon or a city, the top of the site tree),
///   `title`, `site` (string or null: the `--site` given, else a township's, street's or station's own site; its
///   descendants are included), `generated_on` (date)
/// - `overall`: a *figures* object (below) over every site in scope
/// - `categories_by_unit`: one object per handling unit (承办单位): `unit`; per proposal (件) `lead` (主办),
///   `co` (协办), `handled` (lead + co), `closed` (of those), `completion_rate`; per unit response (件次) `replies`,
///   `a`, `b`, `c`, `a_share`, `b_share`, `c_share`, `met_proposer`, `face_to_face_rate`, `evaluated`, `satisfied`,
///   `satisfaction_rate`
/// - `key_proposals`: array of `{id, number, title, status, status_label, supervisor, site_id, proposer, lead_unit}`
/// - `by_site`: array of `{site_id, name, kind, figures}`, the top of the scope first: every site in scope with its own
///   records, except that a site of kind county below the top (a city's county) counts its whole subtree and the
///   sites under it get no row of their own
///
/// A *figures* object:
/// - `proposals`: `received` (past draft), `filed` (立案: filed or any later handling stage), `not_filed`,
///   `merged`, `converted`, `closed` (by the end of the period), `filing_rate` (filed ÷ received),
///   `completion_rate` (closed ÷ filed)
/// - `handling` (over handling units of those proposals, replies and evaluations dated by the end of the period):
///   `replies`, `met_proposer`, `face_to_face_rate` (met ÷ replies), `evaluated`, `satisfied`,
///   `basically_satisfied`, `dissatisfied`, `satisfaction_rate` (满意 ÷ evaluated), `satisfied_or_basically_rate`
/// - `social_reports`: `received`, `adopted`, `adoption_rate`, `with_instruction` (领导批示)
/// - `activities`: `total`, `by_kind` (every kind code — inspection, research, consultation, evaluation, study,
///   visit, forum, charity — with its count, zeros included)
/// - `members` (the roster now, not dated): `members`, `women`, `women_share`, `sectors_represented`, `sectors`
///   (sector → members), `by_party` (party → members; "" when not given)
///
/// Every rate is a number: the percentage rounded to one decimal (66.7), or null when its denominator is 0.
/// Social reports and activities count by their date.
///
/// What a report covers unless `--site` says otherwise (`Office.reportScope`): a township's, street's or station's
/// office holds its own area's records and the county's filed proposals, so its report covers its own subtree
/// (the county's filed proposals would make its rates wrong) and is titled with its own name; a site of kind county
/// (the county, its committee's own office, a city) and a daemon's database cover the whole tree, titled with the
/// top's name. Such an office refuses a `--site` outside its area rather than print partial figures.
public struct AnnualReport: Encodable, Sendable {
    public let period: ReportPeriod
    public var year: Int? { period.year }
    public let committee: String?
    /// The site whose name `committee` is (not encoded): the title names `site` only when it is another one.
    let committeeSite: String?
    public let site: String?
    public let generatedOn: String
    public let overall: Figures
    public let categoriesByUnit: [UnitCategories]
    public let keyProposals: [KeyProposal]
    /// The language its title is encoded in (not encoded): set where the report is shown.
    public var language: Language = .english
    public let bySite: [SiteFigures]

    enum CodingKeys: String, CodingKey {
        case year, from, to, committee, title, site, overall
        case generatedOn = "generated_on", categoriesByUnit = "categories_by_unit", keyProposals = "key_proposals", bySite = "by_site"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(year, forKey: .year)
        try c.encode(period.from, forKey: .from)
        try c.encode(period.to, forKey: .to)
        try c.encode(committee, forKey: .committee)
        try c.encode(title(chinese: language.isChinese), forKey: .title)
        try c.encode(site, forKey: .site)
        try c.encode(generatedOn, forKey: .generatedOn)
        try c.encode(overall, forKey: .overall)
        try c.encode(categoriesByUnit, forKey: .categoriesByUnit)
        try c.encode(keyProposals, forKey: .keyProposals)
        try c.encode(bySite, forKey: .bySite)
    }

    /// "某县政协 2026 年度工作统计" / "某县政协 — CPPCC statistics 2026": the committee's name in every format; a
    /// `--site` other than the committee's own adds "（华山镇政协工委及下属站点）".
    public func title(chinese: Bool) -> String {
        let scope = site.flatMap { id in id == committeeSite ? nil : (bySite.first { $0.siteID == id }?.name ?? id) }
        if chinese {
            return (committee.map { $0 + " " } ?? "") + period.label(chinese: true) + "工作统计" + (scope.map { "（\($0)及下属站点）" } ?? "")
        }
        return (committee.map { $0 + " — " } ?? "") + "CPPCC statistics " + period.label(chinese: false) + (scope.map { " (\($0) and below)" } ?? "")
    }

    public struct Figures: Encodable, Sendable, Equatable {
        public var proposals: ProposalFigures
        public var handling: HandlingFigures
        public var socialReports: SocialFigures
        public var activities: ActivityFigures
        public var members: MemberFigures

        enum CodingKeys: String, CodingKey {
            case proposals, handling, activities, members
            case socialReports = "social_reports"
        }
    }

    public struct ProposalFigures: Encodable, Sendable, Equatable {
        public var received = 0, filed = 0, notFiled = 0, merged = 0, converted = 0, closed = 0
        public var filingRate: Rate { Rate(filed, received) }
        public var completionRate: Rate { Rate(closed, filed) }

        enum CodingKeys: String, CodingKey {
            case received, filed, merged, converted, closed
            case notFiled = "not_filed", filingRate = "filing_rate", completionRate = "completion_rate"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(received, forKey: .received)
            try c.encode(filed, forKey: .filed)
            try c.encode(notFiled, forKey: .notFiled)
            try c.encode(merged, forKey: .merged)
            try c.encode(converted, forKey: .converted)
            try c.encode(closed, forKey: .closed)
            try c.encode(filingRate, forKey: .filingRate)
            try c.encode(completionRate, forKey: .completionRate)
        }
    }

    public struct HandlingFigures: Encodable, Sendable, Equatable {
        public var replies = 0, metProposer = 0, evaluated = 0, satisfied = 0, basicallySatisfied = 0, dissatisfied = 0
        public var faceToFaceRate: Rate { Rate(metProposer, replies) }
        public var satisfactionRate: Rate { Rate(satisfied, evaluated) }
        public var satisfiedOrBasicallyRate: Rate { Rate(satisfied + basicallySatisfied, evaluated) }

        enum CodingKeys: String, CodingKey {
            case replies, evaluated, satisfied, dissatisfied
            case metProposer = "met_proposer", faceToFaceRate = "face_to_face_rate", basicallySatisfied = "basically_satisfied"
            case satisfactionRate = "satisfaction_rate", satisfiedOrBasicallyRate = "satisfied_or_basically_rate"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(replies, forKey: .replies)
            try c.encode(metProposer, forKey: .metProposer)
            try c.encode(faceToFaceRate, forKey: .faceToFaceRate)
            try c.encode(evaluated, forKey: .evaluated)
            try c.encode(satisfied, forKey: .satisfied)
            try c.encode(basicallySatisfied, forKey: .basicallySatisfied)
            try c.encode(dissatisfied, forKey: .dissatisfied)
            try c.encode(satisfactionRate, forKey: .satisfactionRate)
            try c.encode(satisfiedOrBasicallyRate, forKey: .satisfiedOrBasicallyRate)
        }
    }

    public struct SocialFigures: Encodable, Sendable, Equatable {
        public var received = 0, adopted = 0, withInstruction = 0
        public var adoptionRate: Rate { Rate(adopted, received) }

        enum CodingKeys: String, CodingKey { case received, adopted, adoptionRate = "adoption_rate", withInstruction = "with_instruction" }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(received, forKey: .received)
            try c.encode(adopted, forKey: .adopted)
            try c.encode(adoptionRate, forKey: .adoptionRate)
            try c.encode(withInstruction, forKey: .withInstruction)
        }
    }

    public struct ActivityFigures: Encodable, Sendable, Equatable {
        public var byKind: [String: Int] = Dictionary(uniqueKeysWithValues: ActivityKind.allCases.map { ($0.rawValue, 0) })
        public var total: Int { byKind.values.reduce(0, +) }

        enum CodingKeys: String, CodingKey { case total, byKind = "by_kind" }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(total, forKey: .total)
            try c.encode(byKind, forKey: .byKind)
        }
    }

    /// The composition of the roster (委员构成) that the summaries print.
    public struct MemberFigures: Encodable, Sendable, Equatable {
        public var members = 0, women = 0
        /// Sector (界别) → members; only sectors with members appear.
        public var sectors: [String: Int] = [:]
        /// Party → members ("" when not given).
        public var byParty: [String: Int] = [:]
        public var womenShare: Rate { Rate(women, members) }
        public var sectorsRepresented: Int { sectors.keys.filter { !$0.isEmpty }.count }

        enum CodingKeys: String, CodingKey {
            case members, women, sectors
            case womenShare = "women_share", sectorsRepresented = "sectors_represented", byParty = "by_party"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(members, forKey: .members)
            try c.encode(women, forKey: .women)
            try c.encode(womenShare, forKey: .womenShare)
            try c.encode(sectorsRepresented, forKey: .sectorsRepresented)
            try c.encode(sectors, forKey: .sectors)
            try c.encode(byParty, forKey: .byParty)
        }
    }

    /// One handling unit (承办单位). Proposals (件) and unit responses (件次) are counted apart: a proposal the unit
    /// handles counts once as 主办 or 协办; each reply and evaluation of the unit is one 件次.
    public struct UnitCategories: Encodable, Sendable, Equatable {
        public var unit: String
        /// Proposals handled as lead (主办) and as co-handler (协办).
        public var lead = 0, co = 0
        /// Of the proposals handled, those closed (办结) by the end of the period.
        public var closed = 0
        /// Replies by category (件次).
        public var a = 0, b = 0, c = 0
        public var metProposer = 0, evaluated = 0, satisfied = 0
        public var replies: Int { a + b + c }
        public var handled: Int { lead + co }
        public var completionRate: Rate { Rate(closed, handled) }
        public var faceToFaceRate: Rate { Rate(metProposer, replies) }
        public var satisfactionRate: Rate { Rate(satisfied, evaluated) }

        public init(unit: String) { self.unit = unit }

        enum CodingKeys: String, CodingKey {
            case unit, replies, a, b, c, lead, co, handled, closed, evaluated, satisfied
            case aShare = "a_share", bShare = "b_share", cShare = "c_share", metProposer = "met_proposer"
            case completionRate = "completion_rate", faceToFaceRate = "face_to_face_rate", satisfactionRate = "satisfaction_rate"
        }

        public func encode(to encoder: any Encoder) throws {
            var k = encoder.container(keyedBy: CodingKeys.self)
            try k.encode(unit, forKey: .unit)
            try k.encode(lead, forKey: .lead)
            try k.encode(co, forKey: .co)
            try k.encode(handled, forKey: .handled)
            try k.encode(closed, forKey: .closed)
            try k.encode(completionRate, forKey: .completionRate)
            try k.encode(replies, forKey: .replies)
            try k.encode(a, forKey: .a)
            try k.encode(b, forKey: .b)
            try k.encode(c, forKey: .c)
            try k.encode(Rate(a, replies), forKey: .aShare)
            try k.encode(Rate(b, replies), forKey: .bShare)
            try k.encode(Rate(c, replies), forKey: .cShare)
            try k.encode(metProposer, forKey: .metProposer)
            try k.encode(faceToFaceRate, forKey: .faceToFaceRate)
            try k.encode(evaluated, forKey: .evaluated)
            try k.encode(satisfied, forKey: .satisfied)
            try k.encode(satisfactionRate, forKey: .satisfactionRate)
        }
    }

    public struct KeyProposal: Encodable, Sendable, Equatable {
        public var id, number, title: String
        public var status: ProposalStatus
        public var statusLabel: String
        public var supervisor: String
        public var siteID: String?
        public var proposer: String?
        public var leadUnit: String?

        enum CodingKeys: String, CodingKey {
            case id, number, title, status, supervisor, proposer
            case statusLabel = "status_label", siteID = "site_id", leadUnit = "lead_unit"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(number, forKey: .number)
            try c.encode(title, forKey: .title)
            try c.encode(status, forKey: .status)
            try c.encode(statusLabel, forKey: .statusLabel)
            try c.encode(supervisor, forKey: .supervisor)
            try c.encode(siteID, forKey: .siteID)
            try c.encode(proposer, forKey: .proposer)
            try c.encode(leadUnit, forKey: .leadUnit)
        }
    }

    public struct SiteFigures: Encodable, Sendable, Equatable {
        public var siteID: String
        public var name: String
        public var kind: SiteKind
        public var figures: Figures

        enum CodingKeys: String, CodingKey { case name, kind, figures, siteID = "site_id" }
    }
}
