import CLinux
import Foundation

/// How the daemon keeps glibc's malloc from holding on to memory it freed.
///
/// Measured with `cpsync-bench snapshot` at 200,000 members: one township's plain pull raised the daemon's peak RSS
/// from 33 MB to 107–142 MB, and with these two settings to 63–79 MB. glibc gives each thread that allocates its own
/// arena (up to 8 per core) and keeps what a freed page or answer leaves in it; it also raises its mmap threshold
/// after every large free (up to 32 MiB), so that the next page-sized buffers come from those arenas instead of being
/// mapped and unmapped. Two arenas, and a fixed threshold of 1 MiB, keep the worker threads' buffers of pull pages and
/// snapshot ranges from piling up. The environment's `MALLOC_ARENA_MAX` / `MALLOC_MMAP_THRESHOLD_` still win.
public enum ProcessMemory {
    public static let arenas: Int32 = 2
    public static let mmapThresholdBytes: Int32 = 1 << 20

    /// Applies the settings to this process; call once, before the worker threads start.
    public static func bound() {
        if getenv("MALLOC_ARENA_MAX") == nil { _ = mallopt(M_ARENA_MAX, arenas) }
        if getenv("MALLOC_MMAP_THRESHOLD_") == nil { _ = mallopt(M_MMAP_THRESHOLD, mmapThresholdBytes) }
    }
}
