import CPSyncCore
import Foundation
import Testing
import TestSupport

/// Focused, deterministic end-to-end cases of invariants 1, 2 and 4 (DESIGN.md §2a), each one a way a clerk's value
/// has been seen to vanish or be held up. Real `cpsyncd` and `cpsync` processes on 127.0.0.1.
@Suite(.serialized) struct NothingLostEndToEndTests {
    /// Every column of `pk` at the office and at the county, side by side where they differ.
    func differences(_ table: String, _ pk: String, office: String, county: String) throws -> [String] {
        let row = RowRef(table: table, pk: pk)
        let here = try readRows(Database(path: office), [row])[row] ?? nil
        let there = try readRows(Database(path: county), [row])[row] ?? nil
        guard let here, let there else { return ["\(row): office has \(here == nil ? "no row" : "the row"), county has \(there == nil ? "no row" : "the row")"] }
        return Set(here.keys).union(there.keys).sorted().compactMap { c in
            (here[c] ?? .null) == (there[c] ?? .null) ? nil : "\(row).\(c): office \(show(here[c] ?? .null)), county \(show(there[c] ?? .null))"
        }
    }

    func insertMembers(_ office: Office, count: Int, site: String) throws {
        let db = try Database(path: office.db)
        try db.transaction {
            for i in 0..<count {
                try db.run("""
                    INSERT INTO members(id, name, gender, sector, party, term, site_id, phone, employer, position)
                    VALUES (?, ?, ?, '教育界', '中国民主同盟', '第八届', ?, ?, ?, '副校长')
                    """, [.text(String(format: "m%05d", i)), .text("委员\(i)"), .text(i % 2 == 0 ? "女" : "男"), .text(site),
                          .text("1380000\(String(format: "%04d", i))"), .text("县第\(i % 7)中学")])
            }
        }
    }

    /// The county committee's own office (a site of kind county): it may edit and delete every township's rows.
    func countyOffice(_ county: County) throws -> Office {
        let token = try county.daemon.addSite("xian", name: "县政协机关", kind: "county", parent: "county")
        return try Office.create("xian", in: county.ws, daemon: county.daemon, token: token)
    }

    func conflicts(_ county: County, _ table: String, _ pk: String, _ column: String) throws -> [(winner: Value, other: Value)] {
        try Database(path: county.serverDB).query(
            "SELECT winner_value, other_value FROM _cp_conflicts WHERE tbl = ? AND pk = ? AND col = ?",
            [.text(table), .text(pk), .text(column)]).map { ($0[0], $0[1]) }
    }

    /// (a) A pull spanning pages must not skip the cells of rows that changed again after the page boundary.
    @Test func aFreshOfficePullingManyPagesGetsEveryColumnOfRowsEditedAfterTheirInsert() throws {
        let county = try County("pages-pull", sites: ["huashan", "chengguan"])
        defer { county.cleanup() }
        let a = try county.office("huashan")
        try insertMembers(a, count: 3000, site: "huashan")
        try a.must(["sync"])
        try a.sql("UPDATE members SET name = name || '（更名）' WHERE id < 'm00010'")
        try a.must(["sync"])
        let b = try countyOffice(county)  // it holds every township's members
        let pulled = try b.must(["pull", "--json"])
        #expect(JSONText.int(pulled.stdout, "pages") != 1, "the pull should span pages: \(pulled.stdout)")
        var diffs: [String] = []
        for i in 0..<10 { diffs += try differences("members", String(format: "m%05d", i), office: b.db, county: county.serverDB) }
        #expect(diffs.isEmpty, "invariant 2: a multi-page pull skipped cells of the 10 renamed members: \(diffs.prefix(8).joined(separator: "; "))")
    }

    /// (a′) A pull killed -9 after some pages and run again must not skip the cells of rows that changed again after
    /// their insert (the resumed pull starts where the killed one stopped, and that point must not pass over them).
    @Test func aPullKilledMidwayAndResumedGetsEveryColumnOfRowsEditedAfterTheirInsert() throws {
        let county = try County("pages-kill", sites: ["huashan", "chengguan"])
        defer { county.cleanup() }
        let a = try county.office("huashan")
        try insertMembers(a, count: 400, site: "huashan")
        try a.must(["sync"])
        try a.sql("UPDATE members SET name = name || '（更名）' WHERE id < 'm00100'")
        try a.must(["sync"])
        let b = try countyOffice(county)  // it holds every township's members
        let pull = Process()
        pull.executableURL = URL(fileURLWithPath: Binaries.cpsync)
        pull.arguments = ["pull", "--db", b.db, "--page-size", "45"]
        pull.standardOutput = FileHandle.nullDevice
        pull.standardError = FileHandle.nullDevice
        try pull.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && pull.isRunning && county.daemon.log.get().components(separatedBy: "\"who\":\"xian\"").count < 6 { usleep(2_000) }
        kill(pull.processIdentifier, SIGKILL)
        pull.waitUntilExit()
        let partial = try Database(path: b.db).scalar("SELECT count(*) FROM members")?.int64Value ?? 0
        #expect(partial > 0 && partial < 400, "killed after \(partial) of 400 members; the kill should land mid-pull")
        try b.must(["pull"])
        var diffs: [String] = []
        for i in 0..<100 { diffs += try differences("members", String(format: "m%05d", i), office: b.db, county: county.serverDB) }
        #expect(diffs.isEmpty, "invariant 2: after a pull killed -9 midway and run again, \(diffs.count) cells of the 100 renamed members differ from the county: \(diffs.prefix(6).joined(separator: "; "))")
    }

