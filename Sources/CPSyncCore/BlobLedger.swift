/// What a replica knows of its files' transfers to its upstream: which files the upstream acknowledged whole, and
/// which it refused with what reason (kept until the clerk removes the attachment or the next run sends it after
/// all). Local only (`_cp_blob_sent`, `_cp_blob_refused`), never synced; losing it costs one question per file.
extension Replica {
    static let blobLedgerSQL = """
        CREATE TABLE IF NOT EXISTS _cp_blob_sent (sha256 TEXT PRIMARY KEY NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS _cp_blob_own (sha256 TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS _cp_blob_relayed (sha256 TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS _cp_blob_refused (sha256 TEXT PRIMARY KEY NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
        """

    public func blobsSent() throws -> Set<String> {
        try database.execute(Self.blobLedgerSQL)
        return Set(try database.query("SELECT sha256 FROM _cp_blob_sent").compactMap { $0[0].stringValue })
    }

    public func noteBlobSent(_ hash: String) throws {
        try database.execute(Self.blobLedgerSQL)
        try database.transaction {
            try database.run("INSERT OR REPLACE INTO _cp_blob_sent(sha256, at) VALUES (?, ?)", [.text(hash), .integer(HLC.wallClock().milliseconds)])
            try database.run("DELETE FROM _cp_blob_refused WHERE sha256 = ?", [.text(hash)])
        }
    }

    public func noteBlobRefused(_ hash: String, code: String, message: String) throws {
        try database.execute(Self.blobLedgerSQL)
        try database.run("INSERT OR REPLACE INTO _cp_blob_refused(sha256, code, message, at) VALUES (?, ?, ?, ?)",
                         [.text(hash), .text(code), .text(message), .integer(HLC.wallClock().milliseconds)])
    }

    /// Forgets the refusals of files no longer to send (the clerk removed the attachment).
    public func forgetBlobRefusals(except keep: Set<String>) throws {
        let refused = try blobRefusals().keys.filter { !keep.contains($0) }
        for hash in refused { try database.run("DELETE FROM _cp_blob_refused WHERE sha256 = ?", [.text(hash)]) }
    }

    /// Files this replica attached (`cpsync attach add`), whatever became of their rows.
    public func blobsOwn() throws -> [String] {
        try database.execute(Self.blobLedgerSQL)
        return try database.query("SELECT sha256 FROM _cp_blob_own ORDER BY sha256").compactMap { $0[0].stringValue }
    }

    public func noteBlobOwn(_ hash: String) throws {
        try database.execute(Self.blobLedgerSQL)
        try database.run("INSERT OR IGNORE INTO _cp_blob_own(sha256) VALUES (?)", [.text(hash)])
    }

    /// Files of a station kept here for forwarding (`relay-import`), not yet acknowledged by the upstream.
    public func blobsRelayed() throws -> [String] {
        try database.execute(Self.blobLedgerSQL)
        return try database.query("SELECT sha256 FROM _cp_blob_relayed WHERE sha256 NOT IN (SELECT sha256 FROM _cp_blob_sent) ORDER BY sha256")
            .compactMap { $0[0].stringValue }
    }

    public func noteBlobsRelayed(_ hashes: [String]) throws {
        try database.execute(Self.blobLedgerSQL)
        for h in hashes { try database.run("INSERT OR IGNORE INTO _cp_blob_relayed(sha256) VALUES (?)", [.text(h)]) }
    }

    /// The files the upstream refused: hash → (code, message).
    public func blobRefusals() throws -> [String: (code: String, message: String)] {
        try database.execute(Self.blobLedgerSQL)
        var out: [String: (code: String, message: String)] = [:]
        for r in try database.query("SELECT sha256, code, message FROM _cp_blob_refused") {
            if let h = r[0].stringValue { out[h] = (r[1].stringValue ?? "", r[2].stringValue ?? "") }
        }
        return out
    }
}
