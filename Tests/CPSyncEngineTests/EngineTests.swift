import CPSyncCore
import CPSyncEngine
import CPSyncProtocol
import Foundation
import Testing

/// An upstream in memory: a county replica that merges what is pushed (refusing what `refuses` names, as a county's
/// permission check would), serves pulls from its log, remembers batch ids, and fails on demand as a cut link would.
/// No sockets: the loops are tested as loops.
final class MemoryUpstream: Upstream, @unchecked Sendable {
    // Sound: every member is only touched under `lock`.
    private let lock = NSLock()
    let county: Replica
    private var batches: [String: [Change]] = [:]
    /// Batch ids in the order they were taken (repeats included).
    private(set) var received: [String] = []
    /// The next this many pushes fail as a cut link would (nothing applied).
    var failPushes = 0
    /// A change the county refuses with 403 (its row), as a permission check would.
    var refuses: @Sendable (Change) -> Bool = { _ in false }

    struct LinkDown: Error {}

    init(_ county: Replica) { self.county = county }

    func prepare(_ request: PushRequest) -> PreparedPush { PreparedPush(request: request, body: request.encoded()) }

    func push(_ batch: PreparedPush) throws -> PushResponse {
        try lock.withLock {
            let r = try PushRequest.decode(batch.body)
            if failPushes > 0 {
                failPushes -= 1
                throw LinkDown()
            }
            if let bad = r.changes.firstIndex(where: refuses) {
                throw ErrorBody(code: .forbidden, message: "行 \(r.changes[bad].pk) 不属于本站", site: r.site, table: r.changes[bad].table, index: bad)
            }
            if let known = batches[r.batchId] {
                guard known == r.changes else { throw ErrorBody(code: .batchIdReused, message: "batch \(r.batchId) reused", site: r.site) }
                received.append(r.batchId)
                return PushResponse(batchId: r.batchId, applied: 0, alreadyKnown: r.changes.count, superseded: 0, conflicts: 0, serverSeq: try county.sequence)
            }
            let m = try county.merge(r.changes)
            batches[r.batchId] = r.changes
            received.append(r.batchId)
            return PushResponse(batchId: r.batchId, applied: m.applied, alreadyKnown: 0, superseded: 0, conflicts: 0, serverSeq: try county.sequence)
        }
    }

    func pull(_ query: PullQuery) throws -> PullResponse {
        try lock.withLock {
            let head = try county.sequence
            if query.after > head { throw ErrorBody(code: .cursorAhead, message: "cursor \(query.after) is beyond \(head)") }
            let page = try county.changes(after: query.after, since: query.since, limit: query.limit ?? 100, maxBytes: query.maxBytes ?? .max)
            return PullResponse(changes: page.changes, cursor: page.cursor, hasMore: page.hasMore, head: head)
        }
    }

    func refusal(in error: any Error) -> Refusal? {
        (error as? ErrorBody).map { Refusal(status: $0.httpStatus, body: $0) }
    }

    var takenBatches: [String] { lock.withLock { received } }
}

let membersSQL = "CREATE TABLE members (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL DEFAULT '', phone TEXT, site_id TEXT)"

func replica(_ site: String) throws -> Replica {
    let r = try Replica(path: ":memory:", siteID: site)
    try r.database.execute(membersSQL)
    try r.makeSynced("members")
    return r
}

func dump(_ r: Replica) throws -> [[Value]] {
    try r.database.query("SELECT id, name, phone, site_id FROM members ORDER BY id")
}

func pushLoop(_ office: Replica, _ upstream: MemoryUpstream, pageBytes: Int = 1500) -> PushLoop {
    let loop = PushLoop(access: DirectAccess(office), upstream: upstream, keys: .office, site: office.siteID, schema: 1, outgoing: .office(office.siteID))
    loop.fixedPageBytes = pageBytes
    return loop
}

func pullLoop(_ office: Replica, _ upstream: MemoryUpstream, pageSize: Int = 7) -> PullLoop {
    let loop = PullLoop(access: DirectAccess(office), upstream: upstream, keys: .office, schema: 1)
    loop.pageSize = pageSize
    return loop
}

