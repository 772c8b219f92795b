import CPSyncCore
import Foundation
import Testing
import TestSupport

/// The content-addressed file store: nothing kept that does not hash to its name, transfers resumed where they
/// stopped, never whole in memory.
@Suite struct BlobStoreTests {
    static func bytes(_ n: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    @Test func theHasherFedInPiecesEqualsTheOneShotHashAtEveryBoundary() {
        for n in [0, 1, 55, 56, 63, 64, 65, 119, 128, 1000, 4097] {
            let data = Self.bytes(n, seed: UInt64(n))
            for piece in [1, 7, 63, 64, 65, 1000] {
                var h = SHA256.Hasher()
                var i = 0
                while i < data.count { h.update(data[i..<min(data.count, i + piece)]); i += piece }
                #expect(h.finish() == SHA256.hash(data), "n=\(n) piece=\(piece)")
            }
        }
        // The system's SHA-256 (libcrypto, when loaded) and the portable code agree, around the 4 KiB switch and beyond.
        for n in [0, 3, 4095, 4096, 4097, 70_000, 1 << 20] {
            let data = Self.bytes(n, seed: UInt64(n) + 99)
            #expect(SHA256.hash(data) == SHA256.portable(data), "n=\(n)")
        }
        var abc = SHA256.Hasher()
        abc.update(Array("abc".utf8))
        #expect(abc.finishHex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func aFileSentInChunksIsKeptOnlyWhenWholeAndVerified() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try BlobStore(directory: dir.path("files"))
        let data = Self.bytes(700_000, seed: 1)
        let hash = SHA256.hexDigits(SHA256.hash(data))
        #expect(store.received(hash) == 0)
        var offset: Int64 = 0
        for chunk in stride(from: 0, to: data.count, by: 256 << 10) {
            // Not at the end of what is held: refused, saying where to continue.
            if offset > 0 {
                #expect(throws: BlobError.offsetMismatch(expected: offset)) { try store.append(hash, size: Int64(data.count), at: 0, [1, 2, 3]) }
            }
            #expect(!store.has(hash))
            offset = try store.append(hash, size: Int64(data.count), at: offset, Array(data[chunk..<min(data.count, chunk + (256 << 10))]))
            #expect(store.received(hash) == offset)
        }
        #expect(store.has(hash) && store.all() == [hash])
        #expect(try store.read(hash, offset: 0, length: data.count + 10) == data)
        #expect(try store.read(hash, offset: 699_990, length: 100) == Array(data[699_990...]))
        // Again: already whole, nothing to do.
        #expect(try store.append(hash, size: Int64(data.count), at: 0, []) == Int64(data.count))
    }

    @Test func bytesThatDoNotHashToTheirNameAreDiscardedAndNeverKept() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try BlobStore(directory: dir.path("files"))
        let data = Self.bytes(100_000, seed: 2)
        let hash = SHA256.hexDigits(SHA256.hash(data))
        try store.append(hash, size: 100_000, at: 0, Array(data[0..<50_000]))
        var tampered = Array(data[50_000...])
        tampered[10] ^= 0xFF
        #expect(throws: BlobError.self) { try store.append(hash, size: 100_000, at: 50_000, tampered) }
        #expect(!store.has(hash) && store.received(hash) == 0, "the damaged partial file is gone: the transfer starts again")
        #expect(throws: BlobError.pastEnd(size: 10)) { try store.append(hash, size: 10, at: 0, Array(data[0..<11])) }
        #expect(throws: BlobError.badHash("../etc/passwd")) { try store.append("../etc/passwd", size: 1, at: 0, [1]) }
    }

    @Test func settlingFinishesAWholePartialCopyAndLeavesEverythingElse() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try BlobStore(directory: dir.path("files"))
        let empty = SHA256.hexDigits(SHA256.hash([]))
        #expect(try store.settle(empty, size: 0) == 0 && !store.has(empty), "nothing here, not even an empty file")
        #expect(try store.append(empty, size: 0, at: 0, []) == 0 && store.has(empty))
        let data = Self.bytes(5000, seed: 9)
        let hash = SHA256.hexDigits(SHA256.hash(data))
        try store.append(hash, size: 5000, at: 0, Array(data[0..<100]))
        #expect(try store.settle(hash, size: 5000) == 100)
        FileManager.default.createFile(atPath: dir.path("files/partial/\(hash)"), contents: Data(data))
        #expect(try store.settle(hash, size: 5000) == 5000 && store.has(hash))
    }

    @Test func aFileAddedFromDiskIsHashedOnTheWayAndExportedWhole() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try BlobStore(directory: dir.path("files"))
        let data = Self.bytes(600_000, seed: 3)
        FileManager.default.createFile(atPath: dir.path("提案原件.pdf"), contents: Data(data))
        let (hash, size) = try store.add(file: dir.path("提案原件.pdf"))
        #expect(size == 600_000 && hash == SHA256.hexDigits(SHA256.hash(data)))
        #expect(try BlobStore.hashFile(store.path(hash)) == hash)
        try store.export(hash, to: dir.path("out.pdf"))
        #expect(FileManager.default.contents(atPath: dir.path("out.pdf")) == Data(data))
        store.remove(hash)
        #expect(!store.has(hash))
        #expect(throws: BlobError.missing(hash)) { try store.export(hash, to: dir.path("again.pdf")) }
    }
}
