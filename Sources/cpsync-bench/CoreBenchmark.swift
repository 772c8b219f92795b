import CPSyncCLI
import CPSyncCore
import CSQLite
import Foundation

/// `cpsync-bench core`: capture, merge and metadata costs as ratios against plain SQLite in the same run.
enum CoreBenchmark {
    static func run(_ argv: [String]) throws {
        var args = try Arguments(argv, flags: ["json"])
        let rows = try args.int("rows") ?? 100_000
        let metadataRows = try args.int("metadata-rows") ?? min(rows, 10_000)
        let json = args.flag("json")
        try args.checkAllConsumed()
        defer { BenchData.cleanup() }

        // 1. Capture: insert then update N rows, plain table vs synced table.
        let plain = try Database(path: BenchData.tempPath("plain.db"))
        try plain.execute(BenchData.createSQL)
        let plainSeconds = try insertThenUpdate(plain, rows: rows)
        let synced = try Replica(path: BenchData.tempPath("synced.db"), siteID: "bench-a")
        try synced.database.execute(BenchData.createSQL)
        try synced.makeSynced("proposals")
        let syncedSeconds = try insertThenUpdate(synced.database, rows: rows)

        // 2. Merge vs SQLite's own changeset apply, of the same final rows.
        // Reading changes out first folds the capture log (the work capture leaves for sync time), timed apart.
        let foldSeconds = try BenchData.time { try synced.foldLog() }
        var changes: [Change] = []
        let readSeconds = try BenchData.time { changes = try synced.allChanges() }
        let target = try Replica(path: BenchData.tempPath("merge-target.db"), siteID: "bench-b")
        try target.database.execute(BenchData.createSQL)
        try target.makeSynced("proposals")
        let mergeSeconds = try BenchData.time { try target.merge(changes) }
        let changesetSeconds = try changesetApplySeconds(rows: rows)

        // 3. Metadata after 10 edits per cell.
        let (metaBytes, dataBytes, logBytes) = try metadataBytes(rows: metadataRows)

        let figures: [(String, Double)] = [
            ("rows", Double(rows)),
            ("plain_insert_update_s", plainSeconds), ("synced_insert_update_s", syncedSeconds),
            ("capture_ratio", syncedSeconds / plainSeconds),
            ("fold_log_s", foldSeconds), ("cell_changes", Double(changes.count)), ("read_changes_s", readSeconds),
            ("merge_s", mergeSeconds), ("changeset_apply_s", changesetSeconds),
            ("merge_vs_changeset_ratio", mergeSeconds / changesetSeconds),
            ("metadata_rows", Double(metadataRows)), ("metadata_bytes", Double(metaBytes)), ("data_bytes", Double(dataBytes)),
            ("metadata_ratio", Double(metaBytes) / Double(dataBytes)),
            ("log_bytes_before_fold", Double(logBytes)),
        ]
        if json {
            Console.out("{" + figures.map { "\"\($0.0)\":\(format($0.1))" }.joined(separator: ",") + "}")
        } else {
            for (k, v) in figures { Console.out(k.padding(toLength: 28, withPad: " ", startingAt: 0) + format(v)) }
            Console.out("goals: capture_ratio <= 2.0, merge_vs_changeset_ratio <= 1.5, metadata_ratio <= 1.0")
        }
    }