@Suite struct PushPullLoopTests {
    @Test func twoOfficesConvergeThroughTheUpstreamPageByPage() throws {
        let county = try replica("county"), huashan = try replica("huashan"), xiyuan = try replica("xiyuan")
        let upstream = MemoryUpstream(county)
        for i in 0..<60 {
            try huashan.database.run("INSERT INTO members(id, name, phone, site_id) VALUES (?, ?, ?, 'huashan')",
                                     [.text("m-\(i)"), .text("委员\(i)号"), .text("1380000\(1000 + i)")])
        }
        let pushed = try pushLoop(huashan, upstream).run()
        #expect(pushed.batches > 3, "small pages: several batches (\(pushed.batches))")
        #expect(pushed.applied == pushed.sent && pushed.sent == 60 * 4)
        let pulled = try pullLoop(xiyuan, upstream).run()
        #expect(pulled.pages > 3 && pulled.received == 60 * 4)
        #expect(try dump(xiyuan) == dump(huashan) && dump(xiyuan).count == 60)
        // Nothing more to send or fetch, and nothing of what xiyuan pulled goes back up.
        let again = try pushLoop(xiyuan, upstream).run()
        #expect(again.batches == 0)
        #expect(try pullLoop(xiyuan, upstream).run().received == 0)
    }

    @Test func aLinkCutMidPushLosesNothingAndSendsNothingTwice() throws {
        let county = try replica("county"), office = try replica("huashan")
        let upstream = MemoryUpstream(county)
        for i in 0..<40 {
            try office.database.run("INSERT INTO members(id, name, site_id) VALUES (?, ?, 'huashan')", [.text("m-\(i)"), .text("张三\(i)")])
        }
        let loop = pushLoop(office, upstream)
        // The first page goes, the second is cut.
        upstream.failPushes = 0
        var sentBeforeCut = 0
        loop.progress = { batches, _ in if batches == 1 { upstream.failPushes = 1; sentBeforeCut = upstream.takenBatches.count } }
        #expect(throws: MemoryUpstream.LinkDown.self) { try loop.run() }
        #expect(sentBeforeCut == 1)
        let position = try SyncKeys.office.push(in: office)
        let head = try office.sequence
        #expect(position.cursor > 0 && position.cursor < head, "the position moved past the acknowledged page only")
        let rest = try pushLoop(office, upstream).run()
        #expect(rest.alreadyKnown == 0, "the acknowledged page is not sent again")
        #expect(try dump(county) == dump(office))
        #expect(Set(upstream.takenBatches).count == upstream.takenBatches.count)
    }

