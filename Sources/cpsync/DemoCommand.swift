import CPPCC
import CPSyncCLI
import CPSyncCore
import Foundation

/// `cpsync demo seed [--db PATH] [--site ID]`: sample county data. Creates the replica when the file is absent
/// (with site id `--site`, default `county`), so a demo needs no server.
enum DemoCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        guard argv.first == "seed" else { throw argv.first.map { UsageError.unknownCommand("demo \($0)") } ?? UsageError.missingArgument("seed") }
        var args = try Arguments(Array(argv.dropFirst()))
        let path = OfficeDatabase.path(&args)
        let site = args.option("site")
        try args.checkAllConsumed()
        if let extra = args.positionals.first { throw UsageError.unexpectedArgument(extra) }
        let exists = FileManager.default.fileExists(atPath: path)
        let replica = exists ? try Replica(path: path, siteID: site, create: false) : try Replica(path: path, siteID: site ?? "county")
        let office = try Office(replica)
        try office.seedDemo()
        Console.out(L10n.pick(en: "seeded demo data into \(path): \(try office.members().count) members, \(try office.proposals().count) proposals",
                              zh: "已向 \(path) 填充示例数据：委员 \(try office.members().count) 名，提案 \(try office.proposals().count) 件"))
        return ExitCode.ok.rawValue
    }
}
