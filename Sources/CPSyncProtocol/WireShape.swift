import CPSyncCore
import Foundation

/// A protocol v1 message with a canonical JSON form (see `Protocol/README.md` § Canonical JSON). A message states its
/// members once, in `wire`; the one mechanism below derives from that both the canonical encoding (members in the
/// stated order) and the decoding (members in any order, unknown ones skipped, duplicates refused, required ones
/// checked, `WireLimits` kept).
public protocol WireMessage: WireValue {
    /// The members, in canonical order.
    static var wire: WireShape<Self> { get }
    /// Appends the canonical JSON of `self`.
    func encode(to w: inout JSONWriter)
    /// Reads one message; unknown members are skipped, known ones may come in any order.
    static func read(from r: inout JSONReader) throws(WireError) -> Self
}

extension WireMessage {
    public func encode(to w: inout JSONWriter) { Self.wire.write(self, to: &w) }
    public static func read(from r: inout JSONReader) throws(WireError) -> Self { try wire.read(from: &r) }
    public static var wireCodec: WireCodec<Self> {
        WireCodec(write: { m, w in m.encode(to: &w) }, read: { (r: inout JSONReader) throws(WireError) in try Self.read(from: &r) })
    }

    /// The canonical JSON bytes (no trailing newline).
    public func encoded() -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        encode(to: &w)
        return w.bytes
    }

    public func encodedData() -> Data { Data(encoded()) }

    public static func decode(_ bytes: UnsafeRawBufferPointer, limits: WireLimits = .default) throws(WireError) -> Self {
        try JSONReader.read(bytes, limits: limits) { (r: inout JSONReader) throws(WireError) in try Self.read(from: &r) }
    }

    public static func decode(_ bytes: [UInt8], limits: WireLimits = .default) throws(WireError) -> Self {
        let result = bytes.withUnsafeBytes { buf in Result { () throws(WireError) -> Self in try decode(buf, limits: limits) } }
        return try result.get()
    }

    public static func decode(_ data: Data, limits: WireLimits = .default) throws(WireError) -> Self {
        let result = data.withUnsafeBytes { buf in Result { () throws(WireError) -> Self in try decode(buf, limits: limits) } }
        return try result.get()
    }
}

/// How values of one type are written and read.
public struct WireCodec<V>: Sendable {
    public let write: @Sendable (V, inout JSONWriter) -> Void
    public let read: @Sendable (inout JSONReader) throws(WireError) -> V

    public init(write: @escaping @Sendable (V, inout JSONWriter) -> Void,
                read: @escaping @Sendable (inout JSONReader) throws(WireError) -> V) {
        self.write = write
        self.read = read
    }

    /// The same JSON, seen as another type.
    public func map<U>(_ to: @escaping @Sendable (V) -> U, from: @escaping @Sendable (U) -> V) -> WireCodec<U> {
        let write = self.write, read = self.read
        return WireCodec<U>(write: { u, w in write(from(u), &w) }, read: { (r: inout JSONReader) throws(WireError) in to(try read(&r)) })
    }

    /// `null` is nil.
    public var orNull: WireCodec<V?> {
        let write = self.write, read = self.read
        return WireCodec<V?>(write: { v, w in if let v { write(v, &w) } else { w.null() } },
                             read: { (r: inout JSONReader) throws(WireError) -> V? in r.readNull() ? nil : try read(&r) })
    }

    /// For a member omitted when nil: a present member is never nil (`null` is read as `V` reads it).
    public var whenPresent: WireCodec<V?> { map({ $0 }, from: { $0! }) }

    /// An array of at most `maxCount` elements (nil: `WireLimits.maxChanges`).
    public func array(maxCount: Int? = nil) -> WireCodec<[V]> {
        let write = self.write, read = self.read
        return WireCodec<[V]>(
            write: { vs, w in
                w.byte(UInt8(ascii: "["))
                for (i, v) in vs.enumerated() {
                    if i > 0 { w.byte(UInt8(ascii: ",")) }
                    write(v, &w)
                }
                w.byte(UInt8(ascii: "]"))
            },
            read: { (r: inout JSONReader) throws(WireError) -> [V] in
                try r.array(maxCount: maxCount ?? r.limits.maxChanges) { (r: inout JSONReader) throws(WireError) in try read(&r) }
            })
    }
}