    @Test func aRefusedRowIsSetAsideTheRestGoesAndTheFixedRowGoesWhole() throws {
        let county = try replica("county"), office = try replica("huashan")
        let upstream = MemoryUpstream(county)
        upstream.refuses = { $0.pk == "m-bad" }
        try office.database.run("INSERT INTO members(id, name, phone, site_id) VALUES ('m-bad', '错挂委员', '13800000000', 'qinglong')")
        try office.database.run("INSERT INTO members(id, name, site_id) VALUES ('m-good', '李四', 'huashan')")
        let first = try pushLoop(office, upstream).run()
        #expect(first.setAside.map(\.row) == [RowKey(table: "members", pk: "m-bad")])
        #expect(first.setAside.first?.code == "forbidden" && first.setAside.first?.reason.contains("不属于本站") == true)
        #expect(try county.database.query("SELECT id FROM members") == [[.text("m-good")]])
        #expect(try Set(office.held().map(\.pk)) == ["m-bad"])
        // Still held on the next push, and still not sent.
        #expect(try pushLoop(office, upstream).run().batches == 0)
        // The clerk fixes the row (one cell): the county accepts it now, and the row goes whole — name and phone too.
        upstream.refuses = { _ in false }
        try office.database.run("UPDATE members SET site_id = 'huashan' WHERE id = 'm-bad'")
        let fixed = try pushLoop(office, upstream).run()
        #expect(fixed.setAside.isEmpty)
        #expect(try county.database.query("SELECT name, phone, site_id FROM members WHERE id = 'm-bad'")
                == [[.text("错挂委员"), .text("13800000000"), .text("huashan")]])
        #expect(try office.held().isEmpty)
    }

    @Test func aRowRefusedAgainAfterItsFixStaysHeldWithItsNewVersion() throws {
        let county = try replica("county"), office = try replica("huashan")
        let upstream = MemoryUpstream(county)
        upstream.refuses = { $0.pk == "m-bad" }
        try office.database.run("INSERT INTO members(id, name, site_id) VALUES ('m-bad', '王五', 'qinglong')")
        _ = try pushLoop(office, upstream).run()
        try office.database.run("UPDATE members SET name = '王五（改）' WHERE id = 'm-bad'")
        let again = try pushLoop(office, upstream).run()
        #expect(again.setAside.map(\.row.pk) == ["m-bad"])
        let held = try office.held()
        #expect(held.contains { $0.column == "name" } && held.contains { $0.column == "site_id" }, "the row is held whole again: \(held.map { $0.column ?? "-" })")
        #expect(try county.database.scalar("SELECT count(*) FROM members") == .integer(0))
    }

    @Test func aCellStillWrongWhenItsRowIsReleasedStaysHeldAndListed() throws {
        // Two cells of one row fail the checks here; the clerk fixes one: the row goes again whole, the fixed cell
        // reaches the county, and the one still wrong stays set aside and listed — not dropped from the list unsent.
        let county = try replica("county"), office = try replica("huashan")
        let upstream = MemoryUpstream(county)
        try office.database.run("INSERT INTO members(id, name, phone, site_id) VALUES ('m-2', x'00ff', x'01', 'huashan')")
        let first = try pushLoop(office, upstream).run()
        #expect(first.batches == 1, "the row's existence and site went")
        #expect(try Set(office.held().compactMap(\.column)) == ["name", "phone"])
        try office.database.run("UPDATE members SET name = '王芳' WHERE id = 'm-2'")
        _ = try pushLoop(office, upstream).run()
        #expect(try county.database.scalar("SELECT name FROM members WHERE id = 'm-2'") == .text("王芳"))
        #expect(try office.held().compactMap(\.column) == ["phone"], "the wrong phone is still listed")
        #expect(try county.database.scalar("SELECT phone FROM members WHERE id = 'm-2'") == .null)
    }

    @Test func aReleasedRowsHeldCellThatDoesNotGoAgainStaysHeld() throws {
        // A held row written again is released whole, but a held cell of it that does not go again (nothing of it is
        // this office's to send now: here, withheld) must stay held and listed — never dropped from the list unsent.
        let county = try replica("county"), office = try replica("huashan")
        let upstream = MemoryUpstream(county)
        upstream.refuses = { $0.pk == "m-bad" }
        try office.database.run("INSERT INTO members(id, name, phone, site_id) VALUES ('m-bad', '错挂委员', '13800000000', 'qinglong')")
        _ = try pushLoop(office, upstream).run()
        #expect(try office.held().contains { $0.column == "name" })
        upstream.refuses = { _ in false }
        Thread.sleep(forTimeInterval: 0.005)  // entries are forgotten when held before the release began (ms)
        try office.database.run("UPDATE members SET site_id = 'huashan' WHERE id = 'm-bad'")
        let loop = PushLoop(access: DirectAccess(office), upstream: upstream, keys: .office, site: office.siteID, schema: 1,
                            outgoing: Outgoing(writers: [office.siteID], withheld: { $0.column == "name" }))
        _ = try loop.run()
        #expect(try county.database.scalar("SELECT site_id FROM members WHERE id = 'm-bad'") == .text("huashan"), "the rest of the row went")
        #expect(try county.database.scalar("SELECT name FROM members WHERE id = 'm-bad'") == .text(""), "the name did not go")
        let held = try office.held()
        #expect(held.compactMap(\.column) == ["name"], "the name is still listed: \(held.map { $0.column ?? "-" })")
    }

    @Test func aPullBeyondARestoredUpstreamStartsAgainFromTheStart() throws {
        let county = try replica("county"), office = try replica("xiyuan")
        try county.database.run("INSERT INTO members(id, name, site_id) VALUES ('m-1', '赵六', 'xiyuan')")
        let upstream = MemoryUpstream(county)
        try SyncKeys.office.setPull(Position(cursor: 9_999, since: 9_999), in: office)
        let pulled = try pullLoop(office, upstream).run()
        let (here, there) = (try dump(office), try dump(county))
        #expect(pulled.received > 0 && here == there)
    }

    @Test func anUpstreamWithAnotherEpochIsSentAndFetchedAgain() throws {
        let office = try replica("xiyuan")
        try SyncKeys.office.setPush(Position(cursor: 5, since: 5), in: office)
        #expect(try SyncKeys.office.adopt(epoch: "e1", in: office) == false)
        #expect(try SyncKeys.office.push(in: office) == Position(cursor: 5, since: 5))
        #expect(try SyncKeys.office.adopt(epoch: "e2", in: office) == true)
        #expect(try SyncKeys.office.push(in: office) == .start)
    }

    @Test func theScopeKeeperRunsAfterAPullAndAGrownScopeFetchesEverythingAgainOnce() throws {
        let county = try replica("county"), office = try replica("xiyuan")
        for i in 0..<5 { try county.database.run("INSERT INTO members(id, name, site_id) VALUES (?, '孙七', 'xiyuan')", [.text("m-\(i)")]) }
        let upstream = MemoryUpstream(county)
        var calls = 0
        let loop = PullLoop(access: DirectAccess(office), upstream: upstream, keys: .office, schema: 1, scope: { _ in
            calls += 1
            return calls == 1
        })
        let s = try loop.run()
        #expect(calls == 2 && s.received == 2 * 5 * 4, "pulled twice, kept to scope after each (\(calls), \(s.received))")
    }
}

