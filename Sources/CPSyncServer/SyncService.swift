import CPPCC
import CPSyncCore
import CPSyncProtocol
import Foundation

/// Push, pull and status: the sync endpoints, as functions from decoded requests to response values.
public struct SyncService: Sendable {
    public let store: ServerStore
    public let maxSkewMs: Int64
    public let metrics: Metrics
    public let log: EventLog

    public init(store: ServerStore, maxSkewMs: Int64 = ProtocolLimits.maxSkewMs, metrics: Metrics = Metrics(), log: EventLog = EventLog()) {
        self.store = store
        self.maxSkewMs = maxSkewMs
        self.metrics = metrics
        self.log = log
    }

    /// Nil while the county database takes writes; else why not (`/v1/health` answers it as an error).
    public func health() -> ErrorBody? {
        store.storageProblem()?.errorBody(nothingApplied: false)
    }

    public func status(now: Int64 = HLC.wallClock().milliseconds) -> StatusResponse {
        StatusResponse(schemaVersion: CPPCCSchema.version, serverTime: now, serverSite: store.siteID, maxSkewMs: maxSkewMs,
                       limits: ServerLimits(), epoch: store.epoch)
    }

    /// A push answered: the answer's bytes (stored, so that a retry gets them back byte for byte) and what they say,
    /// counted before they were encoded.
    public struct PushAnswer: Sendable {
        public let bytes: [UInt8]
        /// A batch applied before: `bytes` are its first answer.
        public let replayed: Bool
        /// The changes this push applied; nil for a replay.
        public let applied: Int?
    }

    /// Applies a push in one transaction, idempotently: a batch id seen before gets its first answer back.
    public func push(_ body: [UInt8], site: String, now: Int64 = HLC.wallClock().milliseconds) throws(ErrorBody) -> PushAnswer {
        try push(try Self.decodePush(body), site: site, now: now)
    }

    /// A plain-JSON push body decoded. A body of a protocol version this server does not know is answered 426
    /// whether or not it decodes as this version's push. Decoding first spares the separate scan of the whole body
    /// that `peekProtocolVersion` makes; the peek runs only when the body does not decode.
    static func decodePush(_ body: [UInt8], compact: Bool = false) throws(ErrorBody) -> PushRequest {
        let limits = WireLimits(maxChanges: ProtocolLimits.maxChangesPerPush)
        do {
            return compact ? try PushRequest.decodeCompact(body, limits: limits) : try PushRequest.decode(body, limits: limits)
        } catch {
            if let v = body.withUnsafeBytes({ PushRequest.peekProtocolVersion($0) }), !ProtocolVersion.supported.contains(v) {
                throw ErrorBody.protocolVersion(v)
            }
            var e = error.errorBody
            e.message += "; nothing was applied"
            throw e
        }
    }

