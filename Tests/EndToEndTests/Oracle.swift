import CPPCC
import CPSyncCore
import Foundation

/// One office replica's life. A reinstalled office keeps its site but starts a new life (a fresh replica file).
struct Writer: Hashable, CustomStringConvertible {
    let site: String
    let life: Int
    var description: String { life == 1 ? site : "\(site)(reinstalled #\(life))" }
}

struct RowRef: Hashable, Comparable, CustomStringConvertible {
    let table: String
    let pk: String
    var description: String { "\(table)[\(pk)]" }
    static func < (a: RowRef, b: RowRef) -> Bool { (a.table, a.pk) < (b.table, b.pk) }
}

struct CellRef: Hashable, Comparable, CustomStringConvertible {
    let table: String
    let pk: String
    let column: String
    var row: RowRef { RowRef(table: table, pk: pk) }
    var description: String { "\(table)[\(pk)].\(column)" }
    static func < (a: CellRef, b: CellRef) -> Bool { (a.table, a.pk, a.column) < (b.table, b.pk, b.column) }
}

enum SyncVerb: String { case push, pull, sync }

/// The model the checks judge the county and the offices against. It only knows what the test did: which office
/// wrote which value of which cell at which step (read back from the replica after each transaction, so it holds
/// exactly what SQLite stored), which sync commands ran when, and how they ended. It never asks the product what
/// happened; "who could have seen what" is derived from the order of commands, always in the product's favour
/// (a value is only required where no office could possibly have overwritten it knowingly).
final class SyncOracle {
    struct Write {
        let id: Int
        let writer: Writer
        let cell: CellRef
        let value: Value
        let step: Int
        let insert: Bool
        /// Written with a clock far ahead (the daemon may hold it back; it must stay at its office).
        let heldBack: Bool
    }

    struct Delete {
        let writer: Writer
        let row: RowRef
        let step: Int
    }

    struct Command {
        let index: Int
        let writer: Writer
        let verb: SyncVerb
        let step: Int
        let detail: String
        var outcome = "running"
        var succeeded = false
    }

    /// A value an office held as its own when a push, pull or sync started: the clerk's saved value.
    struct Saved {
        let write: Write
        let command: Int
    }

    private(set) var step = 0
    private(set) var writes: [Write] = []
    private(set) var writesByCell: [CellRef: [Int]] = [:]
    private(set) var deletesByRow: [RowRef: [Delete]] = [:]
    private(set) var commands: [Command] = []
    private(set) var saved: [Saved] = []
    private var dirty: [Writer: [CellRef: Int]] = [:]
    /// Rows only ever written with a fast clock: the daemon may refuse them, so they may be missing at the county.
    private(set) var heldBackRows: Set<RowRef> = []

    /// A row an office set aside visibly (the county refused it): its values stay at that office, listed.
    func excuseHeld(_ row: RowRef) { heldBackRows.insert(row) }
    private(set) var notes: [String] = []
    /// What the checks looked at (printed with each seed, so a passing run shows it checked something).
    private(set) var tally: [String: Int] = [:]

    @discardableResult
    func tick() -> Int { step += 1; return step }

    func note(_ s: String) { notes.append("step \(step): \(s)") }

    /// Counts one thing a check outside the oracle looked at (the files' checks), for the seed's summary.
    func counted(_ what: String, _ n: Int = 1) { tally[what, default: 0] += n }

    /// One committed transaction at `writer`: the touched rows before and after (nil: absent), column by column.
    /// `replaced`: rows an `INSERT OR REPLACE` ended and began again (a delete and an insert of every cell).
    func recordTransaction(_ writer: Writer, before: [RowRef: [String: Value]?], after: [RowRef: [String: Value]?], heldBack: Bool = false,
                           replaced: Set<RowRef> = []) {
        let s = tick()
        for row in Set(before.keys).union(after.keys).sorted() {
            var b = before[row] ?? nil
            let a = after[row] ?? nil
            if replaced.contains(row), b != nil, a != nil {
                deletesByRow[row, default: []].append(Delete(writer: writer, row: row, step: s))
                b = nil
            }
            switch (b, a) {
            case (nil, let a?):
                for (column, value) in a.sorted(by: { $0.key < $1.key }) {
                    addWrite(writer, CellRef(table: row.table, pk: row.pk, column: column), value, step: s, insert: true, heldBack: heldBack)
                }
                if heldBack { heldBackRows.insert(row) }
            case (_?, nil):
                deletesByRow[row, default: []].append(Delete(writer: writer, row: row, step: s))
            case (let b?, let a?):
                for (column, value) in a.sorted(by: { $0.key < $1.key }) where b[column].map({ !($0 == value) }) ?? true {
                    addWrite(writer, CellRef(table: row.table, pk: row.pk, column: column), value, step: s, insert: false, heldBack: heldBack)
                }
            case (nil, nil):
                break
            }
        }
    }

