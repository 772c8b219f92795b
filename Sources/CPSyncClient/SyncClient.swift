import CPPCC
import CPSyncCore
import CPSyncProtocol
import Foundation

/// Push, pull and status for one office replica. A crash or a cut connection anywhere loses nothing and duplicates
/// nothing: a pull page and its cursor commit together; a push page is acknowledged before the push cursor moves,
/// and a re-sent page has the same content-derived batch id, so the server answers it as the first time.
public final class SyncClient {
    public let replica: Replica
    public let config: OfficeConfig
    public let transport: HTTPTransport
    /// Changes per pull page (the server rounds down to whole rows).
    public var pullPageSize = ProtocolLimits.defaultPageSize
    /// Called after each page: (pages done, whether more follow).
    public var progress: ((String, Int, Bool) -> Void)?
    /// Called as bytes move and after each page, with bytes, changes, rate and the fraction done (for a progress bar).
    public var meter: ((TransferSnapshot) -> Void)?
    /// The body forms to use where the server supports them (Protocol/README.md §15); `CPSYNC_WIRE` overrides.
    public var wire = WireFormat.fromEnvironment()
    /// Pages are sized for the link: about this many seconds of transfer at the speed the last pages moved, so a
    /// cut connection loses at most one small page and a page never outlasts the stall timeout.
    public var pageSeconds = 8.0
    /// How long the last push page took to travel and be answered (nil before the first).
    private var lastPageSeconds: Double?
    /// The current page size in bytes (learned per command run; starts at `PageSizer.initialBytes`).
    public private(set) var sizer = PageSizer()

    public init(replica: Replica, deadlineSeconds: Double = 60) throws {
        self.replica = replica
        replica.recordsConflicts = false
        config = try OfficeConfig.load(from: replica)
        transport = HTTPTransport(baseURL: config.server, token: config.token, caFile: config.caFile, deadlineSeconds: deadlineSeconds)
    }

    public struct PushSummary: Sendable, Equatable {
        public var batches = 0
        public var sent = 0
        public var applied = 0
        public var alreadyKnown = 0
        public var conflicts = 0
        /// Rows the county kept as conflicts instead of applying (the record had left this office's area or entered
        /// the county's handling first).
        public var displaced = 0
    }

    public struct PullSummary: Sendable, Equatable {
        public var pages = 0
        public var received = 0
        public var applied = 0
        public var cursor: Int64 = 0
    }

    /// The server's status and this PC's clock skew against it (positive: this PC is ahead), in ms. Asked once
    /// per client (one command run): the clock check and the epoch check of a sync share the answer.
    public func serverStatus() throws(ClientError) -> (status: StatusResponse, skewMs: Int64) {
        if let fetchedStatus { return fetchedStatus }
        let sent = HLC.wallClock().milliseconds
        let status = try transport.call("GET", "/v1/status", as: StatusResponse.self)
        let received = HLC.wallClock().milliseconds
        fetchedStatus = (status, status.skewMs(localMs: received, roundTripMs: received - sent))
        return fetchedStatus!
    }

    private var fetchedStatus: (status: StatusResponse, skewMs: Int64)?

    /// Whether the last `checkEpoch` found the county database restored from a backup (and reset the cursors).
    public private(set) var serverWasRestored = false

    /// Compares the server's epoch with the one this office last synced with. A restored county database has a new
    /// epoch and an older history: both cursors go back to 0, so everything is pulled and pushed again (merge is
    /// idempotent) and changes pushed after the backup was taken reach the server again.
    public func checkEpoch() throws {
        guard let epoch = try serverStatus().status.epoch else { return }
        let known = try replica.meta(SyncPosition.epoch)?.stringValue
        try replica.database.transaction {
            if let known, known != epoch {
                for key in [SyncPosition.pullCursor, SyncPosition.pullSince, SyncPosition.pushCursor, SyncPosition.pushSince] {
                    try replica.setMeta(key, .integer(0))
                }
                serverWasRestored = true
            }
            try replica.setMeta(SyncPosition.epoch, .text(epoch))
        }
    }

