import CPPCC
import CPSyncText
import CPSyncCore
import CPSyncEngine
import Foundation

/// Who a bearer token belongs to.
public enum Principal: Sendable, Equatable {
    case site(String)
    case admin(String)

    public var name: String {
        switch self {
        case .site(let s): s
        case .admin(let a): a
        }
    }
}

/// A site registered on the server (the permission tree mirrors the CPPCC site tree).
public struct RegisteredSite: Sendable, Equatable {
    public let id: String
    public let name: String
    public let kind: String
    public let parent: String?
    public let revoked: Bool
    public let createdAt: Int64
}

/// The county server's data directory: the county replica (`county.db`, CPPCC schema plus sync metadata) and the
/// server's own tables (tokens, push batches). Writes are serialised through one writer connection; pulls read
/// through a small pool of reader connections (SQLite WAL lets them run beside the writer).
public final class ServerStore: Sendable {
    public let dataDirectory: String
    public let databasePath: String
    public let siteID: String
    /// Names this database's history; a restore from a backup starts a new one (see `StatusResponse.epoch`).
    public let epoch: String
    private let writer: Guarded<Replica>
    /// Writes waiting to be committed together (`writeTogether`).
    private let group = WriteGroup()
    private let readers: Guarded<[Replica]>
    /// A connection that never writes: its `PRAGMA data_version` moves with every commit of any other connection.
    private let watcher: Guarded<Database>

    static let serverTablesSQL = """
        CREATE TABLE IF NOT EXISTS _srv_sites (
          id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, parent TEXT,
          token_hash TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS _srv_admins (
          name TEXT PRIMARY KEY NOT NULL, token_hash TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS _srv_sites_token ON _srv_sites(token_hash);
        CREATE INDEX IF NOT EXISTS _srv_admins_token ON _srv_admins(token_hash);
        CREATE TABLE IF NOT EXISTS _srv_meta (key TEXT PRIMARY KEY NOT NULL, value);
        \(batchesTableSQL)
        \(auditTableSQL)
        """

    /// Stored push answers, per (site, batch id), with a digest of the batch's changes (NULL for answers stored
    /// before digests existed; see `SyncService.digest`), so a re-sent batch is told apart from a different batch under a reused id.
    static let batchesTableSQL = """
        CREATE TABLE IF NOT EXISTS _srv_batches (
          site TEXT NOT NULL, batch_id TEXT NOT NULL, digest TEXT, response BLOB NOT NULL, at INTEGER NOT NULL,
          PRIMARY KEY (site, batch_id)
        );
        """

    /// The site id new data directories give the server's own replica: no CPPCC office is called that, so the
    /// county office can be registered as `county` and still receive what the server writes (resolutions, sites).
    public static let defaultSiteID = "cpsyncd"
    private let health = StorageHealth()

