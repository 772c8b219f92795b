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
    /// The shadow table holds a row for this key (a new key's shadow row is inserted, an existing one replaced).
    var inShadow = false
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
        for i in a.indices { if case .some = a[i] { a[i] = nil } }
    }
    var anyChange: Bool { rowChanged || valuesChanged || cellChanged.contains(true) }

    /// Back to the state of a row with no versions, keeping the arrays' storage (one state serves every row of a
    /// merge instead of four new arrays per row).
    mutating func reset() {
        existsInTable = false
        inShadow = false
        cl = 0
        rowVersion = nil
        rowSeq = nil
        Self.clear(&cells)
        Self.clear(&values)
        for i in cellChanged.indices where cellChanged[i] { cellChanged[i] = false }
        valuesChanged = false
        rowChanged = false
        newLife = false
        tombCL = nil
        Self.clear(&tomb)
    }
}

struct InsertShape: Hashable {
    let present: UInt64
    let rows: Int
}

/// Rows a merge created in one table with one set of columns, waiting to be inserted together (`flushInserts`).
/// Nothing reads a table row between its insert and the flush: a row merged again is flushed first, and the batch
/// is flushed before another table's row is written and before the merge ends.
struct PendingInserts {
    /// Rows per statement: 128 rows of the widest synced table (62 columns and the key) bind 8,064 values, below
    /// SQLite's limit of 32,766. (128 measured faster than 32 on a 100,000-row merge; the statement is prepared once.)
    static let batchRows = 128
    var table: RowMerger.TableStatements?
    var present: UInt64 = 0
    var rows = 0
    /// The rows' keys, then the values of each row (its key first) in one bind list.
    var keys: [String] = []
    var values: [Value] = []

    func holds(_ pk: String) -> Bool { rows > 0 && keys.contains { UTF8Bytes.equal($0, pk) } }

    /// Adds a row: its key, then the values present (`present` has their bits), moved out of `row` (left all nil).
    mutating func add(_ s: RowMerger.TableStatements, present: UInt64, pk: String, values row: inout [Value?]) {
        table = s
        self.present = present
        rows += 1
        keys.append(pk)
        values.append(.text(pk))
        for i in row.indices { if let v = row[i].take() { values.append(v) } }
    }

    /// Inserts the rows (see `RowMerger.flushInserts`).
    func insert(db: Database) throws {
        guard let s = table, rows > 0 else { return }
        // A refused row (a trigger's RAISE or a constraint) fails the statement, which then changed nothing, and the
        // transaction goes on: the rows again, one by one, so that the error names its row. Any other error (a full
        // disk, I/O) is thrown as it is (SQLite may have ended the transaction).
        guard try Self.refusal(s.insert(present, rows: rows, db: db), values) != nil else { return }
        let width = values.count / rows
        let one = try s.insert(present, rows: 1, db: db)
        for r in 0..<rows {
            let row = Array(values[(r * width)..<((r + 1) * width)])
            guard let e = try Self.refusal(one, row) else { continue }
            // A domain rule's trigger names the row, as `mergeRow` does; another constraint is thrown as it is.
            guard e.message.hasPrefix("cpsync-") else { throw e }
            throw ReplicaError.rowRefused(table: s.table.name, key: keys[r], reason: e.message)
        }
    }

    /// Runs a statement: nil when it succeeds, the error when a constraint or a trigger's `RAISE` refused it (the
    /// statement then changed nothing); any other error is thrown. (A function of its own: a typed `catch` in
    /// `insert(db:)` crashed the Swift 6.3.1 optimizer.)
    private static func refusal(_ statement: Statement, _ values: [Value]) throws -> SQLiteError? {
        do {
            try statement.executeInPlace(values)
            return nil
        } catch {
            if error.isConstraint { return error }
            throw error
        }
    }

    mutating func clear() {
        table = nil
        rows = 0
        keys.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
    }
}

