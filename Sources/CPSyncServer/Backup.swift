import CPSyncText
import CPSyncCore
import CPSyncProtocol
import Foundation
#if canImport(Glibc)
import Glibc
#endif


// MARK: - backup and restore

/// Backup, restore and doctor as library functions (the `cpsyncd` verbs are thin wrappers).
public enum Maintenance {
    /// The county database inside a data directory.
    public static func databasePath(_ dataDirectory: String) -> String {
        (dataDirectory as NSString).appendingPathComponent("county.db")
    }

    /// What one backup produced.
    public struct BackupOutcome: Sendable {
        public let path: String
        public let bytes: Int64
        public let pages: Int
        public let seconds: Double
        /// Older backups deleted by `keep`.
        public let pruned: [String]
    }

    /// Backup file names in a backup directory: `county-20260105T023000Z.db` (UTC, so names sort by age).
    static func isBackupName(_ name: String) -> Bool {
        name.wholeMatch(of: #/county-\d{8}T\d{6}Z(-\d+)?\.db/#) != nil
    }

    /// Takes an online backup of `<data>/county.db` through its own read-only connection while the daemon keeps
    /// serving, checks it with `PRAGMA integrity_check`, and renames `FILE.tmp` to `FILE` only then.
    ///
    /// `destination` is a file, or a directory (existing, or written with a trailing `/`) that receives
    /// `county-<UTC time>.db`; there `keep` prunes all but the newest `keep` such files.
    public static func backup(dataDirectory: String, to destination: String, keep: Int? = nil, now: Date = Date(),
                              pagesPerStep: Int32 = 256) throws -> BackupOutcome {
        let source = databasePath(dataDirectory)
        guard FileManager.default.fileExists(atPath: source) else { throw MaintenanceError.noDatabase(source) }
        var isDirectory: ObjCBool = false
        let intoDirectory = destination.hasSuffix("/")
            || (FileManager.default.fileExists(atPath: destination, isDirectory: &isDirectory) && isDirectory.boolValue)
        if let keep {
            guard intoDirectory else {
                throw MaintenanceError.badKeep(keep, expected: Phrase(en: "to be used with --to DIRECTORY/", zh: "与 --to 目录/ 一起使用"))
            }
            guard keep >= 1 else { throw MaintenanceError.badKeep(keep, expected: Phrase(en: "a number ≥ 1", zh: "不小于 1 的整数")) }
        }
        let target: String
        if intoDirectory {
            try makeDirectory(destination)
            let base = (destination as NSString).appendingPathComponent("county-\(timestamp(now))")
            var candidate = base + ".db"
            var n = 1
            while FileManager.default.fileExists(atPath: candidate) { candidate = "\(base)-\(n).db"; n += 1 }
            target = candidate
        } else {
            target = destination
        }
        let temporary = target + ".tmp"
        try? FileManager.default.removeItem(atPath: temporary)

        let started = Date()
        var pages = 0
        do {
            let db = try Database(path: source, readOnly: true)
            try checkCountyReplica(db, path: source)
            try db.backup(into: temporary, pagesPerStep: pagesPerStep) { pages = $0.total }
            let copy = try Database(path: temporary, readOnly: true)
            let problems = try copy.integrityProblems()
            guard problems.isEmpty else { throw MaintenanceError.integrity(path: temporary, problems: problems) }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        chmod(temporary, 0o600)
        matchOwner(of: temporary, to: (target as NSString).deletingLastPathComponent)
        try syncFile(temporary)
        guard rename(temporary, target) == 0 else {
            let text = errnoText("cannot rename \(temporary) to \(target)")
            try? FileManager.default.removeItem(atPath: temporary)
            throw MaintenanceError.io(text)
        }
        syncDirectory(of: target)
        let bytes = ((try? FileManager.default.attributesOfItem(atPath: target))?[.size] as? NSNumber)?.int64Value ?? 0
        let pruned = intoDirectory && keep != nil ? try prune(directory: destination, keep: keep!, sparing: target) : []
        return BackupOutcome(path: target, bytes: bytes, pages: pages, seconds: Date().timeIntervalSince(started), pruned: pruned)
    }

    /// Deletes all but the newest `keep` backup files in `directory` (never `sparing`, the one just written).
    static func prune(directory: String, keep: Int, sparing: String) throws -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let sparedName = (sparing as NSString).lastPathComponent
        // Newest first by (time, same-second counter): `…Z-1.db` was written after `…Z.db`.
        func age(_ name: String) -> (String, Int) {
            let stem = name.dropFirst("county-".count).dropLast(".db".count)
            let parts = stem.split(separator: "-")
            return (String(parts[0]), parts.count > 1 ? Int(parts[1]) ?? 0 : 0)
        }
        let older = names.filter { isBackupName($0) && $0 != sparedName }.sorted { age($0) > age($1) }
        var pruned: [String] = []
        for name in older.dropFirst(max(0, keep - 1)) {
            let path = (directory as NSString).appendingPathComponent(name)
            do { try FileManager.default.removeItem(atPath: path) } catch {
                throw MaintenanceError.io("cannot delete old backup \(path): \(error.localizedDescription)")
            }
            pruned.append(path)
        }
        return pruned
    }

    /// What one restore did.
    public struct RestoreOutcome: Sendable {
        public let database: String
        /// Where the previous database went (`county.db.before-restore-<UTC time>`), if there was one.
        public let previous: String?
        /// The county replica's site id in the restored file.
        public let siteID: String
    }

    /// Replaces `<data>/county.db` with the backup at `backupPath` after checking it (integrity, a cpsync county
    /// replica). Refuses while a daemon uses the data directory: it must take `cpsyncd.lock`, and the old
    /// database must leave WAL mode, which SQLite refuses while any other connection has it open.
    public static func restore(dataDirectory: String, from backupPath: String, now: Date = Date()) throws -> RestoreOutcome {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: backupPath, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw MaintenanceError.io(Phrase(en: "no backup file at \(backupPath)", zh: "备份文件 \(backupPath) 不存在"))
        }
        let siteID: String
        do {
            let backup = try Database(path: backupPath, readOnly: true)
            let problems = try backup.integrityProblems()
            guard problems.isEmpty else { throw MaintenanceError.integrity(path: backupPath, problems: problems) }
            siteID = try checkCountyReplica(backup, path: backupPath)
        } catch let error as MaintenanceError {
            throw error
        } catch {
            throw MaintenanceError.notACountyReplica(path: backupPath, reason: "\(error)")
        }

        let lock = ServerLock(dataDirectory: dataDirectory)
        try lock.acquire()
        defer { lock.release() }

        let target = databasePath(dataDirectory)
        var previous: String?
        if FileManager.default.fileExists(atPath: target) {
            do {
                // Leaving WAL folds the -wal file into county.db and fails while any other connection is open.
                let old = try Database(path: target, busyTimeoutMilliseconds: 0)
                try old.execute("PRAGMA journal_mode=DELETE")
            } catch {
                if error.isBusy {
                    throw MaintenanceError.daemonRunning(dataDirectory: dataDirectory, holder: .databaseOpen(target))
                }
                throw MaintenanceError.io("cannot prepare \(target) for restore: \(error)")
            }
            let aside = "\(target).before-restore-\(timestamp(now))"
            guard rename(target, aside) == 0 else { throw MaintenanceError.io(errnoText("cannot move \(target) aside")) }
            for suffix in ["-wal", "-shm", "-journal"] where FileManager.default.fileExists(atPath: target + suffix) {
                _ = rename(target + suffix, aside + suffix)
            }
            previous = aside
        }
        let incoming = target + ".restoring"
        try? FileManager.default.removeItem(atPath: incoming)
        do { try FileManager.default.copyItem(atPath: backupPath, toPath: incoming) } catch {
            throw MaintenanceError.io("cannot copy \(backupPath) into \(dataDirectory): \(error.localizedDescription)")
        }
        do {
            // A restored database starts a new history: offices see the new epoch and sync everything again.
            try ServerStore.startNewEpoch(in: try Database(path: incoming))
        } catch {
            throw MaintenanceError.io("cannot mark \(incoming) as restored: \(error)")
        }
        chmod(incoming, 0o600)
        matchOwner(of: incoming, to: dataDirectory)
        try syncFile(incoming)
        guard rename(incoming, target) == 0 else { throw MaintenanceError.io(errnoText("cannot move \(incoming) to \(target)")) }
        syncDirectory(of: target)
        return RestoreOutcome(database: target, previous: previous, siteID: siteID)
    }

