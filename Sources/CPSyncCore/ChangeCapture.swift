/// Capture: the shadow table and the AFTER INSERT/UPDATE/DELETE triggers. A trigger only appends one row to
/// `_cp_log` (which row, what kind of write, which columns, the wall clock); the log is folded into per-cell versions
/// in the shadow table before anything reads them (`Replica.foldLog`). Appending is what keeps a clerk's writes
/// cheap; the fold's work happens at sync time. Plain SQL, so that writes from any SQLite tool are captured too.
/// Writes made by the merge are not captured: the triggers are skipped while `_cp_state.merging` is set (inside the
/// merge's own transaction, so no other connection ever sees it set).
enum ChangeCapture {
    static let notMerging = "(SELECT merging FROM _cp_state) = 0"

    /// Refuses table shapes the merge cannot keep convergent, with the reason.
    static func check(_ table: SyncedTable, database: Database) throws {
        if try !database.query("SELECT 1 FROM pragma_foreign_key_list(?)", [.text(table.name)]).isEmpty {
            throw ReplicaError.notSyncable(
                table: table.name,
                reason: "it declares FOREIGN KEY constraints; offices apply changes in any order, so references are checked by the application instead")
        }
        let uniques = try database.query(
            "SELECT name FROM pragma_index_list(?) WHERE \"unique\" = 1 AND origin = 'u'", [.text(table.name)])
        if !uniques.isEmpty {
            throw ReplicaError.notSyncable(
                table: table.name,
                reason: "it has UNIQUE constraints; two offices could each insert the same value offline and the merge could never apply both")
        }
        if table.columns.count > 62 {
            throw ReplicaError.notSyncable(table: table.name, reason: "it has \(table.columns.count) columns besides the key; at most 62 can be synced")
        }
        for c in table.columns where c.notNull && c.defaultSQL == nil {
            throw ReplicaError.notSyncable(
                table: table.name,
                reason: "column '\(c.name)' is NOT NULL without a DEFAULT; a row can arrive one cell at a time, so give it a default")
        }
    }

    /// Creates or extends the shadow table, backfills versions for rows written before the table was synced,
    /// and (re)creates the triggers. Idempotent; run again after a migration adds columns.
    static func install(_ table: SyncedTable, database: Database) throws {
        let shadow = table.quotedShadow
        try database.execute("""
            CREATE TABLE IF NOT EXISTS \(shadow) (
              pk TEXT PRIMARY KEY NOT NULL,
              cl INTEGER NOT NULL,
              seq INTEGER NOT NULL,
              rh INTEGER, rs INTEGER, rq INTEGER,
              cells BLOB,
              tcl INTEGER, tomb BLOB
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS \(quoted(shadowName(table.name) + "_seq")) ON \(shadow)(seq);
            """)
        try upgradeShadow(table, database: database)
        try backfill(table, database: database)
        for kind in ["ins", "upd", "del", "pk"] {
            try database.execute("DROP TRIGGER IF EXISTS \(quoted("_cp_\(kind)_" + table.name))")
        }
        try database.execute(insertTrigger(table))
        if !table.columns.isEmpty { try database.execute(updateTrigger(table)) }
        try database.execute(deleteTrigger(table))
        try database.execute("""
            CREATE TRIGGER \(quoted("_cp_pk_" + table.name)) BEFORE UPDATE OF \(table.quotedPK) ON \(table.quotedName)
            WHEN NEW.\(table.quotedPK) IS NOT OLD.\(table.quotedPK)
            BEGIN SELECT RAISE(ABORT, 'cpsync: the primary key of a synced row cannot change; insert a new row instead'); END
            """)
    }

    /// Bumped when the trigger SQL changes: replicas made before re-install their triggers when opened.
    static let version: Int64 = 2

    /// Whether the shadow of `table` lacks the columns added after version 1 of the shadow layout.
    static func shadowNeedsUpgrade(_ table: SyncedTable, database: Database) throws -> Bool {
        try database.scalar("SELECT count(*) FROM pragma_table_info(?) WHERE name = 'tomb'", [.text(shadowName(table.name))])?.int64Value == 0
    }

