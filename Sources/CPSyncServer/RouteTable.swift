import CPSyncText
import CPPCC
import CPSyncHTTP
import CPSyncProtocol

/// A path such as `/v1/admin/conflicts/{id}/resolve`: literal segments, `{name}` for one segment, and at most one
/// `{name...}` for one segment or more joined by '/' (an admin's name may hold a '/', and the path is decoded before
/// it is split). A parameter may be an empty segment (`/v1/admin/conflicts/` asks for the conflict "").
struct PathPattern: Sendable, CustomStringConvertible {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case one(String)
        case rest(String)
    }

    let segments: [Segment]
    let description: String

    init(_ text: String) {
        precondition(text.hasPrefix("/"), "a path pattern starts with '/': \(text)")
        description = text
        segments = text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map { s in
            guard s.hasPrefix("{"), s.hasSuffix("}") else { return .literal(String(s)) }
            let name = s.dropFirst().dropLast()
            return name.hasSuffix("...") ? .rest(String(name.dropLast(3))) : .one(String(name))
        }
        precondition(segments.filter { if case .rest = $0 { true } else { false } }.count <= 1, "one {name...} at most: \(text)")
    }

    /// The parameters by name when `path` matches, nil when it does not.
    func match(_ path: String) -> [String: String]? { Self.parts(of: path).flatMap(match(parts:)) }

    /// A path's segments, split once for every pattern it is matched against; nil when it does not start with '/'.
    static func parts(of path: String) -> [String]? {
        guard path.hasPrefix("/") else { return nil }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    }

    func match(parts: [String]) -> [String: String]? {
        guard let r = segments.firstIndex(where: { if case .rest = $0 { true } else { false } }) else {
            return parts.count == segments.count ? Self.bind(segments, parts) : nil
        }
        let after = segments.count - r - 1
        guard parts.count >= segments.count,
              var parameters = Self.bind(Array(segments[..<r]) + segments.suffix(after), Array(parts[..<r]) + parts.suffix(after)),
              case .rest(let name) = segments[r] else { return nil }
        parameters[name] = parts[r..<(parts.count - after)].joined(separator: "/")
        return parameters
    }

    private static func bind(_ segments: [Segment], _ parts: [String]) -> [String: String]? {
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let s): guard s == part else { return nil }
            case .one(let name), .rest(let name): parameters[name] = part
            }
        }
        return parameters
    }
}

/// Who may call a route; `Router` checks it before the handler runs, in this order: token, kind of token, and for
/// office sync that the site is not a county below this server (`TierService.refuseOfficeSync`).
enum Access: Sendable, Equatable {
    /// No token needed.
    case open
    /// Any valid token, site or admin.
    case token
    /// Any valid token of an office or an admin: a member county syncs through the tier routes instead.
    case office
    /// A site token of an office; an admin token is refused with `refusal`.
    case site(refusal: String)
    /// An admin token.
    case admin
}

/// One matched request as a handler sees it.
struct Call: Sendable {
    let request: HTTPRequest
    /// The pattern's parameters, by name.
    let parameters: [String: String]
    /// The caller the route's `Access` let in; nil on an `.open` route.
    let caller: Principal?

    /// The caller on a route that needs a token (there `Router` checked it before the handler ran).
    var principal: Principal {
        get throws(ErrorBody) {
            guard let caller else { throw ErrorBody(code: .unauthorized, message: "missing bearer token (Authorization: Bearer …)") }
            return caller
        }
    }

    /// The site's id or the admin's name (the route's `Access` says which); empty on an `.open` route.
    var name: String { caller?.name ?? "" }

    /// The reader's language, by `Accept-Language` (English when it names neither): every message of the answer.
    var language: Language { Language(acceptLanguage: request.headers["Accept-Language"]) }
    var prefersChinese: Bool { language.isChinese }

    subscript(_ parameter: String) -> String { parameters[parameter] ?? "" }
}

/// One endpoint: methods and path, the name it has in metrics and logs, who may call it, the queue it waits in for
/// a worker, and what answers it.
struct Route: Sendable {
    let methods: [String]
    let pattern: PathPattern
    /// The `route` label of `cpsync_http_requests_total` and of the request log line.
    let name: String
    let access: Access
    /// `.light` for small read-only answers that must never wait behind pushes (a literal path only: the event
    /// loop looks it up before the request is queued).
    let lane: RequestLane
    let handle: @Sendable (Router, Call) throws(ErrorBody) -> HTTPResponse
    /// A route that takes its body as it arrives: the most bytes it may have, and what takes them (the call's
    /// `request.body` is then empty). `handle` feeds it a whole body at once (`respond(to:)`, handler tests).
    let streamed: (limit: Int, receive: @Sendable (Router, Call) throws(ErrorBody) -> any BodyReceiver)?

