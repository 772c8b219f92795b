import CPSyncCLI
import CPSyncClient
import CPSyncCore
import Foundation

/// `cpsync pull [--json] [--reset]`
enum PullCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv, flags: ["json", "reset", "quiet"])
        let json = args.flag("json")
        let quiet = args.flag("quiet")
        let reset = args.flag("reset")
        let client = try SyncClient(replica: try OfficeDatabase.open(&args), language: L10n.language)
        if let size = try args.int("page-size") { client.pullPageSize = max(1, size) }
        try args.checkAllConsumed()
        client.meter = Progress.meter(enabled: !json && !quiet)
        let s = try client.pull(reset: reset)
        SyncNotes.afterTransfer(client)
        if json {
            struct Pulled: Encodable { let pages, received, applied: Int; let cursor: Int64 }
            Console.out(try JSONOutput.encode(Pulled(pages: s.pages, received: s.received, applied: s.applied, cursor: s.cursor)))
        } else {
            Console.out(L10n.pick(en: "pulled \(s.received) changes in \(s.pages) pages (\(s.applied) new here)",
                                  zh: "已拉取 \(s.received) 条修改，共 \(s.pages) 页（本机新增 \(s.applied) 条）"))
        }
        return 0
    }
}
