/// What the engine knows of one synced table: its primary key and its other columns, in table order. A class of
/// constants: the merge hands it from change to change, and a reference is one retain where the struct was four.
final class SyncedTable {
    let name: String
    let primaryKey: String
    let columns: [ColumnInfo]
    let columnIndex: [String: Int]
    /// The SQL of `changes`' reads of this table, by the number of scope buckets read (see `ScopeIndex.Reading`;
    /// -1: every row after the cursor): built once per connection instead of once per page.
    var readSQLs: [Int: String] = [:]
    /// Other SQL built from this table's names, by what it is for (the scope index's statements): built once per
    /// connection.
    var sqls: [String: String] = [:]
    /// Its names, quoted for SQL.
    let quotedName: String
    let quotedShadow: String
    let quotedPK: String

    init(name: String, database: Database) throws {
        let all = try database.columns(of: name)
        guard !all.isEmpty else { throw ReplicaError.unknownTable(name) }
        let pks = all.filter { $0.primaryKeyIndex > 0 }
        guard pks.count == 1, let pk = pks.first else {
            throw ReplicaError.notSyncable(table: name, reason: "it needs exactly one primary-key column of type TEXT (a UUID)")
        }
        guard pk.affinity == .text else {
            throw ReplicaError.notSyncable(
                table: name, reason: "its primary key '\(pk.name)' is \(pk.declaredType); synced tables need TEXT keys (UUIDs), integer keys collide across offices")
        }
        self.name = name
        self.primaryKey = pk.name
        self.columns = all.filter { $0.primaryKeyIndex == 0 }
        var index: [String: Int] = [:]
        for (i, c) in columns.enumerated() { index[c.name] = i }
        self.columnIndex = index
        quotedName = quoted(name)
        quotedShadow = quoted(shadowName(name))
        quotedPK = quoted(pk.name)
    }

    /// The SQL `build` makes, built the first time it is asked for `key` on this connection.
    func sql(_ key: String, _ build: () -> String) -> String {
        if let known = sqls[key] { return known }
        let made = build()
        sqls[key] = made
        return made
    }

    /// The index of a column by name. Changes come grouped by row in column order, so the column after the last one
    /// found (`hint`) is tried first, byte for byte, before the dictionary.
    @inline(__always)
    func index(of column: String, hint: inout Int) -> Int? {
        if hint < columns.count, UTF8Bytes.equal(columns[hint].name, column) {
            let i = hint
            hint = i + 1 == columns.count ? 0 : i + 1
            return i
        }
        guard let i = columnIndex[column] else { return nil }
        hint = i + 1 == columns.count ? 0 : i + 1
        return i
    }
}
