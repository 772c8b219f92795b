import CPPCC
import CPSyncCore
import CPSyncServer
import Foundation
import Testing

/// The county's scope index (`SiteScope.index`): a scoped read through it sends exactly what a read of every row
/// sends, whatever was written (moves, re-parenting, deletes and revivals, children before their parents, workflow
/// steps that make a proposal public), whether the index is up to date or not, and on a county upgraded to it.
@Suite struct ScopeIndexTests {
    final class Scratch {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-index-\(UUID().uuidString.prefix(8))")
        deinit { try? FileManager.default.removeItem(at: dir) }
    }

    /// A small deterministic generator (the seed is printed on failure).
    struct Random {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
    }

    static let sites = ["t1", "t2", "s1", "s2"]
    static let statuses = ["draft", "submitted", "under_review", "filed", "assigned", "replied"]

    /// Random writes at the county, as its clerks or a tool would make them (captured, folded, indexed).
    static func write(_ db: Database, steps: Int, _ rng: inout Random) throws {
        func site() -> Value { rng.next(8) == 0 ? .null : .text(sites[rng.next(sites.count)]) }
        func key(_ prefix: String) -> String { "\(prefix)\(rng.next(12))" }
        for _ in 0..<steps {
            switch rng.next(12) {
            case 0, 1:
                try db.run("INSERT OR REPLACE INTO members(id, name, site_id) VALUES (?, ?, ?)", [.text(key("m")), .text("名\(rng.next(99))"), site()])
            case 2:
                try db.run("UPDATE members SET phone = ? WHERE id = ?", [.text("\(rng.next(9999))"), .text(key("m"))])
            case 3:
                try db.run("UPDATE members SET site_id = ? WHERE id = ?", [site(), .text(key("m"))])
            case 4:
                try db.run("DELETE FROM \(["members", "proposals", "proposal_cosigners", "activities"][rng.next(4)]) WHERE id LIKE ?", [.text("%\(rng.next(12))")])
            case 5:
                try db.run("INSERT OR IGNORE INTO proposals(id, title, site_id, status) VALUES (?, ?, ?, ?)",
                           [.text(key("p")), .text("题\(rng.next(99))"), site(), .text(statuses[rng.next(3)])])
            case 6:
                // Forward only: the county's own rule refuses a step back.
                let p = key("p")
                if let current = try db.scalar("SELECT status FROM proposals WHERE id = ?", [.text(p)])?.stringValue,
                   let i = statuses.firstIndex(of: current), i + 1 < statuses.count {
                    try db.run("UPDATE proposals SET status = ? WHERE id = ?", [.text(statuses[i + 1 + rng.next(statuses.count - i - 1)]), .text(p)])
                }
            case 7:
                try db.run("UPDATE proposals SET site_id = ?, title = ? WHERE id = ?", [site(), .text("改\(rng.next(99))"), .text(key("p"))])
            case 8:
                // Children, their parents there or not (yet).
                let table = ["proposal_cosigners", "proposal_handlers"][rng.next(2)]
                try db.run("INSERT OR REPLACE INTO \(table)(id, proposal_id) VALUES (?, ?)", [.text(key(table == "proposal_handlers" ? "h" : "c")), .text(key("p"))])
            case 9:
                try db.run("INSERT OR REPLACE INTO activities(id, topic, site_id) VALUES (?, ?, ?)", [.text(key("a")), .text("视察"), site()])
            case 10:
                try db.run("INSERT OR REPLACE INTO activity_participants(id, activity_id, member_id) VALUES (?, ?, ?)",
                           [.text(key("ap")), .text(key("a")), .text(key("m"))])
            default:
                // Re-parenting: s1 and s2 move between the townships.
                try db.run("UPDATE sites SET parent_id = ? WHERE id = ?", [.text(["t1", "t2"][rng.next(2)]), .text(["s1", "s2"][rng.next(2)])])
            }
        }
    }

    /// Every page of a transfer from `after` (with the transfer's start `since`), pages of at most `maxChanges`.
    static func transfer(_ r: Replica, site: String, after: Int64, since: Int64, maxChanges: Int) throws -> [Change] {
        var out: [Change] = []
        var cursor = after
        while true {
            let scope = try #require(try SiteScope.of(site: site, in: r.database))
            let page = try r.changes(after: cursor, since: since, maxChanges: maxChanges, scope: scope)
            out += page.changes
            cursor = page.cursor
            if !page.hasMore { return out }
        }
    }

    /// A point of the county's history: its sequence, the rows (`table/pk`) each site's scope held then, and the
    /// stations' townships.
    struct Mark {
        let seq: Int64
        let held: [String: Set<String>]
        let tree: [String: String]

