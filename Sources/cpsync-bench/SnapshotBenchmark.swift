import CPPCC
import CPSyncCLI
import CPSyncClient
import CPSyncCore
import CPSyncProtocol
import CPSyncServer
import Foundation

/// `cpsync-bench snapshot`: a new office set up from the county's snapshot (`cpsync init --from-snapshot`) against the
/// same office set up by plain pulls, through a real `cpsyncd` on loopback, for a new township and for a full county
/// copy (the county committee's own office), in the scope benchmark's county (`ScopeBenchmark.seed`). Time is wall
/// time at the office, from nothing to a replica that holds its scope; bytes are what crossed the wire (the pull's
/// JSON pages; the snapshot's gzipped SQLite file, `_snapshot_gzip_mb`, plus the pull that follows it), and
/// `_snapshot_raw_mb` is the SQLite file the office inflates it to. The snapshot's time is split into the county making it (once per site and cursor; a second office of that site reuses it) and the office downloading,
/// checking and installing it.
enum SnapshotBenchmark {
    struct Figures {
        var seconds = 0.0
        var bytes = 0
        /// A plain pull's pages in the compact form, gzipped (what a current office receives); 0 for a snapshot.
        var wireBytes = 0
        /// A snapshot's SQLite file, inflated (its `bytes` are the gzip bytes that crossed the wire); 0 for a pull.
        var rawBytes = 0
        var members: Int64 = 0
        var makeSeconds = 0.0
        var dump = ""
    }

