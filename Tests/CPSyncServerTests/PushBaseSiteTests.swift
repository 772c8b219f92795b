import CPPCC
import CPSyncCore
import CPSyncHTTP
import CPSyncProtocol
@testable import CPSyncServer
import Foundation
import Testing

/// A push's bases name sites the county knows (registered, the county's own, or a writer of a version it holds); a
/// base from anywhere else is refused whole, naming the change, and nothing is applied.
@Suite struct PushBaseSiteTests {
    typealias Fixture = RouterTests.Fixture

    /// One edit by huashan of a member, its base the given site's version.
    static func edit(base site: String) -> PushRequest {
        let version = Version(hlc: HLC(rawValue: HLC.wallClock().milliseconds << 16), site: "huashan")
        let base = Version(hlc: HLC(rawValue: 1 << 16), site: site)
        return PushRequest(schemaVersion: CPPCCSchema.version, batchId: UUID().uuidString, site: "huashan", changes: [
            Change(table: "members", pk: "00000000-0000-4000-8000-000000000001", column: nil, value: .null, version: version, causalLength: 1),
            Change(table: "members", pk: "00000000-0000-4000-8000-000000000001", column: "site_id", value: .text("huashan"), version: version,
                   causalLength: 1),
            Change(table: "members", pk: "00000000-0000-4000-8000-000000000001", column: "name", value: .text("委员"), version: version,
                   causalLength: 1, base: base),
        ])
    }

    @Test func aBaseFromASiteNobodyKnowsIsRefusedNamingIt() throws {
        let f = try Fixture()
        let r = f.request("POST", "/v1/push", token: f.huashan, body: Self.edit(base: "nowhere").encoded())
        #expect(r.status == 400)
        let e = try ErrorBody.decode(r.body)
        #expect(e.site == "nowhere" && e.index == 2, "\(e)")
        #expect(try f.store.read { try $0.database.scalar("SELECT count(*) FROM members")?.int64Value } == 0)
    }

    @Test func basesFromRegisteredSitesAndTheServerAreAccepted() throws {
        let f = try Fixture()
        for site in ["chengguan", f.store.siteID, "huashan"] {
            let r = f.request("POST", "/v1/push", token: f.huashan, body: Self.edit(base: site).encoded())
            #expect(r.status == 200, "base from \(site): \(String(decoding: r.body, as: UTF8.self))")
        }
    }
}
