import CPSyncCore
import Foundation
import Testing
import TestSupport

/// `cpsyncd backup` while offices push, and `cpsyncd restore`, with the real binaries.
@Suite(.serialized) struct BackupTests {
    @Test func backupTakenWhileOfficesPushHoldsEveryAcknowledgedChangeAndRestores() throws {
        let ws = TempDir("backup")
        defer { ws.cleanup() }
        let daemon = Daemon(dataDir: ws.path("data"))
        defer { daemon.stop() }
        _ = try daemon.addSite("county", name: "某县政协", kind: "county", parent: nil)
        let sites = ["huashan", "chengguan", "taohe"]
        var offices: [Office] = []
        var tokens: [String: String] = [:]
        for s in sites { tokens[s] = try daemon.addSite(s, name: s) }
        try daemon.start()
        for s in sites { offices.append(try Office.create(s, in: ws, daemon: daemon, token: tokens[s]!)) }

        // Each office: add a member, push, record it as acknowledged once push exits 0; until told to stop.
        let acknowledged = Guard<[(id: String, at: Date)]>([])
        let failures = Guard<[String]>([])
        let stop = Guard(false)
        let group = DispatchGroup()
        for office in offices {
            group.enter()
            DispatchQueue.global().async {
                defer { group.leave() }
                var i = 0
                while !stop.get() && i < 200 {
                    let id = "\(office.site)-\(i)"
                    i += 1
                    do {
                        try office.sql("INSERT INTO members(id, name, sector, site_id) VALUES (?, ?, '教育', ?)",
                                       [.text(id), .text("委员\(id)"), .text(office.site)])
                        let r = try office.cpsync(["push"])
                        if r.ok { acknowledged.update { $0.append((id, Date())) } } else { failures.update { $0.append(r.stderr) } }
                    } catch {
                        failures.update { $0.append("\(error)") }
                    }
                }
            }
        }
        let warmup = Date().addingTimeInterval(30)
        while acknowledged.get().count < 9 && Date() < warmup { usleep(20_000) }

        let backupStarted = Date()
        let before = Set(acknowledged.get().filter { $0.at < backupStarted }.map(\.id))
        let backup = try run(Binaries.cpsyncd, ["backup", "--data", daemon.dataDir, "--to", ws.path("county-backup.db")])
        let backupEnded = Date()
        // Pushes carry on after the backup: the daemon never stopped serving.
        let deadline = Date().addingTimeInterval(30)
        while acknowledged.get().filter({ $0.at > backupEnded }).count < 3 && Date() < deadline { usleep(20_000) }
        stop.set(true)
        group.wait()

        #expect(backup.ok, "backup: \(backup.stderr)")
        #expect(failures.get().isEmpty, "pushes failed: \(failures.get().prefix(3))")
        #expect(before.count >= 9)
        #expect(acknowledged.get().contains { $0.at > backupEnded }, "pushes kept succeeding after the backup")

        // Restore into a new data directory; everything acknowledged before the backup started is there.
        let restoredDir = ws.path("restored")
        let restore = try run(Binaries.cpsyncd, ["restore", "--data", restoredDir, "--from", ws.path("county-backup.db")])
        #expect(restore.ok, "restore: \(restore.stderr)")
        let restored = try Database(path: restoredDir + "/county.db", readOnly: true)
        #expect(try restored.integrityProblems() == [])
        let ids = Set(try restored.query("SELECT id FROM members").compactMap { $0[0].stringValue })
        let missing = before.subtracting(ids)
        #expect(missing.isEmpty, "acknowledged before the backup but missing: \(missing.sorted().prefix(10))")

        // The restored directory serves: the same site tokens work against a daemon started on it.
        let second = Daemon(dataDir: restoredDir)
        defer { second.stop() }
        try second.start()
        let fresh = try Office.create("huashan", in: TempDir("backup-fresh"), daemon: second, token: tokens["huashan"]!)
        defer { try? FileManager.default.removeItem(atPath: (fresh.db as NSString).deletingLastPathComponent) }
        try fresh.must(["pull"])
    }

    @Test func restoreRefusesADataDirectoryInUse() throws {
        let ws = TempDir("restore-busy")
        defer { ws.cleanup() }
        let daemon = Daemon(dataDir: ws.path("data"))
        defer { daemon.stop() }
        _ = try daemon.addSite("county", name: "某县政协", kind: "county", parent: nil)
        let backup = try run(Binaries.cpsyncd, ["backup", "--data", daemon.dataDir, "--to", ws.path("b.db")])
        #expect(backup.ok, "\(backup.stderr)")

        // 1. Another process holds <data>/cpsyncd.lock, as `cpsyncd serve` will (ServerLock, flock).
        let fd = open(daemon.dataDir + "/cpsyncd.lock", O_RDWR | O_CREAT, 0o600)
        #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        let locked = try run(Binaries.cpsyncd, ["restore", "--data", daemon.dataDir, "--from", ws.path("b.db")])
        #expect(locked.status == 74, "\(locked.stderr)")
        #expect(locked.stderr.contains("a cpsyncd is using"), "\(locked.stderr)")
        close(fd)

        // 2. A running daemon (its connections hold county.db open) without the lock is refused as well.
        try daemon.start()
        let running = try run(Binaries.cpsyncd, ["restore", "--data", daemon.dataDir, "--from", ws.path("b.db")])
        #expect(running.status == 74, "\(running.stderr)")
        #expect(running.stderr.contains("a cpsyncd is using"), "\(running.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.dataDir).allSatisfy { !$0.contains("before-restore") })

        // 3. Stopped: the restore goes through and keeps the previous database.
        #expect(daemon.stop() == 0)
        let ok = try run(Binaries.cpsyncd, ["restore", "--data", daemon.dataDir, "--from", ws.path("b.db")])
        #expect(ok.ok, "\(ok.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.dataDir).contains { $0.hasPrefix("county.db.before-restore-") })
        #expect(try run(Binaries.cpsyncd, ["restore", "--data", daemon.dataDir, "--from", ws.path("nothing.db")]).status == 74)
    }

    @Test func backupIntoADirectoryKeepsTheNewest() throws {
        let ws = TempDir("backup-keep")
        defer { ws.cleanup() }
        _ = try run(Binaries.cpsyncd, ["site", "add", "--data", ws.path("data"), "--id", "county", "--name", "县", "--kind", "county"])
        for _ in 0..<4 {
            let r = try run(Binaries.cpsyncd, ["backup", "--data", ws.path("data"), "--to", ws.path("backups") + "/", "--keep", "2"])
            #expect(r.ok, "\(r.stderr)")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: ws.path("backups"))
        #expect(left.count == 2 && left.allSatisfy { $0.hasPrefix("county-") && $0.hasSuffix(".db") }, "\(left)")
        let misuse = try run(Binaries.cpsyncd, ["backup", "--data", ws.path("data"), "--to", ws.path("one.db"), "--keep", "2"])
        #expect(misuse.status == 64)
    }
}
