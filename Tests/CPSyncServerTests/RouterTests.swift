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

        init(attachmentLimits: BlobLimits = BlobLimits()) throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-router-\(UUID().uuidString.prefix(8))")
            store = try ServerStore(dataDirectory: dir.path)
            _ = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil)
            huashan = try store.addSite(id: "huashan", name: "华山镇政协工委", kind: "township", parent: "county")
            chengguan = try store.addSite(id: "chengguan", name: "城关镇政协工委", kind: "township", parent: "county")
            admin = try store.addAdmin(name: "张三")
            router = Router(store: store, log: EventLog(enabled: false), attachmentLimits: attachmentLimits)
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
        #expect(status.serverSite == ServerStore.defaultSiteID && status.schemaVersion == CPPCCSchema.version)
        #expect(abs(status.serverTime - HLC.wallClock().milliseconds) < 5_000)
    }

    @Test func pushThenPullCarriesChangesBetweenOffices() throws {
        let f = try Fixture()
        let a = try f.office("huashan"), b = try f.office("chengguan")
        try a.database.run("INSERT INTO members(id, name, sector, site_id) VALUES ('m1', '王芳', '教育', 'huashan')")
        let r = try f.push(a, token: f.huashan)
        #expect(r.status == 200)
        #expect(try PushResponse.decode(r.body).applied > 0)
        // Another township does not receive 华山镇's member (partial replication); an admin sees everything.
        _ = try f.pull(b, token: f.chengguan)
        #expect(try b.database.scalar("SELECT count(*) FROM members WHERE id = 'm1'") == .integer(0))
        let page = try PullResponse.decode(f.request("GET", "/v1/pull?after=0&protocol=1&schemaVersion=\(CPPCCSchema.version)", token: f.admin).body)
        #expect(page.changes.contains { $0.pk == "m1" && $0.column == "name" && $0.value == .text("王芳") })
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
                          body: PushRequest(schemaVersion: CPPCCSchema.version, batchId: "x1", site: "huashan", changes: changes + [bad]).encoded())
        #expect(r.status == 400 && error(r)?.code == .unknownTable && error(r)?.table == "passwords")
        changes[1].value = .blob([1, 2])
        let column = try #require(changes[1].column)
        let affinity = try f.store.read { r in try r.columns(of: "members").first { $0.name == column }!.affinity }
        if affinity != .blob {
            r = f.request("POST", "/v1/push", token: f.huashan,
                          body: PushRequest(schemaVersion: CPPCCSchema.version, batchId: "x2", site: "huashan", changes: changes).encoded())
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
                          body: PushRequest(schemaVersion: CPPCCSchema.version, batchId: "b", site: "huashan", changes: changes).encoded())
        #expect(r.status == 400 && error(r)?.site == "nowhere" && error(r)?.index == 1)
        #expect(try f.store.read { try $0.database.scalar("SELECT count(*) FROM _cp_sites WHERE uuid = 'nowhere'") } == .integer(0))
        changes[1].base = Version(hlc: HLC(milliseconds: 1), site: "chengguan")
        #expect(f.request("POST", "/v1/push", token: f.huashan,
                          body: PushRequest(schemaVersion: CPPCCSchema.version, batchId: "c", site: "huashan", changes: changes).encoded()).status == 200)
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

    @Test func accountChangesAreAuditedAndServedToAdminsOnly() throws {
        let f = try Fixture()
        _ = try f.store.addSite(id: "taohe", name: "桃河社区联络站", kind: "station", parent: "huashan", actor: "cli:wangli")
        let office = try f.office("chengguan")
        let before = try f.pull(office, token: f.chengguan)
        #expect(try office.database.scalar("SELECT parent_id FROM sites WHERE id = 'taohe'") == .text("huashan"))
        try f.store.moveSite("taohe", parent: "chengguan", actor: "cli:wangli")
        let rotated = try f.store.issueSiteToken("huashan", actor: "cli:root")
        #expect(f.request("GET", "/v1/admin/conflicts", token: f.huashan).status == 401, "the old token stops at once")
        #expect(f.request("GET", "/v1/admin/accounts-audit", token: rotated).status == 403)
        #expect(f.request("GET", "/v1/admin/accounts-audit").status == 401)
        let r = f.request("GET", "/v1/admin/accounts-audit", token: f.admin)
        #expect(r.status == 200)
        let entries = try AccountAuditResponse.decode(r.body).entries
        #expect(entries.map(\.action) == ["site-add", "site-add", "site-add", "admin-add", "site-add", "site-move", "site-token"])
        #expect(entries.suffix(3).map(\.actor) == ["cli:wangli", "cli:wangli", "cli:root"])
        #expect(entries[5].detail == "from=huashan to=chengguan")
        #expect(f.request("GET", "/v1/admin/accounts-audit?from=2999-01-01", token: f.admin).status == 200)
        #expect(try AccountAuditResponse.decode(f.request("GET", "/v1/admin/accounts-audit?from=2999-01-01", token: f.admin).body).entries.isEmpty)
        #expect(f.request("GET", "/v1/admin/accounts-audit?from=yesterday", token: f.admin).status == 400)
        #expect(f.request("DELETE", "/v1/admin/accounts-audit", token: f.admin).status == 405)
        // The move is an ordinary captured change: the office's next pull brings the new parent.
        let after = try f.pull(office, token: f.chengguan, after: before.cursor)
        #expect(after.changes.contains { $0.table == "sites" && $0.column == "parent_id" })
        #expect(try office.database.scalar("SELECT parent_id FROM sites WHERE id = 'taohe'") == .text("chengguan"))
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

    // MARK: nothing is lost

    /// Pretends the disk is full: the writer's database may not grow past its current size (or may again).
    static func setPageLimit(_ store: ServerStore, full: Bool) {
        struct Untouched: Error {}
        // Thrown afterwards so the store does not count this as a successful write: only a push or the health
        // probe may tell it that writes work again.
        try? store.write { r in
            let pages = try r.database.scalar("PRAGMA page_count")?.int64Value ?? 0
            _ = try r.database.query("PRAGMA max_page_count = \(full ? pages : 1_000_000_000)")
            throw Untouched()
        }
    }

    /// An office with `n` members whose long texts need new database pages on the server.
    func bulkyOffice(_ f: Fixture, _ site: String, members n: Int, prefix: String) throws -> Replica {
        let a = try f.office(site)
        for i in 0..<n {
            try a.database.run("INSERT INTO members(id, name, employer, site_id) VALUES (?, ?, ?, ?)",
                               [.text("\(prefix)\(i)"), .text("委员\(i)"), .text(String(repeating: "县政协", count: 2_000)), .text(site)])
        }
        return a
    }

    @Test func aFullDiskAnswersStorageFullAndTheNextPushWorksWithoutRestart() throws {
        let f = try Fixture()
        let a = try bulkyOffice(f, "huashan", members: 20, prefix: "m")
        let seq = try f.store.read { try $0.sequence }
        Self.setPageLimit(f.store, full: true)
        let refused = try f.push(a, token: f.huashan, batch: "full-1")
        #expect(refused.status == 507)
        let body = try #require(error(refused))
        #expect(body.code == .storageFull)
        #expect(body.message.contains("disk is full") && body.message.contains("nothing was applied"))
        #expect(!body.message.contains("INSERT") && !body.message.contains("syntax error"))
        #expect(refused.headers["Retry-After"] != nil)
        #expect(try f.store.read { try $0.sequence } == seq)
        // Space is freed: the same batch goes through on the same store, and is applied (a refusal is not stored).
        Self.setPageLimit(f.store, full: false)
        let accepted = try f.push(a, token: f.huashan, batch: "full-1")
        #expect(accepted.status == 200)
        #expect(accepted.headers["CPSync-Replayed"] == nil)
        #expect(try PushResponse.decode(accepted.body).applied > 0)
        #expect(try f.store.read { try $0.database.scalar("SELECT count(*) FROM members") } == .integer(20))
    }

    @Test func aFailedCommitDoesNotWedgeTheWriter() throws {
        let f = try Fixture()
        struct Wedge: Error {}
        // A COMMIT that fails (as on a full disk): a deferred foreign key broken by the transaction.
        _ = try? f.store.write { r in
            try r.database.execute("""
                CREATE TABLE commit_fails (parent INTEGER REFERENCES commit_fails_parent(id) DEFERRABLE INITIALLY DEFERRED);
                CREATE TABLE commit_fails_parent (id INTEGER PRIMARY KEY);
                """)
            try r.database.transaction { try r.database.run("INSERT INTO commit_fails VALUES (1)") }
        }
        let a = try f.office("huashan")
        try a.database.run("INSERT INTO members(id, name) VALUES ('m1', '王芳')")
        let r = try f.push(a, token: f.huashan)
        #expect(r.status == 200, "\(String(decoding: r.body, as: UTF8.self))")
    }

    @Test func healthTellsWhenTheDatabaseCannotTakeWritesAndRecoversByItself() throws {
        let f = try Fixture()
        #expect(f.request("GET", "/v1/health").status == 200)
        let a = try bulkyOffice(f, "huashan", members: 20, prefix: "m")
        Self.setPageLimit(f.store, full: true)
        #expect(try f.push(a, token: f.huashan).status == 507)
        var health = f.request("GET", "/v1/health")
        #expect(health.status == 507)
        #expect(error(health)?.code == .storageFull)
        #expect(error(health)?.message.contains("full") == true)
        #expect(f.request("HEAD", "/v1/health").status == 507)
        Self.setPageLimit(f.store, full: false)
        // Cheap: within a second of the last probe it answers from what it knows, without writing.
        #expect(f.request("GET", "/v1/health").status == 507)
        Thread.sleep(forTimeInterval: 1.1)
        // While a long push holds the writer, health does not wait for it.
        let release = DispatchSemaphore(value: 0), holding = DispatchSemaphore(value: 0)
        let store = f.store
        DispatchQueue.global().async {
            try? store.write { _ in holding.signal(); release.wait() }
        }
        holding.wait()
        let started = Date()
        health = f.request("GET", "/v1/health")
        #expect(Date().timeIntervalSince(started) < 0.1)
        #expect(health.status == 507)
        release.signal()
        // The writer is free: the probe write succeeds and health is 200 again, with no push in between.
        var recovered = false
        for _ in 0..<30 where !recovered {
            Thread.sleep(forTimeInterval: 0.1)
            recovered = f.request("GET", "/v1/health").status == 200
        }
        #expect(recovered)
    }

    @Test func batchIdsArePerSite() throws {
        let f = try Fixture()
        let a = try f.office("huashan"), b = try f.office("chengguan")
        try a.database.run("INSERT INTO members(id, name, site_id) VALUES ('m1', '王芳', 'huashan')")
        try b.database.run("INSERT INTO members(id, name, site_id) VALUES ('m2', '李强', 'chengguan')")
        let first = try f.push(a, token: f.huashan, batch: "same-id")
        #expect(first.status == 200)
        // Another site using the same id gets its own batch applied, not huashan's stored answer.
        let other = try f.push(b, token: f.chengguan, batch: "same-id")
        #expect(other.status == 200 && other.headers["CPSync-Replayed"] == nil)
        #expect(other.body != first.body)
        #expect(try PushResponse.decode(other.body).applied > 0)
        #expect(try f.store.read { try $0.database.scalar("SELECT name FROM members WHERE id = 'm2'") } == .text("李强"))
        // Each site's retry replays its own answer byte for byte.
        let again = try f.push(b, token: f.chengguan, batch: "same-id")
        #expect(again.body == other.body && again.headers["CPSync-Replayed"] == "true")
        #expect(try f.push(a, token: f.huashan, batch: "same-id").body == first.body)
    }

    @Test func aReusedBatchIdWithDifferentChangesIsRefusedAndNothingIsApplied() throws {
        let f = try Fixture()
        let a = try f.office("huashan")
        try a.database.run("INSERT INTO members(id, name, site_id) VALUES ('m1', '王芳', 'huashan')")
        #expect(try f.push(a, token: f.huashan, batch: "b-1").status == 200)
        try a.database.run("INSERT INTO members(id, name, site_id) VALUES ('m3', '赵敏', 'huashan')")
        let seq = try f.store.read { try $0.sequence }
        let r = try f.push(a, token: f.huashan, batch: "b-1")
        #expect(r.status == 409 && r.headers["CPSync-Replayed"] == nil)
        #expect(error(r)?.code == .batchIdReused)
        #expect(error(r)?.message.contains("nothing was applied") == true)
        #expect(try f.store.read { try $0.sequence } == seq)
        #expect(try f.store.read { try $0.database.scalar("SELECT count(*) FROM members WHERE id = 'm3'") } == .integer(0))
    }

    @Test func answersStoredWithEarlierDigestsStillReplayAndStillRefuseOtherChanges() throws {
        let f = try Fixture()
        let a = try f.office("huashan")
        try a.database.run("INSERT INTO members(id, name, site_id) VALUES ('m1', '王芳', 'huashan')")
        let first = try f.push(a, token: f.huashan, batch: "b-old")
        #expect(first.status == 200)
        #expect(try f.store.read { try $0.database.scalar("SELECT substr(digest, 1, 3) FROM _srv_batches WHERE batch_id = 'b-old'") } == .text("b2:"))
        let own = try a.allChanges().filter { $0.version.site == a.siteID }
        // As a server before the MurmurHash3 digest stored it: SHA-256 of the same binary form.
        try f.store.write {
            try $0.database.run("UPDATE _srv_batches SET digest = ? WHERE batch_id = 'b-old'", [.text("b1:" + SHA256.hex(ChangeDigest.binaryForm(own)))])
        }
        let replayed = try f.push(a, token: f.huashan, batch: "b-old")
        #expect(replayed.body == first.body && replayed.headers["CPSync-Replayed"] == "true")
        // As a server before the binary digest stored it: SHA-256 of the canonical JSON of the changes.
        var w = JSONWriter()
        w.changes(own)
        try f.store.write { try $0.database.run("UPDATE _srv_batches SET digest = ? WHERE batch_id = 'b-old'", [.text(SHA256.hex(w.bytes))]) }
        let again = try f.push(a, token: f.huashan, batch: "b-old")
        #expect(again.body == first.body && again.headers["CPSync-Replayed"] == "true")
        try a.database.run("INSERT INTO members(id, name, site_id) VALUES ('m3', '赵敏', 'huashan')")
        let r = try f.push(a, token: f.huashan, batch: "b-old")
        #expect(r.status == 409 && error(r)?.code == .batchIdReused)
        #expect(try f.store.read { try $0.database.scalar("SELECT count(*) FROM members WHERE id = 'm3'") } == .integer(0))
    }

    @Test func storedAnswersExpireAfterNinetyDaysAndABatchReSentLaterChangesNothing() throws {
        let f = try Fixture()
        let a = try f.office("huashan")
        try a.database.run("INSERT INTO members(id, name, site_id) VALUES ('m1', '王芳', 'huashan')")
        let aged = PushRequest(schemaVersion: CPPCCSchema.version, batchId: "b-aged", site: a.siteID,
                               changes: try a.allChanges().filter { $0.version.site == a.siteID }).encoded()
        #expect(f.request("POST", "/v1/push", token: f.huashan, body: aged).status == 200)
        // The answer is 91 days old; another, 89 days old, must stay.
        let now = HLC.wallClock().milliseconds
        try f.store.write { r in
            try r.database.run("UPDATE _srv_batches SET at = ? WHERE batch_id = 'b-aged'", [.integer(now - SyncService.storedAnswerKeepMs - 86_400_000)])
            try r.database.run("INSERT INTO _srv_batches(site, batch_id, digest, response, at) VALUES ('huashan', 'b-89', NULL, x'7b7d', ?)",
                               [.integer(now - SyncService.storedAnswerKeepMs + 86_400_000)])
        }
        try a.database.run("INSERT INTO members(id, name, site_id) VALUES ('m2', '李强', 'huashan')")
        #expect(try f.push(a, token: f.huashan, batch: "b-new").status == 200)
        let kept = try f.store.read { try $0.database.query("SELECT batch_id FROM _srv_batches ORDER BY batch_id").compactMap { $0[0].stringValue } }
        #expect(kept == ["b-89", "b-new"])
        // The expired batch sent again is merged again: nothing new, nothing lost, not a replay.
        let again = f.request("POST", "/v1/push", token: f.huashan, body: aged)
        #expect(again.status == 200 && again.headers["CPSync-Replayed"] == nil)
        let answer = try PushResponse.decode(again.body)
        #expect(answer.applied == 0 && answer.alreadyKnown > 0)
        #expect(try f.store.read { try $0.database.scalar("SELECT count(*) FROM members") } == .integer(2))
    }

    @Test func answersStoredUnderGlobalBatchIdsAreMigratedAndStillReplayed() throws {
        let f = try Fixture()
        let a = try f.office("huashan"), b = try f.office("chengguan")
        try a.database.run("INSERT INTO members(id, name, site_id) VALUES ('m1', '王芳', 'huashan')")
        try b.database.run("INSERT INTO members(id, name, site_id) VALUES ('m2', '李强', 'chengguan')")
        let first = try f.push(a, token: f.huashan, batch: "old-1")
        // The data directory as an older cpsyncd left it: one answer per batch id, whatever the site.
        try f.store.write { r in
            try r.database.execute("""
                DROP TABLE _srv_batches;
                CREATE TABLE _srv_batches (batch_id TEXT PRIMARY KEY NOT NULL, site TEXT NOT NULL, response BLOB NOT NULL, at INTEGER NOT NULL);
                """)
            try r.database.run("INSERT INTO _srv_batches VALUES ('old-1', 'huashan', ?, ?)",
                               [.blob(first.body), .integer(HLC.wallClock().milliseconds - 86_400_000)])
        }
        let reopened = try ServerStore(dataDirectory: f.dir.path)
        let router = Router(store: reopened, log: EventLog(enabled: false))
        func push(_ office: Replica, _ token: String) throws -> HTTPResponse {
            let own = try office.allChanges().filter { $0.version.site == office.siteID }
            var h = HTTPHeaders()
            h.set("Authorization", "Bearer \(token)")
            let body = PushRequest(schemaVersion: CPPCCSchema.version, batchId: "old-1", site: office.siteID, changes: own).encoded()
            return router.respond(to: HTTPRequest(method: "POST", target: "/v1/push", headers: h, body: body, remoteAddress: "127.0.0.1:1"))
        }
        let replay = try push(a, f.huashan)
        #expect(replay.body == first.body && replay.headers["CPSync-Replayed"] == "true")
        let fresh = try push(b, f.chengguan)
        #expect(fresh.status == 200 && fresh.headers["CPSync-Replayed"] == nil)
        #expect(try reopened.read { try $0.database.scalar("SELECT count(*) FROM members WHERE id = 'm2'") } == .integer(1))
        #expect(try reopened.read { try $0.database.scalar("SELECT count(*) FROM _srv_batches") } == .integer(2))
    }

    @Test func aValueTheSchemaRefusesIsA400NamingTableColumnAndChange() throws {
        let f = try Fixture()
        let a = try f.office("huashan")
        try a.database.run("INSERT INTO members(id, name, gender, site_id) VALUES ('m1', '王芳', '女', 'huashan')")
        try a.database.run("INSERT INTO members(id, name, gender, site_id) VALUES ('m2', '李强', '男', 'huashan')")
        try a.database.run("INSERT INTO proposals(id, title) VALUES ('p1', '关于乡村道路的提案')")
        try a.database.run("INSERT INTO activities(id, topic, site_id) VALUES ('a1', '饮水安全调研', 'huashan')")
        var changes = try a.allChanges().filter { $0.version.site == "huashan" }
        let seq = try f.store.read { try $0.sequence }
        func refused(_ changes: [Change], batch: String) -> HTTPResponse {
            f.request("POST", "/v1/push", token: f.huashan,
                      body: PushRequest(schemaVersion: CPPCCSchema.version, batchId: batch, site: "huashan", changes: changes).encoded())
        }
        let gender = try #require(changes.firstIndex { $0.pk == "m2" && $0.column == "gender" })
        changes[gender].value = .text("X")
        var r = refused(changes, batch: "forged-1")
        #expect(r.status == 400)
        #expect(error(r)?.code == .constraintViolated)
        #expect(error(r)?.table == "members" && error(r)?.column == "gender" && error(r)?.index == gender)
        #expect(error(r)?.message.contains("nothing was applied") == true)
        changes[gender].value = .text("男")
        let kind = try #require(changes.firstIndex { $0.pk == "a1" && $0.column == "kind" })
        changes[kind].value = .text("bogus")
        r = refused(changes, batch: "forged-2")
        #expect(r.status == 400 && error(r)?.code == .constraintViolated)
        #expect(error(r)?.table == "activities" && error(r)?.column == "kind" && error(r)?.index == kind)
        #expect(try f.store.read { try $0.sequence } == seq)
        #expect(try f.store.read { try $0.database.scalar("SELECT count(*) FROM members") } == .integer(0))
        // Fixed, the same batch id goes through: a refusal stores nothing.
        changes[kind].value = .text("study")
        #expect(refused(changes, batch: "forged-2").status == 200)
    }
}
