import CPSyncCLI
import CPSyncServer

/// `cpsyncd admin add --name NAME | list [--json] | token NAME | revoke NAME`.
enum AdminCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        guard let sub = argv.first else { throw UsageError.missingArgument("add --name NAME | list | token NAME | revoke NAME") }
        var args = try Arguments(Array(argv.dropFirst()), flags: ["json"])
        switch sub {
        case "add":
            let name = try args.required("name")
            let data = try DataOption.directory(&args)
            try Accounts.noPositionals(args)
            try args.checkAllConsumed()
            let store = try DataOption.open(data)
            let token = try store.addAdmin(name: name)
            Console.err(L10n.pick(en: "admin '\(name)' added; token (shown only once):", zh: "管理员 '\(name)' 已添加；令牌（只显示这一次）："))
            Console.out(token)
        case "list":
            let json = args.flag("json")
            let data = try DataOption.directory(&args)
            try Accounts.noPositionals(args)
            try args.checkAllConsumed()
            let store = try DataOption.openExisting(data)
            let admins = try store.admins()
            if json {
                struct Admin: Encodable { let name: String; let created: Int64; let revoked: Bool }
                Console.out(try JSONOutput.encode(admins.map { Admin(name: $0.name, created: $0.createdAt, revoked: $0.revoked) }))
            } else {
                Console.out(Console.table(header: L10n.isChinese ? ["名称", "创建时间", "状态"] : ["NAME", "CREATED", "STATE"],
                                          rows: admins.map { [$0.name, Accounts.time($0.createdAt),
                                                              $0.revoked ? L10n.pick(en: "revoked", zh: "已吊销") : L10n.pick(en: "active", zh: "有效")] }))
            }
        case "token":
            let name = try Accounts.onePositional(args, "admin name")
            let data = try DataOption.directory(&args)
            try args.checkAllConsumed()
            let store = try DataOption.openExisting(data)
            let token = try store.issueAdminToken(name)
            Console.err(L10n.pick(en: "new token for admin '\(name)' (shown only once; the old one no longer works):",
                                  zh: "管理员 '\(name)' 的新令牌（只显示这一次；旧令牌立即失效）："))
            Console.out(token)
        case "revoke":
            let name = try Accounts.onePositional(args, "admin name")
            let data = try DataOption.directory(&args)
            try args.checkAllConsumed()
            let store = try DataOption.openExisting(data)
            try store.revokeAdmin(name)
            Console.err(L10n.pick(en: "admin '\(name)' revoked; the token no longer works", zh: "管理员 '\(name)' 的令牌已吊销，立即失效"))
        default:
            throw UsageError.unknownCommand("admin \(sub)")
        }
        return 0
    }
}
