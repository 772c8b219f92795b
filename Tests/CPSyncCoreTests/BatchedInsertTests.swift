import CPSyncCore
import Foundation
import Testing
import TestSupport

/// A merge inserts the rows it creates several per statement (`PendingInserts`). What must hold: the tables end the
/// same as when every row has its own merge (one insert each), a trigger that reads another table sees the rows
/// merged before it, a row merged twice in one merge is read back with its first part, and a refused row is named
/// and leaves nothing applied.
@Suite struct BatchedInsertTests {
    static let notesSQL = "CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY NOT NULL, proposal_id TEXT, body TEXT NOT NULL DEFAULT '')"

    /// A replica with proposals and notes; a note may be merged only when its proposal is there.
    func replica(_ dir: TempDir, _ name: String) throws -> Replica {
        let r = try makeReplica(dir, name)
        try r.database.execute(Self.notesSQL)
        try r.makeSynced("notes")
        try r.database.execute("""
            CREATE TRIGGER notes_need_proposal BEFORE INSERT ON notes
            WHEN (SELECT merging FROM _cp_state) = 1 AND NOT EXISTS (SELECT 1 FROM proposals WHERE id = NEW.proposal_id)
            BEGIN SELECT RAISE(ABORT, 'cpsync-test: the note''s proposal is not there'); END;
            CREATE TRIGGER notes_move_need_proposal BEFORE UPDATE OF proposal_id ON notes
            WHEN (SELECT merging FROM _cp_state) = 1 AND NOT EXISTS (SELECT 1 FROM proposals WHERE id = NEW.proposal_id)
            BEGIN SELECT RAISE(ABORT, 'cpsync-test: the note''s new proposal is not there'); END
            """)
        return r
    }

    /// Changes split into runs of one row each, in order.
    func rows(_ changes: [Change]) -> [[Change]] {
        var out: [[Change]] = []
        for c in changes {
            if let last = out.last?.last, last.table == c.table, last.pk == c.pk { out[out.count - 1].append(c) } else { out.append([c]) }
        }
        return out
    }

