import CPPCC
import CPSyncClient
import CPSyncCore
import CPSyncProtocol
import Foundation
import Testing
import TestSupport

/// Real `cpsyncd` and `cpsync` processes on 127.0.0.1.
@Suite(.serialized) struct SyncEndToEndTests {
    @Test func threeOfficesWithConcurrentOfflineEditsConvergeAndOnlyTheRealConflictIsRecorded() throws {
        let county = try County("converge")
        defer { county.cleanup() }
        // 华山镇, the county committee's own office (which may write every record) and 城关镇.
        let offices = try ["huashan", "county", "chengguan"].map { try county.office($0) }
        let (a, b, c) = (offices[0], offices[1], offices[2])
        for o in offices { try o.must(["sync"]) }
        // Each township adds its own member; a adds a proposal the county office will edit too.
        try a.sql("INSERT INTO members(id, name, gender, sector, site_id) VALUES ('m-a', '王芳', '女', '教育', 'huashan')")
        try c.sql("INSERT INTO members(id, name, gender, sector, site_id) VALUES ('m-c', '张伟', '男', '科技', 'chengguan')")
        try a.sql("INSERT INTO proposals(id, number, session, year, title, body, site_id, status) VALUES ('p1', '2026-001', '八届四次会议', 2026, '关于加强农村饮水安全的提案', '正文', 'huashan', 'submitted')")
        for o in offices { try o.must(["sync"]) }
        for o in offices { try o.must(["sync"]) }
        // Offline: a and b both change the same title (the real conflict); b also edits the body (not a conflict);
        // c edits its own member twice (not a conflict); c may not touch 华山镇's proposal at all.
        try a.sql("UPDATE proposals SET title = '关于加强农村饮水安全保障的提案' WHERE id = 'p1'")
        try b.sql("UPDATE proposals SET title = '关于农村饮水安全的建议' WHERE id = 'p1'")
        try b.sql("UPDATE proposals SET body = '县政协补充：水源地保护' WHERE id = 'p1'")
        #expect(try c.query("SELECT count(*) FROM proposals WHERE id = 'p1'") == [[.integer(0)]], "a draft of 华山镇 is out of 城关镇's scope")
        try c.sql("UPDATE members SET sector = '农业' WHERE id = 'm-c'")
        try c.sql("UPDATE members SET sector = '工商' WHERE id = 'm-c'")
        for _ in 0..<2 { for o in offices { try o.must(["sync"]) } }

        for o in offices { #expect(try contentDump(o.db) == contentDump(county.serverDB, scope: o.site), "\(o.site) differs from the server") }
        let conflicts = try Database(path: county.serverDB).query("SELECT tbl, pk, col FROM _cp_conflicts")
        #expect(conflicts == [[.text("proposals"), .text("p1"), .text("title")]])
        #expect(try Database(path: county.serverDB).scalar("SELECT body FROM proposals WHERE id = 'p1'") == .text("县政协补充：水源地保护"))
        #expect(try Database(path: county.serverDB).scalar("SELECT sector FROM members WHERE id = 'm-c'") == .text("工商"))
    }

    /// Pushes that arrive together are committed together (one transaction, one wait for the disk): an office is
    /// told a page was applied only once its group is on disk. Four offices push at once and the daemon is killed -9
    /// midway: every row an office holds as acknowledged (at or below its push cursor) is in the county's database
    /// before the restart, and after it every row arrives exactly once.
    @Test func daemonKilledWhileOfficesPushTogetherLosesNoAcknowledgedRow() throws {
        let sites = ["huashan", "chengguan", "taohe", "xiyuan"]
        let county = try County("killgroup", sites: sites)
        defer { county.cleanup() }
        var offices: [Office] = []
        for (n, site) in sites.enumerated() {
            let o = try county.office(site)
            try o.must(["sync"])
            let db = try Database(path: o.db)
            try db.transaction {
                for i in 0..<2000 {
                    try db.run("INSERT INTO members(id, name, sector, site_id) VALUES (?, ?, '教育', ?)",
                               [.text("m\(n)-\(i)"), .text("委员\(n)-\(i)"), .text(site)])
                }
            }
            offices.append(o)
        }
        let pushes = offices.map { o -> Process in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Binaries.cpsync)
            p.arguments = ["push", "--db", o.db]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            return p
        }
        for p in pushes { try p.run() }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && county.daemon.log.get().components(separatedBy: "\"event\":\"push\"").count < 9 { usleep(2_000) }
        county.daemon.crash()
        for p in pushes { p.waitUntilExit() }
        let server = try Database(path: county.serverDB)
        let held = Set(try server.query("SELECT id FROM members").compactMap { $0[0].stringValue })
        var acknowledged = 0
        for o in offices {
            let db = try Database(path: o.db)
            let cursor = try db.scalar("SELECT value FROM _cp_meta WHERE key = 'sync.push_cursor'")?.int64Value ?? 0
            let told = try db.query("SELECT pk FROM _cp_v_members WHERE seq <= ?", [.integer(cursor)]).compactMap { $0[0].stringValue }
            acknowledged += told.count
            let missing = told.filter { !held.contains($0) }
            #expect(missing.isEmpty, "invariant 1: \(o.site) was told \(told.count) rows were applied; \(missing.count) are not on the county's disk, e.g. \(missing.prefix(3))")
        }
        #expect(acknowledged > 0 && held.count < 8000, "killed after \(acknowledged) acknowledged rows, \(held.count) on disk: the kill should land mid-push")

        try county.daemon.start()
        for o in offices { try o.must(["sync"]) }
        #expect(try server.scalar("SELECT count(*) FROM members") == .integer(8000))
        #expect(try server.scalar("PRAGMA integrity_check") == .text("ok"))
        for o in offices { #expect(try contentDump(o.db) == contentDump(county.serverDB, scope: o.site), "\(o.site)") }
    }

    @Test func daemonKilledMidPushThenRestartedLosesAndDuplicatesNothing() throws {
        let county = try County("killpush", sites: ["huashan"])
        defer { county.cleanup() }
        let a = try county.office("huashan")
        try a.must(["sync"])
        // Enough rows for many push pages (one page holds a few hundred rows).
        let db = try Database(path: a.db)
        try db.transaction {
            for i in 0..<6000 {
                try db.run("INSERT INTO members(id, name, sector, site_id) VALUES (?, ?, '教育', 'huashan')",
                           [.text("m\(i)"), .text("委员\(i)")])
            }
        }
        // Push in the background; kill -9 the daemon once some batches have been acknowledged.
        let push = Process()
        push.executableURL = URL(fileURLWithPath: Binaries.cpsync)
        push.arguments = ["push", "--db", a.db]
        push.standardOutput = FileHandle.nullDevice
        push.standardError = FileHandle.nullDevice
        try push.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && county.daemon.log.get().components(separatedBy: "\"event\":\"push\"").count < 4 { usleep(5_000) }
        county.daemon.crash()
        push.waitUntilExit()
        #expect(push.terminationStatus != 0, "the push should have failed when the daemon died")
        let pushedBefore = try Database(path: county.serverDB).scalar("SELECT count(*) FROM members")?.int64Value ?? 0
        #expect(pushedBefore > 0 && pushedBefore < 6000, "killed after \(pushedBefore) rows")

        try county.daemon.start()
        try a.must(["sync"])
        let server = try Database(path: county.serverDB)
        #expect(try server.scalar("SELECT count(*) FROM members") == .integer(6000))
        #expect(try server.scalar("PRAGMA integrity_check") == .text("ok"))
        #expect(try contentDump(a.db) == contentDump(county.serverDB, scope: a.site))
        #expect(JSONText.int(try a.cpsync(["status", "--json"]).stdout, "pending") == 0)
        // A second office sees every row exactly once.
        let tokenB = try county.daemon.addSite("chengguan", name: "城关镇")
        let b = try Office.create("chengguan", in: county.ws, daemon: county.daemon, token: tokenB)
        try b.must(["sync"])
        #expect(try contentDump(b.db) == contentDump(county.serverDB, scope: b.site))
    }

    @Test func officeKilledMidPullContinuesWhereItStopped() throws {
        let county = try County("killpull", sites: ["huashan", "chengguan"])
        defer { county.cleanup() }
        // b is the county committee's office: it holds every township's members.
        let a = try county.office("huashan"), b = try county.office("county")
        let db = try Database(path: a.db)
        try db.transaction {
            for i in 0..<3000 {
                try db.run("INSERT INTO members(id, name, sector, site_id) VALUES (?, ?, '经济', 'huashan')", [.text("m\(i)"), .text("委员\(i)")])
            }
        }
        try a.must(["push"])
        let pull = Process()
        pull.executableURL = URL(fileURLWithPath: Binaries.cpsync)
        pull.arguments = ["pull", "--db", b.db, "--page-size", "40"]
        pull.standardOutput = FileHandle.nullDevice
        pull.standardError = FileHandle.nullDevice
        try pull.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && county.daemon.log.get().components(separatedBy: "\"who\":\"county\"").count < 10 { usleep(2_000) }
        kill(pull.processIdentifier, SIGKILL)
        pull.waitUntilExit()
        let partial = try Database(path: b.db).scalar("SELECT count(*) FROM members")?.int64Value ?? 0
        #expect(partial > 0 && partial < 3000, "killed after \(partial) rows")
        let cursor = try Database(path: b.db).scalar("SELECT value FROM _cp_meta WHERE key = 'sync.pull_cursor'")?.int64Value ?? 0
        #expect(cursor > 0)
        try b.must(["pull"])
        #expect(try contentDump(b.db) == contentDump(county.serverDB, scope: b.site))
        #expect(try Database(path: b.db).scalar("PRAGMA integrity_check") == .text("ok"))
    }

    @Test func badRequestsGetErrorBodiesAndChangeNothing() throws {
        let county = try County("errors", sites: ["huashan", "chengguan"])
        defer { county.cleanup() }
        let a = try county.office("huashan")
        try a.sql("INSERT INTO members(id, name, site_id) VALUES ('m1', '王芳', 'huashan')")
        try a.must(["sync"])
        let seqBefore = try Database(path: county.serverDB).scalar("SELECT seq FROM _cp_state")
        let replica = try Replica(path: a.db)
        let own = try replica.allChanges().filter { $0.version.site == "huashan" }

        func post(_ body: [UInt8], token: String?) throws -> (Int, ErrorBody?) {
            let r = try HTTPTransport(baseURL: county.daemon.url, token: token).send("POST", "/v1/push", body: body)
            return (r.status, try? ErrorBody.decode(r.body))
        }
        let good = PushRequest(schemaVersion: CPPCCSchema.version, batchId: "b-1", site: "huashan", changes: own).encoded()
        var (status, error) = try post(good, token: "wrong-token")
        #expect(status == 401 && error?.code == .unauthorized)
        // huashan's changes pushed with chengguan's token: another site's origin.
        let other = PushRequest(schemaVersion: CPPCCSchema.version, batchId: "b-2", site: "chengguan", changes: own).encoded()
        (status, error) = try post(other, token: county.tokens["chengguan"])
        #expect(status == 403 && error?.code == .forbidden)
        (status, error) = try post(Array(repeating: UInt8(ascii: " "), count: 17 << 20), token: county.tokens["huashan"])
        #expect(status == 413 && error?.code == .payloadTooLarge)
        (status, error) = try post(Array("{\"protocol\":1,".utf8), token: county.tokens["huashan"])
        #expect(status == 400 && error?.code == .badRequest)
        var skewed = own[0]
        skewed.version = Version(hlc: HLC(milliseconds: HLC.wallClock().milliseconds + 3 * 3_600_000), site: "huashan")
        (status, error) = try post(PushRequest(schemaVersion: CPPCCSchema.version, batchId: "b-3", site: "huashan", changes: [skewed]).encoded(),
                                   token: county.tokens["huashan"])
        #expect(status == 409 && error?.code == .clockSkew && error?.site == "huashan")
        #expect((error?.skewMs ?? 0) > 3 * 3_590_000)
        var unknown = own[1]
        unknown.column = "password"
        (status, error) = try post(PushRequest(schemaVersion: CPPCCSchema.version, batchId: "b-4", site: "huashan", changes: own + [unknown]).encoded(),
                                   token: county.tokens["huashan"])
        #expect(status == 400 && error?.code == .unknownColumn && error?.column == "password")
        #expect(try Database(path: county.serverDB).scalar("SELECT seq FROM _cp_state") == seqBefore)
        #expect(try Database(path: county.serverDB).scalar("SELECT count(*) FROM _srv_batches WHERE batch_id LIKE 'b-%'") == .integer(0))
    }

    @Test func aRetriedBatchGetsTheFirstAnswerByteForByte() throws {
        let county = try County("retry", sites: ["huashan"])
        defer { county.cleanup() }
        let a = try county.office("huashan")
        try a.sql("INSERT INTO members(id, name, site_id) VALUES ('m1', '王芳', 'huashan')")
        let own = try Replica(path: a.db).allChanges().filter { $0.version.site == "huashan" }
        let body = PushRequest(schemaVersion: CPPCCSchema.version, batchId: "same-batch", site: "huashan", changes: own).encoded()
        let t = HTTPTransport(baseURL: county.daemon.url, token: county.tokens["huashan"])
        let first = try t.send("POST", "/v1/push", body: body)
        let second = try t.send("POST", "/v1/push", body: body)
        #expect(first.status == 200 && second.status == 200)
        #expect(first.body == second.body)
        #expect(try PushResponse.decode(second.body).applied == own.count)
    }

    @Test func changesStampedWhileTheClockWasAheadGoOutOnceTheClockIsRight() throws {
        let county = try County("skew", sites: ["huashan"])
        defer { county.cleanup() }
        let a = try county.office("huashan")
        try a.must(["sync"])
        // The PC clock was 3 h fast when this member was entered (the log row is stamped as the trigger saw it).
        try a.sql("INSERT INTO members(id, name, site_id) VALUES ('m1', '王芳', 'huashan')")
        try a.sql("UPDATE _cp_log SET hlc = ?", [.integer(HLC(milliseconds: HLC.wallClock().milliseconds + 3 * 3_600_000).rawValue)])
        // The clock is right now: the edit nobody has seen is stamped again and goes out.
        try a.must(["push"])
        let server = try Database(path: county.serverDB)
        #expect(try server.scalar("SELECT name FROM members WHERE id = 'm1'") == .text("王芳"))
        let versions = try Replica(path: county.serverDB, create: false).allChanges().filter { $0.pk == "m1" }
        #expect(!versions.isEmpty && versions.allSatisfy { $0.version.hlc.milliseconds < HLC.wallClock().milliseconds + 60_000 })
        // A later edit of the same cell is stamped now too, and accepted.
        try a.sql("UPDATE members SET name = '王芳芳' WHERE id = 'm1'")
        try a.must(["sync"])
        #expect(try server.scalar("SELECT name FROM members WHERE id = 'm1'") == .text("王芳芳"))
        #expect(JSONText.int(try a.cpsync(["status", "--json"]).stdout, "pending") == 0)
    }

    @Test func serverDownGivesOneClearLineAndExit69() throws {
        let county = try County("down", sites: ["huashan"])
        defer { county.cleanup() }
        let a = try county.office("huashan")
        try a.sql("INSERT INTO members(id, name, site_id) VALUES ('m1', '王芳', 'huashan')")
        county.daemon.stop()
        let r = try a.cpsync(["push"])
        #expect(r.status == 69)
        #expect(r.stderr.contains("cannot reach the county server") && r.stderr.contains("nothing was lost"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        let zh = try a.cpsync(["push"], env: ["LANG": "zh_CN.UTF-8"])
        #expect(zh.stderr.contains("无法连接"), "\(zh.stderr)")
    }
}

/// A county database restored from an older backup must not lose what offices pushed after the backup.
@Suite(.serialized) struct RestoreResyncTests {
    @Test func officesResendWhatTheRestoredServerNoLongerHas() throws {
        let county = try County("restore-resync", sites: ["huashan", "chengguan"])
        defer { county.cleanup() }
        let (ws, daemon) = (county.ws, county.daemon)
        // b is the county committee's own office: it may edit 华山镇's member.
        let a = try county.office("huashan"), b = try county.office("county")
        try a.sql("INSERT INTO members(id, name, site_id) VALUES ('before', '备份前', 'huashan')")
        try a.must(["sync"]); try b.must(["sync"])
        let backup = try run(Binaries.cpsyncd, ["backup", "--data", daemon.dataDir, "--to", ws.path("nightly.db")])
        #expect(backup.ok, "\(backup.stderr)")
        // After the backup: a pushes a new member (acknowledged), b pushes an edit.
        try a.sql("INSERT INTO members(id, name, site_id) VALUES ('after', '备份后', 'huashan')")
        try b.sql("UPDATE members SET name = '备份前（改）' WHERE id = 'before'")
        try a.must(["sync"]); try b.must(["sync"])
        // The county disk fails; the nightly backup is restored.
        #expect(daemon.stop() == 0)
        let restore = try run(Binaries.cpsyncd, ["restore", "--data", daemon.dataDir, "--from", ws.path("nightly.db")])
        #expect(restore.ok, "\(restore.stderr)")
        try daemon.start()
        #expect(try Database(path: daemon.dataDir + "/county.db").scalar("SELECT count(*) FROM members") == .integer(1))
        let r = try a.must(["sync"])
        #expect(r.stderr.contains("restored from a backup"), "\(r.stderr)")
        try b.must(["sync"]); try a.must(["sync"])
        let server = try contentDump(daemon.dataDir + "/county.db")
        #expect(server.contains("备份后") && server.contains("备份前（改）"))
        #expect(try contentDump(a.db) == contentDump(daemon.dataDir + "/county.db", scope: a.site))
        #expect(try contentDump(b.db) == contentDump(daemon.dataDir + "/county.db", scope: b.site))
    }
}

/// A PC whose clock is hours ahead: `cpsync` warns before pushing, the server refuses with the site and the skew,
/// and nothing is lost once the clock is fixed. The wrong clock is real: libfaketime shifts the process's clock.
@Suite(.serialized) struct WrongClockTests {
    @Test func officeWithAFastClockIsWarnedRefusedAndLosesNothing() throws {
        guard let faketime = ["/usr/bin/faketime", "/usr/local/bin/faketime"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            try Test.cancel("faketime is not installed (apt-get install faketime; make test-deps does)")
        }
        let county = try County("clock", sites: ["huashan"])
        defer { county.cleanup() }
        let daemon = county.daemon
        let a = try county.office("huashan")
        // The clerk works with the PC clock 3 hours fast.
        let fast = try run(faketime, ["-f", "+3h", Binaries.cpsync, "member", "add", "--db", a.db, "--name", "王芳", "--site", "huashan"])
        #expect(fast.ok, "\(fast.stderr)")
        let push = try run(faketime, ["-f", "+3h", Binaries.cpsync, "push", "--db", a.db])
        #expect(push.stderr.contains("warning: this PC's clock is 180 min ahead") || push.stderr.contains("warning: this PC's clock is 179 min ahead"), "\(push.stderr)")
        #expect(push.status == 77, "\(push.stderr)")
        #expect(push.stderr.contains("huashan") && push.stderr.contains("nothing was lost"), "\(push.stderr)")
        let zh = try run(faketime, ["-f", "+3h", Binaries.cpsync, "push", "--db", a.db], env: ["LANG": "zh_CN.UTF-8"])
        #expect(zh.stderr.contains("本机时钟比县政协服务器快 180 分钟") || zh.stderr.contains("本机时钟比县政协服务器快 179 分钟"), "\(zh.stderr)")
        #expect(try Database(path: daemon.dataDir + "/county.db").scalar("SELECT count(*) FROM members") == .integer(0))
        // The clock is fixed. The changes still carry the fast stamps, but nobody has ever seen them: the office
        // stamps them again and they go out at once (no waiting three hours, no wider limit on the daemon).
        try a.must(["push"])
        #expect(try Database(path: daemon.dataDir + "/county.db").scalar("SELECT name FROM members") == .text("王芳"))
        try a.sql("UPDATE members SET phone = '13800000000'")
        try a.must(["sync"])
        #expect(try Database(path: daemon.dataDir + "/county.db").scalar("SELECT phone FROM members") == .text("13800000000"))
    }
}

/// `systemctl stop` sends SIGTERM while connections are open: the daemon must still stop gracefully, every time.
@Suite(.serialized) struct DaemonStopTests {
    @Test func sigtermWithOpenConnectionsStopsTheDaemonWithExitZero() throws {
        let county = try County("stop", sites: ["huashan"], start: false)
        defer { county.cleanup() }
        let (ws, daemon, token) = (county.ws, county.daemon, county.tokens["huashan"]!)
        for round in 1...6 {
            // Half the rounds quiet: the daemon then writes nothing while it serves.
            try daemon.start(extraArgs: round % 2 == 0 ? ["--quiet"] : [])
            // Real traffic first (in-process HTTP clients keep their connections open, as offices' do).
            let office = try Office.create("huashan", in: ws, daemon: daemon, token: token)
            let db = try Database(path: office.db)
            try db.transaction {
                for i in 0..<500 { try db.run("INSERT INTO members(id, name) VALUES (?, '委员')", [.text("r\(round)-\(i)")]) }
            }
            let client = try SyncClient(replica: try Replica(path: office.db))
            _ = try client.push()
            _ = try client.pull()
            // Idle keep-alive connections: each has its own thread in the daemon, and the signal may land on any.
            var sockets: [Int32] = []
            for _ in 0..<8 {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var addr = sockaddr_in()
                addr.sin_family = sa_family_t(AF_INET)
                addr.sin_port = daemon.port.bigEndian
                addr.sin_addr.s_addr = inet_addr("127.0.0.1")
                let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
                #expect(rc == 0, "connect: errno \(errno), port \(daemon.port): \(daemon.log.get())")
                let request = "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
                _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                sockets.append(fd)
            }
            usleep(200_000)
            let started = Date()
            #expect(daemon.stop() == 0, "round \(round)")
            #expect(Date().timeIntervalSince(started) < 10, "round \(round): the daemon took too long to stop")
            sockets.forEach { close($0) }
        }
    }
}

/// On a terminal, a pull that spans pages shows a progress bar on stderr; in a script (a pipe) it does not.
@Suite(.serialized) struct ProgressBarTests {
    @Test func aMultiPagePullShowsProgressOnATerminalOnly() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            try Test.cancel("util-linux `script` is not installed: no pseudo-terminal to test with")
        }
        let county = try County("progress", sites: ["huashan", "chengguan"])
        defer { county.cleanup() }
        let a = try county.office("huashan"), b = try county.office("chengguan")
        let db = try Database(path: a.db)
        try db.transaction {
            for i in 0..<200 { try db.run("INSERT INTO members(id, name) VALUES (?, '委员')", [.text("m\(i)")]) }
        }
        try a.must(["push"])
        // `script` runs the command on a pseudo-terminal and copies what it printed.
        let command = "\(Binaries.cpsync) pull --db \(b.db) --page-size 200"
        let tty = try run("/usr/bin/script", ["-q", "-e", "-c", command, "/dev/null"])
        #expect(tty.ok, "\(tty.stdout)\(tty.stderr)")
        #expect(tty.stdout.contains("pulling [#"), "\(tty.stdout)")
        let piped = try a.cpsync(["pull", "--reset", "--page-size", "200"])
        #expect(piped.ok && !piped.stderr.contains("pulling ["), "\(piped.stderr)")
    }

    /// The README registers the county office as `county`; the server writes under its own id, so that office
    /// receives what the server writes: the site tree and an admin's resolutions.
    @Test func anOfficeRegisteredAsCountyReceivesTheSiteTreeAndAdminResolutions() throws {
        let county = try County("county-office", sites: ["huashan", "chengguan"], start: false)
        defer { county.cleanup() }
        let admin = try county.daemon.addAdmin("zhang")
        // The server's own id is not an office's to take.
        let status = try run(Binaries.cpsyncd, ["site", "add", "--data", county.daemon.dataDir, "--id", "cpsyncd", "--name", "x", "--kind", "county"])
        #expect(!status.ok && status.stderr.contains("cpsyncd"), "\(status.stderr)")
        try county.daemon.start()
        let countyOffice = try county.office("county")
        let a = try county.office("huashan"), b = try county.office("chengguan")
        let proposal = "6f1c0e4e-2a7b-4c1d-9e3f-000000000101"
        try a.sql("INSERT INTO proposals(id, number, year, title, site_id) VALUES (?, '2026-001', 2026, '乡村道路', 'huashan')", [.text(proposal)])
        try a.must(["sync"])
        try b.must(["sync"])
        try countyOffice.must(["sync"])
        try a.sql("UPDATE proposals SET title = '关于改善乡村道路的提案' WHERE id = ?", [.text(proposal)])
        try countyOffice.sql("UPDATE proposals SET title = '关于加快乡村公路建设的提案' WHERE id = ?", [.text(proposal)])
        try a.must(["sync"])
        try b.must(["sync"])
        try countyOffice.must(["sync"])
        #expect(try countyOffice.query("SELECT id FROM sites ORDER BY id").map { $0[0] } == [.text("chengguan"), .text("county"), .text("huashan")])

        let list = try HTTPAnswer.send("GET", county.daemon.url + "/v1/admin/conflicts", token: admin)
        let conflict = try #require(try ConflictListResponse.decode(list.bytes).conflicts.first { $0.table == "proposals" && $0.column == "title" })
        let decided = "关于乡村道路建设的提案（县政协审定）"
        let resolved = try HTTPAnswer.send("POST", county.daemon.url + "/v1/admin/conflicts/\(conflict.id)/resolve", token: admin,
                                           body: #"{"action":"set","value":"\#(decided)"}"#)
        #expect(resolved.status == 200, "\(resolved.text)")
        try b.must(["sync"])
        #expect(try b.query("SELECT count(*) FROM proposals WHERE id = '\(proposal)'") == [[.integer(0)]], "华山镇's draft is out of 城关镇's scope")
        for office in [countyOffice, a] {
            try office.must(["sync"])
            #expect(try office.query("SELECT title FROM proposals WHERE id = '\(proposal)'").first?.first == .text(decided), "\(office.site)")
        }
    }
}
