/// One client connection, served on its own thread: read, parse, respond, repeat while keep-alive allows.
struct HTTPConnection: Sendable {
    let fd: Int32
    let remoteAddress: String
    let configuration: HTTPServerConfiguration
    let responder: any HTTPResponder
    let log: (@Sendable (HTTPAccessLogEntry) -> Void)?
    let wake: WakePipe
    let isStopping: @Sendable () -> Bool

    /// Serves requests until the connection should close; the caller closes the descriptor.
    func run() {
        var parser = HTTPRequestParser(maxHeaderBytes: configuration.maxHeaderBytes,
                                       maxBodyBytes: configuration.maxBodyBytes)
        var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
        var served = 0
        // The first request's read deadline counts from accept, so a silent connection cannot hold a slot.
        var requestStartedAt: Double? = Socket.now()
        var firstByteAt: Double?
        var idleSince = Socket.now()
        var currentHead: HTTPRequestHead?

        while true {
            let event: HTTPRequestParser.Event?
            do {
                event = try parser.next()
            } catch {
                refuse(error, head: currentHead, startedAt: firstByteAt ?? Socket.now())
                return
            }

            switch event {
            case .head(let head):
                currentHead = head
                if head.expectsContinue && head.contentLength > 0 {
                    guard Socket.sendAll(fd, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8),
                                         stallTimeout: configuration.readTimeoutSeconds) else { return }
                }
                continue
            case .request(let head, let body):
                served += 1
                let keepOpen = respond(to: head, body: body, startedAt: firstByteAt ?? Socket.now(),
                                       isLastAllowed: served >= configuration.maxRequestsPerConnection)
                guard keepOpen else { return }
                currentHead = nil
                idleSince = Socket.now()
                // Pipelined bytes already buffered start the next request now.
                requestStartedAt = parser.hasPartialRequest ? idleSince : nil
                firstByteAt = requestStartedAt
                continue
            case nil:
                break
            }

            let partial = parser.hasPartialRequest
            if !partial && isStopping() { return }
            let deadline: Double
            if let requestStartedAt {
                deadline = requestStartedAt + configuration.readTimeoutSeconds
            } else {
                deadline = idleSince + configuration.idleTimeoutSeconds
            }
            switch Socket.waitReadable(fd, wakeFD: partial ? nil : wake.readFD, deadline: deadline) {
            case .ready:
                let count = Socket.receive(fd, into: &readBuffer)
                guard count > 0 else { return }
                if !partial {
                    firstByteAt = Socket.now()
                    if requestStartedAt == nil { requestStartedAt = firstByteAt }
                }
                parser.append(readBuffer[0..<count])
            case .timedOut:
                // A stall mid-request is a slow (or slowloris) client: say so. An idle connection just closes.
                if partial { refuse(.timeout, head: currentHead, startedAt: firstByteAt ?? Socket.now()) }
                return
            case .woken, .failed:
                return
            }
        }
    }

    /// Calls the responder and writes its response; returns whether the connection stays open.
    private func respond(to head: HTTPRequestHead, body: [UInt8], startedAt: Double, isLastAllowed: Bool) -> Bool {
        let request = HTTPRequest(method: head.method, target: head.target, path: head.path, query: head.query,
                                  headers: head.headers, body: body, remoteAddress: remoteAddress)
        let response = responder.respond(to: request)
        let responderCloses = response.headers.values(for: "Connection").flatMap(commaSeparatedTokens).contains("close")
        let close = !head.keepAlive || isLastAllowed || responderCloses || isStopping()
        let bytes = ResponseSerializer.serialize(response, isHEAD: head.method == "HEAD", close: close,
                                                 keepAliveHTTP10: head.minorVersion == 0)
        let written = Socket.sendAll(fd, bytes, stallTimeout: configuration.readTimeoutSeconds)
        log?(HTTPAccessLogEntry(method: head.method, path: head.path,
                                status: ResponseSerializer.isValid(response) ? response.status : 500,
                                durationSeconds: Socket.now() - startedAt,
                                requestBytes: head.byteCount + body.count, responseBytes: written ? bytes.count : 0,
                                remoteAddress: remoteAddress))
        if written && close { Socket.lingeringClose(fd, seconds: min(1, configuration.readTimeoutSeconds)) }
        return written && !close
    }

    /// Answers a request the server refused itself, then closes: the rest of its bytes cannot be trusted.
    private func refuse(_ error: HTTPRequestError, head: HTTPRequestHead?, startedAt: Double) {
        let bytes = ResponseSerializer.serialize(error.response, isHEAD: false, close: true, keepAliveHTTP10: false)
        let written = Socket.sendAll(fd, bytes, stallTimeout: configuration.readTimeoutSeconds)
        log?(HTTPAccessLogEntry(method: head?.method ?? "-", path: head?.path ?? "-", status: error.status,
                                durationSeconds: Socket.now() - startedAt, requestBytes: head?.byteCount ?? 0,
                                responseBytes: written ? bytes.count : 0, remoteAddress: remoteAddress))
        if written { Socket.lingeringClose(fd, seconds: min(1, configuration.readTimeoutSeconds)) }
    }
}
