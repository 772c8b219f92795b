import Foundation
import Glibc
import Testing
@testable import CPSyncHTTP

/// `/slow` sleeps 0.5 s (flagging that it started); everything else answers with the body's length.
private struct LengthResponder: HTTPResponder {
    let slowStarted = Locked(0)

    func respond(to request: HTTPRequest) -> HTTPResponse {
        if request.path == "/slow" {
            slowStarted.withLock { $0 += 1 }
            Thread.sleep(forTimeInterval: 0.5)
            return .text("slow done")
        }
        return .text("\(request.path) \(request.body.count)")
    }
}

private func startServer(_ configure: (inout HTTPServerConfiguration) -> Void = { _ in },
                         responder: LengthResponder = LengthResponder()) throws -> HTTPServer {
    try startTestServer(responder, configure)
}

/// A server of this process on a free loopback port, started (the HTTP tests' one way to make one).
func startTestServer(_ responder: some HTTPResponder, _ configure: (inout HTTPServerConfiguration) -> Void = { _ in }) throws -> HTTPServer {
    var configuration = HTTPServerConfiguration()
    configuration.port = 0
    configure(&configuration)
    let server = HTTPServer(configuration: configuration, responder: responder)
    try server.start()
    return server
}

/// A plain connected socket to the server, for connections that only hold a slot or trickle bytes.
private func rawConnection(port: UInt16) -> Int32? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else {
        close(fd)
        return nil
    }
    return fd
}

/// Threads of this process, from /proc/self/status.
private func threadCount() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") } ?? ""
    return Int(line.split(separator: "\t").last ?? "") ?? 0
}

@Suite(.serialized) struct HTTPServerLoadTests {
    /// 200 slowloris connections (a header byte every second) and 200 idle ones must not delay a health check.
    @Test func slowAndIdleConnectionsDoNotDelayHealthChecks() throws {
        let server = try startServer()
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let threadsBefore = threadCount()
        var slow: [Int32] = []
        var idle: [Int32] = []
        defer { (slow + idle).forEach { close($0) } }
        for _ in 0..<200 {
            guard let fd = rawConnection(port: server.boundPort) else { Issue.record("connect failed"); return }
            _ = "GET /slowloris HTTP/1.1\r\nHost: h\r\n".withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            slow.append(fd)
        }
        for _ in 0..<200 {
            guard let fd = rawConnection(port: server.boundPort) else { Issue.record("connect failed"); return }
            idle.append(fd)
        }
        let trickling = Locked(true)
        let slowFDs = slow
        let trickler = Thread {
            for _ in 0..<10 {
                guard trickling.withLock({ $0 }) else { return }
                for fd in slowFDs { _ = "X".withCString { send(fd, $0, 1, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) } }
                Thread.sleep(forTimeInterval: 1)
            }
        }
        trickler.start()
        defer { trickling.withLock { $0 = false } }

        var latencies: [Double] = []
        for _ in 0..<40 {
            let started = Date()
            let client = try TestClient(port: server.boundPort)
            try client.send("GET /v1/health HTTP/1.1\r\nHost: h\r\n\r\n")
            let response = try client.readResponse()
            latencies.append(Date().timeIntervalSince(started))
            #expect(response.status == 200)
            Thread.sleep(forTimeInterval: 0.1)
        }
        let worst = latencies.max() ?? 0
        let sorted = latencies.sorted()
        print("health check latency under 200 slowloris + 200 idle connections: max \(Int(worst * 1000)) ms, "
              + "median \(Int(sorted[sorted.count / 2] * 1000)) ms, all: \(latencies.map { Int($0 * 1000) })")
        // Each within 100 ms; two exceptions allowed for the machine's own scheduling (the test shares two cores
        // with builds), but none may wait a second: a thread-per-connection server answered none of them.
        #expect(latencies.filter { $0 >= 0.1 }.count <= 2, "health checks over 100 ms: \(latencies.filter { $0 >= 0.1 })")
        #expect(worst < 1, "slowest health check took \(Int(worst * 1000)) ms")
        #expect(sorted[sorted.count / 2] < 0.02)
        #expect(server.openConnectionCount >= 400)
        // Waiting connections cost no thread: a thread per connection would add 400 here (the margin is for servers
        // that other suites start meanwhile).
        #expect(threadCount() - threadsBefore < 100, "threads: \(threadsBefore) → \(threadCount())")
    }

