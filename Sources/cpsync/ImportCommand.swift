import CPPCC
import CPSyncCLI
import Foundation

/// `cpsync import members|proposals FILE.csv`: all rows or none.
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
        guard let text = String(data: data, encoding: .utf8) else {
            throw CPPCCError.csv(file: path, line: 1, reason: L10n.pick(en: "the file is not UTF-8 (save it from Excel as “CSV UTF-8”)",
                                                                     zh: "文件不是 UTF-8 编码（请在 Excel 中另存为“CSV UTF-8”）"))
        }
        let n = try office.importCSV(table, text: text, fileName: path)
        Console.out(json ? "{\"imported\": \(n)}" : L10n.pick(en: "imported \(n) \(table.rawValue) from \(path)", zh: "已从 \(path) 导入 \(n) 条记录"))
        return ExitCode.ok.rawValue
    }
}
