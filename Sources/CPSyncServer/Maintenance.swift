import CPSyncCLI
import CPSyncCore
import CPSyncProtocol
import Foundation
#if canImport(Glibc)
import Glibc
#endif

// Operating the county daemon: the data-directory lock, online backups with retention, restore, and `doctor`.
// The `cpsyncd backup|restore|doctor` verbs only parse arguments and print what these return.

/// Why a backup, restore or lock failed; each case maps to one exit code.
public enum MaintenanceError: Error, ExitCodeProviding, Sendable {
    /// Another process (a running `cpsyncd serve`, or a restore) holds the data directory.
    case daemonRunning(dataDirectory: String, holder: Holder)

    /// How the other process was found.
    public enum Holder: Sendable, Equatable, CustomStringConvertible {
        /// It holds the lock file; `pid` as it wrote it there (nil when it wrote none).
        case lock(file: String, pid: String?)
        /// It has the county database open.
        case databaseOpen(String)

        public var description: String {
            switch self {
            case .lock(let file, let pid?): L10n.pick(en: "\(file) is held by pid \(pid)", zh: "锁文件 \(file) 由进程 \(pid) 持有")
            case .lock(let file, nil): L10n.pick(en: "\(file) is locked", zh: "锁文件 \(file) 已被锁定")
            case .databaseOpen(let db): L10n.pick(en: "\(db) is open in another process", zh: "\(db) 正被另一个进程打开")
            }
        }
    }
    /// The data directory has no county database to back up.
    case noDatabase(String)
    /// A file that should be a county replica is not one.
    case notACountyReplica(path: String, reason: String)
    /// `PRAGMA integrity_check` found problems.
    case integrity(path: String, problems: [String])
    /// A file-system operation failed.
    case io(String)

    public var description: String {
        switch self {
        case .daemonRunning(let dir, let holder):
            L10n.pick(en: "a cpsyncd is using \(dir) (\(holder)); stop it first (systemctl stop cpsyncd) — nothing was changed",
                      zh: "cpsyncd 正在使用 \(dir)（\(holder)）；请先停止服务（systemctl stop cpsyncd）——未做任何改动")
        case .noDatabase(let path):
            L10n.pick(en: "no county database at \(path)", zh: "\(path) 不存在县级数据库")
        case .notACountyReplica(let path, let reason):
            L10n.pick(en: "\(path) is not a cpsync county database: \(reason)", zh: "\(path) 不是 cpsync 县级数据库：\(reason)")
        case .integrity(let path, let problems):
            L10n.pick(en: "\(path) fails PRAGMA integrity_check: \(problems.prefix(5).joined(separator: "; "))",
                      zh: "\(path) 未通过 PRAGMA integrity_check：\(problems.prefix(5).joined(separator: "；"))")
        case .io(let message): message
        }
    }

    public var exitCode: ExitCode {
        switch self {
        case .notACountyReplica, .integrity: .dataError
        case .daemonRunning, .noDatabase, .io: .ioError
        }
    }
}

// MARK: - the data-directory lock

