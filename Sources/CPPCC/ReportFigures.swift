import CPSyncText
import CPSyncCore
import Foundation

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
    public func report(year: Int, site: String? = nil, in language: Language) throws -> AnnualReport {
        try report(period: .year(year), site: site, in: language)
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
    /// `language` is the reader's: the labels the report carries (a status, a proposer this office does not hold).
    public func report(period: ReportPeriod, site requested: String? = nil, in language: Language) throws -> AnnualReport {
        let (committee, site) = try reportSite(requested)
        let records = try ReportRecords(self, period: period, site: site)
        let units = records.unitCategories()
        let key = records.keyProposals(names: try memberNames(), in: language)
        let bySite = try siteRows(site: site, top: site ?? committee?.id).map {
            AnnualReport.SiteFigures(siteID: $0.site.id, name: $0.site.name, kind: $0.site.kind, figures: records.figures($0.records))
        }
        return AnnualReport(period: period, committee: committee.map { $0.name.isEmpty ? $0.id : $0.name }, committeeSite: committee?.id,
                            site: site, generatedOn: Office.today(), overall: records.figures(nil),
                            categoriesByUnit: try unitsInOrder(units), keyProposals: key, bySite: bySite)
    }

    /// The committee whose report it is and the site the report covers (nil: every site): `requested`, which must
    /// exist and lie in this office's area, or the office's own scope.
    private func reportSite(_ requested: String?) throws -> (committee: Site?, site: String?) {
        if let requested, try db.scalar("SELECT count(*) FROM sites WHERE id = ?", [.text(requested)])?.int64Value == 0 {
            throw CPPCCError.notFound(kind: "site", key: requested)
        }
        let (committee, ownScope) = try reportScope()
        if let requested, let ownScope, let committee, !(try siteAndDescendants(ownScope)).contains(requested) {
            let name = try db.scalar("SELECT name FROM sites WHERE id = ?", [.text(requested)])?.stringValue ?? requested
            throw CPPCCError.outsideOfficeArea(site: name.isEmpty ? requested : name, office: committee.name.isEmpty ? committee.id : committee.name)
        }
        return (committee, requested ?? ownScope)
    }

    /// One row per site in scope, the top first, with its own records; a county-kind site below the top (a city's
    /// county) counts its whole subtree, and the sites under it have no row of their own.
    private func siteRows(site: String?, top: String?) throws -> [(site: Site, records: Set<String>)] {
        let allSites = try sites()
        let scope = Set(try site.map { try siteAndDescendants($0) } ?? allSites.map(\.id))
        var rows: [(site: Site, records: Set<String>)] = []
        var folded = Set<String>()
        for s in allSites where scope.contains(s.id) && s.kind == .county && s.id != top {
            let subtree = Set(try siteAndDescendants(s.id))
            folded.formUnion(subtree.subtracting([s.id]))
            rows.append((s, subtree))
        }
        rows = allSites.filter { scope.contains($0.id) && !folded.contains($0.id) }.map { s in rows.first { $0.site.id == s.id } ?? (s, [s.id]) }
        return rows.filter { $0.site.id == top } + rows.filter { $0.site.id != top }
    }
}

/// The records a report counts: the proposals (with their handlers), social reports, activities and members of its
/// scope, the dated ones within its period.
private struct ReportRecords {
    let period: ReportPeriod
    let proposals: [Proposal]
    let handlersByProposal: [String: [Handler]]
    let socialReports: [SocialReport]
    let activities: [Activity]
    let roster: [Member]

    init(_ office: Office, period: ReportPeriod, site: String?) throws {
        self.period = period
        let props: [Proposal]
        if let year = period.year {
            props = try office.proposals(ProposalFilter(year: year, site: site))
        } else {
            props = try office.proposals(ProposalFilter(site: site)).filter { period.contains($0.submittedOn ?? String(format: "%04d-01-01", $0.year)) }
        }
        proposals = props
        let ids = Set(props.map(\.id))
        var handlersByProposal: [String: [Handler]] = [:]
        for h in try office.db.query("SELECT \(Handler.columns) FROM proposal_handlers ORDER BY unit").map(Handler.init(row:)) where ids.contains(h.proposalID) {
            handlersByProposal[h.proposalID, default: []].append(h)
        }
        self.handlersByProposal = handlersByProposal
        socialReports = try office.socialReports(site: site).filter { period.contains($0.reportedOn) }
        activities = try office.activities(site: site).filter { period.contains($0.heldOn) }
        roster = try office.members(MemberFilter(site: site))
    }

