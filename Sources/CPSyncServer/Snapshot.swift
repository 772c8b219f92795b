import CPPCC
import CPSyncCore
import CPSyncHTTP
import CPSyncProtocol
import Foundation

/// Snapshots of an office's scope (Protocol/README.md §16): a new office downloads one SQLite file instead of
/// replaying every change of its scope through pulls, then pulls on from the snapshot's cursor.
///
/// A snapshot is made once per (site, cursor) into `<data>/snapshots/` and kept `keepSeconds`. `ReplicaSnapshot.write`
/// reads the cursor and copies the rows in one read transaction of a connection of its own, so the file holds exactly
/// the changes up to that cursor, whatever is committed meanwhile; the rows the site may not hold are left out in SQL
/// (`SiteScope.snapshotConditions`), the server's own tables (accounts, token hashes, push answers, audit) and the
/// county's conflicts are not copied, and what the office rebuilds on install (indexes, shadow keys) is not shipped:
/// the compact form. The file is built fresh, so no page holds a row left out. It is gzipped once, file to file, and
/// only the gzip file (`<id>.db.gz`) is kept. The gzip bytes are served in ranges of at most `maxRangeBytes`, so a
/// download cut anywhere resumes where it stopped. No step holds more than a bounded buffer of the county.
public final class SnapshotService: Sendable {
    public let store: ServerStore
    public let directory: String
    let log: EventLog
    let metrics: Metrics
    /// How long a snapshot is kept after it was made (it can be resumed until then).
    public let keepSeconds: Double
    /// A snapshot younger than this is served again even if changes came since (the office pulls them): thirty
    /// offices set up the same morning do not make thirty county copies.
    public let reuseSeconds: Double
    /// At most this many snapshots are kept; the oldest go first.
    public let maxKept: Int
    /// The most bytes one answer carries: the handler reads them into memory and the answer is serialized with a
    /// copy, so this bounds what a download costs the daemon (offices ask for 1 MiB by default).
    public static let maxRangeBytes = 2 << 20
    /// One snapshot is made at a time: making one reads the whole county database.
    private let making = Guarded(())

    /// Defaults: kept 24 h, reused for 10 min, at most 64 kept; `CPSYNCD_SNAPSHOT_KEEP_SECONDS`,
    /// `CPSYNCD_SNAPSHOT_REUSE_SECONDS` and `CPSYNCD_SNAPSHOT_MAX_KEPT` in the daemon's environment change them.
    public init(store: ServerStore, log: EventLog = EventLog(), metrics: Metrics = Metrics(),
                keepSeconds: Double = SnapshotService.setting("CPSYNCD_SNAPSHOT_KEEP_SECONDS") ?? 24 * 3600,
                reuseSeconds: Double = SnapshotService.setting("CPSYNCD_SNAPSHOT_REUSE_SECONDS") ?? 600,
                maxKept: Int = Int(SnapshotService.setting("CPSYNCD_SNAPSHOT_MAX_KEPT") ?? 64)) {
        self.store = store
        self.directory = (store.dataDirectory as NSString).appendingPathComponent("snapshots")
        self.log = log
        self.metrics = metrics
        self.keepSeconds = keepSeconds
        self.reuseSeconds = reuseSeconds
        self.maxKept = maxKept
    }

    /// A non-negative number from the environment.
    public static func setting(_ name: String) -> Double? {
        ProcessInfo.processInfo.environment[name].flatMap(Double.init).flatMap { $0 >= 0 && $0.isFinite ? $0 : nil }
    }

    /// `GET /v1/snapshot[?resume=ID][&site=ID]`: the manifest of a snapshot of the caller's scope, made now unless a
    /// fresh one is kept. `resume` asks for a snapshot the caller is part way through downloading: its manifest
    /// comes back while it is kept, else a current one. An admin gets the whole county, or `site`'s scope.
    public func manifest(for principal: Principal, query: [String: String]) throws(ErrorBody) -> SnapshotManifest {
        let site: String?
        switch principal {
        case .site(let s):
            if let asked = query["site"], asked != s {
                throw ErrorBody(code: .forbidden, message: "this token belongs to site '\(s)'; it may download only its own scope, not '\(asked)'")
            }
            site = s
        case .admin:
            if let asked = query["site"], !Replica.isValidSiteID(asked) {
                throw ErrorBody(code: .badRequest, message: "site '\(asked.prefix(80))' must be 1–64 characters of a–z, 0–9, '-' or '_'")
            }
            site = query["site"]
        }
        do {
            return try making.withLock { _ in
                try cleanUp()
                if let id = query["resume"], SnapshotManifest.isValidID(id), let kept = try load(id), kept.site == site,
                   kept.epoch == store.epoch { return kept }
                let latest = try store.read { r in try r.database.scalar("SELECT seq FROM _cp_state")?.int64Value ?? 0 }
                let now = HLC.wallClock().milliseconds
                if let kept = try kept().filter({ $0.site == site && $0.epoch == store.epoch })
                    .first(where: { $0.cursor == latest || Double(now - $0.createdAt) < reuseSeconds * 1000 }) {
                    return kept
                }
                return try make(site: site)
            }
        } catch let e as ErrorBody {
            throw e
        } catch {
            if let problem = StorageProblem(error, databasePath: directory) { throw problem.errorBody(nothingApplied: false) }
            throw ErrorBody(code: .serverError, message: "could not make the snapshot: \(error)")
        }
    }

