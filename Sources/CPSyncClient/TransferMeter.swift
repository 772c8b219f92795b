import CPSyncText
import Foundation

/// Where a push or pull stands, for a progress display: bytes moved, changes done, and how far through the transfer
/// it is, estimated from sequence positions (a pull page carries the county's `head`; a push knows its own log's).
public struct TransferSnapshot: Sendable, Equatable {
    public enum Direction: String, Sendable { case push, pull }
    public var direction: Direction
    /// Bytes moved so far (request and answer bodies as they travelled, every page and attempt).
    public var bytes: Int
    /// Changes sent (push) or received (pull) in completed pages.
    public var changes: Int
    /// 0…1 when it can be estimated, else nil.
    public var fraction: Double?
    /// Seconds since the transfer started.
    public var elapsed: Double
    /// True for the last report of a transfer.
    public var finished: Bool
    /// Pages completed so far (a report with pages done and `finished` false belongs to a transfer of several pages).
    public var pages: Int

    public init(direction: Direction, bytes: Int, changes: Int, fraction: Double?, elapsed: Double, finished: Bool = false, pages: Int = 0) {
        self.pages = pages
        self.direction = direction
        self.bytes = bytes
        self.changes = changes
        self.fraction = fraction
        self.elapsed = elapsed
        self.finished = finished
    }

    /// Bytes per second so far; nil in the first half second (too little to say).
    public var rate: Double? { elapsed >= 0.5 ? Double(bytes) / elapsed : nil }

    /// Seconds left at the pace so far; nil while too little is known (under 1% or under a second in).
    public var secondsLeft: Double? {
        guard let f = fraction, f >= 0.01, elapsed >= 1 else { return nil }
        if f >= 1 { return 0 }
        return elapsed * (1 - f) / f
    }

    /// The total bytes the transfer will move, extrapolated; nil when unknown.
    public var estimatedTotalBytes: Int? {
        guard let f = fraction, f >= 0.01, bytes > 0 else { return nil }
        return Int((Double(bytes) / min(1, f)).rounded())
    }
}

/// Renders progress: pure functions of a snapshot, so they are tested without a terminal.
public enum ProgressText {
    /// `512 B`, `1.5 KB`, `12 KB`, `3.4 MB`, `1.2 GB` (binary multiples, as link speeds are quoted here).
    public static func bytes(_ n: Int) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var v = Double(max(0, n))
        var u = 0
        while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        if u == 0 { return "\(Int(v)) B" }
        return (v < 10 ? String(format: "%.1f", v) : String(Int(v.rounded()))) + " " + units[u]
    }

    /// `0:07`, `12:34`, `1:02:03`; `--:--` when unknown.
    public static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded(.up))
        let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, sec) : String(format: "%d:%02d", m, sec)
    }

    /// A bar of `width` cells: `#` done, `.` to do.
    public static func bar(_ fraction: Double, width: Int) -> String {
        let done = Int((min(1, max(0, fraction)) * Double(width)).rounded(.down))
        return String(repeating: "#", count: done) + String(repeating: ".", count: width - done)
    }

    /// One line: what, a bar and percentage when known, bytes (of the estimated total), changes, rate, time left.
    /// `bar: false` gives the plain form written when stderr is not a terminal. No control characters either way.
    public static func line(_ s: TransferSnapshot, chinese: Bool, bar showBar: Bool = true) -> String {
        let what = switch (s.direction, chinese) {
        case (.push, false): "pushing"
        case (.pull, false): "pulling"
        case (.push, true): "正在推送"
        case (.pull, true): "正在拉取"
        }
        var parts: [String] = []
        if let f = s.fraction {
            let percent = "\(Int((min(1, max(0, f)) * 100).rounded(.down)))%"
            parts.append(showBar ? "[\(bar(f, width: 20))] \(percent)" : percent)
        }
        var moved = bytes(s.bytes)
        if !s.finished, let total = s.estimatedTotalBytes, total > s.bytes {
            moved += chinese ? " / 约 \(bytes(total))" : " of ~\(bytes(total))"
        }
        parts.append(moved)
        parts.append(chinese ? "\(s.changes) 条修改" : "\(s.changes) changes")
        if let rate = s.rate { parts.append("\(bytes(Int(rate)))/s") }
        if s.finished {
            parts.append(chinese ? "用时 \(duration(s.elapsed))" : "took \(duration(s.elapsed))")
        } else {
            parts.append(chinese ? "剩余 \(duration(s.secondsLeft))" : "\(duration(s.secondsLeft)) left")
        }
        return what + (showBar ? " " : ": ") + parts.joined(separator: showBar ? "  " : ", ")
    }
}

