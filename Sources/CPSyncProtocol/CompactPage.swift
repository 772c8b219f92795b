import CPSyncCore

/// The compact form of the change-carrying messages (Protocol/README.md §15): the same push body and pull page,
/// with table, column and site names listed once per page and the changes grouped by row, so that a row's table and
/// key travel once and each cell is a short array. Still JSON (same values, same strictness), negotiated per request;
/// a client that does not ask for it gets the plain form of §6.
public enum CompactForm {
    /// The version of the compact form this build reads and writes (`"compact":1` in every compact body).
    public static let version = 1
    /// The media type of a compact body (`Content-Type` of a compact push, `Accept` of a pull asking for one).
    public static let mediaType = "application/vnd.cpsync.compact.v1+json"
    /// The names a server lists in `/v1/status` `encodings` when it reads compact push bodies / gzip request bodies.
    public static let encodingName = "compact-1"
    public static let gzipName = "gzip"

    /// Whether a `Content-Type` or `Accept` header value names the compact form (media type parameters ignored).
    public static func names(_ header: String?) -> Bool {
        guard let header else { return false }
        return header.split(separator: ",").contains {
            $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() == mediaType } ?? false
        }
    }
}

/// Names listed once per page, in order of first appearance; a change refers to them by index. Names are told apart
/// by their UTF-8 bytes, never by Swift's `==` (which equates canonically equivalent spellings, §13.5).
///
/// A table lives only while the strings it was given do (one page's encoding): it remembers a string's
/// representation (`Representation`) to find it again without comparing bytes.
struct NameTable {
    private(set) var names: [String] = []
    private var index: [[UInt8]: Int] = [:]
    private var last = -1
    /// Up to this many names are found by comparing bytes in order (a page names a dozen columns and a few sites):
    /// cheaper than building a byte array to hash for every lookup.
    private static let scanned = 32
    /// Representations already seen and their ids, at most `scanned` of them. A column name is a short string held
    /// inline, so the same name is the same two words: found here without a byte comparison, which for two short
    /// strings of different text cost more than everything else of encoding a cell.
    private var seen: [(Representation, Int)] = []

    /// A string's two words: the same words are the same bytes (inline text, or one shared storage that the strings
    /// given to this table keep alive).
    typealias Representation = (UInt64, UInt64)

    mutating func id(_ s: String) -> Int {
        let r = unsafeBitCast(s, to: Representation.self)
        for (known, i) in seen where known == r { last = i; return i }
        let i = slowID(s)
        if seen.count < Self.scanned { seen.append((r, i)) }
        return i
    }

    private mutating func slowID(_ s: String) -> Int {
        // Consecutive changes mostly repeat the previous name: compare bytes before hashing.
        if last >= 0, sameBytes(names[last], s) { return last }
        for i in names.indices.prefix(Self.scanned) where sameBytes(names[i], s) { last = i; return i }
        if names.count > Self.scanned {
            let key = Array(s.utf8)
            if let i = index[key] { last = i; return i }
            index[key] = names.count
        }
        names.append(s)
        last = names.count - 1
        if names.count == Self.scanned + 1 {
            // From here on the table is hashed: index every name listed so far too.
            for (i, n) in names.enumerated() { index[Array(n.utf8)] = i }
        }
        return last
    }
}

/// Byte equality of two strings (not canonical equivalence).
@inline(__always) func sameBytes(_ a: String, _ b: String) -> Bool { UTF8Bytes.equal(a, b) }

