/// An index of a replica's rows by the part of the scope that holds them (PowerSync's buckets), so that a scoped
/// read of changes (`changes(scope:)`) reads about the rows its scope holds instead of every row after its cursor.
///
/// Each shadow row of an indexed table carries two derived columns:
/// - `bk`, its *bucket*: the site whose subtree holds the row (TEXT), `everyone` (every scope holds it: dead rows,
///   shared records, rows without a site) or `nobody` (no scope holds it: a child without a parent). A scope reads
///   the buckets of its subtree and `everyone`; `RowScope.contains` still decides each row read, so a bucket only
///   has to hold every row that scope contains (a wider bucket costs reads, never correctness).
/// - `mq`, the sequence at which a cell that decides the scope (`RowScope.scopeColumns`) was last written: a row
///   moved (or made) after a transfer began goes to every reader in part (see `rowChanges`), so it is read whatever
///   its bucket.
///
/// The merge writes shadow rows whole (`INSERT OR REPLACE`), which leaves both columns NULL: a NULL bucket means
/// "not indexed yet", and the reader reads those rows too. `refresh` (run by every `RowMerger.finish` of a replica
/// with an index) fills them, and re-buckets the children of every parent written. A new key of a table without
/// children gets both columns as its shadow row is inserted (`insertBucketing`), the values `refresh` would give
/// it, without the row being written twice. Nothing a reader sends depends
/// on whether a refresh ran; only what it reads. An index added to an existing replica starts with every row NULL.
public struct ScopeIndex: Sendable {
    /// How one table's rows are bucketed.
    public struct Table: Sendable {
        public let name: String
        /// An SQL expression over the live row `t` (the table) giving its bucket; it may read other tables (a parent).
        /// Yields `everyoneSQL` where unsure (NULL counts as `everyone`), `nobodySQL` only where no scope holds the row.
        public let bucketSQL: String
        /// The columns whose write can move a row into or out of a scope.
        public let scopeColumns: [String]
        /// The table whose row decides this one's bucket, and the column naming it: when a parent row is written,
        /// its children are bucketed again.
        public let parent: (table: String, key: String)?

        public init(name: String, bucketSQL: String, scopeColumns: [String], parent: (table: String, key: String)? = nil) {
            self.name = name
            self.bucketSQL = bucketSQL
            self.scopeColumns = scopeColumns
            self.parent = parent
        }
    }

    /// The indexed tables, parents before their children.
    public let tables: [Table]

    /// The bucket every scope reads; an integer, so that no site id (TEXT) can ever be mistaken for it.
    public static let everyone: Int64 = 1
    /// The bucket no scope reads.
    public static let nobody: Int64 = 0
    public static let everyoneSQL = "\(everyone)"
    public static let nobodySQL = "\(nobody)"

    public init(tables: [Table]) {
        self.tables = tables
    }

    /// Adds the index columns to the shadows of the indexed tables that lack them (rows then wait for `refresh`).
    /// Idempotent; run after every schema install or migration, which may re-create a shadow.
    public func install(on replica: Replica) throws {
        let db = replica.database
        try db.transaction {
            for table in tables {
                guard let t = replica.tables[table.name] else { continue }
                let shadow = shadowName(t.name)
                if try db.scalar("SELECT count(*) FROM pragma_table_info(?) WHERE name = 'bk'", [.text(shadow)])?.int64Value == 0 {
                    // No declared type: a bucket is TEXT or INTEGER as written.
                    try db.execute("ALTER TABLE \(t.quotedShadow) ADD COLUMN bk; ALTER TABLE \(t.quotedShadow) ADD COLUMN mq INTEGER")
                }
                try db.execute("""
                    CREATE INDEX IF NOT EXISTS \(quoted(shadow + "_bk")) ON \(t.quotedShadow)(bk, seq);
                    CREATE INDEX IF NOT EXISTS \(quoted(shadow + "_mq")) ON \(t.quotedShadow)(mq);
                    """)
            }
        }
    }

