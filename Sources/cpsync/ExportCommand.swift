import CPPCC
import CPSyncCLI
import Foundation

/// `cpsync export members|proposals [--format csv] [--out FILE] [--english-headers]`: CSV for Excel.
enum ExportCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv, flags: ["english-headers"])
        let office = try Office(OfficeFile.open(&args))
        guard let what = args.positionals.first else { throw UsageError.missingArgument("members|proposals") }
        guard let table = CSVTable(rawValue: what) else { throw UsageError.invalidValue(option: "table", value: what, expected: "members or proposals") }
        if args.positionals.count > 1 { throw UsageError.unexpectedArgument(args.positionals[1]) }
        let format = args.option("format") ?? "csv"
        guard format == "csv" else { throw UsageError.invalidValue(option: "format", value: format, expected: "csv") }
        let out = args.option("out")
        let english = args.flag("english-headers")
        try args.checkAllConsumed()
        try write(try office.exportCSV(table, englishHeaders: english, in: L10n.language), to: out)
        return ExitCode.ok.rawValue
    }

    /// Writes to `path`, or standard output when nil or "-".
    static func write(_ text: String, to path: String?) throws {
        guard let path, path != "-" else {
            Console.out(text, terminator: text.hasSuffix("\n") ? "" : "\n")
            return
        }
        do { try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw CommandFileError(path: path, reason: error.localizedDescription)
        }
    }
}

/// A file the command could not read or write (exit 74).
struct CommandFileError: ExitCodeProviding {
    let path: String
    let reason: String
    var exitCode: ExitCode { .ioError }
    var description: String { L10n.pick(en: "cannot use file '\(path)': \(reason)", zh: "无法使用文件 '\(path)'：\(reason)") }
}
