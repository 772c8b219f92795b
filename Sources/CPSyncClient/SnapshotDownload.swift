import CPPCC
import CPSyncText
import CPSyncCore
import CPSyncProtocol
import Foundation

/// A new office from a snapshot (`cpsync init --from-snapshot`, Protocol/README.md §16): downloads the county's
/// snapshot of the office's scope in byte ranges into a partial file next to the office database (a re-run after a
/// cut or a kill continues where the file ends), checks the SHA-256 of the bytes served, inflates them when they are
/// gzip (`encoding` "gzip": never beyond the manifest's `rawSize`) and checks the SQLite file's `rawSha256` and
/// `PRAGMA integrity_check`, installs it as the office replica under the office's own site id, and pulls on from the
/// snapshot's cursor. A manifest without `encoding` names the SQLite file itself, which is checked and installed as is.
///
/// Files beside `path`: `PATH.snapshot-part` (the served bytes so far), `PATH.snapshot-part.json` (the manifest they
/// belong to), `PATH.snapshot-installing` (the inflated, verified copy being made the office's; a crash leaves the
/// part file whole, so a re-run inflates and installs again without downloading).
public struct SnapshotDownload {
    public let path: String
    public let config: OfficeConfig
    /// Bytes asked for per request (the server answers at most its `maxRangeBytes`); at least `minimumChunkBytes`.
    public var chunkBytes = SnapshotDownload.defaultChunkBytes
    public static let defaultChunkBytes = 1 << 20
    /// The smallest range worth a request (`cpsync init --chunk-bytes` refuses less).
    public static let minimumChunkBytes = 4096
    /// Called after each range: (bytes held, total bytes).
    public var progress: ((Int64, Int64) -> Void)?
    /// How long no byte may move before a request is abandoned (then retried).
    public var deadlineSeconds = 60.0

    public struct Outcome: Sendable {
        public var manifest: SnapshotManifest
        /// Bytes the partial file already held when this run began (0: a fresh download).
        public var resumedFrom: Int64
        /// Bytes this run received.
        public var downloaded: Int64
        /// The ordinary pull that followed, from the snapshot's cursor.
        public var pull: SyncClient.PullSummary
        /// Bytes downloaded before that did not check out (a partial file damaged on disk, or a server whose file
        /// changed): thrown away, and the snapshot downloaded again from byte 0. 0 when nothing was.
        public var discardedBytes: Int64 = 0
    }

    /// The reader's language: the server writes its messages in it.
    public var language: Language = .english

    public init(path: String, config: OfficeConfig) {
        self.path = path
        self.config = config
    }

    var partPath: String { path + ".snapshot-part" }
    var manifestPath: String { path + ".snapshot-part.json" }
    var installingPath: String { path + ".snapshot-installing" }

    /// Downloads (or resumes), verifies, installs, then pulls. Nothing is installed unless the whole file checked out.
    public func run() throws -> Outcome {
        try checkConfig()
        let transport = HTTPTransport(baseURL: config.server, token: config.token, caFile: config.caFile, deadlineSeconds: deadlineSeconds,
                                      language: language)
        if try installedBefore() {
            // A run stopped between installing and tidying up: the office is made; only the pull is left.
            let held = FileManager.default.contents(atPath: manifestPath).flatMap { try? SnapshotManifest.decode($0) }
            discardPartial()
            return try pullAfterInstall(held, resumedFrom: held?.size ?? 0, downloaded: 0)
        }
        try checkTarget()
        var (manifest, resumedFrom, downloaded) = try download(transport)
        var discarded: Int64 = 0
        if try !verified(manifest) {
            // The bytes held do not make the file the manifest names (a damaged disk, a changed server): once more
            // from byte 0 (the outcome says so), then give up.
            discarded = manifest.size
            discardPartial()
            let earlier = downloaded
            (manifest, resumedFrom, downloaded) = try download(transport)
            downloaded += earlier
            guard try verified(manifest) else {
                discardPartial()
                throw SnapshotInstallError.damaged(Phrase(en: "the downloaded snapshot does not match its SHA-256 or fails its integrity check",
                                                      zh: "下载的快照与 SHA-256 不符或未通过完整性检查"))
            }
        }
        try install(manifest)
        discardPartial()
        var outcome = try pullAfterInstall(manifest, resumedFrom: resumedFrom, downloaded: downloaded)
        outcome.discardedBytes = discarded
        return outcome
    }

