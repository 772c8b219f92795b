import CPPCC
import CPSyncCore
import CPSyncHTTP
import CPSyncProtocol
import Foundation

/// The county's side of attached files (Protocol/README.md §19): the bytes, kept by SHA-256 in `DATA/files/`, apart
/// from the attachment rows (which sync as every row does).
///
/// - `GET /v1/blobs/{sha256}/state?size=N`: how much of a file the county holds (a resumed upload starts there).
/// - `PUT /v1/blobs/{sha256}?size=N&offset=O`: one chunk (≤ `BlobProtocol.maxChunkBytes`) at the offset where the
///   county's copy ends, written to the partial file as it arrives (`BlobUpload`); the last chunk is verified
///   against the name and the file moved into place, or discarded. The per-file limit and the site's quota are
///   checked before a byte is stored.
/// - `GET /v1/blobs/{sha256}` with `Range`: bytes of a whole file, to a caller whose scope holds a live attachment
///   row naming it (a county-kind site and admins: any); to anyone else 404, as for a file that is not here.
///
/// Which site stored which file, and since when no live row names it, is kept in `_srv_blobs` (for the quota and
/// the collection rule, `collect`).
public final class AttachmentService: Sendable {
    let store: ServerStore
    public let blobs: BlobStore
    public let limits: BlobLimits
    let log: EventLog
    let metrics: Metrics

    static let schemaSQL = """
        CREATE TABLE IF NOT EXISTS _srv_blobs (
          sha256 TEXT PRIMARY KEY NOT NULL,
          size INTEGER NOT NULL,
          site TEXT NOT NULL,
          stored_at INTEGER NOT NULL,
          unreferenced_since INTEGER
        );
        CREATE INDEX IF NOT EXISTS _srv_blobs_site ON _srv_blobs(site);
        CREATE TABLE IF NOT EXISTS _srv_relay_replies (sha256 TEXT NOT NULL, site TEXT NOT NULL, PRIMARY KEY (sha256, site)) WITHOUT ROWID;
        """

    /// Where a county keeps attached files' bytes: `DATA/files/`.
    public static func filesDirectory(of store: ServerStore) -> String {
        (store.dataDirectory as NSString).appendingPathComponent("files")
    }

    /// Makes `DATA/files/` and the table; a failure there (a read-only disk) shows on the first transfer, as a
    /// refusal naming the path, not at start-up: every other route keeps working.
    public init(store: ServerStore, limits: BlobLimits = BlobLimits(), log: EventLog, metrics: Metrics) {
        self.store = store
        self.limits = limits
        self.log = log
        self.metrics = metrics
        let directory = Self.filesDirectory(of: store)
        blobs = (try? BlobStore(directory: directory)) ?? BlobStore(unchecked: directory)
        _ = try? store.write { try $0.database.execute(Self.schemaSQL) }
    }

    // MARK: Upload

    /// A file the county would refuse (too large, over the site's quota) is refused here already, before any of its
    /// bytes travel.
    public func state(_ hash: String, query: [String: String], principal: Principal) throws(ErrorBody) -> BlobState {
        let size = try Self.size(hash, query)
        if blobs.has(hash) { return BlobState(sha256: hash, size: size, received: size) }
        if size == 0 {
            // An empty file has no chunk to send: it is stored when first asked about, if its name is the empty hash.
            do { try blobs.append(hash, size: 0, at: 0, []) } catch { throw Self.refusal(error, hash: hash, size: 0) }
            try note(hash, size: 0, site: principal.name)
            return BlobState(sha256: hash, size: 0, received: 0)
        }
        let received: Int64
        do { received = try blobs.settle(hash, size: size) } catch { throw Self.refusal(error, hash: hash, size: size) }
        if received == size {
            try note(hash, size: size, site: principal.name)
            return BlobState(sha256: hash, size: size, received: size)
        }
        if received == 0, query["relay"] != "1", case .site(let site) = principal {
            try checkSize(size)
            try checkQuota(site: site, size: size)
        }
        return BlobState(sha256: hash, size: size, received: received)
    }

    private func checkSize(_ size: Int64) throws(ErrorBody) {
        guard size <= limits.maxFileBytes else {
            throw ErrorBody(code: .fileTooLarge, message: "the file is \(size) bytes; this county accepts attached files up to \(limits.maxFileBytes) bytes; nothing was stored")
        }
    }

