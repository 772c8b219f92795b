import CPSyncCore

/// Malformed or out-of-bounds JSON. `path` names the offending element (`changes[3].val`; empty for the document
/// itself), `offset` the byte where the reader stopped.
public struct WireError: Error, CustomStringConvertible, Hashable, Sendable {
    public var path: String
    public var message: String
    public var offset: Int
    /// True when the input was well-formed so far but exceeded a size bound (too many elements, too long a string):
    /// a server answers 413 `payload_too_large` rather than 400.
    public var exceedsLimit: Bool

    public init(path: String = "", message: String, offset: Int, exceedsLimit: Bool = false) {
        self.path = path
        self.message = message
        self.offset = offset
        self.exceedsLimit = exceedsLimit
    }

    public var description: String {
        (path.isEmpty ? "" : path + ": ") + message + " (at byte \(offset))"
    }

    /// The error as seen from the enclosing object's member `key`.
    public func prefixed(key: String) -> WireError {
        var e = self
        e.path = path.isEmpty ? key : (path.hasPrefix("[") ? key + path : key + "." + path)
        return e
    }

    /// The error as seen from the enclosing array's element `index`.
    public func prefixed(index: Int) -> WireError {
        var e = self
        e.path = "[\(index)]" + (path.isEmpty || path.hasPrefix("[") ? path : "." + path)
        return e
    }

    /// The error body a server answers for this error: 413 `payload_too_large` when a size bound was exceeded,
    /// else 400 `bad_request`.
    public var errorBody: ErrorBody {
        exceedsLimit ? ErrorBody(code: .payloadTooLarge, message: "request too large: \(description)")
            : ErrorBody(code: .badRequest, message: "malformed request: \(description)")
    }
}

/// Bounds the decoder enforces on hostile input.
public struct WireLimits: Sendable, Hashable {
    /// Deepest nesting of arrays and objects.
    public var maxDepth: Int
    /// Longest string, in UTF-8 bytes after unescaping (a blob's base64 text counts as a string).
    public var maxStringBytes: Int
    /// Most elements of an array of changes (and of conflicts / audit entries).
    public var maxChanges: Int

    public init(maxDepth: Int = 32, maxStringBytes: Int = ProtocolLimits.maxBodyBytes, maxChanges: Int = ProtocolLimits.maxPageSize) {
        self.maxDepth = maxDepth
        self.maxStringBytes = maxStringBytes
        self.maxChanges = maxChanges
    }

    /// The defaults: depth 32, strings up to 16 MiB, up to 10,000 changes per array.
    public static let `default` = WireLimits()
}

/// The member names of one object type, for `JSONReader.nextKey`.
public struct KeyTable: Sendable {
    let keys: [[UInt8]]
    let names: [String]
    public init(_ names: [String]) {
        precondition(names.count <= 64)
        self.names = names
        self.keys = names.map { Array($0.utf8) }
    }
}

/// Iteration state of one JSON object.
public struct ObjectState: Sendable {
    var first = true
    var seen: UInt64 = 0
    public func has(_ index: Int) -> Bool { seen & (1 << UInt64(index)) != 0 }
}

/// A byte-level JSON reader over a borrowed buffer (only valid inside `JSONReader.read`). Strict RFC 8259: no
/// trailing commas, no comments, no leading zeros, UTF-8 only, lone surrogates rejected. Duplicate known members are
/// rejected; unknown members are skipped.
public struct JSONReader: ~Copyable {
    let p: UnsafePointer<UInt8>
    let n: Int
    public internal(set) var offset = 0
    var depth = 0
    public let limits: WireLimits

    init(_ p: UnsafePointer<UInt8>, _ n: Int, limits: WireLimits) {
        self.p = p
        self.n = n
        self.limits = limits
    }