        /// What a reader that took `site`'s scope here still counts as its own under the site tree of `now`: an
        /// office forgets the rest itself after its pull (`SiteScope.purge`: a station moved to another township
        /// takes its rows along), so it needs no notice of them.
        func kept(by site: String, under now: Mark) -> Set<String> {
            let subtree = Set([site] + now.tree.filter { $0.value == site }.map(\.key))
            return held[site]!.filter { row in
                if held["nowhere"]!.contains(row) { return true }
                // The row's own site here: the station holding it, else the township.
                guard let own = (["s1", "s2", "t1", "t2"]).first(where: { held[$0]!.contains(row) }) else { return true }
                return subtree.contains(own)
            }
        }
    }

    static func mark(_ r: Replica) throws -> Mark {
        var held: [String: Set<String>] = [:]
        for site in sites + ["nowhere"] {
            held[site] = Set(try transfer(r, site: site, after: 0, since: 0, maxChanges: Int.max).map { $0.table + "/" + $0.pk })
        }
        var tree: [String: String] = [:]
        for row in try r.database.query("SELECT id, parent_id FROM sites WHERE id IN ('s1', 's2')") { tree[row[0].stringValue!] = row[1].stringValue }
        return Mark(seq: try r.sequence, held: held, tree: tree)
    }

    /// Indexed and plain reads of every site's scope, from each pair of `marks` (the transfer's start, and where it
    /// has read to), agree change for change, except that the index leaves out the notices of rows the reader could
    /// never have held, or forgets itself: rows in none of its scope's states from the start of its transfer to now
    /// (under today's site tree). A plain read tells every reader of every row written into the scope columns, made
    /// or moved; the index, only the readers of the bucket a row left.
    static func expectSameReads(_ r: Replica, marks: [Mark], seed: UInt64, _ what: String) throws {
        let index = r.scopeIndex
        defer { r.scopeIndex = index }
        for site in sites + ["nowhere"] {
            for i in marks.indices {
                for j in marks.indices where j >= i {
                    let (since, after) = (marks[i].seq, marks[j].seq)
                    let now = marks.last!
                    let held = marks[i...j].reduce(now.held[site]!) { $0.union($1.kept(by: site, under: now)) }
                    for maxChanges in [Int.max, 7] {
                        r.scopeIndex = index
                        let indexed = try transfer(r, site: site, after: after, since: since, maxChanges: maxChanges)
                        r.scopeIndex = nil
                        let plain = try transfer(r, site: site, after: after, since: since, maxChanges: maxChanges)
                        var k = 0
                        var left: [Change] = []
                        for c in plain { if k < indexed.count && indexed[k] == c { k += 1 } else { left.append(c) } }
                        let context = "seed \(seed), \(what): \(site) after \(after) since \(since), pages of \(maxChanges)"
                        if k < indexed.count {
                            Issue.record("\(context): the index sent \(indexed[k]), which a plain read does not")
                            return
                        }
                        if let missed = left.first(where: { held.contains($0.table + "/" + $0.pk) }) {
                            Issue.record("\(context): the index left out \(missed), of a row the reader may hold")
                            return
                        }
                    }
                }
            }
        }
    }

    /// `rounds` rounds of `steps` random writes at the county, each folded; the marks before and after each round.
    static func history(_ r: Replica, seed: UInt64, rounds: Int, steps: Int) throws -> [Mark] {
        var rng = Random(state: seed)
        var marks = [try mark(r)]
        for _ in 0..<rounds {
            try write(r.database, steps: steps, &rng)
            try r.foldLog()
            marks.append(try mark(r))
        }
        return marks
    }

    static func county(_ s: Scratch) throws -> ServerStore {
        let store = try ServerStore(dataDirectory: s.dir.path)
        try store.write { r in
            try r.database.execute("""
                INSERT INTO sites(id, name, kind, parent_id) VALUES ('county', '县', 'county', NULL), ('t1', '甲镇', 'township', 'county'),
                  ('t2', '乙镇', 'township', 'county'), ('s1', '一站', 'station', 't1'), ('s2', '二站', 'station', 't2')
                """)
        }
        return store
    }

    @Test func aScopedReadThroughTheIndexSendsWhatAReadOfEveryRowSends() throws {
        for seed in UInt64(1)...6 {
            let s = Scratch()
            let store = try Self.county(s)
            try store.write { r in
                let marks = try Self.history(r, seed: seed, rounds: 4, steps: 60)
                #expect(try r.database.scalar("SELECT count(*) FROM _cp_v_members WHERE bk IS NULL")?.int64Value == 0)
                try Self.expectSameReads(r, marks: marks, seed: seed, "index up to date")
            }
        }
    }

