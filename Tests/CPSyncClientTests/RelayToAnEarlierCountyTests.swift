import CPPCC
@testable import CPSyncClient
import CPSyncCore
import CPSyncHTTP
import CPSyncProtocol
import CPSyncServer
import Foundation
import Testing

/// A township upgraded before its county: the county has no file store (`/v1/blobs` answers 404), so a station's file
/// the township keeps goes whole in `POST /v1/relay`, as it did before (up to the body limit), and the reply is kept
/// for the clerk — not marked refused, which would have had the clerk export again for nothing.
@Suite struct RelayToAnEarlierCountyTests {
    /// The real router, without the file store's routes.
    struct WithoutFileStore: HTTPResponder {
        let inner: Router
        func respond(to request: HTTPRequest) -> HTTPResponse {
            if request.path.hasPrefix("/v1/blobs") {
                return HTTPResponse(status: 404, body: ErrorBody(code: .notFound, message: "no route for \(request.path)").encoded())
            }
            return inner.respond(to: request)
        }
    }

    @Test func aStationsFileGoesWholeToACountyWithoutTheFileStore() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-relay-old-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try ServerStore(dataDirectory: dir.appendingPathComponent("data").path)
        _ = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil)
        let huashanToken = try store.addSite(id: "huashan", name: "华山镇政协工委", kind: "township", parent: "county")
        let stationToken = try store.addSite(id: "xiyuan", name: "西苑社区联络站", kind: "station", parent: "huashan")
        var config = HTTPServerConfiguration()
        config.port = 0
        let server = HTTPServer(configuration: config, responder: WithoutFileStore(inner: Router(store: store, log: EventLog(enabled: false))))
        try server.start()
        defer { server.shutdown(gracePeriodSeconds: 1) }
        let url = "http://127.0.0.1:\(server.boundPort)"

        // The station's changes file, as `cpsync export-changes` writes it.
        let station = try OfficeConfig.initialise(path: dir.appendingPathComponent("xiyuan.db").path,
                                                  config: OfficeConfig(server: url, site: "xiyuan", token: stationToken))
        try station.database.execute("INSERT INTO members(id, name, site_id) VALUES ('m-xy-1', '王秀英', 'xiyuan')")
        let file = dir.appendingPathComponent("西苑-修改.cpsync").path
        #expect(try SyncClient(replica: station).exportChanges(to: file).changes > 0)

        let township = try OfficeConfig.initialise(path: dir.appendingPathComponent("huashan.db").path,
                                                   config: OfficeConfig(server: url, site: "huashan", token: huashanToken))
        let client = try SyncClient(replica: township)
        #expect(try client.storeRelayed(path: file).isNew)
        let outcome = try client.forwardRelayed()
        #expect(outcome.forwarded == 1 && outcome.refused == 0, "\(outcome)")
        let kept = try client.relayedFiles()
        #expect(kept.count == 1 && kept[0].error == nil && kept[0].reply != nil, "\(kept)")
        // The reply kept is the county's signed answer to that file.
        let reply = try #require(kept[0].reply)
        let bytes = try #require(FileManager.default.contents(atPath: try client.relayStore.path(reply)))
        let opened = try ChangeFile.open([UInt8](bytes)) { _ in ChangeFile.key(token: stationToken, site: "xiyuan") }
        #expect(opened.header.kind == .reply)
        #expect(try store.read { try $0.database.scalar("SELECT name FROM members WHERE id = 'm-xy-1'") } == .text("王秀英"))
        // Nothing goes twice.
        #expect(try client.forwardRelayed().forwarded == 0)
    }
}
