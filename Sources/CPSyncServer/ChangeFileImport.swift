import CPPCC
import CPSyncCore
import CPSyncEngine
import CPSyncProtocol
import Foundation

/// Sync by USB stick, the county's side (Protocol/README.md §17): a station's signed changes file is merged as that
/// station's push — every batch through `SyncService.push`, so the same checks, permissions and batch-id idempotence
/// as HTTP — and answered with a signed reply: the push answers plus the pull pages of the station's scope after its
/// cursor. Importing a file again replays the stored answers and applies nothing new.
public struct ChangeFileImporter: Sendable {
    public let service: SyncService
    /// Seconds to wait after each batch: a test hook for killing the process mid-import.
    public var pauseBetweenBatches: Double = 0

    public init(service: SyncService) {
        self.service = service
    }

    public struct Summary: Sendable, Equatable {
        public var site = ""
        public var batches = 0
        public var applied = 0
        public var replayed = 0
        public var conflicts = 0
        public var refused = 0
        /// Batches refused as a whole (the station keeps them queued), with the county's message.
        public var errors: [String] = []
        public var pages = 0
        public var pulled = 0
        /// Attached files: the station's the county holds now (acknowledged in the reply), and those the reply's rows
        /// name (for the reply's companion directory).
        public var filesHeld: [String] = []
        public var filesNamed: [String] = []
    }

    /// Where the county keeps attached files.
    var blobs: BlobStore? { try? BlobStore(directory: AttachmentService.filesDirectory(of: service.store)) }

    /// Checks the file (signature with the station's key, kind, site registered and active, schema), applies its
    /// batches and returns the signed reply (in memory: for tests and the relay of an older township, bounded by the
    /// request body limit). Throws `ChangeFileError` or `ErrorBody` before anything is applied.
    public func importFile(_ bytes: [UInt8], now: Int64 = HLC.wallClock().milliseconds) throws -> (reply: [UInt8], summary: Summary) {
        let directory = try Self.workDirectory(of: service.store)
        let tag = UUID().uuidString.lowercased()
        let (path, replyPath) = ("\(directory)/\(tag).cpsync", "\(directory)/\(tag)-reply.cpsync")
        defer { unlink(path); unlink(replyPath) }
        let file = try ChunkFile(creating: path)
        try file.write(bytes)
        try file.close()
        let summary = try importFile(path: path, reply: replyPath, now: now)
        var reply: [UInt8] = []
        try ChunkFile(reading: replyPath).forEachChunk { reply += $0 }
        return (reply, summary)
    }

    /// Where files of an import are written on their way (a relayed body, a reply): `DATA/relay/`.
    static func workDirectory(of store: ServerStore) throws -> String {
        let directory = (store.dataDirectory as NSString).appendingPathComponent("relay")
        if mkdir(directory, 0o700) != 0 && errno != EEXIST { throw BlobError.io(path: directory, errno: errno) }
        return directory
    }

