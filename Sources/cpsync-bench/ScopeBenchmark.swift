import CPPCC
import CPSyncCLI
import CPSyncClient
import CPSyncCore
import CPSyncProtocol
import CPSyncServer
import Foundation

/// `cpsync-bench scope`: the initial pull of a new township office in a county of `--members` members and
/// `--proposals` proposals spread over `--townships` townships (a third of the proposals filed), through a real
/// `cpsyncd` on loopback — against the county committee's own office pulling everything in the same run. Partial
/// replication means the township transfers only its scope: its members, its proposals and the filed ones. Then
/// `--edits` members edited county-wide by the county office, and the township's incremental pull: the rows the
/// daemon read for it per row it sent (through the scope index about 1; reading every county change, the townships).
enum ScopeBenchmark {
    static func run(_ argv: [String]) throws {
        var args = try Arguments(argv, flags: ["json"])
        let members = try args.int("members") ?? 30_000
        let proposals = try args.int("proposals") ?? 3_000
        let townships = max(1, try args.int("townships") ?? 30)
        let edits = max(1, try args.int("edits") ?? members / 10)
        let json = args.flag("json")
        try args.checkAllConsumed()
        let workspace = try BenchWorkspace("scope")
        defer { workspace.remove() }
        let dir = workspace.dir, daemonPath = workspace.daemonPath
        let data = workspace.data

        // The county's data, written straight into its replica (captured and folded as the daemon would).
        let (countyToken, tokens) = try seed(ServerStore(dataDirectory: data), members: members, proposals: proposals, townships: townships)
        let daemon = try DaemonProcess(path: daemonPath, data: data)
        defer { daemon.stop() }

        func pull(_ site: String, _ token: String) throws -> (seconds: Double, bytes: PullBytes.Figures, changes: Int, members: Int64, client: SyncClient) {
            let replica = try OfficeConfig.initialise(path: dir.appendingPathComponent("\(site).db").path,
                                                      config: OfficeConfig(server: daemon.url, site: site, token: token))
            let client = try SyncClient(replica: replica)
            var changes = 0
            let seconds = try BenchData.time { changes = try client.pull().received }
            let bytes = try PullBytes.measure(url: daemon.url, token: token)
            return (seconds, bytes, changes, try replica.database.scalar("SELECT count(*) FROM members")?.int64Value ?? 0, client)
        }
        let township = try pull("t00", tokens[0])
        let county = try pull("county", countyToken)
        guard township.members == Int64((members + townships - 1) / townships), county.members == Int64(members) else {
            throw BenchError("wrong scope: the township holds \(township.members) members, the county office \(county.members)")
        }

        // County-wide edits: the county office corrects the phone of `edits` members spread over every township and
        // pushes; then the township's incremental pull, and the rows the daemon read for it against those it sent.
        try county.client.replica.database.run(
            "UPDATE members SET phone = '13800000000' WHERE rowid IN (SELECT rowid FROM members ORDER BY id LIMIT ?)", [.integer(Int64(edits))])
        _ = try county.client.push()
        let before = try rowCounters(daemon.url)
        var incremental = 0
        let incrementalSeconds = try BenchData.time { incremental = try township.client.pull().received }
        let after = try rowCounters(daemon.url)
        let read = after.read - before.read, sent = after.sent - before.sent
        let edited = try township.client.replica.database.scalar("SELECT count(*) FROM members WHERE phone = '13800000000'")?.int64Value ?? 0
        let figures: [(String, Double)] = [
            ("members", Double(members)), ("proposals", Double(proposals)), ("townships", Double(townships)),
            ("township_pull_s", township.seconds), ("township_pull_mb", Double(township.bytes.json) / 1_048_576),
            ("township_pull_compact_gzip_mb", Double(township.bytes.compactGzip) / 1_048_576),
            ("township_changes", Double(township.changes)), ("township_members", Double(township.members)),
            ("county_pull_s", county.seconds), ("county_pull_mb", Double(county.bytes.json) / 1_048_576),
            ("county_pull_compact_gzip_mb", Double(county.bytes.compactGzip) / 1_048_576), ("county_changes", Double(county.changes)),
            ("scope_bytes_ratio", Double(township.bytes.json) / Double(max(1, county.bytes.json))),
            ("county_edits", Double(edits)), ("township_edited_members", Double(edited)),
            ("township_incremental_pull_s", incrementalSeconds), ("township_incremental_changes", Double(incremental)),
            ("township_rows_read", read), ("township_rows_sent", sent),
            ("township_rows_read_per_sent", read / max(1, sent)),
            ("daemon_peak_rss_mb", Double(daemon.peakRSSBytes()) / 1_048_576),
        ]
        if json {
            Console.out("{" + figures.map { "\"\($0.0)\":\(CoreBenchmark.format($0.1))" }.joined(separator: ",") + "}")
        } else {
            for (k, v) in figures { Console.out(k.padding(toLength: 32, withPad: " ", startingAt: 0) + CoreBenchmark.format(v)) }
            Console.out("goals: township_rows_read_per_sent <= 2")
        }
    }

