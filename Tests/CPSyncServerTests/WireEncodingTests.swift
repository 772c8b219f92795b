import CPPCC
import CPSyncCore
import CPSyncHTTP
import CPSyncProtocol
import CPSyncServer
import Foundation
import Testing

/// The negotiated body forms at the daemon (Protocol/README.md §15): an office that asks for nothing gets plain JSON;
/// one that asks gets compact pages and gzip; pushes are read in every form and mean the same.
@Suite struct WireEncodingTests {
    typealias Fixture = RouterTests.Fixture
    let pullPath = "/v1/pull?after=0&protocol=1&schemaVersion=\(CPPCCSchema.version)"

    func office(_ f: Fixture, members: Int) throws -> (Replica, [Change]) {
        let a = try f.office("huashan")
        try a.database.transaction {
            for i in 0..<members {
                try a.database.run("INSERT INTO members(id, name, sector, site_id, employer) VALUES (?, ?, '教育界', 'huashan', '华山镇中心小学')",
                                   [.text("9e0c\(i)-委员"), .text("王芳\(i)号")])
            }
        }
        return (a, try a.allChanges().filter { $0.version.site == "huashan" })
    }

    func request(_ changes: [Change], batch: String = "b1") -> PushRequest {
        PushRequest(schemaVersion: CPPCCSchema.version, batchId: batch, site: "huashan", changes: changes)
    }

    @Test func statusListsTheFormsTheServerReads() throws {
        let f = try Fixture()
        let status = try StatusResponse.decode(f.request("GET", "/v1/status").body)
        #expect(status.encodings == ["compact-1", "gzip"])
    }

    @Test func aPullThatAsksForNothingGetsPlainJSONWithTheHead() throws {
        let f = try Fixture()
        let (_, changes) = try office(f, members: 50)
        #expect(f.request("POST", "/v1/push", token: f.huashan, body: request(changes).encoded()).status == 200)
        let r = f.request("GET", pullPath, token: f.huashan)
        #expect(r.status == 200)
        #expect(r.headers["Content-Type"] == "application/json; charset=utf-8")
        #expect(r.headers["Content-Encoding"] == nil)
        let page = try PullResponse.decode(r.body)
        #expect(page.changes.count >= changes.count)
        #expect(page.head != nil && page.head! >= page.cursor)
    }