    private func addWrite(_ writer: Writer, _ cell: CellRef, _ value: Value, step: Int, insert: Bool, heldBack: Bool) {
        let w = Write(id: writes.count, writer: writer, cell: cell, value: value, step: step, insert: insert, heldBack: heldBack)
        writes.append(w)
        writesByCell[cell, default: []].append(w.id)
        dirty[writer, default: [:]][cell] = w.id
    }

    /// A push, pull or sync starts at `writer`: the office's last own value of every cell it wrote since its
    /// previous command is now a saved value (an office's own intermediate edits before that are not).
    func commandStarted(_ writer: Writer, _ verb: SyncVerb, detail: String = "") -> Int {
        let s = tick()
        let index = commands.count
        for (_, id) in (dirty[writer] ?? [:]).sorted(by: { $0.key < $1.key }) { saved.append(Saved(write: writes[id], command: index)) }
        dirty[writer] = [:]
        commands.append(Command(index: index, writer: writer, verb: verb, step: s, detail: detail))
        return index
    }

    func commandFinished(_ index: Int, outcome: String, succeeded: Bool) {
        commands[index].outcome = outcome
        commands[index].succeeded = succeeded
    }

    /// The office's replica file was deleted: what it saved but never got acknowledged by a completed push or sync
    /// is gone with the file (the clerk's loss, not the product's), so it is no longer required.
    func reinstalled(_ old: Writer) {
        dirty[old] = [:]
        let delivered = commands.filter { $0.writer == old && $0.verb != .pull && $0.succeeded }.map(\.index)
        let before = saved.count
        saved.removeAll { s in s.write.writer == old && !delivered.contains { $0 >= s.command } }
        note("\(old.site)'s replica deleted and re-initialised; \(before - saved.count) saved values never acknowledged are no longer required")
    }

    // MARK: causality, in the product's favour

    /// Whether `reader` could have received `w` before `step`: some push or sync of `w`'s office started after it
    /// was written, and a pull or sync of `reader` started after that push and before `step` (killed commands count).
    func possiblySeen(_ w: Write, by reader: Writer, before step: Int) -> Bool {
        if reader == w.writer { return step > w.step }
        guard let sent = commands.first(where: { $0.writer == w.writer && $0.verb != .pull && $0.step > w.step }) else { return false }
        return commands.contains { $0.writer == reader && $0.verb != .push && $0.step > sent.step && $0.step < step }
    }

    /// Why `w` no longer has to be at the county, or nil: a later write of the cell or a delete of its row by an
    /// office that had (or could have had) `w`.
    func excuse(_ w: Write) -> String? {
        for id in writesByCell[w.cell] ?? [] where writes[id].step > w.step {
            let later = writes[id]
            if possiblySeen(w, by: later.writer, before: later.step) || wroteEqual(w, by: later.writer, before: later.step) {
                return "overwritten at step \(later.step) by \(later.writer), which had it"
            }
        }
        for d in deletesByRow[w.cell.row] ?? [] where d.step > w.step {
            if possiblySeen(w, by: d.writer, before: d.step) || wroteEqual(w, by: d.writer, before: d.step) {
                return "row deleted at step \(d.step) by \(d.writer), which had it"
            }
        }
        return nil
    }

    /// Whether `writer` itself wrote `w`'s very value into `w`'s cell after `w` and before `step`: two sites' equal
    /// concurrent values are one value (never a conflict), so a later overwrite or delete by one of them knew it.
    func wroteEqual(_ w: Write, by writer: Writer, before step: Int) -> Bool {
        (writesByCell[w.cell] ?? []).contains { id in
            let x = writes[id]
            return x.writer == writer && x.value == w.value && x.step > w.step && x.step < step
        }
    }

