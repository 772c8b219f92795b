import CPSyncCore
import CSQLite
import Foundation
import Testing
import TestSupport

@Suite struct DatabaseTests {
    static let edgeValues: [Value] = [
        .null, .integer(.min), .integer(.max), .integer(0), .real(-0.0), .real(0.0), .real(.greatestFiniteMagnitude),
        .real(.leastNonzeroMagnitude), .real(0.1), .text(""), .text("a\u{0}b"), .text("政协提案 八届四次会议"), .text("👩‍👩‍👧‍👦 emoji"),
        .blob([]), .blob([0, 0, 255]),
    ]

    @Test func valuesRoundTripExactly() throws {
        let db = try Database(path: ":memory:")
        try db.execute("CREATE TABLE v (x)")  // no declared type: no affinity conversion
        for v in Self.edgeValues {
            try db.run("DELETE FROM v")
            try db.run("INSERT INTO v VALUES (?)", [v])
            let back = try #require(try db.query("SELECT x FROM v").first?.first)
            #expect(back == v, "\(v.typeName) \(v)")
            #expect(back.typeName == v.typeName)
        }
    }

    /// The bind path of the merge (`executeInPlace`): every value of a statement with thousands of parameters, text
    /// and blobs copied into one buffer and bound where they lie there, arrives exactly, in its place; and the bytes
    /// are not read after the statement ran (a later statement with other values sees its own).
    @Test func manyValuesBoundInPlaceArriveExactlyInTheirPlaces() throws {
        let db = try Database(path: ":memory:")
        try db.execute("CREATE TABLE v (i INTEGER, x)")
        let rows = 600  // 1,200 parameters in one statement; no recursion, whatever the count
        var values: [Value] = []
        for i in 0..<rows {
            var v = Self.edgeValues[i % Self.edgeValues.count]
            if i % 7 == 0 { v = .text(String(repeating: "委员\(i)", count: i % 50)) }
            if i % 11 == 0 { v = .blob((0..<(i % 300)).map { UInt8(truncatingIfNeeded: $0 &* 31) }) }
            values += [.integer(Int64(i)), v]
        }
        let insert = try db.statement("INSERT INTO v VALUES " + Array(repeating: "(?, ?)", count: rows).joined(separator: ", "))
        try insert.executeInPlace(values)
        let back = try db.query("SELECT i, x FROM v ORDER BY i")
        #expect(back.count == rows)
        for (i, row) in back.enumerated() {
            #expect(row == [values[2 * i], values[2 * i + 1]], "row \(i)")
            #expect(row[1].typeName == values[2 * i + 1].typeName, "row \(i)")
        }
        // Run again with other values: the statement holds no binding of the first run.
        try db.execute("DELETE FROM v")
        let other = (0..<rows).flatMap { i -> [Value] in [.integer(Int64(i)), .text("第\(i)行")] }
        try insert.executeInPlace(other)
        #expect(try db.query("SELECT x FROM v WHERE i = 599") == [[.text("第599行")]])
    }

