import CPSyncText
import CPSyncCore
import Foundation

/// A proposal (提案) as the office keeps it.
public struct Proposal: Codable, Sendable, Equatable {
    public var id: String
    /// 案号, e.g. "2026-015", given by the county at 立案; before that the office's provisional number, e.g.
    /// "huashan-2026-003" (see Numbering.swift). Not a key (the schema has no UNIQUE), but no two proposals get
    /// the same one: offices number with their own site id, the county numbers at filing.
    public var number: String
    /// e.g. 八届四次会议.
    public var session: String
    public var year: Int
    public var title: String
    public var body: String
    /// The lead proposer (第一提案人), a member id.
    public var proposerID: String?
    public var siteID: String?
    public var submittedOn: String?
    public var status: ProposalStatus
    /// For `merged`: the proposal this one was merged into (并案).
    public var mergedInto: String?
    /// For `converted`: `letter` (委员来信) or `social_report` (社情民意).
    public var convertedTo: String?
    /// Why it was not filed, or other review remarks.
    public var reviewNote: String
    /// 重点提案.
    public var isKey: Bool
    /// The chair or vice-chair supervising a key proposal (督办).
    public var supervisor: String
    public var filedOn: String?
    public var closedOn: String?

    public init(id: String = Office.newID(), number: String = "", session: String = "", year: Int, title: String,
                body: String = "", proposerID: String? = nil, siteID: String? = nil, submittedOn: String? = nil,
                status: ProposalStatus = .submitted, mergedInto: String? = nil, convertedTo: String? = nil,
                reviewNote: String = "", isKey: Bool = false, supervisor: String = "", filedOn: String? = nil,
                closedOn: String? = nil) {
        self.id = id
        self.number = number
        self.session = session
        self.year = year
        self.title = title
        self.body = body
        self.proposerID = proposerID
        self.siteID = siteID
        self.submittedOn = submittedOn
        self.status = status
        self.mergedInto = mergedInto
        self.convertedTo = convertedTo
        self.reviewNote = reviewNote
        self.isKey = isKey
        self.supervisor = supervisor
        self.filedOn = filedOn
        self.closedOn = closedOn
    }

    enum CodingKeys: String, CodingKey {
        case id, number, session, year, title, body, status, supervisor
        case proposerID = "proposer_id", siteID = "site_id", submittedOn = "submitted_on", mergedInto = "merged_into"
        case convertedTo = "converted_to", reviewNote = "review_note", isKey = "is_key", filedOn = "filed_on"
        case closedOn = "closed_on"
    }

    static let columns = "id, number, session, year, title, body, proposer_id, site_id, submitted_on, status, merged_into, converted_to, review_note, is_key, supervisor, filed_on, closed_on"

    init(row r: [Value]) {
        self.init(id: r[0].str, number: r[1].str, session: r[2].str, year: r[3].int, title: r[4].str, body: r[5].str,
                  proposerID: r[6].opt, siteID: r[7].opt, submittedOn: r[8].opt,
                  status: ProposalStatus(rawValue: r[9].str) ?? .draft, mergedInto: r[10].opt, convertedTo: r[11].opt,
                  reviewNote: r[12].str, isKey: r[13].int == 1, supervisor: r[14].str, filedOn: r[15].opt, closedOn: r[16].opt)
    }

    var values: [Value] {
        [.text(id), .text(number), .text(session), .integer(Int64(year)), .text(title), .text(body), textOrNull(proposerID),
         textOrNull(siteID), textOrNull(submittedOn), .text(status.rawValue), textOrNull(mergedInto), textOrNull(convertedTo),
         .text(reviewNote), .integer(isKey ? 1 : 0), .text(supervisor), textOrNull(filedOn), textOrNull(closedOn)]
    }

    /// How people refer to it: the 案号, or the start of the id when it has none yet.
    public var displayKey: String { number.isEmpty ? String(id.prefix(8)) : number }
}