    /// Runs `body` on a reader of the whole document and requires that nothing but whitespace follows.
    public static func read<T>(_ bytes: UnsafeRawBufferPointer, limits: WireLimits = .default,
                               _ body: (inout JSONReader) throws(WireError) -> T) throws(WireError) -> T {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else {
            throw WireError(message: "empty document", offset: 0)
        }
        var r = JSONReader(base, bytes.count, limits: limits)
        let v = try body(&r)
        r.skipWS()
        if r.offset != r.n { throw r.fail("unexpected data after the document") }
        return v
    }

    public func fail(_ message: String) -> WireError { WireError(message: message, offset: offset) }
    func tooLarge(_ message: String) -> WireError { WireError(message: message, offset: offset, exceedsLimit: true) }

    @inline(__always) mutating func skipWS() {
        while offset < n {
            let c = p[offset]
            if c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09 { offset += 1 } else { return }
        }
    }

    /// The next non-whitespace byte, not consumed; nil at the end.
    @inline(__always) public mutating func peek() -> UInt8? {
        skipWS()
        return offset < n ? p[offset] : nil
    }

    func describeNext() -> String {
        guard offset < n else { return "end of document" }
        let c = p[offset]
        switch c {
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        case UInt8(ascii: "n"): return "null"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return "a number"
        default: return c >= 0x20 && c < 0x7f ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x" + String(c, radix: 16)
        }
    }

    func expected(_ what: String) -> WireError { fail("expected \(what), found \(describeNext())") }

    /// Member `key`'s value: errors thrown by `body` get `key` prefixed to their path.
    @inline(__always) public mutating func member<T>(_ key: String, _ body: (inout JSONReader) throws(WireError) -> T) throws(WireError) -> T {
        do { return try body(&self) } catch { throw error.prefixed(key: key) }
    }

    // MARK: objects

    public mutating func beginObject() throws(WireError) -> ObjectState {
        guard peek() == UInt8(ascii: "{") else { throw expected("an object") }
        offset += 1
        depth += 1
        if depth > limits.maxDepth { throw fail("nesting deeper than \(limits.maxDepth)") }
        return ObjectState()
    }

    /// The index in `keys` of the next member's name (-1 for a name not in `keys`, whose value the caller must
    /// `skipValue()`), positioned at its value; nil after the closing brace.
    public mutating func nextKey(_ state: inout ObjectState, _ keys: KeyTable) throws(WireError) -> Int? {
        guard let c = peek() else { throw fail("unterminated object") }
        if c == UInt8(ascii: "}") {
            offset += 1
            depth -= 1
            return nil
        }
        if state.first {
            state.first = false
        } else {
            guard c == UInt8(ascii: ",") else { throw expected("',' or '}'") }
            offset += 1
            guard peek() == UInt8(ascii: "\"") else { throw expected("a member name") }
        }
        guard p[offset] == UInt8(ascii: "\"") else { throw expected("a member name") }
        let keyStart = offset
        // Fast path: a name without escapes compared in place.
        var j = offset + 1
        while j < n && p[j] != UInt8(ascii: "\"") && p[j] != UInt8(ascii: "\\") { j += 1 }
        var index = -1
        var name: String? = nil
        if j < n && p[j] == UInt8(ascii: "\"") {
            let len = j - offset - 1
            let start = p + offset + 1
            for (k, key) in keys.keys.enumerated() where key.count == len {
                if key.withUnsafeBufferPointer({ memEqual($0.baseAddress!, start, len) }) { index = k; break }
            }
            if index < 0 { _ = try readString() } else { offset = j + 1 }
        } else {
            let s = try readString()
            name = s
            index = keys.names.firstIndex(of: s) ?? -1
        }
        if index >= 0 {
            if state.has(index) {
                offset = keyStart
                throw fail("duplicate member \"\(name ?? keys.names[index])\"")
            }
            state.seen |= 1 << UInt64(index)
        }
        guard peek() == UInt8(ascii: ":") else { throw expected("':'") }
        offset += 1
        skipWS()
        return index
    }

    /// Throws "missing member" for the first name in `keys` whose bit in `required` is not in `state`.
    public func requireMembers(_ state: ObjectState, _ keys: KeyTable, _ required: UInt64) throws(WireError) {
        let missing = required & ~state.seen
        if missing != 0 {
            throw fail("missing member \"\(keys.names[missing.trailingZeroBitCount])\"")
        }
    }