    static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(format: "%.4f", v)
    }

    /// Rows are generated before the clock starts: only the database work is timed.
    static func insertThenUpdate(_ db: Database, rows: Int) throws -> Double {
        let inserts = (0..<rows).map { BenchData.row($0) }
        let updates = (0..<rows).map { i -> [Value] in
            let r = BenchData.row(i, edit: 1)
            return [r[7], r[3], r[0]]
        }
        return try BenchData.time {
            try db.transaction {
                let insert = try db.statement(BenchData.insertSQL)
                for r in inserts { try insert.execute(r) }
            }
            try db.transaction {
                let update = try db.statement(BenchData.updateSQL)
                for u in updates { try update.execute(u) }
            }
        }
    }

    /// Records the same final rows with an SQLite session, then times `sqlite3changeset_apply` into a fresh
    /// plain database.
    static func changesetApplySeconds(rows: Int) throws -> Double {
        let source = BenchData.tempPath("session-source.db")
        let targetPath = BenchData.tempPath("session-target.db")
        let db = try Database(path: source)
        try db.execute(BenchData.createSQL)
        let rowsToInsert = (0..<rows).map { BenchData.row($0, edit: 1) }
        let target = try Database(path: targetPath)
        try target.execute(BenchData.createSQL)
        var changeset: [UInt8] = []
        try db.withRawHandle { handle in
            var session: OpaquePointer?
            guard sqlite3session_create(handle, "main", &session) == SQLITE_OK, let session else { throw BenchError("session_create failed") }
            defer { sqlite3session_delete(session) }
            sqlite3session_attach(session, nil)
            try db.transaction {
                let insert = try db.statement(BenchData.insertSQL)
                for r in rowsToInsert { try insert.execute(r) }
            }
            var size: Int32 = 0
            var buffer: UnsafeMutableRawPointer?
            guard sqlite3session_changeset(session, &size, &buffer) == SQLITE_OK, let buffer else { throw BenchError("session_changeset failed") }
            changeset = Array(UnsafeRawBufferPointer(start: buffer, count: Int(size)))
            sqlite3_free(buffer)
        }
        return try target.withRawHandle { handle in
            try BenchData.time {
                try target.execute("BEGIN IMMEDIATE")
                let rc = changeset.withUnsafeMutableBytes { buf in
                    sqlite3changeset_apply(handle, Int32(buf.count), buf.baseAddress, nil, nil, nil)
                }
                try target.execute("COMMIT")
                guard rc == SQLITE_OK else { throw BenchError("changeset_apply failed: \(rc)") }
            }
        }
    }

    /// Bytes of sync metadata (shadow table and its index) vs bytes of the table, after 10 edits of every cell.
    /// Returns (metadata bytes after the fold, table bytes, capture-log bytes before the fold).
    static func metadataBytes(rows: Int) throws -> (Int64, Int64, Int64) {
        let r = try Replica(path: BenchData.tempPath("metadata.db"), siteID: "bench-m")
        try r.database.execute(BenchData.createSQL)
        try r.makeSynced("proposals")
        try r.database.transaction {
            let insert = try r.database.statement(BenchData.insertSQL)
            for i in 0..<rows { try insert.execute(BenchData.row(i)) }
            let sets = BenchData.columns.map { "\"\($0)\" = ?" }.joined(separator: ", ")
            let update = try r.database.statement("UPDATE proposals SET \(sets) WHERE id = ?")
            for edit in 1...10 {
                for i in 0..<rows {
                    let row = BenchData.row(i, edit: edit)
                    // Every cell gets a new value on every edit.
                    var values = Array(row.dropFirst())
                    values[0] = .text("2026-\(i)-\(edit)"); values[1] = .text("八届\(edit)次会议"); values[4] = .text("界别\(edit)")
                    values[5] = .text("2026-04-\(String(format: "%02d", edit))"); values[7] = .text("单位\(edit)")
                    try update.execute(values + [row[0]])
                }
            }
        }
        func bytes(_ filter: String) throws -> Int64 {
            try r.database.scalar("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE \(filter)")?.int64Value ?? 0
        }
        // The capture log is a buffer emptied at sync time; the metadata that stays is the shadow after folding.
        let logBytes = try bytes("name = '_cp_log'")
        try r.foldLog()
        try r.database.execute("VACUUM")
        let data = try bytes("name = 'proposals' OR name = 'sqlite_autoindex_proposals_1'")
        let meta = try bytes("name LIKE '\\_cp\\_%' ESCAPE '\\'")
        return (meta, data, logBytes)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
