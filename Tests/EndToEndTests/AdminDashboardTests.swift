import CPPCC
import CPSyncCore
import CPSyncProtocol
import Foundation
import Testing
import TestSupport

/// A county whose offices are in every state an admin has to tell apart, made the real way (the `cpsync` binary,
/// SQL on the replicas, one hand-made push from an office whose clock runs an hour ahead):
///
/// | site | kind, parent | state |
/// |---|---|---|
/// | county 某县政协 | county | synced |
/// | huashan 华山镇政协工委 | township, county | synced; then its station wrote, so it has records to pull |
/// | xiyuan 西苑社区联络站 | station, huashan | synced, then a push with a year written as 2026.5 was refused (held back) |
/// | chengguan 城关镇政协工委 | township, county | synced, then a push stamped an hour ahead was refused |
/// | taohe 桃河社区联络站 | station, chengguan | synced once, then its token was revoked |
/// | dongling 东岭街道委员工作室 | street, county | never used |
final class DashboardCounty {
    let ws: TempDir
    let daemon: Daemon
    let adminToken: String
    let tokens: [String: String]

    static let order = ["county", "huashan", "xiyuan", "chengguan", "taohe", "dongling"]

    private init(ws: TempDir, daemon: Daemon, adminToken: String, tokens: [String: String]) {
        self.ws = ws
        self.daemon = daemon
        self.adminToken = adminToken
        self.tokens = tokens
    }

    static func start(_ name: String) throws -> DashboardCounty {
        let ws = TempDir(name)
        let daemon = Daemon(dataDir: ws.path("county"))
        do {
            var tokens: [String: String] = [:]
            tokens["county"] = try daemon.addSite("county", name: "某县政协", kind: "county", parent: nil)
            tokens["dongling"] = try daemon.addSite("dongling", name: "东岭街道委员工作室", kind: "street", parent: "county")
            tokens["chengguan"] = try daemon.addSite("chengguan", name: "城关镇政协工委")
            tokens["huashan"] = try daemon.addSite("huashan", name: "华山镇政协工委")
            tokens["xiyuan"] = try daemon.addSite("xiyuan", name: "西苑社区联络站", kind: "station", parent: "huashan")
            tokens["taohe"] = try daemon.addSite("taohe", name: "桃河社区联络站", kind: "station", parent: "chengguan")
            let admin = try daemon.addAdmin("zhang")
            try daemon.start()
            let county = DashboardCounty(ws: ws, daemon: daemon, adminToken: admin, tokens: tokens)
            try county.makeHistory()
            return county
        } catch {
            daemon.stop()
            ws.cleanup()
            throw error
        }
    }

    func office(_ site: String) throws -> Office { try Office.create(site, in: ws, daemon: daemon, token: tokens[site]!) }