    /// Sends this office's own changes not yet acknowledged, page by page: first the own edits a pull displaced
    /// (the outbox), then the change log. Changes the county would refuse are set aside with the reason
    /// (`cpsync status` lists them) and every other change still goes.
    public func push() throws -> PushSummary {
        try checkEpoch()
        try recoverClock()
        try replica.dropSupersededHeld()
        var summary = PushSummary()
        let schema = try CPPCCSchema.installedVersion(of: replica) ?? CPPCCSchema.version
        let outbox = try pendingOutbox()
        if !outbox.isEmpty {
            let sentThrough = try replica.meta(SyncPosition.pushCursor)?.int64Value ?? 0
            try send(try batch(outbox.map(\.change), label: "outbox", schema: schema), schema: schema, summary: &summary, sentThrough: sentThrough)
            let held = try replica.heldKeys()
            try replica.database.transaction { try replica.removeFromOutbox(outbox.filter { !replica.isHeld($0.change, in: held) }.map(\.id)) }
        }
        var cursor = try replica.meta(SyncPosition.pushCursor)?.int64Value ?? 0
        // Until a transfer has completed, it started at 0: a transfer cut short must not resume past older cells.
        var since = try replica.meta(SyncPosition.pushSince)?.int64Value ?? 0
        let tracker = meter.map { TransferTracker(.push, start: cursor, head: try? replica.sequence, report: $0) }
        // A page read and its batch made ready to go (checked, named, encoded).
        func ready(after cursor: Int64) throws -> (page: ChangePage, batch: Batch?) {
            let (page, own) = try nextPushPage(after: cursor, since: since, maxBytes: sizer.bytes)
            return (page, own.isEmpty ? nil : try batch(own, label: "\(since)|\(cursor)", schema: schema))
        }
        var next = Result { try ready(after: cursor) }
        while true {
            let (page, batch) = try next.get()
            tracker?.beginRequest(span: page.cursor - cursor)
            // On a fast link the next page is read and made ready while this one travels and the county merges it. On a
            // slow one (a page took over a second) it is read after, so that its size follows what this page measured.
            let fast = lastPageSeconds.map { $0 < 1 } ?? false
            var readAhead = false
            if let batch {
                try send(batch, schema: schema, summary: &summary, sentThrough: page.cursor, tracker: tracker, meanwhile: page.hasMore && fast ? {
                    readAhead = true
                    next = Result { try ready(after: page.cursor) }
                } : nil)
            }
            // Not waited onto the disk: a power cut that undoes it only makes the page go again (same batch id).
            try replica.database.transaction(durable: false) {
                try replica.setMeta(SyncPosition.pushCursor, .integer(page.cursor))
                if !page.hasMore { try replica.setMeta(SyncPosition.pushSince, .integer(page.cursor)) }
                if batch != nil { try replica.setMeta(SyncPosition.lastPush, .integer(HLC.wallClock().milliseconds)) }
            }
            cursor = page.cursor
            if !page.hasMore { since = cursor }
            tracker?.endRequest()
            tracker?.page(cursor: page.cursor, changes: batch?.sent ?? 0, last: !page.hasMore)
            progress?("push", summary.batches, page.hasMore)
            if !page.hasMore { break }
            if !readAhead { next = Result { try ready(after: cursor) } }
        }
        return summary
    }

    /// The outbox entries a push sends first. Displaced edits the county refused stay in the outbox (their values
    /// live nowhere else), set aside.
    func pendingOutbox() throws -> [Replica.OutboxEntry] {
        let heldNow = try replica.heldKeys()
        return try replica.outbox().filter { !replica.isHeld($0.change, in: heldNow) }
    }

    /// The push reader (shared by `push` and `exportChanges`): the next page of the change log after `cursor`, and of
    /// it the own changes to send. Changes that cannot travel are held here.
    func nextPushPage(after cursor: Int64, since: Int64, maxBytes: Int) throws -> (page: ChangePage, own: [Change]) {
        // Whole rows, at most the server's limit of changes per push (own and relayed changes both count).
        let page = try replica.changes(after: cursor, since: since, maxChanges: ProtocolLimits.maxChangesPerPush, maxBytes: maxBytes)
        for r in page.refused where r.version.map({ $0.site == replica.siteID }) ?? true { try replica.hold(r) }
        return (page, replica.withoutHeld(Self.ownChanges(page.changes, site: replica.siteID), keys: try replica.heldKeys()))
    }

