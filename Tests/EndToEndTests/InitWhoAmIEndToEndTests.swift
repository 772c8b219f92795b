import Foundation
import Testing
import TestSupport

/// `cpsync init` learns the office's site from the server (`GET /v1/whoami`): `--site` may be left out, a `--site`
/// that differs from the token's is refused and nothing is created, an admin or unknown token is refused, and with
/// no server to ask `--site` is required as before. Records entered before the first pull belong to the office.
@Suite(.serialized) struct InitWhoAmIEndToEndTests {
    @Test func initAsksTheServerWhichSiteTheTokenBelongsTo() throws {
        let county = try County("whoami", sites: ["huashan"])
        defer { county.cleanup() }
        let ws = county.ws, url = county.daemon.url
        let huashanToken = county.tokens["huashan"]!

        // No --site: the server says huashan; a member added before any pull belongs to huashan.
        let db = ws.path("huashan.db")
        let ok = try run(Binaries.cpsync, ["init", "--db", db, "--server", url, "--token", huashanToken], env: ["LANG": "zh_CN.UTF-8"])
        #expect(ok.ok && ok.stdout.contains("huashan") && ok.stdout.contains("华山镇政协工委"), "\(ok.stdout) \(ok.stderr)")
        let office = Office(site: "huashan", db: db)
        try office.verb(["member", "add", "--name", "王芳"])
        let shown = try office.verb(["member", "show", "王芳", "--json"]).stdout
        #expect((try JSONSerialization.jsonObject(with: Data(shown.utf8)) as? [String: Any])?["site_id"] as? String == "huashan", "\(shown)")
        let proposal = try office.verb(["proposal", "add", "--title", "关于乡村公路的提案", "--proposer", "王芳", "--year", "2026", "--json"]).stdout
        #expect(proposal.contains("\"site_id\" : \"huashan\""), "\(proposal)")
        try office.must(["sync"])
        #expect(try county.office("county").must(["sync"]).ok)

        // A --site that is not the token's: refused, nothing created.
        let wrong = ws.path("wrong.db")
        let mismatch = try run(Binaries.cpsync, ["init", "--db", wrong, "--server", url, "--token", huashanToken, "--site", "chengguan"])
        #expect(mismatch.status == 65 && mismatch.stderr.contains("huashan") && mismatch.stderr.contains("nothing was created"), "\(mismatch.stderr)")
        #expect(!FileManager.default.fileExists(atPath: wrong))
        // The same --site as the token's is fine.
        #expect(try run(Binaries.cpsync, ["init", "--db", ws.path("same.db"), "--server", url, "--token", huashanToken, "--site", "huashan"]).ok)

        // An admin token or an unknown one: refused, nothing created.
        let adminToken = try county.daemon.addAdmin("zhang")
        let admin = try run(Binaries.cpsync, ["init", "--db", wrong, "--server", url, "--token", adminToken], env: ["LANG": "zh_CN.UTF-8"])
        #expect(admin.status == 65 && admin.stderr.contains("管理员令牌"), "\(admin.stderr)")
        let unknown = try run(Binaries.cpsync, ["init", "--db", wrong, "--server", url, "--token", "not-a-token", "--site", "huashan"])
        #expect(unknown.status == 77, "\(unknown.stderr)")
        #expect(!FileManager.default.fileExists(atPath: wrong))
    }

    @Test func withNoServerToAskTheSiteMustBeGiven() throws {
        let ws = TempDir("whoami-offline")
        defer { ws.cleanup() }
        // A port nobody listens on: bind one, note it, close it.
        let closed = "http://127.0.0.1:\(try Self.unusedPort())"
        let db = ws.path("offline.db")
        let refused = try run(Binaries.cpsync, ["init", "--db", db, "--server", closed, "--token", "t"])
        #expect(refused.status == 64 && refused.stderr.contains("--site") && refused.stderr.contains("nothing was created"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: db))
        let offline = try run(Binaries.cpsync, ["init", "--db", db, "--server", closed, "--token", "t", "--site", "huashan"])
        #expect(offline.ok && offline.stderr.contains("cannot be reached"), "\(offline.stderr)")
        let status = try run(Binaries.cpsync, ["status", "--db", db, "--json"])
        #expect(JSONText.string(status.stdout, "site") == "huashan", "\(status.stdout)")
    }

    static func unusedPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw HarnessError.failed("no free port") }
        return UInt16(bigEndian: addr.sin_port)
    }
}
