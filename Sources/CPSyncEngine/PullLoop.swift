import CPSyncCore
import CPSyncProtocol
import Foundation

/// Brings a replica the upstream's changes after its pull position, page by page, over any upstream: each page is
/// filtered (`incoming`), merged and committed with its position in one transaction, so a crash or a cut link
/// anywhere loses nothing and a page is at worst merged twice (merging is idempotent). After the last page the
/// replica keeps to its scope (`scope`); when its scope grew, everything is pulled once more from the start.
public final class PullLoop {
    public struct Summary: Sendable, Equatable {
        public var pages = 0
        public var received = 0
        public var applied = 0
        public var cursor: Int64 = 0
        public init() {}
    }

    /// What a replica does after a complete pull to keep to what it may hold: forget what left its scope (never a
    /// delete: nothing travels), and say whether its scope grew (then its older rows never came: pull again).
    public typealias ScopeKeeper = (Replica) throws -> Bool

    let access: any ReplicaAccess
    let upstream: any Upstream
    let keys: SyncKeys
    let schema: Int
    /// What of a page this replica takes (inside the page's transaction, so it may read the replica).
    let incoming: ((Replica, [Change]) throws -> [Change])?
    let scope: ScopeKeeper?
    /// Changes per page (the upstream rounds down to whole rows).
    public var pageSize = ProtocolLimits.defaultPageSize
    public var sizer = PageSizer()
    public var pageSeconds = 8.0
    /// What is still to send, for the upstream's dashboard.
    public var unsent: Int64?
    public var observer: (any TransferObserver)?
    /// Called after each page: (pages done, whether more follow).
    public var progress: ((Int, Bool) -> Void)?
    /// A pull from the start forgets, once complete, the rows held here that it did not bring (`Replica.finishSweep`):
    /// for a replica with a scope, the rows that left it. Never for a county below a city: the city holds nothing of
    /// what the county withholds (its own site row), which must not be forgotten.
    public var sweepsFullTransfers = false
    /// Where own changes count as acknowledged up to (rows with own changes after it are never swept).
    public var acknowledgedThrough: ((Replica) throws -> Int64)?

    public init(access: any ReplicaAccess, upstream: any Upstream, keys: SyncKeys, schema: Int,
                incoming: ((Replica, [Change]) throws -> [Change])? = nil, scope: ScopeKeeper? = nil) {
        self.access = access
        self.upstream = upstream
        self.keys = keys
        self.schema = schema
        self.incoming = incoming
        self.scope = scope
    }

    /// One page downloaded and decoded on a thread of its own: its outcome, how long that took, and its size in
    /// plain-JSON bytes (what pages are sized in, whatever form they travelled in).
    typealias PageFetch = Concurrent<(Result<PullResponse, any Error>, Double, Int)>

    /// Pulls to the end. `reset`: from the start (everything again).
    public func run(reset: Bool = false) throws -> Summary {
        var summary = try pages(reset: reset)
        guard let scope else { return summary }
        // Rows that left the scope are forgotten; a grown scope means asking for everything again, once.
        guard try access.with({ try scope($0) }) else { return summary }
        let again = try pages(reset: true)
        _ = try access.with { try scope($0) }
        summary.pages += again.pages
        summary.received += again.received
        summary.applied += again.applied
        summary.cursor = again.cursor
        return summary
    }

    private func pages(reset: Bool) throws -> Summary {
        var summary = Summary()
        if reset { try access.with { try keys.setPull(.start, in: $0) } }
        var position = try access.with { try keys.pull(in: $0) }
        var didReset = reset
        // The next page is downloaded and decoded on another thread while this one is merged (the database stays on
        // this thread). Nothing of it is applied before this page and its position have committed; if this page
        // fails, the download is awaited and dropped, so no thread outlives the pull.
        var next: PageFetch?
        defer { _ = next?.wait() }
        // A transfer from the start (or one resumed whose start was 0) notes what it brings.
        var sweeping = false
        if sweepsFullTransfers && position.since == 0 {
            sweeping = try access.with { r in position.cursor == 0 ? try r.startSweep() : try r.sweepUnderway() }
        }
        while true {
            let fetch = next ?? startFetch(after: position)
            next = nil
            let (answer, seconds, estimatedBytes) = fetch.wait()
            observer?.endRequest()
            if case .success = answer { sizer.observe(bytes: estimatedBytes, seconds: seconds, target: pageSeconds) }
            if case .failure(let error) = answer, upstream.refusal(in: error)?.body.code == .cursorAhead, !didReset {
                // The upstream's database was restored from an older backup: pull everything again.
                didReset = true
                position = .start
                try access.with { try keys.setPull(.start, in: $0) }
                sweeping = try sweepsFullTransfers && access.with { try $0.startSweep() }
                continue
            }
            let page = try answer.get()
            // An upstream that says "more" must move the cursor; otherwise this loop would never end.
            if page.hasMore && page.cursor <= position.cursor { throw EngineError.cursorStuck(position.cursor) }
            let reached = Position(cursor: page.cursor, since: page.hasMore ? position.since : page.cursor)
            if page.hasMore { next = startFetch(after: reached) }
            // Not waited onto the disk: a power cut that undoes the page undoes its position too; it comes again.
            let result = try access.with { r in
                try r.database.transaction(durable: false) {
                    let merged = try r.merge(try incoming?(r, page.changes) ?? page.changes)
                    try keys.setPull(reached, in: r)
                    try r.setMeta(keys.lastPull, .integer(HLC.wallClock().milliseconds))
                    if sweeping {
                        try r.noteSwept(page.changes)
                        if !page.hasMore { try r.finishSweep(unacknowledgedAfter: try acknowledgedThrough?(r) ?? 0) }
                    }
                    return merged
                }
            }
            summary.pages += 1
            summary.received += page.changes.count
            summary.applied += result.applied
            observer?.page(cursor: page.cursor, changes: page.changes.count, head: page.head, last: !page.hasMore)
            progress?(summary.pages, page.hasMore)
            position = reached
            if !page.hasMore { break }
        }
        summary.cursor = position.cursor
        return summary
    }

    private func startFetch(after position: Position) -> PageFetch {
        observer?.beginRequest(span: nil)
        let query = PullQuery(after: position.cursor, since: position.since, limit: pageSize, maxBytes: sizer.bytes, schemaVersion: schema, unsent: unsent)
        let upstream = upstream
        return Concurrent {
            let started = ProcessInfo.processInfo.systemUptime
            do {
                let page = try upstream.pull(query)
                return (.success(page), ProcessInfo.processInfo.systemUptime - started, page.changes.reduce(0) { $0 + Change.estimatedWireBytes($1) })
            } catch {
                return (.failure(error), ProcessInfo.processInfo.systemUptime - started, 0)
            }
        }
    }
}

/// What the engine itself can refuse of an upstream's answers.
public enum EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The upstream said "more" without moving the cursor.
    case cursorStuck(Int64)

    public var description: String {
        switch self {
        case .cursorStuck(let c): "the upstream's pull cursor did not advance past \(c)"
        }
    }
}
