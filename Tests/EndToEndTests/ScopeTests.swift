import CPSyncCore
import Foundation
import Testing

/// Partial replication with the real binaries: every office ends holding exactly its scope (its subtree's records,
/// the site tree, filed proposals), never another office's members' personal data; re-parenting a station and moving
/// a member move the rows in at the gaining office and out at the losing one, and the county loses nothing.
@Suite(.serialized) struct ScopeTests {
    @Test func officesHoldExactlyTheirScopeAndReparentingMovesRowsBothWays() throws {
        let county = try County("scope", sites: ["huashan", "chengguan", "taohe"], start: false)
        defer { county.cleanup() }
        let xiyuanToken = try county.daemon.addSite("xiyuan", name: "西苑社区联络站", kind: "station", parent: "huashan")
        try county.daemon.start()
        let countyOffice = try county.office("county")
        let huashan = try county.office("huashan"), chengguan = try county.office("chengguan"), taohe = try county.office("taohe")
        let xiyuan = try Office.create("xiyuan", in: county.ws, daemon: county.daemon, token: xiyuanToken)
        let offices = [countyOffice, huashan, chengguan, taohe, xiyuan]
        for site in ["huashan", "chengguan", "taohe", "xiyuan"] {
            try countyOffice.sql("INSERT INTO members(id, name, phone, employer, site_id) VALUES (?, ?, '13900000000', '县第一中学', ?)",
                                 [.text("m-\(site)"), .text("委员\(site)"), .text(site)])
            try countyOffice.sql("INSERT INTO proposals(id, title, site_id, status) VALUES (?, '草稿提案', ?, 'draft')", [.text("p-\(site)"), .text(site)])
            try countyOffice.sql("INSERT INTO proposals(id, title, site_id, status) VALUES (?, '已立案提案', ?, 'filed')", [.text("f-\(site)"), .text(site)])
            try countyOffice.sql("INSERT INTO activities(id, topic, site_id) VALUES (?, '视察', ?)", [.text("a-\(site)"), .text(site)])
            try countyOffice.sql("INSERT INTO activity_participants(id, activity_id, member_id) VALUES (?, ?, ?)", [.text("ap-\(site)"), .text("a-\(site)"), .text("m-\(site)")])
        }
        try countyOffice.sql("INSERT INTO proposal_handlers(id, proposal_id, unit) VALUES ('h-f-huashan', 'f-huashan', '县水利局')")
        func syncAll() throws { for _ in 0..<2 { for o in offices { let r = try o.cpsync(["sync"]); #expect(r.ok, "\(o.site): \(r.stderr)") } } }
        func holdsExactlyItsScope(_ when: String) throws {
            for o in offices {
                #expect(try contentDump(o.db) == contentDump(county.serverDB, scope: o.site), "\(when): \(o.site) does not hold exactly its scope")
            }
        }
        func members(_ o: Office) throws -> Set<String> { Set(try o.query("SELECT id FROM members").compactMap { $0[0].stringValue }) }
        try syncAll()
        try holdsExactlyItsScope("first sync")
        let countyBefore = try contentDump(county.serverDB)
        #expect(try members(huashan) == ["m-huashan", "m-xiyuan"])
        #expect(try members(xiyuan) == ["m-xiyuan"])
        #expect(try members(chengguan) == ["m-chengguan"])
        // No other office's personal data, anywhere in the file (not only in the table).
        let raw = try String(decoding: Data(contentsOf: URL(fileURLWithPath: chengguan.db)), as: UTF8.self)
        #expect(!raw.contains("委员huashan"))
        // Filed proposals are public within the county, with their handlers; drafts are not.
        #expect(try chengguan.query("SELECT id FROM proposals ORDER BY id").compactMap { $0[0].stringValue }
                == ["f-chengguan", "f-huashan", "f-taohe", "f-xiyuan", "p-chengguan"])
        #expect(try chengguan.query("SELECT unit FROM proposal_handlers") == [[.text("县水利局")]])

        // The county re-parents the station from 华山镇 to 城关镇, and moves 桃河镇's member to 华山镇.
        try countyOffice.sql("UPDATE sites SET parent_id = 'chengguan' WHERE id = 'xiyuan'")
        try countyOffice.sql("UPDATE members SET site_id = 'huashan' WHERE id = 'm-taohe'")
        try syncAll()
        try holdsExactlyItsScope("after the moves")
        #expect(try members(huashan) == ["m-huashan", "m-taohe"])
        #expect(try members(chengguan) == ["m-chengguan", "m-xiyuan"])
        #expect(try members(taohe).isEmpty)
        // The gaining office got the whole rows (personal data included), the county lost nothing.
        #expect(try chengguan.query("SELECT phone, employer FROM members WHERE id = 'm-xiyuan'") == [[.text("13900000000"), .text("县第一中学")]])
        #expect(try huashan.query("SELECT phone FROM members WHERE id = 'm-taohe'") == [[.text("13900000000")]])
        #expect(try chengguan.query("SELECT id FROM activity_participants ORDER BY id").compactMap { $0[0].stringValue } == ["ap-chengguan", "ap-xiyuan"])
        let countyAfter = try contentDump(county.serverDB)
        let expected = countyBefore
            .replacingOccurrences(of: "sites|text:xiyuan|text:西苑社区联络站|text:station|text:huashan", with: "sites|text:xiyuan|text:西苑社区联络站|text:station|text:chengguan")
            .replacingOccurrences(of: "members|text:m-taohe|text:委员taohe|text:|text:|text:|text:|text:taohe|",
                                  with: "members|text:m-taohe|text:委员taohe|text:|text:|text:|text:|text:huashan|")
        #expect(countyAfter == expected, "the county's content changed beyond the two moves")
        // Moving the member was the county office's action, and it is audited.
        #expect(try Database(path: county.serverDB).query("SELECT actor, subject, detail FROM _srv_audit WHERE action = 'record-move'")
                == [[.text("site:county"), .text("members/m-taohe"), .text("from=taohe to=huashan")]])
        // Losing a row is not a delete: nothing was pushed back as one.
        #expect(try Database(path: county.serverDB).scalar("SELECT count(*) FROM members") == .integer(4))
    }
}
