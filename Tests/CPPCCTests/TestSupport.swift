import CPPCC
import CPSyncCore
import Foundation
import TestSupport

/// A replica with the CPPCC schema installed, site id = `name`. In memory: the tests exercise the SQL, not the
/// disk, and stay fast.
func makeOffice(_ dir: TempDir, _ name: String) throws -> Office {
    try Office(Replica(path: ":memory:", siteID: name))
}

/// Sends everything `from` holds to `to`.
@discardableResult
func exchange(_ from: Office, _ to: Office) throws -> MergeResult {
    try to.replica.merge(from.replica.changes(after: 0).changes)
}

/// Every CPPCC table's content in a canonical text form (leaving out the `excluded` columns).
func dump(_ o: Office, excluding excluded: Set<String> = []) throws -> String {
    var out = ""
    for t in CPPCCSchema.tables {
        out += "# \(t)\n"
        let cols = try o.replica.database.columns(of: t).map(\.name).filter { !excluded.contains($0) }
        for row in try o.replica.database.query("SELECT \(cols.joined(separator: ", ")) FROM \(t) ORDER BY id") {
            out += row.map { "\($0.typeName):\($0)" }.joined(separator: "|") + "\n"
        }
    }
    return out
}

func status(_ o: Office, _ id: String) throws -> String {
    try o.replica.database.scalar("SELECT status FROM proposals WHERE id = ?", [.text(id)])?.stringValue ?? ""
}

/// The property tests' seeded generator: a failing seed replays.
typealias SeededRandom = SplitMix64
