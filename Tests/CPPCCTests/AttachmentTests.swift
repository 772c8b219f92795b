import CPPCC
import CPSyncCore
import Foundation
import Testing
import TestSupport

/// Attachment rows follow their records: the same permissions and scope, refused at attach time by what the county
/// would refuse, and nothing written when refused.
@Suite struct AttachmentTests {
    /// A county office with the site tree, and huashan's office holding it.
    static func tree(_ dir: TempDir) throws -> (county: Office, huashan: Office) {
        let county = try makeOffice(dir, "county")
        try county.saveSite(Site(id: "county", name: "某县政协", kind: .county, parentID: nil))
        try county.saveSite(Site(id: "huashan", name: "华山镇政协工委", kind: .township, parentID: "county"))
        try county.saveSite(Site(id: "xiyuan", name: "西园镇政协工委", kind: .township, parentID: "county"))
        let huashan = try makeOffice(dir, "huashan")
        try exchange(county, huashan)
        return (county, huashan)
    }

    static func file(_ dir: TempDir, _ name: String, bytes: Int) -> String {
        let path = dir.path(name)
        _ = FileManager.default.createFile(atPath: path, contents: Data((0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 31) }))
        return path
    }

    @Test func anOfficeAttachesToItsOwnRecordAndTheRowSyncsWithItsRecord() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (county, huashan) = try Self.tree(dir)
        let store = try BlobStore(directory: dir.path("h.files"))
        let wang = try huashan.addMember(Member(name: "王芳", siteID: "huashan"))
        let a = try Attachments.add(huashan, to: .init(kind: Attachments.kinds[3], key: "王芳"), file: Self.file(dir, "照片.jpg", bytes: 5000),
                                    store: store, limits: BlobLimits())
        #expect(a.recordID == wang.id && a.mediaType == "image/jpeg" && a.size == 5000 && a.addedBy == "huashan")
        #expect(store.has(a.sha256))
        try exchange(huashan, county)
        let there = try Attachments.list(county, record: .init(kind: Attachments.kinds[3], key: wang.id))
        #expect(there.map(\.sha256) == [a.sha256] && there.first?.name == "照片.jpg")
        #expect(try Attachments.referenced(in: county.replica).map(\.hash) == [a.sha256])
        // Removed at the office: the delete syncs.
        _ = try Attachments.remove(huashan, id: String(a.id.prefix(8)))
        try exchange(huashan, county)
        #expect(try Attachments.list(county).isEmpty)
    }

    @Test func anOfficeCannotAttachToAnotherSitesRecordNorToAFiledProposal() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (county, huashan) = try Self.tree(dir)
        let store = try BlobStore(directory: dir.path("h.files"))
        let li = try county.addMember(Member(name: "李明", siteID: "xiyuan"))
        let p = try county.addProposal(Proposal(year: 2026, title: "关于改善农村道路的建议", siteID: "huashan"))
        _ = try county.file(p.id)
        try exchange(county, huashan)
        let photo = Self.file(dir, "photo.png", bytes: 100)
        #expect(throws: (any Error).self) {
            _ = try Attachments.add(huashan, to: .init(kind: Attachments.kinds[3], key: li.id), file: photo, store: store, limits: BlobLimits())
        }
        let proposals = Attachments.kinds[0]
        do {
            _ = try Attachments.add(huashan, to: .init(kind: proposals, key: p.id), file: photo, store: store, limits: BlobLimits())
            Issue.record("an office attached to a filed proposal")
        } catch {
            #expect(AccessRules.violation(in: error)?.rule == .workflow, "\(error)")
        }
        #expect(try Attachments.list(huashan).isEmpty)
        // The county attaches the unit's reply letter to the filed proposal.
        let letter = try Attachments.add(county, to: .init(kind: proposals, key: p.id), file: Self.file(dir, "答复函.pdf", bytes: 300),
                                         store: try BlobStore(directory: dir.path("c.files")), limits: BlobLimits())
        #expect(letter.mediaType == "application/pdf")
    }

    @Test func attachmentsAreInTheScopeOfTheirRecords() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (county, _) = try Self.tree(dir)
        let store = try BlobStore(directory: dir.path("c.files"))
        let li = try county.addMember(Member(name: "李明", siteID: "xiyuan"))
        let wang = try county.addMember(Member(name: "王芳", siteID: "huashan"))
        let draft = try county.addProposal(Proposal(year: 2026, title: "草稿", siteID: "xiyuan", status: .draft))
        let filed = try county.addProposal(Proposal(year: 2026, title: "已立案", siteID: "xiyuan"))
        _ = try county.file(filed.id)
        let f = Self.file(dir, "a.pdf", bytes: 10)
        let ofLi = try Attachments.add(county, to: .init(kind: Attachments.kinds[3], key: li.id), file: f, store: store, limits: BlobLimits())
        let ofWang = try Attachments.add(county, to: .init(kind: Attachments.kinds[3], key: wang.id), file: f, store: store, limits: BlobLimits())
        let ofDraft = try Attachments.add(county, to: .init(kind: Attachments.kinds[0], key: draft.id), file: f, store: store, limits: BlobLimits())
        let ofFiled = try Attachments.add(county, to: .init(kind: Attachments.kinds[0], key: filed.id), file: f, store: store, limits: BlobLimits())
        let scope = SiteScope(site: "huashan", database: county.replica.database)
        func holds(_ a: Attachments.Attachment) throws -> Bool {
            let key = Attachments.kind(of: a.table)!.key
            return try scope.contains(table: a.table, pk: a.id, value: { $0 == key ? .text(a.recordID) : .null })
        }
        #expect(try !holds(ofLi) && holds(ofWang) && !holds(ofDraft) && holds(ofFiled))
    }

    @Test func aFileTheCountyWouldRefuseIsRefusedAtAttachTimeWithNothingWritten() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (_, huashan) = try Self.tree(dir)
        let store = try BlobStore(directory: dir.path("h.files"))
        _ = try huashan.addMember(Member(name: "王芳", siteID: "huashan"))
        let limits = BlobLimits(maxFileBytes: 1000, siteQuotaBytes: 1 << 30, allowedTypes: ["application/pdf", "image/*"])
        let record = Attachments.RecordRef(kind: Attachments.kinds[3], key: "王芳")
        #expect(throws: AttachmentError.tooLarge(name: "大文件.pdf", size: 1001, limit: 1000)) {
            _ = try Attachments.add(huashan, to: record, file: Self.file(dir, "大文件.pdf", bytes: 1001), store: store, limits: limits)
        }
        #expect(throws: AttachmentError.typeNotAllowed(name: "run.exe", mediaType: "application/octet-stream")) {
            _ = try Attachments.add(huashan, to: record, file: Self.file(dir, "run.exe", bytes: 10), store: store, limits: limits)
        }
        #expect(throws: AttachmentError.unreadable(path: dir.path("missing.pdf"))) {
            _ = try Attachments.add(huashan, to: record, file: dir.path("missing.pdf"), store: store, limits: limits)
        }
        #expect(try Attachments.list(huashan).isEmpty && store.all().isEmpty)
        #expect(AttachmentError.tooLarge(name: "大文件.pdf", size: 1001, limit: 1000).text(in: .chinese).contains("未添加附件"))
        // The limits the county gave are remembered by the office.
        try limits.remember(in: huashan.replica)
        #expect(try BlobLimits.known(by: huashan.replica) == limits)
    }
}
