import CPSyncCore
import CPSyncProtocol
import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
import TestSupport
#endif

/// "Nothing is lost across the site tree", with the real binaries: a reply of `cpsyncd import` (and a station's
/// `cpsync export-changes`) goes to a new file only — never over the live county database or anything else in the
/// data directory, never over the office's database, over another file only with `--overwrite` — and a refused path
/// is refused before anything is imported; and the site tree has one shape on every path that creates or moves a
/// site: one top, the county; every other site under a parent (the county by default); kinds nest.
@Suite(.serialized) struct SiteTreeShapeTests {
    /// A running county (county, huashan, chengguan) with the station 西苑 under 华山镇, which has no link and has
    /// saved one member, exported to `changes`.
    struct Stick {
        let county: County
        let station: Office
        let changes: String

        init(_ name: String) throws {
            county = try County(name, sites: ["huashan", "chengguan"])
            let token = try county.daemon.addSite("xiyuan", name: "西苑社区联络站", kind: "station", parent: "huashan")
            station = try ChangeFileTests.offlineOffice("xiyuan", token: token, in: county.ws)
            try station.clerk(["member", "add", "--id", "m-xy-1", "--name", "王秀英", "--site", "xiyuan"])
            changes = county.ws.path("西苑-修改.cpsync")
            try station.must(["export-changes", "--to", changes])
        }

        var data: String { county.daemon.dataDir }

        func importAt(_ reply: String, _ extra: [String] = [], lang: String = "C.UTF-8") throws -> RunResult {
            try run(Binaries.cpsyncd, ["import", "--data", data, changes, "--reply", reply] + extra, env: ["LANG": lang])
        }

        /// Whether the station's member reached the county.
        func imported() throws -> Bool {
            try Database(path: county.serverDB).query("SELECT count(*) FROM members WHERE id = 'm-xy-1'") == [[.integer(1)]]
        }

