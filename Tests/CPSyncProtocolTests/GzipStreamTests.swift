import CPSyncCore
import CPSyncProtocol
import Foundation
import Testing

/// Streaming gzip (`GzipDeflater`, `GzipInflater`, `GzipFile`): what it writes inflates through zlib's one-shot
/// inflate (`Gzip.decompress`) to the input, for sizes around its buffers' edges; what it reads is any gzip stream.
@Suite struct GzipStreamTests {
    /// Half random (incompressible: output larger than a buffer), half repetitive text.
    func data(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        let text = Array("华山镇政协工委 委员 提案 0123456789 ".utf8)
        return (0..<count).map { i in i % 2 == 0 ? text[i % text.count] : (i / 4096) % 2 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : 0x41 }
    }

    static let sizes = [0, 1, 255, 256 * 1024 - 1, 256 * 1024, 256 * 1024 + 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 7]

    func deflate(_ input: [UInt8], piece: Int, level: Int32 = 6) -> [UInt8] {
        let d = GzipDeflater(level: level)
        var out: [UInt8] = []
        var i = 0
        while i < input.count {
            let end = min(input.count, i + piece)
            input[i..<end].withUnsafeBytes { d.update($0) { out.append(contentsOf: $0) } }
            i = end
        }
        d.finish { out.append(contentsOf: $0) }
        return out
    }

    @Test(arguments: sizes)
    func streamedDeflateInflatesThroughZlibToTheInput(size: Int) throws {
        let input = data(size, seed: UInt64(size))
        for piece in [1 << 20, 65_536, 4093] where piece <= max(size, 1) * 2 || piece == 1 << 20 {
            let packed = deflate(input, piece: piece)
            #expect(Gzip.isGzip(packed))
            #expect(try Gzip.decompress(packed, maxBytes: size) == input, "\(size) bytes in pieces of \(piece)")
        }
    }

    @Test(arguments: sizes)
    func streamedInflateReadsZlibsGzip(size: Int) throws {
        let input = data(size, seed: UInt64(size) &+ 1)
        let packed = Gzip.compress(input)
        for piece in [1, 4093, 1 << 20] where piece > 1 || size < 5000 {
            let inflater = try GzipInflater(maxBytes: Int64(size))
            var out: [UInt8] = []
            var i = 0
            while i < packed.count {
                let end = min(packed.count, i + piece)
                try packed[i..<end].withUnsafeBytes { try inflater.update($0) { out.append(contentsOf: $0) } }
                i = end
            }
            try inflater.finish()
            #expect(out == input, "\(size) bytes read in pieces of \(piece)")
        }
    }

    @Test func inflatingRefusesMoreThanAllowedTruncationAndGarbage() throws {
        let input = data(300_000, seed: 5)
        let packed = Gzip.compress(input)
        let tooSmall = try GzipInflater(maxBytes: 299_999)
        #expect(throws: GzipError.tooLarge(limit: 299_999)) { try packed.withUnsafeBytes { try tooSmall.update($0) { _ in } } }
        let truncated = try GzipInflater(maxBytes: 1 << 20)
        try packed.dropLast(10).withUnsafeBytes { try truncated.update($0) { _ in } }
        #expect(throws: GzipError.self) { try truncated.finish() }
        let garbage = try GzipInflater(maxBytes: 1 << 20)
        #expect(throws: GzipError.self) { try Array("not gzip at all".utf8).withUnsafeBytes { try garbage.update($0) { _ in } } }
        // Two members one after the other are one stream (RFC 1952).
        let two = try GzipInflater(maxBytes: 1 << 20)
        var out: [UInt8] = []
        try (Gzip.compress(Array("甲".utf8)) + Gzip.compress(Array("乙".utf8))).withUnsafeBytes { try two.update($0) { out.append(contentsOf: $0) } }
        try two.finish()
        #expect(out == Array("甲乙".utf8))
    }

    @Test func filesAreCompressedAndInflatedFileToFileWithTheirDigests() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-gzipfile-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for size in [0, 1, GzipFile.chunkBytes - 1, GzipFile.chunkBytes, GzipFile.chunkBytes + 1, 2 * GzipFile.chunkBytes + 12_345] {
            let input = data(size, seed: UInt64(size) &+ 2)
            let source = dir + "/in", packed = dir + "/in.gz", back = dir + "/back"
            try Data(input).write(to: URL(fileURLWithPath: source))
            let (raw, gz) = try GzipFile.compress(source, to: packed)
            let packedBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: packed)))
            #expect(raw == StreamDigest(size: Int64(size), sha256: SHA256.hex(input)))
            #expect(gz == StreamDigest(size: Int64(packedBytes.count), sha256: SHA256.hex(packedBytes)))
            #expect(try Gzip.decompress(packedBytes, maxBytes: size) == input)
            #expect(try GzipFile.decompress(packed, to: back, maxBytes: Int64(size)) == raw)
            #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: back))) == input)
            #expect(try GzipFile.digest(back) == raw)
            if size > 0 {
                #expect(throws: GzipError.self) { try GzipFile.decompress(packed, to: back, maxBytes: Int64(size - 1)) }
            }
            let file = try ChunkFile(reading: source)
            #expect(try file.read(at: Int64(size / 2), count: 100) == Array(input[(size / 2)..<min(size, size / 2 + 100)]))
        }
    }
}