    /// The daemon's counts of rows its pulls read and sent (`/metrics`).
    static func rowCounters(_ url: String) throws -> (read: Double, sent: Double) {
        let text = String(decoding: try HTTPTransport(baseURL: url, token: nil).send("GET", "/metrics").body, as: UTF8.self)
        func value(_ name: String) -> Double {
            text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        }
        return (value("cpsync_pull_rows_read_total"), value("cpsync_pull_rows_sent_total"))
    }

    /// The county of the scope benchmark (also the snapshot benchmark's): `members` members and `proposals` proposals
    /// (a third filed) over `townships` townships t00, t01, …, written straight into the county replica. Returns the
    /// county office's token and the townships' tokens.
    static func seed(_ store: ServerStore, members: Int, proposals: Int, townships: Int) throws -> (county: String, townships: [String]) {
        let countyToken = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil)
        var tokens: [String] = []
        for t in 0..<townships {
            tokens.append(try store.addSite(id: String(format: "t%02d", t), name: "第\(t)镇政协工委", kind: "township", parent: "county"))
        }
        try store.write { r in
            try r.database.transaction {
                // Values as varied as a real roll (random keys, names, phones; proposal texts from many sentences), so
                // that the wire figures, compressed or not, are not flattered by repetition. Seeded: runs compare.
                var rng = SeededRandom(seed: 20_261_130)
                let member = try r.database.statement(
                    "INSERT INTO members(id, name, gender, sector, party, term, site_id, phone, employer, position) VALUES (?, ?, ?, ?, ?, '第八届', ?, ?, ?, ?)")
                for i in 0..<members {
                    try member.execute([.text(rng.uuid()), .text(rng.pick(Realistic.surnames) + rng.pick(Realistic.given) + (rng.next() % 2 == 0 ? rng.pick(Realistic.given) : "")),
                                        .text(i % 2 == 0 ? "男" : "女"), .text(rng.pick(Realistic.sectors)), .text(rng.pick(Realistic.parties)),
                                        .text(String(format: "t%02d", i % townships)), .text("1\(rng.next() % 9 + 3)\(String(format: "%09d", rng.next() % 1_000_000_000))"),
                                        .text(rng.pick(Realistic.places) + rng.pick(Realistic.employers)), .text(rng.pick(Realistic.positions))])
                }
                let proposal = try r.database.statement(
                    "INSERT INTO proposals(id, number, session, year, title, body, site_id, status) VALUES (?, ?, '八届四次会议', 2026, ?, ?, ?, ?)")
                for i in 0..<proposals {
                    let body = (0..<(8 + Int(rng.next() % 17))).map { _ in rng.pick(Realistic.sentences) }.joined()
                    try proposal.execute([.text(rng.uuid()), .text(String(format: "2026-%04d", i)),
                                          .text("关于" + rng.pick(Realistic.places) + rng.pick(Realistic.topics) + "的提案"), .text(body),
                                          .text(String(format: "t%02d", i % townships)), .text(i % 3 == 0 ? "filed" : "submitted")])
                }
            }
            try r.foldLog()
        }
        return (countyToken, tokens)
    }
}