    /// As `importFile(_:)`, a file at `path` read a line at a time, the reply written a line at a time to `reply`
    /// (`ChangeFile.Writer`: a temporary name, for the caller to move into place). Memory holds one batch or page,
    /// not the files.
    public func importFile(path: String, reply replyPath: String, now: Int64 = HLC.wallClock().milliseconds) throws -> Summary {
        let store = service.store
        let peeked = try ChangeFile.Reader.peekHeader(path: path)
        guard peeked.kind == .changes else { throw ChangeFileError.wrongKind(expected: .changes, got: peeked.kind) }
        let site = peeked.site
        let row = try store.read { r in
            try r.database.query("SELECT token_hash, revoked FROM _srv_sites WHERE id = ?", [.text(site)]).first
        }
        guard let row, let hash = row[0].stringValue else { throw ChangeFileError.unknownSite(site) }
        if row[1].int64Value == 1 { throw ChangeFileError.revokedSite(site) }
        guard let key = ChangeFile.key(tokenHashHex: hash, site: site) else { throw ChangeFileError.badSignature(site: site) }
        let file = try ChangeFile.Reader(path: path) { _ in key }
        let header = file.header
        try service.checkSchema(header.schemaVersion)
        // Every batch is checked before any is applied, and read and decoded again when it is: one batch at a time.
        while let (r, _) = try file.next(PushRequest.self) {
            if r.site != site { throw ChangeFileError.malformed("line \(file.index + 1) is a batch of site '\(r.site)' in a file of '\(site)'") }
        }
        file.rewind()
        // The reply's lines go to it as they are made: the batch results, then the pull pages.
        let reply = try ChangeFile.Writer(path: replyPath)

        var summary = Summary()
        summary.site = site
        var complete = true
        while let (request, line) = try file.next(PushRequest.self) {
            let result = push(request, verbatim: line, site: site, now: now, summary: &summary)
            try reply.append(result.encoded())
            if pauseBetweenBatches > 0 { usleep(UInt32(pauseBetweenBatches * 1_000_000)) }
            // As over HTTP, a batch refused as a whole ends the push: the rest stays queued at the station.
            if result.error != nil {
                complete = false
                break
            }
        }
        let results = reply.lines

        // The pull half, for the station's scope, after its cursor; from the start when the county's history is not
        // the one the station synced with (a restored database).
        var after = header.pullAfter, since = header.pullSince
        let latest = try store.read { r in try r.sequence }
        if (header.epoch.map { $0 != store.epoch } ?? false) || after > latest {
            (after, since) = (0, 0)
        }
        var named = Set<String>()
        var cursor = after
        while true {
            let page = try service.pull(after: cursor, since: since, limit: ProtocolLimits.maxPageSize, maxBytes: 4 << 20, principal: .site(site))
            try reply.append(page.encoded())
            // The files its attachment rows name go beside the reply.
            for c in page.changes where c.column == "sha256" && c.causalLength % 2 == 1 && Attachments.kind(of: c.table) != nil {
                if let h = c.value.stringValue, BlobStore.isHash(h) { named.insert(h) }
            }
            summary.pages += 1
            summary.pulled += page.changes.count
            guard page.hasMore else { cursor = page.cursor; break }
            guard page.cursor > cursor else { throw ErrorBody(code: .serverError, message: "pull cursor did not advance past \(cursor)") }
            cursor = page.cursor
        }
        let serverSeq = max(cursor, try store.read { r in try r.sequence })
        // Files: the station's that are here now (carried beside the file and stored before the import, or sent
        // earlier by any office) are acknowledged; the reply's rows name the files the station is to receive.
        let blobs = self.blobs
        summary.filesHeld = (header.files ?? []).filter { blobs?.has($0) ?? false }
        summary.filesNamed = named.sorted()
        let replyHeader = ChangeFileHeader(
            kind: .reply, site: site, fileId: UUID().uuidString.lowercased(), replyTo: header.fileId, createdAt: now, epoch: store.epoch,
            schemaVersion: CPPCCSchema.version, pullAfter: after, pullSince: since, pullCursor: cursor,
            pushAfter: header.pushAfter, pushSince: header.pushSince, pushThrough: header.pushThrough, pushComplete: complete,
            outbox: header.outbox, batches: results, pages: summary.pages, serverSeq: serverSeq,
            files: summary.filesHeld.isEmpty ? nil : summary.filesHeld)
        service.log.event("file_import", ["site": .text(site), "file": .text(header.fileId), "batches": .integer(Int64(summary.batches)),
                                          "applied": .integer(Int64(summary.applied)), "replayed": .integer(Int64(summary.replayed)),
                                          "refused": .integer(Int64(summary.refused)), "errors": .integer(Int64(summary.errors.count)),
                                          "pulled": .integer(Int64(summary.pulled))])
        try reply.finish(header: replyHeader, key: key)
        return summary
    }

