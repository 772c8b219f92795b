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
    /// The causal length of the row's last death, and the cell versions its writer had seen of the life it ended:
    /// what tells a lost edit (a conflict) from one the deleter saw.
    var tombCL: Int64?
    var tomb: [CellMeta?]

    init(columnCount: Int) {
        cells = Array(repeating: nil, count: columnCount)
        values = Array(repeating: nil, count: columnCount)
        cellChanged = Array(repeating: false, count: columnCount)
        tomb = Array(repeating: nil, count: columnCount)
    }

    var isAlive: Bool { cl % 2 == 1 }

    /// Sets every element to nil in place (no new array when it is already all nil or not shared).
    static func clear<T>(_ a: inout [T?]) {
        for i in a.indices where a[i] != nil { a[i] = nil }
    }
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
        var maxCL = st.cl
        var hint = 0
        // Knowledge: cell changes at an even (dead) causal length carry the version a deleter held of each cell (and
        // that version's base: what it had overwritten).
        var knowledge: [Int64: [Int: CellMeta]] = [:]
        for j in changes.indices {
            hlc = max(hlc, changes[j].version.hlc.rawValue)
            maxCL = max(maxCL, changes[j].causalLength)
            if changes[j].causalLength % 2 == 0, let column = changes[j].column, let i = t.index(of: column, hint: &hint) {
                let c = changes[j]
                if let k = knowledge[c.causalLength]?[i], !(k.version < c.version) { continue }
                knowledge[c.causalLength, default: [:]][i] = CellMeta(version: c.version, base: c.base, seq: 0)
            }
        }
        if maxCL > st.cl {
            // A later life of the row: what this replica held of the current one no longer counts. Each of its
            // cells that the writer of the death had not seen is an edit lost to a delete, kept as a conflict.
            if st.isAlive {
                let killer = changes.filter { $0.column == nil && $0.causalLength == st.cl + 1 }.map(\.version).max()
                    ?? changes.filter { $0.column == nil && $0.causalLength == maxCL }.map(\.version).max()
                // With the deleter's knowledge, a cell it had not seen (whoever wrote it: a reinstalled office does not
                // know its own old records) is lost; without it (an older sender), only other sites' cells are.
                let seen = knowledge[st.cl + 1]
                for i in t.columns.indices {
                    guard let cell = st.cells[i], let killer else { continue }
                    if let seen {
                        if Self.saw(seen[i], cell.version) { continue }
                    } else if cell.version.site == killer.site {
                        continue
                    }
                    try lostEdit(t, pk: key.pk, column: i, value: st.values[i] ?? .null, version: cell.version, base: cell.base,
                                 causalLength: st.cl, killer: killer, into: &result)
                }
            }
            st.cl = maxCL
            st.rowVersion = nil
            RowState.clear(&st.cells)
            RowState.clear(&st.values)
            st.newLife = true
            st.rowChanged = true
            let tcl = maxCL % 2 == 0 ? maxCL : maxCL - 1
            if let k = knowledge[tcl] {
                st.tombCL = tcl
                st.tomb = t.columns.indices.map { k[$0] }
            } else if st.tombCL != tcl {
                st.tombCL = tcl
                RowState.clear(&st.tomb)
            }
        }
        // Two inserts of one key in the same life (an office reinstalled before it pulled its own old records, or
        // two offices choosing the same key) are concurrent whoever made them: their differing cells are conflicts.
        var concurrentInsert = false
        for c in changes {
            if c.causalLength < st.cl {
                // A change of an earlier life, arriving late: superseded. An edit the deleter had not seen is kept.
                if c.causalLength % 2 == 1, let column = c.column, let i = t.index(of: column, hint: &hint) {
                    let known = st.tombCL == c.causalLength + 1
                    let seen = known ? st.tomb[i] : nil
                    let killer = st.rowVersion ?? c.version
                    if (known || killer.site != c.version.site) && !Self.saw(seen, c.version) {
                        try lostEdit(t, pk: key.pk, column: i, value: c.value, version: c.version, base: c.base,
                                     causalLength: c.causalLength, killer: killer, into: &result, incoming: true)
                    }
                }
                result.superseded += 1
                continue
            }
            guard let column = c.column, let i = t.index(of: column, hint: &hint) else {
                if st.isAlive, c.causalLength == st.cl, let current = st.rowVersion, current != c.version { concurrentInsert = true }
                if let current = st.rowVersion, !(current < c.version) {
                    if current == c.version { result.alreadyKnown += 1 } else { result.superseded += 1 }
                } else {
                    st.rowVersion = c.version
                    st.rowChanged = true
                    result.applied += 1
                }
                continue
            }
            if c.causalLength % 2 == 0 {
                // Knowledge of the current death.
                if st.tombCL != c.causalLength {
                    st.tombCL = c.causalLength
                    RowState.clear(&st.tomb)
                }
                if let k = st.tomb[i], !(k.version < c.version) {
                    result.alreadyKnown += 1
                } else {
                    st.tomb[i] = CellMeta(version: c.version, base: c.base, seq: 0)
                    st.rowChanged = true
                    result.applied += 1
                }
                continue
            }
            let rule = s.rules[i]
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
            let concurrent = (concurrentInsert || cur.version.site != c.version.site) && c.base != cur.version && cur.base != c.version
                && rule.concurrentValuesConflict(curValue, c.value)
            if concurrent && replica.recordsConflicts {
                if let conflict = try recordConflict(t, pk: key.pk, column: column, incoming: c, current: cur.version,
                                                     currentValue: curValue, incomingWins: incomingWins) {
                    result.conflicts.append(conflict)
                }
            } else if concurrent && incomingWins && cur.version.site == replica.siteID {
                // An office's own edit overwritten by a value its writer had not seen: the edit must still reach the
                // county, which keeps both. It waits in the outbox until a push is acknowledged.
                try keepInOutbox(t, pk: key.pk, column: column, value: curValue, version: cur.version, base: cur.base, causalLength: st.cl)
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
        guard st.anyChange else { return }
        do { try write(s, pk: key.pk, &st) } catch let e as SQLiteError where e.message.hasPrefix("cpsync-") {
            // A trigger refused the row (a domain rule): name the row, so the sender knows which change to fix.
            throw ReplicaError.rowRefused(table: t.name, key: key.pk, reason: e.message)
        }
    }

    /// Whether the writer of a death had seen `version`: it held exactly that version, or its own version had
    /// overwritten it (its base), or both are one site's and its version is the later (a site's own intermediate
    /// edits are not bases). A newer version of another site alone proves nothing: it may be concurrent.
    static func saw(_ known: CellMeta?, _ version: Version) -> Bool {
        guard let known else { return false }
        return known.version == version || known.base == version || (known.version.site == version.site && !(known.version < version))
    }

    /// An edit lost to a delete (or to a replacement of the row) whose writer had not seen it. The county records
    /// the conflict (winner: the deletion, with no value); an office keeps its own lost edit in the outbox so that
    /// the county learns of it.
    private mutating func lostEdit(_ t: SyncedTable, pk: String, column i: Int, value: Value, version: Version, base: Version?,
                                   causalLength: Int64, killer: Version, into result: inout MergeResult, incoming: Bool = false) throws {
        let column = t.columns[i].name
        if replica.recordsConflicts {
            let lost = Change(table: t.name, pk: pk, column: column, value: value, version: version, causalLength: causalLength, base: base)
            if let conflict = try recordConflict(t, pk: pk, column: column, incoming: lost, current: killer, currentValue: .null,
                                                 incomingWins: false) {
                result.conflicts.append(conflict)
            }
        } else if !incoming && version.site == replica.siteID {
            try keepInOutbox(t, pk: pk, column: column, value: value, version: version, base: base, causalLength: causalLength)
        }
    }

    private func keepInOutbox(_ t: SyncedTable, pk: String, column: String, value: Value, version: Version, base: Version?,
                              causalLength: Int64) throws {
        try db.run("""
            INSERT OR IGNORE INTO _cp_outbox(tbl, pk, col, val, hlc, site, cl, base_hlc, base_site) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(t.name), .text(pk), .text(column), value, .integer(version.hlc.rawValue), .text(version.site),
                  .integer(causalLength), base.map { .integer($0.hlc.rawValue) } ?? .null, base.map { .text($0.site) } ?? .null])
    }

    /// Prepared statements for one table, built once per merge.
    final class TableStatements {
        let table: SyncedTable
        let loadShadow: Statement
        let loadRow: Statement
        let writeShadow: Statement
        let deleteRow: Statement
        let updateRow: Statement?
        /// The merge rule of each column, by column index.
        let rules: [MergeRule]
        /// The state of a row with no versions: copied for each row loaded (cheaper than building its arrays).
        let empty: RowState
        var inserts: [[Int]: Statement] = [:]

        init(_ t: SyncedTable, db: Database, rules byName: [String: MergeRule]) throws {
            table = t
            rules = t.columns.map { byName[$0.name] ?? .lww }
            empty = RowState(columnCount: t.columns.count)
            loadShadow = try db.statement("SELECT cl, seq, rh, rs, rq, cells, tcl, tomb FROM \(t.quotedShadow) WHERE pk = ?")
            let select = t.columns.isEmpty ? "1" : t.columns.map { quoted($0.name) }.joined(separator: ", ")
            loadRow = try db.statement("SELECT \(select) FROM \(t.quotedName) WHERE \(t.quotedPK) = ?")
            writeShadow = try db.statement("INSERT OR REPLACE INTO \(t.quotedShadow) (pk, cl, seq, rh, rs, rq, cells, tcl, tomb) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
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
        let s = try TableStatements(t, db: db, rules: replica.rules[table] ?? [:])
        prepared[table] = s
        return s
    }

    /// The one tie-break of the merge: rank first (for ranked columns), then last writer wins on (HLC, site).
    static func wins(_ value: Value, _ version: Version, over currentValue: Value, _ current: Version, rule: MergeRule) -> Bool {
        let (r1, r2) = (rule.rank(of: value), rule.rank(of: currentValue))
        if r1 != r2 { return r1 > r2 }
        return current < version
    }

    /// Records a real conflict (two sites, neither writer had seen the other's version) with both values.
    /// Idempotent: the same pair of versions is recorded once. Returns nil when it was recorded before.
    private func recordConflict(_ t: SyncedTable, pk: String, column: String, incoming c: Change, current: Version,
                                currentValue: Value, incomingWins: Bool) throws -> Conflict? {
        let (wv, wver, ov, over) = incomingWins
            ? (c.value, c.version, currentValue, current) : (currentValue, current, c.value, c.version)
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
        var st = s.empty
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
            if let tcl = s.optionalInt64(6), case .blob(let bytes) = s.column(7) {
                st.tombCL = tcl
                st.tomb = CellCodec.decode(bytes, count: t.columns.count, rowSeq: 0, siteID: replica.siteUUID)
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
        // The row's state is the caller's to drop after this: its cells take their new sequences in place.
        if st.isAlive {
            for i in st.cells.indices where st.cellChanged[i] { st.cells[i]?.seq = seq }
        } else {
            RowState.clear(&st.cells)
        }
        let shadow: [Value] = [
            .text(pk), .integer(st.cl), .integer(seq),
            st.rowVersion.map { .integer($0.hlc.rawValue) } ?? .null,
            try st.rowVersion.map { .integer(try replica.siteNumber($0.site)) } ?? .null,
            st.rowVersion == nil ? .null : st.rowSeq.map { .integer($0) } ?? .null,
            .blob(try CellCodec.encode(st.cells, rowSeq: seq, siteNumber: replica.siteNumber)),
            st.tombCL.map { .integer($0) } ?? .null,
            st.tombCL == nil ? .null : .blob(try CellCodec.encode(st.tomb, rowSeq: 0, withoutSeq: true, siteNumber: replica.siteNumber)),
        ]
        try s.writeShadow.executeInPlace(shadow)
        if shadowOnly { return }

        if !st.isAlive {
            if st.existsInTable { try s.deleteRow.execute([.text(pk)]) }
            return
        }
        if st.existsInTable && !st.newLife {
            guard st.valuesChanged, let update = s.updateRow else { return }
            var values: [Value] = []
            values.reserveCapacity(st.values.count + 1)
            for v in st.values { values.append(v ?? .null) }
            values.append(.text(pk))
            try update.executeInPlace(values)
            return
        }
        if st.existsInTable { try s.deleteRow.execute([.text(pk)]) }
        // Columns with no version in this life take their (constant) defaults.
        let present = t.columns.indices.filter { st.values[$0] != nil }
        var values: [Value] = [.text(pk)]
        values.reserveCapacity(present.count + 1)
        for i in present { values.append(st.values[i]!) }
        try s.insert(present, db: db).executeInPlace(values)
    }

    func finish() throws {
        try db.run("UPDATE _cp_state SET seq = ?, hlc = max(hlc, ?)", [.integer(seq), .integer(hlc)])
    }
}