    /// What is read from SQLite and sent on must be valid UTF-8 byte for byte: the check keeps every valid text (Chinese,
    /// emoji, NUL, empty) and refuses every invalid one, including a bad sequence whose repair has the same length.
    @Test func utf8ValidationKeepsValidTextAndRefusesEveryBadSequence() {
        func check(_ bytes: [UInt8]) -> String? { bytes.withUnsafeBufferPointer { UTF8Bytes.string(validating: $0) } }
        for text in ["", "a\u{0}b", "政协提案 八届四次会议", "👩‍👩‍👧‍👦 emoji", "委员", String(repeating: "华山", count: 500)] {
            #expect(check(Array(text.utf8)) == text)
        }
        let bad: [[UInt8]] = [
            [0xFF], [0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
            [0xF0, 0x9F, 0x98, 0x41],  // a 4-byte sequence cut after 3 bytes: repaired as one U+FFFD, also 3 bytes
            Array("委员".utf8.dropLast()), Array("华山".utf8) + [0xE5, 0x8D],
        ]
        for bytes in bad { #expect(check(bytes) == nil, "\(bytes)") }
    }

    @Test func exactEqualityTellsNegativeZeroAndTypesApart() {
        #expect(Value.real(-0.0) != .real(0.0))
        #expect(Value.integer(1) != .real(1.0))
        #expect(Value.text("") != .blob([]))
        #expect(Value.text("") != .null)
    }

    @Test func transactionRollsBackOnErrorAndSavepointsNest() throws {
        let db = try Database(path: ":memory:")
        try db.execute("CREATE TABLE t (x INTEGER)")
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try db.transaction {
                try db.run("INSERT INTO t VALUES (1)")
                throw Boom()
            }
        }
        #expect(try db.scalar("SELECT count(*) FROM t") == .integer(0))
        try db.transaction {
            try db.run("INSERT INTO t VALUES (1)")
            try? db.transaction {
                try db.run("INSERT INTO t VALUES (2)")
                throw Boom()
            }
            try db.run("INSERT INTO t VALUES (3)")
        }
        #expect(try db.query("SELECT x FROM t ORDER BY x") == [[.integer(1)], [.integer(3)]])
        #expect(!db.isInTransaction)
    }

    /// A COMMIT that fails (a deferred foreign key here; a full disk in the field) rolls back and leaves the
    /// connection ready for the next transaction, nested ones included.
    @Test func aFailedCommitRollsBackAndTheNextTransactionWorks() throws {
        let db = try Database(path: ":memory:")
        try db.execute("""
            CREATE TABLE parent (id INTEGER PRIMARY KEY);
            CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);
            """)
        #expect(throws: SQLiteError.self) {
            try db.transaction { try db.run("INSERT INTO child VALUES (1, 42)") }
        }
        #expect(!db.isInTransaction)
        #expect(try db.scalar("SELECT count(*) FROM child") == .integer(0))
        try db.transaction {
            try db.run("INSERT INTO parent VALUES (42)")
            try db.transaction { try db.run("INSERT INTO child VALUES (1, 42)") }
        }
        #expect(try db.scalar("SELECT count(*) FROM child") == .integer(1))
        #expect(!db.isInTransaction)
    }

    @Test func errorsCarrySQLitesCodeAndMessage() throws {
        let db = try Database(path: ":memory:")
        do {
            try db.run("SELECT * FROM nowhere")
            Issue.record("expected an error")
        } catch {
            #expect(error.primaryCode == SQLITE_ERROR)
            #expect(error.message.contains("no such table"))
            #expect(error.sql == "SELECT * FROM nowhere")
        }
        try db.execute("CREATE TABLE c (x INTEGER CHECK (x > 0))")
        do {
            try db.run("INSERT INTO c VALUES (0)")
            Issue.record("expected an error")
        } catch {
            #expect(error.isConstraint)
            #expect(error.code == 275)  // SQLITE_CONSTRAINT_CHECK (a macro Swift cannot import)
        }
    }

    @Test func lockedDatabaseWaitsForBusyTimeoutThenFailsClearly() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let holder = try Database(path: dir.path("x.db"))
        try holder.execute("CREATE TABLE t (x)")
        try holder.execute("BEGIN IMMEDIATE")
        let waiter = try Database(path: dir.path("x.db"), busyTimeoutMilliseconds: 200)
        let start = Date()
        do {
            try waiter.transaction { try waiter.run("INSERT INTO t VALUES (1)") }
            Issue.record("expected SQLITE_BUSY")
        } catch let e as SQLiteError {
            #expect(e.isBusy)
            #expect(e.description.contains("locked"))
        }
        #expect(Date().timeIntervalSince(start) >= 0.15)
        try holder.execute("ROLLBACK")
    }

    @Test func openingWithWALAndForeignKeys() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try Database(path: dir.path("w.db"))
        #expect(try db.scalar("PRAGMA journal_mode") == .text("wal"))
        #expect(try db.scalar("PRAGMA foreign_keys") == .integer(1))
        // A commit is on disk when it returns (2 = FULL): a power cut must not undo a saved edit or an acknowledged push.
        #expect(try db.scalar("PRAGMA synchronous") == .integer(2))
    }
}

