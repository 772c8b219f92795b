import CPSyncCore
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
    /// The county's signed reply, once forwarded.
    public let reply: [UInt8]?
    /// Why the county refused it (the clerk must export again), if it did.
    public let error: String?
}

extension SyncClient {
    static let relayTableSQL = """
        CREATE TABLE IF NOT EXISTS _cp_relay (
          file_id TEXT PRIMARY KEY NOT NULL, site TEXT NOT NULL, file BLOB NOT NULL, received_at INTEGER NOT NULL,
          reply BLOB, replied_at INTEGER, error TEXT
        );
        """

    /// Keeps a station's changes file for forwarding. The same file twice is kept once.
    public func storeRelayed(_ bytes: [UInt8]) throws -> (header: ChangeFileHeader, isNew: Bool) {
        let header = try ChangeFile.peekHeader(bytes)
        guard header.kind == .changes else { throw ChangeFileError.wrongKind(expected: .changes, got: header.kind) }
        try replica.database.execute(Self.relayTableSQL)
        try replica.database.run("INSERT OR IGNORE INTO _cp_relay(file_id, site, file, received_at) VALUES (?, ?, ?, ?)",
                                 [.text(header.fileId), .text(header.site), .blob(bytes), .integer(HLC.wallClock().milliseconds)])
        return (header, replica.database.changes > 0)
    }

    /// Forwards every kept file the county has not answered (`POST /v1/relay`) and keeps each answer: the reply,
    /// or the county's refusal (a 4xx: the file will not be sent again). A network failure stops here; the files
    /// stay for the next push.
    @discardableResult
    public func forwardRelayed() throws -> (forwarded: Int, refused: Int) {
        try replica.database.execute(Self.relayTableSQL)
        let waiting = try replica.database.query("SELECT file_id, file FROM _cp_relay WHERE reply IS NULL AND error IS NULL ORDER BY received_at")
        var forwarded = 0, refused = 0
        for row in waiting {
            guard let id = row[0].stringValue, case .blob(let bytes) = row[1] else { continue }
            let answer = try transport.send("POST", "/v1/relay", body: bytes)
            if (200..<300).contains(answer.status) {
                try replica.database.run("UPDATE _cp_relay SET reply = ?, replied_at = ? WHERE file_id = ?",
                                         [.blob(answer.body), .integer(HLC.wallClock().milliseconds), .text(id)])
                forwarded += 1
            } else if (400..<500).contains(answer.status) {
                let message = (try? ErrorBody.decode(answer.body))?.message ?? "HTTP \(answer.status)"
                try replica.database.run("UPDATE _cp_relay SET error = ? WHERE file_id = ?", [.text(message), .text(id)])
                refused += 1
            } else {
                throw ClientError.server(status: answer.status, body: (try? ErrorBody.decode(answer.body))
                    ?? ErrorBody(code: .serverError, message: "HTTP \(answer.status) without an error body"))
            }
        }
        return (forwarded, refused)
    }

    /// The kept files, oldest first.
    public func relayedFiles() throws -> [RelayedFile] {
        try replica.database.execute(Self.relayTableSQL)
        return try replica.database.query("SELECT file_id, site, received_at, reply, error FROM _cp_relay ORDER BY received_at").map {
            var reply: [UInt8]? = nil
            if case .blob(let b) = $0[3] { reply = b }
            return RelayedFile(fileId: $0[0].stringValue ?? "", site: $0[1].stringValue ?? "", receivedAt: $0[2].int64Value ?? 0,
                               reply: reply, error: $0[4].stringValue)
        }
    }
}
