import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small HTTP/1.1 server: one accept thread, one thread per connection, a responder for every request.
public final class HTTPServer: Sendable {
    private enum Phase { case idle, running, stopping, stopped }

    private struct State {
        var phase = Phase.idle
        var boundPort: UInt16 = 0
        var wake: WakePipe?
        var acceptThreadRunning = false
        /// Open connections by id; the descriptors let `shutdown` abort them after the grace period.
        var connections: [Int: Int32] = [:]
        var nextConnectionID = 0
    }

    private let configuration: HTTPServerConfiguration
    private let responder: any HTTPResponder
    private let log: (@Sendable (HTTPAccessLogEntry) -> Void)?
    private let state = Locked(State())

    public init(configuration: HTTPServerConfiguration, responder: any HTTPResponder,
                log: (@Sendable (HTTPAccessLogEntry) -> Void)? = nil) {
        self.configuration = configuration
        self.responder = responder
        self.log = log
    }

    /// The port actually bound (useful with port 0); 0 before `start()`.
    public var boundPort: UInt16 {
        state.withLock { $0.boundPort }
    }

    /// The number of open connections.
    public var openConnectionCount: Int {
        state.withLock { $0.connections.count }
    }

    /// Binds, listens and starts accepting on a background thread; throws `HTTPServerError` naming the address.
    public func start() throws {
        // A peer closing early must fail a write, not kill the process.
        signal(SIGPIPE, SIG_IGN)
        try state.withLock { state in
            guard state.phase == .idle else { throw HTTPServerError.alreadyStarted }
            let (listenFD, port) = try bindAndListen()
            guard let wake = WakePipe() else {
                close(listenFD)
                throw HTTPServerError.socketFailed(operation: "pipe", address: address, errno: errno)
            }
            state.phase = .running
            state.boundPort = port
            state.wake = wake
            state.acceptThreadRunning = true
            Thread.detachNewThread { [self] in
                acceptLoop(listenFD: listenFD, wake: wake)
            }
        }
    }

    /// Stops accepting, closes idle keep-alive connections, lets requests in progress finish and their responses
    /// be written, then returns. Connections still open after `gracePeriodSeconds` are aborted; a responder that
    /// is still computing after that and one more second is abandoned (its thread ends when it returns).
    public func shutdown(gracePeriodSeconds: Double = 30) {
        let wake = state.withLock { state -> WakePipe? in
            guard state.phase == .running else { return nil }
            state.phase = .stopping
            return state.wake
        }
        guard let wake else { return }
        wake.signal()
        _ = state.wait(until: nil) { !$0.acceptThreadRunning }
        if !state.wait(until: Date(timeIntervalSinceNow: min(max(gracePeriodSeconds, 0), 1e9)), for: { $0.connections.isEmpty }) {
            state.withLock { state in
                // Under the lock: a descriptor is unregistered before it is closed, so it cannot have been reused.
                for fd in state.connections.values { Socket.abort(fd) }
            }
            _ = state.wait(until: Date(timeIntervalSinceNow: 1)) { $0.connections.isEmpty }
        }
        state.withLock { state in
            state.phase = .stopped
            state.wake = nil
        }
    }

    private var address: String {
        Socket.formatAddress(host: configuration.host, port: configuration.port)
    }

    private func bindAndListen() throws -> (fd: Int32, port: UInt16) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Socket.streamType
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var results: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(configuration.host, String(configuration.port), &hints, &results)
        guard rc == 0, let info = results?.pointee else {
            let reason = rc == 0 ? "no address" : String(cString: gai_strerror(rc))
            throw HTTPServerError.cannotResolve(host: configuration.host, reason: reason)
        }
        defer { freeaddrinfo(results) }

        let fd = socket(info.ai_family, info.ai_socktype, info.ai_protocol)
        guard fd >= 0 else { throw HTTPServerError.socketFailed(operation: "socket", address: address, errno: errno) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        Socket.setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
        func fail(_ operation: String) -> HTTPServerError {
            let code = errno
            close(fd)
            return code == EADDRINUSE ? .addressInUse(address: address)
                                      : .socketFailed(operation: operation, address: address, errno: code)
        }
        guard bind(fd, info.ai_addr, info.ai_addrlen) == 0 else { throw fail("bind") }
        guard listen(fd, SOMAXCONN) == 0 else { throw fail("listen") }
        // Non-blocking so a connection that vanishes between poll and accept cannot stall the accept thread.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)

        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw fail("getsockname") }
        return (fd, Socket.describe(storage).port)
    }

    private func acceptLoop(listenFD: Int32, wake: WakePipe) {
        defer {
            close(listenFD)
            state.withLock { $0.acceptThreadRunning = false }
        }
        while true {
            var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wake.readFD, events: Int16(POLLIN), revents: 0)]
            let rc = poll(&fds, 2, -1)
            if rc < 0 && errno != EINTR { usleep(10_000) }
            if fds[1].revents != 0 { return }
            guard rc > 0, fds[0].revents != 0 else { continue }

            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listenFD, $0, &length) }
            }
            if fd < 0 {
                // Out of descriptors or memory: back off instead of spinning; the rest are transient.
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM { usleep(10_000) }
                continue
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
            Socket.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            let peer = Socket.describe(storage)
            let remote = Socket.formatAddress(host: peer.host, port: peer.port)

            let id = state.withLock { state -> Int? in
                guard state.connections.count < configuration.maxConnections else { return nil }
                state.nextConnectionID += 1
                state.connections[state.nextConnectionID] = fd
                return state.nextConnectionID
            }
            guard let id else {
                refuseOverCapacity(fd, remote: remote)
                continue
            }
            let connection = HTTPConnection(fd: fd, remoteAddress: remote, configuration: configuration,
                                            responder: responder, log: log, wake: wake,
                                            isStopping: { [self] in state.withLock { $0.phase != .running } })
            Thread.detachNewThread { [self] in
                connection.run()
                state.withLock { _ = $0.connections.removeValue(forKey: id) }
                close(fd)
            }
        }
    }

    /// Answers 503 without reading the request, on the accept thread; never blocks (the response fits the
    /// socket buffer, and input already received is discarded so the close does not reset the connection).
    private func refuseOverCapacity(_ fd: Int32, remote: String) {
        let response = HTTPResponse.error(status: 503, code: "too_many_connections",
                                          message: "the server has too many open connections; retry later")
        let bytes = ResponseSerializer.serialize(response, isHEAD: false, close: true, keepAliveHTTP10: false)
        let sent = bytes.withUnsafeBytes {
            send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
        }
        Socket.halfClose(fd)
        var scratch = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<16 {
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n <= 0 { break }
        }
        close(fd)
        log?(HTTPAccessLogEntry(method: "-", path: "-", status: 503, durationSeconds: 0, requestBytes: 0,
                                responseBytes: max(sent, 0), remoteAddress: remote))
    }
}