/// A handling unit's assignment and, later, its reply and the proposer's evaluation.
public struct Handler: Codable, Sendable, Equatable {
    public var id: String
    public var proposalID: String
    /// 承办单位.
    public var unit: String
    public var role: HandlerRole
    public var assignedOn: String?
    public var dueOn: String?
    public var repliedOn: String?
    public var reply: String?
    public var category: ReplyCategory?
    /// 见面/面商: whether the unit met the proposer face to face.
    public var metProposer: Bool
    public var satisfaction: Satisfaction?
    public var evaluatedOn: String?

    enum CodingKeys: String, CodingKey {
        case id, unit, role, reply, category, satisfaction
        case proposalID = "proposal_id", assignedOn = "assigned_on", dueOn = "due_on", repliedOn = "replied_on"
        case metProposer = "met_proposer", evaluatedOn = "evaluated_on"
    }

    static let columns = "id, proposal_id, unit, role, assigned_on, due_on, replied_on, reply, category, met_proposer, satisfaction, evaluated_on"

    init(row r: [Value]) {
        id = r[0].str
        proposalID = r[1].str
        unit = r[2].str
        role = HandlerRole(rawValue: r[3].str) ?? .lead
        assignedOn = r[4].opt
        dueOn = r[5].opt
        repliedOn = r[6].opt
        reply = r[7].opt
        category = ReplyCategory(rawValue: r[8].str)
        metProposer = r[9].int == 1
        satisfaction = Satisfaction(rawValue: r[10].str)
        evaluatedOn = r[11].opt
    }

    public var hasReplied: Bool { repliedOn != nil || reply != nil }
}

extension HandlerRole: Codable {}
extension ReplyCategory: Codable {}
extension Satisfaction: Codable {}

/// Filters for `proposals(…)`.
public struct ProposalFilter: Sendable {
    public var year: Int?
    public var site: String?
    public var status: ProposalStatus?
    public var keyOnly = false
    /// Only voided (作废) proposals; by default they are left out.
    public var voidedOnly = false
    public init(year: Int? = nil, site: String? = nil, status: ProposalStatus? = nil, keyOnly: Bool = false, voidedOnly: Bool = false) {
        self.year = year
        self.site = site
        self.status = status
        self.keyOnly = keyOnly
        self.voidedOnly = voidedOnly
    }
}

extension Office {
    /// A proposal by id, by 案号 (or provisional number) when exactly one proposal has it, or by a unique start of
    /// the id (`resolveID`).
    public func proposal(_ key: String) throws -> Proposal {
        let id: String
        do { id = try resolveID(key, in: .proposals) } catch CPPCCError.notFound where Proposal.looksProvisional(key) {
            throw NumberingError.provisionalNotFound(key)
        }
        return Proposal(row: try db.query("SELECT \(Proposal.columns) FROM proposals WHERE id = ?", [.text(id)])[0])
    }

    /// Proposals matching `filter`, ordered by year and 案号.
    public func proposals(_ filter: ProposalFilter = ProposalFilter()) throws -> [Proposal] {
        var conditions: [String] = []
        var values: [Value] = []
        let site = try siteFilter("site_id", filter.site)
        conditions.append(site.sql)
        values += site.values
        if let y = filter.year { conditions.append("year = ?"); values.append(.integer(Int64(y))) }
        if let s = filter.status { conditions.append("status = ?"); values.append(.text(s.rawValue)) }
        if filter.keyOnly { conditions.append("is_key = 1") }
        conditions.append(Office.voidCondition(voidedOnly: filter.voidedOnly))
        return try db.query("SELECT \(Proposal.columns) FROM proposals WHERE \(conditions.joined(separator: " AND ")) ORDER BY year, number, id", values)
            .map(Proposal.init(row:))
    }

    public func handlers(of proposalID: String) throws -> [Handler] {
        try db.query("SELECT \(Handler.columns) FROM proposal_handlers WHERE proposal_id = ? ORDER BY role DESC, assigned_on, unit, id", [.text(proposalID)])
            .map(Handler.init(row:))
    }

    /// The co-signers (联名委员) of a proposal.
    public func cosigners(of proposalID: String) throws -> [Member] {
        try db.query("""
            SELECT \(Member.columns.split(separator: ",").map { "m." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", "))
            FROM proposal_cosigners c JOIN members m ON m.id = c.member_id WHERE c.proposal_id = ? ORDER BY m.name
            """, [.text(proposalID)]).map(Member.init(row:))
    }

