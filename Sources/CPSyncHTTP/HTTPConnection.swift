import Glibc

/// One client connection's state. Confined to the event loop thread (never `Sendable`); holds no buffer of its
/// own beyond the bytes the peer actually sent (and, while a body is streamed, the piece it fills), so a waiting
/// socket costs a few hundred bytes.
final class HTTPConnection {
    enum Stage {
        /// Reading (or waiting for) the next request.
        case reading
        /// The body of a request is read into pieces that workers hand to the responder's consumer as they fill
        /// (`StreamedBody`); never past the body's end.
        case streaming
        /// A complete request is with a worker; nothing is read meanwhile (pipelined bytes wait in the socket).
        case responding
        /// A response is being written.
        case writing
        /// The last response is written and our side half-closed; the peer's remaining bytes are discarded until it
        /// closes or `drainUntil` passes, so closing with unread input cannot reset the response away (RFC 9112 §9.6).
        case draining
    }

    /// What to do once the output buffer is written.
    struct PendingResponse {
        var entry: HTTPAccessLogEntry
        var close: Bool
    }

    let fd: Int32
    let id: Int
    let remoteAddress: String
    let acceptedAt: Double
    var parser: HTTPRequestParser
    var stage = Stage.reading
    /// Bytes to write and how many are written already.
    var output: [UInt8] = []
    var written = 0
    /// The rest of a body written from a file, after `output`.
    var file: FileBody?
    var pending: PendingResponse?
    /// The head of the request being read, once it is complete.
    var head: HTTPRequestHead?
    /// The first byte of the current request (nil while idle).
    var requestStartedAt: Double?
    /// The last time a byte moved either way; progress deadlines count from here.
    var lastProgressAt: Double
    var idleSince: Double
    /// When the current exchange began: the first request after the connection was idle for a second or more.
    var sessionStartedAt: Double
    var served = 0
    /// Edge-triggered readiness not yet used up: the socket may have bytes we have not read.
    var readable = true
    var drainUntil = 0.0
    var discarded = 0
    /// The body being streamed, and the job that feeds it to the workers (stage `.streaming` to the answer's end).
    var stream: (body: StreamedBody, job: Job)?
    /// The piece of the streamed body being filled.
    var filling: BodyPiece?
    /// Every piece of the streamed body is with the workers: reading waits for one (the server's delay, not the peer's).
    var waitingForPiece = false

    /// A response body still to be sent from an open file (`HTTPResponse.file`).
    struct FileBody: Sendable {
        let fd: Int32
        var offset: Int64
        var remaining: Int
    }

    func closeFile() {
        if let file { close(file.fd) }
        file = nil
    }

    init(fd: Int32, id: Int, remoteAddress: String, configuration: HTTPServerConfiguration, now: Double) {
        self.fd = fd
        self.id = id
        self.remoteAddress = remoteAddress
        self.acceptedAt = now
        self.lastProgressAt = now
        self.idleSince = now
        self.sessionStartedAt = now
        parser = HTTPRequestParser(maxHeaderBytes: configuration.maxHeaderBytes,
                                   maxBodyBytes: configuration.maxBodyBytes)
    }

    /// When this connection must be acted on if nothing happens, and what is due then.
    func deadline(_ configuration: HTTPServerConfiguration) -> (at: Double, action: TimeoutAction)? {
        switch stage {
        case .reading:
            if parser.hasPartialRequest {
                let stall = lastProgressAt + configuration.readTimeoutSeconds
                // The first request's head counts from accept, so a silent or trickling connection cannot hold a slot.
                let headStart = served == 0 ? acceptedAt : (requestStartedAt ?? lastProgressAt)
                let headDeadline = head == nil ? headStart + configuration.headerTimeoutSeconds : .infinity
                return (min(stall, headDeadline), .requestTimeout)
            }
            if served == 0 {
                return (acceptedAt + min(configuration.headerTimeoutSeconds, configuration.idleTimeoutSeconds), .close)
            }
            return (idleSince + configuration.idleTimeoutSeconds, .close)
        case .streaming:
            // A stall counts only while the server is ready for more; waiting for a worker is not the peer's fault.
            return waitingForPiece ? nil : (lastProgressAt + configuration.readTimeoutSeconds, .requestTimeout)
        case .responding:
            return nil
        case .writing:
            return (lastProgressAt + configuration.readTimeoutSeconds, .close)
        case .draining:
            return (drainUntil, .close)
        }
    }

    enum TimeoutAction {
        /// Answer 408 and close: a stalled or trickling request.
        case requestTimeout
        /// Close silently: idle, stalled write, or lingering close done.
        case close
    }
}
