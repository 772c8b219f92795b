import CPPCC
import CPSyncCore
import CPSyncEngine
import CPSyncProtocol
import Foundation

// Sync by USB stick (Protocol/README.md §17), the station's side: export what a push would send, and import the
// county's reply as a push acknowledgement plus a pull. Nothing moves the push cursor or empties the outbox but the
// reply: a lost stick loses nothing, and exporting again sends everything still unacknowledged.

extension SyncClient {
    /// Where the station keeps which reply it imported last (the county's sequence and the reply's time), so an older
    /// or repeated reply changes nothing.
    enum FilePosition {
        static let replySeq = "sync.file_reply_seq"
        static let replyAt = "sync.file_reply_at"
        /// The ids of the changes files this database wrote, newest last (the last `keptExports`): a reply is
        /// imported only when it answers one of them. Absent in a database from before this was kept (then any
        /// reply for the site is taken, as before).
        static let exports = "sync.file_exports"
        static let keptExports = 64
    }

    /// Starts the list of this database's changes files (a new database: replies to files of an earlier
    /// installation are refused from now on).
    public static func startExportList(_ replica: Replica) throws {
        try replica.setMeta(FilePosition.exports, .text(""))
    }

    public struct ExportSummary: Sendable, Equatable {
        public var batches = 0
        public var changes = 0
        public var outbox = 0
        /// The file's size in bytes.
        public var bytes: Int64 = 0
    }

    /// The station's unacknowledged changes as a signed changes file: the outbox first, then the change log after
    /// the push cursor — the batches `push` would send, with the same batch ids — and the station's pull position.
    /// Writes nothing but set-aside (held) changes, as a push does, and the file's id (its reply is this database's).
    /// `files`: the hashes of the attached files carried beside it (`FILE.files/`), signed with it. The file is
    /// written to `path` a batch at a time (`ChangeFile.Writer`: give a temporary name, moved into place after).
    public func exportChanges(to path: String, now: Int64 = HLC.wallClock().milliseconds, files: [String] = []) throws -> ExportSummary {
        try replica.dropSupersededHeld()
        let schema = try CPPCCSchema.installedVersion(of: replica) ?? CPPCCSchema.version
        let site = replica.siteID
        var summary = ExportSummary()
        // Each batch goes to the file as it is made: memory holds one batch, not the file.
        let batches = try ChangeFile.Writer(path: path)
        func add(_ changes: [Change], label: String) throws {
            guard !changes.isEmpty else { return }
            try batches.append(Delivery(site: site, schema: schema, label: label, changes: changes).request.encoded())
            summary.batches += 1
            summary.changes += changes.count
        }
        let outbox = try replica.pendingOutbox()
        try add(try replica.withoutInvalid(outbox.map(\.change)), label: "outbox")
        let held = try replica.heldKeys()
        let refs = outbox.filter { !replica.isHeld($0.change, in: held) }.map {
            OutboxRef(id: $0.id, table: $0.change.table, pk: $0.change.pk, column: $0.change.column ?? "", version: $0.change.version)
        }
        summary.outbox = refs.count
        let pushAfter = try replica.meta(SyncPosition.pushCursor)?.int64Value ?? 0
        let pushSince = try replica.meta(SyncPosition.pushSince)?.int64Value ?? 0
        var cursor = pushAfter
        while true {
            // Pages as large as a push may be: the stick has no link speed to adapt to.
            let (page, own) = try PushLoop.page(of: replica, after: cursor, since: pushSince, maxBytes: PageSizer.range.upperBound,
                                                outgoing: .office(site))
            try add(try replica.withoutInvalid(own), label: "\(pushSince)|\(cursor)")
            guard page.hasMore else { cursor = page.cursor; break }
            guard page.cursor > cursor else { throw ClientError.badResponse("the change log did not advance past \(cursor)") }
            cursor = page.cursor
        }
        let header = ChangeFileHeader(
            kind: .changes, site: site, fileId: UUID().uuidString.lowercased(), createdAt: now,
            epoch: try replica.meta(SyncPosition.epoch)?.stringValue, schemaVersion: schema,
            pullAfter: try replica.meta(SyncPosition.pullCursor)?.int64Value ?? 0, pullSince: try replica.meta(SyncPosition.pullSince)?.int64Value ?? 0,
            pushAfter: pushAfter, pushSince: pushSince, pushThrough: cursor, outbox: refs, batches: batches.lines,
            files: files.isEmpty ? nil : files)
        summary.bytes = try batches.finish(header: header, key: ChangeFile.key(token: config.token, site: site))
        // Remembered (the only write of an export besides set-aside changes): its reply is this database's to import.
        let known = try replica.meta(FilePosition.exports)?.stringValue.map { $0.split(separator: ",").map(String.init) } ?? []
        try replica.setMeta(FilePosition.exports, .text((known + [header.fileId]).suffix(FilePosition.keptExports).joined(separator: ",")))
        return summary
    }

