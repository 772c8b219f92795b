import CPSyncClient
import CPSyncCore
import CPSyncProtocol
import Foundation
import Testing
import TestSupport

/// A new office from a snapshot (Protocol/README.md §16), with the real `cpsyncd` and `cpsync`: the snapshot holds
/// exactly the office's scope, the office continues with ordinary pulls from its cursor without missing or repeating
/// anything written meanwhile, and a download killed midway resumes where it stopped.
@Suite(.serialized) struct SnapshotTests {
    /// A county whose daemon makes a fresh snapshot for every request (no reuse window), so one made while others
    /// write is really made then.
    func county(_ name: String, sites: [String]) throws -> County {
        let county = try County(name, sites: sites, start: false)
        try county.daemon.start(env: ["CPSYNCD_SNAPSHOT_REUSE_SECONDS": "0"])
        return county
    }

    /// `varied`: keys, phones and employers as varied as a real county's (random), so the snapshot's gzip bytes are
    /// not a few kilobytes of repeats; the download tests need a transfer that takes some ranges.
    func insertMembers(_ office: Office, prefix: String, count: Int, site: String, from start: Int = 0, varied: Bool = false) throws {
        let db = try Database(path: office.db)
        try db.transaction {
            for i in start..<(start + count) {
                let id = varied ? "\(prefix)-\(i)-\(UUID().uuidString.lowercased().prefix(12))" : "\(prefix)-\(i)"
                let phone = varied ? "13\(Int.random(in: 100_000_000...999_999_999))" : "13\(String(format: "%09d", i))"
                let employer = varied ? String((0..<10).map { _ in Character(Unicode.Scalar(UInt32.random(in: 0x4E00...0x9FA5))!) }) + "中学"
                    : "\(prefix)县第\(i % 7)中学"
                try db.run("""
                    INSERT INTO members(id, name, gender, sector, party, term, site_id, phone, employer, position)
                    VALUES (?, ?, ?, '教育界', '中国民主同盟', '第八届', ?, ?, ?, '副校长')
                    """, [.text(id), .text("\(prefix)委员\(i)"), .text(i % 2 == 0 ? "女" : "男"), .text(site),
                          .text(phone), .text(employer)])
            }
        }
    }

    /// The county committee's own office (a site of kind county): it may write every township's rows.
    func countyOffice(_ county: County) throws -> Office {
        let token = try county.daemon.addSite("xian", name: "县政协机关", kind: "county", parent: "county")
        return try Office.create("xian", in: county.ws, daemon: county.daemon, token: token)
    }

    func initFromSnapshot(_ db: String, _ county: County, site: String, server: String? = nil, extra: [String] = []) throws -> RunResult {
        try run(Binaries.cpsync, ["init", "--from-snapshot", "--db", db, "--server", server ?? county.daemon.url, "--site", site,
                                  "--token", county.tokens[site]!, "--json"] + extra, timeout: 240)
    }

    /// The daemon's `snapshot_bytes` log lines: (id, start, bytes) of every range it served.
    func servedRanges(_ county: County) -> [(id: String, start: Int, bytes: Int)] {
        county.daemon.log.get().split(separator: "\n").filter { $0.contains("\"event\":\"snapshot_bytes\"") }.compactMap { line in
            func field(_ name: String) -> Substring? {
                guard let r = line.range(of: "\"\(name)\":") else { return nil }
                return line[r.upperBound...].prefix { $0 != "," && $0 != "}" }
            }
            guard let id = field("id"), let start = field("start").flatMap({ Int($0) }), let bytes = field("bytes").flatMap({ Int($0) }) else { return nil }
            return (String(id.dropFirst().dropLast()), start, bytes)
        }
    }

