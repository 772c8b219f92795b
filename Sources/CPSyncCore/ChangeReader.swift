/// Reading changes out of a replica: the latest version of every cell (and every row's existence) written after a
/// given point. Compacted by construction: the shadow keeps only the latest version of a cell.
///
/// ## Pages and the low-water mark
/// Rows are paged by their *latest* local sequence, but a row's older cells keep their older sequences. A transfer
/// that spans pages therefore has two positions: `after`, where the next page starts (the last row read), and
/// `since`, where the whole transfer started. A page holds the rows with sequence in (`after`, cursor] and, of each
/// row, every cell written after `since` — not after `after`: a row whose newest edit lies beyond a page boundary
/// still brings the cells it had before the boundary. When the last page is read (`hasMore` false), the reader of the
/// pages moves `since` up to the cursor. Why nothing is skipped: a cell written at sequence s after the transfer
/// started has s above every position read so far (sequences only grow), so its row — whose sequence is at least s
/// from then on — lies ahead of the reading position until a page reads it, with every cell after `since`.
///
/// Every page is read inside one read transaction, so it is one snapshot of the replica: a write committing between
/// two tables' reads cannot make the cursor jump over a row.
extension Replica {
    /// Changes of rows whose local sequence is after `after`, ordered by sequence, in whole rows: at most `limit`
    /// rows, at most `maxChanges` changes and about `maxBytes` bytes on the wire (but always at least one row). Of each row, the cells written after
    /// `since` (default: `after`). Pass the returned `cursor` as `after` for the next page, and keep `since` until
    /// a page says `hasMore` is false.
    public func changes(after: Int64, since: Int64? = nil, limit: Int = Int.max, maxChanges: Int = Int.max, maxBytes: Int = Int.max,
                        scope: (any RowScope)? = nil) throws -> ChangePage {
        try foldLog()
        let since = min(since ?? after, after)
        let ownTransaction = !database.isInTransaction
        // Prepared once per connection (`run`), not parsed for every pull as `execute` would.
        if ownTransaction { try database.run("BEGIN") }
        defer { if ownTransaction { try? database.run("COMMIT") } }
        // One cursor per synced table, each in sequence order; the page takes the lowest sequence next, so only the
        // rows that make up the page are read.
        var cursors: [(table: SyncedTable, statement: Statement, seq: Int64)] = []
        defer { for c in cursors { c.statement.reset() } }
        // A scoped read of an indexed table reads its scope's rows only (see ScopeIndex), the others every row.
        let index = try scope.flatMap { scope in try scopeIndex?.reading(for: scope, in: self) }
        for name in syncedTables {
            guard let t = tables[name] else { continue }
            // A table with nothing after the cursor is passed by one look at its sequence index (most tables, in most
            // pulls: one office's edits touch a table or two).
            guard try database.scalar(t.sql("max-seq") { "SELECT max(seq) FROM \(t.quotedShadow)" })?.int64Value ?? 0 > after else { continue }
            let buckets = index.flatMap { $0.tables.contains(t.name) ? $0.buckets.count : nil } ?? -1
            let sql: String
            if let known = t.readSQLs[buckets] { sql = known } else {
                sql = readSQL(t, candidates: buckets < 0 ? nil : index?.candidatesSQL(t))
                t.readSQLs[buckets] = sql
            }
            let stmt = try database.statement(sql)
            stmt.reset()
            try stmt.bind(buckets < 0 ? [.integer(after)] : index!.bindings(after: after, since: since))
            if try stmt.step() { cursors.append((t, stmt, stmt.int64(2))) } else { stmt.reset() }
        }
        var page = ChangePage(changes: [], cursor: max(after, 0), hasMore: false)
        page.head = try foldedSequence
        var rows = 0, bytes = 0
        while let next = cursors.indices.min(by: { cursors[$0].seq < cursors[$1].seq }), rows < limit {
            let c = cursors[next]
            page.rowsRead += 1
            var refused: [RefusedChange] = []
            // A row's changes go straight into the page (no copy through a row array), and out again if the row
            // does not fit.
            let before = page.changes.count
            try rowChanges(c.table, c.statement, since: since, scope: scope, into: &page.changes, refused: &refused)
            var rowBytes = 0
            for i in before..<page.changes.count { rowBytes += Change.estimatedWireBytes(page.changes[i]) }
            if rows > 0 && (page.changes.count > maxChanges || bytes + rowBytes > maxBytes) {
                page.changes.removeSubrange(before...)
                break
            }
            bytes += rowBytes
            if page.changes.count > before { page.rowsSent += 1 }
            page.refused += refused
            rows += 1
            page.cursor = c.seq
            if try c.statement.step() {
                cursors[next].seq = c.statement.int64(2)
            } else {
                c.statement.reset()
                cursors.remove(at: next)
            }
        }
        page.hasMore = !cursors.isEmpty
        return page
    }

