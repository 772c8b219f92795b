import CPSyncCLI
import CPSyncClient
import CPSyncCore
import CPSyncProtocol
import Foundation

/// `cpsync relay-import FILE [--json]`: a township keeps a station's changes file; its next push or sync forwards it.
enum RelayImportCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv, flags: ["json"])
        let json = args.flag("json")
        guard let path = args.positionals.first else { throw UsageError.missingArgument("FILE (the station's changes file)") }
        if args.positionals.count > 1 { throw UsageError.unexpectedArgument(args.positionals[1]) }
        let client = try SyncClient(replica: try OfficeFile.open(&args), language: L10n.language)
        try args.checkAllConsumed()
        try ChangeFileIO.checkReadable(path)
        let (header, isNew) = try ChangeFileCommand.run { try client.storeRelayed(path: path) }
        // The station's attached files beside it go up with this office's next sync.
        let (kept, _) = try client.files.take(fromDirectory: path + ".files", hashes: header.files ?? [])
        try client.replica.noteBlobsRelayed(kept)
        if json {
            struct Kept: Encodable {
                let site, fileId: String
                let new: Bool
                enum CodingKeys: String, CodingKey { case site, new, fileId = "file_id" }
            }
            Console.out(try JSONOutput.encode(Kept(site: header.site, fileId: header.fileId, new: isNew)))
        } else {
            Console.out(isNew
                ? L10n.pick(en: "kept the changes of site '\(header.site)'; the next `cpsync push` or `sync` forwards them to the county, then `cpsync relay-replies --to DIR` writes the reply for the clerk",
                            zh: "已保存站点 '\(header.site)' 的修改文件；下次 `cpsync push` 或 `sync` 时转发到县里，之后用 `cpsync relay-replies --to 目录` 写出回执交给联络员")
                : L10n.pick(en: "this file of site '\(header.site)' was kept before; nothing was changed", zh: "站点 '\(header.site)' 的这个文件此前已保存；未做任何改动"))
        }
        return 0
    }
}

/// `cpsync relay-replies --to DIR [--json]`: writes the county's replies to the relayed files, for the clerks.
enum RelayRepliesCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv, flags: ["json"])
        let json = args.flag("json")
        let dir = try args.required("to")
        let client = try SyncClient(replica: try OfficeFile.open(&args), language: L10n.language)
        try args.checkAllConsumed()
        if let extra = args.positionals.first { throw UsageError.unexpectedArgument(extra) }
        var written: [String] = [], waiting = 0, refused = 0
        for f in try client.relayedFiles() {
            if let reply = f.reply {
                let path = (dir as NSString).appendingPathComponent("\(f.site)-回执-\(f.fileId.prefix(8)).cpsync")
                // The reply's own name in DIR: written again, it is the same reply (or a later one for that file).
                let store = try client.relayStore
                try ChangeFileIO.write(to: path, overwrite: true) { temporary in
                    try ChangeFileCommand.writing(path) { try store.export(reply, to: temporary) }
                }
                written.append(path)
            } else if let error = f.error {
                refused += 1
                Console.err(L10n.pick(en: "the county refused the file \(f.fileId.prefix(8)) of site '\(f.site)': \(error); export it again at the station",
                                      zh: "县里拒收了站点 '\(f.site)' 的文件 \(f.fileId.prefix(8))：\(error)；请在联络站重新导出"))
            } else {
                waiting += 1
            }
        }
        if json {
            struct Replies: Encodable { let written, waiting, refused: Int }
            Console.out(try JSONOutput.encode(Replies(written: written.count, waiting: waiting, refused: refused)))
        } else {
            for p in written { Console.out(p) }
            Console.out(L10n.pick(en: "\(written.count) replies written; \(waiting) files wait for the next push", zh: "已写出 \(written.count) 份回执；\(waiting) 个文件等待下次推送"))
        }
        return refused == 0 ? 0 : ExitCode.refused.rawValue
    }
}

/// After a push: forwards the stations' files this office keeps (relay), and says so.
enum RelayNotes {
    static func forward(_ client: SyncClient) throws {
        let (forwarded, refused) = try client.forwardRelayed()
        if forwarded > 0 {
            Console.err(L10n.pick(en: "forwarded \(forwarded) station files to the county; `cpsync relay-replies --to DIR` writes the replies",
                                  zh: "已向县里转发 \(forwarded) 个联络站文件；用 `cpsync relay-replies --to 目录` 写出回执"))
        }
        if refused > 0 {
            Console.err(L10n.pick(en: "the county refused \(refused) station files; `cpsync relay-replies --to DIR` says why",
                                  zh: "县里拒收了 \(refused) 个联络站文件；`cpsync relay-replies --to 目录` 会说明原因"))
        }
    }
}
