import CPSyncCore
import CPSyncProtocol
import Foundation

/// Sends a replica's changes up, page by page, over any upstream: the outbox first (own edits a merge displaced),
/// then rows released from the held list, then the change log after the push position. A page is read, filtered
/// (`Outgoing`), checked here first (what would be refused is set aside), named, sent, and its refusals set aside;
/// the position moves only after the upstream acknowledged the page. A crash or a cut link anywhere loses nothing and
/// duplicates nothing.
public final class PushLoop {
    public struct Summary: Sendable, Equatable {
        public var batches = 0
        public var sent = 0
        public var applied = 0
        public var alreadyKnown = 0
        public var conflicts = 0
        /// Rows the upstream kept as conflicts instead of applying (the record had left this site's area first).
        public var displaced = 0
        /// Changes set aside this run (by the upstream or by the checks here), with the first reason of each row.
        public var setAside: [(row: RowKey, code: String, reason: String)] = []

        public init() {}

        public static func == (a: Summary, b: Summary) -> Bool {
            (a.batches, a.sent, a.applied, a.alreadyKnown, a.conflicts, a.displaced) == (b.batches, b.sent, b.applied, b.alreadyKnown, b.conflicts, b.displaced)
                && a.setAside.map(\.row) == b.setAside.map(\.row)
        }
    }

    let access: any ReplicaAccess
    let upstream: any Upstream
    let keys: SyncKeys
    /// The site batches go under.
    let site: String
    let schema: Int
    let outgoing: Outgoing
    /// Page sizes follow the link: about `pageSeconds` of transfer at the speed the last pages moved.
    public var sizer = PageSizer()
    public var pageSeconds = 8.0
    /// Fixed page size in bytes (a changes file has no link to adapt to); nil: follow the link.
    public var fixedPageBytes: Int?
    public var observer: (any TransferObserver)?
    /// Called after each page: (batches sent so far, whether more follow).
    public var progress: ((Int, Bool) -> Void)?
    private var lastPageSeconds: Double?

    public init(access: any ReplicaAccess, upstream: any Upstream, keys: SyncKeys, site: String, schema: Int, outgoing: Outgoing) {
        self.access = access
        self.upstream = upstream
        self.keys = keys
        self.site = site
        self.schema = schema
        self.outgoing = outgoing
    }

    /// A batch ready to go: its delivery and its first body (encoded while the previous one travelled).
    struct Ready {
        var delivery: Delivery
        var prepared: PreparedPush?
        var estimatedBytes: Int
    }

    /// Runs the push to its end (every page), or throws with everything not acknowledged still queued.
    public func run() throws -> Summary {
        var summary = Summary()
        let released = try access.with { try $0.supersededHeld() }
        try sendOutbox(&summary)
        var position = try access.with { try keys.push(in: $0) }
        if !released.rows.isEmpty { try sendReleased(released, through: position.cursor, &summary) }
        var next = Result { try ready(after: position.cursor, since: position.since) }
        while true {
            var (page, batch) = try next.get()
            observer?.beginRequest(span: page.cursor - position.cursor)
            // On a fast link the next page is read and made ready while this one travels and the upstream merges it.
            // On a slow one (a page took over a second) it is read after, so that its size follows this page's.
            let fast = lastPageSeconds.map { $0 < 1 } ?? false
            var readAhead = false
            if batch != nil {
                let since = position.since
                try deliver(&batch, sentThrough: page.cursor, &summary, meanwhile: page.hasMore && fast ? { [self] in
                    readAhead = true
                    next = Result { try ready(after: page.cursor, since: since) }
                } : nil)
            }
            position = Position(cursor: page.cursor, since: page.hasMore ? position.since : page.cursor)
            // Not waited onto the disk: a power cut that undoes it only makes the page go again (same batch id).
            try access.with { r in
                try r.database.transaction(durable: false) {
                    try keys.setPush(position, in: r)
                    if batch != nil { try r.setMeta(keys.lastPush, .integer(HLC.wallClock().milliseconds)) }
                }
            }
            observer?.endRequest()
            observer?.page(cursor: page.cursor, changes: batch?.delivery.count ?? 0, head: nil, last: !page.hasMore)
            progress?(summary.batches, page.hasMore)
            if !page.hasMore { break }
            if !readAhead { next = Result { try ready(after: position.cursor, since: position.since) } }
        }
        return summary
    }

    /// The outbox goes first, as one batch; acknowledged entries leave it (set-aside ones stay, held).
    private func sendOutbox(_ summary: inout Summary) throws {
        let outbox = try access.with { try $0.pendingOutbox() }
        guard !outbox.isEmpty else { return }
        let sentThrough = try access.with { try keys.push(in: $0).cursor }
        var batch = try make(outbox.map(\.change), label: "outbox")
        try deliver(&batch, sentThrough: sentThrough, &summary)
        try access.with { r in
            let held = try r.heldKeys()
            try r.database.transaction { try r.removeFromOutbox(outbox.filter { !r.isHeld($0.change, in: held) }.map(\.id)) }
        }
    }

