import CPPCC
import CPSyncClient
import CPSyncEngine
import CPSyncCore
import CPSyncHTTP
import CPSyncProtocol
import CPSyncServer
import Foundation
import Testing

/// The office client against an in-process daemon router on 127.0.0.1 (and against failing servers).
@Suite(.serialized) struct SyncClientTests {
    final class Setup {
        let dir: URL
        let store: ServerStore
        let server: HTTPServer
        let failing: FailingResponder
        var tokens: [String: String] = [:]

        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-client-\(UUID().uuidString.prefix(8))")
            store = try ServerStore(dataDirectory: dir.appendingPathComponent("data").path)
            _ = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil)
            for s in ["huashan", "chengguan"] { tokens[s] = try store.addSite(id: s, name: s, kind: "township", parent: "county") }
            failing = FailingResponder(inner: Router(store: store, log: EventLog(enabled: false)))
            var config = HTTPServerConfiguration()
            config.port = 0
            server = HTTPServer(configuration: config, responder: failing)
            try server.start()
        }

        var url: String { "http://127.0.0.1:\(server.boundPort)" }

        func office(_ site: String) throws -> Replica {
            try OfficeConfig.initialise(path: dir.appendingPathComponent("\(site).db").path,
                                        config: OfficeConfig(server: url, site: site, token: tokens[site]!))
        }

        deinit {
            server.shutdown(gracePeriodSeconds: 1)
            try? FileManager.default.removeItem(at: dir)
        }
    }

    /// Passes requests through, except that it can be told to fail pushes after N of them succeed.
    final class FailingResponder: HTTPResponder, @unchecked Sendable {
        // Sound: `failPushesAfter` and `pushes` are only touched under `lock`.
        let inner: Router
        private let lock = NSLock()
        private var failPushesAfter = Int.max
        private var pushes = 0
        init(inner: Router) { self.inner = inner }

        func failPushes(after n: Int) { lock.lock(); failPushesAfter = n; pushes = 0; lock.unlock() }

        func respond(to request: HTTPRequest) -> HTTPResponse {
            if request.path == "/v1/push" {
                lock.lock()
                pushes += 1
                let fail = pushes > failPushesAfter
                lock.unlock()
                if fail {
                    // Retry at once: the client's backoff is not what these tests measure.
                    var r = HTTPResponse.error(status: 503, code: "unavailable", message: "maintenance")
                    r.headers.set("Retry-After", "0")
                    return r
                }
            }
            return inner.respond(to: request)
        }
    }

    @Test func pushAndPullMoveChangesBetweenOfficesAcrossManyPages() throws {
        let s = try Setup()
        let a = try s.office("huashan"), b = try s.office("chengguan")
        try a.database.transaction {
            for i in 0..<2500 { try a.database.run("INSERT INTO members(id, name, sector) VALUES (?, ?, '教育')", [.text("m\(i)"), .text("委员\(i)")]) }
        }
        let client = try SyncClient(replica: a)
        var pages: [Int] = []
        client.progress = { _, n, _ in pages.append(n) }
        let pushed = try client.push()
        #expect(pushed.batches > 1 && pushed.applied == pushed.sent)
        #expect(pages.count > 1)
        let pullClient = try SyncClient(replica: b)
        pullClient.pullPageSize = 500
        let pulled = try pullClient.pull()
        #expect(pulled.pages > 1)
        #expect(try b.database.scalar("SELECT count(*) FROM members") == .integer(2500))
        #expect(try pullClient.pendingChanges() == 0 && client.pendingChanges() == 0)
    }

    @Test func aFailedPushKeepsEverythingQueuedAndTheRetryCompletesIt() throws {
        let s = try Setup()
        let a = try s.office("huashan")
        try a.database.transaction {
            for i in 0..<2500 { try a.database.run("INSERT INTO members(id, name) VALUES (?, ?)", [.text("m\(i)"), .text("委员\(i)")]) }
        }
        let client = try SyncClient(replica: a)
        let pendingBefore = try client.pendingChanges()
        s.failing.failPushes(after: 1)
        do {
            _ = try client.push()
            Issue.record("the push should fail")
        } catch let e as ClientError {
            #expect(e.exitCode == .unavailable)
            #expect(e.description.contains("nothing was lost") || e.description.contains("503"))
        }
        let pendingAfterFailure = try client.pendingChanges()
        #expect(pendingAfterFailure > 0 && pendingAfterFailure < pendingBefore)
        s.failing.failPushes(after: .max)
        _ = try client.push()
        #expect(try client.pendingChanges() == 0)
        #expect(try s.store.read { try $0.database.scalar("SELECT count(*) FROM members") } == .integer(2500))
    }

    @Test func theSamePageGetsTheSameBatchIdAndAChangedPageANewOne() throws {
        let s = try Setup()
        let a = try s.office("huashan")
        try a.database.run("INSERT INTO members(id, name) VALUES ('m1', '王芳')")
        let own = try a.allChanges().filter { $0.version.site == "huashan" }
        let resent = try a.allChanges().filter { $0.version.site == "huashan" }
        let t = HTTPTransport(baseURL: s.url, token: s.tokens["huashan"])
        func push(_ changes: [Change], id: String) throws -> HTTPTransport.Response {
            try t.send("POST", "/v1/push", body: PushRequest(schemaVersion: CPPCCSchema.version, batchId: id, site: "huashan", changes: changes).encoded())
        }
        #expect(own == resent)
        try a.database.run("UPDATE members SET name = '王芳芳' WHERE id = 'm1'")
        let edited = try a.allChanges().filter { $0.version.site == "huashan" }
        #expect(own != edited)
        #expect(try push(own, id: "x").status == 200)
        #expect(try push(edited, id: "y").status == 200)
    }

    @Test func aCursorAheadOfARestoredServerResetsAndPullsEverything() throws {
        let s = try Setup()
        let b = try s.office("chengguan")
        try b.setMeta("sync.pull_cursor", .integer(1_000_000))
        let client = try SyncClient(replica: b)
        let r = try client.pull()
        #expect(r.received > 0)
        #expect(try b.database.scalar("SELECT count(*) FROM sites") == .integer(3))
    }

    @Test func initRefusesBadSettingsClearly() throws {
        let s = try Setup()
        let path = s.dir.appendingPathComponent("x.db").path
        #expect(throws: ClientError.self) { try OfficeConfig.initialise(path: path, config: OfficeConfig(server: "ftp://x", site: "a", token: "t")) }
        #expect(throws: ClientError.self) { try OfficeConfig.initialise(path: path, config: OfficeConfig(server: s.url, site: "华山", token: "t")) }
        #expect(throws: ClientError.self) {
            try OfficeConfig.initialise(path: path, config: OfficeConfig(server: s.url, site: "a", token: "t", caFile: "/nonexistent.pem"))
        }
        let a = try s.office("huashan")
        let attrs = try FileManager.default.attributesOfItem(atPath: a.database.path)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
    }

    @Test func aWrongTokenIsRefusedWithExit77() throws {
        let s = try Setup()
        let a = try OfficeConfig.initialise(path: s.dir.appendingPathComponent("w.db").path,
                                            config: OfficeConfig(server: s.url, site: "huashan", token: "not-the-token"))
        try a.database.run("INSERT INTO members(id, name) VALUES ('m1', '王芳')")
        do {
            _ = try SyncClient(replica: a).push()
            Issue.record("expected a refusal")
        } catch let e as ClientError {
            #expect(e.exitCode == .refused)
        }
    }
}