    @Test func aPullThatAsksForCompactAndGzipGetsThemAndTheSameChanges() throws {
        let f = try Fixture()
        let (_, changes) = try office(f, members: 50)
        #expect(f.request("POST", "/v1/push", token: f.huashan, body: request(changes).encoded()).status == 200)
        let plain = try PullResponse.decode(f.request("GET", pullPath, token: f.huashan).body)
        let compact = f.request("GET", pullPath, token: f.huashan, headers: [("Accept", CompactForm.mediaType + ", application/json;q=0.5")])
        #expect(compact.headers["Content-Type"] == CompactForm.mediaType)
        let compactPage = try PullResponse.decodeCompact(compact.body)
        #expect(compactPage == plain)
        let both = f.request("GET", pullPath, token: f.huashan, headers: [("Accept", CompactForm.mediaType), ("Accept-Encoding", "gzip, deflate")])
        #expect(both.headers["Content-Encoding"] == "gzip" && both.headers["Vary"] == "Accept-Encoding")
        let inflated = try Gzip.decompress(both.body, maxBytes: 1 << 24)
        #expect(try PullResponse.decodeCompact(inflated) == plain)
        #expect(both.body.count * 4 < compact.body.count && compact.body.count * 4 < plain.encoded().count,
                "gzip \(both.body.count) B, compact \(compact.body.count) B, plain \(plain.encoded().count) B")
        // q=0 refuses gzip; small bodies are never compressed.
        #expect(f.request("GET", pullPath, token: f.huashan, headers: [("Accept-Encoding", "gzip;q=0")]).headers["Content-Encoding"] == nil)
        #expect(f.request("GET", "/v1/status", headers: [("Accept-Encoding", "gzip")]).headers["Content-Encoding"] == nil)
    }

    @Test func aCompactGzipPushIsTheSameBatchAsItsPlainForm() throws {
        let f = try Fixture()
        let (_, changes) = try office(f, members: 30)
        let req = request(changes)
        let packed = f.request("POST", "/v1/push", token: f.huashan, body: Gzip.compress(req.encodedCompact()),
                               headers: [("Content-Type", CompactForm.mediaType), ("Content-Encoding", "gzip")])
        #expect(packed.status == 200, "\(String(decoding: packed.body, as: UTF8.self))")
        #expect(try PushResponse.decode(packed.body).applied == changes.count)
        // The same batch re-sent in the plain form is a replay (same digest), byte for byte.
        let plain = f.request("POST", "/v1/push", token: f.huashan, body: req.encoded())
        #expect(plain.headers["CPSync-Replayed"] == "true" && plain.body == packed.body)
        // And compact without gzip, too.
        let compact = f.request("POST", "/v1/push", token: f.huashan, body: req.encodedCompact(), headers: [("Content-Type", CompactForm.mediaType)])
        #expect(compact.headers["CPSync-Replayed"] == "true" && compact.body == packed.body)
        let stored = try Database(path: f.store.databasePath).scalar("SELECT count(*) FROM members WHERE site_id = 'huashan'")
        #expect(stored == .integer(30))
    }

    @Test func badCompactOrGzipPushesAreRefusedAndApplyNothing() throws {
        let f = try Fixture()
        let (_, changes) = try office(f, members: 5)
        let compact = [("Content-Type", CompactForm.mediaType)]
        func refused(_ body: [UInt8], _ headers: [(String, String)], status: Int, code: ErrorCode, _ needle: String) {
            let r = f.request("POST", "/v1/push", token: f.huashan, body: body, headers: headers)
            let e = try? ErrorBody.decode(r.body)
            #expect(r.status == status && e?.code == code, "\(String(decoding: r.body, as: UTF8.self))")
            #expect(e?.message.contains(needle) == true && e?.message.contains("nothing was applied") == true, "\(e?.message ?? "")")
        }
        refused(Array("not gzip".utf8), [("Content-Encoding", "gzip")], status: 400, code: .badRequest, "not valid gzip")
        refused(request(changes).encoded(), [("Content-Encoding", "br")], status: 400, code: .badRequest, "Content-Encoding br")
        refused(Gzip.compress([UInt8](repeating: 0x20, count: ProtocolLimits.maxBodyBytes + 1)), [("Content-Encoding", "gzip")],
                status: 413, code: .payloadTooLarge, "inflates to more than")
        // A plain body sent as compact, and a compact body naming a table index it does not list.
        refused(request(changes).encoded(), compact, status: 400, code: .badRequest, "missing member")
        var bad = String(decoding: request(changes).encodedCompact(), as: UTF8.self)
        bad = bad.replacingOccurrences(of: "\"rows\":[[0,", with: "\"rows\":[[7,")
        refused(Array(bad.utf8), compact, status: 400, code: .badRequest, "table index 7")
        // A compact body of an unknown protocol version is 426, as a plain one.
        let future = String(decoding: request(changes).encodedCompact(), as: UTF8.self).replacingOccurrences(of: "{\"protocol\":1", with: "{\"protocol\":9")
        let r = f.request("POST", "/v1/push", token: f.huashan, body: Array(future.utf8), headers: compact)
        #expect(r.status == 426)
        #expect(try Database(path: f.store.databasePath).scalar("SELECT count(*) FROM members") == .integer(0))
    }

    @Test func aGzipBodyWithoutAValidTokenIsNotInflated() throws {
        let f = try Fixture()
        let r = f.request("POST", "/v1/push", token: "nope", body: Array("garbage".utf8), headers: [("Content-Encoding", "gzip")])
        #expect(r.status == 401)
    }
}