    /// The snapshot files the daemon keeps (gzip files: the bytes it serves).
    func snapshotFiles(_ county: County) throws -> [String] {
        let dir = county.daemon.dataDir + "/snapshots"
        return try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".db.gz") }.map { dir + "/" + $0 }
    }

    /// A served snapshot file inflated to the SQLite file it carries, written beside the workspace's files for
    /// opening; nil (and a failed expectation) when it is not gzip of a SQLite file no larger than its manifest says.
    func inflated(_ file: String, _ county: County) throws -> (bytes: [UInt8], path: String)? {
        let packed = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        let manifestFile = String(file.dropLast(".db.gz".count)) + ".json"
        let manifest = try SnapshotManifest.decode([UInt8](try Data(contentsOf: URL(fileURLWithPath: manifestFile))))
        #expect(Gzip.isGzip(packed) && manifest.encoding == SnapshotManifest.compactGzipEncoding, "\(file) is not served as gzip of the compact form")
        #expect(Int64(packed.count) == manifest.size && SHA256.hex(packed) == manifest.sha256)
        guard let rawSize = manifest.rawSize, let raw = try? Gzip.decompress(packed, maxBytes: Int(rawSize)) else {
            Issue.record("\(file) does not inflate within its rawSize \(manifest.rawSize ?? -1)")
            return nil
        }
        #expect(Int64(raw.count) == rawSize && SHA256.hex(raw) == manifest.rawSha256)
        #expect(raw.starts(with: Array("SQLite format 3\0".utf8)))
        #expect(packed.count < raw.count, "the gzip file (\(packed.count) B) should be smaller than the SQLite file (\(raw.count) B)")
        let path = county.ws.path("inflated-\(manifest.id).db")
        try Data(raw).write(to: URL(fileURLWithPath: path))
        return (raw, path)
    }

    /// Snapshot while the county and other offices write, then more writes that move rows into and out of the new
    /// office's scope; after ordinary pulls the office holds byte for byte what an office built by plain pulls holds
    /// (and what the county holds in its scope). No other office's member is in the file served; the office's own
    /// writes are captured under its own site id.
    @Test func aNewOfficeFromASnapshotMatchesOneBuiltByPlainPulls() throws {
        let county = try county("snapshot-equal", sites: ["huashan", "chengguan", "taohe"])
        defer { county.cleanup() }
        let huashan = try county.office("huashan")
        let chengguan = try county.office("chengguan")
        let xian = try countyOffice(county)
        try insertMembers(huashan, prefix: "华山", count: 200, site: "huashan")
        try insertMembers(chengguan, prefix: "城关机密", count: 200, site: "chengguan")
        try insertMembers(xian, prefix: "桃河", count: 150, site: "taohe")
        // Proposals: filed ones are public within the county; a submitted one stays its office's.
        try xian.sql("INSERT INTO proposals(id, number, session, year, title, site_id, status) VALUES ('p-filed', '2026-001', '八届四次会议', 2026, '关于改善城关供水的提案', 'chengguan', 'filed')")
        try xian.sql("INSERT INTO proposals(id, number, session, year, title, site_id, status) VALUES ('p-later', '2026-002', '八届四次会议', 2026, '关于城关老旧小区改造的提案', 'chengguan', 'submitted')")
        try xian.sql("INSERT INTO proposals(id, number, session, year, title, site_id, status) VALUES ('p-secret', '2026-003', '八届四次会议', 2026, '城关内部未提交提案', 'chengguan', 'submitted')")
        for office in [huashan, chengguan, xian] { try office.must(["sync"]) }

        // Writers at the county and at another office while the snapshot is made and downloaded.
        let stop = Guard(false)
        let rounds = Guard(0)
        let writer = Thread {
            var i = 0
            while !stop.get() && i < 40 {
                try? insertMembers(chengguan, prefix: "城关新", count: 5, site: "chengguan", from: i * 5)
                try? insertMembers(xian, prefix: "桃河新", count: 5, site: "taohe", from: i * 5)
                try? xian.sql("UPDATE members SET position = '校长（第\(i)次）' WHERE id = '桃河-\(i)'")
                _ = try? chengguan.cpsync(["sync"])
                _ = try? xian.cpsync(["sync"])
                i += 1
                rounds.set(i)
            }
        }
        writer.start()
        while rounds.get() < 1 { usleep(20_000) }
        let made = try initFromSnapshot(county.ws.path("taohe.db"), county, site: "taohe")
        #expect(made.ok, "init --from-snapshot exited \(made.status): \(made.stderr)")
        while rounds.get() < 4 && rounds.get() < 40 { usleep(20_000) }
        stop.set(true)
        while !writer.isFinished { usleep(20_000) }

        // After the snapshot: a member moves into taohe, one out of it, a proposal is filed (enters the scope).
        try xian.sql("UPDATE members SET site_id = 'taohe' WHERE id = '城关机密-7'")
        try xian.sql("UPDATE members SET site_id = 'huashan' WHERE id = '桃河-3'")
        try xian.sql("UPDATE proposals SET status = 'filed' WHERE id = 'p-later'")
        try xian.must(["sync"])
        try chengguan.must(["sync"])

        let snapshotOffice = Office(site: "taohe", db: county.ws.path("taohe.db"))
        try snapshotOffice.must(["pull"])
        let plainSpace = TempDir("snapshot-plain")
        defer { plainSpace.cleanup() }
        let plain = try Office.create("taohe", in: plainSpace, daemon: county.daemon, token: county.tokens["taohe"]!)
        try plain.must(["pull"])

        let fromSnapshot = try contentDump(snapshotOffice.db)
        let fromPulls = try contentDump(plain.db)
        let atCounty = try contentDump(county.serverDB, scope: "taohe")
        #expect(fromSnapshot == fromPulls, "the snapshot office differs from a plain-pull office:\n\(firstDifference(fromSnapshot, fromPulls))")
        #expect(fromSnapshot == atCounty, "the snapshot office differs from the county's taohe scope:\n\(firstDifference(fromSnapshot, atCounty))")
        #expect(fromSnapshot.contains("城关机密委员7"), "the member moved into taohe after the snapshot is missing")
        #expect(!fromSnapshot.contains("桃河委员3|"), "the member moved out of taohe after the snapshot is still there")
        #expect(fromSnapshot.contains("关于城关老旧小区改造的提案"), "the proposal filed after the snapshot is missing")
        #expect(!fromSnapshot.contains("城关内部未提交提案"))

        // The files served hold no personal data outside the scope and none of the server's own tables.
        let files = try snapshotFiles(county)
        #expect(!files.isEmpty)
        let tokenHashes = county.tokens.values.map { Array(SHA256.hex($0).utf8) }
        for file in files {
            // The served bytes are gzip: the personal data is looked for in the SQLite file they inflate to.
            guard let (bytes, sqlite) = try inflated(file, county) else { continue }
            // Booleans first: a failed expectation would print the whole file. The office's own members are found
            // (the search sees the inflated text), another office's are not.
            #expect(snapshotBytes(bytes, contain: Array("桃河委员".utf8)), "\(file) inflated does not hold taohe's own members")
            let members = snapshotBytes(bytes, contain: Array("城关机密委员".utf8))
            let proposal = snapshotBytes(bytes, contain: Array("城关内部未提交提案".utf8))
            let serverTables = snapshotBytes(bytes, contain: Array("_srv_".utf8))
            let hashes = tokenHashes.filter { snapshotBytes(bytes, contain: $0) }.count
            #expect(!members, "\(file) holds another office's members")
            #expect(!proposal, "\(file) holds another office's unfiled proposal")
            #expect(!serverTables, "\(file) holds the server's own tables")
            #expect(hashes == 0, "\(file) holds \(hashes) token hashes")
            let db = try Database(path: sqlite, readOnly: true)
            #expect(try db.scalar("SELECT count(*) FROM _cp_conflicts")?.int64Value == 0)
        }

        // The office's own writes are its own: captured under taohe, and they reach the county as taohe's.
        #expect(try snapshotOffice.query("SELECT s.uuid FROM _cp_state st JOIN _cp_sites s ON s.id = st.site_id").first?.first == .text("taohe"))
        let added = try run(Binaries.cpsync, ["member", "add", "--db", snapshotOffice.db, "--name", "快照办公室新委员", "--site", "taohe", "--phone", "13700000000"])
        #expect(added.ok, "\(added.stderr)")
        try snapshotOffice.must(["push"])
        let writer2 = try Database(path: county.serverDB).query("""
            SELECT s.uuid FROM members m JOIN _cp_v_members v ON v.pk = m.id JOIN _cp_sites s ON s.id = v.rs WHERE m.name = '快照办公室新委员'
            """)
        #expect(writer2.first?.first == .text("taohe"), "the new office's write reached the county as \(writer2)")
        try plain.must(["pull"])
        #expect(try contentDump(plain.db).contains("快照办公室新委员"))
    }

    /// kill -9 in the middle of a throttled download, then the same command again: it resumes from the bytes the
    /// partial file holds (the daemon serves far fewer than two files' worth), checks out, and the office is the
    /// same as one built by plain pulls.
    @Test func aSnapshotDownloadKilledMidwayResumesWhereItStopped() throws {
        let county = try county("snapshot-kill", sites: ["huashan", "chengguan"])
        defer { county.cleanup() }
        let huashan = try county.office("huashan")
        try insertMembers(huashan, prefix: "华山", count: 6000, site: "huashan", varied: true)
        try huashan.must(["sync"])
        let proxy = try ThrottlingProxy(upstream: county.daemon.port, bytesPerSecond: 200 * 1024)
        defer { proxy.stop() }

        let db = county.ws.path("huashan-new.db")
        let part = db + ".snapshot-part"
        // Small ranges: the compact snapshot of 6,000 members is about half a megabyte gzipped.
        let chunk = 32_768
        let download = Process()
        download.executableURL = URL(fileURLWithPath: Binaries.cpsync)
        download.arguments = ["init", "--from-snapshot", "--db", db, "--server", proxy.url, "--site", "huashan", "--token", county.tokens["huashan"]!,
                              "--chunk-bytes", String(chunk)]
        download.standardOutput = FileHandle.nullDevice
        download.standardError = FileHandle.nullDevice
        try download.run()
        let size = { ((try? FileManager.default.attributesOfItem(atPath: part))?[.size] as? Int) ?? 0 }
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && download.isRunning && size() < 4 * chunk { usleep(5_000) }
        kill(download.processIdentifier, SIGKILL)
        download.waitUntilExit()
        let held = size()
        #expect(download.terminationReason == .uncaughtSignal, "the download finished before the kill (\(held) bytes held)")
        #expect(held >= 4 * chunk, "the kill should land after some ranges")
        #expect(!FileManager.default.fileExists(atPath: db), "nothing is installed before the download is whole")
        let servedBeforeKill = servedRanges(county).reduce(0) { $0 + $1.bytes }

        let again = try initFromSnapshot(db, county, site: "huashan", server: proxy.url, extra: ["--chunk-bytes", String(chunk)])
        #expect(again.ok, "the re-run exited \(again.status): \(again.stderr)")
        let outcome = again.stdout
        let resumedFrom = JSONText.int(outcome, "resumed_from") ?? -1
        let total = JSONText.int(outcome, "size") ?? -1
        // The gzip bytes take enough ranges for the kill to land midway, and are fewer than the SQLite file's.
        #expect(total >= 8 * chunk && total < JSONText.int(outcome, "raw_size") ?? 0, "\(outcome)")
        #expect(resumedFrom >= held && resumedFrom > 0, "the re-run started at byte \(resumedFrom), the partial file held \(held): \(outcome)")
        let ranges = servedRanges(county)
        let served = ranges.reduce(0) { $0 + $1.bytes }
        #expect(Set(ranges.map(\.id)).count == 1, "both runs must download the same snapshot: \(Set(ranges.map(\.id)))")
        #expect(served < total + 2 * chunk, "the daemon served \(served) bytes for a \(total)-byte snapshot: the re-run started again from 0")
        #expect(ranges.contains { $0.start == resumedFrom }, "no range was served from byte \(resumedFrom)")
        #expect(served - servedBeforeKill <= total - resumedFrom + chunk, "the re-run downloaded more than what was missing")
        #expect(!FileManager.default.fileExists(atPath: part), "the partial file is removed once installed")

        let plainSpace = TempDir("snapshot-kill-plain")
        defer { plainSpace.cleanup() }
        let plain = try Office.create("huashan", in: plainSpace, daemon: county.daemon, token: county.tokens["huashan"]!)
        try plain.must(["pull"])
        let fromSnapshot = try contentDump(db)
        let fromPulls = try contentDump(plain.db)
        #expect(fromSnapshot == fromPulls, "\(firstDifference(fromSnapshot, fromPulls))")
        #expect(fromSnapshot == (try contentDump(county.serverDB, scope: "huashan")))
        #expect(try Database(path: db).integrityProblems().isEmpty)
    }

    /// A partial download damaged on disk (one byte flipped after a kill) fails the SHA-256 check of the served (gzip)
    /// bytes at the end: the office downloads the snapshot again from byte 0 and installs nothing damaged.
    @Test func aDamagedPartialDownloadIsFetchedAgainAndNeverInstalled() throws {
        let county = try county("snapshot-damaged", sites: ["huashan"])
        defer { county.cleanup() }
        let huashan = try county.office("huashan")
        try insertMembers(huashan, prefix: "华山", count: 4000, site: "huashan", varied: true)
        try huashan.must(["sync"])
        let proxy = try ThrottlingProxy(upstream: county.daemon.port, bytesPerSecond: 200 * 1024)
        defer { proxy.stop() }
        let db = county.ws.path("huashan-new.db")
        let part = db + ".snapshot-part"
        let download = Process()
        download.executableURL = URL(fileURLWithPath: Binaries.cpsync)
        download.arguments = ["init", "--from-snapshot", "--db", db, "--server", proxy.url, "--site", "huashan", "--token", county.tokens["huashan"]!,
                              "--chunk-bytes", "65536"]
        download.standardOutput = FileHandle.nullDevice
        download.standardError = FileHandle.nullDevice
        try download.run()
        let size = { ((try? FileManager.default.attributesOfItem(atPath: part))?[.size] as? Int) ?? 0 }
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && download.isRunning && size() < 2 * 65_536 { usleep(5_000) }
        kill(download.processIdentifier, SIGKILL)
        download.waitUntilExit()
        #expect(size() >= 2 * 65_536)
        // Flip a byte in the middle of what was downloaded (the gzip bytes: inflating it would fail or give other bytes).
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: part))
        try handle.seek(toOffset: 70_000)
        let byte = try handle.read(upToCount: 1) ?? Data([0])
        try handle.seek(toOffset: 70_000)
        try handle.write(contentsOf: Data([byte[0] ^ 0xff]))
        try handle.close()

        let again = try initFromSnapshot(db, county, site: "huashan")
        #expect(again.ok, "exit \(again.status): \(again.stderr)")
        #expect(JSONText.int(again.stdout, "resumed_from") == 0, "the damaged part must be fetched again from byte 0: \(again.stdout)")
        #expect(try Database(path: db).integrityProblems().isEmpty)
        #expect(try contentDump(db) == (try contentDump(county.serverDB, scope: "huashan")))
    }

    /// The endpoints' edges: a site cannot download another's snapshot, ranges are checked, an admin gets the whole
    /// county, and a snapshot never replaces an office that holds data.
    @Test func snapshotsAreTheSitesOwnAndNeverReplaceAnOfficeWithData() throws {
        let county = try county("snapshot-edges", sites: ["huashan", "chengguan"])
        defer { county.cleanup() }
        let chengguan = try county.office("chengguan")
        try insertMembers(chengguan, prefix: "城关", count: 20, site: "chengguan")
        try chengguan.must(["sync"])

        let asChengguan = HTTPTransport(baseURL: county.daemon.url, token: county.tokens["chengguan"]!)
        let theirs = try asChengguan.call("GET", "/v1/snapshot", as: SnapshotManifest.self)
        #expect(theirs.site == "chengguan" && theirs.size > 0 && theirs.sha256.count == 64)
        let asHuashan = HTTPTransport(baseURL: county.daemon.url, token: county.tokens["huashan"]!)
        #expect(try asHuashan.send("GET", "/v1/snapshot/\(theirs.id)", headers: [("Range", "bytes=0-99")]).status == 403)
        #expect(try asHuashan.send("GET", "/v1/snapshot?site=chengguan").status == 403)
        #expect(try HTTPTransport(baseURL: county.daemon.url, token: nil).send("GET", "/v1/snapshot").status == 401)
        #expect(try asChengguan.send("GET", "/v1/snapshot/\(theirs.id)", headers: [("Range", "bytes=\(theirs.size)-")]).status == 416)
        #expect(try asChengguan.send("GET", "/v1/snapshot/no-such-snapshot", headers: [("Range", "bytes=0-9")]).status == 404)
        // The served bytes are the SQLite file gzipped, smaller than it; they inflate to the file the manifest names.
        let head = try asChengguan.send("GET", "/v1/snapshot/\(theirs.id)", headers: [("Range", "bytes=0-15")])
        #expect(head.status == 206 && head.body.count == 16 && Gzip.isGzip(head.body), "\(head.body)")
        #expect(head.headers.first { $0.0.lowercased() == "content-type" }?.1 == "application/gzip")
        #expect(theirs.encoding == SnapshotManifest.compactGzipEncoding && theirs.rawSha256?.count == 64)
        #expect(theirs.size < theirs.rawSize ?? 0, "served \(theirs.size) bytes for a \(theirs.rawSize ?? 0)-byte SQLite file")
        // The whole file in two ranges is the file the manifest names.
        let half = theirs.size / 2
        let a = try asChengguan.send("GET", "/v1/snapshot/\(theirs.id)", headers: [("Range", "bytes=0-\(half - 1)")]).body
        let b = try asChengguan.send("GET", "/v1/snapshot/\(theirs.id)", headers: [("Range", "bytes=\(half)-")]).body
        #expect(SHA256.hex(a + b) == theirs.sha256)
        let sqlite = try Gzip.decompress(a + b, maxBytes: Int(theirs.rawSize ?? 0))
        #expect(sqlite.starts(with: Array("SQLite format 3\0".utf8)) && SHA256.hex(sqlite) == theirs.rawSha256)
        // Inflating is bounded by rawSize: one byte less is refused.
        #expect(throws: GzipError.tooLarge(limit: sqlite.count - 1)) { try Gzip.decompress(a + b, maxBytes: sqlite.count - 1) }

        let admin = HTTPTransport(baseURL: county.daemon.url, token: try county.daemon.addAdmin("县管理员"))
        let whole = try admin.call("GET", "/v1/snapshot", as: SnapshotManifest.self)
        #expect(whole.site == nil)
        let file = county.ws.path("whole.db")
        var bytes: [UInt8] = []
        while bytes.count < whole.size {
            bytes += try admin.send("GET", "/v1/snapshot/\(whole.id)", headers: [("Range", "bytes=\(bytes.count)-")]).body
        }
        #expect(whole.encoding == SnapshotManifest.compactGzipEncoding && Gzip.isGzip(bytes) && bytes.count < whole.rawSize ?? 0)
        try Data(try Gzip.decompress(bytes, maxBytes: Int(whole.rawSize ?? 0))).write(to: URL(fileURLWithPath: file))
        #expect(try Database(path: file, readOnly: true).scalar("SELECT count(*) FROM members WHERE site_id = 'chengguan'")?.int64Value == 20)

        // An office with data is never replaced, and says so (exit 65).
        let before = try contentDump(chengguan.db)
        let refused = try initFromSnapshot(chengguan.db, county, site: "chengguan")
        #expect(refused.status == 65, "exit \(refused.status): \(refused.stderr)")
        #expect(refused.stderr.contains("already holds data"))
        #expect(try contentDump(chengguan.db) == before)
        let zh = try run(Binaries.cpsync, ["init", "--from-snapshot", "--db", chengguan.db, "--server", county.daemon.url, "--site", "chengguan",
                                           "--token", county.tokens["chengguan"]!], env: ["LANG": "zh_CN.UTF-8"])
        #expect(zh.status == 65 && zh.stderr.contains("已有数据"), "\(zh.stderr)")

        // An office made by a plain `cpsync init` that never pulled is still empty: the snapshot takes its place.
        let fresh = try county.office("huashan")
        let installed = try initFromSnapshot(fresh.db, county, site: "huashan")
        #expect(installed.ok, "exit \(installed.status): \(installed.stderr)")
        #expect(try contentDump(fresh.db) == (try contentDump(county.serverDB, scope: "huashan")))
        #expect(try fresh.query("SELECT value FROM _cp_meta WHERE key = 'office.token'").first?.first == .text(county.tokens["huashan"]!))
    }
}

private func snapshotBytes(_ haystack: [UInt8], contain needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    let first = needle[0]
    var i = 0
    let last = haystack.count - needle.count
    while i <= last {
        if haystack[i] == first && Array(haystack[i..<(i + needle.count)]) == needle { return true }
        i += 1
    }
    return false
}

private func firstDifference(_ a: String, _ b: String) -> String {
    let x = a.split(separator: "\n"), y = b.split(separator: "\n")
    for (i, (p, q)) in zip(x, y).enumerated() where p != q { return "line \(i): \(p)\n   vs: \(q)" }
    return "lengths \(x.count) vs \(y.count) lines"
}