    /// A body that keeps moving is served however long it takes; only a stall counts against it.
    @Test func slowButMovingUploadSucceeds() throws {
        let server = try startServer { $0.readTimeoutSeconds = 0.5 }
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let client = try TestClient(port: server.boundPort)
        let total = 48 * 1024
        let started = Date()
        try client.send("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: \(total)\r\n\r\n")
        // 16 KiB/s: three seconds in all, six times the progress timeout.
        for _ in 0..<(total / 2048) {
            try client.send([UInt8](repeating: 0x61, count: 2048))
            Thread.sleep(forTimeInterval: 0.125)
        }
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.text == "/upload \(total)")
        #expect(Date().timeIntervalSince(started) > 2.5)
    }

    @Test func stalledBodyGets408() throws {
        let server = try startServer { $0.readTimeoutSeconds = 0.5 }
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let client = try TestClient(port: server.boundPort)
        let started = Date()
        try client.send("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n0123456789")
        let response = try client.readResponse()
        #expect(response.status == 408)
        #expect(response.headers["Connection"] == "close")
        #expect(try client.isClosedByPeer())
        #expect(Date().timeIntervalSince(started) < 3)
    }

    /// A head trickled a byte at a time is a slowloris: it gets 408 after the head deadline even though bytes move.
    @Test func trickledHeadGets408AtTheHeadDeadline() throws {
        let server = try startServer { $0.headerTimeoutSeconds = 0.6 }
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let client = try TestClient(port: server.boundPort)
        let started = Date()
        try client.send("GET / HTTP/1.1\r\n")
        for _ in 0..<5 {
            try client.send("X")
            Thread.sleep(forTimeInterval: 0.2)
        }
        let response = try client.readResponse()
        #expect(response.status == 408)
        #expect(Date().timeIntervalSince(started) < 3)
    }

    /// With the only worker busy and the queue full, a request gets 503 with Retry-After; an express path still
    /// answers at once.
    @Test func fullQueueGets503WithRetryAfterButExpressPathsAnswer() throws {
        let responder = LengthResponder()
        let server = try startServer({
            $0.workerThreads = 1
            $0.maxQueuedRequests = 1
            $0.expressPaths = ["/health"]
        }, responder: responder)
        defer { server.shutdown(gracePeriodSeconds: 3) }
        let busy = try TestClient(port: server.boundPort)
        try busy.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
        for _ in 0..<200 where responder.slowStarted.withLock({ $0 }) == 0 { Thread.sleep(forTimeInterval: 0.01) }
        let queued = try TestClient(port: server.boundPort)
        try queued.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
        Thread.sleep(forTimeInterval: 0.1)
        let refused = try TestClient(port: server.boundPort)
        try refused.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
        let answer = try refused.readResponse()
        #expect(answer.status == 503)
        #expect(answer.headers["Retry-After"] == "1")

        let started = Date()
        let health = try TestClient(port: server.boundPort)
        try health.send("GET /health HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try health.readResponse().status == 200)
        #expect(Date().timeIntervalSince(started) < 0.2)

        #expect(try busy.readResponse().text == "slow done")
        #expect(try queued.readResponse().text == "slow done")
    }

    @Test func connectionsBeyondTheLimitGet503WithRetryAfter() throws {
        let server = try startServer { $0.maxConnections = 1 }
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let first = try TestClient(port: server.boundPort)
        try first.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try first.readResponse().status == 200)
        let second = try TestClient(port: server.boundPort)
        let refused = try second.readResponse()
        #expect(refused.status == 503)
        #expect(refused.headers["Retry-After"] == "1")
    }
}