@Suite struct FullTransferSweepTests {
    @Test func aPullFromTheStartForgetsWhatLeftButKeepsWhatMustGoFirst() throws {
        let county = try replica("county"), office = try replica("taohe")
        let upstream = MemoryUpstream(county)
        // What the office holds from earlier pulls: one record still the county's to send, one that has left its
        // scope since (the county will not send it again), one refused and set aside here, one written and not sent.
        try county.database.run("INSERT INTO members(id, name, site_id) VALUES ('m-stays', '留下的', 'taohe')")
        _ = try pullLoop(office, upstream).run()
        try office.database.run("INSERT INTO members(id, name, site_id) VALUES ('m-left', '调走的', 'taohe')")
        try office.database.run("INSERT INTO members(id, name, site_id) VALUES ('m-held', '暂缓的', 'taohe')")
        _ = try pushLoop(office, upstream).run()
        try county.forget([(table: "members", pk: "m-left")])   // as if out of the office's scope: never sent to it again
        let held = try office.changes(ofRows: [RowKey(table: "members", pk: "m-held")])
        for c in held { try office.setAside(c, code: "forbidden", message: "暂缓") }
        try office.database.run("INSERT INTO members(id, name, site_id) VALUES ('m-new', '新录的', 'taohe')")
        let loop = pullLoop(office, upstream)
        loop.sweepsFullTransfers = true
        loop.acknowledgedThrough = { try SyncKeys.office.push(in: $0).since }
        _ = try loop.run(reset: true)
        let ids = try office.database.query("SELECT id FROM members ORDER BY id").compactMap { $0[0].stringValue }
        #expect(ids == ["m-held", "m-new", "m-stays"], "\(ids)")
        #expect(try office.database.scalar("SELECT count(*) FROM _cp_v_members WHERE pk = 'm-left'") == .integer(0), "forgotten, not deleted")
        // A pull that does not start from the start forgets nothing.
        try county.forget([(table: "members", pk: "m-stays")])
        _ = try loop.run()
        #expect(try office.database.scalar("SELECT count(*) FROM members WHERE id = 'm-stays'") == .integer(1))
    }
}

@Suite struct BatchAndRefusalTests {
    let v = Version(hlc: HLC(rawValue: 1 << 20), site: "huashan")

    func change(_ pk: String, _ column: String?) -> Change {
        Change(table: "members", pk: pk, column: column, value: column == nil ? .null : .text("值"), version: v, causalLength: 1)
    }

    @Test func aBatchIsNamedByItsContent() {
        let a = [change("m-1", "name")], b = [change("m-2", "name")]
        #expect(BatchNaming.id(site: "huashan", label: "0|0", changes: a) == BatchNaming.id(site: "huashan", label: "0|0", changes: a))
        #expect(BatchNaming.id(site: "huashan", label: "0|0", changes: a) != BatchNaming.id(site: "huashan", label: "0|0", changes: b))
        #expect(BatchNaming.id(site: "huashan", label: "0|0", changes: a) != BatchNaming.id(site: "xiyuan", label: "0|0", changes: a))
    }

    @Test func aValueIsRefusedAloneARowWholeAndAWriterNotAtAll() {
        let batch = [change("m-1", nil), change("m-1", "name"), change("m-2", "name"), change("m-3", "name")]
        #expect(Refusal(status: 400, body: ErrorBody(code: .wrongType, message: "", index: 1)).refusedIndices(of: batch) == [1])
        var rows = ErrorBody(code: .forbidden, message: "", index: 1)
        rows.indices = [3]
        #expect(Refusal(status: 403, body: rows).refusedIndices(of: batch) == [0, 1, 3])
        #expect(Refusal(status: 403, body: ErrorBody(code: .siteIDTaken, message: "", index: 2)).refusedIndices(of: batch) == nil)
        #expect(Refusal(status: 403, body: ErrorBody(code: .forbidden, message: "")).refusedIndices(of: batch) == nil, "no change named")
        #expect(Refusal(status: 400, body: ErrorBody(code: .badRequest, message: "", index: 9)).refusedIndices(of: batch) == nil, "out of range")
        #expect(Refusal(status: 409, body: ErrorBody(code: .clockSkew, message: "", index: 0)).refusedIndices(of: batch) == nil)
    }

    @Test func anOfficeSendsItsOwnWritesAndACountyWithholdsPersonalData() {
        let other = Version(hlc: HLC(rawValue: 1 << 21), site: "county")
        let own = change("m-1", "name")
        let theirs = Change(table: "members", pk: "m-1", column: "phone", value: .text("1"), version: other, causalLength: 1)
        #expect(Outgoing.office("huashan").select([own, theirs]) == [own])
        let county = Outgoing(writers: ["huashan", "county"], withheld: { $0.column == "phone" })
        #expect(county.select([own, theirs]) == [own])
    }
}
