import CPSyncCore
import CPSyncHTTP
@testable import CPSyncServer
import Foundation
import Testing

/// Backup, restore, the data-directory lock and doctor, as library calls on temporary directories.
@Suite struct MaintenanceTests {
    final class Scratch {
        let root: String
        init() {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-maint-\(UUID().uuidString.prefix(8))").path
            try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        }
        func path(_ name: String) -> String { (root as NSString).appendingPathComponent(name) }
        deinit { try? FileManager.default.removeItem(atPath: root) }
    }

    /// A county data directory with one township and `members` member rows.
    static func county(at data: String, members: Int) throws -> ServerStore {
        let store = try ServerStore(dataDirectory: data)
        _ = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil)
        _ = try store.addSite(id: "huashan", name: "华山镇政协工委", kind: "township", parent: "county")
        try store.write { r in
            try r.database.transaction {
                for i in 0..<members {
                    try r.database.run("INSERT INTO members(id, name, sector, site_id) VALUES (?, ?, '教育', 'huashan')",
                                       [.text("m\(i)"), .text("委员\(i)")])
                }
            }
        }
        return store
    }

    static func memberCount(_ path: String) throws -> Int64 {
        try Database(path: path, readOnly: true).scalar("SELECT count(*) FROM members")?.int64Value ?? -1
    }

    @Test func backupOfAnOpenStoreIsOneCompleteFileThatPassesIntegrityCheck() throws {
        let s = Scratch()
        let store = try Self.county(at: s.path("data"), members: 3000)
        let outcome = try Maintenance.backup(dataDirectory: s.path("data"), to: s.path("b.db"), pagesPerStep: 8)
        #expect(outcome.path == s.path("b.db"))
        #expect(outcome.pages > 8, "several steps were taken")
        #expect(!FileManager.default.fileExists(atPath: s.path("b.db.tmp")))
        #expect(!FileManager.default.fileExists(atPath: s.path("b.db-wal")), "the backup is one self-contained file")
        #expect(try Database(path: s.path("b.db"), readOnly: true).integrityProblems() == [])
        #expect(try Self.memberCount(s.path("b.db")) == 3000)
        _ = store
    }

    @Test func backupSnapshotIsNotDisturbedByWritesBetweenSteps() throws {
        let s = Scratch()
        let store = try Self.county(at: s.path("data"), members: 2000)
        let source = try Database(path: Maintenance.databasePath(s.path("data")), readOnly: true)
        var steps = 0
        try source.backup(into: s.path("b.db"), pagesPerStep: 4) { _ in
            steps += 1
            // A writer commits while the backup is half-way; the copy keeps the snapshot it started with.
            if steps == 3 {
                try? store.write { r in try r.database.run("INSERT INTO members(id, name, sector, site_id) VALUES ('late', '迟到', '教育', 'huashan')") }
            }
        }
        #expect(steps > 3)
        #expect(try Self.memberCount(s.path("b.db")) == 2000)
        #expect(try Self.memberCount(Maintenance.databasePath(s.path("data"))) == 2001)
    }

    @Test func backupIntoADirectoryKeepsOnlyTheNewestBackups() throws {
        let s = Scratch()
        _ = try Self.county(at: s.path("data"), members: 10)
        let dir = s.path("backups")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in ["county-20250101T023000Z.db", "county-20250102T023000Z.db", "county-20250103T023000Z.db",
                     "county-20250103T023000Z-1.db", "notes.txt", "county-keep-me.db"] {
            _ = FileManager.default.createFile(atPath: (dir as NSString).appendingPathComponent(name), contents: Data("x".utf8))
        }
        let outcome = try Maintenance.backup(dataDirectory: s.path("data"), to: dir + "/", keep: 3,
                                             now: Date(timeIntervalSince1970: 1_767_580_200)) // 2026-01-05T02:30:00Z
        #expect(outcome.path == (dir as NSString).appendingPathComponent("county-20260105T023000Z.db"))
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(left == ["county-20250103T023000Z-1.db", "county-20250103T023000Z.db", "county-20260105T023000Z.db",
                         "county-keep-me.db", "notes.txt"])
        #expect(outcome.pruned.count == 2)
    }

    @Test func keepNeedsADirectoryTarget() throws {
        let s = Scratch()
        _ = try Self.county(at: s.path("data"), members: 1)
        #expect(throws: (any Error).self) { try Maintenance.backup(dataDirectory: s.path("data"), to: s.path("one.db"), keep: 3) }
    }

    @Test func backupOfAMissingDataDirectoryFails() {
        let s = Scratch()
        #expect(throws: MaintenanceError.self) { try Maintenance.backup(dataDirectory: s.path("nothing"), to: s.path("b.db")) }
    }

    @Test func serverLockIsExclusiveUntilReleased() throws {
        let s = Scratch()
        let first = ServerLock(dataDirectory: s.path("data"))
        try first.acquire()
        #expect(first.isHeld)
        let second = ServerLock(dataDirectory: s.path("data"))
        #expect(throws: MaintenanceError.self) { try second.acquire() }
        first.release()
        try second.acquire()
        #expect(second.isHeld)
    }

    @Test func restoreReplacesTheDatabaseAndKeepsThePreviousOne() throws {
        let s = Scratch()
        do {
            _ = try Self.county(at: s.path("data"), members: 50)
        }
        _ = try Maintenance.backup(dataDirectory: s.path("data"), to: s.path("b.db"))
        do {
            let store = try ServerStore(dataDirectory: s.path("data"))
            try store.write { r in try r.database.run("DELETE FROM members") }
        }
        let outcome = try Maintenance.restore(dataDirectory: s.path("data"), from: s.path("b.db"),
                                              now: Date(timeIntervalSince1970: 1_767_580_200))
        #expect(outcome.siteID == ServerStore.defaultSiteID)
        #expect(outcome.previous == s.path("data/county.db.before-restore-20260105T023000Z"))
        #expect(try Self.memberCount(s.path("data/county.db")) == 50)
        #expect(try Self.memberCount(outcome.previous!) == 0)
        // The restored directory serves again.
        #expect(try ServerStore(dataDirectory: s.path("data")).sites().map(\.id) == ["county", "huashan"])
    }

    @Test func restoreIntoANewDirectoryCreatesIt() throws {
        let s = Scratch()
        _ = try Self.county(at: s.path("data"), members: 5)
        _ = try Maintenance.backup(dataDirectory: s.path("data"), to: s.path("b.db"))
        let outcome = try Maintenance.restore(dataDirectory: s.path("fresh/data"), from: s.path("b.db"))
        #expect(outcome.previous == nil)
        #expect(try Self.memberCount(outcome.database) == 5)
    }

    @Test func restoreRefusesWhileTheLockIsHeld() throws {
        let s = Scratch()
        _ = try Self.county(at: s.path("data"), members: 5)
        _ = try Maintenance.backup(dataDirectory: s.path("data"), to: s.path("b.db"))
        let daemon = ServerLock(dataDirectory: s.path("data"))
        try daemon.acquire()
        #expect {
            try Maintenance.restore(dataDirectory: s.path("data"), from: s.path("b.db"))
        } throws: { error in
            guard case MaintenanceError.daemonRunning = error else { return false }
            return true
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.path("data")).allSatisfy { !$0.contains("before-restore") })
    }

    @Test func restoreRefusesWhileAnotherConnectionHasTheDatabaseOpen() throws {
        let s = Scratch()
        let store = try Self.county(at: s.path("data"), members: 5)
        _ = try Maintenance.backup(dataDirectory: s.path("data"), to: s.path("b.db"))
        #expect {
            try Maintenance.restore(dataDirectory: s.path("data"), from: s.path("b.db"))
        } throws: { error in
            guard case MaintenanceError.daemonRunning = error else { return false }
            return true
        }
        #expect(try store.sites().count == 2, "the open store still works")
    }

    @Test func restoreRefusesFilesThatAreNotHealthyCountyReplicas() throws {
        let s = Scratch()
        _ = try Self.county(at: s.path("data"), members: 2000)
        // Not SQLite at all.
        _ = FileManager.default.createFile(atPath: s.path("junk.db"), contents: Data(repeating: 0x41, count: 8192))
        // SQLite, but not a county replica.
        try Database(path: s.path("other.db")).execute("CREATE TABLE t(x); INSERT INTO t VALUES (1); PRAGMA journal_mode=DELETE;")
        // A real backup with a damaged page in the middle.
        _ = try Maintenance.backup(dataDirectory: s.path("data"), to: s.path("bad.db"))
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: s.path("bad.db")))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size / 2)
        handle.write(Data(repeating: 0xFF, count: 4096 * 3))
        try handle.close()
        for file in ["junk.db", "other.db", "bad.db"] {
            #expect(throws: MaintenanceError.self, "\(file)") { try Maintenance.restore(dataDirectory: s.path("data"), from: s.path(file)) }
        }
        #expect(try Self.memberCount(s.path("data/county.db")) == 2000, "nothing was replaced")
    }

    @Test func doctorPassesAHealthyDirectoryAndNamesWhatIsWrong() throws {
        let s = Scratch()
        _ = try Self.county(at: s.path("data"), members: 1)
        let healthy = Doctor(dataDirectory: s.path("data"), listen: "127.0.0.1:0").run()
        #expect(healthy.count == 5)
        #expect(!healthy.contains { $0.status == .fail }, "\(healthy)")
        #expect(healthy.first { $0.name == "data dir" }?.status == .pass)
        #expect(healthy.first { $0.name == "database" }?.status == .pass)

        chmod(s.path("data"), 0o755)
        #expect(Doctor(dataDirectory: s.path("data")).checkDataDirectory().status == .warn)

        _ = FileManager.default.createFile(atPath: s.path("plain"), contents: Data())
        let file = Doctor(dataDirectory: s.path("plain")).checkDataDirectory()
        #expect(file.status == .fail && file.detail.contains(s.path("plain")))
        #expect(Doctor(dataDirectory: s.path("absent")).checkDataDirectory().status == .fail)
        #expect(Doctor(dataDirectory: s.path("absent")).checkDatabase().status == .warn)

        let old = Doctor(dataDirectory: s.path("data")).checkClock(now: Date(timeIntervalSince1970: 0), daemonAnswers: false)
        #expect(old.status == .fail && old.detail.contains("1970"))
        #expect(DoctorCheck(.warn, "disk", "low").description == "WARN disk: low")
    }

    @Test func doctorWarnsWhenAnOfficeHasTheServersOwnID() throws {
        let s = Scratch()
        do {
            // An older data directory: the server is `county`, and the county office was registered under it too
            // (written by hand here: that id is refused today).
            let store = try ServerStore(dataDirectory: s.path("data"), siteID: "county")
            try store.write { r in
                try r.database.run("INSERT INTO _srv_sites(id, name, kind, token_hash, created_at) VALUES ('county', '某县政协', 'county', 'x', 0)")
                try r.database.run("INSERT INTO sites(id, name, kind) VALUES ('county', '某县政协', 'county')")
            }
            _ = try store.addSite(id: "huashan", name: "华山镇政协工委", kind: "township", parent: nil)
        }
        let check = Doctor(dataDirectory: s.path("data")).checkDatabase()
        #expect(check.status == .warn)
        #expect(check.detail.contains("'county-office'"), "\(check.detail)")
        _ = try Self.county(at: s.path("new"), members: 1)
        #expect(Doctor(dataDirectory: s.path("new")).checkDatabase().status == .pass)
    }

    @Test func doctorNamesADaemonThatCannotWriteItsDatabase() throws {
        let s = Scratch()
        let store = try Self.county(at: s.path("data"), members: 0)
        var config = HTTPServerConfiguration()
        config.host = "127.0.0.1"
        config.port = 0
        let server = HTTPServer(configuration: config, responder: Router(store: store, log: EventLog(enabled: false)))
        try server.start()
        defer { server.shutdown(gracePeriodSeconds: 1) }
        // The disk fills up under a write (the database may not grow past its size).
        try? store.write { r in
            let pages = try r.database.scalar("PRAGMA page_count")?.int64Value ?? 0
            _ = try r.database.query("PRAGMA max_page_count = \(pages)")
            try r.database.run("INSERT INTO members(id, name, employer) VALUES ('big', '委员', ?)", [.text(String(repeating: "县政协", count: 50_000))])
        }
        let check = Doctor(dataDirectory: s.path("data"), listen: "127.0.0.1:\(server.boundPort)").checkListen()
        #expect(check.check.status == .fail && check.daemonAnswers)
        #expect(check.check.detail.contains("cannot write its database") && check.check.detail.contains("full"), "\(check.check.detail)")
    }

    @Test func doctorFailsAListenAddressHeldByAnotherProgram() throws {
        let s = Scratch()
        // A plain TCP listener that is not cpsyncd.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 4)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let port = UInt16(bigEndian: address.sin_port)
        let check = Doctor(dataDirectory: s.path("data"), listen: "127.0.0.1:\(port)").checkListen()
        #expect(check.check.status == .fail)
        #expect(!check.daemonAnswers)
        #expect(Doctor(dataDirectory: s.path("data"), listen: "nonsense").checkListen().check.status == .fail)
    }
}
