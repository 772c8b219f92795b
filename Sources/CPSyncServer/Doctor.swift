import CPSyncText
import CPSyncCore
import CPSyncProtocol
import Foundation
#if canImport(Glibc)
import Glibc
#endif

import CPSyncHTTP

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
    /// The reader's language (the tool's locale): the checks' details are written in it.
    public var language: Language = .english

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
        let name = language.pick(en: "data dir", zh: "数据目录")
        var st = stat()
        guard stat(dataDirectory, &st) == 0 else {
            return DoctorCheck(.fail, name, language.pick(en: "\(dataDirectory) does not exist (\(String(cString: strerror(errno))))",
                                                      zh: "\(dataDirectory) 不存在（\(String(cString: strerror(errno)))）"))
        }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            return DoctorCheck(.fail, name, language.pick(en: "\(dataDirectory) is not a directory", zh: "\(dataDirectory) 不是目录"))
        }
        // Really write: permission bits say nothing about root, read-only mounts or immutable directories.
        let probe = (dataDirectory as NSString).appendingPathComponent(".cpsyncd-doctor-\(getpid())")
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            let reason = String(cString: strerror(errno))
            return DoctorCheck(.fail, name, language.pick(en: "\(dataDirectory) is not writable by uid \(geteuid()) (\(reason))",
                                                      zh: "\(dataDirectory) 对用户 \(geteuid()) 不可写（\(reason)）"))
        }
        let wrote = write(fd, "x", 1) == 1
        close(fd)
        unlink(probe)
        if !wrote {
            return DoctorCheck(.fail, name, language.pick(en: "cannot write in \(dataDirectory)", zh: "无法在 \(dataDirectory) 中写入"))
        }
        let mode = String(st.st_mode & 0o7777, radix: 8)
        if st.st_mode & 0o077 != 0 {
            return DoctorCheck(.warn, name, language.pick(en: "\(dataDirectory) is writable but mode 0\(mode); 0700 recommended (it holds personal data)",
                                                      zh: "\(dataDirectory) 可写，但权限为 0\(mode)；建议 0700（含个人信息）"))
        }
        return DoctorCheck(.pass, name, language.pick(en: "\(dataDirectory) writable, mode 0\(mode), owner uid \(st.st_uid)",
                                                  zh: "\(dataDirectory) 可写，权限 0\(mode)，属主 uid \(st.st_uid)"))
    }

    func checkDatabase() -> DoctorCheck {
        let name = language.pick(en: "database", zh: "数据库")
        let path = Maintenance.databasePath(dataDirectory)
        guard FileManager.default.fileExists(atPath: path) else {
            return DoctorCheck(.warn, name, language.pick(en: "\(path) does not exist yet (cpsyncd creates it on first start)",
                                                      zh: "\(path) 尚不存在（cpsyncd 首次启动时创建）"))
        }
        do {
            let db = try Database(path: path, readOnly: true)
            let problems = try db.integrityProblems()
            guard problems.isEmpty else {
                return DoctorCheck(.fail, name, MaintenanceError.integrity(path: path, problems: problems).description
                                   + language.pick(en: " — restore the latest backup", zh: "——请恢复最近的备份"))
            }
            let serverSite = try Maintenance.checkCountyReplica(db, path: path)
            // Older data directories gave the server the id `county`, and the README registered the county office
            // under it: that office is never sent what the server writes (it looks like its own changes).
            if try db.scalar("SELECT count(*) FROM _srv_sites WHERE id = ? AND revoked = 0", [.text(serverSite)])?.int64Value ?? 0 > 0 {
                return DoctorCheck(.warn, name, language.pick(
                    en: "site '\(serverSite)' is also this server's own id, so that office never receives resolutions or the site tree; sync it, revoke '\(serverSite)', add the county office as '\(serverSite)-office' and set it up again with `cpsync init` on a new file (its data comes back on the first pull)",
                    zh: "站点 '\(serverSite)' 与本服务器自身的标识相同，该办公室永远收不到冲突处理结果和站点树；请先同步该办公室，吊销 '\(serverSite)'，以 '\(serverSite)-office' 重新添加县政协办公室，并用 `cpsync init` 在新文件上重新设置（首次拉取即取回数据）"))
            }
            let sites = try db.scalar("SELECT count(*) FROM _srv_sites WHERE revoked = 0")?.int64Value ?? 0
            let open = try db.scalar("SELECT count(*) FROM _cp_conflicts WHERE status = 'open'")?.int64Value ?? 0
            return DoctorCheck(.pass, name, language.pick(en: "\(path): integrity ok, \(sites) active sites, \(open) open conflicts",
                                                      zh: "\(path)：完整性正常，\(sites) 个有效站点，\(open) 个待处理冲突"))
        } catch {
            return DoctorCheck(.fail, name, language.pick(en: "cannot check \(path): \(error)", zh: "无法检查 \(path)：\(error)"))
        }
    }

    func checkDisk() -> DoctorCheck {
        let name = language.pick(en: "disk", zh: "磁盘")
        var path = dataDirectory
        while !FileManager.default.fileExists(atPath: path), path != "/", !path.isEmpty {
            path = (path as NSString).deletingLastPathComponent
        }
        var fs = statvfs()
        guard statvfs(path.isEmpty ? "." : path, &fs) == 0 else {
            return DoctorCheck(.warn, name, language.pick(en: "cannot read free space of \(path)", zh: "无法读取 \(path) 的剩余空间"))
        }
        let free = Int64(fs.f_bavail) * Int64(fs.f_frsize)
        let text = String(format: "%.1f GiB", Double(free) / Double(1 << 30))
        if free < 64 << 20 {
            return DoctorCheck(.fail, name, language.pick(en: "only \(text) free on \(path)", zh: "\(path) 仅剩 \(text)"))
        }
        if free < minimumFreeBytes {
            return DoctorCheck(.warn, name, language.pick(en: "only \(text) free on \(path) (backups need room; under 1 GiB)",
                                                      zh: "\(path) 仅剩 \(text)（少于 1 GiB，备份需要空间）"))
        }
        return DoctorCheck(.pass, name, language.pick(en: "\(text) free on \(path)", zh: "\(path) 剩余 \(text)"))
    }

    func checkClock(now: Date, daemonAnswers: Bool) -> DoctorCheck {
        let name = language.pick(en: "clock", zh: "时钟")
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let year = calendar.component(.year, from: now)
        guard year >= 2024 else {
            return DoctorCheck(.fail, name, language.pick(en: "the system clock says \(year); set the time (timedatectl set-ntp true)",
                                                      zh: "系统时间为 \(year) 年；请校准时间（timedatectl set-ntp true）"))
        }
        guard daemonAnswers, let reply = LoopbackProbe.get(listen, "/v1/status"), reply.status == 200,
              let object = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any],
              let serverTime = (object["serverTime"] as? NSNumber)?.int64Value else {
            return DoctorCheck(.pass, name, language.pick(en: "year \(year); no daemon at \(listen) to compare with",
                                                      zh: "\(year) 年；\(listen) 无服务可比对"))
        }
        let maxSkew = (object["maxSkewMs"] as? NSNumber)?.int64Value ?? 600_000
        let skew = abs(serverTime - Int64(now.timeIntervalSince1970 * 1000))
        if skew > maxSkew {
            return DoctorCheck(.fail, name, language.pick(en: "differs from the daemon at \(listen) by \(skew) ms (limit \(maxSkew) ms)",
                                                      zh: "与 \(listen) 的服务相差 \(skew) 毫秒（上限 \(maxSkew) 毫秒）"))
        }
        if skew > 5_000 {
            return DoctorCheck(.warn, name, language.pick(en: "differs from the daemon at \(listen) by \(skew) ms", zh: "与 \(listen) 的服务相差 \(skew) 毫秒"))
        }
        return DoctorCheck(.pass, name, language.pick(en: "year \(year); within \(skew) ms of the daemon at \(listen)",
                                                  zh: "\(year) 年；与 \(listen) 的服务相差 \(skew) 毫秒"))
    }

    func checkListen() -> (check: DoctorCheck, daemonAnswers: Bool) {
        let name = language.pick(en: "listen", zh: "监听地址")
        guard let (host, port) = LoopbackProbe.split(listen) else {
            return (DoctorCheck(.fail, name, language.pick(en: "'\(listen)' is not HOST:PORT", zh: "'\(listen)' 不是 主机:端口 格式")), false)
        }
        let reply = LoopbackProbe.get(listen, "/v1/health")
        if let reply, reply.status == 200, String(decoding: reply.body, as: UTF8.self).contains("\"ok\":true") {
            return (DoctorCheck(.pass, name, language.pick(en: "a cpsyncd answers /v1/health at \(listen)", zh: "\(listen) 上的 cpsyncd 响应 /v1/health")), true)
        }
        // A cpsyncd that cannot write its database says so on /v1/health (507 storage_full, 503 storage_failed).
        if let reply, let problem = try? ErrorBody.decode(reply.body),
           problem.code == .storageFull || problem.code == .storageFailed {
            return (DoctorCheck(.fail, name, language.pick(en: "the cpsyncd at \(listen) cannot write its database: \(problem.message)",
                                                       zh: "\(listen) 上的 cpsyncd 无法写入数据库：\(problem.message)")), true)
        }
        switch LoopbackProbe.tryBind(host: host, port: port) {
        case 0:
            return (DoctorCheck(.pass, name, language.pick(en: "\(listen) is free; cpsyncd serve can bind it", zh: "\(listen) 空闲，cpsyncd 可以监听")), false)
        case EADDRINUSE:
            return (DoctorCheck(.fail, name, language.pick(en: "\(listen) is in use by a program that is not cpsyncd (no answer on /v1/health)",
                                                       zh: "\(listen) 被其他程序占用（/v1/health 无 cpsyncd 响应）")), false)
        case let code:
            return (DoctorCheck(.fail, name, language.pick(en: "cannot bind \(listen): \(String(cString: strerror(code)))",
                                                       zh: "无法监听 \(listen)：\(String(cString: strerror(code)))")), false)
        }
    }
}
