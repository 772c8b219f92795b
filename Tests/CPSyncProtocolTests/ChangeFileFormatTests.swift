import CPSyncCore
import CPSyncProtocol
import Foundation
import XCTest

/// The change file format (Protocol/README.md §17): golden files in Protocol/vectors, the signature, and refusals.
/// Regenerate the golden files with `CPSYNC_WRITE_VECTORS=1 swift test --filter CPSyncProtocolTests.ChangeFileFormatTests`.
final class ChangeFileFormatTests: XCTestCase {
    static let token = "vector-token-do-not-use-0123456789abcdefghij"
    static let site = "xiyuan"
    static var key: [UInt8] { ChangeFile.key(token: token, site: site) }

    static let changes = ChangeFile(
        header: ChangeFileHeader(kind: .changes, site: site, fileId: "0d3c9a4e-5b6f-4c1d-8e2a-7f9b0c1d2e3f", createdAt: 1_763_900_400_000,
                                 epoch: "e5e70aa1-2875-463b-abae-7e05da7f2a83", schemaVersion: 3, pullAfter: 40, pullSince: 40,
                                 pushAfter: 12, pushSince: 12, pushThrough: 15,
                                 outbox: [OutboxRef(id: 3, table: "members", pk: "m-西苑-1", column: "phone",
                                                    version: Version(hlc: Vectors.hlc(1_763_900_050_000), site: site))],
                                 batches: 2),
        lines: [
            PushRequest(schemaVersion: 3, batchId: "9f1e0c2b7a4d4e8f9a0b1c2d3e4f5a6b", site: site, changes: [
                Change(table: "members", pk: "m-西苑-1", column: "phone", value: .text("13900000000"),
                       version: Version(hlc: Vectors.hlc(1_763_900_050_000), site: site), causalLength: 1,
                       base: Version(hlc: Vectors.hlc(1_763_900_000_000), site: "cpsyncd")),
            ]).encoded(),
            PushRequest(schemaVersion: 3, batchId: "1a2b3c4d5e6f40718293a4b5c6d7e8f9", site: site, changes: [
                Change(table: "members", pk: "m-西苑-2", column: nil, value: .null,
                       version: Version(hlc: Vectors.hlc(1_763_900_300_000), site: site), causalLength: 1),
                Change(table: "members", pk: "m-西苑-2", column: "name", value: .text("张伟"),
                       version: Version(hlc: Vectors.hlc(1_763_900_300_000, 1), site: site), causalLength: 1),
                Change(table: "members", pk: "m-西苑-2", column: "site_id", value: .text(site),
                       version: Version(hlc: Vectors.hlc(1_763_900_300_000, 2), site: site), causalLength: 1),
            ]).encoded(),
        ])

    static let reply = ChangeFile(
        header: ChangeFileHeader(kind: .reply, site: site, fileId: "7b8c9d0e-1f2a-4b3c-9d4e-5f6a7b8c9d0e", replyTo: changes.header.fileId,
                                 createdAt: 1_763_986_800_000, epoch: "e5e70aa1-2875-463b-abae-7e05da7f2a83", schemaVersion: 3,
                                 pullAfter: 40, pullSince: 40, pullCursor: 57, pushAfter: 12, pushSince: 12, pushThrough: 15, pushComplete: true,
                                 outbox: changes.header.outbox, batches: 2, pages: 1, serverSeq: 57),
        lines: [
            BatchResult(batchId: "9f1e0c2b7a4d4e8f9a0b1c2d3e4f5a6b",
                        response: PushResponse(batchId: "9f1e0c2b7a4d4e8f9a0b1c2d3e4f5a6b", applied: 1, alreadyKnown: 0, superseded: 0, conflicts: 0, serverSeq: 55))
                .encoded(),
            BatchResult(batchId: "1a2b3c4d5e6f40718293a4b5c6d7e8f9",
                        response: PushResponse(batchId: "6c0d1e2f3a4b5c6d7e8f90a1b2c3d4e5", applied: 2, alreadyKnown: 0, superseded: 0, conflicts: 0, serverSeq: 56),
                        refused: [RefusedGroup(code: "forbidden", message: "site xiyuan may not write members row 'm-西苑-2' (rule move)",
                                               changes: [Change(table: "members", pk: "m-西苑-2", column: "site_id", value: .text(site),
                                                                version: Version(hlc: Vectors.hlc(1_763_900_300_000, 2), site: site), causalLength: 1)])])
                .encoded(),
            PullResponse(changes: [
                Change(table: "proposals", pk: "p-立案-1", column: "title", value: .text("关于加强社区养老服务的提案"),
                       version: Version(hlc: Vectors.hlc(1_763_986_000_000), site: "county"), causalLength: 1),
            ], cursor: 57, hasMore: false).encoded(),
        ])

