import CLinux
import Glibc

/// What the server object, the event loop and the workers share; every field is immutable or behind a lock.
final class ServerShared: Sendable {
    struct Control {
        var stopping = false
        var graceDeadline = Double.infinity
        var loopRunning = true
        var openConnections = 0
    }

    let configuration: HTTPServerConfiguration
    let responder: any HTTPResponder
    let log: (@Sendable (HTTPAccessLogEntry) -> Void)?
    let waker: LoopWaker
    let control = Locked(Control())
    let completions = Locked<[Completion]>([])
    /// Streamed bodies a worker gave a piece back to (by descriptor and connection serial): the loop reads on.
    let resumes = Locked<[(fd: Int32, connectionID: Int)]>([])
    /// Buffers for streamed bodies, kept between requests (two per worker at most).
    let pieces: BodyPieces
    /// Connections beyond this are refused; the configured limit capped by the descriptor limit.
    let maxConnections: Int

    init(configuration: HTTPServerConfiguration, responder: any HTTPResponder,
         log: (@Sendable (HTTPAccessLogEntry) -> Void)?, waker: LoopWaker, maxConnections: Int) {
        self.configuration = configuration
        self.responder = responder
        self.log = log
        self.waker = waker
        self.maxConnections = maxConnections
        pieces = BodyPieces(kept: 2 * max(4, configuration.workerThreads))
    }

    var isStopping: Bool { control.withLock { $0.stopping } }

    /// A worker's finished response, handed back to the loop to write.
    struct Completion: Sendable {
        let fd: Int32
        let connectionID: Int
        let bytes: [UInt8]
        /// The body's file, opened here, written after `bytes` (`HTTPConnection.file`).
        var file: HTTPConnection.FileBody?
        let close: Bool
        let entry: HTTPAccessLogEntry
    }

    /// Runs on a worker thread: calls the responder (or feeds a streamed body to its consumer), serializes, hands
    /// the bytes to the loop.
    func execute(_ job: Job) {
        if let stream = job.stream {
            stream.run(job, shared: self)
        } else {
            respond(job, with: responder.respond(to: job.request), bodyBytes: job.request.body.count)
        }
    }

    /// A streamed body's piece was given back: the loop may read more of it.
    func resume(fd: Int32, connectionID: Int) {
        resumes.withLock { $0.append((fd, connectionID)) }
        waker.signal()
    }

    /// Serializes the answer to `job` (its request body had `bodyBytes`) and hands it to the loop.
    func respond(_ job: Job, with response: HTTPResponse, bodyBytes: Int) {
        let head = job.head
        var response = response
        var file: HTTPConnection.FileBody?
        if let range = response.file, head.method != "HEAD", range.count > 0 {
            // Opened here, not by the loop: a file that went meanwhile is an error answer, not a cut connection.
            let fileFD = open(range.path, O_RDONLY | O_CLOEXEC)
            if fileFD >= 0 {
                file = HTTPConnection.FileBody(fd: fileFD, offset: range.offset, remaining: range.count)
            } else {
                response = .error(status: 404, code: "not_found", message: "the file is not here any more")
            }
        }
        let responderCloses = response.headers.values(for: "Connection").flatMap(commaSeparatedTokens).contains("close")
        let close = !head.keepAlive || job.isLastAllowed || responderCloses || isStopping
        let bytes = ResponseSerializer.serialize(response, isHEAD: head.method == "HEAD", close: close,
                                                 keepAliveHTTP10: head.minorVersion == 0)
        let entry = HTTPAccessLogEntry(method: head.method, path: head.path,
                                       status: ResponseSerializer.isValid(response) ? response.status : 500,
                                       durationSeconds: 0, requestBytes: head.byteCount + bodyBytes,
                                       responseBytes: 0, remoteAddress: job.request.remoteAddress)
        completions.withLock {
            $0.append(Completion(fd: job.fd, connectionID: job.connectionID, bytes: bytes, file: file, close: close, entry: entry))
        }
        waker.signal()
    }
}