    /// Makes a snapshot of `site`'s scope (nil: everything) and keeps it. `whileCopying` runs inside the read
    /// transaction, after the cursor was read and before the copy (tests commit writes there).
    ///
    /// Every step goes from file to file in bounded buffers, so the daemon's memory does not grow with the county:
    /// `ReplicaSnapshot.write` copies the rows in scope with SQL into a new compact file (out-of-scope rows are never
    /// read into Swift), and `GzipFile.compress` deflates it chunk by chunk, hashing both sides on the way.
    func make(site: String?, whileCopying: () throws -> Void = {}) throws -> SnapshotManifest {
        let started = Date()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let temporary = path(".tmp-\(UUID().uuidString.lowercased()).db")
        defer { for suffix in ["", "-journal", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: temporary + suffix) } }
        var written: ReplicaSnapshot.Written?
        for attempt in 0..<3 where written == nil {
            for suffix in ["", "-journal", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: temporary + suffix) }
            do {
                written = try ReplicaSnapshot.write(from: store.databasePath, into: temporary, keepingEmpty: AccessRules.ownTables,
                                                    keep: { db in try site.map { try SiteScope.snapshotConditions(site: $0, in: db) } ?? [:] },
                                                    whileCopying: whileCopying)
            } catch ReplicaSnapshot.WriteError.unfoldedWrites where attempt < 2 {
                // Another process wrote to the county database (its capture log): fold those writes as the daemon's
                // next merge would, so that the snapshot holds their versions, and copy again.
                try store.write { try $0.foldLog() }
            }
        }
        guard let written else { throw ReplicaSnapshot.WriteError.unfoldedWrites }
        let copiedMs = Int64(Date().timeIntervalSince(started) * 1000)
        let compressing = Date()
        let packed = path(".tmp-\(UUID().uuidString.lowercased()).gz")
        defer { try? FileManager.default.removeItem(atPath: packed) }
        let (raw, gzip) = try GzipFile.compress(temporary, to: packed, level: Self.gzipLevel)
        let gzipMs = Int64(Date().timeIntervalSince(compressing) * 1000)
        let now = HLC.wallClock().milliseconds
        let cursor = written.cursor
        let id = "\(site ?? "county-all")-\(cursor)-\(UUID().uuidString.lowercased().prefix(8))"
        let manifest = SnapshotManifest(id: id, site: site, cursor: cursor, size: gzip.size, sha256: gzip.sha256,
                                        schemaVersion: CPPCCSchema.version, epoch: store.epoch, createdAt: now,
                                        expiresAt: now + Int64(keepSeconds * 1000), maxRangeBytes: Self.maxRangeBytes,
                                        encoding: SnapshotManifest.compactGzipEncoding, rawSize: raw.size, rawSha256: raw.sha256)
        // Only the gzip file is kept; the SQLite file goes with `temporary`.
        try FileManager.default.moveItem(atPath: packed, toPath: dataPath(id))
        // The manifest last: a snapshot without one is unfinished and is cleaned up.
        try Data(manifest.encoded()).write(to: URL(fileURLWithPath: path(id + ".json")), options: .atomic)
        metrics.count("cpsync_snapshots_made_total")
        log.event("snapshot_made", ["id": .text(id), "site": .text(site ?? "*"), "cursor": .integer(cursor), "bytes": .integer(gzip.size),
                                    "raw_bytes": .integer(raw.size), "copy_ms": .integer(copiedMs), "gzip_ms": .integer(gzipMs),
                                    "rows_left_out": .integer(written.rowsLeftOut), "tables_dropped": .text(written.tablesDropped.joined(separator: ",")),
                                    "ms": .integer(Int64(Date().timeIntervalSince(started) * 1000))])
        return manifest
    }

    /// `GET /v1/snapshot/{id}`: the file's bytes, the whole of it (when it fits in one answer) or the asked range.
    public func bytes(_ id: String, principal: Principal, range: String?) throws(ErrorBody) -> HTTPResponse {
        let gone = ErrorBody(code: .notFound,
                             message: "snapshot '\(id.prefix(80))' is not kept here (snapshots are kept \(Int(keepSeconds / 3600)) h); ask GET /v1/snapshot for a current one")
        guard SnapshotManifest.isValidID(id), let manifest = try? load(id) else { throw gone }
        if case .site(let s) = principal, manifest.site != s {
            throw ErrorBody(code: .forbidden, message: "snapshot '\(id)' holds the scope of another site; this token belongs to site '\(s)'")
        }
        let size = Int(manifest.size)
        var start = 0, end = size - 1
        var partial = false
        if let range {
            guard let r = Self.parseRange(range, size: size) else {
                var response = HTTPResponse.json(ErrorBody(code: .badRequest,
                                                           message: "range '\(range.prefix(80))' is not one satisfiable byte range of this \(size)-byte snapshot; ask for bytes=START-END with START < \(size)").encoded(),
                                                 status: 416)
                response.headers.set("Content-Range", "bytes */\(size)")
                return response
            }
            (start, end) = (r.lowerBound, min(r.upperBound, r.lowerBound + Self.maxRangeBytes - 1))
            partial = true
        } else if size > Self.maxRangeBytes {
            throw ErrorBody(code: .payloadTooLarge,
                            message: "snapshot '\(id)' is \(size) bytes; fetch it in ranges of at most \(Self.maxRangeBytes) bytes (Range: bytes=0-\(Self.maxRangeBytes - 1))")
        }
        // One pread of the range into the answer's bytes: nothing else of the file is read or held.
        let body: [UInt8]
        do {
            body = try ChunkFile(reading: dataPath(id)).read(at: Int64(start), count: max(0, end - start + 1))
        } catch {
            throw gone
        }
        guard body.count == max(0, end - start + 1) else { throw gone }
        var response = HTTPResponse(status: partial ? 206 : 200, body: body)
        response.headers.set("Content-Type", "application/gzip")
        response.headers.set("Accept-Ranges", "bytes")
        response.headers.set("ETag", "\"\(id)\"")
        response.headers.set("CPSync-Snapshot-SHA256", manifest.sha256)
        response.headers.set("CPSync-Snapshot-Cursor", String(manifest.cursor))
        if partial { response.headers.set("Content-Range", "bytes \(start)-\(end)/\(size)") }
        metrics.add("cpsync_snapshot_bytes_sent_total", Double(body.count))
        log.event("snapshot_bytes", ["id": .text(id), "who": .text(principal.name), "start": .integer(Int64(start)),
                                     "bytes": .integer(Int64(body.count)), "size": .integer(Int64(size))])
        return response
    }

    /// One range `bytes=A-B`, `bytes=A-` or `bytes=-N` of a `size`-byte file, clipped to the file; nil when the
    /// header asks for several ranges, is malformed or starts beyond the end.
    static func parseRange(_ header: String, size: Int) -> ClosedRange<Int>? {
        let text = header.trimmingCharacters(in: .whitespaces)
        guard text.hasPrefix("bytes="), size > 0 else { return nil }
        let spec = text.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash], last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            guard let n = Int(last), n > 0 else { return nil }
            return max(0, size - n)...(size - 1)
        }
        guard let a = Int(first), a >= 0, a < size else { return nil }
        if last.isEmpty { return a...(size - 1) }
        guard let b = Int(last), b >= a else { return nil }
        return a...min(b, size - 1)
    }

    private func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    /// The file a kept snapshot's bytes are served from: the gzipped SQLite file.
    func dataPath(_ id: String) -> String { path(id + Self.dataSuffix) }
    static let dataSuffix = ".db.gz"
    /// zlib's level for the one compression of each snapshot (made once, downloaded by every office of the site).
    static let gzipLevel: Int32 = 6

    /// The manifest of a kept snapshot (nil when it is not kept or has expired).
    func load(_ id: String) throws -> SnapshotManifest? {
        guard let data = FileManager.default.contents(atPath: path(id + ".json")),
              FileManager.default.fileExists(atPath: dataPath(id)),
              let m = try? SnapshotManifest.decode(data), m.encoding == SnapshotManifest.compactGzipEncoding,
              m.expiresAt > HLC.wallClock().milliseconds else { return nil }
        return m
    }

    /// Every kept snapshot, newest first.
    func kept() throws -> [SnapshotManifest] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return try names.filter { $0.hasSuffix(".json") }.compactMap { try load(String($0.dropLast(5))) }.sorted { $0.createdAt > $1.createdAt }
    }

    /// Removes expired snapshots, unfinished ones (no manifest) and the oldest beyond `maxKept`.
    func cleanUp() throws {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else { return }
        let keep = Set(try kept().prefix(maxKept).map(\.id))
        for name in names {
            let id = name.hasSuffix(".json") ? String(name.dropLast(5))
                : name.hasSuffix(Self.dataSuffix) ? String(name.dropLast(Self.dataSuffix.count))
                : name.hasSuffix(".db") ? String(name.dropLast(3)) : name
            // A temporary copy may be in the making by this process only under `making`, which the caller holds.
            if !keep.contains(id) { try? fm.removeItem(atPath: path(name)) }
        }
    }
}
