/// An index of a replica's rows by the part of the scope that holds them (PowerSync's buckets), so that a scoped
/// read of changes (`changes(scope:)`) reads about the rows its scope holds instead of every row after its cursor.
///
/// Each shadow row of an indexed table carries two derived columns:
/// - `bk`, its *bucket*: the site whose subtree holds the row (TEXT), `everyone` (every scope holds it: dead rows,
///   shared records, rows without a site) or `nobody` (no scope holds it: a child without a parent). A scope reads
///   the buckets of its subtree and `everyone`; `RowScope.contains` still decides each row read, so a bucket only
///   has to hold every row that scope contains (a wider bucket costs reads, never correctness).
/// - `ob`, while the row waits to be bucketed again: the bucket its readers held it in before it was written.
///
/// A row that leaves a bucket is told to that bucket's readers: `_cp_moves` keeps (table, old bucket, sequence, key)
/// for every row whose bucket changed, the sequence being the replica's when it moved. A read whose transfer began
/// before a move reads the moved rows of its buckets too, and `rowChanges` sends each one it no longer contains as
/// a notice (its scope cells alone), so the reader forgets it. A row made in one bucket is never read by the others:
/// they never held it. (A reader that wrote the row itself and moved it out of its own scope forgets it by its own
/// purge after the pull, `SiteScope.purge`.)
///
/// The merge writes an existing shadow row whole by upsert (`rewriteAssignments`): `bk` becomes NULL, "not indexed
/// yet", and the reader reads those rows too; `ob` keeps the bucket held. `refresh` (run by every `RowMerger.finish`
/// of a replica with an index) buckets them, notes the moves, and buckets again the children of every parent written.
/// A new key gets its bucket as its shadow row is inserted (`insertBucketing`), the value `refresh` would give it,
/// without the row being written twice. Nothing a reader sends depends on whether a refresh ran, except notices of
/// rows it could not have held; an index added to an existing replica starts with every row NULL.
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

    /// Adds the index columns to the shadows of the indexed tables that lack them (rows then wait for `refresh`), and
    /// the moves table. Idempotent; run after every schema install or migration, which may re-create a shadow. What
    /// a reader is told of rows written before stays as it was: rows of a table that had no index are noted moved
    /// from `everyone` at their last write, and rows a county indexed by an earlier cpsyncd marked moved (`mq`, the
    /// sequence a row last moved or was made at) at that mark — read once more by every transfer begun before.
    public func install(on replica: Replica) throws {
        let db = replica.database
        try db.transaction {
            try db.execute(Self.movesDDL)
            for table in tables {
                guard let t = replica.tables[table.name] else { continue }
                let shadow = shadowName(t.name)
                let columns = Set(try db.columns(of: shadow).map(\.name))
                // No declared type: a bucket is TEXT or INTEGER as written.
                if !columns.contains("bk") {
                    try db.execute("ALTER TABLE \(t.quotedShadow) ADD COLUMN bk")
                    // Rows written before there was an index may have left a reader's scope in a transfer still under
                    // way: read by every reader whose transfer began before their last write, as a plain read would.
                    try db.run("INSERT OR IGNORE INTO _cp_moves(tbl, bk, seq, pk) SELECT ?, \(Self.everyone), seq, pk FROM \(t.quotedShadow) WHERE cl % 2 = 1",
                               [.text(t.name)])
                }
                if !columns.contains("ob") { try db.execute("ALTER TABLE \(t.quotedShadow) ADD COLUMN ob") }
                if columns.contains("mq") {
                    try db.run("INSERT OR IGNORE INTO _cp_moves(tbl, bk, seq, pk) SELECT ?, \(Self.everyone), mq, pk FROM \(t.quotedShadow) WHERE mq IS NOT NULL",
                               [.text(t.name)])
                    try db.execute("DROP INDEX IF EXISTS \(quoted(shadow + "_mq")); ALTER TABLE \(t.quotedShadow) DROP COLUMN mq")
                }
                try db.execute("CREATE INDEX IF NOT EXISTS \(quoted(shadow + "_bk")) ON \(t.quotedShadow)(bk, seq)")
            }
        }
    }

    /// Rows that left a bucket: (table, the bucket left, the replica's sequence then, key).
    static let movesDDL = """
        CREATE TABLE IF NOT EXISTS _cp_moves (tbl TEXT NOT NULL, bk NOT NULL, seq INTEGER NOT NULL, pk TEXT NOT NULL,
          PRIMARY KEY (tbl, bk, seq, pk)) WITHOUT ROWID
        """

    /// The assignments an upsert of an existing shadow row makes to the index columns the shadow has (`columns`): the
    /// row waits for `refresh`, remembering the bucket it was read in. Any writer of the shadow keeps the index right
    /// this way, one that keeps no index itself (a `cpsyncd` command beside the daemon) too.
    public static func rewriteAssignments(shadowColumns columns: Set<String>) -> [String] {
        (columns.contains("ob") ? ["ob = coalesce(bk, ob)"] : []) + (columns.contains("bk") ? ["bk = NULL"] : [])
            + (columns.contains("mq") ? ["mq = NULL"] : [])
    }

    /// Whether every indexed table of `replica` has its index columns: asked by every scoped read, so by one look at
    /// the schema for the `(bk, seq)` indexes `install` creates in the transaction that adds the columns (a shadow
    /// made again by a migration loses both), rather than a `pragma_table_info` per table; asked again only when the
    /// schema changed.
    func isInstalled(on replica: Replica) throws -> Bool {
        try replica.schemaCached("scope-index-installed") {
            let names = tables.filter { replica.tables[$0.name] != nil }.map { Value.text(shadowName($0.name) + "_bk") }
            guard !names.isEmpty else { return true }
            let list = Array(repeating: "?", count: names.count).joined(separator: ", ")
            return try replica.database.scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN (\(list))",
                                               names)?.int64Value == Int64(names.count)
        }
    }

    /// Buckets the rows written since the last refresh (NULL `bk`), parents first; notes every row that left a
    /// bucket (`_cp_moves`, at `sequence`, the replica's sequence after the writes: default, the one it has); and has
    /// the children of every parent row among them, and of the parents `insertedParents` names (new keys bucketed
    /// as they were inserted, by table), bucketed again after it. Inside the caller's transaction when there is one.
    /// Returns how many rows were bucketed.
    @discardableResult
    public func refresh(_ replica: Replica, sequence: Int64? = nil, insertedParents: [String: [String]] = [:]) throws -> Int {
        let db = replica.database
        var count = 0
        try db.transaction {
            let now = try sequence ?? db.scalar("SELECT seq FROM _cp_state")?.int64Value ?? 0
            let noteMove = try db.statement("INSERT OR IGNORE INTO _cp_moves(tbl, bk, seq, pk) VALUES (?, ?, ?, ?)")
            for table in tables {
                guard let t = replica.tables[table.name] else { continue }
                let read = try db.statement(t.sql("index-refresh") { """
                    SELECT s.pk, s.ob, CASE WHEN s.cl % 2 = 0 OR t.\(t.quotedPK) IS NULL THEN \(Self.everyoneSQL) ELSE (\(table.bucketSQL)) END
                    FROM \(t.quotedShadow) AS s LEFT JOIN \(t.quotedName) AS t ON t.\(t.quotedPK) = s.pk WHERE s.bk IS NULL
                    """ })
                var rows: [(pk: Value, held: Value, bucket: Value)] = []
                try read.forEachRow { s in
                    let bucket = s.column(2)
                    rows.append((s.column(0), s.column(1), bucket.isNull ? .integer(Self.everyone) : bucket))
                }
                if !rows.isEmpty {
                    let write = try db.statement(t.sql("index-write") { "UPDATE \(t.quotedShadow) SET bk = ?, ob = NULL WHERE pk = ?" })
                    for row in rows {
                        try write.execute([row.bucket, row.pk])
                        if Self.left(row.held, for: row.bucket) { try noteMove.execute([.text(t.name), row.held, .integer(now), row.pk]) }
                    }
                    count += rows.count
                }
                // Children already bucketed wait to be bucketed again after their parent (their table comes later).
                let children = tables.filter { $0.parent?.table == table.name }
                guard !children.isEmpty else { continue }
                let parents = rows.compactMap { $0.pk.stringValue } + (insertedParents[table.name] ?? [])
                for child in children where !parents.isEmpty {
                    guard let ct = replica.tables[child.name] else { continue }
                    // Keys a batch at a time (the unused places NULL, which matches no key).
                    let batch = 64
                    let unbucket = try db.statement(ct.sql("index-unbucket") { """
                        UPDATE \(ct.quotedShadow) SET ob = bk, bk = NULL WHERE bk IS NOT NULL AND pk IN
                          (SELECT \(ct.quotedPK) FROM \(ct.quotedName) WHERE \(quoted(child.parent!.key)) IN (\(Array(repeating: "?", count: batch).joined(separator: ", "))))
                        """ })
                    for start in stride(from: 0, to: parents.count, by: batch) {
                        let keys = parents[start..<min(parents.count, start + batch)].map { Value.text($0) }
                        try unbucket.execute(keys + Array(repeating: .null, count: batch - keys.count))
                    }
                }
            }
        }
        return count
    }

    /// Whether a row held in bucket `held` (NULL: none yet) and now in `bucket` must be told to `held`'s readers:
    /// nobody read `nobody`, and every reader reads `everyone`.
    static func left(_ held: Value, for bucket: Value) -> Bool {
        !held.isNull && held != .integer(nobody) && held != bucket && bucket != .integer(everyone)
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
    /// them a second time (a parent's new keys are named to `refresh`, which buckets their children again), on a
    /// replica with the index installed; nil otherwise. The table's row must be in the table when its shadow row is
    /// inserted.
    public func insertBucketing(for name: String, in replica: Replica) throws -> InsertBucketing? {
        guard let table = tables.first(where: { $0.name == name }), let t = replica.tables[name], try isInstalled(on: replica) else { return nil }
        let (head, tail) = ("CASE WHEN ?", " % 2 = 0 THEN \(Self.everyoneSQL) ELSE coalesce((SELECT \(table.bucketSQL) FROM \(t.quotedName) AS t WHERE t.\(t.quotedPK) = ?")
        let end = "), \(Self.everyoneSQL)) END"
        return InsertBucketing(bucketSQL: { key, cl in head + String(cl) + tail + String(key) + end },
                               hasChildren: tables.contains { $0.parent?.table == name })
    }

    /// The bucket of a new shadow row as it is inserted (what `refresh` would give it).
    public struct InsertBucketing: Sendable {
        /// The bucket as an SQL expression over the numbered parameters of the row's key and causal length.
        public let bucketSQL: @Sendable (_ key: Int, _ causalLength: Int) -> String
        /// Other tables take their bucket from this one's rows: the merge names its new keys to `refresh`.
        public let hasChildren: Bool
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

        /// The rows of `t` a scoped page may hold after `?1`: its buckets, rows not bucketed yet, and rows that left
        /// one of its buckets after the transfer began (`?2`).
        func candidatesSQL(_ t: SyncedTable) -> String? {
            guard tables.contains(t.name) else { return nil }
            let list = (0..<buckets.count).map { "?\($0 + 3)" }.joined(separator: ", ")
            return """
                SELECT pk FROM \(t.quotedShadow) WHERE bk IN (\(list)) AND seq > ?1
                UNION SELECT pk FROM \(t.quotedShadow) WHERE bk IS NULL AND seq > ?1
                UNION SELECT m.pk FROM _cp_moves AS m JOIN \(t.quotedShadow) AS s ON s.pk = m.pk
                  WHERE m.tbl = \(ChangeCapture.literal(t.name)) AND m.bk IN (\(list)) AND m.seq > ?2 AND s.seq > ?1
                """
        }

        /// The values bound after `after` and `since` (`since` 0 reads no moves: a transfer from the start has
        /// nothing to leave).
        func bindings(after: Int64, since: Int64) -> [Value] {
            [.integer(after), .integer(since > 0 ? since : Int64.max)] + buckets
        }
    }
}
