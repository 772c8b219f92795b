/// The single seam between the HTTP core and the application: a request value in, a response value out.
///
/// Called on the connection's own thread, so several calls may run concurrently.
public protocol HTTPResponder: Sendable {
    func respond(to request: HTTPRequest) -> HTTPResponse

    /// The queue a request waits in for a worker, from its method and path alone (asked on the event loop, before
    /// the request is queued; it must be cheap). Regular unless the responder says otherwise.
    func lane(method: String, path: String) -> RequestLane
}

extension HTTPResponder {
    public func lane(method: String, path: String) -> RequestLane { .regular }
}

/// Which queue a request waits in for a worker thread.
public enum RequestLane: Sendable, Equatable {
    /// Pushes, pulls and the rest: queued oldest exchange first, at most `maxQueuedRequests`.
    case regular
    /// Small read-only answers (health, status, whoami, metrics): ahead of the regular queue, with threads of their
    /// own besides, so they never wait behind pushes.
    case light
}