/// Follows one push or pull and reports snapshots, as bytes move and after each page. A pull downloads the next page
/// on another thread while it merges this one: every method takes the lock, so reports never interleave.
final class TransferTracker: @unchecked Sendable {
    // Sound: every stored property that changes is read and written only under `lock`.
    private let lock = NSLock()
    let direction: TransferSnapshot.Direction
    let report: (TransferSnapshot) -> Void
    private let started = ProcessInfo.processInfo.systemUptime
    /// Bytes of finished requests and abandoned attempts.
    private var doneBytes = 0
    /// Bytes of the request in flight (its current attempt).
    private var attemptBytes = 0
    private var attemptFraction = 0.0
    private(set) var changes = 0
    private var pages = 0
    /// Sequence positions: where the transfer started, how far pages were acknowledged, where it ends.
    private let start: Int64
    private var done: Int64
    private var head: Int64?
    /// How many sequence positions the page in flight covers (known for a push, the last page's for a pull).
    private var inFlight: Int64 = 0

    init(_ direction: TransferSnapshot.Direction, start: Int64, head: Int64?, report: @escaping (TransferSnapshot) -> Void) {
        self.direction = direction
        self.start = start
        self.done = start
        self.head = head
        self.report = report
    }

    /// A request for the page covering `span` positions is about to go.
    func beginRequest(span: Int64?) {
        lock.lock()
        defer { lock.unlock() }
        if let span { inFlight = max(0, span) }
        closeAttempt()
    }

    /// The request in flight got its answer: its bytes count as done (the page is not yet applied).
    func endRequest() {
        lock.lock()
        defer { lock.unlock() }
        closeAttempt()
    }

    /// The attempt in flight is over: its bytes count as done. Called with `lock` held.
    private func closeAttempt() {
        doneBytes += attemptBytes
        attemptBytes = 0
        attemptFraction = 0
    }

    /// libcurl's counters for the attempt in flight (a retry starts again from 0).
    func moved(_ p: TransferProgress) {
        lock.lock()
        defer { lock.unlock() }
        let now = p.sent + p.received
        if now < attemptBytes { doneBytes += attemptBytes }  // a new attempt began
        attemptBytes = now
        attemptFraction = direction == .push
            ? (p.toSend > 0 ? Double(p.sent) / Double(p.toSend) : 0)
            : (p.toReceive > 0 ? Double(p.received) / Double(p.toReceive) : 0)
        report(snapshot())
    }

    /// A page was acknowledged (push) or applied (pull).
    /// The next page's request may already be in flight (a pull fetches it during the merge): its bytes stay its own.
    func page(cursor: Int64, changes n: Int, head newHead: Int64? = nil, last: Bool) {
        lock.lock()
        defer { lock.unlock() }
        if direction == .pull { inFlight = max(0, cursor - done) }
        done = max(done, cursor)
        if let newHead { head = max(newHead, cursor) }
        changes += n
        pages += 1
        report(snapshot(finished: last))
    }

    /// The fraction last reported: a bar never moves back (an estimate of the page in flight may overshoot).
    private var shown = 0.0

    /// Called with `lock` held.
    private func snapshot(finished: Bool = false) -> TransferSnapshot {
        var fraction: Double?
        if finished {
            fraction = 1
        } else if let head, head > start {
            let position = Double(done - start) + Double(inFlight) * min(1, attemptFraction)
            shown = max(shown, min(0.999, max(0, position / Double(head - start))))
            fraction = shown
        }
        return TransferSnapshot(direction: direction, bytes: doneBytes + attemptBytes, changes: changes, fraction: fraction,
                                elapsed: ProcessInfo.processInfo.systemUptime - started, finished: finished, pages: pages)
    }
}
