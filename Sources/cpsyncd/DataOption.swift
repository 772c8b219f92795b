import CPSyncCLI
import CPSyncServer
import Foundation

/// `--data DIR` (default ./cpsync-data), shared by every verb.
enum DataOption {
    static func directory(_ args: inout Arguments) -> String { args.option("data") ?? "cpsync-data" }

    static func open(_ args: inout Arguments) throws -> ServerStore {
        try open(directory(&args))
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
