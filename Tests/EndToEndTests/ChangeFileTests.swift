import CPSyncCore
import CPSyncProtocol
import Foundation
import Testing
import TestSupport

/// Sync by USB stick (Protocol/README.md §17), with the real binaries: a station with no link exports its changes,
/// the county imports them as the station's push (`cpsyncd import`, while the daemon serves), and the reply carried
/// back makes the station hold exactly its scope — with the guarantees of HTTP sync: idempotent, signed, the same
/// permissions, nothing lost with a lost stick or a kill -9 in the middle of an import.
@Suite(.serialized) struct ChangeFileTests {
    /// A county (sites county, huashan, chengguan) with the station 西苑社区联络站 under 华山镇, and the station's
    /// replica, initialised with a server address nothing listens on: it never has a link.
    struct Setup {
        let county: County
        let countyOffice: Office
        let station: Office
        let token: String

        init(_ name: String) throws {
            county = try County(name, sites: ["huashan", "chengguan"])
            token = try county.daemon.addSite("xiyuan", name: "西苑社区联络站", kind: "station", parent: "huashan")
            countyOffice = try county.office("county")
            station = try ChangeFileTests.offlineOffice("xiyuan", token: token, in: county.ws)
        }

        func path(_ name: String) -> String { county.ws.path(name) }

        /// `cpsyncd import FILE --reply OUT --json` against the running county's data directory.
        @discardableResult
        func countyImport(_ file: String, reply: String, env: [String: String] = [:]) throws -> RunResult {
            try run(Binaries.cpsyncd, ["import", "--data", county.daemon.dataDir, file, "--reply", reply, "--json"], env: env)
        }

        /// The whole exchange: export at the station, import at the county, import of the reply at the station.
        func exchange(_ label: String) throws {
            let file = path("\(label)-修改.cpsync"), reply = path("\(label)-回执.cpsync")
            try station.must(["export-changes", "--to", file])
            let r = try countyImport(file, reply: reply)
            guard r.ok else { throw HarnessError.failed("cpsyncd import \(label): \(r.stderr)") }
            try station.must(["import-changes", reply])
        }
    }

    static func offlineOffice(_ site: String, token: String, in ws: TempDir) throws -> Office {
        let office = Office(site: site, db: ws.path("\(site).db"))
        let r = try run(Binaries.cpsync, ["init", "--db", office.db, "--server", "http://127.0.0.1:9", "--site", site, "--token", token])
        guard r.ok else { throw HarnessError.failed("init \(site): \(r.stderr)") }
        return office
    }

    /// Changes still unacknowledged: what an export would carry (`cpsync status` says the same, but first waits
    /// for a server that never answers here). The export replaces the previous count's file (`--overwrite`).
    static func pending(_ office: Office) throws -> Int {
        let r = try office.cpsync(["export-changes", "--to", office.db + ".pending.cpsync", "--overwrite", "--json"])
        return JSONText.int(r.stdout, "changes") ?? -1
    }

    /// The office's positions and settings (not the list of files it exported, which every export adds to).
    static func meta(_ office: Office) throws -> [[Value]] { try office.query("SELECT key, value FROM _cp_meta WHERE key != 'sync.file_exports' ORDER BY key") }

    /// The (table, pk, column) of every change a changes file carries.
    static func cells(of path: String, token: String, site: String) throws -> Set<String> {
        let file = try ChangeFile.open(try ChangeFileIO_read(path)) { _ in ChangeFile.key(token: token, site: site) }
        var out: Set<String> = []
        for i in 0..<file.header.batches {
            for c in try file.decode(PushRequest.self, line: i).changes { out.insert("\(c.table)|\(c.pk)|\(c.column ?? "")") }
        }
        return out
    }

