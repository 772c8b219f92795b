import CPSyncCLI
import CPSyncServer
import Foundation

/// `cpsyncd site add|list|revoke`.
enum SiteCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        guard let sub = argv.first else { throw UsageError.missingArgument("add | list | revoke") }
        var args = try Arguments(Array(argv.dropFirst()), flags: ["json"])
        switch sub {
        case "add":
            let id = try args.required("id"), name = try args.required("name"), kind = try args.required("kind")
            let parent = args.option("parent")
            let store = try DataOption.open(&args)
            try args.checkAllConsumed()
            let token = try store.addSite(id: id, name: name, kind: kind, parent: parent)
            Console.err(L10n.pick(en: "site '\(id)' added; its token (shown only once, give it to the office):",
                                  zh: "站点 '\(id)' 已添加；令牌如下（只显示这一次，请交给该办公室）："))
            Console.out(token)
        case "list":
            let json = args.flag("json")
            let store = try DataOption.open(&args)
            try args.checkAllConsumed()
            let sites = try store.sites()
            if json {
                let items = sites.map { "{\"id\":\"\($0.id)\",\"name\":\"\($0.name)\",\"kind\":\"\($0.kind)\",\"parent\":\($0.parent.map { "\"\($0)\"" } ?? "null"),\"revoked\":\($0.revoked)}" }
                Console.out("[" + items.joined(separator: ",") + "]")
            } else {
                Console.out(Console.table(header: L10n.isChinese ? ["标识", "名称", "类别", "上级", "状态"] : ["ID", "NAME", "KIND", "PARENT", "STATE"],
                                          rows: sites.map { [$0.id, $0.name, $0.kind, $0.parent ?? "-", $0.revoked ? L10n.pick(en: "revoked", zh: "已吊销") : L10n.pick(en: "active", zh: "有效")] }))
            }
        case "revoke":
            guard let id = args.positionals.first else { throw UsageError.missingArgument("site id") }
            let store = try DataOption.open(&args)
            try args.checkAllConsumed()
            try store.revokeSite(id)
            Console.err(L10n.pick(en: "site '\(id)' revoked; its token no longer works (its data stays)", zh: "站点 '\(id)' 的令牌已吊销（数据保留）"))
        default:
            throw UsageError.unknownCommand("site \(sub)")
        }
        return 0
    }
}

/// `cpsyncd admin add --name NAME`.
enum AdminCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        guard argv.first == "add" else { throw UsageError.missingArgument("add") }
        var args = try Arguments(Array(argv.dropFirst()))
        let name = try args.required("name")
        let store = try DataOption.open(&args)
        try args.checkAllConsumed()
        let token = try store.addAdmin(name: name)
        Console.err(L10n.pick(en: "admin '\(name)' added; token (shown only once):", zh: "管理员 '\(name)' 已添加；令牌（只显示这一次）："))
        Console.out(token)
        return 0
    }
}