    /// Applies a decoded push (from plain JSON or the compact form; see `WireEncoding.pushRequest`).
    public func push(_ request: PushRequest, site: String, now: Int64 = HLC.wallClock().milliseconds) throws(ErrorBody) -> PushAnswer {
        if !ProtocolVersion.supported.contains(request.protocolVersion) {
            throw ErrorBody.protocolVersion(request.protocolVersion)
        }
        try checkSchema(request.schemaVersion)
        guard request.site == site else {
            throw ErrorBody(code: .forbidden, message: "this token belongs to site '\(site)', not '\(request.site)'; nothing was applied", site: request.site)
        }
        guard !request.batchId.isEmpty, request.batchId.utf8.count <= 128 else {
            throw ErrorBody(code: .badRequest, message: "batchId must be 1–128 characters")
        }
        // Knowledge cells (a dead causal length) name versions the office had seen, written by anyone.
        for (i, c) in request.changes.enumerated() where c.version.site != site && !Self.isKnowledge(c) {
            throw ErrorBody(code: .forbidden,
                            message: "change \(i) comes from site '\(c.version.site)', but this token belongs to '\(site)'; an office may push only its own changes; nothing was applied",
                            site: c.version.site, index: i)
        }
        // A base names a version the office received through this server, so its site is one the server knows;
        // anything else is refused rather than registered (a bad office must not grow the site table).
        let baseSites = Set(request.changes.compactMap { $0.base?.site })
        if !baseSites.isEmpty {
            // Each site a base names, looked up by key (a push names a few; the county may have a thousand sites).
            let known = baseSites.filter { site in
                site == store.siteID || ((try? store.read { r in
                    try r.database.scalar("SELECT EXISTS (SELECT 1 FROM _srv_sites WHERE id = ?1) OR EXISTS (SELECT 1 FROM _cp_sites WHERE uuid = ?1)",
                                          [.text(site)])?.int64Value == 1
                }) ?? false)
            }
            if let (i, c) = request.changes.enumerated().first(where: { $0.element.base.map { !known.contains($0.site) } ?? false }) {
                throw ErrorBody(code: .badRequest,
                                message: "change \(i) has a base from site '\(c.base!.site)', which this server does not know; nothing was applied",
                                site: c.base!.site, index: i)
            }
        }
        // A stamp may run ahead of this clock only as far as the version it overwrote did (see ClockPolicy).
        if let ahead = request.changes.filter({ !Self.isKnowledge($0) && ClockPolicy.tooFarAhead($0.version, base: $0.base, nowMs: now, maxSkewMs: maxSkewMs) })
            .map(\.version.hlc.milliseconds).max() {
            metrics.count("cpsync_push_refused_total", labels: ["reason": "clock_skew"])
            throw ErrorBody.clockSkew(site: site, skewMs: ahead - now, maxSkewMs: maxSkewMs)
        }
        // Hashed on another thread while this one merges: the digest is needed only to store the answer, or to check
        // a batch id that comes again.
        let digest = Concurrent { Self.digest(request.changes) }
        defer { _ = digest.wait() }
        return try apply(request, site: site, now: now, digest: digest, displaced: [])
    }

