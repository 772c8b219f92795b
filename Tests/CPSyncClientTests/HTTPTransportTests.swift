import Foundation
import Glibc
import Testing
@testable import CPSyncClient
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A tiny scripted HTTP server on 127.0.0.1: each request takes the next action of the script (the last repeats).
private final class ScriptedServer: @unchecked Sendable {
    // Sound: `requests` and `stopped` are only touched under `lock`; the descriptors are immutable.
    enum Action: Sendable {
        case answer(status: Int, headers: [String] = [], body: String = "{}")
        /// Promises 100 bytes, sends 10, closes.
        case closeMidResponse
        /// Sends the answer a few bytes at a time, `interval` apart.
        case trickle(body: String, interval: Double)
    }

    let port: UInt16
    private let listenFD: Int32
    private let script: [Action]
    private let lock = NSLock()
    private var requests: [String] = []
    private var stopped = false

    init(_ script: [Action]) throws {
        self.script = script
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw CancellationError()
        }
        listenFD = fd
        port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// The request lines seen, in order.
    var seen: [String] { lock.withLock { requests } }

    func stop() {
        lock.withLock { stopped = true }
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
    }

    private func acceptLoop() {
        for _ in 0..<64 {
            let fd = accept(listenFD, nil, nil)
            guard fd >= 0, !lock.withLock({ stopped }) else { return }
            Thread.detachNewThread { [self] in serve(fd) }
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var pending: [UInt8] = []
        for _ in 0..<32 {
            // Read one request: head, then Content-Length bytes.
            let terminator = Array("\r\n\r\n".utf8)
            var headEnd: Int?
            while headEnd == nil {
                headEnd = pending.indices.first { pending[$0...].starts(with: terminator) }
                if headEnd == nil && !fill(fd, &pending) { return }
            }
            let head = String(decoding: pending[..<headEnd!], as: UTF8.self)
            pending.removeFirst(headEnd! + 4)
            let length = head.components(separatedBy: "\r\n")
                .first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            while pending.count < length { if !fill(fd, &pending) { return } }
            pending.removeFirst(length)

            let index = lock.withLock { () -> Int in
                requests.append(head.components(separatedBy: "\r\n")[0])
                return requests.count - 1
            }
            switch script[min(index, script.count - 1)] {
            case .answer(let status, let headers, let body):
                let extra = headers.map { $0 + "\r\n" }.joined()
                write(fd, "HTTP/1.1 \(status) X\r\nContent-Length: \(body.utf8.count)\r\n\(extra)\r\n\(body)")
            case .closeMidResponse:
                write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial\"")
                return
            case .trickle(let body, let interval):
                write(fd, "HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n")
                for chunk in Array(body.utf8).chunked(4) {
                    Thread.sleep(forTimeInterval: interval)
                    write(fd, String(decoding: chunk, as: UTF8.self))
                }
            }
        }
    }

    private func fill(_ fd: Int32, _ pending: inout [UInt8]) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16384)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        pending += buffer[0..<n]
        return true
    }

    private func write(_ fd: Int32, _ text: String) {
        _ = text.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }
}

private extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

private let fast = RetryPolicy(initialDelaySeconds: 0.05, maxDelaySeconds: 0.2, maxAttempts: 6)

@Suite(.serialized) struct HTTPTransportTests {
    @Test func a503IsRetriedHonouringRetryAfterUntilItSucceeds() throws {
        let server = try ScriptedServer([
            .answer(status: 503, headers: ["Retry-After: 1"], body: #"{"error":{"code":"unavailable","message":"busy"}}"#),
            .answer(status: 503, headers: ["Retry-After: 0"]),
            .answer(status: 200, body: "ok"),
        ])
        defer { server.stop() }
        let transport = HTTPTransport(baseURL: "http://127.0.0.1:\(server.port)", token: "t", budgetSeconds: 20, retry: fast)
        let started = Date()
        let response = try transport.send("GET", "/v1/status")
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == "ok")
        #expect(server.seen.count == 3)
        // The first Retry-After (1 s) was honoured rather than the 50 ms backoff.
        #expect(Date().timeIntervalSince(started) >= 1)
    }

