import CPSyncCore
import CPSyncProtocol

/// What of a replica's change log goes up, as a value: the changes its writers wrote, and the knowledge of the
/// deaths they wrote (the cell versions a writer had seen when it ended a row's life, whoever wrote them), minus
/// what never goes up (`withheld`). Changes that came from elsewhere reached the replica through its upstream, or
/// belong to the upstream's other children: they are never sent back.
public struct Outgoing: Sendable {
    /// The sites whose writes this replica sends: an office its own, a county its own and its offices'.
    public let writers: Set<String>
    /// Changes that never go up even when written here (a county's members' personal data, its own site row).
    public let withheld: (@Sendable (Change) -> Bool)?

    public init(writers: Set<String>, withheld: (@Sendable (Change) -> Bool)? = nil) {
        self.writers = writers
        self.withheld = withheld
    }

    /// An office: what it wrote itself.
    public static func office(_ site: String) -> Outgoing { Outgoing(writers: [site]) }

    public func select(_ changes: [Change]) -> [Change] {
        // Mostly every change of a page is the office's own (and none is knowledge): then the page goes as it is,
        // not copied.
        if withheld == nil, writers.count == 1, let site = writers.first,
           changes.allSatisfy({ ($0.column == nil || $0.causalLength % 2 == 1) && UTF8Bytes.equal($0.version.site, site) }) {
            return changes
        }
        let ownDeaths = Set(changes.filter { $0.column == nil && writers.contains($0.version.site) }.map(RowKey.init))
        return changes.filter { c in
            if let withheld, withheld(c) { return false }
            if c.column != nil && c.causalLength % 2 == 0 { return ownDeaths.contains(RowKey(c)) }
            return writers.contains(c.version.site)
        }
    }

    /// Whether a change this replica could not read (text that is not UTF-8) is one it would have sent: then it is
    /// set aside and listed, not silently skipped.
    public func wrote(_ r: RefusedChange) -> Bool {
        r.version.map { writers.contains($0.site) } ?? true
    }
}

/// The one held-change store (`_cp_held`): changes that will not go as they are, with the upstream's (or the same
/// local checks') code and reason. Every other change keeps flowing; a row written again is released whole
/// (`Replica.releaseSupersededHeld`).
extension Replica {
    public func setAside(_ c: Change, code: String, message: String) throws {
        try hold(RefusedChange(table: c.table, pk: c.pk, column: c.column, version: c.version, reason: .refused(code: code, message: message)))
    }

    /// Runs the upstream's checks on a batch before it goes; a change that fails is set aside with the reason (a key
    /// the upstream refuses: its whole row), and the rest is returned.
    public func withoutInvalid(_ changes: [Change]) throws -> [Change] {
        var batch = changes
        while let (i, e) = firstInvalidChange(in: batch) {
            let bad = batch[i]
            guard case .malformedKey = e else {
                try setAside(bad, code: e.code, message: e.description)
                batch.remove(at: i)
                continue
            }
            // A key the upstream refuses: the whole row waits as one entry; deleting the row is a fix (the upstream
            // never had it, so its delete is not sent).
            let row = batch.filter { RowKey($0) == RowKey(bad) }
            if let existence = row.first(where: { $0.column == nil }), existence.causalLength % 2 == 1 {
                try setAside(existence, code: e.code, message: e.description)
            }
            batch.removeAll { RowKey($0) == RowKey(bad) }
        }
        return batch
    }

    /// The outbox entries a push sends first. Displaced edits the upstream refused stay in the outbox (their values
    /// live nowhere else), set aside.
    public func pendingOutbox() throws -> [OutboxEntry] {
        let heldNow = try heldKeys()
        return try outbox().filter { !isHeld($0.change, in: heldNow) }
    }
}

extension ReplicaError {
    /// The protocol's code for a change the local checks refuse (the one the upstream would answer).
    public var code: String {
        switch self {
        case .unknownTable: ErrorCode.unknownTable.rawValue
        case .unknownColumn: ErrorCode.unknownColumn.rawValue
        case .wrongType: ErrorCode.wrongType.rawValue
        case .malformedKey: ErrorCode.malformedKey.rawValue
        default: ErrorCode.badRequest.rawValue
        }
    }
}