/// The one thread that owns every socket: accepts, reads requests incrementally with `HTTPRequestParser`, hands
/// complete requests to the worker pool, writes responses back, and enforces every deadline. Memory per waiting
/// connection is its parser's received bytes plus a small record; threads do not grow with connections.
final class EventLoop {
    private static let listenTag = UInt64.max
    private static let wakeTag = UInt64.max - 1
    private static let readsPerTurn = 8
    private static let continueBytes = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    private let shared: ServerShared
    private let pool: WorkerPool
    private let epollFD: Int32
    private var listenFD: Int32
    private var connections: [Int32: HTTPConnection] = [:]
    /// Connections whose readiness was not used up in one turn (fairness: at most `readsPerTurn` reads each).
    private var ready: [Int32] = []
    private var nextID = 0
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var stopping = false
    private var graceDeadline = Double.infinity
    private var lastSweep = 0.0
    /// Set while accepting is paused after running out of descriptors.
    private var acceptPausedUntil: Double?
    private var configuration: HTTPServerConfiguration { shared.configuration }

    init(epollFD: Int32, listenFD: Int32, shared: ServerShared, pool: WorkerPool) {
        self.epollFD = epollFD
        self.listenFD = listenFD
        self.shared = shared
        self.pool = pool
    }

    /// An epoll set watching the listener and the waker (level-triggered); nil with `errno` set on failure.
    static func makeEpoll(listenFD: Int32, wakeFD: Int32) -> Int32? {
        let epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { return nil }
        guard register(listenFD, tag: listenTag, events: EPOLLIN.rawValue, in: epollFD),
              register(wakeFD, tag: wakeTag, events: EPOLLIN.rawValue, in: epollFD)
        else {
            let code = errno
            close(epollFD)
            errno = code
            return nil
        }
        return epollFD
    }

