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
        try transport.call("GET", "/v1/blobs/\(hash)/state?size=\(size)", as: BlobState.self).received
    }

    public func sendFile(_ hash: String, size: Int64, offset: Int64, chunk: [UInt8]) throws -> Int64 {
        try transport.call("PUT", "/v1/blobs/\(hash)?size=\(size)&offset=\(offset)", body: chunk,
                           headers: [("Content-Type", "application/octet-stream")], as: BlobState.self,
                           progress: tracker.map { t in { t.moved($0) } }).received
    }

    public func fetchFile(_ hash: String, size: Int64, offset: Int64, length: Int) throws -> [UInt8] {
        let r = try transport.checked(try transport.send("GET", "/v1/blobs/\(hash)", headers: [("Range", "bytes=\(offset)-\(offset + Int64(length) - 1)")],
                                                         progress: tracker.map { t in { t.moved($0) } }))
        guard r.status == 206 || (r.status == 200 && offset == 0) else {
            throw ClientError.badResponse("HTTP \(r.status) for a range of file \(hash)")
        }
        return r.body.count > length ? Array(r.body.prefix(length)) : r.body
    }
}

extension SyncClient {
    /// The office's file store, beside its replica.
    public var files: BlobStore {
        get throws { try BlobStore.beside(database: replica.database.path) }
    }

    /// Sends this office's own attached files the county lacks, then fetches the files of the office's records its
    /// policy wants (`FilePolicy`), each resuming where it stopped. Learns the county's limits on the way (an office
    /// then refuses at attach time what the county would refuse). Run after the rows went and came.
    public func transferFiles(send: Bool = true, fetch: Bool = true) throws -> FileTransfer.Summary {
        var summary = FileTransfer.Summary()
        if let limits = try serverStatus().status.attachments { try limits.remember(in: replica) }
        let referenced = try Attachments.referenced(in: replica)
        try replica.forgetBlobRefusals(except: Set(referenced.filter { $0.addedBy == replica.siteID }.map(\.hash)))
        // A station's files carried here on a stick and kept for forwarding (`relay-import`) go up as this office's.
        let relayed = try replica.blobsRelayed()
        guard !referenced.isEmpty || !relayed.isEmpty else { return summary }
        let transfer = FileTransfer(store: try files, upstream: upstream(), access: DirectAccess(replica))
        if send {
            transfer.progress = fileProgress.map { p in { p($0, $1, $2, true) } }
            let store = try files
            let carried = relayed.filter { store.has($0) }.map { BlobReference(hash: $0, size: store.received($0), addedAt: "", addedBy: "") }
            try transfer.send(referenced.filter { $0.addedBy == replica.siteID } + carried, summary: &summary)
        }
        if fetch {
            transfer.progress = fileProgress.map { p in { p($0, $1, $2, false) } }
            try transfer.fetch(try FilePolicy.of(replica).wanted(referenced), summary: &summary)
        }
        return summary
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
    public func filesToCarry() throws -> [BlobReference] {
        let store = try files
        let sent = try replica.blobsSent()
        return try Attachments.referenced(in: replica).filter { $0.addedBy == replica.siteID && !sent.contains($0.hash) && store.has($0.hash) }
    }

    /// Bytes still to go each way: own files not acknowledged by the county, and files the policy wants that are
    /// not here (for `cpsync status`).
    public func filesWaiting() throws -> (up: Int64, upFiles: Int, down: Int64, downFiles: Int) {
        let store = try files
        let referenced = try Attachments.referenced(in: replica)
        let sent = try replica.blobsSent()
        let up = referenced.filter { $0.addedBy == replica.siteID && !sent.contains($0.hash) && store.has($0.hash) }
        let down = try FilePolicy.of(replica).wanted(referenced).filter { !store.has($0.hash) }
        return (up.reduce(0) { $0 + $1.size }, up.count, down.reduce(0) { $0 + $1.size - store.received($1.hash) }, down.count)
    }
}
