/// Where the server listens and the limits that keep one client from exhausting it.
///
/// Timeouts are about progress, not totals: a slow link that keeps moving bytes is served however long its upload
/// takes; a peer that stops sending is answered 408. Only the request head has a total deadline, because a head is
/// small and a client that trickles it is a slowloris, not a slow link.
public struct HTTPServerConfiguration: Sendable {
    /// A numeric address or a host name; the first address it resolves to is used.
    public var host = "127.0.0.1"
    /// 0 picks a free port; read it back from `HTTPServer.boundPort`.
    public var port: UInt16 = 8710
    /// Request line plus headers; beyond → 431 and close.
    public var maxHeaderBytes = 16 * 1024
    /// Decided from `Content-Length` before the body is read; beyond → 413 and close.
    public var maxBodyBytes = 16 * 1024 * 1024
    /// How long a keep-alive connection may wait for the first byte of its next request; then it is closed.
    public var idleTimeoutSeconds = 30.0
    /// The request line and headers must arrive completely within this, counted from their first byte (from
    /// accept for a connection's first request) → 408 and close.
    public var headerTimeoutSeconds = 10.0
    /// No byte of a request arriving for this long mid-request → 408 and close. Also how long a response write
    /// may make no progress before the connection is dropped.
    public var readTimeoutSeconds = 30.0
    /// Open connections beyond this are answered 503 with `Retry-After` and closed at once. Capped by the
    /// process's descriptor limit (`RLIMIT_NOFILE`, raised to its hard limit when needed) minus a reserve.
    public var maxConnections = 4096
    /// After this many requests the response carries `Connection: close`.
    public var maxRequestsPerConnection = 10_000
    /// Threads that run the responder; 0 picks four per core (responders block on SQLite, not on the network).
    public var workerThreads = 0
    /// Complete requests waiting for a worker beyond this are answered 503 with `Retry-After`.
    public var maxQueuedRequests = 1024
    /// Paths always served in the light lane (see `RequestLane`), besides those the responder names there.
    public var expressPaths: Set<String> = []
    /// Threads that serve only the light lane (the regular workers take light requests first as well).
    public var lightThreads = 2
    /// The shortest `Retry-After` seconds sent with a 503 the server itself produces; a full queue's refusals are
    /// told to come back later, spread over the time the queue takes to drain (see `WorkerPool`).
    public var retryAfterSeconds = 1

    public init() {}
}
