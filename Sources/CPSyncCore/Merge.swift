import Foundation

/// Merging changes in. Per cell: the larger causal length wins, then the merge rule (rank, then last writer wins on
/// (HLC, site)). Commutative, associative and idempotent, so replicas that received the same changes in any order,
/// any number of times, hold the same content. Applied in one transaction with capture suppressed.
extension Replica {
    /// Applies `changes` in one transaction; on any error (unknown table or column, wrong type, malformed key,
    /// SQLite failure, a row a trigger refused) nothing is applied. `actingFor` names the site whose changes these
    /// are, for triggers that check what a site may write (`_cp_state.acting`, read by the domain's rules); nil
    /// for changes that come from the county, which are trusted. `checked`: the caller has just run
    /// `firstInvalidChange(in:)` on these very changes and found none (the checks are not run twice).
    /// What it does with a concurrent edit it overwrites is the replica's own way (`displacedEdits`).
    @discardableResult
    public func merge(_ changes: [Change], actingFor: String? = nil, checked: Bool = false) throws -> MergeResult {
        if !checked { try MergeValidator(replica: self).validate(changes) }
        return try database.transaction {
            // Local writes logged before this merge come first: they happened before it.
            try foldLog()
            try database.run("UPDATE _cp_state SET merging = 1, acting = ?", [actingFor.map { .text($0) } ?? .null])
            var merger = try RowMerger(replica: self)
            var result = MergeResult()
            // Changes read from a replica come grouped by row; each run of one row is merged at once. A row that
            // appears in two runs is merged twice, which the merge's idempotence makes harmless.
            try changes.withUnsafeBufferPointer { all in
                var start = 0
                while start < all.count {
                    var end = start + 1
                    while end < all.count && UTF8Bytes.equal(all[end].pk, all[start].pk) && UTF8Bytes.equal(all[end].table, all[start].table) {
                        end += 1
                    }
                    try merger.mergeRow(RowKey(all[start]), UnsafeBufferPointer(rebasing: all[start..<end]), into: &result)
                    start = end
                }
            }
            try merger.finish()
            // A record that moved (another site, a stage that makes it public) takes its children to the readers
            // it now reaches: they are filed again, so the next scoped pulls read them (see ScopeIndex). Done where
            // the move is written (a site's push), not where it arrives from above: a county below a city would
            // take children filed again for its own changes, unacknowledged, and send them up again.
            if let index = scopeIndex, actingFor != nil { try index.refileChildren(movedBy: changes, in: self) }
            try database.run("UPDATE _cp_state SET merging = 0, acting = NULL")
            return result
        }
    }
}

/// What a merge does with a concurrent edit it overwrites, or that a delete ended, whose writer had not seen the
/// winner: nothing may be lost, and a conflict is reviewed at one level only.
public enum DisplacedEdits: Sendable, Equatable {
    /// Recorded as a conflict with both values, for an admin here (a county with no higher tier).
    case recorded
    /// An office: its own edit (of these sites) waits in the outbox and goes up with the next push, where the county
    /// records the conflict.
    case sentUp(Set<String>)
    /// A county below a city, with the city's sites (those whose versions came down and are not the county's): a
    /// conflict with one of their versions (the city's own edit) is the city's to review — the county's side waits in
    /// the outbox for the uplink, and nothing is recorded here, so an admin meets it once. Every other conflict is
    /// recorded here (a site not known to be the city's counts as the county's: at worst reviewed twice, never lost).
    case recordedExcept(upstream: Set<String>)

    /// What happens to a concurrent pair: recorded, or the losing side kept for the upstream (if it is one this
    /// replica speaks for), or nothing (the upstream has both, or neither is this replica's).
    enum Outcome { case record, keepCurrent, keepIncoming, nothing }

