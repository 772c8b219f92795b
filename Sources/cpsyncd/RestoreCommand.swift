import CPSyncCLI
import CPSyncServer
import Foundation

/// `cpsyncd restore --data DIR --from FILE`: replaces a stopped daemon's database with a checked backup.
enum RestoreCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv)
        let source = try args.required("from")
        let data = try DataOption.directory(&args)
        try args.checkAllConsumed()
        let outcome = try Maintenance.restore(dataDirectory: data, from: source)
        if let previous = outcome.previous {
            Console.out(L10n.pick(en: "previous database kept as \(previous)", zh: "原数据库已保留为 \(previous)"))
        }
        Console.out(L10n.pick(en: "restored \(source) into \(outcome.database) (site '\(outcome.siteID)'); start the daemon again (systemctl start cpsyncd)",
                              zh: "已将 \(source) 恢复到 \(outcome.database)（站点 '\(outcome.siteID)'）；请重新启动服务（systemctl start cpsyncd）"))
        return 0
    }
}
