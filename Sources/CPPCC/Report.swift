import CPSyncCLI
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
        try c.encode(title(chinese: L10n.isChinese), forKey: .title)
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

extension Office {
    /// Handling units in the county's order when it set one (`cpsync order units`); else the busiest first, ties in
    /// Chinese order.
    func unitsInOrder(_ units: [AnnualReport.UnitCategories]) throws -> [AnnualReport.UnitCategories] {
        let rank = Self.ranks(try order(.units))
        return units.sorted { a, b in
            if rank[a.unit] != nil || rank[b.unit] != nil { return Self.before(rank[a.unit], a.unit, rank[b.unit], b.unit) }
            if a.handled != b.handled { return a.handled > b.handled }
            return Self.chineseOrder(a.unit, b.unit)
        }
    }

    /// Computes the annual report for `year` over `site` and its descendants (every site when nil).
    public func report(year: Int, site: String? = nil) throws -> AnnualReport {
        try report(period: .year(year), site: site)
    }

    /// Whose report this office prints and what it covers by default (see `AnnualReport`): the committee (the
    /// office's own site at a township, street or station; else the top of the tree above it, or of the tree when
    /// this database's site is not in it, as at a daemon) and the default scope (the own site's subtree, or nil for
    /// the whole tree).
    public func reportScope() throws -> (committee: Site?, scope: String?) {
        let all = try sites()
        let byID = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        if let own = byID[replica.siteID], own.kind != .county { return (own, own.id) }
        var top = byID[replica.siteID] ?? all.first { $0.parentID.map { byID[$0] == nil } ?? true }
        for _ in 0..<64 {
            guard let parent = top?.parentID.flatMap({ byID[$0] }) else { break }
            top = parent
        }
        return (top, nil)
    }

