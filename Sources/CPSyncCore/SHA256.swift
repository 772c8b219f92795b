/// SHA-256 (FIPS 180-4). The toolchain has no crypto library on Linux; this hashes tokens (only the hash is
/// stored) and derives content-addressed push batch ids.
public enum SHA256 {
    fileprivate static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    public static func hash(_ message: [UInt8]) -> [UInt8] {
        var h: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
            (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
        // Whole blocks straight from the message; only the tail (with the padding and length) is copied.
        let whole = message.count / 64 * 64
        var tail = Array(message[whole...])
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        let bitLength = UInt64(message.count) * 8
        for i in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        // The constants and the schedule through raw pointers: the global array's accessor and bounds checks in the
        // inner loop cost more than the rounds themselves.
        k.withUnsafeBufferPointer { kb in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
                let (k, w) = (kb.baseAddress!, w.baseAddress!)
                message.withUnsafeBufferPointer { m in
                    for chunk in stride(from: 0, to: whole, by: 64) { block(m.baseAddress! + chunk, &h, w, k) }
                }
                tail.withUnsafeBufferPointer { t in
                    for chunk in stride(from: 0, to: t.count, by: 64) { block(t.baseAddress! + chunk, &h, w, k) }
                }
            }
        }
        return [h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7].flatMap { v in (0..<4).reversed().map { UInt8(truncatingIfNeeded: v >> (UInt32($0) * 8)) } }
    }

    /// SHA-256 fed in pieces of any size (a file read in chunks): `update` as often as needed, then `finish` once.
    /// Holds one partial block, so hashing a file costs no more memory than the chunk it is read in.
    public struct Hasher: Sendable {
        private var h: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
            (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
        /// The bytes of an unfinished block (fewer than 64).
        private var pending: [UInt8] = []
        /// Bytes hashed so far.
        public private(set) var count: Int64 = 0

        public init() { pending.reserveCapacity(64) }

        public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), !bytes.isEmpty else { return }
            count += Int64(bytes.count)
            var offset = 0
            SHA256.k.withUnsafeBufferPointer { kb in
                withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
                    let (k, w) = (kb.baseAddress!, w.baseAddress!)
                    if !pending.isEmpty {
                        let take = min(64 - pending.count, bytes.count)
                        pending.append(contentsOf: UnsafeBufferPointer(start: base, count: take))
                        offset = take
                        guard pending.count == 64 else { return }
                        pending.withUnsafeBufferPointer { SHA256.block($0.baseAddress!, &h, w, k) }
                        pending.removeAll(keepingCapacity: true)
                    }
                    while bytes.count - offset >= 64 {
                        SHA256.block(base + offset, &h, w, k)
                        offset += 64
                    }
                }
            }
            if offset < bytes.count { pending.append(contentsOf: UnsafeBufferPointer(start: base + offset, count: bytes.count - offset)) }
        }

        /// The digest of everything fed; the hasher is spent.
        public mutating func finish() -> [UInt8] {
            var tail = pending
            tail.append(0x80)
            while tail.count % 64 != 56 { tail.append(0) }
            let bitLength = UInt64(count) * 8
            for i in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
            SHA256.k.withUnsafeBufferPointer { kb in
                withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
                    tail.withUnsafeBufferPointer { t in
                        for chunk in stride(from: 0, to: t.count, by: 64) { SHA256.block(t.baseAddress! + chunk, &h, w.baseAddress!, kb.baseAddress!) }
                    }
                }
            }
            pending = []
            return [h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7].flatMap { v in (0..<4).reversed().map { UInt8(truncatingIfNeeded: v >> (UInt32($0) * 8)) } }
        }

        /// Lower-case hex of `finish()`.
        public mutating func finishHex() -> String { SHA256.hexDigits(finish()) }
    }

    @inline(__always)
    fileprivate static func block(_ p: UnsafePointer<UInt8>, _ h: inout (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32),
                              _ w: UnsafeMutablePointer<UInt32>, _ k: UnsafePointer<UInt32>) {
        for i in 0..<16 {
            w[i] = UInt32(p[i * 4]) << 24 | UInt32(p[i * 4 + 1]) << 16 | UInt32(p[i * 4 + 2]) << 8 | UInt32(p[i * 4 + 3])
        }
        for i in 16..<64 {
            let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
            let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var (a, b, c, d, e, f, g, hh) = h
        for i in 0..<64 {
            let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
            let ch = (e & f) ^ (~e & g)
            let t1 = hh &+ s1 &+ ch &+ k[i] &+ w[i]
            let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
            let maj = (a & b) ^ (a & c) ^ (b & c)
            (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ s0 &+ maj)
        }
        h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e, h.5 &+ f, h.6 &+ g, h.7 &+ hh)
    }

    /// Lower-case hex of the SHA-256 of `text`'s UTF-8 bytes.
    public static func hex(_ text: String) -> String { hex(Array(text.utf8)) }

    public static func hex(_ bytes: [UInt8]) -> String { hexDigits(hash(bytes)) }

    /// Lower-case hex of a digest.
    static func hexDigits(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: digest.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }

    @inline(__always)
    private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x &>> n) | (x &<< (32 &- n)) }
}