/// An exclusive `flock` on `<data>/cpsyncd.lock`: `cpsyncd serve` holds it while it runs and `restore` holds it
/// while it swaps the database, so neither can pull the data out from under the other. The kernel drops the
/// lock when the holder exits, even on SIGKILL, so a stale file never blocks anything.
public final class ServerLock: Sendable {
    public let path: String
    public let dataDirectory: String
    /// The open lock file while held, else -1.
    private let descriptor = Guarded<Int32>(-1)

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
        path = (dataDirectory as NSString).appendingPathComponent("cpsyncd.lock")
    }

    /// Takes the lock without waiting (creating the data directory, mode 0700, when absent); throws
    /// `daemonRunning` when another process holds it. The holder's pid is written into the file for people.
    public func acquire() throws(MaintenanceError) {
        try Maintenance.makeDirectory(dataDirectory)
        let outcome: Result<Void, MaintenanceError> = descriptor.withLock { fd in
            guard fd < 0 else { return .success(()) }
            let opened = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard opened >= 0 else { return .failure(.io(Maintenance.errnoText("cannot open \(path)"))) }
            if flock(opened, LOCK_EX | LOCK_NB) != 0 {
                let busy = errno == EWOULDBLOCK
                let text = Maintenance.errnoText("cannot lock \(path)")
                close(opened)
                if busy {
                    let pid = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                    return .failure(.daemonRunning(dataDirectory: dataDirectory, holder: .lock(file: path, pid: pid.isEmpty ? nil : pid)))
                }
                return .failure(.io(text))
            }
            let pid = Array("\(getpid())\n".utf8)
            _ = ftruncate(opened, 0)
            _ = pid.withUnsafeBytes { pwrite(opened, $0.baseAddress, $0.count, 0) }
            fd = opened
            return .success(())
        }
        try outcome.get()
    }

    /// Whether this object currently holds the lock.
    public var isHeld: Bool { descriptor.withLock { $0 >= 0 } }

    /// Drops the lock (the file stays; its presence means nothing without the lock).
    public func release() {
        descriptor.withLock { fd in
            guard fd >= 0 else { return }
            _ = ftruncate(fd, 0)
            close(fd)
            fd = -1
        }
    }

    deinit { release() }
}

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
                throw UsageError.invalidValue(option: "keep", value: String(keep), expected: L10n.pick(en: "to be used with --to DIRECTORY/", zh: "与 --to 目录/ 一起使用"))
            }
            guard keep >= 1 else { throw UsageError.invalidValue(option: "keep", value: String(keep), expected: L10n.pick(en: "a number ≥ 1", zh: "不小于 1 的整数")) }
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
            throw MaintenanceError.io(L10n.pick(en: "no backup file at \(backupPath)", zh: "备份文件 \(backupPath) 不存在"))
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
            throw MaintenanceError.notACountyReplica(path: path, reason: L10n.pick(en: "table \(table) is missing", zh: "缺少表 \(table)"))
        }
        let site = try db.scalar("SELECT s.uuid FROM _cp_state st JOIN _cp_sites s ON s.id = st.site_id")?.stringValue
        guard let site else {
            throw MaintenanceError.notACountyReplica(path: path, reason: L10n.pick(en: "it has no site id", zh: "没有站点标识"))
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
            guard isDirectory.boolValue else { throw .io(L10n.pick(en: "\(path) is not a directory", zh: "\(path) 不是目录")) }
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

    static func errnoText(_ what: String) -> String { "\(what): \(String(cString: strerror(errno)))" }
}

// MARK: - doctor

/// One line of `cpsyncd doctor`.
public struct DoctorCheck: Sendable, Equatable, CustomStringConvertible {
    public enum Status: String, Sendable { case pass = "PASS", warn = "WARN", fail = "FAIL" }
    public let status: Status
    public let name: String
    public let detail: String

    public init(_ status: Status, _ name: String, _ detail: String) {
        self.status = status
        self.name = name
        self.detail = detail
    }

    /// `PASS name: detail` (the status word stays English so scripts can grep it).
    public var description: String { "\(status.rawValue) \(name): \(detail)" }
}

/// The checks of `cpsyncd doctor`: data directory, database integrity, free disk, clock, listen address.
public struct Doctor: Sendable {
    public let dataDirectory: String
    /// `HOST:PORT` the daemon serves (or will serve) on.
    public let listen: String
    /// Below this much free space the disk check warns.
    public var minimumFreeBytes: Int64 = 1 << 30

    public init(dataDirectory: String, listen: String = "127.0.0.1:8710") {
        self.dataDirectory = dataDirectory
        self.listen = listen
    }

    /// Runs every check; the command exits 1 when any is `.fail`.
    public func run(now: Date = Date()) -> [DoctorCheck] {
        let listenCheck = checkListen()
        return [checkDataDirectory(), checkDatabase(), checkDisk(), checkClock(now: now, daemonAnswers: listenCheck.daemonAnswers), listenCheck.check]
    }

