import CPSyncCore
import CPSyncProtocol
import Foundation

/// Why the county database cannot take writes: a full disk, or storage that fails (I/O error, read-only, damaged).
public struct StorageProblem: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// SQLITE_FULL: the disk (or the database's page limit) is full.
        case full
        /// SQLITE_IOERR, SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_CORRUPT, SQLITE_NOTADB.
        case failed
    }

    public let kind: Kind
    /// SQLite's own words, e.g. "database or disk is full".
    public let detail: String
    public let databasePath: String

    /// The storage problem an error stands for, or nil when it is about something else (a bad change, a busy lock).
    public init?(_ error: any Error, databasePath: String) {
        let sqlite: SQLiteError
        switch error {
        case let e as SQLiteError: sqlite = e
        case ReplicaError.sqlite(let e): sqlite = e
        default: return nil
        }
        if sqlite.isFull { kind = .full } else if sqlite.isStorageFailure { kind = .failed } else { return nil }
        detail = sqlite.message
        self.databasePath = databasePath
    }

    public var description: String {
        switch kind {
        case .full:
            "the county server's disk is full (\(detail)) at \(databasePath); free space on that disk — the server recovers by itself, no restart needed"
        case .failed:
            "the county database \(databasePath) cannot be written (\(detail)); check the disk and the file's permissions, and run `cpsyncd doctor`"
        }
    }

    /// The protocol error for this problem; `nothingApplied` for answers to a push.
    public func errorBody(nothingApplied: Bool) -> ErrorBody {
        ErrorBody(code: kind == .full ? .storageFull : .storageFailed,
                  message: description + (nothingApplied ? "; nothing was applied, offices keep their changes queued" : ""))
    }
}

/// What the server last learned about its writes, so `/v1/health` can answer truthfully without touching the disk
/// on every call: healthy until a write fails for storage reasons; then a probe write, at most once per
/// `probeInterval` and only when the writer is free, decides when it is healthy again.
final class StorageHealth: Sendable {
    private struct State {
        var problem: StorageProblem?
        var lastProbe: ContinuousClock.Instant?
    }
    private let state = Guarded(State())
    let probeInterval: Duration

    init(probeInterval: Duration = .seconds(1)) { self.probeInterval = probeInterval }

    func writeSucceeded() { state.withLock { $0.problem = nil } }

    func writeFailed(_ problem: StorageProblem) { state.withLock { $0.problem = problem } }

    /// The problem writes last had, if any, after a probe when one is due: `probe` runs only when a problem is known
    /// and the last probe is older than `probeInterval`; it returns nil when the writer was busy (a push is running,
    /// and its outcome will tell) and throws what a failed probe write threw.
    func current(probe: () throws -> Bool?) -> StorageProblem? {
        let now = ContinuousClock.now
        let due = state.withLock { s -> Bool in
            guard s.problem != nil else { return false }
            if let last = s.lastProbe, now - last < probeInterval { return false }
            s.lastProbe = now
            return true
        }
        if due {
            do {
                if try probe() == true { writeSucceeded() }
            } catch {
                if let known = state.withLock({ $0.problem }) {
                    writeFailed(StorageProblem(error, databasePath: known.databasePath) ?? known)
                }
            }
        }
        return state.withLock { $0.problem }
    }
}