    @Test func aPushIsRetriedButAnotherPostIsNot() throws {
        let server = try ScriptedServer([.answer(status: 503, headers: ["Retry-After: 0"]), .answer(status: 200)])
        defer { server.stop() }
        let transport = HTTPTransport(baseURL: "http://127.0.0.1:\(server.port)", token: "t", budgetSeconds: 20, retry: fast)
        #expect(try transport.send("POST", "/v1/push", body: Array("{}".utf8)).status == 200)
        #expect(server.seen == ["POST /v1/push HTTP/1.1", "POST /v1/push HTTP/1.1"])

        let other = try ScriptedServer([.answer(status: 503, headers: ["Retry-After: 0"]), .answer(status: 200)])
        defer { other.stop() }
        let direct = HTTPTransport(baseURL: "http://127.0.0.1:\(other.port)", token: "t", budgetSeconds: 20, retry: fast)
        #expect(try direct.send("POST", "/v1/admin/resolve", body: Array("{}".utf8)).status == 503)
        #expect(other.seen.count == 1)
    }

    @Test func aConnectionClosedMidResponseIsRetried() throws {
        let server = try ScriptedServer([.closeMidResponse, .answer(status: 200, body: "whole")])
        defer { server.stop() }
        let transport = HTTPTransport(baseURL: "http://127.0.0.1:\(server.port)", token: "t", budgetSeconds: 20, retry: fast)
        let response = try transport.send("GET", "/v1/pull?after=0")
        #expect(String(decoding: response.body, as: UTF8.self) == "whole")
        #expect(server.seen.count == 2)
    }