    func checkDataDirectory() -> DoctorCheck {
        let name = L10n.pick(en: "data dir", zh: "数据目录")
        var st = stat()
        guard stat(dataDirectory, &st) == 0 else {
            return DoctorCheck(.fail, name, L10n.pick(en: "\(dataDirectory) does not exist (\(String(cString: strerror(errno))))",
                                                      zh: "\(dataDirectory) 不存在（\(String(cString: strerror(errno)))）"))
        }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            return DoctorCheck(.fail, name, L10n.pick(en: "\(dataDirectory) is not a directory", zh: "\(dataDirectory) 不是目录"))
        }
        // Really write: permission bits say nothing about root, read-only mounts or immutable directories.
        let probe = (dataDirectory as NSString).appendingPathComponent(".cpsyncd-doctor-\(getpid())")
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            let reason = String(cString: strerror(errno))
            return DoctorCheck(.fail, name, L10n.pick(en: "\(dataDirectory) is not writable by uid \(geteuid()) (\(reason))",
                                                      zh: "\(dataDirectory) 对用户 \(geteuid()) 不可写（\(reason)）"))
        }
        let wrote = write(fd, "x", 1) == 1
        close(fd)
        unlink(probe)
        if !wrote {
            return DoctorCheck(.fail, name, L10n.pick(en: "cannot write in \(dataDirectory)", zh: "无法在 \(dataDirectory) 中写入"))
        }
        let mode = String(st.st_mode & 0o7777, radix: 8)
        if st.st_mode & 0o077 != 0 {
            return DoctorCheck(.warn, name, L10n.pick(en: "\(dataDirectory) is writable but mode 0\(mode); 0700 recommended (it holds personal data)",
                                                      zh: "\(dataDirectory) 可写，但权限为 0\(mode)；建议 0700（含个人信息）"))
        }
        return DoctorCheck(.pass, name, L10n.pick(en: "\(dataDirectory) writable, mode 0\(mode), owner uid \(st.st_uid)",
                                                  zh: "\(dataDirectory) 可写，权限 0\(mode)，属主 uid \(st.st_uid)"))
    }

    func checkDatabase() -> DoctorCheck {
        let name = L10n.pick(en: "database", zh: "数据库")
        let path = Maintenance.databasePath(dataDirectory)
        guard FileManager.default.fileExists(atPath: path) else {
            return DoctorCheck(.warn, name, L10n.pick(en: "\(path) does not exist yet (cpsyncd creates it on first start)",
                                                      zh: "\(path) 尚不存在（cpsyncd 首次启动时创建）"))
        }
        do {
            let db = try Database(path: path, readOnly: true)
            let problems = try db.integrityProblems()
            guard problems.isEmpty else {
                return DoctorCheck(.fail, name, MaintenanceError.integrity(path: path, problems: problems).description
                                   + L10n.pick(en: " — restore the latest backup", zh: "——请恢复最近的备份"))
            }
            let serverSite = try Maintenance.checkCountyReplica(db, path: path)
            // Older data directories gave the server the id `county`, and the README registered the county office
            // under it: that office is never sent what the server writes (it looks like its own changes).
            if try db.scalar("SELECT count(*) FROM _srv_sites WHERE id = ? AND revoked = 0", [.text(serverSite)])?.int64Value ?? 0 > 0 {
                return DoctorCheck(.warn, name, L10n.pick(
                    en: "site '\(serverSite)' is also this server's own id, so that office never receives resolutions or the site tree; sync it, revoke '\(serverSite)', add the county office as '\(serverSite)-office' and set it up again with `cpsync init` on a new file (its data comes back on the first pull)",
                    zh: "站点 '\(serverSite)' 与本服务器自身的标识相同，该办公室永远收不到冲突处理结果和站点树；请先同步该办公室，吊销 '\(serverSite)'，以 '\(serverSite)-office' 重新添加县政协办公室，并用 `cpsync init` 在新文件上重新设置（首次拉取即取回数据）"))
            }
            let sites = try db.scalar("SELECT count(*) FROM _srv_sites WHERE revoked = 0")?.int64Value ?? 0
            let open = try db.scalar("SELECT count(*) FROM _cp_conflicts WHERE status = 'open'")?.int64Value ?? 0
            return DoctorCheck(.pass, name, L10n.pick(en: "\(path): integrity ok, \(sites) active sites, \(open) open conflicts",
                                                      zh: "\(path)：完整性正常，\(sites) 个有效站点，\(open) 个待处理冲突"))
        } catch {
            return DoctorCheck(.fail, name, L10n.pick(en: "cannot check \(path): \(error)", zh: "无法检查 \(path)：\(error)"))
        }
    }

    func checkDisk() -> DoctorCheck {
        let name = L10n.pick(en: "disk", zh: "磁盘")
        var path = dataDirectory
        while !FileManager.default.fileExists(atPath: path), path != "/", !path.isEmpty {
            path = (path as NSString).deletingLastPathComponent
        }
        var fs = statvfs()
        guard statvfs(path.isEmpty ? "." : path, &fs) == 0 else {
            return DoctorCheck(.warn, name, L10n.pick(en: "cannot read free space of \(path)", zh: "无法读取 \(path) 的剩余空间"))
        }
        let free = Int64(fs.f_bavail) * Int64(fs.f_frsize)
        let text = String(format: "%.1f GiB", Double(free) / Double(1 << 30))
        if free < 64 << 20 {
            return DoctorCheck(.fail, name, L10n.pick(en: "only \(text) free on \(path)", zh: "\(path) 仅剩 \(text)"))
        }
        if free < minimumFreeBytes {
            return DoctorCheck(.warn, name, L10n.pick(en: "only \(text) free on \(path) (backups need room; under 1 GiB)",
                                                      zh: "\(path) 仅剩 \(text)（少于 1 GiB，备份需要空间）"))
        }
        return DoctorCheck(.pass, name, L10n.pick(en: "\(text) free on \(path)", zh: "\(path) 剩余 \(text)"))
    }

    func checkClock(now: Date, daemonAnswers: Bool) -> DoctorCheck {
        let name = L10n.pick(en: "clock", zh: "时钟")
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let year = calendar.component(.year, from: now)
        guard year >= 2024 else {
            return DoctorCheck(.fail, name, L10n.pick(en: "the system clock says \(year); set the time (timedatectl set-ntp true)",
                                                      zh: "系统时间为 \(year) 年；请校准时间（timedatectl set-ntp true）"))
        }
        guard daemonAnswers, let reply = Doctor.get(listen, "/v1/status"), reply.status == 200,
              let object = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any],
              let serverTime = (object["serverTime"] as? NSNumber)?.int64Value else {
            return DoctorCheck(.pass, name, L10n.pick(en: "year \(year); no daemon at \(listen) to compare with",
                                                      zh: "\(year) 年；\(listen) 无服务可比对"))
        }
        let maxSkew = (object["maxSkewMs"] as? NSNumber)?.int64Value ?? 600_000
        let skew = abs(serverTime - Int64(now.timeIntervalSince1970 * 1000))
        if skew > maxSkew {
            return DoctorCheck(.fail, name, L10n.pick(en: "differs from the daemon at \(listen) by \(skew) ms (limit \(maxSkew) ms)",
                                                      zh: "与 \(listen) 的服务相差 \(skew) 毫秒（上限 \(maxSkew) 毫秒）"))
        }
        if skew > 5_000 {
            return DoctorCheck(.warn, name, L10n.pick(en: "differs from the daemon at \(listen) by \(skew) ms", zh: "与 \(listen) 的服务相差 \(skew) 毫秒"))
        }
        return DoctorCheck(.pass, name, L10n.pick(en: "year \(year); within \(skew) ms of the daemon at \(listen)",
                                                  zh: "\(year) 年；与 \(listen) 的服务相差 \(skew) 毫秒"))
    }

    func checkListen() -> (check: DoctorCheck, daemonAnswers: Bool) {
        let name = L10n.pick(en: "listen", zh: "监听地址")
        guard let (host, port) = Doctor.split(listen) else {
            return (DoctorCheck(.fail, name, L10n.pick(en: "'\(listen)' is not HOST:PORT", zh: "'\(listen)' 不是 主机:端口 格式")), false)
        }
        let reply = Doctor.get(listen, "/v1/health")
        if let reply, reply.status == 200, String(decoding: reply.body, as: UTF8.self).contains("\"ok\":true") {
            return (DoctorCheck(.pass, name, L10n.pick(en: "a cpsyncd answers /v1/health at \(listen)", zh: "\(listen) 上的 cpsyncd 响应 /v1/health")), true)
        }
        // A cpsyncd that cannot write its database says so on /v1/health (507 storage_full, 503 storage_failed).
        if let reply, let problem = try? ErrorBody.decode(reply.body),
           problem.code == .storageFull || problem.code == .storageFailed {
            return (DoctorCheck(.fail, name, L10n.pick(en: "the cpsyncd at \(listen) cannot write its database: \(problem.message)",
                                                       zh: "\(listen) 上的 cpsyncd 无法写入数据库：\(problem.message)")), true)
        }
        switch Doctor.tryBind(host: host, port: port) {
        case 0:
            return (DoctorCheck(.pass, name, L10n.pick(en: "\(listen) is free; cpsyncd serve can bind it", zh: "\(listen) 空闲，cpsyncd 可以监听")), false)
        case EADDRINUSE:
            return (DoctorCheck(.fail, name, L10n.pick(en: "\(listen) is in use by a program that is not cpsyncd (no answer on /v1/health)",
                                                       zh: "\(listen) 被其他程序占用（/v1/health 无 cpsyncd 响应）")), false)
        case let code:
            return (DoctorCheck(.fail, name, L10n.pick(en: "cannot bind \(listen): \(String(cString: strerror(code)))",
                                                       zh: "无法监听 \(listen)：\(String(cString: strerror(code)))")), false)
        }
    }

    // MARK: sockets (a blocking loopback GET is all doctor needs)

    static func split(_ address: String) -> (String, UInt16)? {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else { return nil }
        let host = String(address[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    /// The first address for `host`, with the wildcard mapped to loopback when `connecting`.
    static func resolve(_ host: String, _ port: UInt16, connecting: Bool) -> (family: Int32, storage: sockaddr_storage, length: socklen_t)? {
        var name = host
        if connecting && (name == "0.0.0.0" || name == "*") { name = "127.0.0.1" }
        if connecting && name == "::" { name = "::1" }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, String(port), &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(list) }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        return (first.pointee.ai_family, storage, first.pointee.ai_addrlen)
    }

    /// 0 when `host:port` could be bound (and is released at once), else the errno.
    static func tryBind(host: String, port: UInt16) -> Int32 {
        guard let address = resolve(host, port, connecting: false) else { return EADDRNOTAVAIL }
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var storage = address.storage
        let rc = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, address.length) } }
        return rc == 0 ? 0 : errno
    }

    /// `GET path` over HTTP/1.0 with a 3-second limit per operation; nil when nothing answers.
    static func get(_ address: String, _ path: String) -> (status: Int, body: [UInt8])? {
        guard let (host, port) = split(address), let target = resolve(host, port, connecting: true) else { return nil }
        let fd = socket(target.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var storage = target.storage
        let connected = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, target.length) } }
        guard connected == 0 else { return nil }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: \(address)\r\nAccept: application/json\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while response.count < 1 << 20 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = (0..<max(0, response.count - 3)).first(where: { Array(response[$0..<$0 + 4]) == separator }) else { return nil }
        let statusLine = String(decoding: response[0..<end], as: UTF8.self).split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else { return nil }
        return (status, Array(response[(end + 4)...]))
    }
}
