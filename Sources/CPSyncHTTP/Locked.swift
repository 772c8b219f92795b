import Foundation

/// A value guarded by an `NSCondition`, with waiting for changes.
///
/// `@unchecked Sendable` is sound because `value` is only reached through `withLock`/`wait`, which hold the
/// condition's lock. (`Synchronization.Mutex` would need macOS 15; the package still supports macOS 13.)
final class Locked<Value>: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    /// Runs `body` under the lock and wakes every waiter afterwards.
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        return try body(&value)
    }

    /// Waits until `predicate` holds or `deadline` (nil: never) passes; returns whether it holds.
    ///
    /// Without a deadline this uses the untimed wait: corelibs Foundation traps converting `.distantFuture`.
    func wait(until deadline: Date?, for predicate: (Value) -> Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !predicate(value) {
            if let deadline {
                if !condition.wait(until: deadline) { return predicate(value) }
            } else {
                condition.wait()
            }
        }
        return true
    }
}
