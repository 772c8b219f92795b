import CPSyncCore
import CPSyncEngine
import CPSyncProtocol
import Foundation
import Testing
import TestSupport

/// A county's file store in memory terms: a real `BlobStore` behind the three file requests, with a link that cuts
/// on demand (after the bytes arrived, or before) and limits as the county's.
final class MemoryFileUpstream: FileUpstream, @unchecked Sendable {
    private let lock = NSLock()
    let inner: MemoryUpstream
    let store: BlobStore
    /// Requests (of any kind) that fail as a cut link would; `afterWriting`: the chunk arrived, the answer did not.
    var cuts: Set<Int> = []
    var afterWriting = false
    var maxFileBytes: Int64 = .max
    /// The next request refused with 401 (a revoked token).
    var revoked = false
    /// Chunks (by request number) cut midway: the first half is written, as a county streaming the body keeps it.
    var halfCuts: Set<Int> = []
    /// Chunks (by request number) refused 503 `unavailable`: another upload of the file is writing it.
    var busy: Set<Int> = []
    /// The offset and length of every chunk sent.
    private(set) var sends: [(offset: Int64, length: Int)] = []
    private(set) var requests = 0
    private(set) var bytesIn: Int64 = 0

    init(_ county: Replica, store: BlobStore) {
        inner = MemoryUpstream(county)
        self.store = store
    }

    func prepare(_ request: PushRequest) -> PreparedPush { inner.prepare(request) }
    func push(_ batch: PreparedPush) throws -> PushResponse { try inner.push(batch) }
    func pull(_ query: PullQuery) throws -> PullResponse { try inner.pull(query) }
    func refusal(in error: any Error) -> Refusal? { inner.refusal(in: error) }

    private func request() throws -> Bool {
        try lock.withLock {
            requests += 1
            if revoked { throw ErrorBody(code: .unauthorized, message: "token revoked") }
            return cuts.contains(requests)
        }
    }

    func fileState(_ hash: String, size: Int64) throws -> Int64 {
        if try request() { throw MemoryUpstream.LinkDown() }
        if size > maxFileBytes { throw ErrorBody(code: .fileTooLarge, message: "too large") }
        return try store.settle(hash, size: size)
    }

    func sendFile(_ hash: String, size: Int64, offset: Int64, length: Int, from path: String) throws -> Int64 {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        let chunk = Array(try handle.read(upToCount: length) ?? Data())
        let cut = try request()
        let number = lock.withLock {
            sends.append((offset, length))
            return requests
        }
        if busy.contains(number) { throw ErrorBody(code: .unavailable, message: "another upload of the file is writing it") }
        if cut && !afterWriting { throw MemoryUpstream.LinkDown() }
        let halfCut = halfCuts.contains(number)
        let held: Int64
        do {
            held = try store.append(hash, size: size, at: offset, halfCut ? Array(chunk.prefix(chunk.count / 2)) : chunk)
        } catch {
            switch error {
            case .offsetMismatch(let at): throw ErrorBody(code: .offsetMismatch, message: "from \(at)")
            case .hashMismatch: throw ErrorBody(code: .hashMismatch, message: "damaged")
            default: throw error
            }
        }
        if halfCut {
            lock.withLock { bytesIn += Int64(chunk.count / 2) }
            throw MemoryUpstream.LinkDown()
        }
        lock.withLock { bytesIn += Int64(chunk.count) }
        if cut { throw MemoryUpstream.LinkDown() }
        return held
    }

    func fetchFile(_ hash: String, size: Int64, offset: Int64, length: Int, into receive: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        let cut = try request()
        if cut && !afterWriting { throw MemoryUpstream.LinkDown() }
        guard store.has(hash) else { throw ErrorBody(code: .notFound, message: "not here") }
        let bytes = try store.read(hash, offset: offset, length: length)
        // Cut after writing: half the bytes came before the link broke.
        let sent = cut ? bytes.prefix(bytes.count / 2) : bytes[...]
        try sent.withUnsafeBytes { try receive($0) }
        if cut { throw MemoryUpstream.LinkDown() }
        return sent.count
    }
}

