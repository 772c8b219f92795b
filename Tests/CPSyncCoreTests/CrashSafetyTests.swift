import CPSyncCore
import Foundation
import Testing
import TestSupport

/// A merge killed half-way (SIGKILL to a child process) leaves the replica exactly as before the batch.
@Suite struct CrashSafetyTests {
    @Test func mergeKilledMidwayLeavesTheReplicaAsBefore() throws {
        let bench = builtProduct("cpsync-bench")
        try #require(FileManager.default.isExecutableFile(atPath: bench), "build cpsync-bench first (swift build)")
        let dir = TempDir(); defer { dir.cleanup() }
        let target = dir.path("target.db")
        // The child creates the replica with a committed row, then merges a big batch slowly and never finishes.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: bench)
        child.arguments = ["crash-merge", "--db", target, "--rows", "200000"]
        let out = Pipe()
        child.standardOutput = out
        try child.run()
        // Wait until the child says the merge transaction is under way.
        let handle = out.fileHandleForReading
        var seen = ""
        let deadline = Date().addingTimeInterval(60)
        while !seen.contains("merging") && Date() < deadline {
            let data = handle.availableData
            if data.isEmpty { break }
            seen += String(decoding: data, as: UTF8.self)
        }
        #expect(seen.contains("merging"), "child said: \(seen)")
        usleep(300_000)
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal)

        let r = try Replica(path: target, create: false)
        #expect(try r.database.scalar("PRAGMA integrity_check") == .text("ok"))
        #expect(try r.database.scalar("SELECT count(*) FROM proposals") == .integer(1))
        #expect(try r.database.scalar("SELECT merging FROM _cp_state") == .integer(0))
        // The replica still captures local writes (the merge flag did not survive the crash).
        let seq = try r.sequence
        try r.database.run("INSERT INTO proposals(id, title) VALUES ('after-crash', '崩溃之后')")
        #expect(try r.changes(after: seq).changes.count > 1)
    }
}
