import CPPCC
import CPSyncCore
import CPSyncProtocol
import Foundation
import Testing

/// Admin accounts managed from the admin page's endpoints (`POST /v1/admin/accounts`,
/// `/v1/admin/accounts/{name}/token|revoke`) against a running daemon: the same rules and audit trail as
/// `cpsyncd admin …`, the last active admin kept, and the page itself on a 390 px screen.
@Suite("Admin accounts: managed over HTTP and on the admin page") struct AdminAccountsTests {
    /// A county with the sites county and huashan and one admin, zhang; started.
    static func county(_ name: String) throws -> (County, String) {
        let county = try County(name, sites: ["huashan"], start: false)
        do {
            let admin = try county.daemon.addAdmin("zhang")
            try county.daemon.start()
            return (county, admin)
        } catch {
            county.cleanup()
            throw error
        }
    }

    static func path(_ name: String, _ verb: String) -> String {
        "/v1/admin/accounts/" + name.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! + "/" + verb
    }

    @Test func adminsAreAddedGivenTokensAndRevokedOverHTTPWithTheCommandsRulesAndAudited() throws {
        let (county, zhang) = try Self.county("admin-accounts-http")
        defer { county.cleanup() }
        let url = county.daemon.url
        func post(_ path: String, _ body: String? = nil, token: String? = nil, lang: String = "en") throws -> HTTPAnswer {
            try HTTPAnswer.send("POST", url + path, token: token ?? zhang, headers: ["Accept-Language": lang], body: body)
        }
        func works(_ token: String) throws -> Int { try HTTPAnswer.send("GET", url + "/v1/admin/sites", token: token).status }

        // Add: 201, the token in this answer only, and it signs in at once as that admin.
        let created = try post("/v1/admin/accounts", #"{"name":"李科长"}"#)
        #expect(created.status == 201, "\(created.text)")
        let added = try AdminTokenResponse.decode(created.bytes)
        #expect(added.admin.name == "李科长" && !added.admin.revoked && added.token.count >= 40)
        #expect(try works(added.token) == 200)
        let who = try HTTPAnswer.send("GET", url + "/v1/whoami", token: added.token)
        #expect(who.text.contains("\"admin\":\"李科长\""), "\(who.text)")
        let list = try HTTPAnswer.send("GET", url + "/v1/admin/sites", token: zhang)
        #expect(try SiteListResponse.decode(list.bytes).admins.map(\.name) == ["zhang", "李科长"])
        #expect(!list.text.contains(added.token), "the token is shown once, not listed")

        // The command's refusals: duplicate and bad names, 400 with a message in the request's language; nothing added.
        let twice = try post("/v1/admin/accounts", #"{"name":"李科长"}"#, lang: "zh-CN,zh;q=0.9")
        #expect(twice.status == 400 && twice.errorCode == "bad_request")
        #expect(twice.text.contains("管理员“李科长”已存在"), "\(twice.text)")
        #expect(try post("/v1/admin/accounts", #"{"name":"李科长"}"#).text.contains("admin '李科长' already exists"))
        for body in [#"{"name":""}"#, #"{"name":" 李科长 "}"#, #"{"name":"李\u0007长"}"#, "{\"name\":\"\(String(repeating: "长", count: 65))\"}"] {
            let r = try post("/v1/admin/accounts", body)
            #expect(r.status == 400 && r.text.contains("must be 1–64 characters"), "\(body): \(r.status) \(r.text)")
        }
        #expect(try post("/v1/admin/accounts", "{}").text.contains("malformed"))
        #expect(try post("/v1/admin/accounts", #"{"name":" 王 "}"#, lang: "zh-CN").text.contains("首尾不能有空格"))
        let cli = try run(Binaries.cpsyncd, ["admin", "add", "--name", " 王 ", "--data", county.daemon.dataDir])
        #expect(cli.status == 65 && cli.stderr.contains("must be 1–64 characters"), "the command refuses the same names: \(cli.stderr)")
        #expect(try SiteListResponse.decode(try HTTPAnswer.send("GET", url + "/v1/admin/sites", token: zhang).bytes).admins.count == 2)

        // A new token: the old one stops at once, the new one works.
        let rotated = try post(Self.path("李科长", "token"))
        #expect(rotated.status == 200, "\(rotated.text)")
        let second = try AdminTokenResponse.decode(rotated.bytes)
        #expect(second.token != added.token && !second.admin.revoked)
        #expect(try works(added.token) == 401)
        #expect(try works(second.token) == 200)

        // Revoke: the token gets 401 at once; twice is refused; an unknown admin is 404.
        let revoked = try post(Self.path("李科长", "revoke"))
        #expect(revoked.status == 200, "\(revoked.text)")
        #expect(try AdminAccountDTO.decode(revoked.bytes).revoked)
        #expect(try works(second.token) == 401)
        #expect(try post(Self.path("李科长", "revoke")).status == 400)
        #expect(try post(Self.path("王五", "revoke")).status == 404)
        #expect(try post(Self.path("王五", "token")).status == 404)

        // zhang is now the last active admin: revoking himself is refused, in Chinese for a Chinese browser, and he
        // keeps working.
        let last = try post(Self.path("zhang", "revoke"), lang: "zh-CN,zh;q=0.9")
        #expect(last.status == 400 && last.text.contains("至少保留一个有效的管理员账户"), "\(last.text)")
        #expect(try post(Self.path("zhang", "revoke")).text.contains("keep at least one active admin account"))
        #expect(try works(zhang) == 200)

        // A new token re-activates 李科长; then zhang may revoke himself, and his token stops.
        let back = try AdminTokenResponse.decode(try post(Self.path("李科长", "token")).bytes)
        #expect(try !back.admin.revoked && works(back.token) == 200)
        let selfRevoke = try post(Self.path("zhang", "revoke"))
        #expect(selfRevoke.status == 200, "\(selfRevoke.text)")
        #expect(try works(zhang) == 401)

        // A name with a slash is one path segment's worth of name (the path is decoded before it is split).
        let slash = try post("/v1/admin/accounts", #"{"name":"县/办公室"}"#, token: back.token)
        #expect(slash.status == 201, "\(slash.text)")
        let slashToken = try AdminTokenResponse.decode(try post(Self.path("县/办公室", "token"), token: back.token).bytes)
        #expect(try slashToken.admin.name == "县/办公室" && works(slashToken.token) == 200)

        // The command line issues admin tokens too (the same store call).
        let cliToken = try run(Binaries.cpsyncd, ["admin", "token", "县/办公室", "--data", county.daemon.dataDir], env: ["USER": "wangli"])
        #expect(cliToken.ok, "\(cliToken.stderr)")
        #expect(try works(cliToken.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) == 200)
        #expect(try works(slashToken.token) == 401)

        // Admins only: a site token gets 403, no token 401, a GET 405.
        let site = county.tokens["huashan"]!
        for p in ["/v1/admin/accounts", Self.path("李科长", "token"), Self.path("李科长", "revoke")] {
            #expect(try post(p, #"{"name":"站点"}"#, token: site).status == 403, "\(p)")
            #expect(try HTTPAnswer.send("POST", url + p, body: #"{"name":"站点"}"#).status == 401, "\(p)")
        }
        #expect(try HTTPAnswer.send("GET", url + "/v1/admin/accounts", token: back.token).status == 405)

        // Every change is in the account audit trail under the admin who made it; tokens only as a tag.
        let audit = try HTTPAnswer.send("GET", url + "/v1/admin/accounts-audit", token: back.token)
        let entries = try AccountAuditResponse.decode(audit.bytes).entries
        let page = entries.filter { $0.actor.hasPrefix("admin:") }.map { "\($0.actor) \($0.action) \($0.subject)" }
        #expect(page == ["admin:zhang admin-add 李科长", "admin:zhang admin-token 李科长", "admin:zhang admin-revoke 李科长",
                         "admin:zhang admin-activate 李科长", "admin:zhang admin-revoke zhang", "admin:李科长 admin-add 县/办公室",
                         "admin:李科长 admin-token 县/办公室"], "\(page)")
        #expect(entries.contains { $0.actor == "cli:wangli" && $0.action == "admin-token" && $0.subject == "县/办公室" })
        for t in [added.token, second.token, back.token, slashToken.token] { #expect(!audit.text.contains(t)) }
        #expect(entries.filter { $0.action == "admin-add" || $0.action == "admin-token" }.allSatisfy { $0.detail.hasPrefix("token=") && $0.detail.count == 14 })
    }

    @Test(.timeLimit(.minutes(5))) func anAdminIsAddedAndRevokedOnThePageAtA390PixelScreenAndTheLastAdminIsKept() throws {
        let (county, zhang) = try Self.county("admin-accounts-browser")
        defer { county.cleanup() }
        let url = county.daemon.url
        let zh = try AdminBrowser.drive("admins", url: url, token: zhang, conflict: "-", lang: "zh-CN", prefix: "admins-zh")
        for shot in zh.screenshots { print("screenshot: \(shot)") }
        func fits(_ o: Any?, _ what: String) {
            let m = o as? [String: Any] ?? [:]
            #expect(m["innerWidth"] as? Int == 390, "\(what): \(m)")
            #expect(m["overflows"] as? Bool == false, "\(what): scrollWidth \(m["scrollWidth"] ?? "?") > 390: \(m["offenders"] ?? "")")
        }
        fits(zh["overflowBefore"], "admins before")
        fits(zh["overflowAfterAdd"], "admins after adding one")
        fits(zh["overflowAfterRefusal"], "admins after the last-admin refusal")
        #expect(zh.strings("adminHeaders") == ["管理员", "创建时间", "令牌", "操作"])
        let before = zh["adminsBefore"] as? [[String: Any]] ?? []
        #expect(before.count == 1 && before.first?["name"] as? String == "zhang" && before.first?["you"] as? Bool == true)
        #expect(before.first?["label"] as? String == "\"操作\"", "each fact under its column name at 390 px: \(before)")

        // Added on the page: the token shown once with the admin's wording, and the row.
        let token = zh.string("newAdminToken") ?? ""
        #expect(token.count >= 40, "the new token is shown: \(token)")
        #expect(zh.string("adminTokenBoxText") == "已添加管理员“李科长”。其令牌：")
        #expect(zh.string("adminTokenOnce")?.contains("请当面交给这位管理员") == true, "\(zh.string("adminTokenOnce") ?? "")")
        let after = zh["adminsAfterAdd"] as? [[String: Any]] ?? []
        #expect(after.map { $0["name"] as? String ?? "" } == ["zhang", "李科长"])
        #expect(zh.strings("latinAfterAdd").isEmpty, "English on the Chinese page: \(zh.strings("latinAfterAdd"))")
        #expect(zh.string("duplicateError") == "管理员“李科长”已存在；请换一个姓名，或在上表中为其签发新令牌。")

        // Revoked on the page after a confirmation; the token box is emptied.
        #expect(zh.string("revokeAdminQuestion")?.contains("吊销管理员“李科长”") == true)
        #expect(zh.string("revokeAdminBanner") == "已吊销管理员“李科长”，其令牌立即失效。")
        #expect(zh.string("tokenAfterRevoke") == "")
        #expect(try HTTPAnswer.send("GET", url + "/v1/admin/sites", token: token).status == 401)

        // The last active admin cannot revoke himself; he stays signed in and active.
        #expect(zh.string("lastAdminBanner") == "至少保留一个有效的管理员账户：请先添加另一位管理员，再吊销此账户。", "\(zh.string("lastAdminBanner") ?? "")")
        #expect(zh["confirmShown"] as? Bool == false, "refused before any confirmation")
        #expect(zh.string("viewAfterRefusal") == "accounts-view")

        // A new token for oneself: the page goes on with it; the old one is refused.
        #expect(zh.string("selfTokenQuestion") == "为你自己的账户签发新令牌？本页面随即改用新令牌，旧令牌立即失效。")
        let renewed = zh.string("selfNewToken") ?? ""
        #expect(renewed.count >= 40 && zh["sessionHasNewToken"] as? Bool == true && zh.string("viewAfterSelfToken") == "accounts-view")
        #expect(try HTTPAnswer.send("GET", url + "/v1/admin/sites", token: zhang).status == 401)
        let list = try SiteListResponse.decode(try HTTPAnswer.send("GET", url + "/v1/admin/sites", token: renewed).bytes)
        #expect(list.admins.map { "\($0.name) \($0.revoked)" } == ["zhang false", "李科长 true"])
        let audit = try AccountAuditResponse.decode(try HTTPAnswer.send("GET", url + "/v1/admin/accounts-audit", token: renewed).bytes).entries
        #expect(audit.filter { $0.actor == "admin:zhang" }.map { "\($0.action) \($0.subject)" } == ["admin-add 李科长", "admin-revoke 李科长", "admin-token zhang"])
        #expect(zh.dialogs.isEmpty && zh.problems.isEmpty, "\(zh.dialogs) \(zh.problems)")
        #expect(AdminBrowser.isPNG(AdminBrowser.artifacts + "/admins-zh-admins-390.png"))

        // An English browser: the same, in English (a second admin name, since 李科长 exists now).
        let en = try AdminBrowser.drive("admins", url: url, token: renewed, conflict: "-", lang: "en-US", prefix: "admins-en",
                                        extra: ["--new-admin", "Wang Li"])
        #expect(en.string("htmlLang") == "en")
        #expect(en.strings("adminHeaders") == ["Admin", "Created", "Token", "Actions"])
        #expect(en.string("adminTokenBoxText") == "Admin Wang Li was added. Their token:")
        #expect(en.string("duplicateError")?.hasPrefix("Admin Wang Li already exists") == true)
        #expect(en.string("lastAdminBanner") == "Keep at least one active admin account: add another admin before revoking this one.")
        #expect(en.dialogs.isEmpty && en.problems.isEmpty, "\(en.dialogs) \(en.problems)")
        fits(en["overflowAfterAdd"], "English admins after adding one")
        fits(en["overflowAfterRefusal"], "English admins after the refusal")
    }
}
