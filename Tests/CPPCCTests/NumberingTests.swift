import CPPCC
import CPSyncCore
import Foundation
import Testing
import TestSupport

/// Proposal numbers (案号): offices give provisional numbers built from their own site id, the county gives the
/// 案号 at 立案, so two offices numbering offline never hand out the same one.
@Suite struct NumberingTests {
    /// A county replica and two township replicas that share the county's site tree.
    func tree(_ dir: TempDir) throws -> (county: Office, huashan: Office, chengguan: Office) {
        let county = try makeOffice(dir, "county")
        try county.saveSite(Site(id: "county", name: "某县政协", kind: .county, parentID: nil))
        try county.saveSite(Site(id: "huashan", name: "华山镇政协工委", kind: .township, parentID: "county"))
        try county.saveSite(Site(id: "chengguan", name: "城关镇政协工委", kind: .township, parentID: "county"))
        let huashan = try makeOffice(dir, "huashan"), chengguan = try makeOffice(dir, "chengguan")
        try exchange(county, huashan)
        try exchange(county, chengguan)
        return (county, huashan, chengguan)
    }

    @Test func twoOfficesNumberingOfflineGiveDifferentProvisionalNumbers() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (_, huashan, chengguan) = try tree(dir)
        let a = try huashan.addMember(Member(name: "张伟")), b = try chengguan.addMember(Member(name: "周红梅"))
        let a1 = try huashan.addProposal(Proposal(year: 2026, title: "提案一", proposerID: a.id))
        let a2 = try huashan.addProposal(Proposal(year: 2026, title: "提案二", proposerID: a.id))
        let b1 = try chengguan.addProposal(Proposal(year: 2026, title: "提案三", proposerID: b.id))
        #expect([a1.number, a2.number, b1.number] == ["huashan-2026-001", "huashan-2026-002", "chengguan-2026-001"])
        // A new year starts again at 001; the other year's numbers do not count.
        #expect(try huashan.addProposal(Proposal(year: 2027, title: "提案四", proposerID: a.id)).number == "huashan-2027-001")
    }

    @Test func filingGivesTheNextCountyNumberOfTheYearAmongFiledProposals() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (county, huashan, chengguan) = try tree(dir)
        let a = try huashan.addMember(Member(name: "张伟")), b = try chengguan.addMember(Member(name: "周红梅"))
        let p = try huashan.addProposal(Proposal(year: 2026, title: "提案一", proposerID: a.id))
        let q = try chengguan.addProposal(Proposal(year: 2026, title: "提案二", proposerID: b.id))
        let r = try chengguan.addProposal(Proposal(year: 2026, title: "提案三", proposerID: b.id))
        try exchange(huashan, county)
        try exchange(chengguan, county)
        #expect(try county.file(q.id).number == "2026-001")
        try county.reject(r.id, reason: "不属于提案范围")
        #expect(try county.file(p.id).number == "2026-002")
        // Not filed: it keeps its provisional number and takes no 案号.
        #expect(try county.proposal(r.id).number == "chengguan-2026-002")
        #expect(try county.proposal("2026-002").id == p.id && county.proposal("2026-001").id == q.id)
        try exchange(county, huashan)
        #expect(try huashan.proposal(p.id).number == "2026-002")
        // The provisional number it had is gone; asking for it says where the 案号 came from.
        #expect(throws: NumberingError.provisionalNotFound("huashan-2026-001")) { try huashan.proposal("huashan-2026-001") }
    }

    @Test func oldDuplicateNumbersFromOfficesAreMadeUniqueWhenFiled() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (county, _, _) = try tree(dir)
        // Numbers an earlier cpsync gave at two offices: both "2026-001".
        for (id, site) in [("old-h", "huashan"), ("old-c", "chengguan")] {
            try county.replica.database.run("INSERT INTO proposals(id, number, year, title, site_id, status) VALUES (?, '2026-001', 2026, '旧提案', ?, 'submitted')",
                                            [.text(id), .text(site)])
        }
        #expect(throws: CPPCCError.self) { try county.proposal("2026-001") }
        let first = try county.file("old-h"), second = try county.file("old-c")
        #expect(first.number != second.number)
        #expect(Set([first.number, second.number]) == ["2026-001", "2026-002"])
        #expect(try county.proposal("2026-001").id != county.proposal("2026-002").id)
    }

    @Test func aCountyNumberEnteredFromPaperIsKeptAtFiling() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (county, _, _) = try tree(dir)
        let m = try county.addMember(Member(name: "王建国"))
        let p = try county.addProposal(Proposal(number: "2026-015", year: 2026, title: "提案", proposerID: m.id))
        #expect(try county.file(p.id).number == "2026-015")
        // The next one continues after it.
        let q = try county.addProposal(Proposal(year: 2026, title: "提案二", proposerID: m.id))
        #expect(q.number == "county-2026-001")
        #expect(try county.file(q.id).number == "2026-016")
    }

    @Test func anOfficeCannotTypeACountyNumberNorReuseANumber() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (county, huashan, _) = try tree(dir)
        let m = try huashan.addMember(Member(name: "张伟"))
        #expect(throws: NumberingError.countyNumberAtOffice("2026-007", provisional: "huashan-2026-001")) {
            try huashan.addProposal(Proposal(number: "2026-007", year: 2026, title: "提案", proposerID: m.id))
        }
        let p = try huashan.addProposal(Proposal(year: 2026, title: "提案", proposerID: m.id))
        #expect(throws: NumberingError.numberTaken(p.number, by: p.id)) {
            try huashan.addProposal(Proposal(number: p.number, year: 2026, title: "又一件", proposerID: m.id))
        }
        let c = try county.addMember(Member(name: "王建国"))
        let filed = try county.addProposal(Proposal(number: "2026-003", year: 2026, title: "提案", proposerID: c.id))
        #expect(throws: NumberingError.numberTaken("2026-003", by: filed.id)) {
            try county.addProposal(Proposal(number: "2026-003", year: 2026, title: "提案", proposerID: c.id))
        }
        #expect(NumberingError.countyNumberAtOffice("2026-007", provisional: "huashan-2026-001").exitCode.rawValue == 65)
        // Editing the details cannot do it either, and leaving the number out keeps it.
        var edited = p
        edited.number = "2026-007"
        #expect(throws: NumberingError.self) { try huashan.updateProposalDetails(edited) }
        edited.number = ""
        edited.title = "改过的提案"
        try huashan.updateProposalDetails(edited)
        #expect(try huashan.proposal(p.id).number == p.number && huashan.proposal(p.id).title == "改过的提案")
    }

    @Test func aProposalEnteredAsAlreadyFiledGetsACountyNumber() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (county, _, _) = try tree(dir)
        let m = try county.addMember(Member(name: "王建国"))
        let p = try county.addProposal(Proposal(year: 2025, title: "往年提案", proposerID: m.id, status: .closed))
        #expect(p.number == "2025-001")
    }

    @Test func countyNumbersAreRecognisedByTheirShape() {
        #expect(Proposal.countySequence(of: "2026-015") == 15)
        #expect(Proposal.countySequence(of: "huashan-2026-015") == nil)
        #expect(Proposal.countySequence(of: "2026-") == nil)
        #expect(Proposal.countySequence(of: "2026-01a") == nil)
        #expect(Proposal.provisionalPrefix(site: "huashan", year: 2026) == "huashan-2026-")
        #expect(Proposal.looksProvisional("huashan-xinjie-2026-003") && !Proposal.looksProvisional("2026-003"))
        #expect(!Proposal.looksProvisional("p2026-001") && !Proposal.looksProvisional("huashan-2026-"))
        #expect(Proposal.provisionalPrefix(site: "6f1c2a9e-0000-4000-8000-000000000000", year: 2026) == "6f1c2a9e-2026-")
    }
}
