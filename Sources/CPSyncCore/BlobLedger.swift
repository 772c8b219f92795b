/// What a replica knows of its files' transfers to its upstream: which files the upstream acknowledged whole, and
/// which it refused with what reason (kept until the clerk removes the attachment or the next run sends it after
/// all). Local only (`_cp_blob_sent`, `_cp_blob_refused`), never synced; losing it costs one question per file.
extension Replica {
    static let blobLedgerSQL = """
        CREATE TABLE IF NOT EXISTS _cp_blob_sent (sha256 TEXT PRIMARY KEY NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS _cp_blob_attached (sha256 TEXT NOT NULL, tbl TEXT NOT NULL, pk TEXT NOT NULL, PRIMARY KEY (sha256, tbl, pk)) WITHOUT ROWID;
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

    /// Files this replica attached (`cpsync attach add`) to be sent: those of a row that is alive here or that left
    /// this replica's scope (forgotten: its bytes may be here only), not those whose every row was deleted here (the
    /// clerk removed the attachment).
    public func blobsOwn() throws -> [String] {
        try database.execute(Self.blobLedgerSQL)
        var out: [String] = []
        var last = ""
        for r in try database.query("SELECT sha256, tbl, pk FROM _cp_blob_attached ORDER BY sha256") {
            guard let hash = r[0].stringValue, let table = r[1].stringValue, let pk = r[2].stringValue, hash != last else { continue }
            let cl = try causalLength(table: table, pk: pk)
            if cl == nil || cl! % 2 == 1 { out.append(hash); last = hash }
        }
        return out
    }

    /// Records that this replica attached the file `hash` as the row `pk` of `table` (before the row is written).
    /// An earlier acknowledgement of the same file is forgotten: it says what the upstream held then, and it may have
    /// collected those bytes since (no row named them: `cpsyncd attachments gc`), so the new row's file is asked
    /// about once more — one question, no byte travels if the upstream still has it.
    public func noteBlobOwn(_ hash: String, table: String, pk: String) throws {
        try database.execute(Self.blobLedgerSQL)
        try database.transaction {
            try database.run("INSERT OR IGNORE INTO _cp_blob_attached(sha256, tbl, pk) VALUES (?, ?, ?)", [.text(hash), .text(table), .text(pk)])
            try database.run("DELETE FROM _cp_blob_sent WHERE sha256 = ?", [.text(hash)])
        }
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