    // MARK: the checks

    /// The county's content and conflict records, read once.
    struct CountyView {
        var rows: [RowRef: [String: Value]]
        var conflicts: [CellRef: [(winner: Value, winnerSite: String, other: Value, otherSite: String)]]
        let path: String

        /// The county's rows that `site` holds under partial replication (all of them for a county-kind site).
        func rows(inScopeOf site: String) throws -> [RowRef: [String: Value]] {
            guard let scope = try SiteScope.of(site: site, in: Database(path: path)) else { return rows }
            return try rows.filter { row, values in try scope.contains(table: row.table, pk: row.pk) { values[$0] ?? .null } }
        }

        init(path: String, tables: [String]) throws {
            self.path = path
            rows = try readAllRows(path, tables: tables)
            conflicts = [:]
            let db = try Database(path: path)
            for r in try db.query("SELECT tbl, pk, col, winner_value, winner_site, other_value, other_site FROM _cp_conflicts") {
                let cell = CellRef(table: r[0].stringValue ?? "", pk: r[1].stringValue ?? "", column: r[2].stringValue ?? "")
                conflicts[cell, default: []].append((r[3], r[4].stringValue ?? "", r[5], r[6].stringValue ?? ""))
            }
        }

        func holds(_ v: Value, at cell: CellRef) -> Bool {
            if let row = rows[cell.row], let current = row[cell.column], current == v { return true }
            return (conflicts[cell] ?? []).contains { $0.winner == v || $0.other == v }
        }

        func conflictHolds(_ v: Value, at cell: CellRef) -> Bool { (conflicts[cell] ?? []).contains { $0.winner == v || $0.other == v } }

        func describe(_ cell: CellRef) -> String {
            let current = rows[cell.row].map { row in row[cell.column].map(show) ?? "(no such column)" } ?? "(no row)"
            let c = (conflicts[cell] ?? []).map { "\(show($0.winner))@\($0.winnerSite) beat \(show($0.other))@\($0.otherSite)" }
            return "county holds \(current); _cp_conflicts for this cell: " + (c.isEmpty ? "none" : c.joined(separator: "; "))
        }
    }

    /// Invariant 1: every saved value is at the county (current value or a conflict record) unless an office that
    /// had it overwrote it or deleted its row.
    func checkNothingLost(_ county: CountyView, limit: Int = 6) -> [String] {
        var missing: [(writer: Writer, message: String)] = []
        var checked = Set<Int>()
        for s in saved where !s.write.heldBack && !heldBackRows.contains(s.write.cell.row) && checked.insert(s.write.id).inserted {
            let w = s.write
            tally["saved values", default: 0] += 1
            if county.holds(w.value, at: w.cell) { continue }
            if excuse(w) != nil { tally["saved values overwritten knowingly", default: 0] += 1; continue }
            let c = commands[s.command]
            missing.append((w.writer, "invariant 1 (every value a clerk saved reaches the county): \(w.cell) = \(show(w.value)), written by \(w.writer) at step \(w.step) and held there when its \(c.verb.rawValue) started at step \(c.step) (\(c.outcome)), is lost — \(likelyCause(w, county)): \(county.describe(w.cell)). \(story(w.cell))"))
        }
        // A few of each office's first, so one stuck office does not hide the others.
        var shown: [String] = [], perWriter: [Writer: Int] = [:]
        for m in missing where perWriter[m.writer, default: 0] < 2 && shown.count < limit {
            perWriter[m.writer, default: 0] += 1
            shown.append(m.message)
        }
        for m in missing where shown.count < limit && !shown.contains(m.message) { shown.append(m.message) }
        if missing.count > shown.count { shown.append("… and \(missing.count - shown.count) more saved values lost") }
        return shown
    }

