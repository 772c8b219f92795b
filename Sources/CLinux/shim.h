// Linux headers the Glibc module does not export: the HTTP server's event loop needs epoll and eventfd; change
// files are renamed into place without replacing an existing file (renameat2); the daemon bounds malloc (mallopt).
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/// Lowers (positive `nice`) the calling thread's scheduling priority; Linux applies `setpriority` per thread id.
/// Raising it needs privileges, lowering never does. Returns 0 or -1 with errno set.
static inline int cpsync_nice_current_thread(int nice) {
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}

/// Renames `from` to `to` unless `to` exists (then -1 with errno EEXIST): `renameat2(RENAME_NOREPLACE)`, which the
/// Glibc module does not export. -1 with errno EINVAL or ENOSYS where the file system or kernel cannot do it.
static inline int cpsync_rename_noreplace(const char *from, const char *to) {
#ifdef SYS_renameat2
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 1u /* RENAME_NOREPLACE */);
#else
    errno = ENOSYS;
    return -1;
#endif
}
