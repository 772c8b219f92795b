import CPSyncCore
import Foundation
import Testing
import TestSupport

@Suite struct ReplicaTests {
    @Test func insertsUpdatesAndDeletesAreCaptured() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeReplica(dir, "a")
        try a.database.run("INSERT INTO proposals(id, title, votes) VALUES ('p1', '关于加强农村饮水安全的提案', 3)")
        var changes = try a.allChanges()
        #expect(changes.count == 6)  // the row itself + 5 columns
        #expect(changes.contains { $0.column == nil && $0.causalLength == 1 })
        #expect(changes.first { $0.column == "title" }?.value == .text("关于加强农村饮水安全的提案"))
        #expect(changes.allSatisfy { $0.version.site == "a" && $0.base == nil })

        let seq = try a.sequence
        try a.database.run("UPDATE proposals SET votes = 4 WHERE id = 'p1'")
        changes = try a.changes(after: seq).changes
        #expect(changes.map(\.column) == ["votes"])
        #expect(changes[0].value == .integer(4))

        try a.database.run("DELETE FROM proposals WHERE id = 'p1'")
        changes = try a.allChanges()
        // The delete, plus what it had seen of the life it ended: one knowledge cell per column, no values.
        #expect(changes.filter { $0.column == nil }.map(\.causalLength) == [2])
        #expect(changes.filter { $0.column != nil }.count == 5)
        #expect(changes.allSatisfy { $0.column == nil || ($0.causalLength == 2 && $0.value == .null) })

