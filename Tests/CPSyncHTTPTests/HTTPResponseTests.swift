import Testing
@testable import CPSyncHTTP

@Suite struct HTTPResponseTests {
    @Test func errorBodyIsEscapedJSON() {
        let response = HTTPResponse.error(status: 400, code: "bad\"code", message: "line\nbreak \\ tab\t\u{01}")
        #expect(response.status == 400)
        #expect(response.headers["Content-Type"] == "application/json; charset=utf-8")
        #expect(String(decoding: response.body, as: UTF8.self)
            == #"{"error":{"code":"bad\"code","message":"line\nbreak \\ tab\t\u0001"}}"#)
    }

    @Test func textSetsContentTypeAndUTF8Body() {
        let response = HTTPResponse.text("héllo", status: 201)
        #expect(response.status == 201)
        #expect(response.headers["content-type"] == "text/plain; charset=utf-8")
        #expect(response.body == Array("héllo".utf8))
    }

    @Test func serializedResponseCarriesContentLengthDateAndConnection() {
        var response = HTTPResponse.text("hi")
        response.headers.add("Content-Length", "999")
        response.headers.add("Transfer-Encoding", "chunked")
        let text = String(decoding: ResponseSerializer.serialize(response, isHEAD: false, close: true,
                                                                 keepAliveHTTP10: false), as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.contains("\r\nContent-Length: 2\r\n"))
        #expect(!text.contains("999") && !text.contains("chunked"))
        #expect(text.contains("\r\nDate: "))
        #expect(text.contains("\r\nConnection: close\r\n"))
        #expect(text.hasSuffix("\r\n\r\nhi"))
    }

    @Test func headResponseKeepsContentLengthButDropsTheBody() {
        let text = String(decoding: ResponseSerializer.serialize(.text("hello"), isHEAD: true, close: false,
                                                                 keepAliveHTTP10: false), as: UTF8.self)
        #expect(text.contains("Content-Length: 5\r\n"))
        #expect(text.hasSuffix("\r\n\r\n"))
    }

    @Test func headerInjectionBecomesA500() {
        let bad = HTTPResponse(status: 200, headers: HTTPHeaders([("X", "a\r\nSet-Cookie: evil")]))
        let text = String(decoding: ResponseSerializer.serialize(bad, isHEAD: false, close: false,
                                                                 keepAliveHTTP10: false), as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 500 "))
        #expect(!text.contains("evil"))
    }

    @Test func dateIsAnIMFFixdate() {
        #expect(httpDate(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }
}
