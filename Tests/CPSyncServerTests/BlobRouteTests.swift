import CPPCC
import CPSyncCore
import CPSyncHTTP
import CPSyncProtocol
import CPSyncServer
import Foundation
import Glibc
import Testing

/// The county's file endpoints through `Router.respond(to:)`: a whole partial copy left by a crash between its last
/// byte and its move into place is settled (verified and kept, or discarded) before the county says it has it, so an
/// office never takes "received = size" for a file the county does not have.
@Suite struct BlobRouteTests {
    /// The bytes an answer carries: the range of a file the server writes from it (`HTTPResponse.file`), or its body.
    static func served(_ file: HTTPResponse.FileRange?, else body: [UInt8]) throws -> [UInt8] {
        guard let range = file else { return body }
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: range.path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(range.offset))
        return Array(try handle.read(upToCount: range.count) ?? Data())
    }

    @Test func aWholePartialCopyLeftByACrashIsVerifiedBeforeTheCountySaysItHasIt() throws {
        let f = try RouterTests.Fixture()
        let data = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let hash = SHA256.hexDigits(SHA256.hash(data))
        let partial = f.dir.appendingPathComponent("files/partial/\(hash)")
        // As a daemon killed after writing the last chunk, before `complete`: the partial copy is whole.
        FileManager.default.createFile(atPath: partial.path, contents: Data(data))
        let state = f.request("GET", "/v1/blobs/\(hash)/state?size=\(data.count)", token: f.huashan)
        #expect(state.status == 200)
        #expect(try BlobState.decode(state.body).received == Int64(data.count))
        #expect(FileManager.default.fileExists(atPath: f.dir.appendingPathComponent("files/\(hash.prefix(2))/\(hash)").path), "kept, verified")
        // Damaged in the same way: discarded, and the county says it has nothing.
        var bad = data
        bad[5] ^= 1
        let other = SHA256.hexDigits(SHA256.hash(data + [1]))
        FileManager.default.createFile(atPath: f.dir.appendingPathComponent("files/partial/\(other)").path, contents: Data(bad + [1]))
        let damaged = f.request("GET", "/v1/blobs/\(other)/state?size=\(data.count + 1)", token: f.huashan)
        #expect(try BlobState.decode(damaged.body).received == 0)
        #expect(!FileManager.default.fileExists(atPath: f.dir.appendingPathComponent("files/partial/\(other)").path))
    }

    /// Over a real socket: a chunk's bytes are written as they come, so a link cut midway leaves them in the
    /// partial copy (with its running hash saved beside it), the county's state says so, and the office's next chunk
    /// from that very offset completes the file, which verifies.
    @Test func aChunkCutMidwayKeepsWhatCameAndTheUploadResumesFromThere() throws {
        let f = try RouterTests.Fixture()
        var config = HTTPServerConfiguration()
        config.port = 0
        let server = HTTPServer(configuration: config, responder: f.router)
        try server.start()
        defer { server.shutdown(gracePeriodSeconds: 5) }
        let data = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 13) }
        let hash = SHA256.hexDigits(SHA256.hash(data))
        let partial = f.dir.appendingPathComponent("files/partial/\(hash)").path
        let sent = 1_700_000
        do {
            let c = try RequestLaneTests.Connection(port: server.boundPort)
            let head = "PUT /v1/blobs/\(hash)?size=\(data.count)&offset=0 HTTP/1.1\r\nHost: county\r\n"
                + "Authorization: Bearer \(f.huashan)\r\nContent-Length: \(data.count)\r\n\r\n"
            let bytes = Array(head.utf8) + data[0..<sent]
            var at = 0
            while at < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.send(c.fd, $0.baseAddress! + at, $0.count - at, Int32(MSG_NOSIGNAL)) }
                try #require(n > 0)
                at += n
            }
            Thread.sleep(forTimeInterval: 0.3)
        }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, BlobStore.regularFileSize(partial + ".sha256") == nil { Thread.sleep(forTimeInterval: 0.02) }
        #expect(BlobStore.regularFileSize(partial) == Int64(sent), "every byte that came is in the partial copy")
        #expect(BlobStore.regularFileSize(partial + ".sha256") != nil, "its running hash is kept beside it")
        let state = f.request("GET", "/v1/blobs/\(hash)/state?size=\(data.count)", token: f.huashan)
        #expect(try BlobState.decode(state.body).received == Int64(sent))

        let c = try RequestLaneTests.Connection(port: server.boundPort)
        c.send("PUT", "/v1/blobs/\(hash)?size=\(data.count)&offset=\(sent)", token: f.huashan, body: Array(data[sent...]))
        let answer = try #require(c.answer(within: 10))
        #expect(answer.status == 200)
        #expect(try BlobState.decode(answer.body).received == Int64(data.count))
        let stored = f.dir.appendingPathComponent("files/\(hash.prefix(2))/\(hash)").path
        let same = FileManager.default.contents(atPath: stored).map(Array.init) == data
        #expect(same)
    }

    @Test func chunksAreAppendedInOrderAndTheFileIsServedInRangesToItsScopeOnly() throws {
        let f = try RouterTests.Fixture()
        let data = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let hash = SHA256.hexDigits(SHA256.hash(data))
        var r = f.request("PUT", "/v1/blobs/\(hash)?size=10000&offset=0", token: f.huashan, body: Array(data[0..<4000]))
        #expect(try r.status == 200 && BlobState.decode(r.body).received == 4000)
        r = f.request("PUT", "/v1/blobs/\(hash)?size=10000&offset=0", token: f.huashan, body: Array(data[0..<4000]))
        #expect(try r.status == 409 && ErrorBody.decode(r.body).code == .offsetMismatch)
        r = f.request("PUT", "/v1/blobs/\(hash)?size=10000&offset=4000", token: f.huashan, body: Array(data[4000...]))
        #expect(try r.status == 200 && BlobState.decode(r.body).received == 10_000)
        // No row names it: only an admin (or a county-kind site) may read it.
        #expect(f.request("GET", "/v1/blobs/\(hash)", token: f.chengguan, headers: [("Range", "bytes=0-9")]).status == 404)
        r = f.request("GET", "/v1/blobs/\(hash)", token: f.admin, headers: [("Range", "bytes=9990-20000")])
        #expect(r.status == 206 && r.headers["Content-Range"] == "bytes 9990-9999/10000")
        // The body is the stored file's range, written by the server straight from the file.
        #expect(try Self.served(r.file, else: r.body) == Array(data[9990...]))
        #expect(f.request("GET", "/v1/blobs/\(hash)", token: f.admin, headers: [("Range", "bytes=20000-")]).status == 416)
        #expect(f.request("PUT", "/v1/blobs/\(hash)?size=10000&offset=0", token: f.admin, body: [1]).status == 403)
    }

    /// `POST /v1/relay` in both forms: naming a file uploaded with `relay=1` (beyond the attachment limit, not kept
    /// once imported; the reply readable by the relayer alone, in ranges), and an older township's file as the body.
    @Test func aRelayNamesAFileInTheStoreAndTheReplyIsTheRelayersOnlyAndTheBodyFormStillWorks() throws {
        // Attached files of at most 10 bytes: a relayed file is not one.
        let f = try RouterTests.Fixture(attachmentLimits: BlobLimits(maxFileBytes: 10))
        let token = try f.store.addSite(id: "xiyuan", name: "西苑社区联络站", kind: "station", parent: "huashan")
        let station = try f.office("xiyuan")
        try station.database.execute("INSERT INTO members(id, name, site_id) VALUES ('m-xy-1', '王秀英', 'xiyuan')")
        let batch = PushRequest(schemaVersion: CPPCCSchema.version, batchId: "b-1", site: "xiyuan", changes: try station.allChanges())
        let header = ChangeFileHeader(kind: .changes, site: "xiyuan", fileId: UUID().uuidString, createdAt: HLC.wallClock().milliseconds,
                                      epoch: nil, schemaVersion: CPPCCSchema.version, pullAfter: 0, pullSince: 0, pushAfter: 0, pushSince: 0,
                                      pushThrough: 3, outbox: [], batches: 1)
        let file = ChangeFile(header: header, lines: [batch.encoded()]).signed(key: ChangeFile.key(token: token, site: "xiyuan"))
        let hash = SHA256.hexDigits(SHA256.hash(file)), size = file.count
        let named = RelayFile(sha256: hash, size: Int64(size)).encoded()

        // Not uploaded yet: 404, nothing applied.
        #expect(f.request("POST", "/v1/relay", token: f.huashan, body: named).status == 404)
        // Uploaded as a relayed file: past the attachment size limit (as an attachment it is refused).
        #expect(f.request("PUT", "/v1/blobs/\(hash)?size=\(size)&offset=0", token: f.huashan, body: file).status == 413)
        var r = f.request("PUT", "/v1/blobs/\(hash)?size=\(size)&offset=0&relay=1", token: f.huashan, body: file)
        #expect(try r.status == 200 && BlobState.decode(r.body).received == Int64(size), "\(String(decoding: r.body, as: UTF8.self))")
        // Another township may not relay it.
        #expect(f.request("POST", "/v1/relay", token: f.chengguan, body: named).status == 403)
        r = f.request("POST", "/v1/relay", token: f.huashan, body: named)
        #expect(r.status == 200, "\(String(decoding: r.body, as: UTF8.self))")
        let reply = try RelayFile.decode(r.body)
        #expect(try f.store.read { try $0.database.scalar("SELECT name FROM members WHERE id = 'm-xy-1'") } == .text("王秀英"))
        #expect(!FileManager.default.fileExists(atPath: f.dir.appendingPathComponent("files/\(hash.prefix(2))/\(hash)").path), "imported: not kept")
        // The reply, in ranges, to the relayer only.
        #expect(f.request("GET", "/v1/blobs/\(reply.sha256)", token: f.chengguan, headers: [("Range", "bytes=0-")]).status == 404)
        r = f.request("GET", "/v1/blobs/\(reply.sha256)", token: f.huashan, headers: [("Range", "bytes=0-\(reply.size - 1)")])
        let replyBytes = try Self.served(r.file, else: r.body)
        #expect(r.status == 206 && Int64(replyBytes.count) == reply.size)
        let opened = try ChangeFile.open(replyBytes) { _ in ChangeFile.key(token: token, site: "xiyuan") }
        #expect(opened.header.replyTo == header.fileId && opened.header.kind == .reply)

        // An older township's form: the file as the body, the reply as the answer's body (the batch replayed).
        r = f.request("POST", "/v1/relay", token: f.huashan, body: file)
        #expect(r.status == 200 && r.headers["Content-Type"] == "application/octet-stream")
        #expect(try ChangeFile.open(r.body) { _ in ChangeFile.key(token: token, site: "xiyuan") }.header.replyTo == header.fileId)
    }
}