    /// Every change the replica holds (for tests and full exports).
    public func allChanges() throws -> [Change] { try changes(after: 0).changes }

    /// Every current change of the given rows, whole (each row's cells from the start), in one read transaction:
    /// what goes again of a row set aside once the row was written again. Text that is not UTF-8 is left out, as
    /// when a page is read.
    public func changes(ofRows rows: Set<RowKey>) throws -> [Change] {
        try foldLog()
        guard !rows.isEmpty else { return [] }
        let ownTransaction = !database.isInTransaction
        if ownTransaction { try database.execute("BEGIN") }
        defer { if ownTransaction { try? database.execute("COMMIT") } }
        var out: [Change] = []
        for row in rows.sorted(by: { ($0.table, $0.pk) < ($1.table, $1.pk) }) {
            guard let t = tables[row.table] else { continue }
            let stmt = try database.statement(readSQL(t, oneRow: true))
            defer { stmt.reset() }
            stmt.reset()
            try stmt.bind([.text(row.pk)])
            var refused: [RefusedChange] = []
            if try stmt.step() { try rowChanges(t, stmt, since: 0, scope: nil, into: &out, refused: &refused) }
        }
        return out
    }

    /// `candidates`: a query of the keys to read (in place of every row after `?1`; see `ScopeIndex.Reading`).
    private func readSQL(_ t: SyncedTable, oneRow: Bool = false, candidates: String? = nil) -> String {
        let values = t.columns.map { "t." + quoted($0.name) }
        let cols = ["s.pk", "s.cl", "s.seq", "s.rh", "s.rs", "s.rq", "s.cells", "s.tcl", "s.tomb"] + values
        if let candidates {
            // CROSS JOIN: the few candidates drive the read, then sorted, rather than a walk of every row after ?1.
            return """
                SELECT \(cols.joined(separator: ", ")) FROM (\(candidates)) AS c CROSS JOIN \(t.quotedShadow) AS s ON s.pk = c.pk
                LEFT JOIN \(t.quotedName) AS t ON t.\(t.quotedPK) = s.pk
                ORDER BY s.seq
                """
        }
        return """
            SELECT \(cols.joined(separator: ", ")) FROM \(t.quotedShadow) AS s
            LEFT JOIN \(t.quotedName) AS t ON t.\(t.quotedPK) = s.pk
            WHERE \(oneRow ? "s.pk = ?" : "s.seq > ? ORDER BY s.seq")
            """
    }

    static let firstValueColumn: Int32 = 9

