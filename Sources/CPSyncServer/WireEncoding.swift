import CPSyncCore
import CPSyncHTTP
import CPSyncProtocol
import Foundation

/// The negotiated forms of the change-carrying bodies (Protocol/README.md §15), at the edge between HTTP and the
/// sync service: a compact or gzip push body becomes the plain request the service reads, and a pull page goes out
/// in the form the office asked for. An office that asks for nothing gets exactly the plain JSON of §6.
enum WireEncoding {
    /// What `/v1/status` lists in `encodings`: the push bodies this server reads besides plain JSON.
    static let accepted = [CompactForm.encodingName, CompactForm.gzipName]

    /// Bodies smaller than this are sent as they are: gzip's header and the CPU are not worth it.
    static let minimumCompressedBytes = 1024

    /// The push request: inflated when it came as `Content-Encoding: gzip` (refusing more than `maxBodyBytes` once
    /// inflated), and decoded from whichever form it came in (compact or plain JSON), once.
    static func pushRequest(_ req: HTTPRequest, maxBytes: Int = ProtocolLimits.maxBodyBytes) throws(ErrorBody) -> PushRequest {
        let body = try inflated(req, maxBytes: maxBytes)
        // Either form: an unsupported protocol version is answered 426 alike (`SyncService.decodePush`).
        return try SyncService.decodePush(body, compact: CompactForm.names(req.headers["Content-Type"]))
    }

    /// The request body, inflated if it came gzip-encoded. Any other content coding is refused (400).
    static func inflated(_ req: HTTPRequest, maxBytes: Int) throws(ErrorBody) -> [UInt8] {
        guard let coding = req.headers["Content-Encoding"]?.trimmingCharacters(in: .whitespaces).lowercased(), coding != "identity" else {
            return req.body
        }
        guard coding == "gzip" || coding == "x-gzip" else {
            throw ErrorBody(code: .badRequest, message: "Content-Encoding \(coding) is not supported; send the body as gzip or uncompressed; nothing was applied")
        }
        do { return try Gzip.decompress(req.body, maxBytes: maxBytes) } catch {
            switch error {
            case .tooLarge: throw ErrorBody(code: .payloadTooLarge, message: "\(error); nothing was applied")
            case .malformed: throw ErrorBody(code: .badRequest, message: "\(error); nothing was applied")
            }
        }
    }

    /// A pull page in the form the request's `Accept` names: compact, or plain JSON (the default).
    static func pullResponse(_ page: PullResponse, for req: HTTPRequest) -> HTTPResponse {
        guard CompactForm.names(req.headers["Accept"]) else { return .json(page.encoded()) }
        return HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", CompactForm.mediaType)]), body: page.encodedCompact())
    }

    /// gzip for a successful protocol body (plain JSON or compact; not the admin page's files or metrics) of some
    /// size when the request's `Accept-Encoding` allows it (`Vary` tells caches).
    static func compressed(_ response: HTTPResponse, for req: HTTPRequest) -> HTTPResponse {
        guard response.status == 200, response.body.count >= minimumCompressedBytes, response.headers["Content-Encoding"] == nil,
              let type = response.headers["Content-Type"], type.hasPrefix("application/json") || CompactForm.names(type),
              acceptsGzip(req.headers["Accept-Encoding"]) else { return response }
        var r = response
        r.body = Gzip.compress(response.body, level: 6)
        r.headers.set("Content-Encoding", "gzip")
        r.headers.set("Vary", "Accept-Encoding")
        return r
    }

    /// Whether an `Accept-Encoding` value allows gzip (`gzip`, `x-gzip` or `*`, without `q=0`).
    static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        for item in header.split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let name = parts.first, ["gzip", "x-gzip", "*"].contains(name) else { continue }
            let q = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            if q > 0 { return true }
        }
        return false
    }
}
