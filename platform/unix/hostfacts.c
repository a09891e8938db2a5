/* Host facts for Unix: environment, login shell, stat probe, a capture that
 * owns a process group, and the monotonic clock. */
#include "hostfacts.h"
#include "platform.h"
#include "spawn_child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <apr_strings.h>

extern char **environ;

static berth_probe_t unix_probe(const berth_hostfacts_t *facts,
                                const char *path)
{
    struct stat st;
    (void)facts;
    if (stat(path, &st) != 0)
        return BERTH_PROBE_MISSING;
    if (S_ISDIR(st.st_mode))
        return BERTH_PROBE_DIR;
    if (S_ISREG(st.st_mode) && (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)))
        return BERTH_PROBE_EXEC;
    return BERTH_PROBE_FILE;
}

static apr_time_t unix_now(const berth_hostfacts_t *facts)
{
    (void)facts;
    return berth_platform_clock();
}

static char **env_block(const apr_array_header_t *env, apr_pool_t *pool)
{
    char **envp = apr_pcalloc(pool, sizeof(char *) *
                                        (size_t)(env->nelts + 1));
    for (int i = 0; i < env->nelts; i++)
        envp[i] = (char *)APR_ARRAY_IDX(env, i, const char *);
    return envp;
}

/* The program to exec: ARGV0 itself when it has a slash, else the first
 * executable match on the facts' PATH. */
static const char *find_program(const berth_hostfacts_t *facts,
                                const apr_array_header_t *env,
                                const char *argv0, apr_pool_t *pool)
{
    if (strchr(argv0, '/'))
        return argv0;
    apr_array_header_t *dirs = berth_path_split(
        facts, berth_env_get(facts, env, "PATH"), pool);
    for (int i = 0; i < dirs->nelts; i++) {
        const char *c = berth_path_child(
            facts, APR_ARRAY_IDX(dirs, i, const char *), argv0, pool);
        if (unix_probe(facts, c) == BERTH_PROBE_EXEC)
            return c;
    }
    return NULL;
}

/* A capture under way: the child, its stdout, and what came so far. */
typedef struct {
    const berth_hostfacts_t *facts;
    pid_t pid;
    int out;               /* the read end of the child's stdout */
    apr_time_t deadline;
    int reaped, status;    /* waitpid's status once reaped */
    char *buf;
    apr_size_t len, cap;
} capture_t;

/* One read of what stdout has, into a buffer grown as needed; 0 at its end
 * (or an error), 1 otherwise. */
static int read_some(capture_t *c, apr_pool_t *pool)
{
    if (c->len + 4096 + 1 > c->cap) {
        char *bigger = apr_palloc(pool, c->cap * 2);
        memcpy(bigger, c->buf, c->len);
        c->buf = bigger;
        c->cap *= 2;
    }
    ssize_t r = read(c->out, c->buf + c->len, c->cap - c->len - 1);
    if (r < 0 && errno == EINTR)
        return 1;
    if (r <= 0)
        return 0;
    c->len += (apr_size_t)r;
    return 1;
}

/* Reads until stdout closes or the shell has exited: a profile that starts
 * a background job (an agent, "sleep &") keeps stdout open long after the
 * shell is done, and must not cost the whole timeout. */
static void read_output(capture_t *c, berth_capture_t *res, apr_pool_t *pool)
{
    for (;;) {
        apr_time_t left = c->deadline - unix_now(c->facts);
        if (left <= 0) {
            res->timed_out = !c->reaped;
            return;
        }
        if (!c->reaped && waitpid(c->pid, &c->status, WNOHANG) == c->pid)
            c->reaped = 1;
        struct pollfd pfd = { c->out, POLLIN, 0 };
        int wait_ms = c->reaped ? 0
                                : (int)(left / 1000 < 50 ? left / 1000 : 50);
        int pr = poll(&pfd, 1, wait_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0) {
            if (c->reaped)
                return; /* exited, and nothing more is buffered */
            continue;
        }
        if (!read_some(c, pool))
            return;
    }
}

/* Stdout has closed and the shell is about to exit: a wait bounded by the
 * deadline, then the kill. A timed-out shell is killed at once. */