    // MARK: arrays

    public mutating func beginArray() throws(WireError) {
        guard peek() == UInt8(ascii: "[") else { throw expected("an array") }
        offset += 1
        depth += 1
        if depth > limits.maxDepth { throw fail("nesting deeper than \(limits.maxDepth)") }
    }

    /// Whether another element follows (positioned at it); consumes the closing bracket when not.
    public mutating func nextElement(_ index: Int) throws(WireError) -> Bool {
        guard let c = peek() else { throw fail("unterminated array") }
        if c == UInt8(ascii: "]") {
            offset += 1
            depth -= 1
            return false
        }
        if index > 0 {
            guard c == UInt8(ascii: ",") else { throw expected("',' or ']'") }
            offset += 1
            guard let d = peek(), d != UInt8(ascii: "]") else { throw expected("a value") }
        }
        return true
    }

    /// An array whose elements `element` decodes; at most `maxCount` elements.
    public mutating func array<T>(maxCount: Int, _ element: (inout JSONReader) throws(WireError) -> T) throws(WireError) -> [T] {
        try beginArray()
        var out: [T] = []
        var i = 0
        while try nextElement(i) {
            if i >= maxCount { throw tooLarge("more than \(maxCount) elements") }
            do { out.append(try element(&self)) } catch { throw error.prefixed(index: i) }
            i += 1
        }
        return out
    }

    // MARK: scalars

    /// Consumes `null` if it is next.
    public mutating func readNull() -> Bool {
        if peek() == UInt8(ascii: "n") && literal("null") { return true }
        return false
    }

    private mutating func literal(_ s: StaticString) -> Bool {
        let len = s.utf8CodeUnitCount
        guard offset + len <= n, memEqual(s.utf8Start, p + offset, len) else { return false }
        offset += len
        return true
    }

    public mutating func readBool() throws(WireError) -> Bool {
        let c = peek()
        if c == UInt8(ascii: "t") && literal("true") { return true }
        if c == UInt8(ascii: "f") && literal("false") { return false }
        throw expected("a boolean")
    }

