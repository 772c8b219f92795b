import Foundation
import CLinux
import Glibc

/// A small HTTP/1.1 server: one `epoll` event loop owns every socket, a fixed pool of worker threads runs the
/// responder. Slow, trickling or idle connections cost a record each, not a thread, so they cannot starve the
/// offices; deadlines (head, progress, idle) and a connection limit bound them.
public final class HTTPServer: Sendable {
    private enum Phase { case idle, running, stopping, stopped }

    private struct State {
        var phase = Phase.idle
        var boundPort: UInt16 = 0
        var shared: ServerShared?
        var pool: WorkerPool?
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
        state.withLock { $0.shared }?.control.withLock { $0.openConnections } ?? 0
    }

    /// The connection limit in force: the configured one, capped by the descriptor limit; 0 before `start()`.
    public var effectiveMaxConnections: Int {
        state.withLock { $0.shared?.maxConnections } ?? 0
    }

    /// Binds, listens and starts the event loop and the workers; throws `HTTPServerError` naming the address.
    public func start() throws {
        // A peer closing early must fail a write, not kill the process.
        signal(SIGPIPE, SIG_IGN)
        try state.withLock { state in
            guard state.phase == .idle else { throw HTTPServerError.alreadyStarted }
            let (listenFD, port) = try bindAndListen()
            guard let waker = LoopWaker() else {
                let code = errno
                close(listenFD)
                throw HTTPServerError.socketFailed(operation: "eventfd", address: address, errno: code)
            }
            let workers = configuration.workerThreads > 0 ? configuration.workerThreads
                                                          : max(4, ProcessInfo.processInfo.activeProcessorCount * 4)
            let shared = ServerShared(configuration: configuration, responder: responder, log: log, waker: waker,
                                      maxConnections: Self.connectionLimit(configuration.maxConnections,
                                                                           reserve: 64 + workers + configuration.lightThreads))
            let pool = WorkerPool(capacity: max(1, configuration.maxQueuedRequests), retryAfterSeconds: configuration.retryAfterSeconds)
            guard let epollFD = EventLoop.makeEpoll(listenFD: listenFD, wakeFD: waker.fd) else {
                let code = errno
                close(listenFD)
                throw HTTPServerError.socketFailed(operation: "epoll", address: address, errno: code)
            }
            pool.start(threads: workers, lightThreads: max(1, configuration.lightThreads)) { job in shared.execute(job) }
            state.phase = .running
            state.boundPort = port
            state.shared = shared
            state.pool = pool
            // The loop is created on its own thread: it is confined there and never crosses threads.
            Thread.detachNewThread {
                Thread.current.name = "http-loop"
                EventLoop(epollFD: epollFD, listenFD: listenFD, shared: shared, pool: pool).run()
            }
        }
    }
    /// Stops accepting, closes idle keep-alive connections, lets requests in progress finish and their responses
    /// be written, then returns. Connections still open after `gracePeriodSeconds` are closed; a responder still
    /// computing then is abandoned (its worker thread ends when it returns).
    public func shutdown(gracePeriodSeconds: Double = 30) {
        let (shared, pool) = state.withLock { state -> (ServerShared?, WorkerPool?) in
            guard state.phase == .running else { return (nil, nil) }
            state.phase = .stopping
            return (state.shared, state.pool)
        }
        guard let shared, let pool else { return }
        shared.control.withLock {
            $0.stopping = true
            $0.graceDeadline = Socket.now() + min(max(gracePeriodSeconds, 0), 1e9)
        }
        shared.waker.signal()
        _ = shared.control.wait(until: nil) { !$0.loopRunning }
        pool.stop()
        state.withLock { $0.phase = .stopped }
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

    /// The configured limit, capped by `RLIMIT_NOFILE` less `reserve` descriptors (raising the soft limit toward
    /// the hard one first, as servers do).
    private static func connectionLimit(_ configured: Int, reserve: Int) -> Int {
        var limit = rlimit()
        let resource = Int32(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0 else { return configured }
        let wanted = rlim_t(configured + reserve)
        if limit.rlim_cur < wanted && limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = min(wanted, limit.rlim_max)
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return max(1, min(configured, Int(limit.rlim_cur) - reserve))
    }
}
