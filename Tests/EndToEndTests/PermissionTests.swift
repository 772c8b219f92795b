import CPSyncCore
import Foundation
import Testing
import TestSupport

/// The site tree is the permission tree, on the office (a write is refused the moment it is made, through `cpsync`
/// or plain SQLite, and nothing is queued) and on the county (a forged push is refused with 403 naming the row and
/// the rule, set aside by the office, and nothing of it is applied). Tree: county ── 华山镇 ── 西苑社区联络站, and 城关镇.
@Suite(.serialized) struct PermissionTests {
    final class Tree {
        let county: County
        let countyOffice: Office, huashan: Office, xiyuan: Office, chengguan: Office

        init(_ name: String) throws {
            county = try County(name, sites: ["huashan", "chengguan"], start: false)
            let xiyuanToken = try county.daemon.addSite("xiyuan", name: "西苑社区联络站", kind: "station", parent: "huashan")
            try county.daemon.start()
            countyOffice = try county.office("county")
            huashan = try county.office("huashan")
            chengguan = try county.office("chengguan")
            xiyuan = try Office.create("xiyuan", in: county.ws, daemon: county.daemon, token: xiyuanToken)
            // The county committee's office enters one record of each kind for every site.
            for site in ["county", "huashan", "xiyuan", "chengguan"] {
                try countyOffice.sql("INSERT INTO members(id, name, site_id) VALUES (?, ?, ?)", [.text("m-\(site)"), .text("委员\(site)"), .text(site)])
                try countyOffice.sql("INSERT INTO proposals(id, title, site_id, status) VALUES (?, '提案', ?, 'draft')", [.text("p-\(site)"), .text(site)])
                try countyOffice.sql("INSERT INTO social_reports(id, title, site_id) VALUES (?, '社情', ?)", [.text("s-\(site)"), .text(site)])
                try countyOffice.sql("INSERT INTO activities(id, topic, site_id) VALUES (?, '视察', ?)", [.text("a-\(site)"), .text(site)])
            }
            try countyOffice.sql("INSERT INTO proposals(id, title, site_id, status) VALUES ('p-filed', '已立案的提案', 'huashan', 'filed')")
            try countyOffice.sql("INSERT INTO members(id, name, site_id, voided_on, void_reason) VALUES ('m-void', '已作废', 'huashan', '2026-01-05', '重复录入')")
            try countyOffice.sql("INSERT INTO proposal_handlers(id, proposal_id, unit) VALUES ('h-1', 'p-filed', '县水利局')")
            try countyOffice.must(["sync"])
            for o in [huashan, xiyuan, chengguan] { try o.must(["sync"]) }
        }

        var all: [Office] { [countyOffice, huashan, xiyuan, chengguan] }
    }

