import CPSyncCLI
import CPSyncCore
import CPSyncServer
import Foundation

/// Where the county data lives, shared by every verb: `--data DIR`, else `$CPSYNC_DATA`, else the `data = DIR`
/// line of `/etc/cpsync/cpsyncd.conf` (written by deploy/install.sh; `$CPSYNCD_CONF` names another file), else
/// `./cpsync-data` — so production commands need no `--data`.
enum DataOption {
    static let defaultConfigPath = "/etc/cpsync/cpsyncd.conf"

    static func directory(_ args: inout Arguments) throws -> String {
        if let given = args.option("data") { return given }
        let env = ProcessInfo.processInfo.environment
        if let fromEnv = env["CPSYNC_DATA"], !fromEnv.isEmpty { return fromEnv }
        let config = env["CPSYNCD_CONF"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultConfigPath
        if let fromFile = try ConfigFile.dataDirectory(in: config) { return fromFile }
        return "cpsync-data"
    }

    static func open(_ args: inout Arguments) throws -> ServerStore {
        let dir = try directory(&args)
        return try open(dir, serverID: serverID(&args))
    }

    /// `--server-id ID`, else `$CPSYNCD_SERVER_ID`: the site id of a new data directory's own replica (default
    /// `cpsyncd`). Daemons that join a tier (county → city → province) each need their own, e.g. `330102-cpsyncd`.
    static func serverID(_ args: inout Arguments) -> String? {
        if let given = args.option("server-id") { return given }
        let env = ProcessInfo.processInfo.environment["CPSYNCD_SERVER_ID"]
        return env.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Opens (creating when absent) with the server id asked for; an existing directory must already have it.
    static func open(_ directory: String, serverID: String?) throws -> ServerStore {
        guard let serverID else { return try open(directory) }
        guard Replica.isValidSiteID(serverID) else { throw ServerError.badSiteID(serverID) }
        let store: ServerStore
        do {
            store = try ServerStore(dataDirectory: directory, siteID: serverID)
        } catch {
            throw ServerError.dataDirectory(L10n.pick(en: "cannot open the data directory \(directory): \(error)",
                                                      zh: "无法打开数据目录 \(directory)：\(error)"))
        }
        guard store.siteID == serverID else {
            throw ServerError.dataDirectory(L10n.pick(
                en: "the data directory \(directory) was created with server id '\(store.siteID)', not '\(serverID)': a server id is fixed when the directory is created (drop --server-id, or give it '\(store.siteID)')",
                zh: "数据目录 \(directory) 创建时的服务器标识是 '\(store.siteID)'，不是 '\(serverID)'：服务器标识在创建数据目录时确定（去掉 --server-id，或改为 '\(store.siteID)'）"))
        }
        return store
    }

    /// Opens `directory`, creating it when absent (`serve`, `site add`, `admin add` start a new county).
    static func open(_ directory: String) throws -> ServerStore {
        try open(directory, mustExist: false)
    }

    /// Opens a data directory that must already hold a county database: listing or changing accounts in a
    /// mistyped directory must not create an empty county there.
    static func openExisting(_ directory: String) throws -> ServerStore {
        try open(directory, mustExist: true)
    }

    private static func open(_ directory: String, mustExist: Bool) throws -> ServerStore {
        let database = (directory as NSString).appendingPathComponent("county.db")
        if mustExist && !FileManager.default.fileExists(atPath: database) {
            throw ServerError.dataDirectory(L10n.pick(
                en: "no county database at \(database); check --data (it is created by `cpsyncd site add` or `cpsyncd serve`)",
                zh: "\(database) 不存在县级数据库；请检查 --data（数据库由 `cpsyncd site add` 或 `cpsyncd serve` 创建）"))
        }
        do {
            return try ServerStore(dataDirectory: directory)
        } catch {
            throw ServerError.dataDirectory(L10n.pick(en: "cannot open the data directory \(directory): \(error)",
                                                      zh: "无法打开数据目录 \(directory)：\(error)"))
        }
    }
}

/// The daemon's configuration file: `key = value` lines, `#` comments. Only `data` is read today.
enum ConfigFile {
    /// The `data` entry of the file at `path`; nil when there is no such file or it has no `data` line.
    static func dataDirectory(in path: String) throws(ConfigFileError) -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let bytes = FileManager.default.contents(atPath: path), let text = String(data: bytes, encoding: .utf8) else {
            throw ConfigFileError(path: path, line: nil, reason: L10n.pick(en: "cannot be read as UTF-8 text", zh: "无法按 UTF-8 文本读取"))
        }
        var found: String?
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw ConfigFileError(path: path, line: index + 1, reason: L10n.pick(en: "expected `key = value`", zh: "应为 `键 = 值` 的形式"))
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            guard key == "data" else { continue }
            guard !value.isEmpty else {
                throw ConfigFileError(path: path, line: index + 1, reason: L10n.pick(en: "`data =` needs a directory", zh: "`data =` 后需要填写目录"))
            }
            found = value
        }
        return found
    }
}

/// The configuration file exists but cannot be used (exit 74): say where, and what to fix.
struct ConfigFileError: ExitCodeProviding {
    let path: String
    let line: Int?
    let reason: String
    var exitCode: ExitCode { .ioError }
    var description: String {
        let place = line.map { "\(path):\($0)" } ?? path
        return L10n.pick(en: "configuration file \(place): \(reason) (fix it, or pass --data DIR)",
                         zh: "配置文件 \(place)：\(reason)（请修正，或用 --data 指定目录）")
    }
}