    /// Computes the report for `period` over `site` and its descendants; nil: the office's own scope
    /// (`reportScope`). An office that holds only its own area refuses a site outside it.
    public func report(period: ReportPeriod, site requested: String? = nil) throws -> AnnualReport {
        if let requested, try db.scalar("SELECT count(*) FROM sites WHERE id = ?", [.text(requested)])?.int64Value == 0 {
            throw CPPCCError.notFound(kind: "site", key: requested)
        }
        let (committee, ownScope) = try reportScope()
        if let requested, let ownScope, let committee, !(try siteAndDescendants(ownScope)).contains(requested) {
            let name = try db.scalar("SELECT name FROM sites WHERE id = ?", [.text(requested)])?.stringValue ?? requested
            throw CPPCCError.outsideOfficeArea(site: name.isEmpty ? requested : name, office: committee.name.isEmpty ? committee.id : committee.name)
        }
        let site = requested ?? ownScope
        let props: [Proposal]
        if let year = period.year {
            props = try proposals(ProposalFilter(year: year, site: site))
        } else {
            props = try proposals(ProposalFilter(site: site)).filter { period.contains($0.submittedOn ?? String(format: "%04d-01-01", $0.year)) }
        }
        let ids = Set(props.map(\.id))
        var handlersByProposal: [String: [Handler]] = [:]
        for h in try db.query("SELECT \(Handler.columns) FROM proposal_handlers ORDER BY unit").map(Handler.init(row:)) where ids.contains(h.proposalID) {
            handlersByProposal[h.proposalID, default: []].append(h)
        }
        let social = try socialReports(site: site).filter { period.contains($0.reportedOn) }
        let acts = try activities(site: site).filter { period.contains($0.heldOn) }
        let roster = try members(MemberFilter(site: site))
        // By the end of the period: a closure, reply or evaluation dated later had not happened yet.
        func closed(_ p: Proposal) -> Bool { p.status == .closed && period.reached(p.closedOn) }
        func replied(_ h: Handler) -> Bool { h.hasReplied && period.reached(h.repliedOn) }
        func evaluation(_ h: Handler) -> Satisfaction? { h.satisfaction.flatMap { replied(h) && period.reached(h.evaluatedOn) ? $0 : nil } }

        /// The figures of the records of `sites` (of every record in scope when nil).
        func figures(_ sites: Set<String>?) -> AnnualReport.Figures {
            func inScope(_ s: String?) -> Bool { sites.map { set in s.map(set.contains) ?? false } ?? true }
            var p = AnnualReport.ProposalFigures()
            var h = AnnualReport.HandlingFigures()
            for x in props where inScope(x.siteID) {
                if x.status.isReceived { p.received += 1 }
                if x.status.isFiled { p.filed += 1 }
                switch x.status {
                case .notFiled: p.notFiled += 1
                case .merged: p.merged += 1
                case .converted: p.converted += 1
                default: break
                }
                if closed(x) { p.closed += 1 }
                for u in handlersByProposal[x.id] ?? [] {
                    if replied(u) {
                        h.replies += 1
                        if u.metProposer { h.metProposer += 1 }
                    }
                    switch evaluation(u) {
                    case .satisfied: h.evaluated += 1; h.satisfied += 1
                    case .basically: h.evaluated += 1; h.basicallySatisfied += 1
                    case .dissatisfied: h.evaluated += 1; h.dissatisfied += 1
                    case nil: break
                    }
                }
            }
            var s = AnnualReport.SocialFigures()
            for r in social where inScope(r.siteID) {
                s.received += 1
                if r.adopted { s.adopted += 1 }
                if !r.instruction.isEmpty { s.withInstruction += 1 }
            }
            var a = AnnualReport.ActivityFigures()
            for x in acts where inScope(x.siteID) { a.byKind[x.kind.rawValue, default: 0] += 1 }
            var m = AnnualReport.MemberFigures()
            for x in roster where inScope(x.siteID) {
                m.members += 1
                if x.gender == "女" { m.women += 1 }
                if !x.sector.isEmpty { m.sectors[x.sector, default: 0] += 1 }
                m.byParty[x.party, default: 0] += 1
            }
            return AnnualReport.Figures(proposals: p, handling: h, socialReports: s, activities: a, members: m)
        }

        var units: [String: AnnualReport.UnitCategories] = [:]
        let byID = Dictionary(uniqueKeysWithValues: props.map { ($0.id, $0) })
        for (proposalID, hs) in handlersByProposal {
            guard let p = byID[proposalID] else { continue }
            for h in hs {
                var u = units[h.unit] ?? AnnualReport.UnitCategories(unit: h.unit)
                if h.role == .lead { u.lead += 1 } else { u.co += 1 }
                if closed(p) { u.closed += 1 }
                if replied(h), let cat = h.category {
                    switch cat {
                    case .a: u.a += 1
                    case .b: u.b += 1
                    case .c: u.c += 1
                    }
                    if h.metProposer { u.metProposer += 1 }
                }
                if let e = evaluation(h) {
                    u.evaluated += 1
                    if e == .satisfied { u.satisfied += 1 }
                }
                units[h.unit] = u
            }
        }
        // A proposer this office does not hold (another office's member) is named neutrally, never by id.
        let names = try memberNames()
        let key = props.filter(\.isKey).map { p in
            AnnualReport.KeyProposal(id: p.id, number: p.number, title: p.title, status: p.status, statusLabel: p.status.label,
                                     supervisor: p.supervisor, siteID: p.siteID,
                                     proposer: p.proposerID.map { names[$0].flatMap { $0.isEmpty ? nil : $0 } ?? Office.outsideMemberLabel },
                                     leadUnit: handlersByProposal[p.id]?.first { $0.role == .lead }?.unit)
        }
        // One row per site in scope, the top first, with its own records; a county-kind site below the top (a city's
        // county) counts its whole subtree, and the sites under it have no row of their own.
        let allSites = try sites()
        let scope = Set(try site.map { try siteAndDescendants($0) } ?? allSites.map(\.id))
        let top = site ?? committee?.id
        var rows: [(site: Site, records: Set<String>)] = []
        var folded = Set<String>()
        for s in allSites where scope.contains(s.id) && s.kind == .county && s.id != top {
            let subtree = Set(try siteAndDescendants(s.id))
            folded.formUnion(subtree.subtracting([s.id]))
            rows.append((s, subtree))
        }
        rows = allSites.filter { scope.contains($0.id) && !folded.contains($0.id) }.map { s in rows.first { $0.site.id == s.id } ?? (s, [s.id]) }
        rows = rows.filter { $0.site.id == top } + rows.filter { $0.site.id != top }
        let bySite = rows.map { AnnualReport.SiteFigures(siteID: $0.site.id, name: $0.site.name, kind: $0.site.kind, figures: figures($0.records)) }
        return AnnualReport(period: period, committee: committee.map { $0.name.isEmpty ? $0.id : $0.name }, committeeSite: committee?.id,
                            site: site, generatedOn: Office.today(), overall: figures(nil),
                            categoriesByUnit: try unitsInOrder(Array(units.values)), keyProposals: key, bySite: bySite)
    }
}

