/// Writes a site made in good faith that the county will not take: the record had left the writer's area (a member
/// transferred, a station re-parented) or entered the county's handling (a proposal filed) before the writer learnt
/// it. Refusing them would leave them held at the office while the row leaves its scope — and then forgotten. Instead
/// the county keeps each value the writer saved as a conflict (both values, both versions, both sites; an admin
/// decides), applies nothing of them, and files the row again so that every reader receives it whole: the writer's
/// office, which forgets its own copy when the county names the row in its answer, ends with the county's version.
extension Replica {
    /// Records, for every cell change of a live row in `changes` whose value differs from the row's current value, a
    /// conflict whose winner is the row as it stands (`winner(row)` names the version that displaced the writer,
    /// e.g. the move; nil: the cell's own current version) and whose other side is the change. Idempotent.
    public func keepDisplaced(_ changes: [Change], winner: (RowKey) throws -> Version?) throws -> [Conflict] {
        try foldLog()
        var out: [Conflict] = []
        var rows: [RowKey: (values: [String: Value], cells: [CellMeta?], table: SyncedTable)] = [:]
        let now = HLC.wallClock().milliseconds
        for c in changes {
            guard let column = c.column, c.causalLength % 2 == 1, let t = tables[c.table], let i = t.columnIndex[column] else { continue }
            let key = RowKey(c)
            if rows[key] == nil {
                guard let shadow = try database.query("SELECT seq, cells FROM \(t.quotedShadow) WHERE pk = ?", [.text(c.pk)]).first,
                      case .blob(let bytes) = shadow[1],
                      let row = try database.query("SELECT \(t.columns.map { quoted($0.name) }.joined(separator: ", ")) FROM \(t.quotedName) WHERE \(t.quotedPK) = ?",
                                                   [.text(c.pk)]).first else { continue }
                let cells = CellCodec.decode(bytes, count: t.columns.count, rowSeq: shadow[0].int64Value ?? 0, siteID: siteUUID)
                rows[key] = (Dictionary(uniqueKeysWithValues: zip(t.columns.map(\.name), row)), cells, t)
            }
            guard let row = rows[key], let current = row.cells[i], current.version != c.version else { continue }
            let value = row.values[column] ?? .null
            guard value != c.value else { continue }
            if try lossRecorded(table: c.table, pk: c.pk, column: column, version: c.version) { continue }
            let by = try winner(key) ?? current.version
            try database.run("""
                INSERT OR IGNORE INTO _cp_conflicts(tbl, pk, col, winner_value, winner_hlc, winner_site, other_value, other_hlc, other_site, detected_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(c.table), .text(c.pk), .text(column), value, .integer(by.hlc.rawValue), .text(by.site),
                      c.value, .integer(c.version.hlc.rawValue), .text(c.version.site), .integer(now)])
            guard database.changes == 1 else { continue }
            out.append(Conflict(id: String(database.lastInsertRowID), table: c.table, pk: c.pk, column: column, winnerValue: value,
                                winnerVersion: by, otherValue: c.value, otherVersion: c.version, detectedAt: now, status: .open, resolution: nil))
        }
        return out
    }

    /// The version of one cell of a live row (nil: no such row or cell).
    public func version(table: String, pk: String, column: String) throws -> Version? {
        try foldLog()
        guard let t = tables[table] else { return nil }
        return try cellVersion(t, pk: pk, column: column)
    }

    /// Files a row under a new local sequence with every cell as if just written (versions unchanged), so that every
    /// reader of changes receives it whole again: a reader holding it in scope gets each cell, one out of scope the
    /// cells that decide the scope (and forgets it). Changes no content. No-op for an unknown row.
    public func refile(table: String, pk: String) throws {
        try foldLog()
        guard let t = tables[table] else { return }
        try database.transaction {
            var merger = try RowMerger(replica: self)
            let s = try merger.statements(for: table)
            var st = try merger.load(s, pk: pk)
            guard st.inShadow else { return }
            st.rowChanged = st.rowVersion != nil
            for i in t.columns.indices where st.cells[i] != nil { st.cellChanged[i] = true }
            try merger.write(s, pk: pk, &st, shadowOnly: true)
            try merger.finish()
        }
    }
}

extension Replica {
    /// A row's causal length (odd: alive), nil for a key this replica has no versions of.
    public func causalLength(table: String, pk: String) throws -> Int64? {
        try foldLog()
        guard let t = tables[table] else { return nil }
        return try database.scalar("SELECT cl FROM \(t.quotedShadow) WHERE pk = ?", [.text(pk)])?.int64Value
    }
}
