import CPPCC
import CPSyncClient
import CPSyncCore
import CPSyncProtocol
import Foundation
import Testing
import TestSupport

/// What a clerk or an admin is told when something is wrong — a revoked token, a wrong server address, an untrusted
/// certificate, a database of another office, a typo in a date — said correctly, in Chinese under zh_CN, with the
/// documented exit code; and the details around it (defaults in the help, the limits the daemon announces, the last
/// admin kept, `make run` ended by Ctrl-C). Real `cpsyncd` and `cpsync` binaries, 127.0.0.1 only.
@Suite(.serialized) struct ClerkDiagnosisTests {
    static let zh = ["LANG": "zh_CN.UTF-8"]

    // MARK: status and the token

    @Test func statusSaysTheTokenIsRevokedAndExits77LikeSync() throws {
        let county = try County("diag-status", sites: ["huashan"])
        defer { county.cleanup() }
        let huashan = try county.office("huashan")
        let fine = try huashan.cpsync(["status"], env: Self.zh)
        #expect(fine.status == 0, "\(fine.stdout)\(fine.stderr)")
        // The skew in Chinese seconds, not "0 s".
        let skewLine = fine.stdout.split(separator: "\n").first { $0.hasPrefix("时钟偏差") } ?? ""
        #expect(skewLine.hasSuffix(" 秒"), "\(fine.stdout)")

        let revoke = try run(Binaries.cpsyncd, ["site", "revoke", "huashan", "--data", county.daemon.dataDir])
        #expect(revoke.ok, "\(revoke.stderr)")
        let sync = try huashan.cpsync(["sync"])
        #expect(sync.status == 77, "sync: \(sync.status) \(sync.stderr)")
        let status = try huashan.cpsync(["status"], env: Self.zh)
        #expect(status.status == 77, "status must exit 77 like sync: \(status.status) \(status.stdout)\(status.stderr)")
        #expect(status.stdout.contains("服务器拒绝本办公室的令牌"), "\(status.stdout)")
        #expect(status.stderr.contains("吊销"), "\(status.stderr)")
        let json = try huashan.cpsync(["status", "--json"])
        #expect(json.status == 77)
        #expect(JSONText.bool(json.stdout, "token_accepted") == false && JSONText.bool(json.stdout, "reachable") == true, "\(json.stdout)")
    }

    // MARK: a wrong server address

    @Test func initNamesTheServersRootWhenTheAddressCarriesAPathItDoesNotServe() throws {
        let county = try County("diag-path", sites: ["huashan"])
        defer { county.cleanup() }
        let db = county.ws.path("huashan.db")
        let r = try run(Binaries.cpsync, ["init", "--db", db, "--server", county.daemon.url + "/cpsync", "--token", county.tokens["huashan"]!],
                        env: Self.zh)
        #expect(r.status == 64, "\(r.status) \(r.stderr)")
        #expect(!r.stderr.contains("版本较旧"), "a path prefix is not an older server: \(r.stderr)")
        #expect(r.stderr.contains("不是 cpsync 服务器地址") && r.stderr.contains("--server \(county.daemon.url)（去掉路径）"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: db), "nothing is created")
    }

    @Test func initWithHttpsToThePlainHttpPortNamesTheHttpAddress() throws {
        let county = try County("diag-scheme", sites: ["huashan"])
        defer { county.cleanup() }
        let db = county.ws.path("huashan.db")
        let https = "https://127.0.0.1:\(county.daemon.port)"
        let started = Date()
        let r = try run(Binaries.cpsync, ["init", "--db", db, "--server", https, "--site", "huashan", "--token", county.tokens["huashan"]!],
                        env: Self.zh)
        #expect(r.status == 64, "\(r.status) \(r.stderr)")
        #expect(!r.stderr.contains("版本较旧") && !r.stderr.contains("无法连接"), "not an unreachable or older server: \(r.stderr)")
        #expect(r.stderr.contains("普通 HTTP") && r.stderr.contains("请改用 \(county.daemon.url)"), "\(r.stderr)")
        #expect(Date().timeIntervalSince(started) < 5, "a wrong scheme is not retried")
        #expect(!FileManager.default.fileExists(atPath: db))
        // In English too, naming the http:// address.
        let en = try run(Binaries.cpsync, ["init", "--db", db, "--server", https, "--token", county.tokens["huashan"]!])
        #expect(en.status == 64 && en.stderr.contains("plain HTTP port") && en.stderr.contains("use \(county.daemon.url)"), "\(en.stderr)")
    }

