import Foundation

/// A value computed on a thread of its own while the caller goes on with other work; `wait()` returns it. For work
/// that touches no database (the database connection stays on its own thread): a pull downloads and decodes the next
/// page while the office merges this one, the county hashes a push while it merges it.
public final class Concurrent<T: Sendable>: @unchecked Sendable {
    // Sound: `value` is written once by the worker thread and read only under `condition`'s lock.
    private let condition = NSCondition()
    private var value: T?

    public init(_ work: @escaping @Sendable () -> T) {
        Thread { [self] in
            let result = work()
            condition.lock()
            value = result
            condition.broadcast()
            condition.unlock()
        }.start()
    }

    /// Whether the work is done (never waits).
    public var isDone: Bool {
        condition.lock()
        defer { condition.unlock() }
        return value != nil
    }

    /// The value, once the work is done (waits for it).
    public func wait() -> T {
        condition.lock()
        defer { condition.unlock() }
        while value == nil { condition.wait() }
        return value!
    }
}
