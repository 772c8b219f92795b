import CPPCC
import CPSyncCLI
import CPSyncServer
import Foundation

/// `cpsyncd site add|list|revoke|token|activate|move`.
enum SiteCommand {
    static let subcommands = "add | list | revoke ID | token ID | activate ID | move ID --parent P"

    static func run(_ argv: [String]) throws -> Int32 {
        guard let sub = argv.first else { throw UsageError.missingArgument(subcommands) }
        var args = try Arguments(Array(argv.dropFirst()), flags: ["json"])
        switch sub {
        case "add":
            let id = try args.required("id"), name = try args.required("name"), kind = try args.required("kind")
            let parent = args.option("parent")
            let data = try DataOption.directory(&args)
            let serverID = DataOption.serverID(&args)
            try Accounts.noPositionals(args)
            try args.checkAllConsumed()
            let store = try DataOption.open(data, serverID: serverID)
            let token = try store.addSite(id: id, name: name, kind: kind, parent: parent)
            if let placed = try store.sites().first(where: { $0.id == id })?.parent {
                Console.err(L10n.pick(en: "site '\(id)' added under '\(placed)'; its token (shown only once, give it to the office):",
                                      zh: "站点 '\(id)' 已添加到 '\(placed)' 之下；令牌如下（只显示这一次，请交给该办公室）："))
            } else {
                Console.err(L10n.pick(en: "site '\(id)' added at the top of the site tree; its token (shown only once, give it to the county office):",
                                      zh: "站点 '\(id)' 已添加为站点树的顶层；令牌如下（只显示这一次，请交给县政协办公室）："))
            }
            Console.out(token)
        case "list":
            let json = args.flag("json")
            let data = try DataOption.directory(&args)
            try Accounts.noPositionals(args)
            try args.checkAllConsumed()
            let store = try DataOption.openExisting(data)
            let sites = try store.sites()
            if json {
                struct Listed: Encodable { let id, name, kind: String; let parent: String?; let revoked: Bool; let created: Int64 }
                Console.out(try JSONOutput.encode(sites.map {
                    Listed(id: $0.id, name: $0.name, kind: $0.kind, parent: $0.parent, revoked: $0.revoked, created: $0.createdAt)
                }))
            } else {
                Console.out(Console.table(header: L10n.isChinese ? ["标识", "名称", "类别", "上级", "创建时间", "状态"] : ["ID", "NAME", "KIND", "PARENT", "CREATED", "STATE"],
                                          rows: sites.map { [$0.id, $0.name, SiteKind(rawValue: $0.kind)?.label(in: L10n.language) ?? $0.kind, $0.parent ?? "-", Accounts.time($0.createdAt),
                                                             $0.revoked ? L10n.pick(en: "revoked", zh: "已吊销") : L10n.pick(en: "active", zh: "有效")] }))
            }
        case "revoke":
            let id = try Accounts.onePositional(args, "site id")
            let data = try DataOption.directory(&args)
            try args.checkAllConsumed()
            let store = try DataOption.openExisting(data)
            try store.revokeSite(id)
            Console.err(L10n.pick(en: "site '\(id)' revoked; its token no longer works (its data stays; `cpsyncd site activate \(id)` re-activates it)",
                                  zh: "站点 '\(id)' 的令牌已吊销，立即失效（数据保留；`cpsyncd site activate \(id)` 可重新启用）"))
        case "token", "activate":
            let id = try Accounts.onePositional(args, "site id")
            let data = try DataOption.directory(&args)
            try args.checkAllConsumed()
            let store = try DataOption.openExisting(data)
            let wasRevoked = try store.sites().first { $0.id == id }?.revoked ?? false
            let token = sub == "activate" ? try store.activateSite(id) : try store.issueSiteToken(id)
            if wasRevoked {
                Console.err(L10n.pick(en: "site '\(id)' re-activated; its new token (shown only once, give it to the office):",
                                      zh: "站点 '\(id)' 已重新启用；新令牌如下（只显示这一次，请交给该办公室）："))
            } else {
                Console.err(L10n.pick(en: "new token for site '\(id)'; the old one no longer works (shown only once, give it to the office, then run `cpsync init` there with it):",
                                      zh: "已为站点 '\(id)' 签发新令牌，旧令牌立即失效（只显示这一次；请交给该办公室，并在该处用新令牌重新运行 `cpsync init`）："))
            }
            Console.out(token)
        case "move":
            let id = try Accounts.onePositional(args, "site id")
            let parent = try args.required("parent")
            let data = try DataOption.directory(&args)
            try args.checkAllConsumed()
            let store = try DataOption.openExisting(data)
            if try store.moveSite(id, parent: parent) {
                Console.err(L10n.pick(en: "site '\(id)' moved under '\(parent)'; every office receives the new tree at its next sync",
                                      zh: "站点 '\(id)' 已移到 '\(parent)' 之下；各办公室下次同步时收到新的站点树"))
            } else {
                Console.err(L10n.pick(en: "site '\(id)' is already under '\(parent)'; nothing was changed",
                                      zh: "站点 '\(id)' 已在 '\(parent)' 之下；未做任何改动"))
            }
        default:
            throw UsageError.unknownCommand("site \(sub)")
        }
        return 0
    }
}

/// Helpers shared by the account verbs (`site`, `admin`).
enum Accounts {
    static func onePositional(_ args: Arguments, _ what: String) throws(UsageError) -> String {
        guard let first = args.positionals.first else { throw UsageError.missingArgument(what) }
        if args.positionals.count > 1 { throw UsageError.unexpectedArgument(args.positionals[1]) }
        return first
    }

    static func noPositionals(_ args: Arguments) throws(UsageError) {
        if let extra = args.positionals.first { throw UsageError.unexpectedArgument(extra) }
    }

    /// Local time, to the minute, as the other listings print it.
    static func time(_ ms: Int64) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
