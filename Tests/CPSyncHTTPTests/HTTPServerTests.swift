import Foundation
import Testing
@testable import CPSyncHTTP

/// Echoes method, path and body; `/slow` sleeps 0.5 s after flagging that it started; `/file?path&offset&count`
/// answers with that range of a file.
private struct EchoResponder: HTTPResponder {
    let slowStarted = Locked(false)

    func respond(to request: HTTPRequest) -> HTTPResponse {
        if request.path == "/file", let path = request.query["path"], let offset = request.query["offset"].flatMap(Int64.init),
           let count = request.query["count"].flatMap(Int.init) {
            return HTTPResponse(status: 206, file: .init(path: path, offset: offset, count: count))
        }
        if request.path == "/slow" {
            slowStarted.withLock { $0 = true }
            Thread.sleep(forTimeInterval: 0.5)
            return .text("slow done")
        }
        return .text("\(request.method) \(request.path) \(String(decoding: request.body, as: UTF8.self))")
    }
}

private func makeServer(_ configure: (inout HTTPServerConfiguration) -> Void = { _ in },
                        responder: EchoResponder = EchoResponder(),
                        log: (@Sendable (HTTPAccessLogEntry) -> Void)? = nil) throws -> HTTPServer {
    var configuration = HTTPServerConfiguration()
    configuration.port = 0
    configure(&configuration)
    let server = HTTPServer(configuration: configuration, responder: responder, log: log)
    try server.start()
    return server
}

