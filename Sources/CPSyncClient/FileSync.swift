import CPSyncText
import CPPCC
import CPSyncCore
import CPSyncEngine
import CPSyncProtocol
import Foundation

/// Which attached files' bytes an office fetches (`cpsync init|sync --attachments`); the rows (name, size, who, when)
/// always come. Kept in the replica, so that a plain `cpsync sync` keeps the office's choice.
public enum FilePolicy: String, Sendable, CaseIterable {
    /// Every file of the records it holds.
    case all
    /// Files attached in the last `recentDays` days; older ones on demand (`cpsync attach get`).
    case recent
    /// None; each on demand.
    case none

    public static let recentDays = 30
    static let metaKey = "attachments.policy"

    public static func of(_ replica: Replica) throws -> FilePolicy {
        try replica.meta(metaKey)?.stringValue.flatMap(FilePolicy.init(rawValue:)) ?? .all
    }

    public func remember(in replica: Replica) throws {
        if try replica.meta(Self.metaKey)?.stringValue != rawValue { try replica.setMeta(Self.metaKey, .text(rawValue)) }
    }

    /// The files of `files` this policy fetches.
    public func wanted(_ files: [BlobReference], now: Date = Date()) -> [BlobReference] {
        switch self {
        case .all: return files
        case .none: return []
        case .recent:
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime]
            let since = f.string(from: now.addingTimeInterval(-Double(Self.recentDays) * 86_400))
            return files.filter { $0.addedAt >= since }
        }
    }
}

extension HTTPUpstream: FileUpstream {
    public func fileState(_ hash: String, size: Int64) throws -> Int64 {
        try transport.call("GET", "/v1/blobs/\(hash)/state?size=\(size)\(uploadQuery)", as: BlobState.self).received
    }

    public func sendFile(_ hash: String, size: Int64, offset: Int64, length: Int, from path: String) throws -> Int64 {
        let r = try transport.checked(try transport.upload("/v1/blobs/\(hash)?size=\(size)&offset=\(offset)\(uploadQuery)", file: path,
                                                           offset: offset, count: length, headers: [("Content-Type", "application/octet-stream")],
                                                           progress: tracker.map { t in { t.moved($0) } }))
        do { return try BlobState.decode(r.body).received } catch { throw ClientError.badResponse("\(error)") }
    }

    public func fetchFile(_ hash: String, size: Int64, offset: Int64, length: Int, into receive: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        var got = 0
        var failure: (any Error)?
        // The bytes of the range asked for (a whole file's first bytes may come as a plain 200), never more.
        let answer: HTTPTransport.Response
        do {
            answer = try transport.receive("/v1/blobs/\(hash)", headers: [("Range", "bytes=\(offset)-\(offset + Int64(length) - 1)")],
                                           statuses: offset == 0 ? [200, 206] : [206], progress: tracker.map { t in { t.moved($0) } }) { bytes in
                do {
                    try receive(UnsafeRawBufferPointer(rebasing: bytes.prefix(length - got)))
                    got += min(bytes.count, length - got)
                    return true
                } catch {
                    failure = error
                    return false
                }
            }
        } catch {
            // The receiver's own failure (the disk), not the link's.
            throw failure ?? error
        }
        let r = try transport.checked(answer)
        guard r.status == 206 || (r.status == 200 && offset == 0) else {
            throw ClientError.badResponse("HTTP \(r.status) for a range of file \(hash)")
        }
        return got
    }
}

extension SyncClient {
    /// The office's file store, beside its replica.
    public var files: BlobStore {
        get throws { try BlobStore.beside(database: replica.database.path) }
    }

