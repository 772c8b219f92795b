import CPPCC
import CPSyncCore
import CPSyncProtocol
import CPSyncServer
import Foundation
import Testing

/// The county's side of sync by USB stick, without processes: a changes file is merged as the station's push and
/// answered with a reply signed with the station's key; a relay is accepted only from above the station.
@Suite struct ChangeFileImporterTests {
    final class Scratch {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-cfi-\(UUID().uuidString.prefix(8))")
        deinit { try? FileManager.default.removeItem(at: dir) }
    }

    struct County {
        let scratch = Scratch()
        let store: ServerStore
        let importer: ChangeFileImporter
        let token: String

        init() throws {
            store = try ServerStore(dataDirectory: scratch.dir.path)
            _ = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil)
            _ = try store.addSite(id: "huashan", name: "华山镇政协工委", kind: "township", parent: "county")
            _ = try store.addSite(id: "chengguan", name: "城关镇政协工委", kind: "township", parent: "county")
            token = try store.addSite(id: "xiyuan", name: "西苑社区联络站", kind: "station", parent: "huashan")
            importer = ChangeFileImporter(service: SyncService(store: store, log: EventLog(enabled: false)))
        }

        /// A changes file of the station holding one new member.
        func changesFile(name: String = "王秀英", key: [UInt8]? = nil) -> [UInt8] {
            let hlc = HLC(milliseconds: HLC.wallClock().milliseconds - 60_000)
            let v = { (n: Int64) in Version(hlc: HLC(rawValue: hlc.rawValue + n), site: "xiyuan") }
            let changes = [
                Change(table: "members", pk: "m-xy-1", column: nil, value: .null, version: v(0), causalLength: 1),
                Change(table: "members", pk: "m-xy-1", column: "name", value: .text(name), version: v(1), causalLength: 1),
                Change(table: "members", pk: "m-xy-1", column: "site_id", value: .text("xiyuan"), version: v(2), causalLength: 1),
            ]
            let batch = PushRequest(schemaVersion: CPPCCSchema.version, batchId: "b-1", site: "xiyuan", changes: changes)
            let header = ChangeFileHeader(kind: .changes, site: "xiyuan", fileId: UUID().uuidString, createdAt: HLC.wallClock().milliseconds,
                                          epoch: nil, schemaVersion: batch.schemaVersion, pullAfter: 0, pullSince: 0, pushAfter: 0, pushSince: 0,
                                          pushThrough: 3, outbox: [], batches: 1)
            return ChangeFile(header: header, lines: [batch.encoded()]).signed(key: key ?? ChangeFile.key(token: token, site: "xiyuan"))
        }
    }

    @Test func aChangesFileIsMergedAsTheStationsPushAndTheReplyIsSignedForIt() throws {
        let c = try County()
        let file = c.changesFile()
        let (reply, summary) = try c.importer.importFile(file)
        #expect(summary.site == "xiyuan" && summary.applied == 3 && summary.replayed == 0)
        let opened = try ChangeFile.open(reply) { _ in ChangeFile.key(token: c.token, site: "xiyuan") }
        #expect(opened.header.kind == .reply && opened.header.pushComplete == true && opened.header.batches == 1)
        #expect(try opened.decode(BatchResult.self, line: 0).response?.applied == 3)
        let pulled = try (1..<opened.lines.count).flatMap { try opened.decode(PullResponse.self, line: $0).changes }
        #expect(pulled.contains { $0.pk == "m-xy-1" && $0.column == "name" && $0.value == .text("王秀英") })
        #expect(!pulled.contains { $0.table == "members" && $0.pk != "m-xy-1" })
        // Twice: replayed, nothing new.
        let (_, again) = try c.importer.importFile(file)
        #expect(again.applied == 0 && again.replayed == 1 && again.errors.isEmpty)
        // Another file reusing that batch id for other changes: as the station's HTTP client would, the county sends
        // them again under an id of their own (the same on every import): applied, acknowledged, replayed next time.
        let otherFile = c.changesFile(name: "王秀芳")
        let (otherReply, other) = try c.importer.importFile(otherFile)
        #expect(other.errors.isEmpty && other.applied > 0 && other.replayed == 0, "\(other)")
        let otherOpened = try ChangeFile.open(otherReply) { _ in ChangeFile.key(token: c.token, site: "xiyuan") }
        #expect(otherOpened.header.pushComplete == true)
        #expect(try otherOpened.decode(BatchResult.self, line: 0).error == nil)
        let (_, otherAgain) = try c.importer.importFile(otherFile)
        #expect(otherAgain.applied == 0 && otherAgain.replayed == 1 && otherAgain.errors.isEmpty, "\(otherAgain)")
    }

    @Test func aFileSignedWithAnotherKeyOrOfARevokedSiteIsRefused() throws {
        let c = try County()
        #expect(throws: ChangeFileError.badSignature(site: "xiyuan")) {
            try c.importer.importFile(c.changesFile(key: ChangeFile.key(token: "not the token", site: "xiyuan")))
        }
        // A re-issued token: files signed with the old one no longer verify.
        let file = c.changesFile()
        _ = try c.store.issueSiteToken("xiyuan")
        #expect(throws: ChangeFileError.badSignature(site: "xiyuan")) { try c.importer.importFile(file) }
        try c.store.revokeSite("xiyuan")
        #expect(throws: ChangeFileError.revokedSite("xiyuan")) { try c.importer.importFile(file) }
        #expect(try c.store.read { try $0.database.scalar("SELECT count(*) FROM members") } == .integer(0))
    }

    @Test func onlyAnOfficeAboveTheStationMayRelayItsFile() throws {
        let c = try County()
        let refusal = #expect(throws: ErrorBody.self) { try c.importer.relay(c.changesFile(), by: "chengguan") }
        #expect(refusal?.code == .forbidden)
        #expect(try c.store.read { try $0.database.scalar("SELECT count(*) FROM members") } == .integer(0))
        let reply = try c.importer.relay(c.changesFile(), by: "huashan")
        #expect(try ChangeFile.open(reply) { _ in ChangeFile.key(token: c.token, site: "xiyuan") }.header.replyTo != nil)
    }
}
