import CPPCC
import CPSyncCore
import CPSyncHTTP
import CPSyncProtocol
import Foundation

/// The daemon's one responder: routes a request value to a handler and turns every error into an error body, in
/// one place. Handlers are tested through `respond(to:)` without sockets.
public struct Router: HTTPResponder {
    public let sync: SyncService
    public let admin: AdminService
    public let metrics: Metrics
    public let log: EventLog
    public let snapshots: SnapshotService
    let prefetch: PullPrefetch

    public init(store: ServerStore, maxSkewMs: Int64 = ProtocolLimits.maxSkewMs, log: EventLog = EventLog()) {
        let metrics = Metrics()
        self.metrics = metrics
        self.log = log
        sync = SyncService(store: store, maxSkewMs: maxSkewMs, metrics: metrics, log: log)
        admin = AdminService(store: store, log: log)
        snapshots = SnapshotService(store: store, log: log, metrics: metrics)
        prefetch = PullPrefetch(store: store)
        let admin = self.admin
        metrics.gauge("cpsync_conflicts_open") { Double(admin.openConflictCount()) }
    }

    /// Every response carries these: a strict CSP (the admin page loads nothing from elsewhere) and no sniffing.
    static let securityHeaders = [
        ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
    ]

    public func respond(to request: HTTPRequest) -> HTTPResponse {
        let started = Date()
        let (route, response) = route(request)
        var r = WireEncoding.compressed(response, for: request)
        for (k, v) in Self.securityHeaders where r.headers[k] == nil { r.headers.set(k, v) }
        let seconds = Date().timeIntervalSince(started)
        metrics.count("cpsync_http_requests_total", labels: ["route": route, "status": String(r.status)])
        metrics.observe("cpsync_http_request_duration_seconds", seconds: seconds, labels: ["route": route])
        log.event("request", ["method": .text(request.method), "path": .text(request.path), "route": .text(route),
                              "status": .integer(Int64(r.status)), "ms": .number(seconds * 1000),
                              "bytes_in": .integer(Int64(request.body.count)), "bytes_out": .integer(Int64(r.body.count)),
                              "remote": .text(request.remoteAddress)])
        return r
    }

