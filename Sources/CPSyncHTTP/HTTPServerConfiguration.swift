/// Where the server listens and the limits that keep one client from exhausting it.
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
    /// A request (head and body) must arrive completely within this, counted from its first byte (from accept for
    /// a connection's first request) → 408 and close. Also bounds how long a response write may stall.
    public var readTimeoutSeconds = 30.0
    /// Open connections beyond this are answered 503 with `Connection: close` and closed at once.
    public var maxConnections = 256
    /// After this many requests the response carries `Connection: close`.
    public var maxRequestsPerConnection = 10_000

    public init() {}
}
