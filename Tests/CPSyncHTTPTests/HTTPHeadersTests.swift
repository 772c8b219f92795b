import Testing
@testable import CPSyncHTTP

@Suite struct HTTPHeadersTests {
    @Test func lookupIsCaseInsensitiveAndReturnsTheFirstValue() {
        let headers = HTTPHeaders([("Accept", "a"), ("ACCEPT", "b")])
        #expect(headers["accept"] == "a")
        #expect(headers.values(for: "Accept") == ["a", "b"])
        #expect(headers["missing"] == nil)
    }

    @Test func addKeepsOrderAndDuplicates() {
        var headers = HTTPHeaders()
        headers.add("B", "1")
        headers.add("A", "2")
        headers.add("b", "3")
        #expect(headers.map(\.name) == ["B", "A", "b"])
    }

    @Test func setReplacesEveryValueAtTheFirstPosition() {
        var headers = HTTPHeaders([("X", "1"), ("Y", "2"), ("x", "3")])
        headers.set("X", "new")
        #expect(headers.map(\.name) == ["X", "Y"])
        #expect(headers["x"] == "new")
        headers.set("Z", "z")
        #expect(headers.map(\.name) == ["X", "Y", "Z"])
    }
}
