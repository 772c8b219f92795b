/// Rows that leave a replica's scope (partial replication): removed from the replica without a trace in the change
/// log — a scope exit is not a delete, and must never travel as one.
extension Replica {
    /// Whether this replica wrote the row (a cell or its existence) after local sequence `after`: changes not yet
    /// acknowledged by the server, which must go before the row may be forgotten. `writers` names the sites whose
    /// changes count as this replica's own (a county daemon's uplink: its server id and its offices'); by default,
    /// this replica's site.
    public func hasUnsentOwnChanges(table: String, pk: String, after: Int64, writers: Set<String>? = nil) throws -> Bool {
        try foldLog()
        guard let t = tables[table],
              let row = try database.query("SELECT seq, rs, rq, cells FROM \(t.quotedShadow) WHERE pk = ?", [.text(pk)]).first,
              let seq = row[0].int64Value, seq > after else { return false }
        func own(_ site: String?) -> Bool { site.map { writers?.contains($0) ?? ($0 == siteID) } ?? false }
        if let rq = row[2].int64Value, rq > after, own(siteUUID(row[1].int64Value)) { return true }
        guard case .blob(let bytes) = row[3] else { return false }
        return CellCodec.decode(bytes, count: t.columns.count, rowSeq: seq, siteID: siteUUID).contains {
            guard let cell = $0 else { return false }
            return cell.seq > after && own(cell.version.site)
        }
    }

    /// The site that wrote the current value of a cell (its version's site), or nil when this replica holds no
    /// version of it.
    public func writer(table: String, pk: String, column: String) throws -> String? {
        try foldLog()
        guard let t = tables[table], let i = t.columnIndex[column],
              let row = try database.query("SELECT seq, cells FROM \(t.quotedShadow) WHERE pk = ?", [.text(pk)]).first,
              let seq = row[0].int64Value, case .blob(let bytes) = row[1] else { return nil }
        let cells = CellCodec.decode(bytes, count: t.columns.count, rowSeq: seq, siteID: siteUUID)
        return cells.indices.contains(i) ? cells[i]?.version.site : nil
    }

    /// Whether the table holds a live row with this key.
    public func holdsRow(table: String, pk: String) throws -> Bool {
        guard let t = tables[table] else { return false }
        return try database.scalar("SELECT count(*) FROM \(t.quotedName) WHERE \(t.quotedPK) = ?", [.text(pk)])?.int64Value == 1
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

    /// Forgets the rows the county kept as conflicts instead of applying them (it names them in its answer to a
    /// push): this replica's copy holds values the county did not take, and the next pull brings the county's
    /// version whole, or nothing when the row is no longer in this replica's scope. A row written here again after
    /// `after` (past what was sent) is kept: that write goes first.
    public func forgetDisplaced(_ rows: [RowKey], writtenAfter after: Int64) throws {
        guard !rows.isEmpty else { return }
        try forget(try rows.filter { try !hasUnsentOwnChanges(table: $0.table, pk: $0.pk, after: after) }.map { ($0.table, $0.pk) })
    }
}