    public mutating func readString() throws(WireError) -> String {
        guard peek() == UInt8(ascii: "\"") else { throw expected("a string") }
        let start = offset + 1
        var j = start
        var high: UInt8 = 0
        while j < n {
            let c = p[j]
            if c == UInt8(ascii: "\"") {
                let len = j - start
                if len > limits.maxStringBytes { throw tooLarge("string longer than \(limits.maxStringBytes) bytes") }
                let buf = UnsafeBufferPointer(start: p + start, count: len)
                let s: String
                if high < 0x80 {
                    s = String(decoding: buf, as: UTF8.self)
                } else {
                    guard let v = UTF8Bytes.string(validating: buf) else { throw fail("string is not valid UTF-8") }
                    s = v
                }
                offset = j + 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { offset = j; throw fail("unescaped control character in string") }
            high |= c
            j += 1
        }
        if j >= n { throw fail("unterminated string") }
        return try readEscapedString(start: start, escapeAt: j)
    }

    private mutating func readEscapedString(start: Int, escapeAt: Int) throws(WireError) -> String {
        var out = [UInt8](UnsafeBufferPointer(start: p + start, count: escapeAt - start))
        var j = escapeAt
        while true {
            guard j < n else { offset = j; throw fail("unterminated string") }
            let c = p[j]
            if c == UInt8(ascii: "\"") { break }
            if c < 0x20 { offset = j; throw fail("unescaped control character in string") }
            if c != UInt8(ascii: "\\") {
                out.append(c)
                j += 1
            } else {
                guard j + 1 < n else { offset = j; throw fail("unterminated string") }
                let e = p[j + 1]
                j += 2
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5c)
                case UInt8(ascii: "/"): out.append(0x2f)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0c)
                case UInt8(ascii: "n"): out.append(0x0a)
                case UInt8(ascii: "r"): out.append(0x0d)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4(at: j)
                    j += 4
                    if scalar >= 0xd800 && scalar < 0xdc00 {
                        guard j + 6 <= n, p[j] == UInt8(ascii: "\\"), p[j + 1] == UInt8(ascii: "u") else {
                            offset = j; throw fail("lone surrogate \\u\(String(scalar, radix: 16)) in string")
                        }
                        let low = try hex4(at: j + 2)
                        guard low >= 0xdc00 && low < 0xe000 else {
                            offset = j; throw fail("lone surrogate \\u\(String(scalar, radix: 16)) in string")
                        }
                        j += 6
                        scalar = 0x10000 + ((scalar - 0xd800) << 10) + (low - 0xdc00)
                    } else if scalar >= 0xdc00 && scalar < 0xe000 {
                        offset = j - 6; throw fail("lone surrogate \\u\(String(scalar, radix: 16)) in string")
                    }
                    appendUTF8(scalar, to: &out)
                default:
                    offset = j - 2
                    throw fail("invalid escape in string")
                }
            }
            if out.count > limits.maxStringBytes { offset = j; throw tooLarge("string longer than \(limits.maxStringBytes) bytes") }
        }
        offset = j + 1
        guard let s = String(validating: out, as: UTF8.self) else {
            offset = start
            throw fail("string is not valid UTF-8")
        }
        return s
    }

    private mutating func hex4(at j: Int) throws(WireError) -> UInt32 {
        guard j + 4 <= n else { offset = j; throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = p[j + k]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - 0x30)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - 0x61 + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - 0x41 + 10)
            default: offset = j; throw fail("invalid \\u escape")
            }
            v = v << 4 | d
        }
        return v
    }

    /// The raw bytes of a string without escapes (how base64 and decimal integer strings are read), passed to `body`.
    public mutating func withPlainString<T>(_ what: String, _ body: (UnsafeBufferPointer<UInt8>) -> T?) throws(WireError) -> T {
        guard peek() == UInt8(ascii: "\"") else { throw expected(what) }
        let start = offset + 1
        var j = start
        while j < n && p[j] != UInt8(ascii: "\"") {
            if p[j] == UInt8(ascii: "\\") || p[j] < 0x20 { offset = j; throw fail("invalid character in \(what)") }
            j += 1
        }
        if j >= n { throw fail("unterminated string") }
        if j - start > limits.maxStringBytes { throw tooLarge("string longer than \(limits.maxStringBytes) bytes") }
        guard let v = body(UnsafeBufferPointer(start: p + start, count: j - start)) else { throw fail("expected \(what)") }
        offset = j + 1
        return v
    }

    /// A JSON number that is an integer (no fraction, no exponent) within Int64.
    public mutating func readInt64() throws(WireError) -> Int64 {
        guard let c = peek(), c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39) else { throw expected("an integer") }
        let start = offset
        guard let v = parseDecimal(p + offset, n - offset, consumed: &offset) else {
            offset = start
            throw fail("expected a 64-bit integer")
        }
        if offset < n, p[offset] == UInt8(ascii: ".") || p[offset] == UInt8(ascii: "e") || p[offset] == UInt8(ascii: "E") {
            offset = start
            throw fail("expected an integer, found a number with a fraction or exponent")
        }
        return v
    }

    /// `readInt64` within `range`.
    public mutating func readInt(in range: ClosedRange<Int64>) throws(WireError) -> Int64 {
        let start = offset
        let v = try readInt64()
        if !range.contains(v) { offset = start; throw fail("\(v) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return v
    }

    /// Any JSON number, as a Double; must be finite.
    public mutating func readDouble() throws(WireError) -> Double {
        guard let c = peek(), c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39) else { throw expected("a number") }
        let start = offset
        var j = offset
        if p[j] == UInt8(ascii: "-") { j += 1 }
        func digits(_ j: inout Int) -> Int {
            let s = j
            while j < n && p[j] >= 0x30 && p[j] <= 0x39 { j += 1 }
            return j - s
        }
        let intStart = j
        let intDigits = digits(&j)
        if intDigits == 0 || (intDigits > 1 && p[intStart] == 0x30) { offset = start; throw fail("invalid number") }
        if j < n && p[j] == UInt8(ascii: ".") {
            j += 1
            if digits(&j) == 0 { offset = start; throw fail("invalid number") }
        }
        if j < n && (p[j] == UInt8(ascii: "e") || p[j] == UInt8(ascii: "E")) {
            j += 1
            if j < n && (p[j] == UInt8(ascii: "+") || p[j] == UInt8(ascii: "-")) { j += 1 }
            if digits(&j) == 0 { offset = start; throw fail("invalid number") }
        }
        if j - start > 1100 { throw fail("number too long") }
        let text = String(decoding: UnsafeBufferPointer(start: p + start, count: j - start), as: UTF8.self)
        guard let d = Double(text) else { throw fail("invalid number") }
        guard d.isFinite else { throw fail("number out of the range of a double") }
        offset = j
        return d
    }

    /// Skips any value (for unknown members), within the depth and string bounds.
    public mutating func skipValue() throws(WireError) {
        guard let c = peek() else { throw expected("a value") }
        switch c {
        case UInt8(ascii: "{"):
            var st = try beginObject()
            let none = KeyTable([])
            while try nextKey(&st, none) != nil { try skipValue() }
        case UInt8(ascii: "["):
            try beginArray()
            var i = 0
            while try nextElement(i) { try skipValue(); i += 1 }
        case UInt8(ascii: "\""): _ = try readString()
        case UInt8(ascii: "t"), UInt8(ascii: "f"): _ = try readBool()
        case UInt8(ascii: "n"): if !readNull() { throw expected("a value") }
        default: _ = try readDouble()
        }
    }
}

