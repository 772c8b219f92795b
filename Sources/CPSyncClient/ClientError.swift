import CPSyncText
import CPSyncProtocol

/// What can go wrong talking to the county server. Every case says what happened and that nothing was lost.
public enum ClientError: UserFacingError, Sendable {
    /// The server could not be reached or the connection broke.
    case unreachable(url: String, reason: String)
    /// The server's TLS certificate was not accepted: a configuration problem, not the network, so never retried.
    case certificate(url: String, reason: String)
    /// The server answered with an error body.
    case server(status: Int, body: ErrorBody)
    /// The server answered something that is not protocol v1.
    case badResponse(String)
    /// The office replica has no server configured.
    case notConfigured(Phrase)
    /// Something answers at the address, but no cpsync server: the address is wrong (its scheme, port or path), not
    /// the network. Never retried; exit 64 like any other wrong setting.
    case wrongAddress(url: String, problem: AddressProblem)

    /// What is wrong with a server address that answers, but not as a cpsync server.
    public enum AddressProblem: Sendable, Equatable {
        /// `https://` to a port that speaks plain HTTP (the TLS handshake failed; `suggested` answers).
        case plainHTTPPort(suggested: String)
        /// HTTP `status` (404: no such path; nil: an answer that is not the protocol's) where a cpsync server would
        /// answer; `suggested`: the server's root, when a cpsync server answers there (the address carried a path it
        /// does not serve).
        case noServer(status: Int?, suggested: String?)
    }

    public func text(in language: Language) -> String {
        switch self {
        case .unreachable(let url, let reason):
            language.pick(en: "cannot reach the county server at \(url) (\(reason)); nothing was lost, run the command again when the network is back",
                      zh: "无法连接县政协服务器 \(url)（\(reason)）；数据没有丢失，网络恢复后请重新运行")
        case .certificate(let url, let reason):
            language.pick(en: "the TLS certificate of \(url) was not accepted (\(reason)); this is a certificate problem, not the network: give the county's CA certificate with --ca-file FILE.pem (cpsync init --ca-file), or check the server's certificate; nothing was lost",
                      zh: "服务器 \(url) 的 TLS 证书未被信任（\(reason)）；这是证书问题而不是网络问题：请用 --ca-file 文件.pem 指定县政协的 CA 证书（cpsync init --ca-file），或检查服务器证书；数据没有丢失")
        case .server(let status, let body):
            switch body.code {
            case .clockSkew:
                language.pick(en: "\(body.message) (HTTP \(status)); nothing was lost: the changes stay queued on this PC",
                          zh: "站点 \(body.site ?? "") 的电脑时钟比服务器快 \((body.skewMs ?? 0) / 1000) 秒，请校准电脑时间；数据没有丢失，仍在本机排队")
            case .unauthorized:
                language.pick(en: "the server refused the token: \(body.message)", zh: "服务器拒绝了令牌：\(body.message)")
            case .upgradeRequired:
                language.pick(en: "\(body.message); the changes stay queued on this PC", zh: "请升级 cpsync 到数据结构 v\(body.schemaVersion ?? 0)；数据仍在本机排队")
            default:
                language.pick(en: "the server refused the request (HTTP \(status), \(body.code)): \(body.message)",
                          zh: "服务器拒绝了请求（HTTP \(status)，\(body.code)）：\(body.message)")
            }
        case .badResponse(let m):
            language.pick(en: "unexpected answer from the server: \(m); nothing was lost", zh: "服务器返回了无法识别的内容：\(m)；数据没有丢失")
        case .notConfigured(let m): m.text(in: language)
        case .wrongAddress(let url, .plainHTTPPort(let suggested)):
            language.pick(en: "\(url) is a plain HTTP port, not HTTPS (the TLS handshake failed, and plain HTTP answers there): use \(suggested), or the https:// address of the county's TLS proxy",
                      zh: "\(url) 这个端口提供的是普通 HTTP，不是 HTTPS（TLS 握手失败，而普通 HTTP 可以连通）：请改用 \(suggested)，或县政协 TLS 代理的 https:// 地址")
        case .wrongAddress(let url, .noServer(let status, let suggested?)):
            language.pick(en: "no cpsync server answers at \(url) (\(Self.answered(status, language))), but one answers at \(suggested): use --server \(suggested) (without the path)",
                      zh: "\(url) 不是 cpsync 服务器地址（\(Self.answered(status, language))），而 \(suggested) 有 cpsync 服务器应答：请改用 --server \(suggested)（去掉路径）")
        case .wrongAddress(let url, .noServer(let status, nil)):
            language.pick(en: "no cpsync server answers at \(url) (\(Self.answered(status, language)); something else listens there): check the address — host, port and path — with the county",
                      zh: "\(url) 不是 cpsync 服务器地址（\(Self.answered(status, language))，该处是别的服务）：请向县政协核对地址（主机、端口和路径）")
        }
    }

    /// What answered at a wrong address, in words.
    private static func answered(_ status: Int?, _ language: Language) -> String {
        guard let status else { return language.pick(en: "it answers, but not in the cpsync protocol", zh: "该处有应答，但不是 cpsync 协议") }
        return language.pick(en: "it answers HTTP \(status) where a cpsync server has its API", zh: "该处对 cpsync 接口应答 HTTP \(status)")
    }

    public var exitCode: ExitCode {
        switch self {
        case .unreachable: .unavailable
        case .certificate: .refused
        case .server(let status, let body):
            status >= 500 ? .unavailable : (body.code == .unauthorized || body.code == .forbidden || status == 409 ? .refused : .dataError)
        case .badResponse: .unavailable
        case .notConfigured, .wrongAddress: .usage
        }
    }
}