    @Test func batchesEndAsOneInsertPerRowWouldAndParentsComeFirst() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try replica(dir, "a"), batched = try replica(dir, "batched"), single = try replica(dir, "single")
        var rng = SystemRandomNumberGenerator()
        // 150 proposals (more than four batches, and a remainder) with varying sets of columns, then notes on them:
        // the notes' trigger fails if any proposal is still waiting in a batch when the first note is written.
        try a.database.transaction {
            for i in 0..<150 {
                let id = String(format: "p%03d", i)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: try a.database.run("INSERT INTO proposals(id) VALUES (?)", [.text(id)])
                case 1: try a.database.run("INSERT INTO proposals(id, title) VALUES (?, ?)", [.text(id), .text("关于第\(i)号提案的建议")])
                case 2: try a.database.run("INSERT INTO proposals(id, title, votes, score) VALUES (?, ?, ?, ?)",
                                           [.text(id), .text("委员提案\(i)"), .integer(Int64(i)), .real(Double(i) / 4)])
                default: try a.database.run("INSERT INTO proposals(id, body, attachment) VALUES (?, ?, ?)",
                                            [.text(id), .text("正文\(i)"), .blob([UInt8(i % 256), 0, 255])])
                }
            }
            for i in 0..<70 {
                try a.database.run("INSERT INTO notes(id, proposal_id, body) VALUES (?, ?, ?)",
                                   [.text("n\(i)"), .text(String(format: "p%03d", i * 2)), .text("办理意见\(i)")])
            }
        }
        // Then notes and their proposals interleaved: each row switches table.
        for i in 150..<160 {
            try a.database.run("INSERT INTO proposals(id, title) VALUES (?, ?)", [.text("p\(i)"), .text("交替\(i)")])
            try a.database.run("INSERT INTO notes(id, proposal_id) VALUES (?, ?)", [.text("n\(i)"), .text("p\(i)")])
        }
        var changes = try a.allChanges()
        // A row of the last, unflushed batch of the first block (p128…p149) comes again later in the same merge,
        // after another row (a second run of that row).
        let lastProposal = try #require(changes.first { $0.table == "proposals" && $0.pk == "p140" && $0.column == nil })
        let rewrite = Change(table: "proposals", pk: lastProposal.pk, column: "title", value: .text("改后的标题"),
                             version: Version(hlc: HLC(rawValue: lastProposal.version.hlc.rawValue + 1_000_000), site: "a"),
                             causalLength: 1)
        let firstBatchRow = try #require(changes.first { $0.table == "proposals" && $0.column == nil })
        let rewriteFirst = Change(table: "proposals", pk: firstBatchRow.pk, column: "votes", value: .integer(99),
                                  version: Version(hlc: HLC(rawValue: firstBatchRow.version.hlc.rawValue + 1_000_000), site: "a"),
                                  causalLength: 1)
        let lastProposalIndex = try #require(changes.lastIndex { $0.table == "proposals" && $0.pk == "p141" })
        changes.insert(contentsOf: [rewrite], at: lastProposalIndex + 1)
        changes.insert(rewriteFirst, at: try #require(changes.firstIndex { $0.table == "notes" }))

        let result = try batched.merge(changes)
        for run in rows(changes) { try single.merge(run) }
        #expect(try canonicalDump(batched, tables: ["proposals", "notes"]) == canonicalDump(single, tables: ["proposals", "notes"]))
        #expect(try batched.database.scalar("SELECT count(*) FROM proposals")?.int64Value == 160)
        #expect(try batched.database.scalar("SELECT count(*) FROM notes")?.int64Value == 80)
        #expect(try batched.database.scalar("SELECT title FROM proposals WHERE id = ?", [.text(lastProposal.pk)]) == .text("改后的标题"))
        #expect(try batched.database.scalar("SELECT votes FROM proposals WHERE id = ?", [.text(firstBatchRow.pk)]) == .integer(99))
        #expect(result.applied == changes.count)
        // Merged rows were not captured as local writes, and the versions travel on: a third replica gets the same.
        let third = try replica(dir, "third")
        try third.merge(try batched.allChanges())
        #expect(try canonicalDump(third, tables: ["proposals", "notes"]) == canonicalDump(batched, tables: ["proposals", "notes"]))
        #expect(try batched.allChanges().allSatisfy { $0.version.site == "a" })
    }

    /// New keys' shadow rows (their versions) are inserted several per statement too, and a table whose shadow was
    /// empty is not searched for keys it cannot hold. Both must end as one merge per row would: in a table that
    /// already has rows and in an empty one, with a row that comes again while its shadow row is still waiting.
    @Test func versionsOfNewRowsEndAsOneMergePerRowWouldInFullAndEmptyTables() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try replica(dir, "a")
        try a.database.transaction {
            for i in 0..<40 { try a.database.run("INSERT INTO proposals(id, title) VALUES (?, ?)", [.text("old\(i)"), .text("旧提案\(i)")]) }
        }
        let first = try a.allChanges()
        let cursor = try a.sequence
        try a.database.transaction {
            for i in 0..<100 {
                try a.database.run("INSERT INTO proposals(id, title, votes) VALUES (?, ?, ?)", [.text(String(format: "new%03d", i)), .text("新提案\(i)"), .integer(Int64(i))])
                if i % 7 == 0 { try a.database.run("UPDATE proposals SET title = ? WHERE id = ?", [.text("改\(i)"), .text("old\(i % 40)")]) }
            }
            for i in 0..<30 { try a.database.run("INSERT INTO notes(id, proposal_id, body) VALUES (?, ?, ?)", [.text("n\(i)"), .text(String(format: "new%03d", i * 3)), .text("意见\(i)")]) }
        }
        var later = try a.changes(after: cursor).changes
        // new005's shadow row is still waiting (fewer than a batch of new rows came after it) when the row comes again.
        let again = try #require(later.first { $0.pk == "new005" && $0.column == nil })
        let rewrite = Change(table: "proposals", pk: "new005", column: "votes", value: .integer(500),
                             version: Version(hlc: HLC(rawValue: again.version.hlc.rawValue + 1_000_000), site: "a"), causalLength: 1)
        later.insert(rewrite, at: try #require(later.firstIndex { $0.pk == "new009" }))
        for (label, base) in [("full", first), ("empty", [])] {
            let batched = try replica(dir, "batched-\(label)"), single = try replica(dir, "single-\(label)")
            for r in [batched, single] where !base.isEmpty { try r.merge(base) }
            try batched.merge(later)
            for run in rows(later) { try single.merge(run) }
            #expect(try canonicalDump(batched, tables: ["proposals", "notes"]) == canonicalDump(single, tables: ["proposals", "notes"]), "\(label)")
            // The versions too: what each would send on is the same, and a row merged again has its later cell.
            #expect(Set(try batched.allChanges()) == Set(try single.allChanges()), "\(label)")
            #expect(try batched.database.scalar("SELECT votes FROM proposals WHERE id = 'new005'") == .integer(500))
            #expect(try batched.database.scalar("SELECT count(*) FROM proposals")?.int64Value == (base.isEmpty ? 100 + 15 : 140))
            // Merging it all again changes nothing: every version is found where it was stored.
            #expect(try batched.merge(later).applied == 0, "\(label)")
        }
    }

    @Test func aTriggerOnAnotherTableSeesTheRowsMergedBeforeIt() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try replica(dir, "a"), b = try replica(dir, "b")
        try a.database.run("INSERT INTO proposals(id, title) VALUES ('old', '旧提案')")
        try a.database.run("INSERT INTO notes(id, proposal_id, body) VALUES ('moving', 'old', '转办')")
        try b.merge(try a.allChanges())
        let cursor = try a.sequence
        // New proposals (fewer than a batch: all still waiting when the note is updated), then the note moves to the
        // last of them: an update, written at once, whose trigger looks for that proposal.
        try a.database.transaction {
            for i in 0..<20 { try a.database.run("INSERT INTO proposals(id, title) VALUES (?, ?)", [.text("new\(i)"), .text("新提案\(i)")]) }
            try a.database.run("UPDATE notes SET proposal_id = 'new19' WHERE id = 'moving'")
        }
        let changes = try a.changes(after: cursor).changes
        #expect(changes.last?.table == "notes")
        try b.merge(changes)
        #expect(try b.database.scalar("SELECT proposal_id FROM notes WHERE id = 'moving'") == .text("new19"))
        #expect(try b.database.scalar("SELECT count(*) FROM proposals")?.int64Value == 21)
    }

    @Test func aRowATriggerRefusesInTheMiddleOfABatchIsNamedAndNothingIsApplied() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeReplica(dir, "a"), b = try makeReplica(dir, "b")
        try b.database.execute("""
            CREATE TRIGGER refuse_returned BEFORE INSERT ON proposals WHEN (SELECT merging FROM _cp_state) = 1 AND NEW.title = '退回'
            BEGIN SELECT RAISE(ABORT, 'cpsync-test: a returned proposal is not merged'); END
            """)
        try a.database.transaction {
            for i in 0..<50 {
                try a.database.run("INSERT INTO proposals(id, title) VALUES (?, ?)", [.text(String(format: "p%02d", i)), .text(i == 37 ? "退回" : "提案\(i)")])
            }
        }
        let before = try b.sequence
        #expect {
            try b.merge(try a.allChanges())
        } throws: { error in
            guard case .rowRefused(let table, let key, let reason) = error as? ReplicaError else { return false }
            return table == "proposals" && key == "p37" && reason.contains("returned proposal")
        }
        #expect(try b.database.scalar("SELECT count(*) FROM proposals")?.int64Value == 0)
        #expect(try b.sequence == before)
        #expect(try b.allChanges().isEmpty)
    }

    @Test func aConstraintFailingInABatchIsAnSQLiteConstraintErrorAndNothingIsApplied() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeReplica(dir, "a")
        let b = try Replica(path: dir.path("b.db"), siteID: "b")
        try b.database.execute(proposalsSQL.replacingOccurrences(of: "votes INTEGER NOT NULL DEFAULT 0,", with: "votes INTEGER NOT NULL DEFAULT 0 CHECK (votes >= 0),"))
        try b.makeSynced("proposals")
        try a.database.transaction {
            for i in 0..<40 {
                try a.database.run("INSERT INTO proposals(id, votes) VALUES (?, ?)", [.text("p\(i)"), .integer(i == 20 ? -1 : Int64(i))])
            }
        }
        #expect {
            try b.merge(try a.allChanges())
        } throws: { error in
            (error as? SQLiteError)?.isConstraint == true || (error as? ReplicaError).map { "\($0)".contains("CHECK") } == true
        }
        #expect(try b.database.scalar("SELECT count(*) FROM proposals")?.int64Value == 0)
        #expect(try b.allChanges().isEmpty)
    }
}
