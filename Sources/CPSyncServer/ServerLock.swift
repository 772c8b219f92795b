import CPSyncText
import CPSyncCore
import CPSyncProtocol
import Foundation
#if canImport(Glibc)
import Glibc
#endif


// Operating the county daemon (`cpsyncd backup|restore|doctor` only parse arguments and print what these return):
// the data-directory lock and the errors of operating it; backups in Backup.swift, doctor in Doctor.swift.

/// Why a backup, restore or lock failed; each case maps to one exit code.
public enum MaintenanceError: UserFacingError, Sendable {
    /// Another process (a running `cpsyncd serve`, or a restore) holds the data directory.
    case daemonRunning(dataDirectory: String, holder: Holder)

    /// How the other process was found.
    public enum Holder: Renderable, Equatable {
        /// It holds the lock file; `pid` as it wrote it there (nil when it wrote none).
        case lock(file: String, pid: String?)
        /// It has the county database open.
        case databaseOpen(String)

        public func text(in language: Language) -> String {
            switch self {
            case .lock(let file, let pid?): language.pick(en: "\(file) is held by pid \(pid)", zh: "锁文件 \(file) 由进程 \(pid) 持有")
            case .lock(let file, nil): language.pick(en: "\(file) is locked", zh: "锁文件 \(file) 已被锁定")
            case .databaseOpen(let db): language.pick(en: "\(db) is open in another process", zh: "\(db) 正被另一个进程打开")
            }
        }
    }
    /// The data directory has no county database to back up.
    case noDatabase(String)
    /// A file that should be a county replica is not one.
    case notACountyReplica(path: String, reason: Phrase)
    /// `PRAGMA integrity_check` found problems.
    case integrity(path: String, problems: [String])
    /// A file-system operation failed.
    case io(Phrase)
    /// `--keep` without a directory to prune, or below 1 (a usage error: exit 64).
    case badKeep(Int, expected: Phrase)

    public func text(in language: Language) -> String {
        switch self {
        case .daemonRunning(let dir, let holder):
            language.pick(en: "a cpsyncd is using \(dir) (\(holder.text(in: language))); stop it first (systemctl stop cpsyncd) — nothing was changed",
                      zh: "cpsyncd 正在使用 \(dir)（\(holder.text(in: language))）；请先停止服务（systemctl stop cpsyncd）——未做任何改动")
        case .noDatabase(let path):
            language.pick(en: "no county database at \(path)", zh: "\(path) 不存在县级数据库")
        case .notACountyReplica(let path, let reason):
            language.pick(en: "\(path) is not a cpsync county database: \(reason.english)", zh: "\(path) 不是 cpsync 县级数据库：\(reason.chinese)")
        case .integrity(let path, let problems):
            language.pick(en: "\(path) fails PRAGMA integrity_check: \(problems.prefix(5).joined(separator: "; "))",
                      zh: "\(path) 未通过 PRAGMA integrity_check：\(problems.prefix(5).joined(separator: "；"))")
        case .io(let message): message.text(in: language)
        case .badKeep(let keep, let expected):
            language.pick(en: "invalid value '\(keep)' for --keep: expected \(expected.english)", zh: "选项 --keep 的值 '\(keep)' 无效：应为\(expected.chinese)")
        }
    }

    public var exitCode: ExitCode {
        switch self {
        case .notACountyReplica, .integrity: .dataError
        case .daemonRunning, .noDatabase, .io: .ioError
        case .badKeep: .usage
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
