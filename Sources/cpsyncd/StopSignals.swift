import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT for `serve`: blocked in every thread and taken by the main thread with `sigwait`.
///
/// Why not a DispatchSource: on Linux, libdispatch reads signals through a signalfd; a signal that lands on a thread
/// dispatch does not manage (an HTTP connection thread) is blocked and re-raised on that thread only, where the
/// signalfd never sees it — the daemon then ignored `systemctl stop`. Blocking the signals before any thread exists
/// makes every thread inherit the mask, so the one `sigwait` below always gets them.
enum StopSignals {
    private static var set: sigset_t {
        var s = sigset_t()
        sigemptyset(&s)
        sigaddset(&s, SIGTERM)
        sigaddset(&s, SIGINT)
        return s
    }

    /// Call first thing in the process, before any thread is created.
    static func block() {
        var s = set
        pthread_sigmask(SIG_BLOCK, &s, nil)
    }

    /// Waits for SIGTERM or SIGINT; returns the signal.
    @discardableResult
    static func wait() -> Int32 {
        var s = set
        var received: Int32 = 0
        while sigwait(&s, &received) != 0 {}
        return received
    }
}
