import Foundation
import Testing
@testable import CPSyncHTTP

/// What the streaming responder's consumers saw.
private struct Record {
    var heads = 0
    var pieces: [Int] = []
    var bytes: [UInt8] = []
    var finished = 0
    var released = 0
}

/// Takes `/stream…` bodies piece by piece (at most 3 MiB), sleeping `delay` per piece; notes its release.
private final class RecordingConsumer: HTTPBodyConsumer {
    let record: Locked<Record>
    let delay: Double

    init(record: Locked<Record>, delay: Double) { (self.record, self.delay) = (record, delay) }
    deinit { record.withLock { $0.released += 1 } }

    func consume(_ bytes: UnsafeRawBufferPointer) -> HTTPResponse? {
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        record.withLock {
            $0.pieces.append(bytes.count)
            $0.bytes += bytes
        }
        return nil
    }

    func finish() -> HTTPResponse {
        let count = record.withLock { r -> Int in
            r.finished += 1
            return r.bytes.count
        }
        return .text("took \(count)")
    }
}

/// `/stream` bodies are streamed to a `RecordingConsumer`; `/stream-refused` is answered 403 at its head; anything
/// else is echoed whole (method, path, body length).
private struct StreamingResponder: HTTPResponder {
    let record = Locked(Record())
    var delay = 0.0

    func respond(to request: HTTPRequest) -> HTTPResponse {
        .text("\(request.method) \(request.path) \(request.body.count)")
    }

    func streamedBodyLimit(method: String, path: String) -> Int? { path.hasPrefix("/stream") ? 3 << 20 : nil }

    func receive(_ request: HTTPRequest) -> HTTPBodyReceipt {
        record.withLock { $0.heads += 1 }
        if request.path == "/stream-refused" { return .answer(.error(status: 403, code: "forbidden", message: "not yours")) }
        return .consumer(RecordingConsumer(record: record, delay: delay))
    }
}

private func startServer(_ responder: StreamingResponder, _ configure: (inout HTTPServerConfiguration) -> Void = { _ in }) throws -> HTTPServer {
    try startTestServer(responder, configure)
}

private func pattern(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ $0 >> 11) } }

@Suite(.serialized) struct HTTPStreamedBodyTests {
    /// A body larger than a piece, sent in uneven parts with pauses, to a consumer slower than the link (the loop
    /// waits for a free piece and resumes): every byte arrives once, in order, in pieces of at most 1 MiB.
    @Test func piecesArriveInOrderWhateverTheReadsAndTheConsumerIsSlow() throws {
        let responder = StreamingResponder(delay: 0.02)
        let server = try startServer(responder)
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let body = pattern(2_600_000)
        let client = try TestClient(port: server.boundPort)
        try client.send(Array("PUT /stream HTTP/1.1\r\nHost: h\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body[0..<1000])
        var sent = 1000
        for size in [7, 70_000, 1_200_000, 333] {
            try client.send(Array(body[sent..<(sent + size)]))
            sent += size
            Thread.sleep(forTimeInterval: 0.01)
        }
        try client.send(Array(body[sent...]))
        let answer = try client.readResponse()
        #expect(answer.status == 200)
        #expect(answer.text == "took \(body.count)")
        let record = responder.record.withLock { $0 }
        // Compared as one flag: a failing comparison of megabytes would make the test library diff them for minutes.
        let same = record.bytes == body
        #expect(same, "took \(record.bytes.count) bytes of \(body.count), equal: \(same)")
        #expect(record.pieces.count >= 3 && record.pieces.allSatisfy { $0 <= BodyPieces.pieceBytes })
        #expect(record.heads == 1 && record.finished == 1)
    }

    /// After a streamed request the connection serves the next one; a request pipelined right after the body is not
    /// taken as body bytes.
    @Test func keepAliveAndAPipelinedRequestAfterAStreamedBody() throws {
        let responder = StreamingResponder()
        let server = try startServer(responder)
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let body = pattern(1_500_000)
        let client = try TestClient(port: server.boundPort)
        try client.send(Array("PUT /stream HTTP/1.1\r\nHost: h\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
                        + Array("POST /after HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc".utf8))
        let first = try client.readResponse()
        #expect(first.text == "took \(body.count)")
        #expect(first.headers["Connection"] == nil)
        #expect(try client.readResponse().text == "POST /after 3")
        // Again, a streamed body whose bytes all came with its head.
        try client.send("PUT /stream HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nxyzzy")
        #expect(try client.readResponse().text == "took \(body.count + 5)")
        let same = responder.record.withLock { $0.bytes } == body + Array("xyzzy".utf8)
        #expect(same)
    }

    /// A body over the route's limit is refused at its head (413), with no worker asked and no byte read.
    @Test func contentLengthOverTheRouteLimitIs413BeforeTheBody() throws {
        let responder = StreamingResponder()
        let server = try startServer(responder)
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let client = try TestClient(port: server.boundPort)
        try client.send("PUT /stream HTTP/1.1\r\nHost: h\r\nContent-Length: \((3 << 20) + 1)\r\n\r\n")
        let answer = try client.readResponse()
        #expect(answer.status == 413)
        #expect(answer.text.contains("payload_too_large"))
        #expect(responder.record.withLock { $0.heads } == 0)
    }

    /// A head the responder refuses: its body is read and discarded, the answer comes after it, and the connection
    /// goes on.
    @Test func aRefusalAtTheHeadIsAnsweredAfterTheBodyAndTheConnectionGoesOn() throws {
        let responder = StreamingResponder()
        let server = try startServer(responder)
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let client = try TestClient(port: server.boundPort)
        let body = pattern(2_200_000)
        try client.send(Array("PUT /stream-refused HTTP/1.1\r\nHost: h\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body)
        #expect(try client.readResponse().status == 403)
        try client.send("GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try client.readResponse().text == "GET /next 0")
        #expect(responder.record.withLock { $0.pieces.isEmpty })
    }

    /// The peer goes mid-body: the bytes that came reach the consumer (a resumed upload starts after them), which is
    /// then released without `finish`.
    @Test func aBodyCutMidwayHandsOverWhatCameAndReleasesTheConsumer() throws {
        let responder = StreamingResponder()
        let server = try startServer(responder)
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let body = pattern(1_700_000)
        do {
            let client = try TestClient(port: server.boundPort)
            try client.send(Array("PUT /stream HTTP/1.1\r\nHost: h\r\nContent-Length: \(3 << 20)\r\n\r\n".utf8) + body)
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(responder.record.wait(until: Date().addingTimeInterval(5)) { $0.released == 1 })
        let record = responder.record.withLock { $0 }
        #expect(record.finished == 0)
        let same = record.bytes == body
        #expect(same, "took \(record.bytes.count) bytes of \(body.count)")
    }

    /// A body that stops coming is answered 408 after the read timeout and closed; the consumer is released.
    @Test func aStalledStreamedBodyGets408() throws {
        let responder = StreamingResponder()
        let server = try startServer(responder) { $0.readTimeoutSeconds = 0.5 }
        defer { server.shutdown(gracePeriodSeconds: 2) }
        let client = try TestClient(port: server.boundPort)
        try client.send(Array("PUT /stream HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n".utf8) + pattern(500))
        let started = Date()
        let answer = try client.readResponse()
        #expect(answer.status == 408)
        #expect(Date().timeIntervalSince(started) >= 0.4)
        #expect(try client.isClosedByPeer())
        #expect(responder.record.wait(until: Date().addingTimeInterval(5)) { $0.released == 1 })
        #expect(responder.record.withLock { $0.finished } == 0)
    }
}
