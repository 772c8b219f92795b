import CPSyncCore
import CZlib
import Foundation

/// gzip in pieces, for files too large to hold: a snapshot of a whole county is compressed by the county and inflated
/// by the office chunk by chunk, each side holding one input chunk and one output buffer (`Gzip` does whole bodies).
/// The z_stream lives at a fixed address (zlib keeps a pointer back to it).
public final class GzipDeflater {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var output = [UInt8](repeating: 0, count: 256 * 1024)
    private var finished = false

    /// `level` 1 (fastest) … 9 (smallest), as `Gzip.compress`.
    public init(level: Int32 = 6) {
        stream.initialize(to: z_stream())
        guard cpsync_deflate_init_gzip(stream, level) == Z_OK else { preconditionFailure("zlib deflateInit2 failed") }
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses `input`, handing every piece of output made so far to `sink` (in pieces of at most 256 KiB).
    public func update(_ input: UnsafeRawBufferPointer, _ sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        precondition(!finished, "GzipDeflater used after finish")
        guard !input.isEmpty else { return }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = uInt(input.count)
        try run(Z_NO_FLUSH, sink)
    }

    /// Ends the gzip member (the trailer with CRC-32 and size) and hands the rest of the output to `sink`.
    public func finish(_ sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        precondition(!finished, "GzipDeflater finished twice")
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        try run(Z_FINISH, sink)
        finished = true
    }

    private func run(_ flush: Int32, _ sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        while true {
            let (rc, made) = output.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                stream.pointee.next_out = out.baseAddress
                stream.pointee.avail_out = uInt(out.count)
                let rc = deflate(stream, flush)
                return (rc, out.count - Int(stream.pointee.avail_out))
            }
            precondition(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR, "zlib deflate failed: \(rc)")
            if made > 0 { try output.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<made])) } }
            if flush == Z_FINISH {
                if rc == Z_STREAM_END { return }
            } else if stream.pointee.avail_in == 0 && made < output.count {
                return
            }
        }
    }
}

/// Inflates one gzip stream (concatenated members too) in pieces, refusing output beyond `maxBytes`.
public final class GzipInflater {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var output = [UInt8](repeating: 0, count: 256 * 1024)
    public let maxBytes: Int64
    /// Bytes inflated so far.
    public private(set) var produced: Int64 = 0
    /// Whether the last member's end was seen with no input after it.
    public private(set) var ended = false

    public init(maxBytes: Int64) throws(GzipError) {
        self.maxBytes = maxBytes
        stream.initialize(to: z_stream())
        guard cpsync_inflate_init_gzip(stream) == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw .malformed("inflateInit2 failed")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Inflates `input` (the next piece of the gzip stream), handing the output to `sink`.
    public func update(_ input: UnsafeRawBufferPointer, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !input.isEmpty else { return }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = uInt(input.count)
        while true {
            if ended {
                // Another member follows (gzip allows concatenation).
                guard inflateReset(stream) == Z_OK else { throw GzipError.malformed("inflateReset failed") }
                ended = false
            }
            let (rc, made) = output.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                stream.pointee.next_out = out.baseAddress
                stream.pointee.avail_out = uInt(out.count)
                let rc = inflate(stream, Z_NO_FLUSH)
                return (rc, out.count - Int(stream.pointee.avail_out))
            }
            if produced + Int64(made) > maxBytes { throw GzipError.tooLarge(limit: Int(clamping: maxBytes)) }
            produced += Int64(made)
            if made > 0 { try output.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<made])) } }
            switch rc {
            case Z_STREAM_END:
                ended = true
                if stream.pointee.avail_in == 0 { return }
            case Z_OK:
                if stream.pointee.avail_in == 0 && made < output.count { return }
            case Z_BUF_ERROR where stream.pointee.avail_in == 0:
                return
            default:
                throw GzipError.malformed(stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)")
            }
        }
    }

    /// Checks that the input ended with a whole gzip member.
    public func finish() throws(GzipError) {
        guard ended else { throw .malformed("truncated") }
    }
}

/// The size and SHA-256 of a stream of bytes (a file written or read in chunks).
public struct StreamDigest: Sendable, Equatable {
    public var size: Int64
    public var sha256: String

    public init(size: Int64, sha256: String) {
        self.size = size
        self.sha256 = sha256
    }
}

/// gzip from file to file in bounded buffers, hashing both sides on the way.
public enum GzipFile {
    /// The chunk a file is read in.
    public static let chunkBytes = 1 << 20

    /// Compresses the file at `source` into a new file at `destination` (gzip, `level`). Returns the size and SHA-256
    /// of the source (`raw`) and of the gzip file (`packed`).
    public static func compress(_ source: String, to destination: String, level: Int32 = 6) throws -> (raw: StreamDigest, packed: StreamDigest) {
        let input = try ChunkFile(reading: source)
        let output = try ChunkFile(creating: destination)
        var rawHash = SHA256.Hasher(), packedHash = SHA256.Hasher()
        let deflater = GzipDeflater(level: level)
        let write = { (piece: UnsafeRawBufferPointer) throws in
            packedHash.update(piece)
            try output.write(piece)
        }
        try input.forEachChunk { chunk in
            rawHash.update(chunk)
            try deflater.update(chunk, write)
        }
        try deflater.finish(write)
        try output.close(sync: true)
        return (StreamDigest(size: rawHash.count, sha256: rawHash.finishHex()), StreamDigest(size: packedHash.count, sha256: packedHash.finishHex()))
    }

    /// Inflates the gzip file at `source` into a new file at `destination`, writing at most `maxBytes`. Returns the
    /// size and SHA-256 of what was written. Throws `GzipError` when the source is not whole gzip or inflates to more.
    public static func decompress(_ source: String, to destination: String, maxBytes: Int64) throws -> StreamDigest {
        let input = try ChunkFile(reading: source)
        let output = try ChunkFile(creating: destination)
        var hash = SHA256.Hasher()
        let inflater = try GzipInflater(maxBytes: maxBytes)
        try input.forEachChunk { chunk in
            try inflater.update(chunk) { piece in
                hash.update(piece)
                try output.write(piece)
            }
        }
        try inflater.finish()
        try output.close(sync: true)
        return StreamDigest(size: hash.count, sha256: hash.finishHex())
    }

    /// The size and SHA-256 of the file at `path`, read in chunks.
    public static func digest(_ path: String) throws -> StreamDigest {
        var hash = SHA256.Hasher()
        try ChunkFile(reading: path).forEachChunk { hash.update($0) }
        return StreamDigest(size: hash.count, sha256: hash.finishHex())
    }
}
