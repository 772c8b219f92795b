import CPSyncCore
import CPSyncProtocol
import Foundation
import XCTest

final class VectorTests: XCTestCase {
    /// With CPSYNC_WRITE_VECTORS=1 the files are (re)written from `Vectors`; otherwise they must match byte for byte.
    func testVectorFilesAreTheCanonicalEncoderOutput() throws {
        let write = ProcessInfo.processInfo.environment["CPSYNC_WRITE_VECTORS"] == "1"
        for (name, bytes) in Vectors.files() {
            let url = Vectors.directory.appendingPathComponent(name)
            if write {
                try FileManager.default.createDirectory(at: Vectors.directory, withIntermediateDirectories: true)
                try Data(bytes + [0x0a]).write(to: url)
            }
            let file = try Vectors.read(name)
            XCTAssertEqual(file.last, 0x0a, "\(name) must end with one newline")
            XCTAssertNotEqual(file.dropLast().last, 0x0a, "\(name) must end with exactly one newline")
            XCTAssertEqual(Vectors.stripNewline(file), bytes, "\(name) differs from the encoder's output")
            // Canonical form: no whitespace outside strings.
            XCTAssertFalse(Vectors.stripNewline(file).contains(0x0a), "\(name) has a raw newline")
        }
    }

    func testValuesVectorDecodesAndReencodes() throws {
        let file = Vectors.stripNewline(try Vectors.read("values.json"))
        let decoded = try Vectors.decodeValues(file)
        XCTAssertEqual(decoded.map(\.0), Vectors.values.map(\.0))
        for (a, b) in zip(decoded, Vectors.values) {
            XCTAssertEqual(a.1, b.1, a.0)
            if case .real(let x) = a.1, case .real(let y) = b.1 { XCTAssertEqual(x.bitPattern, y.bitPattern, a.0) }
        }
        XCTAssertEqual(Vectors.encodeValues(), file)
        // Spot checks of the documented spellings.
        let text = String(decoding: file, as: UTF8.self)
        for needle in ["{\"i\":\"-9223372036854775808\"}", "{\"i\":\"9223372036854775807\"}", "{\"f\":-0.0}", "{\"f\":0.5}",
                       "{\"f\":1e+300}", "{\"b\":\"\"}", "\"a\\u0000b\"", "\"提案\"", "😀", "{\"f\":5e-324}"] {
            XCTAssertTrue(text.contains(needle), "values.json lacks \(needle)")
        }
    }

    func testMessageVectorsRoundTrip() throws {
        func check<T: WireMessage & Equatable>(_ name: String, _ type: T.Type, _ expected: T) throws {
            let file = Vectors.stripNewline(try Vectors.read(name))
            let decoded = try T.decode(file)
            XCTAssertEqual(decoded, expected, name)
            XCTAssertEqual(decoded.encoded(), file, name)
            XCTAssertEqual(try T.decode(Data(file)), expected, name)
        }
        try check("changeset.json", PushRequest.self, Vectors.pushRequest)
        try check("pull-page.json", PullResponse.self, Vectors.pullPage)
        try check("push-response.json", PushResponse.self, Vectors.pushResponse)
        try check("status.json", StatusResponse.self, Vectors.status)
        try check("blob-state.json", BlobState.self, Vectors.blobState)
        try check("health.json", HealthResponse.self, HealthResponse())
        try check("conflict.json", ConflictListResponse.self, Vectors.conflicts)
        try check("audit.json", AuditListResponse.self, Vectors.audit)
        try check("accounts-audit.json", AccountAuditResponse.self, Vectors.accountsAudit)
        try check("admin-sites.json", SiteListResponse.self, Vectors.adminSites)
        try check("admin-token.json", AdminTokenResponse.self, Vectors.adminToken)
        XCTAssertEqual(String(decoding: Vectors.stripNewline(try Vectors.read("health.json")), as: UTF8.self), "{\"ok\":true}")
    }

    func testChangesetContainsRowExistenceAndBase() throws {
        let req = try PushRequest.decode(Vectors.stripNewline(try Vectors.read("changeset.json")))
        XCTAssertTrue(req.changes.contains { $0.column == nil })
        XCTAssertTrue(req.changes.contains { $0.base != nil })
        XCTAssertEqual(req.protocolVersion, 1)
        let text = String(decoding: try Vectors.read("changeset.json"), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("{\"protocol\":1,\"schemaVersion\":3,\"batchId\":"))
        XCTAssertFalse(text.contains("\"col\":null"), "a nil column is omitted")
        XCTAssertFalse(text.contains("\"base\":null"), "a nil base is omitted")
    }