        /// A good reply path works: the member arrives, and the reply is whole — the station takes it, and every
        /// change it had queued is acknowledged.
        func importsToAGoodPath(_ name: String) throws {
            let reply = county.ws.path(name)
            let r = try importAt(reply)
            #expect(r.ok, "\(r.stderr)")
            #expect(try imported())
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: county.ws.url.path).filter { $0.hasSuffix(".part") }
            #expect(leftovers.isEmpty, "\(leftovers)")
            let applied = try station.must(["import-changes", reply, "--json"])
            #expect(JSONText.bool(applied.stdout, "push_acknowledged") == true, "\(applied.stdout)")
            #expect(try ChangeFileTests.pending(station) == 0)
        }
    }

    static func cpsyncd(_ data: String, _ args: [String], lang: String = "C.UTF-8") throws -> RunResult {
        try run(Binaries.cpsyncd, args + ["--data", data], env: ["LANG": lang])
    }

    static func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    // MARK: - replies and exports go to new files

    @Test func aReplyOntoTheLiveCountyDatabaseIsRefusedBeforeAnythingIsImportedAndTheDaemonKeepsServing() throws {
        let s = try Stick("shape-reply-db")
        defer { s.county.cleanup() }
        let huashan = try s.county.office("huashan")
        try huashan.must(["sync"])
        let database = s.county.serverDB
        for extra in [[], ["--overwrite"]] {
            let r = try s.importAt(database, extra)
            #expect(r.status == 64, "\(extra): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("inside the county's data directory") && r.stderr.contains("nothing was imported"), "\(r.stderr)")
        }
        let zh = try s.importAt(database, ["--overwrite"], lang: "zh_CN.UTF-8")
        #expect(zh.status == 64 && zh.stderr.contains("县级数据目录"), "\(zh.stderr)")
        // The same file by another name: through `..`, and through a symlink to the data directory.
        let elsewhere = s.county.ws.path("elsewhere")
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        let link = s.county.ws.path("stick")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: s.data)
        for other in [elsewhere + "/../data/county.db", link + "/county.db"] {
            let r = try s.importAt(other, ["--overwrite"])
            #expect(r.status == 64, "\(other): \(r.status) \(r.stderr)")
        }
        #expect(try !s.imported(), "a refused reply path imports nothing")

        // county.db is still the county's: the running daemon serves from it, and starts again from it.
        let health = try HTTPAnswer.send("GET", s.county.daemon.url + "/v1/health")
        #expect(health.status == 200, "\(health.text)")
        try huashan.sql("INSERT INTO members(id, name, site_id) VALUES ('m-hs-1', '李华', 'huashan')")
        try huashan.must(["sync"])
        s.county.daemon.stop()
        try s.county.daemon.start()
        #expect(try Database(path: database).query("SELECT name FROM members WHERE id = 'm-hs-1'") == [[.text("李华")]])
        try huashan.must(["sync"])

        // The station is imported again with a good path: nothing was lost.
        try s.importsToAGoodPath("西苑-回执.cpsync")
    }

    @Test func aReplyOverAnExistingFileIsRefusedWithoutOverwriteAndWrittenWithIt() throws {
        let s = try Stick("shape-reply-exists")
        defer { s.county.cleanup() }
        let reply = s.county.ws.path("西苑-回执.cpsync")
        let earlier = Data("上次的回执，还没带回联络站".utf8)
        try earlier.write(to: URL(fileURLWithPath: reply))
        let r = try s.importAt(reply)
        #expect(r.status == 64, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("already exists") && r.stderr.contains("--overwrite"), "\(r.stderr)")
        let zh = try s.importAt(reply, lang: "zh_CN.UTF-8")
        #expect(zh.status == 64 && zh.stderr.contains("已存在"), "\(zh.stderr)")
        #expect(Self.bytes(reply) == earlier, "the existing file is untouched")
        #expect(try !s.imported(), "a refused reply path imports nothing")

        let replaced = try s.importAt(reply, ["--overwrite"])
        #expect(replaced.ok, "\(replaced.stderr)")
        #expect(try s.imported())
        #expect(Self.bytes(reply) != earlier)
        let applied = try s.station.must(["import-changes", reply, "--json"])
        #expect(JSONText.bool(applied.stdout, "push_acknowledged") == true, "\(applied.stdout)")
        #expect(try ChangeFileTests.pending(s.station) == 0)
    }

    @Test func aReplyIntoTheDataDirectoryIsRefusedEvenWithOverwrite() throws {
        let s = try Stick("shape-reply-datadir")
        defer { s.county.cleanup() }
        let listing = { try FileManager.default.contentsOfDirectory(atPath: s.data).filter { !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm") }.sorted() }
        let before = try listing()
        let link = s.county.ws.path("usb")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: s.data)
        for (path, extra) in [(s.data + "/西苑-回执.cpsync", [String]()), (s.data + "/西苑-回执.cpsync", ["--overwrite"]),
                              (s.data + "/cpsyncd.lock", ["--overwrite"]), (link + "/西苑-回执.cpsync", ["--overwrite"])] {
            let r = try s.importAt(path, extra)
            #expect(r.status == 64, "\(path) \(extra): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("inside the county's data directory"), "\(r.stderr)")
        }
        #expect(try listing() == before, "nothing was written in the data directory")
        #expect(try !s.imported(), "a refused reply path imports nothing")
        try s.importsToAGoodPath("西苑-回执.cpsync")
    }

    @Test func anExportNeverReplacesAFileWithoutOverwriteNorTheOfficeDatabase() throws {
        let s = try Stick("shape-export")
        defer { s.county.cleanup() }
        let existing = s.county.ws.path("U盘上的文件.cpsync")
        let earlier = Data("另一个站的修改".utf8)
        try earlier.write(to: URL(fileURLWithPath: existing))
        let r = try s.station.cpsync(["export-changes", "--to", existing])
        #expect(r.status == 64 && r.stderr.contains("already exists"), "\(r.status) \(r.stderr)")
        #expect(Self.bytes(existing) == earlier)
        for target in [s.station.db, s.station.db + "-wal", s.county.ws.path("elsewhere/../xiyuan.db")] {
            try FileManager.default.createDirectory(atPath: s.county.ws.path("elsewhere"), withIntermediateDirectories: true)
            let db = Self.bytes(s.station.db)
            let refused = try s.station.cpsync(["export-changes", "--to", target, "--overwrite"])
            #expect(refused.status == 64 && refused.stderr.contains("this office's database"), "\(target): \(refused.status) \(refused.stderr)")
            #expect(Self.bytes(s.station.db) == db)
        }
        let zh = try run(Binaries.cpsync, ["export-changes", "--db", s.station.db, "--to", s.station.db, "--overwrite"], env: ["LANG": "zh_CN.UTF-8"])
        #expect(zh.status == 64 && zh.stderr.contains("本办公室的数据库"), "\(zh.stderr)")
        // With --overwrite the other file is replaced by a whole changes file, which the county takes.
        try s.station.must(["export-changes", "--to", existing, "--overwrite"])
        let reply = s.county.ws.path("回执.cpsync")
        let imported = try run(Binaries.cpsyncd, ["import", "--data", s.data, existing, "--reply", reply])
        #expect(imported.ok, "\(imported.stderr)")
        #expect(try s.imported())
        try s.station.must(["import-changes", reply])
        #expect(try ChangeFileTests.pending(s.station) == 0)
    }

    // MARK: - one shape of the site tree

    @Test func theFirstSiteIsTheCountyItselfAndTheOnlyTop() throws {
        let ws = TempDir("shape-first")
        defer { ws.cleanup() }
        let data = ws.path("data")
        let township = try Self.cpsyncd(data, ["site", "add", "--id", "huashan", "--name", "华山镇政协工委", "--kind", "township"])
        #expect(township.status == 65 && township.stderr.contains("no county at its top"), "\(township.status) \(township.stderr)")
        let zh = try Self.cpsyncd(data, ["site", "add", "--id", "huashan", "--name", "华山镇政协工委", "--kind", "township"], lang: "zh_CN.UTF-8")
        #expect(zh.status == 65 && zh.stderr.contains("还没有顶层的县政协"), "\(zh.stderr)")
        let withParent = try Self.cpsyncd(data, ["site", "add", "--id", "county", "--name", "某县政协", "--kind", "county", "--parent", "county"])
        #expect(withParent.status == 65, "\(withParent.stderr)")
        #expect(try Self.cpsyncd(data, ["site", "list", "--json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")

        #expect(try Self.cpsyncd(data, ["site", "add", "--id", "county", "--name", "某县政协", "--kind", "county"]).ok)
        // A second county without --parent is not a second top: it goes under the county (its own office).
        let second = try Self.cpsyncd(data, ["site", "add", "--id", "xian", "--name", "县政协机关", "--kind", "county"])
        #expect(second.ok && second.stderr.contains("under 'county'"), "\(second.stderr)")
        let db = try Database(path: data + "/county.db")
        #expect(try db.query("SELECT id FROM _srv_sites WHERE parent IS NULL") == [[.text("county")]])
        #expect(try db.query("SELECT id FROM sites WHERE parent_id IS NULL") == [[.text("county")]])
    }

    @Test func aSiteAddedWithoutParentGoesUnderTheCountyOnTheCommandLineAndInTheAdminAPI() throws {
        let county = try County("shape-default-parent", sites: ["huashan"], start: false)
        defer { county.cleanup() }
        let admin = try county.daemon.addAdmin("zhang")
        let street = try Self.cpsyncd(county.daemon.dataDir, ["site", "add", "--id", "dongling", "--name", "东岭街道委员工作室", "--kind", "street"])
        #expect(street.ok, "\(street.stderr)")
        try county.daemon.start()
        let added = try HTTPAnswer.send("POST", county.daemon.url + "/v1/admin/sites", token: admin,
                                        body: #"{"id":"chengguan","name":"城关镇政协工委","kind":"township","parent":null}"#)
        #expect(added.status == 201, "\(added.text)")
        let db = try Database(path: county.serverDB)
        #expect(try db.query("SELECT id, parent FROM _srv_sites WHERE id IN ('dongling', 'chengguan') ORDER BY id")
                == [[.text("chengguan"), .text("county")], [.text("dongling"), .text("county")]])
        #expect(try db.query("SELECT id FROM _srv_sites WHERE parent IS NULL") == [[.text("county")]])
        // Every office receives the tree with one top.
        let office = try county.office("huashan")
        try office.must(["sync"])
        #expect(try office.query("SELECT id FROM sites WHERE parent_id IS NULL") == [[.text("county")]])
    }

    @Test func kindsNestTheSameWayOnTheCommandLineAndInTheAdminAPI() throws {
        let county = try County("shape-nest", sites: ["huashan", "chengguan"], start: false)
        defer { county.cleanup() }
        let data = county.daemon.dataDir
        _ = try county.daemon.addSite("taohe", name: "桃河社区联络站", kind: "station", parent: "huashan")
        // The county committee's own office: a county-kind site, directly under the county.
        _ = try county.daemon.addSite("xian", name: "县政协机关", kind: "county", parent: "county")
        let admin = try county.daemon.addAdmin("zhang")
        let before = try contentDump(county.serverDB)
        let refused: [[String]] = [
            ["site", "add", "--id", "jie", "--name", "华山街道", "--kind", "street", "--parent", "huashan"],
            ["site", "add", "--id", "zhan", "--name", "机关联络站", "--kind", "station", "--parent", "xian"],
            ["site", "add", "--id", "xian2", "--name", "县政协机关二", "--kind", "county", "--parent", "huashan"],
            ["site", "move", "xian", "--parent", "huashan"],
            ["site", "move", "chengguan", "--parent", "xian"],
            ["site", "move", "taohe", "--parent", "xian"],
        ]
        for args in refused {
            let r = try Self.cpsyncd(data, args)
            #expect(r.status == 65, "\(args): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("cannot place") && r.stderr.contains("a township or street holds stations"), "\(args): \(r.stderr)")
        }
        #expect(try contentDump(county.serverDB) == before)

        try county.daemon.start()
        let street = try HTTPAnswer.send("POST", county.daemon.url + "/v1/admin/sites", token: admin,
                                         body: #"{"id":"jie","name":"华山街道","kind":"street","parent":"huashan"}"#)
        #expect(street.status == 400 && street.text.contains("cannot place 'jie'"), "\(street.status) \(street.text)")
        let move = try HTTPAnswer.send("POST", county.daemon.url + "/v1/admin/sites/chengguan/move", token: admin, body: #"{"parent":"xian"}"#)
        #expect(move.status == 400 && move.text.contains("cannot place 'chengguan'"), "\(move.status) \(move.text)")
        #expect(try Database(path: county.serverDB).scalar("SELECT count(*) FROM _srv_audit WHERE action = 'site-move'") == .integer(0))
        // What nests is still allowed: a station to another township.
        #expect(try Self.cpsyncd(data, ["site", "move", "taohe", "--parent", "chengguan"]).ok)
    }

    @Test func aCountyRegistersAtTheCityOnlyDirectlyUnderTheCityRoot() throws {
        let ws = TempDir("shape-tier")
        defer { ws.cleanup() }
        let city = ws.path("city")
        #expect(try Self.cpsyncd(city, ["site", "add", "--server-id", "3301-cpsyncd", "--id", "3301", "--name", "杭州市政协", "--kind", "county"]).ok)
        let first = try Self.cpsyncd(city, ["tier", "add", "--id", "330102", "--name", "上城区政协", "--parent", "3301"])
        #expect(first.ok, "\(first.stderr)")
        let below = try Self.cpsyncd(city, ["tier", "add", "--id", "330105", "--name", "拱墅区政协", "--parent", "330102"])
        #expect(below.status == 65 && below.stderr.contains("cannot place '330105'"), "\(below.status) \(below.stderr)")
        let township = try Self.cpsyncd(city, ["site", "add", "--id", "330102-qingbo", "--name", "清波街道", "--kind", "street", "--parent", "330102"])
        #expect(township.status == 65, "\(township.stderr)")
        let listed = try Self.cpsyncd(city, ["tier", "list", "--json"])
        #expect(listed.stdout.contains("\"330102\"") && !listed.stdout.contains("\"330105\""), "\(listed.stdout)")
        // The refused registration left no mark: the county is registered in its place.
        #expect(try Self.cpsyncd(city, ["tier", "add", "--id", "330105", "--name", "拱墅区政协", "--parent", "3301"]).ok)
    }
}
