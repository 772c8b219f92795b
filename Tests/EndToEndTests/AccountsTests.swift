import CPPCC
import CPSyncCore
import CPSyncProtocol
import Foundation
import Testing

/// `cpsyncd site revoke|token|activate|move|list` and `cpsyncd admin list|revoke`, run as the real binary against a
/// running daemon (as an operator would), and the account audit trail they leave.
@Suite("Accounts: tokens, the site tree and their audit trail") struct AccountsTests {
    /// Runs `cpsyncd ARGS --data <county>` with the given OS user and language.
    static func cpsyncd(_ county: County, _ args: [String], user: String = "wangli", lang: String = "C.UTF-8") throws -> RunResult {
        try run(Binaries.cpsyncd, args + ["--data", county.daemon.dataDir], env: ["USER": user, "LANG": lang])
    }

    static func pull(_ county: County, token: String) throws -> HTTPAnswer {
        try HTTPAnswer.send("GET", county.daemon.url + "/v1/pull?after=0&protocol=\(ProtocolVersion.current)&schemaVersion=\(CPPCCSchema.version)", token: token)
    }

    static func siteRow(_ county: County, _ id: String) throws -> [Value] {
        try Database(path: county.serverDB).query("SELECT parent, revoked FROM _srv_sites WHERE id = ?", [.text(id)]).first ?? []
    }

    @Test func aRevokedSiteTokenIsRefusedByTheRunningDaemonAtOnceAndActivateIssuesANewOne() throws {
        let county = try County("acct-revoke", sites: ["huashan"])
        defer { county.cleanup() }
        let old = county.tokens["huashan"]!
        let office = try county.office("huashan")
        try office.must(["pull"])

        let revoke = try Self.cpsyncd(county, ["site", "revoke", "huashan"])
        #expect(revoke.ok, "\(revoke.stderr)")
        #expect(try Self.pull(county, token: old).status == 401)
        let refused = try office.cpsync(["pull"])
        #expect(refused.status == 77, "\(refused.stderr)")
        let listed = try Self.cpsyncd(county, ["site", "list", "--json"])
        let huashan = (try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])?.first { $0["id"] as? String == "huashan" }
        #expect(huashan?["name"] as? String == "华山镇政协工委" && huashan?["kind"] as? String == "township", "\(listed.stdout)")
        #expect(huashan?["parent"] as? String == "county" && huashan?["revoked"] as? Bool == true, "\(listed.stdout)")