@Suite struct PageSizerTests {
    @Test func pagesFollowTheLinkBetweenTheBounds() {
        var s = PageSizer()
        #expect(s.bytes == PageSizer.initialBytes)
        // A 32 KB/s station link: 256 KB took 8 s; the next page is what moves in the target time.
        s.observe(bytes: 256 * 1024, seconds: 8, target: 4)
        #expect(s.bytes == 128 * 1024)
        // Slower still: never below 32 KB.
        s.observe(bytes: 128 * 1024, seconds: 60, target: 4)
        #expect(s.bytes == PageSizer.range.lowerBound)
        // A fast county LAN: grows at most fourfold a page, up to 4 MB.
        for _ in 0..<10 { s.observe(bytes: s.bytes, seconds: 0.01, target: 8) }
        #expect(s.bytes == PageSizer.range.upperBound)
        // A nearly empty page says little about the link: it does not shrink the next one.
        s.observe(bytes: 2_000, seconds: 0.5, target: 8)
        #expect(s.bytes == PageSizer.range.upperBound)
    }

    @Test func aPageNeverExceedsItsByteBoundButAlwaysHoldsARow() throws {
        let a = try Replica(path: ":memory:", siteID: "huashan")
        try CPPCCSchema.install(on: a)
        try a.database.transaction {
            for i in 0..<300 { try a.database.run("INSERT INTO members(id, name, site_id) VALUES (?, ?, 'huashan')", [.text("m\(i)"), .text(String(repeating: "名", count: 100))]) }
        }
        let page = try a.changes(after: 0, maxBytes: 40_000)
        let bytes = page.changes.reduce(0) { $0 + Change.estimatedWireBytes($1) }
        #expect(page.hasMore && bytes <= 40_000 && !page.changes.isEmpty)
        #expect(try !a.changes(after: 0, maxBytes: 1).changes.isEmpty)
    }
}