extension JSONWriter {
    /// `"tables":[…],"cols":[…],"sites":[…],"rows":[…]`: the changes, grouped by consecutive (table, pk), in order.
    public mutating func compactChanges(_ cs: [Change]) {
        var tables = NameTable(), cols = NameTable(), sites = NameTable()
        for c in cs {
            _ = tables.id(c.table)
            if let col = c.column { _ = cols.id(col) }
            _ = sites.id(c.version.site)
            if let b = c.base { _ = sites.id(b.site) }
        }
        raw("\"tables\":")
        strings(tables.names)
        raw(",\"cols\":")
        strings(cols.names)
        raw(",\"sites\":")
        strings(sites.names)
        raw(",\"rows\":[")
        var previous: Int64 = 0
        var i = 0
        while i < cs.count {
            let first = cs[i]
            if i > 0 { byte(UInt8(ascii: ",")) }
            byte(UInt8(ascii: "["))
            int(tables.id(first.table))
            byte(UInt8(ascii: ","))
            string(first.pk)
            byte(UInt8(ascii: ","))
            int(first.causalLength)
            raw(",[")
            var j = i
            while j < cs.count, sameBytes(cs[j].table, first.table), sameBytes(cs[j].pk, first.pk) {
                let c = cs[j]
                if j > i { byte(UInt8(ascii: ",")) }
                byte(UInt8(ascii: "["))
                if let col = c.column { int(cols.id(col)) } else { null() }
                byte(UInt8(ascii: ","))
                value(c.value)
                byte(UInt8(ascii: ","))
                // Deltas wrap (two's complement), so any Int64 stamp travels exactly.
                int(c.version.hlc.rawValue &- previous)
                previous = c.version.hlc.rawValue
                byte(UInt8(ascii: ","))
                int(sites.id(c.version.site))
                let ownLength = c.causalLength != first.causalLength
                if let b = c.base {
                    raw(",[")
                    int(c.version.hlc.rawValue &- b.hlc.rawValue)
                    byte(UInt8(ascii: ","))
                    int(sites.id(b.site))
                    byte(UInt8(ascii: "]"))
                } else if ownLength {
                    raw(",null")
                }
                if ownLength {
                    byte(UInt8(ascii: ","))
                    int(c.causalLength)
                }
                byte(UInt8(ascii: "]"))
                j += 1
            }
            raw("]]")
            i = j
        }
        byte(UInt8(ascii: "]"))
    }

    mutating func strings(_ ss: [String]) {
        byte(UInt8(ascii: "["))
        for (i, s) in ss.enumerated() {
            if i > 0 { byte(UInt8(ascii: ",")) }
            string(s)
        }
        byte(UInt8(ascii: "]"))
    }
}

extension JSONReader {
    mutating func readStrings(maxCount: Int) throws(WireError) -> [String] {
        try array(maxCount: maxCount) { (r: inout JSONReader) throws(WireError) in try r.readString() }
    }

    /// `"compact":1`; any other version is an error naming the one this build reads.
    mutating func readCompactVersion() throws(WireError) {
        let v = try readInt(in: 0...Int64(Int32.max))
        guard v == Int64(CompactForm.version) else {
            throw fail("compact form version \(v) is not supported; this build reads version \(CompactForm.version)")
        }
    }

