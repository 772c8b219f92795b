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
            AnnualReport.KeyProposal(id: p.id, number: p.number, title: p.title, status: p.status, statusLabel: p.status.label(in: language),
                                     supervisor: p.supervisor, siteID: p.siteID,
                                     proposer: p.proposerID.map { names[$0].flatMap { $0.isEmpty ? nil : $0 } ?? Office.outsideMemberLabel(in: language) },
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
