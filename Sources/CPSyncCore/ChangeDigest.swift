/// A compact binary form of a list of changes, for hashing only (never sent, never decoded): what a push batch's
/// digest (the county's) and its content-derived batch id (the office's) hash instead of a JSON spelling, about a
/// fifth of the bytes. It decodes unambiguously (so two different lists of changes never share it): numbers are
/// varints, strings a varint length and their bytes, and a table, key or site equal to the previous change's is one
/// byte.
public enum ChangeDigest {
    /// The binary form of `changes`, appended to `prefix`.
    public static func binaryForm(_ changes: [Change], prefix: [UInt8] = []) -> [UInt8] {
        var out = prefix
        out.reserveCapacity(prefix.count + changes.count * 40 + 16)
        func varint(_ v: UInt64) {
            var v = v
            while v >= 0x80 { out.append(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
            out.append(UInt8(v))
        }
        func int(_ v: Int64) { varint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }
        func string(_ s: String) {
            varint(UInt64(s.utf8.count))
            out.append(contentsOf: s.utf8)
        }
        /// 0: the same bytes as `previous`; 1 and the string otherwise.
        func repeated(_ s: String, _ previous: String?) {
            if let previous, UTF8Bytes.equal(previous, s) { out.append(0) } else { out.append(1); string(s) }
        }
        varint(UInt64(changes.count))
        var previousHLC: Int64 = 0
        for i in changes.indices {
            repeated(changes[i].table, i > 0 ? changes[i - 1].table : nil)
            repeated(changes[i].pk, i > 0 ? changes[i - 1].pk : nil)
            if let column = changes[i].column { out.append(1); string(column) } else { out.append(0) }
            switch changes[i].value {
            case .null: out.append(0)
            case .integer(let v): out.append(1); int(v)
            case .real(let d): out.append(2); varint(d.bitPattern)
            case .text(let t): out.append(3); string(t)
            case .blob(let b): out.append(4); varint(UInt64(b.count)); out.append(contentsOf: b)
            }
            let hlc = changes[i].version.hlc.rawValue
            int(hlc &- previousHLC)
            previousHLC = hlc
            repeated(changes[i].version.site, i > 0 ? changes[i - 1].version.site : nil)
            int(changes[i].causalLength)
            if let base = changes[i].base {
                out.append(1); int(base.hlc.rawValue &- hlc); repeated(base.site, changes[i].version.site)
            } else {
                out.append(0)
            }
        }
        return out
    }
}
