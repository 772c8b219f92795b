import CPSyncText
import CPPCC
import CPSyncCore
import CPSyncEngine
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
    /// Called after each chunk of an attached file: (hash, bytes held on the receiving side, size, whether sending).
    public var fileProgress: ((_ hash: String, _ held: Int64, _ size: Int64, _ sending: Bool) -> Void)?
    /// The body forms to use where the server supports them (Protocol/README.md §15); `CPSYNC_WIRE` overrides.
    public var wire = WireFormat.fromEnvironment()
    /// Pages are sized for the link: about this many seconds of transfer at the speed the last pages moved, so a
    /// cut connection loses at most one small page and a page never outlasts the stall timeout.
    public var pageSeconds = 8.0
    /// The current page size in bytes (learned per command run; starts at `PageSizer.initialBytes`).
    public private(set) var sizer = PageSizer()

    /// `language`: the reader's; the server writes its messages in it.
    public init(replica: Replica, deadlineSeconds: Double = 60, language: Language = .english) throws {
        self.replica = replica
        replica.recordsConflicts = false
        config = try OfficeConfig.load(from: replica)
        transport = HTTPTransport(baseURL: config.server, token: config.token, caFile: config.caFile, deadlineSeconds: deadlineSeconds,
                                  language: language)
    }

    public typealias PushSummary = PushLoop.Summary
    public typealias PullSummary = PullLoop.Summary

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
        if try SyncKeys.office.adopt(epoch: try serverStatus().status.epoch, in: replica) { serverWasRestored = true }
    }

    /// The county over HTTP, as this office's upstream (reporting bytes to `tracker`).
    func upstream(_ tracker: TransferTracker? = nil) -> HTTPUpstream {
        HTTPUpstream(transport: transport, push: "/v1/push", pull: "/v1/pull", wire: wire, accepts: fetchedStatus?.status.encodings, tracker: tracker)
    }

    /// Sends this office's own changes not yet acknowledged, page by page: first the own edits a pull displaced
    /// (the outbox), then the change log. Changes the county would refuse are set aside with the reason
    /// (`cpsync status` lists them) and every other change still goes.
    public func push() throws -> PushSummary {
        try checkEpoch()
        try recoverClock()
        let schema = try CPPCCSchema.installedVersion(of: replica) ?? CPPCCSchema.version
        let start = try replica.meta(SyncPosition.pushCursor)?.int64Value ?? 0
        let tracker = meter.map { TransferTracker(.push, start: start, head: try? replica.sequence, report: $0) }
        let loop = PushLoop(access: DirectAccess(replica), upstream: upstream(tracker), keys: .office, site: replica.siteID, schema: schema,
                            outgoing: .office(replica.siteID))
        loop.sizer = sizer
        loop.pageSeconds = pageSeconds
        loop.observer = tracker
        loop.progress = progress.map { p in { p("push", $0, $1) } }
        defer { sizer = loop.sizer }
        return try loop.run()
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

    /// Applies the server's changes after the stored cursor, page by page; each page and its cursor commit together.
    /// Then rows that left this office's scope are forgotten (own unacknowledged changes go first), and everything is
    /// pulled again once when the site tree gave this office new sites (their older records never came).
    public func pull(reset: Bool = false) throws -> PullSummary {
        try checkEpoch()
        let schema = try CPPCCSchema.installedVersion(of: replica) ?? CPPCCSchema.version
        let start = try replica.meta(SyncPosition.pullCursor)?.int64Value ?? 0
        let tracker = meter.map { TransferTracker(.pull, start: start, head: nil, report: $0) }
        let loop = PullLoop(access: DirectAccess(replica), upstream: upstream(tracker), keys: .office, schema: schema, scope: Self.keepToScope)
        loop.pageSize = pullPageSize
        // A pull from the start forgets the rows that left this office's scope meanwhile (no leave notice comes then).
        loop.sweepsFullTransfers = true
        loop.acknowledgedThrough = { try SyncKeys.office.push(in: $0).since }
        loop.sizer = sizer
        loop.pageSeconds = pageSeconds
        // What is still to send, set-aside changes included: the county's admin dashboard shows it.
        loop.unsent = try? Int64(pendingChanges()) + (replica.database.scalar("SELECT count(*) FROM _cp_held")?.int64Value ?? 0)
        loop.observer = tracker
        loop.progress = progress.map { p in { p("pull", $0, $1) } }
        defer { sizer = loop.sizer }
        return try loop.run(reset: reset)
    }


    /// The open conflicts at the county in which this office's own value was not kept (newest first), so the clerk
    /// knows which edits an admin has still to decide on. Empty from a county that does not tell (an older daemon).
    public func lostEdits() throws -> [ConflictDTO] {
        do {
            return try transport.call("GET", "/v1/conflicts/lost", as: ConflictListResponse.self).conflicts.sorted { $0.detectedAt > $1.detectedAt }
        } catch {
            if case .server(404, _) = error { return [] }
            throw error
        }
    }

    /// After a complete pull: forgets the rows that left this office's scope (own unacknowledged changes go first),
    /// and says whether the site tree gave this office new sites (their older records never came: pull again).
    static func keepToScope(_ replica: Replica) throws -> Bool {
        try SiteScope.purge(replica, unacknowledgedAfter: try SyncKeys.office.push(in: replica).since)
        let signature = try SiteScope.signature(replica)
        let known = try replica.meta(SyncPosition.scope)?.stringValue
        try replica.setMeta(SyncPosition.scope, .text(signature))
        guard let known, known != signature else { return false }
        return !Set(signature.split(separator: ",")).isSubset(of: Set(known.split(separator: ",")))
    }

    /// Own changes not yet acknowledged by the server (displaced edits in the outbox included, held ones not).
    public func pendingChanges() throws -> Int {
        let position = try SyncKeys.office.push(in: replica)
        let own = Outgoing.office(replica.siteID).select(try replica.changes(after: position.cursor, since: position.since).changes)
        return replica.withoutHeld(own, keys: try replica.heldKeys()).count + (try replica.pendingOutbox().count)
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