    static func ChangeFileIO_read(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// Starts a binary in the background (for killing it mid-run).
    static func start(_ executable: String, _ args: [String], env: [String: String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment
        environment["LANG"] = "C.UTF-8"
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// SIGKILL after `ms` milliseconds, unless it finished first; returns whether it was killed.
    static func kill9(_ p: Process, after ms: Int) -> Bool {
        let deadline = Date().addingTimeInterval(Double(ms) / 1000)
        while p.isRunning && Date() < deadline { usleep(5_000) }
        let killed = p.isRunning
        if killed { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        return killed
    }

    @Test func aStationWithNoLinkSyncsByStickAndEndsHoldingExactlyItsScope() throws {
        let s = try Setup("file-main")
        defer { s.county.cleanup() }
        // The county's records: the station's own member, 华山镇's, 城关镇's (never the station's), a filed proposal.
        try s.countyOffice.sql("INSERT INTO members(id, name, phone, site_id) VALUES ('m-county-xy', '刘德厚', '13700000001', 'xiyuan')")
        try s.countyOffice.sql("INSERT INTO members(id, name, phone, site_id) VALUES ('m-hs', '赵华山', '13700000002', 'huashan')")
        try s.countyOffice.sql("INSERT INTO members(id, name, phone, site_id) VALUES ('m-cg', '钱城关', '13700000003', 'chengguan')")
        try s.countyOffice.sql("INSERT INTO proposals(id, title, site_id, status) VALUES ('p-filed', '关于改善乡村道路的提案', 'chengguan', 'filed')")
        try s.countyOffice.must(["sync"])

        // The clerk's work at the station, offline.
        try s.station.clerk(["member", "add", "--id", "m-xy-1", "--name", "王秀英", "--site", "xiyuan", "--sector", "教育", "--employer", "西苑小学"])
        try s.station.sql("INSERT INTO proposals(id, title, body, site_id, status) VALUES ('p-xy-1', '关于西苑社区增设老年食堂的提案', '建议在社区服务中心开设老年食堂。', 'xiyuan', 'draft')")
        try s.station.sql("INSERT INTO social_reports(id, title, site_id) VALUES ('s-xy-1', '西苑社区停车难问题', 'xiyuan')")
        #expect(JSONText.bool(try s.station.cpsync(["status", "--json"]).stdout, "reachable") == false, "the station has no link")
        let pendingBefore = try Self.pending(s.station)
        #expect(pendingBefore > 0)

        let file = s.path("西苑-修改.cpsync"), reply = s.path("西苑-回执.cpsync")
        let exported = try s.station.must(["export-changes", "--to", file, "--json"])
        #expect(JSONText.int(exported.stdout, "changes") == pendingBefore, "the file holds every pending change: \(exported.stdout)")
        #expect(try Self.pending(s.station) == pendingBefore, "exporting acknowledges nothing")
        let imported = try s.countyImport(file, reply: reply)
        #expect(imported.ok, "\(imported.stderr)")
        #expect(JSONText.int(imported.stdout, "applied") == pendingBefore, "\(imported.stdout)")
        let server = try Database(path: s.county.serverDB)
        #expect(try server.query("SELECT name, employer FROM members WHERE id = 'm-xy-1'") == [[.text("王秀英"), .text("西苑小学")]])
        #expect(try server.query("SELECT title FROM proposals WHERE id = 'p-xy-1'") == [[.text("关于西苑社区增设老年食堂的提案")]])

        let applied = try s.station.must(["import-changes", reply, "--json"])
        #expect(JSONText.bool(applied.stdout, "push_acknowledged") == true, "\(applied.stdout)")
        #expect(try Self.pending(s.station) == 0)
        #expect(try contentDump(s.station.db) == contentDump(s.county.serverDB, scope: "xiyuan"), "the station holds exactly its scope")
        #expect(try s.station.query("SELECT name FROM members ORDER BY id") == [[.text("刘德厚")], [.text("王秀英")]])
        #expect(try s.station.query("SELECT count(*) FROM members WHERE id = 'm-cg'") == [[.integer(0)]], "no other office's members")

        // The township above sees the station's records at its next HTTP sync; a second round by stick carries an edit.
        let huashan = try s.county.office("huashan")
        try huashan.must(["sync"])
        #expect(try huashan.query("SELECT name FROM members WHERE id = 'm-xy-1'") == [[.text("王秀英")]])
        try s.station.clerk(["member", "edit", "m-xy-1", "--phone", "13912345678"])
        try s.countyOffice.sql("UPDATE members SET position = '主任' WHERE id = 'm-county-xy'")
        try s.countyOffice.must(["sync"])
        try s.exchange("第二次")
        #expect(try server.query("SELECT phone FROM members WHERE id = 'm-xy-1'") == [[.text("13912345678")]])
        #expect(try s.station.query("SELECT position FROM members WHERE id = 'm-county-xy'") == [[.text("主任")]])
        #expect(try contentDump(s.station.db) == contentDump(s.county.serverDB, scope: "xiyuan"))
        #expect(try Self.pending(s.station) == 0)
    }

    /// A reply that cannot even be begun (its folder is missing) says nothing was imported, and nothing was; once the
    /// clerk names a folder that works, the same import applies the station's changes.
    @Test func aReplyThatCannotBeBegunSaysNothingWasImported() throws {
        let s = try Setup("file-noreply")
        defer { s.county.cleanup() }
        try s.station.clerk(["member", "add", "--id", "m-xy-9", "--name", "孙丽娟", "--site", "xiyuan"])
        let file = s.path("西苑-修改.cpsync")
        try s.station.must(["export-changes", "--to", file])
        let nowhere = s.path("没有这个文件夹/西苑-回执.cpsync")
        let r = try run(Binaries.cpsyncd, ["import", "--data", s.county.daemon.dataDir, file, "--reply", nowhere], env: ["LANG": "zh_CN.UTF-8"])
        // Said before the import (the folder is checked first: "未做任何改动") or after the reply's file failed to be made.
        #expect(r.status != 0 && (r.stderr.contains("未做任何改动") || r.stderr.contains("未导入任何内容")), "\(r.status) \(r.stderr)")
        #expect(try Database(path: s.county.serverDB).query("SELECT count(*) FROM members WHERE id = 'm-xy-9'") == [[.integer(0)]])
        #expect(try s.countyImport(file, reply: s.path("西苑-回执.cpsync")).ok)
        #expect(try Database(path: s.county.serverDB).query("SELECT name FROM members WHERE id = 'm-xy-9'") == [[.text("孙丽娟")]])
    }

    @Test func importingTwiceOrAnOlderReplyChangesNothing() throws {
        let s = try Setup("file-twice")
        defer { s.county.cleanup() }
        try s.station.clerk(["member", "add", "--id", "m-xy-1", "--name", "孙丽华", "--site", "xiyuan"])
        let e1 = s.path("e1.cpsync"), r1 = s.path("r1.cpsync"), r1again = s.path("r1-again.cpsync")
        try s.station.must(["export-changes", "--to", e1])
        #expect(try s.countyImport(e1, reply: r1).ok)
        let countyAfterFirst = try contentDump(s.county.serverDB)
        let conflictsAfterFirst = try Database(path: s.county.serverDB).query("SELECT count(*) FROM _cp_conflicts")
        // The county: the same file again applies nothing (every batch replays its stored answer).
        let again = try s.countyImport(e1, reply: r1again)
        #expect(again.ok, "\(again.stderr)")
        #expect(JSONText.int(again.stdout, "applied") == 0 && JSONText.int(again.stdout, "replayed") == JSONText.int(again.stdout, "batches"), "\(again.stdout)")
        #expect(try contentDump(s.county.serverDB) == countyAfterFirst)
        #expect(try Database(path: s.county.serverDB).query("SELECT count(*) FROM _cp_conflicts") == conflictsAfterFirst)

        // The station: the reply twice.
        try s.station.must(["import-changes", r1])
        let dump1 = try contentDump(s.station.db), meta1 = try Self.meta(s.station)
        let twice = try s.station.must(["import-changes", r1, "--json"])
        #expect(JSONText.bool(twice.stdout, "already_imported") == true, "\(twice.stdout)")
        #expect(try contentDump(s.station.db) == dump1)
        #expect(try Self.meta(s.station) == meta1)

        // A newer exchange, then the older replies: nothing changes.
        try s.station.clerk(["member", "edit", "m-xy-1", "--phone", "13800001111"])
        try s.countyOffice.sql("INSERT INTO members(id, name, site_id) VALUES ('m-new', '周新', 'xiyuan')")
        try s.countyOffice.must(["sync"])
        try s.exchange("newer")
        let dump2 = try contentDump(s.station.db), meta2 = try Self.meta(s.station)
        #expect(dump2.contains("周新") && dump2.contains("13800001111"))
        for old in [r1, r1again] {
            let r = try s.station.must(["import-changes", old, "--json"])
            #expect(JSONText.bool(r.stdout, "already_imported") == true, "\(r.stdout)")
        }
        #expect(try contentDump(s.station.db) == dump2)
        #expect(try Self.meta(s.station) == meta2)
        #expect(try contentDump(s.station.db) == contentDump(s.county.serverDB, scope: "xiyuan"))
    }

    @Test func tamperedForeignAndMisdirectedFilesAreRefusedWithNothingApplied() throws {
        let s = try Setup("file-refused")
        defer { s.county.cleanup() }
        try s.station.clerk(["member", "add", "--id", "m-xy-1", "--name", "王秀英", "--site", "xiyuan"])
        let file = s.path("修改.cpsync"), reply = s.path("回执.cpsync")
        try s.station.must(["export-changes", "--to", file])
        let countyBefore = try contentDump(s.county.serverDB)

        // One character changed (王秀英 → 王秀芳, same length): refused, in Chinese under zh, no reply written.
        let original = try Self.ChangeFileIO_read(file)
        let tamperedText = String(decoding: original, as: UTF8.self).replacingOccurrences(of: "王秀英", with: "王秀芳")
        let tampered = s.path("改过.cpsync")
        try Data(tamperedText.utf8).write(to: URL(fileURLWithPath: tampered))
        var r = try s.countyImport(tampered, reply: reply)
        #expect(r.status == 65 && r.stderr.contains("signature"), "\(r.status) \(r.stderr)")
        r = try run(Binaries.cpsyncd, ["import", "--data", s.county.daemon.dataDir, tampered, "--reply", reply], env: ["LANG": "zh_CN.UTF-8"])
        #expect(r.status == 65 && r.stderr.contains("签名"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: reply))
        // Cut short on the way (the stick pulled out while copying).
        let truncated = s.path("半截.cpsync")
        try Data(original.prefix(original.count - 30)).write(to: URL(fileURLWithPath: truncated))
        r = try s.countyImport(truncated, reply: reply)
        #expect(r.status == 65 && r.stderr.contains("incomplete"), "\(r.stderr)")

        // A station of another county with the same site id: its token is not this county's.
        let other = try County("file-foreign", sites: [], start: false)
        defer { other.cleanup() }
        _ = try other.daemon.addSite("huashan", name: "华山镇", kind: "township", parent: "county")
        let foreignToken = try other.daemon.addSite("xiyuan", name: "西苑", kind: "station", parent: "huashan")
        let foreign = try Self.offlineOffice("xiyuan", token: foreignToken, in: other.ws)
        try foreign.clerk(["member", "add", "--id", "m-foreign", "--name", "外县委员", "--site", "xiyuan"])
        let foreignFile = other.ws.path("外县.cpsync")
        try foreign.must(["export-changes", "--to", foreignFile])
        r = try s.countyImport(foreignFile, reply: reply)
        #expect(r.status == 65 && r.stderr.contains("signature"), "\(r.stderr)")
        // A station this county never registered.
        let unknown = try Self.offlineOffice("lianhe", token: foreignToken, in: other.ws)
        try unknown.clerk(["member", "add", "--id", "m-lianhe", "--name", "莲荷委员"])
        let unknownFile = other.ws.path("莲荷.cpsync")
        try unknown.must(["export-changes", "--to", unknownFile])
        r = try s.countyImport(unknownFile, reply: reply)
        #expect(r.status == 65 && r.stderr.contains("not registered"), "\(r.stderr)")
        #expect(try contentDump(s.county.serverDB) == countyBefore, "nothing of a refused file was applied")
        #expect(!FileManager.default.fileExists(atPath: reply))

        // At the station: its own changes file is not a reply; another station's reply is not for it; a tampered reply.
        let metaBefore = try Self.meta(s.station), dumpBefore = try contentDump(s.station.db)
        r = try s.station.cpsync(["import-changes", file])
        #expect(r.status == 65 && r.stderr.contains("not a county reply"), "\(r.stderr)")
        let dongyuanToken = try s.county.daemon.addSite("dongyuan", name: "东园社区联络站", kind: "station", parent: "huashan")
        let dongyuan = try Self.offlineOffice("dongyuan", token: dongyuanToken, in: s.county.ws)
        try dongyuan.clerk(["member", "add", "--id", "m-dy", "--name", "东园委员", "--site", "dongyuan"])
        let dyFile = s.path("东园.cpsync"), dyReply = s.path("东园-回执.cpsync")
        try dongyuan.must(["export-changes", "--to", dyFile])
        #expect(try s.countyImport(dyFile, reply: dyReply).ok)
        r = try s.station.cpsync(["import-changes", dyReply])
        #expect(r.status == 65 && r.stderr.contains("'dongyuan'"), "\(r.stderr)")
        #expect(try s.countyImport(file, reply: reply).ok)
        var replyBytes = try Self.ChangeFileIO_read(reply)
        replyBytes[replyBytes.count / 2] ^= 0x20
        let badReply = s.path("改过的回执.cpsync")
        try Data(replyBytes).write(to: URL(fileURLWithPath: badReply))
        r = try s.station.cpsync(["import-changes", badReply])
        #expect(r.status == 65, "\(r.stderr)")
        #expect(try Self.meta(s.station) == metaBefore)
        #expect(try contentDump(s.station.db) == dumpBefore)
        // The genuine reply still works afterwards.
        try s.station.must(["import-changes", reply])
        #expect(try Self.pending(s.station) == 0)
    }

    @Test func permissionsAreTheCountysAsOverHTTP() throws {
        let s = try Setup("file-permissions")
        defer { s.county.cleanup() }
        // Before its first exchange the station does not know the tree, so nothing stops this write locally: a
        // member of 城关镇, which the station may not write. The county refuses that row, and only that row.
        try s.station.sql("INSERT INTO members(id, name, site_id) VALUES ('m-not-mine', '越权委员', 'chengguan')")
        try s.station.clerk(["member", "add", "--id", "m-xy-1", "--name", "王秀英", "--site", "xiyuan"])
        let file = s.path("修改.cpsync"), reply = s.path("回执.cpsync")
        try s.station.must(["export-changes", "--to", file])
        let r = try s.countyImport(file, reply: reply)
        #expect(r.ok, "\(r.stderr)")
        #expect((JSONText.int(r.stdout, "refused") ?? 0) > 0, "\(r.stdout)")
        let server = try Database(path: s.county.serverDB)
        #expect(try server.query("SELECT count(*) FROM members WHERE id = 'm-not-mine'") == [[.integer(0)]])
        #expect(try server.query("SELECT name FROM members WHERE id = 'm-xy-1'") == [[.text("王秀英")]])
        // The station sets the refused row aside, says why and exits 65, as after an HTTP push.
        let applied = try s.station.cpsync(["import-changes", reply])
        #expect(applied.status == 65, "\(applied.stdout) \(applied.stderr)")
        #expect(applied.stderr.contains("m-not-mine"), "\(applied.stderr)")
        let status = try s.station.cpsync(["status", "--json"]).stdout
        #expect(status.contains("m-not-mine") && status.contains("forbidden"), "\(status)")
        // Exporting again does not send the held row.
        let again = s.path("再次.cpsync")
        // (The row left the station's scope with the reply and was forgotten, as after an HTTP pull.)
        let export = try s.station.cpsync(["export-changes", "--to", again])
        #expect(export.status == 0 || export.status == 65, "\(export.stderr)")
        #expect(try !Self.cells(of: again, token: s.token, site: "xiyuan").contains { $0.contains("m-not-mine") })
    }

    @Test func aReplyToAFileOfAnEarlierInstallationIsRefusedAndLosesNothing() throws {
        // The station's database is deleted and made again (a reinstalled PC); a reply to a file the old database
        // wrote turns up. Its acknowledgement would mark the new database's changes as received: refused, nothing changed.
        let s = try Setup("file-reinstalled")
        defer { s.county.cleanup() }
        try s.station.clerk(["member", "add", "--id", "m-xy-old", "--name", "旧库委员", "--site", "xiyuan"])
        let oldFile = s.path("旧库.cpsync"), oldReply = s.path("旧库回执.cpsync")
        try s.station.must(["export-changes", "--to", oldFile])
        #expect(try s.countyImport(oldFile, reply: oldReply).ok)
        try FileManager.default.removeItem(atPath: s.station.db)
        let station = try ChangeFileTests.offlineOffice("xiyuan", token: s.token, in: s.county.ws)
        try station.clerk(["member", "add", "--id", "m-xy-new", "--name", "新库委员", "--site", "xiyuan"])
        let before = try Self.meta(station)
        let stale = try station.cpsync(["import-changes", oldReply], env: ["LANG": "zh_CN.UTF-8"])
        #expect(stale.status == 65 && stale.stderr.contains("不是本机站点 'xiyuan' 的这个数据库导出的"), "\(stale.status) \(stale.stderr)")
        #expect(try Self.meta(station) == before, "no position moved")
        #expect(try Self.pending(station) > 0, "the new database's changes still wait to go")
        // Its own file's reply is taken, and the new member reaches the county.
        let newFile = s.path("新库.cpsync"), newReply = s.path("新库回执.cpsync")
        try station.must(["export-changes", "--to", newFile])
        #expect(try s.countyImport(newFile, reply: newReply).ok)
        try station.must(["import-changes", newReply])
        #expect(try Database(path: s.county.serverDB).scalar("SELECT name FROM members WHERE id = 'm-xy-new'") == .text("新库委员"))
        // (The earlier installation's records come back with the reply under the station's own site id: sent once more,
        // known at the county, and then nothing is left.)
        let again = s.path("再次.cpsync"), againReply = s.path("再次回执.cpsync")
        try station.must(["export-changes", "--to", again])
        #expect(try s.countyImport(again, reply: againReply).ok)
        try station.must(["import-changes", againReply])
        #expect(try Self.pending(station) == 0)
    }

    @Test func aLostStickLosesNothingAndAFoundOneChangesNothing() throws {
        let s = try Setup("file-lost")
        defer { s.county.cleanup() }
        try s.station.clerk(["member", "add", "--id", "m-xy-1", "--name", "王秀英", "--site", "xiyuan", "--phone", "13900000001"])
        let lost = s.path("丢失的U盘.cpsync")
        try s.station.must(["export-changes", "--to", lost])
        // More work, then a new export: it holds everything the lost one did, and the new work.
        try s.station.clerk(["member", "add", "--id", "m-xy-2", "--name", "李建国", "--site", "xiyuan"])
        try s.station.clerk(["member", "edit", "m-xy-1", "--phone", "13900000002"])
        let second = s.path("第二个U盘.cpsync"), reply = s.path("回执.cpsync")
        try s.station.must(["export-changes", "--to", second])
        let lostCells = try Self.cells(of: lost, token: s.token, site: "xiyuan")
        let secondCells = try Self.cells(of: second, token: s.token, site: "xiyuan")
        #expect(lostCells.isSubset(of: secondCells) && secondCells.count > lostCells.count)
        #expect(try s.countyImport(second, reply: reply).ok)
        try s.station.must(["import-changes", reply])
        #expect(try Self.pending(s.station) == 0)
        let server = try Database(path: s.county.serverDB)
        #expect(try server.query("SELECT name, phone FROM members WHERE id LIKE 'm-xy-%' ORDER BY id")
                == [[.text("王秀英"), .text("13900000002")], [.text("李建国"), .text("")]])
        // The lost stick turns up and is imported after all: the older values do not win, nothing changes anywhere.
        let countyBefore = try contentDump(s.county.serverDB), stationBefore = try contentDump(s.station.db)
        let lateReply = s.path("迟到的回执.cpsync")
        let late = try s.countyImport(lost, reply: lateReply)
        #expect(late.ok, "\(late.stderr)")
        #expect(try contentDump(s.county.serverDB) == countyBefore)
        try s.station.must(["import-changes", lateReply])
        #expect(try contentDump(s.station.db) == stationBefore)
        #expect(try Self.pending(s.station) == 0)
    }

    @Test func killedMidImportAtTheCountyOrTheStationReimportCompletesWithNothingLostOrDuplicated() throws {
        let s = try Setup("file-kill")
        defer { s.county.cleanup() }
        let count = 3000
        let db = try Database(path: s.station.db)
        try db.transaction {
            for i in 0..<count {
                try db.run("INSERT INTO members(id, name, gender, sector, site_id, phone, employer) VALUES (?, ?, ?, '教育界', 'xiyuan', ?, ?)",
                           [.text(String(format: "m%05d", i)), .text("委员\(i)号"), .text(i % 2 == 0 ? "女" : "男"),
                            .text("1380000\(String(format: "%04d", i))"), .text("西苑第\(i % 7)小学")])
            }
        }
        let pendingBefore = try Self.pending(s.station)
        let file = s.path("大文件.cpsync"), reply = s.path("回执.cpsync")
        let exported = try s.station.must(["export-changes", "--to", file, "--json"])
        #expect((JSONText.int(exported.stdout, "batches") ?? 0) >= 3, "several batches: \(exported.stdout)")

        // The county's import, killed between batches at a random moment, then run again.
        var killedCounty = 0
        for _ in 0..<2 {
            let p = try Self.start(Binaries.cpsyncd, ["import", "--data", s.county.daemon.dataDir, file, "--reply", reply],
                                   env: ["CPSYNC_TEST_IMPORT_PAUSE_MS": "400"])
            if Self.kill9(p, after: Int.random(in: 150...900)) { killedCounty += 1 }
        }
        #expect(killedCounty > 0, "the county import was never killed mid-way")
        let done = try s.countyImport(file, reply: reply)
        #expect(done.ok, "\(done.stderr)")
        let server = try Database(path: s.county.serverDB)
        #expect(try server.query("SELECT count(*), count(DISTINCT id) FROM members WHERE site_id = 'xiyuan'") == [[.integer(Int64(count)), .integer(Int64(count))]])
        #expect(try server.query("SELECT count(*) FROM _srv_batches WHERE site = 'xiyuan'").first?.first?.int64Value ?? 0 >= 3)

        // The station's import of the reply, killed between pages at a random moment: it is one transaction.
        let metaBefore = try Self.meta(s.station)
        var killedStation = 0
        for _ in 0..<2 {
            let p = try Self.start(Binaries.cpsync, ["import-changes", "--db", s.station.db, reply], env: ["CPSYNC_TEST_IMPORT_PAUSE_MS": "300"])
            if Self.kill9(p, after: Int.random(in: 100...700)) { killedStation += 1 }
            #expect(try Self.meta(s.station) == metaBefore, "a killed reply import left a trace")
            #expect(try Self.pending(s.station) == pendingBefore)
        }
        #expect(killedStation > 0, "the station import was never killed mid-way")
        let applied = try s.station.must(["import-changes", reply, "--json"])
        #expect((JSONText.int(applied.stdout, "pages") ?? 0) >= 2, "several pages: \(applied.stdout)")
        #expect(try Self.pending(s.station) == 0)
        #expect(try s.station.query("SELECT count(*) FROM members") == [[.integer(Int64(count))]])
        #expect(try contentDump(s.station.db) == contentDump(s.county.serverDB, scope: "xiyuan"))
    }

    @Test func aTownshipWithALinkRelaysItsStationsFilesAndOnlyItsOwn() throws {
        let s = try Setup("file-relay")
        defer { s.county.cleanup() }
        try s.countyOffice.sql("INSERT INTO members(id, name, site_id) VALUES ('m-county-xy', '刘德厚', 'xiyuan')")
        try s.countyOffice.must(["sync"])
        try s.station.clerk(["member", "add", "--id", "m-xy-1", "--name", "王秀英", "--site", "xiyuan"])
        let file = s.path("西苑-修改.cpsync")
        try s.station.must(["export-changes", "--to", file])
        let server = try Database(path: s.county.serverDB)

        // 城关镇 is not above the station: the county refuses its relay, and says so when the replies are asked for.
        let chengguan = try s.county.office("chengguan")
        try chengguan.must(["relay-import", file])
        try chengguan.must(["sync"])
        let cgDir = s.path("城关回执")
        try FileManager.default.createDirectory(atPath: cgDir, withIntermediateDirectories: true)
        let refused = try chengguan.cpsync(["relay-replies", "--to", cgDir])
        #expect(refused.status == 77 && refused.stderr.contains("may not relay"), "\(refused.status) \(refused.stderr)")
        #expect(try server.query("SELECT count(*) FROM members WHERE id = 'm-xy-1'") == [[.integer(0)]])
        #expect(try FileManager.default.contentsOfDirectory(atPath: cgDir).isEmpty)

        // 华山镇, above the station, keeps the file (once), forwards it at its next push and keeps the reply.
        let huashan = try s.county.office("huashan")
        try huashan.must(["sync"])
        #expect(JSONText.bool(try huashan.must(["relay-import", file, "--json"]).stdout, "new") == true)
        #expect(JSONText.bool(try huashan.must(["relay-import", file, "--json"]).stdout, "new") == false)
        let pushed = try huashan.must(["push"])
        #expect(pushed.stderr.contains("forwarded 1"), "\(pushed.stderr)")
        #expect(try server.query("SELECT name FROM members WHERE id = 'm-xy-1'") == [[.text("王秀英")]])
        let dir = s.path("华山回执")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(JSONText.int(try huashan.must(["relay-replies", "--to", dir, "--json"]).stdout, "written") == 1)
        let replies = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(replies.count == 1)
        try s.station.must(["import-changes", (dir as NSString).appendingPathComponent(replies[0])])
        #expect(try Self.pending(s.station) == 0)
        #expect(try contentDump(s.station.db) == contentDump(s.county.serverDB, scope: "xiyuan"))
        // Forwarded once: the next push does not send it again.
        #expect(!(try huashan.must(["push"]).stderr.contains("forwarded")))

        // A tampered file relayed by the right township is refused by the county all the same.
        let tampered = s.path("改过.cpsync")
        try s.station.clerk(["member", "edit", "m-xy-1", "--phone", "13900000000"])
        try s.station.must(["export-changes", "--to", tampered])
        let text = try String(contentsOfFile: tampered, encoding: .utf8).replacingOccurrences(of: "13900000000", with: "13900000001")
        try text.write(toFile: tampered, atomically: true, encoding: .utf8)
        try huashan.must(["relay-import", tampered])
        try huashan.must(["push"])
        let again = try huashan.cpsync(["relay-replies", "--to", dir])
        #expect(again.status == 77 && again.stderr.contains("signature"), "\(again.stderr)")
        #expect(try server.query("SELECT phone FROM members WHERE id = 'm-xy-1'") == [[.text("")]])
    }

    /// A township that kept a station's file as a BLOB in its replica (before files were kept beside it) forwards it
    /// after the upgrade: the row's bytes move to `<db>.relay/`, the file goes by the file store, and an answered
    /// row's reply is written for the clerk as before.
    @Test func aRelayKeptInsideTheReplicaByAnOlderTownshipIsForwardedAfterTheUpgrade() throws {
        let s = try Setup("file-relay-upgrade")
        defer { s.county.cleanup() }
        try s.station.clerk(["member", "add", "--id", "m-xy-old", "--name", "赵立新", "--site", "xiyuan"])
        let file = s.path("旧.cpsync")
        try s.station.must(["export-changes", "--to", file])
        let huashan = try s.county.office("huashan")
        try huashan.must(["sync"])
        let bytes = try Self.ChangeFileIO_read(file)
        let header = try ChangeFile.peekHeader(bytes)
        // The table as an older township made it.
        try huashan.sql("DROP TABLE IF EXISTS _cp_relay")
        try huashan.sql("""
            CREATE TABLE _cp_relay (
              file_id TEXT PRIMARY KEY NOT NULL, site TEXT NOT NULL, file BLOB NOT NULL, received_at INTEGER NOT NULL,
              reply BLOB, replied_at INTEGER, error TEXT
            )
            """)
        try huashan.sql("INSERT INTO _cp_relay(file_id, site, file, received_at) VALUES (?, 'xiyuan', ?, 1)", [.text(header.fileId), .blob(bytes)])
        try huashan.sql("INSERT INTO _cp_relay(file_id, site, file, received_at, reply, replied_at) VALUES ('answered-before', 'xiyuan', x'00', 2, ?, 3)",
                        [.blob(Array("an earlier reply\n".utf8))])

        let pushed = try huashan.must(["push"])
        #expect(pushed.stderr.contains("forwarded 1"), "\(pushed.stderr)")
        #expect(try huashan.query("SELECT file_id, length(file), reply IS NULL, sha256 IS NOT NULL FROM _cp_relay ORDER BY received_at")
                == [[.text(header.fileId), .integer(0), .integer(1), .integer(1)], [.text("answered-before"), .integer(0), .integer(1), .integer(1)]])
        let server = try Database(path: s.county.serverDB)
        #expect(try server.query("SELECT name FROM members WHERE id = 'm-xy-old'") == [[.text("赵立新")]])
        let dir = s.path("回执")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(JSONText.int(try huashan.must(["relay-replies", "--to", dir, "--json"]).stdout, "written") == 2)
        let replies = try FileManager.default.contentsOfDirectory(atPath: dir).map { (dir as NSString).appendingPathComponent($0) }
        #expect(try replies.map { try Self.ChangeFileIO_read($0) }.contains(Array("an earlier reply\n".utf8)))
        let reply = try #require(replies.first { $0.contains(header.fileId.prefix(8)) })
        try s.station.must(["import-changes", reply])
        #expect(try Self.pending(s.station) == 0)
    }

    @Test func aCountyRestoredFromABackupGetsTheStationsChangesAgain() throws {
        let s = try Setup("file-restore")
        defer { s.county.cleanup() }
        try s.station.clerk(["member", "add", "--id", "m-xy-1", "--name", "王秀英", "--site", "xiyuan"])
        try s.exchange("一")
        let backup = s.path("county-backup.db")
        let b = try run(Binaries.cpsyncd, ["backup", "--data", s.county.daemon.dataDir, "--to", backup])
        #expect(b.ok, "\(b.stderr)")
        // Acknowledged by the county after the backup was taken: lost to the county when it is restored.
        try s.station.clerk(["member", "add", "--id", "m-xy-2", "--name", "李建国", "--site", "xiyuan"])
        try s.exchange("二")
        #expect(try Self.pending(s.station) == 0)
        let oldEpochReply = s.path("二-回执.cpsync")
        s.county.daemon.stop()
        let r = try run(Binaries.cpsyncd, ["restore", "--data", s.county.daemon.dataDir, "--from", backup])
        #expect(r.ok, "\(r.stderr)")
        try s.county.daemon.start()
        let server = try Database(path: s.county.serverDB)
        #expect(try server.query("SELECT count(*) FROM members WHERE id = 'm-xy-2'") == [[.integer(0)]])

        // The next reply comes from a county with a new epoch: the station resets its cursors and sends everything
        // again at the following exchange, as over HTTP.
        try s.exchange("三")
        #expect(try Self.pending(s.station) > 0, "after a restore the station must send everything again")
        try s.exchange("四")
        #expect(try Self.pending(s.station) == 0)
        // A reply from before the restore, imported late: it changes nothing (no second reset).
        let metaNow = try Self.meta(s.station), dumpNow = try contentDump(s.station.db)
        #expect(JSONText.bool(try s.station.must(["import-changes", oldEpochReply, "--json"]).stdout, "already_imported") == true)
        #expect(try Self.meta(s.station) == metaNow)
        #expect(try contentDump(s.station.db) == dumpNow)
        #expect(try server.query("SELECT name FROM members WHERE id LIKE 'm-xy-%' ORDER BY id") == [[.text("王秀英")], [.text("李建国")]])
        #expect(try contentDump(s.station.db) == contentDump(s.county.serverDB, scope: "xiyuan"))
    }

    @Test func aStationWithAFastClockIsRefusedLosesNothingAndHealsOnceTheClockIsRight() throws {
        guard let faketime = ["/usr/bin/faketime", "/usr/local/bin/faketime"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            try Test.cancel("faketime is not installed (apt-get install faketime; make test-deps does)")
        }
        let s = try Setup("file-clock")
        defer { s.county.cleanup() }
        try s.countyOffice.sql("INSERT INTO members(id, name, site_id) VALUES ('m-county-xy', '刘德厚', 'xiyuan')")
        try s.countyOffice.must(["sync"])
        // The clerk works with the station PC's clock 3 hours fast.
        let fast = try run(faketime, ["-f", "+3h", Binaries.cpsync, "member", "add", "--db", s.station.db, "--id", "m-xy-1", "--name", "王秀英", "--site", "xiyuan"])
        #expect(fast.ok, "\(fast.stderr)")
        let file = s.path("快钟.cpsync"), reply = s.path("快钟-回执.cpsync")
        #expect(try run(faketime, ["-f", "+3h", Binaries.cpsync, "export-changes", "--db", s.station.db, "--to", file]).ok)
        let imported = try s.countyImport(file, reply: reply)
        #expect(imported.status == 77 && imported.stderr.contains("clock"), "\(imported.status) \(imported.stderr)")
        #expect(try Database(path: s.county.serverDB).query("SELECT count(*) FROM members WHERE id = 'm-xy-1'") == [[.integer(0)]])
        let pending = try Self.pending(s.station)

        // The reply, imported while the clock is still fast: the county's records arrive, the change stays queued.
        let stillFast = try run(faketime, ["-f", "+3h", Binaries.cpsync, "import-changes", "--db", s.station.db, reply, "--json"])
        #expect(stillFast.status == 77 && JSONText.int(stillFast.stdout, "restamped") == 0, "\(stillFast.stdout) \(stillFast.stderr)")
        #expect(try s.station.query("SELECT name FROM members WHERE id = 'm-county-xy'") == [[.text("刘德厚")]])
        #expect(try Self.pending(s.station) == pending)

        // Once the clock is right, the next reply heals it: the change is stamped again and goes with the next export.
        let file2 = s.path("快钟2.cpsync"), reply2 = s.path("快钟2-回执.cpsync")
        try s.station.must(["export-changes", "--to", file2])
        #expect(try s.countyImport(file2, reply: reply2).status == 77)
        let healed = try s.station.cpsync(["import-changes", reply2, "--json"])
        #expect(healed.status == 77 && JSONText.int(healed.stdout, "restamped") != 0, "\(healed.stdout) \(healed.stderr)")
        try s.exchange("对钟以后")
        #expect(try Self.pending(s.station) == 0)
        #expect(try Database(path: s.county.serverDB).query("SELECT name FROM members WHERE id = 'm-xy-1'") == [[.text("王秀英")]])
        #expect(try contentDump(s.station.db) == contentDump(s.county.serverDB, scope: "xiyuan"))
    }

    @Test func anEditDisplacedByTheRepliesPullIsKeptAndReachesTheCountyAsAConflict() throws {
        let s = try Setup("file-outbox")
        defer { s.county.cleanup() }
        try s.countyOffice.sql("INSERT INTO members(id, name, phone, site_id) VALUES ('m-x', '刘德厚', '13700000000', 'xiyuan')")
        try s.countyOffice.must(["sync"])
        try s.exchange("一")
        // The clerk exports (nothing pending), then edits the phone; meanwhile the county office edits it too.
        let file = s.path("二.cpsync"), reply = s.path("二-回执.cpsync")
        try s.station.must(["export-changes", "--to", file])
        try s.station.clerk(["member", "edit", "m-x", "--phone", "13911111111"])
        usleep(5_000)
        try s.countyOffice.clerk(["member", "edit", "m-x", "--phone", "13822222222"])
        try s.countyOffice.must(["sync"])
        #expect(try s.countyImport(file, reply: reply).ok)
        // The reply's pull brings the county's later value: the station's own unsent edit waits in the outbox.
        try s.station.must(["import-changes", reply])
        #expect(try s.station.query("SELECT phone FROM members WHERE id = 'm-x'") == [[.text("13822222222")]])
        #expect(try s.station.query("SELECT count(*) FROM _cp_outbox") == [[.integer(1)]])
        // The next exchange sends it first; the county keeps both values as a conflict; the outbox empties.
        try s.exchange("三")
        #expect(try s.station.query("SELECT count(*) FROM _cp_outbox") == [[.integer(0)]])
        let conflicts = try Database(path: s.county.serverDB).query(
            "SELECT winner_value, other_value FROM _cp_conflicts WHERE tbl = 'members' AND pk = 'm-x' AND col = 'phone'")
        #expect(conflicts == [[.text("13822222222"), .text("13911111111")]])
        #expect(try Self.pending(s.station) == 0)
        #expect(try contentDump(s.station.db) == contentDump(s.county.serverDB, scope: "xiyuan"))
    }
}

extension Office {
    /// `cpsync VERB SUB … --db PATH` (verbs with sub-verbs take the options after the sub-verb).
    @discardableResult
    func clerk(_ args: [String]) throws -> RunResult {
        let r = try run(Binaries.cpsync, args + ["--db", db])
        guard r.ok else { throw HarnessError.failed("cpsync \(args.joined(separator: " ")) at \(site) exited \(r.status): \(r.stderr)") }
        return r
    }
}
