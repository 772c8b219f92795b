import CPSyncCore
import Foundation
import Testing
import TestSupport

/// The engine's side of "nothing is lost": paging never drops cells, displaced own edits are kept for the county,
/// edits lost to deletes are conflicts, and clocks that were wrong heal. The end-to-end side runs the binaries.
@Suite struct NothingLostTests {
    /// An office (records no conflicts, like `cpsync`) and a county (records them).
    func officeAndCounty(_ dir: TempDir, office: String = "a") throws -> (Replica, Replica) {
        let o = try makeReplica(dir, office)
        o.recordsConflicts = false
        let c = try makeReplica(dir, "county")
        return (o, c)
    }

    /// Reads `from` in pages of at most `pageSize` changes the way a transfer does, letting `between` write after
    /// every page; returns what was read.
    func pagedTransfer(_ from: Replica, pageSize: Int, keepSince: Bool, between: (Int) throws -> Void) throws -> [Change] {
        var after: Int64 = 0, since: Int64 = 0, out: [Change] = []
        for page in 0..<10_000 {
            let p = try from.changes(after: after, since: keepSince ? since : after, maxChanges: pageSize)
            out += p.changes
            after = p.cursor
            if !p.hasMore { since = after; break }
            try between(page)
        }
        return out
    }

    @Test func aRowWhoseNewestEditLiesBeyondAPageBoundaryStillBringsItsOlderCells() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeReplica(dir, "a"), b = try makeReplica(dir, "b")
        for i in 0..<60 {
            try a.database.run("INSERT INTO proposals(id, title, body, votes, score) VALUES (?, ?, '正文', ?, 0.5)", [.text("p\(i)"), .text("提案\(i)"), .integer(Int64(i))])
        }
        try a.foldLog()  // as a sync would have: the rows now hold versions
        // Renamed before the transfer: their newest cell now sorts last.
        try a.database.run("UPDATE proposals SET title = title || '（改）' WHERE id IN ('p0', 'p1', 'p2')")
        try b.merge(try pagedTransfer(a, pageSize: 40, keepSince: true) { page in
            // And rows edited while the transfer is under way.
            try a.database.run("UPDATE proposals SET votes = votes + 100 WHERE id = ?", [.text("p\(page * 7 + 3)")])
        })
        // Quiescent: one more transfer from where the last one ended picks up only what changed since.
        let rest = try pagedTransfer(a, pageSize: 40, keepSince: true) { _ in }
        try b.merge(rest)
        #expect(try canonicalDump(b) == canonicalDump(a))
    }

    @Test func pagingByTheStartOfEachPageInsteadOfTheTransferWouldDropCells() throws {
        // The mutation check for the test above: the old filter (cells after each page's own start) loses columns.
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeReplica(dir, "a"), b = try makeReplica(dir, "b")
        for i in 0..<60 {
            try a.database.run("INSERT INTO proposals(id, title, body, votes) VALUES (?, ?, '正文', 7)", [.text("p\(i)"), .text("提案\(i)")])
        }
        try a.foldLog()
        try a.database.run("UPDATE proposals SET title = '改' WHERE id = 'p0'")
        let read = try pagedTransfer(a, pageSize: 40, keepSince: false) { _ in }
        try b.merge(read)
        #expect(try b.database.scalar("SELECT body FROM proposals WHERE id = 'p0'") != .text("正文"), "\(read.filter { $0.pk == "p0" })")
    }

    @Test func anOfficesEditOverwrittenByAPulledValueItHadNotSeenWaitsInTheOutboxAndBecomesAConflict() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (a, county) = try officeAndCounty(dir)
        let b = try makeReplica(dir, "b")
        b.recordsConflicts = false
        try county.database.run("INSERT INTO proposals(id, title) VALUES ('p1', '原题')")
        try sync(county, to: a); try sync(county, to: b)
        try a.database.run("UPDATE proposals SET title = 'A 的题目' WHERE id = 'p1'")
        try b.database.run("UPDATE proposals SET title = 'B 的题目' WHERE id = 'p1'")
        try county.merge(try b.allChanges().filter { $0.version.site == "b" })
        // A pulls first: B's later value wins the cell at A, but A's edit is kept for the county.
        try a.merge(try county.allChanges())
        #expect(try a.database.scalar("SELECT title FROM proposals WHERE id = 'p1'") == .text("B 的题目"))
        let outbox = try a.outbox()
        #expect(outbox.map(\.change.value) == [.text("A 的题目")])
        #expect(try a.allChanges().filter { $0.version.site == "a" }.isEmpty)
        let r = try county.merge(outbox.map(\.change))
        #expect(r.conflicts.count == 1)
        let conflict = try #require(try county.conflicts(status: .open).first)
        #expect(Set([conflict.winnerValue, conflict.otherValue]) == [.text("A 的题目"), .text("B 的题目")])
        // Sending it again (a retry) records nothing new.
        #expect(try county.merge(outbox.map(\.change)).conflicts.isEmpty)
    }

    /// A loss is recorded once (Protocol §13.6): A's edit lost to B's, then C — who had received B's value — edits
    /// the cell, then A's displaced edit arrives again (a retry after a cut). It is not recorded losing a second time,
    /// to C's value, which was written after the first judgement and is not concurrent with the first conflict.
    @Test func aValueThatAlreadyLostAConflictIsNotRecordedLosingAgainToALaterValue() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (a, county) = try officeAndCounty(dir)
        let b = try makeReplica(dir, "b"), c = try makeReplica(dir, "c")
        b.recordsConflicts = false
        c.recordsConflicts = false
        try county.database.run("INSERT INTO proposals(id, title) VALUES ('p1', '原题')")
        for office in [a, b, c] { try sync(county, to: office) }
        try a.database.run("UPDATE proposals SET title = 'A 的题目' WHERE id = 'p1'")
        try b.database.run("UPDATE proposals SET title = 'B 的题目' WHERE id = 'p1'")
        try county.merge(try b.allChanges().filter { $0.version.site == "b" })
        try a.merge(try county.allChanges())
        let outbox = try a.outbox().map(\.change)
        #expect(try county.merge(outbox).conflicts.count == 1)
        try c.merge(try county.allChanges())
        try c.database.run("UPDATE proposals SET title = 'C 的题目' WHERE id = 'p1'")
        try county.merge(try c.allChanges().filter { $0.version.site == "c" })
        #expect(try county.merge(outbox).conflicts.isEmpty, "A's loss was recorded again")
        #expect(try county.conflicts().count == 1)
        #expect(try county.database.scalar("SELECT title FROM proposals WHERE id = 'p1'") == .text("C 的题目"))
    }

    @Test func aValueTheWriterHadSeenDisplacesNothingIntoTheOutbox() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (a, county) = try officeAndCounty(dir)
        try a.database.run("INSERT INTO proposals(id, title) VALUES ('p1', 'A 写的')")
        try county.merge(try a.allChanges())
        try county.database.run("UPDATE proposals SET title = '县里改的' WHERE id = 'p1'")
        try a.merge(try county.allChanges())
        #expect(try a.outbox().isEmpty)
        #expect(try county.conflicts().isEmpty)
    }

    @Test func anEditLostToAConcurrentDeleteIsAConflictInEitherOrder() throws {
        for editFirst in [true, false] {
            let dir = TempDir(); defer { dir.cleanup() }
            let (a, county) = try officeAndCounty(dir)
            let b = try makeReplica(dir, "b")
            try county.database.run("INSERT INTO proposals(id, title, body) VALUES ('p1', '题目', '正文')")
            try sync(county, to: a); try sync(county, to: b)
            try a.database.run("UPDATE proposals SET body = 'A 补充的正文' WHERE id = 'p1'")
            try b.database.run("DELETE FROM proposals WHERE id = 'p1'")
            let aEdit = try a.allChanges().filter { $0.version.site == "a" }
            let bDelete = try b.allChanges().filter { $0.column == nil || $0.causalLength % 2 == 0 }
            if editFirst { try county.merge(aEdit); try county.merge(bDelete) } else { try county.merge(bDelete); try county.merge(aEdit) }
            #expect(try county.database.scalar("SELECT count(*) FROM proposals") == .integer(0), "delete wins (editFirst: \(editFirst))")
            let conflicts = try county.conflicts()
            #expect(conflicts.count == 1, "editFirst: \(editFirst): \(conflicts)")
            #expect(conflicts.first?.otherValue == .text("A 补充的正文") && conflicts.first?.column == "body")
            // The admin restores the row with the lost value.
            let c = try #require(conflicts.first)
            try county.resolve(conflictID: c.id, action: .takeOther, by: "张三", note: "恢复")
            #expect(try county.database.scalar("SELECT body FROM proposals WHERE id = 'p1'") == .text("A 补充的正文"))
        }
    }

    @Test func aDeleteThatHadSeenTheEditIsNotAConflict() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (a, county) = try officeAndCounty(dir)
        let b = try makeReplica(dir, "b")
        try county.database.run("INSERT INTO proposals(id, title) VALUES ('p1', '题目')")
        try sync(county, to: a)
        try a.database.run("UPDATE proposals SET title = 'A 改的' WHERE id = 'p1'")
        try county.merge(try a.allChanges())
        try sync(county, to: b)
        try b.database.run("DELETE FROM proposals WHERE id = 'p1'")
        try county.merge(try b.allChanges())
        #expect(try county.conflicts().isEmpty)
        // The edit arriving again later (a retry) is still not a conflict.
        try county.merge(try a.allChanges().filter { $0.version.site == "a" })
        #expect(try county.conflicts().isEmpty)
    }

    @Test func anOfficesOwnEditEndedByAPulledDeleteGoesToTheCountyAsAConflict() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (a, county) = try officeAndCounty(dir)
        try county.database.run("INSERT INTO proposals(id, title) VALUES ('p1', '题目')")
        try sync(county, to: a)
        try a.database.run("UPDATE proposals SET title = 'A 改的' WHERE id = 'p1'")
        try county.database.run("DELETE FROM proposals WHERE id = 'p1'")
        try a.merge(try county.allChanges())  // pull before push
        #expect(try a.database.scalar("SELECT count(*) FROM proposals") == .integer(0))
        let outbox = try a.outbox()
        #expect(outbox.map(\.change.value) == [.text("A 改的")])
        try county.merge(outbox.map(\.change))
        #expect(try county.conflicts().map(\.otherValue) == [.text("A 改的")])
    }

    @Test func insertOrReplaceAgainstAConcurrentEditIsAConflict() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (a, county) = try officeAndCounty(dir)
        let b = try makeReplica(dir, "b")
        try county.database.run("INSERT INTO proposals(id, title, votes) VALUES ('p1', '题目', 1)")
        try sync(county, to: a); try sync(county, to: b)
        try a.database.run("UPDATE proposals SET votes = 5 WHERE id = 'p1'")
        try b.database.run("INSERT OR REPLACE INTO proposals(id, title) VALUES ('p1', 'B 重建')")
        try county.merge(try a.allChanges().filter { $0.version.site == "a" })
        try county.merge(try b.allChanges())
        #expect(try county.database.scalar("SELECT title FROM proposals") == .text("B 重建"))
        #expect(try county.conflicts().contains { $0.column == "votes" && $0.otherValue == .integer(5) })
    }

    @Test func aReinstalledOfficeInsertingItsOldKeyBeforePullingIsAConflictNotASilentOverwrite() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (old, county) = try officeAndCounty(dir)
        try old.database.run("INSERT INTO proposals(id, title, body) VALUES ('p1', '旧电脑写的', '正文')")
        try county.merge(try old.allChanges())
        // The PC dies; a new replica of the same site writes the same key before its first pull.
        let fresh = try Replica(path: dir.path("a-new.db"), siteID: "a")
        try fresh.database.execute(proposalsSQL)
        try fresh.makeSynced("proposals")
        try fresh.database.run("INSERT INTO proposals(id, title, body) VALUES ('p1', '新电脑写的', '正文')")
        try county.merge(try fresh.allChanges())
        let conflicts = try county.conflicts()
        #expect(conflicts.map(\.column) == ["title"], "\(conflicts)")
        #expect(Set(conflicts.flatMap { [$0.winnerValue, $0.otherValue] }) == [.text("旧电脑写的"), .text("新电脑写的")])
    }

    @Test func aSecondEditOfTheSameOfficeIsNeverAConflict() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (a, county) = try officeAndCounty(dir)
        try a.database.run("INSERT INTO proposals(id, title) VALUES ('p1', '一')")
        try county.merge(try a.allChanges())
        try a.database.run("UPDATE proposals SET title = '二' WHERE id = 'p1'")
        try county.merge(try a.allChanges())
        try a.database.run("DELETE FROM proposals WHERE id = 'p1'")
        try a.database.run("INSERT INTO proposals(id, title) VALUES ('p1', '三')")
        try county.merge(try a.allChanges())
        #expect(try county.conflicts().isEmpty)
        #expect(try county.database.scalar("SELECT title FROM proposals") == .text("三"))
    }

    @Test func ownVersionsStampedTooFarAheadAreStampedAgainOnceTheClockIsRight() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeReplica(dir, "a")
        try a.database.run("INSERT INTO proposals(id, title) VALUES ('p1', '题目')")
        let now = HLC.wallClock().milliseconds
        try a.database.run("UPDATE _cp_log SET hlc = ?", [.integer(HLC(milliseconds: now + 3 * 3_600_000).rawValue)])
        #expect(try a.allChanges().allSatisfy { ClockPolicy.tooFarAhead($0.version, base: $0.base, nowMs: now, maxSkewMs: 600_000) })
        let seq = try a.sequence
        #expect(try a.restampFutureVersions(nowMs: now, maxSkewMs: 600_000) > 0)
        let after = try a.changes(after: seq).changes
        #expect(!after.isEmpty && after.allSatisfy { !ClockPolicy.tooFarAhead($0.version, base: $0.base, nowMs: now, maxSkewMs: 600_000) })
        #expect(try a.clock.milliseconds - now < 600_000)
        #expect(try a.restampFutureVersions(nowMs: now, maxSkewMs: 600_000) == 0)
    }

    @Test func ownDisplacedEditsStampedTooFarAheadAreStampedAgainToo() throws {
        // A fast-clock edit a pull displaced waits in the outbox, which goes first: left in the future, the county
        // would refuse every push (and every changes file) of the office for ever.
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeReplica(dir, "a")
        a.recordsConflicts = false
        let now = HLC.wallClock().milliseconds
        let future = HLC(milliseconds: now + 3 * 3_600_000).rawValue
        try a.database.run("""
            INSERT INTO _cp_outbox(tbl, pk, col, val, hlc, site, cl, base_hlc, base_site) VALUES
              ('proposals', 'p1', 'title', '快了三小时', ?, 'a', 1, NULL, NULL),
              ('proposals', 'p2', 'title', '也快了', ?, 'a', 1, NULL, NULL),
              ('proposals', 'p3', 'title', '别站的', ?, 'b', 1, NULL, NULL)
            """, [.integer(future), .integer(future), .integer(future)])
        // The replica's own clock is right (a restamp before set it back): only the outbox is ahead.
        #expect(try a.clock.milliseconds - now < 600_000)
        #expect(try a.restampFutureVersions(nowMs: now, maxSkewMs: 600_000) == 2)
        let entries = try a.outbox()
        let own = entries.filter { $0.change.version.site == "a" }
        #expect(own.count == 2 && own.allSatisfy { !ClockPolicy.tooFarAhead($0.change.version, base: $0.change.base, nowMs: now, maxSkewMs: 600_000) })
        #expect(Set(own.map(\.change.version)).count == 2, "each keeps a version of its own")
        #expect(entries.first { $0.change.pk == "p3" }?.change.version.hlc.rawValue == future, "another site's version is not this site's to stamp")
        #expect(try a.restampFutureVersions(nowMs: now, maxSkewMs: 600_000) == 0)
    }

    @Test func aStampFollowingABaseThatWasAheadIsAccepted() {
        let now = HLC.wallClock().milliseconds
        let future = Version(hlc: HLC(milliseconds: now + 86_400_000), site: "county")
        let edit = Version(hlc: HLC(rawValue: future.hlc.rawValue + 1), site: "a")
        #expect(!ClockPolicy.tooFarAhead(edit, base: future, nowMs: now, maxSkewMs: 600_000))
        #expect(ClockPolicy.tooFarAhead(edit, base: nil, nowMs: now, maxSkewMs: 600_000))
    }
}

