import Foundation

/// What an admin decides about a conflict.
public enum ResolveAction: Sendable, Equatable {
    /// Keep the value that won the merge.
    case keep
    /// Take the value that lost.
    case takeOther
    /// Write a new value.
    case set(Value)

    var kind: Resolution.Action {
        switch self {
        case .keep: .keep
        case .takeOther: .takeOther
        case .set: .set
        }
    }
}

/// Reading and resolving recorded conflicts. A resolution is an ordinary local write (so it is captured and
/// reaches every office) plus an audit row that can never be edited.
extension Replica {
    static let conflictColumns = """
        c.id, c.tbl, c.pk, c.col, c.winner_value, c.winner_hlc, c.winner_site, c.other_value, c.other_hlc, c.other_site,
        c.detected_at, c.status, r.action, r.value, r.before, r.by, r.at, r.note, r.hlc, r.site
        FROM _cp_conflicts c LEFT JOIN _cp_resolutions r ON r.conflict_id = c.id
        """

    /// Recorded conflicts, oldest first; `status` nil means all.
    public func conflicts(status: Conflict.Status? = nil) throws -> [Conflict] {
        let rows = try database.query(
            "SELECT \(Self.conflictColumns) WHERE (?1 IS NULL OR c.status = ?1) ORDER BY c.id",
            [status.map { .text($0.rawValue) } ?? .null])
        return rows.map(Self.conflict(from:))
    }

    public func conflict(id: String) throws -> Conflict {
        guard let n = Int64(id),
              let row = try database.query("SELECT \(Self.conflictColumns) WHERE c.id = ?", [.integer(n)]).first else {
            throw ReplicaError.conflictNotFound(id)
        }
        return Self.conflict(from: row)
    }

    /// The audit trail: every resolution, oldest first.
    public func resolutions() throws -> [(conflict: Conflict, resolution: Resolution)] {
        try database.query("SELECT \(Self.conflictColumns) WHERE r.conflict_id IS NOT NULL ORDER BY r.at, c.id").compactMap {
            let c = Self.conflict(from: $0)
            return c.resolution.map { (c, $0) }
        }
    }

    /// Resolves an open conflict: writes the chosen value as a new local change (unless it is already the cell's
    /// value) and records who, when, what, before/after and the note.
    @discardableResult
    public func resolve(conflictID: String, action: ResolveAction, by: String, note: String?) throws -> Resolution {
        try database.transaction {
            let c = try conflict(id: conflictID)
            guard c.status == .open else { throw ReplicaError.conflictAlreadyResolved(conflictID) }
            guard let t = tables[c.table], let i = t.columnIndex[c.column] else { throw ReplicaError.unknownTable(c.table) }
            let value: Value
            switch action {
            case .keep: value = c.winnerValue
            case .takeOther: value = c.otherValue
            case .set(let v): value = v
            }
            try MergeValidator.checkValue(value, for: t.columns[i], table: t.name)
            let select = "SELECT \(quoted(c.column)) FROM \(t.quotedName) WHERE \(t.quotedPK) = ?"
            let before: Value
            if let current = try database.query(select, [.text(c.pk)]).first?.first {
                before = current
                if before != value {
                    try database.run("UPDATE \(t.quotedName) SET \(quoted(c.column)) = ? WHERE \(t.quotedPK) = ?", [value, .text(c.pk)])
                    try foldLog()
                }
            } else {
                // The row is deleted (an edit lost to a delete, or deleted since): keeping the winner keeps it deleted;
                // taking the other value or a new one restores the row with that value (a new life of the row).
                before = .null
                if action != .keep {
                    try database.run("INSERT INTO \(t.quotedName) (\(t.quotedPK), \(quoted(c.column))) VALUES (?, ?)", [.text(c.pk), value])
                    try foldLog()
                }
            }
            let version = try cellVersion(t, pk: c.pk, column: c.column) ?? Version(hlc: try clock, site: siteID)
            let at = HLC.wallClock().milliseconds
            try database.run("""
                INSERT INTO _cp_resolutions(conflict_id, action, value, before, by, at, note, hlc, site)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(c.id), .text(action.kind.rawValue), value, before, .text(by), .integer(at),
                      note.map { .text($0) } ?? .null, .integer(version.hlc.rawValue), .text(version.site)])
            try database.run("UPDATE _cp_conflicts SET status = 'resolved' WHERE id = ?", [.text(c.id)])
            return Resolution(action: action.kind, value: value, before: before, by: by, at: at, note: note, version: version)
        }
    }

    /// The current version of one cell, if it has one (callers fold the log first).
    /// Whether `version` of a cell already lost a recorded conflict (each loss is recorded, and judged, once).
    func lossRecorded(table: String, pk: String, column: String, version: Version) throws -> Bool {
        try database.scalar("SELECT EXISTS (SELECT 1 FROM _cp_conflicts WHERE tbl = ? AND pk = ? AND col = ? AND other_hlc = ? AND other_site = ?)",
                            [.text(table), .text(pk), .text(column), .integer(version.hlc.rawValue), .text(version.site)])?.int64Value == 1
    }

    func cellVersion(_ t: SyncedTable, pk: String, column: String) throws -> Version? {
        guard let i = t.columnIndex[column],
              let row = try database.query("SELECT seq, cells FROM \(t.quotedShadow) WHERE pk = ?", [.text(pk)]).first,
              case .blob(let bytes) = row[1] else { return nil }
        return CellCodec.decode(bytes, count: t.columns.count, rowSeq: row[0].int64Value ?? 0, siteID: siteUUID)[i]?.version
    }

    static func conflict(from r: [Value]) -> Conflict {
        func version(_ h: Value, _ s: Value) -> Version { Version(hlc: HLC(rawValue: h.int64Value ?? 0), site: s.stringValue ?? "") }
        var resolution: Resolution?
        if let action = r[12].stringValue.flatMap(Resolution.Action.init(rawValue:)) {
            resolution = Resolution(action: action, value: r[13], before: r[14], by: r[15].stringValue ?? "",
                                    at: r[16].int64Value ?? 0, note: r[17].stringValue, version: version(r[18], r[19]))
        }
        let id: String = switch r[0] {
        case .integer(let i): String(i)
        default: r[0].description
        }
        return Conflict(id: id, table: r[1].stringValue ?? "", pk: r[2].stringValue ?? "", column: r[3].stringValue ?? "",
                        winnerValue: r[4], winnerVersion: version(r[5], r[6]), otherValue: r[7], otherVersion: version(r[8], r[9]),
                        detectedAt: r[10].int64Value ?? 0, status: Conflict.Status(rawValue: r[11].stringValue ?? "") ?? .open,
                        resolution: resolution)
    }
}
