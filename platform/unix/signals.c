#include "signals.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

/* The self-pipe: written by the handlers, read by berth_signals_wait.
 * Created once by berth_signals_install before any thread exists. */
static int g_pipe[2] = { -1, -1 };

static void on_signal(int signum)
{
    int saved = errno;
    unsigned char b = (unsigned char)signum;
    ssize_t w = write(g_pipe[1], &b, 1);
    (void)w;
    errno = saved;
}

apr_status_t berth_signals_install(void)
{
    struct sigaction sa;
    if (g_pipe[0] < 0) {
        if (pipe(g_pipe) != 0)
            return errno;
        for (int i = 0; i < 2; i++) {
            fcntl(g_pipe[i], F_SETFD, FD_CLOEXEC);
            fcntl(g_pipe[i], F_SETFL, O_NONBLOCK);
        }
    }
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    return APR_SUCCESS;
}

int berth_signals_wait(apr_interval_time_t timeout)
{
    struct pollfd p = { g_pipe[0], POLLIN, 0 };
    if (g_pipe[0] < 0)
        return 0;
    int ms = timeout < 0 ? -1 : (int)(timeout / 1000);
    if (poll(&p, 1, ms) <= 0)
        return 0;
    unsigned char b = 0;
    return read(g_pipe[0], &b, 1) == 1 ? b : 0;
}

void berth_signals_raise(int signum)
{
    if (g_pipe[1] >= 0)
        on_signal(signum);
}

int berth_signals_is_reload(int signum)
{
    return signum == SIGHUP || signum == BERTH_SIGNAL_RELOAD;
}
