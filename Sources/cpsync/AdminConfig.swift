import CPSyncCLI
import CPSyncClient
import Foundation

/// The admin's connection settings, kept out of the shell history: a file of mode 0600 at `$CPSYNC_ADMIN_CONFIG`,
/// else `$XDG_CONFIG_HOME/cpsync/admin.conf`, else `~/.config/cpsync/admin.conf`:
///
/// ```
/// # cpsync admin settings (chmod 600)
/// server = https://county.example:8443
/// token = 8c1f…
/// ca-file = /etc/cpsync/county-ca.pem
/// ```
///
/// Read by the admin-facing verbs (`cpsync conflicts …`); `--server`, `--token` and `--ca-file` win over it. A file
/// that others may read or write is refused, with the chmod that fixes it: it holds an admin token.
struct AdminConfig: Equatable {
    var server: String?
    var token: String?
    var caFile: String?

    /// Where the file is looked for, and whether the user named it (then it must exist).
    static func location(_ env: [String: String] = ProcessInfo.processInfo.environment) -> (path: String, explicit: Bool)? {
        if let p = env["CPSYNC_ADMIN_CONFIG"], !p.isEmpty { return (p, true) }
        if let x = env["XDG_CONFIG_HOME"], !x.isEmpty { return (x + "/cpsync/admin.conf", false) }
        if let h = env["HOME"], !h.isEmpty { return (h + "/.config/cpsync/admin.conf", false) }
        return nil
    }

    /// The settings in the admin file, nil when there is none at the default place.
    static func load(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> AdminConfig? {
        guard let (path, explicit) = location(env) else { return nil }
        var st = stat()
        guard stat(path, &st) == 0 else {
            if explicit { throw AdminConfigError.missing(path: path) }
            return nil
        }
        let mode = Int(st.st_mode) & 0o777
        if mode & 0o077 != 0 { throw AdminConfigError.tooOpen(path: path, mode: mode) }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw AdminConfigError.unreadable(path: path)
        }
        return try parse(text, path: path)
    }

    static func parse(_ text: String, path: String) throws -> AdminConfig {
        var c = AdminConfig()
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else { throw AdminConfigError.badLine(path: path, line: n + 1, text: line) }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let f = value.first, f == "\"" || f == "'", value.last == f { value = String(value.dropFirst().dropLast()) }
            switch key {
            case "server": c.server = value
            case "token": c.token = value
            case "ca-file", "ca_file": c.caFile = value
            default: throw AdminConfigError.badLine(path: path, line: n + 1, text: line)
            }
        }
        return c
    }

    /// The transport of an admin verb: flags, then the admin file, then (with `--db`, or when there is no admin
    /// file) the office replica's settings.
    static func transport(_ args: inout Arguments) throws -> HTTPTransport {
        let server = args.option("server"), token = args.option("token"), ca = args.option("ca-file")
        if let server, let token { return HTTPTransport(baseURL: server, token: token, caFile: ca, language: L10n.language) }
        let explicitDB = args.option("db") != nil || ProcessInfo.processInfo.environment["CPSYNC_DB"] != nil
        if !explicitDB, let file = try load() {
            guard let s = server ?? file.server, let t = token ?? file.token else {
                throw AdminConfigError.incomplete(path: location()!.path, missing: (server ?? file.server) == nil ? "server" : "token")
            }
            return HTTPTransport(baseURL: s, token: t, caFile: ca ?? file.caFile, language: L10n.language)
        }
        let replica = try OfficeFile.open(&args)
        let config = try OfficeConfig.load(from: replica)
        return HTTPTransport(baseURL: server ?? config.server, token: token ?? config.token, caFile: ca ?? config.caFile, language: L10n.language)
    }
}

/// The admin file could not be used; nothing was sent.
enum AdminConfigError: ExitCodeProviding {
    case tooOpen(path: String, mode: Int)
    case missing(path: String)
    case unreadable(path: String)
    case badLine(path: String, line: Int, text: String)
    case incomplete(path: String, missing: String)

    var exitCode: ExitCode {
        switch self {
        case .badLine, .incomplete: .usage
        default: .ioError
        }
    }

    var description: String {
        switch self {
        case .tooOpen(let path, let mode):
            L10n.pick(en: "the admin settings file \(path) may be read by others (mode \(String(mode, radix: 8))) and holds an admin token; make it private with `chmod 600 \(path)`, then run the command again; nothing was sent",
                      zh: "管理员配置文件 \(path) 其他用户可读（权限 \(String(mode, radix: 8))），而其中有管理员令牌；请运行 `chmod 600 \(path)` 后重试；未发送任何请求")
        case .missing(let path):
            L10n.pick(en: "CPSYNC_ADMIN_CONFIG names \(path), which does not exist; create it (server = URL, token = TOKEN; chmod 600) or unset the variable",
                      zh: "CPSYNC_ADMIN_CONFIG 指向的 \(path) 不存在；请创建该文件（server = 网址，token = 令牌；chmod 600）或取消该变量")
        case .unreadable(let path):
            L10n.pick(en: "cannot read the admin settings file \(path) as UTF-8 text", zh: "无法读取管理员配置文件 \(path)（须为 UTF-8 文本）")
        case .badLine(let path, let line, let text):
            L10n.pick(en: "\(path) line \(line): '\(text)' is not `server = URL`, `token = TOKEN` or `ca-file = PEM`",
                      zh: "\(path) 第 \(line) 行：'\(text)' 不是 `server = 网址`、`token = 令牌` 或 `ca-file = 证书` 之一")
        case .incomplete(let path, let missing):
            L10n.pick(en: "\(path) has no `\(missing) = …` line; add it or pass --\(missing)", zh: "\(path) 缺少 `\(missing) = …` 一行；请补上或使用 --\(missing)")
        }
    }
}