    /// (writer, SQL, allowed). Every refusal names a rule of the matrix.
    static let cases: [(String, String, Bool)] = [
        ("huashan", "INSERT INTO members(id, name, site_id) VALUES ('n-1', '新委员', 'huashan')", true),
        ("huashan", "INSERT INTO members(id, name, site_id) VALUES ('n-2', '新委员', 'xiyuan')", true),
        ("huashan", "INSERT INTO members(id, name, site_id) VALUES ('n-3', '新委员', 'chengguan')", false),
        ("huashan", "UPDATE members SET phone = '139' WHERE id = 'm-xiyuan'", true),
        ("huashan", "UPDATE members SET phone = '139' WHERE id = 'm-chengguan'", false),
        ("huashan", "UPDATE members SET phone = '139' WHERE id = 'm-county'", false),
        ("huashan", "UPDATE members SET site_id = 'xiyuan' WHERE id = 'm-huashan'", false),
        ("huashan", "DELETE FROM members WHERE id = 'm-chengguan'", false),
        ("huashan", "UPDATE sites SET name = '改名' WHERE id = 'huashan'", false),
        ("huashan", "INSERT INTO sites(id, name, kind, parent_id) VALUES ('new', '新站', 'county', NULL)", false),
        ("huashan", "INSERT INTO proposal_handlers(id, proposal_id, unit) VALUES ('h-2', 'p-huashan', '县交通局')", false),
        ("huashan", "UPDATE proposal_handlers SET unit = '县交通局' WHERE id = 'h-1'", false),
        ("huashan", "UPDATE proposals SET title = '改过的提案' WHERE id = 'p-huashan'", true),
        ("huashan", "UPDATE proposals SET status = 'submitted' WHERE id = 'p-xiyuan'", true),
        ("huashan", "UPDATE proposals SET status = 'filed' WHERE id = 'p-huashan'", false),
        ("huashan", "UPDATE proposals SET title = '改已立案的' WHERE id = 'p-filed'", false),
        ("huashan", "UPDATE proposals SET is_key = 1 WHERE id = 'p-huashan'", false),
        ("huashan", "INSERT OR REPLACE INTO proposals(id, title, site_id, status) VALUES ('p-filed', '覆盖已立案的', 'huashan', 'draft')", false),
        ("xiyuan", "INSERT OR REPLACE INTO members(id, name, site_id) VALUES ('m-xiyuan', '覆盖', 'huashan')", false),
        ("huashan", "UPDATE proposals SET title = '改别人的' WHERE id = 'p-chengguan'", false),
        ("huashan", "INSERT INTO proposal_cosigners(id, proposal_id, member_id) VALUES ('c-1', 'p-huashan', 'm-huashan')", true),
        ("huashan", "INSERT INTO proposal_cosigners(id, proposal_id, member_id) VALUES ('c-2', 'p-chengguan', 'm-huashan')", false),
        ("huashan", "UPDATE social_reports SET title = '改' WHERE id = 's-huashan'", true),
        ("huashan", "UPDATE social_reports SET adopted = 1 WHERE id = 's-huashan'", false),
        ("huashan", "UPDATE social_reports SET title = '改' WHERE id = 's-chengguan'", false),
        ("huashan", "INSERT INTO activity_participants(id, activity_id, member_id) VALUES ('ap-1', 'a-huashan', 'm-huashan')", true),
        ("huashan", "INSERT INTO activity_participants(id, activity_id, member_id) VALUES ('ap-2', 'a-chengguan', 'm-huashan')", false),
        ("huashan", "DELETE FROM activities WHERE id = 'a-xiyuan'", true),
        ("huashan", "UPDATE members SET voided_on = '2026-02-02', void_reason = '调离' WHERE id = 'm-xiyuan'", true),
        ("huashan", "UPDATE members SET voided_on = NULL, void_reason = NULL WHERE id = 'm-void'", false),
        ("county", "UPDATE members SET voided_on = NULL, void_reason = NULL WHERE id = 'm-void'", true),
        ("xiyuan", "UPDATE members SET phone = '137' WHERE id = 'm-xiyuan'", true),
        ("xiyuan", "UPDATE members SET phone = '137' WHERE id = 'm-huashan'", false),
        ("xiyuan", "INSERT INTO members(id, name, site_id) VALUES ('n-4', '新委员', 'huashan')", false),
        ("xiyuan", "DELETE FROM proposals WHERE id = 'p-huashan'", false),
        ("chengguan", "UPDATE activities SET topic = '调研' WHERE id = 'a-huashan'", false),
        ("county", "UPDATE members SET phone = '135' WHERE id = 'm-chengguan'", true),
        ("county", "UPDATE members SET site_id = 'xiyuan' WHERE id = 'm-huashan'", true),
        ("county", "UPDATE proposals SET status = 'assigned' WHERE id = 'p-filed'", true),
        ("county", "UPDATE sites SET name = '华山镇政协工委（新）' WHERE id = 'huashan'", true),
    ]