    private func makeHistory() throws {
        let county = try office("county"), huashan = try office("huashan"), xiyuan = try office("xiyuan")
        let chengguan = try office("chengguan"), taohe = try office("taohe")
        try county.sql("INSERT INTO members(id, name, sector, site_id) VALUES ('m-c-1', '刘洋', '科技界', 'county')")
        try county.must(["sync"])
        try huashan.sql("INSERT INTO members(id, name, sector, site_id) VALUES ('m-hs-1', '王芳', '教育界', 'huashan')")
        try huashan.must(["sync"])
        try chengguan.sql("INSERT INTO members(id, name, sector, site_id) VALUES ('m-cg-1', '李强', '经济界', 'chengguan')")
        try chengguan.must(["sync"])
        try taohe.sql("INSERT INTO members(id, name, site_id) VALUES ('m-th-1', '赵敏', 'taohe')")
        try taohe.must(["sync"])
        try xiyuan.sql("INSERT INTO members(id, name, site_id) VALUES ('m-xy-1', '陈静', 'xiyuan')")
        try xiyuan.must(["sync"])
        // An office on an older cpsync sends a year written as 2026.5: the county refuses the push (the office sets
        // the change aside and sends the rest; today's cpsync sets it aside before sending).
        let year = Change(table: "proposals", pk: "p-xy-1", column: "year", value: .real(2026.5),
                          version: Version(hlc: HLC.wallClock(), site: "xiyuan"), causalLength: 1)
        let wrong = PushRequest(schemaVersion: CPPCCSchema.version, batchId: "wrong-year", site: "xiyuan", changes: [year]).encoded()
        let refusedYear = try http("POST", "/v1/push", token: tokens["xiyuan"], body: String(decoding: wrong, as: UTF8.self))
        guard refusedYear.status == 400, refusedYear.errorCode == "wrong_type" else {
            throw HarnessError.failed("expected a wrong_type refusal: \(refusedYear.status) \(refusedYear.text)")
        }
        // Today's cpsync sets such a value aside itself and says so at its next pull (`unsent`).
        try xiyuan.sql("INSERT INTO proposals(id, title, year, site_id) VALUES ('p-xy-2', '关于社区养老服务的提案', 2026.5, 'xiyuan')")
        let setAside = try xiyuan.cpsync(["sync"])
        guard setAside.status == 65 else { throw HarnessError.failed("expected the station's sync to set a change aside: \(setAside.stderr)") }
        // 城关镇's PC clock an hour ahead: its push is refused whole (cpsync itself would not send it).
        let ahead = HLC(milliseconds: HLC.wallClock().milliseconds + 3_600_000)
        let change = Change(table: "members", pk: "m-cg-2", column: "name", value: .text("孙磊"), version: Version(hlc: ahead, site: "chengguan"),
                            causalLength: 1)
        let body = PushRequest(schemaVersion: CPPCCSchema.version, batchId: "clock-ahead", site: "chengguan", changes: [change]).encoded()
        let refused = try http("POST", "/v1/push", token: tokens["chengguan"], body: String(decoding: body, as: UTF8.self))
        guard refused.status == 409, refused.errorCode == "clock_skew" else { throw HarnessError.failed("expected a clock refusal: \(refused.status) \(refused.text)") }
        let revoke = try run(Binaries.cpsyncd, ["site", "revoke", "taohe", "--data", daemon.dataDir])
        guard revoke.ok else { throw HarnessError.failed("site revoke: \(revoke.stderr)") }
    }

    func http(_ method: String, _ path: String, token: String? = nil, headers: [String: String] = [:], body: String? = nil) throws -> HTTPAnswer {
        try HTTPAnswer.send(method, daemon.url + path, token: token, headers: headers, body: body)
    }

    func dashboard() throws -> SiteListResponse {
        let r = try http("GET", "/v1/admin/sites", token: adminToken)
        guard r.status == 200 else { throw HarnessError.failed("dashboard: HTTP \(r.status) \(r.text)") }
        return try SiteListResponse.decode(r.bytes)
    }

    func stop() {
        daemon.stop()
        ws.cleanup()
    }
}

