import CPSyncCore
@testable import CPSyncProtocol
import Foundation
import XCTest

final class CodecTests: XCTestCase {
    func decodeValue(_ s: String) throws -> Value {
        let bytes = Array(s.utf8)
        return try bytes.withUnsafeBytes { buf in
            try JSONReader.read(buf) { (r: inout JSONReader) throws(WireError) in try r.readValue() }
        }
    }

    func encodeValue(_ v: Value) -> String {
        var w = JSONWriter()
        w.value(v)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    func testValueSpellings() throws {
        XCTAssertEqual(encodeValue(.null), "null")
        XCTAssertEqual(encodeValue(.integer(.min)), "{\"i\":\"-9223372036854775808\"}")
        XCTAssertEqual(encodeValue(.integer(.max)), "{\"i\":\"9223372036854775807\"}")
        XCTAssertEqual(encodeValue(.real(-0.0)), "{\"f\":-0.0}")
        XCTAssertEqual(encodeValue(.real(1e300)), "{\"f\":1e+300}")
        XCTAssertEqual(encodeValue(.text("")), "\"\"")
        XCTAssertEqual(encodeValue(.text("a\u{0}\u{1f}\"\\é")), "\"a\\u0000\\u001f\\\"\\\\é\"")
        XCTAssertEqual(encodeValue(.blob([])), "{\"b\":\"\"}")
        XCTAssertEqual(encodeValue(.blob(Array("hello".utf8))), "{\"b\":\"aGVsbG8=\"}")
    }

    func testValueEdgeCasesRoundTrip() throws {
        var values: [Value] = [.null, .integer(0), .integer(-1), .integer(.min), .integer(.max), .integer(.min + 1), .integer(.max - 1),
                               .real(0), .real(-0.0), .real(0.5), .real(1e300), .real(-1e300), .real(.greatestFiniteMagnitude),
                               .real(-.greatestFiniteMagnitude), .real(.leastNonzeroMagnitude), .real(-.leastNonzeroMagnitude),
                               .real(.leastNormalMagnitude), .real(0.1), .real(1.0 / 3), .real(123456789012345680000.0),
                               .text(""), .text("\u{0}"), .text("提案"), .text("😀"), .text("\u{7f}\u{80}\u{ffff}\u{10ffff}"),
                               .blob([]), .blob([0]), .blob([1, 2]), .blob([1, 2, 3]), .blob([1, 2, 3, 4])]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: values.append(.integer(Int64.random(in: .min ... .max, using: &rng)))
            case 1:
                var d: Double
                repeat { d = Double(bitPattern: UInt64.random(in: 0 ... .max, using: &rng)) } while !d.isFinite
                values.append(.real(d))
            case 2:
                let scalars = (0..<Int.random(in: 0..<20)).map { _ -> Character in
                    var u: UInt32
                    repeat { u = UInt32.random(in: 0...0x10ffff) } while Unicode.Scalar(u) == nil
                    return Character(Unicode.Scalar(u)!)
                }
                values.append(.text(String(scalars)))
            default: values.append(.blob((0..<Int.random(in: 0..<40)).map { _ in UInt8.random(in: 0...255) }))
            }
        }
        for v in values {
            let json = encodeValue(v)
            let back = try decodeValue(json)
            XCTAssertEqual(back, v, json)
            XCTAssertEqual(encodeValue(back), json)
        }
    }

    func testLenientButEquivalentInputsDecode() throws {
        XCTAssertEqual(try decodeValue(" { \"i\" : \"42\" } "), .integer(42))
        XCTAssertEqual(try decodeValue("{\"f\":1}"), .real(1))
        XCTAssertEqual(try decodeValue("{\"f\":-0}"), .real(-0.0))
        XCTAssertEqual(try decodeValue("{\"f\":1E2}"), .real(100))
        XCTAssertEqual(try decodeValue("\"\\u63d0\\u6848 \\ud83d\\ude00 \\/\""), .text("提案 😀 /"))
        // Members in another order, unknown members skipped, col null == absent.
        let c = try PushRequest.decode(Array("""
        {"changes":[{"cl":1,"site":"s","hlc":5,"val":null,"col":null,"pk":"k","table":"t","extra":[1,{"x":null}]}],
         "site":"s","batchId":"b","schemaVersion":2,"protocol":1,"future":true}
        """.utf8))
        XCTAssertEqual(c.changes, [Change(table: "t", pk: "k", column: nil, value: .null, version: Version(hlc: HLC(rawValue: 5), site: "s"), causalLength: 1)])
    }

    func assertError(_ json: String, _ type: (some WireMessage).Type, path: String, contains: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try type.decode(Array(json.utf8))
            XCTFail("decoded \(json)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.path, path, "\(error)", file: file, line: line)
            XCTAssertTrue(error.message.contains(contains), "\(error)", file: file, line: line)
            XCTAssertTrue(error.description.hasPrefix(path.isEmpty ? "" : path + ": "), file: file, line: line)
        }
    }

    func testMalformedInputNamesThePath() throws {
        let ok = #"{"table":"t","pk":"k","val":null,"hlc":1,"site":"s","cl":1}"#
        func push(_ changes: String) -> String { #"{"protocol":1,"schemaVersion":1,"batchId":"b","site":"s","changes":[\#(changes)]}"# }
        assertError(push("\(ok),\(ok),\(ok),\(ok.replacingOccurrences(of: "\"val\":null", with: "\"val\":12"))"), PushRequest.self,
                    path: "changes[3].val", contains: "expected a value")
        assertError(push(ok.replacingOccurrences(of: "\"val\":null", with: "\"val\":{\"i\":12}")), PushRequest.self, path: "changes[0].val.i", contains: "decimal")
        assertError(push(ok.replacingOccurrences(of: "\"val\":null", with: "\"val\":{\"i\":\"9223372036854775808\"}")), PushRequest.self, path: "changes[0].val.i", contains: "Int64")
        assertError(push(ok.replacingOccurrences(of: "\"val\":null", with: "\"val\":{\"i\":\"01\"}")), PushRequest.self, path: "changes[0].val.i", contains: "Int64")
        assertError(push(ok.replacingOccurrences(of: "\"val\":null", with: "\"val\":{\"f\":1e999}")), PushRequest.self, path: "changes[0].val.f", contains: "range")
        assertError(push(ok.replacingOccurrences(of: "\"val\":null", with: "\"val\":{\"f\":NaN}")), PushRequest.self, path: "changes[0].val.f", contains: "number")
        assertError(push(ok.replacingOccurrences(of: "\"val\":null", with: "\"val\":{\"b\":\"abc\"}")), PushRequest.self, path: "changes[0].val.b", contains: "base64")
        assertError(push(ok.replacingOccurrences(of: "\"val\":null", with: "\"val\":{\"b\":\"aGk\"}")), PushRequest.self, path: "changes[0].val.b", contains: "base64")
        assertError(push(ok.replacingOccurrences(of: "\"val\":null", with: "\"val\":{\"b\":\"aGl=\"}")), PushRequest.self, path: "changes[0].val.b", contains: "base64")
        assertError(push(ok.replacingOccurrences(of: "\"val\":null", with: "\"val\":{\"i\":\"1\",\"f\":1.0}")), PushRequest.self, path: "changes[0].val", contains: "exactly one")
        assertError(push(ok.replacingOccurrences(of: "\"val\":null", with: "\"val\":{\"x\":1}")), PushRequest.self, path: "changes[0].val", contains: "expected a value")
        assertError(push(ok.replacingOccurrences(of: "\"val\":null", with: "\"val\":true")), PushRequest.self, path: "changes[0].val", contains: "found a boolean")
        assertError(push(ok.replacingOccurrences(of: "\"hlc\":1", with: "\"hlc\":1.5")), PushRequest.self, path: "changes[0].hlc", contains: "fraction")
        assertError(push(ok.replacingOccurrences(of: "\"hlc\":1", with: "\"hlc\":\"1\"")), PushRequest.self, path: "changes[0].hlc", contains: "integer")
        assertError(push(ok.replacingOccurrences(of: "\"hlc\":1,", with: "")), PushRequest.self, path: "changes[0]", contains: "missing member \"hlc\"")
        assertError(push(ok.replacingOccurrences(of: "\"cl\":1", with: "\"cl\":1,\"cl\":2")), PushRequest.self, path: "changes[0]", contains: "duplicate")
        assertError(push(ok.replacingOccurrences(of: "\"pk\":\"k\"", with: "\"pk\":\"\\ud800\"")), PushRequest.self, path: "changes[0].pk", contains: "surrogate")
        assertError(push(ok.replacingOccurrences(of: "\"base\"", with: "")  .replacingOccurrences(of: "\"cl\":1", with: "\"cl\":1,\"base\":{\"hlc\":1}")),
                    PushRequest.self, path: "changes[0].base", contains: "missing member \"site\"")
        assertError(push("\(ok),"), PushRequest.self, path: "changes", contains: "expected a value")
        assertError(push(ok) + "x", PushRequest.self, path: "", contains: "after the document")
        assertError("{\"protocol\":1", PushRequest.self, path: "", contains: "unterminated object")
        assertError("", PushRequest.self, path: "", contains: "empty")
        assertError("[]", PushRequest.self, path: "", contains: "expected an object")
        assertError(#"{"changes":{},"cursor":1,"hasMore":false}"#, PullResponse.self, path: "changes", contains: "expected an array")
        assertError(#"{"changes":[],"cursor":-1,"hasMore":false}"#, PullResponse.self, path: "cursor", contains: "range")
        assertError(#"{"changes":[],"cursor":1,"hasMore":"yes"}"#, PullResponse.self, path: "hasMore", contains: "boolean")
        assertError(#"{"error":{"code":"x"}}"#, ErrorBody.self, path: "error", contains: "missing member \"message\"")
        // Invalid UTF-8 inside a string.
        var bad = Array(push(ok).utf8)
        let i = bad.firstIndex(of: UInt8(ascii: "k"))!
        bad[i] = 0xff
        XCTAssertThrowsError(try PushRequest.decode(bad)) { XCTAssertTrue("\($0)".contains("UTF-8"), "\($0)") }
        // Raw control character.
        XCTAssertThrowsError(try PushRequest.decode(Array(push(ok).replacingOccurrences(of: "\"k\"", with: "\"\t\"").utf8)))
    }

    func testBounds() throws {
        let ok = #"{"table":"t","pk":"k","val":null,"hlc":1,"site":"s","cl":1}"#
        let many = #"{"protocol":1,"schemaVersion":1,"batchId":"b","site":"s","changes":[\#(Array(repeating: ok, count: 11).joined(separator: ","))]}"#
        XCTAssertThrowsError(try PushRequest.decode(Array(many.utf8), limits: WireLimits(maxChanges: 10))) { e in
            XCTAssertEqual((e as! WireError).path, "changes")
            XCTAssertTrue("\(e)".contains("more than 10"), "\(e)")
            XCTAssertEqual((e as! WireError).errorBody.code, .payloadTooLarge)
        }
        XCTAssertEqual(try PushRequest.decode(Array(many.utf8), limits: WireLimits(maxChanges: 11)).changes.count, 11)
        let deep = "{\"protocol\":1,\"x\":" + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"
        XCTAssertThrowsError(try PushRequest.decode(Array(deep.utf8))) { e in
            XCTAssertTrue("\(e)".contains("nesting"), "\(e)")
            XCTAssertEqual((e as! WireError).errorBody.code, .badRequest)
        }
        let deepObj = String(repeating: "{\"a\":", count: 100_000)
        XCTAssertThrowsError(try PushRequest.decode(Array(deepObj.utf8)))
        let long = #"{"protocol":1,"schemaVersion":1,"batchId":"\#(String(repeating: "x", count: 100))","site":"s","changes":[]}"#
        XCTAssertThrowsError(try PushRequest.decode(Array(long.utf8), limits: WireLimits(maxStringBytes: 50))) { e in
            XCTAssertEqual((e as! WireError).path, "batchId")
        }
        XCTAssertEqual(PushRequest.peekProtocolVersion(UnsafeRawBufferPointer(start: nil, count: 0)), nil)
        let v2 = Array(#"{"changes":[{"whatever":[1,2]}],"protocol":2}"#.utf8)
        XCTAssertEqual(v2.withUnsafeBytes { PushRequest.peekProtocolVersion($0) }, 2)
    }

    func testHostileInputNeverCrashes() throws {
        var rng = SystemRandomNumberGenerator()
        let docs: [[UInt8]] = Vectors.files().map(\.1)
        var decoded = 0
        func tryAll(_ b: [UInt8]) {
            if (try? PushRequest.decode(b)) != nil { decoded += 1 }
            _ = try? PullResponse.decode(b)
            _ = try? ConflictListResponse.decode(b)
            _ = try? ErrorBody.decode(b)
            _ = try? StatusResponse.decode(b)
            _ = try? AuditListResponse.decode(b)
            _ = try? AccountAuditResponse.decode(b)
            _ = try? ResolveRequest.decode(b)
            _ = try? Vectors.decodeValues(b)
        }
        // Every truncation of every vector.
        for d in docs {
            for n in stride(from: 0, to: d.count, by: max(1, d.count / 400)) { tryAll(Array(d[..<n])) }
        }
        // Random mutations of valid documents.
        for _ in 0..<3000 {
            var d = docs.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<d.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: d[i] = UInt8.random(in: 0...255, using: &rng)
                case 1: d.remove(at: i)
                default: d.insert(Array("{}[]\",:\\u0-1e.n".utf8).randomElement(using: &rng)!, at: i)
                }
                if d.isEmpty { break }
            }
            tryAll(d)
        }
        // Random bytes and random JSON-ish token soup.
        let tokens = Array("{}[]\",:\\0123456789-+.eEtrufalsn \u{7f}".utf8) + [0x00, 0xc3, 0xa9, 0xff, 0xed, 0xa0, 0x80]
        for _ in 0..<3000 {
            let n = Int.random(in: 0..<64, using: &rng)
            tryAll((0..<n).map { _ in Bool.random(using: &rng) ? UInt8.random(in: 0...255, using: &rng) : tokens.randomElement(using: &rng)! })
        }
        XCTAssertGreaterThanOrEqual(decoded, 0)
    }

    func testBase64MatchesFoundation() {
        for n in 0..<50 {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255) }
            var out: [UInt8] = []
            Base64.encode(bytes, into: &out)
            XCTAssertEqual(String(decoding: out, as: UTF8.self), Data(bytes).base64EncodedString())
            XCTAssertEqual(out.withUnsafeBufferPointer { Base64.decode($0) }, bytes)
        }
    }

    func testClockSkewHelper() {
        let s = StatusResponse(schemaVersion: 1, serverTime: 1_000_000)
        XCTAssertEqual(s.skewMs(localMs: 1_600_100, roundTripMs: 200), 600_000)
        XCTAssertEqual(ErrorCode.clockSkew.httpStatus, 409)
        XCTAssertEqual(ErrorCode(rawValue: "some_future_code").httpStatus, 500)
    }

    /// 100,000 changes encoded and decoded; the one-second budget is asserted only in optimized builds.
    func testAForbiddenPushNamesEachRowWithItsOwnReason() throws {
        var body = ErrorBody(code: .forbidden, message: "site huashan may not write members row 'm1' (rule owner)", site: "huashan",
                             table: "members", index: 0)
        body.indices = [0, 1, 3]
        body.rows = [RowRefusal(table: "members", pk: "m1", rule: "owner", message: "site huashan may not write members row 'm1' (rule owner)", indices: [0, 1]),
                     RowRefusal(table: "proposals", pk: "p1", column: "is_key", rule: "county_column",
                                message: "site huashan may not write proposals row 'p1' (rule county_column)", indices: [3])]
        let decoded = try ErrorBody.decode(body.encoded())
        XCTAssertEqual(decoded, body)
        XCTAssertEqual(decoded.message(forChange: 1), body.rows?[0].message)
        XCTAssertEqual(decoded.message(forChange: 3), body.rows?[1].message)
        // A change no row names (an older server sends no rows): the body's own message.
        XCTAssertEqual(decoded.message(forChange: 2), body.message)
        let old = try ErrorBody.decode(Array(#"{"error":{"code":"forbidden","message":"m","index":0,"indices":[0,2]}}"#.utf8))
        XCTAssertNil(old.rows)
        XCTAssertEqual(old.message(forChange: 2), "m")
    }

    func testThroughput100kChanges() throws {
        let changes = (0..<100_000).map { i -> Change in
            let v: Value = switch i % 4 {
            case 0: .text("第\(i)号提案 title text")
            case 1: .integer(Int64(i) * 7919)
            case 2: .real(Double(i) / 3)
            default: .null
            }
            return Change(table: "proposals", pk: UUID().uuidString.lowercased(), column: i % 4 == 3 ? nil : "title", value: v,
                          version: Version(hlc: HLC(milliseconds: 1_763_900_000_000 + Int64(i), counter: 1), site: "huashan"),
                          causalLength: 1, base: i % 10 == 0 ? Version(hlc: HLC(rawValue: 42), site: "county") : nil)
        }
        let page = PullResponse(changes: changes, cursor: 100_000, hasMore: false)
        let t0 = Date()
        let bytes = page.encoded()
        let t1 = Date()
        let back = try PullResponse.decode(bytes, limits: WireLimits(maxChanges: 100_000))
        let t2 = Date()
        XCTAssertEqual(back, page)
        let mib = Double(bytes.count) / 1_048_576
        print(String(format: "100k changes, %.1f MiB: encode %.3f s, decode %.3f s", mib, t1.timeIntervalSince(t0), t2.timeIntervalSince(t1)))
        #if !DEBUG
        XCTAssertLessThan(t2.timeIntervalSince(t0), 1.0)
        #endif
    }
}

final class QueryTests: XCTestCase {
    func testPullQuery() throws {
        let q = PullQuery(after: 1042, limit: 500, schemaVersion: 3)
        XCTAssertEqual(q.queryString, "after=1042&limit=500&protocol=1&schemaVersion=3")
        let parsed = try PullQuery(parameters: ["after": "1042", "limit": "500", "protocol": "1", "schemaVersion": "3"])
        XCTAssertEqual(parsed, q)
        XCTAssertEqual(PullQuery(after: 0, limit: 50_000, schemaVersion: 1).effectiveLimit(), 10_000)
        XCTAssertEqual(PullQuery(after: 0, schemaVersion: 1).effectiveLimit(), 2_000)
        XCTAssertThrowsError(try PullQuery(parameters: ["after": "-1", "protocol": "1", "schemaVersion": "3"])) {
            XCTAssertEqual(($0 as! ErrorBody).code, .badRequest)
            XCTAssertTrue("\($0)".contains("after"))
        }
        XCTAssertThrowsError(try PullQuery(parameters: ["after": "0", "schemaVersion": "3"])) { XCTAssertTrue("\($0)".contains("protocol")) }
        XCTAssertThrowsError(try PullQuery(parameters: ["after": "0", "limit": "0", "protocol": "1", "schemaVersion": "3"]))
    }

    func testPullQueryCarriesWhatTheOfficeStillHasToSend() throws {
        let q = PullQuery(after: 7, schemaVersion: 3, unsent: 2)
        XCTAssertEqual(q.queryString, "after=7&protocol=1&schemaVersion=3&unsent=2")
        XCTAssertEqual(try PullQuery(parameters: ["after": "7", "protocol": "1", "schemaVersion": "3", "unsent": "2"]), q)
        XCTAssertNil(try PullQuery(parameters: ["after": "7", "protocol": "1", "schemaVersion": "3"]).unsent)
        XCTAssertThrowsError(try PullQuery(parameters: ["after": "7", "protocol": "1", "schemaVersion": "3", "unsent": "-1"])) {
            XCTAssertTrue("\($0)".contains("unsent"))
        }
    }

    func testVersionProblem() {
        XCTAssertNil(ErrorBody.versionProblem(protocolVersion: 1, officeSchema: 3, serverSchema: 3))
        XCTAssertEqual(ErrorBody.versionProblem(protocolVersion: 2, officeSchema: 3, serverSchema: 3)?.httpStatus, 426)
        XCTAssertEqual(ErrorBody.versionProblem(protocolVersion: 1, officeSchema: 2, serverSchema: 3)?.message, "upgrade cpsync to schema v3")
        XCTAssertEqual(ErrorBody.versionProblem(protocolVersion: 1, officeSchema: 4, serverSchema: 3)?.code, .schemaVersion)
    }
}