    @Test func aRefusedConnectionIsRetriedWithinTheBudgetThenReported() throws {
        // A port that was just free: nothing listens there.
        let probe = try ScriptedServer([.answer(status: 200)])
        let port = probe.port
        probe.stop()
        let transport = HTTPTransport(baseURL: "http://127.0.0.1:\(port)", token: "t", budgetSeconds: 1, retry: fast)
        let started = Date()
        #expect {
            _ = try transport.send("GET", "/v1/status")
        } throws: { error in
            guard case ClientError.unreachable = error else { return false }
            return (error as? ClientError)?.exitCode == .unavailable
        }
        let took = Date().timeIntervalSince(started)
        #expect(took > 0.1 && took < 5, "retried for \(took) s")
    }

    /// The stall timeout is 2 s (libcurl checks speed in whole seconds); an answer that keeps trickling for about
    /// 4 s is not cut.
    @Test func aSlowButMovingAnswerIsNotCutByTheStallTimeout() throws {
        let body = String(repeating: "abcd", count: 10)
        let server = try ScriptedServer([.trickle(body: body, interval: 0.4)])
        defer { server.stop() }
        let transport = HTTPTransport(baseURL: "http://127.0.0.1:\(server.port)", token: "t", deadlineSeconds: 2,
                                      budgetSeconds: 0, retry: fast)
        let started = Date()
        let response = try transport.send("GET", "/v1/pull")
        #expect(String(decoding: response.body, as: UTF8.self) == body)
        #expect(Date().timeIntervalSince(started) > 3.5)
        #expect(server.seen.count == 1)
    }

    /// A peer that stops sending mid-answer is given up after the stall timeout (and not retried: no budget).
    @Test func aStalledAnswerIsAbandonedAfterTheStallTimeout() throws {
        let server = try ScriptedServer([.trickle(body: "abcdefgh", interval: 6)])
        defer { server.stop() }
        let transport = HTTPTransport(baseURL: "http://127.0.0.1:\(server.port)", token: "t", deadlineSeconds: 2,
                                      budgetSeconds: 0, retry: fast)
        let started = Date()
        #expect(throws: ClientError.self) { try transport.send("GET", "/v1/pull") }
        let took = Date().timeIntervalSince(started)
        #expect(took > 1.5 && took < 5, "gave up after \(took) s")
    }

    @Test func aCertificateFailureIsNotRetriedAndPointsToTheCAFile() {
        let attempt = HTTPTransport.classify(URLError(.serverCertificateUntrusted), baseURL: "https://county.example")
        guard case .failed(let error, let retryable) = attempt else {
            Issue.record("not a failure")
            return
        }
        #expect(!retryable)
        #expect(error.description.contains("--ca-file"))
        #expect(error.description.contains("certificate problem"))
        #expect(error.exitCode == .refused)
        guard case .failed(_, let lost) = HTTPTransport.classify(URLError(.networkConnectionLost), baseURL: "http://x") else {
            Issue.record("not a failure")
            return
        }
        #expect(lost)
    }

    /// A real TLS server (openssl s_server) with a self-signed certificate: without the CA file the failure is
    /// reported once as a certificate problem (never retried); with `--ca-file` the same server is trusted.
    @Test func anUntrustedCertificateIsReportedAtOnceAndTheCAFileFixesIt() throws {
        guard let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first(where: FileManager.default.isExecutableFile) else {
            Issue.record("openssl is missing: apt-get install openssl (make test-deps)")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-tls-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let make = Process()
        make.executableURL = URL(fileURLWithPath: openssl)
        make.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                          "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                          "-days", "1"]
        make.standardError = FileHandle.nullDevice
        try make.run()
        make.waitUntilExit()
        #expect(make.terminationStatus == 0)

        // A port that was just free.
        let probe = try ScriptedServer([.answer(status: 200)])
        let port = probe.port
        probe.stop()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: openssl)
        server.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", cert, "-key", key, "-www", "-quiet"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            // SIGKILL: s_server started from the test runner does not end on SIGTERM.
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        // Wait (bounded) until it accepts.
        for _ in 0..<100 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if rc == 0 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }

        // Four seconds between attempts: a retry would show in the time taken.
        let slow = RetryPolicy(initialDelaySeconds: 4, maxDelaySeconds: 4, maxAttempts: 3)
        let untrusted = HTTPTransport(baseURL: "https://127.0.0.1:\(port)", token: "t", budgetSeconds: 30, retry: slow)
        let started = Date()
        #expect {
            _ = try untrusted.send("GET", "/v1/status")
        } throws: { error in
            guard case ClientError.certificate = error, let error = error as? ClientError else { return false }
            return error.description.contains("--ca-file") && error.exitCode == .refused
        }
        #expect(Date().timeIntervalSince(started) < 1.5, "a certificate failure must not be retried")

        let trusted = HTTPTransport(baseURL: "https://127.0.0.1:\(port)", token: "t", caFile: cert, budgetSeconds: 30, retry: slow)
        #expect(try trusted.send("GET", "/").status == 200)
    }

    @Test func progressReportsTheBytesOfTheUploadAndTheAnswer() throws {
        let answer = String(repeating: "x", count: 100_000)
        let server = try ScriptedServer([.answer(status: 200, body: answer)])
        defer { server.stop() }
        let transport = HTTPTransport(baseURL: "http://127.0.0.1:\(server.port)", token: "t", budgetSeconds: 5, retry: fast)
        var seen: [TransferProgress] = []
        let body = [UInt8](repeating: 0x7B, count: 300_000)
        let response = try transport.send("POST", "/v1/push", body: body) { seen.append($0) }
        #expect(response.body.count == answer.utf8.count)
        #expect(seen.last?.sent == body.count && seen.last?.toSend == body.count)
        #expect(seen.last?.received == answer.utf8.count)
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.sent <= $1.sent && $0.received <= $1.received })
    }

    @Test func backoffGrowsAndRetryAfterWins() {
        let policy = RetryPolicy(initialDelaySeconds: 1, maxDelaySeconds: 8, maxAttempts: 10)
        #expect((0.5...1).contains(policy.delay(afterAttempt: 1, retryAfter: nil)))
        #expect((2...4).contains(policy.delay(afterAttempt: 3, retryAfter: nil)))
        #expect((4...8).contains(policy.delay(afterAttempt: 9, retryAfter: nil)))
        #expect((5...6).contains(policy.delay(afterAttempt: 1, retryAfter: 5)))
    }
}
