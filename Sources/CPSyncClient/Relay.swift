import CPSyncCore
import CPSyncEngine
import CPSyncProtocol
import Foundation

// Relaying (Protocol/README.md §17.5): a township with a link keeps the changes files its stations' clerks bring,
// forwards them to the county at its next push, and keeps the county's replies for the clerk to carry back. The
// township cannot check a station's signature (it does not have the station's token): the county does.

/// A station's changes file kept at a relaying office, and what became of it.
public struct RelayedFile: Sendable, Equatable {
    public let fileId: String
    public let site: String
    public let receivedAt: Int64
    /// The county's signed reply, once forwarded and fetched: its SHA-256 in the relay store (`relayStore`).
    public let reply: String?
    /// Why the county refused it (the clerk must export again), if it did.
    public let error: String?
}

extension SyncClient {
    /// The files themselves are kept beside the replica (`relayStore`), the bookkeeping here: `sha256`/`size` name the
    /// station's file, `reply_sha256`/`reply_size` the county's reply once it named one, `replied_at` once it is here.
    /// `file` and `reply` held the bytes themselves before (`migrateRelayed` moves them out; new rows keep `file` empty).
    static let relayTableSQL = """
        CREATE TABLE IF NOT EXISTS _cp_relay (
          file_id TEXT PRIMARY KEY NOT NULL, site TEXT NOT NULL, file BLOB NOT NULL, received_at INTEGER NOT NULL,
          reply BLOB, replied_at INTEGER, error TEXT, sha256 TEXT, size INTEGER, reply_sha256 TEXT, reply_size INTEGER
        );
        """

    /// Where a relaying office keeps its stations' changes files and the county's replies: `<db>.relay/`, by SHA-256.
    public var relayStore: BlobStore {
        get throws { try BlobStore(directory: replica.database.path + ".relay") }
    }

    /// Makes the table, adds the columns of this version to an older one, and moves files and replies still held as
    /// BLOBs into the relay store.
    func migrateRelayed() throws {
        let db = replica.database
        try db.execute(Self.relayTableSQL)
        let columns = Set(try db.query("PRAGMA table_info(_cp_relay)").compactMap { $0[1].stringValue })
        for (column, type) in [("sha256", "TEXT"), ("size", "INTEGER"), ("reply_sha256", "TEXT"), ("reply_size", "INTEGER")] where !columns.contains(column) {
            try db.execute("ALTER TABLE _cp_relay ADD COLUMN \(column) \(type)")
        }
        let held = try db.query("SELECT file_id FROM _cp_relay WHERE length(file) > 0 OR reply IS NOT NULL")
        guard !held.isEmpty else { return }
        let store = try relayStore
        for row in held {
            guard let id = row[0].stringValue else { continue }
            // One row at a time: a row's bytes (at most the old body limit) are in memory only while it moves.
            let r = try db.query("SELECT file, reply FROM _cp_relay WHERE file_id = ?", [.text(id)])[0]
            var set: [(String, Value)] = []
            if case .blob(let bytes) = r[0], !bytes.isEmpty {
                let (hash, size) = try Self.keep(bytes, in: store)
                set += [("sha256", .text(hash)), ("size", .integer(size)), ("file", .blob([]))]
            }
            if case .blob(let bytes) = r[1] {
                let (hash, size) = try Self.keep(bytes, in: store)
                set += [("reply_sha256", .text(hash)), ("reply_size", .integer(size)), ("reply", .null)]
            }
            try db.run("UPDATE _cp_relay SET \(set.map { "\($0.0) = ?" }.joined(separator: ", ")) WHERE file_id = ?", set.map(\.1) + [.text(id)])
        }
    }

    /// Stores bytes in `store` (through a temporary file: the store takes files).
    private static func keep(_ bytes: [UInt8], in store: BlobStore) throws -> (hash: String, size: Int64) {
        let tmp = "\(store.directory)/partial/relay-\(UUID().uuidString)"
        defer { unlink(tmp) }
        guard FileManager.default.createFile(atPath: tmp, contents: Data(bytes)) else { throw BlobError.io(path: tmp, errno: errno) }
        return try store.add(file: tmp)
    }

    /// Keeps a station's changes file (at `path`) for forwarding: copied into the relay store a chunk at a time. The
    /// same file twice is kept once.
    public func storeRelayed(path: String) throws -> (header: ChangeFileHeader, isNew: Bool) {
        let header = try ChangeFile.Reader.peekHeader(path: path)
        guard header.kind == .changes else { throw ChangeFileError.wrongKind(expected: .changes, got: header.kind) }
        try migrateRelayed()
        let (hash, size) = try relayStore.add(file: path)
        try replica.database.run("INSERT OR IGNORE INTO _cp_relay(file_id, site, file, received_at, sha256, size) VALUES (?, ?, x'', ?, ?, ?)",
                                 [.text(header.fileId), .text(header.site), .integer(HLC.wallClock().milliseconds), .text(hash), .integer(size)])
        return (header, replica.database.changes > 0)
    }

