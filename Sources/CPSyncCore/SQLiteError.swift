import CSQLite

/// An error reported by SQLite: the extended result code, SQLite's message and the statement that failed.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// The extended result code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT_CHECK`, …).
    public let code: Int32
    public let message: String
    public let sql: String?

    public init(code: Int32, message: String, sql: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
    }

    /// The primary result code (the low byte of the extended one).
    public var primaryCode: Int32 { code & 0xff }
    public var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }
    public var isConstraint: Bool { primaryCode == SQLITE_CONSTRAINT }
    /// SQLITE_FULL: the disk (or the database's `max_page_count`) is full.
    public var isFull: Bool { primaryCode == SQLITE_FULL }
    /// The storage under the database fails: I/O error, read-only file or file system, unopenable or damaged file.
    public var isStorageFailure: Bool {
        [SQLITE_IOERR, SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_CORRUPT, SQLITE_NOTADB].contains(primaryCode)
    }
    /// A CHECK constraint refused a value.
    public var isCheckConstraint: Bool { code == SQLITE_CONSTRAINT | (1 << 8) }  // SQLITE_CONSTRAINT_CHECK (a macro Swift does not import)
    /// A NOT NULL constraint refused a null.
    public var isNotNullConstraint: Bool { code == SQLITE_CONSTRAINT | (5 << 8) }  // SQLITE_CONSTRAINT_NOTNULL

    public var description: String {
        var text = "SQLite error \(code): \(message)"
        if isBusy {
            text += " (the database is locked by another program; close it or try again — nothing was changed)"
        }
        if let sql { text += " [\(sql.prefix(200))]" }
        return text
    }
}
