/// Quotes an SQL identifier. Only names already checked against the schema reach here; quoting keeps them inert.
func quoted(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// The shadow table that holds the per-cell versions of a synced table.
func shadowName(_ table: String) -> String { "_cp_v_" + table }

/// The shadow columns of one synced column: its version (hlc, site), the local sequence that last wrote it,
/// and its base (the version the writer had last received from another site).
struct ShadowColumns {
    let hlc: String
    let site: String
    let seq: String
    let baseHLC: String
    let baseSite: String

    init(_ column: String) {
        hlc = quoted("h." + column)
        site = quoted("s." + column)
        seq = quoted("q." + column)
        baseHLC = quoted("bh." + column)
        baseSite = quoted("bs." + column)
    }

    var all: [String] { [hlc, site, seq, baseHLC, baseSite] }
}
