import CPPCC
@testable import CPSyncClient
import CPSyncCore
import CPSyncHTTP
import CPSyncProtocol
import CPSyncServer
import Foundation
import Testing

/// `cpsync init --from-snapshot` against the forms a snapshot may be served in (Protocol/README.md §16): gzip (what
/// the daemon serves), the SQLite file itself with no `encoding` (still installed), a gzip whose manifest claims a
/// smaller `rawSize` than it inflates to (refused, nothing installed) and an encoding this client does not know.
@Suite(.serialized) struct SnapshotEncodingClientTests {
    enum Form { case asServed, uncompressed, rawSizeTooSmall, unknownEncoding }

    /// The real router, with the snapshot manifest and bytes rewritten into `form`.
    final class Rewriter: HTTPResponder, @unchecked Sendable {
        // Sound: `raw` is only touched under `lock`.
        let inner: Router
        let form: Form
        let snapshots: String
        private let lock = NSLock()
        private var raw: [String: [UInt8]] = [:]
        private var servedRanges = 0

        init(inner: Router, form: Form, snapshots: String) {
            self.inner = inner
            self.form = form
            self.snapshots = snapshots
        }

        var ranges: Int { lock.withLock { servedRanges } }

        func respond(to request: HTTPRequest) -> HTTPResponse {
            var response = inner.respond(to: request)
            if request.path == "/v1/snapshot", response.status == 200, var m = try? SnapshotManifest.decode(response.body) {
                switch form {
                case .asServed:
                    break
                case .uncompressed:
                    guard let packed = FileManager.default.contents(atPath: snapshots + "/\(m.id).db.gz"),
                          let sqlite = try? Gzip.decompress([UInt8](packed), maxBytes: 1 << 30) else { return response }
                    lock.withLock { raw[m.id] = sqlite }
                    (m.size, m.sha256, m.encoding, m.rawSize, m.rawSha256) = (Int64(sqlite.count), SHA256.hex(sqlite), nil, nil, nil)
                case .rawSizeTooSmall:
                    m.rawSize = (m.rawSize ?? 1) - 1
                case .unknownEncoding:
                    m.encoding = "br"
                }
                response.body = m.encoded()
            } else if request.path.hasPrefix("/v1/snapshot/") {
                lock.withLock { servedRanges += 1 }
                let id = String(request.path.dropFirst("/v1/snapshot/".count))
                if form == .uncompressed, let sqlite = lock.withLock({ raw[id] }), let range = request.headers["Range"],
                   range.hasPrefix("bytes="), let dash = range.firstIndex(of: "-"),
                   let start = Int(range[range.index(range.startIndex, offsetBy: 6)..<dash]) {
                    let end = min(sqlite.count - 1, Int(range[range.index(after: dash)...]) ?? sqlite.count - 1)
                    response = HTTPResponse(status: 206, body: Array(sqlite[start...end]))
                    response.headers.set("Content-Type", "application/vnd.sqlite3")
                    response.headers.set("Content-Range", "bytes \(start)-\(end)/\(sqlite.count)")
                }
            }
            return response
        }
    }

    final class Setup {
        let dir: URL
        let store: ServerStore
        let server: HTTPServer
        let rewriter: Rewriter
        let token: String

        init(_ form: Form) throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-snapshot-enc-\(UUID().uuidString.prefix(8))")
            let data = dir.appendingPathComponent("data").path
            store = try ServerStore(dataDirectory: data)
            _ = try store.addSite(id: "county", name: "某县政协", kind: "county", parent: nil)
            token = try store.addSite(id: "huashan", name: "华山镇政协工委", kind: "township", parent: "county")
            _ = try store.addSite(id: "chengguan", name: "城关镇政协工委", kind: "township", parent: "county")
            try store.write { r in
                try r.database.transaction {
                    for i in 0..<300 {
                        try r.database.run("INSERT INTO members(id, name, sector, site_id, phone) VALUES (?, ?, '教育界', ?, ?)",
                                           [.text("m-\(i)"), .text((i % 3 == 0 ? "城关委员" : "华山委员") + "\(i)"),
                                            .text(i % 3 == 0 ? "chengguan" : "huashan"), .text("139\(String(format: "%08d", i * 7919))")])
                    }
                    try r.foldLog()
                }
            }
            rewriter = Rewriter(inner: Router(store: store, log: EventLog(enabled: false)), form: form, snapshots: data + "/snapshots")
            var config = HTTPServerConfiguration()
            config.port = 0
            server = HTTPServer(configuration: config, responder: rewriter)
            try server.start()
        }

        var officePath: String { dir.appendingPathComponent("huashan.db").path }

