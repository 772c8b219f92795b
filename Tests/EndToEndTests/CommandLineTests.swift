import Foundation
import Testing
import TestSupport

/// The command line of the real binaries: help for every verb and sub-verb, `--version`, "did you mean", and that
/// asking for help or reading never creates a database or a data directory.
@Suite struct CommandLineTests {
    /// Every `cpsync` verb with its sub-verbs (none: the verb itself).
    static let cpsyncCommands: [(String, [String])] = [
        ("init", []), ("push", []), ("pull", []), ("sync", []), ("status", []), ("conflicts", ["list", "show", "resolve"]),
        ("member", ["add", "list", "show", "edit"]),
        ("proposal", ["add", "list", "show", "edit", "submit", "review", "file", "reject", "merge", "convert", "assign", "reply", "evaluate", "close"]),
        ("social", ["add", "list", "adopt"]), ("activity", ["add", "list"]), ("report", []), ("import", []), ("export", []), ("demo", ["seed"]),
        ("order", ["show", "sites", "units", "clear"]),
    ]
    static let cpsyncdCommands: [(String, [String])] = [
        ("serve", []), ("site", ["add", "list", "revoke", "token", "activate", "move"]), ("admin", ["add", "list", "revoke"]),
        ("backup", []), ("restore", []), ("doctor", []),
    ]

    /// An environment in which a command that opened its default database or data directory would create it inside
    /// `ws` (where the test looks).
    static func isolated(_ ws: TempDir) -> [String: String] {
        ["CPSYNC_DB": ws.path("office.db"), "CPSYNC_DATA": ws.path("county-data"), "CPSYNCD_CONF": ws.path("no-such.conf")]
    }