    public struct ReplySummary: Sendable, Equatable {
        /// The reply was not newer than one imported before: nothing was changed.
        public var alreadyImported = false
        /// The county's database was restored from a backup since this station last synced: cursors were reset.
        public var serverWasRestored = false
        /// Batches the county acknowledged, and whether the push cursor and outbox moved.
        public var acknowledged = 0
        public var pushAcknowledged = false
        /// Changes the county refused (now set aside, listed by `cpsync status`).
        public var refused = 0
        /// Whole batches the county could not take (their changes stay queued), with its message.
        public var errors: [String] = []
        public var pages = 0
        public var received = 0
        public var applied = 0
        /// The pull pages did not continue from where this station stands (it was reset): not applied; export again.
        public var pullSkipped = false
        /// The site tree gave this station new sites: the next export asks the county for everything again.
        public var scopeGrew = false
        /// Own changes stamped again after a clock-skew refusal (the PC clock is right now): the next export sends them.
        public var restamped = 0
        /// This station's attached files the county holds now (they need not be carried again).
        public var filesHeld: [String] = []
    }

    /// Applies a county reply in one transaction: holds what the county refused, moves the push cursor and empties
    /// the outbox of what it acknowledged, merges the pull pages and stores their cursor. A kill at any point leaves
    /// the station as before; a reply not newer than the last one imported changes nothing.
    /// The file at `path` is read a line at a time: memory holds one page, not the file.
    /// `pauseBetweenPages` (seconds) is a test hook for killing the process mid-import.
    public func importReply(path: String, pauseBetweenPages: Double = 0) throws -> ReplySummary {
        let site = replica.siteID
        let peeked = try ChangeFile.Reader.peekHeader(path: path)
        guard peeked.kind == .reply else { throw ChangeFileError.wrongKind(expected: .reply, got: peeked.kind) }
        guard peeked.site == site else { throw ChangeFileError.wrongSite(file: peeked.site, here: site) }
        let key = ChangeFile.key(token: config.token, site: site)
        let file = try ChangeFile.Reader(path: path) { _ in key }
        let header = file.header
        if let exported = try replica.meta(FilePosition.exports)?.stringValue {
            guard let answered = header.replyTo, exported.split(separator: ",").contains(Substring(answered)) else {
                throw ChangeFileError.notThisDatabase(site: site)
            }
        }
        // The batch results are small (answers and refused changes); the pull pages after them are read and decoded
        // one at a time as they are merged (a damaged one rolls the whole import back).
        let results = try (0..<header.batches).map { _ in try file.next(BatchResult.self)!.message }
        let pages = header.batches..<header.batches + header.pages
        var summary = ReplySummary()
        summary.filesHeld = header.files ?? []
        try replica.database.transaction {
            var lastSeq = try replica.meta(FilePosition.replySeq)?.int64Value ?? -1
            var lastAt = try replica.meta(FilePosition.replyAt)?.int64Value ?? -1
            let seq = header.serverSeq ?? 0
            let known = try replica.meta(SyncPosition.epoch)?.stringValue
            if let epoch = header.epoch, let known, known != epoch {
                // Another history of the county: a restore after the last reply (sequences start again, so only the
                // county's clock orders the two), or an old reply from before one — which changes nothing.
                guard header.createdAt > lastAt else {
                    summary.alreadyImported = true
                    return
                }
                // As `checkEpoch`: the county's history restarted; send and receive everything again.
                for key in [SyncPosition.pullCursor, SyncPosition.pullSince, SyncPosition.pushCursor, SyncPosition.pushSince] {
                    try replica.setMeta(key, .integer(0))
                }
                (lastSeq, lastAt) = (-1, -1)
                summary.serverWasRestored = true
            }
            guard (seq, header.createdAt) > (lastSeq, lastAt) else {
                summary.alreadyImported = true
                return
            }
            if let epoch = header.epoch { try replica.setMeta(SyncPosition.epoch, .text(epoch)) }
            try acknowledge(header, results, &summary)
            if results.contains(where: { $0.error?.code == .clockSkew }) {
                // As `recoverClock` after a push refused for the clock: stamps too far ahead of the county's time are
                // stamped again so the next export goes — only once this PC's clock is right (a clock still fast is
                // ahead of its own stamps, and nothing is touched). The county's time is at least the reply's.
                let now = max(HLC.wallClock().milliseconds, header.createdAt)
                summary.restamped = try replica.restampFutureVersions(nowMs: now, maxSkewMs: ProtocolLimits.maxSkewMs)
            }
            try applyPull(header, file, pages: pages, &summary, pause: pauseBetweenPages)
            try replica.setMeta(FilePosition.replySeq, .integer(seq))
            try replica.setMeta(FilePosition.replyAt, .integer(header.createdAt))
        }
        return summary
    }

