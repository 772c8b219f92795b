import CPPCC
import CPSyncCore
import CPSyncProtocol
@testable import CPSyncServer
import Foundation
import Testing

/// The snapshot service without sockets: the cursor belongs to the copy, and ranges are parsed strictly.
@Suite struct SnapshotServiceTests {
    func member(_ r: Replica, _ id: String, _ name: String, site: String) throws {
        try r.database.transaction {
            try r.database.run("INSERT INTO members(id, name, site_id) VALUES (?, ?, ?)", [.text(id), .text(name), .text(site)])
            try r.foldLog()
        }
    }

    /// A write committed while the snapshot is being copied is not in the file and lies after its cursor, so the
    /// office's first pull from the cursor brings it: nothing missed, nothing twice.
    @Test func aWriteCommittedDuringTheCopyComesWithThePullFromTheSnapshotsCursor() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-snapshot-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ServerStore(dataDirectory: dir)
        _ = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil)
        _ = try store.addSite(id: "huashan", name: "华山镇政协工委", kind: "township", parent: "county")
        _ = try store.addSite(id: "chengguan", name: "城关镇政协工委", kind: "township", parent: "county")
        try store.write { r in
            try member(r, "m-before", "华山早到委员", site: "huashan")
            try member(r, "m-other", "城关委员不可见", site: "chengguan")
        }
        let service = SnapshotService(store: store, reuseSeconds: 0)
        let manifest = try service.make(site: "huashan") {
            try store.write { r in try member(r, "m-during", "华山复制中委员", site: "huashan") }
        }
        // Only the gzip file is kept; the manifest names its bytes and the SQLite file they inflate to.
        let served = dir + "/snapshots/\(manifest.id).db.gz"
        #expect(!FileManager.default.fileExists(atPath: dir + "/snapshots/\(manifest.id).db"))
        let packed = [UInt8](try Data(contentsOf: URL(fileURLWithPath: served)))
        #expect(manifest.encoding == SnapshotManifest.compactGzipEncoding && Gzip.isGzip(packed))
        #expect(SHA256.hex(packed) == manifest.sha256 && Int64(packed.count) == manifest.size)
        let data = try Gzip.decompress(packed, maxBytes: Int(manifest.rawSize ?? 0))
        #expect(SHA256.hex(data) == manifest.rawSha256 && Int64(data.count) == manifest.rawSize)
        #expect(manifest.size < manifest.rawSize ?? 0, "gzip should make the file smaller: \(manifest.size) of \(manifest.rawSize ?? 0)")
        #expect(String(decoding: data, as: UTF8.self).contains("华山早到委员"))
        #expect(!String(decoding: data, as: UTF8.self).contains("城关委员不可见"))
        let file = dir + "/inflated.db"
        try Data(data).write(to: URL(fileURLWithPath: file))
        let snapshot = try Database(path: file, readOnly: true)
        let names = try snapshot.query("SELECT name FROM members ORDER BY name").compactMap { $0[0].stringValue }
        #expect(names == ["华山早到委员"], "the file holds \(names)")

        let sync = SyncService(store: store)
        let next = try sync.pull(after: manifest.cursor, since: manifest.cursor, limit: 1000, principal: .site("huashan"))
        let pulled = Set(next.changes.map(\.pk))
        #expect(pulled.contains("m-during"), "the write made during the copy must come with the next pull")
        #expect(!pulled.contains("m-before"), "a row the snapshot holds must not come again")

        // Asked again at the same cursor, the kept snapshot is served, not a new one.
        let again = try service.manifest(for: .site("huashan"), query: [:])
        #expect(again.cursor > manifest.cursor)
        let same = try service.manifest(for: .site("huashan"), query: [:])
        #expect(same.id == again.id)
        #expect(try service.manifest(for: .site("huashan"), query: ["resume": manifest.id]).id == manifest.id)
    }

    /// What a ranged answer says about itself: the part of the file, its identity, its hash and its cursor.
    @Test func aRangedAnswerCarriesContentRangeETagHashAndCursor() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-snapshot-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ServerStore(dataDirectory: dir)
        _ = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil)
        _ = try store.addSite(id: "huashan", name: "华山镇政协工委", kind: "township", parent: "county")
        let service = SnapshotService(store: store)
        let m = try service.manifest(for: .site("huashan"), query: [:])
        let r = try service.bytes(m.id, principal: .site("huashan"), range: "bytes=100-199")
        #expect(r.status == 206 && r.body.count == 100)
        #expect(r.headers["Content-Range"] == "bytes 100-199/\(m.size)")
        #expect(r.headers["ETag"] == "\"\(m.id)\"")
        #expect(r.headers["CPSync-Snapshot-SHA256"] == m.sha256)
        #expect(r.headers["CPSync-Snapshot-Cursor"] == String(m.cursor))
        #expect(r.headers["Accept-Ranges"] == "bytes")
        let whole = try service.bytes(m.id, principal: .admin("张主任"), range: nil)
        #expect(whole.status == 200 && SHA256.hex(whole.body) == m.sha256)
        #expect(whole.headers["Content-Type"] == "application/gzip" && Gzip.isGzip(whole.body))
        #expect(try Gzip.decompress(whole.body, maxBytes: Int(m.rawSize ?? 0)).prefix(16) == ArraySlice("SQLite format 3\0".utf8))
        let past = try service.bytes(m.id, principal: .site("huashan"), range: "bytes=\(m.size)-")
        #expect(past.status == 416 && past.headers["Content-Range"] == "bytes */\(m.size)")
        #expect(throws: ErrorBody.self) { try service.bytes(m.id, principal: .site("chengguan"), range: nil) }
        #expect(throws: ErrorBody.self) { try service.bytes("../county", principal: .admin("张主任"), range: nil) }
    }

    /// The manifest's encoding members travel and read back; a manifest without them (the SQLite file served as is)
    /// still reads.
    @Test func aManifestCarriesItsEncodingAndTheRawFilesSizeAndHash() throws {
        let m = SnapshotManifest(id: "huashan-7-abc", site: "huashan", cursor: 7, size: 100, sha256: String(repeating: "a", count: 64),
                                 schemaVersion: 3, epoch: "e1", createdAt: 1, expiresAt: 2, maxRangeBytes: 8, encoding: "gzip", rawSize: 4096,
                                 rawSha256: String(repeating: "b", count: 64))
        let text = String(decoding: m.encoded(), as: UTF8.self)
        #expect(text.contains("\"encoding\":\"gzip\",\"rawSize\":4096,\"rawSha256\":\"bbbb"))
        #expect(try SnapshotManifest.decode(m.encoded()) == m)
        let plain = try SnapshotManifest.decode(Array(#"{"id":"x","cursor":1,"size":5,"sha256":"00","schemaVersion":3,"maxRangeBytes":8}"#.utf8))
        #expect(plain.encoding == nil && plain.rawSize == nil && plain.rawSha256 == nil)
    }

    @Test func rangesAreOneSatisfiableByteRange() {
        #expect(SnapshotService.parseRange("bytes=0-99", size: 1000) == 0...99)
        #expect(SnapshotService.parseRange("bytes=900-", size: 1000) == 900...999)
        #expect(SnapshotService.parseRange("bytes=-100", size: 1000) == 900...999)
        #expect(SnapshotService.parseRange("bytes=990-5000", size: 1000) == 990...999)
        #expect(SnapshotService.parseRange("bytes=1000-", size: 1000) == nil)
        #expect(SnapshotService.parseRange("bytes=5-1", size: 1000) == nil)
        #expect(SnapshotService.parseRange("bytes=0-1,5-9", size: 1000) == nil)
        #expect(SnapshotService.parseRange("items=0-1", size: 1000) == nil)
        #expect(SnapshotService.parseRange("bytes=x-", size: 1000) == nil)
    }
}
