import CSQLite

/// SQLite's SQLITE_TRANSIENT: the macro itself cannot be imported.
let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A prepared statement. Finalized in `deinit`; not `Sendable`: use it on its connection's thread only.
public final class Statement {
    let handle: OpaquePointer
    unowned let database: Database
    public let sql: String

    init(database: Database, sql: String) throws(SQLiteError) {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(database.handle, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else {
            throw database.error(code: rc, sql: sql)
        }
        self.handle = stmt
        self.database = database
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    /// Resets the statement and clears its bindings so that it can be reused.
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    public func bind(_ values: [Value]) throws(SQLiteError) {
        for (index, value) in values.enumerated() {
            try bind(value, at: Int32(index + 1))
        }
    }

    public func bind(_ value: Value, at index: Int32) throws(SQLiteError) {
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(handle, index)
        case .integer(let i): rc = sqlite3_bind_int64(handle, index, i)
        case .real(let d): rc = sqlite3_bind_double(handle, index, d)
        case .text(let s):
            var s = s
            rc = s.withUTF8 { buf in
                // An empty buffer may have no base address; NULL would bind SQL NULL, so pass "" explicitly.
                guard let base = buf.baseAddress, buf.count > 0 else { return sqlite3_bind_text(handle, index, "", 0, sqliteTransient) }
                return base.withMemoryRebound(to: CChar.self, capacity: buf.count) {
                    sqlite3_bind_text(handle, index, $0, Int32(buf.count), sqliteTransient)
                }
            }
        case .blob(let b):
            rc = b.withUnsafeBytes { buf in
                // A zero-length blob must stay a blob, not become NULL: bind_zeroblob keeps the type.
                buf.count == 0
                    ? sqlite3_bind_zeroblob(handle, index, 0)
                    : sqlite3_bind_blob(handle, index, buf.baseAddress, Int32(buf.count), sqliteTransient)
            }
        }
        guard rc == SQLITE_OK else { throw database.error(code: rc, sql: sql) }
    }

    /// Steps once: `true` when a row is available.
    public func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let err = database.error(code: rc, sql: sql)
            sqlite3_reset(handle)
            throw err
        }
    }

    public var columnCount: Int32 { sqlite3_column_count(handle) }

    public func columnName(_ index: Int32) -> String { String(cString: sqlite3_column_name(handle, index)) }

    public func column(_ index: Int32) -> Value {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, index))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(handle, index))
            guard let ptr = sqlite3_column_text(handle, index) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: ptr, count: count), as: UTF8.self))
        default:
            let count = Int(sqlite3_column_bytes(handle, index))
            guard count > 0, let ptr = sqlite3_column_blob(handle, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: ptr, count: count)))
        }
    }

    public func int64(_ index: Int32) -> Int64 { sqlite3_column_int64(handle, index) }
    public func isNull(_ index: Int32) -> Bool { sqlite3_column_type(handle, index) == SQLITE_NULL }
    public func isText(_ index: Int32) -> Bool { sqlite3_column_type(handle, index) == SQLITE_TEXT }
    public func string(_ index: Int32) -> String? {
        guard let ptr = sqlite3_column_text(handle, index) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, index))
        return String(decoding: UnsafeBufferPointer(start: ptr, count: count), as: UTF8.self)
    }
    public func optionalInt64(_ index: Int32) -> Int64? { isNull(index) ? nil : int64(index) }

    /// The column's text when it is valid UTF-8, else nil. SQLite stores whatever bytes a tool handed it; text that
    /// is not UTF-8 cannot travel byte for byte, so readers that send values check it instead of decoding lossily.
    public func validText(_ index: Int32) -> String? {
        guard let ptr = sqlite3_column_text(handle, index) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, index))
        return UTF8Bytes.string(validating: UnsafeBufferPointer(start: ptr, count: count))
    }

    /// Resets for new bindings. Bindings are cleared only when fewer than all parameters will be bound again:
    /// clearing costs a pass over every parameter, and a merge runs its statements hundreds of thousands of times.
    func reset(rebinding count: Int) {
        sqlite3_reset(handle)
        if count < Int(sqlite3_bind_parameter_count(handle)) { sqlite3_clear_bindings(handle) }
    }

    /// Binds, runs to completion and resets. Returns nothing; use `query` for rows.
    public func execute(_ values: [Value] = []) throws(SQLiteError) {
        reset(rebinding: values.count)
        defer { sqlite3_reset(handle) }
        try bind(values)
        while try step() {}
    }

    /// Binds `values` to parameters 1…, runs to completion, then resets and clears the bindings so that no binding
    /// outlives the bytes it points into. Text and blobs are copied once into one buffer and bound where they lie
    /// there: SQLite's own copy of each (a malloc, a memcpy, a free) is measurable when a merge writes hundreds of
    /// thousands of cells, and binding each inside its own `withUTF8` nested one closure per value (thousands deep for
    /// a multi-row insert, too deep for a worker thread's stack).
    public func executeInPlace(_ values: [Value]) throws(SQLiteError) {
        reset(rebinding: values.count)
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        var bytes = 0
        for v in values {
            switch v {
            case .text(let s): bytes += s.utf8.count
            case .blob(let b): bytes += b.count
            default: break
            }
        }
        let arena = [UInt8](unsafeUninitializedCapacity: bytes) { out, count in
            func put(_ source: UnsafeBufferPointer<UInt8>) {
                guard let base = source.baseAddress, !source.isEmpty else { return }
                (out.baseAddress! + count).update(from: base, count: source.count)
                count += source.count
            }
            for v in values {
                switch v {
                case .text(let s):
                    if s.utf8.withContiguousStorageIfAvailable(put) == nil { Array(s.utf8).withUnsafeBufferPointer(put) }
                case .blob(let b): b.withUnsafeBufferPointer(put)
                default: break
                }
            }
        }
        try arena.withUnsafeBufferPointer { (buffer) throws(SQLiteError) in
            var offset = 0
            for (i, v) in values.enumerated() {
                let index = Int32(i + 1)
                let rc: Int32
                switch v {
                case .text(let s) where !s.isEmpty:
                    let n = s.utf8.count
                    rc = UnsafeRawPointer(buffer.baseAddress! + offset).withMemoryRebound(to: CChar.self, capacity: n) {
                        sqlite3_bind_text(handle, index, $0, Int32(n), nil)
                    }
                    offset += n
                case .blob(let b) where !b.isEmpty:
                    rc = sqlite3_bind_blob(handle, index, buffer.baseAddress! + offset, Int32(b.count), nil)
                    offset += b.count
                default:
                    try bind(v, at: index)
                    continue
                }
                guard rc == SQLITE_OK else { throw database.error(code: rc, sql: sql) }
            }
            while try step() {}
        }
    }

    /// Resets, lets `bind` bind every parameter one by one (no array of values), runs to completion and resets.
    public func execute(binding bind: (Statement) throws -> Void) throws {
        reset(rebinding: Int.max)
        defer { sqlite3_reset(handle) }
        try bind(self)
        while try step() {}
    }

    /// Binds, collects every row as an array of values, and resets.
    public func query(_ values: [Value] = []) throws(SQLiteError) -> [[Value]] {
        reset(rebinding: values.count)
        defer { sqlite3_reset(handle) }
        try bind(values)
        var rows: [[Value]] = []
        let n = columnCount
        while try step() {
            rows.append((0..<n).map { column($0) })
        }
        return rows
    }

    /// Binds and calls `body` for each row while the statement is positioned on it; resets on every exit path.
    public func forEachRow(_ values: [Value] = [], _ body: (Statement) throws -> Void) throws {
        reset(rebinding: values.count)
        defer { sqlite3_reset(handle) }
        try bind(values)
        while try step() { try body(self) }
    }
}
