import CPSyncText
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
    public let attachments: AttachmentService
    let prefetch: PullPrefetch
    /// The limits `GET /v1/status` announces: the protocol's, with the request body limit the daemon was started with.
    let limits: ServerLimits

    public init(store: ServerStore, maxSkewMs: Int64 = ProtocolLimits.maxSkewMs, maxBodyBytes: Int = ProtocolLimits.maxBodyBytes,
                log: EventLog = EventLog(), attachmentLimits: BlobLimits = BlobLimits()) {
        limits = ServerLimits(maxBodyBytes: maxBodyBytes)
        let metrics = Metrics()
        self.metrics = metrics
        self.log = log
        sync = SyncService(store: store, maxSkewMs: maxSkewMs, metrics: metrics, log: log)
        admin = AdminService(store: store, log: log)
        snapshots = SnapshotService(store: store, log: log, metrics: metrics)
        attachments = AttachmentService(store: store, limits: attachmentLimits, log: log, metrics: metrics)
        prefetch = PullPrefetch(store: store)
        let admin = self.admin
        metrics.gauge("cpsync_conflicts_open") { Double(admin.openConflictCount()) }
    }

    /// Every response carries these: a strict CSP (the admin page loads nothing from elsewhere) and no sniffing.
    static let securityHeaders = [
        ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
    ]

    public func respond(to request: HTTPRequest) -> HTTPResponse {
        let started = Date()
        let (route, response) = route(request)
        return answered(request, route: route, response, started: started, bodyBytes: request.body.count)
    }

    /// The answer as it leaves: compressed when the client takes it, with the security headers, counted and logged.
    func answered(_ request: HTTPRequest, route: String, _ response: HTTPResponse, started: Date, bodyBytes: Int) -> HTTPResponse {
        var r = WireEncoding.compressed(response, for: request)
        for (k, v) in Self.securityHeaders where r.headers[k] == nil { r.headers.set(k, v) }
        let seconds = Date().timeIntervalSince(started)
        metrics.count("cpsync_http_requests_total", labels: ["route": route, "status": String(r.status)])
        metrics.observe("cpsync_http_request_duration_seconds", seconds: seconds, labels: ["route": route])
        log.event("request", ["method": .text(request.method), "path": .text(request.path), "route": .text(route),
                              "status": .integer(Int64(r.status)), "ms": .number(seconds * 1000),
                              "bytes_in": .integer(Int64(bodyBytes)), "bytes_out": .integer(Int64(r.body.count)),
                              "remote": .text(request.remoteAddress)])
        return r
    }

    public func streamedBodyLimit(method: String, path: String) -> Int? {
        Self.routes.streamedBodyLimit(method: method, path: path)
    }

    /// A streamed route's head: admitted (token, kind) and checked by its handler before a byte of the body is read.
    public func receive(_ request: HTTPRequest) -> HTTPBodyReceipt {
        let started = Date()
        guard case .found(let route, let parameters) = Self.routes.match(method: request.method, path: request.path),
              let streamed = route.streamed else { return .answer(respond(to: request)) }
        let language = Language(acceptLanguage: request.headers["Accept-Language"])
        do throws(ErrorBody) {
            let principal = try admit(request, to: route.access)
            let receiver = try streamed.receive(self, Call(request: request, parameters: parameters, caller: principal))
            return .consumer(StreamedRequest(router: self, request: request, route: route.name, language: language,
                                             started: started, receiver: receiver))
        } catch {
            return .answer(answered(request, route: route.name, Self.errorResponse(error, in: language), started: started, bodyBytes: 0))
        }
    }

    /// The lane of a request, from the route table (`Route.lane`).
    public func lane(method: String, path: String) -> RequestLane { Self.routes.lane(method: method, path: path) }

    /// Every endpoint of the daemon (Protocol/README.md §6), in one place: dispatch, 405 with `Allow` for a known path
    /// asked with another method, and the `route` names at `/metrics` all come from here.
    static let routes = RouteTable([
        Route("GET", "HEAD", path: "/v1/health", name: "health", access: .open, lane: .light) { r, _ throws(ErrorBody) in
            if let problem = r.sync.health() { throw problem }
            return r.json(HealthResponse())
        },
        Route("GET", path: "/v1/status", name: "status", access: .open, lane: .light) { r, _ in
            var status = r.sync.status()
            status.limits = r.limits
            status.encodings = WireEncoding.accepted
            status.attachments = r.attachments.limits
            return r.json(status)
        },
        // Attached files' bytes (Protocol §19): state, one chunk up, a range down.
        Route("GET", path: "/v1/blobs/{sha256}/state", name: "blob_state", access: .office) { r, c throws(ErrorBody) in
            r.json(try r.attachments.state(c["sha256"], query: c.request.query, principal: try c.principal))
        },
        // A chunk's bytes go to the partial file as they arrive (`BlobUpload`), not through memory whole.
        Route("PUT", path: "/v1/blobs/{sha256}", name: "blob_put",
              access: .site(refusal: "files are sent by a site's office, not with an admin token"),
              bodyLimit: BlobProtocol.maxChunkBytes) { r, c throws(ErrorBody) in
            let length = c.request.body.isEmpty ? Int(c.request.headers["Content-Length"] ?? "") ?? 0 : c.request.body.count
            return BlobReceiver(upload: try r.attachments.beginUpload(c["sha256"], query: c.request.query, length: length,
                                                                      principal: try c.principal))
        },
        Route("GET", path: "/v1/blobs/{sha256}", name: "blob_get", access: .token) { r, c throws(ErrorBody) in
            try r.attachments.download(c["sha256"], principal: try c.principal, range: c.request.headers["Range"])
        },
        Route("POST", path: "/v1/push", name: "push",
              access: .site(refusal: "pushes need a site token, not an admin token")) { r, c throws(ErrorBody) in try r.push(c) },
        // A station's changes file carried to a township with a link (Protocol §17.5): named in the file store, or
        // (an older township) as the body.
        Route("POST", path: "/v1/relay", name: "relay",
              access: .site(refusal: "relaying needs a site token, not an admin token")) { r, c throws(ErrorBody) in
            let importer = ChangeFileImporter(service: r.sync)
            if let stored = try? RelayFile.decode(c.request.body) { return r.json(try importer.relay(stored: stored, by: c.name)) }
            return HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", "application/octet-stream")]),
                                body: try importer.relay(c.request.body, by: c.name))
        },
        Route("GET", path: "/v1/pull", name: "pull", access: .office) { r, c throws(ErrorBody) in try r.pull(c) },
        Route("GET", path: "/v1/snapshot", name: "snapshot", access: .office) { r, c throws(ErrorBody) in
            r.json(try r.snapshots.manifest(for: try c.principal, query: c.request.query))
        },
        Route("GET", path: "/v1/snapshot/{id}", name: "snapshot_bytes", access: .office) { r, c throws(ErrorBody) in
            try r.snapshots.bytes(c["id"], principal: try c.principal, range: c.request.headers["Range"])
        },
        // The office whose edit lost is told (Protocol §6.7): the open conflicts its own value did not win.
        Route("GET", path: "/v1/conflicts/lost", name: "lost_edits",
              access: .site(refusal: "lost edits are a site's; an admin lists every conflict at /v1/admin/conflicts")) { r, c throws(ErrorBody) in
            r.json(try r.admin.lost(by: c.name, chinese: c.prefersChinese))
        },
        Route("GET", path: "/v1/whoami", name: "whoami", access: .token, lane: .light) { r, c throws(ErrorBody) in
            r.json(try WhoAmI.response(for: try c.principal, store: r.sync.store))
        },
        Route("POST", path: "/v1/tier/push", name: "tier_push", access: .token) { r, c throws(ErrorBody) in
            let (body, replayed) = try r.tier.push(c.request.body, principal: try c.principal)
            return Self.pushed(body, replayed: replayed)
        },
        Route("GET", path: "/v1/tier/pull", name: "tier_pull", access: .token) { r, c throws(ErrorBody) in
            let query = try Self.pullQuery(c.request)
            return r.json(try r.tier.pull(after: query.after, since: query.since, limit: query.effectiveLimit(), maxBytes: query.maxBytes,
                                          principal: try c.principal))
        },
        Route("GET", path: "/metrics", name: "metrics", access: .open, lane: .light) { r, _ in
            .text(r.metrics.render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        },
        Route("GET", path: "/v1/admin/conflicts", name: "admin_conflicts", access: .admin) { r, c throws(ErrorBody) in
            r.json(try r.admin.list(try AdminService.filter(from: c.request.query), chinese: c.prefersChinese))
        },
        Route("GET", path: "/v1/admin/conflicts/{id}", name: "admin_conflict", access: .admin) { r, c throws(ErrorBody) in
            r.json(try r.admin.show(c["id"], chinese: c.prefersChinese))
        },
        Route("POST", path: "/v1/admin/conflicts/{id}/resolve", name: "admin_resolve", access: .admin) { r, c throws(ErrorBody) in
            r.json(try r.admin.resolve(c["id"], body: c.request.body, admin: c.name, chinese: c.prefersChinese))
        },
        Route("GET", path: "/v1/admin/attachments", name: "admin_attachments", access: .admin) { r, c throws(ErrorBody) in
            r.json(try r.attachments.list(query: c.request.query["q"], chinese: c.prefersChinese))
        },
        Route("GET", path: "/v1/admin/audit", name: "admin_audit", access: .admin) { r, c throws(ErrorBody) in
            r.json(try r.admin.audit(try AdminService.filter(from: c.request.query), chinese: c.prefersChinese))
        },
        Route("GET", path: "/v1/admin/accounts-audit", name: "admin_accounts_audit", access: .admin) { r, c throws(ErrorBody) in
            r.json(try r.admin.accountsAudit(try AdminService.filter(from: c.request.query)))
        },
        Route("GET", path: "/v1/admin/sites", name: "admin_sites", access: .admin) { r, _ throws(ErrorBody) in r.json(try r.admin.sites()) },
        Route("POST", path: "/v1/admin/sites", name: "admin_site_add", access: .admin) { r, c throws(ErrorBody) in
            r.json(try r.admin.createSite(body: c.request.body, admin: c.name), status: 201)
        },
        Route("POST", path: "/v1/admin/sites/{id}/token", name: "admin_site_token", access: .admin) { r, c throws(ErrorBody) in
            r.json(try r.admin.issueToken(c["id"], admin: c.name))
        },
        Route("POST", path: "/v1/admin/sites/{id}/revoke", name: "admin_site_revoke", access: .admin) { r, c throws(ErrorBody) in
            r.json(try r.admin.revokeSite(c["id"], admin: c.name))
        },
        Route("POST", path: "/v1/admin/sites/{id}/move", name: "admin_site_move", access: .admin) { r, c throws(ErrorBody) in
            r.json(try r.admin.moveSite(c["id"], body: c.request.body, admin: c.name))
        },
        Route("POST", path: "/v1/admin/sites/{id}/kind", name: "admin_site_kind", access: .admin) { r, c throws(ErrorBody) in
            r.json(try r.admin.setSiteKind(c["id"], body: c.request.body, admin: c.name))
        },
        Route("POST", path: "/v1/admin/accounts", name: "admin_account_add", access: .admin) { r, c throws(ErrorBody) in
            r.json(try r.admin.createAdmin(body: c.request.body, admin: c.name, chinese: c.prefersChinese), status: 201)
        },
        Route("POST", path: "/v1/admin/accounts/{name...}/token", name: "admin_account_token", access: .admin) { r, c throws(ErrorBody) in
            r.json(try r.admin.issueAdminToken(c["name"], admin: c.name, chinese: c.prefersChinese))
        },
        Route("POST", path: "/v1/admin/accounts/{name...}/revoke", name: "admin_account_revoke", access: .admin) { r, c throws(ErrorBody) in
            r.json(try r.admin.revokeAdmin(c["name"], admin: c.name, chinese: c.prefersChinese))
        },
        Route("GET", path: "/", name: "root", access: .open) { _, _ in
            HTTPResponse(status: 302, headers: HTTPHeaders([("Location", "/admin/")]))
        },
        Route("GET", "HEAD", path: "/admin", name: "admin_page", access: .open) { _, c in AdminPage.response(for: c.request.path) },
        Route("GET", "HEAD", path: "/admin/{file...}", name: "admin_page", access: .open) { _, c in AdminPage.response(for: c.request.path) },
    ])

    /// The request's route name (for metrics and the log) and its answer; every error becomes an error body here.
    func route(_ req: HTTPRequest) -> (String, HTTPResponse) {
        switch Self.routes.match(method: req.method, path: req.path) {
        case .found(let route, let parameters):
            do throws(ErrorBody) {
                let principal = try admit(req, to: route.access)
                return (route.name, try route.handle(self, Call(request: req, parameters: parameters, caller: principal)))
            } catch {
                return (route.name, Self.errorResponse(error, in: Language(acceptLanguage: req.headers["Accept-Language"])))
            }
        case .methodNotAllowed(let route, let allow):
            var r = Self.errorResponse(ErrorBody(code: .methodNotAllowed, message: "\(req.method) is not allowed on \(req.path)"))
            r.headers.set("Allow", allow.joined(separator: ", "))
            return (route.name, r)
        case .notFound:
            return (RouteTable.unknownRouteName,
                    Self.errorResponse(ErrorBody(code: .notFound, message: "no such endpoint: \(req.method) \(req.path)")))
        }
    }

    /// An error as its JSON body with its status, and the headers that tell a client what to do next. One language
    /// rule for every body: `message` is in the request's language (`Accept-Language`) where the server has words for
    /// the refusal (`localized`), else the English detail; `Content-Language` says which.
    static func errorResponse(_ error: ErrorBody, in language: Language = .english) -> HTTPResponse {
        var error = error
        let written = error.localized == nil ? Language.english : language
        if let localized = error.localized { error.message = localized.text(in: language) }
        var r = HTTPResponse.json(error.encoded(), status: error.httpStatus)
        r.headers.set("Content-Language", written.rawValue)
        if error.code == .unauthorized { r.headers.set("WWW-Authenticate", "Bearer realm=\"cpsyncd\"") }
        if error.code == .unavailable { r.headers.set("Retry-After", "5") }
        if error.code == .storageFull || error.code == .storageFailed { r.headers.set("Retry-After", "60") }
        return r
    }

    /// An office's push: what it applied is noted for the dashboard (`SiteActivity`), and so is a refusal.
    private func push(_ call: Call) throws(ErrorBody) -> HTTPResponse {
        let site = call.name
        let answer: SyncService.PushAnswer
        do { answer = try sync.push(try WireEncoding.pushRequest(call.request), site: site) } catch {
            admin.activity.refused(site: site, error)
            throw error
        }
        admin.activity.pushed(site: site, changes: answer.applied)
        return Self.pushed(answer.bytes, replayed: answer.replayed)
    }

    private static func pushed(_ body: [UInt8], replayed: Bool) -> HTTPResponse {
        var response = HTTPResponse.json(body)
        if replayed { response.headers.set("CPSync-Replayed", "true") }
        return response
    }

    /// An office's pull: a page read ahead while the office took the one before is served if nothing was committed
    /// since, and the next page is read ahead when there is one (`PullPrefetch`).
    private func pull(_ call: Call) throws(ErrorBody) -> HTTPResponse {
        let (req, principal) = (call.request, try call.principal)
        let query = try Self.pullQuery(req)
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
        return served.response
    }

    /// A pull's query, refused when the office speaks another protocol or schema version.
    private static func pullQuery(_ req: HTTPRequest) throws(ErrorBody) -> PullQuery {
        let query = try PullQuery(parameters: req.query)
        if let problem = ErrorBody.versionProblem(protocolVersion: query.protocolVersion, officeSchema: query.schemaVersion,
                                                  serverSchema: CPPCCSchema.version) {
            throw problem
        }
        return query
    }

    /// Waits for pull pages being read ahead (`PullPrefetch`), so that none outlives the server; after `shutdown`.
    public func finishReadsAhead() { prefetch.finish() }

    /// One pull page answered: read, with the server's head, encoded in the form the request asks for and compressed
    /// as `respond` would (so a page read ahead is served as it is). `mark` is left 0: only `PullPrefetch` uses it.
    static func pullPage(_ sync: SyncService, _ query: PullQuery, principal: Principal, request: HTTPRequest,
                         record: Bool) throws(ErrorBody) -> PullPrefetch.Ready {
        let page = try sync.pull(after: query.after, since: query.since, limit: query.effectiveLimit(), maxBytes: query.maxBytes,
                                 principal: principal, record: record)
        let response = WireEncoding.compressed(WireEncoding.pullResponse(page, for: request), for: request)
        return PullPrefetch.Ready(response: response, changes: page.changes.count, cursor: page.cursor, hasMore: page.hasMore, mark: 0)
    }

    /// County → city → province (Tier.swift).
    private var tier: TierService { TierService(store: sync.store, maxSkewMs: sync.maxSkewMs, log: log) }

    private func json<T: WireMessage>(_ m: T, status: Int = 200) -> HTTPResponse { .json(m.encoded(), status: status) }

    /// The caller a route's `Access` lets in (nil on an open route), or the refusal.
    private func admit(_ req: HTTPRequest, to access: Access) throws(ErrorBody) -> Principal? {
        switch access {
        case .open:
            return nil
        case .token:
            return try authenticate(req)
        case .office:
            let (principal, memberCounty) = try authenticateNotingTier(req)
            try tier.refuseOfficeSync(principal, memberCounty: memberCounty)
            return principal
        case .site(let refusal):
            let (principal, memberCounty) = try authenticateNotingTier(req)
            guard case .site = principal else { throw ErrorBody(code: .forbidden, message: refusal) }
            try tier.refuseOfficeSync(principal, memberCounty: memberCounty)
            return principal
        case .admin:
            let principal = try authenticate(req)
            guard case .admin = principal else {
                throw ErrorBody(code: .forbidden, message: "this needs an admin token; site tokens cannot review conflicts")
            }
            return principal
        }
    }

    private func authenticate(_ req: HTTPRequest) throws(ErrorBody) -> Principal { try authenticateNotingTier(req).principal }

    /// The request's principal, and whether it is a county registered below this server (one read for both).
    private func authenticateNotingTier(_ req: HTTPRequest) throws(ErrorBody) -> (principal: Principal, memberCounty: Bool) {
        let found: (principal: Principal, memberCounty: Bool)?
        do { found = try sync.store.authenticateNotingTier(req.bearerToken) } catch {
            throw ErrorBody(code: .serverError, message: "could not check the token: \(error)")
        }
        guard let found else {
            throw ErrorBody(code: .unauthorized,
                            message: req.bearerToken == nil ? "missing bearer token (Authorization: Bearer …)" : "unknown or revoked token; ask the county office for a new one")
        }
        return found
    }
}

