import CPPCC
import CPSyncCore
import Foundation
import Testing
import TestSupport

/// Every record can be addressed by a short unique start of its id as well as by its number or name; a key that
/// fits several records is refused listing the candidates; lists print site names and the short ids.
@Suite struct LookupTests {
    func office(_ dir: TempDir) throws -> Office {
        let o = try makeOffice(dir, "county")
        try o.saveSite(Site(id: "county", name: "某县政协", kind: .county, parentID: nil))
        try o.saveSite(Site(id: "huashan", name: "华山镇政协工委", kind: .township, parentID: "county"))
        return o
    }

    @Test func aUniqueStartOfAnIdFindsTheRecord() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try office(dir)
        let m = try o.addMember(Member(id: "a1b2c3d4-0000-4000-8000-000000000001", name: "张伟", siteID: "huashan"))
        let p = try o.addProposal(Proposal(id: "f00dcafe-0000-4000-8000-000000000001", year: 2026, title: "提案", proposerID: m.id))
        let r = try o.addSocialReport(SocialReport(title: "社情", reporterID: m.id))
        let a = try o.addActivity(Activity(kind: .study, topic: "学习会", participants: [m.id]))
        #expect(try o.member("a1b2").id == m.id)
        #expect(try o.proposal("f00dca").id == p.id)
        #expect(try o.socialReport(String(r.id.prefix(6))).id == r.id)
        #expect(try o.activity(String(a.id.prefix(6))).id == a.id)
        // By number and by name as before.
        #expect(try o.proposal(p.number).id == p.id && o.member("张伟").id == m.id)
        // Fewer than four characters is not taken as a prefix.
        #expect(throws: CPPCCError.notFound(kind: "member", key: "a1b")) { try o.member("a1b") }
    }

    @Test func anAmbiguousStartIsRefusedListingTheCandidatesByTheirShortIds() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try office(dir)
        let m = try o.addMember(Member(name: "张伟"))
        let p1 = try o.addProposal(Proposal(id: "beef0000-aaaa-0000-0000-000000000001", year: 2026, title: "修路", proposerID: m.id))
        let p2 = try o.addProposal(Proposal(id: "beef0000-bbbb-0000-0000-000000000002", year: 2026, title: "修桥", proposerID: m.id))
        do {
            _ = try o.proposal("beef")
            Issue.record("an ambiguous prefix was accepted")
        } catch let CPPCCError.ambiguous(kind, key, candidates) {
            #expect(kind == "proposal" && key == "beef")
            #expect(candidates == ["beef0000-a county-2026-001 修路", "beef0000-b county-2026-002 修桥"])
            // Each short id the message shows picks its proposal.
            #expect(try o.proposal("beef0000-a").id == p1.id && o.proposal("beef0000-b").id == p2.id)
        }
        #expect(CPPCCError.ambiguous(kind: "proposal", key: "beef", candidates: ["x"]).description.contains("ids shown"))
        // Two social reports sharing a start are refused too (they were silently taken as the first).
        try o.addSocialReport(SocialReport(id: "5eed0001", title: "一"))
        try o.addSocialReport(SocialReport(id: "5eed0002", title: "二"))
        #expect(throws: CPPCCError.self) { try o.socialReport("5eed") }
        #expect(try o.socialReport("5eed0002").title == "二")
    }

    @Test func shortIdsAreAtLeastEightCharactersAndUniqueInTheTable() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try office(dir)
        for id in ["p2026-001", "p2026-002", "p2026-010", "x1", "abcdefghijk"] { try o.addMember(Member(id: id, name: id)) }
        let short = try o.shortIDs(in: "members")
        // "p2026-01" is the only id starting so: eight characters pick it.
        #expect(short == ["p2026-001": "p2026-001", "p2026-002": "p2026-002", "p2026-010": "p2026-01", "x1": "x1", "abcdefghijk": "abcdefgh"])
    }

    @Test func listsPrintSiteNamesNotIds() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try office(dir)
        let m = try o.addMember(Member(name: "张伟", siteID: "huashan"))
        try o.addProposal(Proposal(year: 2026, title: "提案", proposerID: m.id))
        let sites = try o.siteNames()
        let members = Listing.members(try o.members(), sites: sites, in: .english)
        #expect(members.rows[0].contains("华山镇政协工委") && !members.rows[0].contains("huashan"))
        let proposals = Listing.proposals(try o.proposals(), names: try o.memberNames(), sites: sites, in: .english)
        #expect(proposals.rows[0][3] == "华山镇政协工委")
        // A site the tree does not (yet) have is printed by its id rather than left blank.
        #expect(Listing.site("liushu", sites) == "liushu")
        #expect(Listing.member(m, sites: sites, in: .english).contains { $0.1 == "华山镇政协工委 (huashan)" })
    }
}
