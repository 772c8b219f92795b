/// A snapshot written row by row into a new, compact SQLite file (the county's `GET /v1/snapshot`), and the office's
/// step that turns that file back into a replica (`expand`).
///
/// The county's database is read in one read transaction (the cursor and every row from one snapshot of it) by a
/// connection of its own, with the new file attached; each kept table is copied with one `INSERT … SELECT`, rows the
/// scope leaves out filtered in SQL by the `keep` conditions, so neither side holds more than SQLite's page caches,
/// whatever the county's size. What the office rebuilds is not shipped:
/// - indexes (the office makes them on install, from the statements the file lists in `_cp_snapshot_ddl`);
/// - the county's scope index columns (`ScopeIndex`: the county's own, an office never reads them);
/// - the shadow rows' keys: each shadow row of a live row names that row by its rowid in the file (`rid`), and only
///   the shadow rows of dead rows carry their key. A random UUID costs more gzip bytes than anything else in a shadow.
/// Triggers come in `_cp_snapshot_ddl` too, made after the shadows are filled. The file itself is not a replica until
/// `expand` ran; its manifest's encoding says so (`SnapshotManifest.compactGzipEncoding`), so an office that cannot
/// expand it refuses it.
extension ReplicaSnapshot {
    /// The shadow columns of the county's scope index (`ScopeIndex`: `bk`, `ob`; `mq` of an older one), which no office reads.
    static let countyOnlyColumns = ["bk", "ob", "mq"]
    /// The table listing, in order, the statements `expand` runs (`kind`: shadow, index, trigger, view).
    static let ddlTable = "_cp_snapshot_ddl"
    /// The table holding the shadow rows of synced table `table` in the compact form.
    static func transitName(_ table: String) -> String { "_cp_snapshot_v_" + table }

    /// What `write` did.
    public struct Written: Sendable, Equatable {
        /// The county's sequence when the copy was taken: the office pulls on from here.
        public var cursor: Int64
        /// Live rows of synced tables the `keep` conditions left out.
        public var rowsLeftOut: Int64
        /// Tables of the source that are not in the file (the server's own).
        public var tablesDropped: [String]
    }

    /// Why a snapshot could not be written.
    public enum WriteError: Error, CustomStringConvertible {
        /// Logged writes (made by another process) are not folded yet: fold them and write again.
        case unfoldedWrites
        /// The new file failed `PRAGMA integrity_check`.
        case damaged(String)

        public var description: String {
            switch self {
            case .unfoldedWrites: "the database holds logged writes not folded yet; fold them and make the snapshot again"
            case .damaged(let problems): "the snapshot copy failed its integrity check (\(problems)); check the county database with `cpsyncd doctor`"
            }
        }
    }

