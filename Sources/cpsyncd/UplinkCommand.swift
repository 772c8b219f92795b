import CPPCC
import CPSyncCLI
import CPSyncClient
import CPSyncCore
import CPSyncProtocol
import CPSyncServer
import Foundation

/// `cpsyncd uplink --server URL --token T [--site ID] [--every SECONDS]`: syncs this county's data directory upward
/// as an office of a higher-level daemon (county → city → province; Protocol/README.md §18), beside `serve`.
enum UplinkCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv, flags: ["quiet", "retry-held"])
        let server = try args.required("server")
        guard let token = args.option("token") ?? ProcessInfo.processInfo.environment["CPSYNC_UPLINK_TOKEN"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw UsageError.missingArgument("--token T (or $CPSYNC_UPLINK_TOKEN): the county's token at the higher tier")
        }
        let site = args.option("site")
        let caFile = args.option("ca-file")
        let every = try args.int("every")
        let quiet = args.flag("quiet")
        let retryHeld = args.flag("retry-held")
        let store = try DataOption.openExisting(try DataOption.directory(&args))
        try args.checkAllConsumed()
        let uplink = try Uplink(store: store, server: server, token: token, site: site, caFile: caFile)
        if retryHeld { try uplink.retryHeld() }
        while true {
            do {
                let s = try uplink.run()
                if !quiet {
                    Console.out(L10n.pick(
                        en: "uplink \(uplink.site) → \(server): pushed \(s.pushed) change(s) in \(s.batches) batch(es) (\(s.applied) new there, \(s.conflicts) conflict(s) recorded there), pulled \(s.pulled) (\(s.pulledApplied) new here)",
                        zh: "上报 \(uplink.site) → \(server)：推送 \(s.pushed) 条变更，共 \(s.batches) 批（上级新增 \(s.applied) 条，上级记录冲突 \(s.conflicts) 个），拉取 \(s.pulled) 条（本级新增 \(s.pulledApplied) 条）"))
                }
                // Held rows are always told (on standard error), new or not: they are not at the higher tier.
                let held = try uplink.heldRows()
                if !held.isEmpty {
                    Console.err(L10n.pick(en: "\(held.count) row(s) held back (the higher tier refused them; everything else went; fix the row at the county and it goes again, or run with --retry-held):",
                                          zh: "\(held.count) 条记录被上级拒绝，暂缓上报（其余已上报；在本县修正该记录后会自动重新上报，或使用 --retry-held）："))
                    for h in held { Console.err("  \(h.table)/\(h.pk): \(h.reason)") }
                    if every == nil { return ExitCode.dataError.rawValue }
                }
            } catch {
                guard let every else { throw error }
                // A round that failed leaves everything queued; the next round tries again.
                Console.err("cpsyncd uplink: \(error)")
                _ = every
            }
            guard let every else { return 0 }
            sleep(UInt32(max(1, every)))
        }
    }
}

/// The county's side of a tier: pushes what this county wrote (everything but members' personal data and its own
/// site row, which the higher tier places), then pulls the higher tier's changes within the county's subtree.
/// Cursors live in the county database (`uplink.*` meta keys) and move only after an acknowledged batch or with
/// the page they belong to: a crash or cut link anywhere loses nothing and duplicates nothing, as for an office.
final class Uplink {
    let store: ServerStore
    let transport: HTTPTransport
    let server: String
    let site: String

    enum Key {
        static let epoch = "uplink.epoch"
        static let pushCursor = "uplink.push_cursor"
        static let pushSince = "uplink.push_since"
        static let pullCursor = "uplink.pull_cursor"
        static let pullSince = "uplink.pull_since"
    }

    struct Summary {
        var batches = 0, pushed = 0, applied = 0, conflicts = 0, pulled = 0, pulledApplied = 0
        /// Rows the higher tier refused this round (set aside; the rest went).
        var held: [(table: String, pk: String, reason: String)] = []
    }

    /// Rows the higher tier refused, with the reason: set aside so that the rest goes (one bad row never blocks the
    /// others). A held row goes again, whole, when it is written again at the county; `--retry-held` sends everything
    /// again.
    static let heldSQL = """
        CREATE TABLE IF NOT EXISTS _srv_uplink_held (
          tbl TEXT NOT NULL, pk TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL,
          PRIMARY KEY (tbl, pk)
        );
        """

