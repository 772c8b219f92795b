import CPPCC
import CPSyncCore
import Foundation
import Testing
import TestSupport

@Suite struct SchemaMigrationTests {
    @Test func installRecordsTheVersionAndIsIdempotent() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try makeOffice(dir, "county")
        #expect(try CPPCCSchema.installedVersion(of: o.replica) == CPPCCSchema.version)
        try CPPCCSchema.install(on: o.replica)
        #expect(Set(o.replica.syncedTables) == Set(CPPCCSchema.tables + Attachments.tables))
    }

    @Test func aPopulatedReplicaMigratesToTheNextVersionAndTheNewColumnSyncs() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeOffice(dir, "county")
        try a.seedDemo()
        let before = try dump(a)
        let b = try makeOffice(dir, "huashan")
        try exchange(a, b)

        try CPPCCSchema.migrate(a.replica, to: 4)
        #expect(try CPPCCSchema.installedVersion(of: a.replica) == 4)
        #expect(try dump(a, excluding: ["wechat"]) == before)  // every row kept
        #expect(try a.replica.database.scalar("SELECT count(*) FROM members WHERE wechat IS NOT NULL") == .integer(0))
        let zhang = try a.member("张伟").id
        let seq = try a.replica.sequence
        try a.replica.database.run("UPDATE members SET wechat = 'zhangwei_hs' WHERE id = ?", [.text(zhang)])
        let captured = try a.replica.changes(after: seq).changes
        #expect(captured.map(\.column) == ["wechat"])

        try CPPCCSchema.migrate(b.replica, to: 4)
        try b.replica.merge(captured)
        #expect(try b.replica.database.scalar("SELECT wechat FROM members WHERE id = ?", [.text(zhang)]) == .text("zhangwei_hs"))
        try exchange(b, a)
        #expect(try dump(a) == dump(b))
    }

    @Test func aChangeToANewerColumnIsRefusedByAnOlderReplicaAndNothingIsApplied() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeOffice(dir, "county"), old = try makeOffice(dir, "taohe")
        let m = try a.addMember(Member(name: "杨丽"))
        try exchange(a, old)
        try CPPCCSchema.migrate(a.replica, to: 4)
        let seq = try a.replica.sequence
        try a.replica.database.run("UPDATE members SET wechat = 'yangli', phone = '13800000000' WHERE id = ?", [.text(m.id)])
        let changes = try a.replica.changes(after: seq).changes
        let oldDump = try dump(old), oldSeq = try old.replica.sequence
        #expect(throws: ReplicaError.unknownColumn(table: "members", column: "wechat")) { try old.replica.merge(changes) }
        #expect(try dump(old) == oldDump && old.replica.sequence == oldSeq)  // not even the phone change
        // Older changes still merge into the newer replica: a newer server holds older data.
        try old.replica.database.run("UPDATE members SET sector = '农业' WHERE id = ?", [.text(m.id)])
        try exchange(old, a)
        #expect(try a.member(m.id).sector == "农业")
    }

    @Test func aV2ReplicaGainsTheAttachmentTablesSyncedAndRuled() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let replica = try Replica(path: dir.path("v2.db"), siteID: "huashan")
        try CPPCCSchema.install(on: replica, upTo: 2)
        #expect(!(try replica.database.tableExists("member_attachments")))
        try CPPCCSchema.prepare(replica)
        #expect(try CPPCCSchema.installedVersion(of: replica) == CPPCCSchema.version)
        #expect(Set(Attachments.tables).isSubset(of: Set(replica.syncedTables)))
        let seq = try replica.sequence
        try replica.database.run("INSERT INTO member_attachments(id, member_id, name, size, sha256) VALUES ('a1', NULL, '照片.jpg', 3, ?)",
                                 [.text(String(repeating: "a", count: 64))])
        #expect(try replica.changes(after: seq).changes.contains { $0.table == "member_attachments" && $0.column == "name" })
    }

    @Test func unknownVersionsAreRefused() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try makeOffice(dir, "county")
        #expect(throws: CPPCCError.schemaTooNew(replica: 99, known: CPPCCSchema.latestKnownVersion)) {
            try CPPCCSchema.migrate(o.replica, to: 99)
        }
        try o.replica.setMeta(CPPCCSchema.metaKey, .integer(99))
        #expect(throws: CPPCCError.self) { try Office(o.replica) }
    }
}