        try a.database.run("INSERT INTO proposals(id, title) VALUES ('p1', '重新提交')")
        changes = try a.allChanges()
        #expect(changes.first { $0.column == nil }?.causalLength == 3)
        #expect(changes.first { $0.column == "title" && $0.causalLength == 3 }?.value == .text("重新提交"))
    }

    @Test func tenEditsOfOneCellAreOneChange() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeReplica(dir, "a")
        try a.database.run("INSERT INTO proposals(id) VALUES ('p1')")
        let seq = try a.sequence
        for i in 1...10 { try a.database.run("UPDATE proposals SET votes = ? WHERE id = 'p1'", [.integer(Int64(i))]) }
        let changes = try a.changes(after: seq).changes
        #expect(changes.count == 1)
        #expect(changes[0].value == .integer(10))
    }

    @Test func noOpUpdateCapturesNothing() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeReplica(dir, "a")
        try a.database.run("INSERT INTO proposals(id, title) VALUES ('p1', 'x')")
        let seq = try a.sequence
        try a.database.run("UPDATE proposals SET title = 'x' WHERE id = 'p1'")
        #expect(try a.changes(after: seq).changes.isEmpty)
        #expect(try a.sequence == seq)
    }

    @Test func mergeAppliesRemoteRowsWithoutRecapturingThem() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeReplica(dir, "a"), b = try makeReplica(dir, "b")
        try a.database.run("INSERT INTO proposals(id, title, votes, score, attachment) VALUES ('p1', '提案😀', 7, 0.5, x'00ff')")
        let result = try sync(a, to: b)
        #expect(result.applied == 6)
        #expect(try canonicalDump(a) == canonicalDump(b))
        // The merged changes keep their origin: nothing is re-stamped as b's own edit.
        #expect(try b.allChanges().allSatisfy { $0.version.site == "a" })
    }

    @Test func retryOfAnAppliedBatchIsAlreadyKnownAndNotAConflict() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeReplica(dir, "a"), b = try makeReplica(dir, "b")
        try a.database.run("INSERT INTO proposals(id, title) VALUES ('p1', 't')")
        let batch = try a.allChanges()
        try b.merge(batch)
        let seq = try b.sequence
        let again = try b.merge(batch)
        #expect(again.applied == 0 && again.alreadyKnown == batch.count && again.conflicts.isEmpty)
        #expect(try b.sequence == seq)
        #expect(try b.conflicts().isEmpty)
    }

    @Test func editingTwiceOfflineThenPushingIsNotAConflict() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let server = try makeReplica(dir, "server"), a = try makeReplica(dir, "a"), b = try makeReplica(dir, "b")
        try a.database.run("INSERT INTO proposals(id, title) VALUES ('p1', 'v0')")
        try sync(a, to: server); try sync(server, to: b)
        // b edits the same field twice offline, then pushes.
        try b.database.run("UPDATE proposals SET title = 'v1' WHERE id = 'p1'")
        try b.database.run("UPDATE proposals SET title = 'v2' WHERE id = 'p1'")
        let r = try sync(b, to: server)
        #expect(r.conflicts.isEmpty)
        #expect(try server.conflicts().isEmpty)
        #expect(try server.database.scalar("SELECT title FROM proposals") == .text("v2"))
    }

    @Test func editPushEditPushIsNotAConflict() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let server = try makeReplica(dir, "server"), a = try makeReplica(dir, "a")
        try a.database.run("INSERT INTO proposals(id, title) VALUES ('p1', 'v0')")
        var cursor: Int64 = 0
        for v in ["v1", "v2", "v3"] {
            try a.database.run("UPDATE proposals SET title = ? WHERE id = 'p1'", [.text(v)])
            let page = try a.changes(after: cursor)
            #expect(try server.merge(page.changes).conflicts.isEmpty)
            cursor = page.cursor
        }
        #expect(try server.conflicts().isEmpty)
        #expect(try canonicalDump(server) == canonicalDump(a))
    }

    @Test func editAfterPullingAnotherOfficesEditIsNotAConflict() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let server = try makeReplica(dir, "server"), a = try makeReplica(dir, "a"), b = try makeReplica(dir, "b")
        try a.database.run("INSERT INTO proposals(id, title) VALUES ('p1', 'v0')")
        try sync(a, to: server); try sync(server, to: b)
        try b.database.run("UPDATE proposals SET title = 'by b' WHERE id = 'p1'")
        try sync(b, to: server); try sync(server, to: a)
        try a.database.run("UPDATE proposals SET title = 'by a, after seeing b' WHERE id = 'p1'")
        #expect(try sync(a, to: server).conflicts.isEmpty)
        // And the old version arriving late at a replica that already has the newer one is no conflict either.
        #expect(try b.merge(a.allChanges()).conflicts.isEmpty)
    }

    @Test func concurrentEditsOfOneCellAreARecordedConflictWithBothValues() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let server = try makeReplica(dir, "server"), a = try makeReplica(dir, "a"), b = try makeReplica(dir, "b")
        try a.database.run("INSERT INTO proposals(id, title) VALUES ('p1', '原标题')")
        try sync(a, to: server); try sync(server, to: b)
        try a.database.run("UPDATE proposals SET title = '华山镇的标题' WHERE id = 'p1'")
        try b.database.run("UPDATE proposals SET title = '城关镇的标题' WHERE id = 'p1'")
        #expect(try sync(a, to: server).conflicts.isEmpty)
        let r = try sync(b, to: server)
        #expect(r.conflicts.count == 1)
        let c = try #require(try server.conflicts(status: .open).first)
        #expect(c.table == "proposals" && c.pk == "p1" && c.column == "title")
        #expect(Set([c.winnerValue, c.otherValue]) == [.text("华山镇的标题"), .text("城关镇的标题")])
        #expect(Set([c.winnerVersion.site, c.otherVersion.site]) == ["a", "b"])
        #expect(c.winnerVersion > c.otherVersion)
        #expect(try server.database.scalar("SELECT title FROM proposals") == c.winnerValue)
        // Re-sending the same batch records nothing new.
        _ = try sync(b, to: server)
        #expect(try server.conflicts().count == 1)
    }

    @Test func concurrentEditsWithTheSameValueAreNotAConflict() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let server = try makeReplica(dir, "server"), a = try makeReplica(dir, "a"), b = try makeReplica(dir, "b")
        try a.database.run("INSERT INTO proposals(id, title) VALUES ('p1', 'x')")
        try sync(a, to: server); try sync(server, to: b)
        try a.database.run("UPDATE proposals SET title = 'same' WHERE id = 'p1'")
        try b.database.run("UPDATE proposals SET title = 'same' WHERE id = 'p1'")
        try sync(a, to: server)
        #expect(try sync(b, to: server).conflicts.isEmpty)
    }

    @Test func resolvingTakesTheOtherValueAsANewChangeThatEveryReplicaReceives() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let server = try makeReplica(dir, "server"), a = try makeReplica(dir, "a"), b = try makeReplica(dir, "b")
        try a.database.run("INSERT INTO proposals(id, title) VALUES ('p1', 'x')")
        try sync(a, to: server); try sync(server, to: b)
        try a.database.run("UPDATE proposals SET title = 'A' WHERE id = 'p1'")
        try b.database.run("UPDATE proposals SET title = 'B' WHERE id = 'p1'")
        try sync(a, to: server); try sync(b, to: server)
        let c = try #require(try server.conflicts().first)
        let res = try server.resolve(conflictID: c.id, action: .takeOther, by: "admin 张三", note: "以华山镇为准")
        #expect(res.value == c.otherValue && res.before == c.winnerValue)
        #expect(try server.conflict(id: c.id).status == .resolved)
        #expect(throws: ReplicaError.conflictAlreadyResolved(c.id)) {
            try server.resolve(conflictID: c.id, action: .keep, by: "admin", note: nil)
        }
        #expect(throws: ReplicaError.conflictNotFound("999")) { try server.resolve(conflictID: "999", action: .keep, by: "x", note: nil) }
        try sync(server, to: a); try sync(server, to: b)
        for r in [a, b, server] { #expect(try r.database.scalar("SELECT title FROM proposals") == c.otherValue) }
        #expect(try server.resolutions().count == 1)
        #expect(throws: (any Error).self) { try server.database.execute("DELETE FROM _cp_resolutions") }
    }

    @Test func resolvingWithAValueOfTheWrongTypeIsRefused() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let server = try makeReplica(dir, "server"), a = try makeReplica(dir, "a"), b = try makeReplica(dir, "b")
        try a.database.run("INSERT INTO proposals(id, votes) VALUES ('p1', 1)")
        try sync(a, to: server); try sync(server, to: b)
        try a.database.run("UPDATE proposals SET votes = 2"); try b.database.run("UPDATE proposals SET votes = 3")
        try sync(a, to: server); try sync(b, to: server)
        let c = try #require(try server.conflicts().first)
        #expect(throws: ReplicaError.self) { try server.resolve(conflictID: c.id, action: .set(.text("很多")), by: "x", note: nil) }
        #expect(try server.conflict(id: c.id).status == .open)
        let res = try server.resolve(conflictID: c.id, action: .set(.integer(5)), by: "x", note: nil)
        #expect(res.value == .integer(5))
    }

    @Test func concurrentUpdateAndDeleteDeleteWins() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeReplica(dir, "a"), b = try makeReplica(dir, "b")
        try a.database.run("INSERT INTO proposals(id, title) VALUES ('p1', 'x')")
        try sync(a, to: b)
        try a.database.run("DELETE FROM proposals WHERE id = 'p1'")
        try b.database.run("UPDATE proposals SET title = 'later edit' WHERE id = 'p1'")
        try sync(a, to: b); try sync(b, to: a)
        #expect(try canonicalDump(a) == "" && canonicalDump(b) == "")
        // Re-creating the row brings it back everywhere.
        try b.database.run("INSERT INTO proposals(id, title) VALUES ('p1', '恢复')")
        try sync(b, to: a)
        #expect(try canonicalDump(a) == canonicalDump(b))
        #expect(try a.database.scalar("SELECT title FROM proposals") == .text("恢复"))
    }

    @Test func badInputRollsBackTheWholeMerge() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeReplica(dir, "a"), b = try makeReplica(dir, "b")
        try a.database.run("INSERT INTO proposals(id, title) VALUES ('p1', 'ok')")
        let good = try a.allChanges()
        let v = good[0].version
        let cases: [(Change, ReplicaError)] = [
            (Change(table: "secrets", pk: "p2", column: "x", value: .null, version: v, causalLength: 1), .unknownTable("secrets")),
            (Change(table: "proposals", pk: "p2", column: "nope", value: .null, version: v, causalLength: 1),
             .unknownColumn(table: "proposals", column: "nope")),
            (Change(table: "proposals", pk: "p2", column: "votes", value: .text("many"), version: v, causalLength: 1),
             .wrongType(table: "proposals", column: "votes", expected: "integer", got: "text")),
            (Change(table: "proposals", pk: "", column: "title", value: .text("x"), version: v, causalLength: 1),
             .malformedKey(table: "proposals", key: "", reason: "it is empty")),
        ]
        for (bad, expected) in cases {
            #expect(throws: expected) { try b.merge(good + [bad]) }
            #expect(try canonicalDump(b) == "")
            #expect(try b.sequence == 0)
        }
        #expect(try b.merge(good).applied == good.count)
    }

    @Test func tablesThatCannotConvergeAreRefused() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let r = try Replica(path: dir.path("r.db"), siteID: "r")
        try r.database.execute("""
            CREATE TABLE intkey (id INTEGER PRIMARY KEY, x TEXT);
            CREATE TABLE uniq (id TEXT PRIMARY KEY, code TEXT UNIQUE);
            CREATE TABLE nodefault (id TEXT PRIMARY KEY, name TEXT NOT NULL);
            CREATE TABLE parent (id TEXT PRIMARY KEY);
            CREATE TABLE child (id TEXT PRIMARY KEY, parent_id TEXT REFERENCES parent(id));
            """)
        for t in ["intkey", "uniq", "nodefault", "child"] {
            #expect(throws: ReplicaError.self) { try r.makeSynced(t) }
        }
        #expect(throws: ReplicaError.unknownTable("missing")) { try r.makeSynced("missing") }
        #expect(r.syncedTables.isEmpty)
    }

    @Test func rowsWrittenBeforeSyncingGetAVersion() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try Replica(path: dir.path("a.db"), siteID: "a")
        try a.database.execute(proposalsSQL)
        try a.database.run("INSERT INTO proposals(id, title) VALUES ('old1', '旧'), ('old2', '旧2')")
        try a.makeSynced("proposals")
        let b = try makeReplica(dir, "b")
        try sync(a, to: b)
        #expect(try canonicalDump(a) == canonicalDump(b))
        let page = try a.changes(after: 0, limit: 1)
        #expect(page.hasMore)
    }

    @Test func primaryKeyOfASyncedRowCannotChange() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeReplica(dir, "a")
        try a.database.run("INSERT INTO proposals(id) VALUES ('p1')")
        #expect(throws: SQLiteError.self) { try a.database.run("UPDATE proposals SET id = 'p2'") }
        #expect(throws: SQLiteError.self) { try a.database.run("INSERT INTO proposals(id) VALUES ('')") }
    }

    @Test func changesArePagedWithACursor() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeReplica(dir, "a"), b = try makeReplica(dir, "b")
        try a.database.transaction {
            for i in 0..<25 { try a.database.run("INSERT INTO proposals(id, votes) VALUES (?, ?)", [.text("p\(i)"), .integer(Int64(i))]) }
        }
        var cursor: Int64 = 0
        var pages = 0
        while true {
            let page = try a.changes(after: cursor, limit: 10)
            try b.merge(page.changes)
            cursor = page.cursor
            pages += 1
            if !page.hasMore { break }
        }
        #expect(pages == 3)
        #expect(try canonicalDump(a) == canonicalDump(b))
    }

    @Test func siteIdOfAnExistingReplicaIsKept() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        _ = try makeReplica(dir, "huashan")
        #expect(try Replica(path: dir.path("huashan.db")).siteID == "huashan")
        #expect(throws: ReplicaError.self) { try Replica(path: dir.path("huashan.db"), siteID: "other") }
        #expect(throws: ReplicaError.notAReplica(path: dir.path("none.db"))) { try Replica(path: dir.path("none.db"), create: false) }
    }
}