    @Test func everyTableOperationAndSiteKindIsAllowedOrRefusedAtWriteTimeAndNothingRefusedIsQueued() throws {
        let tree = try Tree("acl-local")
        defer { tree.county.cleanup() }
        let offices = Dictionary(uniqueKeysWithValues: tree.all.map { ($0.site, $0) })
        for (writer, sql, allowed) in Self.cases {
            let office = offices[writer]!
            let before = try office.cpsync(["status", "--json"]).stdout.components(separatedBy: ",").first { $0.contains("pending") }
            do {
                let db = try Database(path: office.db)
                try db.run(sql)
                // A row outside the office's scope is not even there to change (partial replication).
                if db.changes == 0 {
                    #expect(!allowed, "\(writer) changed nothing: \(sql)")
                    continue
                }
                #expect(allowed, "\(writer) was allowed: \(sql)")
            } catch {
                #expect(!allowed, "\(writer) was refused: \(sql): \(error)")
                #expect("\(error)".contains("cpsync-permission:"), "\(error)")
                let after = try office.cpsync(["status", "--json"]).stdout.components(separatedBy: ",").first { $0.contains("pending") }
                #expect(before == after, "a refused write was queued: \(sql)")
            }
        }
        // Everything allowed goes through the county, and every office still converges.
        for _ in 0..<2 { for o in tree.all { let r = try o.cpsync(["sync"]); #expect(r.ok, "\(o.site): \(r.stderr)") } }
        for o in tree.all {
            let (office, county) = (try contentDump(o.db), try contentDump(tree.county.serverDB, scope: o.site))
            #expect(office == county, "\(o.site): only at the office: \(Set(office.split(separator: "\n")).subtracting(county.split(separator: "\n"))); only at the county: \(Set(county.split(separator: "\n")).subtracting(office.split(separator: "\n")))")
        }
        // The clerk's command says it in words and exits 65.
        let refused = try run(Binaries.cpsync, ["proposal", "file", "p-xiyuan", "--db", tree.huashan.db], env: ["LANG": "zh_CN.UTF-8"])
        #expect(refused.status == 65, "\(refused.stderr)")
        #expect(refused.stderr.contains("县政协"), "\(refused.stderr)")
    }

    /// Invariant 4 through the county's batched inserts (a merge inserts the rows it creates many per statement): one
    /// forged row among many new rows is the one the county names and the office sets aside; every other row arrives.
    /// A tampered office: its local rules (the `cppcc_acl_` triggers) removed. Returns its database.
    static func withoutRules(_ office: Office) throws -> Database {
        let db = try Database(path: office.db)
        for row in try db.query("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND name LIKE 'cppcc_acl_%'") {
            try db.execute("DROP TRIGGER \"\(row[0].stringValue!)\"")
        }
        return db
    }

    /// The tampered 华山 office writes `count` new members of its own, named by `id`, except the one at `forged`:
    /// `m-forged`, another township's member, written blind.
    static func tamperedMembers(_ tree: Tree, count: Int, forgedAt forged: Int, id: (Int) -> String) throws {
        let db = try withoutRules(tree.huashan)
        try db.transaction {
            for i in 0..<count {
                let (key, site) = i == forged ? ("m-forged", "chengguan") : (id(i), "huashan")
                try db.run("INSERT INTO members(id, name, gender, phone, site_id) VALUES (?, ?, ?, ?, ?)",
                           [.text(key), .text("华山委员\(i)"), .text(i % 2 == 0 ? "男" : "女"), .text("1390000\(i)"), .text(site)])
            }
        }
    }

    @Test func aForgedRowAmongManyNewRowsIsTheOneSetAsideAndEveryOtherRowArrives() throws {
        let tree = try Tree("acl-batch")
        defer { tree.county.cleanup() }
        // Row 45 is another township's member, written blind by the tampered office.
        try Self.tamperedMembers(tree, count: 80, forgedAt: 45) { "m-own-\($0)" }
        let push = try tree.huashan.cpsync(["push"])
        #expect(push.status == 65, "\(push.stderr)")
        let server = try Database(path: tree.county.serverDB)
        #expect(try server.scalar("SELECT count(*) FROM members WHERE id LIKE 'm-own-%' AND site_id = 'huashan'") == .integer(79))
        #expect(try server.scalar("SELECT name FROM members WHERE id = 'm-own-79'") == .text("华山委员79"))
        #expect(try server.scalar("SELECT count(*) FROM members WHERE id = 'm-forged'") == .integer(0))
        let status = try tree.huashan.cpsync(["status", "--json"]).stdout
        let held = try #require(JSONText.member(status, "held"))
        #expect(held.contains("m-forged") && held.contains("forbidden"), "\(status)")
        #expect(!held.contains("m-own-"), "an own row was set aside: \(status)")
        // Nothing is left to send but the forged row: a second push sends nothing new and the county is unchanged.
        let before = try contentDump(tree.county.serverDB)
        _ = try tree.huashan.cpsync(["push"])
        #expect(try contentDump(tree.county.serverDB) == before)
    }

    /// Pushes of several pages read the next page while the county merges this one, and pulls download the next page
    /// while the office merges this one. A refusal on a later page, with the next page already read, still sets aside
    /// exactly the refused row; every other row arrives once, and an office pulling them all gets the county's rows.
    @Test func aForgedRowOnALaterPageIsSetAsideWhilePagesOverlapAndEveryOtherRowArrives() throws {
        let tree = try Tree("acl-pages")
        defer { tree.county.cleanup() }
        // About 10 changes a member: 2,400 members are three pages or more (at most 10,000 changes a page).
        try Self.tamperedMembers(tree, count: 2_400, forgedAt: 1_700) { String(format: "m-own-%04d", $0) }
        let push = try tree.huashan.cpsync(["push", "--json"])
        #expect(push.status == 65, "\(push.stderr)")
        let server = try Database(path: tree.county.serverDB)
        #expect(try server.scalar("SELECT count(*) FROM members WHERE id LIKE 'm-own-%' AND site_id = 'huashan'") == .integer(2_399))
        #expect(try server.scalar("SELECT count(*) FROM members WHERE id = 'm-forged'") == .integer(0))
        #expect(try server.scalar("SELECT name || phone FROM members WHERE id = 'm-own-2399'") == .text("华山委员239913900002399"))
        let status = try tree.huashan.cpsync(["status", "--json"]).stdout
        let held = try #require(JSONText.member(status, "held"))
        #expect(held.contains("m-forged") && !held.contains("m-own-"), "\(status)")
        #expect(JSONText.int(status, "pending") == 0, "\(status)")
        // The county office pulls them all, page by page: it ends with exactly the county's members.
        try tree.countyOffice.must(["pull"])
        let members = "SELECT id, name, gender, phone, site_id FROM members ORDER BY id"
        #expect(try Database(path: tree.countyOffice.db).query(members) == server.query(members))
        let before = try contentDump(tree.county.serverDB)
        _ = try tree.huashan.cpsync(["push"])
        #expect(try contentDump(tree.county.serverDB) == before)
    }

    @Test func aForgedPushIsRefusedNamingTheRowAndRuleAndNothingOfItIsApplied() throws {
        let tree = try Tree("acl-server")
        defer { tree.county.cleanup() }
        let before = try contentDump(tree.county.serverDB)
        // A tampered office: the local rules removed, then writes of another site's records, a move, the site tree,
        // the county's workflow — and one write it may make.
        let db = try Self.withoutRules(tree.huashan)
        // Rows out of its scope are not at the office at all: the forger writes them blind.
        try db.run("INSERT INTO members(id, name, phone, site_id) VALUES ('m-chengguan', '冒名', '13900000000', 'chengguan')")
        try db.run("UPDATE members SET site_id = 'xiyuan' WHERE id = 'm-huashan'")
        try db.run("UPDATE sites SET name = '华山县' WHERE id = 'county'")
        try db.run("INSERT INTO proposals(id, title, site_id, status) VALUES ('p-chengguan', '冒名', 'chengguan', 'closed')")
        try db.run("INSERT INTO members(id, name, site_id) VALUES ('m-county', '冒名', 'county')")
        try db.run("DELETE FROM members WHERE id = 'm-county'")
        try db.run("UPDATE members SET phone = '13800000000' WHERE id = 'm-xiyuan'")
        let push = try tree.huashan.cpsync(["push"])
        #expect(push.status == 65, "\(push.stderr)")
        let server = try Database(path: tree.county.serverDB)
        #expect(try server.scalar("SELECT phone FROM members WHERE id = 'm-xiyuan'") == .text("13800000000"))
        #expect(try server.query("SELECT name, phone FROM members WHERE id = 'm-chengguan'") == [[.text("委员chengguan"), .text("")]])
        #expect(try server.scalar("SELECT site_id FROM members WHERE id = 'm-huashan'") == .text("huashan"))
        #expect(try server.scalar("SELECT name FROM sites WHERE id = 'county'") == .text("某县政协"))
        #expect(try server.query("SELECT title, status FROM proposals WHERE id = 'p-chengguan'") == [[.text("提案"), .text("draft")]])
        #expect(try server.query("SELECT name FROM members WHERE id = 'm-county'") == [[.text("委员county")]])
        let expectedAfter = before.replacingOccurrences(of: "members|text:m-xiyuan|text:委员xiyuan|text:|text:|text:|text:|text:xiyuan|text:|",
                                                        with: "members|text:m-xiyuan|text:委员xiyuan|text:|text:|text:|text:|text:xiyuan|text:13800000000|")
        #expect(try contentDump(tree.county.serverDB) == expectedAfter)
        // The office lists what it set aside and why (the rule and the row), and the other offices are untouched.
        let status = try tree.huashan.cpsync(["status", "--json"]).stdout
        for needle in ["m-chengguan", "m-huashan", "\"sites\"", "p-chengguan", "m-county", "forbidden"] {
            #expect(status.contains(needle), "status does not list \(needle): \(status)")
        }
        try tree.chengguan.must(["sync"])
        #expect(try tree.chengguan.query("SELECT phone FROM members WHERE id = 'm-chengguan'") == [[.text("")]])
    }
}
