/* The Unix spawn primitive: the plan's exact argv and environment in a
 * process group of its own (spawn_child.c), with three pipes to berth. */
#include "platform.h"
#include "process.h"
#include "spawn_child.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <apr_portable.h>
#include <apr_thread_mutex.h>
#include <apr_strings.h>

struct berth_process_t {
    apr_pool_t *pool;
    apr_thread_mutex_t *lock; /* the reader and the supervisor both wait */
    pid_t pid;
    int reaped;
    int exit_code;
    apr_file_t *in, *out, *err;
};

static apr_status_t cleanup(void *data)
{
    berth_process_t *p = data;
    /* the last user: no other thread waits any more */
    if (!p->reaped && p->pid > 0) {
        kill(-p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        p->reaped = 1;
    }
    return APR_SUCCESS;
}

static apr_status_t wrap_fd(apr_file_t **f, int fd, apr_pool_t *pool)
{
    apr_os_file_t os = fd;
    return apr_os_pipe_put_ex(f, &os, 1 /* register a close cleanup */, pool);
}

/* A, a list of strings, as the NULL-terminated vector execve takes. */
static char **string_vector(const apr_array_header_t *a, apr_pool_t *pool)
{
    char **v = apr_pcalloc(pool, sizeof(char *) * (size_t)(a->nelts + 1));
    for (int i = 0; i < a->nelts; i++)
        v[i] = (char *)APR_ARRAY_IDX(a, i, const char *);
    return v;
}

/* What the user reads when SPEC could not start: the step that failed. */
static const char *start_error(const berth_process_spec_t *spec,
                               berth_child_step_t step, apr_status_t rv,
                               apr_pool_t *pool)
{
    const char *why = strerror(rv);
    switch (step) {
    case BERTH_CHILD_FAILED_PIPE:
        return apr_psprintf(pool, "cannot create pipes: %s", why);
    case BERTH_CHILD_FAILED_FORK:
        return apr_psprintf(pool, "cannot fork: %s", why);
    case BERTH_CHILD_FAILED_STDIO:
        return apr_psprintf(pool, "cannot give %s its standard streams: %s",
                            spec->program, why);
    case BERTH_CHILD_FAILED_CHDIR:
        return apr_psprintf(pool, "cannot enter %s: %s", spec->cwd, why);
    default:
        return apr_psprintf(pool, "cannot run %s: %s", spec->program, why);
    }
}

apr_status_t berth_process_spawn(berth_process_t **out,
                                 const berth_process_spec_t *spec,
                                 const char **error, apr_pool_t *pool)
{
    berth_child_spec_t cs = {
        spec->program, string_vector(spec->argv, pool),
        string_vector(spec->env, pool), spec->cwd,
        BERTH_CHILD_PIPE_IN | BERTH_CHILD_PIPE_OUT | BERTH_CHILD_PIPE_ERR,
        1 /* a berth killed outright takes its servers along (Linux) */
    };
    berth_child_t c;
    *out = NULL;
    *error = NULL;
    apr_status_t rv = berth_child_start(&cs, &c);
    if (rv != APR_SUCCESS) {
        *error = start_error(spec, c.step, rv, pool);
        return rv;
    }
    berth_process_t *p = apr_pcalloc(pool, sizeof *p);
    p->pool = pool;
    p->pid = c.pid;
    apr_thread_mutex_create(&p->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    wrap_fd(&p->in, c.fds[0], pool);
    wrap_fd(&p->out, c.fds[1], pool);
    wrap_fd(&p->err, c.fds[2], pool);
    apr_pool_cleanup_register(pool, p, cleanup, apr_pool_cleanup_null);
    *out = p;
    return APR_SUCCESS;
}

apr_file_t *berth_process_stdin(berth_process_t *p) { return p->in; }
apr_file_t *berth_process_stdout(berth_process_t *p) { return p->out; }
apr_file_t *berth_process_stderr(berth_process_t *p) { return p->err; }
long berth_process_pid(const berth_process_t *p) { return (long)p->pid; }

apr_status_t berth_process_wait(berth_process_t *p,
                                apr_interval_time_t timeout, int *exit_code)
{
    apr_time_t deadline = berth_platform_clock() + timeout;
    for (;;) {
        /* one waitpid at a time: a second waiter must see the first one's
         * result, not ECHILD */
        apr_thread_mutex_lock(p->lock);
        if (!p->reaped) {
            int st;
            pid_t w = waitpid(p->pid, &st, WNOHANG);
            if (w == p->pid) {
                p->reaped = 1;
                p->exit_code = WIFEXITED(st)     ? WEXITSTATUS(st)
                               : WIFSIGNALED(st) ? 128 + WTERMSIG(st)
                                                 : -1;
            } else if (w < 0 && errno != EINTR) {
                int e = errno;
                apr_thread_mutex_unlock(p->lock);
                return e;
            }
        }
        int done = p->reaped;
        apr_thread_mutex_unlock(p->lock);
        if (done)
            break;
        if (timeout >= 0 && berth_platform_clock() >= deadline)
            return APR_TIMEUP;
        struct timespec ts = { 0, 2 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    if (exit_code)
        *exit_code = p->exit_code;
    return APR_SUCCESS;
}

apr_status_t berth_process_terminate(berth_process_t *p)
{
    if (p->reaped)
        return APR_SUCCESS;
    return kill(-p->pid, SIGTERM) == 0 || errno == ESRCH ? APR_SUCCESS
                                                          : errno;
}

apr_status_t berth_process_kill_tree(berth_process_t *p)
{
    /* the group outlives its leader: signal it even after a reap */
    return kill(-p->pid, SIGKILL) == 0 || errno == ESRCH ? APR_SUCCESS
                                                          : errno;
}

int berth_process_tree_outlives_berth(void)
{
    return 1;
}

long berth_process_session(long pid)
{
    pid_t s = getsid((pid_t)pid);
    return s < 0 ? -1 : (long)s;
}

apr_status_t berth_process_group_kill(long group)
{
    if (group <= 1)
        return APR_EINVAL; /* -1 and -0 would be everyone, or berth's own */
    return kill(-(pid_t)group, SIGKILL) == 0 || errno == ESRCH ? APR_SUCCESS
                                                                : errno;
}

apr_status_t berth_process_write_now(apr_file_t *f, const char *buf,
                                     apr_size_t len)
{
    apr_os_file_t fd;
    struct pollfd p;
    if (len > BERTH_PROCESS_ATOMIC_WRITE)
        return APR_EINVAL;
    apr_os_file_get(&fd, f);
    p.fd = fd;
    p.events = POLLOUT;
    p.revents = 0;
    /* a pipe that is not full takes PIPE_BUF bytes (4096 on Linux, at least
     * 512 by POSIX; macOS: 512) whole: larger lines go the blocking way */
    if (len > PIPE_BUF || poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
        return APR_EAGAIN;
    for (;;) {
        ssize_t w = write(fd, buf, len);
        if (w == (ssize_t)len)
            return APR_SUCCESS;
        if (w >= 0)
            return APR_EGENERAL; /* cannot happen for a pipe under PIPE_BUF */
        if (errno != EINTR)
            return errno == EAGAIN ? APR_EAGAIN : errno;
    }
}

apr_status_t berth_process_wait_readable(apr_file_t *f, apr_file_t *kick,
                                         apr_interval_time_t timeout,
                                         int *kicked)
{
    struct pollfd pfd[2];
    apr_os_file_t fd, kfd = -1;
    nfds_t n = 1;
    apr_os_file_get(&fd, f);
    pfd[0].fd = fd;
    pfd[0].events = POLLIN;
    if (kick) {
        apr_os_file_get(&kfd, kick);
        pfd[1].fd = kfd;
        pfd[1].events = POLLIN;
        n = 2;
    }
    *kicked = 0;
    /* whole milliseconds, rounded up: a wait never ends early */
    int ms = timeout < 0 ? -1 : (int)((timeout + 999) / 1000);
    for (;;) {
        int r = poll(pfd, n, ms);
        if (r > 0)
            break;
        if (r == 0)
            return APR_TIMEUP;
        if (errno != EINTR)
            return errno;
    }
    if (n == 2 && pfd[1].revents) {
        char drain[64];
        while (read(kfd, drain, sizeof drain) > 0)
            ;
        if (!pfd[0].revents)
            *kicked = 1;
    }
    return APR_SUCCESS;
}