    /// What of a page this office sends: what it wrote, and the knowledge that goes with its own deletes (the cell
    /// versions it had seen when it ended a row's life, whoever wrote them). Changes that came from other sites
    /// reached this office through the server: they are never sent back.
    static func ownChanges(_ changes: [Change], site: String) -> [Change] {
        // Mostly every change of a page is the office's own (and none is knowledge): then the page goes as it is,
        // not copied.
        if changes.allSatisfy({ ($0.column == nil || $0.causalLength % 2 == 1) && UTF8Bytes.equal($0.version.site, site) }) {
            return changes
        }
        let ownRows = Set(changes.filter { $0.column == nil && $0.version.site == site }.map(RowKey.init))
        return changes.filter { c in
            if c.column != nil && c.causalLength % 2 == 0 { return ownRows.contains(RowKey(c)) }
            return c.version.site == site
        }
    }

    /// One batch ready to go: the changes that pass the county's checks (run here first; the others are set aside),
    /// its content-derived id and its encoded body.
    struct Batch {
        var label: String
        /// How many own changes the page had (set-aside ones included), for the progress display.
        let sent: Int
        var changes: [Change]
        var body: [UInt8] = []
        var headers: [(String, String)] = []
        /// The changes' size in plain-JSON bytes, what pages are sized in (whatever form they travel in).
        var estimatedBytes = 0
    }

    /// Checks, names and encodes a batch (`send` sends it).
    func batch(_ changes: [Change], label: String, schema: Int) throws -> Batch {
        var b = Batch(label: label, sent: changes.count, changes: try setAsideInvalid(changes))
        encode(&b, schema: schema)
        return b
    }

    private func encode(_ b: inout Batch, schema: Int) {
        guard !b.changes.isEmpty else { return }
        let request = PushRequest(schemaVersion: schema, batchId: Self.batchID(site: replica.siteID, after: b.label, changes: b.changes),
                                  site: replica.siteID, changes: b.changes)
        (b.body, b.headers) = wire.pushBody(request, serverAccepts: fetchedStatus?.status.encodings)
        b.estimatedBytes = b.changes.reduce(0) { $0 + Change.estimatedWireBytes($1) }
    }

    /// Sends one batch. A change the county's checks refuse — run here first, then by the county, which names the
    /// change — is set aside with the reason and the rest is sent again; anything else refused stays queued.
    ///
    /// `meanwhile` runs on this thread while the first attempt travels and the county merges it (the request goes
    /// on a thread of its own, which touches no database): the push makes its next page ready then.
    /// `sentThrough`: the local sequence the batch was read up to; a row the county names as displaced is forgotten
    /// unless written again after it.
    private func send(_ ready: Batch, schema: Int, summary: inout PushSummary, sentThrough: Int64, tracker: TransferTracker? = nil,
                      meanwhile: (() -> Void)? = nil) throws {
        var meanwhile = meanwhile
        defer { meanwhile?() }
        var b = ready
        var renamed = false
        var displaced: [RowKey] = []
        for _ in 0...b.changes.count + 1 {
            guard !b.changes.isEmpty else { return }
            let (body, headers, transport) = (b.body, b.headers, transport)
            let call = Concurrent { () -> (Result<PushResponse, ClientError>, Double) in
                let started = ProcessInfo.processInfo.systemUptime
                do throws(ClientError) {
                    let answer = try transport.call("POST", "/v1/push", body: body, headers: headers, as: PushResponse.self,
                                                    progress: tracker.map { t in { t.moved($0) } })
                    return (.success(answer), ProcessInfo.processInfo.systemUptime - started)
                } catch {
                    return (.failure(error), ProcessInfo.processInfo.systemUptime - started)
                }
            }
            meanwhile?()
            meanwhile = nil
            let (outcome, seconds) = call.wait()
            let batch = b.changes
            do {
                let answer = try outcome.get()
                // Pages are sized in plain-JSON bytes (what `maxBytes` counts), whatever form they travelled in.
                sizer.observe(bytes: b.estimatedBytes, seconds: seconds, target: pageSeconds)
                lastPageSeconds = seconds
                summary.batches += 1
                summary.sent += batch.count
                summary.applied += answer.applied
                summary.alreadyKnown += answer.alreadyKnown
                summary.conflicts += answer.conflicts
                summary.displaced += answer.displaced.count
                displaced = answer.displaced
                break
            } catch {
                if case .server(409, let body) = error, body.code == .batchIdReused, !renamed {
                    // The county holds another batch of this office under this id (the id's hash met another page's):
                    // these changes were not applied, so they go again under an id of their own. Merging is
                    // idempotent, so a batch that did arrive changes nothing.
                    renamed = true
                    b.label += "|again"
                    encode(&b, schema: schema)
                    continue
                }
                guard case .server(let status, let body) = error, Self.refusesOneChange(status: status, body, count: batch.count),
                      let i = body.index else { throw error }
                let bad = batch[i]
                // A value is refused alone; a row the site may not write is refused whole (the county names every
                // such row of the batch at once when it can).
                let refused = status == 403
                    ? Array(Set((body.indices ?? []).filter { $0 >= 0 && $0 < batch.count }
                        + batch.indices.filter { RowKey(batch[$0]) == RowKey(bad) })).sorted()
                    : [i]
                // Each row keeps its own reason (the county names every refused row's rule in `rows`).
                for j in refused { try hold(batch[j], code: body.code.rawValue, message: body.message(forChange: j)) }
                for j in refused.reversed() { b.changes.remove(at: j) }
                encode(&b, schema: schema)
            }
        }
        try replica.forgetDisplaced(displaced, writtenAfter: sentThrough)
    }