    /// Checks that `db` is a county replica (sync metadata plus the server's tables); returns its site id.
    @discardableResult
    static func checkCountyReplica(_ db: Database, path: String) throws -> String {
        for table in ["_cp_state", "_cp_sites", "_srv_sites", "_srv_admins"] where try !db.tableExists(table) {
            throw MaintenanceError.notACountyReplica(path: path, reason: Phrase(en: "table \(table) is missing", zh: "缺少表 \(table)"))
        }
        let site = try db.scalar("SELECT s.uuid FROM _cp_state st JOIN _cp_sites s ON s.id = st.site_id")?.stringValue
        guard let site else {
            throw MaintenanceError.notACountyReplica(path: path, reason: Phrase(en: "it has no site id", zh: "没有站点标识"))
        }
        return site
    }

    // MARK: file-system helpers

    /// `20260105T023000Z`: UTC, sortable, safe in file names.
    static func timestamp(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return f.string(from: date)
    }

    static func makeDirectory(_ path: String) throws(MaintenanceError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw .io(Phrase(en: "\(path) is not a directory", zh: "\(path) 不是目录")) }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .io("cannot create \(path): \(error.localizedDescription)")
        }
    }

    /// Root restoring into the service user's directory must not leave a file that user cannot open.
    static func matchOwner(of path: String, to directory: String) {
        guard geteuid() == 0 else { return }
        var st = stat()
        if stat(directory.isEmpty ? "." : directory, &st) == 0 { _ = chown(path, st.st_uid, st.st_gid) }
    }

    static func syncFile(_ path: String) throws(MaintenanceError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(errnoText("cannot open \(path)")) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io(errnoText("cannot fsync \(path)")) }
    }

    /// Makes a rename durable (best effort: some file systems refuse fsync on directories).
    static func syncDirectory(of path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    static func errnoText(_ what: String) -> Phrase { "\(what): \(String(cString: strerror(errno)))" }
}
