import CPPCC
import CPSyncCore
import Foundation
import Testing
import TestSupport

/// A merge on behalf of a site checks each row against the site's subtree, which the county keeps per site between
/// merges (`_cppcc_subtrees`) instead of walking the site tree for every push. Whatever changes the tree between two
/// merges — a site moved or added by the county's admin, or merged from above — must be seen by the next merge: a
/// kept subtree that outlived its tree would let a township write another's records, or refuse its own.
@Suite struct ActingSubtreeTests {
    /// The county replica (with the site tree) and two townships' offices holding it; station 西街 under 华山.
    static func tree(_ dir: TempDir) throws -> (county: Office, huashan: Office, xiyuan: Office) {
        let county = try makeOffice(dir, "county")
        try county.saveSite(Site(id: "county", name: "某县政协", kind: .county, parentID: nil))
        try county.saveSite(Site(id: "huashan", name: "华山镇政协工委", kind: .township, parentID: "county"))
        try county.saveSite(Site(id: "xiyuan", name: "西园镇政协工委", kind: .township, parentID: "county"))
        try county.saveSite(Site(id: "xijie", name: "西街联络站", kind: .station, parentID: "huashan"))
        let huashan = try makeOffice(dir, "huashan"), xiyuan = try makeOffice(dir, "xiyuan")
        try exchange(county, huashan)
        try exchange(county, xiyuan)
        return (county, huashan, xiyuan)
    }

    /// The tree, with 华山's member 张伟 of station 西街 pushed (which fills the kept subtrees).
    static func treeWithZhang(_ dir: TempDir) throws -> (county: Office, huashan: Office, xiyuan: Office, zhang: Member) {
        let (county, huashan, xiyuan) = try tree(dir)
        let zhang = try huashan.addMember(Member(name: "张伟", siteID: "xijie"))
        try push(huashan, member: zhang.id, to: county)
        return (county, huashan, xiyuan, zhang)
    }

    /// An office edits a member's phone (offline: nothing is sent).
    static func setPhone(_ office: Office, _ id: String, _ phone: String) throws {
        var member = try office.member(id)
        member.phone = phone
        try office.updateMember(member)
    }

    /// The office's own changes of one member, merged at the county on the office's behalf.
    static func push(_ office: Office, member id: String, to county: Office) throws {
        let own = try office.replica.changes(after: 0).changes.filter { $0.table == "members" && $0.pk == id }
        try county.replica.merge(own, actingFor: office.replica.siteID)
    }

    static func refusedAsPermission(_ body: () throws -> Void) -> Bool {
        do { try body(); return false } catch { return AccessRules.violation(in: error) != nil }
    }

