// Linux headers the Glibc module does not export: the HTTP server's event loop needs epoll and eventfd.
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