    /// Sends this office's own attached files the county lacks, then fetches the files of the office's records its
    /// policy wants (`FilePolicy`), each resuming where it stopped, and deletes the files it no longer needs. Learns
    /// the county's limits on the way (an office then refuses at attach time what the county would refuse). Run after
    /// the rows went and came.
    public func transferFiles(send: Bool = true, fetch: Bool = true) throws -> FileTransfer.Summary {
        var summary = FileTransfer.Summary()
        if let limits = try serverStatus().status.attachments { try limits.remember(in: replica) }
        let referenced = try Attachments.referenced(in: replica)
        let outgoing = try outgoingFiles(referenced)
        try replica.forgetBlobRefusals(except: Set(outgoing.map(\.hash)))
        let held = try files.all()
        guard !referenced.isEmpty || !outgoing.isEmpty || !held.isEmpty else { return summary }
        let transfer = FileTransfer(store: try files, upstream: upstream(), access: DirectAccess(replica))
        if send {
            transfer.progress = fileProgress.map { p in { p($0, $1, $2, true) } }
            try transfer.send(outgoing, summary: &summary)
        }
        if fetch {
            transfer.progress = fileProgress.map { p in { p($0, $1, $2, false) } }
            try transfer.fetch(try FilePolicy.of(replica).wanted(referenced), summary: &summary)
            summary.forgotten = try forgetFilesNotHeld(referenced)
        }
        return summary
    }

    /// The files this office is to send, held here and not acknowledged by the county: those it attached (whatever
    /// became of their rows since: a record transferred to another township takes its attachment out of this
    /// office's rows, but its bytes may be here only), those its rows say it added (an earlier life of this replica),
    /// and a station's relayed through it.
    func outgoingFiles(_ referenced: [BlobReference]) throws -> [BlobReference] {
        let store = try files
        let sent = try replica.blobsSent()
        var out: [String: BlobReference] = [:]
        for r in referenced where r.addedBy == replica.siteID { out[r.hash] = r }
        let carried = try replica.blobsOwn() + (try replica.blobsRelayed())
        for hash in carried where out[hash] == nil && store.has(hash) {
            out[hash] = BlobReference(hash: hash, size: store.received(hash), addedAt: "", addedBy: replica.siteID)
        }
        return out.values.filter { !sent.contains($0.hash) && store.has($0.hash) }.sorted { $0.hash < $1.hash }
    }

    /// Deletes the files this office no longer needs (see `forgetFilesNotHeld`); returns how many.
    public func forgetFiles() throws -> Int { try forgetFilesNotHeld(try Attachments.referenced(in: replica)) }

    /// An office keeps the bytes of the files its rows name and of the files it is still to send; the others (a
    /// record transferred to another township, an attachment removed) are deleted here — the county has them — so
    /// that an office holds only its scope's files. Returns how many were deleted.
    func forgetFilesNotHeld(_ referenced: [BlobReference]) throws -> Int {
        let store = try files
        let keep = Set(referenced.map(\.hash)).union(try outgoingFiles(referenced).map(\.hash))
        var forgotten = 0
        // A file stored in the last hour is kept whatever: a clerk's `attach add` stores the bytes before it writes
        // the row that names them, and a sync running meanwhile must not take them. (`CPSYNC_FILE_KEEP_SECONDS`: a
        // test hook, for a check right after a history.)
        let young = ProcessInfo.processInfo.environment["CPSYNC_FILE_KEEP_SECONDS"].flatMap(Double.init) ?? 3600
        for hash in store.all() where !keep.contains(hash) && (store.age(hash) ?? 0) >= young {
            store.remove(hash)
            forgotten += 1
        }
        return forgotten
    }

    /// Fetches one file now, whatever the policy (`cpsync attach get` of a file not here yet).
    public func fetchFile(_ file: BlobReference) throws -> FileTransfer.Summary {
        var summary = FileTransfer.Summary()
        let transfer = FileTransfer(store: try files, upstream: upstream(), access: DirectAccess(replica))
        transfer.progress = fileProgress.map { p in { p($0, $1, $2, false) } }
        try transfer.fetch([file], summary: &summary)
        return summary
    }

    /// This office's own attached files the county has not acknowledged: what a stick carries (`export-changes`).
    public func filesToCarry() throws -> [BlobReference] { try outgoingFiles(try Attachments.referenced(in: replica)) }

    /// Bytes still to go each way: own files not acknowledged by the county, and files the policy wants that are
    /// not here (for `cpsync status`).
    public func filesWaiting() throws -> (up: Int64, upFiles: Int, down: Int64, downFiles: Int) {
        let store = try files
        let referenced = try Attachments.referenced(in: replica)
        let up = try outgoingFiles(referenced)
        let down = try FilePolicy.of(replica).wanted(referenced).filter { !store.has($0.hash) }
        return (up.reduce(0) { $0 + $1.size }, up.count, down.reduce(0) { $0 + $1.size - store.received($1.hash) }, down.count)
    }
}
