/// A real conflict: two sites wrote different values to one cell without either having seen the other's value.
/// The merge kept the deterministic winner; both values stay here until an admin resolves the conflict.
public struct Conflict: Sendable, Equatable, Identifiable {
    public enum Status: String, Sendable { case open, resolved }

    public let id: String
    public let table: String
    public let pk: String
    public let column: String
    public let winnerValue: Value
    public let winnerVersion: Version
    public let otherValue: Value
    public let otherVersion: Version
    /// Milliseconds since 1970 on this replica's clock when the conflict was found.
    public let detectedAt: Int64
    public var status: Status
    public var resolution: Resolution?
}

/// How an admin ended a conflict; audited, never edited.
public struct Resolution: Sendable, Equatable {
    public enum Action: String, Sendable {
        /// Keep the value that won the merge.
        case keep
        /// Take the value that lost.
        case takeOther = "take-other"
        /// Write a new value.
        case set
    }

    public let action: Action
    public let value: Value
    /// The value the cell held just before the resolution was written.
    public let before: Value
    public let by: String
    public let at: Int64
    public let note: String?
    /// The version of the change that the resolution wrote.
    public let version: Version
}
