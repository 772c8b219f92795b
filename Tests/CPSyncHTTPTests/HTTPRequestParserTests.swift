import Testing
@testable import CPSyncHTTP

/// Feeds `text` in chunks of `chunkSize` bytes (byte by byte by default) and collects whole requests.
private func parse(_ text: String, chunkSize: Int = 1, maxHeaderBytes: Int = 16 * 1024,
                   maxBodyBytes: Int = 1024) throws(HTTPRequestError) -> [(head: HTTPRequestHead, body: String)] {
    var parser = HTTPRequestParser(maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
    var requests: [(head: HTTPRequestHead, body: String)] = []
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        parser.append(bytes[offset..<min(offset + chunkSize, bytes.count)])
        offset += chunkSize
        while let event = try parser.next() {
            if case .request(let head, let body) = event {
                requests.append((head, String(decoding: body, as: UTF8.self)))
            }
        }
    }
    return requests
}

private func parseError(_ text: String, maxHeaderBytes: Int = 16 * 1024, maxBodyBytes: Int = 1024) -> HTTPRequestError? {
    do {
        _ = try parse(text, chunkSize: 7, maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
        return nil
    } catch {
        return error
    }
}

@Suite struct HTTPRequestParserTests {
    @Test func simpleGetYieldsMethodDecodedPathQueryAndHeaders() throws {
        let requests = try parse("GET /a%20b/c?x=1&y=two+words&x=3&flag HTTP/1.1\r\nHost: h\r\nX-Thing:  v  \r\n\r\n")
        #expect(requests.count == 1)
        let head = try #require(requests.first?.head)
        #expect(head.method == "GET")
        #expect(head.target == "/a%20b/c?x=1&y=two+words&x=3&flag")
        #expect(head.path == "/a b/c")
        #expect(head.query == ["x": "3", "y": "two words", "flag": ""])
        #expect(head.headers["x-thing"] == "v")
        #expect(head.contentLength == 0)
        #expect(head.keepAlive)
        #expect(requests.first?.body == "")
    }

    @Test func byteByByteAndWholeChunksGiveTheSameRequest() throws {
        let text = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world"
        let byByte = try parse(text, chunkSize: 1)
        let whole = try parse(text, chunkSize: text.utf8.count)
        #expect(byByte.count == 1 && whole.count == 1)
        #expect(byByte[0].head == whole[0].head)
        #expect(byByte[0].body == "hello world" && whole[0].body == "hello world")
    }

    @Test func pipelinedRequestsComeOutInOrderWhateverTheChunking() throws {
        let text = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
            + "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
            + "\r\n" // a stray CRLF after a body is tolerated (RFC 9112 §2.2)
            + "GET /3 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        for chunkSize in [1, 5, 64, 4096] {
            let requests = try parse(text, chunkSize: chunkSize)
            #expect(requests.map(\.head.path) == ["/1", "/2", "/3"])
            #expect(requests.map(\.body) == ["", "abc", ""])
            #expect(requests.map(\.head.keepAlive) == [true, true, false])
        }
    }

    @Test func headEventArrivesBeforeTheBodySoExpectContinueCanBeAnswered() throws {
        var parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 1024)
        parser.append(Array("PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n".utf8))
        guard case .head(let head) = try parser.next() else { Issue.record("expected a head event"); return }
        #expect(head.expectsContinue)
        #expect(try parser.next() == nil)
        #expect(parser.hasPartialRequest)
        parser.append(Array("data".utf8))
        guard case .request(_, let body) = try parser.next() else { Issue.record("expected a request"); return }
        #expect(body == Array("data".utf8))
        #expect(!parser.hasPartialRequest)
    }

    @Test func headersBeyondTheLimitAre431EvenBeforeTheHeadEnds() {
        let big = "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "a", count: 300)
        #expect(parseError(big, maxHeaderBytes: 256) == .headersTooLarge(limit: 256))
        #expect(parseError("GET /" + String(repeating: "a", count: 300), maxHeaderBytes: 256) == .headersTooLarge(limit: 256))
    }

    @Test func headExactlyAtTheLimitIsAccepted() throws {
        let text = "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "a", count: 100) + "\r\n\r\n"
        #expect(try parse(text, maxHeaderBytes: text.utf8.count).count == 1)
        #expect(parseError(text, maxHeaderBytes: text.utf8.count - 1) == .headersTooLarge(limit: text.utf8.count - 1))
    }

    @Test func contentLengthTogetherWithTransferEncodingIs400() {
        let error = parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc")
        #expect(error?.status == 400)
    }

    @Test func anyTransferEncodingIs501() {
        #expect(parseError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
            == .transferEncodingNotImplemented)
        #expect(parseError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n")?.status == 501)
    }

    @Test func differingContentLengthsAre400ButIdenticalRepeatsAreOne() throws {
        #expect(parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd")?.status == 400)
        #expect(parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\nabcd")?.status == 400)
        let ok = try parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc")
        #expect(ok.first?.body == "abc")
    }

    @Test(arguments: ["-1", "abc", "1 2", "+5", "", "0x10", "3.0"])
    func malformedContentLengthIs400(value: String) {
        #expect(parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \(value)\r\n\r\n")?.status == 400)
    }

    @Test func contentLengthAboveTheLimitIs413WithoutWaitingForTheBody() {
        var parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 10)
        parser.append(Array("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n".utf8))
        #expect(throws: HTTPRequestError.bodyTooLarge(limit: 10)) { try parser.next() }
        #expect(parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n")?.status == 413)
    }

    @Test func obsFoldContinuationLineIs400() {
        #expect(parseError("GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n two\r\n\r\n")?.status == 400)
        #expect(parseError("GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n\ttwo\r\n\r\n")?.status == 400)
    }

    @Test(arguments: ["X A: v", "X-A : v", "X(A): v", ": v", "NoColon", "X-A: v\u{01}", "X-A: a\rb"])
    func invalidHeaderLineIs400(line: String) {
        #expect(parseError("GET / HTTP/1.1\r\nHost: h\r\n\(line)\r\n\r\n")?.status == 400)
    }

    @Test(arguments: ["/%zz", "/%4", "/a%", "/%C3%28", "/%00", "/ok?q=%FF", "/ok?%E2%82=x"])
    func badPercentEncodingIs400(target: String) {
        #expect(parseError("GET \(target) HTTP/1.1\r\nHost: h\r\n\r\n")?.status == 400)
    }

    @Test func percentEncodedUTF8IsDecoded() throws {
        let head = try #require(try parse("GET /caf%C3%A9?n=%E2%82%AC HTTP/1.1\r\nHost: h\r\n\r\n").first?.head)
        #expect(head.path == "/café")
        #expect(head.query["n"] == "€")
    }

    @Test func bareLFLineEndingsAreAlways400() {
        #expect(parseError("GET / HTTP/1.1\nHost: h\n\n")?.status == 400)
        #expect(parseError("GET / HTTP/1.1\r\nHost: h\n\r\n")?.status == 400)
        #expect(parseError("GET / HTTP/1.1\r\nHost: h\r\n\n")?.status == 400)
    }

    @Test func unknownHTTPVersionIs505AndMalformedVersionIs400() {
        #expect(parseError("GET / HTTP/2.0\r\nHost: h\r\n\r\n") == .versionNotSupported("HTTP/2.0"))
        #expect(parseError("GET / HTTP/1.2\r\nHost: h\r\n\r\n")?.status == 505)
        #expect(parseError("GET / http/1.1\r\nHost: h\r\n\r\n")?.status == 400)
        #expect(parseError("GET / HTTP/1.10\r\nHost: h\r\n\r\n")?.status == 400)
        #expect(parseError("GET /\r\n\r\n")?.status == 400)
    }

    @Test(arguments: ["http://example.com/", "*", "example.com:443", "/a b", "/a#frag", "/<x>"])
    func requestTargetOtherThanOriginFormIs400(target: String) {
        #expect(parseError("OPTIONS \(target) HTTP/1.1\r\nHost: h\r\n\r\n")?.status == 400)
    }

    @Test func doubleSpacesInTheRequestLineAre400() {
        #expect(parseError("GET  / HTTP/1.1\r\nHost: h\r\n\r\n")?.status == 400)
        #expect(parseError("GET / HTTP/1.1 \r\nHost: h\r\n\r\n")?.status == 400)
    }

    @Test func http10ClosesUnlessItAsksForKeepAlive() throws {
        #expect(try parse("GET / HTTP/1.0\r\n\r\n").first?.head.keepAlive == false)
        #expect(try parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").first?.head.keepAlive == true)
        #expect(try parse("GET / HTTP/1.0\r\n\r\n").first?.head.minorVersion == 0)
    }

    @Test func http11KeepsAliveUnlessConnectionClose() throws {
        #expect(try parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n").first?.head.keepAlive == true)
        #expect(try parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, Close\r\n\r\n").first?.head.keepAlive == false)
    }

    @Test func http11NeedsExactlyOneHost() {
        #expect(parseError("GET / HTTP/1.1\r\n\r\n")?.status == 400)
        #expect(parseError("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")?.status == 400)
    }

    @Test func expectationOtherThan100ContinueIs417() {
        #expect(parseError("PUT / HTTP/1.1\r\nHost: h\r\nExpect: something\r\n\r\n") == .expectationFailed)
    }

    @Test func parserKeepsFailingAfterAnError() {
        var parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 1024)
        parser.append(Array("GET / HTTP/1.1\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        #expect(throws: HTTPRequestError.self) { try parser.next() }
        #expect(throws: HTTPRequestError.self) { try parser.next() }
    }

    @Test func headByteCountCoversRequestLineAndHeaders() throws {
        let head = "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
        #expect(try parse(head).first?.head.byteCount == head.utf8.count)
    }

    /// A streamed body: the bytes that came with the head are handed out, the rest is the caller's to read; the
    /// request after it is parsed from what follows.
    @Test func aStreamedBodyIsLeftToTheCallerAndTheNextRequestFollowsIt() throws {
        var parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 1024)
        parser.append(Array("PUT /a HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabcd".utf8))
        guard case .head(let head)? = try parser.next() else { Issue.record("no head"); return }
        #expect(head.contentLength == 10)
        #expect(parser.streamBody().map(Array.init) == Array("abcd".utf8))
        #expect(parser.remainingStreamedBody == 6)
        #expect(try parser.next() == nil)
        #expect(parser.hasPartialRequest)
        parser.streamed(6)
        #expect(parser.remainingStreamedBody == 0)
        #expect(!parser.hasPartialRequest)
        parser.append(Array("GET /b HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        guard case .head(let next)? = try parser.next() else { Issue.record("no second head"); return }
        #expect(next.path == "/b")
        guard case .request(_, let body)? = try parser.next() else { Issue.record("no second request"); return }
        #expect(body.isEmpty)

        // A whole body (and a pipelined request) that came with the head.
        parser.append(Array("PUT /c HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyzGET /d HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        guard case .head? = try parser.next() else { Issue.record("no third head"); return }
        #expect(parser.streamBody().map(Array.init) == Array("xyz".utf8))
        #expect(parser.remainingStreamedBody == 0)
        guard case .head(let fourth)? = try parser.next() else { Issue.record("no fourth head"); return }
        #expect(fourth.path == "/d")
    }
}
