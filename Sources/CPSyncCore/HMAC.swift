/// HMAC-SHA256 (RFC 2104), on the project's own SHA-256: signs change files (sync by USB stick).
public enum HMACSHA256 {
    public static func mac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var k = key.count > 64 ? SHA256.hash(key) : key
        k += [UInt8](repeating: 0, count: 64 - k.count)
        var inner = k.map { $0 ^ 0x36 }
        inner.reserveCapacity(64 + message.count)
        inner += message
        return SHA256.hash(k.map { $0 ^ 0x5c } + SHA256.hash(inner))
    }

    /// Lower-case hex of the MAC.
    public static func hex(key: [UInt8], message: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: mac(key: key, message: message).flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }

    /// A MAC fed in pieces (a file read in bounded chunks): `update` any number of times, then `finishHex` once.
    /// Equal to `hex` of the pieces joined. Not to be copied while in use (as `SHA256.Hasher`).
    public struct Hasher {
        private var inner = SHA256.Hasher()
        private let outerPad: [UInt8]

        public init(key: [UInt8]) {
            var k = key.count > 64 ? SHA256.hash(key) : key
            k += [UInt8](repeating: 0, count: 64 - k.count)
            outerPad = k.map { $0 ^ 0x5c }
            inner.update(k.map { $0 ^ 0x36 })
        }

        /// Bytes hashed so far (of the message).
        public var count: Int64 { inner.count - 64 }

        public mutating func update(_ bytes: UnsafeRawBufferPointer) { inner.update(bytes) }
        public mutating func update(_ bytes: some Collection<UInt8>) { inner.update(bytes) }

        /// Lower-case hex of the MAC.
        public mutating func finishHex() -> String {
            var outer = SHA256.Hasher()
            outer.update(outerPad)
            outer.update(inner.finish())
            return outer.finishHex()
        }
    }

    /// Compares two MACs in time that does not depend on where they differ.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
