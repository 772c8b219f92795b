import CPPCC
import CPSyncCore
import Foundation
import Testing
import TestSupport

/// A county holds nothing of another county (Protocol/README.md §18, "What comes down"), with the real binaries: a
/// city, two counties uplinking to it. What the other county writes after a county's first pull — members,
/// proposals and their co-signers and handlers, activities and participants, social reports, a new township, a member
/// moved between its townships — and the city's own new site reach the city's tier pulls only as the cells that say a
/// row is not the county's; the county keeps none of them (not even a key or a site id), so none reaches its offices.
/// A row the city moves from one county's subtree to the other's leaves the first county, with its children, without
/// a delete: the city and the gaining county keep it.
@Suite(.serialized) struct TierScopeTests {
    /// Every row of the synced tables of a database (the tables and their versions) that names one of `needles` in its
    /// key or in any cell, as text.
    static func rowsNaming(_ needles: [String], in path: String) throws -> [String] {
        let db = try Database(path: path)
        var out: [String] = []
        for t in CPPCCSchema.tables {
            for row in try db.query("SELECT * FROM \(t)") + db.query("SELECT pk FROM _cp_v_\(t)") {
                let cells = row.map { "\($0)" }
                if cells.contains(where: { cell in needles.contains { cell.contains($0) } }) { out.append(t + "|" + cells.joined(separator: "|")) }
            }
        }
        return out
    }

