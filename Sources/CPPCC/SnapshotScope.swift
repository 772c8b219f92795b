import CPSyncCore

extension SiteScope {
    /// Removes from a snapshot copy of the county replica every live row that `site` may not hold, with its versions
    /// (`ReplicaSnapshot.forget`, in bulk): what is left is exactly what a pull from 0 would have sent that site at the copy's cursor
    /// (the same `contains` the pull asks, on the same snapshot). Unlike `purge`, it spares nothing (the copy has no
    /// unsent own changes) and works for a site not in the tree (which then holds only shared data). Dead rows stay:
    /// the pull sends every row's death too, and they hold versions, not values. Returns how many rows went.
    @discardableResult
    public static func keepOnly(site: String, in replica: Replica) throws -> Int {
        guard let scope = try of(site: site, in: replica.database) else { return 0 }
        var out: [(table: String, pk: String)] = []
        for table in replica.syncedTables {
            let columns = try replica.database.columns(of: table).map(\.name)
            let index = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })
            guard let key = index[try replica.primaryKey(of: table)] else { continue }
            for row in try replica.database.query("SELECT \(columns.map { "\"\($0)\"" }.joined(separator: ", ")) FROM \"\(table)\"") {
                guard let pk = row[key].stringValue else { continue }
                if try !scope.contains(table: table, pk: pk, value: { index[$0].map { row[$0] } ?? .null }) { out.append((table, pk)) }
            }
        }
        try ReplicaSnapshot.forget(out, in: replica)
        return out.count
    }
}