    func outcome(current: String, incoming: String, incomingWins: Bool) -> Outcome {
        switch self {
        case .recorded:
            return .record
        case .sentUp(let own):
            return incomingWins && own.contains(current) ? .keepCurrent : .nothing
        case .recordedExcept(let upstream):
            let (ownCurrent, ownIncoming) = (!upstream.contains(current), !upstream.contains(incoming))
            if ownCurrent && ownIncoming { return .record }
            if incomingWins { return ownCurrent ? .keepCurrent : .nothing }
            return ownIncoming ? .keepIncoming : .nothing
        }
    }
}

extension Replica {
    /// This replica's own way with displaced edits: an office's own sent up; recorded at a county, except those with
    /// the higher tier's versions once it syncs up (`upstreamSites`).
    public var displacedEdits: DisplacedEdits {
        guard recordsConflicts else { return .sentUp([siteID]) }
        return upstreamSites.map { .recordedExcept(upstream: $0) } ?? .recorded
    }
}

/// A row, compared by the bytes of its key as SQLite compares them: Swift's `String` equality would make an NFC and
/// an NFD spelling of one key the same row here while SQLite keeps them as two.
extension Replica {
    /// The first change `merge` would refuse, with its index and the reason; nil when every change is valid. The
    /// office runs the county's own checks before it sends anything, so one bad change is set aside, not sent.
    public func firstInvalidChange(in changes: [Change]) -> (index: Int, error: ReplicaError)? {
        let validator = MergeValidator(replica: self)
        var state = MergeValidator.State()
        return changes.withUnsafeBufferPointer { buffer -> (index: Int, error: ReplicaError)? in
            guard let base = buffer.baseAddress else { return nil }
            for i in buffer.indices {
                do { try validator.validate(base + i, &state) } catch let e as ReplicaError { return (i, e) } catch {
                    return (i, .malformedChange("\(error)"))
                }
            }
            return nil
        }
    }
}

public struct RowKey: Hashable, Sendable {
    public let table: String
    public let pk: String

    public init(table: String, pk: String) {
        self.table = table
        self.pk = pk
    }

    /// The row a change belongs to.
    public init(_ c: Change) { self.init(table: c.table, pk: c.pk) }

    public static func == (a: RowKey, b: RowKey) -> Bool { UTF8Bytes.equal(a.pk, b.pk) && a.table == b.table }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(table)
        UTF8Bytes.hash(pk, into: &hasher)
    }
}

/// The checks that run before anything is written: every name against the schema, every value against its column.
struct MergeValidator {
    static let maxKeyBytes = 128
    static let maxValueBytes = 1 << 20
    /// A row deleted and re-created four billion times is not a row but an attack: bounded so that no arithmetic on
    /// causal lengths can overflow anywhere.
    static let maxCausalLength: Int64 = 1 << 32

    let replica: Replica

