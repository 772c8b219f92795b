import CPSyncCore
@testable import CPSyncProtocol
import CPSyncText
import XCTest

/// The one codec mechanism: what every message gets from stating its members once.
final class WireShapeTests: XCTestCase {
    static let change = Change(table: "members", pk: "m1", column: "name", value: .text("张三\n\"x\""),
                               version: Version(hlc: HLC(rawValue: 1 << 20), site: "huashan"), causalLength: 1,
                               base: Version(hlc: HLC(rawValue: 5), site: "county"))
    static let side = ConflictSideDTO(value: .integer(-7), site: "huashan", siteName: "华山", hlc: 99, at: 3)
    static let status = SiteStatusDTO(id: "huashan", name: "华山镇", kind: "township", parent: "county", depth: 1, token: "active",
                                      createdAt: 1, lastPushAt: 2, pullCursor: 3, pending: 4, clockSkewMs: -5, refusedReason: "no")
    static let admin = AdminAccountDTO(name: "zhang", createdAt: 9, revoked: true)
    static let refusal = RowRefusal(table: "members", pk: "m1", column: "site_id", rule: "owner", message: "不行", indices: [0, 3])
    static let outbox = OutboxRef(id: 4, table: "members", pk: "m1", column: "name", version: Version(hlc: HLC(rawValue: 8), site: "s"))
    static var pushResponse: PushResponse {
        var r = PushResponse(batchId: "b", applied: 1, alreadyKnown: 2, superseded: 3, conflicts: 4, serverSeq: 5)
        r.displaced = [RowKey(table: "members", pk: "m1")]
        return r
    }
    static var error: ErrorBody {
        var e = ErrorBody.clockSkew(site: "huashan", skewMs: 700_000)
        e.indices = [1, 2]
        e.rows = [refusal]
        return e
    }
    static var conflict: ConflictDTO {
        var c = ConflictDTO(id: "c1", table: "members", tableLabel: "委员", column: "name", columnLabel: "姓名", pk: "m1", rowLabel: "张三",
                            winner: side, other: side, detectedAt: 7, status: .resolved,
                            resolution: ResolutionDTO(action: .set, value: .blob([1, 2]), before: .real(0.5), by: "zhang", at: 8, note: nil))
        c.expects = "a phone number"
        return c
    }

    /// Checks that `m` survives encode → decode, and decodes the same with its members in reverse order and an
    /// unknown member among them.
    func check<T: WireMessage & Equatable>(_ m: T, file: StaticString = #filePath, line: UInt = #line) throws {
        let bytes = m.encoded()
        XCTAssertEqual(try T.decode(bytes), m, String(decoding: bytes, as: UTF8.self), file: file, line: line)
        XCTAssertEqual(try T.decode(try T.decode(bytes).encoded()).encoded(), bytes, file: file, line: line)
        guard !(m is ErrorBody) else { return }
        var w = JSONWriter()
        w.raw("{\"zzUnknown\":{\"a\":[1,2.5,null,true,\"s\"]}")
        for member in T.wire.members.reversed() { member.write(m, &w) }
        w.byte(UInt8(ascii: "}"))
        XCTAssertEqual(try T.decode(w.bytes), m, String(decoding: w.bytes, as: UTF8.self), file: file, line: line)
    }

