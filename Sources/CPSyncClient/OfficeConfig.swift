import CPPCC
import CPSyncText
import CPSyncCore
import CPSyncEngine
import Foundation

/// The office's connection settings and sync positions, kept in the replica's metadata (the file is mode 0600:
/// it holds the token).
public struct OfficeConfig: Sendable, Equatable {
    public var server: String
    public var site: String
    public var token: String
    public var caFile: String?

    public init(server: String, site: String, token: String, caFile: String? = nil) {
        self.server = server
        self.site = site
        self.token = token
        self.caFile = caFile
    }

    static let keys = (server: "office.server", token: "office.token", caFile: "office.ca_file")

    /// The settings' own checks: a site id the protocol accepts, a server given as an http(s) URL.
    func check() throws(ClientError) {
        guard Replica.isValidSiteID(site) else {
            throw .notConfigured(Phrase(en: "site id '\(site)' must be 1–64 characters of a–z, 0–9, '-' or '_'",
                                        zh: "站点标识 '\(site)' 只能由 1–64 个 a–z、0–9、'-'、'_' 组成"))
        }
        guard let url = URL(string: server), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw .notConfigured(Phrase(en: "server '\(server)' must be an http:// or https:// URL",
                                        zh: "服务器地址 '\(server)' 必须是 http:// 或 https:// 开头的网址"))
        }
    }

    /// Creates the office replica with the CPPCC schema and stores the settings. Refuses to overwrite an
    /// existing replica of another site.
    public static func initialise(path: String, config: OfficeConfig) throws -> Replica {
        try config.check()
        if let ca = config.caFile, !FileManager.default.isReadableFile(atPath: ca) {
            throw ClientError.notConfigured(Phrase(en: "CA file '\(ca)' cannot be read", zh: "无法读取 CA 证书文件 '\(ca)'"))
        }
        let fresh = !FileManager.default.fileExists(atPath: path)
        if fresh { _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) }
        let replica = try Replica(path: path, siteID: config.site)
        try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        replica.recordsConflicts = false
        try CPPCCSchema.install(on: replica)
        try replica.database.transaction {
            try replica.setMeta(keys.server, .text(config.server))
            try replica.setMeta(keys.token, .text(config.token))
            try replica.setMeta(keys.caFile, config.caFile.map { .text($0) } ?? .null)
            if fresh { try SyncClient.startExportList(replica) }
        }
        return replica
    }

    /// The settings stored in an office replica.
    public static func load(from replica: Replica) throws -> OfficeConfig {
        guard let server = try replica.meta(keys.server)?.stringValue, let token = try replica.meta(keys.token)?.stringValue else {
            throw ClientError.notConfigured(Phrase(en: "this replica has no server configured; run `cpsync init --server URL --site ID --token TOKEN`",
                                                      zh: "此数据库尚未配置服务器；请先运行 `cpsync init --server 网址 --site 站点 --token 令牌`"))
        }
        return OfficeConfig(server: server, site: replica.siteID, token: token, caFile: try replica.meta(keys.caFile)?.stringValue)
    }
}

/// Where sync stands, kept in the replica's metadata and updated in the same transaction as the data it describes.
public enum SyncPosition {
    /// The server cursor after the last applied pull page.
    static let pullCursor = SyncKeys.office.pullCursor
    /// Where the pull transfer under way started (its low-water mark; see `Replica.changes`); absent: the cursor.
    static let pullSince = SyncKeys.office.pullSince
    /// The local sequence up to which own changes were acknowledged by the server.
    static let pushCursor = SyncKeys.office.pushCursor
    /// Where the push transfer under way started; absent: the push cursor.
    static let pushSince = SyncKeys.office.pushSince
    static let lastPush = SyncKeys.office.lastPush
    static let lastPull = SyncKeys.office.lastPull
    /// The office's subtree when it last pulled (`SiteScope.signature`): a tree that grew means pulling again.
    static let scope = "sync.scope"
    /// The county database epoch this office last synced with.
    static let epoch = SyncKeys.office.epoch
}
