import CPPCC
import CPSyncCore
import CPSyncHTTP
import CPSyncProtocol
import CPSyncServer
import Foundation
import Testing

/// The per-site sync record behind the admin dashboard, the site tree's nesting rule, and the audit's labels.
@Suite struct SiteActivityTests {
    func directory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-activity-\(UUID().uuidString.prefix(8))")
    }

    @Test func aDataDirectoryFromBeforeTheTableKeepsItsDataAndGetsEachSitesLastPush() throws {
        let dir = directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            let store = try ServerStore(dataDirectory: dir.path)
            _ = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil)
            _ = try store.addSite(id: "huashan", name: "华山镇政协工委", kind: "township", parent: "county")
            // As an older cpsyncd left it: push answers stored, no activity table.
            try store.write { r in
                try r.database.execute("DROP TABLE _srv_site_activity")
                for (site, at) in [("huashan", 1_700_000_000_000), ("huashan", 1_700_000_500_000), ("gone", 1_600_000_000_000)] {
                    try r.database.run("INSERT INTO _srv_batches(site, batch_id, digest, response, at) VALUES (?, ?, NULL, x'7b7d', ?)",
                                       [.text(site), .text(UUID().uuidString), .integer(Int64(at))])
                }
            }
        }
        let store = try ServerStore(dataDirectory: dir.path)
        let activity = try SiteActivity(store: store).snapshot()
        #expect(activity["huashan"]?.lastPushAt == 1_700_000_500_000)
        #expect(activity["huashan"]?.lastPullAt == nil)
        #expect(activity["county"] == nil && activity["gone"] == nil, "only registered sites that pushed")
        #expect(try store.sites().map(\.id) == ["county", "huashan"], "existing data kept")
        #expect(try store.read { try $0.database.scalar("SELECT count(*) FROM _srv_batches") } == .integer(3))
    }

    @Test func aPullNeverWaitsForTheWriterAndIsStillShown() throws {
        let dir = directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try ServerStore(dataDirectory: dir.path)
        _ = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil)
        _ = try store.addSite(id: "huashan", name: "华山镇政协工委", kind: "township", parent: "county")
        let activity = SiteActivity(store: store)
        // The writer is busy (a long merge): the pull is noted, not written, and returns at once.
        let started = Date()
        try store.write { _ in activity.pulled(site: "huashan", cursor: 42, hasMore: true, unsent: 3, at: 1_000) }
        #expect(Date().timeIntervalSince(started) < 1)
        #expect(try store.read { try $0.database.scalar("SELECT count(*) FROM _srv_site_activity WHERE last_pull_at IS NOT NULL") } == .integer(0))
        let seen = try #require(try activity.snapshot()["huashan"])
        #expect(seen.lastPullAt == 1_000 && seen.pullCursor == 42 && seen.pullMore && seen.reportedUnsent == 3)
        // Read once, written once; a later pull without `unsent` keeps what the office said before.
        #expect(try store.read { try $0.database.scalar("SELECT pull_cursor FROM _srv_site_activity WHERE site = 'huashan'") } == .integer(42))
        activity.pulled(site: "huashan", cursor: 50, hasMore: false, at: 2_000)
        let later = try #require(try activity.snapshot()["huashan"])
        #expect(later.pullCursor == 50 && !later.pullMore && later.reportedUnsent == 3)
        // Refusals that are about the office's data are recorded; a busy server is not the office's doing.
        activity.refused(site: "huashan", ErrorBody(code: .unavailable, message: "busy"))
        #expect(try activity.snapshot()["huashan"]?.refusals == 0)
        var forbidden = ErrorBody(code: .forbidden, message: "site huashan may not write members row 'm1'")
        forbidden.indices = [0, 1, 4]
        activity.refused(site: "huashan", forbidden, at: 3_000)
        activity.refused(site: "huashan", ErrorBody.clockSkew(site: "huashan", skewMs: 900_000), at: 4_000)
        let refused = try #require(try activity.snapshot()["huashan"])
        #expect(refused.refusedAt == 3_000 && refused.refusedChanges == 3 && refused.refusedCode == "forbidden" && refused.refusals == 1)
        #expect(refused.clockRefusedAt == 4_000 && refused.clockSkewMs == 900_000 && refused.clockRefusals == 1)
    }

    @Test func siteKindsNest() {
        let kinds = ["county", "township", "street", "station"]
        // Under the county at the top: every kind (a county-kind site is the county committee's own office).
        for kind in kinds { #expect(ServerStore.mayPlace(kind, under: "county", parentIsRoot: true), "\(kind)") }
        // Under a county-kind site below the top (that office): nothing.
        for kind in kinds { #expect(!ServerStore.mayPlace(kind, under: "county", parentIsRoot: false), "\(kind)") }
        for parent in ["township", "street"] {
            #expect(ServerStore.mayPlace("station", under: parent, parentIsRoot: false))
            for kind in ["county", "township", "street"] { #expect(!ServerStore.mayPlace(kind, under: parent, parentIsRoot: false), "\(kind) under \(parent)") }
        }
        for kind in kinds { #expect(!ServerStore.mayPlace(kind, under: "station", parentIsRoot: false), "\(kind)") }
    }

    @Test func aTownshipCannotBeAddedOrMovedUnderAStation() throws {
        let dir = directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try ServerStore(dataDirectory: dir.path)
        _ = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil, actor: "cli:t")
        _ = try store.addSite(id: "huashan", name: "华山镇政协工委", kind: "township", parent: "county", actor: "cli:t")
        _ = try store.addSite(id: "xiyuan", name: "西苑社区联络站", kind: "station", parent: "huashan", actor: "cli:t")
        _ = try store.addSite(id: "chengguan", name: "城关镇政协工委", kind: "township", parent: "county", actor: "cli:t")
        #expect(throws: ServerError.badPlacement(site: "chengguan", kind: "township", parent: "xiyuan", parentKind: "station")) {
            try store.moveSite("chengguan", parent: "xiyuan", actor: "cli:t")
        }
        #expect(throws: ServerError.badPlacement(site: "dong", kind: "township", parent: "xiyuan", parentKind: "station")) {
            _ = try store.addSite(id: "dong", name: "东岭镇", kind: "township", parent: "xiyuan", actor: "cli:t")
        }
        #expect(throws: ServerError.badPlacement(site: "chengguan", kind: "township", parent: "huashan", parentKind: "township")) {
            try store.moveSite("chengguan", parent: "huashan", actor: "cli:t")
        }
        // Nothing changed, nothing audited.
        #expect(try store.sites().first { $0.id == "chengguan" }?.parent == "county")
        #expect(try store.sites().count == 4)
        #expect(try store.accountEvents().filter { $0.action == "site-move" }.isEmpty)
        #expect(try store.moveSite("xiyuan", parent: "chengguan", actor: "cli:t"))
    }

    @Test func pendingRecordsAreCountedInTheOfficesScopeUpToABound() throws {
        let dir = directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try ServerStore(dataDirectory: dir.path)
        _ = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil)
        _ = try store.addSite(id: "huashan", name: "华山镇政协工委", kind: "township", parent: "county")
        _ = try store.addSite(id: "chengguan", name: "城关镇政协工委", kind: "township", parent: "county")
        try store.write { r in
            try r.database.transaction {
                for i in 0..<1200 {
                    try r.database.run("INSERT INTO members(id, name, site_id) VALUES (?, ?, 'huashan')", [.text("m-\(i)"), .text("委员\(i)")])
                }
                for i in 0..<5 {
                    try r.database.run("INSERT INTO members(id, name, site_id) VALUES (?, ?, 'chengguan')", [.text("c-\(i)"), .text("委员\(i)")])
                }
            }
            try r.foldLog()
        }
        let admin = AdminService(store: store, log: EventLog(enabled: false))
        let started = Date()
        let sites = Dictionary(uniqueKeysWithValues: try admin.sites().sites.map { ($0.id, $0) })
        let ms = Date().timeIntervalSince(started) * 1000
        print("dashboard of 3 sites over 1208 records: \(Int(ms)) ms")
        #expect(sites["huashan"]?.pending ?? 0 > 500 && sites["huashan"]?.pendingMore == true)
        // 城关镇 holds only its own five members and the three sites: 华山镇's members are not its to pull.
        #expect(sites["chengguan"]?.pending == 8 && sites["chengguan"]?.pendingMore == false, "\(String(describing: sites["chengguan"]))")
        // After a pull up to the head, nothing is waiting.
        let head = try store.read { try $0.sequence }
        admin.activity.pulled(site: "chengguan", cursor: head, hasMore: false)
        #expect(try admin.sites().sites.first { $0.id == "chengguan" }?.pending == 0)
    }

    @Test func theDashboardListsTheTreeDepthFirstTownshipsBeforeStreetsNamesSecondary() throws {
        let dir = directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try ServerStore(dataDirectory: dir.path)
        _ = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil)
        _ = try store.addSite(id: "a-street", name: "东岭街道委员工作室", kind: "street", parent: "county")
        _ = try store.addSite(id: "zz", name: "华山镇政协工委", kind: "township", parent: "county")
        _ = try store.addSite(id: "aa", name: "城关镇政协工委", kind: "township", parent: "county")
        _ = try store.addSite(id: "s2", name: "西苑社区联络站", kind: "station", parent: "zz")
        _ = try store.addSite(id: "s1", name: "桃河社区联络站", kind: "station", parent: "aa")
        let admin = AdminService(store: store, log: EventLog(enabled: false))
        let list = try admin.sites()
        // Siblings by kind, then by name (华 U+534E sorts before 城 U+57CE).
        #expect(list.sites.map(\.id) == ["county", "zz", "s2", "aa", "s1", "a-street"])
        #expect(list.sites.map(\.depth) == [0, 1, 2, 1, 2, 1])
        #expect(list.sites.allSatisfy { $0.token == "unused" })
    }
}