    func route(_ req: HTTPRequest) -> (String, HTTPResponse) {
        let path = req.path
        do throws(ErrorBody) {
            switch (req.method, path) {
            case ("GET", "/v1/health"), ("HEAD", "/v1/health"):
                if let problem = sync.health() { throw problem }
                return ("health", json(HealthResponse()))
            case ("GET", "/v1/status"):
                var status = sync.status()
                status.encodings = WireEncoding.accepted
                return ("status", json(status))
            case ("POST", "/v1/push"):
                guard case .site(let site) = try authenticate(req) else {
                    throw ErrorBody(code: .forbidden, message: "pushes need a site token, not an admin token")
                }
                try tier.refuseOfficeSync(.site(site))
                let (body, replayed): ([UInt8], Bool)
                do { (body, replayed) = try sync.push(try WireEncoding.pushRequest(req), site: site) } catch {
                    admin.activity.refused(site: site, error)
                    throw error
                }
                admin.activity.pushed(site: site, changes: replayed ? nil : (try? PushResponse.decode(body)).map(\.applied))
                var response = HTTPResponse.json(body)
                if replayed { response.headers.set("CPSync-Replayed", "true") }
                return ("push", response)
            case ("POST", "/v1/relay"):
                // A station's changes file carried to a township with a link (Protocol §17.5).
                guard case .site(let relayer) = try authenticate(req) else {
                    throw ErrorBody(code: .forbidden, message: "relaying needs a site token, not an admin token")
                }
                try tier.refuseOfficeSync(.site(relayer))
                return ("relay", .init(status: 200, headers: HTTPHeaders([("Content-Type", "application/octet-stream")]),
                                       body: try ChangeFileImporter(service: sync).relay(req.body, by: relayer)))
            case ("GET", "/v1/pull"):
                let principal = try authenticate(req)
                try tier.refuseOfficeSync(principal)
                let query = try PullQuery(parameters: req.query)
                if let problem = ErrorBody.versionProblem(protocolVersion: query.protocolVersion, officeSchema: query.schemaVersion,
                                                          serverSchema: CPPCCSchema.version) {
                    throw problem
                }
                let served: PullPrefetch.Ready
                if let ready = prefetch.take(PullPrefetch.Key(principal: principal.name, query: query, request: req)) {
                    sync.recordPull(principal, after: query.after, cursor: ready.cursor, changes: ready.changes)
                    metrics.count("cpsync_pull_pages_read_ahead_total")
                    served = ready
                } else {
                    served = try Self.pullPage(sync, query, principal: principal, request: req, record: true)
                }
                if case .site(let site) = principal {
                    admin.activity.pulled(site: site, cursor: served.cursor, hasMore: served.hasMore, unsent: query.unsent)
                }
                if served.hasMore {
                    var following = query
                    following.after = served.cursor
                    let (sync, next) = (sync, following)
                    prefetch.start(PullPrefetch.Key(principal: principal.name, query: next, request: req)) {
                        try? Self.pullPage(sync, next, principal: principal, request: req, record: false)
                    }
                }
                return ("pull", served.response)
            case ("GET", "/v1/snapshot"):
                let principal = try authenticate(req)
                try tier.refuseOfficeSync(principal)
                return ("snapshot", json(try snapshots.manifest(for: principal, query: req.query)))
            case ("GET", "/v1/whoami"):
                return ("whoami", json(try WhoAmI.response(for: try authenticate(req), store: sync.store)))
            case ("POST", "/v1/tier/push"):
                let (body, replayed) = try tier.push(req.body, principal: try authenticate(req))
                var response = HTTPResponse.json(body)
                if replayed { response.headers.set("CPSync-Replayed", "true") }
                return ("tier_push", response)
            case ("GET", "/v1/tier/pull"):
                let principal = try authenticate(req)
                let query = try PullQuery(parameters: req.query)
                if let problem = ErrorBody.versionProblem(protocolVersion: query.protocolVersion, officeSchema: query.schemaVersion,
                                                          serverSchema: CPPCCSchema.version) {
                    throw problem
                }
                return ("tier_pull", json(try tier.pull(after: query.after, since: query.since, limit: query.effectiveLimit(), maxBytes: query.maxBytes, principal: principal)))
            case ("GET", "/metrics"):
                return ("metrics", .text(metrics.render(), contentType: "text/plain; version=0.0.4; charset=utf-8"))
            case ("GET", "/v1/admin/conflicts"):
                try requireAdmin(req)
                return ("admin_conflicts", json(try admin.list(try AdminService.filter(from: req.query), chinese: zh(req))))
            case ("GET", "/v1/admin/audit"):
                try requireAdmin(req)
                return ("admin_audit", json(try admin.audit(try AdminService.filter(from: req.query), chinese: zh(req))))
            case ("GET", "/v1/admin/accounts-audit"):
                try requireAdmin(req)
                return ("admin_accounts_audit", json(try admin.accountsAudit(try AdminService.filter(from: req.query))))
            case ("GET", "/v1/admin/sites"):
                try requireAdmin(req)
                return ("admin_sites", json(try admin.sites()))
            case ("POST", "/v1/admin/sites"):
                let name = try requireAdmin(req)
                var r = json(try admin.createSite(body: req.body, admin: name))
                r.status = 201
                return ("admin_site_add", r)
            case ("POST", "/v1/admin/accounts"):
                let name = try requireAdmin(req)
                var r = json(try admin.createAdmin(body: req.body, admin: name, chinese: zh(req)))
                r.status = 201
                return ("admin_account_add", r)
            case ("GET", "/"):
                var r = HTTPResponse(status: 302)
                r.headers.set("Location", "/admin/")
                return ("root", r)
            default:
                break
            }
            let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            if parts.count == 5, parts[1] == "v1", parts[2] == "admin", parts[3] == "conflicts", req.method == "GET" {
                try requireAdmin(req)
                return ("admin_conflict", json(try admin.show(parts[4], chinese: zh(req))))
            }
            if parts.count == 6, parts[1] == "v1", parts[2] == "admin", parts[3] == "conflicts", parts[5] == "resolve", req.method == "POST" {
                let name = try requireAdmin(req)
                return ("admin_resolve", json(try admin.resolve(parts[4], body: req.body, admin: name, chinese: zh(req))))
            }
            if parts.count == 6, parts[1] == "v1", parts[2] == "admin", parts[3] == "sites", req.method == "POST",
               ["token", "revoke", "move", "kind"].contains(parts[5]) {
                let name = try requireAdmin(req)
                switch parts[5] {
                case "token": return ("admin_site_token", json(try admin.issueToken(parts[4], admin: name)))
                case "revoke": return ("admin_site_revoke", json(try admin.revokeSite(parts[4], admin: name)))
                case "kind": return ("admin_site_kind", json(try admin.setSiteKind(parts[4], body: req.body, admin: name)))
                default: return ("admin_site_move", json(try admin.moveSite(parts[4], body: req.body, admin: name)))
                }
            }
            // An admin name may hold a '/' (the path is decoded before it is split): everything between is the name.
            if parts.count >= 6, parts[1] == "v1", parts[2] == "admin", parts[3] == "accounts", req.method == "POST",
               ["token", "revoke"].contains(parts[parts.count - 1]) {
                let name = try requireAdmin(req), target = parts[4..<(parts.count - 1)].joined(separator: "/")
                if parts.last == "token" {
                    return ("admin_account_token", json(try admin.issueAdminToken(target, admin: name, chinese: zh(req))))
                }
                return ("admin_account_revoke", json(try admin.revokeAdmin(target, admin: name, chinese: zh(req))))
            }
            if parts.count == 4, parts[1] == "v1", parts[2] == "snapshot", req.method == "GET" {
                let principal = try authenticate(req)
                try tier.refuseOfficeSync(principal)
                return ("snapshot_bytes", try snapshots.bytes(parts[3], principal: principal, range: req.headers["Range"]))
            }
            if path == "/admin" || path.hasPrefix("/admin/"), req.method == "GET" || req.method == "HEAD" {
                return ("admin_page", AdminPage.response(for: path))
            }
            if ["/v1/health", "/v1/status", "/v1/push", "/v1/pull", "/metrics", "/v1/admin/conflicts", "/v1/admin/audit",
                "/v1/admin/accounts-audit", "/v1/admin/sites", "/v1/whoami", "/v1/admin/accounts"].contains(path) {
                throw ErrorBody(code: .methodNotAllowed, message: "\(req.method) is not allowed on \(path)")
            }
            throw ErrorBody(code: .notFound, message: "no such endpoint: \(req.method) \(path)")
        } catch {
            var r = HTTPResponse.json(error.encoded(), status: error.httpStatus)
            if error.code == .unauthorized { r.headers.set("WWW-Authenticate", "Bearer realm=\"cpsyncd\"") }
            if error.code == .unavailable { r.headers.set("Retry-After", "5") }
            if error.code == .storageFull || error.code == .storageFailed { r.headers.set("Retry-After", "60") }
            return (routeName(req.path), r)
        }
    }