/// A streamed request's body going to its route's receiver, each refusal rendered as `route` renders it.
struct StreamedRequest: HTTPBodyConsumer {
    let router: Router
    let request: HTTPRequest
    let route: String
    let language: Language
    let started: Date
    let receiver: any BodyReceiver

    func consume(_ bytes: UnsafeRawBufferPointer) -> HTTPResponse? {
        do throws(ErrorBody) {
            try receiver.take(bytes)
            return nil
        } catch {
            return answer(Router.errorResponse(error, in: language))
        }
    }

    func finish() -> HTTPResponse {
        do throws(ErrorBody) { return answer(try receiver.finish()) } catch {
            return answer(Router.errorResponse(error, in: language))
        }
    }

    private func answer(_ response: HTTPResponse) -> HTTPResponse {
        let length = Int(request.headers["Content-Length"] ?? "") ?? 0
        return router.answered(request, route: route, response, started: started, bodyBytes: length)
    }
}

/// A blob chunk's bytes to its upload (`PUT /v1/blobs/{sha256}`).
struct BlobReceiver: BodyReceiver {
    let upload: BlobUpload

    func take(_ bytes: UnsafeRawBufferPointer) throws(ErrorBody) { try upload.take(bytes) }
    func finish() throws(ErrorBody) -> HTTPResponse { .json(try upload.finish().encoded()) }
}
