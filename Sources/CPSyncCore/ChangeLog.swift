/// What a capture trigger logged.
enum LogKind: Int64 {
    case insert = 1
    case update = 2
    case delete = 3
}

/// Folding the capture log into the shadow tables: the per-cell versions that the triggers would have written one
/// write at a time, written once per row. Every reader of versions (`changes`, `merge`, `sequence`, `clock`,
/// `resolve`) folds first, inside a write transaction, so the log is never visible to sync.
extension Replica {
    /// Folds and empties `_cp_log`. Each entry is stamped with the logged wall clock, or one tick after the newest
    /// version it overwrites when that is later. Stamps are per cell, not one replica-wide clock: a clock that was
    /// once far ahead (this PC's, or a county's whose versions were pulled) then only affects the cells written
    /// at that time, never every later edit (see Protocol/README.md, "Clocks").
    public func foldLog() throws {
        guard try database.scalar("SELECT EXISTS (SELECT 1 FROM _cp_log)")?.int64Value == 1 else { return }
        try database.transaction {
            var merger = try RowMerger(replica: self)
            var entries: [(table: String, pk: String, kind: LogKind, hlc: Int64, mask: Int64)] = []
            // Keys that are not UTF-8 (a tool wrote raw bytes): the row cannot travel byte for byte, so it gets no
            // versions at all and is held whole (its last logged write decides: a delete is the clerk's fix).
            var unreadable: [RowKey: LogKind] = [:]
            try database.statement("SELECT tbl, pk, kind, hlc, mask FROM _cp_log ORDER BY seq").forEachRow { s in
                guard let kind = LogKind(rawValue: s.int64(2)) else { return }
                guard let pk = s.validText(1) else {
                    unreadable[RowKey(table: s.string(0) ?? "", pk: s.string(1) ?? "")] = kind
                    return
                }
                entries.append((s.string(0) ?? "", pk, kind, s.int64(3), s.int64(4)))
            }
            for (key, last) in unreadable where tables[key.table] != nil {
                if last == .delete {
                    try database.run("DELETE FROM _cp_held WHERE tbl = ? AND pk = ? AND col = ''", [.text(key.table), .text(key.pk)])
                } else {
                    try hold(RefusedChange(table: key.table, pk: key.pk, column: nil, version: nil,
                                           reason: .invalidText("the record's key is not valid UTF-8 text (written by a tool that bypassed the encoding); delete the record and enter it again")))
                }
            }
            var rows: [RowKey: (RowMerger.TableStatements, RowState)] = [:]
            var order: [RowKey] = []
            for e in entries {
                // A table that stopped being synced: its logged writes have nothing to fold into.
                guard tables[e.table] != nil else { continue }
                let key = RowKey(table: e.table, pk: e.pk)
                if rows[key] == nil {
                    let s = try merger.statements(for: e.table)
                    rows[key] = (s, try merger.load(s, pk: e.pk))
                    order.append(key)
                }
                var (s, st) = rows[key]!
                let stamp = max(e.hlc, Self.newestOverwritten(e.kind, mask: e.mask, in: st) + 1)
                merger.hlc = max(merger.hlc, stamp)
                Self.fold(e.kind, mask: e.mask, version: Version(hlc: HLC(rawValue: stamp), site: siteID), into: &st)
                rows[key] = (s, st)
            }
            for key in order {
                var (s, st) = rows[key]!
                if st.anyChange { try merger.write(s, pk: key.pk, &st, shadowOnly: true) }
            }
            try database.execute("DELETE FROM _cp_log")
            try merger.finish()
        }
    }

    /// The newest clock among the versions a logged write replaces (0 when none).
    static func newestOverwritten(_ kind: LogKind, mask: Int64, in st: RowState) -> Int64 {
        var newest = st.rowVersion?.hlc.rawValue ?? 0
        for (i, cell) in st.cells.enumerated() {
            guard let cell, kind != .update || mask & (1 << Int64(i)) != 0 else { continue }
            newest = max(newest, cell.version.hlc.rawValue)
        }
        return newest
    }

    /// One logged write applied to a row's versions, exactly as a per-write trigger would have.
    static func fold(_ kind: LogKind, mask: Int64, version: Version, into st: inout RowState) {
        let count = st.cells.count
        switch kind {
        case .insert:
            // A new key starts at causal length 1; re-inserting a deleted key starts the row's next life. An insert
            // over a live row (INSERT OR REPLACE) is a death and a new life: the death saw every cell of the old one.
            if st.isAlive {
                st.tombCL = st.cl + 1
                st.tomb = st.cells
            }
            st.cl = st.cl + 1 + (st.cl % 2)
            st.rowVersion = version
            st.rowChanged = true
            for i in 0..<count {
                st.cells[i] = CellMeta(version: version, base: nil, seq: 0)
                st.cellChanged[i] = true
            }
        case .update:
            if !st.isAlive {
                // Only reachable when the log and the table disagree (a row written with capture off): the row is
                // alive, so it is given a life.
                st.cl += 1
                st.rowVersion = version
                st.rowChanged = true
            }
            for i in 0..<count where mask & (1 << Int64(i)) != 0 {
                let current = st.cells[i]
                // The base moves only when the version overwritten came from another site: an office's own
                // intermediate edits are not a base, so editing a field twice offline is not a conflict.
                let base = current.map { $0.version.site != version.site ? $0.version : $0.base } ?? nil
                st.cells[i] = CellMeta(version: version, base: base, seq: 0)
                st.cellChanged[i] = true
            }
        case .delete:
            if st.isAlive {
                st.tombCL = st.cl + 1
                st.tomb = st.cells
            }
            st.cl = st.cl + 1 + ((st.cl + 1) % 2)
            st.rowVersion = version
            st.rowChanged = true
            for i in 0..<count { st.cells[i] = nil }
        }
    }
}
