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
        #expect(Set(o.replica.syncedTables) == Set(CPPCCSchema.tables))
    }

    @Test func aPopulatedReplicaMigratesToTheNextVersionAndTheNewColumnSyncs() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeOffice(dir, "county")
        try a.seedDemo()
        let before = try dump(a)
        let b = try makeOffice(dir, "huashan")
        try exchange(a, b)

        try CPPCCSchema.migrate(a.replica, to: 3)
        #expect(try CPPCCSchema.installedVersion(of: a.replica) == 3)
        #expect(try dump(a, excluding: ["wechat"]) == before)  // every row kept
        #expect(try a.replica.database.scalar("SELECT count(*) FROM members WHERE wechat IS NOT NULL") == .integer(0))
        let zhang = try a.member("张伟").id
        let seq = try a.replica.sequence
        try a.replica.database.run("UPDATE members SET wechat = 'zhangwei_hs' WHERE id = ?", [.text(zhang)])
        let captured = try a.replica.changes(after: seq).changes
        #expect(captured.map(\.column) == ["wechat"])

        try CPPCCSchema.migrate(b.replica, to: 3)
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
        try CPPCCSchema.migrate(a.replica, to: 3)
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