    /// Opens (creating when absent) the data directory. The server replica's site id is fixed at creation; data
    /// directories created before `defaultSiteID` existed keep theirs (`county`).
    public init(dataDirectory: String, siteID: String = ServerStore.defaultSiteID) throws {
        self.dataDirectory = dataDirectory
        let fm = FileManager.default
        if !fm.fileExists(atPath: dataDirectory) {
            try fm.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        databasePath = (dataDirectory as NSString).appendingPathComponent("county.db")
        let replica = try Replica(path: databasePath, siteID: fm.fileExists(atPath: databasePath) ? nil : siteID)
        replica.recordsConflicts = true
        try replica.database.execute(Self.serverTablesSQL)
        try Self.migrateBatches(replica.database)
        try Self.retireUplinkHeldList(replica)
        // After the migration, which would drop an index made on the old table: stored answers expire by age.
        try replica.database.execute("CREATE INDEX IF NOT EXISTS _srv_batches_at ON _srv_batches(at)")
        try SiteActivity.install(replica.database)
        try CPPCCSchema.install(on: replica)
        // The index scoped pulls read (a county from before it gets it here, its rows bucketed once; cursors and
        // content are untouched: the index is derived from them).
        try SiteScope.index.install(on: replica)
        // Every scoped pull walks the site tree down from its site (`SiteScope.subtree`): by parent, not by a scan of
        // every site per level (a county of a thousand offices).
        try replica.database.execute("CREATE INDEX IF NOT EXISTS sites_parent ON sites(parent_id)")
        replica.scopeIndex = SiteScope.index
        try replica.foldLog()
        try SiteScope.index.refresh(replica)
        try Self.noteUpstreamSites(replica)
        if try replica.database.scalar("SELECT value FROM _srv_meta WHERE key = 'epoch'") == nil {
            try Self.startNewEpoch(in: replica.database)
        }
        epoch = try replica.database.scalar("SELECT value FROM _srv_meta WHERE key = 'epoch'")?.stringValue ?? ""
        self.siteID = replica.siteID
        writer = Guarded(replica)
        readers = Guarded([])
        watcher = Guarded(try Database(path: databasePath))
    }

    /// A mark that changes whenever anything is committed to the database — by this server's writer or by another
    /// process (`cpsyncd site add` beside a running daemon) — so a result read earlier can be told still current
    /// (`PullPrefetch`). nil when it cannot be read.
    public func commitMark() -> Int64? {
        watcher.withLock { db in (try? db.scalar("PRAGMA data_version"))??.int64Value }
    }

    /// Gives the database a new epoch (at creation, and on restore).
    public static func startNewEpoch(in db: Database) throws {
        try db.execute("CREATE TABLE IF NOT EXISTS _srv_meta (key TEXT PRIMARY KEY NOT NULL, value)")
        try db.run("INSERT OR REPLACE INTO _srv_meta(key, value) VALUES ('epoch', ?)", [.text(UUID().uuidString.lowercased())])
    }

    /// Moves answers stored under a global batch id (before batch ids were per site) into the per-site table,
    /// keeping every answer, so a retry of an old batch is still replayed.
    static func migrateBatches(_ db: Database) throws {
        guard try !db.columns(of: "_srv_batches").contains(where: { $0.name == "digest" }) else { return }
        try db.transaction {
            try db.execute("""
                ALTER TABLE _srv_batches RENAME TO _srv_batches_v1;
                \(batchesTableSQL)
                INSERT OR IGNORE INTO _srv_batches(site, batch_id, digest, response, at)
                  SELECT site, batch_id, NULL, response, at FROM _srv_batches_v1;
                DROP TABLE _srv_batches_v1;
                """)
        }
    }

    /// A county database from before the one sync engine kept the rows its higher tier refused in `_srv_uplink_held`:
    /// the list is dropped and the uplink sends everything again (the higher tier answers what it has as already
    /// known; what it refuses is held again, now in the held list every sync shares).
    static func retireUplinkHeldList(_ r: Replica) throws {
        guard try r.database.scalar("SELECT count(*) FROM sqlite_master WHERE name = '_srv_uplink_held'") != .integer(0) else { return }
        try r.database.transaction {
            try r.database.execute("DROP TABLE _srv_uplink_held")
            try SyncKeys.uplink.setPush(.start, in: r)
        }
    }

    /// Runs `body` with the single writer connection (serialised). A storage failure (full disk, I/O error,
    /// read-only) is remembered for `/v1/health` until a write succeeds again.
    public func write<T>(_ body: (Replica) throws -> T) throws -> T {
        do {
            let result = try writer.withLock { try body($0) }
            health.writeSucceeded()
            return result
        } catch {
            if let problem = StorageProblem(error, databasePath: databasePath) { health.writeFailed(problem) }
            throw error
        }
    }

    /// Runs `body` with the writer in a transaction shared with the other callers of `writeTogether` waiting at the
    /// same time (`WriteGroup`): one commit, one wait for the disk, for them all; each body in a savepoint of its own,
    /// undone alone when it throws. Returns once the shared commit is on disk. For pushes: a burst of offices costs
    /// a commit per group instead of per push.
    public func writeTogether<T>(_ body: @escaping (Replica) throws -> T) throws -> T {
        var result: T?
        try group.run({ r in result = try body(r) }) { jobs in
            let failure = writer.withLock { WriteGroup.commit(jobs, in: $0) }
            // A write that failed on the storage (a full database fails one statement, the group may still commit).
            if let problem = jobs.lazy.compactMap({ $0.failure.flatMap { StorageProblem($0, databasePath: self.databasePath) } }).first {
                health.writeFailed(problem)
            } else if failure == nil {
                health.writeSucceeded()
            }
        }
        return result!
    }

    /// Runs `body` with the writer only when it is free right now (nil otherwise): for bookkeeping that must never
    /// make a request wait.
    public func tryWrite<T>(_ body: (Replica) throws -> T) throws -> T? {
        try writer.tryWithLock { try body($0) }
    }

    /// Why writes fail, if they do (for `/v1/health`). Cheap: after a storage failure it probes with a write at
    /// most once a second and never waits for the writer (a running push will tell instead).
    public func storageProblem() -> StorageProblem? {
        health.current {
            try writer.tryWithLock { r in try Self.probeWrite(r.database) }
        }
    }

    /// A write that needs room (rolled back) and a small committed one: a full database fails at the first, a full
    /// disk or a read-only file when the committed one reaches the write-ahead log.
    static func probeWrite(_ db: Database) throws -> Bool {
        struct RolledBack: Error {}
        try db.transaction {
            do {
                try db.transaction {
                    try db.run("INSERT OR REPLACE INTO _srv_meta(key, value) VALUES ('health_probe_room', zeroblob(65536))")
                    throw RolledBack()
                }
            } catch is RolledBack {}
            try db.run("INSERT OR REPLACE INTO _srv_meta(key, value) VALUES ('health_probe_at', ?)", [.integer(HLC.wallClock().milliseconds)])
        }
        return true
    }

    /// Notes the attachment limits `serve` runs with, for the verbs run beside it (`cpsyncd import` holds a station's
    /// carried files to them).
    public func rememberAttachmentLimits(_ limits: BlobLimits) throws {
        let json = String(decoding: try JSONEncoder().encode(limits), as: UTF8.self)
        try write { try $0.database.run("INSERT OR REPLACE INTO _srv_meta(key, value) VALUES ('attachment_limits', ?)", [.text(json)]) }
    }

    /// The attachment limits `serve` last ran with; nil before it ever ran (or from an earlier build).
    public func rememberedAttachmentLimits() -> BlobLimits? {
        let text = try? read { try $0.database.scalar("SELECT value FROM _srv_meta WHERE key = 'attachment_limits'")?.stringValue }
        return text.flatMap { $0 }.flatMap { try? JSONDecoder().decode(BlobLimits.self, from: Data($0.utf8)) }
    }

    /// The page cache of each reader connection, in KiB.
    static let readerCacheKiB = 4_096
    /// Reader connections kept open between reads: at least as many as read at once (the HTTP server's 8 workers and
    /// 2 light ones, and the daemon's own timers). With 8 kept, a burst of 1,000 offices opened and closed a
    /// connection (schema read, statements prepared again) for every tenth read. Only connections that were needed at
    /// once are ever kept, so this bounds nothing the concurrency did not already reach.
    static let readersKept = 16

    /// Opens the pool's reader connections before the first request (each opening reads the schema and sets up its
    /// cache): a county restarted in the morning meets its offices' first burst with them ready, not opening one for
    /// every request beyond the ones open so far. Failures are left to the first read that meets them.
    public func openReaders() {
        readers.withLock { pool in
            while pool.count < Self.readersKept, let r = try? openReader() { pool.append(r) }
        }
    }

    private func openReader() throws -> Replica {
        let r = try Replica(path: databasePath, create: false)
        r.scopeIndex = SiteScope.index
        // Readers only read: the 16 MiB page cache a connection gets for merges (`Database.cacheKiB`) would let up
        // to eight of them hold 128 MiB of a large county. 4 MiB each, the kernel's page cache behind them: a
        // township's plain pull of a 200,000-member county peaked the daemon at 68–71 MB with 16 MiB, 44 MB with
        // 2 MiB, at the same pull time (issue 22; `make bench-snapshot-large`).
        try r.database.execute("PRAGMA cache_size=-\(Self.readerCacheKiB)")
        return r
    }

    /// Runs `body` with a reader connection from the pool (concurrent with other readers and the writer).
    public func read<T>(_ body: (Replica) throws -> T) throws -> T {
        let replica = try readers.withLock { pool -> Replica in
            if let r = pool.popLast() { return r }
            return try openReader()
        }
        defer { readers.withLock { if $0.count < Self.readersKept { $0.append(replica) } } }
        return try body(replica)
    }

    // MARK: tokens

    /// 32 random bytes (the system CSPRNG), base64url without padding.
    static func newToken() -> String {
        var g = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Registers a site and returns its token (shown once; only its SHA-256 is stored). The site also enters the
    /// CPPCC `sites` table, so every office learns the site tree. The first site is the root (kind county, no
    /// parent); a later one without a parent goes under the root; kinds nest (`mayPlace`).
    public func addSite(id: String, name: String, kind given: String, parent: String?, actor: String = ServerStore.commandLineActor()) throws -> String {
        guard Replica.isValidSiteID(id) else { throw ServerError.badSiteID(id) }
        guard id != siteID else { throw ServerError.serverSiteID(id) }
        // The code, the Chinese name or a short one (乡镇): stored as the code.
        guard let kind = SiteKind.parse(given)?.rawValue else { throw ServerError.badKind(given) }
        let token = Self.newToken()
        try write { r in
            try r.database.transaction {
                if try r.database.scalar("SELECT count(*) FROM _srv_sites WHERE id = ?", [.text(id)])?.int64Value != 0 {
                    throw ServerError.siteExists(id)
                }
                let parent = try Self.placeNewSite(r.database, site: id, kind: kind, parent: parent)
                try r.database.run("INSERT INTO _srv_sites(id, name, kind, parent, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                                   [.text(id), .text(name), .text(kind), parent.map { .text($0) } ?? .null, .text(SHA256.hex(token)),
                                    .integer(HLC.wallClock().milliseconds)])
                try r.database.run("""
                    INSERT INTO sites(id, name, kind, parent_id) VALUES (?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET name = excluded.name, kind = excluded.kind, parent_id = excluded.parent_id
                    """, [.text(id), .text(name), .text(kind), parent.map { .text($0) } ?? .null])
                try Self.audit(r.database, actor: actor, action: .siteAdd, subject: id,
                               detail: "kind=\(kind) parent=\(parent ?? "-") name=\(name) token=\(Self.tokenTag(token))")
                // Versions are written here, by the writer, so pulls on reader connections only ever read.
                try r.foldLog()
            }
        }
        return token
    }

    public func sites() throws -> [RegisteredSite] {
        try read { r in
            try r.database.query("SELECT id, name, kind, parent, revoked, created_at FROM _srv_sites ORDER BY id").map {
                RegisteredSite(id: $0[0].stringValue ?? "", name: $0[1].stringValue ?? "", kind: $0[2].stringValue ?? "",
                               parent: $0[3].stringValue, revoked: $0[4].int64Value == 1, createdAt: $0[5].int64Value ?? 0)
            }
        }
    }

    /// Revokes a site's token: the next request with it is refused (tokens are looked up per request). The site
    /// stays in the tree and its data stays.
    public func revokeSite(_ id: String, actor: String = ServerStore.commandLineActor()) throws {
        try write { r in
            try r.database.transaction {
                guard let revoked = try r.database.scalar("SELECT revoked FROM _srv_sites WHERE id = ?", [.text(id)])?.int64Value else {
                    throw ServerError.unknownSite(id)
                }
                if revoked == 1 { throw ServerError.siteAlreadyRevoked(id) }
                try r.database.run("UPDATE _srv_sites SET revoked = 1 WHERE id = ?", [.text(id)])
                try Self.audit(r.database, actor: actor, action: .siteRevoke, subject: id, detail: "")
            }
        }
    }

    public func addAdmin(name: String, actor: String = ServerStore.commandLineActor()) throws -> String {
        guard Self.isValidAdminName(name) else { throw ServerError.badAdminName(name) }
        let token = Self.newToken()
        try write { r in
            try r.database.transaction {
                if try r.database.scalar("SELECT count(*) FROM _srv_admins WHERE name = ?", [.text(name)])?.int64Value != 0 {
                    throw ServerError.adminExists(name)
                }
                try r.database.run("INSERT INTO _srv_admins(name, token_hash, created_at) VALUES (?, ?, ?)",
                                   [.text(name), .text(SHA256.hex(token)), .integer(HLC.wallClock().milliseconds)])
                try Self.audit(r.database, actor: actor, action: .adminAdd, subject: name, detail: "token=\(Self.tokenTag(token))")
            }
        }
        return token
    }

    /// The principal a bearer token stands for, or nil (unknown or revoked).
    public func authenticate(_ token: String?) throws -> Principal? { try authenticateNotingTier(token)?.principal }

    /// The principal a bearer token stands for, and whether it is a county registered below this server (`cpsyncd
    /// tier add`, see `isMemberCounty`), found in the same read: every office request needs both.
    public func authenticateNotingTier(_ token: String?) throws -> (principal: Principal, memberCounty: Bool)? {
        guard let token, !token.isEmpty, token.utf8.count <= 200 else { return nil }
        let hash = SHA256.hex(token)
        return try read { r in
            if let row = try r.database.query("SELECT id, kind = 'county' FROM _srv_sites WHERE token_hash = ? AND revoked = 0", [.text(hash)]).first,
               let id = row[0].stringValue {
                // Only a county-kind site can be a member county (asked only then; no tier table: none is).
                var member = false
                if row[1].int64Value == 1 {
                    let found = try? r.database.scalar("SELECT EXISTS (SELECT 1 FROM _srv_tier_members WHERE site = ?)", [.text(id)])
                    member = found.flatMap { $0 }?.int64Value == 1
                }
                return (.site(id), member)
            }
            if let name = try r.database.scalar("SELECT name FROM _srv_admins WHERE token_hash = ? AND revoked = 0", [.text(hash)])?.stringValue {
                return (.admin(name), false)
            }
            return nil
        }
    }

    /// The display name of a site, for conflict views.
    public func siteName(_ id: String) -> String? {
        try? read { r in try r.database.scalar("SELECT name FROM sites WHERE id = ?", [.text(id)])?.stringValue }
    }
}

