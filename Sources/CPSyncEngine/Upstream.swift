import CPSyncCore
import CPSyncProtocol

/// Where a replica's changes go and where the changes it lacks come from: the county over HTTP for an office, the
/// higher tier over HTTP for a county (`cpsyncd uplink`), the county's own `SyncService` for a station's changes file
/// imported there. The engine (`PushLoop`, `PullLoop`, `Delivery`) is the same over every one of them; an upstream
/// only moves messages and says which of its errors are refusals.
public protocol Upstream: Sendable {
    /// A batch made ready to go, encoded in the form this upstream reads (done while the previous batch travels).
    func prepare(_ request: PushRequest) -> PreparedPush
    /// Sends one batch and returns the upstream's answer. The error is the upstream's own, thrown on unchanged.
    func push(_ batch: PreparedPush) throws -> PushResponse
    /// One page of the upstream's changes after the query's position.
    func pull(_ query: PullQuery) throws -> PullResponse
    /// The upstream's refusal in `error` (its HTTP status and error body), or nil for anything else (the link, a
    /// server fault): a refusal can name changes to set aside; anything else leaves everything queued.
    func refusal(in error: any Error) -> Refusal?
}

/// A batch ready to go: the request and its body as this upstream reads it.
public struct PreparedPush: Sendable {
    public let request: PushRequest
    public let body: [UInt8]
    public let headers: [(String, String)]

    public init(request: PushRequest, body: [UInt8], headers: [(String, String)] = []) {
        self.request = request
        self.body = body
        self.headers = headers
    }
}

/// An upstream's refusal of a request.
public struct Refusal: Sendable, Equatable {
    public let status: Int
    public let body: ErrorBody

    public init(status: Int, body: ErrorBody) {
        self.status = status
        self.body = body
    }

    /// The one test of "which changes of this batch were refused": the changes to set aside, or nil when the
    /// request is refused as a whole (everything stays queued). A value is refused alone; a row the site may not
    /// write is refused whole (every change of the row in the batch, and every other row the upstream names).
    public func refusedIndices(of batch: [Change]) -> [Int]? {
        guard [400, 403, 422].contains(status), let i = body.index, batch.indices.contains(i) else { return nil }
        // A site id another county uses refuses the writer, not a row: every change of it would be refused too.
        if body.code == .siteIDTaken { return nil }
        guard status == 403 else { return [i] }
        let row = RowKey(batch[i])
        return Array(Set((body.indices ?? []).filter { batch.indices.contains($0) } + batch.indices.filter { RowKey(batch[$0]) == row })).sorted()
    }
}

/// How batches are named: from their content, so the same batch sent again (after a cut link, a crash, an import
/// of the same file) has the same id and is answered as the first time, and a batch that changed is a new one.
/// Hashes the changes' compact binary form (`ChangeDigest`) with the 128-bit MurmurHash3: only one site's own
/// batches are ever told apart by it.
public enum BatchNaming {
    public static func id(site: String, label: String, changes: [Change]) -> String {
        ChangeDigest.murmurHex(changes, prefix: Array("\(site)|\(label)|b2|".utf8))
    }
}

/// How the engine reaches the replica it syncs: an office's own connection, or a daemon's one writer (the county's
/// database is shared with the HTTP server, so every access queues there). Accesses are short: a page read, a
/// page merged with its cursor, a cursor moved.
public protocol ReplicaAccess {
    func with<T>(_ body: (Replica) throws -> T) throws -> T
}

/// An office's replica, used directly.
public struct DirectAccess: ReplicaAccess {
    public let replica: Replica
    public init(_ replica: Replica) { self.replica = replica }
    public func with<T>(_ body: (Replica) throws -> T) throws -> T { try body(replica) }
}

/// Progress of a transfer, for a progress display (the upstream reports the bytes it moves itself).
public protocol TransferObserver: AnyObject {
    func beginRequest(span: Int64?)
    func endRequest()
    func page(cursor: Int64, changes: Int, head: Int64?, last: Bool)
}
