import CPSyncCore
import CPSyncServer
import Foundation
import Testing

/// Writes committed together (`ServerStore.writeTogether`, the pushes' path): what a caller is told is what is on
/// disk — a write answered is there, a write that failed left nothing — whether it failed alone or its whole group
/// was undone; and writes that wait for the writer do share a transaction.
@Suite struct WriteGroupTests {
    final class Scratch {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-group-\(UUID().uuidString.prefix(8))")
        deinit { try? FileManager.default.removeItem(at: dir) }
    }

    struct Refused: Error {}

    /// Outcomes by key, collected from many threads.
    final class Outcomes: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [String: Bool] = [:]
        private var others = 0
        func set(_ key: String, _ ok: Bool) { lock.lock(); values[key] = ok; lock.unlock() }
        func ranElsewhere() { lock.lock(); others += 1; lock.unlock() }
        var all: [String: Bool] { lock.lock(); defer { lock.unlock() }; return values }
        var elsewhere: Int { lock.lock(); defer { lock.unlock() }; return others }
    }

    /// `count` threads each write one row together; `body` decides what each does. Returns each key's outcome.
    static func burst(_ store: ServerStore, count: Int, outcomes: Outcomes, _ body: @escaping @Sendable (Replica, Int) throws -> Void) {
        let group = DispatchGroup()
        for i in 0..<count {
            group.enter()
            Thread {
                let caller = Thread.current
                do {
                    try store.writeTogether { r in
                        if Thread.current != caller { outcomes.ranElsewhere() }
                        try body(r, i)
                    }
                    outcomes.set("k\(i)", true)
                } catch {
                    outcomes.set("k\(i)", false)
                }
                group.leave()
            }.start()
        }
        group.wait()
    }

    static func stored(_ store: ServerStore) throws -> Set<String> {
        try store.read { r in Set(try r.database.query("SELECT k FROM t").compactMap { $0[0].stringValue }) }
    }

    @Test func eachWriteIsAnsweredAsItIsOnDiskAndWaitingWritesShareACommit() throws {
        let s = Scratch()
        let store = try ServerStore(dataDirectory: s.dir.path)
        try store.write { r in try r.database.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB); INSERT INTO t VALUES ('taken', NULL)") }
        let outcomes = Outcomes()
        Self.burst(store, count: 48, outcomes: outcomes) { r, i in
            // The first writes hold the writer a while, so that the others queue behind them.
            if i < 2 { Thread.sleep(forTimeInterval: 0.2) }
            try r.database.run("INSERT INTO t(k, v) VALUES (?, ?)", [.text("k\(i)"), .blob(Array("第\(i)条".utf8))])
            // Some fail after their insert (a refused push): undone alone.
            if i % 7 == 3 { throw Refused() }
            // One fails in SQLite itself (a constraint): undone alone too.
            if i == 20 { try r.database.run("INSERT INTO t(k, v) VALUES ('taken', NULL)") }
        }
        let told = outcomes.all
        #expect(told.count == 48)
        let answered = Set(told.filter(\.value).keys)
        #expect(answered == Set((0..<48).filter { $0 % 7 != 3 && $0 != 20 }.map { "k\($0)" }))
        #expect(try Self.stored(store) == answered.union(["taken"]))
        #expect(outcomes.elsewhere > 0, "no write ran in another caller's group")
    }

    /// A database that fills up: some writes fail (alone, or with their whole group when SQLite undoes the
    /// transaction); whatever happened, every write answered is on disk and no write that failed left a row.
    @Test func aFullDatabaseNeverAnswersAWriteItDidNotKeep() throws {
        let s = Scratch()
        let store = try ServerStore(dataDirectory: s.dir.path)
        let pages = try store.write { r -> Int64 in
            try r.database.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB)")
            return try r.database.scalar("PRAGMA page_count")?.int64Value ?? 0
        }
        // Room for a few of the writes below, not all (4 KiB pages).
        try store.write { r in try r.database.execute("PRAGMA max_page_count = \(pages + 40)") }
        let outcomes = Outcomes()
        Self.burst(store, count: 40, outcomes: outcomes) { r, i in
            if i == 0 { Thread.sleep(forTimeInterval: 0.2) }
            try r.database.run("INSERT INTO t(k, v) VALUES (?, zeroblob(?))", [.text("k\(i)"), .integer(Int64(i % 3 == 0 ? 60_000 : 3_000))])
        }
        let told = outcomes.all
        let answered = Set(told.filter(\.value).keys)
        #expect(told.count == 40)
        #expect(answered.count < 40, "the database never filled up: the test proves nothing")
        #expect(try Self.stored(store) == answered)
        // The writer works again once there is room.
        try store.write { r in try r.database.execute("PRAGMA max_page_count = 1073741823") }
        try store.writeTogether { r in try r.database.run("INSERT INTO t(k, v) VALUES ('again', x'00')") }
        #expect(try Self.stored(store).contains("again"))
    }
}