    // By the end of the period: a closure, reply or evaluation dated later had not happened yet.
    func closed(_ p: Proposal) -> Bool { p.status == .closed && period.reached(p.closedOn) }
    func replied(_ h: Handler) -> Bool { h.hasReplied && period.reached(h.repliedOn) }
    func evaluation(_ h: Handler) -> Satisfaction? { h.satisfaction.flatMap { replied(h) && period.reached(h.evaluatedOn) ? $0 : nil } }

    /// Whether a record of `site` counts among the records of `sites` (every record counts when nil).
    private static func inScope(_ site: String?, _ sites: Set<String>?) -> Bool { sites.map { set in site.map(set.contains) ?? false } ?? true }

    /// The figures of the records of `sites` (of every record in scope when nil).
    func figures(_ sites: Set<String>?) -> AnnualReport.Figures {
        let (p, h) = proposalFigures(sites)
        return AnnualReport.Figures(proposals: p, handling: h, socialReports: socialFigures(sites), activities: activityFigures(sites),
                                    members: memberFigures(sites))
    }

    private func proposalFigures(_ sites: Set<String>?) -> (AnnualReport.ProposalFigures, AnnualReport.HandlingFigures) {
        var p = AnnualReport.ProposalFigures()
        var h = AnnualReport.HandlingFigures()
        for x in proposals where Self.inScope(x.siteID, sites) {
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
        return (p, h)
    }

    private func socialFigures(_ sites: Set<String>?) -> AnnualReport.SocialFigures {
        var s = AnnualReport.SocialFigures()
        for r in socialReports where Self.inScope(r.siteID, sites) {
            s.received += 1
            if r.adopted { s.adopted += 1 }
            if !r.instruction.isEmpty { s.withInstruction += 1 }
        }
        return s
    }

    private func activityFigures(_ sites: Set<String>?) -> AnnualReport.ActivityFigures {
        var a = AnnualReport.ActivityFigures()
        for x in activities where Self.inScope(x.siteID, sites) { a.byKind[x.kind.rawValue, default: 0] += 1 }
        return a
    }

    private func memberFigures(_ sites: Set<String>?) -> AnnualReport.MemberFigures {
        var m = AnnualReport.MemberFigures()
        for x in roster where Self.inScope(x.siteID, sites) {
            m.members += 1
            if x.gender == "女" { m.women += 1 }
            if !x.sector.isEmpty { m.sectors[x.sector, default: 0] += 1 }
            m.byParty[x.party, default: 0] += 1
        }
        return m
    }

    /// Each handling unit's assignments, closures, reply categories and evaluations, in no order.
    func unitCategories() -> [AnnualReport.UnitCategories] {
        var units: [String: AnnualReport.UnitCategories] = [:]
        let byID = Dictionary(uniqueKeysWithValues: proposals.map { ($0.id, $0) })
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
        return Array(units.values)
    }

    /// The key proposals (重点提案). A proposer this office does not hold (another office's member) is named
    /// neutrally, never by id.
    func keyProposals(names: [String: String], in language: Language) -> [AnnualReport.KeyProposal] {
        proposals.filter(\.isKey).map { p in
            AnnualReport.KeyProposal(id: p.id, number: p.number, title: p.title, status: p.status, statusLabel: p.status.label(in: language),
                                     supervisor: p.supervisor, siteID: p.siteID,
                                     proposer: p.proposerID.map { names[$0].flatMap { $0.isEmpty ? nil : $0 } ?? Office.outsideMemberLabel(in: language) },
                                     leadUnit: handlersByProposal[p.id]?.first { $0.role == .lead }?.unit)
        }
    }
}
