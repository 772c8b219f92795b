/// Quotes an SQL identifier. Only names already checked against the schema reach here; quoting keeps them inert.
func quoted(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// The shadow table that holds the per-cell versions of a synced table.
func shadowName(_ table: String) -> String { "_cp_v_" + table }