@Suite(.serialized) struct HTTPServerTests {
    @Test func getAndPostShareOneKeepAliveConnection() throws {
        let entries = Locked<[HTTPAccessLogEntry]>([])
        let server = try makeServer(log: { entry in entries.withLock { $0.append(entry) } })
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let client = try TestClient(port: server.boundPort)

        try client.send("GET /hello?x=1 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let first = try client.readResponse()
        #expect(first.status == 200)
        #expect(first.text == "GET /hello ")
        #expect(first.headers["Date"] != nil)
        #expect(first.headers["Connection"] == nil)

        try client.send("POST /items HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nabcde")
        let second = try client.readResponse()
        #expect(second.status == 200)
        #expect(second.text == "POST /items abcde")
        #expect(second.headers["Content-Length"] == "17")

        // The access log is written after the response: wait (bounded) for the second entry.
        _ = entries.wait(until: Date().addingTimeInterval(5)) { $0.count >= 2 }
        #expect(entries.withLock { $0.map(\.status) } == [200, 200])
        #expect(entries.withLock { $0.last?.requestBytes } == 65)
    }

    @Test func expect100ContinueGetsAnInterimResponseBeforeTheBody() throws {
        let server = try makeServer()
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let client = try TestClient(port: server.boundPort)
        try client.send("PUT /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
        try client.expect("HTTP/1.1 100 Continue\r\n\r\n")
        try client.send("xyz")
        #expect(try client.readResponse().text == "PUT /up xyz")
    }

    @Test func aFileRangeIsWrittenFromTheFileAndTheConnectionGoesOn() throws {
        let path = NSTemporaryDirectory() + "cpsync-file-body-\(getpid())"
        defer { unlink(path) }
        let data = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(data)))
        let server = try makeServer()
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let client = try TestClient(port: server.boundPort)
        // Larger than the socket takes at once: written as the client reads.
        try client.send("GET /file?path=\(path)&offset=1000&count=2500000 HTTP/1.1\r\nHost: h\r\n\r\n")
        let range = try client.readResponse()
        #expect(range.status == 206 && range.headers["Content-Length"] == "2500000")
        #expect(range.body == Array(data[1000..<2_501_000]))
        try client.send("HEAD /file?path=\(path)&offset=0&count=10 HTTP/1.1\r\nHost: h\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try client.readResponse(bodyExpected: false).headers["Content-Length"] == "10")
        #expect(try client.readResponse().text == "GET /after ")
        // A file that went meanwhile: an error answer, not a cut connection.
        try client.send("GET /file?path=\(path).gone&offset=0&count=10 HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try client.readResponse().status == 404)
        // A file shorter than the answer said: the connection closes mid-body rather than hang.
        try client.send("GET /file?path=\(path)&offset=2999990&count=100 HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(throws: (any Error).self) { try client.readResponse() }
    }

    @Test func headResponseHasContentLengthButNoBody() throws {
        let server = try makeServer()
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let client = try TestClient(port: server.boundPort)
        try client.send("HEAD /h HTTP/1.1\r\nHost: h\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n")
        let head = try client.readResponse(bodyExpected: false)
        #expect(head.headers["Content-Length"] == "8")
        #expect(try client.readResponse().text == "GET /after ")
    }

    @Test func http10WithoutKeepAliveIsClosedAfterTheResponse() throws {
        let server = try makeServer()
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let client = try TestClient(port: server.boundPort)
        try client.send("GET /old HTTP/1.0\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.headers["Connection"] == "close")
        #expect(try client.isClosedByPeer())
    }

    @Test func oversizeContentLengthGets413AndTheConnectionCloses() throws {
        let server = try makeServer { $0.maxBodyBytes = 100 }
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let client = try TestClient(port: server.boundPort)
        try client.send("POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 413)
        #expect(response.headers["Connection"] == "close")
        #expect(response.text.contains(#""code":"payload_too_large""#))
        #expect(try client.isClosedByPeer())
    }

    @Test func hugeHeadersGet431() throws {
        let server = try makeServer { $0.maxHeaderBytes = 1024 }
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let client = try TestClient(port: server.boundPort)
        try client.send("GET / HTTP/1.1\r\nHost: h\r\nX-Big: \(String(repeating: "a", count: 2000))\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 431)
        #expect(try client.isClosedByPeer())
    }

    @Test func malformedRequestGets400WithErrorJSON() throws {
        let server = try makeServer()
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let client = try TestClient(port: server.boundPort)
        try client.send("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 400)
        #expect(response.text.hasPrefix(#"{"error":{"code":"bad_request""#))
    }

    @Test func stalledClientGets408AndIsClosedAfterTheReadTimeout() throws {
        let server = try makeServer { $0.readTimeoutSeconds = 0.5 }
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let client = try TestClient(port: server.boundPort)
        let started = Date()
        try client.send("GET /slowloris HTTP/1.1\r\nHost: h\r\n")
        let response = try client.readResponse()
        #expect(response.status == 408)
        #expect(try client.isClosedByPeer())
        #expect(Date().timeIntervalSince(started) < 3)
    }

    @Test func idleKeepAliveConnectionIsClosedAfterTheIdleTimeout() throws {
        let server = try makeServer { $0.idleTimeoutSeconds = 0.3 }
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let client = try TestClient(port: server.boundPort)
        try client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try client.readResponse().status == 200)
        #expect(try client.isClosedByPeer())
    }

    @Test func connectionsBeyondTheLimitGet503() throws {
        let server = try makeServer { $0.maxConnections = 2 }
        defer { server.shutdown(gracePeriodSeconds: 2) }
        // Two connections that have been served are certainly registered and still open (keep-alive).
        let clients = try (0..<2).map { _ in try TestClient(port: server.boundPort) }
        for client in clients {
            try client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            #expect(try client.readResponse().status == 200)
        }
        let third = try TestClient(port: server.boundPort)
        let refused = try third.readResponse()
        #expect(refused.status == 503)
        #expect(refused.headers["Connection"] == "close")
        #expect(try third.isClosedByPeer())
        // The two admitted connections still work.
        try clients[0].send("GET /still HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try clients[0].readResponse().text == "GET /still ")
    }

    @Test func gracefulShutdownFinishesARequestInFlight() throws {
        let responder = EchoResponder()
        let server = try makeServer(responder: responder)
        let busy = try TestClient(port: server.boundPort)
        let idle = try TestClient(port: server.boundPort)
        try idle.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try idle.readResponse().status == 200)

        try busy.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
        for _ in 0..<200 where !responder.slowStarted.withLock({ $0 }) { Thread.sleep(forTimeInterval: 0.01) }
        #expect(responder.slowStarted.withLock { $0 })

        let started = Date()
        server.shutdown(gracePeriodSeconds: 5)
        let waited = Date().timeIntervalSince(started)
        #expect(waited > 0.2 && waited < 3)

        let response = try busy.readResponse()
        #expect(response.status == 200)
        #expect(response.text == "slow done")
        #expect(response.headers["Connection"] == "close")
        #expect(try busy.isClosedByPeer())
        #expect(try idle.isClosedByPeer())
        #expect(server.openConnectionCount == 0)
        #expect(throws: TestClient.Failure.self) { try TestClient(port: server.boundPort) }
    }

    @Test func bindFailureNamesTheAddress() throws {
        let server = try makeServer()
        defer { server.shutdown(gracePeriodSeconds: 2) }
        var configuration = HTTPServerConfiguration()
        configuration.port = server.boundPort
        let second = HTTPServer(configuration: configuration, responder: EchoResponder())
        #expect(throws: HTTPServerError.addressInUse(address: "127.0.0.1:\(server.boundPort)")) { try second.start() }
        #expect(HTTPServerError.addressInUse(address: "127.0.0.1:8710").description
            == "address 127.0.0.1:8710 is already in use")
    }
}
