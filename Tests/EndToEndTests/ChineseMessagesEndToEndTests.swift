import Foundation
import Testing
import TestSupport

/// Under zh_*, the server's errors are shown in Chinese by their protocol code with the server's own detail kept,
/// and exports with Chinese headers carry Chinese status values (which import reads back).
@Suite(.serialized) struct ChineseMessagesEndToEndTests {
    @Test func serverErrorsAreChineseByCodeAndKeepTheServersDetail() throws {
        let county = try County("zh-errors", sites: ["huashan"])
        defer { county.cleanup() }
        let admin = try county.daemon.addAdmin("zhang")
        let zh = ["LANG": "zh_CN.UTF-8", "HOME": county.ws.path("home")]
        let base = ["--server", county.daemon.url]

        let badToken = try run(Binaries.cpsync, ["conflicts", "list"] + base + ["--token", "wrong"], env: zh)
        #expect(badToken.status == 77 && badToken.stderr.contains("服务器拒绝了令牌") && badToken.stderr.contains("unauthorized")
                && badToken.stderr.contains("unknown or revoked token"), "\(badToken.stderr)")
        let siteToken = try run(Binaries.cpsync, ["conflicts", "list"] + base + ["--token", county.tokens["huashan"]!], env: zh)
        #expect(siteToken.status == 77 && siteToken.stderr.contains("无权进行此操作") && siteToken.stderr.contains("admin token"), "\(siteToken.stderr)")
        let missing = try run(Binaries.cpsync, ["conflicts", "show", "999"] + base + ["--token", admin], env: zh)
        #expect(missing.status == 65 && missing.stderr.contains("找不到") && missing.stderr.contains("999"), "\(missing.stderr)")
        // In English the server's words are shown as they are.
        let en = try run(Binaries.cpsync, ["conflicts", "list"] + base + ["--token", "wrong"], env: ["HOME": county.ws.path("home")])
        #expect(en.status == 77 && en.stderr.contains("unknown or revoked token") && !en.stderr.contains("服务器"), "\(en.stderr)")
    }

    @Test func exportsWithChineseHeadersCarryChineseValuesThatImportReadsBack() throws {
        let ws = TempDir("zh-export")
        defer { ws.cleanup() }
        let db = ["--db", ws.path("county.db")]
        #expect(try run(Binaries.cpsync, ["demo", "seed"] + db).ok)
        let zh = try run(Binaries.cpsync, ["export", "proposals"] + db, env: ["LANG": "zh_CN.UTF-8"])
        #expect(zh.ok && zh.stdout.contains(",办结,") && zh.stdout.contains(",是,") && !zh.stdout.contains(",closed,"), "\(zh.stdout.prefix(600))")
        let en = try run(Binaries.cpsync, ["export", "proposals", "--english-headers"] + db, env: ["LANG": "zh_CN.UTF-8"])
        #expect(en.ok && en.stdout.contains(",closed,"), "codes for scripts: \(en.stdout.prefix(400))")
        let file = ws.path("提案.csv")
        try Data(zh.stdout.utf8).write(to: URL(fileURLWithPath: file))
        let again = try run(Binaries.cpsync, ["import", "proposals", file] + db)
        #expect(again.ok && again.stdout.contains("0 added, 0 updated"), "\(again.stdout) \(again.stderr)")
    }
}