    /// The rows set aside, oldest first.
    func heldRows() throws -> [(table: String, pk: String, reason: String)] {
        try store.write { r in
            try r.database.execute(Self.heldSQL)
            return try r.database.query("SELECT tbl, pk, reason FROM _srv_uplink_held ORDER BY at, tbl, pk").map {
                (table: $0[0].stringValue ?? "", pk: $0[1].stringValue ?? "", reason: $0[2].stringValue ?? "")
            }
        }
    }

    /// Forgets every held row and sends everything again from the start (the higher tier answers what it has as
    /// already known).
    func retryHeld() throws {
        try store.write { r in
            try r.database.transaction {
                try r.database.execute(Self.heldSQL)
                try r.database.run("DELETE FROM _srv_uplink_held")
                for k in [Key.pushCursor, Key.pushSince] { try r.setMeta(k, .integer(0)) }
            }
        }
    }

    init(store: ServerStore, server: String, token: String, site: String?, caFile: String?) throws {
        self.store = store
        self.server = server
        transport = HTTPTransport(baseURL: server, token: token, caFile: caFile)
        if let site {
            self.site = site
        } else {
            let roots = try store.sites().filter { $0.kind == "county" && $0.parent == nil }.map(\.id)
            guard roots.count == 1 else { throw UplinkError.whichSite(roots) }
            self.site = roots[0]
        }
    }

    func run() throws -> Summary {
        let status: StatusResponse
        do { status = try transport.call("GET", "/v1/status", as: StatusResponse.self) } catch { throw UplinkError.client(server, error) }
        guard status.schemaVersion == CPPCCSchema.version else {
            throw UplinkError.schema(ours: CPPCCSchema.version, theirs: status.schemaVersion)
        }
        if let epoch = status.epoch {
            try store.write { r in
                try r.database.transaction {
                    if let known = try r.meta(Key.epoch)?.stringValue, known != epoch {
                        // The higher tier was restored from a backup: send and fetch everything again (idempotent).
                        for k in [Key.pushCursor, Key.pushSince, Key.pullCursor, Key.pullSince] { try r.setMeta(k, .integer(0)) }
                    }
                    try r.setMeta(Key.epoch, .text(epoch))
                }
            }
        }
        var summary = Summary()
        try push(&summary)
        try pull(&summary)
        return summary
    }

    /// Site ids this daemon writes under: its own, its registered sites', and (a city syncing up to a province) the
    /// ids its member counties own. Everything else it holds came from the higher tier and is never sent back.
    func ownSites() throws -> Set<String> {
        Set(try store.sites().map(\.id)).union([store.siteID]).union(try store.tierSites().map(\.site))
    }

    /// What of a page goes up: changes written by this county's sites, and the knowledge of the deaths they wrote;
    /// never members' personal data, never the county's own site row.
    static func upward(_ changes: [Change], own: Set<String>, root: String) -> [Change] {
        let ownDeaths = Set(changes.filter { $0.column == nil && own.contains($0.version.site) }.map(RowKey.init))
        return changes.filter { c in
            if c.table == "sites" && c.pk == root { return false }
            if Tier.isPersonal(c) { return false }
            if c.column != nil && c.causalLength % 2 == 0 { return ownDeaths.contains(RowKey(c)) }
            return own.contains(c.version.site)
        }
    }

    func push(_ summary: inout Summary) throws {
        let own = try ownSites()
        var cursor = try store.write { try $0.meta(Key.pushCursor)?.int64Value } ?? 0
        var since = try store.write { try $0.meta(Key.pushSince)?.int64Value } ?? 0
        while true {
            let page = try store.write { r in
                try r.changes(after: cursor, since: since, maxChanges: ProtocolLimits.maxChangesPerPush, maxBytes: 1 << 20)
            }
            let up = try wholeHeldRows(Self.upward(page.changes, own: own, root: site))
            if !up.isEmpty { try send(up, label: "\(since)|\(cursor)", summary: &summary) }
            let (next, more) = (page.cursor, page.hasMore)
            try store.write { r in
                try r.database.transaction {
                    try r.setMeta(Key.pushCursor, .integer(next))
                    if !more { try r.setMeta(Key.pushSince, .integer(next)) }
                }
            }
            cursor = next
            if !more { since = next; break }
        }
    }