    @Test func aCountyHoldsNothingOfAnotherCountyAndARowMovedToItLeavesTheFirst() throws {
        let ws = TempDir("tier-scope")
        defer { ws.cleanup() }
        let (city, cityToken) = try TierTests.makeCity(ws)
        let a = try TierTests.TierCounty("330102", name: "上城区政协", offices: [("330102-qingbo", "清波街道政协工委")],
                                         serverID: "330102-cpsyncd", ws: ws, city: city)
        let b = try TierTests.TierCounty("330106", name: "西湖区政协", offices: [("330106-lingyin", "灵隐街道政协工委")],
                                         serverID: "330106-cpsyncd", ws: ws, city: city)
        defer { city.stop(); a.daemon.stop(); b.daemon.stop() }
        try city.start()
        try a.daemon.start()
        try b.daemon.start()
        let cityOffice = try Office.create(TierTests.cityCode, in: ws, daemon: city, token: cityToken)
        // A's county office (kind county: it pulls everything the county holds) and a township; B's.
        let aCounty = try a.office("330102", ws: ws), qingbo = try a.office("330102-qingbo", ws: ws)
        let bCounty = try b.office("330106", ws: ws), lingyin = try b.office("330106-lingyin", ws: ws)
        for o in [aCounty, qingbo, bCounty, lingyin] { try o.must(["sync"]) }
        try qingbo.sql("INSERT INTO members(id, name, phone, site_id) VALUES ('m-a', '清波委员', '13905710001', '330102-qingbo')")
        try qingbo.sql("INSERT INTO proposals(id, title, site_id, status) VALUES ('p-a', '关于清波街道停车难的建议', '330102-qingbo', 'submitted')")
        try qingbo.sql("INSERT INTO activities(id, kind, topic, site_id) VALUES ('act-a', 'inspection', '视察河坊街', '330102-qingbo')")
        try qingbo.sql("INSERT INTO activity_participants(id, activity_id, member_id) VALUES ('ap-a', 'act-a', 'm-a')")
        try lingyin.sql("INSERT INTO members(id, name, site_id) VALUES ('m-330106-0', '灵隐委员', '330106-lingyin')")
        for o in [qingbo, lingyin, aCounty, bCounty] { try o.must(["sync"]) }
        // Both counties' first rounds pull from 0: only their own subtrees come.
        for c in [a, b] { let r = try c.uplink(to: city); #expect(r.ok, "uplink \(c.code): \(r.stderr)") }

        // B grows after A's first pull: a new township, records of every kind in both townships, a filed proposal with
        // its handler, a member moved between its townships; the city edits one of B's records and adds a site of its own.
        let xihuToken = try TierTests.siteAdd(b.daemon.dataDir, id: "330106-xihu", name: "西湖街道政协工委", kind: "township", parent: "330106")
        let xihu = try Office.create("330106-xihu", in: ws, daemon: b.daemon, token: xihuToken)
        try xihu.must(["sync"])
        try lingyin.sql("INSERT INTO members(id, name, phone, site_id) VALUES ('m-330106-1', '灵隐委员二', '13905719999', '330106-lingyin')")
        try lingyin.sql("INSERT INTO proposals(id, title, site_id, status) VALUES ('p-330106-1', '关于灵隐景区交通的建议', '330106-lingyin', 'submitted')")
        try lingyin.sql("INSERT INTO proposal_cosigners(id, proposal_id, member_id) VALUES ('c-330106-1', 'p-330106-1', 'm-330106-1')")
        try lingyin.sql("INSERT INTO activities(id, kind, topic, site_id) VALUES ('a-330106-1', 'research', '调研茶园保护', '330106-lingyin')")
        try lingyin.sql("INSERT INTO activity_participants(id, activity_id, member_id) VALUES ('ap-330106-1', 'a-330106-1', 'm-330106-1')")
        try lingyin.sql("INSERT INTO social_reports(id, title, site_id) VALUES ('r-330106-1', '关于龙井村民宿的社情民意', '330106-lingyin')")
        try xihu.sql("INSERT INTO members(id, name, site_id) VALUES ('m-330106-2', '西湖委员', '330106-xihu')")
        for o in [lingyin, xihu] { try o.must(["sync"]) }
        try bCounty.must(["sync"])
        try bCounty.sql("INSERT INTO proposals(id, title, site_id, status) VALUES ('p-330106-f', '关于西湖水域保护的提案', '330106-xihu', 'filed')")
        try bCounty.sql("INSERT INTO proposal_handlers(id, proposal_id, unit) VALUES ('h-330106-f', 'p-330106-f', '西湖区林水局')")
        try bCounty.sql("UPDATE members SET site_id = '330106-xihu' WHERE id = 'm-330106-0'")
        try bCounty.must(["sync"])
        #expect(try b.uplink(to: city).ok)
        _ = try TierTests.siteAdd(city.dataDir, id: "3301-bangongting", name: "市政协办公厅", kind: "township", parent: TierTests.cityCode)
        try cityOffice.must(["sync"])
        try cityOffice.sql("UPDATE members SET employer = '灵隐寺管委会' WHERE id = 'm-330106-1'")
        try cityOffice.must(["sync"])
        let cityDB = { try Database(path: city.dataDir + "/county.db") }
        #expect(try cityDB().scalar("SELECT count(*) FROM members WHERE id LIKE 'm-330106-%'") == .integer(3))

        // A's county office files a proposal (with a co-signer) under a site id the tree does not know: the city takes
        // it (nobody else's), and A keeps what it placed itself, children included.
        try aCounty.sql("INSERT INTO proposals(id, title, site_id, status) VALUES ('p-typo', '错挂站点的提案', '330102-nowhere', 'submitted')")
        try aCounty.sql("INSERT INTO proposal_cosigners(id, proposal_id, member_id) VALUES ('c-typo', 'p-typo', 'm-a')")
        try aCounty.must(["sync"])

        // A's rounds: nothing of B's or of the city's own sites is kept at A, nor reaches any of A's offices.
        for _ in 0..<2 { let r = try a.uplink(to: city); #expect(r.ok, "uplink 330102: \(r.stderr)") }
        #expect(try cityDB().scalar("SELECT count(*) FROM proposal_cosigners WHERE id = 'c-typo'") == .integer(1))
        #expect(try Database(path: a.db).scalar("SELECT count(*) FROM proposal_cosigners c JOIN proposals p ON p.id = c.proposal_id WHERE c.id = 'c-typo'") == .integer(1))
        for o in [aCounty, qingbo] { try o.must(["sync"]) }
        for path in [a.db, aCounty.db, qingbo.db] {
            #expect(try Self.rowsNaming(["330106", "3301-"], in: path) == [], "\(path)")
            // Not even in the file: no key, no site id of B's was ever stored.
            #expect(!TierTests.rawBytes(path).contains("330106"), "\(path)")
        }
        // A keeps its own, exactly as the city holds it; B gets the city's edit of its record.
        #expect(try TierTests.subtreeDump(a.db, county: a.code) == TierTests.subtreeDump(city.dataDir + "/county.db", county: a.code))
        #expect(try aCounty.query("SELECT id FROM members ORDER BY id") == [[.text("m-a")]])
        #expect(try b.uplink(to: city).ok)
        #expect(try Database(path: b.db).scalar("SELECT employer FROM members WHERE id = 'm-330106-1'") == .text("灵隐寺管委会"))

        // The city moves A's member and activity to B's township: they leave A (the activity's participant with it),
        // with no delete — the city keeps them and B receives them whole.
        try cityOffice.must(["sync"])
        try cityOffice.sql("UPDATE members SET site_id = '330106-lingyin' WHERE id = 'm-a'")
        try cityOffice.sql("UPDATE activities SET site_id = '330106-lingyin' WHERE id = 'act-a'")
        try cityOffice.must(["sync"])
        let moved = try a.uplink(to: city)
        #expect(moved.ok, "\(moved.stderr)")
        let aDB = try Database(path: a.db)
        #expect(try aDB.scalar("SELECT count(*) FROM members WHERE id = 'm-a'") == .integer(0))
        #expect(try aDB.scalar("SELECT count(*) FROM activities WHERE id = 'act-a'") == .integer(0))
        #expect(try aDB.scalar("SELECT count(*) FROM activity_participants WHERE id = 'ap-a'") == .integer(0))
        #expect(try aDB.scalar("SELECT title FROM proposals WHERE id = 'p-a'") == .text("关于清波街道停车难的建议"))
        #expect(try Self.rowsNaming(["330106", "3301-"], in: a.db) == [])
        #expect(try TierTests.subtreeDump(a.db, county: a.code) == TierTests.subtreeDump(city.dataDir + "/county.db", county: a.code))
        // A's next round sends nothing about them (a forget is not a delete); B gains them.
        let again = try a.uplink(to: city)
        #expect(again.ok && again.stdout.contains("(0 new there"), "\(again.stdout) \(again.stderr)")
        #expect(try cityDB().query("SELECT site_id FROM members WHERE id = 'm-a'") == [[.text("330106-lingyin")]])
        #expect(try cityDB().scalar("SELECT count(*) FROM activity_participants WHERE id = 'ap-a'") == .integer(1))
        #expect(try b.uplink(to: city).ok)
        #expect(try Database(path: b.db).query("SELECT name, site_id FROM members WHERE id = 'm-a'") == [[.text("清波委员"), .text("330106-lingyin")]])
        #expect(try Database(path: b.db).scalar("SELECT topic FROM activities WHERE id = 'act-a'") == .text("视察河坊街"))
    }
}

/// A county below a city keeps the children of a record deleted there: an attachment (or a participant) whose
/// activity someone deleted meanwhile did not leave the county, so the uplink's clean-up must not forget it — it did,
/// counting orphans as moved out (the randomized soak).
@Suite(.serialized) struct TierOrphanTests {
    @Test func aCountyKeepsTheChildrenOfARecordDeletedThereAfterItsUplink() throws {
        let ws = TempDir("tier-orphans")
        defer { ws.cleanup() }
        let (city, _) = try TierTests.makeCity(ws)
        let a = try TierTests.TierCounty("330102", name: "上城区政协", offices: [("330102-qingbo", "清波街道政协工委")],
                                         serverID: "330102-cpsyncd", ws: ws, city: city)
        defer { city.stop(); a.daemon.stop() }
        try city.start()
        try a.daemon.start()
        let aCounty = try a.office("330102", ws: ws), qingbo = try a.office("330102-qingbo", ws: ws)
        for o in [aCounty, qingbo] { try o.must(["sync"]) }
        try qingbo.sql("INSERT INTO activities(id, kind, topic, site_id) VALUES ('act-o', 'inspection', '视察', '330102-qingbo')")
        try qingbo.must(["sync"])
        let first = try a.uplink(to: city)
        #expect(first.ok, "\(first.stderr)")
        // The county office deletes the activity while the township, not knowing, attaches a file and adds a participant.
        try aCounty.must(["sync"])
        try aCounty.sql("DELETE FROM activities WHERE id = 'act-o'")
        try qingbo.sql("INSERT INTO activity_participants(id, activity_id, member_id) VALUES ('ap-o', 'act-o', NULL)")
        FileManager.default.createFile(atPath: ws.path("视察照片.jpg"), contents: Data(repeating: 7, count: 1000))
        try qingbo.must(["attach", "add", "--activity", "act-o", ws.path("视察照片.jpg")])
        try qingbo.must(["sync"])
        try aCounty.must(["sync"])
        let db = try Database(path: a.db)
        #expect(try db.scalar("SELECT count(*) FROM activity_attachments") == .integer(1))
        for _ in 0..<2 { let r = try a.uplink(to: city); #expect(r.ok, "\(r.stderr)") }
        #expect(try db.scalar("SELECT count(*) FROM activity_attachments") == .integer(1), "forgotten by the county's uplink clean-up")
        #expect(try db.scalar("SELECT count(*) FROM activity_participants WHERE id = 'ap-o'") == .integer(1))
    }
}
