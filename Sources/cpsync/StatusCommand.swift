import CPPCC
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
        let client = try SyncClient(replica: try OfficeDatabase.open(&args), deadlineSeconds: 10, language: L10n.language)
        try args.checkAllConsumed()
        let local = try client.localStatus()
        let held = try client.replica.held()
        let files = try client.filesWaiting()
        let refusedFiles = try client.replica.blobRefusals().count
        var reachable = false
        var skew: Int64?
        var serverError: String?
        // Whether the server accepts this office's token (nil: not known — unreachable, or a server too old for
        // whoami); a refused token exits 77 as `sync` would.
        var tokenAccepted: Bool?
        var exit = ExitCode.ok
        func failed(_ error: any Error) {
            serverError = ServerErrors.describe(error)
            exit = (error as? any ExitCodeProviding)?.exitCode ?? .unavailable
        }
        do {
            let (_, s) = try client.serverStatus()
            reachable = true
            skew = s
            do {
                let who = try client.transport.call("GET", "/v1/whoami", as: WhoAmIResponse.self)
                guard who.site?.id == local.site else {
                    throw StatusProblem.tokenOfAnotherSite(office: local.site, token: who.site?.id, admin: who.admin)
                }
                tokenAccepted = true
            } catch ClientError.server(let status, let body) where status == 404 && body.code == .notFound {
                // An older cpsyncd without whoami: the token is checked at the next sync.
            } catch {
                if case ClientError.server(_, let body) = error, body.code == .unauthorized || body.code == .forbidden { tokenAccepted = false }
                if let problem = error as? StatusProblem, case .tokenOfAnotherSite = problem { tokenAccepted = false }
                failed(error)
            }
        } catch ClientError.server(404, _) {
            // Something answers at the configured address, but no cpsync server: say which address would.
            failed(client.transport.noServer(status: 404))
        } catch ClientError.badResponse where !client.transport.cpsyncAnswers() {
            failed(client.transport.noServer(status: nil))
        } catch {
            failed(error)
        }
        func time(_ ms: Int64?) -> String {
            guard let ms else { return L10n.pick(en: "never", zh: "从未") }
            let f = DateFormatter()
            f.dateFormat = "yyyy-MM-dd HH:mm:ss"
            return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
        }
        if json {
            Console.out(try JSONOutput.encode(Report(
                site: local.site, server: local.server, pending: local.pending, pullCursor: local.pullCursor, lastPush: local.lastPush,
                lastPull: local.lastPull, reachable: reachable, tokenAccepted: tokenAccepted, skewMs: skew, serverError: serverError,
                held: held.map { Held(table: $0.table, pk: $0.pk, column: $0.column, code: $0.code, reason: $0.reason, at: $0.at) },
                files: Files(toSend: files.upFiles, toSendBytes: files.up, toReceive: files.downFiles, toReceiveBytes: files.down, refused: refusedFiles))))
        } else {
            let rows: [[String]] = [
                [L10n.pick(en: "site", zh: "站点"), local.site],
                [L10n.pick(en: "server", zh: "服务器"), local.server + (!reachable ? L10n.pick(en: " (unreachable)", zh: "（无法连接）")
                    : tokenAccepted == false ? L10n.pick(en: " (reachable, but it refuses this office's token)", zh: "（可连接，但服务器拒绝本办公室的令牌）")
                    : L10n.pick(en: " (reachable)", zh: "（可连接）"))],
                [L10n.pick(en: "pending changes", zh: "待推送修改"), String(local.pending)],
                [L10n.pick(en: "last push", zh: "上次推送"), time(local.lastPush)],
                [L10n.pick(en: "last pull", zh: "上次拉取"), time(local.lastPull)],
                [L10n.pick(en: "pull cursor", zh: "拉取位置"), String(local.pullCursor)],
                [L10n.pick(en: "clock skew", zh: "时钟偏差"), skew.map { L10n.pick(en: "\($0 / 1000) s", zh: "\($0 / 1000) 秒") } ?? "—"],
                [L10n.pick(en: "files to send", zh: "待发送附件"), L10n.pick(en: "\(files.upFiles) (\(ByteCount(files.up).text(in: .english)))", zh: "\(files.upFiles) 个（\(ByteCount(files.up).text(in: .chinese))）")
                    + (refusedFiles > 0 ? L10n.pick(en: "; \(refusedFiles) refused by the county", zh: "；\(refusedFiles) 个被县里拒收") : "")],
                [L10n.pick(en: "files to receive", zh: "待接收附件"), L10n.pick(en: "\(files.downFiles) (\(ByteCount(files.down).text(in: .english)))", zh: "\(files.downFiles) 个（\(ByteCount(files.down).text(in: .chinese))）")],
            ]
            Console.out(Console.table(header: ["", ""], rows: rows).split(separator: "\n").dropFirst().joined(separator: "\n"))
            if !held.isEmpty {
                Console.out(L10n.pick(en: "set aside (not sent; fix each record, then sync):", zh: "暂缓发送（请更正以下记录后重新同步）："))
                for h in held { Console.out("  " + HeldNotes.describe(h, in: client.replica.database)) }
            }
            if let serverError { Console.err(serverError) }
            // The county's open conflicts this office's value lost (a reachable county that accepts the token).
            if reachable && tokenAccepted != false { LostEditNotes.report(client) }
        }
        return exit.rawValue
    }

    /// What `status` finds wrong with the office's settings beyond what the server's errors say.
    enum StatusProblem: ExitCodeProviding {
        /// The server accepts the token, but for another site (or as an admin's).
        case tokenOfAnotherSite(office: String, token: String?, admin: String?)

        var exitCode: ExitCode { .refused }

        var description: String {
            switch self {
            case .tokenOfAnotherSite(let office, let token?, _):
                L10n.pick(en: "this office database belongs to site '\(office)', but its token is site '\(token)''s: run `cpsync init` again with the token of '\(office)'",
                          zh: "此办公室数据库属于站点 '\(office)'，而其中的令牌属于站点 '\(token)'：请用 '\(office)' 的令牌重新运行 `cpsync init`")
            case .tokenOfAnotherSite(let office, nil, let admin):
                L10n.pick(en: "this office database holds an admin's token (\(admin ?? "")), not the token of site '\(office)': run `cpsync init` again with the site's token",
                          zh: "此办公室数据库中存的是管理员令牌（\(admin ?? "")），不是站点 '\(office)' 的令牌：请用站点令牌重新运行 `cpsync init`")
            }
        }
    }

    /// `status --json`: the office's state and what the server said.
    struct Report: Encodable {
        let site, server: String
        let pending: Int
        let pullCursor: Int64
        let lastPush, lastPull: Int64?
        let reachable: Bool
        let tokenAccepted: Bool?
        let skewMs: Int64?
        let serverError: String?
        let held: [Held]
        let files: Files
        enum CodingKeys: String, CodingKey {
            case site, server, pending, reachable, held, files
            case pullCursor = "pull_cursor", lastPush = "last_push", lastPull = "last_pull", tokenAccepted = "token_accepted"
            case skewMs = "skew_ms", serverError = "server_error"
        }
    }

    /// Attached files waiting each way (bytes: what is still to move).
    struct Files: Encodable {
        let toSend: Int
        let toSendBytes: Int64
        let toReceive: Int
        let toReceiveBytes: Int64
        let refused: Int
        enum CodingKeys: String, CodingKey {
            case refused, toSend = "to_send", toSendBytes = "to_send_bytes", toReceive = "to_receive", toReceiveBytes = "to_receive_bytes"
        }
    }

    /// A held change as `status --json` lists it.
    struct Held: Encodable {
        let table, pk: String
        let column: String?
        let code, reason: String
        let at: Int64
    }
}