    /// `POST /v1/relay` with the file as the body (an older township; bounded by the body limit): a township (or any
    /// office above the station) forwards a station's changes file it received on a stick. The relayer must hold the
    /// station in its subtree; the file itself is checked as by `importFile` (the station's signature). Returns the
    /// signed reply, for the relayer to keep for the clerk.
    public func relay(_ bytes: [UInt8], by relayer: String) throws(ErrorBody) -> [UInt8] {
        let station: String
        do { station = try ChangeFile.peekHeader(bytes).site } catch { throw Self.errorBody(error) }
        return try relaying(station, by: relayer) { try importFile(bytes).reply }
    }

    /// `POST /v1/relay` naming a file the relayer uploaded to the county's file store (§17.5): imported from there a
    /// line at a time, its reply written to the file store (readable by the relayer: `_srv_relay_replies`) and named
    /// in the answer. No size limit but the file store's.
    public func relay(stored file: RelayFile, by relayer: String) throws(ErrorBody) -> RelayFile {
        guard let blobs, BlobStore.isHash(file.sha256), blobs.has(file.sha256), blobs.received(file.sha256) == file.size else {
            throw ErrorBody(code: .notFound, message: "the county does not hold the file \(file.sha256.prefix(80)) of \(file.size) bytes: upload it first (PUT /v1/blobs/{sha256}); nothing was applied")
        }
        let path = blobs.path(file.sha256)
        let station: String
        do { station = try ChangeFile.Reader.peekHeader(path: path).site } catch let e as ChangeFileError { throw Self.errorBody(e) } catch {
            throw ErrorBody(code: .storageFailed, message: "cannot read the relayed file: \(error); nothing was applied")
        }
        return try relaying(station, by: relayer) {
            let replyPath = "\(try Self.workDirectory(of: service.store))/\(UUID().uuidString.lowercased())-reply.cpsync"
            defer { unlink(replyPath) }
            _ = try importFile(path: path, reply: replyPath)
            let (hash, size) = try blobs.add(file: replyPath)
            let upload = try service.store.write { w -> Bool in
                try w.database.run("INSERT OR IGNORE INTO _srv_relay_replies(sha256, site) VALUES (?, ?)", [.text(hash), .text(relayer)])
                // The station's file is imported: its upload is not kept, nor counted to the relayer's quota (a retry
                // uploads it again). The reply stays until `attachments gc` collects it (no row names it).
                guard try Attachments.rows(naming: file.sha256, in: w.database).isEmpty else { return false }
                try w.database.run("DELETE FROM _srv_blobs WHERE sha256 = ?", [.text(file.sha256)])
                return true
            }
            if upload { blobs.remove(file.sha256) }
            return RelayFile(sha256: hash, size: size)
        }
    }

    /// Runs `body` (the import of `station`'s file) when `relayer` may relay it, with its errors as HTTP errors.
    private func relaying<T>(_ station: String, by relayer: String, _ body: () throws -> T) throws(ErrorBody) -> T {
        do {
            let inSubtree = try service.store.read { r -> Bool in
                guard let scope = try SiteScope.of(site: relayer, in: r.database) else { return true }
                return try scope.subtree().contains(station)
            }
            guard inSubtree else {
                throw ErrorBody(code: .forbidden, message: "site \(relayer) may not relay the changes of site \(station): it is not under \(relayer) in the site tree; nothing was applied",
                                site: station)
            }
            return try body()
        } catch let e as ErrorBody {
            throw e
        } catch let e as ChangeFileError {
            throw Self.errorBody(e)
        } catch {
            throw ErrorBody(code: .serverError, message: "could not import the relayed file: \(error); nothing was applied")
        }
    }

    static func errorBody(_ e: ChangeFileError) -> ErrorBody {
        switch e {
        case .badSignature(let site), .unknownSite(let site), .revokedSite(let site): ErrorBody(code: .forbidden, message: e.english, site: site)
        default: ErrorBody(code: .badRequest, message: e.english)
        }
    }

