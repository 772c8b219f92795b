import CPPCC
import CPSyncCLI
import CPSyncClient
import CPSyncCore
import CPSyncEngine
import Foundation

/// `cpsync attach add|list|get|remove`: files attached to records (附件). The rows sync as every record does; the
/// bytes go with `sync` (`push` sends, `pull` fetches by the office's `--attachments` policy).
enum AttachCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        guard let sub = argv.first else { throw UsageError.missingArgument("attach add|list|get|remove") }
        var args = try Arguments(Array(argv.dropFirst()), flags: ["json"])
        let replica = try OfficeFile.open(&args)
        let office = try Office(replica)
        let json = args.flag("json")
        let store = try BlobStore.beside(database: replica.database.path)
        switch sub {
        case "add":
            let record = try recordOption(&args, required: true)!
            let name = args.option("name")
            let file = try MemberCommand.positional(args, L10n.pick(en: "FILE (the path of the file to attach)", zh: "文件路径"))
            try args.checkAllConsumed()
            let a = try Attachments.add(office, to: record, file: file, name: name, store: store, limits: try BlobLimits.known(by: replica))
            Console.out(json ? try JSONOutput.encode(Listed(a)) : L10n.pick(
                en: "attached \(a.name) (\(ByteCount(a.size).text(in: L10n.language))) to \(a.recordKind) \(record.key): \(a.id.prefix(Office.shortIDLength)); it goes to the county with the next sync",
                zh: "已将“\(a.name)”（\(ByteCount(a.size).text(in: L10n.language))）添加为\(Self.zh(a))附件，编号 \(a.id.prefix(Office.shortIDLength))；下次同步时发送到县政协"))
        case "list":
            let record = try recordOption(&args, required: false)
            try args.checkAllConsumed()
            let list = try Attachments.list(office, record: record, store: store)
            struct Listing: Encodable { let attachments: [Listed] }
            if json { Console.out(try JSONOutput.encode(Listing(attachments: list.map(Listed.init)))); break }
            guard !list.isEmpty else { Console.out(L10n.pick(en: "no attachments", zh: "没有附件")); break }
            let header = L10n.isChinese ? ["编号", "所属", "文件名", "大小", "添加", "本机"] : ["id", "record", "name", "size", "added", "here"]
            Console.out(Console.table(header: header, rows: list.map { a in
                [String(a.id.prefix(Office.shortIDLength)), "\(Self.zh(a)) \(FieldLabels.row(a.recordTable, pk: a.recordID, in: replica.database))", a.name,
                 ByteCount(a.size).text(in: L10n.language), "\(a.addedBy) \(a.addedAt.prefix(10))",
                 a.present ? L10n.pick(en: "yes", zh: "有") : L10n.pick(en: "not yet", zh: "未下载")]
            }))
        case "get":
            let to = try args.required("to")
            let key = try MemberCommand.positional(args, L10n.pick(en: "attachment ID (or its first characters)", zh: "附件编号（或其前几位）"))
            try args.checkAllConsumed()
            let a = try Attachments.find(office, key, store: store)
            if !store.has(a.sha256) {
                // Not here yet (the policy left it, or it is still on its way): fetch it now.
                let client = try SyncClient(replica: replica, language: L10n.language)
                client.fileProgress = FileNotes.progress(enabled: !json)
                _ = try client.fetchFile(BlobReference(hash: a.sha256, size: a.size, addedAt: a.addedAt, addedBy: a.addedBy))
                guard store.has(a.sha256) else { throw AttachmentUnavailable(name: a.name) }
            }
            var target = to
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: to, isDirectory: &isDirectory), isDirectory.boolValue {
                target = (to as NSString).appendingPathComponent(a.name)
            }
            try store.export(a.sha256, to: target)
            Console.out(json ? try JSONOutput.encode(Listed(a)) : L10n.pick(en: "saved \(a.name) to \(target)", zh: "已将“\(a.name)”保存到 \(target)"))
        case "remove":
            let key = try MemberCommand.positional(args, L10n.pick(en: "attachment ID (or its first characters)", zh: "附件编号（或其前几位）"))
            try args.checkAllConsumed()
            let a = try Attachments.remove(office, id: key)
            Console.out(json ? try JSONOutput.encode(Listed(a)) : L10n.pick(
                en: "removed attachment \(a.name) (\(a.id.prefix(Office.shortIDLength))); the removal goes to the county with the next sync",
                zh: "已删除附件“\(a.name)”（\(a.id.prefix(Office.shortIDLength))）；下次同步时通知县政协"))
        default:
            throw UsageError.unknownCommand("attach \(sub)")
        }
        return ExitCode.ok.rawValue
    }

    /// The record of `--proposal NUMBER | --activity ID | --social ID | --member ID` (exactly one).
    static func recordOption(_ args: inout Arguments, required: Bool) throws -> Attachments.RecordRef? {
        var found: [Attachments.RecordRef] = []
        for kind in Attachments.kinds {
            if let key = args.option(kind.option) { found.append(Attachments.RecordRef(kind: kind, key: key)) }
        }
        if found.count > 1 { throw UsageError.invalidValue(option: found[1].kind.option, value: found[1].key, expected: L10n.pick(en: "only one of --proposal, --activity, --social, --member", zh: "--proposal、--activity、--social、--member 只能用一个")) }
        if found.isEmpty && required { throw UsageError.missingArgument("--proposal NUMBER | --activity ID | --social ID | --member ID") }
        return found.first
    }

    static func zh(_ a: Attachments.Attachment) -> String {
        guard L10n.isChinese else { return a.recordKind }
        return FieldLabels.table(a.recordTable, chinese: true)
    }

    /// An attachment as `--json` lists it.
    struct Listed: Encodable {
        let id, table, record, name: String
        let size: Int64
        let sha256, mediaType, addedBy, addedAt: String
        let present: Bool
        init(_ a: Attachments.Attachment) {
            (id, table, record, name, size, sha256) = (a.id, a.table, a.recordID, a.name, a.size, a.sha256)
            (mediaType, addedBy, addedAt, present) = (a.mediaType, a.addedBy, a.addedAt, a.present)
        }
        enum CodingKeys: String, CodingKey {
            case id, table, record, name, size, sha256, present
            case mediaType = "media_type", addedBy = "added_by", addedAt = "added_at"
        }
    }
}

