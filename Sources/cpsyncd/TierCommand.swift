import CPSyncCLI
import CPSyncServer
import Foundation

/// `cpsyncd tier add|list`: the counties below this daemon (a city's counties, a province's cities), which sync up
/// with `cpsyncd uplink` (Protocol/README.md §18).
enum TierCommand {
    static let subcommands = "add --id ID --name NAME --parent P | list"

    static func run(_ argv: [String]) throws -> Int32 {
        guard let sub = argv.first else { throw UsageError.missingArgument(subcommands) }
        var args = try Arguments(Array(argv.dropFirst()), flags: ["json"])
        switch sub {
        case "add":
            let id = try args.required("id"), name = try args.required("name"), parent = try args.required("parent")
            let data = try DataOption.directory(&args)
            let serverID = DataOption.serverID(&args)
            try Accounts.noPositionals(args)
            try args.checkAllConsumed()
            let store = try DataOption.open(data, serverID: serverID)
            let token = try store.addMemberCounty(id: id, name: name, parent: parent)
            Console.err(L10n.pick(en: "county '\(id)' added below '\(parent)'; its token for `cpsyncd uplink` there (shown only once):",
                                  zh: "下级 '\(id)' 已添加到 '\(parent)' 之下；供其 `cpsyncd uplink` 使用的令牌如下（只显示这一次）："))
            Console.out(token)
        case "list":
            let json = args.flag("json")
            let data = try DataOption.directory(&args)
            try Accounts.noPositionals(args)
            try args.checkAllConsumed()
            let store = try DataOption.openExisting(data)
            let counties = try store.memberCounties()
            var owned: [String: [String]] = [:]
            for (site, county) in try store.tierSites() { owned[county, default: []].append(site) }
            if json {
                struct Listed: Encodable {
                    let id, name: String
                    let parent: String?
                    let revoked: Bool
                    let siteIds: [String]
                    enum CodingKeys: String, CodingKey { case id, name, parent, revoked, siteIds = "site_ids" }
                }
                Console.out(try JSONOutput.encode(counties.map {
                    Listed(id: $0.id, name: $0.name, parent: $0.parent, revoked: $0.revoked, siteIds: owned[$0.id] ?? [])
                }))
            } else {
                Console.out(Console.table(header: L10n.isChinese ? ["标识", "名称", "上级", "状态", "已使用的站点标识"] : ["ID", "NAME", "PARENT", "STATE", "SITE IDS SENT"],
                                          rows: counties.map { [$0.id, $0.name, $0.parent ?? "-",
                                                                $0.revoked ? L10n.pick(en: "revoked", zh: "已吊销") : L10n.pick(en: "active", zh: "有效"),
                                                                (owned[$0.id] ?? []).joined(separator: " ")] }))
            }
        default:
            throw UsageError.unknownCommand("tier \(sub)")
        }
        return 0
    }
}
