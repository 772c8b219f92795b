/// The per-cell versions of one row, packed into the shadow table's `cells` blob. Only Swift reads and writes the
/// shadow (the capture triggers append to the log), so the versions can be stored compactly: one blob per row
/// instead of five columns per cell, with clocks and sequences stored as small deltas.
///
/// Layout: if any cell has a version, first the reference clock (the first versioned cell's HLC) as an unsigned
/// varint; then per column, in table order, a tag byte — 0: no version (the column default), 1: a version,
/// 2: a version and a base — followed, for tags 1 and 2, by zigzag(hlc − reference), the site number, and
/// (row seq − cell seq); for tag 2 then zigzag(base hlc − hlc) and the base's site number. A blob shorter than the
/// table's column list (a column added by a migration) leaves the rest without versions.
enum CellCodec {
    /// `withoutSeq`: every cell is stored with sequence `rowSeq` (tombstone knowledge keeps versions, not sequences).
    static func encode(_ cells: [CellMeta?], rowSeq: Int64, withoutSeq: Bool = false,
                       siteNumber: (String) throws -> Int64) rethrows -> [UInt8] {
        // Written into one buffer of the largest size the cells can take (a tag and five varints of at most 10 bytes
        // each per cell, and the reference clock), read in place: no copy of a cell, no growth of the array.
        try cells.withUnsafeBufferPointer { cells in
            guard let reference = cells.lazy.compactMap({ $0?.version.hlc.rawValue }).first else {
                return [UInt8](repeating: 0, count: cells.count)
            }
            return try [UInt8](unsafeUninitializedCapacity: 10 + cells.count * 51) { out, count in
                var n = 0
                putUnsigned(UInt64(bitPattern: reference), out, &n)
                // A row's cells are mostly one site's: its number is looked up once.
                var lastSite: String?
                var lastNumber: Int64 = 0
                for i in cells.indices {
                    guard let hlc = cells[i]?.version.hlc.rawValue else { out[n] = 0; n += 1; continue }
                    let base = cells[i]!.base
                    out[n] = base == nil ? 1 : 2
                    n += 1
                    putSigned(hlc &- reference, out, &n)
                    if let lastSite, UTF8Bytes.equal(lastSite, cells[i]!.version.site) {} else {
                        lastNumber = try siteNumber(cells[i]!.version.site)
                        lastSite = cells[i]!.version.site
                    }
                    putUnsigned(UInt64(bitPattern: lastNumber), out, &n)
                    putUnsigned(withoutSeq ? 0 : UInt64(bitPattern: rowSeq &- cells[i]!.seq), out, &n)
                    if let base {
                        putSigned(base.hlc.rawValue &- hlc, out, &n)
                        putUnsigned(UInt64(bitPattern: try siteNumber(base.site)), out, &n)
                    }
                }
                count = n
            }
        }
    }

    @inline(__always)
    static func putUnsigned(_ value: UInt64, _ out: UnsafeMutableBufferPointer<UInt8>, _ n: inout Int) {
        var v = value
        while v >= 0x80 {
            out[n] = UInt8(truncatingIfNeeded: v) | 0x80
            n += 1
            v >>= 7
        }
        out[n] = UInt8(v)
        n += 1
    }

    @inline(__always)
    static func putSigned(_ value: Int64, _ out: UnsafeMutableBufferPointer<UInt8>, _ n: inout Int) {
        putUnsigned(UInt64(bitPattern: (value << 1) ^ (value >> 63)), out, &n)
    }

    /// Decodes `count` cells; anything malformed or unknown reads as "no version" rather than trapping.
    static func decode(_ bytes: [UInt8], count: Int, rowSeq: Int64, siteID: (Int64) -> String?) -> [CellMeta?] {
        var cells = [CellMeta?](repeating: nil, count: count)
        decode(bytes, into: &cells, rowSeq: rowSeq, siteID: siteID)
        return cells
    }

    /// Decodes into `cells` (all nil on entry; its count is the table's column count), reusing its storage.
    static func decode(_ bytes: [UInt8], into cells: inout [CellMeta?], rowSeq: Int64, siteID: (Int64) -> String?) {
        let count = cells.count
        guard bytes.contains(where: { $0 != 0 }) else { return }
        var i = 0
        guard let reference = unsigned(bytes, &i) else { return }
        // A row's cells are mostly one site's: its name is looked up once.
        var lastSite: (number: UInt64, name: String)?
        func name(_ site: UInt64) -> String? {
            if let lastSite, lastSite.number == site { return lastSite.name }
            guard let found = siteID(Int64(bitPattern: site)) else { return nil }
            lastSite = (site, found)
            return found
        }
        for c in 0..<count {
            guard i < bytes.count else { break }
            let tag = bytes[i]
            i += 1
            guard tag != 0 else { continue }
            guard tag <= 2, let dh = signed(bytes, &i), let site = unsigned(bytes, &i), let dq = unsigned(bytes, &i),
                  let siteName = name(site) else { return }
            let hlc = Int64(bitPattern: reference) &+ dh
            var base: Version?
            if tag == 2 {
                guard let db = signed(bytes, &i), let baseSite = unsigned(bytes, &i),
                      let baseName = name(baseSite) else { return }
                base = Version(hlc: HLC(rawValue: hlc &+ db), site: baseName)
            }
            cells[c] = CellMeta(version: Version(hlc: HLC(rawValue: hlc), site: siteName), base: base,
                                seq: rowSeq &- Int64(bitPattern: dq))
        }
    }

    static func unsigned(_ bytes: [UInt8], _ i: inout Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while i < bytes.count && shift < 64 {
            let b = bytes[i]
            i += 1
            result |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return result }
            shift += 7
        }
        return nil
    }

    static func signed(_ bytes: [UInt8], _ i: inout Int) -> Int64? {
        guard let u = unsigned(bytes, &i) else { return nil }
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }
}