    static func run(_ argv: [String]) throws {
        var args = try Arguments(argv, flags: ["json"])
        let members = try args.int("members") ?? 30_000
        let proposals = try args.int("proposals") ?? 3_000
        let townships = max(1, try args.int("townships") ?? 30)
        let json = args.flag("json")
        try args.checkAllConsumed()
        let workspace = try BenchWorkspace("snapshot")
        // CPSYNC_BENCH_KEEP=1 keeps the county and the offices for a look afterwards.
        let keep = ProcessInfo.processInfo.environment["CPSYNC_BENCH_KEEP"] == "1"
        defer { if keep { Console.out("kept: \(workspace.dir.path)") } else { workspace.remove() } }
        let dir = workspace.dir, daemonPath = workspace.daemonPath
        let data = workspace.data
        let (countyToken, tokens) = try ScopeBenchmark.seed(ServerStore(dataDirectory: data), members: members, proposals: proposals,
                                                            townships: townships)
        let daemon = try DaemonProcess(path: daemonPath, data: data)
        defer { daemon.stop() }

        func plain(_ site: String, _ token: String) throws -> Figures {
            let path = dir.appendingPathComponent("\(site)-plain.db").path
            let replica = try OfficeConfig.initialise(path: path, config: OfficeConfig(server: daemon.url, site: site, token: token))
            let client = try SyncClient(replica: replica)
            var f = Figures()
            f.seconds = try BenchData.time { _ = try client.pull() }
            let bytes = try PullBytes.measure(url: daemon.url, token: token)
            f.bytes = bytes.json
            f.wireBytes = bytes.compactGzip
            f.members = try replica.database.scalar("SELECT count(*) FROM members")?.int64Value ?? 0
            f.dump = try dump(path)
            return f
        }

        func snapshot(_ site: String, _ token: String) throws -> Figures {
            let path = dir.appendingPathComponent("\(site)-snapshot.db").path
            var f = Figures()
            // The county makes it (the first ask); the office then finds it made, as the second office of a site would.
            let transport = HTTPTransport(baseURL: daemon.url, token: token, deadlineSeconds: 600)
            f.makeSeconds = try BenchData.time { _ = try transport.call("GET", "/v1/snapshot", as: SnapshotManifest.self) }
            var download = SnapshotDownload(path: path, config: OfficeConfig(server: daemon.url, site: site, token: token))
            download.chunkBytes = SnapshotService.maxRangeBytes
            var outcome: SnapshotDownload.Outcome?
            f.seconds = try BenchData.time { outcome = try download.run() }
            guard let outcome else { throw BenchError("no snapshot outcome") }
            // The file; the pull that followed it received nothing (nothing was written since), checked below.
            f.bytes = Int(outcome.downloaded)
            f.rawBytes = Int(outcome.manifest.rawSize ?? outcome.manifest.size)
            guard outcome.pull.received == 0 else { throw BenchError("the pull after the snapshot received \(outcome.pull.received) changes") }
            let replica = try Replica(path: path, create: false)
            f.members = try replica.database.scalar("SELECT count(*) FROM members")?.int64Value ?? 0
            f.dump = try dump(path)
            return f
        }

        // The daemon's peak RSS after each phase (VmHWM only grows): which phase set the peak.
        var phaseRSS: [(String, Double)] = []
        func phase<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
            let result = try body()
            phaseRSS.append(("daemon_peak_rss_after_\(name)_mb", Double(daemon.peakRSSBytes()) / 1_048_576))
            return result
        }
        phase("start") { () }
        let townshipPlain = try phase("township_pull") { try plain("t00", tokens[0]) }
        let townshipSnapshot = try phase("township_snapshot") { try snapshot("t00", tokens[0]) }
        let countyPlain = try phase("county_pull") { try plain("county", countyToken) }
        let countySnapshot = try phase("county_snapshot") { try snapshot("county", countyToken) }
        let domainGzip = try domainTablesGzipBytes(dir.appendingPathComponent("county-snapshot.db").path,
                                                   scratch: dir.appendingPathComponent("domain-only.db").path)
        guard townshipPlain.dump == townshipSnapshot.dump, countyPlain.dump == countySnapshot.dump else {
            throw BenchError("a snapshot office differs from the plain-pull office of its site")
        }
        guard townshipSnapshot.members == Int64((members + townships - 1) / townships), countySnapshot.members == Int64(members) else {
            throw BenchError("wrong scope: the township holds \(townshipSnapshot.members) members, the county office \(countySnapshot.members)")
        }
        let mb = 1_048_576.0
        let figures: [(String, Double)] = [
            ("members", Double(members)), ("proposals", Double(proposals)), ("townships", Double(townships)),
            ("township_pull_s", townshipPlain.seconds), ("township_pull_mb", Double(townshipPlain.bytes) / mb),
            ("township_pull_compact_gzip_mb", Double(townshipPlain.wireBytes) / mb),
            ("township_snapshot_make_s", townshipSnapshot.makeSeconds), ("township_snapshot_install_s", townshipSnapshot.seconds),
            ("township_snapshot_gzip_mb", Double(townshipSnapshot.bytes) / mb),
            ("township_snapshot_raw_mb", Double(townshipSnapshot.rawBytes) / mb),
            ("township_time_ratio", (townshipSnapshot.makeSeconds + townshipSnapshot.seconds) / max(0.001, townshipPlain.seconds)),
            ("county_pull_s", countyPlain.seconds), ("county_pull_mb", Double(countyPlain.bytes) / mb),
            ("county_pull_compact_gzip_mb", Double(countyPlain.wireBytes) / mb),
            ("county_snapshot_make_s", countySnapshot.makeSeconds), ("county_snapshot_install_s", countySnapshot.seconds),
            ("county_snapshot_gzip_mb", Double(countySnapshot.bytes) / mb),
            ("county_snapshot_raw_mb", Double(countySnapshot.rawBytes) / mb),
            ("county_time_ratio", (countySnapshot.makeSeconds + countySnapshot.seconds) / max(0.001, countyPlain.seconds)),
            ("domain_tables_gzip_mb", Double(domainGzip) / mb),
            ("county_snapshot_vs_domain_gzip", Double(countySnapshot.bytes) / Double(max(1, domainGzip))),
        ] + phaseRSS + [
            ("daemon_peak_rss_mb", Double(daemon.peakRSSBytes()) / mb),
        ]
        if json {
            Console.out("{" + figures.map { "\"\($0.0)\":\(CoreBenchmark.format($0.1))" }.joined(separator: ",") + "}")
        } else {
            for (k, v) in figures { Console.out(k.padding(toLength: 44, withPad: " ", startingAt: 0) + CoreBenchmark.format(v)) }
        }
    }

    /// The domain tables of the county office alone — a SQLite file holding only them, as the schema makes them
    /// (their indexes too), with no sync metadata — gzipped at level 6: what a snapshot's bytes are measured against.
    static func domainTablesGzipBytes(_ office: String, scratch: String) throws -> Int {
        let domain = ["sites", "members", "proposals", "proposal_cosigners", "proposal_handlers", "social_reports", "activities", "activity_participants"]
        do {
            let db = try Database(path: office, readOnly: true)
            let schema = try db.query("SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE sql IS NOT NULL AND type IN ('table', 'index')")
            let copy = try Database(path: scratch)
            try copy.execute("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA foreign_keys=OFF")
            try copy.run("ATTACH DATABASE ? AS office", [.text(office)])
            for row in schema where row[0].stringValue == "table" && domain.contains(row[1].stringValue ?? "") {
                try copy.execute(row[3].stringValue ?? "")
                try copy.execute("INSERT INTO main.\"\(row[1].stringValue ?? "")\" SELECT * FROM office.\"\(row[1].stringValue ?? "")\"")
            }
            for row in schema where row[0].stringValue == "index" && domain.contains(row[2].stringValue ?? "") {
                try copy.execute(row[3].stringValue ?? "")
            }
            try copy.execute("DETACH DATABASE office")
        }
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: scratch)))
        return Gzip.compress(bytes, level: 6).count
    }

    /// The domain tables of a replica file, rows ordered by key (sync metadata excluded), for comparing two offices.
    static func dump(_ path: String) throws -> String {
        let db = try Database(path: path)
        var out = ""
        for t in ["sites", "members", "proposals", "proposal_cosigners", "proposal_handlers", "social_reports", "activities", "activity_participants"] {
            for row in try db.query("SELECT * FROM \"\(t)\" ORDER BY id") {
                out += t + "|" + row.map { "\($0.typeName):\($0)" }.joined(separator: "|") + "\n"
            }
        }
        return out
    }
}
