import CPPCC
import CPSyncCLI
import CPSyncClient
import CPSyncCore
import CPSyncProtocol
import Foundation

/// `cpsync init --db PATH --server URL --token TOKEN [--site ID] [--ca-file PEM] [--from-snapshot [--chunk-bytes N] [--json]]`
///
/// The office's site comes from the server (`GET /v1/whoami`): `--site` may be left out, and one that differs from
/// the token's site is refused before anything is created. When the server cannot be reached (or is older and
/// does not know whoami), `--site` is required and trusted, as before.
enum InitCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv, flags: ["from-snapshot", "json"])
        let path = OfficeDatabase.path(&args)
        let server = try args.required("server"), token = try args.required("token")
        let given = args.option("site"), ca = args.option("ca-file")
        let fromSnapshot = args.flag("from-snapshot"), json = args.flag("json")
        let chunkBytes = try args.int("chunk-bytes")
        let policy = try FilePolicyOption.parse(&args)
        try args.checkAllConsumed()
        if let chunkBytes, chunkBytes < SnapshotDownload.minimumChunkBytes {
            throw UsageError.invalidValue(option: "chunk-bytes", value: String(chunkBytes),
                                          expected: L10n.pick(en: "at least \(SnapshotDownload.minimumChunkBytes) (bytes per request)",
                                                              zh: "不小于 \(SnapshotDownload.minimumChunkBytes) 的整数（每次请求的字节数）"))
        }
        // Checked before asking the server, so a typo in the URL is said as such.
        guard let url = URL(string: server), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw ClientError.notConfigured(Phrase(en: "server '\(server)' must be an http:// or https:// URL",
                                                      zh: "服务器地址 '\(server)' 必须是 http:// 或 https:// 开头的网址"))
        }
        let learnt = try ask(server: server, token: token, caFile: ca)
        let site: String
        switch learnt {
        case .site(let s):
            if let given, given != s.id {
                throw InitError.siteMismatch(given: given, token: s.id, name: s.name)
            }
            site = s.id
        case .unknown(let why):
            guard let given else { throw InitError.siteNeeded(reason: why) }
            Console.err(L10n.pick(en: "note: \(why); using --site \(given) as given (the server checks it at the first sync)",
                                  zh: "提示：\(why)；按 --site \(given) 创建（首次同步时由服务器核对）"))
            site = given
        }
        if let held = try existingSite(at: path), held != site {
            throw InitError.otherSite(path: path, holds: held, wanted: site)
        }
        let config = OfficeConfig(server: server, site: site, token: token, caFile: ca)
        if fromSnapshot {
            let code = try SnapshotInit.run(path: path, config: config, chunkBytes: chunkBytes, json: json)
            if let policy, let replica = try? Replica(path: path, create: false) { try policy.remember(in: replica) }
            return code
        }
        let replica = try OfficeConfig.initialise(path: path, config: config)
        try policy?.remember(in: replica)
        if case .site(let s) = learnt {
            try replica.database.transaction {
                try replica.setMeta(OfficeSiteMeta.name, .text(s.name))
                try replica.setMeta(OfficeSiteMeta.kind, .text(s.kind))
                try replica.setMeta(OfficeSiteMeta.parent, s.parent.map { .text($0) } ?? .null)
            }
            Console.out(L10n.pick(en: "office replica \(path) ready for site '\(replica.siteID)' (\(s.name), as the server knows it), server \(server)",
                                  zh: "办公室数据库 \(path) 已就绪：站点 '\(replica.siteID)'（\(s.name)，\(SiteKind(rawValue: s.kind)?.chinese ?? s.kind)，由服务器确认），服务器 \(server)"))
        } else {
            Console.out(L10n.pick(en: "office replica \(path) ready for site '\(replica.siteID)', server \(server)",
                                  zh: "办公室数据库 \(path) 已就绪：站点 '\(replica.siteID)'，服务器 \(server)"))
        }
        return 0
    }

    enum Learnt {
        case site(WhoAmIResponse.Site)
        /// The server could not say (unreachable, or too old for whoami): why, in the user's language.
        case unknown(String)
    }

    /// Asks the server whose token this is. A refused token or an admin token ends `init` here (nothing created).
    static func ask(server: String, token: String, caFile: String?) throws -> Learnt {
        let transport = HTTPTransport(baseURL: server, token: token, caFile: caFile, deadlineSeconds: 10, budgetSeconds: 15,
                                      retry: RetryPolicy(initialDelaySeconds: 0.5, maxDelaySeconds: 2, maxAttempts: 2), language: L10n.language)
        do {
            let who = try transport.call("GET", "/v1/whoami", as: WhoAmIResponse.self)
            guard who.principal == "site", let site = who.site else { throw InitError.adminToken(name: who.admin ?? "") }
            return .site(site)
        } catch ClientError.unreachable(let url, let reason) {
            return .unknown(L10n.pick(en: "the server \(url) cannot be reached (\(reason))", zh: "无法连接服务器 \(url)（\(reason)）"))
        } catch ClientError.certificate(let url, let reason) {
            // Not the network: every sync would fail the same way until the CA is given, so nothing is created.
            throw InitError.untrustedCertificate(url: url, reason: reason)
        } catch let e as ClientError where e.isWrongAddress {
            throw InitError.wrongAddress(e)
        } catch ClientError.server(let status, let body) where body.code == ErrorCode.notFound || status == 404 {
            // An older cpsyncd answers /v1/status but not /v1/whoami; anything else at this address is not a cpsyncd.
            guard transport.cpsyncAnswers() else { throw InitError.wrongAddress(transport.noServer(status: status)) }
            return .unknown(L10n.pick(en: "the server is older and cannot tell the token's site", zh: "服务器版本较旧，无法告知令牌所属站点"))
        } catch ClientError.badResponse where !transport.cpsyncAnswers() {
            // An answer that is not the protocol (another web site at this address), unless a cpsyncd answers after all.
            throw InitError.wrongAddress(transport.noServer(status: nil))
        }
    }

    /// The site an existing replica file belongs to (nil: no file, or not a replica yet), read without changing it.
    static func existingSite(at path: String) throws -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let db = try Database(path: path, readOnly: true)
        guard try db.tableExists("_cp_state"), try db.tableExists("_cp_sites") else { return nil }
        return try db.scalar("SELECT s.uuid FROM _cp_state st JOIN _cp_sites s ON s.id = st.site_id")?.stringValue
    }
}

