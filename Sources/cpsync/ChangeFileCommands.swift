import CPSyncCLI
import CPSyncClient
import CPSyncCore
import CPSyncProtocol
import Foundation

/// `cpsync export-changes --to FILE [--overwrite] [--json]`: this station's unacknowledged changes, signed, for a USB
/// stick — to a new file (an existing one only with `--overwrite`), never over the office's database.
enum ExportChangesCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv, flags: ["json", "overwrite"])
        let json = args.flag("json")
        let overwrite = args.flag("overwrite")
        let to = try args.required("to")
        let client = try SyncClient(replica: try OfficeFile.open(&args), language: L10n.language)
        try args.checkAllConsumed()
        if let extra = args.positionals.first { throw UsageError.unexpectedArgument(extra) }
        try ChangeFileIO.checkDestination(to, overwrite: overwrite, protected: .officeDatabase(client.replica.database.path))
        // Attached files not yet acknowledged travel beside the file, in `FILE.files/`, named by their hashes (signed in it).
        let carried = try client.filesToCarry().map(\.hash)
        let written = carried.isEmpty ? [] : try client.files.export(carried, toDirectory: to + ".files")
        // Written a batch at a time to a temporary file beside `to`, then moved into place.
        let s = try ChangeFileCommand.run {
            try ChangeFileIO.write(to: to, overwrite: overwrite) { temporary in
                try ChangeFileCommand.writing(to) { try client.exportChanges(to: temporary, files: written) }
            }
        }
        if json {
            struct Written: Encodable { let batches, changes, outbox, bytes, held, files: Int }
            Console.out(try JSONOutput.encode(Written(batches: s.batches, changes: s.changes, outbox: s.outbox, bytes: Int(s.bytes),
                                                      held: try client.replica.held().count, files: written.count)))
        } else {
            Console.out(L10n.pick(
                en: "wrote \(s.changes) changes in \(s.batches) batches to \(to); carry it to the county (`cpsyncd import`). They stay queued here until the county's reply is imported (`cpsync import-changes`)",
                zh: "已把 \(s.changes) 条修改（\(s.batches) 批）写入 \(to)；请带到县政协导入（`cpsyncd import`）。在导入县里的回执（`cpsync import-changes`）之前，这些修改仍保留在本机"))
            if !written.isEmpty {
                Console.out(L10n.pick(en: "\(written.count) attached files are in \(to).files/: carry that folder with it",
                                      zh: "\(written.count) 个附件文件在 \(to).files/ 文件夹中：请连同该文件夹一起带去"))
            }
        }
        return try HeldNotes.report(client)
    }
}

