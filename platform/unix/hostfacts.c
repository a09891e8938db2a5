/* Host facts for Unix: environment, login shell, stat probe, a capture that
 * owns a process group, and the monotonic clock. */
#include "hostfacts.h"
#include "platform.h"
#include "unix_os.h"

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

static apr_status_t unix_capture(const berth_hostfacts_t *facts,
                                 const char *const *argv,
                                 const char *command_line,
                                 const apr_array_header_t *env,
                                 apr_interval_time_t timeout,
                                 berth_capture_t *res, apr_pool_t *pool)
{
    int out[2], err[2];
    (void)command_line; /* Windows only: Unix has argv */
    if (!env)
        env = facts->env;
    const char *prog = find_program(facts, env, argv[0], pool);
    char **envp = env_block(env, pool);
    memset(res, 0, sizeof *res);
    if (!prog)
        return APR_ENOENT;
    /* close-on-exec from birth (a concurrent spawn must not inherit them);
     * err carries the child's exec errno and reads EOF on success */
    if (berth_cloexec_pipe(out) != 0)
        return errno;
    if (berth_cloexec_pipe(err) != 0) {
        int e = errno;
        close(out[0]);
        close(out[1]);
        return e;
    }

    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(out[0]); close(out[1]); close(err[0]); close(err[1]);
        return e;
    }
    if (pid == 0) {
        sigset_t none;
        setpgid(0, 0); /* its own group: a timeout kills the whole tree */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 2);
        }
        dup2(out[1], 1);
        execve(prog, (char *const *)argv, envp);
        int e = errno;
        ssize_t w = write(err[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    setpgid(pid, pid); /* also from here, so the group exists before a kill */
    close(out[1]);
    close(err[1]);

    int exec_errno = 0;
    ssize_t n = read(err[0], &exec_errno, sizeof exec_errno);
    close(err[0]);
    if (n == (ssize_t)sizeof exec_errno) {
        close(out[0]);
        waitpid(pid, NULL, 0);
        return exec_errno;
    }

    apr_size_t cap = 4096, len = 0;
    char *buf = apr_palloc(pool, cap);
    apr_time_t deadline = unix_now(facts) + timeout;
    int st, reaped = 0, eof = 0;
    /* Read until stdout closes or the shell has exited: a profile that
     * starts a background job (an agent, "sleep &") keeps stdout open long
     * after the shell is done, and must not cost the whole timeout. */
    while (!eof) {
        apr_time_t left = deadline - unix_now(facts);
        if (left <= 0) {
            res->timed_out = !reaped;
            break;
        }
        if (!reaped && waitpid(pid, &st, WNOHANG) == pid)
            reaped = 1;
        struct pollfd pfd = { out[0], POLLIN, 0 };
        int wait_ms = reaped ? 0 : (int)(left / 1000 < 50 ? left / 1000 : 50);
        int pr = poll(&pfd, 1, wait_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0) {
            if (reaped)
                break; /* exited, and nothing more is buffered */
            continue;
        }
        if (len + 4096 + 1 > cap) {
            char *bigger = apr_palloc(pool, cap * 2);
            memcpy(bigger, buf, len);
            buf = bigger;
            cap *= 2;
        }
        ssize_t r = read(out[0], buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            eof = 1;
        else
            len += (apr_size_t)r;
    }
    close(out[0]);
    if (!reaped) {
        if (res->timed_out) {
            kill(-pid, SIGKILL);
            waitpid(pid, &st, 0);
        } else {
            /* stdout closed; the shell is about to exit: bounded wait */
            for (;;) {
                if (waitpid(pid, &st, WNOHANG) == pid) {
                    reaped = 1;
                    break;
                }
                if (unix_now(facts) >= deadline) {
                    res->timed_out = 1;
                    kill(-pid, SIGKILL);
                    waitpid(pid, &st, 0);
                    break;
                }
                struct timespec ts = { 0, 5 * 1000 * 1000 };
                nanosleep(&ts, NULL);
            }
        }
    }
    if (reaped) {
        if (WIFEXITED(st)) {
            res->exited = 1;
            res->status = WEXITSTATUS(st);
        } else {
            res->status = -1;
        }
    }
    /* Whatever the shell left running in its group goes too. */
    kill(-pid, SIGKILL);
    buf[len] = '\0';
    res->out = buf;
    res->out_len = len;
    return APR_SUCCESS;
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

apr_status_t berth_hostfacts_real(berth_hostfacts_t **out, apr_pool_t *pool)
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