/// `attachments gc` against a push naming the file it is collecting: no office may be told the county holds a file
/// that a row it pushed names and that is then removed (it would never send it again).
@Suite struct CollectionRaceTests {
    final class Box: @unchecked Sendable {
        let lock = NSLock()
        var pushed: Int?
        var toldHeld: Int64?
    }

    @Test func aPushNamingAFileWaitsUntilItsCollectionEndsSoTheOfficeSendsItAgain() throws {
        let f = try RouterTests.Fixture()
        let data = Array("华山镇 2026 年视察照片".utf8) + (0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let hash = SHA256.hexDigits(SHA256.hash(data))
        // The file is at the county, named by no row (its attachment was removed long ago).
        #expect(f.request("PUT", "/v1/blobs/\(hash)?size=\(data.count)&offset=0", token: f.huashan, body: data).status == 200)
        // Meanwhile an office attached the same bytes again to a member, offline.
        let office = try f.office("huashan")
        try office.database.run("INSERT INTO members(id, name, site_id) VALUES ('m-hs-1', '李建国', 'huashan')")
        try office.database.run("""
            INSERT INTO member_attachments(id, member_id, name, size, sha256, media_type, added_by, added_at)
            VALUES ('a-hs-1', 'm-hs-1', '视察照片.jpg', ?, ?, 'image/jpeg', 'huashan', '2026-12-07T08:00:00Z')
            """, [.integer(Int64(data.count)), .text(hash)])
        let own = try office.allChanges().filter { $0.version.site == "huashan" }
        let push = PushRequest(schemaVersion: CPPCCSchema.version, batchId: "b-gc-race", site: "huashan", changes: own).encoded()

        let service = AttachmentService(store: f.store, log: EventLog(enabled: false), metrics: Metrics())
        let box = Box()
        let pushed = DispatchSemaphore(value: 0)
        let result = try service.collect(graceDays: 0) { _ in
            // The office syncs at this very moment: its rows first, then it asks whether the county holds the file.
            let router = f.router, token = f.huashan
            Thread {
                var headers = HTTPHeaders([])
                headers.set("Authorization", "Bearer \(token)")
                let status = router.respond(to: HTTPRequest(method: "POST", target: "/v1/push", headers: headers, body: push, remoteAddress: "127.0.0.1:1")).status
                box.lock.withLock { box.pushed = status }
                pushed.signal()
            }.start()
            if pushed.wait(timeout: .now() + 1) == .success {
                let state = f.request("GET", "/v1/blobs/\(hash)/state?size=\(data.count)", token: f.huashan)
                box.lock.withLock { box.toldHeld = (try? BlobState.decode(state.body))?.received }
                pushed.signal()
            }
        }
        _ = pushed.wait(timeout: .now() + 30)
        #expect(result.removed == 1, "nothing named the file when the collection looked")
        #expect(box.lock.withLock { box.pushed } == 200)
        let told = box.lock.withLock { box.toldHeld }
        #expect(told == nil, "the push waited for the collection (it holds the writer) instead of landing between its check and the removal")
        // After the collection the office asks, as its sync does after the rows: the county says it lacks the file,
        // so the office sends it again and the row the push brought has its file.
        let after = f.request("GET", "/v1/blobs/\(hash)/state?size=\(data.count)", token: f.huashan)
        #expect(try BlobState.decode(after.body).received == 0)
        #expect(f.request("PUT", "/v1/blobs/\(hash)?size=\(data.count)&offset=0", token: f.huashan, body: data).status == 200)
        #expect(FileManager.default.fileExists(atPath: f.dir.appendingPathComponent("files/\(hash.prefix(2))/\(hash)").path))
    }
}
