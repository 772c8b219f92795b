import Foundation

/// A hybrid logical clock timestamp: wall-clock milliseconds in the high 48 bits, a counter in the low 16.
/// Stored and sent as one Int64 so SQL triggers can advance it with plain arithmetic.
public struct HLC: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: Int64

    public init(rawValue: Int64) { self.rawValue = rawValue }
    public init(milliseconds: Int64, counter: Int64 = 0) { self.rawValue = milliseconds << 16 | (counter & 0xffff) }

    public var milliseconds: Int64 { rawValue >> 16 }
    public var counter: Int64 { rawValue & 0xffff }

    /// The wall clock now, as an HLC with counter 0.
    public static func wallClock(_ date: Date = Date()) -> HLC {
        HLC(milliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    /// The next local timestamp: never below `self + 1`, and the wall clock when that is ahead.
    public func tick(wall: HLC = .wallClock()) -> HLC { HLC(rawValue: max(wall.rawValue, rawValue + 1)) }

    public var date: Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    public static func < (a: HLC, b: HLC) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return "\(f.string(from: date))#\(counter)"
    }
}

/// The SQL expression for "now" as an HLC with counter 0; used by the capture triggers.
let hlcWallClockSQL = "(CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) * 65536)"

/// Who wrote a value and when: an HLC and the writing site. Ordered by (hlc, site): the tie-break is the site id.
public struct Version: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let hlc: HLC
    public let site: String

    public init(hlc: HLC, site: String) {
        self.hlc = hlc
        self.site = site
    }

    /// Last-writer-wins order: later clock first, then the larger site id. The one tie-break of the merge.
    public static func < (a: Version, b: Version) -> Bool {
        a.hlc != b.hlc ? a.hlc < b.hlc : a.site.utf8.lexicographicallyPrecedes(b.site.utf8)
    }

    public var description: String { "\(hlc)@\(site)" }
}
