import CPSyncClient
import CPSyncCore
import CPSyncProtocol
import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
import TestSupport
#endif

/// A county daemon, an admin and two offices — 华山镇 and 西苑乡, a liaison station under it — that edit the same
/// cells offline (records of the station, which both may write): conflicts made the real way, through `cpsync init`,
/// SQL on the replicas and `cpsync sync`.
final class ConflictCounty {
    let ws: TempDir
    let daemon: Daemon
    let adminToken: String
    let siteToken: String
    let a: Office
    let b: Office

    static let proposal = "6f1c0e4e-2a7b-4c1d-9e3f-000000000017"
    static let member = "0b8e5d2c-7f14-4a6b-8c3e-000000000042"
    static let markup = "<img src=x onerror=alert(1)>"

    private init(ws: TempDir, daemon: Daemon, adminToken: String, siteToken: String, a: Office, b: Office) {
        self.ws = ws
        self.daemon = daemon
        self.adminToken = adminToken
        self.siteToken = siteToken
        self.a = a
        self.b = b
    }

    static func start(_ name: String) throws -> ConflictCounty {
        let ws = TempDir(name)
        let daemon = Daemon(dataDir: ws.path("county"))
        do {
            _ = try daemon.addSite("county", name: "某县政协", kind: "county", parent: nil)
            let tokenA = try daemon.addSite("huashan", name: "华山镇")
            let tokenB = try daemon.addSite("xiyuan", name: "西苑乡", kind: "station", parent: "huashan")
            let admin = try daemon.addAdmin("zhang")
            try daemon.start()
            let a = try Office.create("huashan", in: ws, daemon: daemon, token: tokenA)
            let b = try Office.create("xiyuan", in: ws, daemon: daemon, token: tokenB)
            return ConflictCounty(ws: ws, daemon: daemon, adminToken: admin, siteToken: tokenA, a: a, b: b)
        } catch {
            daemon.stop()
            ws.cleanup()
            throw error
        }
    }

    /// A proposal and a member (named `markup`) of the station, written at 华山镇 and received by 西苑乡; then both offices change the
    /// proposal's title and year and the member's sector offline to different values, and sync A, B, A. Three open
    /// conflicts.
    func makeConflicts(titleA: String = "关于改善乡村道路的提案", titleB: String = "关于加快乡村公路建设的提案",
                       sectorA: String = "科技界", sectorB: String = "<b>教育界</b><script>alert(2)</script>") throws {
        try a.sql("INSERT INTO proposals(id, number, session, year, title, site_id) VALUES (?, '2025-017', '十届三次', 2025, '乡村道路', 'xiyuan')",
                  [.text(Self.proposal)])
        try a.sql("INSERT INTO members(id, name, sector, site_id) VALUES (?, ?, '经济界', 'xiyuan')", [.text(Self.member), .text(Self.markup)])
        try a.must(["sync"])
        try b.must(["sync"])
        try a.sql("UPDATE proposals SET title = ?, year = 2024 WHERE id = ?", [.text(titleA), .text(Self.proposal)])
        try a.sql("UPDATE members SET sector = ? WHERE id = ?", [.text(sectorA), .text(Self.member)])
        try b.sql("UPDATE proposals SET title = ?, year = 2026 WHERE id = ?", [.text(titleB), .text(Self.proposal)])
        try b.sql("UPDATE members SET sector = ? WHERE id = ?", [.text(sectorB), .text(Self.member)])
        try a.must(["sync"])
        let second = try b.must(["sync"])
        guard second.stdout.contains("3 conflicts") else { throw HarnessError.failed("expected 3 conflicts at the second office's sync: \(second.stdout)") }
        try a.must(["sync"])
    }

    /// The open conflict on `table.column`, as the admin API lists it.
    func conflict(_ table: String, _ column: String, language: String = "en") throws -> ConflictDTO {
        let r = try http("GET", "/v1/admin/conflicts?status=all", token: adminToken, headers: ["Accept-Language": language])
        guard r.status == 200 else { throw HarnessError.failed("list: HTTP \(r.status) \(r.text)") }
        guard let c = try ConflictListResponse.decode(r.bytes).conflicts.first(where: { $0.table == table && $0.column == column }) else {
            throw HarnessError.failed("no conflict on \(table).\(column): \(r.text)")
        }
        return c
    }

