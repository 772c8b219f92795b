import CSQLite

/// How far an online backup has got, reported after every step.
public struct BackupProgress: Sendable, Equatable {
    /// Pages still to copy.
    public let remaining: Int
    /// Pages in the source database.
    public let total: Int
}

extension Database {
    /// Copies a consistent snapshot of this database into a new file at `path` with SQLite's online backup API,
    /// `pagesPerStep` pages per `sqlite3_backup_step`, so other connections keep writing meanwhile.
    ///
    /// The copy runs inside one read transaction on this connection: in WAL mode that pins a snapshot (writers
    /// carry on into the WAL) and the backup never restarts because a writer committed between two steps. The
    /// result is switched to `journal_mode=DELETE` so it is one self-contained file. `path` must not exist.
    public func backup(into path: String, pagesPerStep: Int32 = 256,
                       progress: (BackupProgress) -> Void = { _ in }) throws(SQLiteError) {
        var destination: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let openCode = sqlite3_open_v2(path, &destination, flags, nil)
        guard openCode == SQLITE_OK, let destination else {
            let message = destination.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open database"
            if let destination { sqlite3_close_v2(destination) }
            throw SQLiteError(code: openCode, message: "\(message): \(path)")
        }
        defer { sqlite3_close_v2(destination) }

        let ownsTransaction = !isInTransaction
        if ownsTransaction {
            // Reading the schema starts the read transaction that pins the snapshot for every step below.
            try execute("BEGIN DEFERRED; SELECT count(*) FROM sqlite_schema;")
        }
        defer { if ownsTransaction { try? execute("COMMIT") } }

        guard let backup = sqlite3_backup_init(destination, "main", handle, "main") else {
            throw SQLiteError(code: sqlite3_extended_errcode(destination),
                              message: String(cString: sqlite3_errmsg(destination)) + ": \(path)")
        }
        var stepCode: Int32 = SQLITE_OK
        var busyRetries = 0
        while true {
            stepCode = sqlite3_backup_step(backup, max(1, pagesPerStep))
            if stepCode == SQLITE_OK || stepCode == SQLITE_DONE {
                progress(BackupProgress(remaining: Int(sqlite3_backup_remaining(backup)), total: Int(sqlite3_backup_pagecount(backup))))
                if stepCode == SQLITE_DONE { break }
                continue
            }
            // The destination is ours alone and the source is held by our read transaction, so a busy answer is
            // rare and short-lived: retry for a while, then give up.
            if (stepCode & 0xff == SQLITE_BUSY || stepCode & 0xff == SQLITE_LOCKED), busyRetries < 500 {
                busyRetries += 1
                sqlite3_sleep(10)
                continue
            }
            break
        }
        let finishCode = sqlite3_backup_finish(backup)
        if stepCode != SQLITE_DONE || finishCode != SQLITE_OK {
            let code = stepCode != SQLITE_DONE ? stepCode : finishCode
            throw SQLiteError(code: sqlite3_extended_errcode(destination) != 0 ? sqlite3_extended_errcode(destination) : code,
                              message: "online backup to \(path) failed: " + String(cString: sqlite3_errmsg(destination)))
        }
        // The copied header still says WAL; make the backup a single file that needs no -wal/-shm beside it.
        var errmsg: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(destination, "PRAGMA journal_mode=DELETE", nil, nil, &errmsg) != SQLITE_OK {
            let message = errmsg.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(destination))
            sqlite3_free(errmsg)
            throw SQLiteError(code: sqlite3_extended_errcode(destination), message: message, sql: "PRAGMA journal_mode=DELETE")
        }
    }

    /// What `PRAGMA integrity_check` reports: an empty array when the database is sound.
    public func integrityProblems(maxErrors: Int = 100) throws(SQLiteError) -> [String] {
        let rows = try query("PRAGMA integrity_check(\(max(1, maxErrors)))")
        let lines = rows.compactMap { $0.first?.stringValue }
        return lines == ["ok"] ? [] : lines
    }
}
