import CPSyncProtocol
import Foundation
import Testing

/// `GET /v1/whoami` (Protocol/README.md §6.6): the vectors are the canonical bytes of the message, and decode back.
@Suite struct WhoAmIVectorTests {
    @Test func theVectorsAreTheCanonicalEncoding() throws {
        let cases: [(String, WhoAmIResponse)] = [
            ("whoami-site.json", WhoAmIResponse(principal: "site", site: .init(id: "huashan", name: "华山镇政协工委", kind: "township", parent: "county"))),
            ("whoami-admin.json", WhoAmIResponse(principal: "admin", admin: "zhang")),
        ]
        for (file, message) in cases {
            let bytes = [UInt8](try Data(contentsOf: Vectors.directory.appendingPathComponent(file)))
            #expect(message.encoded() == bytes, "\(file): \(String(decoding: message.encoded(), as: UTF8.self))")
            #expect(try WhoAmIResponse.decode(bytes) == message)
        }
        // Unknown members are skipped; a missing principal is refused.
        #expect(try WhoAmIResponse.decode(Array(#"{"later":1,"principal":"admin","admin":"li"}"#.utf8)).admin == "li")
        #expect(throws: WireError.self) { try WhoAmIResponse.decode(Array(#"{"site":null}"#.utf8)) }
    }
}
