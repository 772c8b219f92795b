import CPSyncCore
import Foundation
import Testing

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
        let push = try run(Binaries.cpsync, ["push", "--db", db], timeout: 180)
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
            result.set(try? run(Binaries.cpsync, ["push", "--db", db], timeout: 240))
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
        #expect(status.stdout.contains(#""pending":0"#), "\(status.stdout)")
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
