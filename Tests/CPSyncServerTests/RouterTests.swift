import CPPCC
import CPSyncCore
import CPSyncHTTP
import CPSyncProtocol
import CPSyncServer
import Foundation
import Testing

/// The daemon's handlers, through `Router.respond(to:)` without sockets.
@Suite struct RouterTests {
    final class Fixture {
        let dir: URL
        let store: ServerStore
        let router: Router
        let huashan: String
        let chengguan: String
        let admin: String

        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-router-\(UUID().uuidString.prefix(8))")
            store = try ServerStore(dataDirectory: dir.path)
            _ = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil)
            huashan = try store.addSite(id: "huashan", name: "华山镇政协工委", kind: "township", parent: "county")
            chengguan = try store.addSite(id: "chengguan", name: "城关镇政协工委", kind: "township", parent: "county")
            admin = try store.addAdmin(name: "张三")
            router = Router(store: store, log: EventLog(enabled: false))
        }

        deinit { try? FileManager.default.removeItem(at: dir) }

        func request(_ method: String, _ target: String, token: String? = nil, body: [UInt8] = [], headers: [(String, String)] = []) -> HTTPResponse {
            var h = HTTPHeaders(headers)
            if let token { h.set("Authorization", "Bearer \(token)") }
            return router.respond(to: HTTPRequest(method: method, target: target, headers: h, body: body, remoteAddress: "127.0.0.1:1"))
        }

        /// An office replica with the CPPCC schema, for producing real changes.
        func office(_ site: String) throws -> Replica {
            let r = try Replica(path: ":memory:", siteID: site)
            try CPPCCSchema.install(on: r)
            return r
        }

        func push(_ office: Replica, token: String, batch: String = UUID().uuidString) throws -> HTTPResponse {
            let own = try office.allChanges().filter { $0.version.site == office.siteID }
            return request("POST", "/v1/push", token: token,
                           body: PushRequest(schemaVersion: CPPCCSchema.version, batchId: batch, site: office.siteID, changes: own).encoded())
        }

        func pull(_ office: Replica, token: String, after: Int64 = 0) throws -> PullResponse {
            let r = request("GET", "/v1/pull?after=\(after)&protocol=1&schemaVersion=\(CPPCCSchema.version)", token: token)
            #expect(r.status == 200)
            let page = try PullResponse.decode(r.body)
            try office.merge(page.changes)
            return page
        }
    }

    func error(_ r: HTTPResponse) -> ErrorBody? { try? ErrorBody.decode(r.body) }

    @Test func healthAndStatusNeedNoToken() throws {
        let f = try Fixture()
        #expect(f.request("GET", "/v1/health").status == 200)
        let status = try StatusResponse.decode(f.request("GET", "/v1/status").body)
        #expect(status.serverSite == "county" && status.schemaVersion == CPPCCSchema.version)
        #expect(abs(status.serverTime - HLC.wallClock().milliseconds) < 5_000)
    }

    @Test func pushThenPullCarriesChangesBetweenOffices() throws {
        let f = try Fixture()
        let a = try f.office("huashan"), b = try f.office("chengguan")
        try a.database.run("INSERT INTO members(id, name, sector, site_id) VALUES ('m1', '王芳', '教育', 'huashan')")
        let r = try f.push(a, token: f.huashan)
        #expect(r.status == 200)
        #expect(try PushResponse.decode(r.body).applied > 0)
        _ = try f.pull(b, token: f.chengguan)
        #expect(try b.database.scalar("SELECT name FROM members WHERE id = 'm1'") == .text("王芳"))
        // An office's own changes come back too: a replacement PC recovers its records from the county.
        let echo = try f.pull(a, token: f.huashan)
        #expect(echo.changes.contains { $0.version.site == "huashan" && $0.pk == "m1" })
    }

    @Test func pushReplaysTheFirstAnswerWithAHeader() throws {
        let f = try Fixture()
        let a = try f.office("huashan")
        try a.database.run("INSERT INTO members(id, name) VALUES ('m1', '王芳')")
        let first = try f.push(a, token: f.huashan, batch: "batch-1")
        let again = try f.push(a, token: f.huashan, batch: "batch-1")
        #expect(first.body == again.body)
        #expect(first.headers["CPSync-Replayed"] == nil && again.headers["CPSync-Replayed"] == "true")
    }

    @Test func authenticationAndAuthorisationErrors() throws {
        let f = try Fixture()
        let a = try f.office("huashan")
        try a.database.run("INSERT INTO members(id, name) VALUES ('m1', '王芳')")
        var r = try f.push(a, token: "nope")
        #expect(r.status == 401 && error(r)?.code == .unauthorized && r.headers["WWW-Authenticate"] != nil)
        r = try f.push(a, token: f.chengguan)
        #expect(r.status == 403 && error(r)?.code == .forbidden)
        r = try f.push(a, token: f.admin)
        #expect(r.status == 403)
        r = f.request("GET", "/v1/admin/conflicts", token: f.huashan)
        #expect(r.status == 403)
        r = f.request("GET", "/v1/admin/conflicts")
        #expect(r.status == 401)
        try f.store.revokeSite("huashan")
        r = try f.push(a, token: f.huashan)
        #expect(r.status == 401)
    }

    @Test func unknownNamesAndWrongTypesAreRefusedNamingThem() throws {
        let f = try Fixture()
        let a = try f.office("huashan")
        try a.database.run("INSERT INTO members(id, name) VALUES ('m1', '王芳')")
        var changes = try a.allChanges().filter { $0.version.site == "huashan" }
        let seq = try f.store.read { try $0.sequence }
        var bad = changes[1]
        bad.table = "passwords"
        var r = f.request("POST", "/v1/push", token: f.huashan,
                          body: PushRequest(schemaVersion: 1, batchId: "x1", site: "huashan", changes: changes + [bad]).encoded())
        #expect(r.status == 400 && error(r)?.code == .unknownTable && error(r)?.table == "passwords")
        changes[1].value = .blob([1, 2])
        let column = try #require(changes[1].column)
        let affinity = try f.store.read { r in try r.columns(of: "members").first { $0.name == column }!.affinity }
        if affinity != .blob {
            r = f.request("POST", "/v1/push", token: f.huashan,
                          body: PushRequest(schemaVersion: 1, batchId: "x2", site: "huashan", changes: changes).encoded())
            #expect(r.status == 400 && error(r)?.code == .wrongType)
        }
        #expect(try f.store.read { try $0.sequence } == seq)
    }

    @Test func aBaseFromAnUnknownSiteIsRefused() throws {
        let f = try Fixture()
        let a = try f.office("huashan")
        try a.database.run("INSERT INTO members(id, name) VALUES ('m1', '王芳')")
        var changes = try a.allChanges().filter { $0.version.site == "huashan" }
        changes[1].base = Version(hlc: HLC(milliseconds: 1), site: "nowhere")
        let r = f.request("POST", "/v1/push", token: f.huashan,
                          body: PushRequest(schemaVersion: 1, batchId: "b", site: "huashan", changes: changes).encoded())
        #expect(r.status == 400 && error(r)?.site == "nowhere" && error(r)?.index == 1)
        #expect(try f.store.read { try $0.database.scalar("SELECT count(*) FROM _cp_sites WHERE uuid = 'nowhere'") } == .integer(0))
        changes[1].base = Version(hlc: HLC(milliseconds: 1), site: "chengguan")
        #expect(f.request("POST", "/v1/push", token: f.huashan,
                          body: PushRequest(schemaVersion: 1, batchId: "c", site: "huashan", changes: changes).encoded()).status == 200)
    }

    @Test func versionsAreChecked() throws {
        let f = try Fixture()
        var r = f.request("POST", "/v1/push", token: f.huashan, body: Array("{\"protocol\":99,\"schemaVersion\":1}".utf8))
        #expect(r.status == 426 && error(r)?.code == .protocolVersion)
        r = f.request("POST", "/v1/push", token: f.huashan,
                      body: PushRequest(schemaVersion: CPPCCSchema.version + 1, batchId: "v", site: "huashan", changes: []).encoded())
        #expect(r.status == 409 && error(r)?.code == .schemaVersion)
        r = f.request("GET", "/v1/pull?after=0&protocol=1&schemaVersion=0", token: f.huashan)
        #expect(r.status == 409 && error(r)?.code == .upgradeRequired)
        r = f.request("GET", "/v1/pull?after=0", token: f.huashan)
        #expect(r.status == 400)
        r = f.request("GET", "/v1/pull?after=99999&protocol=1&schemaVersion=\(CPPCCSchema.version)", token: f.huashan)
        #expect(r.status == 409 && error(r)?.code == .cursorAhead)
    }

    @Test func conflictsCanBeListedShownAndResolvedByAnAdmin() throws {
        let f = try Fixture()
        let a = try f.office("huashan"), b = try f.office("chengguan")
        try a.database.run("INSERT INTO members(id, name, sector) VALUES ('m1', '王芳', '教育')")
        _ = try f.push(a, token: f.huashan)
        _ = try f.pull(b, token: f.chengguan)
        try a.database.run("UPDATE members SET sector = '科技' WHERE id = 'm1'")
        try b.database.run("UPDATE members SET sector = '经济' WHERE id = 'm1'")
        _ = try f.push(a, token: f.huashan)
        _ = try f.push(b, token: f.chengguan)
        var r = f.request("GET", "/v1/admin/conflicts", token: f.admin, headers: [("Accept-Language", "zh-CN")])
        let list = try ConflictListResponse.decode(r.body)
        let c = try #require(list.conflicts.first)
        #expect(list.conflicts.count == 1)
        #expect(c.tableLabel == "委员" && c.columnLabel == "界别" && c.rowLabel == "王芳")
        #expect(Set([c.winner.siteName, c.other.siteName]) == ["华山镇政协工委", "城关镇政协工委"])
        r = f.request("POST", "/v1/admin/conflicts/\(c.id)/resolve", token: f.admin,
                      body: ResolveRequest(action: .takeOther, note: "以华山镇为准").encoded())
        #expect(r.status == 200)
        r = f.request("POST", "/v1/admin/conflicts/\(c.id)/resolve", token: f.admin, body: ResolveRequest(action: .keep).encoded())
        #expect(r.status == 409 && error(r)?.code == .conflictResolved)
        r = f.request("GET", "/v1/admin/conflicts/999", token: f.admin)
        #expect(r.status == 404)
        _ = try f.pull(a, token: f.huashan)
        _ = try f.pull(b, token: f.chengguan)
        #expect(try a.database.scalar("SELECT sector FROM members") == c.other.value)
        #expect(try b.database.scalar("SELECT sector FROM members") == c.other.value)
        let audit = try AuditListResponse.decode(f.request("GET", "/v1/admin/audit", token: f.admin).body)
        #expect(audit.entries.count == 1 && audit.entries[0].by == "张三" && audit.entries[0].note == "以华山镇为准")
        #expect(try ConflictListResponse.decode(f.request("GET", "/v1/admin/conflicts?status=open", token: f.admin).body).conflicts.isEmpty)
    }

    @Test func metricsMoveWithTraffic() throws {
        let f = try Fixture()
        _ = f.request("GET", "/v1/health")
        let text = String(decoding: f.request("GET", "/metrics").body, as: UTF8.self)
        #expect(text.contains("cpsync_http_requests_total{route=\"health\",status=\"200\"} 1"))
        #expect(text.contains("cpsync_conflicts_open 0"))
    }

    @Test func responsesCarryAStrictContentSecurityPolicyAndUnknownPathsAre404() {
        let f = try! Fixture()
        let r = f.request("GET", "/nowhere")
        #expect(r.status == 404)
        #expect(r.headers["Content-Security-Policy"]?.contains("default-src 'none'") == true)
        #expect(f.request("DELETE", "/v1/push").status == 405)
    }
}