    /// Merges a checked push in one transaction and stores its answer. Rows in `displaced` (see `Replica.keepDisplaced`)
    /// are kept as conflicts and filed again instead of merged; they are found when a first attempt is refused.
    private func apply(_ request: PushRequest, site: String, now: Int64, digest: Concurrent<String>,
                       displaced: Set<RowKey>, adopted: Set<RowKey> = []) throws(ErrorBody) -> PushAnswer {
        let started = Date()
        do {
            // Committed with the other pushes waiting for the writer (one wait for the disk for a burst of offices).
            let (response, replayed, result) = try store.writeTogether { r -> ([UInt8], Bool, MergeResult?) in
                try r.database.transaction {
                    if let bytes = try Self.storedAnswer(for: request, site: site, digest: digest.wait(), in: r.database, naming: "site \(site)") {
                        // The rows it named are filed again: the office forgets them when it reads this answer, and
                        // must receive them again whatever it pulled since the first one.
                        if let first = try? PushResponse.decode(bytes) { for row in first.displaced { try r.refile(table: row.table, pk: row.pk) } }
                        return (bytes, true, nil)
                    }
                    try Self.checkChanges(request.changes, in: r)
                    // `cpsyncd uplink` may have run in another process since: which sites are the higher tier's.
                    try ServerStore.noteUpstreamSites(r)
                    let owners = try Self.owners(of: request.changes, in: r.database)
                    let apart = displaced.union(adopted)
                    let merged = apart.isEmpty ? request.changes : request.changes.filter { !apart.contains(RowKey($0)) }
                    var result = try r.merge(merged, actingFor: site, checked: true)
                    if !adopted.isEmpty {
                        // New children of records that left the writer's area meanwhile: they follow their record.
                        let children = try r.merge(request.changes.filter { adopted.contains(RowKey($0)) }, checked: true)
                        result.applied += children.applied
                        result.conflicts += children.conflicts
                    }
                    if !displaced.isEmpty {
                        let kept = request.changes.filter { displaced.contains(RowKey($0)) }
                        result.superseded += kept.count
                        result.conflicts += try r.keepDisplaced(kept) { row in try Self.displacer(of: row, pusher: site, in: r) }
                        for row in displaced { try r.refile(table: row.table, pk: row.pk) }
                        // A delete of a record that had left the site's area is not applied: the record lives on where
                        // it went, and the admin finds the deletion in the audit trail.
                        for c in kept where c.column == nil && c.causalLength % 2 == 0 {
                            try ServerStore.audit(r.database, actor: "site:\(site)", action: .recordDeleteNotApplied, subject: "\(c.table)/\(c.pk)",
                                                  detail: "owner=\((try? r.database.scalar("SELECT site_id FROM \"\(c.table)\" WHERE id = ?", [.text(c.pk)]))??.stringValue ?? "")")
                        }
                    }
                    try Self.auditMoves(owners, in: r.database, by: site)
                    var answer = PushResponse(batchId: request.batchId, result: result, serverSeq: try r.sequence)
                    answer.displaced = displaced.sorted { ($0.table, $0.pk) < ($1.table, $1.pk) }
                    let response = answer.encoded()
                    try Self.storeAnswer(response, for: request, site: site, digest: digest.wait(), in: r.database, now: now)
                    return (response, false, result)
                }
            }
            metrics.count("cpsync_push_batches_total", labels: ["result": replayed ? "replayed" : "applied"])
            if let result {
                metrics.add("cpsync_changes_merged_total", Double(result.applied))
                metrics.add("cpsync_conflicts_detected_total", Double(result.conflicts.count))
            }
            log.event("push", ["site": .text(site), "batch": .text(request.batchId), "changes": .integer(Int64(request.changes.count)),
                               "applied": .integer(Int64(result?.applied ?? 0)), "conflicts": .integer(Int64(result?.conflicts.count ?? 0)),
                               "replayed": .integer(replayed ? 1 : 0), "ms": .integer(Int64(Date().timeIntervalSince(started) * 1000))])
            return PushAnswer(bytes: response, replayed: replayed, applied: result?.applied)
        } catch let e as ErrorBody {
            throw e
        } catch {
            if AccessRules.violation(in: error) != nil, displaced.isEmpty,
               let rows = try? refusedRows(request.changes, site: site), !rows.isEmpty {
                let moved = (try? store.read { r in try rows.filter { try Self.isDisplaced($0, changes: request.changes, site: site, in: r) } }) ?? []
                let adopted = (try? store.read { r in try rows.filter { try Self.isNewChildOfARecordThatLeft($0, changes: request.changes, site: site, in: r) } }) ?? []
                if moved.count + adopted.count == rows.count {
                    return try apply(request, site: site, now: now, digest: digest, displaced: Set(moved.map(\.row)), adopted: Set(adopted.map(\.row)))
                }
                let refused = rows.filter { row in !moved.contains { $0.row == row.row } && !adopted.contains { $0.row == row.row } }
                metrics.count("cpsync_push_refused_total", labels: ["reason": "permission"])
                throw permissionRefusal(refused, changes: request.changes, site: site)
            }
            if let refusal = permissionRefusal(error, changes: request.changes, site: site) {
                metrics.count("cpsync_push_refused_total", labels: ["reason": "permission"])
                throw refusal
            }
            if let problem = StorageProblem(error, databasePath: store.databasePath) {
                metrics.count("cpsync_push_refused_total", labels: ["reason": "storage"])
                log.event("storage_error", ["site": .text(site), "batch": .text(request.batchId), "error": .text(problem.description)])
                throw problem.errorBody(nothingApplied: true)
            }
            if let sqlite = Self.sqliteError(error), sqlite.isConstraint {
                metrics.count("cpsync_push_refused_total", labels: ["reason": "constraint"])
                throw ConstraintLocator(store: store).errorBody(for: sqlite, in: request.changes)
            }
            if let e = error as? ReplicaError { throw Self.errorBody(e, databasePath: store.databasePath) }
            if let e = error as? SQLiteError { throw Self.errorBody(.sqlite(e), databasePath: store.databasePath) }
            throw ErrorBody(code: .serverError, message: "could not apply the push: \(error); nothing was applied")
        }
    }

    /// A push the access rules refused (a trigger raised while merging on the site's behalf): 403, naming the row,
    /// the rule and the first change of that row, so the office can set that row aside.
    func permissionRefusal(_ error: any Error, changes: [Change], site: String) -> ErrorBody? {
        guard let violation = AccessRules.violation(in: error) else { return nil }
        var table = violation.table, key = ""
        if case ReplicaError.rowRefused(let t, let k, _) = error { (table, key) = (t, k) }
        let index = changes.firstIndex { RowKey($0) == RowKey(table: table, pk: key) }
        var body = ErrorBody(code: .forbidden, message: Self.refusalMessage(site: site, row: RowKey(table: table, pk: key), violation),
                             site: site, table: table, column: violation.column, index: index)
        if let rows = try? refusedRows(changes, site: site), !rows.isEmpty {
            body.indices = rows.flatMap(\.indices).sorted()
            body.rows = rows.map { Self.rowRefusal($0, site: site) }
        }
        return body
    }

    /// The 403 for rows the access rules refuse (found by `refusedRows`): it names the first row and its rule, every
    /// change of every such row in `indices`, and each row with its own rule and message in `rows`.
    func permissionRefusal(_ rows: [RefusedRow], changes: [Change], site: String) -> ErrorBody {
        let first = rows[0]
        var body = ErrorBody(code: .forbidden, message: Self.refusalMessage(site: site, row: first.row, first.violation),
                             site: site, table: first.row.table, column: first.violation.column, index: first.indices.first)
        body.indices = rows.flatMap(\.indices).sorted()
        body.rows = rows.map { Self.rowRefusal($0, site: site) }
        return body
    }

    /// What a 403 says of one refused row: the site, the row, the rule and why.
    static func refusalMessage(site: String, row: RowKey, _ violation: AccessRules.Violation) -> String {
        "site \(site) may not write \(row.table) row '\(row.pk.prefix(80))' (rule \(violation.rule.rawValue)): \(violation.description); nothing was applied"
    }

    /// One refused row as a 403's `rows` names it.
    static func rowRefusal(_ refused: RefusedRow, site: String) -> RowRefusal {
        RowRefusal(table: refused.row.table, pk: refused.row.pk, column: refused.violation.column, rule: refused.violation.rule.rawValue,
                   message: refusalMessage(site: site, row: refused.row, refused.violation), indices: refused.indices)
    }

    /// A row of a push the access rules refused, tried alone: its changes' indices and the rule.
    struct RefusedRow {
        let row: RowKey
        let indices: [Int]
        let violation: AccessRules.Violation
    }

    /// Whether a refused row is a write made in good faith before its writer learnt that the record had left its
    /// area or entered the county's handling: an edit (or a concurrent insert of the same key) of the row's current
    /// life, refused because of whom the row belongs to now or where its workflow stands. Such writes are kept as
    /// conflicts (`Replica.keepDisplaced`), never dropped. A revival, a delete, a county-only table or column, a
    /// move — anything else — stays refused.
    ///
    /// Good faith is what the writer's own rules allowed as it saw the record: an edit of a record that was once in its
    /// area (`AccessRules.everInArea`), or a new record of its own area whose key another site had already used (two
    /// CSV imports minting one key). A tampered office writing blind into another area's records is still refused.
    static func isDisplaced(_ refused: RefusedRow, changes: [Change], site: String, in r: Replica) throws -> Bool {
        let row = refused.row
        guard refused.violation.rule == .owner || refused.violation.rule == .workflow,
              let cl = try r.causalLength(table: row.table, pk: row.pk), cl % 2 == 1,
              try r.database.scalar("SELECT count(*) FROM \"\(row.table)\" WHERE id = ?", [.text(row.pk)])?.int64Value == 1
        else { return false }
        // A delete of the current life (with the knowledge cells that come with it, and edits made before it).
        if refused.indices.contains(where: { changes[$0].column == nil && changes[$0].causalLength == cl + 1 }) {
            guard refused.indices.allSatisfy({ changes[$0].causalLength == cl || changes[$0].causalLength == cl + 1 }) else { return false }
            return try AccessRules.everInArea(table: row.table, pk: row.pk, site: site, in: r.database)
        }
        guard refused.indices.allSatisfy({ changes[$0].causalLength == cl }) else { return false }
        if refused.indices.contains(where: { changes[$0].column == nil }) {
            // A concurrent insert of the key: the record it made must name the writer's own area.
            guard let owner = refused.indices.lazy.map({ changes[$0] }).first(where: { $0.column == "site_id" })?.value.stringValue else { return false }
            return try SiteScope(site: site, database: r.database).subtree().contains(owner)
        }
        return try AccessRules.everInArea(table: row.table, pk: row.pk, site: site, in: r.database)
    }

    /// Whether a refused row is a new child (an attachment, a co-signer, a participant) that the writer made in good
    /// faith for a record of its area, which has since left its area (transferred, re-parented) or entered the
    /// county's handling: the row is new (no life at the county), and its record was once in the writer's area. Such a
    /// row is kept and follows its record (merged as the county's), never dropped: the writer forgets it when its scope
    /// does. A child of a record never in the writer's area stays refused.
    static func isNewChildOfARecordThatLeft(_ refused: RefusedRow, changes: [Change], site: String, in r: Replica) throws -> Bool {
        let row = refused.row
        guard refused.violation.rule == .owner || refused.violation.rule == .workflow,
              let parent = AccessRules.parent(of: row.table),
              try r.causalLength(table: row.table, pk: row.pk) == nil,
              refused.indices.allSatisfy({ changes[$0].causalLength == 1 }),
              let record = refused.indices.lazy.map({ changes[$0] }).first(where: { $0.column == parent.key })?.value.stringValue
        else { return false }
        // (A record deleted meanwhile counts too: the child is kept at the county, where an admin can restore its record.)
        return try AccessRules.everInArea(table: parent.table, pk: record, site: site, in: r.database)
    }

    /// The version that displaced a writer of `row`: the newest write by another site of the cells that decide who
    /// holds and who writes it (its site, its workflow status, its parent); nil when there is none.
    static func displacer(of row: RowKey, pusher: String, in r: Replica) throws -> Version? {
        try ["site_id", "status", "proposal_id", "activity_id"].compactMap { try r.version(table: row.table, pk: row.pk, column: $0) }
            .filter { $0.site != pusher }.max()
    }

    /// Every row of a push the access rules refuse, with the index of each change of those rows: each row is merged
    /// alone on the site's behalf and rolled back. One answer then names them all, not one per round trip.
    func refusedRows(_ changes: [Change], site: String) throws -> [RefusedRow] {
        struct RollBack: Error {}
        var groups: [RowKey: [Int]] = [:]
        var order: [RowKey] = []
        for (i, c) in changes.enumerated() {
            let k = RowKey(c)
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(i)
        }
        var refused: [RefusedRow] = []
        try store.write { r in
            for k in order {
                let indices = groups[k]!
                do {
                    try r.database.transaction {
                        try r.merge(indices.map { changes[$0] }, actingFor: site)
                        throw RollBack()
                    }
                } catch is RollBack {
                } catch {
                    guard let violation = AccessRules.violation(in: error) else { continue }
                    refused.append(RefusedRow(row: k, indices: indices, violation: violation))
                }
            }
        }
        return refused
    }


    /// The current `site_id` of every existing row whose `site_id` a push writes (before it is merged).
    static func owners(of changes: [Change], in db: Database) throws -> [(table: String, pk: String, site: Value)] {
        var out: [(table: String, pk: String, site: Value)] = []
        for c in changes where c.column == "site_id" && c.causalLength % 2 == 1 && c.table != "sites" {
            // Only the schema's own table names are ever put into SQL (the push is not validated yet).
            guard ["members", "proposals", "social_reports", "activities"].contains(c.table),
                  let row = try db.query("SELECT site_id FROM \"\(c.table)\" WHERE id = ?", [.text(c.pk)]).first else { continue }
            out.append((c.table, c.pk, row[0]))
        }
        return out
    }

    /// Moving a record between sites is audited (who, when, which record, from where to where), in the push's
    /// transaction. Only moves that took effect are recorded.
    static func auditMoves(_ before: [(table: String, pk: String, site: Value)], in db: Database, by site: String) throws {
        for (table, pk, old) in before {
            guard let now = try db.query("SELECT site_id FROM \"\(table)\" WHERE id = ?", [.text(pk)]).first?.first, now != old else { continue }
            try ServerStore.audit(db, actor: "site:\(site)", action: .recordMove, subject: "\(table)/\(pk)",
                                  detail: "from=\(old.stringValue ?? "") to=\(now.stringValue ?? "")")
        }
    }

    /// What tells a re-sent batch from a different one: the 128-bit MurmurHash3 (hex) of the batch's changes in a
    /// compact binary form, marked with `digestPrefix`. A function of the decoded changes, not of the body's
    /// spelling. The form (`ChangeDigest`) decodes unambiguously; a batch is grouped by row, so this hashes about a
    /// fifth of the JSON's bytes. Only one site's batches are compared with each other, so a fast hash that never
    /// collides by accident is enough (see `Murmur3`); SHA-256 cost as much as a fifth of a push's work here.
    ///
    /// Answers stored by earlier servers are compared with what they stored: `sha256Prefix` (SHA-256 of the same
    /// form) and, with no prefix, SHA-256 of the canonical JSON (`jsonDigest`).
    static func digest(_ changes: [Change]) -> String {
        digestPrefix + ChangeDigest.murmurHex(changes)
    }

    static let digestPrefix = "b2:"
    static let sha256Prefix = "b1:"

    /// The digest of `changes` in the form `stored` was made in, to compare with it; `current` is this server's
    /// (`digest`), computed once for the push.
    static func digest(_ changes: [Change], like stored: String, current: () -> String) -> String {
        if stored.hasPrefix(digestPrefix) { return current() }
        if stored.hasPrefix(sha256Prefix) { return sha256Prefix + SHA256.hex(ChangeDigest.binaryForm(changes)) }
        return jsonDigest(changes)
    }

    /// How long a push's answer is kept for replays (the protocol promises at least 30 days, §6.3).
    public static let storedAnswerKeepMs: Int64 = 90 * 86_400_000

    /// The answer stored for this batch id of `site`, to be replayed byte for byte; nil for a new batch. A stored
    /// digest that is not this batch's is a reused id (409, nothing applied); `naming` says whose ("site huashan").
    /// Answers stored before digests existed carry none and replay as they always did; older digests are compared in
    /// their own form (`digest(_:like:current:)`).
    /// `digest` is evaluated only when an answer is stored for this id.
    static func storedAnswer(for request: PushRequest, site: String, digest: @autoclosure () -> String, in db: Database, naming: String) throws -> [UInt8]? {
        guard let stored = try db.query("SELECT response, digest FROM _srv_batches WHERE site = ? AND batch_id = ?",
                                        [.text(site), .text(request.batchId)]).first,
              case .blob(let bytes) = stored[0] else { return nil }
        if let storedDigest = stored[1].stringValue, storedDigest != Self.digest(request.changes, like: storedDigest, current: digest) {
            throw ErrorBody(code: .batchIdReused,
                            message: "\(naming) already pushed batch \(request.batchId) with different changes; send these under a new batch id; nothing was applied",
                            site: site)
        }
        return bytes
    }

    /// Stores a push's answer for replays, in the push's transaction, and removes answers older than
    /// `storedAnswerKeepMs` (an index seek when none has expired; a batch re-sent after that is merged again, which
    /// changes nothing).
    static func storeAnswer(_ response: [UInt8], for request: PushRequest, site: String, digest: String, in db: Database, now: Int64) throws {
        try db.run("INSERT INTO _srv_batches(site, batch_id, digest, response, at) VALUES (?, ?, ?, ?, ?)",
                   [.text(site), .text(request.batchId), .text(digest), .blob(response), .integer(now)])
        try db.run("DELETE FROM _srv_batches WHERE at < ?", [.integer(now - storedAnswerKeepMs)])
    }

    /// The county's checks of every change (known table and column, value type and size, key), before a merge told
    /// they were done: the first refused one is a 400 naming its index.
    static func checkChanges(_ changes: [Change], in r: Replica) throws {
        if let (i, e) = r.firstInvalidChange(in: changes) {
            var body = errorBody(e)
            body.index = i
            throw body
        }
    }

    /// SHA-256 (hex) of the canonical JSON of a batch's changes: the digest of answers stored by earlier servers.
    static func jsonDigest(_ changes: [Change]) -> String {
        var w = JSONWriter()
        w.changes(changes)
        return SHA256.hex(w.bytes)
    }

    /// The SQLite error behind `error`, bare or wrapped by the replica.
    static func sqliteError(_ error: any Error) -> SQLiteError? {
        switch error {
        case let e as SQLiteError: e
        case ReplicaError.sqlite(let e): e
        default: nil
        }
    }

    /// Changes after `after`, at most `limit` of them per page (whole rows: a row brings up to one change per column
    /// plus its existence); of each row, the cells written after `since` (the start of the transfer; see
    /// `Replica.changes`). An office's own changes come back too: a reinstalled office recovers its records from the
    /// county, and merging what it already holds is a no-op.
    /// `record`: count and log the page as served (false for a page read ahead, recorded when it is served).
    public func pull(after: Int64, since: Int64? = nil, limit: Int, maxBytes: Int? = nil, principal: Principal,
                     record: Bool = true) throws(ErrorBody) -> PullResponse {
        do {
            // One read transaction: the page, its head and the check of the cursor against it see one snapshot.
            let page = try store.read { r -> ChangePage in
                // A site below the county pulls its scope only (see SiteScope); the county and admins see all.
                let scope: SiteScope? = if case .site(let site) = principal { try SiteScope.of(site: site, in: r.database) } else { nil }
                return try r.changes(after: after, since: since, maxChanges: limit, maxBytes: maxBytes ?? Int.max, scope: scope)
            }
            if after > page.head {
                throw ErrorBody(code: .cursorAhead,
                                message: "cursor \(after) is beyond the server's latest change \(page.head): the county database was restored from an older backup; run `cpsync pull --reset` to pull everything again (nothing local is lost)")
            }
            // What a scoped pull reads against what it sends (`cpsync-bench scope`: township_rows_read_per_sent).
            metrics.add("cpsync_pull_rows_read_total", Double(page.rowsRead))
            metrics.add("cpsync_pull_rows_sent_total", Double(page.rowsSent))
            if record { recordPull(principal, after: after, cursor: page.cursor, changes: page.changes.count) }
            var response = PullResponse(changes: page.changes, cursor: page.cursor, hasMore: page.hasMore)
            response.head = max(page.head, page.cursor)
            return response
        } catch let e as ErrorBody {
            throw e
        } catch let e as ReplicaError {
            throw Self.errorBody(e, databasePath: store.databasePath)
        } catch {
            throw ErrorBody(code: .serverError, message: "could not read changes: \(error)")
        }
    }

    /// Counts and logs a pull page served (read now, or read ahead and served now: see `PullPrefetch`).
    func recordPull(_ principal: Principal, after: Int64, cursor: Int64, changes: Int) {
        metrics.count("cpsync_pull_pages_total")
        log.event("pull", ["who": .text(principal.name), "after": .integer(after), "cursor": .integer(cursor), "changes": .integer(Int64(changes))])
    }

    static func isKnowledge(_ c: Change) -> Bool { c.column != nil && c.causalLength % 2 == 0 }

    func checkSchema(_ office: Int) throws(ErrorBody) {
        if office < CPPCCSchema.version { throw ErrorBody.upgradeRequired(serverSchema: CPPCCSchema.version) }
        if office > CPPCCSchema.version { throw ErrorBody.schemaVersion(serverSchema: CPPCCSchema.version, officeSchema: office) }
    }

    /// The one place replica errors become protocol errors.
    static func errorBody(_ e: ReplicaError, databasePath: String = "county.db") -> ErrorBody {
        switch e {
        case .unknownTable(let t): ErrorBody(code: .unknownTable, message: e.description, table: t)
        case .unknownColumn(let t, let c): ErrorBody(code: .unknownColumn, message: e.description, table: t, column: c)
        case .wrongType(let t, let c, _, _): ErrorBody(code: .wrongType, message: e.description, table: t, column: c)
        case .malformedKey(let t, _, _): ErrorBody(code: .malformedKey, message: e.description, table: t)
        case .malformedChange: ErrorBody(code: .badRequest, message: e.description)
        case .conflictNotFound: ErrorBody(code: .notFound, message: e.description)
        case .conflictAlreadyResolved: ErrorBody(code: .conflictResolved, message: e.description)
        case .sqlite(let s) where s.isBusy: ErrorBody(code: .unavailable, message: "the county database is busy; try again — nothing was applied")
        case .sqlite(let s) where s.isFull || s.isStorageFailure:
            StorageProblem(s, databasePath: databasePath)?.errorBody(nothingApplied: true)
                ?? ErrorBody(code: .storageFailed, message: "\(e); nothing was applied")
        case .sqlite(let s) where s.isConstraint:
            ConstraintLocator.errorBody(for: s)
        default: ErrorBody(code: .serverError, message: "\(e); nothing was applied")
        }
    }
}
