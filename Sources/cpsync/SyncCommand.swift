import CPPCC
import CPSyncCLI
import CPSyncClient
import CPSyncCore
import Foundation

/// `cpsync sync [--json]`: pull, push, pull.
enum SyncCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv, flags: ["json", "quiet"])
        let json = args.flag("json")
        let quiet = args.flag("quiet")
        let client = try SyncClient(replica: try OfficeDatabase.open(&args), language: L10n.language)
        let policy = try FilePolicyOption.parse(&args)
        try args.checkAllConsumed()
        try policy?.remember(in: client.replica)
        client.meter = Progress.meter(enabled: !json && !quiet)
        let first = try client.pull()
        ClockCheck.warnIfSkewed(client)
        let pushed = try client.push()
        try RelayNotes.forward(client)
        let second = try client.pull()
        SyncNotes.afterTransfer(client)
        let (files, filesRefused) = try FileNotes.transfer(client, send: true, fetch: true, quiet: json || quiet)
        if json {
            let lost = (try? client.lostEdits().count) ?? 0
            struct Synced: Encodable {
                let pulled, pushed, conflicts: Int
                let cursor: Int64
                let held, lostEdits: Int
                let files: FileTransferJSON
                enum CodingKeys: String, CodingKey { case pulled, pushed, conflicts, cursor, held, files, lostEdits = "lost_edits" }
            }
            Console.out(try JSONOutput.encode(Synced(pulled: first.received + second.received, pushed: pushed.sent, conflicts: pushed.conflicts,
                                                     cursor: second.cursor, held: try client.replica.held().count, lostEdits: lost,
                                                     files: FileTransferJSON(files, refused: try client.replica.blobRefusals().count))))
        } else {
            Console.out(L10n.pick(en: "synced: pulled \(first.received + second.received), pushed \(pushed.sent) changes (\(pushed.conflicts) conflicts for review)",
                                  zh: "同步完成：拉取 \(first.received + second.received) 条，推送 \(pushed.sent) 条（待审核冲突 \(pushed.conflicts) 条）"))
            LostEditNotes.report(client)
        }
        let held = try HeldNotes.report(client)
        return held != 0 ? held : filesRefused ? ExitCode.dataError.rawValue : 0
    }
}