    @Test func initRefusesAnUntrustedCertificateWith77AndCreatesNothing() throws {
        let ws = TempDir("diag-tls")
        defer { ws.cleanup() }
        let certificates = try TestCertificates(in: ws)
        let listener = try TLSListener(certificates)
        defer { listener.stop() }
        let db = ws.path("huashan.db")
        let server = "https://127.0.0.1:\(listener.port)"
        for site in [["--site", "huashan"], []] {
            let r = try run(Binaries.cpsync, ["init", "--db", db, "--server", server, "--token", "t0ken"] + site, env: Self.zh)
            #expect(r.status == 77, "\(site): README: an untrusted certificate exits 77: \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("TLS 证书不受信任") && r.stderr.contains("--ca-file") && r.stderr.contains("未创建任何文件"), "\(r.stderr)")
            #expect(!r.stderr.contains("版本较旧"), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: db), "\(site): nothing is created")
        }
        // Trusted, but what answers there is a plain web server, not cpsyncd: a wrong address (64), not "unexpected answer" (69).
        let trusted = try run(Binaries.cpsync, ["init", "--db", db, "--server", server, "--token", "t0ken", "--ca-file", certificates.caFile],
                              env: Self.zh)
        #expect(trusted.status == 64, "\(trusted.status) \(trusted.stderr)")
        #expect(trusted.stderr.contains("不是 cpsync 服务器地址"), "\(trusted.stderr)")
        #expect(!FileManager.default.fileExists(atPath: db))
    }

    // MARK: wrong or English messages

    @Test func initOnAnotherOfficesDatabaseSaysWhoseDatabaseItIs() throws {
        let county = try County("diag-other", sites: ["huashan", "taohe"])
        defer { county.cleanup() }
        let huashan = try county.office("huashan")
        let r = try run(Binaries.cpsync, ["init", "--db", huashan.db, "--server", county.daemon.url, "--token", county.tokens["taohe"]!], env: Self.zh)
        #expect(r.status == 65, "\(r.status) \(r.stderr)")
        #expect(!r.stderr.contains("malformed"), "\(r.stderr)")
        #expect(r.stderr.contains("属于站点 'huashan'") && r.stderr.contains("站点 'taohe'") && r.stderr.contains("--db"), "\(r.stderr)")
        // The same office's token again is still fine (init updates the server and token).
        let again = try run(Binaries.cpsync, ["init", "--db", huashan.db, "--server", county.daemon.url, "--token", county.tokens["huashan"]!])
        #expect(again.ok, "\(again.stderr)")
    }

    @Test func aBadDateInAnImportNamesTheColumnInChinese() throws {
        let county = try County("diag-date", sites: ["huashan"])
        defer { county.cleanup() }
        let huashan = try county.office("huashan")
        try huashan.must(["member", "add", "--name", "王芳", "--gender", "女", "--site", "huashan"])
        let csv = county.ws.path("提案.csv")
        try "标题,年度,第一提案人,状态,立案日期\n关于加强农村饮水安全保障的提案,2026,王芳,立案,2026-3\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let r = try huashan.cpsync(["import", "proposals", csv], env: Self.zh)
        #expect(r.status == 65, "\(r.status) \(r.stderr)")
        #expect(!r.stderr.contains("filed_on") && r.stderr.contains("立案日期"), "\(r.stderr)")
    }