extension WireCodec where V == Int64 {
    /// An integer within `range`.
    public static func int64(in range: ClosedRange<Int64>) -> WireCodec<Int64> {
        WireCodec(write: { v, w in w.int(v) }, read: { (r: inout JSONReader) throws(WireError) in try r.readInt(in: range) })
    }
    /// Sequences, sizes and cursors: 0 or more.
    public static let nonNegative = int64(in: 0...Int64.max)
}

extension WireCodec where V: RawRepresentable<String> & Sendable {
    /// One of `cases`, by raw value; another string is refused naming them.
    public static func oneOf(_ cases: [V]) -> WireCodec<V> {
        let names = cases.map { "\"\($0.rawValue)\"" }
        let list = names.count < 2 ? names.joined() : names.dropLast().joined(separator: ", ") + " or " + names.last!
        return WireCodec(write: { v, w in w.string(v.rawValue) }, read: { (r: inout JSONReader) throws(WireError) -> V in
            let at = r.offset
            let s = try r.readString()
            guard let v = V(rawValue: s) else { throw WireError(message: "expected \(list), found \"\(s)\"", offset: at) }
            return v
        })
    }
}

/// A type with one JSON form, used by default for members of that type.
public protocol WireValue: Sendable {
    static var wireCodec: WireCodec<Self> { get }
}

extension String: WireValue {
    public static var wireCodec: WireCodec<String> {
        WireCodec(write: { v, w in w.string(v) }, read: { (r: inout JSONReader) throws(WireError) in try r.readString() })
    }
}

extension Bool: WireValue {
    public static var wireCodec: WireCodec<Bool> {
        WireCodec(write: { v, w in w.bool(v) }, read: { (r: inout JSONReader) throws(WireError) in try r.readBool() })
    }
}

extension Int64: WireValue {
    public static var wireCodec: WireCodec<Int64> {
        WireCodec(write: { v, w in w.int(v) }, read: { (r: inout JSONReader) throws(WireError) in try r.readInt64() })
    }
}

/// `Int` members are counts, versions and indices: 0...Int32.max.
extension Int: WireValue {
    public static var wireCodec: WireCodec<Int> {
        WireCodec(write: { v, w in w.int(v) },
                  read: { (r: inout JSONReader) throws(WireError) in Int(try r.readInt(in: 0...Int64(Int32.max))) })
    }
}

extension Value: WireValue {
    public static var wireCodec: WireCodec<Value> {
        WireCodec(write: { v, w in w.value(v) }, read: { (r: inout JSONReader) throws(WireError) in try r.readValue() })
    }
}

extension Optional: WireValue where Wrapped: WireValue {
    public static var wireCodec: WireCodec<Wrapped?> { Wrapped.wireCodec.orNull }
}

/// Arrays of up to `WireLimits.maxChanges` elements.
extension Array: WireValue where Element: WireValue {
    public static var wireCodec: WireCodec<[Element]> { Element.wireCodec.array() }
}

/// The members of one message type, in canonical order.
public struct WireShape<M: Sendable>: Sendable {
    let blank: M
    let members: [WireMember<M>]
    let keys: KeyTable
    let required: UInt64
    let finish: (@Sendable (inout M) -> String?)?

    /// `blank` is what a decoded message starts as (the value of members that may be absent); `finish`, run after
    /// the members were read, may normalise the message or name why it is refused.
    public init(_ blank: M, _ members: [WireMember<M>], finish: (@Sendable (inout M) -> String?)? = nil) {
        precondition(members.count <= 64)
        self.blank = blank
        self.members = members
        self.keys = KeyTable(members.map(\.name))
        self.required = members.enumerated().reduce(0) { $1.element.isRequired ? $0 | 1 << UInt64($1.offset) : $0 }
        self.finish = finish
    }

