import Foundation

/// A value reachable only under a lock. `@unchecked Sendable` is sound because every access goes through
/// `withLock`, which holds `lock` for the whole call.
final class Guarded<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    /// Runs `body` only when the lock is free right now; nil when another thread holds it.
    func tryWithLock<T>(_ body: (inout Value) throws -> T) rethrows -> T? {
        guard lock.try() else { return nil }
        defer { lock.unlock() }
        return try body(&value)
    }
}
