import CPPCC
import CPSyncCLI
import Foundation

/// `cpsync order show | sites ID… | units NAME… [--file FILE] | clear sites|units`: the order in which the county
/// lists its sites and handling units (承办单位), used by the lists and by `cpsync report`. A setting of this office's
/// database (SortOrder.swift), not synced.
enum OrderCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        guard let sub = argv.first else { throw UsageError.missingArgument("order show|sites|units|clear") }
        var args = try Arguments(Array(argv.dropFirst()), flags: ["json"])
        let office = try Office(OfficeFile.open(&args))
        let json = args.flag("json")
        switch sub {
        case "show":
            try args.checkAllConsumed()
            if !args.positionals.isEmpty { throw UsageError.unexpectedArgument(args.positionals[0]) }
            let sites = try office.sites().map(\.id), units = try office.handlingUnits()
            if json {
                struct Shown: Encodable {
                    let sites: [String], units: [String], siteOrder: [String], unitOrder: [String]
                    enum CodingKeys: String, CodingKey { case sites, units, siteOrder = "site_order", unitOrder = "unit_order" }
                }
                Console.out(try CPPCCJSON.encode(Shown(sites: sites, units: units, siteOrder: try office.order(.sites), unitOrder: try office.order(.units))))
                return ExitCode.ok.rawValue
            }
            Console.out(L10n.pick(en: "sites, in the order lists and the report use:", zh: "站点（列表和统计表按此顺序）："))
            for (n, site) in try office.sites().enumerated() { Console.out("  \(n + 1). \(site.name) (\(site.id)) · \(site.kind.label(in: L10n.language))") }
            Console.out(L10n.pick(en: "handling units:", zh: "承办单位："))
            for (n, unit) in units.enumerated() { Console.out("  \(n + 1). \(unit)") }
            if try office.order(.sites).isEmpty && office.order(.units).isEmpty {
                Console.out(L10n.pick(en: "(no order set: the county first, then by kind and name in Chinese order; set one with `cpsync order sites|units`)",
                                      zh: "（尚未设置顺序：县政协在前，其余按类别和名称拼音排序；可用 `cpsync order sites|units` 设置）"))
            }
        case "sites", "units":
            let list: OrderedList = sub == "sites" ? .sites : .units
            var items = args.positionals
            if let file = args.option("file") {
                guard let data = FileManager.default.contents(atPath: file) else { throw CommandFileError(path: file, reason: "not readable") }
                let text: String
                do { text = try CSVEncoding.decode(data, file: file).text } catch { throw ImportFileError(underlying: error) }
                // One name a line; a CSV's first column also works.
                items += text.replacingOccurrences(of: "\u{FEFF}", with: "").split(whereSeparator: \.isNewline)
                    .map { String($0.split(separator: ",", omittingEmptySubsequences: false).first ?? "") }
            }
            try args.checkAllConsumed()
            guard !items.isEmpty else { throw UsageError.missingArgument(list == .sites ? "site ids, in order (or --file FILE)" : "unit names, in order (or --file FILE)") }
            let saved = try office.setOrder(list, items)
            if json { Console.out(try CPPCCJSON.encode([list.rawValue: saved])); return ExitCode.ok.rawValue }
            Console.out(L10n.pick(en: "\(list.rawValue) order set (\(saved.count)): \(saved.joined(separator: ", "))",
                                  zh: "\(list == .sites ? "站点" : "承办单位")顺序已设置（\(saved.count) 项）：\(saved.joined(separator: "、"))"))
            if list == .units {
                let known = Set(try office.handlingUnits())
                let unknown = saved.filter { !known.contains($0) }
                if !unknown.isEmpty {
                    Console.err(L10n.pick(en: "note: no proposal is assigned to \(unknown.joined(separator: ", ")) yet (a typo?)",
                                          zh: "提示：目前还没有提案交办给 \(unknown.joined(separator: "、"))（是否写错？）"))
                }
            }
        case "clear":
            guard let what = args.positionals.first, let list = OrderedList(rawValue: what) else {
                throw UsageError.missingArgument("sites or units")
            }
            try args.checkAllConsumed()
            try office.setOrder(list, [])
            if json { Console.out(try CPPCCJSON.encode([list.rawValue: [String]()])) } else {
                Console.out(L10n.pick(en: "\(list.rawValue) order cleared", zh: "\(list == .sites ? "站点" : "承办单位")顺序已清除"))
            }
        default:
            throw UsageError.unknownCommand("order \(sub)")
        }
        return ExitCode.ok.rawValue
    }
}
