import CPPCC
import CPSyncCLI
import CPSyncClient
import CPSyncCore
import CPSyncEngine
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

/// The county's side of a tier: the one sync engine (`PushLoop`, `PullLoop`) over the higher tier's HTTP endpoints,
/// on the county database through the daemon's one writer. Goes up: what this county's sites wrote, never members'
/// personal data nor its own site row (which the higher tier places); comes down: the higher tier's changes within
/// the county's subtree, and rows that left the subtree are forgotten. Positions live in the county database
/// (`SyncKeys.uplink`); refused rows wait in its held list, as an office's do.
final class Uplink {
    let store: ServerStore
    let transport: HTTPTransport
    let server: String
    let site: String

    struct Summary {
        var batches = 0, pushed = 0, applied = 0, conflicts = 0, pulled = 0, pulledApplied = 0
        /// Rows the higher tier refused this round (set aside; the rest went).
        var held: [(table: String, pk: String, reason: String)] = []
    }

    /// The county database, through the daemon's one writer.
    struct StoreAccess: ReplicaAccess {
        let store: ServerStore
        func with<T>(_ body: (Replica) throws -> T) throws -> T { try store.write(body) }
    }

    init(store: ServerStore, server: String, token: String, site: String?, caFile: String?) throws {
        self.store = store
        self.server = server
        transport = HTTPTransport(baseURL: server, token: token, caFile: caFile, language: L10n.language)
        if let site {
            self.site = site
        } else {
            let roots = try store.sites().filter { $0.kind == "county" && $0.parent == nil }.map(\.id)
            guard roots.count == 1 else { throw UplinkError.whichSite(roots) }
            self.site = roots[0]
        }
    }

    /// The rows set aside, oldest first, with the first reason of each.
    func heldRows() throws -> [(table: String, pk: String, reason: String)] {
        var seen: Set<RowKey> = []
        return try store.write { try $0.held() }.compactMap { h in
            seen.insert(RowKey(table: h.table, pk: h.pk)).inserted ? (h.table, h.pk, h.reason) : nil
        }
    }

    /// Forgets every held row and sends everything again from the start (the higher tier answers what it has as
    /// already known).
    func retryHeld() throws {
        try store.write { r in
            try r.database.transaction {
                try r.unhold(try r.held())
                try SyncKeys.uplink.setPush(.start, in: r)
            }
        }
    }

    func run() throws -> Summary {
        let status: StatusResponse
        do { status = try transport.call("GET", "/v1/status", as: StatusResponse.self) } catch { throw UplinkError.client(server, error) }
        guard status.schemaVersion == CPPCCSchema.version else {
            throw UplinkError.schema(ours: CPPCCSchema.version, theirs: status.schemaVersion)
        }
        let access = StoreAccess(store: store)
        _ = try access.with { r in
            // The higher tier restored from a backup: send and fetch everything again (idempotent).
            try SyncKeys.uplink.adopt(epoch: status.epoch, in: r)
        }
        let own = try ownSites()
        let (root, upstream) = (site, HTTPUpstream.tier(transport))
        let push = PushLoop(access: access, upstream: upstream, keys: .uplink, site: site, schema: CPPCCSchema.version,
                            outgoing: Outgoing(writers: own, withheld: { Tier.isPersonal($0) || ($0.table == "sites" && $0.pk == root) }))
        let pull = PullLoop(access: access, upstream: upstream, keys: .uplink, schema: CPPCCSchema.version, incoming: { r, changes in
            // A conflict between one of the county's sites and the higher tier's own edit is the higher tier's to
            // review: the sites whose versions come down and are not the county's are noted before they merge.
            r.upstreamSites = (r.upstreamSites ?? []).union(Set(changes.map(\.version.site)).subtracting(own))
            // Personal data never comes down (the higher tier never has it), nor the county's own site row; nothing of
            // a row that was never the county's is even stored, so no office pulls it.
            return try Tier.withoutExitsOfRowsNotHeld(changes.filter { !Tier.isPersonal($0) && !($0.table == "sites" && $0.pk == root) }, in: r)
        }, scope: { r in
            // As an office after its pull: forget the rows that left the county's subtree (not a delete, nothing
            // travels), sparing what the county has not yet sent up or had refused.
            let held = Set(try r.held().map { RowKey(table: $0.table, pk: $0.pk) })
            try Tier.forgetOutOfScope(r, county: root, own: own, pushedSince: try SyncKeys.uplink.push(in: r).since, held: held)
            return false
        })
        var summary = Summary()
        do {
            let pushed = try push.run()
            (summary.batches, summary.pushed, summary.applied, summary.conflicts) = (pushed.batches, pushed.sent, pushed.applied, pushed.conflicts)
            summary.held = pushed.setAside.map { ($0.row.table, $0.row.pk, $0.reason) }
            let pulled = try pull.run()
            (summary.pulled, summary.pulledApplied) = (pulled.received, pulled.applied)
        } catch let e as ClientError {
            throw UplinkError.client(server, e)
        } catch let e as EngineError {
            throw UplinkError.client(server, .badResponse(e.description))
        }
        return summary
    }

    /// Site ids this daemon writes under: its own, its registered sites', and (a city syncing up to a province) the
    /// ids its member counties own. Everything else it holds came from the higher tier and is never sent back.
    func ownSites() throws -> Set<String> {
        Set(try store.sites().map(\.id)).union([store.siteID]).union(try store.tierSites().map(\.site))
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