    /// Writes a compact snapshot of the replica database at `source` into a new file at `path` (which must not exist).
    /// Copies the synced tables (rows for which `keep` holds: `keep(database)` runs inside the read transaction and
    /// returns per table an SQL condition over its row, aliased `t`; a table it does not name keeps every row), their
    /// versions (of the rows kept, and every dead row's), the sync metadata this file's new owner needs (site
    /// numbers, synced tables, merge rules, the clock and sequence, the `_cp_meta` keys of `keptMetaKeys`) and,
    /// empty, the metadata tables and `domainTables`; nothing else (see `strip`). `whileCopying` runs in the read
    /// transaction after the cursor was read (tests commit writes there). Throws `WriteError.unfoldedWrites` when
    /// the source's capture log is not empty.
    public static func write(from source: String, into path: String, keepingEmpty domainTables: Set<String> = [],
                             keep: (Database) throws -> [String: String] = { _ in [:] },
                             whileCopying: () throws -> Void = {}) throws -> Written {
        let db = try Database(path: source)
        // Bounded caches: the copy streams through them (the default per connection is larger, for merges).
        try db.execute("PRAGMA cache_size=-4096; PRAGMA foreign_keys=OFF")
        let schema = try db.query("SELECT type, name, tbl_name, sql FROM main.sqlite_schema WHERE sql IS NOT NULL ORDER BY rowid")
            .map { (type: $0[0].stringValue ?? "", name: $0[1].stringValue ?? "", table: $0[2].stringValue ?? "", sql: $0[3].stringValue ?? "") }
        let synced = Set(try db.query("SELECT name FROM main._cp_tables").compactMap { $0[0].stringValue })
            .filter { name in schema.contains { $0.type == "table" && $0.name == name } }
        let shadows = Set(synced.map(shadowName))
        var kept = Set(Replica.metadataTables).union(domainTables).union(synced)
        let tables = schema.filter { $0.type == "table" && !$0.name.hasPrefix("sqlite_") }
        let dropped = tables.map(\.name).filter { !kept.contains($0) && !shadows.contains($0) }.sorted()
        kept.formIntersection(tables.map(\.name))

        // The file's tables (shadows in their compact form) and the statements `expand` runs, made by a connection
        // of the new file; the rows are written through the source's connection, which has the file attached.
        let shadowColumns = try Dictionary(uniqueKeysWithValues: synced.map { t in
            (t, try db.columns(of: shadowName(t)).map(\.name).filter { !countyOnlyColumns.contains($0) })
        })
        do {
            let out = try Database(path: path)
            try out.execute("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF")
            try out.transaction {
                for t in tables where kept.contains(t.name) { try out.execute(t.sql) }
                try out.execute("CREATE TABLE \(ddlTable) (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, tbl TEXT NOT NULL, sql TEXT NOT NULL)")
                let ddl = try out.statement("INSERT INTO \(ddlTable)(kind, tbl, sql) VALUES (?, ?, ?)")
                for t in synced.sorted() {
                    guard let create = schema.first(where: { $0.type == "table" && $0.name == shadowName(t) }) else { continue }
                    try ddl.execute([.text("shadow"), .text(t), .text(try officeShadowSQL(create.sql, name: create.name))])
                    let others = shadowColumns[t, default: []].filter { $0 != "pk" }.map(quoted).joined(separator: ", ")
                    try out.execute("CREATE TABLE \(quoted(transitName(t))) (rid INTEGER, pk TEXT, \(others))")
                }
                for item in schema where item.type == "view" || (item.type != "table" && (kept.contains(item.table) || shadows.contains(item.table))) {
                    if item.type == "index", shadows.contains(item.table) {
                        let columns = try db.query("SELECT name FROM pragma_index_info(?)", [.text(item.name)]).compactMap { $0[0].stringValue }
                        if columns.contains(where: { countyOnlyColumns.contains($0) }) { continue }
                    }
                    try ddl.execute([.text(item.type), .text(item.table), .text(item.sql)])
                }
            }
        }

        try db.run("ATTACH DATABASE ? AS snap", [.text(path)])
        defer { try? db.execute("DETACH DATABASE snap") }
        try db.execute("PRAGMA snap.journal_mode=OFF; PRAGMA snap.synchronous=OFF; PRAGMA snap.cache_size=-4096")
        var written = Written(cursor: 0, rowsLeftOut: 0, tablesDropped: dropped)
        try db.execute("BEGIN DEFERRED")
        do {
            // The cursor and every row below come from this one read transaction: one snapshot of the county.
            written.cursor = try db.scalar("SELECT seq FROM main._cp_state")?.int64Value ?? 0
            guard try db.scalar("SELECT EXISTS (SELECT 1 FROM main._cp_log)")?.int64Value == 0 else { throw WriteError.unfoldedWrites }
            try whileCopying()
            let conditions = try keep(db)
            for t in ["_cp_state", "_cp_sites", "_cp_tables", "_cp_rules"] where kept.contains(t) {
                try db.execute("INSERT INTO snap.\(quoted(t)) SELECT * FROM main.\(quoted(t))")
            }
            try db.execute("UPDATE snap._cp_state SET merging = 0, acting = NULL")
            try db.execute("INSERT INTO snap._cp_meta SELECT * FROM main._cp_meta WHERE key IN (\(keptMetaKeys.sorted().map { "'\($0)'" }.joined(separator: ", ")))")
            for t in synced.sorted() {
                let q = quoted(t)
                let pk = try db.columns(of: t).first { $0.primaryKeyIndex > 0 }?.name ?? "id"
                let condition = conditions[t].map { "WHERE \($0)" } ?? ""
                try db.execute("INSERT INTO snap.\(q) SELECT * FROM main.\(q) AS t \(condition)")
                let all = try db.scalar("SELECT count(*) FROM main.\(q)")?.int64Value ?? 0
                written.rowsLeftOut += all - (try db.scalar("SELECT count(*) FROM snap.\(q)")?.int64Value ?? 0)
                let columns = shadowColumns[t, default: []].filter { $0 != "pk" }
                let into = "INSERT INTO snap.\(quoted(transitName(t)))(rid, pk, \(columns.map(quoted).joined(separator: ", ")))"
                let values = columns.map { "s." + quoted($0) }.joined(separator: ", ")
                // Live rows kept, in the file's rowid order; then the dead (and any version without its row).
                try db.execute("""
                    \(into) SELECT t.rowid, NULL, \(values) FROM snap.\(q) AS t CROSS JOIN main.\(quoted(shadowName(t))) AS s ON s.pk = t.\(quoted(pk));
                    \(into) SELECT NULL, s.pk, \(values) FROM main.\(quoted(shadowName(t))) AS s
                      WHERE NOT EXISTS (SELECT 1 FROM main.\(q) AS t WHERE t.\(quoted(pk)) = s.pk);
                    """)
            }
            if try db.scalar("SELECT count(*) FROM snap.sqlite_schema WHERE name = 'sqlite_sequence'")?.int64Value == 1 {
                try db.execute("DELETE FROM snap.sqlite_sequence")
            }
            try db.execute("COMMIT")
        } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
        if try db.scalar("PRAGMA snap.freelist_count")?.int64Value ?? 0 > 0 { try db.execute("VACUUM snap") }
        let problems = try db.query("PRAGMA snap.integrity_check(100)").compactMap { $0.first?.stringValue }
        guard problems == ["ok"] else { throw WriteError.damaged(problems.joined(separator: "; ")) }
        return written
    }