@Suite("Admin dashboard: each office's sync state, and managing sites, over HTTP and in the browser")
struct AdminDashboardTests {
    @Test func theDashboardShowsEachOfficesPushesPullsHeldBackChangesAndToken() throws {
        let county = try DashboardCounty.start("dashboard-api")
        defer { county.stop() }
        let d = try county.dashboard()
        #expect(d.sites.map(\.id) == DashboardCounty.order, "site-tree order: county, each township and its stations, then the street")
        #expect(d.sites.map(\.depth) == [0, 1, 2, 1, 2, 1])
        let s = Dictionary(uniqueKeysWithValues: d.sites.map { ($0.id, $0) })
        #expect(s["huashan"]?.name == "华山镇政协工委" && s["xiyuan"]?.name == "西苑社区联络站")
        #expect(d.serverTime > 0 && d.head > 0)
        #expect(d.admins.map(\.name) == ["zhang"])

        for id in ["county", "huashan", "chengguan"] {
            let site = try #require(s[id])
            #expect(site.token == "active", "\(id)")
            #expect(site.lastPushAt != nil && site.lastPullAt != nil && site.pullCursor != nil, "\(id): \(site)")
            #expect(site.lastPushAt! <= d.serverTime && d.serverTime - site.lastPushAt! < 120_000, "\(id)")
        }
        #expect(s["huashan"]?.lastPushChanges ?? 0 > 0, "the push applied the member's cells")
        // 华山镇 synced before its station wrote: the station's member is waiting for it.
        #expect(s["huashan"]?.pending ?? 0 >= 1, "\(String(describing: s["huashan"]))")
        #expect(s["huashan"]?.pendingMore == false)
        #expect(s["xiyuan"]?.pending == 0, "the station pulled after its own push")

        let xiyuan = try #require(s["xiyuan"])
        #expect(xiyuan.refusedAt != nil && xiyuan.refusedCode == "wrong_type" && xiyuan.refusedChanges == 1 && xiyuan.refusals == 1, "\(xiyuan)")
        #expect(xiyuan.refusedReason?.contains("year") == true, "\(xiyuan.refusedReason ?? "")")
        #expect(!xiyuan.clockAhead)
        #expect(xiyuan.reportedUnsent == 1, "the office said one change waits (the year it set aside): \(xiyuan)")
        #expect(s["huashan"]?.reportedUnsent == 0)

        let chengguan = try #require(s["chengguan"])
        #expect(chengguan.clockAhead && chengguan.clockRefusedAt != nil, "\(chengguan)")
        #expect((chengguan.clockSkewMs ?? 0) > 3_000_000 && (chengguan.clockSkewMs ?? 0) <= 3_600_000, "\(chengguan)")
        #expect(chengguan.refusedAt == nil)

        #expect(s["taohe"]?.token == "revoked" && s["taohe"]?.lastPushAt != nil)
        let dongling = try #require(s["dongling"])
        #expect(dongling.token == "unused" && dongling.lastPushAt == nil && dongling.lastPullAt == nil && dongling.pullCursor == nil)
        #expect(dongling.pending >= 6, "never pulled: the whole site tree is waiting (\(dongling.pending))")

        // Pulls are recorded as they happen; a clock fixed and a push accepted clears the clock warning.
        let chengguanOffice = try county.office("chengguan")
        try chengguanOffice.must(["sync"])
        try chengguanOffice.sql("INSERT INTO members(id, name, site_id) VALUES ('m-cg-3', '周洋', 'chengguan')")
        try chengguanOffice.must(["sync"])
        let later = try #require(try county.dashboard().sites.first { $0.id == "chengguan" })
        #expect(!later.clockAhead && later.clockRefusedAt == chengguan.clockRefusedAt, "\(later)")
        #expect(later.pending == 0 && later.lastPullAt! >= chengguan.lastPullAt!)

        // Admins only; English and Chinese are the page's business, the data is the same.
        #expect(try county.http("GET", "/v1/admin/sites").status == 401)
        #expect(try county.http("GET", "/v1/admin/sites", token: county.tokens["huashan"]).status == 403)
        #expect(try county.http("DELETE", "/v1/admin/sites", token: county.adminToken).status == 405)
    }