    /// Sends one batch. A row the higher tier refuses (it names the change and its table) is set aside with the
    /// reason and the rest is sent again; a refusal of the whole county (a site id, the token) stops the round.
    func send(_ changes: [Change], label: String, summary: inout Summary) throws {
        var batch = changes
        while !batch.isEmpty {
            var bytes = Array("tier|\(site)|\(label)|".utf8)
            bytes += PullResponse(changes: batch, cursor: 0, hasMore: false).encoded()
            let batchId = String(SHA256.hex(bytes).prefix(32))
            let body = PushRequest(schemaVersion: CPPCCSchema.version, batchId: batchId, site: site, changes: batch).encoded()
            let result: Result<PushResponse, ClientError>
            do { result = .success(try transport.call("POST", "/v1/tier/push", body: body, as: PushResponse.self)) } catch {
                result = .failure(error)
            }
            switch result {
            case .success(let answer):
                summary.batches += 1
                summary.pushed += batch.count
                summary.applied += answer.applied
                summary.conflicts += answer.conflicts
                // Rows that went are no longer held.
                let sent = Set(batch.map(RowKey.init))
                try store.write { r in
                    try r.database.execute(Self.heldSQL)
                    for k in sent { try r.database.run("DELETE FROM _srv_uplink_held WHERE tbl = ? AND pk = ?", [.text(k.table), .text(k.pk)]) }
                }
                return
            case .failure(let error):
                guard case .server(let status, let e) = error, [400, 403, 422].contains(status), let i = e.index, i >= 0, i < batch.count,
                      e.table != nil, !(batch[i].table == "sites" && e.message.contains("carries site id")) else {
                    throw UplinkError.client(server, error)
                }
                let key = RowKey(batch[i])
                try store.write { r in
                    try r.database.execute(Self.heldSQL)
                    try r.database.run("INSERT OR REPLACE INTO _srv_uplink_held(tbl, pk, code, reason, at) VALUES (?, ?, ?, ?, ?)",
                                       [.text(key.table), .text(key.pk), .text(e.code.rawValue), .text(e.message), .integer(HLC.wallClock().milliseconds)])
                }
                summary.held.append((key.table, key.pk, e.message))
                batch.removeAll { RowKey($0) == key }
            }
        }
    }

    /// A held row that shows up again was written again: it goes whole (the page holds only its newer cells, and the
    /// higher tier never had the older ones).
    func wholeHeldRows(_ changes: [Change]) throws -> [Change] {
        let held = Set(try heldRows().map { RowKey(table: $0.table, pk: $0.pk) })
        let again = Set(changes.map(RowKey.init)).intersection(held)
        guard !again.isEmpty else { return changes }
        let own = try ownSites()
        let whole = try store.write { r in try r.changes(after: 0, since: 0) }.changes.filter { again.contains(RowKey($0)) }
        return changes.filter { !again.contains(RowKey($0)) } + Self.upward(whole, own: own, root: site)
    }

    func pull(_ summary: inout Summary) throws {
        var cursor = try store.write { try $0.meta(Key.pullCursor)?.int64Value } ?? 0
        var since = try store.write { try $0.meta(Key.pullSince)?.int64Value } ?? 0
        var didReset = false
        while true {
            let query = PullQuery(after: cursor, since: since, limit: ProtocolLimits.defaultPageSize, maxBytes: 1 << 20,
                                  schemaVersion: CPPCCSchema.version)
            let page: PullResponse
            do { page = try transport.call("GET", "/v1/tier/pull?" + query.queryString, as: PullResponse.self) } catch {
                if case .server(_, let body) = error, body.code == .cursorAhead, !didReset {
                    didReset = true
                    (cursor, since) = (0, 0)
                    continue
                }
                throw UplinkError.client(server, error)
            }
            // Personal data never comes down (the higher tier never has it), nor the county's own site row.
            let changes = page.changes.filter { !Tier.isPersonal($0) && !($0.table == "sites" && $0.pk == site) }
            let applied = try store.write { r in
                try r.database.transaction {
                    // Nothing of a row that was never the county's: it is not even stored, so no office pulls it.
                    let result = try r.merge(try Tier.withoutExitsOfRowsNotHeld(changes, in: r))
                    try r.setMeta(Key.pullCursor, .integer(page.cursor))
                    if !page.hasMore { try r.setMeta(Key.pullSince, .integer(page.cursor)) }
                    return result.applied
                }
            }
            summary.pulled += page.changes.count
            summary.pulledApplied += applied
            if !page.hasMore { break }
            guard page.cursor > cursor else { throw UplinkError.client(server, .badResponse("pull cursor did not advance past \(cursor)")) }
            cursor = page.cursor
        }
        try keepToScope()
    }