    /// The next 案号 the county gives at 立案 for a year: "YYYY-NNN", one above the highest number of that form on
    /// this replica. Only filing (and numbers entered or imported as already given) produce this form, so this
    /// numbers the year's filed proposals; offices never make one (they give provisional numbers), so two offices
    /// working offline cannot hand out the same 案号.
    public func nextNumber(year: Int) throws -> String {
        let prefix = String(format: "%04d-", year)
        let rows = try db.query("SELECT number FROM proposals WHERE substr(number, 1, 5) = ?", [.text(prefix)])
        let highest = rows.compactMap { Proposal.countySequence(of: $0[0].str) }.max() ?? 0
        return prefix + String(format: "%03d", highest + 1)
    }

    /// The next provisional number this office gives a new proposal: "SITE-YYYY-NNN" (e.g. `huashan-2026-001`).
    /// Built from this replica's own site id, so it cannot collide with another office's, and never of the
    /// county's "YYYY-NNN" form; the county replaces it with the 案号 at 立案.
    public func provisionalNumber(year: Int) throws -> String {
        let prefix = Proposal.provisionalPrefix(site: replica.siteID, year: year)
        let rows = try db.query("SELECT number FROM proposals WHERE substr(number, 1, ?) = ?",
                                [.integer(Int64(prefix.utf8.count)), .text(prefix)])
        let highest = rows.compactMap { row -> Int? in
            let rest = row[0].str.utf8.dropFirst(prefix.utf8.count)
            guard !rest.isEmpty, rest.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
            return Int(String(decoding: rest, as: UTF8.self))
        }.max() ?? 0
        return prefix + String(format: "%03d", highest + 1)
    }

    /// The kind of this replica's own site, nil while the site tree has not arrived (or the site is not in it).
    func ownSiteKind() throws -> SiteKind? {
        let kind = try db.scalar("SELECT kind FROM sites WHERE id = ?", [.text(replica.siteID)])?.stringValue
            ?? replica.meta(OfficeSiteMeta.kind)?.stringValue
        return kind.flatMap(SiteKind.init(rawValue:))
    }

    /// The 案号 a proposal gets at 立案: the one it carries when that is already a county number no other proposal
    /// has (entered from paper, or imported), else the next of its year.
    func filingNumber(_ p: Proposal) throws -> String {
        if Proposal.countySequence(of: p.number) != nil,
           try db.scalar("SELECT count(*) FROM proposals WHERE number = ? AND id != ?", [.text(p.number), .text(p.id)])?.int64Value == 0 {
            return p.number
        }
        return try nextNumber(year: p.year)
    }

    /// Checks fields and references of a proposal about to be saved. `keptProposer`: the proposer it already has,
    /// not looked up again — an office holds another office's filed proposal without its proposer (members stay
    /// in their own area), and an edit that keeps the proposer must be judged by what it changes (the access rules
    /// then say why the office may not), not refused for a member it never held.
    func validate(_ p: inout Proposal, keptProposer: String? = nil) throws {
        p.title = p.title.trimmingCharacters(in: .whitespacesAndNewlines)
        if p.title.isEmpty { throw CPPCCError.missingValue(field: FieldName(en: "title", zh: "标题")) }
        guard (1900...2999).contains(p.year) else {
            throw CPPCCError.invalidValue(field: FieldName(en: "year", zh: "年度"), value: String(p.year), expected: "1900–2999")
        }
        try Office.checkID(p.id)
        p.submittedOn = try Office.date(p.submittedOn, field: FieldName(en: "submitted date", zh: "提交日期"))
        if let m = p.proposerID, m != keptProposer, try db.scalar("SELECT count(*) FROM members WHERE id = ?", [.text(m)])?.int64Value == 0 {
            throw CPPCCError.unknownReference(field: FieldName(en: "proposer", zh: "提案人"), kind: "member", key: m)
        }
        if let target = p.mergedInto {
            if target == p.id { throw WorkflowError.mergeIntoItself(p.displayKey) }
            if try db.scalar("SELECT count(*) FROM proposals WHERE id = ?", [.text(target)])?.int64Value == 0 {
                throw WorkflowError.mergeTargetMissing(p.displayKey, target)
            }
        }
        if let c = p.convertedTo, ConversionTarget(rawValue: c) == nil {
            throw CPPCCError.invalidValue(field: "converted_to", value: c, expected: Phrase(stringLiteral: ConversionTarget.choices))
        }
        try checkSite(p.siteID)
    }