    /// Runs the county's checks on a batch before it goes; a change that fails is set aside with the reason (a key
    /// the county refuses: its whole row), and the rest is returned.
    func setAsideInvalid(_ changes: [Change]) throws -> [Change] {
        var batch = changes
        while let (i, e) = replica.firstInvalidChange(in: batch) {
            let bad = batch[i]
            guard case .malformedKey = e else {
                try hold(bad, code: SyncClient.errorCode(e), message: e.description)
                batch.remove(at: i)
                continue
            }
            // A key the county refuses: the whole row waits as one entry; deleting the row is a fix (the county
            // never had it, so its delete is not sent).
            let row = batch.filter { RowKey($0) == RowKey(bad) }
            if let existence = row.first(where: { $0.column == nil }), existence.causalLength % 2 == 1 {
                try hold(existence, code: SyncClient.errorCode(e), message: e.description)
            }
            batch.removeAll { RowKey($0) == RowKey(bad) }
        }
        return batch
    }

    /// A refusal of one named change (a value, a key, a constraint, a permission) rather than of the whole request.
    static func refusesOneChange(status: Int, _ error: ErrorBody, count: Int) -> Bool {
        guard let i = error.index, i >= 0, i < count else { return false }
        return status == 400 || status == 403 || status == 422
    }

    static func errorCode(_ e: ReplicaError) -> String {
        switch e {
        case .unknownTable: "unknown_table"
        case .unknownColumn: "unknown_column"
        case .wrongType: "wrong_type"
        case .malformedKey: "malformed_key"
        default: "bad_request"
        }
    }

    func hold(_ c: Change, code: String, message: String) throws {
        try replica.hold(RefusedChange(table: c.table, pk: c.pk, column: c.column, version: c.version,
                                       reason: .refused(code: code, message: message)))
    }

    /// Own changes stamped while this PC's clock was far ahead were never accepted by anyone; once the clock is
    /// right again (checked against the county's), they are stamped again so they can go. While the clock is still
    /// wrong nothing is touched: the push is refused and the changes stay queued.
    public func recoverClock() throws {
        let (status, skew) = try serverStatus()
        guard abs(skew) <= status.maxSkewMs else { return }
        let serverNow = HLC.wallClock().milliseconds - skew
        try replica.restampFutureVersions(nowMs: serverNow, maxSkewMs: status.maxSkewMs)
    }

