/* What platform/unix asks of Linux (unix_os.h). */
#define _GNU_SOURCE 1 /* pipe2, NSIG */
#include "../unix/unix_os.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

int berth_cloexec_pipe(int fds[2])
{
    return pipe2(fds, O_CLOEXEC);
}

int berth_unix_signal_limit(void)
{
    return NSIG;
}

void berth_unix_die_with_parent(pid_t parent)
{
    /* berth killed with SIGKILL cannot stop its children: the kernel sends
     * them SIGTERM instead (docker run passes it on to the container). It
     * fires when the forking thread ends, so servers are spawned from the
     * thread that supervises them for their whole life. Kept across exec; a
     * parent already gone gets it now. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        raise(SIGTERM);
}