/// `cpsync import-changes REPLY [--json]`: applies the county's reply (push acknowledgement and pull) in one
/// transaction.
enum ImportChangesCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv, flags: ["json"])
        let json = args.flag("json")
        guard let path = args.positionals.first else { throw UsageError.missingArgument("REPLY (the county's reply file)") }
        if args.positionals.count > 1 { throw UsageError.unexpectedArgument(args.positionals[1]) }
        let client = try SyncClient(replica: try OfficeFile.open(&args), language: L10n.language)
        try args.checkAllConsumed()
        try ChangeFileIO.checkReadable(path)
        // Test hook: seconds to wait after each page, inside the import's transaction.
        let pause = (ProcessInfo.processInfo.environment["CPSYNC_TEST_IMPORT_PAUSE_MS"].flatMap(Double.init) ?? 0) / 1000
        let s = try ChangeFileCommand.run { try client.importReply(path: path, pauseBetweenPages: pause) }
        // The county's files for this station's records, beside the reply; and the own files it acknowledged.
        let companion = path + ".files"
        let (_, damaged) = try client.files.take(fromDirectory: companion, hashes: BlobStore.hashes(inDirectory: companion))
        for hash in s.filesHeld { try client.replica.noteBlobSent(hash) }
        _ = try client.forgetFiles()
        for hash in damaged {
            Console.err(L10n.pick(en: "the attached file \(hash.prefix(12))… beside the reply is damaged (its bytes do not match); it was not kept: export again",
                                  zh: "回执旁的附件文件 \(hash.prefix(12))… 已损坏（内容与校验值不符），未保存：请重新导出一次"))
        }
        if json {
            struct Imported: Encodable {
                let alreadyImported, pushAcknowledged, pullSkipped: Bool
                let acknowledged, refused, errors, pages, received, applied, restamped, held: Int
                enum CodingKeys: String, CodingKey {
                    case acknowledged, refused, errors, pages, received, applied, restamped, held
                    case alreadyImported = "already_imported", pushAcknowledged = "push_acknowledged", pullSkipped = "pull_skipped"
                }
            }
            Console.out(try JSONOutput.encode(Imported(
                alreadyImported: s.alreadyImported, pushAcknowledged: s.pushAcknowledged, pullSkipped: s.pullSkipped,
                acknowledged: s.acknowledged, refused: s.refused, errors: s.errors.count, pages: s.pages, received: s.received,
                applied: s.applied, restamped: s.restamped, held: try client.replica.held().count)))
        } else if s.alreadyImported {
            Console.out(L10n.pick(en: "this reply was imported before (or a newer one was); nothing was changed",
                                  zh: "这份回执已导入过（或已导入更新的回执）；未做任何改动"))
        } else {
            Console.out(L10n.pick(en: "imported the county's reply: \(s.acknowledged) batches acknowledged, \(s.received) changes received (\(s.applied) new here)",
                                  zh: "已导入县里的回执：\(s.acknowledged) 批修改已确认，收到 \(s.received) 条修改（本机新增 \(s.applied) 条）"))
        }
        if s.serverWasRestored {
            Console.err(L10n.pick(en: "note: the county server was restored from a backup; the next export sends everything again (nothing was lost)",
                                  zh: "提示：县政协服务器已从备份恢复，下次导出将重新发送全部数据（数据没有丢失）"))
        }
        if s.pullSkipped || s.scopeGrew {
            Console.err(L10n.pick(en: "note: export again and carry it to the county: this office needs the county's data from the beginning",
                                  zh: "提示：请再导出一次带到县里：本办公室需要从头接收县里的数据"))
        }
        if s.restamped > 0 {
            Console.err(L10n.pick(en: "note: \(s.restamped) changes stamped while this PC's clock was fast were stamped again; export again to send them",
                                  zh: "提示：\(s.restamped) 条在电脑时钟偏快时保存的修改已重新标记时间；请再导出一次发送"))
        }
        for e in s.errors {
            Console.err(L10n.pick(en: "the county could not take a batch: \(e); those changes stay queued here and go with the next export",
                                  zh: "县里未能接收一批修改：\(e)；这些修改仍保留在本机，随下次导出一起发送"))
        }
        let held = try HeldNotes.report(client)
        return held != 0 ? held : (s.errors.isEmpty ? 0 : ExitCode.refused.rawValue)
    }
}

/// Change-file refusals as the clerk reads them (exit 65: the file was refused, nothing applied).
enum ChangeFileCommand {
    static func run<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as ChangeFileError { throw ChangeFileRefused(error: e) }
    }

    /// A failed write of a change file (the stick full, pulled out) in the clerk's words (exit 74).
    static func writing<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as ChunkFileError {
            throw ChangeFileIOError.cannotWrite(path, String(cString: strerror(e.code)))
        } catch BlobError.io(_, let code) {
            throw ChangeFileIOError.cannotWrite(path, String(cString: strerror(code)))
        }
    }
}

struct ChangeFileRefused: ExitCodeProviding {
    let error: ChangeFileError
    var exitCode: ExitCode { .dataError }
    var description: String { L10n.pick(en: error.english, zh: error.chinese) }
}
