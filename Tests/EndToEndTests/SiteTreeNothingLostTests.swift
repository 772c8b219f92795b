import CPSyncCore
import Foundation
import Testing
import TestSupport

/// Where the site tree meets the merge (DESIGN.md §2a across the site tree): first pushes the county refuses in part,
/// records moved between townships while an office edits them, `INSERT OR REPLACE` that moves a row out of an office's
/// scope, keys an office forgot and mints again, keys that are not UTF-8, revivals of other sites' dead rows, and what
/// `cpsync status` counts. Real `cpsyncd` and `cpsync` processes on 127.0.0.1; each test failed before its fix.
@Suite(.serialized) struct SiteTreeNothingLostTests {
    /// A county with 华山镇, 城关镇 and the county committee's own office (kind county, which moves records).
    struct Tree {
        let county: County
        let xian: Office
        let huashan: Office
        let chengguan: Office

        init(_ name: String, station: Bool = false) throws {
            county = try County(name, sites: ["huashan", "chengguan"], start: false)
            let xianToken = try county.daemon.addSite("xian", name: "县政协机关", kind: "county", parent: "county")
            try county.daemon.start()
            xian = try Office.create("xian", in: county.ws, daemon: county.daemon, token: xianToken)
            huashan = try county.office("huashan")
            chengguan = try county.office("chengguan")
        }

        var offices: [Office] { [xian, huashan, chengguan] }
        func cleanup() { county.cleanup() }

        /// What the county keeps of one cell: its current value and every value in a conflict record.
        func kept(_ table: String, _ pk: String, _ column: String) throws -> [Value] {
            let db = try Database(path: county.serverDB)
            let current = try db.query("SELECT \"\(column)\" FROM \"\(table)\" WHERE id = ?", [.text(pk)]).map { $0[0] }
            let conflicts = try db.query("SELECT winner_value, other_value FROM _cp_conflicts WHERE tbl = ? AND pk = ? AND col = ?",
                                         [.text(table), .text(pk), .text(column)]).flatMap { $0 }
            return current + conflicts
        }

        /// Every office syncs until a round moves nothing; returns the last round's exit codes by site.
        @discardableResult
        func quiesce(_ offices: [Office]? = nil) throws -> [String: Int32] {
            var last: [String: Int32] = [:]
            for _ in 0..<4 { for o in offices ?? self.offices { last[o.site] = try o.cpsync(["sync"]).status } }
            return last
        }