    func validate(_ changes: [Change]) throws {
        var state = State()
        try changes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            for i in buffer.indices { try validate(base + i, &state) }
        }
    }

    /// What one pass remembers between changes: a run of one row's changes checks the table and key once.
    struct State {
        var validSites: Set<String> = []
        var lastSite: String?
        var table: SyncedTable?
        var checkedKey: String?
        var columnHint = 0
    }

    /// Checks one change where it lies (its fields are read in place: no copy of the change for every check).
    func validate(_ c: UnsafePointer<Change>, _ state: inout State) throws {
        let t: SyncedTable
        if let cached = state.table, UTF8Bytes.equal(cached.name, c.pointee.table) {
            t = cached
        } else {
            guard let found = replica.tables[c.pointee.table] else { throw ReplicaError.unknownTable(c.pointee.table) }
            t = found
            state.table = found
            state.checkedKey = nil
        }
        if let k = state.checkedKey, UTF8Bytes.equal(k, c.pointee.pk) {} else {
            try Self.checkKey(c.pointee.pk, table: c.pointee.table)
            state.checkedKey = c.pointee.pk
        }
        if let last = state.lastSite, UTF8Bytes.equal(last, c.pointee.version.site) {} else if !state.validSites.contains(c.pointee.version.site) {
            guard Replica.isValidSiteID(c.pointee.version.site) else {
                throw ReplicaError.malformedChange("site id '\(c.pointee.version.site.prefix(80))' is not valid")
            }
            state.validSites.insert(c.pointee.version.site)
            state.lastSite = c.pointee.version.site
        } else {
            state.lastSite = c.pointee.version.site
        }
        if let b = c.pointee.base, !state.validSites.contains(b.site) {
            guard Replica.isValidSiteID(b.site) else {
                throw ReplicaError.malformedChange("base site id '\(b.site.prefix(80))' is not valid")
            }
            state.validSites.insert(b.site)
        }
        guard c.pointee.causalLength >= 1, c.pointee.causalLength <= Self.maxCausalLength else {
            throw ReplicaError.malformedChange("causal length \(c.pointee.causalLength) of \(c.pointee.table)[\(c.pointee.pk)] must be between 1 and \(Self.maxCausalLength)")
        }
        if let b = c.pointee.base, b.hlc.rawValue <= 0 { throw ReplicaError.malformedChange("base clock \(b.hlc.rawValue) must be positive") }
        guard c.pointee.version.hlc.rawValue > 0 else { throw ReplicaError.malformedChange("clock \(c.pointee.version.hlc.rawValue) must be positive") }
        guard let column = c.pointee.column else {
            guard c.pointee.value.isNull else { throw ReplicaError.malformedChange("a row-existence change carries no value") }
            return
        }
        guard let i = t.index(of: column, hint: &state.columnHint) else { throw ReplicaError.unknownColumn(table: c.pointee.table, column: column) }
        guard c.pointee.causalLength % 2 == 1 else {
            // A cell at an even (dead) causal length is knowledge: a version the deleter had seen. No value.
            guard c.pointee.value.isNull else {
                throw ReplicaError.malformedChange("cell \(c.pointee.table).\(column) of row '\(c.pointee.pk)' has an even (deleted) causal length and a value")
            }
            return
        }
        // The common case checked in place (a column's description is not copied for every change).
        let affinity = t.columns[i].affinity
        switch c.pointee.value {
        case .text(let s) where affinity.accepts(c.pointee.value) && s.utf8.count <= Self.maxValueBytes: return
        case .integer where affinity.accepts(c.pointee.value): return
        case .null where !t.columns[i].notNull && affinity.accepts(c.pointee.value): return
        default: try Self.checkValue(c.pointee.value, for: t.columns[i], table: c.pointee.table)
        }
    }

    static func checkKey(_ pk: String, table: String) throws {
        if pk.isEmpty { throw ReplicaError.malformedKey(table: table, key: pk, reason: "it is empty") }
        if pk.utf8.count > maxKeyBytes {
            throw ReplicaError.malformedKey(table: table, key: pk, reason: "it is longer than \(maxKeyBytes) bytes")
        }
        // In UTF-8 a byte below 0x80 is always that ASCII character: the control characters are found byte by byte.
        let control = pk.utf8.withContiguousStorageIfAvailable { $0.contains { $0 < 0x20 || $0 == 0x7f } }
            ?? pk.utf8.contains { $0 < 0x20 || $0 == 0x7f }
        if control {
            throw ReplicaError.malformedKey(table: table, key: pk, reason: "it contains control characters")
        }
    }

    static func checkValue(_ value: Value, for column: ColumnInfo, table: String) throws {
        if column.notNull && value.isNull {
            throw ReplicaError.wrongType(table: table, column: column.name, expected: "non-null \(column.affinity.rawValue)", got: "null")
        }
        guard column.affinity.accepts(value) else {
            throw ReplicaError.wrongType(table: table, column: column.name, expected: column.affinity.rawValue, got: value.typeName)
        }
        let size: Int
        switch value {
        case .text(let s): size = s.utf8.count
        case .blob(let b): size = b.count
        default: size = 0
        }
        if size > maxValueBytes {
            throw ReplicaError.wrongType(table: table, column: column.name, expected: "at most \(maxValueBytes) bytes", got: "\(size) bytes")
        }
        switch value {
        case .real(let d) where !d.isFinite:
            throw ReplicaError.wrongType(table: table, column: column.name, expected: "a finite number", got: "\(d)")
        default: break
        }
    }
}