    func http(_ method: String, _ path: String, token: String? = nil, headers: [String: String] = [:], body: String? = nil) throws -> HTTPAnswer {
        try HTTPAnswer.send(method, daemon.url + path, token: token, headers: headers, body: body)
    }

    func cli(_ args: [String], token: String? = nil, lang: String = "C.UTF-8") throws -> RunResult {
        let sub = Array(args.prefix(1)), rest = Array(args.dropFirst())
        return try run(Binaries.cpsync, ["conflicts"] + sub + ["--server", daemon.url, "--token", token ?? adminToken] + rest, env: ["LANG": lang])
    }

    func cell(_ office: Office, _ sql: String) throws -> Value? { try office.query(sql).first?.first }

    func stop() {
        daemon.stop()
        ws.cleanup()
    }
}

/// One HTTP exchange with the daemon, with its status, headers and body (bounded wait).
struct HTTPAnswer {
    let status: Int
    let headers: [String: String]
    let body: Data

    var text: String { String(decoding: body, as: UTF8.self) }
    var bytes: [UInt8] { Array(body) }
    func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name.lowercased() }?.value }
    var errorCode: String? { (try? ErrorBody.decode(bytes))?.code.rawValue }

    private static let session = URLSession(configuration: .ephemeral)

    static func send(_ method: String, _ url: String, token: String? = nil, headers: [String: String] = [:], body: String? = nil) throws -> HTTPAnswer {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.timeoutInterval = 20
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let box = Guard<HTTPAnswer?>(nil), failure = Guard<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: request) { data, response, error in
            if let http = response as? HTTPURLResponse {
                var h: [String: String] = [:]
                for (k, v) in http.allHeaderFields { h["\(k)"] = "\(v)" }
                box.set(HTTPAnswer(status: http.statusCode, headers: h, body: data ?? Data()))
            } else {
                failure.set(error.map { "\($0)" } ?? "no HTTP response")
            }
            done.signal()
        }
        task.resume()
        guard done.wait(timeout: .now() + 30) == .success else {
            task.cancel()
            throw HarnessError.failed("\(method) \(url): no answer within 30 s")
        }
        guard let answer = box.get() else { throw HarnessError.failed("\(method) \(url): \(failure.get() ?? "failed")") }
        return answer
    }
}

@Suite("Admin API: conflicts over HTTP and the cpsync conflicts command")
struct AdminAPITests {
    @Test func adminEndpointsRefuseMissingBadAndSiteTokens() throws {
        let county = try ConflictCounty.start("admin-auth")
        defer { county.stop() }
        let resolve = #"{"action":"keep"}"#
        for (method, path, body) in [("GET", "/v1/admin/conflicts", nil), ("GET", "/v1/admin/conflicts/1", nil),
                                     ("POST", "/v1/admin/conflicts/1/resolve", resolve), ("GET", "/v1/admin/audit", nil),
                                     ("GET", "/v1/admin/accounts-audit", nil)] {
            let none = try county.http(method, path, body: body)
            #expect(none.status == 401, "\(method) \(path) without a token")
            #expect(none.errorCode == "unauthorized")
            #expect(none.header("WWW-Authenticate") == #"Bearer realm="cpsyncd""#)
            let bad = try county.http(method, path, token: "not-a-token", body: body)
            #expect(bad.status == 401, "\(method) \(path) with an unknown token")
            #expect(bad.errorCode == "unauthorized")
            let site = try county.http(method, path, token: county.siteToken, body: body)
            #expect(site.status == 403, "\(method) \(path) with a site token")
            #expect(site.errorCode == "forbidden")
        }
        let cliBad = try county.cli(["list"], token: "not-a-token")
        #expect(!cliBad.ok)
        #expect(cliBad.stderr.contains("token"), "\(cliBad.stderr)")
        let cliSite = try county.cli(["list"], token: county.siteToken)
        #expect(!cliSite.ok)
        #expect(cliSite.stderr.contains("admin"), "\(cliSite.stderr)")
        // The admin API answers an admin token even with nothing to review.
        let empty = try county.http("GET", "/v1/admin/conflicts", token: county.adminToken)
        #expect(empty.status == 200)
        #expect(try ConflictListResponse.decode(empty.bytes).conflicts.isEmpty)
    }