@Suite struct FileTransferTests {
    static func file(_ store: BlobStore, _ dir: TempDir, _ name: String, bytes: Int, seed: UInt64) throws -> BlobReference {
        var rng = SplitMix64(seed: seed)
        FileManager.default.createFile(atPath: dir.path(name), contents: Data((0..<bytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) }))
        let (hash, size) = try store.add(file: dir.path(name))
        return BlobReference(hash: hash, size: size, addedAt: "2026-12-07T00:00:00Z", addedBy: "huashan")
    }

    /// Cut links before and after a chunk arrived, every few requests: each file resumes where the county's copy
    /// ends, nothing is sent twice but the chunks whose answers were lost, and both files arrive whole.
    @Test func filesResumeAcrossCutLinksAndArriveWhole() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let office = try BlobStore(directory: dir.path("office")), countyStore = try BlobStore(directory: dir.path("county"))
        let upstream = MemoryFileUpstream(try replica("county"), store: countyStore)
        let officeReplica = try replica("huashan")
        let a = try Self.file(office, dir, "a.pdf", bytes: 700_000, seed: 1), b = try Self.file(office, dir, "b.jpg", bytes: 300_001, seed: 2)
        for afterWriting in [false, true] {
            upstream.afterWriting = afterWriting
            upstream.cuts = Set(stride(from: 2, to: 60, by: 3))
            let transfer = FileTransfer(store: office, upstream: upstream, access: DirectAccess(officeReplica))
            transfer.chunkBytes = 64 << 10
            var summary = FileTransfer.Summary()
            try transfer.send([a, b], summary: &summary)
            #expect(summary.sentFiles == 2 && countyStore.has(a.hash) && countyStore.has(b.hash))
            #expect(try BlobStore.hashFile(countyStore.path(a.hash)) == a.hash)
            #expect(upstream.bytesIn <= a.size + b.size + Int64(20 * (64 << 10)), "resumed: \(upstream.bytesIn)")
            // Acknowledged: not sent again.
            let before = upstream.requests
            try transfer.send([a, b], summary: &summary)
            #expect(upstream.requests == before)
            countyStore.remove(a.hash); countyStore.remove(b.hash)
            try officeReplica.database.execute("DELETE FROM _cp_blob_sent")
        }
    }

    /// A chunk cut midway leaves its first half at the county: the resent chunk is out of step, and the file goes
    /// on from inside the chunk, where the county's copy ends (after a wait when the county says the cut upload
    /// still holds the file); every byte crosses once and the file arrives whole.
    @Test func aChunkCutMidwayGoesOnFromInsideItAndWaitsWhileTheCountyIsBusy() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let office = try BlobStore(directory: dir.path("office")), countyStore = try BlobStore(directory: dir.path("county"))
        let upstream = MemoryFileUpstream(try replica("county"), store: countyStore)
        let officeReplica = try replica("huashan")
        let a = try Self.file(office, dir, "a.pdf", bytes: 1_000_000, seed: 5)
        // Requests: 1 state, 2 chunk at 0, 3 chunk at 256 KiB cut midway, 4 its resend refused busy, 5 state, …
        upstream.halfCuts = [3]
        upstream.busy = [4]
        let transfer = FileTransfer(store: office, upstream: upstream, access: DirectAccess(officeReplica))
        transfer.chunkBytes = 256 << 10
        transfer.busyWaitSeconds = 0.01
        var summary = FileTransfer.Summary()
        try transfer.send([a], summary: &summary)
        #expect(summary.sentFiles == 1 && countyStore.has(a.hash))
        #expect(try BlobStore.hashFile(countyStore.path(a.hash)) == a.hash)
        // Sends: 2 at 0, 3 cut, 4 its resend (busy), then from the middle of the cut chunk.
        let sends = upstream.sends
        try #require(sends.count >= 4)
        #expect(sends[2].offset == sends[1].offset && sends[3].offset == sends[1].offset + Int64(sends[1].length / 2),
                "went on from inside the cut chunk: \(sends)")
        #expect(upstream.bytesIn == a.size)
    }

    /// A file the county refuses (too large) is noted and the others still go; a revoked token stops the transfer
    /// with nothing noted; a download cut midway resumes from the partial copy.
    @Test func aRefusedFileIsNotedTheTokenStopsAllAndDownloadsResume() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let office = try BlobStore(directory: dir.path("office")), countyStore = try BlobStore(directory: dir.path("county"))
        let upstream = MemoryFileUpstream(try replica("county"), store: countyStore)
        let officeReplica = try replica("huashan")
        let big = try Self.file(office, dir, "big.pdf", bytes: 200_000, seed: 3), small = try Self.file(office, dir, "small.pdf", bytes: 1000, seed: 4)
        upstream.maxFileBytes = 100_000
        let transfer = FileTransfer(store: office, upstream: upstream, access: DirectAccess(officeReplica))
        var summary = FileTransfer.Summary()
        try transfer.send([big, small], summary: &summary)
        #expect(summary.refused == 1 && summary.sentFiles == 1 && countyStore.has(small.hash) && !countyStore.has(big.hash))
        #expect(try officeReplica.blobRefusals()[big.hash]?.code == "file_too_large")

        upstream.maxFileBytes = .max
        upstream.revoked = true
        #expect(throws: (any Error).self) { try transfer.send([big], summary: &summary) }
        #expect(try officeReplica.blobRefusals()[big.hash]?.code == "file_too_large", "the token's refusal is not the file's")
        upstream.revoked = false

        // Download into another office, cut twice.
        let other = try BlobStore(directory: dir.path("other"))
        let fetcher = FileTransfer(store: other, upstream: upstream, access: DirectAccess(try replica("chengguan")))
        fetcher.chunkBytes = 64 << 10
        try transfer.send([big], summary: &summary)
        upstream.cuts = [upstream.requests + 2, upstream.requests + 4]
        var got = FileTransfer.Summary()
        try fetcher.fetch([big, BlobReference(hash: String(repeating: "0", count: 64), size: 5, addedAt: "", addedBy: "")], summary: &got)
        #expect(got.fetchedFiles == 1 && got.unavailable == 1 && other.has(big.hash))
        #expect(try BlobStore.hashFile(other.path(big.hash)) == big.hash)
    }
}