    /// One chunk whose bytes are all here (`beginUpload`, fed at once).
    public func upload(_ hash: String, query: [String: String], body: [UInt8], principal: Principal) throws(ErrorBody) -> BlobState {
        let upload = try beginUpload(hash, query: query, length: body.count, principal: principal)
        try upload.take(body)
        return try upload.finish()
    }

    /// A chunk of `length` bytes about to come: everything that can refuse it is checked before its first byte (the
    /// name, the offset, the size and the quota), and the partial file is opened (and locked) to take its bytes.
    public func beginUpload(_ hash: String, query: [String: String], length: Int, principal: Principal) throws(ErrorBody) -> BlobUpload {
        let size = try Self.size(hash, query)
        guard let offsetText = query["offset"], let offset = Int64(offsetText), offset >= 0 else {
            throw ErrorBody(code: .badRequest, message: "a chunk needs ?offset=N, the byte of the file its first byte is")
        }
        guard length <= BlobProtocol.maxChunkBytes else {
            throw ErrorBody(code: .payloadTooLarge, message: "a chunk carries at most \(BlobProtocol.maxChunkBytes) bytes; this one has \(length)")
        }
        if blobs.has(hash) {
            try note(hash, size: size, site: principal.name)
            return BlobUpload(self, hash: hash, size: size, site: principal.name, partial: nil)
        }
        // A station's changes file relayed (§17.5) is not an attachment: removed once imported, not counted.
        if query["relay"] != "1" {
            try checkSize(size)
            if offset == 0 { try checkQuota(site: principal.name, size: size) }
        }
        guard offset + Int64(length) <= size else { throw Self.refusal(.pastEnd(size: size), hash: hash, size: size) }
        let partial: BlobStore.Partial?
        do throws(BlobError) {
            // Cheap refusal first, without the lock: a chunk for another offset waits for nobody.
            let have = blobs.received(hash)
            guard offset == have else { throw BlobError.offsetMismatch(expected: have) }
            // Another office sending the same file holds it while its chunk comes; a link cut a moment ago lets go
            // as soon as the server sees the cut.
            partial = try blobs.partial(hash, size: size, waitingAtMost: Self.lockWaitSeconds)
            if let partial, offset != partial.length { throw BlobError.offsetMismatch(expected: partial.length) }
        } catch {
            throw Self.refusal(error, hash: hash, size: size)
        }
        if partial == nil { try note(hash, size: size, site: principal.name) }
        return BlobUpload(self, hash: hash, size: size, site: principal.name, partial: partial)
    }

    static let lockWaitSeconds = 2.0

    /// The whole file is here now: recorded for the quota and logged.
    fileprivate func stored(_ hash: String, size: Int64, site: String) throws(ErrorBody) {
        try note(hash, size: size, site: site)
        log.event("blob_stored", ["sha256": .text(hash), "size": .integer(size), "site": .text(site)])
    }

    private func checkQuota(site: String, size: Int64) throws(ErrorBody) {
        let used: Int64
        do {
            used = try store.read { try $0.database.scalar("SELECT coalesce(sum(size), 0) FROM _srv_blobs WHERE site = ?", [.text(site)])?.int64Value ?? 0 }
        } catch { throw ErrorBody(code: .storageFailed, message: "cannot read the attachment quota: \(error)") }
        guard used + size <= limits.siteQuotaBytes else {
            throw ErrorBody(code: .quotaExceeded, message: "site \(site) stores \(used) bytes of attachments; this file (\(size) bytes) would pass its quota of \(limits.siteQuotaBytes) bytes; nothing was stored")
        }
    }

    /// What became of the files a station carried on a stick (`takeCarried`).
    public struct Carried {
        public var stored: [String] = []
        /// Bytes that do not match their name: not stored; the station carries them again.
        public var damaged: [String] = []
        /// Files the county's limits refuse (the per-file size, the site's quota), as an upload of them would be.
        public var refused: [(hash: String, size: Int64, why: ErrorBody)] = []
    }

