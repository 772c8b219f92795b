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
    /// A request whose body is streamed: each job on it feeds the pieces read so far (`StreamedBody.run`).
    var stream: StreamedBody? = nil
}

/// A fixed set of threads running the responder, fed by two bounded queues: the number of threads, not the number
/// of connections, bounds the memory and the concurrency of request handling.
///
/// Regular jobs are taken oldest exchange first, not first come first served: when 300 offices arrive at once, a
/// FIFO queue advances all of them in lockstep (every status, then every push, then every pull) so every sync ends
/// near the end of the burst and every office pulls every other office's push. Serving the exchange that began
/// first lets offices finish one after another, as a thread per connection did, with bounded threads.
///
/// Light jobs (`RequestLane.light`: health, status, whoami, metrics) go ahead of the regular queue and have threads
/// of their own besides, so they are answered while every regular worker is busy with a slow push and a thousand
/// more wait behind it.
///
/// A job refused because its queue is full is told when to come back (`Retry-After`): appointments are handed out
/// at the rate the workers have been finishing jobs, one after another, so a burst of refused offices returns
/// spread over the time the queue needs to drain instead of all together into a queue that is still full.
final class WorkerPool: Sendable {
    private struct Queue {
        var light: [Job] = []
        var regular: [Job] = []
        var stopping = false
        var threadsRunning = 0
        /// Regular jobs finished, smoothed: seconds between two completions (0 until one finished).
        var secondsPerJob = 0.0
        var lastCompletion = 0.0
        /// The latest appointment given to a refused job (monotonic seconds).
        var nextAppointment = 0.0
    }

    private let queue = Locked(Queue())
    private let capacity: Int
    /// The shortest `Retry-After` (the configured one) and the longest one ever given.
    private let minRetryAfter: Int
    static let maxRetryAfter = 120

    init(capacity: Int, retryAfterSeconds: Int = 1) {
        self.capacity = capacity
        minRetryAfter = max(1, retryAfterSeconds)
    }

    /// Starts `threads` regular workers and `lightThreads` light-only workers, each calling `execute` for every job
    /// it takes.
    func start(threads: Int, lightThreads: Int = 2, execute: @escaping @Sendable (Job) -> Void) {
        queue.withLock { $0.threadsRunning = threads + lightThreads }
        for index in 0..<(threads + lightThreads) {
            let lightOnly = index >= threads
            Thread.detachNewThread { [self] in
                Thread.current.name = lightOnly ? "http-light" : "http-worker"
                // Regular workers yield the CPU to the event loop and the light workers when the cores are busy,
                // so accepting, writing, status and health checks stay prompt under a burst of pushes and pulls.
                if !lightOnly { _ = cpsync_nice_current_thread(5) }
                while let (job, light) = take(lightOnly: lightOnly) {
                    execute(job)
                    // A streamed body's pieces are many short jobs of one request: not counted in the rate.
                    if !light && job.stream == nil { finished() }
                }
                queue.withLock { $0.threadsRunning -= 1 }
            }
        }
    }

    /// Queues a job on its lane; nil when queued, else the seconds the client should wait before it asks again
    /// (the queue is full: the caller answers 503 with `Retry-After`). An `admitted` job (more of a streamed body
    /// whose request was queued already) is always queued: at most one per streamed connection is ever waiting.
    func submit(_ job: Job, lane: RequestLane, admitted: Bool = false) -> Int? {
        queue.withLock { queue in
            switch lane {
            case .light:
                // Light jobs are few and tiny; a bound still keeps a flood of them finite.
                guard queue.light.count < capacity else { return minRetryAfter }
                queue.light.append(job)
            case .regular:
                guard admitted || queue.regular.count < capacity else { return appointment(&queue) }
                // Sorted by exchange start; equal starts keep their arrival order.
                var low = 0, high = queue.regular.count
                while low < high {
                    let middle = (low + high) / 2
                    if queue.regular[middle].sessionStartedAt <= job.sessionStartedAt { low = middle + 1 } else { high = middle }
                }
                queue.regular.insert(job, at: low)
            }
            return nil
        }
    }

    /// When a refused job should come back: after the queue ahead of it has drained at the rate jobs have been
    /// finishing, and after every job refused before it (one completion apart). The configured minimum while no
    /// rate is known yet.
    private func appointment(_ queue: inout Queue) -> Int {
        guard queue.secondsPerJob > 0 else { return minRetryAfter }
        let now = Socket.now()
        let drained = now + Double(queue.regular.count) * queue.secondsPerJob
        queue.nextAppointment = max(queue.nextAppointment + queue.secondsPerJob, drained)
        let wait = Int((queue.nextAppointment - now).rounded(.up))
        return min(Self.maxRetryAfter, max(minRetryAfter, wait))
    }

    /// Notes a regular job done, for the rate appointments are given at.
    private func finished() {
        let now = Socket.now()
        queue.withLock { queue in
            if queue.lastCompletion > 0 {
                let gap = min(now - queue.lastCompletion, 1)
                queue.secondsPerJob = queue.secondsPerJob == 0 ? gap : queue.secondsPerJob * 0.95 + gap * 0.05
            }
            queue.lastCompletion = now
        }
    }

    /// Lets idle workers end; a worker busy with a responder ends when the responder returns.
    func stop() {
        queue.withLock { $0.stopping = true }
    }

    /// The next job, light first, and whether it was light; nil once the pool is stopping and the queues are empty.
    private func take(lightOnly: Bool) -> (Job, Bool)? {
        while true {
            let job = queue.withLock { queue -> (Job, Bool)? in
                if !queue.light.isEmpty { return (queue.light.removeFirst(), true) }
                if !lightOnly, !queue.regular.isEmpty { return (queue.regular.removeFirst(), false) }
                return nil
            }
            if let job { return job }
            var stopping = false
            _ = queue.wait(until: nil) { queue in
                stopping = queue.stopping
                return queue.stopping || !queue.light.isEmpty || (!lightOnly && !queue.regular.isEmpty)
            }
            if stopping { return nil }
        }
    }
}