    /// Content-derived: the same page re-sent after a failure has the same id; a page that changed is a new batch.
    /// Hashes the changes' compact binary form (`ChangeDigest`), not a JSON spelling of them (five times the bytes),
    /// with the 128-bit MurmurHash3 (only this office's own batches are ever told apart by it; see `Murmur3`).
    /// An id made by an older cpsync for a page still unsent differs: the page then goes again as a new batch, which
    /// the merge's idempotence makes harmless.
    static func batchID(site: String, after: String, changes: [Change]) -> String {
        ChangeDigest.murmurHex(changes, prefix: Array("\(site)|\(after)|b2|".utf8))
    }

    /// Applies the server's changes after the stored cursor, page by page; each page and its cursor commit together.
    public func pull(reset: Bool = false) throws -> PullSummary {
        try checkEpoch()
        var summary = PullSummary()
        if reset {
            try replica.setMeta(SyncPosition.pullCursor, .integer(0))
            try replica.setMeta(SyncPosition.pullSince, .integer(0))
        }
        var cursor = try replica.meta(SyncPosition.pullCursor)?.int64Value ?? 0
        // Until a transfer has completed, it started at 0: a pull cut short must not resume past older cells.
        var since = try replica.meta(SyncPosition.pullSince)?.int64Value ?? 0
        let schema = try CPPCCSchema.installedVersion(of: replica) ?? CPPCCSchema.version
        var didReset = reset
        // What is still to send, set-aside changes included: the county's admin dashboard shows it.
        let unsent = try? Int64(pendingChanges()) + (replica.database.scalar("SELECT count(*) FROM _cp_held")?.int64Value ?? 0)
        let tracker = meter.map { TransferTracker(.pull, start: cursor, head: nil, report: $0) }
        // The next page is downloaded and decoded on another thread while this one is merged (the database stays on
        // this thread). Nothing of it is applied before this page and its cursor have committed; if this page fails,
        // the download is awaited and dropped, so no thread outlives the pull.
        var next: PageFetch?
        defer { _ = next?.wait() }
        while true {
            let query = PullQuery(after: cursor, since: since, limit: pullPageSize, maxBytes: sizer.bytes, schemaVersion: schema, unsent: unsent)
            let fetch = next ?? startFetch(query, tracker: tracker)
            next = nil
            let (answer, seconds, estimatedBytes) = fetch.wait()
            tracker?.endRequest()
            if case .success = answer { sizer.observe(bytes: estimatedBytes, seconds: seconds, target: pageSeconds) }
            if case .failure(.server(_, let body)) = answer, body.code == .cursorAhead, !didReset {
                // The county database was restored from an older backup: pull everything again (merge is idempotent).
                didReset = true
                cursor = 0
                since = 0
                try replica.setMeta(SyncPosition.pullCursor, .integer(0))
                try replica.setMeta(SyncPosition.pullSince, .integer(0))
                continue
            }
            let page = try answer.get()
            // A server that says "more" must move the cursor; otherwise this loop would never end.
            if page.hasMore && page.cursor <= cursor { throw ClientError.badResponse("pull cursor did not advance past \(cursor)") }
            if page.hasMore {
                next = startFetch(PullQuery(after: page.cursor, since: since, limit: pullPageSize, maxBytes: sizer.bytes, schemaVersion: schema,
                                            unsent: unsent), tracker: tracker)
            }
            // Not waited onto the disk: a power cut that undoes the page undoes its cursor too, and it is pulled again.
            let result = try replica.database.transaction(durable: false) {
                let r = try replica.merge(page.changes)
                try replica.setMeta(SyncPosition.pullCursor, .integer(page.cursor))
                if !page.hasMore { try replica.setMeta(SyncPosition.pullSince, .integer(page.cursor)) }
                try replica.setMeta(SyncPosition.lastPull, .integer(HLC.wallClock().milliseconds))
                return r
            }
            summary.pages += 1
            summary.received += page.changes.count
            summary.applied += result.applied
            tracker?.page(cursor: page.cursor, changes: page.changes.count, head: page.head, last: !page.hasMore)
            progress?("pull", summary.pages, page.hasMore)
            cursor = page.cursor
            if !page.hasMore { break }
        }
        summary.cursor = cursor
        try keepToScope(summary: &summary)
        return summary
    }