    /// A guess at how `w` was lost, from the history alone (for the reader of a failure, not for the verdict).
    func likelyCause(_ w: Write, _ county: CountyView) -> String {
        if commands.contains(where: { $0.writer == w.writer && $0.verb != .pull && $0.step > w.step && $0.outcome.hasPrefix("exit 77") }) {
            return "its office's pushes were refused (clock ahead)"
        }
        let racingDeletes = (deletesByRow[w.cell.row] ?? []).filter {
            $0.step > w.step && $0.writer != w.writer && !possiblySeen(w, by: $0.writer, before: $0.step)
        }
        if county.rows[w.cell.row] == nil, let d = racingDeletes.first {
            return "an edit racing \(d.writer)'s delete at step \(d.step), not kept as a conflict"
        }
        let unseenDeletes = (deletesByRow[w.cell.row] ?? []).filter { $0.step < w.step && $0.writer != w.writer }
        if county.rows[w.cell.row] == nil, let d = unseenDeletes.last {
            return "written to a row \(d.writer) had deleted at step \(d.step) (a delete this office may not have received), dropped without a conflict"
        }
        let rivals = (writesByCell[w.cell] ?? []).map { writes[$0] }.filter {
            $0.writer.site != w.writer.site && !possiblySeen(w, by: $0.writer, before: $0.step) && !possiblySeen($0, by: w.writer, before: w.step)
        }
        if let r = rivals.first {
            return "concurrent with \(r.writer)'s \(show(r.value)) at step \(r.step), and no conflict was recorded (did a pull overwrite the unpushed value?)"
        }
        if county.rows[w.cell.row] == nil { return "the row never reached the county" }
        return "the county holds another value and no conflict"
    }

    /// Invariant 3: a cell only one site wrote is never a conflict, and two sites' concurrent different saved
    /// values of a cell (neither could have seen the other's) are in its conflict records (at least one of them).
    func checkConflicts(_ county: CountyView, limit: Int = 6) -> [String] {
        var problems: [String] = []
        tally["county conflicts", default: 0] = county.conflicts.values.map(\.count).reduce(0, +)
        for (cell, records) in county.conflicts.sorted(by: { $0.key < $1.key }) {
            // A delete of the row counts as a write of its cells: an edit lost to a concurrent delete is a conflict.
            // So does a move: an edit of a record that had left the writer's area (its site, its workflow stage, or
            // the tree above it) is kept as a conflict with the move.
            let movers = ["site_id", "status"].flatMap { writesByCell[CellRef(table: cell.table, pk: cell.pk, column: $0)] ?? [] }.map { writes[$0].writer }
                + writes.filter { $0.cell.table == "sites" && $0.cell.column == "parent_id" }.map(\.writer)
            let writers = Set((writesByCell[cell] ?? []).map { writes[$0].writer } + (deletesByRow[cell.row] ?? []).map(\.writer) + movers)
            let sites = Set(writers.map(\.site))
            // A reinstalled office is a new replica that knows nothing of what its earlier life wrote: its writes
            // and its earlier life's are as concurrent as two sites' (a value it saved there may lose to its own
            // old delete, and is then kept as a conflict).
            func lives(_ site: String) -> Int { writers.filter { $0.site == site }.count }
            for r in records where sites.count < 2 && lives(r.winnerSite) < 2 || r.winnerSite == r.otherSite && lives(r.winnerSite) < 2 {
                problems.append("invariant 3 (one site's write is never a conflict): \(cell) has a conflict \(show(r.winner))@\(r.winnerSite) vs \(show(r.other))@\(r.otherSite), but only \(sites.sorted().joined(separator: ", ")) ever wrote it or deleted its row. \(story(cell))")
            }
        }
        var byCell: [CellRef: [Write]] = [:]
        var seen = Set<Int>()
        for s in saved where !s.write.heldBack && seen.insert(s.write.id).inserted && excuse(s.write) == nil {
            byCell[s.write.cell, default: []].append(s.write)
        }
        // Rows set aside visibly at an office (the county refused them) hold the refused side there, not here.
        for (cell, ws) in byCell.sorted(by: { $0.key < $1.key }) where (deletesByRow[cell.row] ?? []).isEmpty && !heldBackRows.contains(cell.row) {
            for i in ws.indices {
                for j in ws.indices where j > i {
                    let (a, b) = (ws[i], ws[j])
                    guard a.writer.site != b.writer.site, !(a.value == b.value),
                          !possiblySeen(a, by: b.writer, before: b.step), !possiblySeen(b, by: a.writer, before: a.step) else { continue }
                    tally["concurrent pairs", default: 0] += 1
                    // At least one of them is in a conflict record of the cell (the other may be the record's
                    // winner, or have replaced its own office's earlier winner); invariant 1 checks that both survive.
                    if county.conflictHolds(a.value, at: cell) || county.conflictHolds(b.value, at: cell) { continue }
                    problems.append("invariant 3 (two sites' concurrent different values are a conflict): \(cell): \(a.writer) wrote \(show(a.value)) at step \(a.step) and \(b.writer) wrote \(show(b.value)) at step \(b.step) without either having pulled the other's, but no conflict record of the cell holds either: \(county.describe(cell)). \(story(cell))")
                }
            }
        }
        return summarize(problems, limit: limit)
    }