    private static func register(_ fd: Int32, tag: UInt64, events: UInt32, in epollFD: Int32) -> Bool {
        var event = epoll_event()
        event.events = events
        event.data.u64 = tag
        return epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) == 0
    }

    /// Runs until shutdown completes: every connection closed, or the grace period over.
    func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        while true {
            let timeout: Int32 = ready.isEmpty ? 50 : 0
            let count = epoll_wait(epollFD, &events, Int32(events.count), timeout)
            for index in 0..<max(0, Int(count)) {
                let tag = events[index].data.u64
                let flags = events[index].events
                switch tag {
                case Self.listenTag:
                    acceptPending()
                case Self.wakeTag:
                    shared.waker.drain()
                    takeCompletions()
                    if !stopping, shared.isStopping { beginStopping() }
                default:
                    guard let connection = connections[Int32(truncatingIfNeeded: tag)] else { continue }
                    if flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
                        connection.readable = true
                    }
                    drive(connection)
                }
            }
            if !ready.isEmpty {
                let turn = ready
                ready.removeAll(keepingCapacity: true)
                for fd in turn { if let connection = connections[fd] { drive(connection) } }
            }
            let now = Socket.now()
            if now - lastSweep >= 0.05 {
                lastSweep = now
                sweep(now: now)
            }
            if let until = acceptPausedUntil, now >= until {
                acceptPausedUntil = nil
                if listenFD >= 0 { _ = Self.register(listenFD, tag: Self.listenTag, events: EPOLLIN.rawValue, in: epollFD) }
            }
            if stopping && (connections.isEmpty || now >= graceDeadline) { break }
        }
        for connection in Array(connections.values) { closeConnection(connection) }
        if listenFD >= 0 { close(listenFD) }
        close(epollFD)
        shared.control.withLock {
            $0.openConnections = 0
            $0.loopRunning = false
        }
    }

    // MARK: accepting

    private func acceptPending() {
        for _ in 0..<256 where listenFD >= 0 {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listenFD, $0, &length) }
            }
            if fd < 0 {
                let code = errno
                if code == EINTR || code == ECONNABORTED { continue }
                if code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM {
                    // Out of descriptors or memory: the level-triggered listener would report again at once, so
                    // stop watching it for 100 ms instead of spinning (the pending connections wait in the backlog).
                    _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, nil)
                    acceptPausedUntil = Socket.now() + 0.1
                }
                return
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            Socket.setNonBlocking(fd)
            Socket.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            let peer = Socket.describe(storage)
            let remote = Socket.formatAddress(host: peer.host, port: peer.port)
            guard connections.count < shared.maxConnections else {
                refuseOverCapacity(fd, remote: remote)
                continue
            }
            nextID += 1
            let connection = HTTPConnection(fd: fd, id: nextID, remoteAddress: remote, configuration: configuration,
                                            now: Socket.now())
            let events = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue
            guard Self.register(fd, tag: UInt64(UInt32(bitPattern: fd)), events: events, in: epollFD) else {
                close(fd)
                continue
            }
            connections[fd] = connection
            shared.control.withLock { $0.openConnections = connections.count }
            drive(connection)
        }
    }

    /// Answers 503 without reading the request and closes; never blocks (the response fits the socket buffer, and
    /// input already received is discarded so the close does not reset the connection).
    private func refuseOverCapacity(_ fd: Int32, remote: String) {
        var response = HTTPResponse.error(status: 503, code: "unavailable",
                                          message: "the server has too many open connections; retry later")
        response.headers.set("Retry-After", String(configuration.retryAfterSeconds))
        let bytes = ResponseSerializer.serialize(response, isHEAD: false, close: true, keepAliveHTTP10: false)
        var sent = 0
        if case .wrote(let n) = Socket.write(fd, bytes, from: 0) { sent = n }
        Socket.halfClose(fd)
        for _ in 0..<16 {
            guard case .bytes = Socket.read(fd, into: &readBuffer) else { break }
        }
        close(fd)
        shared.log?(HTTPAccessLogEntry(method: "-", path: "-", status: 503, durationSeconds: 0, requestBytes: 0,
                                       responseBytes: sent, remoteAddress: remote))
    }

    // MARK: serving a connection

    /// Moves a connection as far as its buffered bytes and socket readiness allow.
    private func drive(_ connection: HTTPConnection) {
        var reads = 0
        while true {
            if connection.written < connection.output.count || connection.file != nil {
                guard flush(connection) else { return }
            }
            if let pending = connection.pending {
                connection.pending = nil
                finishResponse(connection, pending)
                continue
            }
            switch connection.stage {
            case .responding, .writing:
                return
            case .streaming:
                guard readStreamedBody(connection, reads: &reads) else { return }
            case .draining:
                drain(connection)
                return
            case .reading:
                if stopping && !connection.parser.hasPartialRequest {
                    closeConnection(connection)
                    return
                }
                let event: HTTPRequestParser.Event?
                do {
                    event = try connection.parser.next()
                } catch {
                    refuse(connection, error)
                    continue
                }
                switch event {
                case .head(let head):
                    connection.head = head
                    if let limit = shared.responder.streamedBodyLimit(method: head.method, path: head.path) {
                        // Refused before a byte of the body is read, as the server's own limit is.
                        guard head.contentLength <= limit else {
                            refuse(connection, .bodyTooLarge(limit: limit))
                            continue
                        }
                        if head.expectsContinue && head.contentLength > 0 { connection.output += Self.continueBytes }
                        startStream(connection, head: head)
                        continue
                    }
                    if head.expectsContinue && head.contentLength > 0 { connection.output += Self.continueBytes }
                case .request(let head, let body):
                    dispatch(connection, head: head, body: body)
                case nil:
                    guard connection.readable else { return }
                    guard reads < Self.readsPerTurn else {
                        ready.append(connection.fd)
                        return
                    }
                    reads += 1
                    switch Socket.read(connection.fd, into: &readBuffer) {
                    case .bytes(let count):
                        let now = Socket.now()
                        if !connection.parser.hasPartialRequest { connection.requestStartedAt = now }
                        connection.lastProgressAt = now
                        connection.parser.append(readBuffer[0..<count])
                    case .wouldBlock:
                        connection.readable = false
                        return
                    case .end:
                        closeConnection(connection)
                        return
                    }
                }
            }
        }
    }

    /// Writes what the socket takes; true when the output is all written, false when it must wait (or closed it).
    private func flush(_ connection: HTTPConnection) -> Bool {
        while connection.written < connection.output.count {
            switch Socket.write(connection.fd, connection.output, from: connection.written) {
            case .wrote(let count):
                connection.written += count
                connection.lastProgressAt = Socket.now()
            case .wouldBlock:
                return false
            case .failed:
                closeConnection(connection)
                return false
            }
        }
        connection.output = []
        connection.written = 0
        while let file = connection.file {
            switch Socket.sendFile(connection.fd, from: file.fd, at: file.offset, count: file.remaining) {
            case .wrote(let count) where count > 0:
                connection.file?.offset += Int64(count)
                connection.file?.remaining -= count
                if file.remaining == count { connection.closeFile() }
                connection.lastProgressAt = Socket.now()
            case .wouldBlock:
                return false
            case .wrote, .failed:
                // The file ended early (or cannot be read): the answer cannot be completed, the connection must go.
                closeConnection(connection)
                return false
            }
        }
        return true
    }

    /// The job for a request whose head (and, unless it is streamed, body) is here; counts it as served.
    private func makeJob(_ connection: HTTPConnection, head: HTTPRequestHead, body: [UInt8],
                         stream: StreamedBody? = nil) -> Job {
        let started = connection.requestStartedAt ?? Socket.now()
        if connection.served > 0 && started - connection.idleSince >= 1 { connection.sessionStartedAt = started }
        connection.served += 1
        let request = stream?.request ?? HTTPRequest(method: head.method, target: head.target, path: head.path, query: head.query,
                                                     headers: head.headers, body: body, remoteAddress: connection.remoteAddress)
        return Job(fd: connection.fd, connectionID: connection.id, request: request, head: head,
                   isLastAllowed: connection.served >= configuration.maxRequestsPerConnection,
                   sessionStartedAt: connection.sessionStartedAt, stream: stream)
    }

    private func dispatch(_ connection: HTTPConnection, head: HTTPRequestHead, body: [UInt8]) {
        let job = makeJob(connection, head: head, body: body)
        connection.stage = .responding
        let lane = configuration.expressPaths.contains(head.path) ? .light : shared.responder.lane(method: head.method, path: head.path)
        if let retryAfter = pool.submit(job, lane: lane) {
            var response = HTTPResponse.error(status: 503, code: "unavailable",
                                              message: "the server is busy; retry in a moment")
            response.headers.set("Retry-After", String(retryAfter))
            queue(response, on: connection, method: head.method, close: stopping || !head.keepAlive,
                  requestBytes: head.byteCount + body.count)
        }
    }

    // MARK: streamed bodies

    /// A head whose body the responder takes as it arrives: a worker asks the responder for its consumer now, while
    /// the loop reads the body into pieces (`StreamedBody`).
    private func startStream(_ connection: HTTPConnection, head: HTTPRequestHead) {
        let received = connection.parser.streamBody() ?? []
        let request = HTTPRequest(method: head.method, target: head.target, path: head.path, query: head.query,
                                  headers: head.headers, body: [], remoteAddress: connection.remoteAddress)
        let stream = StreamedBody(request: request, head: head, pieces: shared.pieces)
        let job = makeJob(connection, head: head, body: [], stream: stream)
        if let retryAfter = pool.submit(job, lane: .regular) {
            // Not a byte of the body read: the connection cannot go on.
            _ = stream.cut(filling: nil)
            var response = HTTPResponse.error(status: 503, code: "unavailable",
                                              message: "the server is busy; retry in a moment")
            response.headers.set("Retry-After", String(retryAfter))
            queue(response, on: connection, method: head.method, close: true, requestBytes: head.byteCount)
            return
        }
        connection.stream = (body: stream, job: job)
        connection.stage = .streaming
        if !received.isEmpty, let piece = stream.takePiece() {
            // Received with the head: at most the read buffer's 64 KiB, so it fits the first piece.
            received.withUnsafeBytes { piece.base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            piece.count = received.count
            connection.filling = piece
        }
    }

    /// Reads the streamed body into pieces, each full one handed to the workers. True when the body is all read
    /// (the connection now waits for the answer); false when it must wait for bytes, a free piece, or a turn.
    private func readStreamedBody(_ connection: HTTPConnection, reads: inout Int) -> Bool {
        guard let (stream, job) = connection.stream else { return false }
        while true {
            let remaining = connection.parser.remainingStreamedBody
            if remaining == 0 {
                if stream.deliver(connection.filling, last: true) { _ = pool.submit(job, lane: .regular, admitted: true) }
                connection.filling = nil
                connection.stage = .responding
                return true
            }
            if connection.filling == nil {
                // Both pieces are with the workers: wait for one (`resumes`); the peer is not stalling meanwhile.
                guard let piece = stream.takePiece() else {
                    connection.waitingForPiece = true
                    return false
                }
                connection.filling = piece
            }
            guard connection.readable else { return false }
            guard reads < Self.readsPerTurn else {
                ready.append(connection.fd)
                return false
            }
            reads += 1
            let piece = connection.filling!
            // Never past the body: what follows it (a pipelined request) stays in the socket for the parser.
            switch Socket.read(connection.fd, into: piece.base + piece.count, count: min(piece.capacity - piece.count, remaining)) {
            case .bytes(let count):
                connection.lastProgressAt = Socket.now()
                piece.count += count
                connection.parser.streamed(count)
                if piece.count == piece.capacity && count < remaining {
                    if stream.deliver(piece, last: false) { _ = pool.submit(job, lane: .regular, admitted: true) }
                    connection.filling = nil
                }
            case .wouldBlock:
                connection.readable = false
                return false
            case .end:
                closeConnection(connection)
                return false
            }
        }
    }

    /// The streamed body of `connection` will not be read to its end: its pieces go back, its consumer is released.
    private func cutStream(_ connection: HTTPConnection) {
        guard let (stream, job) = connection.stream else { return }
        connection.stream = nil
        if stream.cut(filling: connection.filling) { _ = pool.submit(job, lane: .regular, admitted: true) }
        connection.filling = nil
    }

    /// A response the loop produced itself (refusals, overload).
    private func queue(_ response: HTTPResponse, on connection: HTTPConnection, method: String, close: Bool,
                       requestBytes: Int) {
        let bytes = ResponseSerializer.serialize(response, isHEAD: method == "HEAD", close: close,
                                                 keepAliveHTTP10: connection.head?.minorVersion == 0)
        let entry = HTTPAccessLogEntry(method: connection.head?.method ?? "-", path: connection.head?.path ?? "-",
                                       status: response.status, durationSeconds: 0, requestBytes: requestBytes,
                                       responseBytes: bytes.count, remoteAddress: connection.remoteAddress)
        connection.output += bytes
        connection.pending = .init(entry: entry, close: close)
        connection.stage = .writing
    }

    /// Answers a request the server refused itself, then closes: the rest of its bytes cannot be trusted.
    private func refuse(_ connection: HTTPConnection, _ error: HTTPRequestError) {
        cutStream(connection)
        queue(error.response, on: connection, method: "GET", close: true, requestBytes: connection.head?.byteCount ?? 0)
    }

    private func takeCompletions() {
        let resumed = shared.resumes.withLock { list -> [(fd: Int32, connectionID: Int)] in
            defer { list.removeAll() }
            return list
        }
        for (fd, id) in resumed {
            guard let connection = connections[fd], connection.id == id, connection.stage == .streaming,
                  connection.waitingForPiece else { continue }
            // The wait was the server's: the peer's progress deadline starts again.
            connection.waitingForPiece = false
            connection.lastProgressAt = Socket.now()
            drive(connection)
        }
        let done = shared.completions.withLock { list -> [ServerShared.Completion] in
            defer { list.removeAll() }
            return list
        }
        for completion in done {
            guard let connection = connections[completion.fd], connection.id == completion.connectionID,
                  connection.stage == .responding else {
                if let file = completion.file { close(file.fd) }
                continue
            }
            // Usually nothing is pending: take the bytes as they are instead of copying a large page.
            if connection.output.isEmpty { connection.output = completion.bytes } else { connection.output += completion.bytes }
            connection.file = completion.file
            var entry = completion.entry
            entry.responseBytes = completion.bytes.count + (completion.file?.remaining ?? 0)
            connection.pending = .init(entry: entry, close: completion.close)
            connection.stage = .writing
            connection.lastProgressAt = Socket.now()
            drive(connection)
        }
    }

    /// The response is written: log it, then read the next request or close.
    private func finishResponse(_ connection: HTTPConnection, _ pending: HTTPConnection.PendingResponse) {
        let now = Socket.now()
        var entry = pending.entry
        entry.durationSeconds = now - (connection.requestStartedAt ?? connection.acceptedAt)
        shared.log?(entry)
        connection.head = nil
        connection.stream = nil
        if pending.close {
            Socket.halfClose(connection.fd)
            connection.stage = .draining
            connection.drainUntil = now + min(1, configuration.readTimeoutSeconds)
            return
        }
        connection.stage = .reading
        connection.idleSince = now
        connection.lastProgressAt = now
        // Pipelined bytes already buffered start the next request now.
        connection.requestStartedAt = connection.parser.hasPartialRequest ? now : nil
    }

    /// Discards what the peer still sends until it closes, 1 MiB, or the deadline.
    private func drain(_ connection: HTTPConnection) {
        while true {
            switch Socket.read(connection.fd, into: &readBuffer) {
            case .bytes(let count):
                connection.discarded += count
                if connection.discarded > 1024 * 1024 {
                    closeConnection(connection)
                    return
                }
            case .wouldBlock:
                connection.readable = false
                return
            case .end:
                closeConnection(connection)
                return
            }
        }
    }

    private func closeConnection(_ connection: HTTPConnection) {
        guard connections[connection.fd] === connection else { return }
        connections[connection.fd] = nil
        cutStream(connection)
        if var entry = connection.pending?.entry {
            // The response could not be written: logged as such.
            entry.responseBytes = 0
            entry.durationSeconds = Socket.now() - (connection.requestStartedAt ?? connection.acceptedAt)
            shared.log?(entry)
        }
        // Closing removes the descriptor from the epoll set; a later event for a reused number finds the new record.
        close(connection.fd)
        connection.closeFile()
        shared.control.withLock { $0.openConnections = connections.count }
    }

    // MARK: deadlines and shutdown

    private func sweep(now: Double) {
        var due: [(HTTPConnection, HTTPConnection.TimeoutAction)] = []
        for connection in connections.values {
            if let (at, action) = connection.deadline(configuration), now >= at { due.append((connection, action)) }
        }
        for (connection, action) in due {
            switch action {
            case .requestTimeout:
                refuse(connection, .timeout)
                drive(connection)
            case .close:
                closeConnection(connection)
            }
        }
    }

    /// Stops accepting; idle connections close at once, requests in progress finish with `Connection: close`.
    private func beginStopping() {
        stopping = true
        graceDeadline = shared.control.withLock { $0.graceDeadline }
        if listenFD >= 0 {
            _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, nil)
            close(listenFD)
            listenFD = -1
        }
        for connection in Array(connections.values) where connection.stage == .reading { drive(connection) }
    }
}