/// Renders an `AnnualReport` as text, JSON, CSV or a self-contained HTML page.
public enum ReportFormat: String, CaseIterable, Sendable {
    case text, json, csv, html

    /// `englishHeaders` only matters for CSV: English keys instead of the Chinese headers a zh_* locale gets.
    public func render(_ r: AnnualReport, englishHeaders: Bool = false) throws -> String {
        switch self {
        case .text: ReportRenderer.text(r)
        case .json: try CPPCCJSON.encode(r)
        case .csv: Self.csv(r, chineseHeaders: L10n.isChinese && !englishHeaders)
        case .html: ReportRenderer.html(r)
        }
    }

    /// Long format (scope, metric, value), easy to pivot in Excel: Chinese headers, site and unit names and labels,
    /// or the stable English keys (`scope,metric,value`; `overall`, site ids, `unit:NAME`, `key:NUMBER`).
    public static func csv(_ r: AnnualReport, chineseHeaders zh: Bool) -> String {
        ReportRenderer.csv(r, chinese: zh)
    }
}

/// Stable, readable JSON for every `--json` and `--format json` output.
public enum CPPCCJSON {
    /// The tools' JSON style (JSONOutput): snake_case keys, every field present (`null` when empty), sorted, pretty.
    public static func encode<T: Encodable>(_ value: T) throws -> String { try JSONOutput.encode(value) }
}

/// One figure of the report: its stable key and its labels.
struct Metric {
    let key: String
    let en: String
    let zh: String
    init(_ key: String, _ en: String, _ zh: String) { self.key = key; self.en = en; self.zh = zh }
    func label(_ chinese: Bool) -> String { chinese ? zh : en }
}

enum ReportRenderer {
    /// The figures in the order the summaries quote them.
    static func figures(_ f: AnnualReport.Figures) -> [(Metric, String)] {
        let p = f.proposals, h = f.handling, s = f.socialReports, m = f.members
        return [
            (Metric("received", "proposals received", "收到提案"), "\(p.received)"),
            (Metric("filed", "filed", "立案"), "\(p.filed)"),
            (Metric("filing_rate", "filing rate", "立案率"), p.filingRate.text),
            (Metric("not_filed", "not filed", "不予立案"), "\(p.notFiled)"),
            (Metric("merged", "merged", "并案"), "\(p.merged)"),
            (Metric("converted", "converted to letters / social reports", "转来信/社情民意"), "\(p.converted)"),
            (Metric("closed", "closed", "办结"), "\(p.closed)"),
            (Metric("completion_rate", "completion rate", "办结率"), p.completionRate.text),
            (Metric("replies", "replies (unit responses)", "答复件次"), "\(h.replies)"),
            (Metric("met_proposer", "met the proposer", "见面件次"), "\(h.metProposer)"),
            (Metric("face_to_face_rate", "face-to-face rate", "见面率"), h.faceToFaceRate.text),
            (Metric("evaluated", "evaluations", "评价件次"), "\(h.evaluated)"),
            (Metric("satisfied", "satisfied", "满意"), "\(h.satisfied)"),
            (Metric("basically_satisfied", "basically satisfied", "基本满意"), "\(h.basicallySatisfied)"),
            (Metric("dissatisfied", "dissatisfied", "不满意"), "\(h.dissatisfied)"),
            (Metric("satisfaction_rate", "satisfaction rate", "满意率"), h.satisfactionRate.text),
            (Metric("satisfied_or_basically_rate", "satisfied or basically satisfied", "满意及基本满意率"), h.satisfiedOrBasicallyRate.text),
            (Metric("social_reports_received", "social reports received", "社情民意信息"), "\(s.received)"),
            (Metric("social_reports_adopted", "social reports adopted", "采用"), "\(s.adopted)"),
            (Metric("social_reports_with_instruction", "with a leader's instruction", "领导批示"), "\(s.withInstruction)"),
            (Metric("activities", "activities", "履职活动"), "\(f.activities.total)"),
        ] + ActivityKind.allCases.map { (Metric("activities_\($0.rawValue)", "  " + $0.english, "  " + $0.chinese), "\(f.activities.byKind[$0.rawValue] ?? 0)") }
        + [
            (Metric("members", "members", "委员"), "\(m.members)"),
            (Metric("women", "women", "女委员"), "\(m.women)"),
            (Metric("women_share", "share of women", "女委员占比"), m.womenShare.text),
            (Metric("sectors_represented", "sectors represented", "界别数"), "\(m.sectorsRepresented)"),
        ]
    }