    /// Takes the files `hashes` of a station's companion directory `dir` (`cpsyncd import`): each stored only when its
    /// bytes match its name and the county's limits admit it as an upload (a file already here costs nothing), and
    /// counted to the station's quota before the next one is weighed against it.
    public func takeCarried(fromDirectory dir: String, hashes: [String], site: String) throws -> Carried {
        var result = Carried()
        for hash in hashes {
            if BlobStore.isHash(hash), !blobs.has(hash), let size = BlobStore.regularFileSize("\(dir)/\(hash)") {
                do throws(ErrorBody) {
                    try checkSize(size)
                    try checkQuota(site: site, size: size)
                } catch {
                    result.refused.append((hash, size, error))
                    continue
                }
            }
            let taken = try blobs.take(fromDirectory: dir, hashes: [hash])
            result.damaged += taken.damaged
            for h in taken.stored { try note(h, size: blobs.received(h), site: site) }
            result.stored += taken.stored
        }
        return result
    }

    /// Records who stored a whole file (the first site to: its quota carries it).
    private func note(_ hash: String, size: Int64, site: String) throws(ErrorBody) {
        do {
            try store.write {
                try $0.database.run("INSERT OR IGNORE INTO _srv_blobs(sha256, size, site, stored_at) VALUES (?, ?, ?, ?)",
                                    [.text(hash), .integer(size), .text(site), .integer(Int64(Date().timeIntervalSince1970 * 1000))])
            }
        } catch { throw ErrorBody(code: .storageFailed, message: "cannot record the stored file: \(error)") }
    }

    static func refusal(_ error: BlobError, hash: String, size: Int64) -> ErrorBody {
        switch error {
        case .offsetMismatch(let expected):
            ErrorBody(code: .offsetMismatch, message: "the county holds \(expected) bytes of this file; send from offset \(expected)")
        case .pastEnd(let size):
            ErrorBody(code: .badRequest, message: "the chunk goes past the file's size (\(size) bytes)")
        case .hashMismatch(let expected, let actual):
            ErrorBody(code: .hashMismatch, message: "the bytes received hash to \(actual), not to \(expected); the partial file was discarded: send it again from the start")
        case .badHash(let h):
            ErrorBody(code: .badRequest, message: "'\(h.prefix(80))' is not a SHA-256 in lower-case hex")
        case .missing:
            ErrorBody(code: .notFound, message: "file \(hash) is not here")
        case .busy:
            ErrorBody(code: .unavailable, message: "another transfer of file \(hash) is writing it; retry in a moment")
        case .io(let path, let e):
            ErrorBody(code: e == ENOSPC ? .storageFull : .storageFailed, message: "cannot write \(path): \(String(cString: strerror(e)))")
        }
    }

    static func size(_ hash: String, _ query: [String: String]) throws(ErrorBody) -> Int64 {
        guard BlobStore.isHash(hash) else {
            throw ErrorBody(code: .badRequest, message: "'\(hash.prefix(80))' is not a SHA-256 in lower-case hex")
        }
        guard let text = query["size"], let size = Int64(text), size >= 0 else {
            throw ErrorBody(code: .badRequest, message: "give the file's size in bytes: ?size=N")
        }
        return size
    }

    // MARK: Download

    public func download(_ hash: String, principal: Principal, range: String?) throws(ErrorBody) -> HTTPResponse {
        let absent = ErrorBody(code: .notFound, message: "no file \(hash.prefix(80)) that this token's records hold is stored here")
        guard BlobStore.isHash(hash), blobs.has(hash) else { throw absent }
        guard try mayRead(hash, principal: principal) else { throw absent }
        let size = Int(blobs.received(hash))
        var start = 0, end = min(size, BlobProtocol.maxChunkBytes) - 1
        if let range {
            guard let r = SnapshotService.parseRange(range, size: size) else {
                var response = HTTPResponse.json(ErrorBody(code: .badRequest, message: "range '\(range.prefix(80))' is not one satisfiable byte range of this \(size)-byte file").encoded(), status: 416)
                response.headers.set("Content-Range", "bytes */\(size)")
                return response
            }
            (start, end) = (r.lowerBound, min(r.upperBound, r.lowerBound + BlobProtocol.maxChunkBytes - 1))
        } else if size > BlobProtocol.maxChunkBytes {
            throw ErrorBody(code: .payloadTooLarge, message: "the file is \(size) bytes; fetch it in ranges of at most \(BlobProtocol.maxChunkBytes) bytes")
        }
        // Written by the server straight from the stored file (sendfile): the bytes never pass through memory here.
        let count = size == 0 ? 0 : end - start + 1
        var response = HTTPResponse(status: range == nil ? 200 : 206, file: .init(path: blobs.path(hash), offset: Int64(start), count: count))
        response.headers.set("Content-Type", "application/octet-stream")
        response.headers.set("Accept-Ranges", "bytes")
        response.headers.set("ETag", "\"\(hash)\"")
        if range != nil { response.headers.set("Content-Range", "bytes \(start)-\(max(start, end))/\(size)") }
        metrics.add("cpsync_blob_bytes_sent_total", Double(count))
        return response
    }

