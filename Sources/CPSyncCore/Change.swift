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

extension Change {
    /// About how many bytes this change takes in the protocol's JSON: what pages sized for a slow link count.
    public static func estimatedWireBytes(_ c: Change) -> Int {
        var n = 96 + c.table.utf8.count + c.pk.utf8.count + (c.column?.utf8.count ?? 0) + c.version.site.utf8.count
        switch c.value {
        case .text(let s): n += s.utf8.count + 2
        case .blob(let b): n += b.count * 4 / 3 + 8
        case .null: n += 4
        default: n += 24
        }
        if let b = c.base { n += 40 + b.site.utf8.count }
        return n
    }
}

/// A page of changes read from a replica: the rows with local sequence in (after, cursor].
public struct ChangePage: Sendable {
    public var changes: [Change]
    /// The sequence to ask "after" for the next page.
    public var cursor: Int64
    /// Whether more changes follow `cursor`.
    public var hasMore: Bool
    /// Cells the replica holds but cannot send as they are (text that is not UTF-8): set aside, never sent.
    public var refused: [RefusedChange] = []
    /// Rows read to make the page, and rows it sends (a scoped read skips what its scope does not hold).
    public var rowsRead = 0, rowsSent = 0
    /// The replica's latest sequence in the snapshot the page was read from (at least `cursor`).
    public var head: Int64 = 0

    public init(changes: [Change], cursor: Int64, hasMore: Bool, refused: [RefusedChange] = []) {
        self.changes = changes
        self.cursor = cursor
        self.hasMore = hasMore
        self.refused = refused
    }
}

/// A local change that will not be sent, and why: the office sets it aside visibly (`cpsync status`) while every
/// other change keeps flowing; a new write of the same cell replaces it.
public struct RefusedChange: Sendable, Hashable {
    public var table: String
    public var pk: String
    /// nil: the row itself (its key).
    public var column: String?
    public var version: Version?
    public var reason: Reason

    public enum Reason: Sendable, Hashable, CustomStringConvertible {
        /// The replica cannot read it as it must travel (text that is not UTF-8).
        case invalidText(String)
        /// The server (or the same checks run locally) refused it.
        case refused(code: String, message: String)

        public var description: String {
            switch self {
            case .invalidText(let m): m
            case .refused(_, let m): m
            }
        }

        public var code: String {
            switch self {
            case .invalidText: "invalid_text"
            case .refused(let c, _): c
            }
        }
    }

    public init(table: String, pk: String, column: String?, version: Version?, reason: Reason) {
        self.table = table
        self.pk = pk
        self.column = column
        self.version = version
        self.reason = reason
    }
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
