/// One line of access log, reported after the response was written (or the connection failed writing it).
public struct HTTPAccessLogEntry: Sendable, Equatable {
    /// `-` when the request was refused before its request line was understood.
    public var method: String
    /// The decoded path, or `-` when unknown.
    public var path: String
    public var status: Int
    /// From the request's first byte to the response's last byte.
    public var durationSeconds: Double
    /// Head and body bytes of the request.
    public var requestBytes: Int
    /// Bytes written for the response (0 when writing failed).
    public var responseBytes: Int
    public var remoteAddress: String

    public init(method: String, path: String, status: Int, durationSeconds: Double, requestBytes: Int,
                responseBytes: Int, remoteAddress: String) {
        self.method = method
        self.path = path
        self.status = status
        self.durationSeconds = durationSeconds
        self.requestBytes = requestBytes
        self.responseBytes = responseBytes
        self.remoteAddress = remoteAddress
    }
}
