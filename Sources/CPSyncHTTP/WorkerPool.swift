import CLinux
import Foundation

/// A complete request handed from the event loop to a worker.
struct Job: Sendable {
    /// The connection, by descriptor and by serial number (a descriptor number is reused after close).
    let fd: Int32
    let connectionID: Int
    let request: HTTPRequest
    let head: HTTPRequestHead
    let isLastAllowed: Bool
    /// When the client's current exchange began (its first request after being idle); older exchanges go first.
    let sessionStartedAt: Double
}

/// A fixed set of threads running the responder, fed by a bounded queue: the number of threads, not the number of
/// connections, bounds the memory and the concurrency of request handling.
///
/// Regular jobs are taken oldest exchange first, not first come first served: when 300 offices arrive at once, a
/// FIFO queue advances all of them in lockstep (every status, then every push, then every pull) so every sync ends
/// near the end of the burst and every office pulls every other office's push. Serving the exchange that began
/// first lets offices finish one after another, as a thread per connection did, with bounded threads.
///
/// Express jobs (health checks) go ahead of the queue and have one thread of their own besides, so they are
/// answered even while every regular worker is busy with a slow push.
final class WorkerPool: Sendable {
    private struct Queue {
        var express: [Job] = []
        var regular: [Job] = []
        var stopping = false
        var threadsRunning = 0
    }

    private let queue = Locked(Queue())
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Starts `threads` regular workers and one express worker, each calling `execute` for every job it takes.
    func start(threads: Int, execute: @escaping @Sendable (Job) -> Void) {
        queue.withLock { $0.threadsRunning = threads + 1 }
        for index in 0...threads {
            let expressOnly = index == threads
            Thread.detachNewThread { [self] in
                Thread.current.name = expressOnly ? "http-express" : "http-worker"
                // Regular workers yield the CPU to the event loop and the express worker when the cores are busy,
                // so accepting, writing and health checks stay prompt under a burst of pulls.
                if !expressOnly { _ = cpsync_nice_current_thread(5) }
                while let job = take(expressOnly: expressOnly) { execute(job) }
                queue.withLock { $0.threadsRunning -= 1 }
            }
        }
    }

    /// Queues a job; false when the queue is full (the caller answers 503).
    func submit(_ job: Job, express: Bool) -> Bool {
        queue.withLock { queue in
            if express {
                // Express jobs are few and tiny; a bound still keeps a flood of them finite.
                guard queue.express.count < capacity else { return false }
                queue.express.append(job)
            } else {
                guard queue.regular.count < capacity else { return false }
                // Sorted by exchange start; equal starts keep their arrival order.
                var low = 0, high = queue.regular.count
                while low < high {
                    let middle = (low + high) / 2
                    if queue.regular[middle].sessionStartedAt <= job.sessionStartedAt { low = middle + 1 } else { high = middle }
                }
                queue.regular.insert(job, at: low)
            }
            return true
        }
    }

    /// Lets idle workers end; a worker busy with a responder ends when the responder returns.
    func stop() {
        queue.withLock { $0.stopping = true }
    }

    /// The next job, express first; nil once the pool is stopping and the queue is empty.
    private func take(expressOnly: Bool) -> Job? {
        while true {
            let job = queue.withLock { queue -> Job? in
                if !queue.express.isEmpty { return queue.express.removeFirst() }
                if !expressOnly, !queue.regular.isEmpty { return queue.regular.removeFirst() }
                return nil
            }
            if let job { return job }
            var stopping = false
            _ = queue.wait(until: nil) { queue in
                stopping = queue.stopping
                return queue.stopping || !queue.express.isEmpty || (!expressOnly && !queue.regular.isEmpty)
            }
            if stopping { return nil }
        }
    }
}
