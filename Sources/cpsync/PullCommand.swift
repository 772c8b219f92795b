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
        let policy = try FilePolicyOption.parse(&args)
        try args.checkAllConsumed()
        try policy?.remember(in: client.replica)
        client.meter = Progress.meter(enabled: !json && !quiet)
        let s = try client.pull(reset: reset)
        SyncNotes.afterTransfer(client)
        let (files, _) = try FileNotes.transfer(client, send: false, fetch: true, quiet: json || quiet)
        if json {
            struct Pulled: Encodable { let pages, received, applied: Int; let cursor: Int64; let files: FileTransferJSON }
            Console.out(try JSONOutput.encode(Pulled(pages: s.pages, received: s.received, applied: s.applied, cursor: s.cursor,
                                                     files: FileTransferJSON(files, refused: 0))))
        } else {
            Console.out(L10n.pick(en: "pulled \(s.received) changes in \(s.pages) pages (\(s.applied) new here)",
                                  zh: "已拉取 \(s.received) 条修改，共 \(s.pages) 页（本机新增 \(s.applied) 条）"))
        }
        return 0
    }
}