/// A county below a city: a conflict with the city's own edit is the city's to review; the county keeps its side for
/// the uplink instead of recording it a second time — and records conflicts among its own sites as before.
@Suite struct UpstreamConflictTests {
    /// A county replica, and the title of `p1` as written by `site` (one edit each, made apart: concurrent).
    func county(_ dir: TempDir) throws -> Replica {
        let c = try makeReplica(dir, "county")
        c.upstreamSites = ["city"]
        return c
    }

    func edit(_ dir: TempDir, _ site: String, _ title: String, base: Replica? = nil) throws -> [Change] {
        let r = try makeReplica(dir, site + "-\(UUID().uuidString.prefix(4))", site: site)
        if let base { try r.merge(try base.changes(after: 0).changes) }
        try r.database.run("INSERT INTO proposals(id, title) VALUES ('p1', '原题') ON CONFLICT(id) DO UPDATE SET title = excluded.title", [])
        try r.database.run("UPDATE proposals SET title = ? WHERE id = 'p1'", [.text(title)])
        try r.foldLog()
        return try r.changes(after: 0).changes.filter { $0.column == "title" }
    }

    @Test func theCitysLaterEditComingDownKeepsTheCountySideForTheUplink() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let c = try county(dir)
        try c.merge(try edit(dir, "qingbo", "清波的标题"), actingFor: "qingbo")
        Thread.sleep(forTimeInterval: 0.01)
        let merged = try c.merge(try edit(dir, "city", "市政协的标题"))
        #expect(try merged.conflicts.isEmpty && c.conflicts().isEmpty)
        #expect(try c.database.scalar("SELECT title FROM proposals WHERE id = 'p1'") == .text("市政协的标题"))
        #expect(try c.outbox().map(\.change.value) == [.text("清波的标题")], "the county's side goes up for the city to record")
    }

    @Test func anOfficesEditArrivingAfterTheCitysAndLosingIsKeptForTheUplink() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let c = try county(dir)
        let office = try edit(dir, "qingbo", "清波的标题")
        Thread.sleep(forTimeInterval: 0.01)
        try c.merge(try edit(dir, "city", "市政协的标题"))
        let merged = try c.merge(office, actingFor: "qingbo")
        #expect(try merged.conflicts.isEmpty && c.conflicts().isEmpty)
        #expect(try c.outbox().map(\.change.value) == [.text("清波的标题")])
    }

    @Test func twoOfficesOfTheCountyStillConflictHere() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let c = try county(dir)
        try c.merge(try edit(dir, "qingbo", "清波的标题"), actingFor: "qingbo")
        Thread.sleep(forTimeInterval: 0.01)
        try c.merge(try edit(dir, "hubin", "湖滨的标题"), actingFor: "hubin")
        #expect(try c.conflicts().count == 1 && c.outbox().isEmpty)
        // Without a higher tier, the city's edit would be recorded here too (what the upstream rule changes).
        c.upstreamSites = nil
        Thread.sleep(forTimeInterval: 0.01)
        try c.merge(try edit(dir, "city", "市政协的标题"))
        #expect(try c.conflicts().count == 2)
    }
}