    /// The `rows` of a compact page, resolved against its name tables; at most `limits.maxChanges` changes in all.
    mutating func readCompactRows(tables: [String], cols: [String], sites: [String]) throws(WireError) -> [Change] {
        var out: [Change] = []
        var previous: Int64 = 0
        let maxChanges = limits.maxChanges
        func pick(_ names: [String], _ what: String, _ r: inout JSONReader) throws(WireError) -> String {
            let i = try r.readInt(in: 0...Int64(Int32.max))
            guard i < names.count else { throw r.fail("\(what) index \(i) is beyond the \(names.count) names of `\(what == "table" ? "tables" : what == "column" ? "cols" : "sites")`") }
            return names[Int(i)]
        }
        try beginArray()
        var rowIndex = 0
        while try nextElement(rowIndex) {
            do throws(WireError) {
                try beginArray()
                guard try nextElement(0) else { throw fail("a row is [table, pk, cl, cells]") }
                let table = try pick(tables, "table", &self)
                guard try nextElement(1) else { throw fail("a row is [table, pk, cl, cells]") }
                let pk = try readString()
                guard try nextElement(2) else { throw fail("a row is [table, pk, cl, cells]") }
                let rowLength = try readInt64()
                guard try nextElement(3) else { throw fail("a row is [table, pk, cl, cells]") }
                try beginArray()
                var cellIndex = 0
                while try nextElement(cellIndex) {
                    guard out.count < maxChanges else {
                        throw WireError(message: "more than \(maxChanges) changes", offset: offset, exceedsLimit: true)
                    }
                    do throws(WireError) {
                        try beginArray()
                        guard try nextElement(0) else { throw fail("a cell is [col, val, hlc, site] with optional base and cl") }
                        let col: String? = readNull() ? nil : try pick(cols, "column", &self)
                        guard try nextElement(1) else { throw fail("a cell is [col, val, hlc, site] with optional base and cl") }
                        let val = try readValue()
                        guard try nextElement(2) else { throw fail("a cell is [col, val, hlc, site] with optional base and cl") }
                        let hlc = previous &+ (try readInt64())
                        previous = hlc
                        guard try nextElement(3) else { throw fail("a cell is [col, val, hlc, site] with optional base and cl") }
                        let site = try pick(sites, "site", &self)
                        var base: Version? = nil
                        var length = rowLength
                        if try nextElement(4) {
                            if !readNull() {
                                try beginArray()
                                guard try nextElement(0) else { throw fail("a base is [hlc delta, site]") }
                                let back = try readInt64()
                                guard try nextElement(1) else { throw fail("a base is [hlc delta, site]") }
                                let baseSite = try pick(sites, "site", &self)
                                guard try !nextElement(2) else { throw fail("a base is [hlc delta, site]") }
                                base = Version(hlc: HLC(rawValue: hlc &- back), site: baseSite)
                            }
                            if try nextElement(5) {
                                length = try readInt64()
                                guard try !nextElement(6) else { throw fail("a cell has at most 6 elements") }
                            }
                        }
                        out.append(Change(table: table, pk: pk, column: col, value: val, version: Version(hlc: HLC(rawValue: hlc), site: site),
                                          causalLength: length, base: base))
                    } catch {
                        throw error.prefixed(index: cellIndex)
                    }
                    cellIndex += 1
                }
                guard cellIndex > 0 else { throw fail("a row has at least one cell") }
                guard try !nextElement(4) else { throw fail("a row is [table, pk, cl, cells]") }
            } catch {
                throw error.prefixed(index: rowIndex)
            }
            rowIndex += 1
        }
        return out
    }
}

/// A message with a compact form (a push and a pull page): its compact bytes are made and read here once.
public protocol CompactMessage {
    var changes: [Change] { get }
    func encodeCompact(to w: inout JSONWriter)
    static func readCompact(from r: inout JSONReader) throws(WireError) -> Self
}

extension CompactMessage {
    /// The canonical compact bytes.
    public func encodedCompact() -> [UInt8] {
        var w = JSONWriter(capacity: 256 + changes.count * 48)
        encodeCompact(to: &w)
        return w.bytes
    }

    public static func decodeCompact(_ bytes: [UInt8], limits: WireLimits = .default) throws(WireError) -> Self {
        let result = bytes.withUnsafeBytes { buf in
            Result { () throws(WireError) -> Self in
                try JSONReader.read(buf, limits: limits) { (r: inout JSONReader) throws(WireError) in try readCompact(from: &r) }
            }
        }
        return try result.get()
    }
}

/// Members common to both compact messages: the name tables must come before `rows`.
private struct CompactBody {
    var tables: [String]? = nil, cols: [String]? = nil, sites: [String]? = nil
    var changes: [Change] = []

    /// The body's members, in the order a compact message lists them after its own: `tables`, `cols`, `sites`,
    /// `rows` (`member` is the index in that list).
    static let memberNames = ["tables", "cols", "sites", "rows"]

    mutating func read(member i: Int, _ r: inout JSONReader) throws(WireError) {
        switch i {
        case 0: tables = try r.member("tables") { (r: inout JSONReader) throws(WireError) in try r.readStrings(maxCount: r.limits.maxChanges) }
        case 1: cols = try r.member("cols") { (r: inout JSONReader) throws(WireError) in try r.readStrings(maxCount: r.limits.maxChanges) }
        case 2: sites = try r.member("sites") { (r: inout JSONReader) throws(WireError) in try r.readStrings(maxCount: r.limits.maxChanges) }
        default: try readRows(&r)
        }
    }