static void reap(capture_t *c, berth_capture_t *res)
{
    while (!c->reaped && !res->timed_out) {
        if (waitpid(c->pid, &c->status, WNOHANG) == c->pid) {
            c->reaped = 1;
            break;
        }
        if (unix_now(c->facts) >= c->deadline) {
            res->timed_out = 1;
            break;
        }
        struct timespec ts = { 0, 5 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    if (!c->reaped) {
        kill(-c->pid, SIGKILL);
        waitpid(c->pid, &c->status, 0);
    }
}

/* ARGV's output (PIPES: stdout alone, or with stderr), its end and its
 * status. */
static apr_status_t capture_output(const berth_hostfacts_t *facts,
                                   const char *const *argv,
                                   const apr_array_header_t *env, int pipes,
                                   apr_interval_time_t timeout,
                                   berth_capture_t *res, apr_pool_t *pool)
{
    memset(res, 0, sizeof *res);
    if (!env)
        env = facts->env;
    const char *prog = find_program(facts, env, argv[0], pool);
    if (!prog)
        return APR_ENOENT;
    /* stdin (and stderr unless merged) /dev/null; the group is the
     * capture's to kill */
    berth_child_spec_t cs = { prog, (char *const *)argv, env_block(env, pool),
                              NULL, pipes, 0 };
    berth_child_t child;
    apr_status_t rv = berth_child_start(&cs, &child);
    if (rv != APR_SUCCESS)
        return rv;

    capture_t c = { facts, child.pid, child.fds[1],
                    unix_now(facts) + timeout, 0, 0, NULL, 0, 4096 };
    c.buf = apr_palloc(pool, c.cap);
    read_output(&c, res, pool);
    close(c.out);
    reap(&c, res);
    if (c.reaped && !res->timed_out) {
        res->exited = WIFEXITED(c.status);
        res->status = WIFEXITED(c.status) ? WEXITSTATUS(c.status) : -1;
    }
    /* Whatever the shell left running in its group goes too. */
    kill(-c.pid, SIGKILL);
    c.buf[c.len] = '\0';
    res->out = c.buf;
    res->out_len = c.len;
    return APR_SUCCESS;
}

static apr_status_t unix_capture(const berth_hostfacts_t *facts,
                                 const char *const *argv,
                                 const char *command_line,
                                 const apr_array_header_t *env,
                                 apr_interval_time_t timeout,
                                 berth_capture_t *res, apr_pool_t *pool)
{
    (void)command_line; /* Windows only: Unix has argv */
    return capture_output(facts, argv, env, BERTH_CHILD_PIPE_OUT, timeout,
                          res, pool);
}

apr_status_t berth_platform_run(const berth_hostfacts_t *facts,
                                const char *const *argv,
                                apr_interval_time_t timeout,
                                berth_capture_t *res, apr_pool_t *pool)
{
    return capture_output(facts, argv, NULL,
                          BERTH_CHILD_PIPE_OUT | BERTH_CHILD_ERR_TO_OUT,
                          timeout, res, pool);
}

static const char *login_shell(void)
{
    const char *sh = getenv("SHELL");
    if (sh && *sh)
        return sh;
    struct passwd *pw = getpwuid(getuid());
    if (pw && pw->pw_shell && *pw->pw_shell)
        return pw->pw_shell;
    return "/bin/sh";
}

apr_status_t berth_platform_hostfacts(berth_hostfacts_t **out,
                                      apr_pool_t *pool)
{
    berth_hostfacts_t *f = apr_pcalloc(pool, sizeof *f);
    f->os = berth_platform_os();
    f->env = apr_array_make(pool, 64, sizeof(const char *));
    for (char **e = environ; e && *e; e++)
        APR_ARRAY_PUSH(f->env, const char *) = apr_pstrdup(pool, *e);
    f->path_sep = ':';
    f->dir_sep = '/';
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    f->home = home ? apr_pstrdup(pool, home) : NULL;
    f->login_shell = apr_pstrdup(pool, login_shell());
    f->probe = unix_probe;
    f->capture = unix_capture;
    f->now = unix_now;
    *out = f;
    return APR_SUCCESS;
}
