import CPSyncCLI
import CPSyncServer
import Foundation

/// `cpsyncd backup --data DIR --to FILE|DIR/ [--keep N] [--quiet]`: an online backup while the daemon serves.
enum BackupCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv, flags: ["quiet"])
        let destination = try args.required("to")
        let keep = try args.int("keep")
        let quiet = args.flag("quiet")
        let data = try DataOption.directory(&args)
        try args.checkAllConsumed()
        let outcome = try Maintenance.backup(dataDirectory: data, to: destination, keep: keep)
        if !quiet {
            let size = String(format: "%.1f MiB", Double(outcome.bytes) / Double(1 << 20))
            Console.out(L10n.pick(en: "backup written: \(outcome.path) (\(size), integrity ok, \(String(format: "%.1f", outcome.seconds)) s)",
                                  zh: "备份已写入：\(outcome.path)（\(size)，完整性正常，用时 \(String(format: "%.1f", outcome.seconds)) 秒）"))
            for old in outcome.pruned {
                Console.out(L10n.pick(en: "old backup deleted: \(old)", zh: "已删除旧备份：\(old)"))
            }
        }
        return 0
    }
}