@Suite struct SharedFileTests {
    /// The county daemon opens reader connections while a push holds the write lock: opening must not wait for it.
    @Test func openingAnExistingReplicaDoesNotWaitForTheWriteLock() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let writer = try makeReplica(dir, "county")
        try writer.database.execute("BEGIN IMMEDIATE")
        defer { try? writer.database.execute("ROLLBACK") }
        let started = Date()
        let reader = try Replica(path: dir.path("county.db"), create: false)
        #expect(Date().timeIntervalSince(started) < 1)
        #expect(reader.siteID == "county")
    }

    /// The county server reads pulls through other connections than the one that merges pushes.
    @Test func aSecondConnectionSeesSitesRegisteredByTheFirst() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let writer = try makeReplica(dir, "county")
        let reader = try Replica(path: dir.path("county.db"))
        let office = try makeReplica(dir, "huashan")
        try office.database.run("INSERT INTO proposals(id, title) VALUES ('p1', '新提案')")
        try sync(office, to: writer)
        let changes = try reader.allChanges()
        #expect(changes.count == 6)
        #expect(changes.allSatisfy { $0.version.site == "huashan" })
        // And a site registered by the reader's connection later does not collide with the writer's numbering.
        let other = try makeReplica(dir, "chengguan")
        try other.database.run("INSERT INTO proposals(id) VALUES ('p2')")
        try reader.merge(other.allChanges())
        try writer.merge(office.allChanges() + other.allChanges())
        #expect(try canonicalDump(writer) == canonicalDump(reader))
    }
}