    /// One batch, as the station's HTTP client would send it, through the one engine (`Delivery`): first the
    /// station's bytes verbatim; when the county refuses named changes (a value, a key, a row the site may not
    /// write), those are set aside for the reply and the rest goes again under a name derived from the batch and what
    /// is left — the same on every import.
    private func push(_ request: PushRequest, verbatim: [UInt8], site: String, now: Int64, summary: inout Summary) -> BatchResult {
        let upstream = CountyImport(service: service, site: site, now: now)
        var delivery = Delivery(site: site, schema: request.schemaVersion, label: request.batchId, changes: request.changes)
        var refused: [RefusedGroup] = []
        summary.batches += 1
        do {
            // The first attempt goes byte for byte as the station wrote it.
            let outcome = try delivery.send(to: upstream, first: PreparedPush(request: request, body: verbatim)) { changes, refusal in
                // One group per reason: each refused row keeps its own (`rows` of the 403).
                var groups: [(message: String, changes: [Change])] = []
                for (c, reason) in changes {
                    if let g = groups.firstIndex(where: { $0.message == reason }) { groups[g].changes.append(c) } else { groups.append((reason, [c])) }
                }
                refused += groups.map { RefusedGroup(code: refusal.body.code.rawValue, message: $0.message, changes: $0.changes) }
                summary.refused += changes.count
            }
            if upstream.replayed {
                summary.replayed += 1
            } else {
                summary.applied += outcome.answer?.applied ?? 0
                summary.conflicts += outcome.answer?.conflicts ?? 0
            }
            return BatchResult(batchId: request.batchId, response: outcome.answer, refused: refused)
        } catch {
            let body = error as? ErrorBody ?? ErrorBody(code: .serverError, message: "could not import the batch: \(error); nothing was applied")
            summary.batches -= 1
            summary.errors.append(body.message)
            return BatchResult(batchId: request.batchId, response: nil, refused: refused, error: body)
        }
    }
}

/// The county's own `SyncService` as the upstream of a station's changes file imported at the county: a push here is
/// the push the station would have made over HTTP (same checks, permissions, batch-id idempotence).
final class CountyImport: Upstream, @unchecked Sendable {
    // Sound: `replayedBatch` is only touched under `lock`.
    let service: SyncService
    let site: String
    let now: Int64
    private let lock = NSLock()
    private var replayedBatch = false

    init(service: SyncService, site: String, now: Int64) {
        self.service = service
        self.site = site
        self.now = now
    }

    /// Whether the last batch taken was one the county had taken before (its stored answer was replayed).
    var replayed: Bool { lock.withLock { replayedBatch } }

    func prepare(_ request: PushRequest) -> PreparedPush { PreparedPush(request: request, body: request.encoded()) }

    /// `SyncService.push`, tried again for a while when the database is busy (the daemon may be writing beside this
    /// command): an HTTP client would retry a 503 the same way.
    func push(_ batch: PreparedPush) throws -> PushResponse {
        var attempt = 0
        while true {
            do {
                let answer = try service.push(batch.body, site: site, now: now)
                lock.withLock { replayedBatch = answer.replayed }
                return try PushResponse.decode(answer.bytes)
            } catch let e as ErrorBody {
                attempt += 1
                guard e.code == .unavailable, attempt < 6 else { throw e }
                usleep(UInt32(attempt) * 500_000)
            }
        }
    }

    func pull(_ query: PullQuery) throws -> PullResponse {
        try service.pull(after: query.after, since: query.since, limit: query.effectiveLimit(), maxBytes: query.maxBytes, principal: .site(site))
    }

    func refusal(in error: any Error) -> Refusal? {
        (error as? ErrorBody).map { Refusal(status: $0.httpStatus, body: $0) }
    }
}
