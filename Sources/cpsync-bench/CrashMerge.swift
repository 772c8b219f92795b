import CPSyncCLI
import CPSyncCore
import Foundation

/// For the crash-safety test: creates a replica holding one committed row, then merges a large batch built
/// from another replica; prints "merging" just before, so the test knows when to SIGKILL it.
enum CrashMerge {
    static func run(_ argv: [String]) throws {
        var args = try Arguments(argv)
        let path = try args.required("db")
        let rows = try args.int("rows") ?? 100_000
        try args.checkAllConsumed()
        let target = try Replica(path: path, siteID: "target")
        // The target refuses negative votes, and the batch ends with one: every merge does all its work and
        // then rolls back, so the process is always inside a merge transaction when the signal lands.
        try target.database.execute(BenchData.createSQL.replacingOccurrences(
            of: "votes INTEGER NOT NULL DEFAULT 0", with: "votes INTEGER NOT NULL DEFAULT 0 CHECK (votes >= 0)"))
        try target.makeSynced("proposals")
        try target.database.run(BenchData.insertSQL, BenchData.row(999_999_999))
        let source = try Replica(path: ":memory:", siteID: "source")
        try source.database.execute(BenchData.createSQL)
        try source.makeSynced("proposals")
        try source.database.transaction {
            for i in 0..<rows { try source.database.run(BenchData.insertSQL, BenchData.row(i)) }
            try source.database.run("UPDATE proposals SET votes = -1 WHERE id = ?", [.text(BenchData.id(rows - 1))])
        }
        let changes = try source.allChanges()
        FileHandle.standardOutput.write(Data("merging \(changes.count) changes\n".utf8))
        while true { _ = try? target.merge(changes) }
    }
}
