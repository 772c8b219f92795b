import CPSyncCore
import CPSyncEngine
import CPSyncServer
import Foundation
import Testing

/// The server's data directory: its own site id and the sites it registers.
@Suite struct ServerStoreTests {
    final class Scratch {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-store-\(UUID().uuidString.prefix(8))")
        deinit { try? FileManager.default.removeItem(at: dir) }
    }

    @Test func aNewDataDirectoryLeavesTheIdCountyToTheCountyOffice() throws {
        let s = Scratch()
        let store = try ServerStore(dataDirectory: s.dir.path)
        #expect(store.siteID == "cpsyncd")
        _ = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil)
        let refusal = #expect(throws: ServerError.self) {
            try store.addSite(id: "cpsyncd", name: "x", kind: "county", parent: nil)
        }
        #expect(refusal?.description.contains("'cpsyncd' is the county server's own id") == true)
        #expect(try store.sites().map(\.id) == ["county"])
        // The id survives reopening.
        #expect(try ServerStore(dataDirectory: s.dir.path).siteID == "cpsyncd")
    }

    @Test func anOlderDataDirectoryWhoseServerIsCountyRefusesCountyAndNamesTheIdToUse() throws {
        let s = Scratch()
        let store = try ServerStore(dataDirectory: s.dir.path, siteID: "county")
        let refusal = #expect(throws: ServerError.self) {
            try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil)
        }
        #expect(refusal?.description.contains("'county-office'") == true)
        _ = try store.addSite(id: "county-office", name: "某县政协", kind: "county", parent: nil)
        _ = try store.addSite(id: "huashan", name: "华山镇政协工委", kind: "township", parent: "county-office")
        #expect(try store.sites().map(\.id) == ["county-office", "huashan"])
    }

    @Test func anUplinkHeldListOfAnOlderBuildIsRetiredAndEverythingGoesUpAgain() throws {
        let s = Scratch()
        let store = try ServerStore(dataDirectory: s.dir.path)
        try store.write { r in
            try r.database.execute("CREATE TABLE _srv_uplink_held (tbl TEXT NOT NULL, pk TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (tbl, pk))")
            try r.database.run("INSERT INTO _srv_uplink_held VALUES ('members', 'm-1', 'forbidden', 'x', 1)")
            try SyncKeys.uplink.setPush(Position(cursor: 50, since: 50), in: r)
        }
        let reopened = try ServerStore(dataDirectory: s.dir.path)
        let (tables, position) = try reopened.write { r in
            (try r.database.scalar("SELECT count(*) FROM sqlite_master WHERE name = '_srv_uplink_held'"), try SyncKeys.uplink.push(in: r))
        }
        #expect(tables == .integer(0))
        #expect(position == .start, "the rows it held go up again, and are held again if refused")
    }

    @Test func theCommandLineActorIsTheOSUserPrefixedWithCli() {
        #expect(ServerStore.commandLineActor(environment: ["USER": "wangli", "LOGNAME": "root"]) == "cli:wangli")
        #expect(ServerStore.commandLineActor(environment: ["USER": "", "LOGNAME": "zhao"]) == "cli:zhao")
        #expect(ServerStore.commandLineActor(environment: [:]).hasPrefix("cli:"))
    }

    @Test func aMoveDeepIntoTheOwnSubtreeIsRefusedAndLeavesNoAuditEntry() throws {
        let s = Scratch()
        let store = try ServerStore(dataDirectory: s.dir.path)
        _ = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil, actor: "cli:t")
        _ = try store.addSite(id: "huashan", name: "华山镇", kind: "township", parent: "county", actor: "cli:t")
        _ = try store.addSite(id: "zhan", name: "联络站", kind: "station", parent: "huashan", actor: "cli:t")
        #expect(throws: ServerError.moveIntoOwnSubtree(site: "huashan", parent: "zhan")) {
            try store.moveSite("huashan", parent: "zhan", actor: "cli:t")
        }
        #expect(try store.accountEvents().map(\.action) == ["site-add", "site-add", "site-add"])
        // A township registered without a parent goes under the county; the county itself may not move.
        _ = try store.addSite(id: "orphan", name: "孤立镇", kind: "township", parent: nil, actor: "cli:t")
        #expect(try store.sites().first { $0.id == "orphan" }?.parent == "county")
        #expect(try !store.moveSite("orphan", parent: "county", actor: "cli:t"))
        #expect(throws: ServerError.moveRoot("county")) { try store.moveSite("county", parent: "huashan", actor: "cli:t") }
    }
}
