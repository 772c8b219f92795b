import CPSyncCore

/// Where a replica stands with one upstream, kept in its metadata and moved in the same transaction as the data it
/// describes. A transfer has two positions (see `Replica.changes`): `cursor`, where the next page starts, and
/// `since`, where the transfer under way started.
public struct Position: Sendable, Equatable {
    public var cursor: Int64
    public var since: Int64

    public init(cursor: Int64 = 0, since: Int64 = 0) {
        self.cursor = cursor
        self.since = since
    }

    public static let start = Position()
}

/// The metadata keys of one replica's positions with one upstream (an office's with its county, a county's with
/// the higher tier): the names are the stored ones, kept as they were.
public struct SyncKeys: Sendable {
    public let pushCursor: String, pushSince: String
    public let pullCursor: String, pullSince: String
    public let epoch: String
    public let lastPush: String, lastPull: String

    public static let office = SyncKeys(pushCursor: "sync.push_cursor", pushSince: "sync.push_since", pullCursor: "sync.pull_cursor",
                                        pullSince: "sync.pull_since", epoch: "sync.server_epoch", lastPush: "sync.last_push_at",
                                        lastPull: "sync.last_pull_at")
    public static let uplink = SyncKeys(pushCursor: "uplink.push_cursor", pushSince: "uplink.push_since", pullCursor: "uplink.pull_cursor",
                                        pullSince: "uplink.pull_since", epoch: "uplink.epoch", lastPush: "uplink.last_push_at",
                                        lastPull: "uplink.last_pull_at")

    public func push(in r: Replica) throws -> Position {
        Position(cursor: try r.meta(pushCursor)?.int64Value ?? 0, since: try r.meta(pushSince)?.int64Value ?? 0)
    }

    public func pull(in r: Replica) throws -> Position {
        Position(cursor: try r.meta(pullCursor)?.int64Value ?? 0, since: try r.meta(pullSince)?.int64Value ?? 0)
    }

    public func setPush(_ p: Position, in r: Replica) throws {
        try r.setMeta(pushCursor, .integer(p.cursor))
        try r.setMeta(pushSince, .integer(p.since))
    }

    public func setPull(_ p: Position, in r: Replica) throws {
        try r.setMeta(pullCursor, .integer(p.cursor))
        try r.setMeta(pullSince, .integer(p.since))
    }

    /// Takes the upstream's epoch. Another one than last time means its database was restored from a backup: both
    /// positions go back to the start, so everything is sent and received again (merging is idempotent) and what
    /// was sent after the backup was taken reaches it again. Returns whether that happened.
    @discardableResult
    public func adopt(epoch: String?, in r: Replica) throws -> Bool {
        guard let epoch else { return false }
        let known = try r.meta(self.epoch)?.stringValue
        return try r.database.transaction {
            let restored = known.map { $0 != epoch } ?? false
            if restored {
                try setPush(.start, in: r)
                try setPull(.start, in: r)
            }
            try r.setMeta(self.epoch, .text(epoch))
            return restored
        }
    }
}

/// Page sizes in bytes that follow the link: after each page, the next one is what the measured speed moves in the
/// target time, between 32 KB (a 32 KB/s station link moves it in a second) and 4 MB.
public struct PageSizer: Sendable, Equatable {
    public static let initialBytes = 256 * 1024
    public static let range = 32 * 1024...4 * 1024 * 1024
    public private(set) var bytes = PageSizer.initialBytes

    public init() {}

    /// Learns from one page: `bytes` moved in `seconds`; aims the next page at `target` seconds.
    public mutating func observe(bytes moved: Int, seconds: Double, target: Double) {
        // Small pages say little about the link (latency dominates): only grow from them, and only moderately.
        guard moved > 0, seconds > 0 else { return }
        let speed = Double(moved) / seconds
        let next = Int(min(Double(Self.range.upperBound), speed * target))
        bytes = max(Self.range.lowerBound, moved < bytes / 4 ? max(bytes, min(next, bytes * 2)) : min(next, bytes * 4))
    }
}