    /// (b) A push spanning pages must carry every cell of a row edited after its insert was folded.
    @Test func aPushSpanningPagesCarriesEveryColumnOfARowEditedAfterItsInsert() throws {
        let county = try County("pages-push", sites: ["huashan"])
        defer { county.cleanup() }
        let a = try county.office("huashan")
        try insertMembers(a, count: 1500, site: "huashan")
        // The clerk looks at the pending count (which folds the capture log), then corrects the first member.
        try a.must(["status"])
        try a.sql("UPDATE members SET phone = '13999999999' WHERE id = 'm00000'")
        let pushed = try a.must(["push", "--json"])
        let batches = JSONText.int(pushed.stdout, "batches") ?? 0
        #expect(batches > 1, "1,500 members should take more than one push page: \(pushed.stdout)")
        let diffs = try differences("members", "m00000", office: a.db, county: county.serverDB)
        #expect(diffs.isEmpty, "invariant 1: the county lost cells of the first member, pushed in a later page than its insert: \(diffs.joined(separator: "; "))")
    }

    /// (c) `cpsync sync` pulls before it pushes: the pulled value must not silently replace an unpushed edit.
    @Test func syncKeepsAnUnpushedEditThatAConcurrentRemoteEditWouldOverwrite() throws {
        let county = try County("pull-before-push", sites: ["huashan"])
        defer { county.cleanup() }
        let a = try county.office("huashan"), b = try countyOffice(county)
        try a.sql("INSERT INTO members(id, name, site_id, phone) VALUES ('m1', '王芳', 'huashan', '13800000000')")
        try a.must(["sync"]); try b.must(["sync"])
        try a.sql("UPDATE members SET phone = '13811111111' WHERE id = 'm1'")   // offline at huashan
        usleep(5_000)
        try b.sql("UPDATE members SET phone = '13922222222' WHERE id = 'm1'")   // later, at the county's office
        try b.must(["sync"])
        try a.must(["sync"])
        let recorded = try conflicts(county, "members", "m1", "phone")
        let values = Set(recorded.flatMap { [$0.winner, $0.other] })
        let current = try Database(path: county.serverDB).scalar("SELECT phone FROM members WHERE id = 'm1'")
        #expect(values.contains(.text("13811111111")) && values.contains(.text("13922222222")),
                "invariant 1/3: huashan's unpushed phone '13811111111' and the county office's '13922222222' are concurrent; the county should hold a conflict with both, it holds \(recorded.map { "\(show($0.winner)) beat \(show($0.other))" }) and the value \(current.map(show) ?? "none")")
    }

    /// (d) An update racing a delete loses to the delete, but the lost value is kept as a conflict record.
    @Test func anEditRacingADeleteIsKeptAsAConflictAtTheCounty() throws {
        let county = try County("edit-vs-delete", sites: ["huashan"])
        defer { county.cleanup() }
        let a = try county.office("huashan"), b = try countyOffice(county)
        try a.sql("INSERT INTO members(id, name, site_id, phone) VALUES ('m1', '王芳', 'huashan', '13800000000')")
        try a.must(["sync"]); try b.must(["sync"])
        try a.sql("UPDATE members SET phone = '13811111111' WHERE id = 'm1'")   // offline at huashan
        try b.sql("DELETE FROM members WHERE id = 'm1'")
        try b.must(["sync"])
        try a.must(["sync"])
        let recorded = try conflicts(county, "members", "m1", "phone")
        let atCounty = try Database(path: county.serverDB).scalar("SELECT phone FROM members WHERE id = 'm1'")
        #expect(recorded.contains { $0.winner == .text("13811111111") || $0.other == .text("13811111111") } || atCounty == .text("13811111111"),
                "invariant 1: huashan's phone '13811111111', edited while the county's office deleted the member, is neither a conflict record nor the county's value (conflicts: \(recorded.map { "\(show($0.winner)) / \(show($0.other))" }), row: \(atCounty.map(show) ?? "deleted"))")
    }

    /// (e) A reinstalled office (new replica file, same site and token) gets its own records back.
    @Test func aReinstalledOfficeGetsItsOwnMembersBack() throws {
        let county = try County("reinstall", sites: ["huashan"])
        defer { county.cleanup() }
        let a = try county.office("huashan")
        try insertMembers(a, count: 20, site: "huashan")
        try a.must(["sync"])
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: a.db + suffix) }
        let again = try county.office("huashan")
        try again.must(["pull"])
        let count = try Database(path: again.db).scalar("SELECT count(*) FROM members")
        let atCounty = try Database(path: county.serverDB).scalar("SELECT count(*) FROM members")
        #expect(count == .integer(20), "invariant 2: the reinstalled huashan office holds \(count.map(show) ?? "no") of its 20 members; the county has \(atCounty.map(show) ?? "none")")
        #expect(try contentDump(again.db) == contentDump(county.serverDB, scope: again.site))
    }

    /// Invariant 4: a value SQLite stores but the county refuses (a REAL in an INTEGER column) is refused when the
    /// clerk writes it, or held back alone; the office's other changes still reach the county.
    @Test func aValueOfTheWrongTypeNeverBlocksTheOfficesOtherChanges() throws {
        let county = try County("wrong-type", sites: ["huashan"])
        defer { county.cleanup() }
        let a = try county.office("huashan")
        try a.sql("INSERT INTO proposals(id, title, site_id) VALUES ('p1', '关于加强农村饮水安全的提案', 'huashan')")
        try a.must(["sync"])
        var refusedAtTheOffice = false
        do { try a.sql("UPDATE proposals SET year = 2026.5 WHERE id = 'p1'") } catch { refusedAtTheOffice = true }
        try a.sql("INSERT INTO members(id, name, site_id) VALUES ('m1', '王芳', 'huashan')")
        let r = try a.cpsync(["sync"])
        let member = try Database(path: county.serverDB).scalar("SELECT name FROM members WHERE id = 'm1'")
        #expect(member == .text("王芳"),
                "invariant 4: \(refusedAtTheOffice ? "" : "the office accepted year = 2026.5 and ")the new member never reached the county; sync exited \(r.status): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
    }

    /// Invariant 4: changes entered while the PC clock was hours fast may be held back, but once the clock is right
    /// the office's new changes reach the county. The fast clock is real when `faketime` is installed.
    @Test func anOfficeWhoseClockWasAheadStillSendsWhatItEntersWithTheRightClock() throws {
        let county = try County("clock-ahead", sites: ["huashan"])
        defer { county.cleanup() }
        let a = try county.office("huashan")
        try a.must(["sync"])
        if let faketime = ["/usr/bin/faketime", "/usr/local/bin/faketime"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
            let fast = try run(faketime, ["-f", "+3h", Binaries.cpsync, "member", "add", "--db", a.db, "--id", "m-fast", "--name", "时钟快", "--site", "huashan"])
            #expect(fast.ok, "\(fast.stderr)")
        } else {
            try a.sql("UPDATE _cp_state SET hlc = ?", [.integer(HLC(milliseconds: HLC.wallClock().milliseconds + 3 * 3_600_000).rawValue)])
            try a.sql("INSERT INTO members(id, name, site_id) VALUES ('m-fast', '时钟快', 'huashan')")
        }
        // The clock is right again; the clerk enters another member and syncs.
        try a.sql("INSERT INTO members(id, name, site_id) VALUES ('m-now', '王芳', 'huashan')")
        let r = try a.cpsync(["sync"])
        let member = try Database(path: county.serverDB).scalar("SELECT name FROM members WHERE id = 'm-now'")
        #expect(member == .text("王芳"),
                "invariant 4: a member entered with the right clock never reached the county because an earlier change was stamped 3 h ahead; sync exited \(r.status): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        #expect(try a.query("SELECT count(*) FROM members WHERE id = 'm-fast'") == [[.integer(1)]], "the fast-stamped member must stay at the office")
    }

    /// A pull of many pages is answered from pages the county read ahead (its metrics say so), and the office ends
    /// with every cell the county holds.
    @Test func aManyPagePullAnsweredFromPagesReadAheadBringsEveryCell() throws {
        let county = try County("read-ahead", sites: ["huashan"])
        defer { county.cleanup() }
        let a = try county.office("huashan")
        try insertMembers(a, count: 1500, site: "huashan")
        try a.must(["push"])
        let b = try countyOffice(county)
        let pulled = try b.must(["pull", "--page-size", "400", "--json"])
        let metrics = try ObservabilityTests.scrape(county.daemon)
        let pages = metrics[ObservabilityTests.Sample(name: "cpsync_pull_pages_total", labels: [:])] ?? 0
        let readAhead = metrics[ObservabilityTests.Sample(name: "cpsync_pull_pages_read_ahead_total", labels: [:])] ?? 0
        #expect(pages >= 20, "the pull should span many pages: \(pulled.stdout)")
        #expect(readAhead >= 1 && readAhead < pages, "pages read ahead: \(readAhead) of \(pages)")
        #expect(try contentDump(b.db) == contentDump(county.serverDB, scope: b.site))
    }

    /// A batch id the county already holds for other changes (the id's hash met another page's) is answered 409 and
    /// nothing of that push is applied: the office sends the same changes again under an id of their own, and every
    /// row arrives.
    @Test func aBatchIdTheCountyHoldsForOtherChangesGoesAgainUnderItsOwnIdAndEveryRowArrives() throws {
        let county = try County("reused-id", sites: ["huashan"]), probe = try County("reused-id-probe", sites: ["huashan"])
        defer { county.cleanup(); probe.cleanup() }
        let a = try county.office("huashan")
        try insertMembers(a, count: 30, site: "huashan")
        // The id this page goes under, learnt by pushing a copy of the office to another county.
        let copy = Office(site: "huashan", db: probe.ws.path("copy.db"))
        try a.sql("VACUUM INTO '\(copy.db)'")
        try copy.sql("UPDATE _cp_meta SET value = ? WHERE key = 'office.server'", [.text(probe.daemon.url)])
        try copy.sql("UPDATE _cp_meta SET value = ? WHERE key = 'office.token'", [.text(probe.tokens["huashan"]!)])
        try copy.must(["push"])
        let ids = try Database(path: probe.serverDB).query("SELECT batch_id FROM _srv_batches WHERE site = 'huashan'")
        let id = try #require(ids.count == 1 ? ids[0][0].stringValue : nil, "one page, one batch: \(ids)")
        // The county holds another batch of huashan's under that id.
        let server = try Database(path: county.serverDB)
        try server.run("INSERT INTO _srv_batches(site, batch_id, digest, response, at) VALUES ('huashan', ?, 'b2:' || hex(zeroblob(16)), x'7b7d', ?)",
                       [.text(id), .integer(Int64(Date().timeIntervalSince1970 * 1000))])
        let pushed = try a.cpsync(["push"])
        #expect(pushed.ok, "the push should go again under an id of its own: \(pushed.stderr)")
        #expect(try server.scalar("SELECT count(*) FROM members") == .integer(30))
        var diffs: [String] = []
        for i in 0..<30 { diffs += try differences("members", String(format: "m%05d", i), office: a.db, county: county.serverDB) }
        #expect(diffs.isEmpty, "rows of the re-sent push are missing at the county: \(diffs.prefix(5).joined(separator: "; "))")
    }
}