    func testGoldenFilesAreTheWriterOutputAndVerify() throws {
        let write = ProcessInfo.processInfo.environment["CPSYNC_WRITE_VECTORS"] == "1"
        for (name, file) in [("change-file.cpsync", Self.changes), ("change-reply.cpsync", Self.reply)] {
            let bytes = file.signed(key: Self.key)
            if write { try Data(bytes).write(to: Vectors.directory.appendingPathComponent(name)) }
            let stored = try Vectors.read(name)
            XCTAssertEqual(stored, bytes, "\(name) differs from the writer's output")
            let opened = try ChangeFile.open(stored) { _ in Self.key }
            XCTAssertEqual(opened.header, file.header)
            XCTAssertEqual(opened.lines, file.lines)
            // Header, content lines and the signature line, each ending in one newline.
            XCTAssertEqual(stored.filter { $0 == 0x0A }.count, file.lines.count + 2)
        }
        let reply = try ChangeFile.open(try Vectors.read("change-reply.cpsync")) { _ in Self.key }
        XCTAssertEqual(try reply.decode(BatchResult.self, line: 1).refused.first?.changes.count, 1)
        XCTAssertEqual(try reply.decode(PullResponse.self, line: 2).cursor, 57)
    }

    func testEveryAlteredByteIsRefused() throws {
        let bytes = Self.changes.signed(key: Self.key)
        for i in stride(from: 0, to: bytes.count, by: 7) {
            var tampered = bytes
            tampered[i] ^= 0x01
            XCTAssertThrowsError(try ChangeFile.open(tampered) { _ in Self.key }, "byte \(i) altered but accepted")
        }
        XCTAssertThrowsError(try ChangeFile.open(Array(bytes.dropLast(20))) { _ in Self.key }) {
            XCTAssertEqual($0 as? ChangeFileError, .truncated)
        }
        XCTAssertThrowsError(try ChangeFile.open(bytes) { _ in ChangeFile.key(token: "another token", site: Self.site) }) {
            XCTAssertEqual($0 as? ChangeFileError, .badSignature(site: Self.site))
        }
        XCTAssertThrowsError(try ChangeFile.open(Array("{\"changes\":[]}\n".utf8)) { _ in Self.key }) {
            XCTAssertEqual($0 as? ChangeFileError, .notAChangeFile)
        }
    }

    func testTheCountyDerivesTheStationKeyFromTheStoredTokenHash() {
        XCTAssertEqual(ChangeFile.key(tokenHashHex: SHA256.hex(Self.token), site: Self.site), Self.key)
        XCTAssertNotEqual(ChangeFile.key(tokenHashHex: SHA256.hex(Self.token), site: "huashan"), Self.key)
        XCTAssertNil(ChangeFile.key(tokenHashHex: "not hex", site: Self.site))
    }

    /// Another HMAC implementation (Python's) verifies the golden files with the key derivation of §17.3.
    func testPythonVerifiesTheGoldenFiles() throws {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard path.split(separator: ":").contains(where: { FileManager.default.isExecutableFile(atPath: "\($0)/python3") }) else {
            throw XCTSkip("python3 is not installed")
        }
        let script = """
            import hmac, hashlib, sys
            token, site = sys.argv[1].encode(), sys.argv[2].encode()
            key = hmac.new(hashlib.sha256(token).digest(), b"cpsync change file v1\\x00" + site, hashlib.sha256).digest()
            for name in sys.argv[3:]:
                data = open(name, "rb").read()
                body, _, trailer = data[:-1].rpartition(b"\\n")
                assert trailer == b'{"hmac":"' + hmac.new(key, body + b"\\n", hashlib.sha256).hexdigest().encode() + b'"}', name
            print("ok")
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, Self.token, Self.site] + ["change-file.cpsync", "change-reply.cpsync"].map {
            Vectors.directory.appendingPathComponent($0).path
        }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(text, "ok\n")
    }

    /// RFC 4231 test cases 1, 2 and 6 (a key longer than a block).
    func testHMACSHA256MatchesRFC4231() {
        XCTAssertEqual(HMACSHA256.hex(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8)),
                       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        XCTAssertEqual(HMACSHA256.hex(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertEqual(HMACSHA256.hex(key: [UInt8](repeating: 0xaa, count: 131),
                                      message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)),
                       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }
}
