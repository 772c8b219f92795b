@testable import CPSyncCore
import Foundation
import Testing
import TestSupport

/// A transfer's running hash, kept beside its partial file for the next process: used only for the very bytes it
/// was saved after, so that a file is never installed unless the bytes it holds hash to its name.
@Suite struct BlobPartialTests {
    let dir = TempDir()
    let data = BlobStoreTests.bytes(300_000, seed: 11)
    var hash: String { SHA256.hexDigits(SHA256.hash(data)) }
    var size: Int64 { Int64(data.count) }

    func store() throws -> BlobStore { try BlobStore(directory: dir.path("files")) }

    /// Flips one byte of a file in place (same length: only its change time tells).
    func tamper(_ path: String, at offset: UInt64) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        let byte = try handle.read(upToCount: 1)![0]
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: [byte ^ 0xFF])
    }

    @Test func savedStateGoesOnAsTheHashWould() {
        for cut in [0, 1, 63, 64, 65, 4096, 70_001] {
            var first = SHA256.Hasher()
            first.update(data[0..<cut])
            guard var second = SHA256.Hasher(saved: first.saved) else { Issue.record("cut \(cut)"); continue }
            #expect(second.count == Int64(cut))
            second.update(data[cut...])
            #expect(second.finish() == SHA256.hash(data), "cut at \(cut)")
        }
        #expect(SHA256.Hasher(saved: [1, 2, 3]) == nil)
    }

    @Test func aTransferResumedByAnotherProcessGoesOnFromTheSavedHash() throws {
        defer { dir.cleanup() }
        let store = try store()
        try store.append(hash, size: size, at: 0, Array(data[0..<100_000]))
        #expect(FileManager.default.fileExists(atPath: store.hashStatePath(hash)))
        // A process that stops midway keeps what came, in the file and in the saved hash.
        do {
            let partial = try #require(try store.partial(hash, size: size))
            try partial.write(Array(data[100_000..<150_000]))
        }
        #expect(store.received(hash) == 150_000)
        let partial = try #require(try store.partial(hash, size: size))
        #expect(partial.length == 150_000)
        try partial.write(Array(data[150_000...]))
        try partial.finish()
        #expect(store.has(hash) && !FileManager.default.fileExists(atPath: store.hashStatePath(hash)))
        #expect(try BlobStore.hashFile(store.path(hash)) == hash)
    }

    @Test func bytesChangedAfterTheHashWasSavedAreHashedAgainAndRefused() throws {
        defer { dir.cleanup() }
        let store = try store()
        try store.append(hash, size: size, at: 0, Array(data[0..<100_000]))
        // Damaged on the disk (or by hand) after the hash was saved: the saved hash would finish to the right name.
        try tamper(store.partialPath(hash), at: 500)
        #expect(throws: BlobError.self) { try store.append(hash, size: size, at: 100_000, Array(data[100_000...])) }
        #expect(!store.has(hash) && store.received(hash) == 0)
    }

    @Test func aMissingDamagedOrStaleSavedHashIsRebuiltFromTheFile() throws {
        defer { dir.cleanup() }
        let store = try store()
        // Missing.
        try store.append(hash, size: size, at: 0, Array(data[0..<100_000]))
        unlink(store.hashStatePath(hash))
        try store.append(hash, size: size, at: 100_000, Array(data[100_000..<150_000]))
        // Stale: bytes appended after it was saved (a crash between the write and the save).
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: store.partialPath(hash)))
        try handle.seekToEnd()
        try handle.write(contentsOf: Array(data[150_000..<200_000]))
        try handle.close()
        try store.append(hash, size: size, at: 200_000, Array(data[200_000..<250_000]))
        // Damaged (a bit of its state words): it fails its own checksum, and the file is read instead.
        var saved = try Data(contentsOf: URL(fileURLWithPath: store.hashStatePath(hash)))
        saved[saved.count - 60] ^= 1
        try saved.write(to: URL(fileURLWithPath: store.hashStatePath(hash)))
        try store.append(hash, size: size, at: 250_000, Array(data[250_000...]))
        #expect(try store.has(hash) && BlobStore.hashFile(store.path(hash)) == hash)
    }

    @Test func aSavedHashIsTrustedOnlyForTheFileItWasSavedBeside() throws {
        defer { dir.cleanup() }
        let store = try store()
        try store.append(hash, size: size, at: 0, Array(data[0..<100_000]))
        // Another file of the same length put in its place, with other bytes: the saved hash (of the right bytes)
        // is not used, the file is read, and refused.
        let copy = store.partialPath(hash) + ".copy"
        try FileManager.default.copyItem(atPath: store.partialPath(hash), toPath: copy)
        try tamper(copy, at: 10)
        rename(copy, store.partialPath(hash))
        var st = stat()
        stat(store.partialPath(hash), &st)
        #expect(BlobStore.Checkpoint.load(store.hashStatePath(hash), for: st) == nil)
        #expect(throws: BlobError.self) { try store.append(hash, size: size, at: 100_000, Array(data[100_000...])) }
        #expect(!store.has(hash))
        // A saved hash that matches the file but not its bytes' hash (written by hand): the file fails its check.
        let other = BlobStoreTests.bytes(1000, seed: 12)
        let otherHash = SHA256.hexDigits(SHA256.hash(other))
        try store.append(otherHash, size: 1000, at: 0, Array(other[0..<500]))
        stat(store.partialPath(otherHash), &st)
        var lie = SHA256.Hasher()
        lie.update(Array(repeating: 0, count: 500))
        FileManager.default.createFile(atPath: store.hashStatePath(otherHash), contents: Data(BlobStore.Checkpoint.record(st, lie.saved)))
        #expect(throws: BlobError.self) { try store.append(otherHash, size: 1000, at: 500, Array(other[500...])) }
        #expect(!store.has(otherHash))
    }
}