/// A pull page is one snapshot: pushes that commit rows in two tables while an office pulls in small pages never
/// make its cursor jump over a row.
@Suite(.serialized) struct SnapshotPagesTests {
    @Test func officesPullingWhileOthersPushToTwoTablesMissNoRow() throws {
        let county = try County("snapshot", sites: ["huashan", "chengguan"])
        defer { county.cleanup() }
        let writers = try ["huashan", "chengguan"].map { try county.office($0) }
        let reader = try county.office("county")  // holds everything
        try reader.must(["sync"])
        let stop = Guard<Bool>(false)
        let failures = Guard<[String]>([])
        let done = DispatchGroup()
        done.enter()
        DispatchQueue.global().async {
            defer { done.leave() }
            var rounds = 0
            while !stop.get() && rounds < 400 {
                rounds += 1
                if let r = try? reader.cpsync(["pull", "--page-size", "7"]), !r.ok { failures.update { $0.append("pull: \(r.stderr)") } }
            }
        }
        for batch in 0..<12 {
            for (n, w) in writers.enumerated() {
                let db = try Database(path: w.db)
                try db.transaction {
                    for i in 0..<10 {
                        let id = "\(w.site)-\(batch)-\(i)"
                        try db.run("INSERT INTO members(id, name, site_id) VALUES (?, ?, ?)", [.text("m-" + id), .text("委员" + id), .text(w.site)])
                        try db.run("INSERT INTO activities(id, topic, site_id) VALUES (?, '视察', ?)", [.text("a-" + id), .text(w.site)])
                    }
                }
                let r = try w.cpsync(["push"])
                #expect(r.ok, "push \(n): \(r.stderr)")
            }
        }
        stop.set(true)
        done.wait()
        #expect(failures.get().isEmpty, "\(failures.get().prefix(3))")
        // Whatever the interleaving, one more pull from where the office stands completes it.
        try reader.must(["pull"])
        let db = try Database(path: reader.db)
        #expect(try db.scalar("SELECT count(*) FROM members") == .integer(240))
        #expect(try db.scalar("SELECT count(*) FROM activities") == .integer(240))
        #expect(try contentDump(reader.db) == contentDump(county.serverDB, scope: reader.site))
    }
}
