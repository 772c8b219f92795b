import CPSyncCLI
import CPSyncClient
import CPSyncCore
import CPSyncProtocol
import Foundation

/// `cpsync status [--json]`: pending changes, last push/pull, cursor, server reachability and clock skew.
enum StatusCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv, flags: ["json"])
        let json = args.flag("json")
        let client = try SyncClient(replica: try OfficeDatabase.open(&args), deadlineSeconds: 10)
        try args.checkAllConsumed()
        let local = try client.localStatus()
        let held = try client.replica.held()
        var reachable = false
        var skew: Int64?
        var serverError: String?
        do {
            let (_, s) = try client.serverStatus()
            reachable = true
            skew = s
        } catch {
            serverError = ServerErrors.describe(error)
        }
        func time(_ ms: Int64?) -> String {
            guard let ms else { return L10n.pick(en: "never", zh: "从未") }
            let f = DateFormatter()
            f.dateFormat = "yyyy-MM-dd HH:mm:ss"
            return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
        }
        if json {
            let q = JSONOutput.quoted
            Console.out("{\"site\":\(q(local.site)),\"server\":\(q(local.server)),\"pending\":\(local.pending),\"pull_cursor\":\(local.pullCursor),"
                        + "\"last_push\":\(local.lastPush.map(String.init) ?? "null"),\"last_pull\":\(local.lastPull.map(String.init) ?? "null"),"
                        + "\"reachable\":\(reachable),\"skew_ms\":\(skew.map(String.init) ?? "null"),\"server_error\":\(q(serverError)),"
                        + "\"held\":[" + held.map(heldJSON).joined(separator: ",") + "]}")
        } else {
            let rows: [[String]] = [
                [L10n.pick(en: "site", zh: "站点"), local.site],
                [L10n.pick(en: "server", zh: "服务器"), local.server + (reachable ? L10n.pick(en: " (reachable)", zh: "（可连接）") : L10n.pick(en: " (unreachable)", zh: "（无法连接）"))],
                [L10n.pick(en: "pending changes", zh: "待推送修改"), String(local.pending)],
                [L10n.pick(en: "last push", zh: "上次推送"), time(local.lastPush)],
                [L10n.pick(en: "last pull", zh: "上次拉取"), time(local.lastPull)],
                [L10n.pick(en: "pull cursor", zh: "拉取位置"), String(local.pullCursor)],
                [L10n.pick(en: "clock skew", zh: "时钟偏差"), skew.map { "\($0 / 1000) s" } ?? "—"],
            ]
            Console.out(Console.table(header: ["", ""], rows: rows).split(separator: "\n").dropFirst().joined(separator: "\n"))
            if !held.isEmpty {
                Console.out(L10n.pick(en: "set aside (not sent; fix each record, then sync):", zh: "暂缓发送（请更正以下记录后重新同步）："))
                for h in held { Console.out("  " + HeldNotes.describe(h)) }
            }
            if let serverError { Console.err(serverError) }
        }
        return reachable ? 0 : ExitCode.unavailable.rawValue
    }

    static func heldJSON(_ h: Replica.HeldChange) -> String {
        var w = JSONWriter(capacity: 128)
        w.raw("{\"table\":"); w.string(h.table)
        w.raw(",\"pk\":"); w.string(h.pk)
        w.raw(",\"column\":"); w.optionalString(h.column)
        w.raw(",\"code\":"); w.string(h.code)
        w.raw(",\"reason\":"); w.string(h.reason)
        w.raw(",\"at\":"); w.int(h.at)
        w.raw("}")
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
