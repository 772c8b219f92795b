/// Errors from the replica engine. Every case names what to fix; a failed merge has changed nothing.
public enum ReplicaError: Error, CustomStringConvertible, Sendable, Equatable {
    case unknownTable(String)
    case unknownColumn(table: String, column: String)
    case wrongType(table: String, column: String, expected: String, got: String)
    case malformedKey(table: String, key: String, reason: String)
    case malformedChange(String)
    case notSyncable(table: String, reason: String)
    case notAReplica(path: String)
    case conflictNotFound(String)
    case conflictAlreadyResolved(String)
    /// A rule of the domain (a trigger raising `cpsync-…`) refused writing this row.
    case rowRefused(table: String, key: String, reason: String)
    case sqlite(SQLiteError)

    public static func == (a: ReplicaError, b: ReplicaError) -> Bool { a.description == b.description }

    public var description: String {
        switch self {
        case .unknownTable(let t):
            "unknown table '\(t)': it is not a synced table of this replica; nothing was merged"
        case .unknownColumn(let t, let c):
            "unknown column '\(c)' in table '\(t)'; nothing was merged"
        case .wrongType(let t, let c, let expected, let got):
            "column '\(t).\(c)' takes \(expected) values, got \(got); nothing was merged"
        case .malformedKey(let t, let k, let reason):
            "malformed primary key '\(k.prefix(80))' in table '\(t)': \(reason); nothing was merged"
        case .malformedChange(let reason):
            "malformed change: \(reason); nothing was merged"
        case .notSyncable(let t, let reason):
            "table '\(t)' cannot be synced: \(reason)"
        case .notAReplica(let path):
            "'\(path)' is not a cpsync replica (no sync metadata); create it with `cpsync init`"
        case .conflictNotFound(let id):
            "no conflict with id '\(id)'"
        case .conflictAlreadyResolved(let id):
            "conflict '\(id)' is already resolved; its resolution stands in the audit trail"
        case .rowRefused(let t, let k, let reason):
            "row '\(k.prefix(80))' of '\(t)' was refused: \(reason); nothing was merged"
        case .sqlite(let e):
            e.description
        }
    }
}