    private func pullAfterInstall(_ manifest: SnapshotManifest?, resumedFrom: Int64, downloaded: Int64) throws -> Outcome {
        let replica = try Replica(path: path, create: false)
        let client = try SyncClient(replica: replica, deadlineSeconds: deadlineSeconds)
        let pull = try client.pull()
        let id = try replica.meta(Self.installedKey)?.stringValue ?? ""
        let made = manifest ?? SnapshotManifest(id: id, site: config.site, cursor: 0, size: 0, sha256: "", schemaVersion: CPPCCSchema.version,
                                                epoch: nil, createdAt: 0, expiresAt: 0, maxRangeBytes: 0)
        return Outcome(manifest: made, resumedFrom: resumedFrom, downloaded: downloaded, pull: pull)
    }

    /// Whether `path` is already the replica this download installs (a run stopped after the rename).
    private func installedBefore() throws -> Bool {
        guard FileManager.default.fileExists(atPath: path),
              let held = FileManager.default.contents(atPath: manifestPath).flatMap({ try? SnapshotManifest.decode($0) }) else { return false }
        let replica = try Replica(path: path, create: false)
        return try replica.meta(Self.installedKey)?.stringValue == held.id && replica.siteID == config.site
    }

    private func checkConfig() throws { try config.check() }