/// The county does not have the file for this office (yet): the office that attached it has not sent it.
struct AttachmentUnavailable: ExitCodeProviding {
    let name: String
    var exitCode: ExitCode { .unavailable }
    var description: String {
        L10n.pick(en: "the county does not have the file \(name) yet (the office that attached it has not sent it); try again after it syncs",
                  zh: "县政协还没有文件“\(name)”（添加它的办公室尚未发送）；请等该办公室同步后再试")
    }
}

/// The files' part of `push`, `pull` and `sync`: moves the bytes, prints what moved and what the county refused.
enum FileNotes {
    /// Moves files (sending own, fetching by policy); returns the summary and whether something needs the clerk.
    static func transfer(_ client: SyncClient, send: Bool, fetch: Bool, quiet: Bool) throws -> (FileTransfer.Summary, needsClerk: Bool) {
        client.fileProgress = progress(enabled: !quiet)
        let s = try client.transferFiles(send: send, fetch: fetch)
        if !quiet && (s.sentFiles + s.fetchedFiles) > 0 {
            Console.err(L10n.pick(en: "files: sent \(s.sentFiles) (\(ByteCount(s.sentBytes).text(in: L10n.language))), received \(s.fetchedFiles) (\(ByteCount(s.fetchedBytes).text(in: L10n.language)))",
                                  zh: "附件：发送 \(s.sentFiles) 个（\(ByteCount(s.sentBytes).text(in: L10n.language))），接收 \(s.fetchedFiles) 个（\(ByteCount(s.fetchedBytes).text(in: L10n.language))）"))
        }
        let refused = try client.replica.blobRefusals()
        guard !refused.isEmpty else { return (s, false) }
        let names = try Attachments.referenced(in: client.replica)
        Console.err(L10n.pick(en: "\(refused.count) attached files were refused by the county (their records were sent; nothing else is affected):",
                              zh: "有 \(refused.count) 个附件文件被县政协拒收（附件记录已发送，其他数据不受影响）："))
        for (hash, r) in refused.sorted(by: { $0.key < $1.key }) {
            let size = names.first { $0.hash == hash }?.size ?? 0
            Console.err("  " + (L10n.isChinese ? (HeldNotes.chinese(code: r.code) + "（\(ByteCount(size).text(in: .chinese))；技术信息：\(r.message)）")
                                               : "\(hash.prefix(12))… (\(ByteCount(size).text(in: .english))): \(r.message)"))
        }
        return (s, true)
    }

    /// A one-line progress display on a terminal for long transfers.
    static func progress(enabled: Bool) -> ((String, Int64, Int64, Bool) -> Void)? {
        guard enabled, isatty(2) != 0 else { return nil }
        return { hash, held, size, sending in
            let percent = size > 0 ? Int(held * 100 / size) : 100
            let verb = sending ? L10n.pick(en: "sending", zh: "发送附件") : L10n.pick(en: "receiving", zh: "接收附件")
            FileHandle.standardError.write(Data("\r\(verb) \(hash.prefix(8)) \(percent)% (\(ByteCount(held).text(in: L10n.language)) / \(ByteCount(size).text(in: L10n.language)))\u{1B}[K".utf8))
            if held >= size { FileHandle.standardError.write(Data("\n".utf8)) }
        }
    }
}

/// `--attachments all|recent|none` of `init`, `pull` and `sync`.
enum FilePolicyOption {
    static func parse(_ args: inout Arguments) throws -> FilePolicy? {
        guard let text = args.option("attachments") else { return nil }
        guard let policy = FilePolicy(rawValue: text) else {
            throw UsageError.invalidValue(option: "attachments", value: text, expected: "all, recent or none")
        }
        return policy
    }
}

/// The files' part of a transfer's `--json`.
struct FileTransferJSON: Encodable {
    let sent, received, refused, unavailable: Int
    let sentBytes, receivedBytes: Int64
    init(_ s: FileTransfer.Summary, refused: Int) {
        (sent, received, self.refused, unavailable) = (s.sentFiles, s.fetchedFiles, refused, s.unavailable)
        (sentBytes, receivedBytes) = (s.sentBytes, s.fetchedBytes)
    }
    enum CodingKeys: String, CodingKey {
        case sent, received, refused, unavailable
        case sentBytes = "sent_bytes", receivedBytes = "received_bytes"
    }
}