    func testErrorVectorsHaveTheDocumentedShape() throws {
        let file = Vectors.stripNewline(try Vectors.read("errors.json"))
        let items = try Vectors.decodeErrors(file)
        XCTAssertEqual(Vectors.encodeErrors(), file)
        XCTAssertEqual(Set(items.map(\.1.code)), Set(ErrorCode.all), "errors.json has one example of every code")
        XCTAssertEqual(items.count, ErrorCode.all.count)
        let snake = try NSRegularExpression(pattern: "^[a-z]+(_[a-z]+)*$")
        for (status, body) in items {
            let code = body.code.rawValue
            XCTAssertNotNil(snake.firstMatch(in: code, range: NSRange(code.startIndex..., in: code)), code)
            XCTAssertEqual(status, body.code.httpStatus, code)
            XCTAssertFalse(body.message.isEmpty, code)
            XCTAssertTrue((400...599).contains(status), code)
            // Independently of our decoder: Foundation sees {"error":{"code":String,"message":String,…}} and nothing else.
            let json = try JSONSerialization.jsonObject(with: Data(body.encoded())) as! [String: Any]
            XCTAssertEqual(Array(json.keys), ["error"])
            let inner = json["error"] as! [String: Any]
            XCTAssertEqual(inner["code"] as? String, code)
            XCTAssertEqual(inner["message"] as? String, body.message)
            let allowed: Set<String> = ["code", "message", "site", "skewMs", "table", "column", "index", "minProtocol", "maxProtocol", "schemaVersion"]
            XCTAssertTrue(Set(inner.keys).isSubset(of: allowed), "\(code): \(inner.keys)")
        }
        let skew = items.first { $0.1.code == .clockSkew }!.1
        XCTAssertEqual(skew.site, "huashan")
        XCTAssertNotNil(skew.skewMs)
        XCTAssertTrue(skew.message.contains("huashan"))
        let pv = items.first { $0.1.code == .protocolVersion }!
        XCTAssertEqual(pv.0, 426)
        XCTAssertEqual(pv.1.minProtocol, 1)
        XCTAssertEqual(pv.1.maxProtocol, 1)
        XCTAssertEqual(items.first { $0.1.code == .upgradeRequired }!.1.message, "upgrade cpsync to schema v4")
    }

    func testResolveRequestVectors() throws {
        let file = Vectors.stripNewline(try Vectors.read("resolve-requests.json"))
        XCTAssertEqual(String(decoding: file, as: UTF8.self),
                       "{\"requests\":[{\"action\":\"keep\"},{\"action\":\"take-other\",\"note\":\"华山镇的标题更准确\"},{\"action\":\"set\",\"value\":\"关于改善乡村道路的提案\"}]}")
        for r in Vectors.resolveRequests { XCTAssertEqual(try ResolveRequest.decode(r.encoded()), r) }
        XCTAssertThrowsError(try ResolveRequest.decode(Array("{\"action\":\"set\"}".utf8)))
        XCTAssertThrowsError(try ResolveRequest.decode(Array("{\"action\":\"keep\",\"value\":null}".utf8)))
        XCTAssertThrowsError(try ResolveRequest.decode(Array("{\"action\":\"drop\"}".utf8))) { e in
            XCTAssertTrue("\(e)".hasPrefix("action: expected \"keep\""), "\(e)")
        }
    }

    func testAccountEventNeedsEveryMember() throws {
        let full = #"{"id":"1","at":5,"actor":"cli:root","action":"site-token","subject":"huashan","detail":""}"#
        XCTAssertEqual(try AccountEventDTO.decode(Array(full.utf8)).subject, "huashan")
        for key in ["id", "at", "actor", "action", "subject", "detail"] {
            let pattern = try NSRegularExpression(pattern: "\"\(key)\":(\"[^\"]*\"|\\d+),?")
            let without = pattern.stringByReplacingMatches(in: full, range: NSRange(full.startIndex..., in: full), withTemplate: "")
                .replacingOccurrences(of: ",}", with: "}")
            XCTAssertThrowsError(try AccountEventDTO.decode(Array(without.utf8)), "without \(key): \(without)")
        }
    }

    func testForeignJSONReadersSeeTheSameValues() throws {
        // Foundation's reader must agree on text (incl. NUL, CJK, emoji) and on the shapes.
        let file = try Vectors.read("values.json")
        let json = try JSONSerialization.jsonObject(with: Data(file)) as! [String: Any]
        let items = json["values"] as! [[String: Any]]
        XCTAssertEqual(items.count, Vectors.values.count)
        for (item, (name, value)) in zip(items, Vectors.values) {
            XCTAssertEqual(item["name"] as? String, name)
            switch value {
            case .text(let s): XCTAssertEqual(item["value"] as? String, s, name)
            case .integer(let i): XCTAssertEqual((item["value"] as? [String: Any])?["i"] as? String, String(i), name)
            case .blob(let b): XCTAssertEqual((item["value"] as? [String: Any])?["b"] as? String, Data(b).base64EncodedString(), name)
            case .real(let d):
                let n = (item["value"] as? [String: Any])?["f"] as? NSNumber
                XCTAssertEqual(n?.doubleValue, d, name)
            case .null: XCTAssertTrue(item["value"] is NSNull, name)
            }
        }
    }
}