    static func entries(_ ws: TempDir) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: ws.url.path)) ?? []
    }

    @Test func helpOfEveryVerbAndSubVerbShowsItsOptionsAndAnExampleAndCreatesNothing() throws {
        let ws = TempDir("help")
        defer { ws.cleanup() }
        for (binary, commands, common) in [(Binaries.cpsync, Self.cpsyncCommands, "--db PATH"), (Binaries.cpsyncd, Self.cpsyncdCommands, "--data DIR")] {
            for (verb, subs) in commands {
                for words in (subs.isEmpty ? [[verb]] : subs.map { [verb, $0] }) {
                    for form in [words + ["--help"], ["help"] + words, words + ["-h"]] {
                        let r = try run(binary, form, env: Self.isolated(ws), cwd: ws.url.path)
                        let shown = "\(binary) \(form.joined(separator: " "))"
                        #expect(r.status == 0, "\(shown): \(r.stderr)")
                        #expect(r.stdout.contains("usage: ") && r.stdout.contains("options:") && r.stdout.contains("example:"), "\(shown): \(r.stdout)")
                        #expect(r.stdout.contains(common), "\(shown) does not list \(common)")
                        #expect(r.stdout.contains("  \((binary as NSString).lastPathComponent) \(words.joined(separator: " "))"), "\(shown): no example of the command")
                    }
                }
            }
        }
        #expect(Self.entries(ws).isEmpty, "help created \(Self.entries(ws))")
    }

    @Test func aVerbsHelpListsEverySubVerbAndEveryOptionOfEach() throws {
        let member = try run(Binaries.cpsync, ["member", "--help"])
        #expect(member.ok)
        for option in ["--name", "--gender", "--sector", "--party", "--term", "--site", "--phone", "--employer", "--position", "--id", "--json", "--db"] {
            #expect(member.stdout.contains(option), "member --help lacks \(option)")
        }
        for sub in ["member add", "member list", "member show", "member edit"] { #expect(member.stdout.contains("cpsync \(sub)")) }
        let proposal = try run(Binaries.cpsync, ["help", "proposal"])
        for sub in Self.cpsyncCommands.first(where: { $0.0 == "proposal" })!.1 { #expect(proposal.stdout.contains("usage: cpsync proposal \(sub)")) }
        for option in ["--category", "--met", "--satisfaction", "--unit", "--role", "--due", "--into", "--reason", "--supervisor", "--cosigner"] {
            #expect(proposal.stdout.contains(option), "help proposal lacks \(option)")
        }
        let site = try run(Binaries.cpsyncd, ["site", "--help"])
        for option in ["--id", "--name", "--kind", "--parent", "--json", "--data"] { #expect(site.stdout.contains(option), "site --help lacks \(option)") }
    }

    /// Every option a sub-verb's help lists is one the command takes: none is refused as unknown.
    @Test func everyOptionTheHelpListsIsAcceptedByItsCommand() throws {
        let ws = TempDir("helpopts")
        defer { ws.cleanup() }
        let env = Self.isolated(ws)
        #expect(try run(Binaries.cpsync, ["demo", "seed"], env: env).ok)
        // Verbs that reach no server and start no daemon.
        let offline = Self.cpsyncCommands.filter { ["member", "proposal", "social", "activity", "report", "export", "import", "demo"].contains($0.0) }
            .map { (Binaries.cpsync, $0) }
            + Self.cpsyncdCommands.filter { ["site", "admin", "doctor"].contains($0.0) }.map { (Binaries.cpsyncd, $0) }
        var checked = 0
        for (binary, (verb, subs)) in offline {
            for words in (subs.isEmpty ? [[verb]] : subs.map { [verb, $0] }) {
                let help = try run(binary, ["help"] + words).stdout
                for line in help.split(separator: "\n") where line.hasPrefix("  --") {
                    let name = String(line.dropFirst(2).prefix { $0 != " " })
                    if ["--help", "--db", "--data"].contains(name) { continue }
                    // One space after the name starts the value's placeholder (`--date D`); two start the description.
                    let rest = line.dropFirst(2 + name.count)
                    let placeholder = rest.hasPrefix(" ") && !rest.hasPrefix("  ") ? String(rest.dropFirst().prefix { $0 != " " }) : nil
                    let value = placeholder.map { ["D", "DATE"].contains($0) ? "2026-03-01" : $0 == "Y" ? "2026" : $0 == "N" ? "1" : "x" }
                    let r = try run(binary, words + [name] + (value.map { [$0] } ?? []), env: env)
                    #expect(!r.stderr.contains("unknown option \(name)"), "\(words.joined(separator: " ")) \(name): \(r.stderr)")
                    checked += 1
                }
            }
        }
        #expect(checked > 80)
    }

    @Test func helpIsInChineseUnderAChineseLocale() throws {
        let r = try run(Binaries.cpsync, ["help", "proposal", "reply"], env: ["LANG": "zh_CN.UTF-8"])
        #expect(r.ok && r.stdout.contains("用法：cpsync proposal reply") && r.stdout.contains("选项：") && r.stdout.contains("示例："))
        #expect(r.stdout.contains("答复内容（必填）"))
        let d = try run(Binaries.cpsyncd, ["site", "add", "--help"], env: ["LANG": "zh_CN.UTF-8"])
        #expect(d.ok && d.stdout.contains("令牌只显示一次"))
    }

    @Test func bothBinariesTellTheirVersion() throws {
        for binary in [Binaries.cpsync, Binaries.cpsyncd] {
            let r = try run(binary, ["--version"])
            let name = (binary as NSString).lastPathComponent
            #expect(r.ok && r.stdout.hasPrefix("\(name) 0.") && r.stdout.contains("protocol v1"), "\(name): \(r.stdout)")
        }
    }

    @Test func aMistypedVerbSubVerbOrOptionIsAnsweredWithTheNearestSpelling() throws {
        let ws = TempDir("typo")
        defer { ws.cleanup() }
        let env = Self.isolated(ws)
        let verb = try run(Binaries.cpsync, ["membr", "list"], env: env)
        #expect(verb.status == 64 && verb.stderr.contains("did you mean 'member'?"), "\(verb.stderr)")
        let sub = try run(Binaries.cpsync, ["proposal", "replay", "2026-001"], env: env)
        #expect(sub.status == 64 && sub.stderr.contains("did you mean 'proposal reply'?"), "\(sub.stderr)")
        let daemonSub = try run(Binaries.cpsyncd, ["site", "lst"], env: env)
        #expect(daemonSub.status == 64 && daemonSub.stderr.contains("did you mean 'site list'?"), "\(daemonSub.stderr)")
        #expect(Self.entries(ws).isEmpty, "a mistyped command created \(Self.entries(ws))")

        let seed = try run(Binaries.cpsync, ["demo", "seed"], env: env)
        #expect(seed.ok, "\(seed.stderr)")
        let option = try run(Binaries.cpsync, ["member", "list", "--sectr", "科技"], env: env)
        #expect(option.status == 64 && option.stderr.contains("did you mean '--sector'?"), "\(option.stderr)")
        #expect(option.stderr.contains("cpsync member --help"), "the error points to the help: \(option.stderr)")
        let required = try run(Binaries.cpsyncd, ["site", "add", "--id", "huashan", "--nmae", "华山镇", "--kind", "township"], env: env)
        #expect(required.status == 64 && required.stderr.contains("did you mean '--name'?"), "\(required.stderr)")
        let far = try run(Binaries.cpsync, ["frobnicate"], env: env)
        #expect(far.status == 64 && !far.stderr.contains("did you mean"))
    }

    @Test func readOnlyVerbsNeverCreateADatabaseAndSayWhereTheyLooked() throws {
        let ws = TempDir("readonly")
        defer { ws.cleanup() }
        let env = Self.isolated(ws)
        let missing = ws.path("office.db")
        for args in [["member", "list"], ["member", "show", "王芳"], ["proposal", "list"], ["proposal", "show", "2026-001"],
                     ["social", "list"], ["activity", "list"], ["report", "--year", "2026"], ["export", "members"],
                     ["conflicts", "list"], ["status"]] {
            let r = try run(Binaries.cpsync, args, env: env, cwd: ws.url.path)
            #expect(r.status == 74, "\(args): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains(missing), "\(args) does not name \(missing): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: missing), "\(args) created the database")
        }
        let zh = try run(Binaries.cpsync, ["member", "list"], env: env.merging(["LANG": "zh_CN.UTF-8"]) { $1 })
        #expect(zh.status == 74 && zh.stderr.contains("没有办公室数据库"), "\(zh.stderr)")
        let zhStatus = try run(Binaries.cpsync, ["status"], env: env.merging(["LANG": "zh_CN.UTF-8"]) { $1 }, cwd: ws.url.path)
        #expect(zhStatus.status == 74 && zhStatus.stderr.contains("不是 cpsync 数据库") && zhStatus.stderr.contains("cpsync init"), "\(zhStatus.stderr)")
        for args in [["site", "list"], ["admin", "list"]] {
            let r = try run(Binaries.cpsyncd, args, env: env, cwd: ws.url.path)
            #expect(r.status == 74, "\(args): \(r.stderr)")
        }
        #expect(Self.entries(ws).isEmpty, "read-only commands created \(Self.entries(ws))")
    }
}

/// Dates given on the command line: a day that does not exist and a step before the one it follows are refused
/// (exit 65) naming the option, in the user's language.
@Suite struct CommandLineDateTests {
    @Test func aDayThatDoesNotExistAndAnOutOfOrderStepAreRefusedByTheRealBinary() throws {
        let ws = TempDir("dates")
        defer { ws.cleanup() }
        let db = ["--db", ws.path("county.db")]
        #expect(try run(Binaries.cpsync, ["demo", "seed"] + db).ok)
        let added = try run(Binaries.cpsync, ["proposal", "add", "--title", "关于日期的提案", "--proposer", "张伟", "--number", "2026-090", "--date", "2026-02-01"] + db)
        #expect(added.ok, "\(added.stderr)")
        let bad = try run(Binaries.cpsync, ["proposal", "file", "2026-090", "--date", "2026-02-30"] + db)
        #expect(bad.status == 65 && bad.stderr.contains("--date") && bad.stderr.contains("28 days"), "\(bad.stderr)")
        let zh = try run(Binaries.cpsync, ["proposal", "file", "2026-090", "--date", "2026-02-30"] + db, env: ["LANG": "zh_CN.UTF-8"])
        #expect(zh.status == 65 && zh.stderr.contains("只有 28 天"), "\(zh.stderr)")
        let show = try run(Binaries.cpsync, ["proposal", "show", "2026-090", "--json"] + db)
        #expect(show.ok && !show.stdout.contains("\"filed\""), "nothing was filed: \(show.stdout)")
        #expect(try run(Binaries.cpsync, ["proposal", "file", "2026-090", "--date", "2026-02-10"] + db).ok)
        let early = try run(Binaries.cpsync, ["proposal", "assign", "2026-090", "--unit", "县水利局", "--date", "2026-02-09"] + db)
        #expect(early.status == 65 && early.stderr.contains("2026-02-10"), "\(early.stderr)")
        let due = try run(Binaries.cpsync, ["proposal", "assign", "2026-090", "--unit", "县水利局", "--date", "2026-03-01", "--due", "2026-02-31"] + db)
        #expect(due.status == 65 && due.stderr.contains("--due"), "\(due.stderr)")
    }
}

/// `cpsync report` through the real binary: a period, the committee's name, Chinese or English CSV headers.
@Suite struct ReportCommandLineTests {
    @Test func aPeriodReportCarriesTheCommitteeAndItsCSVHeadersFollowTheLocaleOrTheFlag() throws {
        let ws = TempDir("report")
        defer { ws.cleanup() }
        let db = ["--db", ws.path("county.db")]
        #expect(try run(Binaries.cpsync, ["demo", "seed"] + db).ok)
        let zh = ["LANG": "zh_CN.UTF-8"]
        let csv = try run(Binaries.cpsync, ["report", "--from", "2026-01-01", "--to", "2026-06-30", "--format", "csv"] + db, env: zh)
        #expect(csv.ok, "\(csv.stderr)")
        #expect(csv.stdout.contains("范围,指标,数值") && csv.stdout.contains("报表,标题,某县政协 2026年1月1日至6月30日工作统计"), "\(csv.stdout.prefix(300))")
        #expect(csv.stdout.contains("承办单位：县水利局,主办件数,1"))
        let keys = try run(Binaries.cpsync, ["report", "--to", "2026-06-30", "--format", "csv", "--english-headers"] + db, env: zh)
        #expect(keys.ok && keys.stdout.contains("scope,metric,value") && keys.stdout.contains("report,from,2026-01-01"), "\(keys.stdout.prefix(300))")
        #expect(keys.stdout.contains("unit:县水利局,lead,1"))
        // By 31 May nothing was closed yet in the demo year; by the end of the year two proposals were.
        let may = try run(Binaries.cpsync, ["report", "--to", "2026-05-31", "--format", "csv", "--english-headers"] + db)
        let year = try run(Binaries.cpsync, ["report", "--year", "2026", "--format", "csv", "--english-headers"] + db)
        #expect(may.stdout.contains("overall,closed,0") && year.stdout.contains("overall,closed,2"))
        let html = try run(Binaries.cpsync, ["report", "--year", "2026", "--format", "html", "--out", ws.path("report.html")] + db, env: zh)
        #expect(html.ok, "\(html.stderr)")
        let page = try String(contentsOfFile: ws.path("report.html"), encoding: .utf8)
        #expect(page.contains("<title>某县政协 2026 年度工作统计</title>") && page.contains("填报人") && page.contains("委员构成"))
        let reversed = try run(Binaries.cpsync, ["report", "--from", "2026-07-01", "--to", "2026-06-30"] + db)
        #expect(reversed.status == 65 && reversed.stderr.contains("--from"), "\(reversed.stderr)")
        let neither = try run(Binaries.cpsync, ["report"] + db)
        #expect(neither.status == 64 && neither.stderr.contains("--year"), "\(neither.stderr)")
    }

    @Test func theBenchmarkToolListsEveryVerbAndEachVerbItsOptions() throws {
        let bench = Binaries.directory.appendingPathComponent("cpsync-bench").path
        try #require(FileManager.default.isExecutableFile(atPath: bench), "build cpsync-bench first (swift build)")
        let verbs = ["core": ["--rows N", "--metadata-rows N", "--json"], "sync": ["--cells N", "--json"],
                     "scope": ["--members N", "--proposals N", "--townships N", "--edits N", "--json"],
                     "snapshot": ["--members N", "--proposals N", "--townships N", "--json"],
                     "load": ["--offices N", "--slow N", "--rows N", "--pull-from now|zero", "--json"], "wire": ["--members N", "--json"],
                     "crash-merge": ["--db PATH", "--rows N"]]
        for form in [["--help"], ["-h"], ["help"]] {
            let r = try run(bench, form)
            #expect(r.status == 0, "cpsync-bench \(form[0]): \(r.stderr)")
            for verb in verbs.keys { #expect(r.stdout.contains("    \(verb) "), "cpsync-bench \(form[0]) lacks \(verb): \(r.stdout)") }
        }
        for (verb, options) in verbs {
            let r = try run(bench, [verb, "--help"])
            #expect(r.status == 0, "cpsync-bench \(verb) --help: \(r.stderr)")
            for option in options { #expect(r.stdout.contains("[\(option)]"), "cpsync-bench \(verb) --help lacks \(option): \(r.stdout)") }
        }
        let unknown = try run(bench, ["core", "--no-such-option"])
        #expect(unknown.status == 64 && unknown.stderr.contains("usage: cpsync-bench core"), "\(unknown.stderr)")
        #expect(try run(bench, ["no-such-verb"]).status == 64)
    }
}