    /// Adds a proposal with its co-signers. The 案号 defaults to the next free one of its year, the site to the
    /// proposer's (or this office's).
    @discardableResult
    public func addProposal(_ proposal: Proposal, cosigners: [String] = []) throws -> Proposal {
        try db.transaction {
            var p = proposal
            if let m = p.proposerID { p.proposerID = try member(m).id }
            if p.siteID == nil, let m = p.proposerID { p.siteID = try member(m).siteID }
            if p.siteID == nil { p.siteID = try defaultSite() }
            try number(&p)
            if p.submittedOn == nil && p.status != .draft { p.submittedOn = Office.today() }
            try validate(&p)
            if try db.scalar("SELECT count(*) FROM proposals WHERE id = ?", [.text(p.id)])?.int64Value != 0 {
                throw CPPCCError.duplicate(kind: "proposal", key: p.id)
            }
            try db.run("INSERT INTO proposals(\(Proposal.columns)) VALUES (\(Array(repeating: "?", count: 17).joined(separator: ", ")))", p.values)
            for c in cosigners { try addCosigner(p.id, member: c) }
            return p
        }
    }

    /// Gives a new proposal its number, or checks the one it was given. A proposal entered as already filed (or
    /// later) gets the county's next 案号; any other a provisional number of this office. A number typed by the
    /// clerk must be new on this replica, and only a county-kind site (or a replica that does not know its site
    /// yet) may give one of the county's "YYYY-NNN" form.
    private func number(_ p: inout Proposal) throws {
        p.number = p.number.trimmingCharacters(in: .whitespacesAndNewlines)
        if p.number.isEmpty {
            p.number = p.status.isFiledBranch ? try nextNumber(year: p.year) : try provisionalNumber(year: p.year)
            return
        }
        try checkNumber(p)
    }

    /// Checks a number a clerk gave (see `number(_:)`).
    private func checkNumber(_ p: Proposal) throws {
        if Proposal.countySequence(of: p.number) != nil, let kind = try ownSiteKind(), kind != .county {
            throw NumberingError.countyNumberAtOffice(p.number, provisional: try provisionalNumber(year: p.year))
        }
        if let other = try db.query("SELECT id FROM proposals WHERE number = ? AND id != ? LIMIT 1", [.text(p.number), .text(p.id)]).first {
            throw NumberingError.numberTaken(p.number, by: other[0].str)
        }
    }

    /// Adds a co-signer. The row id is derived from both ids, so two offices adding the same co-signer offline
    /// end up with one row, not two.
    public func addCosigner(_ proposalID: String, member key: String) throws {
        let m = try member(key)
        try db.run("INSERT OR IGNORE INTO proposal_cosigners(id, proposal_id, member_id) VALUES (?, ?, ?)",
                   [.text(proposalID + ":" + m.id), .text(proposalID), .text(m.id)])
    }

    /// Saves the descriptive fields of a proposal (not its status: the workflow steps move that).
    public func updateProposalDetails(_ proposal: Proposal) throws {
        var p = proposal
        try db.transaction {
            let old = try self.proposal(p.id)
            p.status = old.status
            // No number keeps the one it has; a new one is checked as when adding (an office cannot give itself a
            // county 案号, nor reuse a number).
            p.number = p.number.trimmingCharacters(in: .whitespacesAndNewlines)
            if p.number.isEmpty { p.number = old.number } else if p.number != old.number { try checkNumber(p) }
            try validate(&p, keptProposer: old.proposerID)
            try db.run("""
                UPDATE proposals SET number = ?2, session = ?3, year = ?4, title = ?5, body = ?6, proposer_id = ?7,
                  site_id = ?8, submitted_on = ?9, is_key = ?14, supervisor = ?15 WHERE id = ?1
                """, Array(p.values.prefix(15)))
        }
    }
}
