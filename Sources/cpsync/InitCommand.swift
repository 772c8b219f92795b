import CPSyncCLI
import CPSyncClient
import Foundation

/// `cpsync init --db PATH --server URL --site ID --token TOKEN [--ca-file PEM]`
enum InitCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv, flags: ["from-snapshot", "json"])
        let path = OfficeDatabase.path(&args)
        let config = OfficeConfig(server: try args.required("server"), site: try args.required("site"),
                                  token: try args.required("token"), caFile: args.option("ca-file"))
        if args.flag("from-snapshot") { return try SnapshotInit.run(path: path, config: config, args: &args) }
        try args.checkAllConsumed()
        let replica = try OfficeConfig.initialise(path: path, config: config)
        Console.out(L10n.pick(en: "office replica \(path) ready for site '\(replica.siteID)', server \(config.server)",
                              zh: "办公室数据库 \(path) 已就绪：站点 '\(replica.siteID)'，服务器 \(config.server)"))
        return 0
    }
}
