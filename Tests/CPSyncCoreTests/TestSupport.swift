import CPSyncCore
import Foundation
import TestSupport

/// The test table used across core tests: a TEXT key and a few typed columns, all with defaults.
let proposalsSQL = """
    CREATE TABLE proposals (
      id TEXT PRIMARY KEY NOT NULL,
      title TEXT NOT NULL DEFAULT '',
      body TEXT,
      votes INTEGER NOT NULL DEFAULT 0,
      score REAL,
      attachment BLOB
    )
    """

func makeReplica(_ dir: TempDir, _ name: String, site: String? = nil) throws -> Replica {
    let r = try Replica(path: dir.path(name + ".db"), siteID: site ?? name)
    try r.database.execute(proposalsSQL.replacingOccurrences(of: "CREATE TABLE", with: "CREATE TABLE IF NOT EXISTS"))
    try r.makeSynced("proposals")
    return r
}

/// Table content in a canonical text form: rows ordered by key, values tagged by type.
func canonicalDump(_ r: Replica, tables: [String]? = nil) throws -> String {
    var out = ""
    for t in tables ?? r.syncedTables {
        let pk = try r.primaryKey(of: t)
        let cols = [pk] + (try r.columns(of: t).map(\.name))
        let sql = "SELECT " + cols.map { "\"\($0)\"" }.joined(separator: ",") + " FROM \"\(t)\" ORDER BY \"\(pk)\""
        for row in try r.database.query(sql) {
            out += t + "|" + row.map { "\($0.typeName):\($0)" }.joined(separator: "|") + "\n"
        }
    }
    return out
}

/// Sends every change `from` holds after `after` to `to`.
@discardableResult
func sync(_ from: Replica, to: Replica, after: Int64 = 0) throws -> MergeResult {
    try to.merge(from.changes(after: after).changes)
}

/// The path of a product built next to the test bundle (e.g. `cpsync-bench`).
func builtProduct(_ name: String) -> String {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
        dir = dir.deletingLastPathComponent()
    }
    return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path
}