    public var codec: WireCodec<M> {
        WireCodec(write: { m, w in write(m, to: &w) }, read: { (r: inout JSONReader) throws(WireError) in try read(from: &r) })
    }

    public func write(_ m: M, to w: inout JSONWriter) {
        w.byte(UInt8(ascii: "{"))
        for member in members { member.write(m, &w) }
        w.byte(UInt8(ascii: "}"))
    }

    public func read(from r: inout JSONReader) throws(WireError) -> M {
        var st = try r.beginObject()
        var m = blank
        while let k = try r.nextKey(&st, keys) {
            guard k >= 0 else { try r.skipValue(); continue }
            do { try members[k].read(&m, &r) } catch { throw error.prefixed(key: members[k].name) }
        }
        try r.requireMembers(st, keys, required)
        if let finish, let problem = finish(&m) { throw r.fail(problem) }
        return m
    }
}

/// Where a member lives in its message.
public typealias WirePath<M, V> = any WritableKeyPath<M, V> & Sendable

/// One member of a message: its key, whether it must be present, when it is written, and its codec.
public struct WireMember<M>: Sendable {
    let name: String
    let isRequired: Bool
    let write: @Sendable (M, inout JSONWriter) -> Void
    let read: @Sendable (inout M, inout JSONReader) throws(WireError) -> Void

    init<V>(_ name: String, _ path: WirePath<M, V>, _ codec: WireCodec<V>, required: Bool,
            omitted: (@Sendable (V) -> Bool)? = nil) {
        let key = Array("\"\(name)\":".utf8)
        let write = codec.write, read = codec.read
        self.name = name
        self.isRequired = required
        self.write = { m, w in
            let v = m[keyPath: path]
            if let omitted, omitted(v) { return }
            w.memberKey(key)
            write(v, &w)
        }
        self.read = { (m: inout M, r: inout JSONReader) throws(WireError) in m[keyPath: path] = try read(&r) }
    }

    /// Always written; a message without it is refused.
    public static func required<V: WireValue>(_ name: String, _ path: WirePath<M, V>) -> Self {
        Self(name, path, V.wireCodec, required: true)
    }
    public static func required<V>(_ name: String, _ path: WirePath<M, V>, _ codec: WireCodec<V>) -> Self {
        Self(name, path, codec, required: true)
    }

    /// Always written (nil as `null`); may be absent (then it keeps the blank message's value).
    public static func optional<V: WireValue>(_ name: String, _ path: WirePath<M, V>) -> Self {
        Self(name, path, V.wireCodec, required: false)
    }
    public static func optional<V>(_ name: String, _ path: WirePath<M, V>, _ codec: WireCodec<V>) -> Self {
        Self(name, path, codec, required: false)
    }

    /// Left out when nil; may be absent; `null` reads as nil.
    public static func omitted<V: WireValue>(_ name: String, _ path: WirePath<M, V?>) -> Self {
        Self(name, path, V.wireCodec.orNull, required: false, omitted: { $0 == nil })
    }
    public static func omitted<V>(_ name: String, _ path: WirePath<M, V?>, _ codec: WireCodec<V?>) -> Self {
        Self(name, path, codec, required: false, omitted: { $0 == nil })
    }

    /// Left out when empty; may be absent.
    public static func omittedWhenEmpty<E>(_ name: String, _ path: WirePath<M, [E]>, _ codec: WireCodec<[E]>) -> Self {
        Self(name, path, codec, required: false, omitted: { $0.isEmpty })
    }
}

extension JSONReader {
    /// Member `key`'s value, read by `codec` (for the hand-written compact messages).
    mutating func member<V>(_ key: String, _ codec: WireCodec<V>) throws(WireError) -> V {
        do { return try codec.read(&self) } catch { throw error.prefixed(key: key) }
    }
}

extension JSONWriter {
    /// `"name":`, after a comma unless it is the object's first member.
    @inline(__always) mutating func memberKey(_ key: [UInt8]) {
        if bytes.last != UInt8(ascii: "{") { byte(UInt8(ascii: ",")) }
        append(key)
    }
}