    @Test func conflictsAreListedShownAndResolvedOverHTTP() throws {
        let county = try ConflictCounty.start("admin-http")
        defer { county.stop() }
        try county.makeConflicts()

        // English labels, both sides with office names and times, the winner being the value every replica holds.
        let title = try county.conflict("proposals", "title")
        #expect(title.status == .open)
        #expect(title.tableLabel == "proposal" && title.columnLabel == "title")
        #expect(Set([title.winner.value, title.other.value]) == Set([.text("关于改善乡村道路的提案"), .text("关于加快乡村公路建设的提案")]))
        #expect(Set([title.winner.site, title.other.site]) == ["huashan", "xiyuan"])
        #expect(Set([title.winner.siteName, title.other.siteName]) == ["华山镇", "西苑乡"])
        #expect(title.winner.at > 0 && title.other.at > 0)
        #expect(title.rowLabel == "2025-017 " + (title.winner.value.stringValue ?? ""))
        let held = try county.cell(county.a, "SELECT title FROM proposals WHERE id = '\(ConflictCounty.proposal)'")
        #expect(held == title.winner.value)

        // Chinese labels with Accept-Language: zh-CN.
        let zh = try county.conflict("members", "sector", language: "zh-CN,zh;q=0.9")
        #expect(zh.tableLabel == "委员" && zh.columnLabel == "界别")
        #expect(zh.rowLabel == ConflictCounty.markup)
        let zhTitle = try county.conflict("proposals", "title", language: "zh-CN")
        #expect(zhTitle.tableLabel == "提案" && zhTitle.columnLabel == "标题")

        // Show, filters, bad parameters, unknown id.
        let shown = try county.http("GET", "/v1/admin/conflicts/\(title.id)", token: county.adminToken)
        #expect(shown.status == 200)
        #expect(try ConflictDTO.decode(shown.bytes).id == title.id)
        let all = try ConflictListResponse.decode(county.http("GET", "/v1/admin/conflicts", token: county.adminToken).bytes).conflicts
        #expect(all.count == 3)
        let members = try ConflictListResponse.decode(county.http("GET", "/v1/admin/conflicts?table=members", token: county.adminToken).bytes).conflicts
        #expect(members.map(\.column) == ["sector"])
        let bySite = try ConflictListResponse.decode(county.http("GET", "/v1/admin/conflicts?site=xiyuan", token: county.adminToken).bytes).conflicts
        #expect(bySite.count == 3)
        let otherSite = try ConflictListResponse.decode(county.http("GET", "/v1/admin/conflicts?site=chengguan", token: county.adminToken).bytes).conflicts
        #expect(otherSite.isEmpty)
        let resolvedNone = try ConflictListResponse.decode(county.http("GET", "/v1/admin/conflicts?status=resolved", token: county.adminToken).bytes).conflicts
        #expect(resolvedNone.isEmpty)
        #expect(try county.http("GET", "/v1/admin/conflicts?status=maybe", token: county.adminToken).status == 400)
        #expect(try county.http("GET", "/v1/admin/conflicts?from=yesterday", token: county.adminToken).status == 400)
        let missing = try county.http("GET", "/v1/admin/conflicts/999999", token: county.adminToken)
        #expect(missing.status == 404 && missing.errorCode == "not_found")
        let missingResolve = try county.http("POST", "/v1/admin/conflicts/999999/resolve", token: county.adminToken, body: #"{"action":"keep"}"#)
        #expect(missingResolve.status == 404)

        // proposals.year is INTEGER: text and real values are refused, nothing changes.
        let year = try county.conflict("proposals", "year")
        for wrong in [#"{"action":"set","value":"2025"}"#, #"{"action":"set","value":{"f":2025.0}}"#] {
            let r = try county.http("POST", "/v1/admin/conflicts/\(year.id)/resolve", token: county.adminToken, body: wrong)
            #expect(r.status == 400, "\(wrong): \(r.text)")
            #expect(r.errorCode == "wrong_type", "\(r.text)")
        }
        #expect(try county.conflict("proposals", "year").status == .open)
        let malformed = try county.http("POST", "/v1/admin/conflicts/\(year.id)/resolve", token: county.adminToken, body: #"{"action":"drop"}"#)
        #expect(malformed.status == 400)
        let setYear = try county.http("POST", "/v1/admin/conflicts/\(year.id)/resolve", token: county.adminToken,
                                      body: #"{"action":"set","value":{"i":"2025"}}"#)
        #expect(setYear.status == 200, "\(setYear.text)")

        // Take the other value, with a note; a second resolve is 409 and changes nothing.
        let note = "与华山镇核实：以华山镇为准"
        let r = try county.http("POST", "/v1/admin/conflicts/\(title.id)/resolve", token: county.adminToken,
                                body: #"{"action":"take-other","note":"\#(note)"}"#)
        #expect(r.status == 200, "\(r.text)")
        let resolved = try ConflictDTO.decode(r.bytes)
        #expect(resolved.status == .resolved)
        #expect(resolved.resolution?.action == .takeOther)
        #expect(resolved.resolution?.value == title.other.value)
        #expect(resolved.resolution?.before == title.winner.value)
        #expect(resolved.resolution?.by == "zhang")
        #expect(resolved.resolution?.note == note)
        let twice = try county.http("POST", "/v1/admin/conflicts/\(title.id)/resolve", token: county.adminToken, body: #"{"action":"keep"}"#)
        #expect(twice.status == 409)
        #expect(twice.errorCode == "conflict_resolved")

        // The resolution is an ordinary change: both offices receive it at their next sync.
        try county.a.must(["sync"])
        try county.b.must(["sync"])
        for office in [county.a, county.b] {
            #expect(try county.cell(office, "SELECT title FROM proposals WHERE id = '\(ConflictCounty.proposal)'") == title.other.value)
            #expect(try county.cell(office, "SELECT year FROM proposals WHERE id = '\(ConflictCounty.proposal)'") == .integer(2025))
        }
        #expect(try contentDump(county.a.db) == contentDump(county.b.db))

        // The audit trail: who, what, before and after, the note.
        let audit = try AuditListResponse.decode(county.http("GET", "/v1/admin/audit", token: county.adminToken).bytes).entries
        let entry = try #require(audit.first { $0.conflictId == title.id })
        #expect(entry.by == "zhang")
        #expect(entry.action.hasPrefix("resolve"))
        #expect(entry.action.contains("take-other"))
        #expect(entry.table == "proposals" && entry.column == "title" && entry.pk == ConflictCounty.proposal)
        #expect(entry.before == title.winner.value && entry.after == title.other.value)
        #expect(entry.note == note)
        let yearEntry = try #require(audit.first { $0.conflictId == year.id })
        #expect(yearEntry.after == .integer(2025) && yearEntry.note == nil)
        // The record and the field by name, in the request's language (the key stays in `pk` for tools).
        #expect(entry.tableLabel == "proposal" && entry.columnLabel == "title")
        #expect(entry.rowLabel == "2025-017 " + (title.other.value.stringValue ?? ""), "\(entry.rowLabel ?? "")")
        let zhAudit = try AuditListResponse.decode(county.http("GET", "/v1/admin/audit", token: county.adminToken,
                                                               headers: ["Accept-Language": "zh-CN,zh;q=0.9"]).bytes).entries
        let zhEntry = try #require(zhAudit.first { $0.conflictId == year.id })
        #expect(zhEntry.tableLabel == "提案" && zhEntry.columnLabel == "年度" && zhEntry.rowLabel == entry.rowLabel)
        let stillOpen = try ConflictListResponse.decode(county.http("GET", "/v1/admin/conflicts", token: county.adminToken).bytes).conflicts
        #expect(stillOpen.map(\.column) == ["sector"])
    }

    @Test func conflictsCommandListsShowsAndResolves() throws {
        let county = try ConflictCounty.start("admin-cli")
        defer { county.stop() }
        try county.makeConflicts()
        let year = try county.conflict("proposals", "year")
        let title = try county.conflict("proposals", "title")

        let list = try county.cli(["list"])
        #expect(list.ok, "\(list.stderr)")
        #expect(list.stdout.contains("proposal · year") && list.stdout.contains("proposal · title") && list.stdout.contains("member · sector"), "\(list.stdout)")
        #expect(list.stdout.contains("华山镇") && list.stdout.contains("西苑乡"))
        let zhList = try county.cli(["list"], lang: "zh_CN.UTF-8")
        #expect(zhList.ok, "\(zhList.stderr)")
        #expect(zhList.stdout.contains("提案 · 年度") && zhList.stdout.contains("委员 · 界别") && zhList.stdout.contains("编号"), "\(zhList.stdout)")
        let json = try county.cli(["list", "--json", "--table", "proposals"])
        #expect(json.ok, "\(json.stderr)")
        let listed = try ConflictListResponse.decode(wireJSON(json.stdout)).conflicts
        #expect(Set(listed.map(\.column)) == ["title", "year"])

        let show = try county.cli(["show", year.id])
        #expect(show.ok, "\(show.stderr)")
        #expect(show.stdout.contains("conflict \(year.id)") && show.stdout.contains("2024") && show.stdout.contains("2026"), "\(show.stdout)")
        let showJSON = try county.cli(["show", title.id, "--json"])
        #expect(try ConflictDTO.decode(wireJSON(showJSON.stdout)) == title)
        let showMissing = try county.cli(["show", "999999"])
        #expect(!showMissing.ok)

        // --set follows the column's type: a whole number for proposals.year; text is refused before sending.
        let notNumber = try county.cli(["resolve", year.id, "--set", "二〇二五"])
        #expect(!notNumber.ok)
        let set = try county.cli(["resolve", year.id, "--set", "2025", "--note", "按提案登记表更正", "--json"])
        #expect(set.ok, "\(set.stderr)")
        let setDTO = try ConflictDTO.decode(wireJSON(set.stdout))
        #expect(setDTO.resolution?.action == .set && setDTO.resolution?.value == .integer(2025) && setDTO.resolution?.note == "按提案登记表更正")
        let again = try county.cli(["resolve", year.id, "--keep"])
        #expect(!again.ok)
        #expect(again.stderr.contains("resolved"), "\(again.stderr)")

        let other = try county.cli(["resolve", title.id, "--take-other"])
        #expect(other.ok, "\(other.stderr)")
        #expect(other.stdout.contains("conflict \(title.id) resolved"), "\(other.stdout)")
        let shownResolved = try county.cli(["show", title.id])
        #expect(shownResolved.stdout.contains("take-other") && shownResolved.stdout.contains("zhang"), "\(shownResolved.stdout)")

        try county.a.must(["sync"])
        try county.b.must(["sync"])
        for office in [county.a, county.b] {
            #expect(try county.cell(office, "SELECT year FROM proposals WHERE id = '\(ConflictCounty.proposal)'") == .integer(2025))
            #expect(try county.cell(office, "SELECT title FROM proposals WHERE id = '\(ConflictCounty.proposal)'") == title.other.value)
        }
        let open = try county.cli(["list", "--json"])
        #expect(try ConflictListResponse.decode(wireJSON(open.stdout)).conflicts.map(\.column) == ["sector"])
        // Everything, open and resolved: each line says which, and what a resolved one was resolved to.
        let all = try county.cli(["list", "--status", "all"], lang: "zh_CN.UTF-8")
        #expect(all.ok, "\(all.stderr)")
        let lines = all.stdout.split(separator: "\n").map(String.init)
        let yearLine = lines.first { $0.contains("年度") }, sectorLine = lines.first { $0.contains("界别") }
        #expect(all.stdout.contains("状态") && all.stdout.contains("处理结果"), "\(all.stdout)")
        #expect(yearLine?.contains("已处理") == true && yearLine?.contains("2025") == true, "\(all.stdout)")
        #expect(sectorLine?.contains("待处理") == true && sectorLine?.contains("已处理") == false, "\(all.stdout)")
    }
}

/// The office whose edit lost is told (issue 23 item 8): its next sync lists the county's open conflicts in which its
/// value was not kept, in Chinese, with the value kept instead; the office whose value won hears nothing; a resolved
/// conflict is no longer listed. Real daemon, real `cpsync`.
@Suite struct LostEditsTests {
    @Test func theOfficeWhoseEditLostIsToldAtItsNextSyncUntilAnAdminDecides() throws {
        let county = try ConflictCounty.start("lost-edits")
        defer { county.stop() }
        try county.makeConflicts()
        let zh = ["LANG": "zh_CN.UTF-8"]
        // 西苑乡 wrote last: its values were kept; 华山镇's were not.
        let loser = try county.a.cpsync(["sync"], env: zh)
        #expect(loser.ok, "\(loser.stderr)")
        #expect(loser.stderr.contains("本办公室有 3 处修改未被采用"), "\(loser.stderr)")
        #expect(loser.stderr.contains("本站的值「关于改善乡村道路的提案」") && loser.stderr.contains("采用的值「关于加快乡村公路建设的提案」（西苑乡）"), "\(loser.stderr)")
        #expect(loser.stderr.contains("提案 2025-017") && loser.stderr.contains("· 标题："), "the record and field by name: \(loser.stderr)")
        let winner = try county.b.cpsync(["sync"], env: zh)
        #expect(winner.ok && !winner.stderr.contains("未被采用"), "\(winner.stderr)")
        let json = try county.a.cpsync(["sync", "--json"])
        #expect(JSONText.int(json.stdout, "lost_edits") == 3, "\(json.stdout)")
        // The endpoint is a site's: an admin token is refused, no token is 401.
        #expect(try county.http("GET", "/v1/conflicts/lost", token: county.adminToken).status == 403)
        #expect(try county.http("GET", "/v1/conflicts/lost").status == 401)
        // An admin decides one: two are left to tell.
        let title = try county.conflict("proposals", "title")
        #expect(try county.cli(["resolve", title.id, "--keep"]).ok)
        let after = try county.a.cpsync(["sync"], env: zh)
        #expect(after.stderr.contains("本办公室有 2 处修改未被采用") && !after.stderr.contains("关于改善乡村道路的提案"), "\(after.stderr)")
    }
}

/// An admin's new value for a conflict is held to the field's rules, as a clerk's is (issue 23 item 5): the command
/// refuses it before sending, and the county refuses it when sent anyway; nothing is changed.
@Suite struct ResolveValueRulesTests {
    @Test func aNewValueThatIsNotAPhoneIsRefusedByTheCommandAndByTheCounty() throws {
        let county = try ConflictCounty.start("resolve-rules")
        defer { county.stop() }
        try county.makeConflicts()
        try county.a.sql("UPDATE members SET phone = '13800000001' WHERE id = ?", [.text(ConflictCounty.member)])
        try county.b.sql("UPDATE members SET phone = '13800000002' WHERE id = ?", [.text(ConflictCounty.member)])
        try county.a.must(["sync"])
        try county.b.must(["sync"])
        let phone = try county.conflict("members", "phone")
        // The page's new-value box says what the field takes, in the reader's language.
        #expect(try county.conflict("members", "phone", language: "zh-CN").expects == "电话号码，如 13800000000 或 0937-1234567")
        let sector = try county.conflict("members", "sector")
        #expect(phone.expects?.contains("a phone number") == true && sector.expects == nil)
        let zh = try county.cli(["resolve", phone.id, "--set", "不是电话"], lang: "zh_CN.UTF-8")
        #expect(zh.status == 64 && zh.stderr.contains("电话号码，如 13800000000"), "\(zh.status) \(zh.stderr)")
        let en = try county.cli(["resolve", phone.id, "--set", "call me"])
        #expect(en.status == 64 && en.stderr.contains("a phone number"), "\(en.stderr)")
        // Past the command (any HTTP client): the county holds the same rule.
        let raw = try county.http("POST", "/v1/admin/conflicts/\(phone.id)/resolve", token: county.adminToken,
                                  body: #"{"action":"set","value":"不是电话"}"#)
        #expect(raw.status == 400 && raw.text.contains("constraint_violated") && raw.text.contains("phone"), "\(raw.status) \(raw.text)")
        #expect(try county.conflict("members", "phone").status == .open, "nothing was changed")
        let dated = try county.http("POST", "/v1/admin/conflicts/\(try county.conflict("proposals", "year").id)/resolve", token: county.adminToken,
                                    body: #"{"action":"set","value":{"i":"3500"}}"#)
        #expect(dated.status == 400 && dated.text.contains("year"), "\(dated.text)")
        // A real number, written as people write it, is taken.
        let ok = try county.cli(["resolve", phone.id, "--set", "0937-1234567"])
        #expect(ok.ok, "\(ok.stderr)")
        try county.a.must(["sync"])
        #expect(try county.cell(county.a, "SELECT phone FROM members WHERE id = '\(ConflictCounty.member)'") == .text("0937-1234567"))
    }
}
