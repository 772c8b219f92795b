import CPSyncCLI
import CPSyncClient
import CPSyncCore
import Foundation

/// `cpsync pull [--json] [--reset]`
enum PullCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv, flags: ["json", "reset"])
        let json = args.flag("json")
        let reset = args.flag("reset")
        let client = try SyncClient(replica: try OfficeDatabase.open(&args))
        if let size = try args.int("page-size") { client.pullPageSize = max(1, size) }
        try args.checkAllConsumed()
        client.progress = Progress.reporter(enabled: !json)
        let s = try client.pull(reset: reset)
        if client.serverWasRestored {
            Console.err(L10n.pick(en: "note: the county server was restored from a backup; this office sent and received everything again (nothing was lost)",
                                  zh: "提示：县政协服务器已从备份恢复，本办公室已重新发送和接收全部数据（数据没有丢失）"))
        }
        if json {
            Console.out("{\"pages\":\(s.pages),\"received\":\(s.received),\"applied\":\(s.applied),\"cursor\":\(s.cursor)}")
        } else {
            Console.out(L10n.pick(en: "pulled \(s.received) changes in \(s.pages) pages (\(s.applied) new here)",
                                  zh: "已拉取 \(s.received) 条修改，共 \(s.pages) 页（本机新增 \(s.applied) 条）"))
        }
        return 0
    }
}