    /// After a pull, as an office after its own: forgets the rows that left the county's subtree (`Tier.forgetOutOfScope`;
    /// not a delete, nothing travels), sparing what the county has not yet sent up or had refused.
    func keepToScope() throws {
        let own = try ownSites()
        let held = Set(try heldRows().map { RowKey(table: $0.table, pk: $0.pk) })
        try store.write { r in
            let pushed = try r.meta(Key.pushSince)?.int64Value ?? 0
            try Tier.forgetOutOfScope(r, county: site, own: own, pushedSince: pushed, held: held)
        }
    }
}

/// Why an uplink round stopped; everything stays queued in the county database.
enum UplinkError: ExitCodeProviding {
    case whichSite([String])
    case schema(ours: Int, theirs: Int)
    case client(String, ClientError)

    var description: String {
        switch self {
        case .whichSite(let roots):
            L10n.pick(en: "give --site ID, the county's id at the higher tier (this daemon has \(roots.isEmpty ? "no county site" : "county sites \(roots.joined(separator: ", "))") without a parent)",
                      zh: "请用 --site 指定本县在上级的站点标识（本服务\(roots.isEmpty ? "没有县级站点" : "有多个无上级的县级站点：\(roots.joined(separator: "、"))")）")
        case .schema(let ours, let theirs):
            L10n.pick(en: "the higher tier runs schema v\(theirs), this county v\(ours); upgrade the older daemon first; nothing was sent",
                      zh: "上级使用数据结构 v\(theirs)，本县为 v\(ours)；请先升级较旧的一方；未发送任何数据")
        case .client(let url, .server(let status, let body)):
            L10n.pick(en: "the higher-tier server \(url) refused the uplink (HTTP \(status), \(body.code)): \(body.message); nothing was lost, the county's changes stay queued",
                      zh: "上级服务器 \(url) 拒绝了上报（HTTP \(status)，\(body.code)）：\(body.message)；数据没有丢失，本县的变更仍在排队")
        case .client(let url, let e):
            L10n.pick(en: "uplink to \(url): \(e); nothing was lost, the county's changes stay queued",
                      zh: "上报到 \(url)：\(e)；数据没有丢失，本县的变更仍在排队")
        }
    }

    var exitCode: ExitCode {
        switch self {
        case .whichSite: .usage
        case .schema: .refused
        case .client(_, let e): e.exitCode
        }
    }
}

/// `serve --uplink-server URL …`: one uplink round at start and then every `every` seconds, on its own thread, beside
/// the HTTP server and through the same store (so its writes queue behind office pushes on the one writer).
final class UplinkLoop: @unchecked Sendable {
    // Sound: `stopping` and `running` are only touched under `condition`; `uplink` only from the loop's thread.
    private let condition = NSCondition()
    private var stopping = false
    private var running = false
    private let uplink: Uplink
    private let every: Int
    private let log: EventLog

    init(uplink: Uplink, every: Int, log: EventLog) {
        self.uplink = uplink
        self.every = max(1, every)
        self.log = log
    }

    func start() {
        running = true
        Thread { [self] in
            while true {
                let started = Date()
                do {
                    let s = try uplink.run()
                    log.event("uplink", ["site": .text(uplink.site), "server": .text(uplink.server), "pushed": .integer(Int64(s.pushed)),
                                         "applied": .integer(Int64(s.applied)), "conflicts": .integer(Int64(s.conflicts)),
                                         "pulled": .integer(Int64(s.pulled)), "pulled_applied": .integer(Int64(s.pulledApplied)),
                                         "held": .integer(Int64((try? uplink.heldRows().count) ?? 0)),
                                         "ms": .integer(Int64(Date().timeIntervalSince(started) * 1000))])
                } catch {
                    // Everything stays queued; the next round tries again.
                    log.event("uplink_failed", ["site": .text(uplink.site), "server": .text(uplink.server), "error": .text("\(error)")])
                }
                condition.lock()
                let next = started.addingTimeInterval(Double(every))
                while !stopping && Date() < next { _ = condition.wait(until: next) }
                let stop = stopping
                if stop {
                    running = false
                    condition.broadcast()
                }
                condition.unlock()
                if stop { return }
            }
        }.start()
    }

    /// Asks the loop to stop and waits (at most `seconds`) for a round in flight to end.
    func stop(waitingUpTo seconds: Double) {
        condition.lock()
        stopping = true
        condition.broadcast()
        let deadline = Date().addingTimeInterval(seconds)
        while running && Date() < deadline { _ = condition.wait(until: deadline) }
        condition.unlock()
    }
}
