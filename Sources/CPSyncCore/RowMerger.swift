import Foundation

/// The version of one cell as the shadow table holds it.
struct CellMeta {
    var version: Version
    var base: Version?
    var seq: Int64
}

/// One row while a merge works on it: read once, changed in memory by every change for it, written once.
struct RowState {
    var existsInTable = false
    var cl: Int64 = 0
    var rowVersion: Version?
    var rowSeq: Int64?
    var cells: [CellMeta?]
    /// Current values; nil means "the column default" (no version yet in this life of the row).
    var values: [Value?]
    var cellChanged: [Bool]
    var valuesChanged = false
    var rowChanged = false
    /// The row started a new life (causal length moved): the table row is re-created from this life's cells.
    var newLife = false

    init(columnCount: Int) {
        cells = Array(repeating: nil, count: columnCount)
        values = Array(repeating: nil, count: columnCount)
        cellChanged = Array(repeating: false, count: columnCount)
    }

    var isAlive: Bool { cl % 2 == 1 }
    var anyChange: Bool { rowChanged || valuesChanged || cellChanged.contains(true) }
}

/// Applies grouped changes row by row inside the merge transaction.
struct RowMerger {
    let replica: Replica
    let db: Database
    var seq: Int64
    var hlc: Int64
    let now: Int64
    var prepared: [String: TableStatements] = [:]

    init(replica: Replica) throws {
        self.replica = replica
        self.db = replica.database
        let row = try db.query("SELECT seq, hlc FROM _cp_state")[0]
        seq = row[0].int64Value ?? 0
        hlc = row[1].int64Value ?? 0
        now = HLC.wallClock().milliseconds
    }

    mutating func mergeRow(_ key: RowKey, _ changes: ArraySlice<Change>, into result: inout MergeResult) throws {
        let s = try statements(for: key.table)
        let t = s.table
        var st = try load(s, pk: key.pk)
        let rules = replica.rules[t.name] ?? [:]
        for c in changes {
            hlc = max(hlc, c.version.hlc.rawValue)
            if c.causalLength < st.cl {
                result.superseded += 1
                continue
            }
            if c.causalLength > st.cl {
                // A later life of the row: what this replica held of the earlier one no longer counts.
                st.cl = c.causalLength
                st.rowVersion = nil
                st.cells = Array(repeating: nil, count: t.columns.count)
                st.values = Array(repeating: nil, count: t.columns.count)
                st.newLife = true
                st.rowChanged = true
            }
            guard let column = c.column, let i = t.columnIndex[column] else {
                if let current = st.rowVersion, !(current < c.version) {
                    if current == c.version { result.alreadyKnown += 1 } else { result.superseded += 1 }
                } else {
                    st.rowVersion = c.version
                    st.rowChanged = true
                    result.applied += 1
                }
                continue
            }
            let rule = rules[column] ?? .lww
            guard let cur = st.cells[i] else {
                st.cells[i] = CellMeta(version: c.version, base: c.base, seq: 0)
                st.values[i] = c.value
                st.cellChanged[i] = true
                st.valuesChanged = true
                result.applied += 1
                continue
            }
            if cur.version == c.version {
                result.alreadyKnown += 1
                continue
            }
            let curValue = st.values[i] ?? .null
            let incomingWins = Self.wins(c.value, c.version, over: curValue, cur.version, rule: rule)
            if replica.recordsConflicts, let conflict = try conflictIfAny(t, pk: key.pk, column: column, rule: rule,
                                                                        incoming: c, current: cur, currentValue: curValue,
                                                                        incomingWins: incomingWins) {
                result.conflicts.append(conflict)
            }
            if incomingWins {
                st.cells[i] = CellMeta(version: c.version, base: c.base, seq: 0)
                st.values[i] = c.value
                st.cellChanged[i] = true
                st.valuesChanged = st.valuesChanged || curValue != c.value
                result.applied += 1
            } else {
                result.superseded += 1
            }
        }
        if st.anyChange { try write(s, pk: key.pk, &st) }
    }

    /// Prepared statements for one table, built once per merge.
    final class TableStatements {
        let table: SyncedTable
        let loadShadow: Statement
        let loadRow: Statement
        let writeShadow: Statement
        let deleteRow: Statement
        let updateRow: Statement?
        var inserts: [[Int]: Statement] = [:]

        init(_ t: SyncedTable, db: Database) throws {
            table = t
            loadShadow = try db.statement("SELECT cl, seq, rh, rs, rq, cells FROM \(t.quotedShadow) WHERE pk = ?")
            let select = t.columns.isEmpty ? "1" : t.columns.map { quoted($0.name) }.joined(separator: ", ")
            loadRow = try db.statement("SELECT \(select) FROM \(t.quotedName) WHERE \(t.quotedPK) = ?")
            writeShadow = try db.statement("INSERT OR REPLACE INTO \(t.quotedShadow) (pk, cl, seq, rh, rs, rq, cells) VALUES (?, ?, ?, ?, ?, ?, ?)")
            deleteRow = try db.statement("DELETE FROM \(t.quotedName) WHERE \(t.quotedPK) = ?")
            updateRow = t.columns.isEmpty ? nil : try db.statement(
                "UPDATE \(t.quotedName) SET \(t.columns.map { "\(quoted($0.name)) = ?" }.joined(separator: ", ")) WHERE \(t.quotedPK) = ?")
        }

