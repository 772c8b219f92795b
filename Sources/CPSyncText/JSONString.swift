/// JSON string escaping, the one implementation every module uses (the wire's `JSONWriter`, the tools' `--json`
/// output): only `"`, `\` and control characters are escaped (`\b \f \n \r \t`, else `\u00xx`); everything else is
/// raw UTF-8.
public enum JSONString {
    /// Appends the JSON string of the UTF-8 text `buf`, quotes included.
    @inlinable public static func append(_ buf: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var run = 0
        var i = 0
        let n = buf.count
        while i < n {
            let c = buf[i]
            if c < 0x20 || c == 0x22 || c == 0x5c {
                if run < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[run..<i])) }
                bytes.append(UInt8(ascii: "\\"))
                switch c {
                case 0x22: bytes.append(0x22)
                case 0x5c: bytes.append(0x5c)
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0c: bytes.append(UInt8(ascii: "f"))
                case 0x0a: bytes.append(UInt8(ascii: "n"))
                case 0x0d: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                default:
                    bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hexDigit(c >> 4), hexDigit(c & 0xf)])
                }
                run = i + 1
            }
            i += 1
        }
        if run < n { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[run..<n])) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// The JSON string literal of `s`, quotes included.
    public static func quoted(_ s: String) -> String {
        var s = s
        var out: [UInt8] = []
        s.withUTF8 { append($0, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }
}

@usableFromInline @inline(__always) func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x61 + v - 10 }