    /// Held rows written again go again whole (the upstream never had their older cells); their held changes are
    /// forgotten once the upstream took them (those it refuses again are held again).
    private func sendReleased(_ released: (rows: Set<RowKey>, entries: [Replica.HeldChange]), through cursor: Int64, _ summary: inout Summary) throws {
        // What is set aside again from here on (by the checks here or by the upstream) stays held.
        let started = HLC.wallClock().milliseconds
        let changes = try access.with { r in outgoing.select(try r.changes(ofRows: released.rows)) }
        // The cells that went (a refused one is held again from `started` on, and stays): only their entries are
        // forgotten. A held cell that does not go again — nothing of it is this office's to send any more, or the
        // checks here set it aside — stays held and listed: never dropped unsent.
        var went: Set<ReleasedCell> = []
        var start = 0
        while start < changes.count {
            // Whole rows, at most a push's changes per batch.
            var end = min(changes.count, start + ProtocolLimits.maxChangesPerPush)
            while end < changes.count && end > start + 1 && RowKey(changes[end - 1]) == RowKey(changes[end]) { end -= 1 }
            var batch = try make(Array(changes[start..<end]), label: "released|\(cursor)|\(start)")
            let sending = batch?.delivery.changes ?? []
            try deliver(&batch, sentThrough: cursor, &summary)
            for c in sending {
                went.insert(ReleasedCell(row: RowKey(c), column: c.column ?? ""))
                went.insert(ReleasedCell(row: RowKey(c), column: nil))
            }
            start = end
        }
        // Rows the clerk deleted since (the fix of a record that cannot go, e.g. an over-long key): nothing of them is
        // to be sent, so their entries go too.
        let gone = try access.with { r in
            try Set(released.rows.filter { row in try r.causalLength(table: row.table, pk: row.pk).map { $0 % 2 == 0 } ?? true })
        }
        let taken = released.entries.filter { h in
            // A cell's entry: that cell went. The row's own entry: something of the row went.
            let row = RowKey(table: h.table, pk: h.pk)
            return gone.contains(row) || went.contains(ReleasedCell(row: row, column: h.column))
        }
        try access.with { try $0.unhold(taken, heldSince: started) }
    }

    /// A cell of a released row that went again (`column` nil: some cell of the row went).
    private struct ReleasedCell: Hashable {
        let row: RowKey
        let column: String?
    }

    /// The next page of the log after `cursor` and its batch, checked, named and encoded (nil: nothing of it goes).
    func ready(after cursor: Int64, since: Int64) throws -> (page: ChangePage, batch: Ready?) {
        let (page, changes) = try access.with { r in try Self.page(of: r, after: cursor, since: since, maxBytes: fixedPageBytes ?? sizer.bytes, outgoing: outgoing) }
        return (page, changes.isEmpty ? nil : try make(changes, label: "\(since)|\(cursor)"))
    }

    /// The push reader (the push loop's and a changes file's): the next page of the change log after `cursor`, and
    /// of it what goes. Changes that cannot be read (text that is not UTF-8) are set aside here.
    public static func page(of r: Replica, after cursor: Int64, since: Int64, maxBytes: Int, outgoing: Outgoing) throws -> (ChangePage, [Change]) {
        // Whole rows, at most the upstream's limit of changes per push (own and relayed changes both count).
        let page = try r.changes(after: cursor, since: since, maxChanges: ProtocolLimits.maxChangesPerPush, maxBytes: maxBytes)
        for refused in page.refused where outgoing.wrote(refused) { try r.hold(refused) }
        return (page, r.withoutHeld(outgoing.select(page.changes), keys: try r.heldKeys()))
    }

    /// Checks a batch here first (what fails is set aside), names it and encodes it.
    private func make(_ changes: [Change], label: String) throws -> Ready? {
        let checked = try access.with { try $0.withoutInvalid(changes) }
        guard !checked.isEmpty else { return nil }
        let delivery = Delivery(site: site, schema: schema, label: label, changes: checked)
        return Ready(delivery: delivery, prepared: upstream.prepare(delivery.request),
                     estimatedBytes: checked.reduce(0) { $0 + Change.estimatedWireBytes($1) })
    }

    private func deliver(_ ready: inout Ready?, sentThrough: Int64, _ summary: inout Summary, meanwhile: (() -> Void)? = nil) throws {
        guard var r = ready else { meanwhile?(); return }
        try deliver(&r, sentThrough: sentThrough, &summary, meanwhile: meanwhile)
        ready = r
    }

    /// Sends one batch; what the upstream refuses is set aside; rows it kept as conflicts (displaced) are forgotten
    /// here unless written again after `sentThrough` (the pull brings the upstream's version).
    private func deliver(_ ready: inout Ready, sentThrough: Int64, _ summary: inout Summary, meanwhile: (() -> Void)?) throws {
        var setAside: [(row: RowKey, code: String, reason: String)] = []
        let outcome = try ready.delivery.send(to: upstream, first: ready.prepared, meanwhile: meanwhile) { refused, refusal in
            // Held in one transaction: a kill part-way never leaves part of a row held and the rest free to go alone.
            try access.with { r in
                try r.database.transaction { for (c, reason) in refused { try r.setAside(c, code: refusal.body.code.rawValue, message: reason) } }
            }
            var told: Set<RowKey> = []
            for (c, reason) in refused where told.insert(RowKey(c)).inserted { setAside.append((RowKey(c), refusal.body.code.rawValue, reason)) }
        }
        summary.setAside += setAside
        guard let answer = outcome.answer else { return }
        // Pages are sized in plain-JSON bytes (what `maxBytes` counts), whatever form they travelled in.
        sizer.observe(bytes: ready.estimatedBytes, seconds: outcome.seconds, target: pageSeconds)
        lastPageSeconds = outcome.seconds
        summary.batches += 1
        summary.sent += ready.delivery.changes.count
        summary.applied += answer.applied
        summary.alreadyKnown += answer.alreadyKnown
        summary.conflicts += answer.conflicts
        summary.displaced += answer.displaced.count
        if !answer.displaced.isEmpty { try access.with { try $0.forgetDisplaced(answer.displaced, writtenAfter: sentThrough) } }
    }
}
