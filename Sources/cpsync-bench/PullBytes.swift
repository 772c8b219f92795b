import CPPCC
import CPSyncClient
import CPSyncProtocol
import Foundation

/// The bytes a site's whole initial pull takes on the wire, read again page by page after the timed pull: in plain
/// JSON (what an older office receives) and in the compact form gzipped as the daemon sends it to a current office.
enum PullBytes {
    struct Figures {
        var json = 0
        var compactGzip = 0
    }

    static func measure(url: String, token: String) throws -> Figures {
        let transport = HTTPTransport(baseURL: url, token: token)
        var f = Figures()
        for form in [WireFormat.plain, WireFormat(compact: true, gzip: false)] {
            var after: Int64 = 0
            for _ in 0..<100_000 {
                let query = PullQuery(after: after, since: 0, limit: ProtocolLimits.defaultPageSize, schemaVersion: CPPCCSchema.version)
                let answer = try transport.send("GET", "/v1/pull?" + query.queryString, headers: form.pullHeaders)
                // Gzipped here at the daemon's level rather than asked for: the transport inflates what it receives.
                if form.compact { f.compactGzip += Gzip.compress(answer.body, level: 6).count } else { f.json += answer.body.count }
                let page = try WireFormat.decodePullPage(answer)
                after = page.cursor
                if !page.hasMore { break }
            }
        }
        return f
    }
}
