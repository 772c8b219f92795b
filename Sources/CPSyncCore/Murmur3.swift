/// MurmurHash3, x64 128-bit variant (Austin Appleby's public-domain design): a fast hash with good mixing, **not** a
/// cryptographic one. It names and compares a push batch's contents (`ChangeDigest`): there only one site's own
/// batches are ever compared with each other, so what is needed is that two different batches never share a hash by
/// accident (2⁻¹²⁸ a pair), not resistance to somebody crafting a collision — a site's token holder can already write
/// whatever that site may write. Tokens and anything secret keep SHA-256.
///
/// About ten times SHA-256's speed here; on a 10,000-change page that is the difference between about 0.8 ms and less
/// than 0.1 ms, on the office and again on the county.
public enum Murmur3 {
    private static let c1: UInt64 = 0x87c3_7b91_1142_53d5
    private static let c2: UInt64 = 0x4cf5_ad43_2745_937f

    /// The two 64-bit halves (h1, h2) of the hash of `bytes`.
    public static func hash128(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> (UInt64, UInt64) {
        var h1 = seed, h2 = seed
        let count = bytes.count
        let blocks = count / 16
        for i in 0..<blocks {
            var k1 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 16, as: UInt64.self))
            var k2 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 16 + 8, as: UInt64.self))
            k1 = rotl(k1 &* c1, 31) &* c2
            h1 ^= k1
            h1 = rotl(h1, 27) &+ h2
            h1 = h1 &* 5 &+ 0x52dc_e729
            k2 = rotl(k2 &* c2, 33) &* c1
            h2 ^= k2
            h2 = rotl(h2, 31) &+ h1
            h2 = h2 &* 5 &+ 0x3849_5ab5
        }
        // The last 0–15 bytes, little-endian: bytes 8… into k2, bytes 0…7 into k1.
        let tail = blocks * 16, rest = count - tail
        var k1: UInt64 = 0, k2: UInt64 = 0
        for j in stride(from: rest - 1, through: 8, by: -1) { k2 = k2 << 8 | UInt64(bytes[tail + j]) }
        for j in stride(from: min(rest, 8) - 1, through: 0, by: -1) { k1 = k1 << 8 | UInt64(bytes[tail + j]) }
        if rest > 8 { h2 ^= rotl(k2 &* c2, 33) &* c1 }
        if rest > 0 { h1 ^= rotl(k1 &* c1, 31) &* c2 }
        h1 ^= UInt64(count)
        h2 ^= UInt64(count)
        h1 = h1 &+ h2
        h2 = h2 &+ h1
        h1 = fmix(h1)
        h2 = fmix(h2)
        h1 = h1 &+ h2
        h2 = h2 &+ h1
        return (h1, h2)
    }

    /// 32 lower-case hex digits: h1 then h2, each most significant digit first (how the reference vectors are usually
    /// written: "hello" is cbd8a7b341bd9b025b1e906a48ae1d19).
    public static func hex(_ bytes: [UInt8], seed: UInt64 = 0) -> String {
        bytes.withUnsafeBytes { hex($0, seed: seed) }
    }

    public static func hex(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> String {
        let (h1, h2) = hash128(bytes, seed: seed)
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: 32)
        for (half, word) in [h1, h2].enumerated() {
            for i in 0..<16 { out[half * 16 + i] = digits[Int(truncatingIfNeeded: word >> UInt64(60 - 4 * i)) & 15] }
        }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x &<< r) | (x &>> (64 &- r)) }

    @inline(__always)
    private static func fmix(_ k: UInt64) -> UInt64 {
        var k = k
        k ^= k >> 33
        k = k &* 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k = k &* 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }
}
