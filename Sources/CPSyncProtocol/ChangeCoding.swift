import CPSyncCore

// MARK: Value

extension JSONWriter {
    /// `null`, a JSON string, `{"i":"<decimal>"}`, `{"f":<number>}` or `{"b":"<base64>"}`.
    /// A non-finite real is a programming error here; `Value.wireCheck()` lets callers refuse it first.
    public mutating func value(_ v: Value) {
        switch v {
        case .null: raw("null")
        case .text(let s): string(s)
        case .integer(let i):
            raw("{\"i\":")
            quotedInt(i)
            byte(UInt8(ascii: "}"))
        case .real(let d):
            raw("{\"f\":")
            double(d)
            byte(UInt8(ascii: "}"))
        case .blob(let b):
            raw("{\"b\":")
            base64String(b)
            byte(UInt8(ascii: "}"))
        }
    }

    /// `{"hlc":<int>,"site":"…"}`.
    public mutating func version(_ v: Version) {
        raw("{\"hlc\":")
        int(v.hlc.rawValue)
        raw(",\"site\":")
        string(v.site)
        byte(UInt8(ascii: "}"))
    }

    /// Member order: table, pk, col (omitted when nil), val, hlc, site, cl, base (omitted when nil).
    public mutating func change(_ c: Change) {
        raw("{\"table\":")
        string(c.table)
        raw(",\"pk\":")
        string(c.pk)
        if let col = c.column {
            raw(",\"col\":")
            string(col)
        }
        raw(",\"val\":")
        value(c.value)
        raw(",\"hlc\":")
        int(c.version.hlc.rawValue)
        raw(",\"site\":")
        string(c.version.site)
        raw(",\"cl\":")
        int(c.causalLength)
        if let base = c.base {
            raw(",\"base\":")
            version(base)
        }
        byte(UInt8(ascii: "}"))
    }

    public mutating func changes(_ cs: [Change]) {
        byte(UInt8(ascii: "["))
        var first = true
        for c in cs {
            if !first { byte(UInt8(ascii: ",")) }
            first = false
            change(c)
        }
        byte(UInt8(ascii: "]"))
    }
}

extension Value {
    /// Nil when the value can travel; otherwise why not (NaN and infinities cannot).
    public var wireProblem: String? {
        if case .real(let d) = self, !d.isFinite { return "real value \(d) is not finite" }
        return nil
    }
}

extension Change {
    /// Nil when the change can travel; otherwise why not.
    public var wireProblem: String? { value.wireProblem }
}

private let valueKeys = KeyTable(["i", "f", "b"])
private let versionKeys = KeyTable(["hlc", "site"])
private let changeKeys = KeyTable(["table", "pk", "col", "val", "hlc", "site", "cl", "base"])

private let valueShape = "a value: null, a string, {\"i\":\"<decimal>\"}, {\"f\":<number>} or {\"b\":\"<base64>\"}"

extension JSONReader {
    public mutating func readValue() throws(WireError) -> Value {
        guard let c = peek() else { throw expected(valueShape) }
        switch c {
        case UInt8(ascii: "n"):
            if readNull() { return .null }
            throw expected(valueShape)
        case UInt8(ascii: "\""):
            return .text(try readString())
        case UInt8(ascii: "{"):
            let at = offset
            var st = try beginObject()
            guard let k = try nextKey(&st, valueKeys), k >= 0 else {
                offset = at
                throw expected(valueShape)
            }
            let v: Value
            switch k {
            case 0:
                v = .integer(try member("i") { (r: inout JSONReader) throws(WireError) -> Int64 in
                    try r.withPlainString("a decimal Int64 string") { buf -> Int64? in
                        var used = 0
                        return buf.count > 0 ? parseDecimal(buf.baseAddress!, buf.count, consumed: &used, whole: true) : nil
                    }
                })
            case 1:
                v = .real(try member("f") { (r: inout JSONReader) throws(WireError) -> Double in try r.readDouble() })
            default:
                v = .blob(try member("b") { (r: inout JSONReader) throws(WireError) -> [UInt8] in
                    try r.withPlainString("canonical base64") { Base64.decode($0) }
                })
            }
            guard try nextKey(&st, valueKeys) == nil else { offset = at; throw fail("a value object has exactly one member") }
            return v
        default:
            throw expected(valueShape)
        }
    }

    public mutating func readVersion() throws(WireError) -> Version {
        var st = try beginObject()
        var hlc: Int64 = 0
        var site = ""
        while let k = try nextKey(&st, versionKeys) {
            switch k {
            case 0: hlc = try member("hlc") { (r: inout JSONReader) throws(WireError) in try r.readInt64() }
            case 1: site = try member("site") { (r: inout JSONReader) throws(WireError) in try r.readString() }
            default: try skipValue()
            }
        }
        try requireMembers(st, versionKeys, 0b11)
        return Version(hlc: HLC(rawValue: hlc), site: site)
    }

    /// `null` or absent is nil; used for optional members.
    public mutating func readOptionalVersion() throws(WireError) -> Version? {
        if readNull() { return nil }
        return try readVersion()
    }

    public mutating func readOptionalString() throws(WireError) -> String? {
        if readNull() { return nil }
        return try readString()
    }

    public mutating func readChange() throws(WireError) -> Change {
        var st = try beginObject()
        var table = "", pk = "", site = ""
        var col: String? = nil
        var val = Value.null
        var hlc: Int64 = 0, cl: Int64 = 0
        var base: Version? = nil
        while let k = try nextKey(&st, changeKeys) {
            switch k {
            case 0: table = try member("table") { (r: inout JSONReader) throws(WireError) in try r.readString() }
            case 1: pk = try member("pk") { (r: inout JSONReader) throws(WireError) in try r.readString() }
            case 2: col = try member("col") { (r: inout JSONReader) throws(WireError) in try r.readOptionalString() }
            case 3: val = try member("val") { (r: inout JSONReader) throws(WireError) in try r.readValue() }
            case 4: hlc = try member("hlc") { (r: inout JSONReader) throws(WireError) in try r.readInt64() }
            case 5: site = try member("site") { (r: inout JSONReader) throws(WireError) in try r.readString() }
            case 6: cl = try member("cl") { (r: inout JSONReader) throws(WireError) in try r.readInt64() }
            case 7: base = try member("base") { (r: inout JSONReader) throws(WireError) in try r.readOptionalVersion() }
            default: try skipValue()
            }
        }
        // Required: table, pk, val, hlc, site, cl.
        try requireMembers(st, changeKeys, 0b0111_1011)
        return Change(table: table, pk: pk, column: col, value: val, version: Version(hlc: HLC(rawValue: hlc), site: site),
                      causalLength: cl, base: base)
    }

    public mutating func readChanges() throws(WireError) -> [Change] {
        try array(maxCount: limits.maxChanges) { (r: inout JSONReader) throws(WireError) in try r.readChange() }
    }
}

extension Change {
    /// The JSON form of a page's changes: the hand-tuned `changes` / `readChanges` of the hot path.
    public static let arrayCodec = WireCodec<[Change]>(write: { cs, w in w.changes(cs) },
                                                       read: { (r: inout JSONReader) throws(WireError) in try r.readChanges() })
}
