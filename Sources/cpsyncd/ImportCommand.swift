import CPSyncCLI
import CPSyncCore
import CPSyncProtocol
import CPSyncServer
import Foundation

/// `cpsyncd import FILE --reply OUT [--overwrite] [--json]`: merges a station's changes file (sync by USB stick) as
/// that station's push and writes the signed reply the clerk carries back — to a new file (an existing one only with
/// `--overwrite`), never inside the data directory. The reply's path is checked before anything is merged, so a
/// refused path imports nothing and the station can simply be imported again.
///
/// The station's attached files carried beside its file meet the county's limits as uploads do (those `cpsyncd serve`
/// last ran with, noted in the data directory; `--attachment-max-mb`, `--attachment-quota-mb` override them): a file
/// beyond them is not stored and is named on standard error (exit 77, as a refused batch); its record and everything
/// else are imported, and the station carries the file again.
enum ImportCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv, flags: ["json", "overwrite"])
        let json = args.flag("json")
        let overwrite = args.flag("overwrite")
        let out = try args.required("reply")
        let givenLimits = try AttachmentOptions.given(&args)
        let data = try DataOption.directory(&args)
        try args.checkAllConsumed()
        let path = try Accounts.onePositional(args, "FILE (the station's changes file)")
        try ChangeFileIO.checkDestination(out, overwrite: overwrite, protected: .dataDirectory(data))
        try ChangeFileIO.checkReadable(path)
        let store = try DataOption.openExisting(data)
        // The limits `serve` runs with, unless given here.
        let limits = givenLimits(store.rememberedAttachmentLimits() ?? AttachmentOptions.defaults)
        var importer = ChangeFileImporter(service: SyncService(store: store, log: EventLog(enabled: false)))
        // Test hook: seconds to wait after each batch, to kill the process mid-import.
        importer.pauseBetweenBatches = (ProcessInfo.processInfo.environment["CPSYNC_TEST_IMPORT_PAUSE_MS"].flatMap(Double.init) ?? 0) / 1000
        // The station's attached files, beside its file: each stored only if its bytes match its name (a name the
        // signed file lists; a file whose signature then fails leaves only verified, unnamed bytes for `attachments gc`).
        let companion = path + ".files"
        let peeked = try? ChangeFile.Reader.peekHeader(path: path)
        let listed = peeked?.files
        // Made here first: a files directory that cannot be made stops the import before anything is merged.
        _ = try BlobStore(directory: AttachmentService.filesDirectory(of: store))
        let attachments = AttachmentService(store: store, limits: limits, log: EventLog(enabled: false), metrics: Metrics())
        let carried = try attachments.takeCarried(fromDirectory: companion, hashes: listed ?? [], site: peeked?.site ?? "")
        // The reply is written a line at a time to a temporary file beside `out`, moved into place when whole.
        let s: ChangeFileImporter.Summary
        // Whether the import ran before the reply failed (its temporary file may fail before it starts).
        var started = false
        do {
            s = try ChangeFileIO.write(to: out, overwrite: overwrite) { temporary in
                started = true
                return try importer.importFile(path: path, reply: temporary)
            }
        } catch let e as ChangeFileError {
            throw ImportRefused(message: L10n.pick(en: e.english, zh: e.chinese))
        } catch let e as ErrorBody {
            throw ImportRefused(message: e.message)
        } catch let e as ChunkFileError where e.path == path {
            throw ChangeFileIOError.cannotRead(path)
        } catch let e as ChunkFileError {
            throw ReplyNotWritten(error: .cannotWrite(out, String(cString: strerror(e.code))), imported: started)
        } catch let e as ChangeFileIOError {
            throw ReplyNotWritten(error: e, imported: started)
        }
        // The files the reply's records name, beside it, for the station.
        let forStation = s.filesNamed.isEmpty ? [] : try attachments.blobs.export(s.filesNamed, toDirectory: out + ".files")
        if json {
            struct Imported: Encodable { let site: String; let batches, applied, replayed, conflicts, refused, errors, pages, pulled: Int }
            Console.out(try JSONOutput.encode(Imported(site: s.site, batches: s.batches, applied: s.applied, replayed: s.replayed, conflicts: s.conflicts,
                                                       refused: s.refused, errors: s.errors.count, pages: s.pages, pulled: s.pulled)))
        } else {
            Console.out(L10n.pick(
                en: "imported \(s.batches) batches of site '\(s.site)' (\(s.applied) changes new, \(s.replayed) batches seen before, \(s.conflicts) conflicts for review, \(s.refused) refused); reply with \(s.pulled) changes written to \(out): carry it back to the station (`cpsync import-changes`)",
                zh: "已导入站点 '\(s.site)' 的 \(s.batches) 批修改（新增 \(s.applied) 条，\(s.replayed) 批此前已导入，待审核冲突 \(s.conflicts) 条，拒收 \(s.refused) 条）；回执（含 \(s.pulled) 条修改）已写入 \(out)，请带回联络站导入（`cpsync import-changes`）"))
        }
        if !forStation.isEmpty {
            Console.out(L10n.pick(en: "\(forStation.count) attached files for the station are in \(out).files/: carry that folder back with the reply",
                                  zh: "给联络站的 \(forStation.count) 个附件文件在 \(out).files/ 文件夹中：请连同回执一起带回"))
        }
        for hash in carried.damaged {
            Console.err(L10n.pick(en: "the attached file \(hash.prefix(12))… beside the station's file is damaged (its bytes do not match); not stored: the station carries it again next time",
                                  zh: "联络站文件旁的附件 \(hash.prefix(12))… 已损坏（内容与校验值不符），未保存；联络站下次会再带来"))
        }
        for file in carried.refused {
            Console.err(Self.refusedText(file.hash, size: file.size, file.why, limits: limits))
        }
        for e in s.errors {
            Console.err(L10n.pick(en: "a batch was refused: \(e); the reply says so and the station keeps those changes queued",
                                  zh: "有一批修改被拒收：\(e)；回执中已注明，联络站会保留这些修改"))
        }
        return s.errors.isEmpty && carried.refused.isEmpty ? 0 : ExitCode.refused.rawValue
    }

    /// A carried file the county's limits refuse, in the reader's language (by the refusal's code, never its text).
    static func refusedText(_ hash: String, size: Int64, _ why: ErrorBody, limits: BlobLimits) -> String {
        let mb = { (bytes: Int64) in String(format: "%.1f", Double(bytes) / 1_048_576) }
        let name = "\(hash.prefix(12))…"
        switch why.code {
        case .fileTooLarge:
            return L10n.pick(en: "the attached file \(name) beside the station's file (\(mb(size)) MB) is larger than this county accepts (\(mb(limits.maxFileBytes)) MB); not stored, its record is imported: ask the station to attach a smaller copy",
                             zh: "联络站文件旁的附件 \(name)（\(mb(size)) MB）超过县里允许的单个附件大小（\(mb(limits.maxFileBytes)) MB），未保存，其记录已导入：请联络站改附较小的文件")
        case .quotaExceeded:
            return L10n.pick(en: "the attached file \(name) beside the station's file (\(mb(size)) MB) would pass the station's attachment quota (\(mb(limits.siteQuotaBytes)) MB); not stored, its record is imported: remove old attachments or raise --attachment-quota-mb",
                             zh: "联络站文件旁的附件 \(name)（\(mb(size)) MB）会超出该站点的附件总量上限（\(mb(limits.siteQuotaBytes)) MB），未保存，其记录已导入：请删除旧附件或调高 --attachment-quota-mb")
        default:
            return L10n.pick(en: "the attached file \(name) beside the station's file was not stored: \(why.message)",
                             zh: "联络站文件旁的附件 \(name) 未保存：\(why.message)")
        }
    }
}

