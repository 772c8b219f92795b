import CPSyncCore
import Foundation
import Testing
import TestSupport


/// Property: replicas that received the same changes, in any order, any number of times, hold identical content.
/// `PROPERTY_SEEDS=N` runs N seeds (default 50); `PROPERTY_SEED=S` replays one.
@Suite struct ConvergenceTests {
    static var seeds: [UInt64] {
        let env = ProcessInfo.processInfo.environment
        if let one = env["PROPERTY_SEED"].flatMap(UInt64.init) { return [one] }
        let n = env["PROPERTY_SEEDS"].flatMap(Int.init) ?? 50
        return (1...max(1, n)).map { UInt64($0) }
    }

    static let values: [Value] = [.null, .text("张三"), .text("李四"), .text("😀"), .text(""), .integer(.min), .integer(.max),
                                  .integer(0), .real(-0.0), .real(0.5), .blob([]), .blob([0, 1, 2])]

    @Test func fiveReplicasConvergeOnRandomHistories() throws {
        let ops = Int(ProcessInfo.processInfo.environment["PROPERTY_OPS"] ?? "") ?? 2000
        for seed in Self.seeds {
            do {
                try run(seed: seed, replicaCount: 5, opsPerReplica: ops)
            } catch {
                Issue.record("seed \(seed) failed: \(error) — replay with PROPERTY_SEED=\(seed)")
                throw error
            }
        }
    }

    func run(seed: UInt64, replicaCount: Int, opsPerReplica: Int) throws {
        var rng = SplitMix64(seed: seed)
        let dir = TempDir(); defer { dir.cleanup() }
        let replicas = try (0..<replicaCount).map { i -> Replica in
            let r = try Replica(path: ":memory:", siteID: "site-\(i)")
            try r.database.execute("CREATE TABLE t (id TEXT PRIMARY KEY NOT NULL, a TEXT, b INTEGER NOT NULL DEFAULT 0, c)")
            try r.makeSynced("t")
            return r
        }
        let keys = (0..<8).map { "k\($0)" }
        // Messages: a delta of changes one replica had after its last snapshot; delivered in random order, some twice.
        var messages: [[Change]] = []
        var snapshot = Array(repeating: Int64(0), count: replicaCount)
        let steps = opsPerReplica * replicaCount
        for _ in 0..<steps {
            let i = Int.random(in: 0..<replicaCount, using: &rng)
            let r = replicas[i]
            let key = keys.randomElement(using: &rng)!
            let roll = Int.random(in: 0..<100, using: &rng)
            switch roll {
            case 0..<30:
                let v = Self.values.randomElement(using: &rng)!
                try r.database.run("INSERT OR IGNORE INTO t(id, a, c) VALUES (?, ?, ?)", [.text(key), v.stringValue.map { .text($0) } ?? .null, v])
            case 30..<70:
                let v = Self.values.randomElement(using: &rng)!
                try r.database.run("UPDATE t SET c = ?, b = b + 1 WHERE id = ?", [v, .text(key)])
            case 70..<80:
                try r.database.run("UPDATE t SET a = ? WHERE id = ?", [.text("a\(Int.random(in: 0..<3, using: &rng))"), .text(key)])
            case 80..<88:
                try r.database.run("DELETE FROM t WHERE id = ?", [.text(key)])
            case 88..<94:
                let page = try r.changes(after: snapshot[i])
                if !page.changes.isEmpty { messages.append(page.changes) }
                snapshot[i] = page.cursor
            default:
                guard !messages.isEmpty else { continue }
                // Deliver a random earlier message (reordering) — possibly one already delivered (duplicate).
                let m = messages[Int.random(in: 0..<messages.count, using: &rng)]
                let target = replicas[Int.random(in: 0..<replicaCount, using: &rng)]
                try target.merge(m.shuffled(using: &rng))
            }
        }
        // Final exchange: every replica receives the union of what all replicas hold, each in its own random
        // order (the union is taken before anyone merges, so no replica simply copies the last sender).
        let union = try replicas.flatMap { try $0.allChanges() }
        for r in replicas {
            try r.merge(union.shuffled(using: &rng))
            try r.merge(Array(union.shuffled(using: &rng).prefix(union.count / 2)))
        }
        let dumps = try replicas.map { try canonicalDump($0) }
        for (i, d) in dumps.enumerated() where d != dumps[0] {
            throw ConvergenceFailure(seed: seed, detail: "replica \(i) differs from replica 0:\n\(d)\n---\n\(dumps[0])")
        }
    }

    struct ConvergenceFailure: Error, CustomStringConvertible {
        let seed: UInt64
        let detail: String
        var description: String { "seed \(seed): \(detail)" }
    }

    @Test func mergeIsOrderIndependentAndIdempotentForOneBatch() throws {
        for seed in Self.seeds.prefix(10) {
            var rng = SplitMix64(seed: seed &+ 1000)
            let source = try Replica(path: ":memory:", siteID: "src")
            try source.database.execute("CREATE TABLE t (id TEXT PRIMARY KEY NOT NULL, a TEXT, b INTEGER NOT NULL DEFAULT 0, c)")
            try source.makeSynced("t")
            for _ in 0..<200 {
                let key = "k\(Int.random(in: 0..<5, using: &rng))"
                try source.database.run("INSERT OR IGNORE INTO t(id, a) VALUES (?, 'x')", [.text(key)])
                if Bool.random(using: &rng) { try source.database.run("DELETE FROM t WHERE id = ?", [.text(key)]) }
                try source.database.run("UPDATE t SET c = ? WHERE id = ?", [Self.values.randomElement(using: &rng)!, .text(key)])
            }
            let changes = try source.allChanges()
            var dumps: Set<String> = []
            for _ in 0..<4 {
                let r = try Replica(path: ":memory:", siteID: "dst")
                try r.database.execute("CREATE TABLE t (id TEXT PRIMARY KEY NOT NULL, a TEXT, b INTEGER NOT NULL DEFAULT 0, c)")
                try r.makeSynced("t")
                try r.merge(changes.shuffled(using: &rng))
                try r.merge(changes.shuffled(using: &rng))
                dumps.insert(try canonicalDump(r))
            }
            #expect(dumps.count == 1, "seed \(seed)")
            #expect(dumps.first == (try canonicalDump(source)))
        }
    }
}
