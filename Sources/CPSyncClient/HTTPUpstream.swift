import CPSyncCore
import CPSyncEngine
import CPSyncProtocol

/// An upstream over HTTP: the county for an office (`/v1/push`, `/v1/pull`), the higher tier for a county
/// (`/v1/tier/push`, `/v1/tier/pull`). Bodies go in the forms of `wire` the server lists (`accepts`); the bytes
/// moved are reported to `tracker`.
public struct HTTPUpstream: Upstream {
    public let transport: HTTPTransport
    public let pushPath: String
    public let pullPath: String
    public let wire: WireFormat
    /// The server's `encodings` (its status); nil: plain JSON only.
    public let accepts: [String]?
    let tracker: TransferTracker?
    /// Added to the query of the file uploads (`&relay=1`: a station's changes file relayed, §17.5).
    public var uploadQuery = ""

    init(transport: HTTPTransport, push: String, pull: String, wire: WireFormat, accepts: [String]?, tracker: TransferTracker? = nil) {
        self.transport = transport
        pushPath = push
        pullPath = pull
        self.wire = wire
        self.accepts = accepts
        self.tracker = tracker
    }

    /// A county's upstream: the higher tier's tier endpoints (plain JSON bodies).
    public static func tier(_ transport: HTTPTransport) -> HTTPUpstream {
        HTTPUpstream(transport: transport, push: "/v1/tier/push", pull: "/v1/tier/pull", wire: .plain, accepts: nil)
    }

    public func prepare(_ request: PushRequest) -> PreparedPush {
        let (body, headers) = wire.pushBody(request, serverAccepts: accepts)
        return PreparedPush(request: request, body: body, headers: headers)
    }

    public func push(_ batch: PreparedPush) throws -> PushResponse {
        try transport.call("POST", pushPath, body: batch.body, headers: batch.headers, as: PushResponse.self, progress: tracker.map { t in { t.moved($0) } })
    }

    public func pull(_ query: PullQuery) throws -> PullResponse {
        let r = try transport.send("GET", pullPath + "?" + query.queryString, headers: wire.pullHeaders, progress: tracker.map { t in { t.moved($0) } })
        return try WireFormat.decodePullPage(try transport.checked(r))
    }

    public func refusal(in error: any Error) -> Refusal? {
        guard case ClientError.server(let status, let body)? = error as? ClientError else { return nil }
        return Refusal(status: status, body: body)
    }
}

extension TransferTracker: TransferObserver {}
