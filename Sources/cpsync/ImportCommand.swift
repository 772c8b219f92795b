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
        var summary = try office.importCSV(table, text: decoded.text, fileName: path)
        summary.encoding = decoded.encoding.rawValue
        if json {
            Console.out(try CPPCCJSON.encode(summary))
            return ExitCode.ok.rawValue
        }
        Console.out(describe(summary, path: path))
        for w in summary.warnings { Console.err(L10n.pick(en: "warning: ", zh: "警告：") + w) }
        return ExitCode.ok.rawValue
    }

    /// The summary a clerk reads: counts, then which records were added and updated (the first 20 of each).
    static func describe(_ s: CSVImportSummary, path: String) -> String {
        let zh = L10n.isChinese
        let what = s.table == .members ? (zh ? "委员" : "members") : (zh ? "提案" : "proposals")
        var lines = [zh ? "已从 \(path) 导入 \(s.total) 条\(what)记录：新增 \(s.added.count) 条，更新 \(s.updated.count) 条，未变 \(s.unchanged.count) 条"
                        : "imported \(s.total) \(what) from \(path): \(s.added.count) added, \(s.updated.count) updated, \(s.unchanged.count) unchanged"]
        if s.encoding == CSVEncoding.gb18030.rawValue {
            lines.append(zh ? "说明：文件按 GB18030（GBK）编码读取（旧版 Excel 的 CSV）" : "note: the file was read as GB18030 (GBK), as older Excel saves CSV")
        }
        if !s.ignoredColumns.isEmpty {
            lines.append(zh ? "说明：已忽略以下列：\(s.ignoredColumns.joined(separator: "、"))" : "note: ignored columns: \(s.ignoredColumns.joined(separator: ", "))")
        }
        for (title, entries) in [(zh ? "新增" : "added", s.added), (zh ? "更新" : "updated", s.updated)] where !entries.isEmpty {
            lines.append("\(title):")
            for e in entries.prefix(20) { lines.append(zh ? "  第 \(e.line) 行  \(e.label)" : "  line \(e.line)  \(e.label)") }
            if entries.count > 20 { lines.append(zh ? "  ……另有 \(entries.count - 20) 条" : "  … and \(entries.count - 20) more") }
        }
        return lines.joined(separator: "\n")
    }
}

/// The file's encoding could not be read (exit 65); the message says how to save it.
struct ImportFileError: ExitCodeProviding {
    let underlying: CSVEncoding.Unreadable
    var exitCode: ExitCode { .dataError }
    var description: String { underlying.description }
}
