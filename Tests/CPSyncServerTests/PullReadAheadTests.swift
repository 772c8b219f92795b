import CPPCC
import CPSyncCore
import CPSyncHTTP
import CPSyncProtocol
@testable import CPSyncServer
import Foundation
import Testing

/// A pull page read ahead (`PullPrefetch`) answers the next request only when that is what reading it now would
/// answer: nothing committed since, by this server or another process, and the same request.
@Suite struct PullReadAheadTests {
    typealias Fixture = RouterTests.Fixture

    /// 华山镇 with 40 members at the county, pulled back by huashan in pages of about 30 changes.
    func county() throws -> (Fixture, Replica) {
        let f = try Fixture()
        let a = try f.office("huashan")
        try a.database.transaction {
            for i in 0..<40 {
                try a.database.run("INSERT INTO members(id, name, sector, site_id) VALUES (?, ?, '教育界', 'huashan')",
                                   [.text(String(format: "m%03d", i)), .text("委员\(i)")])
            }
        }
        #expect(try f.push(a, token: f.huashan).status == 200)
        return (f, a)
    }

    static let forms = [("Accept", "\(CompactForm.mediaType), application/json;q=0.5"), ("Accept-Encoding", "gzip")]

    func get(_ f: Fixture, after: Int64, limit: Int = 30, maxBytes: Int? = nil, headers: [(String, String)] = forms) -> HTTPResponse {
        let query = PullQuery(after: after, limit: limit, maxBytes: maxBytes, schemaVersion: CPPCCSchema.version)
        return f.request("GET", "/v1/pull?" + query.queryString, token: f.huashan, headers: headers)
    }

    /// What reading the page now answers (nothing recorded, nothing read ahead).
    func fresh(_ f: Fixture, after: Int64, limit: Int = 30, maxBytes: Int? = nil, headers: [(String, String)] = forms) throws -> [UInt8] {
        let query = PullQuery(after: after, limit: limit, maxBytes: maxBytes, schemaVersion: CPPCCSchema.version)
        let request = HTTPRequest(method: "GET", target: "/v1/pull?" + query.queryString, headers: HTTPHeaders(headers), body: [], remoteAddress: "127.0.0.1:1")
        return try Router.pullPage(f.router.sync, query, principal: .site("huashan"), request: request, record: false).response.body
    }

    func readAhead(_ f: Fixture) -> Int {
        let text = String(decoding: f.request("GET", "/metrics").body, as: UTF8.self)
        let line = text.split(separator: "\n").first { $0.hasPrefix("cpsync_pull_pages_read_ahead_total ") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
    }

    func page(_ r: HTTPResponse) throws -> PullResponse {
        #expect(r.status == 200)
        return try decoded(r.body)
    }

    /// A compact page, gzip-encoded or not (small pages are sent as they are).
    func decoded(_ body: [UInt8]) throws -> PullResponse {
        try PullResponse.decodeCompact(body.starts(with: [0x1f, 0x8b]) ? try Gzip.decompress(body, maxBytes: 1 << 24) : body)
    }

    @Test func aPageReadAheadIsServedOnlyWhenNothingWasCommittedSinceAndIsWhatAFreshReadAnswers() throws {
        let (f, _) = try county()
        var cursor = try page(get(f, after: 0)).cursor
        f.router.prefetch.finish(dropping: false)
        // Nothing committed: served from the read ahead, and the same bytes a read now gives.
        let expected = try fresh(f, after: cursor)
        let second = get(f, after: cursor)
        #expect(readAhead(f) == 1)
        #expect(second.body == expected)
        cursor = try page(second).cursor
        #expect(try page(second).hasMore)

        // A commit by this server (a member of the next page renamed) after the read ahead: read again.
        f.router.prefetch.finish(dropping: false)
        let next = try decoded(fresh(f, after: cursor))
        let renamed = try #require(next.changes.first { $0.table == "members" }?.pk)
        try f.store.write { try $0.database.run("UPDATE members SET name = '王芳' WHERE id = ?", [.text(renamed)]) }
        let afterCommit = try fresh(f, after: cursor)
        let third = get(f, after: cursor)
        #expect(readAhead(f) == 1, "a page read before a commit must not be served")
        #expect(third.body == afterCommit)
        cursor = try page(third).cursor

        // A commit by another process (any other connection to the file): read again too.
        f.router.prefetch.finish(dropping: false)
        try Database(path: f.store.databasePath).run("INSERT OR REPLACE INTO _srv_meta(key, value) VALUES ('elsewhere', 1)")
        let fourth = get(f, after: cursor)
        #expect(readAhead(f) == 1, "a commit by another connection must make the page be read again")
        #expect(fourth.body == (try fresh(f, after: cursor)))
    }

    @Test func aPageReadAheadAnswersOnlyTheSameRequestOrOneThatAllowsAtLeastAsMuch() throws {
        let (f, _) = try county()
        let first = try page(get(f, after: 0, maxBytes: 4096))
        // Another body form than the one it was read in: read again.
        f.router.prefetch.finish(dropping: false)
        #expect(try page(get(f, after: first.cursor, maxBytes: 4096, headers: [("Accept", CompactForm.mediaType)])).hasMore)
        #expect(readAhead(f) == 0)
        // Smaller pages than it was read for: read again.
        let second = try page(get(f, after: 0, limit: 30, maxBytes: 8192))
        f.router.prefetch.finish(dropping: false)
        _ = get(f, after: second.cursor, limit: 30, maxBytes: 4096)
        #expect(readAhead(f) == 0)
        // Another site's request never gets it.
        _ = try page(get(f, after: 0))
        f.router.prefetch.finish(dropping: false)
        let query = PullQuery(after: first.cursor, limit: 30, schemaVersion: CPPCCSchema.version)
        _ = f.request("GET", "/v1/pull?" + query.queryString, token: f.chengguan, headers: Self.forms)
        #expect(readAhead(f) == 0)
        // A request that allows larger pages (the office's link got faster) is answered with it.
        let third = try page(get(f, after: 0, limit: 30, maxBytes: 4096))
        f.router.prefetch.finish(dropping: false)
        let expected = try fresh(f, after: third.cursor, limit: 30, maxBytes: 4096)
        let served = get(f, after: third.cursor, limit: 60, maxBytes: 65_536)
        #expect(readAhead(f) == 1)
        #expect(served.body == expected)
    }
}