    @Test func aStationEditingAnotherOfficesFiledProposalIsToldTheRealReason() throws {
        let county = try County("diag-station", sites: ["huashan"])
        defer { county.cleanup() }
        let xianToken = try county.daemon.addSite("xian", name: "县政协机关", kind: "county", parent: "county")
        let stationToken = try county.daemon.addSite("xiyuan", name: "西苑社区联络站", kind: "station", parent: "huashan")
        let huashan = try county.office("huashan")
        let xian = try Office.create("xian", in: county.ws, daemon: county.daemon, token: xianToken)
        let xiyuan = try Office.create("xiyuan", in: county.ws, daemon: county.daemon, token: stationToken)
        try huashan.must(["member", "add", "--name", "王芳", "--gender", "女", "--site", "huashan"])
        try huashan.must(["proposal", "add", "--title", "关于加强农村饮水安全保障的提案", "--proposer", "王芳", "--date", "2026-03-01"])
        try huashan.must(["sync"])
        try xian.must(["sync"])
        try xian.must(["proposal", "file", "huashan-2026-001", "--date", "2026-03-10"])
        try xian.must(["sync"])
        try xiyuan.must(["sync"])
        #expect(try xiyuan.query("SELECT count(*) FROM proposals WHERE number = '2026-001'").first?.first == .integer(1),
                "the station holds the filed proposal")
        let r = try xiyuan.cpsync(["proposal", "edit", "2026-001", "--title", "改一下标题"], env: Self.zh)
        #expect(r.status == 65, "\(r.status) \(r.stderr)")
        #expect(!r.stderr.contains("不是已知的委员"), "the proposer is not the reason: \(r.stderr)")
        #expect(r.stderr.contains("本站点") && r.stderr.contains("未做任何更改"), "\(r.stderr)")
        #expect(try xiyuan.query("SELECT title FROM proposals WHERE number = '2026-001'").first?.first == .text("关于加强农村饮水安全保障的提案"))
    }

    @Test func choicesInAChineseMessageAreChinese() throws {
        let county = try County("diag-choices", sites: ["huashan"])
        defer { county.cleanup() }
        let huashan = try county.office("huashan")
        let r = try huashan.cpsync(["proposal", "reply", "2026-001", "--category", "D"], env: Self.zh)
        #expect(r.status == 64, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("A、B 或 C") && !r.stderr.contains(" or "), "\(r.stderr)")
        let n = try huashan.cpsync(["proposal", "list", "--year", "二〇二六"], env: Self.zh)
        #expect(n.status == 64 && n.stderr.contains("应为整数") && !n.stderr.contains("whole number"), "\(n.stderr)")
    }

    @Test func theAuditTrailNamesTheOSUserWhenNoLoginNameIsSet() throws {
        let county = try County("diag-audit", sites: [], start: false)
        defer { county.cleanup() }
        let me = try run("/usr/bin/id", ["-un"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!me.isEmpty)
        let r = try run(Binaries.cpsyncd, ["site", "add", "--data", county.daemon.dataDir, "--id", "huashan", "--name", "华山镇政协工委",
                                           "--kind", "township"], env: ["USER": "", "LOGNAME": ""])
        #expect(r.ok, "\(r.stderr)")
        let actor = try Database(path: county.serverDB).scalar("SELECT actor FROM _srv_audit WHERE subject = 'huashan'")
        #expect(actor == .text("cli:" + me), "\(String(describing: actor))")
    }

    @Test func siteKindsAreChineseInAChineseListAndChineseKindNamesAreAccepted() throws {
        let county = try County("diag-kinds", sites: [], start: false)
        defer { county.cleanup() }
        let data = county.daemon.dataDir
        for (id, kind) in [("huashan", "乡镇"), ("jiedao", "街道"), ("xiyuan", "联络站"), ("taohe", "乡镇政协工委")] {
            let parent = kind == "联络站" ? ["--parent", "huashan"] : []
            let r = try run(Binaries.cpsyncd, ["site", "add", "--data", data, "--id", id, "--name", id, "--kind", kind] + parent, env: Self.zh)
            #expect(r.ok, "--kind \(kind): \(r.stderr)")
        }
        let bad = try run(Binaries.cpsyncd, ["site", "add", "--data", data, "--id", "x", "--name", "x", "--kind", "村"], env: Self.zh)
        #expect(bad.status == 65 && bad.stderr.contains("乡镇（township）"), "\(bad.stderr)")
        let list = try run(Binaries.cpsyncd, ["site", "list", "--data", data], env: Self.zh)
        #expect(list.ok && list.stdout.contains("乡镇政协工委") && list.stdout.contains("社区联络站") && list.stdout.contains("街道委员工作室"), "\(list.stdout)")
        #expect(!list.stdout.contains("township") && !list.stdout.contains("station"), "\(list.stdout)")
        let json = try run(Binaries.cpsyncd, ["site", "list", "--data", data, "--json"], env: Self.zh)
        let kinds = Set(((try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]) ?? []).compactMap { $0["kind"] as? String })
        #expect(kinds.isSuperset(of: ["township", "station", "street"]), "the stored codes: \(json.stdout)")
    }

    @Test func restoreSaysInChineseThatADaemonHoldsTheDataDirectory() throws {
        let county = try County("diag-restore", sites: ["huashan"])
        defer { county.cleanup() }
        let backup = county.ws.path("backup.db")
        #expect(try run(Binaries.cpsyncd, ["backup", "--data", county.daemon.dataDir, "--to", backup]).ok)
        let r = try run(Binaries.cpsyncd, ["restore", "--data", county.daemon.dataDir, "--from", backup], env: Self.zh)
        #expect(r.status == 74, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("锁文件") && r.stderr.contains("由进程") && !r.stderr.contains("held by"), "\(r.stderr)")
    }

    // MARK: docs and details

    @Test func helpSaysWhatTheCodeDoes() throws {
        let serve = try run(Binaries.cpsyncd, ["serve", "--help"])
        // HTTPServerConfiguration's default, which `serve` uses.
        #expect(serve.stdout.contains("(default 4096") && !serve.stdout.contains("default 256"), "\(serve.stdout)")
        let sync = try run(Binaries.cpsync, ["sync", "--help"])
        #expect(sync.stdout.contains("pull, push, then pull again") && !sync.stdout.contains("push, then pull;"), "\(sync.stdout)")
        let zhSync = try run(Binaries.cpsync, ["help"], env: Self.zh)
        #expect(zhSync.stdout.contains("先拉取、再推送、最后再拉取"), "\(zhSync.stdout)")
    }

    @Test func theAdminPagesSignInHintQuotesTheCommandThatWorks() throws {
        let county = try County("diag-hint", sites: [])
        defer { county.cleanup() }
        let html = try HTTPAnswer.send("GET", county.daemon.url + "/admin/").text
        let script = try HTTPAnswer.send("GET", county.daemon.url + "/admin/app.js").text
        #expect(html.contains("cpsyncd admin add --name NAME"), "\(html)")
        #expect(script.contains("cpsyncd admin add --name NAME") && script.contains("cpsyncd admin add --name 姓名"))
        // The command the hint quotes does make an admin whose token signs in.
        let added = try run(Binaries.cpsyncd, ["admin", "add", "--name", "张三", "--data", county.daemon.dataDir])
        let token = added.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(whereSeparator: \.isWhitespace).last.map(String.init) ?? ""
        #expect(added.ok, "\(added.stderr)")
        #expect(try HTTPAnswer.send("GET", county.daemon.url + "/v1/admin/sites", token: token).status == 200, "\(added.stdout)")
        for text in [html, script] {
            #expect(text.range(of: #"admin add (NAME|姓名)"#, options: .regularExpression) == nil, "a hint without --name is left")
        }
    }

    @Test func ctrlCEndsTheDemoCleanly() throws {
        let ws = TempDir("diag-demo")
        defer { ws.cleanup() }
        let script = DemoTests.script
        let p = Process()
        // Foundation starts the script as the leader of a process group of its own, which the daemon joins.
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script]
        var environment = ProcessInfo.processInfo.environment
        environment["LANG"] = "C.UTF-8"
        environment["CPSYNC_BIN"] = Binaries.directory.path
        environment["CPSYNC_DATA"] = ws.path("cpsync-data")
        environment["CPSYNC_LISTEN"] = "127.0.0.1:\(freeLoopbackPort())"
        p.environment = environment
        p.currentDirectoryURL = ws.url
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        // A child inherits the signal mask of the thread that starts it, and the test's threads block SIGINT and
        // SIGTERM: the script would never see the Ctrl-C. Start it as a shell starts it, with both open.
        var open = sigset_t(), saved = sigset_t()
        sigemptyset(&open)
        sigaddset(&open, SIGINT)
        sigaddset(&open, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &open, &saved)
        defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
        try p.run()
        pthread_sigmask(SIG_SETMASK, &saved, nil)
        let log = Guard<String>("")
        Thread {
            let handle = out.fileHandleForReading
            while true {
                let d = handle.availableData
                if d.isEmpty { break }
                log.update { $0 += String(decoding: d, as: UTF8.self) }
            }
        }.start()
        defer { if p.isRunning { kill(-p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        let deadline = Date().addingTimeInterval(180)
        while Date() < deadline && p.isRunning && !log.get().contains("Ctrl-C stops it") { usleep(50_000) }
        #expect(log.get().contains("Ctrl-C stops it"), "\(log.get())")
        // What a terminal's Ctrl-C does: SIGINT to the whole foreground process group (the script and the daemon).
        kill(-p.processIdentifier, SIGINT)
        let stopBy = Date().addingTimeInterval(40)
        while Date() < stopBy && p.isRunning { usleep(20_000) }
        #expect(!p.isRunning, "the demo did not end after Ctrl-C")
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 0,
                "Ctrl-C must end the demo as a normal stop (exit 0, so `make run` reports no error): \(p.terminationReason) \(p.terminationStatus)\n\(log.get().suffix(600))")
        #expect(log.get().contains("cpsyncd stopped."), "\(log.get().suffix(600))")
    }

    // MARK: protocol details

    @Test func statusAnnouncesTheBodyLimitTheDaemonRunsWith() throws {
        let county = try County("diag-limits", sites: ["huashan"], start: false)
        defer { county.cleanup() }
        try county.daemon.start(extraArgs: ["--max-body-bytes", "4096"])
        let answer = try HTTPAnswer.send("GET", county.daemon.url + "/v1/status")
        let status = try StatusResponse.decode(answer.bytes)
        #expect(status.limits.maxBodyBytes == 4096, "\(answer.text)")
    }

    @Test func aSnapshotChunkBelowTheMinimumIsRefused() throws {
        let county = try County("diag-chunk", sites: ["huashan"])
        defer { county.cleanup() }
        let db = county.ws.path("huashan-new.db")
        let r = try run(Binaries.cpsync, ["init", "--from-snapshot", "--chunk-bytes", "100", "--db", db, "--server", county.daemon.url,
                                          "--token", county.tokens["huashan"]!], env: Self.zh)
        #expect(r.status == 64, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("--chunk-bytes") && r.stderr.contains("4096"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: db))
    }

    @Test func aDamagedPartialSnapshotIsSaidToBeDownloadedAgain() throws {
        let county = try County("diag-snapshot", sites: ["huashan"])
        defer { county.cleanup() }
        let huashan = try county.office("huashan")
        for i in 0..<30 { try huashan.must(["member", "add", "--name", "委员\(i)", "--gender", i % 2 == 0 ? "女" : "男", "--site", "huashan"]) }
        try huashan.must(["sync"])
        // A partial download of the snapshot the server now serves, whose bytes are not the snapshot's.
        let db = county.ws.path("huashan-new.db")
        let transport = HTTPTransport(baseURL: county.daemon.url, token: county.tokens["huashan"]!)
        let manifest = try transport.call("GET", "/v1/snapshot", as: SnapshotManifest.self)
        #expect(manifest.size > 1000)
        try Data(manifest.encoded()).write(to: URL(fileURLWithPath: db + ".snapshot-part.json"))
        try Data(repeating: 0xAB, count: 1000).write(to: URL(fileURLWithPath: db + ".snapshot-part"))

        let r = try run(Binaries.cpsync, ["init", "--from-snapshot", "--db", db, "--server", county.daemon.url, "--token", county.tokens["huashan"]!],
                        env: Self.zh, timeout: 120)
        #expect(r.ok, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("SHA-256") && r.stderr.contains("从第 0 字节重新下载"), "the clerk is told: \(r.stderr)")
        #expect(try contentDump(db) == (try contentDump(county.serverDB, scope: "huashan")))
    }

    @Test func everyRowOfOneRefusedPushIsHeldWithItsOwnReason() throws {
        let tree = try PermissionTests.Tree("diag-held")
        defer { tree.county.cleanup() }
        // A tampered 华山 office writes four rows the county refuses, each under another rule, in one push.
        let db = try PermissionTests.withoutRules(tree.huashan)
        try db.run("INSERT INTO members(id, name, phone, site_id) VALUES ('m-chengguan', '冒名', '13900000000', 'chengguan')")
        try db.run("UPDATE members SET site_id = 'xiyuan' WHERE id = 'm-huashan'")
        try db.run("UPDATE sites SET name = '华山县' WHERE id = 'county'")
        try db.run("UPDATE proposals SET is_key = 1 WHERE id = 'p-huashan'")
        let rules = ["members/m-chengguan": "owner", "members/m-huashan": "move", "sites/county": "county_table", "proposals/p-huashan": "county_column"]
        let push = try tree.huashan.cpsync(["push"])
        #expect(push.status == 65, "\(push.stderr)")

        let status = try tree.huashan.cpsync(["status", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any], "\(status.stdout)")
        let held = try #require(object["held"] as? [[String: Any]])
        let rows = Dictionary(grouping: held) { "\($0["table"] as? String ?? "")/\($0["pk"] as? String ?? "")" }
        #expect(Set(rows.keys) == Set(rules.keys), "\(status.stdout)")
        for (row, entries) in rows {
            let pk = String(row.split(separator: "/", maxSplits: 1).last ?? "")
            for entry in entries {
                let reason = entry["reason"] as? String ?? ""
                #expect(entry["code"] as? String == "forbidden", "\(row): \(entry)")
                #expect(reason.contains("row '\(pk)'") && reason.contains("(rule \(rules[row] ?? "?"))"), "\(row) holds another row's reason: \(reason)")
            }
        }
        // The clerk's list after the push (the record by name, then the reason) says the same, line by line: every
        // refused row has a line, and each line carries its own row's reason.
        let listed = push.stderr.split(separator: "\n").filter { $0.hasPrefix("  ") }.map(String.init)
        for key in rules.keys {
            let pk = String(key.split(separator: "/")[1])
            let lines = listed.filter { $0.contains("row '\(pk)'") }
            #expect(!lines.isEmpty, "no line for \(key): \(push.stderr)")
            #expect(lines.allSatisfy { line in rules.keys.filter { $0 != key }.allSatisfy { !line.contains("row '\($0.split(separator: "/")[1])'") } },
                    "\(key)'s line names another row: \(lines)")
        }
    }

    @Test func aChangeFileReplyHoldsEveryRefusedRowWithItsOwnReason() throws {
        let s = try ChangeFileTests.Setup("diag-held-file")
        defer { s.county.cleanup() }
        // Before its first exchange the station knows no tree, so nothing stops these locally: another township's
        // member (rule owner) and a handling unit (the county's table).
        try s.station.sql("INSERT INTO members(id, name, site_id) VALUES ('m-not-mine', '越权委员', 'chengguan')")
        try s.station.sql("INSERT INTO proposal_handlers(id, proposal_id, unit) VALUES ('h-not-mine', 'p-x', '县水利局')")
        let file = s.path("修改.cpsync"), reply = s.path("回执.cpsync")
        try s.station.must(["export-changes", "--to", file])
        let imported = try s.countyImport(file, reply: reply)
        #expect(imported.ok, "\(imported.stderr)")
        let applied = try s.station.cpsync(["import-changes", reply])
        #expect(applied.status == 65, "\(applied.stdout) \(applied.stderr)")
        let status = try s.station.cpsync(["status", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any], "\(status.stdout)")
        let held = try #require(object["held"] as? [[String: Any]])
        let rules = ["m-not-mine": "owner", "h-not-mine": "county_table"]
        #expect(Set(held.compactMap { $0["pk"] as? String }) == Set(rules.keys), "\(status.stdout)")
        for entry in held {
            let pk = entry["pk"] as? String ?? "", reason = entry["reason"] as? String ?? ""
            #expect(reason.contains("row '\(pk)'") && reason.contains("(rule \(rules[pk] ?? "?"))"), "\(pk) holds another row's reason: \(reason)")
        }
    }

    @Test func theCommandLineKeepsTheLastActiveAdminAsThePageDoes() throws {
        let county = try County("diag-admin", sites: ["huashan"])
        defer { county.cleanup() }
        let zhang = try county.daemon.addAdmin("zhang")
        let r = try run(Binaries.cpsyncd, ["admin", "revoke", "zhang", "--data", county.daemon.dataDir], env: Self.zh)
        #expect(r.status == 65, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("至少保留一个有效的管理员账户"), "\(r.stderr)")
        #expect(try HTTPAnswer.send("GET", county.daemon.url + "/v1/admin/sites", token: zhang).status == 200, "the admin still signs in")
        _ = try county.daemon.addAdmin("李四")
        #expect(try run(Binaries.cpsyncd, ["admin", "revoke", "zhang", "--data", county.daemon.dataDir]).ok, "with another admin active it may go")
    }

    @Test func aDateMoreThanAYearAheadIsSavedWithAChineseWarning() throws {
        let county = try County("diag-ahead", sites: ["huashan"])
        defer { county.cleanup() }
        let huashan = try county.office("huashan")
        try huashan.must(["member", "add", "--name", "王芳", "--gender", "女", "--site", "huashan"])
        let year = Int(CPPCC.Office.today().prefix(4))!
        let far = "\(year + 3)-03-05", near = CPPCC.Office.today()

        let add = try huashan.cpsync(["proposal", "add", "--title", "关于远期的提案", "--proposer", "王芳", "--date", far], env: Self.zh)
        #expect(add.ok, "\(add.stderr)")
        #expect(add.stderr.contains("注意") && add.stderr.contains(far) && add.stderr.contains("晚一年以上"), "\(add.stderr)")
        let plain = try huashan.cpsync(["proposal", "add", "--title", "关于当期的提案", "--proposer", "王芳", "--date", near], env: Self.zh)
        #expect(plain.ok && !plain.stderr.contains("注意"), "a date of today is not warned about: \(plain.stderr)")
        let number = try #require(try huashan.query("SELECT number FROM proposals WHERE title = '关于当期的提案'").first?.first?.stringValue)
        let edit = try huashan.cpsync(["proposal", "edit", number, "--date", far], env: Self.zh)
        #expect(edit.ok && edit.stderr.contains("晚一年以上"), "\(edit.stderr)")
        let activity = try huashan.cpsync(["activity", "add", "--kind", "调研", "--topic", "农村饮水", "--date", far], env: Self.zh)
        #expect(activity.ok && activity.stderr.contains("晚一年以上"), "\(activity.stderr)")
        let soon = try huashan.cpsync(["activity", "add", "--kind", "视察", "--topic", "学校", "--date", near], env: Self.zh)
        #expect(soon.ok && !soon.stderr.contains("注意"), "\(soon.stderr)")
        // An imported list: each such line is named, the rest is not, and everything is imported.
        let csv = county.ws.path("提案.csv")
        try "标题,年度,第一提案人,提交日期\n关于远期的导入提案,\(year),王芳,\(far)\n关于当期的导入提案,\(year),王芳,\(near)\n"
            .write(toFile: csv, atomically: true, encoding: .utf8)
        let imported = try huashan.cpsync(["import", "proposals", csv], env: Self.zh)
        #expect(imported.ok, "\(imported.stderr)")
        #expect(imported.stderr.contains("第 2 行：提交日期 \(far)") && imported.stderr.contains("晚一年以上") && !imported.stderr.contains("第 3 行"),
                "\(imported.stderr)")
        #expect(try huashan.query("SELECT count(*) FROM proposals WHERE title LIKE '关于%导入提案'").first?.first == .integer(2))
    }
}

/// A plain TLS web server on 127.0.0.1 (`openssl s_server -www`) with the test CA's server certificate: what an
/// office meets at an HTTPS address it does not trust, or one that is no cpsyncd.
final class TLSListener {
    let port: UInt16
    private let process: Process

    init(_ certificates: TestCertificates) throws {
        let openssl = try #require(which("openssl"), "openssl is missing: apt-get install openssl (make test-deps)")
        port = freeLoopbackPort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: openssl)
        process.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", certificates.certificate, "-key", certificates.key, "-www", "-quiet"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && !acceptsConnections(port) { usleep(20_000) }
        guard acceptsConnections(port) else { stop(); throw HarnessError.failed("openssl s_server did not listen on \(port)") }
    }

    /// SIGKILL: the test process starts its children with SIGTERM blocked, and s_server does not unblock it.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