    /// Whether every indexed table of `replica` has its index columns: asked by every scoped read, so by one look at
    /// the schema for the `(bk, seq)` indexes `install` creates in the transaction that adds the columns (a shadow
    /// made again by a migration loses both), rather than a `pragma_table_info` per table.
    func isInstalled(on replica: Replica) throws -> Bool {
        let names = tables.filter { replica.tables[$0.name] != nil }.map { Value.text(shadowName($0.name) + "_bk") }
        guard !names.isEmpty else { return true }
        let list = Array(repeating: "?", count: names.count).joined(separator: ", ")
        return try replica.database.scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN (\(list))",
                                           names)?.int64Value == Int64(names.count)
    }

    /// Buckets the rows written since the last refresh (NULL `bk`), parents first, and the children of every parent
    /// row among them. Inside the caller's transaction when there is one. Returns how many rows were bucketed.
    @discardableResult
    public func refresh(_ replica: Replica) throws -> Int {
        let db = replica.database
        var count = 0
        try db.transaction {
            for table in tables {
                guard let t = replica.tables[table.name] else { continue }
                let scopeColumns = table.scopeColumns.compactMap { t.columnIndex[$0] }
                let children = tables.filter { $0.parent?.table == table.name }.compactMap { c in replica.tables[c.name].map { (c, $0) } }
                let read = try db.statement("""
                    SELECT s.pk, s.cl, s.seq, s.cells, CASE WHEN s.cl % 2 = 0 OR t.\(t.quotedPK) IS NULL THEN \(Self.everyoneSQL) ELSE (\(table.bucketSQL)) END
                    FROM \(t.quotedShadow) AS s LEFT JOIN \(t.quotedName) AS t ON t.\(t.quotedPK) = s.pk WHERE s.bk IS NULL
                    """)
                var rows: [(pk: Value, bucket: Value, moved: Value)] = []
                var cells = [CellMeta?](repeating: nil, count: t.columns.count)
                try read.forEachRow { s in
                    var moved = Value.null
                    if s.int64(1) % 2 == 1, case .blob(let bytes) = s.column(3) {
                        for i in cells.indices { cells[i] = nil }
                        CellCodec.decode(bytes, into: &cells, rowSeq: s.int64(2), siteID: replica.siteUUID)
                        if let m = scopeColumns.compactMap({ cells[$0]?.seq }).max() { moved = .integer(m) }
                    }
                    let bucket = s.column(4)
                    rows.append((s.column(0), bucket.isNull ? .integer(Self.everyone) : bucket, moved))
                }
                guard !rows.isEmpty else { continue }
                let write = try db.statement("UPDATE \(t.quotedShadow) SET bk = ?, mq = ? WHERE pk = ?")
                // Children already bucketed follow their parent now; those not yet bucketed are, after it.
                let rebucket = try children.map { c, ct in
                    try db.statement("""
                        UPDATE \(ct.quotedShadow) AS s SET bk = CASE WHEN s.cl % 2 = 0 THEN \(Self.everyoneSQL) ELSE
                          coalesce((SELECT \(c.bucketSQL) FROM \(ct.quotedName) AS t WHERE t.\(ct.quotedPK) = s.pk), \(Self.everyoneSQL)) END
                        WHERE s.bk IS NOT NULL AND s.pk IN (SELECT \(ct.quotedPK) FROM \(ct.quotedName) WHERE \(quoted(c.parent!.key)) = ?)
                        """)
                }
                for row in rows {
                    try write.execute([row.bucket, row.moved, row.pk])
                    for r in rebucket { try r.execute([row.pk]) }
                }
                count += rows.count
            }
        }
        return count
    }

    /// Files again the children of every parent row whose scope cells `changes` write (a member transferred, a
    /// proposal filed): a child's own cells do not change when its parent moves, so without this a reader the parent
    /// now reaches would get the parent whole and never its children (attachments, co-signers, handlers), and a
    /// reader it left would keep them. Filed again, a child is read by the next pull of every scope: whole where it
    /// is now contained, its parent key alone where it is not (the reader forgets it) — as a moved row is.
    public func refileChildren(movedBy changes: [Change], in replica: Replica) throws {
        var moved: [String: Set<String>] = [:]
        for table in tables where tables.contains(where: { $0.parent?.table == table.name }) {
            let columns = Set(table.scopeColumns)
            for c in changes where c.table == table.name {
                if let column = c.column, columns.contains(column) { moved[table.name, default: []].insert(c.pk) }
            }
        }
        guard !moved.isEmpty else { return }
        for child in tables {
            guard let parent = child.parent, let pks = moved[parent.table], let t = replica.tables[child.name] else { continue }
            let find = try replica.database.statement("SELECT \(t.quotedPK) FROM \(t.quotedName) WHERE \(quoted(parent.key)) = ?")
            var found: [String] = []
            for pk in pks.sorted() {
                try find.forEachRow([.text(pk)]) { s in if let k = s.string(0) { found.append(k) } }
            }
            for pk in found { try replica.refile(table: child.name, pk: pk) }
        }
    }

    /// How a merge buckets the new keys of `table` as it inserts their shadow rows, so that `refresh` need not write
    /// them a second time. Only for an indexed table no other one takes its bucket from (a parent's written rows
    /// re-bucket its children in `refresh`), on a replica with the index installed; nil otherwise. The table's row
    /// must be in the table when its shadow row is inserted.
    public func insertBucketing(for name: String, in replica: Replica) throws -> InsertBucketing? {
        guard let table = tables.first(where: { $0.name == name }), !tables.contains(where: { $0.parent?.table == name }),
              let t = replica.tables[name], try isInstalled(on: replica) else { return nil }
        let (head, tail) = ("CASE WHEN ?", " % 2 = 0 THEN \(Self.everyoneSQL) ELSE coalesce((SELECT \(table.bucketSQL) FROM \(t.quotedName) AS t WHERE t.\(t.quotedPK) = ?")
        let end = "), \(Self.everyoneSQL)) END"
        return InsertBucketing(bucketSQL: { key, cl in head + String(cl) + tail + String(key) + end },
                               scopeColumns: table.scopeColumns.compactMap { t.columnIndex[$0] })
    }

    /// The bucket of a new shadow row as it is inserted (what `refresh` would give it), and its `mq`.
    public struct InsertBucketing: Sendable {
        /// The bucket as an SQL expression over the numbered parameters of the row's key and causal length.
        public let bucketSQL: @Sendable (_ key: Int, _ causalLength: Int) -> String
        /// The columns whose latest sequence is the row's `mq` (`scopeColumns`, by index).
        public let scopeColumns: [Int]
    }

    /// How a read of changes for `scope` uses the index in the current read transaction; nil when it cannot (no
    /// buckets from the scope, a site id SQLite and Swift might compare differently, the index missing, or logged
    /// writes not folded yet, which the table rows already show but the buckets do not).
    func reading(for scope: any RowScope, in replica: Replica) throws -> Reading? {
        guard let sites = try scope.buckets(), sites.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } }),
              try isInstalled(on: replica),
              try replica.database.scalar("SELECT EXISTS (SELECT 1 FROM _cp_log)")?.int64Value == 0 else { return nil }
        var indexed: Set<String> = []
        for table in tables where replica.tables[table.name] != nil {
            // A child whose parent has rows not bucketed yet may still carry the bucket of its parent's old site.
            if let parent = table.parent, let p = replica.tables[parent.table],
               try replica.database.scalar("SELECT EXISTS (SELECT 1 FROM \(p.quotedShadow) WHERE bk IS NULL)")?.int64Value == 1 { continue }
            indexed.insert(table.name)
        }
        return Reading(tables: indexed, buckets: [.integer(Self.everyone)] + sites.sorted().map { .text($0) })
    }

    /// The index's part in one read of changes: which tables are read through it and the buckets read.
    struct Reading {
        let tables: Set<String>
        let buckets: [Value]

        /// The rows of `t` a scoped page may hold after `?1`: its buckets, rows not bucketed yet, and rows moved after
        /// the transfer began (`?2`); in sequence order.
        func candidatesSQL(_ t: SyncedTable) -> String? {
            guard tables.contains(t.name) else { return nil }
            let list = (0..<buckets.count).map { "?\($0 + 3)" }.joined(separator: ", ")
            return """
                SELECT pk FROM \(t.quotedShadow) WHERE bk IN (\(list)) AND seq > ?1
                UNION SELECT pk FROM \(t.quotedShadow) WHERE bk IS NULL AND seq > ?1
                UNION SELECT pk FROM \(t.quotedShadow) WHERE mq > ?2 AND seq > ?1
                """
        }

        /// The values bound after `after` and `since` (`since` 0 reads no moved rows: a transfer from the start has
        /// nothing to leave).
        func bindings(after: Int64, since: Int64) -> [Value] {
            [.integer(after), .integer(since > 0 ? since : Int64.max)] + buckets
        }
    }
}
