#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Byte-wise comparison and hashing of strings, as SQLite compares text: Swift's `String` equality is canonical
/// equivalence (an NFC and an NFD spelling are equal), which would merge what SQLite keeps apart. Native and small
/// strings (everything read from SQLite or the wire) expose their UTF-8 contiguously, so this is one `memcmp`.
public enum UTF8Bytes {
    @inline(__always)
    public static func equal(_ a: String, _ b: String) -> Bool {
        // The same representation is the same bytes: one storage shared by both (a row's changes share their key, a
        // page its names), or the same small string held inline (short names and site ids).
        if unsafeBitCast(a, to: (UInt64, UInt64).self) == unsafeBitCast(b, to: (UInt64, UInt64).self) { return true }
        // Stored with the string (native and small ones): a different length is told without touching the bytes.
        if a.utf8.count != b.utf8.count { return false }
        let result = a.utf8.withContiguousStorageIfAvailable { pa in
            b.utf8.withContiguousStorageIfAvailable { pb in
                pa.count == 0 || memcmp(pa.baseAddress!, pb.baseAddress!, pa.count) == 0
            }
        }
        if let result, let result { return result }
        return a.utf8.elementsEqual(b.utf8)
    }

    @inline(__always)
    public static func hash(_ s: String, into hasher: inout Hasher) {
        let done: Void? = s.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if done == nil { for byte in s.utf8 { hasher.combine(byte) } }
        hasher.combine(s.utf8.count)
    }

    /// The bytes as a string when they are valid UTF-8, else nil. Decoding repairs what is not UTF-8 (each bad
    /// sequence becomes U+FFFD), so the bytes were valid exactly when the decoded string holds the same bytes. (Not
    /// `String(validating:as:)`: generic over the encoding, it looks up type metadata at run time on every call,
    /// which was a seventh of reading a page of changes.)
    public static func string(validating bytes: UnsafeBufferPointer<UInt8>) -> String? {
        let s = String(decoding: bytes, as: UTF8.self)
        let same = s.utf8.withContiguousStorageIfAvailable { decoded in
            decoded.count == bytes.count && (bytes.isEmpty || memcmp(decoded.baseAddress!, bytes.baseAddress!, bytes.count) == 0)
        } ?? s.utf8.elementsEqual(bytes)
        return same ? s : nil
    }
}
