import CPSyncCLI
import CPSyncClient
import CPSyncCore
import Foundation

/// `cpsync push [--json]`: sends this office's changes. Warns first when the PC clock is off.
enum PushCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv, flags: ["json", "quiet"])
        let json = args.flag("json")
        let quiet = args.flag("quiet")
        let client = try SyncClient(replica: try OfficeDatabase.open(&args), language: L10n.language)
        try args.checkAllConsumed()
        client.meter = Progress.meter(enabled: !json && !quiet)
        ClockCheck.warnIfSkewed(client)
        let s = try client.push()
        try RelayNotes.forward(client)
        SyncNotes.afterTransfer(client)
        let (files, filesRefused) = try FileNotes.transfer(client, send: true, fetch: false, quiet: json || quiet)
        if json {
            struct Pushed: Encodable {
                let batches, sent, applied, alreadyKnown, conflicts, held: Int
                let files: FileTransferJSON
                enum CodingKeys: String, CodingKey { case batches, sent, applied, conflicts, held, files, alreadyKnown = "already_known" }
            }
            Console.out(try JSONOutput.encode(Pushed(batches: s.batches, sent: s.sent, applied: s.applied, alreadyKnown: s.alreadyKnown,
                                                     conflicts: s.conflicts, held: try client.replica.held().count,
                                                     files: FileTransferJSON(files, refused: try client.replica.blobRefusals().count))))
        } else {
            Console.out(L10n.pick(en: "pushed \(s.sent) changes in \(s.batches) batches (\(s.applied) new on the server, \(s.conflicts) conflicts for review)",
                                  zh: "已推送 \(s.sent) 条修改，共 \(s.batches) 批（服务器新增 \(s.applied) 条，待审核冲突 \(s.conflicts) 条）"))
        }
        let held = try HeldNotes.report(client)
        return held != 0 ? held : filesRefused ? ExitCode.dataError.rawValue : 0
    }
}