    func testEveryMessageTypeRoundTripsInAnyMemberOrder() throws {
        try check(HealthResponse())
        try check(ServerLimits(maxBodyBytes: 1, maxChangesPerPush: 2, maxPageSize: 3, defaultPageSize: 4))
        try check(StatusResponse(schemaVersion: 3, serverTime: 5, epoch: "e", encodings: ["gzip", "compact-1"]))
        try check(StatusResponse(schemaVersion: 3, serverTime: 5))
        try check(PushRequest(schemaVersion: 3, batchId: "b", site: "huashan", changes: [Self.change, Self.change]))
        try check(Self.pushResponse)
        try check(PushResponse(batchId: "b", applied: 0, alreadyKnown: 0, superseded: 0, conflicts: 0, serverSeq: 0))
        try check(PullResponse(changes: [Self.change], cursor: 3, hasMore: true, head: 9))
        try check(PullResponse(changes: [], cursor: 0, hasMore: false))
        try check(Self.error)
        try check(ErrorBody.protocolVersion(9))
        try check(Self.refusal)
        try check(SiteDTO(id: "county", name: "县政协", kind: "county", parent: nil))
        try check(SiteCreateRequest(id: "huashan", name: "华山镇", kind: "township", parent: "county"))
        try check(Self.status)
        try check(Self.admin)
        try check(SiteListResponse(serverTime: 1, head: 2, sites: [Self.status, Self.status], admins: [Self.admin]))
        try check(SiteMoveRequest(parent: "county"))
        try check(SiteKindRequest(kind: "station"))
        try check(SiteTokenResponse(site: Self.status, token: "t"))
        try check(WhoAmIResponse(principal: "site", site: SiteDTO(id: "a", name: "b", kind: "township", parent: "county")))
        try check(WhoAmIResponse(principal: "admin", admin: "zhang"))
        try check(Self.side)
        try check(ResolutionDTO(action: .takeOther, value: .null, before: .text("x"), by: "zhang", at: 1, note: "n"))
        try check(Self.conflict)
        try check(ConflictListResponse(conflicts: [Self.conflict]))
        try check(ResolveRequest(action: .set, value: .null, note: "n"))
        try check(ResolveRequest(action: .keep))
        try check(AuditEntryDTO(id: "a", at: 1, by: "zhang", action: "resolve", conflictId: "c", before: .integer(1), after: .text("2")))
        try check(AuditListResponse(entries: [AuditEntryDTO(id: "a", at: 1, by: "system", action: "site-add")]))
        try check(AccountEventDTO(id: "a", at: 1, actor: "cli:root", action: "site-add", subject: "huashan", detail: "kind=township"))
        try check(AccountAuditResponse(entries: [AccountEventDTO(id: "a", at: 1, actor: "x", action: "y", subject: "z", detail: "")]))
        try check(AdminCreateRequest(name: "zhang"))
        try check(AdminTokenResponse(admin: Self.admin, token: "t"))
        try check(SnapshotManifest(id: "s1", site: "huashan", cursor: 1, size: 2, sha256: "ab", schemaVersion: 3, epoch: "e", createdAt: 4,
                                   expiresAt: 5, maxRangeBytes: 6, encoding: "gzip", rawSize: 7, rawSha256: "cd"))
        try check(Self.outbox)
        try check(ChangeFileHeader(kind: .reply, site: "s", fileId: "f", replyTo: "g", createdAt: 1, epoch: nil, schemaVersion: 3, pullAfter: 1,
                                   pullSince: 0, pullCursor: 5, pushAfter: 2, pushSince: 1, pushThrough: 4, pushComplete: true,
                                   outbox: [Self.outbox], batches: 1, pages: 2, serverSeq: 9))
        try check(RefusedGroup(code: "forbidden", message: "m", changes: [Self.change]))
        try check(BatchResult(batchId: "b", response: Self.pushResponse, refused: [RefusedGroup(code: "c", message: "m", changes: [])],
                              error: Self.error))
        try check(BatchResult(batchId: "b", response: nil))
    }

    func decodeError<T: WireMessage>(_ type: T.Type, _ json: String, limits: WireLimits = .default) -> WireError? {
        do { _ = try T.decode(Array(json.utf8), limits: limits); return nil } catch { return error }
    }

