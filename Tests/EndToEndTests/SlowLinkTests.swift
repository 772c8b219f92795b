import CPSyncCore
import Foundation
import Testing
import TestSupport

/// Offices on poor links: the real `cpsync` and `cpsyncd` talking through a loopback relay throttled to ~32 KB/s.
@Suite(.serialized) struct SlowLinkTests {
    /// About 1 MB in one push takes half a minute at 32 KB/s: longer than any total timeout the daemon or the
    /// client had, but bytes keep moving, so it must complete.
    @Test func aOneMegabytePushCompletesOverA32KBpsLink() throws {
        let county = try County("slowlink", sites: ["huashan"])
        defer { county.cleanup() }
        let proxy = try ThrottlingProxy(upstream: county.daemon.port, bytesPerSecond: 32 * 1024)
        defer { proxy.stop() }
        let db = county.ws.path("huashan.db")
        let initialised = try run(Binaries.cpsync, ["init", "--db", db, "--server", proxy.url, "--site", "huashan",
                                                    "--token", county.tokens["huashan"]!])
        #expect(initialised.ok, "\(initialised.stderr)")
        let members = 750
        try insertMembers(members, into: db)

        let started = Date()
        // The plain JSON an older cpsync sends (CPSYNC_WIRE=json): about 1 MB. The compact form is tested below.
        let push = try run(Binaries.cpsync, ["push", "--db", db], env: ["CPSYNC_WIRE": "json"], timeout: 180)
        let seconds = Date().timeIntervalSince(started)
        print("push of \(members) members through a 32 KB/s link: \(Int(seconds)) s, \(proxy.bytesRelayed) bytes relayed")
        #expect(push.ok, "exit \(push.status): \(push.stderr)")
        #expect(proxy.bytesRelayed > 800_000, "the push should be about 1 MB")
        #expect(seconds > 20, "the link was not throttled")
        #expect(try Database(path: county.serverDB).scalar("SELECT count(*) FROM members WHERE site_id = 'huashan'")
            == .integer(Int64(members)))
    }

    /// The link drops twice in the middle of the upload: the office client retries the push (same batch id), and the
    /// county ends with every member exactly once.
    @Test func aPushCutTwiceMidTransferCompletesWithNothingLostOrDuplicated() throws {
        let county = try County("cutlink", sites: ["huashan"])
        defer { county.cleanup() }
        let proxy = try ThrottlingProxy(upstream: county.daemon.port, bytesPerSecond: 128 * 1024)
        defer { proxy.stop() }
        let db = county.ws.path("huashan.db")
        let initialised = try run(Binaries.cpsync, ["init", "--db", db, "--server", proxy.url, "--site", "huashan",
                                                    "--token", county.tokens["huashan"]!])
        #expect(initialised.ok, "\(initialised.stderr)")
        let members = 750
        try insertMembers(members, into: db)

        let result = Guard<RunResult?>(nil)
        Thread.detachNewThread {
            result.set(try? run(Binaries.cpsync, ["push", "--db", db], env: ["CPSYNC_WIRE": "json"], timeout: 240))
        }
        var cuts = 0
        var mark = 0
        for _ in 0..<1200 where cuts < 2 && result.get() == nil {
            Thread.sleep(forTimeInterval: 0.05)
            // A third of a megabyte into the current attempt: cut.
            if proxy.bytesRelayed - mark > 350_000 {
                proxy.cutAll()
                cuts += 1
                mark = proxy.bytesRelayed
            }
        }
        for _ in 0..<4800 where result.get() == nil { Thread.sleep(forTimeInterval: 0.05) }
        let push = try #require(result.get(), "cpsync push did not finish")
        print("push with \(cuts) cuts: \(proxy.bytesRelayed) bytes relayed")
        #expect(cuts == 2)
        #expect(push.ok, "exit \(push.status): \(push.stderr)")
        #expect(try Database(path: county.serverDB).scalar("SELECT count(*) FROM members WHERE site_id = 'huashan'")
            == .integer(Int64(members)))
        // Nothing left to send: the acknowledged batch moved the push cursor.
        let status = try run(Binaries.cpsync, ["status", "--json", "--db", db])
        #expect(JSONText.int(status.stdout, "pending") == 0, "\(status.stdout)")
    }

    /// The compact form with gzip (what cpsync sends by default) over a 32 KB/s link cut twice: 1,000 members pushed,
    /// then 10,000 members pulled into a reinstalled office. Each ends with every member exactly once, byte for byte,
    /// and the piped progress output has no control characters.
    @Test func compactTransfersOverA32KBpsLinkCutTwiceLoseAndDuplicateNothing() throws {
        let county = try County("compactlink", sites: ["huashan"])
        defer { county.cleanup() }
        let proxy = try ThrottlingProxy(upstream: county.daemon.port, bytesPerSecond: 32 * 1024)
        defer { proxy.stop() }
        let db = county.ws.path("huashan.db")
        let initialised = try run(Binaries.cpsync, ["init", "--db", db, "--server", proxy.url, "--site", "huashan",
                                                    "--token", county.tokens["huashan"]!])
        #expect(initialised.ok, "\(initialised.stderr)")
        try insertRandomMembers(1_000, into: db, seed: 1)

        /// Runs `args` in the background and cuts the link each time `every` more bytes were relayed, twice.
        func cutTwice(_ args: [String], every: Int, env: [String: String] = [:]) throws -> (RunResult, Int, Double) {
            let result = Guard<RunResult?>(nil)
            let started = Date()
            Thread.detachNewThread { result.set(try? run(Binaries.cpsync, args, env: env, timeout: 240)) }
            var cuts = 0
            var mark = proxy.bytesRelayed
            for _ in 0..<4800 where cuts < 2 && result.get() == nil {
                Thread.sleep(forTimeInterval: 0.02)
                if proxy.bytesRelayed - mark > every {
                    proxy.cutAll()
                    cuts += 1
                    mark = proxy.bytesRelayed
                }
            }
            for _ in 0..<12000 where result.get() == nil { Thread.sleep(forTimeInterval: 0.02) }
            return (try #require(result.get(), "cpsync \(args[0]) did not finish"), cuts, Date().timeIntervalSince(started))
        }

        let before = proxy.bytesRelayed
        let (push, pushCuts, pushSeconds) = try cutTwice(["push", "--db", db], every: 12_000)
        let pushBytes = proxy.bytesRelayed - before
        print("compact push of 1,000 members (12,000 changes) at 32 KB/s with \(pushCuts) cuts: \(pushBytes) bytes relayed in \(Int(pushSeconds)) s")
        #expect(pushCuts == 2)
        #expect(push.ok, "exit \(push.status): \(push.stderr)")
        #expect(pushBytes < 200_000, "the compact form should need well under the ~1.7 MB of plain JSON")
        #expect(try Database(path: county.serverDB).scalar("SELECT count(*) FROM members WHERE site_id = 'huashan'") == .integer(1_000))
        let status = try run(Binaries.cpsync, ["status", "--json", "--db", db])
        #expect(JSONText.int(status.stdout, "pending") == 0, "\(status.stdout)")

        // 9,000 more members reach the county directly (not through the slow link), then a reinstalled office pulls
        // all 10,000 through it.
        let seed = county.ws.path("huashan-seed.db")
        #expect(try run(Binaries.cpsync, ["init", "--db", seed, "--server", "http://127.0.0.1:\(county.daemon.port)", "--site", "huashan",
                                          "--token", county.tokens["huashan"]!]).ok)
        try insertRandomMembers(9_000, into: seed, seed: 2)
        let direct = try run(Binaries.cpsync, ["push", "--db", seed], timeout: 240)
        #expect(direct.ok, "exit \(direct.status): \(direct.stderr)")
        let fresh = county.ws.path("huashan-new.db")
        #expect(try run(Binaries.cpsync, ["init", "--db", fresh, "--server", proxy.url, "--site", "huashan", "--token", county.tokens["huashan"]!]).ok)
        let pullStart = proxy.bytesRelayed
        let (pull, pullCuts, pullSeconds) = try cutTwice(["pull", "--db", fresh], every: 150_000)
        let pullBytes = proxy.bytesRelayed - pullStart
        print("compact initial pull of 10,000 members at 32 KB/s with \(pullCuts) cuts: \(pullBytes) bytes relayed in \(Int(pullSeconds)) s")
        #expect(pullCuts == 2)
        #expect(pull.ok, "exit \(pull.status): \(pull.stderr)")
        let fingerprint = "SELECT count(*), count(DISTINCT id), group_concat(id || '|' || name || '|' || phone, ',') FROM (SELECT * FROM members ORDER BY id)"
        let server = try Database(path: county.serverDB).query(fingerprint)[0], office = try Database(path: fresh).query(fingerprint)[0]
        #expect(office[0] == .integer(10_000) && office[1] == .integer(10_000))
        #expect(office == server, "the office holds exactly the county's members")
        // Piped stderr: plain progress lines (the pull takes more than 5 s), never a control character.
        #expect(pull.stderr.contains("pulling: ") || pullSeconds < 6, "\(pull.stderr)")
        #expect(!pull.stderr.unicodeScalars.contains { $0 == "\r" || $0 == "\u{1B}" }, "\(pull.stderr.debugDescription)")
        #expect(!push.stderr.unicodeScalars.contains { $0 == "\r" || $0 == "\u{1B}" }, "\(push.stderr.debugDescription)")
    }

    /// On a terminal (a pseudo-terminal through `script`) a slow pull redraws one line in place, in Chinese under a
    /// zh_CN locale, with bytes, rate and time left; `--quiet` shows nothing.
    @Test func aSlowPullDrawsAProgressLineOnATerminalAndNothingWhenQuiet() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { return }
        let county = try County("ttylink", sites: ["huashan"])
        defer { county.cleanup() }
        let seed = county.ws.path("seed.db")
        #expect(try run(Binaries.cpsync, ["init", "--db", seed, "--server", "http://127.0.0.1:\(county.daemon.port)", "--site", "huashan",
                                          "--token", county.tokens["huashan"]!]).ok)
        try insertRandomMembers(2_000, into: seed, seed: 3)
        #expect(try run(Binaries.cpsync, ["push", "--db", seed, "--quiet"]).ok)
        let proxy = try ThrottlingProxy(upstream: county.daemon.port, bytesPerSecond: 32 * 1024)
        defer { proxy.stop() }
        for quiet in [false, true] {
            let db = county.ws.path("tty-\(quiet).db")
            #expect(try run(Binaries.cpsync, ["init", "--db", db, "--server", proxy.url, "--site", "huashan", "--token", county.tokens["huashan"]!]).ok)
            let command = "\(Binaries.cpsync) pull --db \(db)" + (quiet ? " --quiet" : "") + " >/dev/null"
            let tty = try run("/usr/bin/script", ["-qec", command, "/dev/null"], env: ["LANG": "zh_CN.UTF-8"], timeout: 120)
            #expect(tty.ok, "\(tty.stdout) \(tty.stderr)")
            if quiet {
                #expect(!tty.stdout.contains("正在拉取"), "\(tty.stdout.debugDescription)")
            } else {
                print("terminal progress, last two redraws: \(tty.stdout.components(separatedBy: "\r").suffix(3).joined(separator: " | ").debugDescription)")
                #expect(tty.stdout.contains("\r正在拉取 ["), "\(tty.stdout.debugDescription)")
                #expect(tty.stdout.contains("剩余 ") && tty.stdout.contains("/s") && tty.stdout.contains("条修改"), "\(tty.stdout.debugDescription)")
                #expect(tty.stdout.contains("用时 "), "the last line says how long it took: \(tty.stdout.debugDescription)")
            }
            #expect(try Database(path: db).scalar("SELECT count(*) FROM members") == .integer(2_000))
        }
    }

    /// Members as an office holds them: random UUID keys, names and phone numbers (data that compresses as real data
    /// does, not as a counter does).
    private func insertRandomMembers(_ count: Int, into path: String, seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let surnames = Array("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
        let given = Array("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国文玉红云峰志海燕晓东春梅立新宏斌鹏飞丹凤")
        let replica = try Database(path: path)
        try replica.transaction {
            for _ in 0..<count {
                let id = (0..<4).map { _ in String(format: "%08x", UInt32(truncatingIfNeeded: rng.next())) }.joined()
                let uuid = "\(id.prefix(8))-\(id.dropFirst(8).prefix(4))-4\(id.dropFirst(13).prefix(3))-8\(id.dropFirst(17).prefix(3))-\(id.suffix(12))"
                let name = String(surnames[Int(rng.next() % UInt64(surnames.count))]) + String((0..<(1 + Int(rng.next() % 2))).map { _ in given[Int(rng.next() % UInt64(given.count))] })
                try replica.run("""
                    INSERT INTO members(id, name, gender, sector, party, term, site_id, phone, employer, position)
                    VALUES (?, ?, ?, '教育界', '无党派人士', '第八届', 'huashan', ?, '华山镇中心小学', '教师')
                    """, [.text(uuid), .text(name), .text(rng.next() % 2 == 0 ? "男" : "女"), .text("13\(String(format: "%09d", rng.next() % 1_000_000_000))")])
            }
        }
    }

    private func insertMembers(_ count: Int, into path: String) throws {
        let replica = try Database(path: path)
        try replica.transaction {
            for i in 0..<count {
                try replica.run("""
                    INSERT INTO members(id, name, gender, sector, party, term, site_id, phone, employer, position)
                    VALUES (?, ?, '女', '教育界', '无党派人士', '第八届', 'huashan', ?, '华山镇中心小学', '副校长')
                    """, [.text(String(format: "5a1e0000-0000-4000-8000-%012d", i)), .text("委员\(i)号"),
                          .text("1390000\(String(format: "%04d", i))")])
            }
        }
    }
}
