/// Reading changes out of a replica: the latest version of every cell (and every row's existence) whose local
/// sequence is after a given point. Compacted by construction: the shadow keeps only the latest version of a cell.
extension Replica {
    /// Changes with local sequence after `after`, ordered by sequence, in whole rows: at most `limit` rows and at
    /// most `maxChanges` changes (but always at least one row). Pass the returned `cursor` as `after` for the next
    /// page.
    public func changes(after: Int64, limit: Int = Int.max, maxChanges: Int = Int.max) throws -> ChangePage {
        try foldLog()
        // One cursor per synced table, each in sequence order; the page takes the lowest sequence next, so only the
        // rows that make up the page are read.
        var cursors: [(table: SyncedTable, statement: Statement, seq: Int64)] = []
        defer { for c in cursors { c.statement.reset() } }
        for name in syncedTables {
            guard let t = tables[name] else { continue }
            let stmt = try database.statement(readSQL(t))
            stmt.reset()
            try stmt.bind([.integer(after)])
            if try stmt.step() { cursors.append((t, stmt, stmt.int64(2))) } else { stmt.reset() }
        }
        var changes: [Change] = []
        var rows = 0
        var cursor = max(after, 0)
        while let next = cursors.indices.min(by: { cursors[$0].seq < cursors[$1].seq }), rows < limit {
            let c = cursors[next]
            let row = try rowChanges(c.table, c.statement, after: after)
            if rows > 0 && changes.count + row.count > maxChanges { break }
            changes += row
            rows += 1
            cursor = c.seq
            if try c.statement.step() {
                cursors[next].seq = c.statement.int64(2)
            } else {
                c.statement.reset()
                cursors.remove(at: next)
            }
        }
        return ChangePage(changes: changes, cursor: cursor, hasMore: !cursors.isEmpty)
    }

    /// Every change the replica holds (for tests and full exports).
    public func allChanges() throws -> [Change] { try changes(after: 0).changes }

    private func readSQL(_ t: SyncedTable) -> String {
        let values = t.columns.map { "t." + quoted($0.name) }
        let cols = ["s.pk", "s.cl", "s.seq", "s.rh", "s.rs", "s.rq", "s.cells"] + values
        return """
            SELECT \(cols.joined(separator: ", ")) FROM \(t.quotedShadow) AS s
            LEFT JOIN \(t.quotedName) AS t ON t.\(t.quotedPK) = s.pk
            WHERE s.seq > ? ORDER BY s.seq
            """
    }

    private func rowChanges(_ t: SyncedTable, _ s: Statement, after: Int64) throws -> [Change] {
        let pk = s.string(0) ?? ""
        let cl = s.int64(1)
        var out: [Change] = []
        if let rq = s.optionalInt64(5), rq > after, let rh = s.optionalInt64(3), let site = siteUUID(s.optionalInt64(4)) {
            out.append(Change(table: t.name, pk: pk, column: nil, value: .null, version: Version(hlc: HLC(rawValue: rh), site: site), causalLength: cl))
        }
        guard cl % 2 == 1, case .blob(let bytes) = s.column(6) else { return out }
        let cells = CellCodec.decode(bytes, count: t.columns.count, rowSeq: s.int64(2), siteID: siteUUID)
        for (i, c) in t.columns.enumerated() {
            guard let cell = cells[i], cell.seq > after else { continue }
            out.append(Change(table: t.name, pk: pk, column: c.name, value: s.column(Int32(7 + i)),
                              version: cell.version, causalLength: cl, base: cell.base))
        }
        return out
    }
}