extension ClientError {
    var isWrongAddress: Bool { if case .wrongAddress = self { true } else { false } }
}

/// `cpsync init` refused before creating anything.
enum InitError: ExitCodeProviding {
    case siteMismatch(given: String, token: String, name: String)
    case siteNeeded(reason: String)
    case adminToken(name: String)
    /// The database file already belongs to another site's office.
    case otherSite(path: String, holds: String, wanted: String)
    /// The server's TLS certificate is not trusted (`--ca-file` missing or wrong).
    case untrustedCertificate(url: String, reason: String)
    /// Something answers at `--server`, but no cpsync server (`ClientError.wrongAddress`).
    case wrongAddress(ClientError)

    var exitCode: ExitCode {
        switch self {
        case .siteMismatch, .adminToken, .otherSite: .dataError
        case .siteNeeded: .usage
        case .untrustedCertificate: .refused
        case .wrongAddress(let e): e.exitCode
        }
    }

    var description: String {
        switch self {
        case .siteMismatch(let given, let token, let name):
            L10n.pick(en: "--site \(given) does not match the token, which belongs to site '\(token)' (\(name)); leave --site out to use the token's site, or ask the county for the token of \(given); nothing was created",
                      zh: "--site \(given) 与令牌不符：该令牌属于站点 '\(token)'（\(name)）；去掉 --site 即按令牌所属站点创建，或向县政协索取 \(given) 的令牌；未创建任何文件")
        case .siteNeeded(let reason):
            L10n.pick(en: "\(reason), so it cannot tell this office's site: give --site ID (as the county registered it), or run init again when the server can be reached; nothing was created",
                      zh: "\(reason)，无法得知本办公室的站点：请用 --site 指定县里登记的站点标识，或待能连接服务器时重新运行；未创建任何文件")
        case .adminToken(let name):
            L10n.pick(en: "this is an admin token (\(name)), not a site token: an office needs its own site's token (`cpsyncd site token SITE` on the county server); nothing was created",
                      zh: "这是管理员令牌（\(name)），不是站点令牌：办公室需要本站点的令牌（在县服务器上运行 `cpsyncd site token 站点`）；未创建任何文件")
        case .otherSite(let path, let holds, let wanted):
            L10n.pick(en: "office database \(path) belongs to site '\(holds)', and this token to site '\(wanted)': one database holds one site's office; give --db a new file for '\(wanted)', or use the token of '\(holds)'; nothing was changed",
                      zh: "办公室数据库 \(path) 属于站点 '\(holds)'，而此令牌属于站点 '\(wanted)'：一个数据库只能属于一个站点；请用 --db 为 '\(wanted)' 指定一个新文件，或改用 '\(holds)' 的令牌；未做任何更改")
        case .untrustedCertificate(let url, let reason):
            L10n.pick(en: "the TLS certificate of \(url) is not trusted (\(reason)): give the county's CA certificate with --ca-file FILE.pem (ask the county for it), or check the server's certificate; nothing was created",
                      zh: "服务器 \(url) 的 TLS 证书不受信任（\(reason)）：请用 --ca-file 文件.pem 指定县政协的 CA 证书（向县政协索取），或检查服务器证书；未创建任何文件")
        case .wrongAddress(let e):
            e.description + L10n.pick(en: "; nothing was created", zh: "；未创建任何文件")
        }
    }
}