    @Test func aStationMovedBetweenTwoPushesIsItsNewTownshipsOnTheNextPush() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (county, huashan, xiyuan, zhang) = try Self.treeWithZhang(dir)
        #expect(try county.replica.database.scalar("SELECT count(*) FROM _cppcc_subtrees WHERE acting = 'huashan'") == .integer(2),
                "华山's subtree (itself and 西街) is kept after its push")
        // 华山 edits 张伟 offline; meanwhile the county's admin moves 西街 to 西园 (a local write at the county, not
        // a merge).
        try Self.setPhone(huashan, zhang.id, "13800000001")
        try county.saveSite(Site(id: "xijie", name: "西街联络站", kind: .station, parentID: "xiyuan"))
        try exchange(county, xiyuan)
        // 华山's edit is refused, as it would be with no subtree kept.
        #expect(Self.refusedAsPermission { try Self.push(huashan, member: zhang.id, to: county) })
        // 西园 now owns 西街's members.
        try Self.setPhone(xiyuan, zhang.id, "13900000002")
        try Self.push(xiyuan, member: zhang.id, to: county)
        #expect(try county.member(zhang.id).phone == "13900000002")
    }

    @Test func everySitesPushAfterTheFirstIsCheckedAgainstItsOwnKeptSubtree() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (county, huashan, _, zhang) = try Self.treeWithZhang(dir)
        #expect(try county.replica.database.scalar("SELECT count(*) FROM _cppcc_subtrees WHERE acting = 'xiyuan'") == .integer(1),
                "one walk kept every restricted site's subtree")
        // A push made as 西园 (a replica with no local rules, as a forged client would send) writing into 西街 and
        // into 西园: the first is refused, the second taken.
        let forged = try makeOffice(dir, "forged")
        let intruder = try forged.addMember(Member(name: "赵六", siteID: "xijie"))
        let own = try forged.addMember(Member(name: "钱七", siteID: "xiyuan"))
        let changes = try forged.replica.changes(after: 0).changes
        #expect(Self.refusedAsPermission { try county.replica.merge(changes.filter { $0.pk == intruder.id }, actingFor: "xiyuan") })
        try county.replica.merge(changes.filter { $0.pk == own.id }, actingFor: "xiyuan")
        #expect(try county.member(own.id).siteID == "xiyuan")
        // And the county's own kind is not restricted: it writes anywhere.
        try county.replica.merge(changes.filter { $0.pk == intruder.id }, actingFor: "county")
        #expect(try county.member(intruder.id).siteID == "xijie")
    }

    @Test func aStationAddedByTheCountyIsInItsTownshipsSubtreeAtOnce() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (county, huashan, _) = try Self.tree(dir)
        let first = try huashan.addMember(Member(name: "李娜", siteID: "huashan"))
        try Self.push(huashan, member: first.id, to: county)
        try county.saveSite(Site(id: "dongjie", name: "东街联络站", kind: .station, parentID: "huashan"))
        try exchange(county, huashan)
        let wang = try huashan.addMember(Member(name: "王强", siteID: "dongjie"))
        try Self.push(huashan, member: wang.id, to: county)
        #expect(try county.member(wang.id).siteID == "dongjie")
    }

    @Test func aTreeChangeMergedInsideAPushIsSeenByTheRestOfThatMerge() throws {
        // The county's own change of the tree, merged at a county office on the county's behalf, then an office's
        // push: the sites' triggers empty what was kept whether or not a merge is under way.
        let dir = TempDir(); defer { dir.cleanup() }
        let (county, huashan, _, zhang) = try Self.treeWithZhang(dir)
        try Self.setPhone(huashan, zhang.id, "13800000001")
        let countyOffice = try makeOffice(dir, "county-office")
        try exchange(county, countyOffice)
        try countyOffice.saveSite(Site(id: "xijie", name: "西街联络站", kind: .station, parentID: "xiyuan"))
        let moved = try countyOffice.replica.changes(after: 0).changes.filter { $0.table == "sites" && $0.pk == "xijie" }
        try county.replica.merge(moved, actingFor: "county")
        #expect(Self.refusedAsPermission { try Self.push(huashan, member: zhang.id, to: county) })
    }

    @Test func aScopedReadTakesTheKeptSubtreeAndTheTreeAfterAMove() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (county, huashan, xiyuan) = try Self.tree(dir)
        func subtree(_ site: String) throws -> Set<String> { try #require(try SiteScope.of(site: site, in: county.replica.database)).subtree() }
        #expect(try subtree("huashan") == ["huashan", "xijie"], "walked: nothing kept yet")
        let zhang = try huashan.addMember(Member(name: "张伟", siteID: "xijie"))
        try Self.push(huashan, member: zhang.id, to: county)
        // Kept now; a row planted in the kept table shows that the read takes it from there.
        try county.replica.database.run("INSERT INTO _cppcc_subtrees(acting, id) VALUES ('huashan', 'planted')")
        #expect(try subtree("huashan") == ["huashan", "xijie", "planted"])
        try county.saveSite(Site(id: "xijie", name: "西街联络站", kind: .station, parentID: "xiyuan"))
        #expect(try subtree("huashan") == ["huashan"] && subtree("xiyuan") == ["xiyuan", "xijie"], "emptied by the move: walked")
        let li = try xiyuan.addMember(Member(name: "李娜", siteID: "xiyuan"))
        try Self.push(xiyuan, member: li.id, to: county)
        #expect(try subtree("huashan") == ["huashan"] && subtree("xiyuan") == ["xiyuan", "xijie"], "kept again, after the move")
        #expect(try SiteScope.of(site: "county", in: county.replica.database) == nil)
    }

    @Test func reinstallingTheRulesEmptiesWhatWasKept() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (county, huashan, _) = try Self.tree(dir)
        let zhang = try huashan.addMember(Member(name: "张伟", siteID: "huashan"))
        try Self.push(huashan, member: zhang.id, to: county)
        #expect(try county.replica.database.scalar("SELECT count(*) FROM _cppcc_subtrees") != .integer(0))
        try county.replica.setMeta("cppcc.access_rules", .text("old"))
        _ = try Office(county.replica)
        #expect(try county.replica.database.scalar("SELECT count(*) FROM _cppcc_subtrees") == .integer(0))
    }
}