    /// Waits for pull pages being read ahead (`PullPrefetch`), so that none outlives the server; after `shutdown`.
    public func finishReadsAhead() { prefetch.finish() }

    /// One pull page answered: read, with the server's head, encoded in the form the request asks for and compressed
    /// as `respond` would (so a page read ahead is served as it is). `mark` is left 0: only `PullPrefetch` uses it.
    static func pullPage(_ sync: SyncService, _ query: PullQuery, principal: Principal, request: HTTPRequest,
                         record: Bool) throws(ErrorBody) -> PullPrefetch.Ready {
        var page = try sync.pull(after: query.after, since: query.since, limit: query.effectiveLimit(), maxBytes: query.maxBytes,
                                 principal: principal, record: record)
        page.head = sync.head(atLeast: page.cursor)
        let response = WireEncoding.compressed(WireEncoding.pullResponse(page, for: request), for: request)
        return PullPrefetch.Ready(response: response, changes: page.changes.count, cursor: page.cursor, hasMore: page.hasMore, mark: 0)
    }

    private func routeName(_ path: String) -> String {
        switch path {
        case "/v1/push": "push"
        case "/v1/pull": "pull"
        case "/v1/status": "status"
        case "/v1/health": "health"
        default: path.hasPrefix("/v1/admin") ? "admin" : "other"
        }
    }

    /// County → city → province (Tier.swift).
    private var tier: TierService { TierService(store: sync.store, maxSkewMs: sync.maxSkewMs, log: log) }

    private func zh(_ req: HTTPRequest) -> Bool { FieldLabels.prefersChinese(req.headers["Accept-Language"]) }

    private func json<T: WireMessage>(_ m: T) -> HTTPResponse { .json(m.encoded()) }

    private func authenticate(_ req: HTTPRequest) throws(ErrorBody) -> Principal {
        let principal: Principal?
        do { principal = try sync.store.authenticate(req.bearerToken) } catch {
            throw ErrorBody(code: .serverError, message: "could not check the token: \(error)")
        }
        guard let principal else {
            throw ErrorBody(code: .unauthorized,
                            message: req.bearerToken == nil ? "missing bearer token (Authorization: Bearer …)" : "unknown or revoked token; ask the county office for a new one")
        }
        return principal
    }

    @discardableResult
    private func requireAdmin(_ req: HTTPRequest) throws(ErrorBody) -> String {
        guard case .admin(let name) = try authenticate(req) else {
            throw ErrorBody(code: .forbidden, message: "this needs an admin token; site tokens cannot review conflicts")
        }
        return name
    }
}
