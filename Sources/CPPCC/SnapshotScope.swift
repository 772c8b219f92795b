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
        let out = try rows(outside: scope, in: replica)
        try ReplicaSnapshot.forget(out, in: replica)
        return out.count
    }
}