    init(_ methods: String..., path: String, name: String, access: Access, lane: RequestLane = .regular,
         _ handle: @escaping @Sendable (Router, Call) throws(ErrorBody) -> HTTPResponse) {
        self.methods = methods
        pattern = PathPattern(path)
        precondition(lane == .regular || !path.contains("{"), "a light route has a literal path: \(path)")
        self.name = name
        self.access = access
        self.lane = lane
        self.handle = handle
        streamed = nil
    }

    /// A route whose body is streamed to `receive`'s receiver (at most `bodyLimit` bytes, refused with 413 before
    /// any is read).
    init(_ method: String, path: String, name: String, access: Access, bodyLimit: Int,
         receive: @escaping @Sendable (Router, Call) throws(ErrorBody) -> any BodyReceiver) {
        methods = [method]
        pattern = PathPattern(path)
        self.name = name
        self.access = access
        lane = .regular
        streamed = (bodyLimit, receive)
        handle = { r, c throws(ErrorBody) in
            let receiver = try receive(r, c)
            let failure = c.request.body.withUnsafeBytes { bytes -> ErrorBody? in
                do throws(ErrorBody) { try receiver.take(bytes) } catch { return error }
                return nil
            }
            if let failure { throw failure }
            return try receiver.finish()
        }
    }
}

/// What takes a streamed route's body (`Route.streamed`): its pieces in order, then the end.
protocol BodyReceiver: Sendable {
    func take(_ bytes: UnsafeRawBufferPointer) throws(ErrorBody)
    func finish() throws(ErrorBody) -> HTTPResponse
}

/// The routes of a responder, in one list from which dispatch, 405 with `Allow` and the metric names all come.
struct RouteTable: Sendable {
    enum Match {
        case found(Route, parameters: [String: String])
        /// The path is known, the method is not: the methods its routes take, for `Allow`; `route` names it in metrics.
        case methodNotAllowed(Route, allow: [String])
        case notFound
    }

    /// The `route` label of a request to no known path.
    static let unknownRouteName = "other"

    let routes: [Route]
    /// The methods of each light route's path (see `Route.lane`).
    private let light: [String: Set<String>]
    /// The routes that stream their bodies (few: matched for every request head, on the event loop).
    private let streamed: [Route]

    init(_ routes: [Route]) {
        self.routes = routes
        var light: [String: Set<String>] = [:]
        for route in routes where route.lane == .light { light[route.pattern.description, default: []].formUnion(route.methods) }
        self.light = light
        streamed = routes.filter { $0.streamed != nil }
    }

    /// The body limit of the streamed route a request goes to; nil when its body is read whole.
    func streamedBodyLimit(method: String, path: String) -> Int? {
        // Asked on the event loop for every request head: the method rules out most before the path is split.
        guard streamed.contains(where: { $0.methods.contains(method) }), let parts = PathPattern.parts(of: path) else { return nil }
        // The first route of the path must be the streamed one: an earlier route of the same path takes precedence.
        guard streamed.contains(where: { $0.methods.contains(method) && $0.pattern.match(parts: parts) != nil }),
              case .found(let route, _) = match(method: method, path: path) else { return nil }
        return route.streamed?.limit
    }

    /// The lane a request waits in: its route's (by a dictionary lookup: asked on the event loop for every request).
    func lane(method: String, path: String) -> RequestLane {
        light[path]?.contains(method) == true ? .light : .regular
    }

    /// The first route whose path and method match; else whether any route has this path.
    func match(method: String, path: String) -> Match {
        guard let parts = PathPattern.parts(of: path) else { return .notFound }
        var first: Route?
        var allow: [String] = []
        for route in routes {
            guard let parameters = route.pattern.match(parts: parts) else { continue }
            if route.methods.contains(method) { return .found(route, parameters: parameters) }
            first = first ?? route
            allow += route.methods.filter { !allow.contains($0) }
        }
        guard let first else { return .notFound }
        return .methodNotAllowed(first, allow: allow)
    }

    /// Every name a request can be counted under at `/metrics`.
    var metricNames: [String] {
        var names: [String] = []
        for route in routes where !names.contains(route.name) { names.append(route.name) }
        return names + [Self.unknownRouteName]
    }
}
