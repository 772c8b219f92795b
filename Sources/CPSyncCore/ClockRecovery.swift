/// Clocks that were wrong.
///
/// The county refuses a change stamped too far ahead of its own clock — unless the change overwrote a version that
/// was itself that far ahead (its base): then the stamp is only following causality, and refusing it would block the
/// cell until the wall clock caught up. An office whose PC clock *was* ahead holds own versions the county refuses;
/// nobody has ever seen them (they were never accepted), so once the PC clock is right they are stamped again, as if
/// written now (`restampFutureVersions`). Stamps are per cell (see `foldLog`), so a clock that was wrong never
/// affects later edits of other cells. The protocol text is in Protocol/README.md, "Clocks".
public enum ClockPolicy {
    /// Whether a change stamped `version` (overwriting `base`) is too far ahead of `nowMs` to accept.
    public static func tooFarAhead(_ version: Version, base: Version?, nowMs: Int64, maxSkewMs: Int64) -> Bool {
        version.hlc.milliseconds - max(nowMs, base?.hlc.milliseconds ?? 0) > maxSkewMs
    }
}

extension Replica {
    /// Re-stamps this site's own versions that the county would refuse as too far ahead of `nowMs` (the county's
    /// clock as this office sees it). Each gets the wall clock `nowMs`, or one tick past its base when that is later,
    /// and a new local sequence so the next push sends it. Returns how many cells and rows were re-stamped.
    @discardableResult
    public func restampFutureVersions(nowMs: Int64, maxSkewMs: Int64) throws -> Int {
        try foldLog()
        // Cheap test first: nothing this replica has seen, and none of its displaced edits, is that far ahead. (The
        // outbox counts on its own: a restamp sets the clock back to the newest version the shadow holds.)
        let outboxNewest = try database.scalar("SELECT max(hlc) FROM _cp_outbox WHERE site = ?", [.text(siteID)])?.int64Value ?? 0
        guard try clock.milliseconds - nowMs > maxSkewMs || HLC(rawValue: outboxNewest).milliseconds - nowMs > maxSkewMs else { return 0 }
        let now = HLC(milliseconds: nowMs).rawValue
        var count = 0
        try database.transaction {
            var merger = try RowMerger(replica: self)
            for name in syncedTables {
                guard let t = tables[name] else { continue }
                let s = try merger.statements(for: name)
                let pks = try database.query("SELECT pk FROM \(t.quotedShadow)").compactMap { $0[0].stringValue }
                for pk in pks {
                    var st = try merger.load(s, pk: pk)
                    var changed = false
                    for i in st.cells.indices {
                        guard let cell = st.cells[i], cell.version.site == siteID,
                              ClockPolicy.tooFarAhead(cell.version, base: cell.base, nowMs: nowMs, maxSkewMs: maxSkewMs) else { continue }
                        st.cells[i]?.version = Version(hlc: HLC(rawValue: max(now, (cell.base?.hlc.rawValue ?? 0) + 1)), site: siteID)
                        st.cellChanged[i] = true
                        changed = true
                        count += 1
                    }
                    if let v = st.rowVersion, v.site == siteID, ClockPolicy.tooFarAhead(v, base: nil, nowMs: nowMs, maxSkewMs: maxSkewMs) {
                        st.rowVersion = Version(hlc: HLC(rawValue: now), site: siteID)
                        st.rowChanged = true
                        changed = true
                        count += 1
                    }
                    if changed { try merger.write(s, pk: pk, &st, shadowOnly: true) }
                }
            }
            try merger.finish()
            count += try restampOutbox(now: now, nowMs: nowMs, maxSkewMs: maxSkewMs)
            // The replica's clock is what it has seen; after this it is what is left.
            try database.run("UPDATE _cp_state SET hlc = ?", [.integer(max(now, try newestVersion()))])
        }
        return count
    }

    /// Own displaced edits (the outbox) stamped too far ahead: stamped again like the shadow's cells, each one tick
    /// apart, or the county would refuse the outbox batch — which goes first — on every push for ever.
    private func restampOutbox(now: Int64, nowMs: Int64, maxSkewMs: Int64) throws -> Int {
        var count = 0
        for r in try database.query("SELECT id, hlc, base_hlc FROM _cp_outbox WHERE site = ? ORDER BY id", [.text(siteID)]) {
            guard let id = r[0].int64Value, let hlc = r[1].int64Value else { continue }
            let base = r[2].int64Value.map { Version(hlc: HLC(rawValue: $0), site: "") }
            guard ClockPolicy.tooFarAhead(Version(hlc: HLC(rawValue: hlc), site: siteID), base: base, nowMs: nowMs, maxSkewMs: maxSkewMs) else { continue }
            count += 1
            try database.run("UPDATE OR IGNORE _cp_outbox SET hlc = ? WHERE id = ?",
                             [.integer(max(now, (base?.hlc.rawValue ?? 0) + 1) + Int64(count)), .integer(id)])
        }
        return count
    }

    /// The newest clock of any cell or row version held (0 when none).
    func newestVersion() throws -> Int64 {
        var newest: Int64 = 0
        for name in syncedTables {
            guard let t = tables[name] else { continue }
            try database.statement("SELECT seq, rh, cells FROM \(t.quotedShadow)").forEachRow { s in
                newest = max(newest, s.optionalInt64(1) ?? 0)
                if case .blob(let bytes) = s.column(2) {
                    for cell in CellCodec.decode(bytes, count: t.columns.count, rowSeq: s.int64(0), siteID: siteUUID) {
                        if let cell { newest = max(newest, cell.version.hlc.rawValue) }
                    }
                }
            }
        }
        return newest
    }
}