    /// Every indexed shadow row's bucket and the bucket it waits to leave (none, once bucketed), by table and key.
    static func buckets(_ r: Replica) throws -> [String: [Value]] {
        var out: [String: [Value]] = [:]
        for t in SiteScope.index.tables {
            for row in try r.database.query("SELECT pk, bk, ob FROM \"_cp_v_\(t.name)\"") { out[t.name + "/" + (row[0].stringValue ?? "")] = [row[1], row[2]] }
        }
        return out
    }

    /// New keys of tables without children are bucketed as their shadow rows are inserted (by a merge of an office's
    /// push, or the fold of the county's own writes), not by `refresh`: they get exactly what `refresh` gives them.
    @Test func newKeysBucketedAsTheyAreInsertedGetWhatRefreshGives() throws {
        for seed in UInt64(21)...26 {
            let s = Scratch()
            let store = try Self.county(s)
            var rng = Random(state: seed)
            let office = try Replica(path: s.dir.appendingPathComponent("office.db").path, siteID: "county-office")
            try CPPCCSchema.install(on: office)
            var marks: [Mark] = []
            try store.write { r in marks.append(try Self.mark(r)) }
            for round in 0..<4 {
                try Self.write(office.database, steps: 60, &rng)
                try office.foldLog()
                let changes = try office.allChanges()
                try store.write { r in
                    _ = try r.merge(changes)
                    if round % 2 == 1 {
                        try Self.write(r.database, steps: 30, &rng)
                        try r.foldLog()
                    }
                    marks.append(try Self.mark(r))
                }
            }
            try store.write { r in
                let inserted = try Self.buckets(r)
                #expect(inserted.values.allSatisfy { !$0[0].isNull }, "seed \(seed): a row left unbucketed")
                for t in SiteScope.index.tables { try r.database.execute("UPDATE \"_cp_v_\(t.name)\" SET bk = NULL, ob = NULL") }
                try SiteScope.index.refresh(r)
                let refreshed = try Self.buckets(r)
                #expect(inserted.count == refreshed.count)
                for (key, value) in refreshed where inserted[key] != value {
                    Issue.record("seed \(seed): \(key) bucketed \(inserted[key] ?? []) as inserted, \(value) by refresh")
                }
                try Self.expectSameReads(r, marks: marks, seed: seed, "merged pushes")
            }
        }
    }

    @Test func rowsWrittenWithoutTheIndexAreReadUntilItCatchesUp() throws {
        for seed in UInt64(11)...16 {
            let s = Scratch()
            let store = try Self.county(s)
            var rng = Random(state: seed)
            var marks: [Mark] = []
            try store.write { r in
                marks.append(try Self.mark(r))
                try Self.write(r.database, steps: 120, &rng)
                try r.foldLog()
                marks.append(try Self.mark(r))
            }
            // Another process (a cpsyncd command beside the daemon) writes with a replica that keeps no index:
            // parents and children alike wait unbucketed.
            let other = try Replica(path: store.databasePath, create: false)
            try Self.write(other.database, steps: 120, &rng)
            try other.foldLog()
            try store.read { r in
                marks.append(try Self.mark(r))
                #expect(try r.database.scalar("SELECT count(*) FROM _cp_v_proposals WHERE bk IS NULL")?.int64Value ?? 0 > 0)
                try Self.expectSameReads(r, marks: marks, seed: seed, "rows not bucketed yet")
            }
            try store.write { r in
                try SiteScope.index.refresh(r)
                try Self.expectSameReads(r, marks: marks, seed: seed, "after the index caught up")
            }
        }
    }

    @Test func aCountyFromBeforeTheIndexGetsItWhenOpenedAndItsCursorsReadTheSame() throws {
        let s = Scratch()
        var marks: [Mark] = []
        var before: [String: [Change]] = [:]
        do {
            let store = try Self.county(s)
            try store.write { r in
                marks = try Self.history(r, seed: 42, rounds: 3, steps: 80)
                // The county as an older cpsyncd left it: no index columns.
                r.scopeIndex = nil
                for t in SiteScope.index.tables {
                    try r.database.execute("""
                        DROP INDEX "_cp_v_\(t.name)_bk";
                        ALTER TABLE "_cp_v_\(t.name)" DROP COLUMN bk; ALTER TABLE "_cp_v_\(t.name)" DROP COLUMN ob
                        """)
                }
                try r.database.execute("DROP TABLE _cp_moves")
                for site in Self.sites { before[site] = try Self.transfer(r, site: site, after: marks[1].seq, since: marks[1].seq, maxChanges: 5) }
            }
        }
        let store = try ServerStore(dataDirectory: s.dir.path)
        try store.read { r in
            #expect(try r.database.scalar("SELECT count(*) FROM _cp_v_members WHERE bk IS NULL")?.int64Value == 0)
            #expect(try r.sequence == marks.last!.seq)
            for site in Self.sites {
                #expect(try Self.transfer(r, site: site, after: marks[1].seq, since: marks[1].seq, maxChanges: 5) == before[site], "\(site)")
            }
            try Self.expectSameReads(r, marks: marks, seed: 42, "an upgraded county")
        }
    }