    /// The push half of a reply: refused changes are held; a complete acknowledgement moves the push cursor through
    /// what the changes file held (when the station's push position still continues from the file's) and removes
    /// the acknowledged outbox entries.
    private func acknowledge(_ header: ChangeFileHeader, _ results: [BatchResult], _ summary: inout ReplySummary) throws {
        for r in results {
            for g in r.refused {
                for c in g.changes { try replica.setAside(c, code: g.code, message: g.message) }
                summary.refused += g.changes.count
            }
            if let e = r.error { summary.errors.append(e.message) } else { summary.acknowledged += 1 }
            // As after an online push: the rows the county kept as conflicts are forgotten (this reply's pull pages,
            // applied after this, bring the county's version when the row is still in scope).
            if let displaced = r.response?.displaced { try replica.forgetDisplaced(displaced, writtenAfter: header.pushThrough) }
        }
        // The outbox went as the first batch; it is acknowledged when that batch was settled.
        if !header.outbox.isEmpty, let first = results.first, first.error == nil {
            let held = try replica.heldKeys()
            let sent = Set(header.outbox)
            let done = try replica.outbox().filter { e in
                !replica.isHeld(e.change, in: held)
                    && sent.contains(OutboxRef(id: e.id, table: e.change.table, pk: e.change.pk, column: e.change.column ?? "", version: e.change.version))
            }
            try replica.removeFromOutbox(done.map(\.id))
        }
        guard header.pushComplete == true else { return }
        let cursor = try replica.meta(SyncPosition.pushCursor)?.int64Value ?? 0
        let since = try replica.meta(SyncPosition.pushSince)?.int64Value ?? 0
        // The file held every own change after `pushSince` up to `pushThrough`; a station reset below that since
        // (a restored county) must send those again.
        guard since >= header.pushSince else { return }
        summary.pushAcknowledged = true
        if header.pushThrough > cursor { try replica.setMeta(SyncPosition.pushCursor, .integer(header.pushThrough)) }
        if header.pushThrough > since { try replica.setMeta(SyncPosition.pushSince, .integer(header.pushThrough)) }
        try replica.setMeta(SyncPosition.lastPush, .integer(HLC.wallClock().milliseconds))
    }

    /// The pull half: the pages are one complete transfer from (`pullAfter`, `pullSince`) to `pullCursor`; they are
    /// applied when the station holds everything before that start (§13.1), then the scope is kept as after a pull.
    private func applyPull(_ header: ChangeFileHeader, _ file: ChangeFile.Reader, pages: Range<Int>, _ summary: inout ReplySummary, pause: Double) throws {
        let cursor = try replica.meta(SyncPosition.pullCursor)?.int64Value ?? 0
        let since = try replica.meta(SyncPosition.pullSince)?.int64Value ?? 0
        let end = header.pullCursor ?? header.pullAfter
        let continues = (since == header.pullSince && cursor >= header.pullAfter) || (since > header.pullSince && since >= header.pullAfter)
        guard continues else {
            summary.pullSkipped = true
            return
        }
        // A reply with nothing new still keeps the scope: the push half may just have acknowledged a row of this
        // station that has left its scope (its record deleted or moved meanwhile), which can only be forgotten now.
        // As after a pull: forget rows that left the scope; a grown tree means asking for all again.
        func keepScope() throws {
            guard try Self.keepToScope(replica) else { return }
            try replica.setMeta(SyncPosition.pullCursor, .integer(0))
            try replica.setMeta(SyncPosition.pullSince, .integer(0))
            summary.scopeGrew = true
        }
        guard end > since else { return try keepScope() }
        // Pages from the start (a reset, a restored county, a grown tree) bring the whole scope: what they do not bring
        // has left it (as after an online pull from the start, `PullLoop.sweepsFullTransfers`).
        let sweeping = try header.pullSince == 0 && header.pullAfter == 0 && replica.startSweep()
        while let (page, _) = try file.next(PullResponse.self, limits: WireLimits(maxChanges: ProtocolLimits.maxPageSize)) {
            if sweeping { try replica.noteSwept(page.changes) }
            let r = try replica.merge(page.changes)
            summary.pages += 1
            summary.received += page.changes.count
            summary.applied += r.applied
            progress?("pull", summary.pages, summary.pages < pages.count)
            if pause > 0 { usleep(UInt32(pause * 1_000_000)) }
        }
        if sweeping { try replica.finishSweep(unacknowledgedAfter: try SyncKeys.office.push(in: replica).since) }
        try replica.setMeta(SyncPosition.pullCursor, .integer(max(cursor, end)))
        try replica.setMeta(SyncPosition.pullSince, .integer(end))
        try replica.setMeta(SyncPosition.lastPull, .integer(HLC.wallClock().milliseconds))
        try keepScope()
    }
}
