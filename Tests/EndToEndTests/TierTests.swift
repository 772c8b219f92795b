import CPSyncClient
import CPPCC
import CPSyncCore
import CPSyncProtocol
import Foundation
import Testing
import TestSupport

/// County → city (Protocol/README.md §18) with the real binaries: a city daemon, county daemons below it (each with
/// offices syncing through `cpsync`), and `cpsyncd uplink` carrying each county's data up and the city's changes
/// down. The city holds every county's records, without members' personal data, each attributed to its county; a
/// county that was offline catches up; a conflict between two offices of one county is reviewed at that county only;
/// a site id another county owns is refused with a clear error and nothing is lost.
@Suite(.serialized) struct TierTests {
    static let cityCode = "3301"

    /// `cpsyncd site add`, creating the data directory with `serverID` when given; returns the token.
    static func siteAdd(_ data: String, serverID: String? = nil, id: String, name: String, kind: String, parent: String?) throws -> String {
        var args = ["site", "add", "--data", data, "--id", id, "--name", name, "--kind", kind]
        if let parent { args += ["--parent", parent] }
        if let serverID { args += ["--server-id", serverID] }
        let r = try run(Binaries.cpsyncd, args)
        guard r.ok else { throw HarnessError.failed("site add \(id) at \(data): \(r.stderr)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `cpsyncd tier add`: a county below `data`'s daemon; returns its token there.
    static func tierAdd(_ data: String, id: String, name: String, parent: String) throws -> String {
        let r = try run(Binaries.cpsyncd, ["tier", "add", "--data", data, "--id", id, "--name", name, "--parent", parent])
        guard r.ok else { throw HarnessError.failed("tier add \(id) at \(data): \(r.stderr)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A county daemon (root site `code`, townships `offices`), registered at the city as a county under it.
    final class TierCounty {
        let code: String
        let daemon: Daemon
        var tokens: [String: String] = [:]
        let cityToken: String
        var db: String { daemon.dataDir + "/county.db" }

        init(_ code: String, name: String, offices: [(String, String)], serverID: String?, ws: TempDir, city: Daemon) throws {
            self.code = code
            daemon = Daemon(dataDir: ws.path("county-\(code)"))
            tokens[code] = try TierTests.siteAdd(daemon.dataDir, serverID: serverID, id: code, name: name, kind: "county", parent: nil)
            for (id, n) in offices { tokens[id] = try TierTests.siteAdd(daemon.dataDir, id: id, name: n, kind: "township", parent: code) }
            cityToken = try TierTests.tierAdd(city.dataDir, id: code, name: name, parent: TierTests.cityCode)
        }

        func office(_ site: String, ws: TempDir) throws -> Office { try Office.create(site, in: ws, daemon: daemon, token: tokens[site]!) }

        @discardableResult
        func uplink(to city: Daemon, env: [String: String] = [:]) throws -> RunResult {
            try run(Binaries.cpsyncd, ["uplink", "--data", daemon.dataDir, "--server", city.url, "--token", cityToken], env: env)
        }
    }

    static func makeCity(_ ws: TempDir) throws -> (Daemon, String) {
        let city = Daemon(dataDir: ws.path("city"))
        let token = try siteAdd(city.dataDir, serverID: "\(cityCode)-cpsyncd", id: cityCode, name: "杭州市政协", kind: "county", parent: nil)
        return (city, token)
    }

    /// The county a site belongs to in a site tree (the site below the city root on its path), if any.
    static func county(of site: String, in db: Database) throws -> String? {
        var current = site
        for _ in 0..<32 {
            guard let parent = try db.query("SELECT parent_id FROM sites WHERE id = ?", [.text(current)]).first?[0].stringValue else { return nil }
            if parent == cityCode { return current }
            current = parent
        }
        return nil
    }

    /// The records of a county's subtree in a database (county's or city's), rows by key, members' phone shown as
    /// '' (the city never has it): what the city must hold of that county.
    static func subtreeDump(_ path: String, county: String) throws -> String {
        let db = try Database(path: path)
        var subtree: Set<String> = [county]
        var grew = true
        while grew {
            grew = false
            for row in try db.query("SELECT id, parent_id FROM sites") {
                if let id = row[0].stringValue, let p = row[1].stringValue, subtree.contains(p), subtree.insert(id).inserted { grew = true }
            }
        }
        var out = ""
        for row in try db.query("SELECT id, name, kind, parent_id FROM sites ORDER BY id") where row[0].stringValue != county {
            guard let id = row[0].stringValue, subtree.contains(id) else { continue }
            out += "sites|" + row.map { "\($0)" }.joined(separator: "|") + "\n"
        }
        for t in ["members", "proposals", "activities", "social_reports"] {
            let columns = try db.columns(of: t).map(\.name)
            for row in try db.query("SELECT * FROM \(t) ORDER BY id") {
                let values = Dictionary(uniqueKeysWithValues: zip(columns, row))
                guard let site = values["site_id"]?.stringValue, subtree.contains(site) else { continue }
                out += t + "|" + zip(columns, row).map { $0 == "phone" ? "''" : "\($1)" }.joined(separator: "|") + "\n"
            }
        }
        return out
    }

    static func rawBytes(_ path: String) -> String {
        ["", "-wal"].compactMap { try? Data(contentsOf: URL(fileURLWithPath: path + $0)) }
            .map { String(decoding: $0, as: UTF8.self) }.joined()
    }

    @Test func countiesSyncUpToTheCityWithoutPersonalDataAndAnOfflineCountyCatchesUp() throws {
        let ws = TempDir("tier")
        defer { ws.cleanup() }
        let (city, cityToken) = try Self.makeCity(ws)
        let a = try TierCounty("330102", name: "上城区政协", offices: [("330102-qingbo", "清波街道政协工委"), ("330102-hubin", "湖滨街道政协工委")],
                               serverID: "330102-cpsyncd", ws: ws, city: city)
        let b = try TierCounty("330106", name: "西湖区政协", offices: [("330106-lingyin", "灵隐街道政协工委"), ("330106-xixi", "西溪街道政协工委")],
                               serverID: "330106-cpsyncd", ws: ws, city: city)
        defer { city.stop(); a.daemon.stop(); b.daemon.stop() }
        try city.start()
        try a.daemon.start()
        try b.daemon.start()
        let cityOffice = try Office.create(Self.cityCode, in: ws, daemon: city, token: cityToken)
        var offices: [String: Office] = [:]
        for (c, sites) in [(a, ["330102-qingbo", "330102-hubin"]), (b, ["330106-lingyin", "330106-xixi"])] {
            for s in sites { offices[s] = try c.office(s, ws: ws) }
        }
        let countyOf = ["330102-qingbo": a, "330102-hubin": a, "330106-lingyin": b, "330106-xixi": b]
        for (n, site) in offices.keys.sorted().enumerated() {
            let o = offices[site]!
            try o.must(["sync"])
            try o.sql("INSERT INTO members(id, name, gender, sector, phone, employer, site_id) VALUES (?, ?, '女', '教育界', ?, '区第一中学', ?)",
                      [.text("m-\(site)"), .text("委员·\(site)"), .text("1390571000\(n)"), .text(site)])
            try o.sql("INSERT INTO proposals(id, title, body, session, site_id, status) VALUES (?, ?, '建议加强农村饮水安全保障', '八届四次会议', ?, 'submitted')",
                      [.text("p-\(site)"), .text("关于改善\(site)老旧小区的建议"), .text(site)])
            try o.sql("INSERT INTO activities(id, kind, topic, site_id) VALUES (?, 'inspection', '视察西湖水质', ?)", [.text("a-\(site)"), .text(site)])
            try o.must(["sync"])
        }
        for c in [a, b] {
            let r = try c.uplink(to: city)
            #expect(r.ok, "uplink \(c.code): \(r.stderr)")
        }
        // A fresh connection per look: none stays open while the city daemon restarts.
        var cityDB: Database { get throws { try Database(path: city.dataDir + "/county.db") } }
        // Every county's records, each attributed to its county (the site tree and the site-id registry agree).
        for (site, c) in countyOf {
            for t in ["members", "proposals", "activities"] {
                let row = try cityDB.query("SELECT site_id FROM \(t) WHERE id = ?", [.text("\(t.prefix(1))-\(site)")]).first
                #expect(row != nil, "\(t) of \(site) missing at the city")
                if let s = row?[0].stringValue { #expect(try Self.county(of: s, in: cityDB) == c.code) }
            }
            #expect(try cityDB.scalar("SELECT county FROM _srv_tier_sites WHERE site = ?", [.text(site)]) == .text(c.code))
        }
        #expect(try cityDB.scalar("SELECT county FROM _srv_tier_sites WHERE site = '330102-cpsyncd'") == .text("330102"))
        #expect(try cityDB.scalar("SELECT title FROM proposals WHERE id = 'p-330106-xixi'") == .text("关于改善330106-xixi老旧小区的建议"))
        // No personal data at the city, anywhere in its files; the counties keep theirs.
        #expect(try cityDB.scalar("SELECT count(*) FROM members WHERE phone != ''") == .integer(0))
        #expect(!Self.rawBytes(city.dataDir + "/county.db").contains("1390571000"))
        #expect(try Database(path: a.db).scalar("SELECT count(*) FROM members WHERE phone LIKE '1390571000%'") == .integer(2))
        #expect(try cityDB.scalar("SELECT count(*) FROM _cp_conflicts") == .integer(0))
        for c in [a, b] { #expect(try Self.subtreeDump(c.db, county: c.code) == Self.subtreeDump(city.dataDir + "/county.db", county: c.code), "\(c.code)") }

        // The city writes into a county's record: it reaches that county and its office, not the other county; the
        // county's personal data survives the city's view of the row coming down.
        try cityOffice.must(["sync"])
        try cityOffice.sql("UPDATE activities SET outcome = '市政协批示：请西湖区水利局跟进' WHERE id = 'a-330102-qingbo'")
        try cityOffice.sql("UPDATE members SET employer = '市第一中学' WHERE id = 'm-330102-qingbo'")
        try cityOffice.must(["sync"])
        for c in [a, b] { let r = try c.uplink(to: city); #expect(r.ok, "uplink \(c.code): \(r.stderr)") }
        try offices["330102-qingbo"]!.must(["sync"])
        #expect(try offices["330102-qingbo"]!.query("SELECT outcome FROM activities WHERE id = 'a-330102-qingbo'") == [[.text("市政协批示：请西湖区水利局跟进")]])
        #expect(try offices["330102-qingbo"]!.query("SELECT employer, phone FROM members WHERE id = 'm-330102-qingbo'")
                == [[.text("市第一中学"), .text("13905710001")]])
        #expect(try Database(path: a.db).query("SELECT employer, phone FROM members WHERE id = 'm-330102-qingbo'") == [[.text("市第一中学"), .text("13905710001")]])
        #expect(try Database(path: b.db).scalar("SELECT count(*) FROM activities WHERE id LIKE 'a-330102-%'") == .integer(0))
        #expect(try Database(path: b.db).scalar("SELECT count(*) FROM sites WHERE id LIKE '330102%' OR id = '3301'") == .integer(0))

        // County 西湖区 goes offline (its daemon stops); its offices keep their edits; 上城区 carries on; the city
        // is down for a while too (the uplink fails loudly and loses nothing).
        b.daemon.stop()
        try offices["330106-xixi"]!.sql("INSERT INTO proposals(id, title, site_id, status) VALUES ('p-offline', '离线期间起草：关于西溪湿地保护的建议', '330106-xixi', 'draft')")
        #expect(try !offices["330106-xixi"]!.cpsync(["sync"]).ok)
        try offices["330102-hubin"]!.sql("INSERT INTO proposals(id, title, site_id, status) VALUES ('p-hubin-2', '关于湖滨步行街夜间经济的建议', '330102-hubin', 'submitted')")
        try offices["330102-hubin"]!.must(["sync"])
        city.stop()
        let down = try a.uplink(to: city)
        #expect(!down.ok)
        #expect(down.stderr.contains("nothing was lost"), "\(down.stderr)")
        try city.start()
        let zh = try a.uplink(to: city, env: ["LANG": "zh_CN.UTF-8"])
        #expect(zh.ok, "\(zh.stderr)")
        #expect(zh.stdout.contains("上报 330102"), "\(zh.stdout)")
        #expect(try cityDB.scalar("SELECT title FROM proposals WHERE id = 'p-hubin-2'") == .text("关于湖滨步行街夜间经济的建议"))
        #expect(try cityDB.scalar("SELECT count(*) FROM proposals WHERE id = 'p-offline'") == .integer(0))
        try b.daemon.start()
        try offices["330106-xixi"]!.must(["sync"])
        let back = try b.uplink(to: city)
        #expect(back.ok, "\(back.stderr)")
        #expect(try cityDB.scalar("SELECT title FROM proposals WHERE id = 'p-offline'") == .text("离线期间起草：关于西溪湿地保护的建议"))
        // Quiescent: the city holds exactly each county's records (personal data aside), and nothing twice.
        for c in [a, b] { try c.uplink(to: city) }
        for c in [a, b] {
            #expect(try Self.subtreeDump(c.db, county: c.code) == Self.subtreeDump(city.dataDir + "/county.db", county: c.code), "county \(c.code)")
        }
        #expect(try cityDB.scalar("SELECT count(*) FROM proposals") == .integer(6))
        #expect(try cityDB.scalar("SELECT count(*) FROM _cp_conflicts") == .integer(0))
        // A second round with nothing new sends nothing new.
        let idle = try a.uplink(to: city)
        #expect(idle.stdout.contains("(0 new there"), "\(idle.stdout)")
    }

    @Test func countyToCityToProvince() throws {
        let ws = TempDir("tier-province")
        defer { ws.cleanup() }
        let province = Daemon(dataDir: ws.path("province"))
        _ = try Self.siteAdd(province.dataDir, serverID: "33-cpsyncd", id: "33", name: "浙江省政协", kind: "county", parent: nil)
        let (city, _) = try Self.makeCity(ws)
        let cityAtProvince = try Self.tierAdd(province.dataDir, id: Self.cityCode, name: "杭州市政协", parent: "33")
        let a = try TierCounty("330102", name: "上城区政协", offices: [("330102-qingbo", "清波街道政协工委")], serverID: "330102-cpsyncd", ws: ws, city: city)
        defer { province.stop(); city.stop(); a.daemon.stop() }
        try province.start()
        try city.start()
        try a.daemon.start()
        let qingbo = try a.office("330102-qingbo", ws: ws)
        try qingbo.must(["sync"])
        try qingbo.sql("INSERT INTO members(id, name, phone, site_id) VALUES ('m-zhang', '张委员', '13800000000', '330102-qingbo')")
        try qingbo.sql("INSERT INTO proposals(id, title, site_id, status) VALUES ('p-zj', '关于钱塘江堤岸绿化的建议', '330102-qingbo', 'submitted')")
        try qingbo.must(["sync"])
        #expect(try a.uplink(to: city).ok)
        let up = try run(Binaries.cpsyncd, ["uplink", "--data", city.dataDir, "--server", province.url, "--token", cityAtProvince])
        #expect(up.ok, "\(up.stderr)")
        let provinceDB = try Database(path: province.dataDir + "/county.db")
        #expect(try provinceDB.scalar("SELECT title FROM proposals WHERE id = 'p-zj'") == .text("关于钱塘江堤岸绿化的建议"))
        #expect(try provinceDB.query("SELECT name, phone FROM members WHERE id = 'm-zhang'") == [[.text("张委员"), .text("")]])
        // The province sees the county's offices under the county under the city, all owned by the city there.
        #expect(try provinceDB.query("SELECT parent_id FROM sites WHERE id IN ('330102', '330102-qingbo') ORDER BY id")
                == [[.text(Self.cityCode)], [.text("330102")]])
        #expect(try provinceDB.scalar("SELECT county FROM _srv_tier_sites WHERE site = '330102-qingbo'") == .text(Self.cityCode))
        #expect(try provinceDB.scalar("SELECT count(*) FROM sites WHERE id = '\(Self.cityCode)' AND parent_id = '33'") == .integer(1))
        // A crash after the province applied a batch but before the city moved its cursor: the batch goes again and
        // nothing is applied twice (same content, same batch id, the stored answer).
        let before = try contentDump(province.dataDir + "/county.db")
        let batches = try Database(path: province.dataDir + "/county.db").scalar("SELECT count(*) FROM _srv_batches")
        try Database(path: city.dataDir + "/county.db").run("UPDATE _cp_meta SET value = 0 WHERE key IN ('uplink.push_cursor', 'uplink.push_since', 'uplink.pull_cursor', 'uplink.pull_since')")
        let again = try run(Binaries.cpsyncd, ["uplink", "--data", city.dataDir, "--server", province.url, "--token", cityAtProvince])
        #expect(again.ok, "\(again.stderr)")
        // The same batch id: the province answered with its stored first answer and stored nothing new.
        #expect(try Database(path: province.dataDir + "/county.db").scalar("SELECT count(*) FROM _srv_batches") == batches)
        #expect(try contentDump(province.dataDir + "/county.db") == before)
        #expect(try contentDump(city.dataDir + "/county.db").contains("关于钱塘江堤岸绿化的建议"))
    }

    @Test func serveRunsTheUplinkOnATimer() throws {
        let ws = TempDir("tier-serve")
        defer { ws.cleanup() }
        let (city, _) = try Self.makeCity(ws)
        let a = try TierCounty("330102", name: "上城区政协", offices: [("330102-qingbo", "清波街道政协工委")], serverID: "330102-cpsyncd", ws: ws, city: city)
        defer { city.stop(); a.daemon.stop() }
        try city.start()
        try a.daemon.start(extraArgs: ["--uplink-server", city.url, "--uplink-every", "1"], env: ["CPSYNC_UPLINK_TOKEN": a.cityToken])
        let qingbo = try a.office("330102-qingbo", ws: ws)
        try qingbo.must(["sync"])
        try qingbo.sql("INSERT INTO proposals(id, title, site_id, status) VALUES ('p-timer', '关于南宋御街保护的建议', '330102-qingbo', 'submitted')")
        try qingbo.must(["sync"])
        var title: Value?
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            title = try Database(path: city.dataDir + "/county.db").scalar("SELECT title FROM proposals WHERE id = 'p-timer'")
            if title != nil { break }
            usleep(200_000)
        }
        #expect(title == .text("关于南宋御街保护的建议"))
        #expect(a.daemon.log.get().contains("\"event\":\"uplink\""))
        // Offices keep writing while the daemon's uplink runs every second: once they stop, the city converges on
        // exactly the county's records (no cell skipped by a page read while a push was merged).
        let hubinToken = try TierTests.siteAdd(a.daemon.dataDir, id: "330102-hubin", name: "湖滨街道政协工委", kind: "township", parent: "330102")
        let hubin = try Office.create("330102-hubin", in: ws, daemon: a.daemon, token: hubinToken)
        try hubin.must(["sync"])
        for round in 0..<12 {
            for o in [qingbo, hubin] {
                try o.sql("INSERT INTO activities(id, kind, topic, site_id) VALUES (?, 'research', ?, ?)",
                          [.text("a-\(o.site)-\(round)"), .text("第\(round)次调研：社区养老服务"), .text(o.site)])
                if round > 0 {
                    try o.sql("UPDATE activities SET outcome = ? WHERE id = ?", [.text("调研报告已报送（第\(round)轮）"), .text("a-\(o.site)-\(round - 1)")])
                }
                try o.must(["sync"])
            }
        }
        var same = false
        let converged = Date().addingTimeInterval(40)
        while Date() < converged {
            if try Self.subtreeDump(a.db, county: a.code) == Self.subtreeDump(city.dataDir + "/county.db", county: a.code) { same = true; break }
            usleep(300_000)
        }
        #expect(same, "the city did not converge on the county")
        #expect(try Database(path: city.dataDir + "/county.db").scalar("SELECT count(*) FROM activities") == .integer(24))
        #expect(a.daemon.stop() == 0)
    }

    @Test func badUplinkAndTierCommandsSayWhatToFix() throws {
        let ws = TempDir("tier-usage")
        defer { ws.cleanup() }
        let (city, _) = try Self.makeCity(ws)
        let a = try TierCounty("330102", name: "上城区政协", offices: [("330102-qingbo", "清波街道政协工委")], serverID: "330102-cpsyncd", ws: ws, city: city)
        defer { city.stop() }
        try city.start()
        let noServer = try run(Binaries.cpsyncd, ["uplink", "--data", a.daemon.dataDir, "--token", a.cityToken])
        #expect(noServer.status == 64 && noServer.stderr.contains("--server"), "\(noServer.stderr)")
        let noToken = try run(Binaries.cpsyncd, ["uplink", "--data", a.daemon.dataDir, "--server", city.url])
        #expect(noToken.status == 64 && noToken.stderr.contains("--token"), "\(noToken.stderr)")
        let badToken = try run(Binaries.cpsyncd, ["uplink", "--data", a.daemon.dataDir, "--server", city.url, "--token", "nope"])
        #expect(!badToken.ok && badToken.stderr.contains("unknown or revoked token"), "\(badToken.stderr)")
        let wrongSite = try run(Binaries.cpsyncd, ["uplink", "--data", a.daemon.dataDir, "--server", city.url, "--token", a.cityToken, "--site", "330106"])
        #expect(!wrongSite.ok && wrongSite.stderr.contains("not '330106'"), "\(wrongSite.stderr)")
        let noData = try run(Binaries.cpsyncd, ["uplink", "--data", ws.path("nowhere"), "--server", city.url, "--token", a.cityToken])
        #expect(noData.status == 74 && !FileManager.default.fileExists(atPath: ws.path("nowhere")), "\(noData.stderr)")
        let badParent = try run(Binaries.cpsyncd, ["tier", "add", "--data", city.dataDir, "--id", "330105", "--name", "拱墅区政协", "--parent", "9999"],
                                env: ["LANG": "zh_CN.UTF-8"])
        #expect(badParent.status == 65 && badParent.stderr.contains("上级站点 '9999' 不存在"), "\(badParent.stderr)")
        let again = try run(Binaries.cpsyncd, ["tier", "add", "--data", city.dataDir, "--id", "330102", "--name", "上城区政协", "--parent", Self.cityCode])
        #expect(again.status == 65 && again.stderr.contains("already exists"), "\(again.stderr)")
        let otherServerID = try run(Binaries.cpsyncd, ["site", "add", "--data", a.daemon.dataDir, "--server-id", "other", "--id", "x", "--name", "x", "--kind", "township", "--parent", "330102"])
        #expect(otherServerID.status == 74 && otherServerID.stderr.contains("'330102-cpsyncd'"), "\(otherServerID.stderr)")
        // The refused registration left no member mark behind: the id is still free for a proper one.
        #expect(try Self.tierAdd(city.dataDir, id: "330105", name: "拱墅区政协", parent: Self.cityCode).count > 20)
    }

    @Test func aRowTheCityRefusesIsHeldBackAndTheRestStillGoes() throws {
        let ws = TempDir("tier-held")
        defer { ws.cleanup() }
        let (city, _) = try Self.makeCity(ws)
        let a = try TierCounty("330102", name: "上城区政协", offices: [("330102-qingbo", "清波街道政协工委")], serverID: "330102-cpsyncd", ws: ws, city: city)
        defer { city.stop(); a.daemon.stop() }
        try city.start()
        try a.daemon.start()
        let countyOffice = try a.office("330102", ws: ws), qingbo = try a.office("330102-qingbo", ws: ws)
        try countyOffice.must(["sync"])
        try qingbo.must(["sync"])
        // A member filed under the city's own site id by mistake: the county accepts it, the city must not.
        try countyOffice.sql("INSERT INTO members(id, name, sector, site_id) VALUES ('m-bad', '错挂委员', '经济界', '3301')")
        try qingbo.sql("INSERT INTO proposals(id, title, site_id, status) VALUES ('p-good', '关于河坊街业态提升的建议', '330102-qingbo', 'submitted')")
        try countyOffice.must(["sync"])
        try qingbo.must(["sync"])
        let held = try a.uplink(to: city)
        #expect(held.status == 65 && held.stderr.contains("1 row(s) held back") && held.stderr.contains("members/m-bad")
                && held.stderr.contains("outside county '330102'"), "\(held.stdout) \(held.stderr)")
        let cityDB = { try Database(path: city.dataDir + "/county.db") }
        #expect(try cityDB().scalar("SELECT title FROM proposals WHERE id = 'p-good'") == .text("关于河坊街业态提升的建议"))
        #expect(try cityDB().scalar("SELECT count(*) FROM members") == .integer(0))
        // Still told on the next round; the county keeps the row.
        #expect(try a.uplink(to: city).stderr.contains("members/m-bad"))
        #expect(try Database(path: a.db).scalar("SELECT name FROM members WHERE id = 'm-bad'") == .text("错挂委员"))
        // Fixed at the county: the row goes again, whole.
        try countyOffice.sql("UPDATE members SET site_id = '330102-qingbo' WHERE id = 'm-bad'")
        try countyOffice.must(["sync"])
        let fixed = try a.uplink(to: city)
        #expect(fixed.ok && !fixed.stderr.contains("held back"), "\(fixed.stderr)")
        #expect(try cityDB().query("SELECT name, sector, site_id FROM members WHERE id = 'm-bad'") == [[.text("错挂委员"), .text("经济界"), .text("330102-qingbo")]])
        #expect(try Self.subtreeDump(a.db, county: a.code) == Self.subtreeDump(city.dataDir + "/county.db", county: a.code))
    }

    @Test func aConflictBetweenTwoOfficesOfOneCountyIsReviewedAtThatCountyOnly() throws {
        let ws = TempDir("tier-conflict")
        defer { ws.cleanup() }
        let (city, _) = try Self.makeCity(ws)
        let a = try TierCounty("330102", name: "上城区政协", offices: [("330102-qingbo", "清波街道政协工委")], serverID: "330102-cpsyncd", ws: ws, city: city)
        defer { city.stop(); a.daemon.stop() }
        try city.start()
        try a.daemon.start()
        let countyOffice = try a.office("330102", ws: ws), qingbo = try a.office("330102-qingbo", ws: ws)
        try qingbo.must(["sync"])
        try qingbo.sql("INSERT INTO proposals(id, title, site_id, status) VALUES ('p1', '关于背街小巷改造的建议', '330102-qingbo', 'draft')")
        try qingbo.must(["sync"])
        try countyOffice.must(["sync"])
        // The county office edits the title and the city receives it ...
        try countyOffice.sql("UPDATE proposals SET title = '关于背街小巷改造提升的建议（区政协修改）' WHERE id = 'p1'")
        try countyOffice.must(["sync"])
        #expect(try a.uplink(to: city).ok)
        let cityDB = try Database(path: city.dataDir + "/county.db")
        #expect(try cityDB.scalar("SELECT title FROM proposals WHERE id = 'p1'") == .text("关于背街小巷改造提升的建议（区政协修改）"))
        // ... while 清波 edits it too, without having seen that edit: a conflict between two offices of the county.
        try qingbo.sql("UPDATE proposals SET title = '关于清波街道背街小巷改造的建议' WHERE id = 'p1'")
        try qingbo.must(["push"])
        let countyDB = try Database(path: a.db)
        #expect(try countyDB.scalar("SELECT count(*) FROM _cp_conflicts WHERE tbl = 'proposals' AND status = 'open'") == .integer(1))
        let r = try a.uplink(to: city)
        #expect(r.ok, "\(r.stderr)")
        #expect(r.stdout.contains("0 conflict(s) recorded there"), "\(r.stdout)")
        // The city took the same winner and did not raise the conflict again.
        #expect(try cityDB.scalar("SELECT title FROM proposals WHERE id = 'p1'") == countyDB.scalar("SELECT title FROM proposals WHERE id = 'p1'"))
        #expect(try cityDB.scalar("SELECT count(*) FROM _cp_conflicts") == .integer(0))
        #expect(try countyDB.scalar("SELECT count(*) FROM _cp_conflicts WHERE status = 'open'") == .integer(1))
    }

    @Test func aConflictBetweenACountyOfficeAndTheCitysOwnEditIsReviewedAtTheCityOnlyNamingTheCounty() throws {
        let ws = TempDir("tier-city-conflict")
        defer { ws.cleanup() }
        let (city, cityToken) = try Self.makeCity(ws)
        let a = try TierCounty("330102", name: "上城区政协", offices: [("330102-qingbo", "清波街道政协工委")], serverID: "330102-cpsyncd", ws: ws, city: city)
        let admin = try city.addAdmin("市政协管理员")
        defer { city.stop(); a.daemon.stop() }
        try city.start()
        try a.daemon.start()
        let qingbo = try a.office("330102-qingbo", ws: ws)
        let cityOffice = try Office.create(Self.cityCode, in: ws, daemon: city, token: cityToken)
        try qingbo.must(["sync"])
        try qingbo.sql("INSERT INTO proposals(id, title, site_id, status) VALUES ('p1', '关于背街小巷改造的建议', '330102-qingbo', 'draft')")
        try qingbo.must(["sync"])
        #expect(try a.uplink(to: city).ok)
        try cityOffice.must(["sync"])
        // 清波 and the city's own office edit the title, neither having seen the other's edit; the city's is the later,
        // so it wins and comes down to the county, where 清波's edit was.
        try qingbo.sql("UPDATE proposals SET title = '关于清波街道背街小巷改造的建议' WHERE id = 'p1'")
        Thread.sleep(forTimeInterval: 0.05)
        try cityOffice.sql("UPDATE proposals SET title = '关于背街小巷改造的建议（市政协修改）' WHERE id = 'p1'")
        try cityOffice.must(["sync"])
        try qingbo.must(["sync"])
        let r = try a.uplink(to: city)
        #expect(r.ok, "\(r.stderr)")
        try qingbo.must(["sync"])
        try cityOffice.must(["sync"])
        let cityDB = try Database(path: city.dataDir + "/county.db"), countyDB = try Database(path: a.db)
        // One conflict, kept at the city with both values; the county did not record it a second time.
        #expect(try cityDB.scalar("SELECT count(*) FROM _cp_conflicts WHERE tbl = 'proposals' AND status = 'open'") == .integer(1))
        #expect(try countyDB.scalar("SELECT count(*) FROM _cp_conflicts") == .integer(0))
        let title = try cityDB.scalar("SELECT title FROM proposals WHERE id = 'p1'")
        #expect(title == .text("关于背街小巷改造的建议（市政协修改）"))
        #expect(try countyDB.scalar("SELECT title FROM proposals WHERE id = 'p1'") == title)
        #expect(try qingbo.query("SELECT title FROM proposals WHERE id = 'p1'").first?.first == title)
        let values = try cityDB.query("SELECT winner_value, other_value FROM _cp_conflicts").first ?? []
        #expect(Set(values.compactMap(\.stringValue)) == ["关于背街小巷改造的建议（市政协修改）", "关于清波街道背街小巷改造的建议"], "\(values)")
        // The city's admin reads which county the office's side came from.
        let list = try run(Binaries.cpsync, ["conflicts", "list", "--server", city.url, "--token", admin, "--json"],
                           env: ["LANG": "zh_CN.UTF-8", "HOME": ws.path("home")])
        #expect(list.ok, "\(list.stderr)")
        #expect(list.stdout.contains("清波街道政协工委（上城区政协）"), "\(list.stdout)")
    }

    @Test func aSiteIDAnotherCountyOwnsIsRefusedAndNothingIsLost() throws {
        let ws = TempDir("tier-ids")
        defer { ws.cleanup() }
        let (city, _) = try Self.makeCity(ws)
        defer { city.stop() }
        try city.start()
        // Unqualified office ids: both counties call a township 'huashan'.
        let a = try TierCounty("330102", name: "上城区政协", offices: [("huashan", "华山街道政协工委")], serverID: "330102-cpsyncd", ws: ws, city: city)
        let b = try TierCounty("330106", name: "西湖区政协", offices: [("huashan", "华山镇政协工委"), ("330106-xixi", "西溪街道政协工委")],
                               serverID: "330106-cpsyncd", ws: ws, city: city)
        // Two daemons left at the old fixed server id.
        let c = try TierCounty("330108", name: "滨江区政协", offices: [("330108-xixing", "西兴街道政协工委")], serverID: nil, ws: ws, city: city)
        let d = try TierCounty("330109", name: "萧山区政协", offices: [("330109-chengxiang", "城厢街道政协工委")], serverID: nil, ws: ws, city: city)
        #expect(try a.uplink(to: city).ok)
        #expect(try c.uplink(to: city).ok)
        let cityDB = try Database(path: city.dataDir + "/county.db")
        let before = try contentDump(city.dataDir + "/county.db")
        let bBefore = try contentDump(b.db)
        let refused = try b.uplink(to: city)
        #expect(!refused.ok)
        #expect(refused.stderr.contains("'huashan'") && refused.stderr.contains("'330102'") && refused.stderr.contains("6-digit division code"),
                "\(refused.stderr)")
        let old = try d.uplink(to: city)
        #expect(!old.ok)
        #expect(old.stderr.contains("'cpsyncd'") && old.stderr.contains("'330108'"), "\(old.stderr)")
        // Nothing of the refused pushes was applied, nothing the city held changed, the counties keep everything.
        #expect(try contentDump(city.dataDir + "/county.db") == before)
        #expect(try contentDump(b.db) == bBefore)
        #expect(try cityDB.scalar("SELECT count(*) FROM sites WHERE parent_id IN ('330106', '330109')") == .integer(0))
        #expect(try cityDB.scalar("SELECT county FROM _srv_tier_sites WHERE site = 'huashan'") == .text("330102"))
        // Retrying is refused the same way (and loses nothing).
        #expect(try !b.uplink(to: city).ok)
        // The city's list of counties says who sent which ids.
        let list = try run(Binaries.cpsyncd, ["tier", "list", "--json", "--data", city.dataDir])
        let listed = ((try? JSONSerialization.jsonObject(with: Data(list.stdout.utf8))) as? [[String: Any]])?.first { $0["id"] as? String == "330102" }
        #expect(list.ok && listed?["name"] as? String == "上城区政协" && listed?["parent"] as? String == "3301" && listed?["revoked"] as? Bool == false
                && listed?["site_ids"] as? [String] == ["330102-cpsyncd", "huashan"],
                "\(list.stdout)")

        // The city's checks hold for a county that forges requests: personal data, another county's rows, the office
        // endpoints.
        let transport = HTTPTransport(baseURL: city.url, token: a.cityToken, deadlineSeconds: 10, budgetSeconds: 10)
        func push(_ changes: [Change], _ id: String) -> ErrorBody? {
            let body = PushRequest(schemaVersion: CPPCCSchema.version, batchId: id, site: a.code, changes: changes).encoded()
            do { _ = try transport.call("POST", "/v1/tier/push", body: body, as: PushResponse.self); return nil } catch {
                if case .server(_, let e) = error { return e }
                return ErrorBody(code: .serverError, message: "\(error)")
            }
        }
        let now = HLC.wallClock()
        let v = Version(hlc: now, site: "huashan")
        let phone = push([Change(table: "members", pk: "m-x", column: "phone", value: .text("13900000000"), version: v, causalLength: 1)], "forged-1")
        #expect(phone?.code == .forbidden && phone?.message.contains("personal data") == true, "\(String(describing: phone))")
        let xixing = push([Change(table: "sites", pk: "330108-xixing", column: "name", value: .text("篡改"), version: v, causalLength: 1)], "forged-2")
        #expect(xixing?.code == .siteIDTaken && xixing?.site == "330108-xixing", "\(String(describing: xixing))")
        let other = push([Change(table: "members", pk: "m-y", column: nil, value: .null, version: v, causalLength: 1),
                          Change(table: "members", pk: "m-y", column: "site_id", value: .text("330108-xixing"), version: v, causalLength: 1)], "forged-3")
        #expect(other?.code == .forbidden && other?.message.contains("outside county '330102'") == true, "\(String(describing: other))")
        #expect(try contentDump(city.dataDir + "/county.db") == before)
        do {
            _ = try transport.call("GET", "/v1/pull?after=0&schemaVersion=\(CPPCCSchema.version)", as: PullResponse.self)
            Issue.record("a member county pulled through the office endpoint")
        } catch {
            guard case .server(let status, let e) = error else { Issue.record("\(error)"); return }
            #expect(status == 403 && e.message.contains("cpsyncd uplink"))
        }
        // Nor through a snapshot, which for a county-kind site would be everything the city holds.
        do {
            _ = try transport.call("GET", "/v1/snapshot", as: SnapshotManifest.self)
            Issue.record("a member county got a snapshot through the office endpoint")
        } catch {
            guard case .server(let status, let e) = error else { Issue.record("\(error)"); return }
            #expect(status == 403 && e.message.contains("cpsyncd uplink"))
        }
    }
}
