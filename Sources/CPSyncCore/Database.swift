import CSQLite

/// One SQLite connection: WAL, `busy_timeout`, foreign keys on, a prepared-statement cache and transactions
/// (`BEGIN IMMEDIATE` outside, savepoints when nested). Not `Sendable`: use it from one thread at a time.
public final class Database {
    let handle: OpaquePointer
    public let path: String
    private var cache: [String: Statement] = [:]
    private var transactionDepth = 0
    /// Counts rollbacks (of a transaction or a savepoint): what a cache of rows written inside one must check (a row
    /// the cache learnt there may be gone).
    public private(set) var rollbacks = 0

    /// Opens (and creates, unless `readOnly`) the database at `path`.
    public init(path: String, readOnly: Bool = false, busyTimeoutMilliseconds: Int32 = 5_000) throws(SQLiteError) {
        var db: OpaquePointer?
        let flags = readOnly
            ? SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
            : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open database"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: "\(message): \(path)")
        }
        self.handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        if !readOnly && path != ":memory:" && !path.isEmpty {
            try execute("PRAGMA journal_mode=WAL")
        }
        // FULL: a commit returns only once the WAL is on disk. With NORMAL (SQLite's usual choice for WAL) a power cut
        // or an OS crash may undo the last commits: a clerk's saved edit, or a push the county had acknowledged (the
        // office then never sends it again). Township offices lose power; nothing may be lost. About 0.2 ms a commit
        // here; merges and pull pages commit once per page.
        try execute("PRAGMA synchronous=FULL")
        try execute("PRAGMA foreign_keys=ON")
        // A merge or a pull page writes a table, its shadow and their indexes in one transaction; with SQLite's
        // default 2 MiB page cache a large one spills pages to the WAL before it commits and writes them again.
        // The cache grows only as far as it is used.
        try execute("PRAGMA cache_size=-\(Self.cacheKiB)")
    }

    /// The page cache of each connection, in KiB.
    static let cacheKiB = 16_384

    deinit {
        cache.removeAll()
        sqlite3_close_v2(handle)
    }

    func error(code: Int32, sql: String?) -> SQLiteError {
        let extended = sqlite3_extended_errcode(handle)
        return SQLiteError(code: extended != 0 ? extended : code, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    /// Runs one or more statements that take no parameters.
    public func execute(_ sql: String) throws(SQLiteError) {
        var errmsg: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errmsg)
        if rc != SQLITE_OK {
            let message = errmsg.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(errmsg)
            throw SQLiteError(code: sqlite3_extended_errcode(handle), message: message, sql: sql)
        }
    }

    /// A cached prepared statement for `sql` (reset by every `execute`/`query`).
    public func statement(_ sql: String) throws(SQLiteError) -> Statement {
        if let cached = cache[sql] { return cached }
        let stmt = try Statement(database: self, sql: sql)
        cache[sql] = stmt
        return stmt
    }

    /// Runs one statement with parameters.
    public func run(_ sql: String, _ values: [Value] = []) throws(SQLiteError) {
        try statement(sql).execute(values)
    }

    /// Every row of a query, as typed values.
    public func query(_ sql: String, _ values: [Value] = []) throws(SQLiteError) -> [[Value]] {
        try statement(sql).query(values)
    }

    /// The first column of the first row, or nil when there is no row.
    public func scalar(_ sql: String, _ values: [Value] = []) throws(SQLiteError) -> Value? {
        try query(sql, values).first?.first
    }

    /// The raw connection, for SQLite APIs this layer does not wrap (the benchmark's session extension).
    public func withRawHandle<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T { try body(handle) }

    public var changes: Int { Int(sqlite3_changes(handle)) }
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Runs `body` in a transaction: `BEGIN IMMEDIATE` at the outermost level (so a writer waits for the lock up
    /// front rather than failing half-way), a savepoint when nested. Rolls back on any error, including a failed
    /// `COMMIT`/`RELEASE` (a full disk fails at commit): the connection is then ready for the next transaction.
    /// A commit returns once it is on disk (see `transaction(durable:_:)`).
    public func transaction<T>(_ body: () throws -> T) throws -> T { try transaction(durable: true, body) }

    /// `durable: false` (outermost level only) commits without waiting for the disk: a power cut may then undo this
    /// commit and any after it, never one before it (the WAL keeps a prefix of its commits), and the next durable
    /// commit makes it durable too. Only for what is done again by itself when undone: a pull page with its cursor
    /// (pulled again), a push cursor (the acknowledged page is sent again and answered as the first time).
    public func transaction<T>(durable: Bool, _ body: () throws -> T) throws -> T {
        let depth = transactionDepth
        // Prepared once per connection (`run`): a county's writer opens a savepoint for every push of a group.
        if depth == 0 {
            if !durable { try run("PRAGMA synchronous=NORMAL") }
            try run("BEGIN IMMEDIATE")
        } else {
            try run(Self.savepointSQL(depth))
        }
        transactionDepth = depth + 1
        // Exactly one level is left on every path out, whichever statement failed.
        defer {
            transactionDepth = depth
            if depth == 0 && !durable { try? run("PRAGMA synchronous=FULL") }
        }
        do {
            let result = try body()
            if depth == 0 {
                try run("COMMIT")
            } else {
                try run(Self.releaseSQL(depth))
            }
            return result
        } catch {
            // SQLite may already have rolled back (SQLITE_FULL, SQLITE_IOERR do): then these fail harmlessly.
            rollbacks += 1
            if depth == 0 {
                try? execute("ROLLBACK")
            } else {
                try? execute("ROLLBACK TO cp_sp\(depth); RELEASE cp_sp\(depth)")
            }
            throw error
        }
    }

    private static let savepoints = (0..<8).map { "SAVEPOINT cp_sp\($0)" }
    private static let releases = (0..<8).map { "RELEASE cp_sp\($0)" }
    static func savepointSQL(_ depth: Int) -> String { depth < savepoints.count ? savepoints[depth] : "SAVEPOINT cp_sp\(depth)" }
    static func releaseSQL(_ depth: Int) -> String { depth < releases.count ? releases[depth] : "RELEASE cp_sp\(depth)" }

    /// Names of the columns of `table` in order, with declared type, NOT NULL, default and primary-key position.
    public func columns(of table: String) throws(SQLiteError) -> [ColumnInfo] {
        try query("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?)", [.text(table)]).map {
            ColumnInfo(
                name: $0[0].stringValue ?? "", declaredType: $0[1].stringValue ?? "",
                notNull: $0[2].int64Value == 1, defaultSQL: $0[3].stringValue, primaryKeyIndex: Int($0[4].int64Value ?? 0),
                affinity: Affinity(declaredType: $0[1].stringValue ?? ""))
        }
    }

    /// Whether a table (not a view) of that name exists.
    public func tableExists(_ name: String) throws(SQLiteError) -> Bool {
        try scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", [.text(name)])?.int64Value == 1
    }
}

/// A column as `PRAGMA table_info` describes it.
public struct ColumnInfo: Sendable, Equatable {
    public let name: String
    public let declaredType: String
    public let notNull: Bool
    public let defaultSQL: String?
    /// 0 when not part of the primary key, else its 1-based position in it.
    public let primaryKeyIndex: Int

    /// The storage class a value must have for this column, from its declared type (SQLite's affinity rules).
    public let affinity: Affinity
}

/// SQLite column affinity, derived from a declared type the way SQLite does.
public enum Affinity: String, Sendable {
    case integer, text, blob, real, numeric

    public init(declaredType: String) {
        let t = declaredType.uppercased()
        if t.contains("INT") { self = .integer }
        else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") { self = .text }
        else if t.contains("BLOB") || t.isEmpty { self = .blob }
        else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") { self = .real }
        else { self = .numeric }
    }

    /// Whether a value of this storage class may be stored in a column of this affinity without changing type.
    public func accepts(_ value: Value) -> Bool {
        switch (self, value) {
        case (_, .null): true
        case (.integer, .integer), (.numeric, .integer), (.numeric, .real): true
        case (.real, .real), (.real, .integer): true
        case (.text, .text): true
        case (.blob, _): true
        default: false
        }
    }
}