    /// Per handling unit: proposals (件) first, then unit responses (件次).
    static func unitFigures(_ u: AnnualReport.UnitCategories) -> [(Metric, String)] {
        [
            (Metric("lead", "lead (主办)", "主办件数"), "\(u.lead)"),
            (Metric("co", "co-handler (协办)", "协办件数"), "\(u.co)"),
            (Metric("closed", "closed", "办结件数"), "\(u.closed)"),
            (Metric("completion_rate", "completion rate", "办结率"), u.completionRate.text),
            (Metric("replies", "replies", "答复件次"), "\(u.replies)"),
            (Metric("a", "A", "A类"), "\(u.a)"), (Metric("b", "B", "B类"), "\(u.b)"), (Metric("c", "C", "C类"), "\(u.c)"),
            (Metric("a_share", "A share", "A类占比"), Rate(u.a, u.replies).text),
            (Metric("b_share", "B share", "B类占比"), Rate(u.b, u.replies).text),
            (Metric("c_share", "C share", "C类占比"), Rate(u.c, u.replies).text),
            (Metric("face_to_face_rate", "face-to-face rate", "见面率"), u.faceToFaceRate.text),
            (Metric("satisfaction_rate", "satisfaction rate", "满意率"), u.satisfactionRate.text),
        ]
    }

    static func partyName(_ p: String, _ chinese: Bool) -> String { p.isEmpty ? (chinese ? "未填写" : "not given") : p }

    /// "中共 3、民盟 1" — the parties of a roster, largest first.
    static func parties(_ m: AnnualReport.MemberFigures, _ chinese: Bool) -> String {
        m.byParty.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\(partyName($0.key, chinese)) \($0.value)" }
            .joined(separator: chinese ? "、" : ", ")
    }

    static func sectors(_ m: AnnualReport.MemberFigures, _ chinese: Bool) -> String {
        m.sectors.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \($0.value)" }.joined(separator: chinese ? "、" : ", ")
    }

    /// What is counted per proposal and what per unit response, said on the page.
    static func countingNote(_ r: AnnualReport, _ zh: Bool) -> String {
        let period = zh ? "统计时段：\(r.period.from) 至 \(r.period.to)。" : "Period: \(r.period.from) to \(r.period.to), both included. "
        return period + (zh
            ? "提案按件统计（立案率、办结率）；答复、见面、评价按承办单位件次统计（一件提案有几个承办单位即计几次）；办结、答复、评价以截止日前完成的为准；委员构成为当前名册。"
            : "Proposals are counted per proposal (filing and completion rates); replies, meetings and evaluations per unit response (a proposal with three units counts three times); closures, replies and evaluations count when dated by the last day; the members are today's roster.")
    }

    static func text(_ r: AnnualReport) -> String {
        let zh = L10n.isChinese
        var out = [r.title(chinese: zh), countingNote(r, zh), ""]
        let header = [zh ? "项目" : "figure", zh ? "合计" : "overall"] + r.bySite.map(\.name)
        let all = [figures(r.overall)] + r.bySite.map { figures($0.figures) }
        out.append(Console.table(header: header, rows: all[0].indices.map { i in [all[0][i].0.label(zh)] + all.map { $0[i].1 } }))
        out += ["", zh ? "委员构成" : "Members"]
        out.append(Console.table(
            header: zh ? ["站点", "委员", "女委员", "界别数", "界别", "党派"] : ["site", "members", "women", "sectors", "by sector", "by party"],
            rows: [(zh ? "合计" : "overall", r.overall.members)] .map { [$0.0, "\($0.1.members)", "\($0.1.women)", "\($0.1.sectorsRepresented)", sectors($0.1, zh), parties($0.1, zh)] }
                + r.bySite.map { [$0.name, "\($0.figures.members.members)", "\($0.figures.members.women)", "\($0.figures.members.sectorsRepresented)",
                                   sectors($0.figures.members, zh), parties($0.figures.members, zh)] }))
        if !r.categoriesByUnit.isEmpty {
            out += ["", zh ? "承办单位办理情况" : "Handling units"]
            let metrics = unitFigures(r.categoriesByUnit[0]).map { $0.0.label(zh) }
            out.append(Console.table(header: [zh ? "承办单位" : "unit"] + metrics,
                                     rows: r.categoriesByUnit.map { [$0.unit] + unitFigures($0).map(\.1) }))
        }
        if !r.keyProposals.isEmpty {
            out += ["", zh ? "重点提案" : "Key proposals"]
            out.append(Console.table(
                header: zh ? ["案号", "标题", "提案人", "主办单位", "状态", "督办"] : ["number", "title", "proposer", "lead unit", "status", "supervisor"],
                rows: r.keyProposals.map { [$0.number, $0.title, $0.proposer ?? "—", $0.leadUnit ?? "—", $0.statusLabel, $0.supervisor] }))
        }
        return out.joined(separator: "\n")
    }

