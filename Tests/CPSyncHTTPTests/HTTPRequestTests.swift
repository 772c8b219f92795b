import Testing
@testable import CPSyncHTTP

@Suite struct HTTPRequestTests {
    @Test func initDecodesPathAndQueryFromTheTarget() {
        let request = HTTPRequest(method: "GET", target: "/v1/x%2Fy?a=1&a=2&b=%20c")
        #expect(request.path == "/v1/x/y")
        #expect(request.query == ["a": "2", "b": " c"])
    }

    @Test func undecodableTargetKeepsTheRawPath() {
        let request = HTTPRequest(method: "GET", target: "/bad%zz?q=1")
        #expect(request.path == "/bad%zz")
        #expect(request.query.isEmpty)
    }

    @Test func bearerTokenIsReadFromTheAuthorizationHeader() {
        func token(_ value: String?) -> String? {
            HTTPRequest(method: "GET", target: "/", headers: HTTPHeaders(value.map { [("Authorization", $0)] } ?? []))
                .bearerToken
        }
        #expect(token("Bearer abc.def") == "abc.def")
        #expect(token("bearer   xyz ") == "xyz")
        #expect(token("Basic abc") == nil)
        #expect(token("Bearer") == nil)
        #expect(token("Bearer ") == nil)
        #expect(token("Bearer a b") == nil)
        #expect(token(nil) == nil)
    }
}