    func testAMissingRequiredMemberIsNamedFirstInCanonicalOrder() {
        XCTAssertEqual(decodeError(SiteDTO.self, #"{"kind":"county"}"#)?.message, #"missing member "id""#)
        XCTAssertEqual(decodeError(SiteStatusDTO.self, #"{"id":"a","name":"b","kind":"c","depth":0}"#)?.message, #"missing member "parent""#)
        // Members that may be absent keep the blank message's value.
        XCTAssertEqual(try SiteDTO.decode(Array(#"{"id":"a","name":"b","kind":"county"}"#.utf8)).parent, nil)
        XCTAssertEqual(try ServerLimits.decode(Array(#"{"maxBodyBytes":1,"maxChangesPerPush":2,"maxPageSize":3}"#.utf8)).defaultPageSize,
                       ProtocolLimits.defaultPageSize)
    }

    func testADuplicateMemberIsRefused() {
        XCTAssertEqual(decodeError(SiteMoveRequest.self, #"{"parent":"a","parent":"b"}"#)?.message, #"duplicate member "parent""#)
    }

    func testAMemberErrorNamesItsPath() {
        let e = decodeError(ConflictListResponse.self, #"{"conflicts":[{"id":"c","winner":{"hlc":"x"}}]}"#)
        XCTAssertEqual(e?.path, "conflicts[0].winner.hlc")
        XCTAssertEqual(decodeError(ResolutionDTO.self, #"{"action":"drop"}"#)?.message, #"expected "keep", "take-other" or "set", found "drop""#)
        XCTAssertEqual(decodeError(ServerLimits.self, #"{"maxBodyBytes":-1}"#)?.path, "maxBodyBytes")
    }

    func testArraysKeepTheirBounds() {
        let two = #"{"serverTime":1,"head":2,"sites":[],"admins":[{"name":"a","createdAt":1,"revoked":false},{"name":"b","createdAt":1,"revoked":false}]}"#
        XCTAssertEqual(decodeError(SiteListResponse.self, two, limits: WireLimits(maxChanges: 1))?.exceedsLimit, true)
        XCTAssertNil(decodeError(SiteListResponse.self, two, limits: WireLimits(maxChanges: 2)))
        let many = #"{"protocol":1,"minProtocol":1,"schemaVersion":1,"serverTime":1,"serverSite":"c","maxSkewMs":1,"limits":{"maxBodyBytes":1,"maxChangesPerPush":1,"maxPageSize":1},"encodings":["# + Array(repeating: "\"x\"", count: 65).joined(separator: ",") + "]}"
        XCTAssertEqual(decodeError(StatusResponse.self, many)?.exceedsLimit, true)
    }

    func testOmittedMembersAndNull() throws {
        // Omitted-when-nil members read null as nil, except where null was never a value of the member.
        XCTAssertNil(try ErrorBody.decode(Array(#"{"error":{"code":"x","message":"m","site":null}}"#.utf8)).site)
        XCTAssertNotNil(decodeError(ConflictDTO.self, #"{"expects":null}"#))
        XCTAssertEqual(try ResolveRequest.decode(Array(#"{"action":"set","value":null}"#.utf8)).value, .null)
        XCTAssertEqual(decodeError(ResolveRequest.self, #"{"action":"set"}"#)?.message, #"action "set" needs a "value""#)
        XCTAssertEqual(decodeError(ResolveRequest.self, #"{"action":"keep","value":"v"}"#)?.message, #"only action "set" takes a "value""#)
        XCTAssertNil(try SiteCreateRequest.decode(Array(#"{"id":"a","name":"b","kind":"c","parent":""}"#.utf8)).parent)
        XCTAssertEqual(String(decoding: PullResponse(changes: [], cursor: 1, hasMore: false).encoded(), as: UTF8.self),
                       #"{"changes":[],"cursor":1,"hasMore":false}"#)
    }

    func testOneJSONStringEscaping() {
        XCTAssertEqual(JSONString.quoted("a\"\\\u{8}\u{c}\n\r\t\u{1}é"), #""a\"\\\b\f\n\r\t\u0001é""#)
    }
}