    /// Whether the caller's scope holds a live attachment row naming `hash`.
    func mayRead(_ hash: String, principal: Principal) throws(ErrorBody) -> Bool {
        do {
            return try store.read { r in
                guard case .site(let site) = principal, let scope = try SiteScope.of(site: site, in: r.database) else { return true }
                // The reply to a station's file this site relayed (§17.5).
                if try !r.database.query("SELECT 1 FROM _srv_relay_replies WHERE sha256 = ? AND site = ?", [.text(hash), .text(site)]).isEmpty { return true }
                for row in try Attachments.rows(naming: hash, in: r.database) {
                    guard let kind = Attachments.kind(of: row.table) else { continue }
                    if try scope.contains(table: row.table, pk: row.pk, value: { $0 == kind.key ? .text(row.recordID) : .null }) { return true }
                }
                return false
            }
        } catch { throw ErrorBody(code: .storageFailed, message: "cannot read the attachment rows: \(error)") }
    }

    // MARK: The admin page

    /// Every attachment the county holds (at most `limit`, newest first), with its record's label and whether the
    /// bytes are here; `query` filters by file name or record label (contains).
    public func list(query: String? = nil, limit: Int = 500, chinese: Bool) throws(ErrorBody) -> AttachmentListResponse {
        do {
            return try store.read { r in
                let office = try Office(r)
                let names = try office.siteNames()
                var out: [AttachmentDTO] = []
                for a in try Attachments.list(office, store: blobs) {
                    var d = AttachmentDTO()
                    d.id = a.id
                    d.table = a.table
                    d.tableLabel = FieldLabels.table(a.table, chinese: chinese)
                    d.record = a.recordID
                    d.recordLabel = FieldLabels.row(a.recordTable, pk: a.recordID, in: r.database)
                    (d.name, d.size, d.sha256, d.mediaType, d.addedAt, d.present) = (a.name, a.size, a.sha256, a.mediaType, a.addedAt, a.present)
                    d.addedBy = a.addedBy
                    d.addedByName = names[a.addedBy] ?? a.addedBy
                    if let q = query?.trimmingCharacters(in: .whitespaces), !q.isEmpty,
                       !d.name.localizedCaseInsensitiveContains(q) && !d.recordLabel.localizedCaseInsensitiveContains(q) { continue }
                    out.append(d)
                    if out.count >= limit { break }
                }
                return AttachmentListResponse(attachments: out)
            }
        } catch {
            throw ErrorBody(code: .serverError, message: "cannot list the attachments: \(error)")
        }
    }

    // MARK: Collection

    /// What a collection did.
    public struct Collection: Sendable, Encodable {
        public var kept = 0
        public var unreferenced = 0
        public var removed = 0
        public var removedBytes: Int64 = 0
    }

