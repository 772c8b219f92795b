import CPPCC
import CPSyncCLI
import Foundation

/// `cpsync report --year Y [--site ID] [--format text|json|csv|html] [--out FILE]`: the annual statistics.
enum ReportCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv, flags: ["json"])
        let office = try Office(OfficeFile.open(&args))
        guard let year = try args.int("year") else { throw UsageError.missingOption("year") }
        let site = args.option("site")
        let formatText = args.flag("json") ? "json" : (args.option("format") ?? "text")
        guard let format = ReportFormat(rawValue: formatText) else {
            throw UsageError.invalidValue(option: "format", value: formatText, expected: "text, json, csv or html")
        }
        let out = args.option("out")
        if let extra = args.positionals.first { throw UsageError.unexpectedArgument(extra) }
        try args.checkAllConsumed()
        let text = try format.render(try office.report(year: year, site: site))
        try ExportCommand.write(text, to: out)
        return ExitCode.ok.rawValue
    }
}