@inline(__always) func memEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ len: Int) -> Bool {
    var i = 0
    while i < len {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}

/// Parses `-?(0|[1-9][0-9]*)` within Int64 at `p`, advancing `consumed` (an absolute offset) past it.
/// With `whole`, the digits must fill all `n` bytes.
func parseDecimal(_ p: UnsafePointer<UInt8>, _ n: Int, consumed: inout Int, whole: Bool = false) -> Int64? {
    var j = 0
    var negative = false
    if j < n && p[j] == UInt8(ascii: "-") { negative = true; j += 1 }
    let digitStart = j
    var m: UInt64 = 0
    while j < n {
        let c = p[j]
        guard c >= 0x30 && c <= 0x39 else { break }
        let (a, o1) = m.multipliedReportingOverflow(by: 10)
        let (b, o2) = a.addingReportingOverflow(UInt64(c - 0x30))
        if o1 || o2 { return nil }
        m = b
        j += 1
    }
    let count = j - digitStart
    if count == 0 || (count > 1 && p[digitStart] == 0x30) { return nil }
    if whole && j != n { return nil }
    let v: Int64
    if negative {
        if m > UInt64(Int64.max) + 1 { return nil }
        if m == 0 { return nil }  // "-0" is not canonical
        v = m == UInt64(Int64.max) + 1 ? Int64.min : -Int64(m)
    } else {
        if m > UInt64(Int64.max) { return nil }
        v = Int64(m)
    }
    consumed += j
    return v
}

func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
    switch scalar {
    case 0..<0x80: out.append(UInt8(scalar))
    case 0x80..<0x800:
        out.append(UInt8(0xc0 | scalar >> 6))
        out.append(UInt8(0x80 | scalar & 0x3f))
    case 0x800..<0x10000:
        out.append(UInt8(0xe0 | scalar >> 12))
        out.append(UInt8(0x80 | scalar >> 6 & 0x3f))
        out.append(UInt8(0x80 | scalar & 0x3f))
    default:
        out.append(UInt8(0xf0 | scalar >> 18))
        out.append(UInt8(0x80 | scalar >> 12 & 0x3f))
        out.append(UInt8(0x80 | scalar >> 6 & 0x3f))
        out.append(UInt8(0x80 | scalar & 0x3f))
    }
}
