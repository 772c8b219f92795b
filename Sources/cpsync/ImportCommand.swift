import CPPCC
import CPSyncCLI
import Foundation

/// `cpsync import members|proposals FILE.csv`: all rows or none; rows matched to records already there update them,
/// so importing the same file twice adds nothing the second time.
enum ImportCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv, flags: ["json"])
        let office = try Office(OfficeFile.open(&args))
        let json = args.flag("json")
        try args.checkAllConsumed()
        guard args.positionals.count >= 2 else { throw UsageError.missingArgument("members|proposals FILE.csv") }
        guard let table = CSVTable(rawValue: args.positionals[0]) else {
            throw UsageError.invalidValue(option: "table", value: args.positionals[0], expected: "members or proposals")
        }
        if args.positionals.count > 2 { throw UsageError.unexpectedArgument(args.positionals[2]) }
        let path = args.positionals[1]
        guard let data = FileManager.default.contents(atPath: path) else { throw CommandFileError(path: path, reason: "not readable") }
        let decoded: (text: String, encoding: CSVEncoding)
        do { decoded = try CSVEncoding.decode(data, file: path) } catch { throw ImportFileError(underlying: error) }
        var summary = try office.importCSV(table, text: decoded.text, fileName: path, in: L10n.language)
        summary.encoding = decoded.encoding.rawValue
        if json {
            Console.out(try CPPCCJSON.encode(summary))
            return ExitCode.ok.rawValue
        }
        Console.out(describe(summary, path: path))
        for w in summary.warnings { Console.err(L10n.pick(en: "warning: ", zh: "警告：") + w) }
        if !summary.skipped.isEmpty {
            Console.err(L10n.pick(en: "warning: \(summary.skipped.count) line(s) were not imported (lines \(summary.skipped.map { String($0.line) }.joined(separator: ", "))): see “skipped” above",
                                  zh: "警告：有 \(summary.skipped.count) 行未导入（第 \(summary.skipped.map { String($0.line) }.joined(separator: "、")) 行），原因见上方“跳过”"))
        }
        return ExitCode.ok.rawValue
    }

    /// The summary a clerk reads: counts, then which records were added and updated (with what changed) and which
    /// lines were skipped and why (the first 20 of each).
    static func describe(_ s: CSVImportSummary, path: String) -> String {
        let zh = L10n.isChinese
        let what = s.table == .members ? (zh ? "委员" : "members") : (zh ? "提案" : "proposals")
        var lines = [zh ? "已从 \(path) 导入 \(s.total) 条\(what)记录：新增 \(s.added.count) 条，更新 \(s.updated.count) 条，未变 \(s.unchanged.count) 条，跳过 \(s.skipped.count) 行"
                        : "imported \(s.total) \(what) from \(path): \(s.added.count) added, \(s.updated.count) updated, \(s.unchanged.count) unchanged, \(s.skipped.count) lines skipped"]
        if s.encoding == CSVEncoding.gb18030.rawValue {
            lines.append(zh ? "说明：文件按 GB18030（GBK）编码读取（旧版 Excel 的 CSV）" : "note: the file was read as GB18030 (GBK), as older Excel saves CSV")
        }
        if !s.ignoredColumns.isEmpty {
            lines.append(zh ? "说明：已忽略以下列：\(s.ignoredColumns.joined(separator: "、"))" : "note: ignored columns: \(s.ignoredColumns.joined(separator: ", "))")
        }
        func line(_ n: Int) -> String { zh ? "第 \(n) 行" : "line \(n)" }
        func listed<T>(_ title: String, _ entries: [T], _ text: (T) -> String) {
            guard !entries.isEmpty else { return }
            lines.append(title + (zh ? "：" : ":"))
            for e in entries.prefix(20) { lines.append("  " + text(e)) }
            if entries.count > 20 { lines.append(zh ? "  ……另有 \(entries.count - 20) 条" : "  … and \(entries.count - 20) more") }
        }
        listed(zh ? "新增" : "added", s.added) { "\(line($0.line))  \($0.label)" }
        listed(zh ? "更新" : "updated", s.updated) { e in
            "\(line(e.line))  \(e.label)" + (e.changes.isEmpty ? "" : (zh ? "（\(e.changes.joined(separator: "；"))）" : " (\(e.changes.joined(separator: "; ")))"))
        }
        listed(zh ? "跳过（未导入）" : "skipped (not imported)", s.skipped) { "\(line($0.line))  \($0.label)\(zh ? "：" : ": ")\($0.reason)" }
        return lines.joined(separator: "\n")
    }
}

/// The file's encoding could not be read (exit 65); the message says how to save it.
struct ImportFileError: ExitCodeProviding {
    let underlying: CSVEncoding.Unreadable
    var exitCode: ExitCode { .dataError }
    var description: String { underlying.description }
}
