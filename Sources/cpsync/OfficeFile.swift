import CPSyncCLI
import CPSyncCore
import Foundation

/// Opening the office database for a verb: a missing file is said plainly (exit 74) and never created.
enum OfficeFile {
    /// Opens the replica at `--db`/`$CPSYNC_DB`/`./cpsync.db`; refuses when there is no file there.
    static func open(_ args: inout Arguments) throws -> Replica {
        let path = OfficeDatabase.path(&args)
        guard FileManager.default.fileExists(atPath: path) else { throw OfficeFileMissing(path: path) }
        return try Replica(path: path, create: false)
    }
}

/// There is no office database where the command looked (exit 74); nothing was created.
struct OfficeFileMissing: ExitCodeProviding {
    let path: String
    var exitCode: ExitCode { .ioError }
    var description: String {
        L10n.pick(en: "no office database at '\(path)' (nothing was created); pass --db PATH or set CPSYNC_DB, or create it with `cpsync init`",
                  zh: "'\(path)' 处没有办公室数据库（未创建任何文件）；请用 --db 指定路径或设置 CPSYNC_DB，或先运行 `cpsync init` 创建")
    }
}
