/// A compact binary form of a list of changes, for hashing only (never sent, never decoded): what a push batch's
/// digest (the county's) and its content-derived batch id (the office's) hash instead of a JSON spelling, about a
/// fifth of the bytes. It decodes unambiguously (so two different lists of changes never share it): numbers are
/// varints, strings a varint length and their bytes, and a table, key or site equal to the previous change's is one
/// byte.
public enum ChangeDigest {
    /// The binary form of `changes`, appended to `prefix`.
    public static func binaryForm(_ changes: [Change], prefix: [UInt8] = []) -> [UInt8] {
        withBinaryForm(changes, prefix: prefix) { Array($0) }
    }

    /// `Murmur3.hex` of the binary form of `changes` after `prefix`, hashed where it was written (no array made).
    public static func murmurHex(_ changes: [Change], prefix: [UInt8] = []) -> String {
        withBinaryForm(changes, prefix: prefix) { Murmur3.hex($0) }
    }

    /// Writes the form into one buffer (a 10,000-change page is some 250 KB) and hands it to `body`.
    static func withBinaryForm<T>(_ changes: [Change], prefix: [UInt8], _ body: (UnsafeRawBufferPointer) -> T) -> T {
        var out = Writer(capacity: prefix.count + changes.count * 48 + 16)
        defer { out.free() }
        prefix.withUnsafeBytes { out.append($0) }
        out.varint(UInt64(changes.count))
        var previousHLC: Int64 = 0
        changes.withUnsafeBufferPointer { cs in
            for i in cs.indices {
                let c = cs[i]
                out.repeated(c.table, i > 0 ? cs[i - 1].table : nil)
                out.repeated(c.pk, i > 0 ? cs[i - 1].pk : nil)
                if let column = c.column { out.byte(1); out.string(column) } else { out.byte(0) }
                switch c.value {
                case .null: out.byte(0)
                case .integer(let v): out.byte(1); out.int(v)
                case .real(let d): out.byte(2); out.varint(d.bitPattern)
                case .text(let t): out.byte(3); out.string(t)
                case .blob(let b): out.byte(4); out.varint(UInt64(b.count)); b.withUnsafeBytes { out.append($0) }
                }
                let hlc = c.version.hlc.rawValue
                out.int(hlc &- previousHLC)
                previousHLC = hlc
                out.repeated(c.version.site, i > 0 ? cs[i - 1].version.site : nil)
                out.int(c.causalLength)
                if let base = c.base {
                    out.byte(1); out.int(base.hlc.rawValue &- hlc); out.repeated(base.site, c.version.site)
                } else {
                    out.byte(0)
                }
            }
        }
        return body(UnsafeRawBufferPointer(start: out.base, count: out.count))
    }

    /// A growing byte buffer written through a pointer: an array appended to from nested functions checked its
    /// uniqueness and capacity on every byte, which cost as much as the hashing.
    private struct Writer {
        var base: UnsafeMutablePointer<UInt8>
        var count = 0
        var capacity: Int

        init(capacity: Int) {
            self.capacity = max(64, capacity)
            base = .allocate(capacity: self.capacity)
        }

        func free() { base.deallocate() }

        @inline(__always)
        mutating func reserve(_ n: Int) {
            guard count + n > capacity else { return }
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: max(capacity * 2, count + n))
            grown.update(from: base, count: count)
            base.deallocate()
            base = grown
            capacity = max(capacity * 2, count + n)
        }

        @inline(__always)
        mutating func byte(_ b: UInt8) {
            reserve(1)
            base[count] = b
            count += 1
        }

        mutating func append(_ bytes: UnsafeRawBufferPointer) {
            guard !bytes.isEmpty else { return }
            reserve(bytes.count)
            (base + count).update(from: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: bytes.count)
            count += bytes.count
        }

        /// The varints of cell versions (`CellCodec`): 7 bits a byte, low first; signed ones zigzag.
        @inline(__always)
        mutating func varint(_ v: UInt64) {
            reserve(10)
            CellCodec.putUnsigned(v, UnsafeMutableBufferPointer(start: base, count: capacity), &count)
        }

        @inline(__always)
        mutating func int(_ v: Int64) {
            reserve(10)
            CellCodec.putSigned(v, UnsafeMutableBufferPointer(start: base, count: capacity), &count)
        }

        mutating func string(_ s: String) {
            var s = s
            s.withUTF8 { u in
                varint(UInt64(u.count))
                append(UnsafeRawBufferPointer(u))
            }
        }

        /// 0: the same bytes as `previous`; 1 and the string otherwise.
        @inline(__always)
        mutating func repeated(_ s: String, _ previous: String?) {
            if let previous, UTF8Bytes.equal(previous, s) { byte(0) } else { byte(1); string(s) }
        }
    }
}
