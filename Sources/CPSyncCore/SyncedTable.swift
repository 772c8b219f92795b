/// What the engine knows of one synced table: its primary key and its other columns, in table order.
struct SyncedTable {
    let name: String
    let primaryKey: String
    let columns: [ColumnInfo]
    let columnIndex: [String: Int]

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
    }

    var quotedName: String { quoted(name) }
    var quotedShadow: String { quoted(shadowName(name)) }
    var quotedPK: String { quoted(primaryKey) }
}