@Suite struct ForeignWriterTests {
    /// A clerk's own SQLite tool (here the sqlite3 shell) writes straight into the replica: still captured.
    @Test func writesFromTheSQLiteShellAreCapturedAndSync() throws {
        let shell = "/usr/bin/sqlite3"
        guard FileManager.default.isExecutableFile(atPath: shell) else {
            Issue.record("sqlite3 is not installed (apt-get install sqlite3; make test-deps does)")
            return
        }
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeReplica(dir, "a"), b = try makeReplica(dir, "b")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: shell)
        p.arguments = [dir.path("a.db"), """
            INSERT INTO proposals(id, title, votes) VALUES ('p1', '用 sqlite3 录入的提案', 2);
            UPDATE proposals SET votes = 3 WHERE id = 'p1';
            INSERT INTO proposals(id, title) VALUES ('p2', '将被删除');
            DELETE FROM proposals WHERE id = 'p2';
            """]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let changes = try a.allChanges()
        #expect(changes.first { $0.pk == "p1" && $0.column == "votes" }?.value == .integer(3))
        #expect(changes.first { $0.pk == "p2" }?.causalLength == 2)
        #expect(try a.database.scalar("SELECT count(*) FROM _cp_log") == .integer(0))
        try sync(a, to: b)
        #expect(try canonicalDump(a) == canonicalDump(b))
        // A shell write with an empty key is refused by the capture trigger, and nothing is logged.
        let bad = Process()
        bad.executableURL = URL(fileURLWithPath: shell)
        bad.arguments = [dir.path("a.db"), "INSERT INTO proposals(id) VALUES ('');"]
        bad.standardError = FileHandle.nullDevice
        try bad.run()
        bad.waitUntilExit()
        #expect(bad.terminationStatus != 0)
        #expect(try a.database.scalar("SELECT count(*) FROM proposals WHERE id = ''") == .integer(0))
    }
}

@Suite struct PagingTests {
    @Test func pagesHoldWholeRowsWithinTheChangeBound() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeReplica(dir, "a"), b = try makeReplica(dir, "b")
        try a.database.transaction {
            for i in 0..<40 { try a.database.run("INSERT INTO proposals(id, votes) VALUES (?, ?)", [.text("p\(i)"), .integer(Int64(i))]) }
        }
        var cursor: Int64 = 0
        var pages = 0
        while true {
            // A row here is 6 changes: 20 changes hold 3 whole rows.
            let page = try a.changes(after: cursor, maxChanges: 20)
            #expect(page.changes.count <= 20 && page.changes.count % 6 == 0)
            try b.merge(page.changes)
            cursor = page.cursor
            pages += 1
            if !page.hasMore { break }
        }
        #expect(pages == 14)
        #expect(try canonicalDump(a) == canonicalDump(b))
        // A bound smaller than one row still moves forward one whole row at a time.
        #expect(try a.changes(after: 0, maxChanges: 1).changes.count == 6)
    }
}
