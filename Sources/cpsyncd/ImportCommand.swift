import CPSyncCLI
import CPSyncProtocol
import CPSyncServer
import Foundation

/// `cpsyncd import FILE --reply OUT [--json]`: merges a station's changes file (sync by USB stick) as that
/// station's push and writes the signed reply the clerk carries back.
enum ImportCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv, flags: ["json"])
        let json = args.flag("json")
        let out = try args.required("reply")
        let data = try DataOption.directory(&args)
        try args.checkAllConsumed()
        let path = try Accounts.onePositional(args, "FILE (the station's changes file)")
        let bytes = try ChangeFileIO.read(path)
        let store = try DataOption.openExisting(data)
        var importer = ChangeFileImporter(service: SyncService(store: store, log: EventLog(enabled: false)))
        // Test hook: seconds to wait after each batch, to kill the process mid-import.
        importer.pauseBetweenBatches = (ProcessInfo.processInfo.environment["CPSYNC_TEST_IMPORT_PAUSE_MS"].flatMap(Double.init) ?? 0) / 1000
        let reply: [UInt8], s: ChangeFileImporter.Summary
        do {
            (reply, s) = try importer.importFile(bytes)
        } catch let e as ChangeFileError {
            throw ImportRefused(message: L10n.pick(en: e.english, zh: e.chinese))
        } catch let e as ErrorBody {
            throw ImportRefused(message: e.message)
        }
        try ChangeFileIO.write(reply, to: out)
        if json {
            Console.out("{\"site\":\(Accounts.quote(s.site)),\"batches\":\(s.batches),\"applied\":\(s.applied),\"replayed\":\(s.replayed),\"conflicts\":\(s.conflicts),\"refused\":\(s.refused),\"errors\":\(s.errors.count),\"pages\":\(s.pages),\"pulled\":\(s.pulled)}")
        } else {
            Console.out(L10n.pick(
                en: "imported \(s.batches) batches of site '\(s.site)' (\(s.applied) changes new, \(s.replayed) batches seen before, \(s.conflicts) conflicts for review, \(s.refused) refused); reply with \(s.pulled) changes written to \(out): carry it back to the station (`cpsync import-changes`)",
                zh: "已导入站点 '\(s.site)' 的 \(s.batches) 批修改（新增 \(s.applied) 条，\(s.replayed) 批此前已导入，待审核冲突 \(s.conflicts) 条，拒收 \(s.refused) 条）；回执（含 \(s.pulled) 条修改）已写入 \(out)，请带回联络站导入（`cpsync import-changes`）"))
        }
        for e in s.errors {
            Console.err(L10n.pick(en: "a batch was refused: \(e); the reply says so and the station keeps those changes queued",
                                  zh: "有一批修改被拒收：\(e)；回执中已注明，联络站会保留这些修改"))
        }
        return s.errors.isEmpty ? 0 : ExitCode.refused.rawValue
    }
}

/// The file was refused (exit 65); nothing of it was applied.
struct ImportRefused: ExitCodeProviding {
    let message: String
    var exitCode: ExitCode { .dataError }
    var description: String { message }
}
