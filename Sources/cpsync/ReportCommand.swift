import CPPCC
import CPSyncCLI
import Foundation

/// `cpsync report (--year Y | --from D --to D) [--site ID] [--format text|json|csv|html] [--english-headers] [--out FILE]`:
/// the statistics of a year or of any period (上半年, 截至6月30日, a session).
enum ReportCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv, flags: ["json", "english-headers"])
        let office = try Office(OfficeFile.open(&args))
        let period = try self.period(year: try args.int("year"), from: args.option("from"), to: args.option("to"))
        let site = args.option("site")
        let formatText = args.flag("json") ? "json" : (args.option("format") ?? "text")
        guard let format = ReportFormat(rawValue: formatText) else {
            throw UsageError.invalidValue(option: "format", value: formatText, expected: "text, json, csv or html")
        }
        let englishHeaders = args.flag("english-headers")
        let out = args.option("out")
        if let extra = args.positionals.first { throw UsageError.unexpectedArgument(extra) }
        try args.checkAllConsumed()
        let text = try format.render(try office.report(period: period, site: site, in: L10n.language), englishHeaders: englishHeaders, in: L10n.language)
        try ExportCommand.write(text, to: out)
        return ExitCode.ok.rawValue
    }

    /// `--year` alone is the calendar year; `--from`/`--to` a period, the missing end taken from the year (of
    /// `--year`, else of the other end): `--to 2026-06-30` alone is 截至6月30日 of 2026.
    static func period(year: Int?, from: String?, to: String?) throws -> ReportPeriod {
        if from == nil && to == nil {
            guard let year else {
                throw UsageError.missingArgument(L10n.pick(en: "--year Y, or --from DATE and/or --to DATE", zh: "--year 年份，或 --from 日期 和/或 --to 日期"))
            }
            guard (1900...2999).contains(year) else { throw UsageError.invalidValue(option: "year", value: String(year), expected: "1900–2999") }
            return .year(year)
        }
        let from = try Office.date(from, field: "--from"), to = try Office.date(to, field: "--to")
        let y = year.map { String(format: "%04d", $0) } ?? String((from ?? to)!.prefix(4))
        return try .range(from: from ?? "\(y)-01-01", to: to ?? "\(y)-12-31")
    }
}
