import CPSyncCore
import CPSyncProtocol
import Foundation

/// The body forms this office uses on the wire (Protocol/README.md §15): the compact form of change pages, gzip,
/// both (the default) or neither (protocol v1's plain JSON, what an older cpsync sends). A form is used only when
/// the server supports it: pulls ask for it (`Accept`, `Accept-Encoding`) and decode what comes; pushes use what
/// `/v1/status` lists in `encodings`.
public struct WireFormat: Sendable, Equatable, CustomStringConvertible {
    public var compact: Bool
    public var gzip: Bool

    public init(compact: Bool, gzip: Bool) {
        self.compact = compact
        self.gzip = gzip
    }

    public static let best = WireFormat(compact: true, gzip: true)
    public static let plain = WireFormat(compact: false, gzip: false)

    public var description: String { (compact ? "compact" : "json") + (gzip ? "+gzip" : "") }

    /// `CPSYNC_WIRE` = `json`, `json+gzip`, `compact` or `compact+gzip` (the default; anything else is the default).
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> WireFormat {
        switch env["CPSYNC_WIRE"]?.lowercased() {
        case "json": .plain
        case "json+gzip": WireFormat(compact: false, gzip: true)
        case "compact": WireFormat(compact: true, gzip: false)
        default: .best
        }
    }

    /// Bodies below this size are sent uncompressed.
    static let minimumCompressedBytes = 1024

    /// The headers of a pull that asks for this form.
    public var pullHeaders: [(String, String)] {
        var h: [(String, String)] = []
        if compact { h.append(("Accept", "\(CompactForm.mediaType), application/json;q=0.5")) }
        if gzip { h.append(("Accept-Encoding", "gzip")) }
        return h
    }

    /// A push body and its headers, in the forms of this format that the server lists in `accepts` (its status's
    /// `encodings`; nil for a server that reads plain JSON only).
    public func pushBody(_ request: PushRequest, serverAccepts accepts: [String]?) -> (body: [UInt8], headers: [(String, String)]) {
        let accepts = Set(accepts ?? [])
        var headers: [(String, String)] = []
        var body: [UInt8]
        if compact && accepts.contains(CompactForm.encodingName) {
            body = request.encodedCompact()
            headers.append(("Content-Type", CompactForm.mediaType))
        } else {
            body = request.encoded()
        }
        if gzip && accepts.contains(CompactForm.gzipName) && body.count >= Self.minimumCompressedBytes {
            body = Gzip.compress(body)
            headers.append(("Content-Encoding", "gzip"))
        }
        return (body, headers)
    }

    /// Decodes a pull answer in whichever form the server sent (its `Content-Type` says).
    public static func decodePullPage(_ r: HTTPTransport.Response) throws(ClientError) -> PullResponse {
        do {
            if CompactForm.names(r.header("Content-Type")) { return try PullResponse.decodeCompact(r.body) }
            return try PullResponse.decode(r.body)
        } catch {
            throw ClientError.badResponse("\(error)")
        }
    }
}
