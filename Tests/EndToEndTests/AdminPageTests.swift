import CPSyncCore
import CPSyncProtocol
import Foundation
import Testing
import TestSupport

/// Runs `browser/drive_admin.py` (headless Chromium over the DevTools pipe) and hands back what it saw.
enum AdminBrowser {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("browser/drive_admin.py").path
    static let artifacts = packageRoot.appendingPathComponent(".build/test-artifacts").path
    /// The driver's exit status when the browser cannot be found or started.
    static let unavailable: Int32 = 77

    struct Outcome {
        let observations: [String: Any]
        let dialogs: [Any]
        let problems: [String]
        let screenshots: [String]
        subscript(_ key: String) -> Any? { observations[key] }
        func string(_ key: String) -> String? { observations[key] as? String }
        func strings(_ key: String) -> [String] { observations[key] as? [String] ?? [] }
    }

    /// Drives one scenario; cancels the test (reported as skipped) only when no browser can be started.
    static func drive(_ scenario: String, url: String, token: String, conflict: String, lang: String, prefix: String,
                      extra: [String] = []) throws -> Outcome {
        guard let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: FileManager.default.isExecutableFile(atPath:))
            ?? which("python3") else {
            try Test.cancel("python3 is not installed; the admin page browser test needs python3 and chromium")
        }
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        // `--token=`: a token may begin with "-" (base64url), which argparse would take for an option.
        let r = try run(python, [script, "--url", url, "--token=" + token, "--conflict", conflict, "--scenario", scenario,
                                 "--lang", lang, "--out", artifacts, "--prefix", prefix, "--timeout", "15", "--overall", "75"] + extra,
                        timeout: 100)
        let line = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw HarnessError.failed("drive_admin.py \(scenario) exited \(r.status) without a result: \(r.stdout) \(r.stderr)")
        }
        let error = object["error"] as? String ?? ""
        if r.status == unavailable {
            try Test.cancel("headless chromium cannot be started (\(error)); install the Debian package 'chromium'")
        }
        guard r.status == 0, object["ok"] as? Bool == true else {
            throw HarnessError.failed("browser scenario \(scenario) failed: \(error)\nobserved: \(object["observations"] ?? "")\nstderr: \(r.stderr)")
        }
        return Outcome(observations: object["observations"] as? [String: Any] ?? [:], dialogs: object["dialogs"] as? [Any] ?? [],
                       problems: object["problems"] as? [String] ?? [], screenshots: object["screenshots"] as? [String] ?? [])
    }

    static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// The page's files in the source tree (embedded into cpsyncd at build time).
    static func pageFile(_ name: String) -> String {
        packageRoot.appendingPathComponent("Sources/CPSyncServer/AdminPage").appendingPathComponent(name).path
    }

    /// `node --check`: nil when the script parses, else node's message.
    static func nodeSyntaxError(_ path: String, node: String) throws -> String? {
        let r = try run(node, ["--check", path], timeout: 60)
        return r.ok ? nil : (r.stderr + r.stdout).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Chromium's own parser (`Runtime.compileScript`, the script is not run): nil when it parses, else its message.
    static func chromiumSyntaxError(_ path: String) throws -> String? {
        let o = try drive("parse", url: "-", token: "-", conflict: "-", lang: "en-US", prefix: "parse", extra: ["--js", path])
        return o.string("syntaxError")
    }

    /// Whether a file is a non-trivial PNG.
    static func isPNG(_ path: String) -> Bool {
        guard let d = FileManager.default.contents(atPath: path), d.count > 1000 else { return false }
        return Array(d.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    }
}

@Suite("Admin page: served under a strict CSP, reviewed in a real browser")
struct AdminPageTests {
    static let csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    @Test func adminPageIsServedWithStrictCSPAndNoInlineCode() throws {
        let county = try ConflictCounty.start("admin-page-static")
        defer { county.stop() }
        let expected = [("/admin/", "text/html"), ("/admin", "text/html"), ("/admin/index.html", "text/html"),
                        ("/admin/app.js", "text/javascript"), ("/admin/app.css", "text/css")]
        var bodies: [String: String] = [:]
        for (path, type) in expected {
            let r = try county.http("GET", path)
            #expect(r.status == 200, "\(path)")
            #expect(r.header("Content-Security-Policy") == Self.csp, "\(path)")
            #expect(r.header("X-Content-Type-Options") == "nosniff", "\(path)")
            #expect(r.header("Content-Type")?.hasPrefix(type) == true, "\(path): \(r.header("Content-Type") ?? "")")
            bodies[path] = r.text
        }
        let missing = try county.http("GET", "/admin/nope.js")
        #expect(missing.status == 404)
        #expect(missing.header("Content-Security-Policy") == Self.csp)

        // The CSP allows no inline script or style, so the page must not need any; data never goes through markup.
        let html = try #require(bodies["/admin/"])
        #expect(html.contains(#"<script src="/admin/app.js" defer></script>"#))
        #expect(html.components(separatedBy: "<script").count == 2, "one external script, nothing inline")
        #expect(!html.contains("<style") && !html.contains(" style="))
        #expect(html.range(of: #"\son[a-z]+="#, options: .regularExpression) == nil, "no inline event handlers")
        #expect(!html.contains("http://") && !html.contains("https://"), "nothing from elsewhere (offline intranet)")
        let js = try #require(bodies["/admin/app.js"])
        for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", ".style.", "setAttribute('style'"] {
            #expect(!js.contains(sink), "app.js must not use \(sink)")
        }
        #expect(js.contains("sessionStorage") && js.contains("'Bearer '") && js.contains("Accept-Language"))
        #expect(!js.contains("document.cookie") && !js.contains("localStorage"))
        #expect(try #require(bodies["/admin/app.css"]).contains("@media print"))
    }

    /// The daemon serves the page's files exactly as they are in the source tree: they are embedded at build time,
    /// so an edit to `admin.js` reaches the binary with the next build and nothing is installed beside it.
    @Test func theServedPageIsTheSourceTreesFiles() throws {
        let county = try ConflictCounty.start("admin-page-files")
        defer { county.stop() }
        for (path, file) in [("/admin/", "admin.html"), ("/admin/index.html", "admin.html"), ("/admin/app.js", "admin.js"),
                             ("/admin/app.css", "admin.css")] {
            let onDisk = try String(contentsOfFile: AdminBrowser.pageFile(file), encoding: .utf8)
            let r = try county.http("GET", path)
            #expect(r.status == 200 && r.text == onDisk, "\(path) is not \(file) as it is in Sources/CPSyncServer/AdminPage")
        }
    }

    /// The script parses (a syntax error would leave the page blank in every browser): with `node --check` when
    /// node is installed (`.ci/install-deps test` installs it) and with Chromium's parser; a broken copy is refused by
    /// both, so the check can fail.
    @Test(.timeLimit(.minutes(2))) func theAdminScriptPassesASyntaxCheck() throws {
        let script = AdminBrowser.pageFile("admin.js")
        let work = TempDir("admin-js")
        defer { work.cleanup() }
        let broken = work.path("broken.js")
        let source = try String(contentsOfFile: script, encoding: .utf8)
        try source.replacingOccurrences(of: "function el(tag, attrs, ...children) {", with: "function el(tag, attrs, ...children) {{")
            .write(toFile: broken, atomically: true, encoding: .utf8)
        var checked: [String] = []
        if let node = AdminBrowser.which("node") ?? AdminBrowser.which("nodejs") {
            #expect(try AdminBrowser.nodeSyntaxError(script, node: node) == nil)
            let error = try AdminBrowser.nodeSyntaxError(broken, node: node)
            #expect(error?.contains("SyntaxError") == true, "node must refuse the broken copy: \(error ?? "accepted")")
            checked.append("node")
        }
        if ["chromium", "chromium-browser", "google-chrome"].contains(where: { AdminBrowser.which($0) != nil }) {
            #expect(try AdminBrowser.chromiumSyntaxError(script) == nil)
            let error = try AdminBrowser.chromiumSyntaxError(broken)
            #expect(error?.contains("SyntaxError") == true, "chromium must refuse the broken copy: \(error ?? "accepted")")
            checked.append("chromium")
        }
        if checked.isEmpty { try Test.cancel("neither node nor chromium is installed (.ci/install-deps test installs both)") }
    }

    @Test(.timeLimit(.minutes(3))) func adminResolvesAConflictInTheBrowserAndOfficesReceiveIt() throws {
        let county = try ConflictCounty.start("admin-page-browser")
        defer { county.stop() }
        try county.makeConflicts()
        // Two offices change the member's phone offline to numbers one digit apart.
        try county.a.sql("UPDATE members SET phone = '13812345678' WHERE id = ?", [.text(ConflictCounty.member)])
        try county.b.sql("UPDATE members SET phone = '13812345679' WHERE id = ?", [.text(ConflictCounty.member)])
        try county.a.must(["sync"])
        try county.b.must(["sync"])
        try county.a.must(["sync"])
        let title = try county.conflict("proposals", "title")
        let sector = try county.conflict("members", "sector")
        let phone = try county.conflict("members", "phone")
        let markup = ConflictCounty.markup
        func offices(_ o: AdminBrowser.Outcome) -> [String] {
            (o["officeChoices"] as? [Any] ?? []).map { (($0 as? [String: Any])?["text"] as? String ?? $0 as? String ?? "").trimmingCharacters(in: .whitespaces) }
        }
        func drawnPlainly(_ o: AdminBrowser.Outcome) -> Bool {
            let d = o["winnerDrawn"] as? [String: Any] ?? [:]
            return d["marks"] as? Int == 0 && d["struck"] as? Bool == false
        }

        // Chinese browser: Chinese labels; the member named `<img src=x onerror=alert(1)>` and a sector holding a
        // <script> show as text; no dialog opens, no <img> element exists.
        let zh = try AdminBrowser.drive("xss", url: county.daemon.url, token: county.adminToken, conflict: sector.id, lang: "zh-CN",
                                        prefix: "admin-zh")
        #expect(zh.string("htmlLang") == "zh-CN")
        #expect(zh.string("title") == "政协数据同步 · 县级管理")
        #expect(zh.strings("headers").contains("当前值／处理结果"))
        #expect(zh.strings("listFields").contains("委员 · 界别"), "labels follow the browser language: \(zh.strings("listFields"))")
        #expect(zh.strings("listFields").contains("提案 · 标题"))
        #expect(zh.strings("listRowLabels").contains(markup))
        #expect(zh.string("detailRow") == markup)
        #expect(Set([zh.string("winnerValue") ?? "", zh.string("otherValue") ?? ""]) == ["科技界", "<b>教育界</b><script>alert(2)</script>"])
        #expect(zh.strings("actionLabels").contains("采用另一值"))
        #expect(zh["imgElements"] as? Int == 0)
        #expect(zh.strings("scriptElements") == ["/admin/app.js"])
        // "胜出" is explained (a legend under the list and in the detail, and the badge's tooltip); the winner is drawn
        // plainly (it is the value kept, not a deleted one); the office filter names the offices.
        let zhLegend = zh.string("winsLegend") ?? ""
        #expect(zhLegend.contains("胜出") && zhLegend.contains("自动合并时保留的值"), "\(zhLegend)")
        #expect(!zh.strings("winBadgeTitles").isEmpty && zh.strings("winBadgeTitles").allSatisfy { $0 == zhLegend })
        #expect(zh.string("detailWinsLegend") == zhLegend)
        #expect(drawnPlainly(zh), "\(zh["winnerDrawn"] ?? "")")
        #expect(offices(zh) == ["全部单位", "某县政协", "华山镇", "西苑乡"], "\(offices(zh))")
        #expect(zh.dialogs.isEmpty, "no alert may fire: \(zh.dialogs)")
        #expect(zh.problems.isEmpty, "console errors or CSP violations: \(zh.problems)")

        // English browser: a bad token is refused, then sign in, list, side-by-side diff, take the other value after
        // confirming, audit, sign out.
        let en = try AdminBrowser.drive("review", url: county.daemon.url, token: county.adminToken, conflict: title.id, lang: "en-US",
                                        prefix: "admin-en", extra: ["--phone-conflict", phone.id])
        let winner = title.winner.value.stringValue ?? "", other = title.other.value.stringValue ?? ""
        #expect(en.string("htmlLang") == "en")
        #expect(en.string("badTokenError")?.contains("not accepted") == true, "\(en.string("badTokenError") ?? "")")
        #expect(en["badTokenStillSignIn"] as? Bool == true)
        #expect(en["tokenInSessionStorage"] as? Bool == true)
        #expect(en.string("cookies") == "")
        let rows = en["listRows"] as? [[String: Any]] ?? []
        let row = try #require(rows.first { $0["id"] as? String == title.id })
        #expect(row["field"] as? String == "proposal · title")
        #expect(row["row"] as? String == title.rowLabel)
        #expect(row["winner"] as? String == winner && row["other"] as? String == other)
        #expect((row["text"] as? String)?.contains(title.winner.siteName) == true)
        #expect(en.string("detailTitle") == "proposal · title")
        #expect(en.string("winnerValue") == winner && en.string("otherValue") == other)
        #expect(en.string("winnerSite")?.contains(title.winner.siteName) == true)
        #expect(en.string("otherSite")?.contains(title.other.siteName) == true)
        #expect(en.strings("deleted").isEmpty, "the current value is not drawn as deleted: \(en.strings("deleted"))")
        #expect(!en.strings("inserted").isEmpty, "the difference is highlighted in the other value")
        #expect(drawnPlainly(en), "\(en["winnerDrawn"] ?? "")")
        #expect(en.string("diffLegend")?.contains("where the other value differs") == true, "\(en.string("diffLegend") ?? "")")
        let enLegend = en.string("winsLegend") ?? ""
        #expect(enLegend.contains("the value the automatic merge kept"), "\(enLegend)")
        #expect(!en.strings("winBadgeTitles").isEmpty && en.strings("winBadgeTitles").allSatisfy { $0 == enLegend })
        #expect(en.string("detailWinsLegend") == enLegend)
        // The office filter: the offices by name; the county has no conflict, 华山镇 all four.
        #expect(offices(en) == ["all offices", "某县政协", "华山镇", "西苑乡"], "\(offices(en))")
        #expect(((en["officeChoices"] as? [[String: Any]]) ?? []).map { $0["value"] as? String ?? "?" } == ["", "county", "huashan", "xiyuan"])
        #expect(en["quietOfficeRows"] as? Int == 0 && en.string("quietOfficeSummary") == "No conflicts match these filters.")
        #expect(en["busyOfficeRows"] as? Int == 4)
        // Phone numbers one digit apart: both whole, nothing marked.
        #expect(en.string("phoneWinner") == phone.winner.value.stringValue && en.string("phoneOther") == phone.other.value.stringValue)
        #expect(Set([en.string("phoneWinner") ?? "", en.string("phoneOther") ?? ""]) == ["13812345678", "13812345679"])
        #expect(en["phoneMarks"] as? Int == 0 && en["phoneDiffLegend"] as? Bool == false)
        #expect(en["stillOpenAfterCancel"] as? Bool == true, "cancel sends nothing")
        #expect(en.string("confirmSummary")?.contains(other) == true)
        #expect(en.string("bannerKind") == "success")
        #expect(en.string("banner")?.contains("resolved") == true)
        #expect(en.string("resolution")?.contains("took the other value") == true)
        #expect(en.string("resolution")?.contains("checked with the township office") == true)
        #expect(en.strings("audit").contains { $0.contains("zhang") && $0.contains("checked with the township office") })
        // The audit trail names the record and the field in words; the record's key is only under "Technical details".
        #expect(en.strings("auditRecords") == ["2025-017 " + other], "the record as it is named now: \(en.strings("auditRecords"))")
        #expect(en.strings("auditFields") == ["proposal · title"])
        #expect(en.string("detailPk") == ConflictCounty.proposal)
        #expect(en.string("detailVisibleText")?.contains(ConflictCounty.proposal) == false, "the key is not shown to clerks")
        #expect(!en.strings("audit").contains { $0.contains(ConflictCounty.proposal) || $0.contains("proposals.title") })
        // The resolved conflict in the list: the value kept, by whom and when, with the note; no "wins" badge.
        let resolvedRow = en["resolvedRow"] as? [String: Any] ?? [:]
        #expect(resolvedRow["decision"] as? String == other)
        #expect((resolvedRow["meta"] as? String)?.contains("took the other value · zhang") == true, "\(resolvedRow)")
        #expect(resolvedRow["note"] as? String == "checked with the township office")
        #expect(resolvedRow["winBadges"] as? Int == 0)
        // At 390 px the detail, the list and the audit trail fit the screen (rows become cards).
        for key in ["resolvedOverflow390", "listOverflow390", "auditOverflow390"] {
            let m = en[key] as? [String: Any] ?? [:]
            #expect(m["innerWidth"] as? Int == 390 && m["overflows"] as? Bool == false, "\(key): \(m)")
        }
        #expect(en["tokenAfterSignOut"] is NSNull, "signing out forgets the token")
        #expect(en.dialogs.isEmpty)
        // The refused sign-in logs its 401 in the console; anything else is a bug.
        #expect(en.problems.filter { !$0.contains("status of 401") }.isEmpty, "\(en.problems)")

        for name in ["admin-zh-list", "admin-zh-side-by-side", "admin-en-list", "admin-en-side-by-side", "admin-en-resolved"] {
            #expect(AdminBrowser.isPNG(AdminBrowser.artifacts + "/\(name).png"), "screenshot \(name).png")
        }

        // The server recorded the decision, and both offices hold the chosen value after their next sync.
        let resolved = try county.conflict("proposals", "title")
        #expect(resolved.status == .resolved && resolved.resolution?.action == .takeOther && resolved.resolution?.by == "zhang")
        try county.a.must(["sync"])
        try county.b.must(["sync"])
        for office in [county.a, county.b] {
            #expect(try county.cell(office, "SELECT title FROM proposals WHERE id = '\(ConflictCounty.proposal)'") == title.other.value)
        }
        #expect(try county.conflict("members", "sector").status == .open, "viewing a conflict changes nothing")
    }
}