    /// One pull page downloaded and decoded on a thread of its own: its outcome, how long that took, and its size in
    /// plain-JSON bytes (what pages are sized in, whatever form they travelled in).
    typealias PageFetch = Concurrent<(Result<PullResponse, ClientError>, Double, Int)>

    /// Starts downloading and decoding one pull page on a thread of its own.
    private func startFetch(_ query: PullQuery, tracker: TransferTracker?) -> PageFetch {
        tracker?.beginRequest(span: nil)
        let transport = transport, headers = wire.pullHeaders
        return Concurrent {
            let started = ProcessInfo.processInfo.systemUptime
            do throws(ClientError) {
                let r = try transport.send("GET", "/v1/pull?" + query.queryString, headers: headers, progress: tracker.map { t in { t.moved($0) } })
                let page = try WireFormat.decodePullPage(try transport.checked(r))
                let seconds = ProcessInfo.processInfo.systemUptime - started
                return (.success(page), seconds, page.changes.reduce(0) { $0 + Change.estimatedWireBytes($1) })
            } catch {
                return (.failure(error), ProcessInfo.processInfo.systemUptime - started, 0)
            }
        }
    }

    /// After a pull: forgets rows that left this office's scope (own unacknowledged changes go first), and pulls
    /// everything again once when the site tree gave this office new sites (their older records never came).
    private func keepToScope(summary: inout PullSummary) throws {
        let pushed = try replica.meta(SyncPosition.pushSince)?.int64Value ?? 0
        try SiteScope.purge(replica, unacknowledgedAfter: pushed)
        let signature = try SiteScope.signature(replica)
        let known = try replica.meta(SyncPosition.scope)?.stringValue
        try replica.setMeta(SyncPosition.scope, .text(signature))
        guard let known, known != signature, !Set(signature.split(separator: ",")).isSubset(of: Set(known.split(separator: ","))),
              !rescoping else { return }
        rescoping = true
        defer { rescoping = false }
        let again = try pull(reset: true)
        summary.pages += again.pages
        summary.received += again.received
        summary.applied += again.applied
        summary.cursor = again.cursor
    }

    private var rescoping = false

    /// Own changes not yet acknowledged by the server (displaced edits in the outbox included, held ones not).
    public func pendingChanges() throws -> Int {
        let cursor = try replica.meta(SyncPosition.pushCursor)?.int64Value ?? 0
        let since = try replica.meta(SyncPosition.pushSince)?.int64Value ?? 0
        let own = Self.ownChanges(try replica.changes(after: cursor, since: since).changes, site: replica.siteID)
        return replica.withoutHeld(own, keys: try replica.heldKeys()).count + (try pendingOutbox().count)
    }

    public struct LocalStatus: Sendable {
        public var site: String
        public var server: String
        public var pending: Int
        public var pullCursor: Int64
        public var lastPush: Int64?
        public var lastPull: Int64?
    }

    public func localStatus() throws -> LocalStatus {
        LocalStatus(site: replica.siteID, server: config.server, pending: try pendingChanges(),
                    pullCursor: try replica.meta(SyncPosition.pullCursor)?.int64Value ?? 0,
                    lastPush: try replica.meta(SyncPosition.lastPush)?.int64Value, lastPull: try replica.meta(SyncPosition.lastPull)?.int64Value)
    }
}

/// Page sizes in bytes that follow the link: after each page, the next one is what the measured speed moves in the
/// target time, between 32 KB (a 32 KB/s station link moves it in a second) and 4 MB.
public struct PageSizer: Sendable, Equatable {
    public static let initialBytes = 256 * 1024
    public static let range = 32 * 1024...4 * 1024 * 1024
    public private(set) var bytes = PageSizer.initialBytes

    public init() {}

    /// Learns from one page: `bytes` moved in `seconds`; aims the next page at `target` seconds.
    public mutating func observe(bytes moved: Int, seconds: Double, target: Double) {
        // Small pages say little about the link (latency dominates): only grow from them, and only moderately.
        guard moved > 0, seconds > 0 else { return }
        let speed = Double(moved) / seconds
        let next = Int(min(Double(Self.range.upperBound), speed * target))
        bytes = max(Self.range.lowerBound, moved < bytes / 4 ? max(bytes, min(next, bytes * 2)) : min(next, bytes * 4))
    }
}