/// Applies grouped changes row by row inside the merge transaction.
struct RowMerger {
    let replica: Replica
    let db: Database
    var seq: Int64
    var hlc: Int64
    let now: Int64
    var prepared: [String: TableStatements] = [:]
    private var last: TableStatements?
    /// Table rows the merge created, not yet inserted: see `PendingInserts`.
    private var pending = PendingInserts()
    /// Recorded as conflicts here, or kept in the outbox for the upstream.
    let displaced: DisplacedEdits

    init(replica: Replica) throws {
        self.replica = replica
        self.displaced = replica.displacedEdits
        self.db = replica.database
        let row = try db.query("SELECT seq, hlc FROM _cp_state")[0]
        seq = row[0].int64Value ?? 0
        hlc = row[1].int64Value ?? 0
        now = HLC.wallClock().milliseconds
    }

    /// Merges one row's run of changes. They are read where they lie (`changes` points into the caller's array):
    /// copying a change retains its five strings and its value, and a merge reads millions of them.
    mutating func mergeRow(_ key: RowKey, _ changes: UnsafeBufferPointer<Change>, into result: inout MergeResult) throws {
        guard let first = changes.baseAddress else { return }
        let s = try statements(for: key.table)
        let t = s.table
        // The table's one row state, taken out so that its arrays are uniquely held while this row uses them.
        var st = s.scratch ?? s.empty
        s.scratch = nil
        defer { s.scratch = st }
        try load(s, pk: key.pk, into: &st)
        var hint = 0
        let (maxCL, knowledge) = scan(changes, t, from: st.cl, hint: &hint)
        if maxCL > st.cl {
            try beginLife(maxCL, of: &st, knowledge: knowledge, changes, t, pk: key.pk, into: &result)
        }
        // Two inserts of one key in the same life (an office reinstalled before it pulled its own old records, or
        // two offices choosing the same key) are concurrent whoever made them: their differing cells are conflicts.
        var concurrentInsert = false
        for j in changes.indices {
            let c = first + j
            if c.pointee.causalLength < st.cl {
                try mergeEarlierLife(c, &st, t, pk: key.pk, hint: &hint, into: &result)
                continue
            }
            guard let column = c.pointee.column, let i = t.index(of: column, hint: &hint) else {
                Self.mergeRowVersion(c, &st, concurrentInsert: &concurrentInsert, into: &result)
                continue
            }
            if c.pointee.causalLength % 2 == 0 {
                Self.mergeDeathKnowledge(c, column: i, &st, into: &result)
                continue
            }
            guard let current = st.cells[i] else {
                Self.takeFirstVersion(c, at: i, &st, into: &result)
                continue
            }
            if current.version == c.pointee.version {
                result.alreadyKnown += 1
                continue
            }
            try mergeCell(c, over: current, column: column, at: i, &st, s, pk: key.pk, concurrentInsert: concurrentInsert, into: &result)
        }
        guard st.anyChange else { return }
        do { try write(s, pk: key.pk, &st) } catch let e as SQLiteError where e.message.hasPrefix("cpsync-") {
            // A trigger refused the row (a domain rule): name the row, so the sender knows which change to fix.
            throw ReplicaError.rowRefused(table: t.name, key: key.pk, reason: e.message)
        }
    }

    /// One pass over a row's run before it is merged: moves the clock past every version, and returns the highest
    /// causal length (at least `cl`, the row's) and the knowledge: cell changes at an even (dead) causal length carry
    /// the version a deleter held of each cell (and that version's base: what it had overwritten).
    @inline(__always)
    private mutating func scan(_ changes: UnsafeBufferPointer<Change>, _ t: SyncedTable, from cl: Int64,
                               hint: inout Int) -> (maxCL: Int64, knowledge: [Int64: [Int: CellMeta]]) {
        var maxCL = cl
        var knowledge: [Int64: [Int: CellMeta]] = [:]
        guard let first = changes.baseAddress else { return (maxCL, knowledge) }
        for j in changes.indices {
            let c = first + j
            hlc = max(hlc, c.pointee.version.hlc.rawValue)
            maxCL = max(maxCL, c.pointee.causalLength)
            if c.pointee.causalLength % 2 == 0, let column = c.pointee.column, let i = t.index(of: column, hint: &hint) {
                if let k = knowledge[c.pointee.causalLength]?[i], !(k.version < c.pointee.version) { continue }
                knowledge[c.pointee.causalLength, default: [:]][i] = CellMeta(version: c.pointee.version, base: c.pointee.base, seq: 0)
            }
        }
        return (maxCL, knowledge)
    }