        /// Invariant 2: every office holds exactly the county's rows within its scope.
        func expectEveryOfficeEqualsTheCountyInScope(_ when: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            for o in offices {
                #expect(try contentDump(o.db) == contentDump(county.serverDB, scope: o.site),
                        "\(when): \(o.site) does not hold exactly the county's content within its scope", sourceLocation: sourceLocation)
            }
        }
    }

    func heldCount(_ o: Office) throws -> Int {
        Int(try o.query("SELECT count(*) FROM _cp_held").first?.first?.int64Value ?? -1)
    }

    /// (1) A station's first push carries a row it may not write: the county refuses that row and takes the rest. The
    /// station's site number was allocated inside the rolled-back attempt; the rest must not be stored under a number
    /// the county does not hold (its rows would reach nobody, or be credited to the next new site).
    @Test func aRefusedFirstPushLeavesEveryVersionNamingTheSiteThatWroteIt() throws {
        let county = try County("first-push", sites: ["huashan", "chengguan", "taohe"], start: false)
        defer { county.cleanup() }
        let stationToken = try county.daemon.addSite("xiyuan", name: "西苑社区联络站", kind: "station", parent: "huashan")
        try county.daemon.start()
        // Initialised without a pull (as offline): it does not know the tree yet, so nothing refuses locally.
        let station = try Office.create("xiyuan", in: county.ws, daemon: county.daemon, token: stationToken)
        try station.sql("INSERT INTO members(id, name, site_id) VALUES ('m-xiyuan', '赵敏', 'xiyuan')")
        try station.sql("INSERT INTO members(id, name, site_id) VALUES ('m-forged', '钱多', 'chengguan')")
        let pushed = try station.cpsync(["push"])
        #expect(pushed.status == 65, "the forbidden row is set aside: \(pushed.stderr)")
        // The next new site's first push.
        let taohe = try county.office("taohe")
        try taohe.sql("INSERT INTO members(id, name, site_id) VALUES ('m-taohe', '孙丽', 'taohe')")
        try taohe.must(["push"])
        let replica = try Replica(path: county.serverDB, create: false)
        let writers = Dictionary(grouping: try replica.allChanges().filter { $0.table == "members" }, by: \.pk)
            .mapValues { Set($0.filter { $0.column != nil }.map(\.version.site)) }
        #expect(writers["m-xiyuan"] == ["xiyuan"], "m-xiyuan's cells name \(writers["m-xiyuan"] ?? [])")
        #expect(writers["m-taohe"] == ["taohe"], "m-taohe's cells name \(writers["m-taohe"] ?? [])")
        #expect(writers["m-forged"] == nil)
        let huashan = try county.office("huashan")
        try huashan.must(["sync"])
        #expect(try huashan.query("SELECT name FROM members WHERE id = 'm-xiyuan'") == [[.text("赵敏")]],
                "华山镇 holds its station's member")
        try taohe.must(["sync"])
        #expect(try taohe.query("SELECT id FROM members ORDER BY id") == [[.text("m-taohe")]])
    }

    /// (2) 委员调动: 华山镇 corrects its member's phone offline while the county committee's office transfers the member
    /// to 城关镇. The correction is not 华山镇's to make any more, but it was made in good faith: it must reach the
    /// county as a kept conflict (the admin decides), and 华山镇 ends without the member and with nothing stuck.
    @Test func aPhoneCorrectedWhileTheMemberIsTransferredIsKeptAtTheCounty() throws {
        let tree = try Tree("transfer")
        defer { tree.cleanup() }
        try tree.huashan.sql("INSERT INTO members(id, name, phone, site_id) VALUES ('m1', '王芳', '13900000001', 'huashan')")
        try tree.quiesce()
        try tree.huashan.sql("UPDATE members SET phone = '13911112222' WHERE id = 'm1'")
        try tree.xian.sql("UPDATE members SET site_id = 'chengguan' WHERE id = 'm1'")
        try tree.xian.must(["sync"])
        let exits = try tree.quiesce()
        #expect(try tree.kept("members", "m1", "phone").contains(.text("13911112222")),
                "the phone 华山镇 saved is neither current nor in a conflict at the county")
        let stuck = try heldCount(tree.huashan)
        #expect(exits["huashan"] == 0 && stuck == 0, "华山镇 is left with something stuck")
        #expect(try tree.huashan.query("SELECT count(*) FROM members") == [[.integer(0)]])
        try tree.expectEveryOfficeEqualsTheCountyInScope("after the transfer")
    }

    /// (2″) 华山镇 deletes its member offline while the county transfers the member to 城关镇: the member lives on at
    /// 城关镇 (the delete was made without knowing of the transfer), the deletion is in the county's audit trail for the
    /// admin, and 华山镇 ends without the member and with nothing stuck.
    @Test func aDeleteOfAMemberTransferredMeanwhileIsNotAppliedAndIsInTheAuditTrail() throws {
        let tree = try Tree("delete-moved")
        defer { tree.cleanup() }
        try tree.huashan.sql("INSERT INTO members(id, name, phone, site_id) VALUES ('m1', '王芳', '13900000001', 'huashan')")
        try tree.quiesce()
        try tree.huashan.sql("DELETE FROM members WHERE id = 'm1'")
        try tree.xian.sql("UPDATE members SET site_id = 'chengguan' WHERE id = 'm1'")
        try tree.xian.must(["sync"])
        let exits = try tree.quiesce()
        let stuck = try heldCount(tree.huashan)
        #expect(exits["huashan"] == 0 && stuck == 0, "华山镇 is left with something stuck")
        #expect(try tree.chengguan.query("SELECT name, phone FROM members WHERE id = 'm1'") == [[.text("王芳"), .text("13900000001")]])
        #expect(try Database(path: tree.county.serverDB).query("SELECT actor, subject FROM _srv_audit WHERE action = 'record-delete-not-applied'")
                == [[.text("site:huashan"), .text("members/m1")]])
        try tree.expectEveryOfficeEqualsTheCountyInScope("after the delete of a transferred member")
    }

    /// (3) The county's office replaces a member row (`INSERT OR REPLACE`) with one of 城关镇 while 华山镇 edits it
    /// offline: within scope this is an edit lost to a delete, kept as a conflict; out of scope it must be too.
    @Test func anEditRacingAReplaceThatMovesTheRowAwayIsKeptAsAConflict() throws {
        let tree = try Tree("replace-away")
        defer { tree.cleanup() }
        try tree.huashan.sql("INSERT INTO members(id, name, phone, site_id) VALUES ('m1', '王芳', '13900000001', 'huashan')")
        try tree.quiesce()
        try tree.huashan.sql("UPDATE members SET phone = '13933334444' WHERE id = 'm1'")
        try tree.xian.sql("INSERT OR REPLACE INTO members(id, name, site_id) VALUES ('m1', '王芳', 'chengguan')")
        try tree.xian.must(["sync"])
        // 华山镇 pulls first (the replace displaces its edit), then pushes.
        try tree.huashan.must(["pull"])
        try tree.quiesce()
        #expect(try tree.kept("members", "m1", "phone").contains(.text("13933334444")),
                "the phone 华山镇 saved is neither current nor in a conflict at the county")
        #expect(try heldCount(tree.huashan) == 0)
        try tree.expectEveryOfficeEqualsTheCountyInScope("after the replace")
    }

    /// (2′) The same within scope: 华山镇 edits its submitted proposal's title offline while the county files it (立案).
    /// The title is no longer 华山镇's to write; it is kept as a conflict, and 华山镇 ends with the county's proposal
    /// (a filed proposal is public, so it stays in scope) — not with its own title over the county's.
    @Test func aTitleEditedWhileTheCountyFilesTheProposalIsKeptAndTheOfficeTakesTheCountysVersion() throws {
        let tree = try Tree("filed-meanwhile")
        defer { tree.cleanup() }
        try tree.huashan.sql("INSERT INTO proposals(id, title, site_id, status) VALUES ('p1', '关于加强农村饮水安全的提案', 'huashan', 'submitted')")
        try tree.quiesce()
        try tree.huashan.sql("UPDATE proposals SET title = '关于加强农村饮水安全保障的提案' WHERE id = 'p1'")
        try tree.xian.sql("UPDATE proposals SET status = 'filed', filed_on = '2026-03-01', title = '关于农村饮水安全的提案' WHERE id = 'p1'")
        try tree.xian.must(["sync"])
        let exits = try tree.quiesce()
        #expect(try tree.kept("proposals", "p1", "title").contains(.text("关于加强农村饮水安全保障的提案")),
                "the title 华山镇 saved is neither current nor in a conflict at the county")
        let stuck = try heldCount(tree.huashan)
        #expect(exits["huashan"] == 0 && stuck == 0, "华山镇 is left with something stuck")
        #expect(try tree.huashan.query("SELECT title, status FROM proposals WHERE id = 'p1'") == [[.text("关于农村饮水安全的提案"), .text("filed")]])
        try tree.expectEveryOfficeEqualsTheCountyInScope("after the filing")
    }

    /// (4′) Two townships' CSV imports mint the same key for their own members: the first to push keeps it; the
    /// second's values are kept as conflicts, and it ends without the other township's member.
    @Test func aKeyTwoTownshipsMintForTheirOwnMembersLosesNothingAndLeavesNoStrayCopy() throws {
        let tree = try Tree("mint-two")
        defer { tree.cleanup() }
        try tree.quiesce()
        try tree.huashan.sql("INSERT INTO members(id, name, phone, site_id) VALUES ('m-0001', '王芳', '13900000001', 'huashan')")
        try tree.chengguan.sql("INSERT INTO members(id, name, phone, site_id) VALUES ('m-0001', '李强', '13900000002', 'chengguan')")
        try tree.huashan.must(["sync"])
        let exits = try tree.quiesce()
        #expect(try tree.kept("members", "m-0001", "name").contains(.text("李强")), "城关镇's member is lost")
        #expect(try tree.kept("members", "m-0001", "phone").contains(.text("13900000002")), "城关镇's phone is lost")
        let stuck = try heldCount(tree.chengguan)
        #expect(exits["chengguan"] == 0 && stuck == 0, "城关镇 is left with something stuck")
        try tree.expectEveryOfficeEqualsTheCountyInScope("after the same key was minted twice")
    }

    /// (4) 华山镇 mints a key again that it no longer holds (the member was transferred away and forgotten; a CSV import
    /// brings the old key): the county keeps its row, records 华山镇's values, and 华山镇 ends equal to the county.
    @Test func aKeyMintedAgainAfterItWasForgottenEndsEqualToTheCounty() throws {
        let tree = try Tree("mint-twice")
        defer { tree.cleanup() }
        try tree.huashan.sql("INSERT INTO members(id, name, phone, site_id) VALUES ('m1', '王芳', '13900000001', 'huashan')")
        try tree.quiesce()
        try tree.xian.sql("UPDATE members SET site_id = 'chengguan' WHERE id = 'm1'")
        try tree.quiesce()
        #expect(try tree.huashan.query("SELECT count(*) FROM members") == [[.integer(0)]], "the transferred member left 华山镇")
        let minted = Result { try tree.huashan.sql("INSERT INTO members(id, name, phone, site_id) VALUES ('m1', '王芳', '13955556666', 'huashan')") }
        if case .success = minted {
            try tree.quiesce()
            #expect(try tree.kept("members", "m1", "phone").contains(.text("13955556666")), "华山镇's value is lost")
        } else {
            // Refused when made (the key is another site's record): nothing queued.
            try tree.quiesce()
        }
        #expect(try heldCount(tree.huashan) == 0)
        try tree.expectEveryOfficeEqualsTheCountyInScope("after the key was minted again")
    }

    /// (5) A key that is not valid UTF-8 (a tool wrote raw bytes): the row is held whole — no existence change and no
    /// empty cells travel under a lossy spelling of the key.
    @Test func aRowWhoseKeyIsNotUTF8IsHeldWholeAndNothingOfItTravels() throws {
        let tree = try Tree("bad-key")
        defer { tree.cleanup() }
        try tree.huashan.must(["pull"])
        try tree.huashan.sql("INSERT INTO members(id, name, site_id) VALUES (CAST(X'6DFF' AS TEXT), '坏键', 'huashan')")
        try tree.huashan.sql("INSERT INTO members(id, name, site_id) VALUES ('m-good', '好键', 'huashan')")
        let r = try tree.huashan.cpsync(["sync"])
        #expect(r.status == 65, "set aside: \(r.stderr)")
        let keys = try Database(path: tree.county.serverDB).query("SELECT id FROM members").compactMap { $0[0].stringValue }
        #expect(keys == ["m-good"], "the county holds \(keys)")
        let status = try tree.huashan.cpsync(["status", "--json"])
        #expect(JSONText.objects(status.stdout, "held")?.isEmpty == false, "the held row is listed: \(status.stdout)")
    }

    /// (6) A dead row belongs to the owner of its last life: 华山镇 learns a key from 城关镇's delete and may not bring
    /// that record back to life, nor write its fields.
    @Test func aTownshipCannotReviveAnotherSitesDeletedRecord() throws {
        let tree = try Tree("revive")
        defer { tree.cleanup() }
        try tree.chengguan.sql("INSERT INTO members(id, name, phone, site_id) VALUES ('m-cg', '周杰', '13800000000', 'chengguan')")
        try tree.quiesce()
        try tree.chengguan.sql("DELETE FROM members WHERE id = 'm-cg'")
        try tree.quiesce()
        // 华山镇 knows the key from the delete; it tries to bring the row back as its own.
        let revived = Result { try tree.huashan.sql("INSERT INTO members(id, name, site_id) VALUES ('m-cg', '冒名', 'huashan')") }
        if case .success = revived {
            let r = try tree.huashan.cpsync(["sync"])
            #expect(r.status == 65, "the county refuses the revival and 华山镇 lists it: \(r.stderr)")
        }
        #expect(try Database(path: tree.county.serverDB).query("SELECT count(*) FROM members WHERE id = 'm-cg'") == [[.integer(0)]],
                "华山镇 revived 城关镇's deleted member at the county")
        try tree.chengguan.must(["sync"])
        #expect(try tree.chengguan.query("SELECT count(*) FROM members") == [[.integer(0)]])
        // The owner itself may bring it back.
        try tree.chengguan.sql("INSERT INTO members(id, name, site_id) VALUES ('m-cg', '周杰', 'chengguan')")
        try tree.chengguan.must(["sync"])
        #expect(try Database(path: tree.county.serverDB).query("SELECT name FROM members WHERE id = 'm-cg'") == [[.text("周杰")]])
    }

    /// (9) Held changes are not pending: a displaced edit in the outbox that the county refused is listed as held,
    /// and `status` does not count it as waiting to be sent (a quiescent office showed "pending 1" for ever).
    @Test func heldOutboxEntriesAreListedAsHeldAndNotCountedAsPending() throws {
        let tree = try Tree("pending")
        defer { tree.cleanup() }
        try tree.huashan.sql("INSERT INTO members(id, name, phone, site_id) VALUES ('m1', '王芳', '13900000001', 'huashan')")
        try tree.quiesce()
        try tree.huashan.sql("UPDATE members SET phone = '13922220000' WHERE id = 'm1'")
        try tree.xian.sql("UPDATE members SET phone = '13933330000' WHERE id = 'm1'")
        try tree.xian.must(["sync"])
        try tree.huashan.must(["pull"])
        #expect(try tree.huashan.query("SELECT count(*) FROM _cp_outbox") == [[.integer(1)]], "the pull displaced 华山镇's edit")
        // As a refusal by the county would leave it: set aside, still in the outbox (its value lives nowhere else).
        try tree.huashan.sql("""
            INSERT INTO _cp_held(tbl, pk, col, hlc, site, code, reason, at)
            SELECT tbl, pk, col, hlc, site, 'forbidden', 'refused', 0 FROM _cp_outbox
            """)
        let status = try tree.huashan.cpsync(["status", "--json"])
        #expect(JSONText.int(status.stdout, "pending") == 0, "\(status.stdout)")
        #expect(JSONText.objects(status.stdout, "held")?.isEmpty == false, "\(status.stdout)")
    }
}