    static func csv(_ r: AnnualReport, chinese zh: Bool) -> String {
        var rows = [zh ? ["范围", "指标", "数值"] : ["scope", "metric", "value"]]
        let report = zh ? "报表" : "report"
        rows += [[report, zh ? "标题" : "title", r.title(chinese: zh)], [report, zh ? "委员会" : "committee", r.committee ?? ""],
                 [report, zh ? "起始日" : "from", r.period.from], [report, zh ? "截止日" : "to", r.period.to]]
        func add(_ scope: String, _ f: AnnualReport.Figures) {
            rows += figures(f).map { [scope, zh ? $0.0.zh.trimmingCharacters(in: .whitespaces) : $0.0.key, $0.1] }
            for (party, n) in f.members.byParty.sorted(by: { $0.key < $1.key }) {
                rows.append([scope, zh ? "党派：" + partyName(party, true) : "party:" + party, "\(n)"])
            }
            for (sector, n) in f.members.sectors.sorted(by: { $0.key < $1.key }) { rows.append([scope, zh ? "界别：" + sector : "sector:" + sector, "\(n)"]) }
        }
        add(zh ? "合计" : "overall", r.overall)
        for s in r.bySite { add(zh ? s.name : s.siteID, s.figures) }
        for u in r.categoriesByUnit {
            rows += unitFigures(u).map { [zh ? "承办单位：" + u.unit : "unit:" + u.unit, zh ? $0.0.zh : $0.0.key, $0.1] }
        }
        for k in r.keyProposals {
            let scope = zh ? "重点提案：" + k.number : "key:" + k.number
            rows += [[scope, zh ? "状态" : "status", zh ? k.status.chinese : k.status.rawValue],
                     [scope, zh ? "提案人" : "proposer", k.proposer ?? ""], [scope, zh ? "主办单位" : "lead_unit", k.leadUnit ?? ""]]
        }
        return CSV.write(rows, bom: true)
    }

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A horizontal bar chart as inline SVG, scaled to the page width.
    static func bars(_ items: [(String, Int)], color: String = "#b22222") -> String {
        let maxValue = max(items.map(\.1).max() ?? 0, 1)
        let rowHeight = 22, labelWidth = 170, barWidth = 440
        let width = labelWidth + barWidth + 50, height = rowHeight * items.count + 4
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(width) \(height)\" width=\"100%\" role=\"img\">"
        for (i, (label, value)) in items.enumerated() {
            let y = i * rowHeight + 2
            let w = Int(Double(value) / Double(maxValue) * Double(barWidth))
            svg += "<text x=\"\(labelWidth - 6)\" y=\"\(y + 15)\" text-anchor=\"end\" font-size=\"13\">\(esc(label))</text>"
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(w)\" height=\"\(rowHeight - 6)\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(labelWidth + w + 4)\" y=\"\(y + 15)\" font-size=\"12\">\(value)</text>"
        }
        return svg + "</svg>"
    }