        func insert(_ present: [Int], db: Database) throws -> Statement {
            if let s = inserts[present] { return s }
            let names = [table.quotedPK] + present.map { quoted(table.columns[$0].name) }
            let s = try db.statement("INSERT INTO \(table.quotedName) (\(names.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: names.count).joined(separator: ", ")))")
            inserts[present] = s
            return s
        }
    }

    mutating func statements(for table: String) throws -> TableStatements {
        if let s = prepared[table] { return s }
        guard let t = replica.tables[table] else { throw ReplicaError.unknownTable(table) }
        let s = try TableStatements(t, db: db)
        prepared[table] = s
        return s
    }

    /// The one tie-break of the merge: rank first (for ranked columns), then last writer wins on (HLC, site).
    static func wins(_ value: Value, _ version: Version, over currentValue: Value, _ current: Version, rule: MergeRule) -> Bool {
        let (r1, r2) = (rule.rank(of: value), rule.rank(of: currentValue))
        if r1 != r2 { return r1 > r2 }
        return current < version
    }

    /// A real conflict: different sites, neither writer had seen the other's version, and the values differ.
    /// For ranked columns only equal ranks conflict (a later workflow stage simply wins).
    private func conflictIfAny(_ t: SyncedTable, pk: String, column: String, rule: MergeRule, incoming c: Change,
                               current cur: CellMeta, currentValue: Value, incomingWins: Bool) throws -> Conflict? {
        guard cur.version.site != c.version.site, c.base != cur.version, cur.base != c.version,
              currentValue != c.value, rule.rank(of: currentValue) == rule.rank(of: c.value) else { return nil }
        let (wv, wver, ov, over) = incomingWins
            ? (c.value, c.version, currentValue, cur.version) : (currentValue, cur.version, c.value, c.version)
        try db.run("""
            INSERT OR IGNORE INTO _cp_conflicts(tbl, pk, col, winner_value, winner_hlc, winner_site, other_value, other_hlc, other_site, detected_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(t.name), .text(pk), .text(column), wv, .integer(wver.hlc.rawValue), .text(wver.site),
                  ov, .integer(over.hlc.rawValue), .text(over.site), .integer(now)])
        guard db.changes == 1 else { return nil }
        return Conflict(id: String(db.lastInsertRowID), table: t.name, pk: pk, column: column, winnerValue: wv,
                        winnerVersion: wver, otherValue: ov, otherVersion: over, detectedAt: now, status: .open, resolution: nil)
    }

    func load(_ s: TableStatements, pk: String) throws -> RowState {
        let t = s.table
        var st = RowState(columnCount: t.columns.count)
        var found = false
        try s.loadShadow.forEachRow([.text(pk)]) { s in
            found = true
            st.cl = s.int64(0)
            if let rh = s.optionalInt64(2), let site = replica.siteUUID(s.optionalInt64(3)) {
                st.rowVersion = Version(hlc: HLC(rawValue: rh), site: site)
            }
            st.rowSeq = s.optionalInt64(4)
            if case .blob(let bytes) = s.column(5) {
                st.cells = CellCodec.decode(bytes, count: t.columns.count, rowSeq: s.int64(1), siteID: replica.siteUUID)
            }
        }
        guard found else { return st }
        try s.loadRow.forEachRow([.text(pk)]) { s in
            st.existsInTable = true
            for i in t.columns.indices { st.values[i] = s.column(Int32(i)) }
        }
        return st
    }

    /// Writes the row's shadow and, unless `shadowOnly` (folding local writes, whose values are already in the
    /// table), the table row.
    mutating func write(_ s: TableStatements, pk: String, _ st: inout RowState, shadowOnly: Bool = false) throws {
        let t = s.table
        seq += 1
        if st.rowChanged { st.rowSeq = seq }
        var cells = [CellMeta?](repeating: nil, count: t.columns.count)
        if st.isAlive {
            for i in t.columns.indices {
                guard var cell = st.cells[i] else { continue }
                if st.cellChanged[i] { cell.seq = seq }
                cells[i] = cell
            }
        }
        let shadow: [Value] = [
            .text(pk), .integer(st.cl), .integer(seq),
            st.rowVersion.map { .integer($0.hlc.rawValue) } ?? .null,
            try st.rowVersion.map { .integer(try replica.siteNumber($0.site)) } ?? .null,
            st.rowVersion == nil ? .null : st.rowSeq.map { .integer($0) } ?? .null,
            .blob(try CellCodec.encode(cells, rowSeq: seq, siteNumber: replica.siteNumber)),
        ]
        try s.writeShadow.execute(shadow)
        if shadowOnly { return }

        if !st.isAlive {
            if st.existsInTable { try s.deleteRow.execute([.text(pk)]) }
            return
        }
        if st.existsInTable && !st.newLife {
            guard st.valuesChanged, let update = s.updateRow else { return }
            try update.execute(st.values.map { $0 ?? .null } + [.text(pk)])
            return
        }
        if st.existsInTable { try s.deleteRow.execute([.text(pk)]) }
        // Columns with no version in this life take their (constant) defaults.
        let present = t.columns.indices.filter { st.values[$0] != nil }
        try s.insert(present, db: db).execute([.text(pk)] + present.map { st.values[$0]! })
    }

    func finish() throws {
        try db.run("UPDATE _cp_state SET seq = ?, hlc = max(hlc, ?)", [.integer(seq), .integer(hlc)])
    }
}