    /// A county indexed by an earlier cpsyncd (a `mq` column, no moves table): what its readers are told after the
    /// upgrade is still every notice they may need.
    @Test func aCountyIndexedByAnEarlierDaemonKeepsItsReadersNotices() throws {
        let s = Scratch()
        var marks: [Mark] = []
        do {
            let store = try Self.county(s)
            try store.write { r in
                marks = try Self.history(r, seed: 43, rounds: 3, steps: 80)
                r.scopeIndex = nil
                for t in SiteScope.index.tables {
                    // Its mark: the last write of a row's scope cells, approximated (wider) by the row's last write.
                    try r.database.execute("""
                        ALTER TABLE "_cp_v_\(t.name)" DROP COLUMN ob; ALTER TABLE "_cp_v_\(t.name)" ADD COLUMN mq INTEGER;
                        UPDATE "_cp_v_\(t.name)" SET mq = seq WHERE cl % 2 = 1; CREATE INDEX "_cp_v_\(t.name)_mq" ON "_cp_v_\(t.name)"(mq)
                        """)
                }
                try r.database.execute("DROP TABLE _cp_moves")
            }
        }
        let store = try ServerStore(dataDirectory: s.dir.path)
        try store.read { r in
            #expect(try r.database.scalar("SELECT count(*) FROM pragma_table_info('_cp_v_members') WHERE name = 'mq'")?.int64Value == 0)
            try Self.expectSameReads(r, marks: marks, seed: 43, "a county upgraded from mq")
        }
    }

    /// The cost a township's pull must not have: rows made in another township's part of the county are not read,
    /// nor sent as notices, to it (they were, to every office: a county's pulls cost offices² with new records).
    @Test func aTownshipIsNotToldOfRowsMadeElsewhere() throws {
        let s = Scratch()
        let store = try Self.county(s)
        try store.write { r in
            try r.database.execute("INSERT INTO members(id, name, site_id) VALUES ('mine', '王芳', 't2'), ('moving', '李明', 't2')")
            try r.foldLog()
            let mark = try r.sequence
            try r.database.transaction {
                for i in 0..<300 {
                    try r.database.run("INSERT INTO members(id, name, site_id) VALUES (?, '张伟', ?)", [.text("n\(i)"), .text(["t1", "s1"][i % 2])])
                }
            }
            try r.foldLog()
            let scope = try #require(try SiteScope.of(site: "t2", in: r.database))
            let quiet = try r.changes(after: mark, since: mark, scope: scope)
            #expect(quiet.rowsRead == 0 && quiet.changes.isEmpty, "read \(quiet.rowsRead), sent \(quiet.changes.count)")
            // A row that leaves t2 is told to t2, and to no one else.
            try r.database.execute("UPDATE members SET site_id = 't1' WHERE id = 'moving'")
            try r.foldLog()
            let told = try r.changes(after: mark, since: mark, scope: scope)
            #expect(Set(told.changes.map(\.pk)) == ["moving"] && told.rowsRead == 1, "\(told.changes)")
            let other = try #require(try SiteScope.of(site: "s2", in: r.database))
            #expect(try r.changes(after: mark, since: mark, scope: other).rowsRead == 0)
        }
    }

    @Test func aTownshipsPullAfterCountyWideEditsReadsAboutTheRowsItIsSent() throws {
        let s = Scratch()
        let store = try Self.county(s)
        try store.write { r in
            try r.database.transaction {
                for i in 0..<600 {
                    try r.database.run("INSERT INTO members(id, name, site_id) VALUES (?, ?, ?)", [.text("m\(i)"), .text("名"), .text(Self.sites[i % 4])])
                }
            }
            try r.foldLog()
            let mark = try r.sequence
            try r.database.execute("UPDATE members SET phone = '139' WHERE rowid % 3 = 0")
            try r.foldLog()
            let scope = try #require(try SiteScope.of(site: "t2", in: r.database))
            let page = try r.changes(after: mark, since: mark, scope: scope)
            // t2 holds its own members and s2's: half of the 200 edited; and the site tree.
            #expect(page.rowsSent == 100 && page.rowsRead == page.rowsSent, "read \(page.rowsRead), sent \(page.rowsSent)")
        }
    }
}