    /// Invariant 2: a quiescent office holds exactly the county's rows within its scope (rows held back for a fast
    /// clock aside).
    func checkIdentical(office: Writer, path: String, county: CountyView, tables: [String], limit: Int = 6) throws -> [String] {
        let rows = try readAllRows(path, tables: tables)
        let countyRows = try county.rows(inScopeOf: office.site)
        var diffs: [String] = []
        for row in Set(rows.keys).union(countyRows.keys).sorted() where !heldBackRows.contains(row) {
            switch (rows[row], countyRows[row]) {
            case (_?, nil):
                diffs.append("\(row) exists at \(office) but not at the county (\(deletionStory(row)))")
            case (nil, let c?):
                diffs.append("\(row) exists at the county but not at \(office) (\(deletionStory(row)); county: \(c.sorted { $0.key < $1.key }.prefix(3).map { "\($0.key)=\(show($0.value))" }.joined(separator: ", "))…)")
            case (let o?, let c?):
                for column in Set(o.keys).union(c.keys).sorted() where !((o[column] ?? .null) == (c[column] ?? .null)) {
                    let cell = CellRef(table: row.table, pk: row.pk, column: column)
                    diffs.append("\(cell): \(office) holds \(show(o[column] ?? .null)), the county \(show(c[column] ?? .null)). \(story(cell, also: office))")
                }
            case (nil, nil):
                break
            }
        }
        if diffs.isEmpty { return [] }
        return ["invariant 2 (a quiescent office is identical to the county): \(office) differs in \(diffs.count) places; " + diffs.prefix(limit).joined(separator: " | ")]
    }

    /// Invariants 2 and 5 at the level of versions: a quiescent office holds every cell of its scope with the very
    /// version (clock and site) the county holds, and every version at the county names a site the county knows.
    func checkVersions(office: Writer, path: String, county: CountyView, limit: Int = 4) throws -> [String] {
        func versions(_ path: String) throws -> [CellRef: Version] {
            var out: [CellRef: Version] = [:]
            for c in try Replica(path: path, create: false).allChanges() where c.causalLength % 2 == 1 {
                out[CellRef(table: c.table, pk: c.pk, column: c.column ?? "")] = c.version
            }
            return out
        }
        let inScope = Set(try county.rows(inScopeOf: office.site).keys).subtracting(heldBackRows)
        let here = try versions(path), there = try versions(county.path)
        var diffs: [String] = []
        for (cell, v) in there.sorted(by: { $0.key < $1.key }) where inScope.contains(cell.row) {
            tally["cell versions compared", default: 0] += 1
            if here[cell] != v { diffs.append("\(cell): \(office) holds \(here[cell].map { "\($0.hlc.rawValue)@\($0.site)" } ?? "no version"), the county \(v.hlc.rawValue)@\(v.site)") }
        }
        return diffs.isEmpty ? [] : ["invariant 2 (versions): \(office) differs from the county in \(diffs.count) cell versions; " + diffs.prefix(limit).joined(separator: " | ")]
    }

    /// Every version at the county names a site the county knows (a site of its tree, or the county server itself).
    func checkVersionSites(_ county: CountyView) throws -> [String] {
        let db = try Database(path: county.path)
        let known = Set(try db.query("SELECT id FROM sites").compactMap { $0[0].stringValue }
            + db.query("SELECT s.uuid FROM _cp_state st JOIN _cp_sites s ON s.id = st.site_id").compactMap { $0[0].stringValue })
        let unknown = Set(try Replica(path: county.path, create: false).allChanges().map(\.version.site)).subtracting(known)
        return unknown.isEmpty ? [] : ["versions at the county name sites it does not know: \(unknown.sorted().prefix(5))"]
    }

