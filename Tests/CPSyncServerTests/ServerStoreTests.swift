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
}