    /// Forwards every kept file the county has not answered and keeps each answer: the file goes to the county's
    /// file store as attached files do (`FileTransfer`: chunked, resumed where it stopped), then `POST /v1/relay`
    /// names it; the county's reply comes back the same way. A refusal (a 4xx, or a file too large for the county's
    /// store) is kept and the file not sent again. A network failure stops here; the files stay for the next push,
    /// each resuming where it stopped.
    @discardableResult
    public func forwardRelayed() throws -> (forwarded: Int, refused: Int) {
        try migrateRelayed()
        let waiting = try replica.database.query("""
            SELECT file_id, sha256, size, reply_sha256, reply_size FROM _cp_relay
            WHERE replied_at IS NULL AND error IS NULL AND sha256 IS NOT NULL ORDER BY received_at
            """)
        guard !waiting.isEmpty else { return (0, 0) }
        // Uploaded as a relayed file: the county's limits on attached files (size, quota) are not its limits.
        var county = upstream()
        county.uploadQuery = "&relay=1"
        let transfer = FileTransfer(store: try relayStore, upstream: county, access: DirectAccess(replica))
        var forwarded = 0, refused = 0
        func hash(of id: String) throws -> String { try replica.database.scalar("SELECT sha256 FROM _cp_relay WHERE file_id = ?", [.text(id)])?.stringValue ?? "" }
        func refuse(_ id: String, _ message: String) throws {
            try replica.database.run("UPDATE _cp_relay SET error = ? WHERE file_id = ?", [.text(message), .text(id)])
            try relayStore.remove(hash(of: id))
            refused += 1
        }
        for row in waiting {
            guard let id = row[0].stringValue, let hash = row[1].stringValue, let size = row[2].int64Value else { continue }
            var reply = row[3].stringValue.flatMap { h in row[4].int64Value.map { RelayFile(sha256: h, size: $0) } }
            if reply == nil {
                do {
                    _ = try transfer.sendOne(BlobReference(hash: hash, size: size, addedAt: "", addedBy: replica.siteID))
                } catch let error {
                    guard let r = county.refusal(in: error), (400..<500).contains(r.status) else { throw error }
                    if r.status == 404 && size <= Int64(ProtocolLimits.maxBodyBytes) {
                        // A county from before the file store (no `/v1/blobs`): the file goes whole in the request, as
                        // it did then (up to the body limit).
                        if try forwardWhole(id, hash: hash, refuse: refuse) { forwarded += 1 }
                        continue
                    }
                    try refuse(id, r.body.message)
                    continue
                }
                let answer = try transport.send("POST", "/v1/relay", body: RelayFile(sha256: hash, size: size).encoded(),
                                                headers: [("Content-Type", "application/json")])
                if (200..<300).contains(answer.status), let named = try? RelayFile.decode(answer.body) {
                    try replica.database.run("UPDATE _cp_relay SET reply_sha256 = ?, reply_size = ? WHERE file_id = ?",
                                             [.text(named.sha256), .integer(named.size), .text(id)])
                    reply = named
                } else if answer.status == 404 {
                    // The county no longer holds the upload (collected meanwhile): it goes again next time.
                    continue
                } else if (400..<500).contains(answer.status) {
                    try refuse(id, (try? ErrorBody.decode(answer.body))?.message ?? "HTTP \(answer.status)")
                    continue
                } else {
                    throw HTTPTransport.failure(answer)
                }
            }
            guard let reply else { continue }
            var summary = FileTransfer.Summary()
            try transfer.fetch([BlobReference(hash: reply.sha256, size: reply.size, addedAt: "", addedBy: "")], summary: &summary)
            guard try relayStore.has(reply.sha256) else { continue }
            try replica.database.run("UPDATE _cp_relay SET replied_at = ? WHERE file_id = ?", [.integer(HLC.wallClock().milliseconds), .text(id)])
            // Answered: the station's file is not needed here any more (the reply is kept for the clerk).
            try relayStore.remove(hash)
            forwarded += 1
        }
        return (forwarded, refused)
    }

    /// Forwards a kept file whole (`POST /v1/relay` with the file as the body: a county from before the file store)
    /// and keeps the reply it answers with. True when answered; a refusal is kept by `refuse`.
    private func forwardWhole(_ id: String, hash: String, refuse: (String, String) throws -> Void) throws -> Bool {
        let store = try relayStore
        guard let data = FileManager.default.contents(atPath: store.path(hash)) else { throw BlobError.missing(hash) }
        let answer = try transport.send("POST", "/v1/relay", body: [UInt8](data))
        if (200..<300).contains(answer.status) {
            let (reply, size) = try Self.keep(answer.body, in: store)
            try replica.database.run("UPDATE _cp_relay SET reply_sha256 = ?, reply_size = ?, replied_at = ? WHERE file_id = ?",
                                     [.text(reply), .integer(size), .integer(HLC.wallClock().milliseconds), .text(id)])
            store.remove(hash)
            return true
        }
        guard (400..<500).contains(answer.status) else { throw HTTPTransport.failure(answer) }
        try refuse(id, (try? ErrorBody.decode(answer.body))?.message ?? "HTTP \(answer.status)")
        return false
    }

    /// The kept files, oldest first.
    public func relayedFiles() throws -> [RelayedFile] {
        try migrateRelayed()
        return try replica.database.query("""
            SELECT file_id, site, received_at, CASE WHEN replied_at IS NOT NULL THEN reply_sha256 END, error FROM _cp_relay ORDER BY received_at
            """).map {
            RelayedFile(fileId: $0[0].stringValue ?? "", site: $0[1].stringValue ?? "", receivedAt: $0[2].int64Value ?? 0,
                        reply: $0[3].stringValue, error: $0[4].stringValue)
        }
    }
}