    /// The rule: the bytes of a file are removed only when no live attachment row names it **and** none has for
    /// `graceDays` (90 by default) — the time an office may go without syncing. An office that attached the file
    /// keeps its own copy while its own rows name it, and sends it again if the county lacks it; a restored row
    /// names a file the county keeps for the grace period. A file some row names is never removed.
    /// `beforeRemoving` (tests): called with a file's hash after its last check, just before its bytes are removed.
    public func collect(graceDays: Int = 90, now: Date = Date(), beforeRemoving: (String) -> Void = { _ in }) throws -> Collection {
        let nowMs = Int64(now.timeIntervalSince1970 * 1000), graceMs = Int64(graceDays) * 86_400_000
        var result = Collection()
        let named = try store.read { r in Set(try Attachments.referenced(in: r).map(\.hash)) }
        for hash in blobs.all() {
            if named.contains(hash) {
                result.kept += 1
                try store.write { try $0.database.run("UPDATE _srv_blobs SET unreferenced_since = NULL WHERE sha256 = ?", [.text(hash)]) }
                continue
            }
            let since = try store.write { r -> Int64 in
                try r.database.run("INSERT OR IGNORE INTO _srv_blobs(sha256, size, site, stored_at) VALUES (?, ?, '', ?)",
                                   [.text(hash), .integer(blobs.received(hash)), .integer(nowMs)])
                try r.database.run("UPDATE _srv_blobs SET unreferenced_since = ? WHERE sha256 = ? AND unreferenced_since IS NULL", [.integer(nowMs), .text(hash)])
                return try r.database.scalar("SELECT unreferenced_since FROM _srv_blobs WHERE sha256 = ?", [.text(hash)])?.int64Value ?? nowMs
            }
            guard nowMs - since >= graceMs else { result.unreferenced += 1; continue }
            // Checked again in the writer, and the bytes removed there too: a push merged between the check and the
            // removal could name the file, and its office, asking next whether the county holds the file, would be
            // told yes a moment before it went. Holding the writer, no row arrives until the file is gone.
            let size = blobs.received(hash)
            let removed = try store.write { r -> Bool in
                guard try Attachments.rows(naming: hash, in: r.database).isEmpty else { return false }
                try r.database.run("DELETE FROM _srv_blobs WHERE sha256 = ?", [.text(hash)])
                beforeRemoving(hash)
                blobs.remove(hash)
                return true
            }
            if removed {
                result.removed += 1
                result.removedBytes += size
                log.event("blob_removed", ["sha256": .text(hash)])
            } else {
                result.kept += 1
            }
        }
        return result
    }
}

/// One chunk of a file coming in (`PUT /v1/blobs/{sha256}`, `AttachmentService.beginUpload`): each piece is hashed
/// and written to the partial file as it arrives, and the answer, once the last byte is written, says how many
/// bytes the partial file holds. A chunk cut short leaves what was written, its running hash saved with it
/// (`BlobStore.Partial`), for the office to resume from (it asks `GET /v1/blobs/{sha256}/state`).
public final class BlobUpload: @unchecked Sendable {
    // Sound: the mutable state (`partial`) is only touched under `lock` (the HTTP server calls one piece at a
    // time, but from different threads).
    private let lock = NSLock()
    private let service: AttachmentService
    private let hash: String
    private let size: Int64
    private let site: String
    /// Nil when the whole file was here already: the chunk's bytes are not needed.
    private var partial: BlobStore.Partial?

    fileprivate init(_ service: AttachmentService, hash: String, size: Int64, site: String, partial: BlobStore.Partial?) {
        (self.service, self.hash, self.size, self.site, self.partial) = (service, hash, size, site, partial)
    }

    /// The next bytes of the chunk, written after those before.
    public func take(_ bytes: UnsafeRawBufferPointer) throws(ErrorBody) {
        lock.lock()
        defer { lock.unlock() }
        service.metrics.add("cpsync_blob_bytes_received_total", Double(bytes.count))
        guard let partial else { return }
        do { try partial.write(bytes) } catch { throw AttachmentService.refusal(error, hash: hash, size: size) }
    }

    /// Bytes of the chunk held in an array.
    public func take(_ bytes: [UInt8]) throws(ErrorBody) {
        let failure = bytes.withUnsafeBytes { b -> ErrorBody? in
            do throws(ErrorBody) { try take(b) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    /// The chunk is all here: written (and, with the file's last byte, verified and moved into place).
    public func finish() throws(ErrorBody) -> BlobState {
        lock.lock()
        defer { lock.unlock() }
        guard let partial else { return BlobState(sha256: hash, size: size, received: size) }
        self.partial = nil
        do {
            if partial.length == size { try partial.finish() } else { try partial.flush(); partial.save() }
        } catch {
            throw AttachmentService.refusal(error, hash: hash, size: size)
        }
        if partial.length == size { try service.stored(hash, size: size, site: site) }
        return BlobState(sha256: hash, size: size, received: partial.length)
    }
}
