/// One cell change (or a row-existence change when `column` is nil), as read from one replica and merged into
/// another. `causalLength` is the row's causal length (odd = alive, even = deleted); `base` is the version the
/// writer had last received from another site for this cell (nil when it had received none).
public struct Change: Sendable, Hashable, CustomStringConvertible {
    public var table: String
    public var pk: String
    /// nil: the change is to the row's existence (insert, delete, re-insert), carried by `causalLength`.
    public var column: String?
    public var value: Value
    public var version: Version
    public var causalLength: Int64
    public var base: Version?

    public init(table: String, pk: String, column: String?, value: Value, version: Version, causalLength: Int64, base: Version? = nil) {
        self.table = table
        self.pk = pk
        self.column = column
        self.value = value
        self.version = version
        self.causalLength = causalLength
        self.base = base
    }

    public var description: String {
        "\(table)[\(pk)].\(column ?? "<row>")=\(value) cl=\(causalLength) v=\(version)" + (base.map { " base=\($0)" } ?? "")
    }
}

/// A page of changes read from a replica: the changes with local sequence in (after, cursor].
public struct ChangePage: Sendable {
    public var changes: [Change]
    /// The sequence to ask "after" for the next page.
    public var cursor: Int64
    /// Whether more changes follow `cursor`.
    public var hasMore: Bool
}

/// What a merge did.
public struct MergeResult: Sendable, Equatable {
    /// Changes that were newer than what the replica held and now hold.
    public var applied = 0
    /// Changes the replica already held (retries, duplicates).
    public var alreadyKnown = 0
    /// Changes older than what the replica holds (they lose last-writer-wins or a later causal length).
    public var superseded = 0
    /// Real conflicts found (also recorded in the replica's conflict table).
    public var conflicts: [Conflict] = []

    public init() {}
}
