import CPPCC
import CPSyncCore
import Foundation
import Testing
import TestSupport

/// Void (作废): a voided member, proposal, social report or activity is kept with its reason but leaves the lists
/// and the report; only a county-kind site restores it; the void travels by sync like any other write.
@Suite struct VoidTests {
    @Test func voidedRecordsLeaveListsAndTheReportButAreKeptAndCanBeRestored() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try makeOffice(dir, "county")
        try o.seedDemo()
        let before = try o.report(year: 2026, in: .english)
        let member = try o.member("周红梅").id
        let social = try #require(try o.socialReports(year: 2026).first { $0.adopted })
        let activity = try #require(try o.activities(year: 2026).first)

        try o.void(.proposal, "2026-001", reason: "重复登记", on: "2026-07-01")
        try o.void(.member, "周红梅", reason: "误录")
        try o.void(.social, String(social.id.prefix(8)), reason: "误录")
        try o.void(.activity, activity.id, reason: "活动取消")

        #expect(try !o.proposals().contains { $0.id == "p2026-001" })
        #expect(try o.proposals(ProposalFilter(voidedOnly: true)).map(\.id) == ["p2026-001"])
        #expect(try !o.members().contains { $0.id == member })
        #expect(try !o.socialReports().contains { $0.id == social.id } && !o.activities().contains { $0.id == activity.id })
        #expect(try o.voidState(.proposal, id: "p2026-001") == VoidState(on: "2026-07-01", reason: "重复登记"))
        // Kept: still found by its key, with everything it had.
        #expect(try o.proposal("2026-001").status == .closed && o.handlers(of: "p2026-001").count == 2)

        let after = try o.report(year: 2026, in: .english)
        #expect(after.overall.proposals.received == before.overall.proposals.received - 1)
        #expect(after.overall.proposals.closed == before.overall.proposals.closed - 1)
        #expect(!after.keyProposals.contains { $0.id == "p2026-001" })
        #expect(after.overall.socialReports.received == before.overall.socialReports.received - 1)
        #expect(after.overall.socialReports.adopted == before.overall.socialReports.adopted - 1)
        #expect(after.overall.activities.total == before.overall.activities.total - 1)
        #expect(after.overall.members.members == before.overall.members.members - 1)

        for (kind, key) in [(VoidRecords.Kind.proposal, "2026-001"), (.member, member), (.social, social.id), (.activity, activity.id)] {
            try o.restore(kind, key)
        }
        let restored = try o.report(year: 2026, in: .english)
        #expect(restored.overall.proposals.received == before.overall.proposals.received)
        #expect(restored.keyProposals.map(\.id) == before.keyProposals.map(\.id))
        #expect(restored.overall.members.members == before.overall.members.members)
    }

    @Test func voidingNeedsAReasonAndIsNotRepeatedAndRestoringNeedsAVoid() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try makeOffice(dir, "county")
        let m = try o.addMember(Member(name: "张伟"))
        #expect(throws: CPPCCError.self) { try o.void(.member, m.id, reason: "  ") }
        #expect(throws: VoidError.notVoided(kind: "member", key: m.id)) { try o.restore(.member, m.id) }
        try o.void(.member, m.id, reason: "误录", on: "2026-03-01")
        #expect(throws: VoidError.alreadyVoided(kind: "member", key: m.id, on: "2026-03-01")) { try o.void(.member, m.id, reason: "再次") }
        #expect(throws: CPPCCError.self) { try o.void(.member, "no-such-member", reason: "误录") }
        #expect(VoidError.restoreIsCounty(kind: "member", key: "x").exitCode.rawValue == 65)
    }

    @Test func aTownshipVoidsItsOwnRecordsOnlyTheCountyRestoresAndItSyncs() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let county = try makeOffice(dir, "county")
        try county.saveSite(Site(id: "county", name: "某县政协", kind: .county, parentID: nil))
        try county.saveSite(Site(id: "huashan", name: "华山镇政协工委", kind: .township, parentID: "county"))
        let huashan = try makeOffice(dir, "huashan")
        try exchange(county, huashan)
        let m = try huashan.addMember(Member(name: "张伟"))
        let p = try huashan.addProposal(Proposal(year: 2026, title: "提案", proposerID: m.id))
        try huashan.void(.proposal, p.number, reason: "重复提交")
        #expect(throws: VoidError.restoreIsCounty(kind: "proposal", key: p.number)) { try huashan.restore(.proposal, p.number) }
        try exchange(huashan, county)
        #expect(try county.proposals().isEmpty && county.proposals(ProposalFilter(voidedOnly: true)).map(\.id) == [p.id])
        try county.restore(.proposal, p.id)
        try exchange(county, huashan)
        #expect(try huashan.proposals().map(\.id) == [p.id])

        // A filed proposal is the county's: the office cannot void it (the permission rules refuse the write).
        try exchange(huashan, county)
        try county.file(p.id)
        try exchange(county, huashan)
        #expect(throws: (any Error).self) { try huashan.void(.proposal, p.id, reason: "不要了") }
        #expect(try huashan.voidState(.proposal, id: p.id) == nil)
    }

    @Test func aV1ReplicaWithDataMigratesToVoidableRecords() throws {
        let replica = try Replica(path: ":memory:", siteID: "county")
        try CPPCCSchema.install(on: replica, upTo: 1)
        try replica.database.run("INSERT INTO members(id, name) VALUES ('m1', '张伟')")
        #expect(try replica.database.scalar("SELECT count(*) FROM pragma_table_info('members') WHERE name = 'voided_on'") == .integer(0))
        let o = try Office(replica)  // opening it migrates
        #expect(try CPPCCSchema.installedVersion(of: replica) == CPPCCSchema.version)
        #expect(try o.members().map(\.name) == ["张伟"])
        let seq = try replica.sequence
        try o.void(.member, "m1", reason: "误录", on: "2026-03-01")
        // Captured like any edit, so it syncs.
        #expect(Set(try replica.changes(after: seq).changes.map(\.column)) == ["voided_on", "void_reason"])
    }
}