@Suite struct HLCTests {
    /// A transaction that need not wait for the disk (a pull page, a push cursor) commits like any other, and every
    /// transaction after it waits for the disk again, also after one that failed; nested, it changes nothing.
    @Test func aTransactionThatNeedNotWaitForTheDiskLeavesTheNextOnesDurable() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try Database(path: dir.path("d.db"))
        try db.execute("CREATE TABLE t (x)")
        try db.transaction(durable: false) {
            #expect(try db.scalar("PRAGMA synchronous") == .integer(1))
            try db.run("INSERT INTO t VALUES ('拉取的一页')")
        }
        #expect(try db.scalar("PRAGMA synchronous") == .integer(2))
        #expect(throws: SQLiteError.self) {
            try db.transaction(durable: false) { try db.run("INSERT INTO nowhere VALUES (1)") }
        }
        #expect(try db.scalar("PRAGMA synchronous") == .integer(2))
        try db.transaction {
            try db.transaction(durable: false) { try db.run("INSERT INTO t VALUES ('嵌套')") }
            #expect(try db.scalar("PRAGMA synchronous") == .integer(2))
        }
        #expect(try Database(path: dir.path("d.db")).query("SELECT x FROM t ORDER BY rowid") == [[.text("拉取的一页")], [.text("嵌套")]])
    }

    @Test func tickIsMonotonicAndFollowsTheWallClock() {
        let wall = HLC(milliseconds: 1_000)
        #expect(HLC(milliseconds: 500).tick(wall: wall) == wall)
        let ahead = HLC(milliseconds: 2_000, counter: 5)
        #expect(ahead.tick(wall: wall) == HLC(milliseconds: 2_000, counter: 6))
        #expect(HLC(milliseconds: 7, counter: 3).milliseconds == 7 && HLC(milliseconds: 7, counter: 3).counter == 3)
    }

    @Test func versionOrderBreaksTiesBySite() {
        let h = HLC(milliseconds: 10)
        #expect(Version(hlc: h, site: "a") < Version(hlc: h, site: "b"))
        #expect(Version(hlc: HLC(milliseconds: 9), site: "z") < Version(hlc: h, site: "a"))
    }

    @Test func aCellsVersionsOnlyMoveForwardEvenWhenTheWallClockGoesBack() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var r: Replica? = try makeReplica(dir, "a")
        try r!.database.run("INSERT INTO proposals(id, title) VALUES ('p1', '旧')")
        // Pretend the row was written with a clock one day ahead (the PC clock was wrong then).
        let future = HLC(milliseconds: HLC.wallClock().milliseconds + 86_400_000)
        try r!.database.run("UPDATE _cp_log SET hlc = ?", [.integer(future.rawValue)])
        r = nil
        let reopened = try Replica(path: dir.path("a.db"))
        try reopened.database.run("UPDATE proposals SET title = '新' WHERE id = 'p1'")
        let title = try #require(try reopened.allChanges().first { $0.column == "title" })
        #expect(title.version.hlc > future)
        #expect(try reopened.clock >= title.version.hlc)
    }

    @Test func aClockThatWasAheadDoesNotStampLaterEditsOfOtherCells() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let r = try makeReplica(dir, "a")
        try r.database.run("INSERT INTO proposals(id) VALUES ('p1')")
        try r.database.run("UPDATE _cp_log SET hlc = ?", [.integer(HLC(milliseconds: HLC.wallClock().milliseconds + 86_400_000).rawValue)])
        try r.foldLog()
        let before = HLC.wallClock()
        try r.database.run("INSERT INTO proposals(id) VALUES ('p2')")
        let p2 = try #require(try r.allChanges().first { $0.pk == "p2" && $0.column == nil })
        #expect(p2.version.hlc.milliseconds - before.milliseconds < 60_000, "p2 was stamped \(p2.version.hlc), not now")
    }

    @Test func mergeAdvancesTheLocalClockAndLaterEditsOfThatCellStampPastIt() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeReplica(dir, "a"), b = try makeReplica(dir, "b")
        try a.database.run("INSERT INTO proposals(id) VALUES ('p1')")
        try a.database.run("UPDATE _cp_log SET hlc = ?", [.integer(HLC(milliseconds: HLC.wallClock().milliseconds + 60_000).rawValue)])
        try sync(a, to: b)
        let aVersion = try #require(try a.allChanges().first { $0.column == "votes" }).version
        #expect(try b.clock >= aVersion.hlc)
        try b.database.run("UPDATE proposals SET votes = 1")
        let bVersion = try #require(try b.allChanges().first { $0.column == "votes" }).version
        #expect(bVersion.hlc > aVersion.hlc)
        #expect(try b.allChanges().first { $0.column == "votes" }?.base == aVersion)
    }
}

@Suite struct SHA256Tests {
    @Test func matchesTheStandardTestVectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(String(repeating: "a", count: 1000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}

@Suite struct SHA256BlockBoundaryTests {
    /// Messages around the 55/56/64-byte padding boundaries and longer than one block.
    @Test func lengthsAroundBlockBoundariesMatchAReference() throws {
        let expected: [Int: String] = [
            55: "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318",
            56: "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a",
            64: "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb",
            119: "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb",
        ]
        for (n, hex) in expected { #expect(SHA256.hex(String(repeating: "a", count: n)) == hex, "length \(n)") }
    }
}
