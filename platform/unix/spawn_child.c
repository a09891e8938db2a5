/* One fork/exec for every child berth starts on Unix (spawn_child.h). Every
 * descriptor starts at -1 and one error exit closes what was opened; the
 * child's setup is a list of named steps, and a step that fails sends its
 * number and errno back through a close-on-exec pipe, which an exec that
 * succeeds closes without a word. */
#include "spawn_child.h"
#include "unix_os.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* What a child that failed writes to the report pipe. */
typedef struct {
    int step;
    int err;
} report_t;

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void close_fds(int fds[3])
{
    for (int i = 0; i < 3; i++)
        close_fd(&fds[i]);
}

/* ---- in the child, between fork and exec: async-signal-safe calls only -- */

static void child_fail(int report, berth_child_step_t step)
{
    report_t r = { (int)step, errno };
    ssize_t w;
    do
        w = write(report, &r, sizeof r);
    while (w < 0 && errno == EINTR);
    _exit(127);
}

/* Its own process group: stopping the group stops the whole tree. */
static void own_process_group(void)
{
    setpgid(0, 0);
}

/* berth's handlers write to berth's self-pipe, and what berth ignores the
 * child must not: every signal back to its default action. */
static void default_signals(void)
{
    int limit = berth_unix_signal_limit();
    for (int s = 1; s < limit; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);
}

/* The fork came with every signal blocked (and berth blocks signals in its
 * threads anyway): the program starts with none blocked. */
static void clean_signal_mask(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* A descriptor FD below 3 moved above 2 (close-on-exec), so that placing the
 * child's 0, 1 and 2 cannot overwrite it; -1 stays -1. */
static int above_stdio(int fd)
{
    return fd >= 0 && fd < 3 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : fd;
}

/* The child's 0, 1 and 2 from FDS, /dev/null where an entry is -1. The
 * copies lose close-on-exec; the originals close at exec. */
static int place_stdio(const int fds[3])
{
    int use[3];
    for (int i = 0; i < 3; i++)
        if ((use[i] = above_stdio(fds[i])) < 0 && fds[i] >= 0)
            return -1;
    for (int i = 0; i < 3; i++) {
        int fd = use[i];
        if (fd < 0 && (fd = open("/dev/null", i == 0 ? O_RDONLY : O_RDWR)) < 0)
            return -1;
        if (fd != i && dup2(fd, i) < 0)
            return -1;
        if (use[i] < 0 && fd != i)
            close(fd);
    }
    return 0;
}

static void run_child(const berth_child_spec_t *spec, const int stdio[3],
                      int report, pid_t parent)
{
    if ((report = above_stdio(report)) < 0)
        _exit(127);
    own_process_group();
    default_signals();
    if (spec->die_with_parent)
        berth_unix_die_with_parent(parent);
    if (place_stdio(stdio) != 0)
        child_fail(report, BERTH_CHILD_FAILED_STDIO);
    if (spec->cwd && chdir(spec->cwd) != 0)
        child_fail(report, BERTH_CHILD_FAILED_CHDIR);
    clean_signal_mask();
    execve(spec->program, spec->argv, spec->envp);
    child_fail(report, BERTH_CHILD_FAILED_EXEC);
}

/* ---- in berth ----------------------------------------------------------- */

/* The pipes SPEC asks for: the child's ends in CHILD_END, berth's in OURS,
 * every end close-on-exec from birth (another thread may be starting
 * another child right now, and a stdout write end it inherits means this
 * child's EOF never comes). */
static apr_status_t make_pipes(int which, int child_end[3], int ours[3])
{
    for (int i = 0; i < 3; i++) {
        int p[2];
        if (!(which & (1 << i)))
            continue;
        if (berth_cloexec_pipe(p) != 0)
            return errno;
        /* the child reads its stdin and writes the other two */
        child_end[i] = i == 0 ? p[0] : p[1];
        ours[i] = i == 0 ? p[1] : p[0];
    }
    return APR_SUCCESS;
}

/* Forks with every signal blocked, so the child runs none of berth's
 * handlers before it has reset them. */
static apr_status_t fork_child(const berth_child_spec_t *spec,
                               const int stdio[3], int report, pid_t *pid)
{
    sigset_t all, old;
    pid_t parent = getpid();
    sigfillset(&all);
    /* a fault before exec still ends the child instead of hanging it */
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGILL);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGABRT);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    *pid = fork();
    if (*pid == 0)
        run_child(spec, stdio, report, parent);
    int err = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (*pid < 0)
        return err;
    setpgid(*pid, *pid); /* from here too, so the group exists before a kill */
    return APR_SUCCESS;
}

/* Waits until the child has run its program (REPORT reads EOF) or says
 * which step failed; a child that failed is reaped. */
static apr_status_t await_exec(int report, berth_child_t *c)
{
    report_t r;
    ssize_t n;
    do
        n = read(report, &r, sizeof r);
    while (n < 0 && errno == EINTR);
    if (n == 0) {
        c->step = BERTH_CHILD_STARTED;
        return APR_SUCCESS;
    }
    int err = n < 0 ? errno : APR_EGENERAL;
    while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    c->pid = -1;
    if (n != (ssize_t)sizeof r) {
        c->step = BERTH_CHILD_FAILED_EXEC; /* it died without a word */
        return err;
    }
    c->step = (berth_child_step_t)r.step;
    return r.err ? r.err : APR_EGENERAL;
}

apr_status_t berth_child_start(const berth_child_spec_t *spec,
                               berth_child_t *c)
{
    int child_end[3] = { -1, -1, -1 }, report[2] = { -1, -1 };
    apr_status_t rv;
    c->pid = -1;
    c->fds[0] = c->fds[1] = c->fds[2] = -1;

    c->step = BERTH_CHILD_FAILED_PIPE;
    if ((rv = make_pipes(spec->pipes, child_end, c->fds)) != APR_SUCCESS)
        goto error;
    if ((spec->pipes & BERTH_CHILD_ERR_TO_OUT) && child_end[1] >= 0 &&
        child_end[2] < 0 &&
        (child_end[2] = fcntl(child_end[1], F_DUPFD_CLOEXEC, 3)) < 0) {
        rv = errno;
        goto error;
    }
    if (berth_cloexec_pipe(report) != 0) {
        rv = errno;
        goto error;
    }
    c->step = BERTH_CHILD_FAILED_FORK;
    if ((rv = fork_child(spec, child_end, report[1], &c->pid)) != APR_SUCCESS)
        goto error;
    close_fds(child_end);
    close_fd(&report[1]);
    if ((rv = await_exec(report[0], c)) != APR_SUCCESS)
        goto error;
    close_fd(&report[0]);
    return APR_SUCCESS;

error:
    close_fd(&report[0]);
    close_fd(&report[1]);
    close_fds(child_end);
    close_fds(c->fds);
    return rv;
}