    @Test func sitesAreManagedThroughTheAPIWithTheCommandsRulesAndAudited() throws {
        let county = try DashboardCounty.start("dashboard-manage")
        defer { county.stop() }
        let admin = county.adminToken
        func post(_ path: String, _ body: String? = nil, token: String? = nil) throws -> HTTPAnswer {
            try county.http("POST", path, token: token ?? admin, body: body ?? "{}")
        }
        // Create a station under 华山镇: 201, a token shown once that works at once.
        let created = try post("/v1/admin/sites", #"{"id":"xinjian","name":"新建社区联络站","kind":"station","parent":"huashan"}"#)
        #expect(created.status == 201, "\(created.text)")
        let answer = try SiteTokenResponse.decode(created.bytes)
        #expect(answer.site.id == "xinjian" && answer.site.name == "新建社区联络站" && answer.site.parent == "huashan" && answer.site.token == "unused")
        let office = try Office.create("xinjian", in: county.ws, daemon: county.daemon, token: answer.token)
        try office.sql("INSERT INTO members(id, name, site_id) VALUES ('m-xj-1', '吴刚', 'xinjian')")
        try office.must(["sync"])
        #expect(try county.dashboard().sites.first { $0.id == "xinjian" }?.token == "active")
        // The command's refusals, as 400 with its message; nothing changed.
        for (body, needle) in [(#"{"id":"xinjian","name":"重复","kind":"station","parent":"huashan"}"#, "already exists"),
                               (#"{"id":"Bad Id","name":"坏","kind":"station","parent":"huashan"}"#, "must be 1–64 characters"),
                               (#"{"id":"hh","name":"镇","kind":"township","parent":"xiyuan"}"#, "cannot place 'hh' (a township) under 'xiyuan' (a station)"),
                               (#"{"id":"hh","name":"镇","kind":"village","parent":"county"}"#, "kind 'village'"),
                               (#"{"id":"hh","name":"  ","kind":"station","parent":"county"}"#, "name"),
                               (#"{"id":"hh","name":"镇","kind":"station","parent":"nowhere"}"#, "does not exist"),
                               (#"{"name":"镇"}"#, "malformed")] {
            let r = try post("/v1/admin/sites", body)
            #expect(r.status == 400, "\(body): \(r.status) \(r.text)")
            #expect(r.text.contains(needle), "\(body): \(r.text)")
        }
        #expect(try county.dashboard().sites.count == 7)

        // Move: a township under a station is refused; a station to another township is done and reaches offices.
        let bad = try post("/v1/admin/sites/chengguan/move", #"{"parent":"xiyuan"}"#)
        #expect(bad.status == 400 && bad.text.contains("a station holds none"), "\(bad.text)")
        let moved = try post("/v1/admin/sites/xinjian/move", #"{"parent":"chengguan"}"#)
        #expect(moved.status == 200, "\(moved.text)")
        #expect(try SiteStatusDTO.decode(moved.bytes).parent == "chengguan")
        #expect(try post("/v1/admin/sites/ghost/move", #"{"parent":"county"}"#).status == 404)
        try office.must(["sync"])
        #expect(try office.query("SELECT parent_id FROM sites WHERE id = 'xinjian'") == [[.text("chengguan")]])

        // New token: the old one stops at once; revoke: the office is refused; a new token re-activates it.
        let rotated = try SiteTokenResponse.decode(try post("/v1/admin/sites/xinjian/token").bytes)
        #expect(rotated.token != answer.token && rotated.site.token == "active")
        #expect(try county.http("GET", "/v1/admin/sites", token: answer.token).status == 401)
        let revoked = try post("/v1/admin/sites/xinjian/revoke")
        #expect(revoked.status == 200)
        #expect(try SiteStatusDTO.decode(revoked.bytes).token == "revoked")
        #expect(try post("/v1/admin/sites/xinjian/revoke").status == 400, "already revoked")
        #expect(try county.http("GET", "/v1/pull?after=0&protocol=1&schemaVersion=\(CPPCCSchema.version)", token: rotated.token).status == 401)
        let again = try SiteTokenResponse.decode(try post("/v1/admin/sites/xinjian/token").bytes)
        #expect(again.site.token == "active")
        #expect(try county.http("GET", "/v1/pull?after=0&protocol=1&schemaVersion=\(CPPCCSchema.version)", token: again.token).status == 200)

        // Only admins; every change is in the account audit trail under the admin's name, tokens only as a tag.
        #expect(try post("/v1/admin/sites/huashan/revoke", token: county.tokens["huashan"]).status == 403)
        #expect(try county.http("POST", "/v1/admin/sites/huashan/revoke").status == 401)
        let audit = try AccountAuditResponse.decode(try county.http("GET", "/v1/admin/accounts-audit", token: admin).bytes).entries
        let mine = audit.filter { $0.actor == "admin:zhang" }
        #expect(mine.map(\.action) == ["site-add", "site-move", "site-token", "site-revoke", "site-activate"], "\(mine)")
        #expect(mine.allSatisfy { $0.subject == "xinjian" })
        #expect(!audit.contains { $0.detail.contains(answer.token) || $0.detail.contains(again.token) })

        // A site's kind is corrected as the tree allows: a township, street or station only; not into a shape the
        // tree refuses (under its parent, or for the sites under it); it reaches the offices and the audit trail.
        for (path, body, status, needle) in [
            ("huashan", #"{"kind":"station"}"#, 400, "cannot place 'xiyuan' (a station) under 'huashan' (a station)"),
            ("xinjian", #"{"kind":"township"}"#, 400, "cannot place 'xinjian' (a township) under 'chengguan' (a township)"),
            ("county", #"{"kind":"township"}"#, 400, "only townships, streets and stations change kind"),
            ("dongling", #"{"kind":"county"}"#, 400, "only townships, streets and stations change kind"),
            ("dongling", #"{"kind":"village"}"#, 400, "kind 'village'"),
            ("dongling", "{}", 400, "malformed"),
            ("ghost", #"{"kind":"street"}"#, 404, "no site 'ghost'"),
        ] {
            let r = try post("/v1/admin/sites/\(path)/kind", body)
            #expect(r.status == status && r.text.contains(needle), "\(path) \(body): \(r.status) \(r.text)")
        }
        #expect(try post("/v1/admin/sites/huashan/kind", #"{"kind":"street"}"#, token: county.tokens["huashan"]).status == 403)
        #expect(try county.http("POST", "/v1/admin/sites/huashan/kind", body: #"{"kind":"street"}"#).status == 401)
        #expect(try county.http("GET", "/v1/admin/sites/huashan/kind", token: admin).status == 405, "a known path asked with another method")
        let street = try post("/v1/admin/sites/huashan/kind", #"{"kind":"street"}"#)
        #expect(street.status == 200, "\(street.text)")
        #expect(try SiteStatusDTO.decode(street.bytes).kind == "street")
        #expect(try post("/v1/admin/sites/huashan/kind", #"{"kind":"street"}"#).status == 200, "the same kind again changes nothing")
        let huashan = try county.office("huashan")
        try huashan.must(["sync"])
        #expect(try huashan.query("SELECT kind FROM sites WHERE id = 'huashan'") == [[.text("street")]])
        let kinds = try AccountAuditResponse.decode(try county.http("GET", "/v1/admin/accounts-audit", token: admin).bytes).entries
            .filter { $0.action == "site-kind" }
        #expect(kinds.map { "\($0.actor) \($0.subject) \($0.detail)" } == ["admin:zhang huashan from=township to=street"], "once, by its admin")
    }

    @Test(.timeLimit(.minutes(3))) func theDashboardFitsA390PixelScreenAndSitesAreManagedInTheBrowser() throws {
        let county = try DashboardCounty.start("dashboard-browser")
        defer { county.stop() }
        let zh = try AdminBrowser.drive("dashboard", url: county.daemon.url, token: county.adminToken, conflict: "none", lang: "zh-CN",
                                        prefix: "admin-zh")
        for shot in zh.screenshots { print("screenshot: \(shot)") }
        #expect(zh.string("view") == "sites-view", "the dashboard is the home view")
        #expect(zh["tokenInSessionStorage"] as? Bool == true)
        #expect(zh["localStorageLength"] as? Int == 0, "nothing in localStorage")
        #expect(zh["tokenAfterSignOut"] is NSNull, "signing out forgets the token")
        // Chinese throughout: navigation and headers carry no Latin letters.
        let latin = try Regex("[A-Za-z]")
        for text in zh.strings("nav") + zh.strings("headers") { #expect(!text.contains(latin), "not Chinese: \(text)") }
        #expect(zh.strings("headers") == ["单位", "最近推送", "最近拉取", "待拉取", "暂缓（被拒）", "令牌"], "the CLI's words: 推送/拉取")
        let dashboardText = zh.string("dashboardText") ?? ""
        #expect(dashboardText.contains("推送") && !dashboardText.contains("上传") && !dashboardText.contains("下载"), "\(dashboardText)")
        #expect(zh.strings("latinDashboard").isEmpty, "English on the Chinese dashboard: \(zh.strings("latinDashboard"))")
        #expect(zh.strings("latinAccounts").isEmpty, "English on the Chinese site management: \(zh.strings("latinAccounts"))")
        #expect(zh.string("summary")?.contains("共 6 个单位") == true, "\(zh.string("summary") ?? "")")

        let rows = zh["rows"] as? [[String: Any]] ?? []
        #expect(rows.map { $0["id"] as? String ?? "" } == DashboardCounty.order)
        let row = Dictionary(uniqueKeysWithValues: rows.map { ($0["id"] as? String ?? "", $0) })
        func text(_ id: String, _ key: String) -> String { row[id]?[key] as? String ?? "" }
        #expect(text("huashan", "name") == "华山镇政协工委")
        #expect(text("huashan", "push").contains("刚刚") || text("huashan", "push").contains("分钟前"), "\(text("huashan", "push"))")
        #expect(text("huashan", "pending").contains("条记录"), "\(text("huashan", "pending"))")
        #expect(text("xiyuan", "held").contains("1 项修改被拒（数值类型不符）"), "\(text("xiyuan", "held"))")
        #expect(text("chengguan", "held").contains("电脑时钟超前约"), "\(text("chengguan", "held"))")
        #expect(text("taohe", "tokenText") == "已吊销" && text("taohe", "token") == "revoked")
        #expect(text("dongling", "tokenText") == "从未使用" && text("dongling", "push").contains("从未"))
        #expect(text("county", "held") == "无" && text("county", "pending").contains("条记录"), "the county synced first: \(text("county", "pending"))")
        for id in ["xiyuan", "chengguan", "taohe"] { #expect(row[id]?["attention"] as? String == "true", "\(id)") }

        // No horizontal overflow at 1280 px, nor at 390 px on any view; at 390 px each row is a card labelled by its column.
        func fits(_ o: Any?, _ what: String) {
            let m = o as? [String: Any] ?? [:]
            #expect(m["overflows"] as? Bool == false, "\(what): scrollWidth \(m["scrollWidth"] ?? "?") > innerWidth \(m["innerWidth"] ?? "?"): \(m["offenders"] ?? "")")
        }
        fits(zh["overflow1280"], "dashboard at 1280 px")
        #expect((zh["overflow1280"] as? [String: Any])?["innerWidth"] as? Int == 1280)
        fits(zh["overflow390"], "dashboard at 390 px")
        #expect((zh["overflow390"] as? [String: Any])?["innerWidth"] as? Int == 390)
        for (name, o) in zh["overflow390Views"] as? [String: Any] ?? [:] { fits(o, "\(name) at 390 px") }
        #expect((zh["overflow390Views"] as? [String: Any])?.count == 3)
        #expect(zh["rows390"] as? Int == 6)
        #expect((zh["cellLabels390"] as? [String])?.dropFirst().first == "\"最近推送\"", "each fact under its column name: \(zh["cellLabels390"] ?? "")")

        // Managing: the tree's rule before anything is sent, then a new station with its token shown once, then revoked.
        #expect(zh.string("addKindDefault") == "", "a new site's kind is chosen, not defaulted")
        #expect(zh.string("kindMissingError") == "请选择站点类别。")
        #expect(zh.string("placementError") == "乡镇政协工委不能设在社区联络站之下。", "\(zh.string("placementError") ?? "")")
        let token = zh.string("newToken") ?? ""
        #expect(token.count >= 40, "the new token is shown: \(token)")
        // The token is copied: with the Clipboard API, and without it (plain http in an intranet).
        #expect(zh.string("copyLabel") == "复制" && zh.string("copyNote") == "已复制。" && zh.string("copyOk") == "true")
        #expect(zh.string("clipboard") == token, "the clipboard holds the token")
        #expect(zh.string("copyFallbackOk") == "true" && zh.string("clipboardFallback") == token, "copied as a selection without the Clipboard API")
        // A kind can be corrected where the tree allows another: not the county's, not a station's under a township,
        // not a township's holding stations into a station.
        let choices = (zh["kindChoices"] as? [String: Any] ?? [:]).compactMapValues { $0 as? [String] }
        #expect(choices == ["huashan": ["township", "street"], "chengguan": ["township", "street"], "dongling": ["township", "street", "station"]],
                "\(zh["kindChoices"] ?? "")")
        #expect(zh.string("kindQuestion") == "把“东岭街道委员工作室”的类别改为乡镇政协工委？各单位下次同步时收到。", "\(zh.string("kindQuestion") ?? "")")
        #expect(zh.string("kindBanner") == "“东岭街道委员工作室”的类别已改为乡镇政协工委。", "\(zh.string("kindBanner") ?? "")")
        #expect(try county.dashboard().sites.first { $0.id == "dongling" }?.kind == "township")
        #expect(zh.string("tokenBoxText")?.contains("新建社区联络站") == true)
        #expect(zh.string("revokeQuestion")?.contains("吊销“新建社区联络站”的令牌") == true)
        #expect(zh.string("revokeBanner") == "已吊销“新建社区联络站”的令牌。")
        #expect(zh.string("tokenBoxAfter") == "", "the token is not kept on the page")
        let after = try county.dashboard().sites.first { $0.id == "xinjian" }
        #expect(after?.parent == "huashan" && after?.token == "revoked")
        #expect(try county.http("GET", "/v1/admin/sites", token: token).status == 401)
        #expect(zh.dialogs.isEmpty && zh.problems.isEmpty, "\(zh.dialogs) \(zh.problems)")

        for name in ["admin-zh-dashboard-1280", "admin-zh-dashboard-390", "admin-zh-accounts-390", "admin-zh-accounts-1280"] {
            #expect(AdminBrowser.isPNG(AdminBrowser.artifacts + "/\(name).png"), "screenshot \(name).png")
        }
        #expect(try pngWidth(AdminBrowser.artifacts + "/admin-zh-dashboard-390.png") == 390)
        #expect(try pngWidth(AdminBrowser.artifacts + "/admin-zh-dashboard-1280.png") == 1280)

        // An English browser gets the same page in English, and it fits too.
        let en = try AdminBrowser.drive("dashboard", url: county.daemon.url, token: county.adminToken, conflict: "none", lang: "en-US",
                                        prefix: "admin-en", extra: ["--new-id", "xinjian-en", "--new-name", "新建联络站二", "--kind-to", "street"])
        for shot in en.screenshots { print("screenshot: \(shot)") }
        #expect(en.string("htmlLang") == "en")
        #expect(en.strings("headers") == ["Office", "Last push", "Last pull", "Waiting to be pulled", "Held back", "Token"])
        let cjk = try Regex("[\\u{4E00}-\\u{9FFF}]")
        for text in en.strings("nav") + en.strings("headers") { #expect(!text.contains(cjk), "not English: \(text)") }
        let enRows = Dictionary(uniqueKeysWithValues: (en["rows"] as? [[String: Any]] ?? []).map { ($0["id"] as? String ?? "", $0) })
        #expect((enRows["xiyuan"]?["held"] as? String)?.contains("1 change refused (wrong type of value)") == true)
        #expect((enRows["chengguan"]?["held"] as? String)?.contains("min ahead: pushes refused") == true)
        #expect(enRows["dongling"]?["tokenText"] as? String == "never used")
        #expect(en.string("placementError") == "A township committee cannot sit under a liaison station.", "\(en.string("placementError") ?? "")")
        #expect(en.string("kindMissingError") == "Choose the site’s kind.")
        #expect(en.string("copyOk") == "true" && en.string("clipboard") == en.string("newToken"))
        #expect(en.string("kindBanner") == "东岭街道委员工作室 is now a street office.", "\(en.string("kindBanner") ?? "")")
        #expect(try county.dashboard().sites.first { $0.id == "dongling" }?.kind == "street")
        fits(en["overflow1280"], "English dashboard at 1280 px")
        fits(en["overflow390"], "English dashboard at 390 px")
        for (name, o) in en["overflow390Views"] as? [String: Any] ?? [:] { fits(o, "English \(name) at 390 px") }
        #expect(en.dialogs.isEmpty && en.problems.isEmpty, "\(en.dialogs) \(en.problems)")
    }

    /// The width in the PNG's IHDR chunk.
    func pngWidth(_ path: String) throws -> Int {
        let d = try Data(contentsOf: URL(fileURLWithPath: path))
        return d[16..<20].reduce(0) { $0 << 8 | Int($1) }
    }
}