/// The file was refused (exit 65); nothing of it was applied.
struct ImportRefused: ExitCodeProviding {
    let message: String
    var exitCode: ExitCode { .dataError }
    var description: String { message }
}

/// The station's changes were merged but the reply could not be written (exit 74, or 64 when a file appeared at the
/// path meanwhile): importing the same file again applies nothing twice and writes the reply.
struct ReplyNotWritten: ExitCodeProviding {
    let error: ChangeFileIOError
    /// Whether the station's changes were imported before the reply failed.
    let imported: Bool
    var exitCode: ExitCode { error.exitCode }
    var description: String {
        let what = switch error {
        case .cannotWrite(let path, let why):
            L10n.pick(en: "cannot write the reply '\(path)': \(why) (is the stick full or read-only?)",
                      zh: "无法写入回执 '\(path)'：\(why)（U盘是否已满或只读？）")
        case .destinationExists(let path):
            L10n.pick(en: "a file appeared at '\(path)' during the import; it was not replaced",
                      zh: "导入期间 '\(path)' 处出现了一个文件；未覆盖该文件")
        default: error.description
        }
        guard imported else {
            return what + L10n.pick(en: "; nothing was imported: run the same import again with a --reply path that works",
                                    zh: "；未导入任何内容：请换一个可写入的 --reply 路径再执行一次同样的导入")
        }
        return what + L10n.pick(en: "; the station's changes were imported: run the same import again with a --reply path that works (nothing is applied twice, and the reply is written)",
                                zh: "；联络站的修改已导入：请换一个可写入的 --reply 路径再执行一次同样的导入（不会重复导入，并会写出回执）")
    }
}
