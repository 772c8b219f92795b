/// The single seam between the HTTP core and the application: a request value in, a response value out.
///
/// Called on the connection's own thread, so several calls may run concurrently.
public protocol HTTPResponder: Sendable {
    func respond(to request: HTTPRequest) -> HTTPResponse

    /// The queue a request waits in for a worker, from its method and path alone (asked on the event loop, before
    /// the request is queued; it must be cheap). Regular unless the responder says otherwise.
    func lane(method: String, path: String) -> RequestLane

    /// The most body bytes a request to `method` and `path` may carry when its body is to be taken as it arrives
    /// (`receive`), or nil to have it read whole and passed to `respond(to:)` (the default). Asked on the event loop
    /// for every request head, so it must be cheap. The server's `maxBodyBytes` still applies as well.
    func streamedBodyLimit(method: String, path: String) -> Int?

    /// A request whose body is streamed (`streamedBodyLimit`), called on a worker as soon as its head is here (its
    /// `body` empty, `Content-Length` within the limit): a consumer for the body, or the answer now. Either way the
    /// server reads the whole body before it writes the answer (bytes a consumer did not take are discarded).
    func receive(_ request: HTTPRequest) -> HTTPBodyReceipt
}

extension HTTPResponder {
    public func lane(method: String, path: String) -> RequestLane { .regular }
    public func streamedBodyLimit(method: String, path: String) -> Int? { nil }
    public func receive(_ request: HTTPRequest) -> HTTPBodyReceipt { .answer(respond(to: request)) }
}

/// What a responder makes of a streamed request's head (`HTTPResponder.receive`).
public enum HTTPBodyReceipt: Sendable {
    /// The body goes to this consumer, piece by piece.
    case consumer(any HTTPBodyConsumer)
    /// Answered without the body (refused: not allowed, out of step…); the body is read and discarded.
    case answer(HTTPResponse)
}

/// Takes a request body piece by piece, in order, as the server reads it, then answers. Its calls come one at a
/// time, each on some worker thread; none overlaps another.
///
/// A body the server cannot read to its end (the peer closed or stalled, the server is stopping) ends without
/// `finish`: the consumer is released (on a worker), and what it keeps of the bytes it took is its own affair.
public protocol HTTPBodyConsumer: Sendable {
    /// The next bytes of the body (valid during the call only). Nil to go on; an answer ends the consuming: the
    /// rest of the body is discarded and the answer written once the body is read.
    func consume(_ bytes: UnsafeRawBufferPointer) -> HTTPResponse?
    /// Every byte of the body was taken: the answer.
    func finish() -> HTTPResponse
}

/// Which queue a request waits in for a worker thread.
public enum RequestLane: Sendable, Equatable {
    /// Pushes, pulls and the rest: queued oldest exchange first, at most `maxQueuedRequests`.
    case regular
    /// Small read-only answers (health, status, whoami, metrics): ahead of the regular queue, with threads of their
    /// own besides, so they never wait behind pushes.
    case light
}
