@testable import CPPCC
import CPSyncCore
@testable import CPSyncServer
import Foundation
import Testing

/// The snapshot's scope cut in SQL (`SiteScope.snapshotConditions`, through `ReplicaSnapshot.write` and the office's
/// `expand`) against the reference it replaced: a copy of the county cut by `SiteScope.keepOnly`, which asks
/// `contains` of every row in Swift. On random counties both leave every site exactly the same rows and versions.
@Suite struct SnapshotCutTests {
    static let tables = ["sites", "members", "proposals", "proposal_cosigners", "proposal_handlers", "social_reports", "activities",
                         "activity_participants"] + Attachments.tables

    /// A county of random sites, members, proposals (every status), their cosigners and handlers, reports,
    /// activities and participants; site ids and parents that exist, that do not, NULL and not TEXT; some rows deleted.
    func county(seed: UInt64, in dir: String) throws -> (ServerStore, [String]) {
        var rng = SplitMix64(seed: seed)
        let store = try ServerStore(dataDirectory: dir)
        _ = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil)
        var sites = ["county"]
        for i in 0..<4 {
            _ = try store.addSite(id: "t\(i)", name: "乡镇\(i)", kind: "township", parent: "county")
            sites.append("t\(i)")
            for j in 0..<Int(rng.next() % 3) {
                _ = try store.addSite(id: "t\(i)-s\(j)", name: "联络站\(i)-\(j)", kind: "station", parent: "t\(i)")
                sites.append("t\(i)-s\(j)")
            }
        }
        let statuses = ProposalStatus.allCases.map(\.rawValue)
        func site(_ rng: inout SplitMix64) -> Value {
            switch rng.next() % 10 {
            case 0: .null
            case 1: .text("nowhere")
            case 2: .integer(7)
            default: .text(rng.pick(sites))
            }
        }
        try store.write { r in
            try r.database.transaction {
                let db = r.database
                var members: [String] = [], proposals: [String] = [], activities: [String] = []
                for i in 0..<120 {
                    let id = "m\(i)-\(rng.next() % 1000)"
                    members.append(id)
                    try db.run("INSERT INTO members(id, name, site_id, phone) VALUES (?, ?, ?, ?)", [.text(id), .text("委员\(i)"), site(&rng), .text("139\(i)")])
                }
                for i in 0..<60 {
                    let id = "p\(i)"
                    proposals.append(id)
                    try db.run("INSERT INTO proposals(id, title, site_id, status, proposer_id) VALUES (?, ?, ?, ?, ?)",
                               [.text(id), .text("提案\(i)"), site(&rng), .text(rng.pick(statuses)), .text(rng.pick(members))])
                }
                for i in 0..<30 {
                    let id = "a\(i)"
                    activities.append(id)
                    try db.run("INSERT INTO activities(id, topic, site_id) VALUES (?, ?, ?)", [.text(id), .text("视察\(i)"), site(&rng)])
                    try db.run("INSERT INTO social_reports(id, title, site_id) VALUES (?, ?, ?)", [.text("r\(i)"), .text("社情\(i)"), site(&rng)])
                }
                func parent(_ ids: [String], _ rng: inout SplitMix64) -> Value {
                    switch rng.next() % 12 {
                    case 0: .null
                    case 1: .text("missing")
                    case 2: .integer(3)
                    default: .text(rng.pick(ids))
                    }
                }
                for i in 0..<150 {
                    try db.run("INSERT INTO proposal_cosigners(id, proposal_id, member_id) VALUES (?, ?, ?)",
                               [.text("c\(i)"), parent(proposals, &rng), .text(rng.pick(members))])
                    try db.run("INSERT INTO proposal_handlers(id, proposal_id, unit) VALUES (?, ?, ?)", [.text("h\(i)"), parent(proposals, &rng), .text("单位\(i)")])
                    try db.run("INSERT INTO activity_participants(id, activity_id, member_id) VALUES (?, ?, ?)",
                               [.text("ap\(i)"), parent(activities, &rng), .text(rng.pick(members))])
                    // Attachments of every kind of record (a filed proposal's go to every office).
                    try db.run("INSERT INTO proposal_attachments(id, proposal_id, name, sha256) VALUES (?, ?, ?, ?)",
                               [.text("pa\(i)"), parent(proposals, &rng), .text("原件\(i).pdf"), .text(String(repeating: "a", count: 64))])
                    try db.run("INSERT INTO member_attachments(id, member_id, name, sha256) VALUES (?, ?, ?, ?)",
                               [.text("ma\(i)"), parent(members, &rng), .text("照片\(i).jpg"), .text(String(repeating: "b", count: 64))])
                    try db.run("INSERT INTO activity_attachments(id, activity_id, name) VALUES (?, ?, ?)", [.text("aa\(i)"), parent(activities, &rng), .text("a")])
                    try db.run("INSERT INTO social_report_attachments(id, social_report_id, name) VALUES (?, ?, ?)",
                               [.text("sa\(i)"), .text("r\(i % 40)"), .text("s")])
                }
                try r.foldLog()
                // Deaths (a pull sends them to everyone), of rows and of parents whose children stay.
                for table in ["members", "proposals", "activities", "proposal_cosigners"] {
                    try db.run("DELETE FROM \(table) WHERE rowid IN (SELECT rowid FROM \(table) ORDER BY random() LIMIT 5)")
                }
                try r.foldLog()
            }
        }
        return (store, sites + ["nowhere"])
    }

    /// Every domain row and every version (the shadow's columns an office has), in key order.
    func dump(_ path: String) throws -> [String] {
        let db = try Database(path: path, readOnly: true)
        var out: [String] = []
        for t in Self.tables {
            for row in try db.query("SELECT * FROM \"\(t)\" ORDER BY id") {
                out.append(t + "|" + row.map { "\($0.typeName):\($0)" }.joined(separator: "|"))
            }
            for row in try db.query("SELECT pk, cl, seq, rh, rs, rq, hex(cells), tcl, hex(tomb) FROM \"_cp_v_\(t)\" ORDER BY pk") {
                out.append("v:" + t + "|" + row.map { "\($0.typeName):\($0)" }.joined(separator: "|"))
            }
        }
        return out
    }

    /// The reference: a copy of the county, cut by `keepOnly` and stripped, as snapshots were made before.
    func reference(_ store: ServerStore, site: String, into path: String) throws -> [String] {
        try store.read { r in try r.database.backup(into: path) }
        let copy = try Replica(path: path, create: false)
        try copy.foldLog()
        try SiteScope.keepOnly(site: site, in: copy)
        try ReplicaSnapshot.strip(copy, keeping: AccessRules.ownTables)
        return try dump(path)
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func theSQLCutKeepsExactlyWhatKeepOnlyKept(seed: UInt64) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-snapshot-cut-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (store, sites) = try county(seed: seed, in: dir + "/data")
        for site in sites {
            let expected = try reference(store, site: site, into: dir + "/\(site)-reference.db")
            let sql = dir + "/\(site)-sql.db"
            let written = try ReplicaSnapshot.write(from: store.databasePath, into: sql, keepingEmpty: AccessRules.ownTables,
                                                    keep: { try SiteScope.snapshotConditions(site: site, in: $0) })
            #expect(try ReplicaSnapshot.isCompact(at: sql))
            try ReplicaSnapshot.expand(at: sql)
            #expect(try !ReplicaSnapshot.isCompact(at: sql))
            let got = try dump(sql)
            // A boolean first: a failed expectation would print both dumps whole.
            let same = got == expected
            #expect(same, "seed \(seed), site \(site): \(Set(got).symmetricDifference(expected).sorted().prefix(6))")
            #expect(written.cursor == (try store.read { try $0.database.scalar("SELECT seq FROM _cp_state")?.int64Value }))
            let office = try Database(path: sql, readOnly: true)
            #expect(try office.integrityProblems().isEmpty)
            // What the office rebuilt: the county's indexes and triggers, less the county's own scope index.
            let objects = { (db: Database) in
                Set(try db.query("SELECT type || ' ' || name FROM sqlite_schema WHERE type IN ('index', 'trigger', 'view') AND sql IS NOT NULL")
                    .compactMap { $0[0].stringValue }.filter { !$0.hasSuffix("_bk") && !$0.hasSuffix("_mq") })
            }
            #expect(try objects(office) == objects(try Database(path: dir + "/\(site)-reference.db", readOnly: true)))
            #expect(try office.scalar("SELECT count(*) FROM pragma_table_info('_cp_v_members') WHERE name IN ('bk', 'mq')")?.int64Value == 0)
            #expect(try Replica(path: sql, create: false).syncedTables.count == Self.tables.count)

            // Site ids SQLite and Swift might compare differently are decided by `contains` itself, row by row.
            let streamed = dir + "/\(site)-streamed.db"
            _ = try ReplicaSnapshot.write(from: store.databasePath, into: streamed, keepingEmpty: AccessRules.ownTables, keep: { db in
                guard let scope = try SiteScope.of(site: site, in: db) else { return [:] }
                return try SiteScope.streamedConditions(scope, in: db)
            })
            try ReplicaSnapshot.expand(at: streamed)
            let streamedSame = try dump(streamed) == expected
            #expect(streamedSame, "seed \(seed), site \(site): the streamed cut differs")
        }
    }

    /// Writes the county's capture log holds (another process wrote) are not copied unfolded: the writer refuses.
    @Test func aSnapshotIsNotWrittenOverUnfoldedWrites() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-snapshot-log-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ServerStore(dataDirectory: dir + "/data")
        _ = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil)
        let other = try Database(path: store.databasePath)
        try other.run("INSERT INTO members(id, name, site_id) VALUES ('m-1', '另一进程写入', 'county')")
        #expect(throws: ReplicaSnapshot.WriteError.self) { try ReplicaSnapshot.write(from: store.databasePath, into: dir + "/s.db") }
        // The service folds them and copies again.
        let manifest = try SnapshotService(store: store).make(site: nil)
        #expect(manifest.cursor > 0)
    }
}