    private func rowChanges(_ t: SyncedTable, _ s: Statement, since: Int64, scope: (any RowScope)?, into out: inout [Change],
                            refused: inout [RefusedChange]) throws {
        guard let pk = s.validText(0) else {
            refused.append(RefusedChange(table: t.name, pk: s.string(0) ?? "", column: nil, version: nil,
                                         reason: .invalidText("the primary key is not valid UTF-8 text")))
            return
        }
        let cl = s.int64(1)
        var cells: [CellMeta?] = []
        if cl % 2 == 1, case .blob(let bytes) = s.column(6) {
            cells = CellCodec.decode(bytes, count: t.columns.count, rowSeq: s.int64(2), siteID: siteUUID)
        }
        // Partial replication: a row out of the reader's scope is not sent; a row that entered it since the transfer
        // started comes whole (the reader never had its older cells); a row that left it brings only the cells that
        // moved it, so the reader learns it left and forgets it.
        var cellSince = since
        var only: Set<Int>?
        if let scope, cl % 2 == 1 {
            let scopeColumns = scope.scopeColumns(of: t.name).compactMap { t.columnIndex[$0] }
            let moved = scopeColumns.contains { i in cells.indices.contains(i) && (cells[i].map { $0.seq > since } ?? false) }
            let visible = try scope.contains(table: t.name, pk: pk) { name in
                t.columnIndex[name].map { s.column(Self.firstValueColumn + Int32($0)) } ?? .null
            }
            switch (visible, moved) {
            case (true, true): cellSince = 0
            case (true, false): break
            // A transfer from 0 starts from nothing: there is nothing to leave.
            case (false, true) where since > 0:
                // Every cell that decides the scope, so the reader can tell the row is no longer its own.
                only = Set(scopeColumns)
                cellSince = 0
            case (false, _): return
            }
        }
        // A row that left the scope brings its existence (and the knowledge of its last death) too: when it left by
        // a new life (`INSERT OR REPLACE` naming another site), the reader must see that life begin, so that its own
        // edits of the old one are kept (outbox) rather than folded away with the row.
        if let rq = s.optionalInt64(5), rq > cellSince, let rh = s.optionalInt64(3), let site = siteUUID(s.optionalInt64(4)) {
            out.append(Change(table: t.name, pk: pk, column: nil, value: .null, version: Version(hlc: HLC(rawValue: rh), site: site), causalLength: cl))
            // What the writer of the last death had seen of the life it ended: knowledge, not values (see Merge).
            if let tcl = s.optionalInt64(7), case .blob(let bytes) = s.column(8) {
                let seen = CellCodec.decode(bytes, count: t.columns.count, rowSeq: 0, siteID: siteUUID)
                for (i, c) in t.columns.enumerated() {
                    guard let k = seen[i] else { continue }
                    out.append(Change(table: t.name, pk: pk, column: c.name, value: .null, version: k.version, causalLength: tcl, base: k.base))
                }
            }
        }
        guard cl % 2 == 1, !cells.isEmpty else { return }
        for (i, c) in t.columns.enumerated() {
            guard let cell = cells[i], cell.seq > cellSince, only?.contains(i) ?? true else { continue }
            let index = Self.firstValueColumn + Int32(i)
            // Text is checked as it is read (one pass, one string): what is not UTF-8 is refused, not sent.
            let value: Value
            if s.isText(index) {
                guard let text = s.validText(index) else {
                    refused.append(RefusedChange(table: t.name, pk: pk, column: c.name, version: cell.version,
                                                 reason: .invalidText("the text is not valid UTF-8 (written by a tool that bypassed the encoding); retype it")))
                    continue
                }
                value = .text(text)
            } else {
                value = s.column(index)
            }
            out.append(Change(table: t.name, pk: pk, column: c.name, value: value, version: cell.version, causalLength: cl, base: cell.base))
        }
    }
}

/// Which rows a reader of changes may see: partial replication. Asked inside the page's read transaction, so it may
/// read the replica (a parent row, the site tree) and see the same snapshot as the page.
public protocol RowScope {
    /// The columns of `table` whose change can move a row into or out of scope.
    func scopeColumns(of table: String) -> [String]
    /// Whether a live row, given its current values by column name, is in scope.
    func contains(table: String, pk: String, value: (String) -> Value) throws -> Bool
    /// The site buckets (see `ScopeIndex`) holding every row this scope contains, besides `ScopeIndex.everyone`;
    /// nil: read every row and ask `contains`.
    func buckets() throws -> Set<String>?
}

extension RowScope {
    public func buckets() throws -> Set<String>? { nil }
}