    /// A snapshot replaces the office database only while it holds nothing: no versioned row and no pull yet.
    private func checkTarget() throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        let replica = try Replica(path: path, create: false)
        let rows = try replica.syncedTables.reduce(Int64(0)) { sum, t in
            sum + (try replica.database.scalar("SELECT count(*) FROM \"_cp_v_\(t)\"")?.int64Value ?? 0)
        }
        let cursor = try replica.meta(SyncPosition.pullCursor)?.int64Value ?? 0
        if rows > 0 || cursor > 0 || replica.siteID != config.site {
            throw SnapshotInstallError.officeNotEmpty(path: path)
        }
    }

    /// Fetches the manifest (the partial download's own while the server keeps it) and every missing byte.
    private func download(_ transport: HTTPTransport) throws -> (SnapshotManifest, Int64, Int64) {
        for _ in 0..<3 {
            let held = FileManager.default.contents(atPath: manifestPath).flatMap { try? SnapshotManifest.decode($0) }
            let query = held.map { "?resume=\($0.id)" } ?? ""
            let manifest = try transport.call("GET", "/v1/snapshot" + query, as: SnapshotManifest.self)
            guard SnapshotManifest.isValidID(manifest.id), manifest.size > 0 else {
                throw ClientError.badResponse("snapshot manifest with id '\(manifest.id.prefix(80))' and size \(manifest.size)")
            }
            guard manifest.schemaVersion == CPPCCSchema.version else {
                throw SnapshotInstallError.schema(server: manifest.schemaVersion, office: CPPCCSchema.version)
            }
            switch manifest.encoding {
            case nil:
                break
            case SnapshotManifest.gzipEncoding?, SnapshotManifest.compactGzipEncoding?:
                guard let rawSize = manifest.rawSize, rawSize > 0, let rawSha = manifest.rawSha256, rawSha.utf8.count == 64 else {
                    throw ClientError.badResponse("gzip snapshot manifest '\(manifest.id)' without a positive rawSize and a rawSha256")
                }
            case let other?:
                throw SnapshotInstallError.encoding(String(other.prefix(40)))
            }
            if held?.id != manifest.id {
                discardPartial()
                try Data(manifest.encoded()).write(to: URL(fileURLWithPath: manifestPath), options: .atomic)
            }
            if !FileManager.default.fileExists(atPath: partPath) {
                _ = FileManager.default.createFile(atPath: partPath, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            let file = try FileHandle(forUpdating: URL(fileURLWithPath: partPath))
            defer { try? file.close() }
            var offset = Int64(try file.seekToEnd())
            if offset > manifest.size {
                try file.truncate(atOffset: 0)
                offset = 0
            }
            let resumedFrom = offset
            var expired = false
            while offset < manifest.size {
                let last = min(manifest.size, offset + Int64(max(1, chunkBytes))) - 1
                let r = try transport.send("GET", "/v1/snapshot/\(manifest.id)", headers: [("Range", "bytes=\(offset)-\(last)")])
                switch r.status {
                case 206:
                    guard !r.body.isEmpty, offset + Int64(r.body.count) <= manifest.size else {
                        throw ClientError.badResponse("a snapshot range at \(offset) came back with \(r.body.count) bytes")
                    }
                    try file.seek(toOffset: UInt64(offset))
                    try file.write(contentsOf: r.body)
                    offset += Int64(r.body.count)
                case 200:
                    // A server (or proxy) that ignored the range sent the whole file.
                    guard Int64(r.body.count) == manifest.size else { throw ClientError.badResponse("a snapshot of \(r.body.count) bytes, not \(manifest.size)") }
                    try file.truncate(atOffset: 0)
                    try file.write(contentsOf: r.body)
                    offset = manifest.size
                case 404, 416:
                    // Expired on the server (kept a day) or changed: start on a current one.
                    expired = true
                default:
                    throw HTTPTransport.failure(r)
                }
                if expired { break }
                // Whatever a crash leaves, the part file holds only bytes that were written whole and in order.
                try file.synchronize()
                progress?(offset, manifest.size)
            }
            if expired {
                discardPartial()
                continue
            }
            return (manifest, resumedFrom, offset - resumedFrom)
        }
        throw ClientError.badResponse("the server expired the snapshot three times during the download")
    }

    /// Whether the part file is the manifest's: the SHA-256 of the served bytes; gzipped, inflated (refusing more
    /// than `rawSize` bytes) into the installing file and checked against `rawSize` and `rawSha256` (uncompressed:
    /// copied there); then SQLite's own integrity check of that copy. When true, the installing file is the verified
    /// SQLite file `install` makes the office's.
    private func verified(_ manifest: SnapshotManifest) throws -> Bool {
        removeInstalling()
        // Read in chunks: neither the served bytes nor the SQLite file is held whole (a county's is large).
        guard let size = (try? FileManager.default.attributesOfItem(atPath: partPath))?[.size] as? NSNumber,
              size.int64Value == manifest.size else { return false }
        let served = try GzipFile.digest(partPath)
        guard served.size == manifest.size, served.sha256 == manifest.sha256 else { return false }
        if SnapshotManifest.isGzip(manifest.encoding) {
            guard let rawSize = manifest.rawSize, rawSize > 0, let rawSha = manifest.rawSha256 else { return false }
            let raw: StreamDigest
            do {
                raw = try GzipFile.decompress(partPath, to: installingPath, maxBytes: rawSize)
            } catch is GzipError {
                // Not gzip, damaged, or more than the manifest said it holds: nothing is kept.
                removeInstalling()
                return false
            }
            guard raw.size == rawSize, raw.sha256 == rawSha else {
                removeInstalling()
                return false
            }
        } else {
            try FileManager.default.copyItem(atPath: partPath, toPath: installingPath)
            try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: installingPath)
        }
        let db = try Database(path: installingPath, readOnly: true)
        return try db.integrityProblems().isEmpty
    }

    private func removeInstalling() {
        for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: installingPath + suffix) }
    }

    /// Makes the verified copy (`verified` left it at the installing path) the office's replica: its own site id,
    /// its settings and sync positions (pull on from the snapshot's cursor; nothing of the snapshot is its own to
    /// push), then one rename over `path`.
    private func install(_ manifest: SnapshotManifest) throws {
        let fm = FileManager.default
        do {
            // The compact form gets its shadows, indexes and triggers back first (`ReplicaSnapshot.expand`; it leaves a
            // file in the replica form as it is, so it is asked of the file, whatever the manifest's encoding).
            try ReplicaSnapshot.expand(at: installingPath)
            let replica = try ReplicaSnapshot.adopt(at: installingPath, siteID: config.site)
            replica.recordsConflicts = false
            try CPPCCSchema.install(on: replica)
            let seq = try replica.sequence
            let signature = try SiteScope.signature(replica)
            try replica.database.transaction {
                try replica.setMeta(OfficeConfig.keys.server, .text(config.server))
                try replica.setMeta(OfficeConfig.keys.token, .text(config.token))
                try replica.setMeta(OfficeConfig.keys.caFile, config.caFile.map { .text($0) } ?? .null)
                try replica.setMeta(SyncPosition.pullCursor, .integer(manifest.cursor))
                try replica.setMeta(SyncPosition.pullSince, .integer(manifest.cursor))
                try replica.setMeta(SyncPosition.pushCursor, .integer(seq))
                try replica.setMeta(SyncPosition.pushSince, .integer(seq))
                try replica.setMeta(SyncPosition.scope, .text(signature))
                if let epoch = manifest.epoch { try replica.setMeta(SyncPosition.epoch, .text(epoch)) }
                try replica.setMeta(SnapshotDownload.installedKey, .text(manifest.id))
            }
            // One self-contained file before the rename: the write-ahead log is folded in and removed.
            try replica.database.execute("PRAGMA journal_mode=DELETE")
        }
        for suffix in ["-wal", "-shm", "-journal"] { try? fm.removeItem(atPath: installingPath + suffix) }
        for suffix in ["-wal", "-shm", "-journal"] { try? fm.removeItem(atPath: path + suffix) }
        if rename(installingPath, path) != 0 {
            throw SnapshotInstallError.install(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// The `_cp_meta` key naming the snapshot an office was made from.
    public static let installedKey = "office.snapshot"

    private func discardPartial() {
        try? FileManager.default.removeItem(atPath: partPath)
        try? FileManager.default.removeItem(atPath: manifestPath)
        removeInstalling()
    }
}

/// Why a snapshot could not be installed. Nothing of the office was changed.
public enum SnapshotInstallError: UserFacingError {
    /// The office database already holds data: a snapshot would replace it.
    case officeNotEmpty(path: String)
    /// The server's CPPCC schema differs from this cpsync's.
    case schema(server: Int, office: Int)
    /// The download does not check out (hash or integrity) twice in a row.
    case damaged(Phrase)
    /// The server serves its snapshots in an encoding this cpsync cannot read.
    case encoding(String)
    /// The verified copy could not be put in place.
    case install(path: String, reason: String)

    public func text(in language: Language) -> String {
        switch self {
        case .officeNotEmpty(let path):
            language.pick(en: "office database \(path) already holds data (or belongs to another site); a snapshot only sets up a new office — run `cpsync pull` there instead, or give --db a new file",
                      zh: "办公室数据库 \(path) 已有数据（或属于其他站点）；快照只用于新建办公室——请在该数据库上运行 `cpsync pull`，或用 --db 指定一个新文件")
        case .schema(let server, let office):
            language.pick(en: "the county server's snapshot has schema v\(server) and this cpsync v\(office); upgrade the older one, or set up with `cpsync init` and `cpsync pull`",
                      zh: "县政协服务器快照的数据结构为 v\(server)，本机 cpsync 为 v\(office)；请升级较旧的一方，或改用 `cpsync init` 加 `cpsync pull`")
        case .damaged(let reason):
            language.pick(en: "\(reason.english); nothing was installed, run the command again to download it afresh",
                      zh: "\(reason.chinese)；未安装任何内容，请重新运行命令重新下载")
        case .encoding(let name):
            language.pick(en: "the county server sends snapshots encoded as '\(name)', which this cpsync cannot read; upgrade cpsync, or set up with `cpsync init` and `cpsync pull`",
                      zh: "县政协服务器的快照编码为 '\(name)'，本机 cpsync 无法读取；请升级 cpsync，或改用 `cpsync init` 加 `cpsync pull`")
        case .install(let path, let reason):
            language.pick(en: "could not put the snapshot in place at \(path): \(reason); the download is kept, run the command again",
                      zh: "无法把快照放到 \(path)：\(reason)；已下载的文件保留，请重新运行命令")
        }
    }

    public var exitCode: ExitCode {
        switch self {
        case .officeNotEmpty, .schema, .encoding: .dataError
        case .damaged: .unavailable
        case .install: .ioError
        }
    }
}