        func download() -> SnapshotDownload {
            var d = SnapshotDownload(path: officePath, config: OfficeConfig(server: "http://127.0.0.1:\(server.boundPort)", site: "huashan", token: token))
            d.chunkBytes = 4096
            return d
        }

        func members() throws -> [String] {
            try Database(path: officePath, readOnly: true).query("SELECT name FROM members ORDER BY id").compactMap { $0[0].stringValue }
        }

        deinit {
            server.shutdown(gracePeriodSeconds: 1)
            try? FileManager.default.removeItem(at: dir)
        }
    }

    static let huashan = (0..<300).filter { $0 % 3 != 0 }.map { "m-\($0)" }

    @Test func aGzipSnapshotIsInflatedCheckedAndInstalled() throws {
        let setup = try Setup(.asServed)
        let outcome = try setup.download().run()
        #expect(outcome.manifest.encoding == SnapshotManifest.compactGzipEncoding)
        #expect(outcome.downloaded == outcome.manifest.size && outcome.manifest.size < outcome.manifest.rawSize ?? 0,
                "downloaded \(outcome.downloaded) of \(outcome.manifest.size) gzip bytes for \(outcome.manifest.rawSize ?? 0) SQLite bytes")
        let names = try setup.members()
        #expect(names.count == Self.huashan.count && names.allSatisfy { $0.hasPrefix("华山委员") })
        #expect(try Database(path: setup.officePath, readOnly: true).integrityProblems().isEmpty)
        for suffix in [".snapshot-part", ".snapshot-part.json", ".snapshot-installing"] {
            #expect(!FileManager.default.fileExists(atPath: setup.officePath + suffix), "\(suffix) left behind")
        }
    }

    @Test func aManifestWithoutEncodingIsTheSQLiteFileAndStillInstalls() throws {
        let setup = try Setup(.uncompressed)
        let outcome = try setup.download().run()
        #expect(outcome.manifest.encoding == nil && outcome.manifest.rawSize == nil)
        #expect(outcome.downloaded == outcome.manifest.size)
        let names = try setup.members()
        #expect(names.count == Self.huashan.count && names.allSatisfy { $0.hasPrefix("华山委员") })
    }

    /// A gzip stream that inflates to more than the manifest's `rawSize` is refused while inflating (twice: once
    /// more from byte 0), and nothing is installed or left behind.
    @Test func aSnapshotInflatingBeyondItsRawSizeIsRefusedAndNothingInstalled() throws {
        let setup = try Setup(.rawSizeTooSmall)
        #expect {
            try setup.download().run()
        } throws: { error in
            guard case SnapshotInstallError.damaged = error else { return false }
            return "\(error)".contains("nothing was installed") || "\(error)".contains("未安装")
        }
        #expect(!FileManager.default.fileExists(atPath: setup.officePath))
        for suffix in [".snapshot-part", ".snapshot-part.json", ".snapshot-installing"] {
            #expect(!FileManager.default.fileExists(atPath: setup.officePath + suffix), "\(suffix) left behind")
        }
    }

    /// The transport inflates a gzip-coded answer (a pull page) but leaves a gzip file served as itself (a snapshot's
    /// bytes, `Content-Type: application/gzip`) as it came, unless a `Content-Encoding` says it was compressed again.
    @Test func theTransportLeavesAGzipFileAsItCame() throws {
        let file = Gzip.compress(Array("SQLite format 3\0 华山委员".utf8))
        func body(_ headers: [(String, String)], _ bytes: [UInt8]) -> [UInt8]? {
            guard case .answered(_, let b, _, _) = HTTPTransport.inflating(.answered(status: 206, body: bytes, retryAfter: nil, headers: headers)) else { return nil }
            return b
        }
        #expect(body([("Content-Type", "application/gzip")], file) == file)
        #expect(body([("content-type", "application/gzip")], Array(file.prefix(10))) == Array(file.prefix(10)), "a range of the file is not inflated")
        #expect(body([("Content-Type", "application/gzip"), ("Content-Encoding", "gzip")], Gzip.compress(file)) == file)
        #expect(body([("Content-Type", "application/json"), ("Content-Encoding", "gzip")], Gzip.compress(Array("{}".utf8))) == Array("{}".utf8))
    }

    @Test func anUnknownEncodingIsRefusedBeforeAnyByteIsDownloaded() throws {
        let setup = try Setup(.unknownEncoding)
        #expect {
            try setup.download().run()
        } throws: { error in
            guard case SnapshotInstallError.encoding("br") = error else { return false }
            return "\(error)".contains("upgrade cpsync") || "\(error)".contains("升级")
        }
        #expect(setup.rewriter.ranges == 0)
        #expect(!FileManager.default.fileExists(atPath: setup.officePath))
    }
}