    /// Adds the tombstone columns (`tcl`: the causal length of the row's last death; `tomb`: the cell versions its
    /// writer had seen) to a shadow made before they existed. Older rows simply have no tombstone knowledge.
    static func upgradeShadow(_ table: SyncedTable, database: Database) throws {
        guard try shadowNeedsUpgrade(table, database: database) else { return }
        try database.execute("ALTER TABLE \(table.quotedShadow) ADD COLUMN tcl INTEGER; ALTER TABLE \(table.quotedShadow) ADD COLUMN tomb BLOB")
    }

    /// Rows that exist in the table but not in the shadow (written before syncing began) are logged as inserts;
    /// the next fold gives them their versions.
    private static func backfill(_ table: SyncedTable, database: Database) throws {
        try database.execute("""
            INSERT INTO _cp_log(tbl, pk, kind, hlc)
            SELECT \(literal(table.name)), t.\(table.quotedPK), \(LogKind.insert.rawValue), \(hlcWallClockSQL)
            FROM \(table.quotedName) AS t
            WHERE NOT EXISTS (SELECT 1 FROM \(table.quotedShadow) AS s WHERE s.pk = t.\(table.quotedPK))
            """)
    }

    /// The table name as an SQL string literal (names reach here only after the schema check).
    static func literal(_ name: String) -> String { "'" + name.replacingOccurrences(of: "'", with: "''") + "'" }

    static func insertTrigger(_ t: SyncedTable) -> String {
        let pk = "NEW.\(t.quotedPK)"
        return """
            CREATE TRIGGER \(quoted("_cp_ins_" + t.name)) AFTER INSERT ON \(t.quotedName) WHEN \(notMerging)
            BEGIN
              INSERT INTO _cp_log(tbl, pk, kind, hlc)
                SELECT \(literal(t.name)), \(pk), \(LogKind.insert.rawValue), \(hlcWallClockSQL)
                WHERE CASE WHEN typeof(\(pk)) != 'text' OR length(\(pk)) = 0
                      THEN RAISE(ABORT, 'cpsync: a synced row needs a non-empty TEXT primary key (a UUID)') ELSE 1 END;
            END
            """
    }

    /// One bit per changed column, in table order (bit i = column i), so the fold knows which cells were written.
    /// An update that changed nothing logs mask 0, which the fold skips.
    static func updateTrigger(_ t: SyncedTable) -> String {
        // `IS NOT` compares numbers by value (1 IS 1.0): a write that changes only the storage class would go
        // unseen and replicas would diverge, so the class is compared too. (SQL cannot see the sign of a zero: a
        // REAL 0.0 overwritten by -0.0 alone is not captured.)
        let changed = t.columns.map {
            "NEW.\(quoted($0.name)) IS NOT OLD.\(quoted($0.name)) OR typeof(NEW.\(quoted($0.name))) != typeof(OLD.\(quoted($0.name)))"
        }
        let mask = changed.enumerated().map { "((\($0.element)) << \($0.offset))" }.joined(separator: " | ")
        return """
            CREATE TRIGGER \(quoted("_cp_upd_" + t.name)) AFTER UPDATE ON \(t.quotedName) WHEN \(notMerging)
            BEGIN
              INSERT INTO _cp_log(tbl, pk, kind, hlc, mask)
                VALUES (\(literal(t.name)), NEW.\(t.quotedPK), \(LogKind.update.rawValue), \(hlcWallClockSQL), \(mask));
            END
            """
    }

    static func deleteTrigger(_ t: SyncedTable) -> String {
        """
        CREATE TRIGGER \(quoted("_cp_del_" + t.name)) AFTER DELETE ON \(t.quotedName) WHEN \(notMerging)
        BEGIN
          INSERT INTO _cp_log(tbl, pk, kind, hlc) VALUES (\(literal(t.name)), OLD.\(t.quotedPK), \(LogKind.delete.rawValue), \(hlcWallClockSQL));
        END
        """
    }
}
