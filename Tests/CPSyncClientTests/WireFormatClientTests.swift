import CPPCC
import CPSyncClient
import CPSyncCore
import CPSyncHTTP
import CPSyncProtocol
import CPSyncServer
import Foundation
import Testing

/// The office client's choice of body forms (Protocol/README.md §15) against a current daemon and against one that
/// reads and writes plain JSON only (as before this revision), and its progress reports.
@Suite(.serialized) struct WireFormatClientTests {
    /// Records what each request carried; as `old`, answers as a server that knows no compact form nor gzip would:
    /// no `encodings` in its status, plain pull pages whatever is asked, and a compact or gzip push body refused.
    final class Recorder: HTTPResponder, @unchecked Sendable {
        // Sound: `seen` is only touched under `lock`.
        let inner: Router
        let old: Bool
        private let lock = NSLock()
        private var seen: [(path: String, contentType: String?, contentEncoding: String?, answerType: String?, answerEncoding: String?)] = []

        init(inner: Router, old: Bool) {
            self.inner = inner
            self.old = old
        }

        var requests: [(path: String, contentType: String?, contentEncoding: String?, answerType: String?, answerEncoding: String?)] {
            lock.withLock { seen }
        }

        func respond(to request: HTTPRequest) -> HTTPResponse {
            var request = request
            if old {
                if request.headers["Content-Encoding"] != nil || CompactForm.names(request.headers["Content-Type"]) {
                    return .json(ErrorBody(code: .badRequest, message: "malformed request").encoded(), status: 400)
                }
                request.headers.remove("Accept")
                request.headers.remove("Accept-Encoding")
            }
            var response = inner.respond(to: request)
            if old && request.path == "/v1/status", var status = try? StatusResponse.decode(response.body) {
                status.encodings = nil
                response.body = status.encoded()
            }
            lock.withLock {
                seen.append((request.path, request.headers["Content-Type"], request.headers["Content-Encoding"],
                             response.headers["Content-Type"], response.headers["Content-Encoding"]))
            }
            return response
        }
    }

    final class Setup {
        let dir: URL
        let store: ServerStore
        let server: HTTPServer
        let recorder: Recorder
        var tokens: [String: String] = [:]

        init(old: Bool) throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-wire-\(UUID().uuidString.prefix(8))")
            store = try ServerStore(dataDirectory: dir.appendingPathComponent("data").path)
            _ = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil)
            for s in ["huashan", "chengguan"] { tokens[s] = try store.addSite(id: s, name: s, kind: "township", parent: "county") }
            recorder = Recorder(inner: Router(store: store, log: EventLog(enabled: false)), old: old)
            var config = HTTPServerConfiguration()
            config.port = 0
            server = HTTPServer(configuration: config, responder: recorder)
            try server.start()
        }

        func office(_ name: String, site: String = "huashan") throws -> Replica {
            try OfficeConfig.initialise(path: dir.appendingPathComponent("\(name).db").path,
                                        config: OfficeConfig(server: "http://127.0.0.1:\(server.boundPort)", site: site, token: tokens[site]!))
        }

        deinit {
            server.shutdown(gracePeriodSeconds: 1)
            try? FileManager.default.removeItem(at: dir)
        }
    }

    func addMembers(_ n: Int, to r: Replica) throws {
        try r.database.transaction {
            for i in 0..<n {
                try r.database.run("INSERT INTO members(id, name, sector, site_id, phone) VALUES (?, ?, '教育界', 'huashan', ?)",
                                   [.text(UUID().uuidString.lowercased()), .text("委员\(i)"), .text("139\(Int.random(in: 10_000_000...99_999_999))")])
            }
        }
    }

    @Test func againstACurrentServerPushesAndPullsAreCompactAndGzip() throws {
        let s = try Setup(old: false)
        let a = try s.office("a")
        try addMembers(300, to: a)
        let pusher = try SyncClient(replica: a)
        var reports: [TransferSnapshot] = []
        pusher.meter = { reports.append($0) }
        let pushed = try pusher.push()
        #expect(pushed.sent > 0)
        let pushes = s.recorder.requests.filter { $0.path == "/v1/push" }
        #expect(!pushes.isEmpty && pushes.allSatisfy { $0.contentType == CompactForm.mediaType && $0.contentEncoding == "gzip" }, "\(pushes)")
        // The last report is the finished transfer: every change, all the bytes, 100 %.
        let last = try #require(reports.last)
        #expect(last.finished && last.fraction == 1 && last.changes == pushed.sent && last.direction == .push)
        #expect(last.bytes > 0 && last.bytes < pushed.sent * 20, "\(last.bytes) bytes for \(pushed.sent) changes")

        let b = try s.office("b")
        let puller = try SyncClient(replica: b)
        reports = []
        puller.meter = { reports.append($0) }
        puller.pullPageSize = 500
        let pulled = try puller.pull()
        let pulls = s.recorder.requests.filter { $0.path == "/v1/pull" }
        #expect(pulls.count >= 2 && pulls.allSatisfy { $0.answerType == CompactForm.mediaType && $0.answerEncoding == "gzip" }, "\(pulls)")
        #expect(try b.database.scalar("SELECT count(*) FROM members") == .integer(300))
        // Between pages the fraction grows and stays below 1 until the end.
        let fractions = reports.filter { !$0.finished }.compactMap(\.fraction)
        #expect(!fractions.isEmpty && fractions == fractions.sorted() && fractions.allSatisfy { $0 < 1 }, "\(fractions)")
        #expect(reports.last?.finished == true && reports.last?.changes == pulled.received)
    }

    @Test func againstAnOlderServerTheClientSendsAndReadsPlainJSON() throws {
        let s = try Setup(old: true)
        let a = try s.office("a")
        try addMembers(200, to: a)
        let pushed = try SyncClient(replica: a).push()
        #expect(pushed.sent > 0)
        let pushes = s.recorder.requests.filter { $0.path == "/v1/push" }
        #expect(!pushes.isEmpty && pushes.allSatisfy { $0.contentType == "application/json" && $0.contentEncoding == nil }, "\(pushes)")
        let b = try s.office("b")
        _ = try SyncClient(replica: b).pull()
        #expect(s.recorder.requests.filter { $0.path == "/v1/pull" }.allSatisfy { $0.answerType?.hasPrefix("application/json") == true })
        #expect(try b.database.scalar("SELECT count(*) FROM members") == .integer(200))
    }

    @Test func withPlainChosenTheClientAsksForNothingNew() throws {
        let s = try Setup(old: false)
        let a = try s.office("a")
        try addMembers(100, to: a)
        let client = try SyncClient(replica: a)
        client.wire = .plain
        _ = try client.push()
        _ = try client.pull()
        for r in s.recorder.requests where r.path == "/v1/push" || r.path == "/v1/pull" {
            #expect(r.contentEncoding == nil && r.answerEncoding == nil && r.contentType != CompactForm.mediaType && r.answerType != CompactForm.mediaType, "\(r)")
        }
    }
}
