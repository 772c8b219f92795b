/// Rows that leave a replica's scope (partial replication): removed from the replica without a trace in the change
/// log — a scope exit is not a delete, and must never travel as one.
extension Replica {
    /// Whether this replica wrote the row (a cell or its existence) after local sequence `after`: changes not yet
    /// acknowledged by the server, which must go before the row may be forgotten.
    public func hasUnsentOwnChanges(table: String, pk: String, after: Int64) throws -> Bool {
        try foldLog()
        guard let t = tables[table],
              let row = try database.query("SELECT seq, rs, rq, cells FROM \(t.quotedShadow) WHERE pk = ?", [.text(pk)]).first,
              let seq = row[0].int64Value, seq > after else { return false }
        if let rq = row[2].int64Value, rq > after, siteUUID(row[1].int64Value) == siteID { return true }
        guard case .blob(let bytes) = row[3] else { return false }
        return CellCodec.decode(bytes, count: t.columns.count, rowSeq: seq, siteID: siteUUID).contains {
            guard let cell = $0 else { return false }
            return cell.seq > after && cell.version.site == siteID
        }
    }

    /// Removes rows and their versions (capture suppressed). If a row comes back into scope, the server sends it
    /// whole again.
    public func forget(_ rows: [(table: String, pk: String)]) throws {
        guard !rows.isEmpty else { return }
        try foldLog()
        try database.transaction {
            try database.execute("UPDATE _cp_state SET merging = 1")
            for (table, pk) in rows {
                guard let t = tables[table] else { continue }
                try database.run("DELETE FROM \(t.quotedName) WHERE \(t.quotedPK) = ?", [.text(pk)])
                try database.run("DELETE FROM \(t.quotedShadow) WHERE pk = ?", [.text(pk)])
            }
            try database.execute("UPDATE _cp_state SET merging = 0")
        }
    }
}