    /// Moves the row to a later life, `maxCL`: what this replica held of the current one no longer counts. Each of
    /// its cells that the writer of the death had not seen is an edit lost to a delete, kept as a conflict. The
    /// death's knowledge becomes the row's tomb.
    private mutating func beginLife(_ maxCL: Int64, of st: inout RowState, knowledge: [Int64: [Int: CellMeta]],
                                    _ changes: UnsafeBufferPointer<Change>, _ t: SyncedTable, pk: String,
                                    into result: inout MergeResult) throws {
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
                try lostEdit(t, pk: pk, column: i, value: st.values[i] ?? .null, version: cell.version, base: cell.base,
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

    /// A change of an earlier life, arriving late: superseded. An edit the deleter had not seen is kept.
    private mutating func mergeEarlierLife(_ c: UnsafePointer<Change>, _ st: inout RowState, _ t: SyncedTable, pk: String,
                                           hint: inout Int, into result: inout MergeResult) throws {
        if c.pointee.causalLength % 2 == 1, let column = c.pointee.column, let i = t.index(of: column, hint: &hint) {
            let known = st.tombCL == c.pointee.causalLength + 1
            let seen = known ? st.tomb[i] : nil
            let killer = st.rowVersion ?? c.pointee.version
            if (known || killer.site != c.pointee.version.site) && !Self.saw(seen, c.pointee.version) {
                try lostEdit(t, pk: pk, column: i, value: c.pointee.value, version: c.pointee.version, base: c.pointee.base,
                             causalLength: c.pointee.causalLength, killer: killer, into: &result, incoming: true)
            }
        }
        result.superseded += 1
    }

    /// A change of the row itself (no column: an insert or a delete) in its current life: the later version wins.
    @inline(__always)
    private static func mergeRowVersion(_ c: UnsafePointer<Change>, _ st: inout RowState, concurrentInsert: inout Bool,
                                        into result: inout MergeResult) {
        if st.isAlive, c.pointee.causalLength == st.cl, let current = st.rowVersion, current != c.pointee.version { concurrentInsert = true }
        if let current = st.rowVersion, !(current < c.pointee.version) {
            if current == c.pointee.version { result.alreadyKnown += 1 } else { result.superseded += 1 }
        } else {
            st.rowVersion = c.pointee.version
            st.rowChanged = true
            result.applied += 1
        }
    }

    /// A cell change at a dead causal length: the deleter's knowledge of cell `i` in the current death.
    @inline(__always)
    private static func mergeDeathKnowledge(_ c: UnsafePointer<Change>, column i: Int, _ st: inout RowState, into result: inout MergeResult) {
        if st.tombCL != c.pointee.causalLength {
            st.tombCL = c.pointee.causalLength
            RowState.clear(&st.tomb)
        }
        if let k = st.tomb[i], !(k.version < c.pointee.version) {
            result.alreadyKnown += 1
        } else {
            st.tomb[i] = CellMeta(version: c.pointee.version, base: c.pointee.base, seq: 0)
            st.rowChanged = true
            result.applied += 1
        }
    }

    /// The first version of cell `i` in the row's current life: taken.
    @inline(__always)
    private static func takeFirstVersion(_ c: UnsafePointer<Change>, at i: Int, _ st: inout RowState, into result: inout MergeResult) {
        st.cells[i] = CellMeta(version: c.pointee.version, base: c.pointee.base, seq: 0)
        st.values[i] = c.pointee.value
        st.cellChanged[i] = true
        st.valuesChanged = true
        result.applied += 1
    }

    /// A cell change in the row's current life over another version of the cell (`cur`): the tie-break (`wins`)
    /// decides, and two versions neither writer had seen are a conflict (recorded at the county; at an office its own
    /// losing edit is kept in the outbox).
    private func mergeCell(_ c: UnsafePointer<Change>, over cur: CellMeta, column: String, at i: Int, _ st: inout RowState,
                           _ s: TableStatements, pk: String, concurrentInsert: Bool, into result: inout MergeResult) throws {
        let rule = s.rules[i]
        let curValue = st.values[i] ?? .null
        let incomingWins = Self.wins(c.pointee.value, c.pointee.version, over: curValue, cur.version, rule: rule)
        let concurrent = (concurrentInsert || cur.version.site != c.pointee.version.site) && c.pointee.base != cur.version && cur.base != c.pointee.version
            && rule.concurrentValuesConflict(curValue, c.pointee.value)
        if concurrent {
            switch displaced.outcome(current: cur.version.site, incoming: c.pointee.version.site, incomingWins: incomingWins) {
            case .record:
                if let conflict = try recordConflict(s.table, pk: pk, column: column, incoming: c.pointee, current: cur.version,
                                                     currentValue: curValue, incomingWins: incomingWins) {
                    result.conflicts.append(conflict)
                }
            case .keepCurrent:
                // An edit overwritten by a value its writer had not seen: it must still reach the level that keeps both
                // (the county for an office). It waits in the outbox until a push is acknowledged.
                try keepInOutbox(s.table, pk: pk, column: column, value: curValue, version: cur.version, base: cur.base, causalLength: st.cl)
            case .keepIncoming:
                try keepInOutbox(s.table, pk: pk, column: column, value: c.pointee.value, version: c.pointee.version,
                                 base: c.pointee.base, causalLength: c.pointee.causalLength)
            case .nothing:
                break
            }
        }
        if incomingWins {
            st.cells[i] = CellMeta(version: c.pointee.version, base: c.pointee.base, seq: 0)
            st.values[i] = c.pointee.value
            st.cellChanged[i] = true
            st.valuesChanged = st.valuesChanged || curValue != c.pointee.value
            result.applied += 1
        } else {
            result.superseded += 1
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
    /// the county learns of it (and a county below a city its sites' edits lost to the city's delete: `DisplacedEdits`).
    private func lostEdit(_ t: SyncedTable, pk: String, column i: Int, value: Value, version: Version, base: Version?,
                                   causalLength: Int64, killer: Version, into result: inout MergeResult, incoming: Bool = false) throws {
        let column = t.columns[i].name
        let outcome = incoming ? displaced.outcome(current: killer.site, incoming: version.site, incomingWins: false)
            : displaced.outcome(current: version.site, incoming: killer.site, incomingWins: true)
        switch outcome {
        case .record:
            let lost = Change(table: t.name, pk: pk, column: column, value: value, version: version, causalLength: causalLength, base: base)
            if let conflict = try recordConflict(t, pk: pk, column: column, incoming: lost, current: killer, currentValue: .null,
                                                 incomingWins: false) {
                result.conflicts.append(conflict)
            }
        case .keepCurrent, .keepIncoming:
            try keepInOutbox(t, pk: pk, column: column, value: value, version: version, base: base, causalLength: causalLength)
        case .nothing:
            break
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
        /// New keys' shadow rows not yet inserted (`flushShadows`): their keys, and their values in one bind list.
        var shadowKeys: [String] = []
        var shadowBatch: [Value] = []
        private var shadowInserts: [Int: Statement] = [:]
        let deleteRow: Statement
        let updateRow: Statement?
        /// The merge rule of each column, by column index.
        let rules: [MergeRule]
        /// The state of a row with no versions: copied for each row the fold loads (cheaper than building its arrays).
        let empty: RowState
        /// The state `mergeRow` reuses for every row of this table (reset, not rebuilt).
        var scratch: RowState?
        /// Reused bind buffers: an existing key's shadow row, and an updated table row.
        var shadowValues: [Value] = []
        var rowValues: [Value] = []
        /// The shadow table was empty when these statements were made (a new office's first pull, a county's first
        /// push of a table): a key not written since cannot have versions, and is not looked up.
        let fresh: Bool
        /// A hash of the bytes of each key these statements wrote: only such a key can have a row or a shadow row
        /// still waiting in a batch, or (in a fresh table) versions at all. A collision only costs a lookup or a search
        /// of the batch, which is always right.
        var written: Set<Int> = []

        static func keyHash(_ pk: String) -> Int {
            var hasher = Hasher()
            UTF8Bytes.hash(pk, into: &hasher)
            return hasher.finalize()
        }
        /// Insert statements by the set of columns present (bit i: column i; at most 62 columns are synced) and the
        /// number of rows.
        var inserts: [InsertShape: Statement] = [:]
        /// New keys' shadow rows are inserted with their scope index columns (`ScopeIndex.insertBucketing`).
        let bucketing: ScopeIndex.InsertBucketing?
        /// The new keys of a table other tables take their bucket from: their children (made before them, bucketed
        /// `nobody`) are bucketed again by `ScopeIndex.refresh`.
        var insertedParents: [String] = []

        /// `shadowColumns`: the columns the table's shadow has (the scope index's among them, or not).
        init(_ t: SyncedTable, db: Database, rules byName: [String: MergeRule], shadowColumns: Set<String>,
             bucketing: ScopeIndex.InsertBucketing? = nil) throws {
            table = t
            self.bucketing = bucketing
            rules = t.columns.map { byName[$0.name] ?? .lww }
            empty = RowState(columnCount: t.columns.count)
            fresh = try db.scalar("SELECT NOT EXISTS (SELECT 1 FROM \(t.quotedShadow))")?.int64Value == 1
            loadShadow = try db.statement("SELECT cl, seq, rh, rs, rq, cells, tcl, tomb FROM \(t.quotedShadow) WHERE pk = ?")
            // The SQL text is built once per connection (`SyncedTable.sql`); a merge makes these statements per table.
            loadRow = try db.statement(t.sql("merge.load-row") {
                "SELECT \(t.columns.isEmpty ? "1" : t.columns.map { quoted($0.name) }.joined(separator: ", ")) FROM \(t.quotedName) WHERE \(t.quotedPK) = ?"
            })
            // An existing key's shadow row is written whole. Where the shadow has the scope index's columns, in place,
            // saying it waits to be bucketed again (`ScopeIndex.rewriteAssignments`); elsewhere (an office) replaced.
            let index = ScopeIndex.rewriteAssignments(shadowColumns: shadowColumns)
            let values = "(pk, cl, seq, rh, rs, rq, cells, tcl, tomb) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            writeShadow = try db.statement(index.isEmpty
                ? t.sql("merge.replace-shadow") { "INSERT OR REPLACE INTO \(t.quotedShadow) \(values)" }
                : t.sql("merge.upsert-shadow." + index.joined(separator: ",")) {
                    let rewrite = ["cl", "seq", "rh", "rs", "rq", "cells", "tcl", "tomb"].map { "\($0) = excluded.\($0)" } + index
                    return "INSERT INTO \(t.quotedShadow) \(values) ON CONFLICT (pk) DO UPDATE SET \(rewrite.joined(separator: ", "))"
                })
            deleteRow = try db.statement(t.sql("merge.delete-row") { "DELETE FROM \(t.quotedName) WHERE \(t.quotedPK) = ?" })
            updateRow = t.columns.isEmpty ? nil : try db.statement(t.sql("merge.update-row") {
                "UPDATE \(t.quotedName) SET \(t.columns.map { "\(quoted($0.name)) = ?" }.joined(separator: ", ")) WHERE \(t.quotedPK) = ?"
            })
        }

        /// A plain `INSERT` of `rows` new shadow rows (REPLACE would make SQLite ready to delete rows and their index
        /// entries, with a statement journal, for keys that cannot exist).
        func insertShadows(rows: Int, db: Database) throws -> Statement {
            if let s = shadowInserts[rows] { return s }
            let key = "merge.insert-shadows.\(rows)." + (bucketing.map { $0.bucketSQL(1, 2) } ?? "")
            let s = try db.statement(table.sql(key) { Self.insertShadowsSQL(table, rows: rows, bucketing: bucketing) })
            shadowInserts[rows] = s
            return s
        }

        static func insertShadowsSQL(_ table: SyncedTable, rows: Int, bucketing: ScopeIndex.InsertBucketing?) -> String {
            let sql: String
            if let bucketing {
                // Nine values a row; the bucket reads the row's key and causal length again.
                let values = (0..<rows).map { r in
                    let b = r * 9
                    return "(" + (1...9).map { "?\(b + $0)" }.joined(separator: ", ") + ", \(bucketing.bucketSQL(b + 1, b + 2)))"
                }
                sql = "INSERT INTO \(table.quotedShadow) (pk, cl, seq, rh, rs, rq, cells, tcl, tomb, bk) VALUES " + values.joined(separator: ", ")
            } else {
                let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
                sql = "INSERT INTO \(table.quotedShadow) (pk, cl, seq, rh, rs, rq, cells, tcl, tomb) VALUES "
                    + Array(repeating: row, count: rows).joined(separator: ", ")
            }
            return sql
        }

        /// `INSERT` of `rows` rows of the columns in `present` (the key first), prepared once per merge.
        func insert(_ present: UInt64, rows: Int, db: Database) throws -> Statement {
            let key = InsertShape(present: present, rows: rows)
            if let s = inserts[key] { return s }
            let s = try db.statement(table.sql("merge.insert.\(present).\(rows)") {
                let names = [table.quotedPK] + table.columns.indices.filter { present & (1 << UInt64($0)) != 0 }.map { quoted(table.columns[$0].name) }
                let row = "(" + Array(repeating: "?", count: names.count).joined(separator: ", ") + ")"
                return "INSERT INTO \(table.quotedName) (\(names.joined(separator: ", "))) VALUES \(Array(repeating: row, count: rows).joined(separator: ", "))"
            })
            inserts[key] = s
            return s
        }
    }

    mutating func statements(for table: String) throws -> TableStatements {
        // Changes come grouped by table: the last table's statements serve the next row without a lookup.
        if let last, UTF8Bytes.equal(last.table.name, table) { return last }
        // Another table's rows may be checked against this one's (a child's trigger reads its parent): the rows
        // created so far are inserted before any row of another table is written.
        try flushInserts()

        if let s = prepared[table] { last = s; return s }
        guard let t = replica.tables[table] else { throw ReplicaError.unknownTable(table) }
        let columns = try replica.schemaCached("shadow-columns:" + table) { Set(try db.columns(of: shadowName(table)).map(\.name)) }
        let s = try TableStatements(t, db: db, rules: replica.rules[table] ?? [:], shadowColumns: columns,
                                    bucketing: try replica.scopeIndex?.insertBucketing(for: table, in: replica))
        prepared[table] = s
        last = s
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
        // A version that already lost a recorded conflict of this cell is not recorded losing again to a later value
        // (one an office wrote knowing the winner): the admin judges a loss once, and ordered writes are not
        // concurrent ones (Protocol §13.2).
        if try replica.lossRecorded(table: t.name, pk: pk, column: column, version: over) { return nil }
        try db.run("""
            INSERT OR IGNORE INTO _cp_conflicts(tbl, pk, col, winner_value, winner_hlc, winner_site, other_value, other_hlc, other_site, detected_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(t.name), .text(pk), .text(column), wv, .integer(wver.hlc.rawValue), .text(wver.site),
                  ov, .integer(over.hlc.rawValue), .text(over.site), .integer(now)])
        guard db.changes == 1 else { return nil }
        return Conflict(id: String(db.lastInsertRowID), table: t.name, pk: pk, column: column, winnerValue: wv,
                        winnerVersion: wver, otherValue: ov, otherVersion: over, detectedAt: now, status: .open, resolution: nil)
    }

    mutating func load(_ s: TableStatements, pk: String) throws -> RowState {
        var st = s.empty
        try load(s, pk: pk, into: &st)
        return st
    }

    /// Loads a row's versions and values into `st`, which is reset first (its arrays are reused).
    /// A row merged again in the same merge (it came in two runs) is read back from the table: if its insert is still
    /// pending, the pending rows are inserted first. Only a key written in this merge is searched for among the
    /// pending ones.
    mutating func load(_ s: TableStatements, pk: String, into st: inout RowState) throws {
        let t = s.table
        st.reset()
        let writtenHere = s.written.contains(TableStatements.keyHash(pk))
        if s.fresh && !writtenHere { return }
        if writtenHere && s.shadowKeys.contains(where: { UTF8Bytes.equal($0, pk) }) { try flushShadows(s) }
        var found = false
        try s.loadShadow.forEachRow([.text(pk)]) { s in
            found = true
            st.inShadow = true
            st.cl = s.int64(0)
            if let rh = s.optionalInt64(2), let site = replica.siteUUID(s.optionalInt64(3)) {
                st.rowVersion = Version(hlc: HLC(rawValue: rh), site: site)
            }
            st.rowSeq = s.optionalInt64(4)
            if case .blob(let bytes) = s.column(5) {
                CellCodec.decode(bytes, into: &st.cells, rowSeq: s.int64(1), siteID: replica.siteUUID)
            }
            if let tcl = s.optionalInt64(6), case .blob(let bytes) = s.column(7) {
                st.tombCL = tcl
                CellCodec.decode(bytes, into: &st.tomb, rowSeq: 0, siteID: replica.siteUUID)
            }
        }
        guard found else { return }
        if writtenHere && pending.holds(pk) { try flushInserts() }
        try s.loadRow.forEachRow([.text(pk)]) { s in
            st.existsInTable = true
            for i in t.columns.indices { st.values[i] = s.column(Int32(i)) }
        }
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
        // A new key's shadow row waits to be inserted with others (`flushShadows`): one statement for many rows. An
        // existing key's is replaced at once.
        let batched = !st.inShadow
        let cells = try CellCodec.encode(st.cells, rowSeq: seq, siteNumber: replica.siteNumber)
        let tomb = try st.tombCL.map { _ in try CellCodec.encode(st.tomb, rowSeq: 0, withoutSeq: true, siteNumber: replica.siteNumber) }
        let rowSite = try st.rowVersion.map { try replica.siteNumber($0.site) }
        // Appended in one access to the list (not one per value).
        func shadowRow(_ out: inout [Value]) {
            out.append(.text(pk))
            out.append(.integer(st.cl))
            out.append(.integer(seq))
            out.append(st.rowVersion.map { .integer($0.hlc.rawValue) } ?? .null)
            out.append(rowSite.map { .integer($0) } ?? .null)
            out.append(st.rowVersion == nil ? .null : st.rowSeq.map { .integer($0) } ?? .null)
            out.append(.blob(cells))
            out.append(st.tombCL.map { .integer($0) } ?? .null)
            out.append(tomb.map { .blob($0) } ?? .null)
        }
        if batched {
            shadowRow(&s.shadowBatch)
            s.shadowKeys.append(pk)
            if s.bucketing?.hasChildren == true { s.insertedParents.append(pk) }
            if s.shadowKeys.count == PendingInserts.batchRows { try flushShadows(s) }
        } else {
            s.shadowValues.removeAll(keepingCapacity: true)
            shadowRow(&s.shadowValues)
            try s.writeShadow.executeInPlace(s.shadowValues)
        }
        st.inShadow = true
        s.written.insert(TableStatements.keyHash(pk))
        if shadowOnly { return }

        if !st.isAlive {
            if st.existsInTable { try s.deleteRow.execute([.text(pk)]) }
            return
        }
        if st.existsInTable && !st.newLife {
            guard st.valuesChanged, let update = s.updateRow else { return }
            s.rowValues.removeAll(keepingCapacity: true)
            for v in st.values { s.rowValues.append(v ?? .null) }
            s.rowValues.append(.text(pk))
            try update.executeInPlace(s.rowValues)
            return
        }
        if st.existsInTable { try s.deleteRow.execute([.text(pk)]) }
        // Columns with no version in this life take their (constant) defaults.
        var present: UInt64 = 0
        for i in t.columns.indices { if case .some = st.values[i] { present |= 1 << UInt64(i) } }
        if pending.rows > 0 && (pending.table !== s || pending.present != present) { try flushInserts() }
        pending.add(s, present: present, pk: pk, values: &st.values)
        if pending.rows == PendingInserts.batchRows { try flushInserts() }
    }

    /// Inserts the table's pending new shadow rows with one statement. Only the merge reads shadow rows (`load`), and
    /// it flushes them first when it looks for one of their keys. Shadow rows bucketed as they are inserted read
    /// their table rows: the pending table rows go first.
    mutating func flushShadows(_ s: TableStatements) throws {
        guard !s.shadowKeys.isEmpty else { return }
        if s.bucketing != nil {
            try flushInserts()
            // A statement with a subquery per row is costly to prepare: the rows go in statements of a few sizes,
            // each prepared once per connection, rather than one statement of each remainder's size.
            var done = 0
            let count = s.shadowKeys.count
            while done < count {
                let rows = [PendingInserts.batchRows, 16, 1].first { $0 <= count - done }!
                let values = done == 0 && rows == count ? s.shadowBatch : Array(s.shadowBatch[(done * 9)..<((done + rows) * 9)])
                try s.insertShadows(rows: rows, db: db).executeInPlace(values)
                done += rows
            }
        } else {
            try s.insertShadows(rows: s.shadowKeys.count, db: db).executeInPlace(s.shadowBatch)
        }
        s.shadowKeys.removeAll(keepingCapacity: true)
        s.shadowBatch.removeAll(keepingCapacity: true)
    }

    /// Inserts the pending rows with one multi-row statement: the table's triggers and checks run for each row, in
    /// order, as they would for one insert per row, but what SQLite does once per statement (its trigger programs'
    /// set-up, the lists of a CHECK) is done once per batch. A batch that fails is inserted again row by row (a
    /// failed statement changes nothing), so the error names the row, as it did when each row had its own insert.
    mutating func flushInserts() throws {
        guard pending.rows > 0 else { return }
        defer { pending.clear() }
        try pending.insert(db: db)
    }

    /// Ends the merge's writes: the pending table rows and shadow rows are written, then the replica's sequence and
    /// clock. Every user of a `RowMerger` ends with it.
    mutating func finish() throws {
        try flushInserts()
        for s in prepared.values { try flushShadows(s) }
        if let index = replica.scopeIndex {
            var inserted: [String: [String]] = [:]
            for s in prepared.values where !s.insertedParents.isEmpty { inserted[s.table.name] = s.insertedParents }
            try index.refresh(replica, sequence: seq, insertedParents: inserted)
        }
        try db.run("UPDATE _cp_state SET seq = ?, hlc = max(hlc, ?)", [.integer(seq), .integer(hlc)])
    }
}