    static func html(_ r: AnnualReport) -> String {
        let zh = L10n.isChinese
        func table(_ header: [String], _ rows: [[String]], numeric: Bool = true) -> String {
            "<table><thead><tr>" + header.map { "<th>\(esc($0))</th>" }.joined() + "</tr></thead><tbody>"
                + rows.map { "<tr>" + $0.enumerated().map { i, v in "<td\(numeric && i > 0 ? " class=\"n\"" : "")>\(esc(v))</td>" }.joined() + "</tr>" }.joined()
                + "</tbody></table>"
        }
        let title = r.title(chinese: zh)
        let all = [figures(r.overall)] + r.bySite.map { figures($0.figures) }
        var body = "<h1>\(esc(title))</h1>"
        body += "<p class=\"meta\">\(esc(countingNote(r, zh)))</p>"
        body += "<h2>\(esc(zh ? "主要数据" : "Figures"))</h2>"
        body += table([zh ? "项目" : "figure", zh ? "合计" : "overall"] + r.bySite.map(\.name),
                      all[0].indices.map { i in [all[0][i].0.label(zh)] + all.map { $0[i].1 } })
        body += "<h2>\(esc(zh ? "委员构成" : "Members"))</h2>"
        body += table(zh ? ["站点", "委员", "女委员", "女委员占比", "界别数", "界别", "党派"] : ["site", "members", "women", "share of women", "sectors", "by sector", "by party"],
                      [(zh ? "合计" : "overall", r.overall.members)].map { [$0.0, "\($0.1.members)", "\($0.1.women)", $0.1.womenShare.text, "\($0.1.sectorsRepresented)", sectors($0.1, zh), parties($0.1, zh)] }
                        + r.bySite.map { s in let m = s.figures.members
                            return [s.name, "\(m.members)", "\(m.women)", m.womenShare.text, "\(m.sectorsRepresented)", sectors(m, zh), parties(m, zh)] },
                      numeric: false)
        if !r.categoriesByUnit.isEmpty {
            body += "<h2>\(esc(zh ? "承办单位办理情况" : "Handling units"))</h2>"
            body += table([zh ? "承办单位" : "unit"] + unitFigures(r.categoriesByUnit[0]).map { $0.0.label(zh) },
                          r.categoriesByUnit.map { [$0.unit] + unitFigures($0).map(\.1) })
        }
        if !r.keyProposals.isEmpty {
            body += "<h2>\(esc(zh ? "重点提案" : "Key proposals"))</h2>"
            body += table(zh ? ["案号", "标题", "提案人", "主办单位", "状态", "督办"] : ["number", "title", "proposer", "lead unit", "status", "supervisor"],
                          r.keyProposals.map { [$0.number, $0.title, $0.proposer ?? "—", $0.leadUnit ?? "—", $0.statusLabel, $0.supervisor] }, numeric: false)
        }
        if !r.bySite.isEmpty {
            body += "<h2>\(esc(zh ? "各站点收到与办结提案" : "Proposals received and closed by site"))</h2>"
            body += bars(r.bySite.map { ($0.name, $0.figures.proposals.received) })
            body += bars(r.bySite.map { ($0.name, $0.figures.proposals.closed) }, color: "#2e7d32")
        }
        body += "<h2>\(esc(zh ? "履职活动分类" : "Activities by kind"))</h2>"
        body += bars(ActivityKind.allCases.map { (zh ? $0.chinese : $0.english, r.overall.activities.byKind[$0.rawValue] ?? 0) }, color: "#1565c0")
        body += "<div class=\"sign\"><span>\(esc(zh ? "填报单位：" : "Reporting office: "))\(esc(r.committee ?? "________"))</span>"
            + "<span>\(esc(zh ? "填报人：" : "Prepared by: "))________</span><span>\(esc(zh ? "日期：" : "Date: "))\(esc(r.generatedOn))</span></div>"
        return """
            <!DOCTYPE html>
            <html lang="\(zh ? "zh-CN" : "en")"><head><meta charset="utf-8"><title>\(esc(title))</title>
            <style>
            @page{size:A4;margin:15mm 12mm}
            body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",sans-serif;margin:1.5em auto;max-width:186mm;color:#222;font-size:10.5pt}
            h1{font-size:1.45em;text-align:center;border-bottom:2px solid #b22222;padding-bottom:.3em;margin:0 0 .4em}
            h2{font-size:1.1em;margin:1.2em 0 .3em}
            table{border-collapse:collapse;margin:.3em 0;width:100%}th,td{border:1px solid #999;padding:.2em .45em;text-align:left}
            td.n{text-align:right;white-space:nowrap}td:first-child{white-space:nowrap}th{background:#f3f3f3}.meta{color:#555;font-size:.9em}svg{display:block;margin:.3em 0;max-width:100%}
            .sign{display:flex;justify-content:space-between;margin-top:2.5em;padding-top:.8em;border-top:1px solid #999}
            @media print{body{margin:0;max-width:none}h2{page-break-after:avoid}tr,svg,.sign{page-break-inside:avoid}}
            </style></head><body>
            \(body)
            </body></html>
            """
    }
}