    private func summarize(_ items: [String], limit: Int) -> [String] {
        items.count <= limit ? items : Array(items.prefix(limit)) + ["… and \(items.count - limit) more like these"]
    }

    /// Who wrote what in this cell and its row, in order, for failure messages.
    func story(_ cell: CellRef, also reader: Writer? = nil) -> String {
        var events: [(Int, String)] = (writesByCell[cell] ?? []).map { id in
            let w = writes[id]
            return (w.step, "step \(w.step) \(w.writer) \(w.insert ? "inserted" : "wrote") \(show(w.value))")
        }
        events += (deletesByRow[cell.row] ?? []).map { ($0.step, "step \($0.step) \($0.writer) deleted the row") }
        let involved = Set((writesByCell[cell] ?? []).map { writes[$0].writer } + (deletesByRow[cell.row] ?? []).map(\.writer) + (reader.map { [$0] } ?? []))
        let first = events.map(\.0).min() ?? 0
        events += commands.filter { involved.contains($0.writer) && $0.step > first }.prefix(16).map {
            ($0.step, "step \($0.step) \($0.writer) \($0.verb.rawValue)\($0.detail.isEmpty ? "" : " " + $0.detail) → \($0.outcome)")
        }
        return "History: " + events.sorted { $0.0 < $1.0 }.map(\.1).joined(separator: "; ")
    }

    private func deletionStory(_ row: RowRef) -> String {
        let d = (deletesByRow[row] ?? []).map { "deleted by \($0.writer) at step \($0.step)" }
        let inserts = Set((writes.filter { $0.cell.row == row && $0.insert }).map { "\($0.writer)@\($0.step)" })
        return (d.isEmpty ? "never deleted" : d.joined(separator: ", ")) + "; inserted by " + (inserts.isEmpty ? "nobody in this test" : inserts.sorted().joined(separator: ", "))
    }
}

/// A value as failure messages show it: quoted text, NULL, numbers with their type when it matters.
func show(_ v: Value) -> String {
    switch v {
    case .null: return "NULL"
    case .integer(let i): return String(i)
    case .real(let d): return "\(d) (real)"
    case .text(let s):
        let short = s.count > 24 ? String(s.prefix(24)) + "…" : s
        return "'" + short.unicodeScalars.map { $0.value < 0x20 ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined() + "'"
    case .blob(let b): return "x'\(b.prefix(12).map { String($0, radix: 16) }.joined())'"
    }
}

/// Every row of `tables` in the replica at `path`, column by column.
func readAllRows(_ path: String, tables: [String]) throws -> [RowRef: [String: Value]] {
    let db = try Database(path: path)
    var out: [RowRef: [String: Value]] = [:]
    for t in tables {
        let columns = try db.columns(of: t).map(\.name)
        for row in try db.query("SELECT \(columns.map { "\"\($0)\"" }.joined(separator: ", ")) FROM \"\(t)\"") {
            guard case .text(let pk) = row[columns.firstIndex(of: "id") ?? 0] else { continue }
            var values: [String: Value] = [:]
            for (i, c) in columns.enumerated() where c != "id" { values[c] = row[i] }
            out[RowRef(table: t, pk: pk)] = values
        }
    }
    return out
}

/// The given rows of one table at one replica (nil: absent).
func readRows(_ db: Database, _ rows: [RowRef]) throws -> [RowRef: [String: Value]?] {
    var out: [RowRef: [String: Value]?] = [:]
    var columnsByTable: [String: [String]] = [:]
    for row in rows {
        let columns = try columnsByTable[row.table] ?? db.columns(of: row.table).map(\.name)
        columnsByTable[row.table] = columns
        let found = try db.query("SELECT \(columns.map { "\"\($0)\"" }.joined(separator: ", ")) FROM \"\(row.table)\" WHERE id = ?", [.text(row.pk)])
        if let r = found.first {
            var values: [String: Value] = [:]
            for (i, c) in columns.enumerated() where c != "id" { values[c] = r[i] }
            out[row] = .some(values)
        } else {
            out[row] = .some(nil)
        }
    }
    return out
}
