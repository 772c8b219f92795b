import CPSyncCore
import Foundation

/// Writes committed together (group commit): callers that want the writer while it is busy queue their writes, and
/// the next of them to get it runs every queued write in one transaction, each in a savepoint of its own, and waits
/// for the disk once for all of them. A thousand offices pushing at once then cost the county a commit per group,
/// not per push, and hand the writer over once per group.
///
/// Nothing is answered before it is on disk: a caller returns only after the commit of its group (or with the
/// error that undid its write). A write that fails is undone alone (its savepoint); the others of its group are
/// committed. If the whole transaction is lost (SQLite undoes it on a full disk or an I/O error) or its commit fails,
/// every write of the group fails with that error, and none of it stays.
final class WriteGroup: @unchecked Sendable {
    // Sound: `pending`, `leading` and every job's `done` are read and written under `condition`'s lock; a job's
    // `failure` is written only by the leader of its group before it marks the group done (under the lock), and read
    // by its caller only after it saw `done`.
    private let condition = NSCondition()
    private var pending: [Job] = []
    private var leading = false
    /// At most this many writes share a transaction (a bound on how long one group holds the writer). Kept well
    /// below the server's workers (`ServeCommand.workers`): a caller waits on its worker until its group commits, so
    /// a group of every worker leaves none to read, decode and check the next pushes meanwhile. 1,000 offices at
    /// once: 8 writes a group with 24 workers measured p99 0.89–1.04 s (median 0.91) and 0.87–1.03 ms of the daemon's
    /// CPU a sync, against 0.98–1.15 s (median 1.07) and 1.10–1.34 ms with 64 and 8 workers (five runs alternating).
    static let maxWrites = 8

    /// One caller's write, and what came of it.
    final class Job {
        let body: (Replica) throws -> Void
        var done = false
        /// Why the write was undone (nil: committed).
        var failure: (any Error)?
        init(_ body: @escaping (Replica) throws -> Void) { self.body = body }
    }

    /// Queues `body` and returns once its group is committed; throws the error that undid it. `commit` is handed each
    /// group by the thread that leads it (`commit(_:in:)` with the writer).
    func run(_ body: @escaping (Replica) throws -> Void, commit: ([Job]) -> Void) throws {
        let job = Job(body)
        condition.lock()
        pending.append(job)
        while !job.done {
            if leading {
                condition.wait()
                continue
            }
            leading = true
            let group = Array(pending.prefix(Self.maxWrites))
            pending.removeFirst(group.count)
            condition.unlock()
            commit(group)
            condition.lock()
            for j in group { j.done = true }
            leading = false
            condition.broadcast()
        }
        condition.unlock()
        if let failure = job.failure { throw failure }
    }

    /// Runs `group` in one transaction of `replica` and commits it; notes each job's failure, if any. Returns the
    /// error that undid the whole group, if one did.
    @discardableResult
    static func commit(_ group: [Job], in replica: Replica) -> (any Error)? {
        do {
            try replica.database.transaction {
                for job in group {
                    do {
                        try replica.database.transaction { try job.body(replica) }
                    } catch {
                        job.failure = error
                    }
                    // SQLite undid the whole transaction (a full disk, an I/O error): what follows would run outside
                    // it, so the group stops here and none of it stays.
                    if !replica.database.isInTransaction { throw job.failure ?? GroupLost() }
                }
            }
            return nil
        } catch {
            // Undone whole: every write of the group, applied or not yet run, fails with what undid it.
            for job in group where job.failure == nil { job.failure = error }
            return error
        }
    }

    /// The transaction ended without an error saying why (it should not happen: SQLite reports what undid it).
    struct GroupLost: Error, CustomStringConvertible {
        var description: String { "the database ended the transaction of a group of writes; nothing of it was kept" }
    }
}