        // Revoking twice, or rotating with `activate` an active site, is refused data (65) and changes nothing.
        #expect(try Self.cpsyncd(county, ["site", "revoke", "huashan"]).status == 65)
        let activate = try Self.cpsyncd(county, ["site", "activate", "huashan"])
        #expect(activate.ok, "\(activate.stderr)")
        let fresh = activate.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(fresh.count >= 40 && fresh != old)
        #expect(try Self.pull(county, token: old).status == 401, "the revoked token stays dead")
        #expect(try Self.pull(county, token: fresh).status == 200)
        #expect(try Self.cpsyncd(county, ["site", "activate", "huashan"]).status == 65)
        #expect(try Self.siteRow(county, "huashan") == [.text("county"), .integer(0)])
    }

    @Test func siteTokenIssuesANewTokenAndTheOldOneStopsWorking() throws {
        let county = try County("acct-token", sites: ["huashan", "chengguan"])
        defer { county.cleanup() }
        let old = county.tokens["huashan"]!
        #expect(try Self.pull(county, token: old).status == 200)
        let r = try Self.cpsyncd(county, ["site", "token", "huashan"])
        #expect(r.ok, "\(r.stderr)")
        let new = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!new.contains("\n") && new != old, "exactly the token on stdout: \(r.stdout)")
        #expect(r.stderr.contains("old one no longer works"))
        #expect(try Self.pull(county, token: old).status == 401)
        #expect(try Self.pull(county, token: new).status == 200)
        // Other sites are untouched.
        #expect(try Self.pull(county, token: county.tokens["chengguan"]!).status == 200)
        // `site token` on a revoked site re-activates it.
        #expect(try Self.cpsyncd(county, ["site", "revoke", "chengguan"]).ok)
        let again = try Self.cpsyncd(county, ["site", "token", "chengguan"])
        #expect(again.ok)
        #expect(again.stderr.contains("re-activated"))
        #expect(try Self.pull(county, token: again.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).status == 200)
    }

    @Test func adminListShowsAdminsAndRevokeStopsTheTokenAtOnce() throws {
        let county = try County("acct-admin", sites: ["huashan"])
        defer { county.cleanup() }
        let zhang = try county.daemon.addAdmin("zhang")
        let li = try county.daemon.addAdmin("李四")
        let audit = county.daemon.url + "/v1/admin/accounts-audit"
        #expect(try HTTPAnswer.send("GET", audit, token: zhang).status == 200)

        let list = try Self.cpsyncd(county, ["admin", "list"])
        #expect(list.ok)
        let lines = list.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("NAME") == true)
        #expect(lines.contains { $0.hasPrefix("zhang ") && $0.hasSuffix("active") }, "\(list.stdout)")
        #expect(lines.contains { $0.hasPrefix("李四 ") && $0.hasSuffix("active") }, "\(list.stdout)")

        let revoke = try Self.cpsyncd(county, ["admin", "revoke", "zhang"])
        #expect(revoke.ok, "\(revoke.stderr)")
        #expect(try HTTPAnswer.send("GET", audit, token: zhang).status == 401)
        #expect(try HTTPAnswer.send("GET", audit, token: li).status == 200)
        let json = try Self.cpsyncd(county, ["admin", "list", "--json"])
        let items = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [[String: Any]]
        #expect(items.map { $0["name"] as? String } == ["zhang", "李四"])
        #expect(items.map { $0["revoked"] as? Bool } == [true, false])
        #expect(items.allSatisfy { ($0["created"] as? Int ?? 0) > 1_700_000_000_000 })

        let twice = try Self.cpsyncd(county, ["admin", "revoke", "zhang"])
        #expect(twice.status == 65)
        let unknown = try Self.cpsyncd(county, ["admin", "revoke", "wang"], lang: "zh_CN.UTF-8")
        #expect(unknown.status == 65)
        #expect(unknown.stderr.contains("没有管理员 'wang'"), "\(unknown.stderr)")
    }

    @Test func siteMoveReparentsOnTheServerAndEveryOfficeReceivesIt() throws {
        let county = try County("acct-move", sites: ["huashan", "chengguan"], start: false)
        defer { county.cleanup() }
        var tokens = county.tokens
        tokens["taohe"] = try county.daemon.addSite("taohe", name: "桃河社区联络站", kind: "station", parent: "huashan")
        try county.daemon.start()
        let offices = try ["huashan", "chengguan", "taohe"].map { try Office.create($0, in: county.ws, daemon: county.daemon, token: tokens[$0]!) }
        for o in offices { try o.must(["sync"]) }
        #expect(try offices[1].query("SELECT parent_id FROM sites WHERE id = 'taohe'") == [[.text("huashan")]])

        // The daemon keeps running: an operator moves the station from 华山镇 to 城关镇.
        let move = try Self.cpsyncd(county, ["site", "move", "taohe", "--parent", "chengguan"])
        #expect(move.ok, "\(move.stderr)")
        #expect(try Self.siteRow(county, "taohe").first == .text("chengguan"))
        #expect(try Database(path: county.serverDB).query("SELECT parent_id FROM sites WHERE id = 'taohe'") == [[.text("chengguan")]])
        for o in offices {
            try o.must(["sync"])
            #expect(try o.query("SELECT parent_id FROM sites WHERE id = 'taohe'") == [[.text("chengguan")]], "at \(o.site)")
        }
        let listed = try Self.cpsyncd(county, ["site", "list"])
        #expect(listed.stdout.split(separator: "\n").contains { $0.hasPrefix("taohe ") && $0.contains(" chengguan ") && $0.hasSuffix("active") },
                "\(listed.stdout)")
        // Moving it where it already is changes nothing and is not audited.
        let same = try Self.cpsyncd(county, ["site", "move", "taohe", "--parent", "chengguan"])
        #expect(same.ok)
        #expect(same.stderr.contains("already under"))
        #expect(try Database(path: county.serverDB).scalar("SELECT count(*) FROM _srv_audit WHERE action = 'site-move'") == .integer(1))
    }

    /// The county keeps each township's subtree between pushes (access rules v10, `_cppcc_subtrees`) and reads a
    /// township's scope from it: a station moved by the operator while the daemon runs must be its new township's at
    /// once — in the new township's pull (its scope grew: everything again) and in what its pushes may write.
    @Test func aStationMovedWhileTheDaemonRunsIsItsNewTownshipsForPullsAndPushes() throws {
        let county = try County("acct-move-scope", sites: ["huashan", "chengguan"], start: false)
        defer { county.cleanup() }
        var tokens = county.tokens
        tokens["taohe"] = try county.daemon.addSite("taohe", name: "桃河社区联络站", kind: "station", parent: "huashan")
        try county.daemon.start()
        let huashan = try Office.create("huashan", in: county.ws, daemon: county.daemon, token: tokens["huashan"]!)
        let chengguan = try Office.create("chengguan", in: county.ws, daemon: county.daemon, token: tokens["chengguan"]!)
        for o in [huashan, chengguan] { try o.must(["sync"]) }
        // 华山's push of a member of 桃河 has the county keep the townships' subtrees.
        try huashan.must(["member", "add", "--name", "张伟", "--site", "taohe"])
        try huashan.must(["sync"])
        let server = { try Database(path: county.serverDB) }
        #expect(try server().scalar("SELECT count(*) FROM _cppcc_subtrees WHERE acting = 'huashan'") == .integer(2))
        let id = try #require(try huashan.query("SELECT id FROM members WHERE name = '张伟'").first?.first?.stringValue)
        #expect(try chengguan.query("SELECT count(*) FROM members") == [[.integer(0)]])

        let move = try Self.cpsyncd(county, ["site", "move", "taohe", "--parent", "chengguan"])
        #expect(move.ok, "\(move.stderr)")
        // 城关镇's next sync brings 张伟 (its scope now holds 桃河), and its edit of him is taken.
        try chengguan.must(["sync"])
        #expect(try chengguan.query("SELECT name FROM members WHERE id = '\(id)'") == [[.text("张伟")]])
        try chengguan.must(["member", "edit", id, "--phone", "13900000002"])
        try chengguan.must(["sync"])
        #expect(try server().query("SELECT phone, site_id FROM members WHERE id = ?", [.text(id)]) == [[.text("13900000002"), .text("taohe")]])
    }

    @Test func siteMoveRefusesAnUnknownParentACycleTheRootAndTheServerItself() throws {
        let county = try County("acct-move-refused", sites: ["huashan", "chengguan"], start: false)
        defer { county.cleanup() }
        _ = try county.daemon.addSite("taohe", name: "桃河社区联络站", kind: "station", parent: "huashan")
        let before = try contentDump(county.serverDB)
        let cases: [([String], String)] = [
            (["site", "move", "taohe", "--parent", "nowhere"], "parent site 'nowhere' does not exist"),
            (["site", "move", "huashan", "--parent", "taohe"], "cannot move 'huashan' under 'taohe'"),
            (["site", "move", "huashan", "--parent", "huashan"], "cannot move 'huashan' under 'huashan'"),
            (["site", "move", "county", "--parent", "huashan"], "top of the site tree"),
            (["site", "move", "cpsyncd", "--parent", "county"], "county server's own id"),
            (["site", "move", "ghost", "--parent", "county"], "no site 'ghost'"),
            (["site", "move", "chengguan", "--parent", "taohe"], "cannot place 'chengguan' (a township) under 'taohe' (a station)"),
            (["site", "move", "chengguan", "--parent", "huashan"], "a township or street holds stations"),
        ]
        for (args, message) in cases {
            let r = try Self.cpsyncd(county, args)
            #expect(r.status == 65, "\(args): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
        }
        let zh = try Self.cpsyncd(county, ["site", "move", "huashan", "--parent", "taohe"], lang: "zh_CN.UTF-8")
        #expect(zh.status == 65)
        #expect(zh.stderr.contains("站点树会成环"), "\(zh.stderr)")
        let zhKind = try Self.cpsyncd(county, ["site", "move", "chengguan", "--parent", "taohe"], lang: "zh_CN.UTF-8")
        #expect(zhKind.status == 65)
        #expect(zhKind.stderr.contains("不能把 'chengguan'（乡镇政协工委）放在 'taohe'（社区联络站）之下"), "\(zhKind.stderr)")
        #expect(try contentDump(county.serverDB) == before)
        #expect(try Self.siteRow(county, "huashan").first == .text("county"))
        #expect(try Database(path: county.serverDB).scalar("SELECT count(*) FROM _srv_audit WHERE action = 'site-move'") == .integer(0))
    }

    @Test func everyAccountChangeIsAuditedWithItsActorAndShownToAdminsOnly() throws {
        let county = try County("acct-audit", sites: ["huashan", "chengguan"], start: false)
        defer { county.cleanup() }
        let admin = try county.daemon.addAdmin("zhang")
        try county.daemon.start()
        for args in [["site", "add", "--id", "taohe", "--name", "桃河社区联络站", "--kind", "station", "--parent", "huashan"],
                     ["site", "token", "huashan"], ["site", "move", "taohe", "--parent", "chengguan"], ["site", "revoke", "taohe"],
                     ["site", "activate", "taohe"], ["admin", "add", "--name", "李四"], ["admin", "revoke", "李四"]] {
            let r = try Self.cpsyncd(county, args, user: "wangli")
            #expect(r.ok, "\(args): \(r.stderr)")
        }
        // Refused commands leave no entry (taohe is now under chengguan: this would be a cycle).
        #expect(try Self.cpsyncd(county, ["site", "move", "chengguan", "--parent", "taohe"]).status == 65)

        let answer = try HTTPAnswer.send("GET", county.daemon.url + "/v1/admin/accounts-audit", token: admin)
        #expect(answer.status == 200, "\(answer.text)")
        let entries = try AccountAuditResponse.decode(answer.bytes).entries
        #expect(entries.map(\.action) == ["site-add", "site-add", "site-add", "admin-add", "site-add", "site-token", "site-move",
                                          "site-revoke", "site-activate", "admin-add", "admin-revoke"])
        #expect(entries.map(\.subject) == ["county", "huashan", "chengguan", "zhang", "taohe", "huashan", "taohe", "taohe", "taohe", "李四", "李四"])
        #expect(entries.suffix(7).allSatisfy { $0.actor == "cli:wangli" })
        #expect(entries.first { $0.action == "site-move" }?.detail == "from=huashan to=chengguan")
        #expect(entries.map(\.at) == entries.map(\.at).sorted())
        // No token appears in the trail, only a tag of its hash.
        let rotated = entries.first { $0.action == "site-token" }!.detail
        #expect(rotated.hasPrefix("token=") && rotated.count == "token=".count + 8)
        #expect(!answer.text.contains(county.tokens["huashan"]!))

        #expect(try HTTPAnswer.send("GET", county.daemon.url + "/v1/admin/accounts-audit").status == 401)
        #expect(try HTTPAnswer.send("GET", county.daemon.url + "/v1/admin/accounts-audit", token: county.tokens["chengguan"]!).status == 403)
        #expect(try HTTPAnswer.send("POST", county.daemon.url + "/v1/admin/accounts-audit", token: admin).status == 405)
    }

    @Test(.timeLimit(.minutes(3))) func theAdminPageListsAccountChangesNewestFirstInTheBrowsersLanguage() throws {
        let county = try County("acct-page", sites: ["huashan", "chengguan"], start: false)
        defer { county.cleanup() }
        let admin = try county.daemon.addAdmin("zhang")
        try county.daemon.start()
        #expect(try Self.cpsyncd(county, ["site", "add", "--id", "taohe", "--name", "桃河社区联络站", "--kind", "station", "--parent", "huashan"]).ok)
        #expect(try Self.cpsyncd(county, ["site", "move", "taohe", "--parent", "chengguan"]).ok)
        #expect(try Self.cpsyncd(county, ["site", "revoke", "huashan"]).ok)

        let zh = try AdminBrowser.drive("accounts", url: county.daemon.url, token: admin, conflict: "-", lang: "zh-CN", prefix: "accounts-zh")
        #expect(zh.string("htmlLang") == "zh-CN")
        #expect(zh.string("accountsTitle") == "站点、令牌和管理员")
        #expect(zh.strings("accountsHeaders") == ["时间", "操作人", "操作", "站点或管理员", "详情"])
        #expect(zh.string("accountsSummary") == "共 7 条变更")
        #expect(zh.strings("accountsActions") == ["site-revoke", "site-move", "site-add", "admin-add", "site-add", "site-add", "site-add"])
        let zhRows = zh["accountsRows"] as? [[String]] ?? []
        #expect(zhRows.first.map { Array($0.dropFirst()) } == ["cli:wangli", "吊销站点令牌", "huashan", ""])
        #expect(zhRows.dropFirst().first.map { Array($0.dropFirst()) } == ["cli:wangli", "调整站点上级", "taohe", "上级 huashan → chengguan"])
        #expect(zhRows.dropFirst(2).first?.last?.hasPrefix("类别：社区联络站；上级：huashan；名称：桃河社区联络站；令牌标记：") == true,
                "the details in words: \(zhRows.dropFirst(2).first ?? [])")
        #expect(zh.problems.isEmpty, "console errors or CSP violations: \(zh.problems)")

        let en = try AdminBrowser.drive("accounts", url: county.daemon.url, token: admin, conflict: "-", lang: "en-US", prefix: "accounts-en")
        #expect(en.string("accountsTitle") == "Sites, tokens and admins")
        let enRows = en["accountsRows"] as? [[String]] ?? []
        #expect(enRows.dropFirst().first.map { Array($0.dropFirst()) } == ["cli:wangli", "site moved", "taohe", "parent huashan → chengguan"])
        #expect(en.problems.isEmpty, "\(en.problems)")
        #expect(AdminBrowser.isPNG(AdminBrowser.artifacts + "/accounts-en-accounts.png"))
    }

    @Test func accountCommandsMapMistakesAndDataDirectoryProblemsToExitCodes() throws {
        let county = try County("acct-exit", sites: ["huashan"], start: false)
        defer { county.cleanup() }
        // Usage: 64.
        for args in [["site", "move", "huashan"], ["site", "token"], ["site", "revoke", "huashan", "chengguan"],
                     ["admin", "frobnicate"], ["admin"], ["admin", "revoke"], ["site", "activate", "huashan", "--colour", "red"]] {
            let r = try Self.cpsyncd(county, args)
            #expect(r.status == 64, "\(args): \(r.status) \(r.stderr)")
        }
        // Refused data: 65, in Chinese under zh_CN.
        let unknown = try Self.cpsyncd(county, ["site", "token", "ghost"], lang: "zh_CN.UTF-8")
        #expect(unknown.status == 65)
        #expect(unknown.stderr.contains("没有站点 'ghost'"), "\(unknown.stderr)")
        #expect(unknown.stdout.isEmpty, "no token printed for a refused command")
        // A data directory without a county database: 74, and nothing is created there.
        let missing = county.ws.path("typo")
        for args in [["site", "list"], ["admin", "list"], ["site", "token", "huashan"], ["admin", "revoke", "zhang"]] {
            let r = try run(Binaries.cpsyncd, args + ["--data", missing])
            #expect(r.status == 74, "\(args): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("no county database"), "\(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: missing))
        // A data directory that is a file: 74.
        let file = county.ws.path("plain-file")
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        let onFile = try run(Binaries.cpsyncd, ["admin", "add", "--name", "zhang", "--data", file])
        #expect(onFile.status == 74, "\(onFile.status) \(onFile.stderr)")
    }
}
