import CPSyncCLI
import CPSyncProtocol

/// What can go wrong talking to the county server. Every case says what happened and that nothing was lost.
public enum ClientError: Error, CustomStringConvertible, ExitCodeProviding, Sendable {
    /// The server could not be reached or the connection broke.
    case unreachable(url: String, reason: String)
    /// The server's TLS certificate was not accepted: a configuration problem, not the network, so never retried.
    case certificate(url: String, reason: String)
    /// The server answered with an error body.
    case server(status: Int, body: ErrorBody)
    /// The server answered something that is not protocol v1.
    case badResponse(String)
    /// The office replica has no server configured.
    case notConfigured(String)

    public var description: String {
        switch self {
        case .unreachable(let url, let reason):
            L10n.pick(en: "cannot reach the county server at \(url) (\(reason)); nothing was lost, run the command again when the network is back",
                      zh: "无法连接县政协服务器 \(url)（\(reason)）；数据没有丢失，网络恢复后请重新运行")
        case .certificate(let url, let reason):
            L10n.pick(en: "the TLS certificate of \(url) was not accepted (\(reason)); this is a certificate problem, not the network: give the county's CA certificate with --ca-file FILE.pem (cpsync init --ca-file), or check the server's certificate; nothing was lost",
                      zh: "服务器 \(url) 的 TLS 证书未被信任（\(reason)）；这是证书问题而不是网络问题：请用 --ca-file 文件.pem 指定县政协的 CA 证书（cpsync init --ca-file），或检查服务器证书；数据没有丢失")
        case .server(let status, let body):
            switch body.code {
            case .clockSkew:
                L10n.pick(en: "\(body.message) (HTTP \(status)); nothing was lost: the changes stay queued on this PC",
                          zh: "站点 \(body.site ?? "") 的电脑时钟比服务器快 \((body.skewMs ?? 0) / 1000) 秒，请校准电脑时间；数据没有丢失，仍在本机排队")
            case .unauthorized:
                L10n.pick(en: "the server refused the token: \(body.message)", zh: "服务器拒绝了令牌：\(body.message)")
            case .upgradeRequired:
                L10n.pick(en: "\(body.message); the changes stay queued on this PC", zh: "请升级 cpsync 到数据结构 v\(body.schemaVersion ?? 0)；数据仍在本机排队")
            default:
                L10n.pick(en: "the server refused the request (HTTP \(status), \(body.code)): \(body.message)",
                          zh: "服务器拒绝了请求（HTTP \(status)，\(body.code)）：\(body.message)")
            }
        case .badResponse(let m):
            L10n.pick(en: "unexpected answer from the server: \(m); nothing was lost", zh: "服务器返回了无法识别的内容：\(m)；数据没有丢失")
        case .notConfigured(let m): m
        }
    }

    public var exitCode: ExitCode {
        switch self {
        case .unreachable: .unavailable
        case .certificate: .refused
        case .server(let status, let body):
            status >= 500 ? .unavailable : (body.code == .unauthorized || body.code == .forbidden || status == 409 ? .refused : .dataError)
        case .badResponse: .unavailable
        case .notConfigured: .usage
        }
    }
}
