/* What platform/unix asks of macOS (unix_os.h). */
#define _DARWIN_C_SOURCE 1 /* NSIG */
#include "../unix/unix_os.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

int berth_cloexec_pipe(int fds[2])
{
    /* no pipe2: a window remains between pipe and fcntl, in which a fork
     * on another thread inherits the two ends */
    if (pipe(fds) != 0)
        return -1;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
}

int berth_unix_signal_limit(void)
{
    return NSIG;
}

void berth_unix_die_with_parent(pid_t parent)
{
    /* macOS has no parent-death signal: a berth killed with SIGKILL leaves
     * its servers running (berth stops them on every other exit) */
    (void)parent;
}
