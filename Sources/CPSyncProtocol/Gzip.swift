import CZlib

/// Why a gzip body could not be read.
public enum GzipError: Error, Equatable, CustomStringConvertible {
    /// Not gzip data, or damaged (zlib's message).
    case malformed(String)
    /// It inflates to more than the allowed number of bytes (a body limit, or a "zip bomb").
    case tooLarge(limit: Int)

    public var description: String {
        switch self {
        case .malformed(let m): "the body is not valid gzip data (\(m)); send it uncompressed or as gzip (RFC 1952)"
        case .tooLarge(let limit): "the body inflates to more than \(limit) bytes; send smaller batches"
        }
    }
}

/// gzip (RFC 1952) through the system zlib: `Content-Encoding: gzip` bodies on the wire (Protocol/README.md §15).
public enum Gzip {
    /// The first two bytes of every gzip stream. A JSON body never starts with them.
    public static func isGzip(_ bytes: [UInt8]) -> Bool { bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b }

    /// Compresses `input` as one gzip member. `level` 1 (fastest) … 9 (smallest); 6 is zlib's default balance.
    public static func compress(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        guard cpsync_deflate_init_gzip(&stream, level) == Z_OK else { preconditionFailure("zlib deflateInit2 failed") }
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 32)
        let produced: Int = input.withUnsafeBufferPointer { inBuf in
            out.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = uInt(outBuf.count)
                // deflateBound guarantees one call with Z_FINISH completes.
                let rc = deflate(&stream, Z_FINISH)
                precondition(rc == Z_STREAM_END, "zlib deflate did not finish: \(rc)")
                return Int(stream.total_out)
            }
        }
        out.removeSubrange(produced...)
        return out
    }

    /// Inflates one gzip stream (concatenated members too), refusing output beyond `maxBytes`.
    public static func decompress(_ input: [UInt8], maxBytes: Int) throws(GzipError) -> [UInt8] {
        var stream = z_stream()
        guard cpsync_inflate_init_gzip(&stream) == Z_OK else { throw .malformed("inflateInit2 failed") }
        defer { inflateEnd(&stream) }
        var out: [UInt8] = []
        out.reserveCapacity(min(maxBytes, max(4096, input.count * 8)))
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var failure: GzipError?
        input.withUnsafeBufferPointer { inBuf in
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            stream.avail_in = uInt(inBuf.count)
            while true {
                let (rc, n) = chunk.withUnsafeMutableBufferPointer { c -> (Int32, Int) in
                    stream.next_out = c.baseAddress
                    stream.avail_out = uInt(c.count)
                    let rc = inflate(&stream, Z_NO_FLUSH)
                    return (rc, c.count - Int(stream.avail_out))
                }
                if out.count + n > maxBytes { failure = .tooLarge(limit: maxBytes); return }
                out.append(contentsOf: chunk[0..<n])
                switch rc {
                case Z_STREAM_END:
                    // Another member follows (gzip allows concatenation): go on with it.
                    if stream.avail_in > 0 {
                        guard inflateReset(&stream) == Z_OK else { failure = .malformed("inflateReset failed"); return }
                        continue
                    }
                    return
                case Z_OK:
                    continue
                case Z_BUF_ERROR where stream.avail_in == 0:
                    failure = .malformed("truncated")
                    return
                default:
                    failure = .malformed(stream.msg.map { String(cString: $0) } ?? "zlib error \(rc)")
                    return
                }
            }
        }
        if let failure { throw failure }
        return out
    }
}
