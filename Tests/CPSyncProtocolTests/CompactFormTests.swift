import CPSyncCore
import CPSyncProtocol
import Foundation
import XCTest

/// The compact form of push bodies and pull pages (Protocol/README.md §15), and gzip.
final class CompactFormTests: XCTestCase {
    func testCompactVectorsDecodeToTheSameMessagesAsThePlainOnes() throws {
        let push = Vectors.stripNewline(try Vectors.read("compact-changeset.json"))
        let decodedPush = try PushRequest.decodeCompact(push)
        XCTAssertEqual(decodedPush, Vectors.pushRequest)
        XCTAssertEqual(decodedPush, try PushRequest.decode(Vectors.stripNewline(try Vectors.read("changeset.json"))))
        XCTAssertEqual(decodedPush.encodedCompact(), push)
        let page = Vectors.stripNewline(try Vectors.read("compact-pull-page.json"))
        let decodedPage = try PullResponse.decodeCompact(page)
        XCTAssertEqual(decodedPage, Vectors.compactPullPage)
        let plain = try PullResponse.decode(Vectors.stripNewline(try Vectors.read("pull-page.json"))).changes
        XCTAssertEqual(Array(decodedPage.changes.prefix(plain.count)), plain)
        XCTAssertEqual(decodedPage.changes.last?.causalLength, 2, "a cell with its own causal length")
        XCTAssertEqual(decodedPage.encodedCompact(), page)
        // The documented spellings: names once, a row's table and key once, base as [hlc delta, site], a cell's own cl.
        let text = String(decoding: push, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix(#"{"protocol":1,"compact":1,"schemaVersion":3,"batchId":"#), text)
        XCTAssertTrue(text.contains(#""sites":["huashan","county"]"#), text)
        XCTAssertEqual(text.components(separatedBy: "6f1c").count - 1, 1, "a row's key travels once: \(text)")
        XCTAssertTrue(String(decoding: page, as: UTF8.self).contains(#""head":1100"#))
    }

    func testCompactFormIsSmallerThanPlainJSON() {
        let plain = Vectors.pushRequest.encoded().count, compact = Vectors.pushRequest.encodedCompact().count
        XCTAssertLessThan(compact, plain * 3 / 4, "compact \(compact) B vs plain \(plain) B")
    }

    /// Random pages (every value kind, bases, knowledge cells with their own causal length, extreme stamps) survive
    /// compact encoding exactly, in order.
    func testRandomPagesRoundTripExactly() throws {
        var rng = SystemRandomNumberGenerator()
        let values: [Value] = Vectors.values.map(\.1)
        for _ in 0..<200 {
            var changes: [Change] = []
            let rows = Int.random(in: 0...8, using: &rng)
            for r in 0..<rows {
                let pk = ["6f1c-\(r)", "委员\(r)", "", "a\"b\\\u{0}"][r % 4]
                let table = ["members", "proposals", "提案表"][Int.random(in: 0...2, using: &rng)]
                let cl = Int64.random(in: 1...4, using: &rng)
                for _ in 0..<Int.random(in: 1...6, using: &rng) {
                    let hlc = [Int64.min, Int64.max, 0, -1, Int64.random(in: 0...(Int64.max / 2), using: &rng)].randomElement(using: &rng)!
                    let base = Bool.random(using: &rng) ? Version(hlc: HLC(rawValue: [Int64.min, Int64.max, Int64.random(in: 0...1 << 60, using: &rng)].randomElement(using: &rng)!),
                                                                  site: ["county", "huashan", "西苑"].randomElement(using: &rng)!) : nil
                    changes.append(Change(table: table, pk: pk, column: Bool.random(using: &rng) ? nil : ["name", "title", "编号"].randomElement(using: &rng)!,
                                          value: values.randomElement(using: &rng)!, version: Version(hlc: HLC(rawValue: hlc), site: ["huashan", "xiyuan"].randomElement(using: &rng)!),
                                          causalLength: Bool.random(using: &rng) ? cl : Int64.random(in: 1...10, using: &rng), base: base))
                }
            }
            let push = PushRequest(schemaVersion: 3, batchId: "b", site: "huashan", changes: changes)
            XCTAssertEqual(try PushRequest.decodeCompact(push.encodedCompact()), push)
            let page = PullResponse(changes: changes, cursor: 7, hasMore: Bool.random(using: &rng), head: Bool.random(using: &rng) ? nil : 9)
            let decoded = try PullResponse.decodeCompact(page.encodedCompact())
            XCTAssertEqual(decoded, page)
            for (a, b) in zip(decoded.changes, changes) {
                if case .real(let x) = a.value, case .real(let y) = b.value { XCTAssertEqual(x.bitPattern, y.bitPattern) }
            }
        }
    }

    /// Keys, tables, columns and sites are bytes (§13.5): an NFC and an NFD spelling of one name are two names, in
    /// grouping rows and in the name tables, although Swift's `==` calls them equal.
    func testCanonicallyEquivalentNamesStayDistinctBytes() throws {
        let nfc = "caf\u{e9}", nfd = "cafe\u{301}"
        XCTAssertEqual(nfc, nfd, "Swift equates them; the codec must not")
        func change(_ pk: String, _ col: String, _ site: String) -> Change {
            Change(table: "members", pk: pk, column: col, value: .text(pk), version: Version(hlc: HLC(rawValue: 5), site: site), causalLength: 1)
        }
        let changes = [change(nfc, nfc, nfc), change(nfd, nfd, nfd), change(nfd, nfc, nfd)]
        let page = PullResponse(changes: changes, cursor: 3, hasMore: false)
        let bytes = page.encodedCompact()
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.contains(#""cols":["\#(nfc)","\#(nfd)"]"#), text)
        let decoded = try PullResponse.decodeCompact(bytes).changes
        XCTAssertEqual(decoded.count, 3)
        for (a, b) in zip(decoded, changes) {
            XCTAssertEqual(Array(a.pk.utf8), Array(b.pk.utf8))
            XCTAssertEqual(Array(a.column!.utf8), Array(b.column!.utf8))
            XCTAssertEqual(Array(a.version.site.utf8), Array(b.version.site.utf8))
        }
    }

    /// Each name is listed once however it is held: short names inline, long ones (Chinese column names, 36-byte
    /// site ids) in storages of their own that hold the same text, and more names than are found without hashing.
    func testEveryNameIsListedOnceWhateverStorageHoldsIt() throws {
        func fresh(_ s: String) -> String { String(decoding: Array(s.utf8), as: UTF8.self) }  // same text, new storage
        let names = (0..<40).map { $0 % 2 == 0 ? "col\($0)" : "委员会第\($0)号专用字段名称" }
        var changes: [Change] = []
        for round in 0..<3 {
            for (i, name) in names.enumerated() {
                let site = i % 3 == 0 ? "00000000-0000-4000-8000-00000000000\(i % 10)" : "huashan"
                changes.append(Change(table: fresh("members"), pk: "m\(i)", column: fresh(name), value: .integer(Int64(round)),
                                      version: Version(hlc: HLC(rawValue: Int64(i)), site: fresh(site)), causalLength: 1))
            }
        }
        let page = PullResponse(changes: changes, cursor: 9, hasMore: false)
        let text = String(decoding: page.encodedCompact(), as: UTF8.self)
        for name in names { XCTAssertEqual(text.components(separatedBy: "\"\(name)\"").count - 1, 1, name) }
        XCTAssertEqual(text.components(separatedBy: "\"huashan\"").count - 1, 1)
        XCTAssertEqual(try PullResponse.decodeCompact(page.encodedCompact()), page)
    }

    func testMalformedCompactBodiesNameTheProblem() {
        func assertError(_ json: String, contains needle: String, path: String? = nil, tooLarge: Bool = false,
                         limits: WireLimits = .default, file: StaticString = #filePath, line: UInt = #line) {
            do {
                _ = try PullResponse.decodeCompact(Array(json.utf8), limits: limits)
                XCTFail("accepted: \(json)", file: file, line: line)
            } catch {
                XCTAssertTrue(error.description.contains(needle), "\(error)", file: file, line: line)
                if let path { XCTAssertEqual(error.path, path, file: file, line: line) }
                XCTAssertEqual(error.exceedsLimit, tooLarge, file: file, line: line)
            }
        }
        let head = #"{"compact":1,"cursor":5,"hasMore":false,"tables":["members"],"cols":["name"],"sites":["huashan"],"rows":"#
        assertError(head + #"[[1,"k",1,[[0,"王芳",5,0]]]]}"#, contains: "table index 1", path: "rows[0]")
        assertError(head + #"[[0,"k",1,[[3,"王芳",5,0]]]]}"#, contains: "column index 3", path: "rows[0][0]")
        assertError(head + #"[[0,"k",1,[[0,"王芳",5,2]]]]}"#, contains: "site index 2", path: "rows[0][0]")
        assertError(head + #"[[0,"k",1,[[0,"王芳",5,0,[1,4]]]]]}"#, contains: "site index 4", path: "rows[0][0]")
        assertError(head + #"[[0,"k",1,[[0,"王芳",5]]]]}"#, contains: "a cell is", path: "rows[0][0]")
        assertError(head + #"[[0,"k",1,[[0,"王芳",5,0,null,1,9]]]]}"#, contains: "at most 6", path: "rows[0][0]")
        assertError(head + #"[[0,"k",1,[[0,7,5,0]]]]}"#, contains: "expected a value", path: "rows[0][0]")
        assertError(head + #"[[0,"k",1]]}"#, contains: "a row is", path: "rows[0]")
        assertError(head + #"[[0,"k",1,[]]]}"#, contains: "at least one cell", path: "rows[0]")
        assertError(#"{"compact":2,"cursor":5,"hasMore":false,"tables":[],"cols":[],"sites":[],"rows":[]}"#, contains: "version 2 is not supported")
        assertError(#"{"compact":1,"cursor":5,"hasMore":false,"rows":[],"tables":[],"cols":[],"sites":[]}"#, contains: "must come before `rows`")
        assertError(#"{"compact":1,"cursor":5,"hasMore":false,"tables":[],"cols":[],"sites":[]}"#, contains: "missing member \"rows\"")
        assertError(head + #"[[0,"k",1,[[0,"a",5,0],[0,"b",1,0],[0,"c",1,0]]]]}"#, contains: "more than 2 changes", tooLarge: true,
                    limits: WireLimits(maxChanges: 2))
    }

    func testGzipRoundTripsAndRefusesBombsAndGarbage() throws {
        let text = Array(String(repeating: "关于改善乡村道路的提案，", count: 5_000).utf8)
        let packed = Gzip.compress(text)
        XCTAssertTrue(Gzip.isGzip(packed))
        XCTAssertLessThan(packed.count, text.count / 20)
        XCTAssertEqual(try Gzip.decompress(packed, maxBytes: text.count), text)
        XCTAssertEqual(try Gzip.decompress(Gzip.compress([]), maxBytes: 0), [])
        // Two members back to back are one stream (RFC 1952 §2.2).
        XCTAssertEqual(try Gzip.decompress(Gzip.compress([1, 2]) + Gzip.compress([3]), maxBytes: 10), [1, 2, 3])
        XCTAssertThrowsError(try Gzip.decompress(packed, maxBytes: text.count - 1)) { XCTAssertEqual($0 as? GzipError, .tooLarge(limit: text.count - 1)) }
        let bomb = Gzip.compress([UInt8](repeating: 0, count: 50 << 20))
        XCTAssertThrowsError(try Gzip.decompress(bomb, maxBytes: 16 << 20)) { XCTAssertEqual($0 as? GzipError, .tooLarge(limit: 16 << 20)) }
        for bad in [Array("{\"changes\":[]}".utf8), Array(packed.prefix(packed.count / 2)), [0x1f, 0x8b, 0, 0]] {
            XCTAssertThrowsError(try Gzip.decompress(bad, maxBytes: 1 << 20)) {
                guard case .malformed = $0 as? GzipError else { return XCTFail("\($0)") }
            }
        }
    }

    func testMediaTypeNegotiation() {
        XCTAssertTrue(CompactForm.names("application/vnd.cpsync.compact.v1+json"))
        XCTAssertTrue(CompactForm.names("application/vnd.cpsync.compact.v1+json, application/json;q=0.5"))
        XCTAssertTrue(CompactForm.names("Application/VND.cpsync.compact.v1+json; charset=utf-8"))
        XCTAssertFalse(CompactForm.names("application/json"))
        XCTAssertFalse(CompactForm.names("application/vnd.cpsync.compact.v2+json"))
        XCTAssertFalse(CompactForm.names(nil))
    }
}
