import CPSyncText
import CPSyncCore

/// A byte-level writer of canonical JSON: no whitespace, members in the fixed order each message documents,
/// strings escaped minimally (only `"`, `\` and control characters; everything else raw UTF-8), integers in plain
/// decimal, doubles in Swift's shortest round-trip form. Never appends a trailing newline.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always) public mutating func byte(_ b: UInt8) { bytes.append(b) }

    /// Appends bytes verbatim.
    @inline(__always) public mutating func append(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    /// Appends ASCII / UTF-8 text verbatim (member names with their punctuation, literals).
    @inline(__always) public mutating func raw(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    public mutating func null() { raw("null") }
    public mutating func bool(_ b: Bool) { if b { raw("true") } else { raw("false") } }

    /// A JSON string.
    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { buf in appendEscaped(buf) }
    }

    public mutating func optionalString(_ s: String?) {
        if let s { string(s) } else { null() }
    }

    mutating func appendEscaped(_ buf: UnsafeBufferPointer<UInt8>) { JSONString.append(buf, to: &bytes) }

    /// A JSON integer in plain decimal.
    public mutating func int(_ v: Int64) {
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(v.magnitude)
    }

    public mutating func int(_ v: Int) { int(Int64(v)) }

    /// A JSON string holding the integer in plain decimal (how `{"i":…}` carries an Int64).
    public mutating func quotedInt(_ v: Int64) {
        bytes.append(UInt8(ascii: "\""))
        int(v)
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func appendDigits(_ m: UInt64) {
        if m < 10 {
            bytes.append(UInt8(truncatingIfNeeded: m) &+ 0x30)
            return
        }
        let start = bytes.count
        var m = m
        while m > 0 {
            let (q, r) = m.quotientAndRemainder(dividingBy: 10)
            bytes.append(UInt8(truncatingIfNeeded: r) &+ 0x30)
            m = q
        }
        bytes[start...].reverse()
    }

    /// A finite double in Swift's shortest round-trip form (`1.0`, `-0.0`, `0.5`, `1e+300`, `5e-324`).
    /// Non-finite values are a programming error: `Value` encoding rejects them before calling this.
    public mutating func double(_ d: Double) {
        precondition(d.isFinite, "JSON cannot carry a non-finite double")
        var s = d.description
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// Base64 (RFC 4648 standard alphabet, with padding) inside a JSON string.
    public mutating func base64String(_ data: [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        Base64.encode(data, into: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }
}

enum Base64 {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let inverse: [UInt8] = {
        var t = [UInt8](repeating: 0xff, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    static func encode(_ data: [UInt8], into out: inout [UInt8]) {
        let a = alphabet
        out.reserveCapacity(out.count + (data.count + 2) / 3 * 4)
        var i = 0
        let n = data.count
        while i + 3 <= n {
            let v = UInt32(data[i]) << 16 | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2])
            out.append(a[Int(v >> 18)])
            out.append(a[Int(v >> 12 & 63)])
            out.append(a[Int(v >> 6 & 63)])
            out.append(a[Int(v & 63)])
            i += 3
        }
        if n - i == 1 {
            let v = UInt32(data[i]) << 16
            out.append(a[Int(v >> 18)])
            out.append(a[Int(v >> 12 & 63)])
            out.append(UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        } else if n - i == 2 {
            let v = UInt32(data[i]) << 16 | UInt32(data[i + 1]) << 8
            out.append(a[Int(v >> 18)])
            out.append(a[Int(v >> 12 & 63)])
            out.append(a[Int(v >> 6 & 63)])
            out.append(UInt8(ascii: "="))
        }
    }

    /// Strict canonical decoding: standard alphabet, padding required, unused bits zero. Nil when not canonical.
    static func decode(_ s: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let n = s.count
        if n == 0 { return [] }
        if n % 4 != 0 { return nil }
        var pad = 0
        if s[n - 1] == UInt8(ascii: "=") { pad = 1; if s[n - 2] == UInt8(ascii: "=") { pad = 2 } }
        var out = [UInt8]()
        out.reserveCapacity(n / 4 * 3 - pad)
        let t = inverse
        var i = 0
        while i < n {
            let last = i + 4 == n
            let c0 = t[Int(s[i])], c1 = t[Int(s[i + 1])]
            var c2 = t[Int(s[i + 2])], c3 = t[Int(s[i + 3])]
            if last && pad >= 1 { c3 = 0 }
            if last && pad == 2 { c2 = 0 }
            if (c0 | c1 | c2 | c3) & 0xc0 != 0 { return nil }
            let v = UInt32(c0) << 18 | UInt32(c1) << 12 | UInt32(c2) << 6 | UInt32(c3)
            out.append(UInt8(truncatingIfNeeded: v >> 16))
            if last && pad == 2 {
                if v & 0xffff != 0 { return nil }
            } else if last && pad == 1 {
                out.append(UInt8(truncatingIfNeeded: v >> 8))
                if v & 0xff != 0 { return nil }
            } else {
                out.append(UInt8(truncatingIfNeeded: v >> 8))
                out.append(UInt8(truncatingIfNeeded: v))
            }
            i += 4
        }
        return out
    }
}