    /// The shadow's CREATE statement as an office's replica has it: without the county's scope index columns.
    static func officeShadowSQL(_ sql: String, name: String) throws -> String {
        let scratch = try Database(path: ":memory:")
        try scratch.execute(sql)
        let present = try scratch.columns(of: name).map(\.name)
        for column in countyOnlyColumns where present.contains(column) {
            try scratch.execute("ALTER TABLE \(quoted(name)) DROP COLUMN \(quoted(column))")
        }
        return try scratch.scalar("SELECT sql FROM sqlite_schema WHERE name = ?", [.text(name)])?.stringValue ?? sql
    }

    /// Whether the SQLite file at `path` is a snapshot in the compact form (`expand` makes it a replica).
    public static func isCompact(at path: String) throws -> Bool {
        try Database(path: path, readOnly: true).tableExists(ddlTable)
    }

    /// Turns a compact snapshot file (see `write`) into a replica in place, in one transaction: creates the shadows
    /// and fills them (a live row's versions are found by its rowid), then the indexes and triggers, and drops the
    /// compact form's own tables. A shadow row naming a row the file does not hold fails (NOT NULL key): the file is
    /// damaged. A file that is not compact is left as it is.
    public static func expand(at path: String) throws {
        let db = try Database(path: path)
        guard try db.tableExists(ddlTable) else { return }
        try db.execute("PRAGMA foreign_keys=OFF")
        try db.transaction {
            let ddl = try db.query("SELECT kind, tbl, sql FROM \(ddlTable) ORDER BY seq")
                .map { (kind: $0[0].stringValue ?? "", table: $0[1].stringValue ?? "", sql: $0[2].stringValue ?? "") }
            for item in ddl where item.kind == "shadow" {
                try db.execute(item.sql)
                let shadow = shadowName(item.table), transit = transitName(item.table)
                let pk = try db.columns(of: item.table).first { $0.primaryKeyIndex > 0 }?.name ?? "id"
                let columns = try db.columns(of: shadow).map(\.name).filter { $0 != "pk" }
                try db.execute("""
                    INSERT INTO \(quoted(shadow))(pk, \(columns.map(quoted).joined(separator: ", ")))
                    SELECT CASE WHEN s.rid IS NULL THEN s.pk ELSE t.\(quoted(pk)) END, \(columns.map { "s." + quoted($0) }.joined(separator: ", "))
                    FROM \(quoted(transit)) AS s LEFT JOIN \(quoted(item.table)) AS t ON t.rowid = s.rid ORDER BY 1
                    """)
                try db.execute("DROP TABLE \(quoted(transit))")
            }
            for item in ddl where item.kind != "shadow" { try db.execute(item.sql) }
            try db.execute("DROP TABLE \(ddlTable)")
        }
        try db.execute("PRAGMA journal_mode=DELETE")
    }
}