    mutating func readRows(_ r: inout JSONReader) throws(WireError) {
        guard let tables, let cols, let sites else {
            throw r.fail("`tables`, `cols` and `sites` must come before `rows` in a compact body")
        }
        changes = try r.member("rows") { (r: inout JSONReader) throws(WireError) in try r.readCompactRows(tables: tables, cols: cols, sites: sites) }
    }
}

extension PullResponse: CompactMessage {
    /// `{"compact":1,"cursor":…,"hasMore":…,"head":…(when known),"tables":…,"cols":…,"sites":…,"rows":…}`.
    public func encodeCompact(to w: inout JSONWriter) {
        w.raw("{\"compact\":")
        w.int(CompactForm.version)
        w.raw(",\"cursor\":")
        w.int(cursor)
        w.raw(",\"hasMore\":")
        w.bool(hasMore)
        if let head {
            w.raw(",\"head\":")
            w.int(head)
        }
        w.byte(UInt8(ascii: ","))
        w.compactChanges(changes)
        w.byte(UInt8(ascii: "}"))
    }

    private static let compactKeys = KeyTable(["compact", "cursor", "hasMore", "head"] + CompactBody.memberNames)
    public static func readCompact(from r: inout JSONReader) throws(WireError) -> PullResponse {
        var st = try r.beginObject()
        var m = PullResponse(changes: [], cursor: 0, hasMore: false)
        var body = CompactBody()
        while let k = try r.nextKey(&st, compactKeys) {
            switch k {
            case 0: try r.member("compact") { (r: inout JSONReader) throws(WireError) in try r.readCompactVersion() }
            case 1: m.cursor = try r.member("cursor", .nonNegative)
            case 2: m.hasMore = try r.member("hasMore", Bool.wireCodec)
            case 3: m.head = try r.member("head", WireCodec.nonNegative.orNull)
            case 4...7: try body.read(member: k - 4, &r)
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, compactKeys, 0b1111_0111)
        m.changes = body.changes
        return m
    }
}

extension PushRequest: CompactMessage {
    /// `{"protocol":1,"compact":1,"schemaVersion":…,"batchId":…,"site":…,"tables":…,"cols":…,"sites":…,"rows":…}`.
    public func encodeCompact(to w: inout JSONWriter) {
        w.raw("{\"protocol\":")
        w.int(protocolVersion)
        w.raw(",\"compact\":")
        w.int(CompactForm.version)
        w.raw(",\"schemaVersion\":")
        w.int(schemaVersion)
        w.raw(",\"batchId\":")
        w.string(batchId)
        w.raw(",\"site\":")
        w.string(site)
        w.byte(UInt8(ascii: ","))
        w.compactChanges(changes)
        w.byte(UInt8(ascii: "}"))
    }

    private static let compactKeys = KeyTable(["protocol", "compact", "schemaVersion", "batchId", "site"] + CompactBody.memberNames)
    public static func readCompact(from r: inout JSONReader) throws(WireError) -> PushRequest {
        var st = try r.beginObject()
        var m = PushRequest(schemaVersion: 0, batchId: "", site: "", changes: [])
        var body = CompactBody()
        while let k = try r.nextKey(&st, compactKeys) {
            switch k {
            case 0: m.protocolVersion = try r.member("protocol", Int.wireCodec)
            case 1: try r.member("compact") { (r: inout JSONReader) throws(WireError) in try r.readCompactVersion() }
            case 2: m.schemaVersion = try r.member("schemaVersion", Int.wireCodec)
            case 3: m.batchId = try r.member("batchId", String.wireCodec)
            case 4: m.site = try r.member("site", String.wireCodec)
            case 5...8: try body.read(member: k - 5, &r)
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, compactKeys, 0b1_1111_1111)
        m.changes = body.changes
        return m
    }
}
