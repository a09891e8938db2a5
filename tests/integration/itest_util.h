/* Shared by the real-process integration tests (tests/integration): one APR
 * pool per test binary, temporary folders that are removed afterwards, a
 * fork/exec runner that keeps stdout and stderr apart, and printable
 * renderings of strings for failure messages. */
#ifndef BERTH_ITEST_UTIL_H
/* Needs nftw and mkdtemp: include this first, after _XOPEN_SOURCE 700. */
#define BERTH_ITEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

static apr_pool_t *test_pool;

static inline int itest_setup(void **state)
{
    (void)state;
    apr_initialize();
    return apr_pool_create(&test_pool, NULL) == APR_SUCCESS ? 0 : -1;
}

static inline int itest_teardown(void **state)
{
    (void)state;
    apr_pool_destroy(test_pool);
    apr_terminate();
    return 0;
}

/* ---- temporary folders ---- */

static inline int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

static inline void rm_tree(const char *dir)
{
    if (dir)
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh folder below /tmp (a fixed, space-free prefix, so tests know how
 * its path quotes). */
static inline const char *make_temp_dir(const char *tag)
{
    char *t = apr_psprintf(test_pool, "/tmp/berth-%s.XXXXXX", tag);
    if (!mkdtemp(t))
        fail_msg("mkdtemp %s: %s", t, strerror(errno));
    return t;
}

static inline void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    if (!f)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
    if (chmod(path, mode) != 0)
        fail_msg("chmod %s: %s", path, strerror(errno));
}

static inline char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return apr_pstrdup(test_pool, buf);
}

/* ---- printable strings for messages ---- */

static inline const char *show(const char *s, size_t n)
{
    char *o = apr_palloc(test_pool, n * 4 + 3);
    char *p = o;
    *p++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') { *p++ = '\\'; *p++ = 'n'; }
        else if (c == '\t') { *p++ = '\\'; *p++ = 't'; }
        else if (c == '\r') { *p++ = '\\'; *p++ = 'r'; }
        else if (c == '\0') { *p++ = '\\'; *p++ = '0'; }
        else if (c == '"' || c == '\\') { *p++ = '\\'; *p++ = (char)c; }
        else if (c < 0x20 || c == 0x7f) p += sprintf(p, "\\x%02x", c);
        else *p++ = (char)c;
    }
    *p++ = '"';
    *p = '\0';
    return o;
}

static inline const char *shows(const char *s)
{
    return s ? show(s, strlen(s)) : "(null)";
}

/* ---- running a process ---- */

typedef struct {
    int exited;      /* ended by itself */
    int status;      /* exit status, or the signal number when !exited */
    int timed_out;
    char *out;
    size_t out_len;
    char *err;
    size_t err_len;
} run_t;

static inline double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void grow_read(int fd, char **buf, size_t *len, size_t *cap, int *open_)
{
    if (*len + 4097 > *cap) {
        size_t nc = *cap * 2 + 8192;
        char *b = apr_palloc(test_pool, nc);
        if (*len)
            memcpy(b, *buf, *len);
        *buf = b;
        *cap = nc;
    }
    ssize_t r = read(fd, *buf + *len, 4096);
    if (r > 0)
        *len += (size_t)r;
    else if (r == 0 || errno != EINTR)
        *open_ = 0;
}

/* Runs ARGV[0] (an absolute path) with ENVP, stdin empty; collects stdout
 * and stderr; kills it after TIMEOUT seconds. */
static inline void run_proc(const char *const *argv, const char *const *envp,
                     double timeout, run_t *r)
{
    int out[2], err[2];
    memset(r, 0, sizeof *r);
    if (pipe(out) != 0 || pipe(err) != 0)
        fail_msg("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        setpgid(0, 0);
        int dn = open("/dev/null", O_RDONLY);
        if (dn >= 0)
            dup2(dn, 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]); close(out[1]); close(err[0]); close(err[1]);
        execve(argv[0], (char *const *)argv, (char *const *)envp);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    close(out[1]);
    close(err[1]);
    size_t ocap = 0, ecap = 0;
    int oopen = 1, eopen = 1;
    double deadline = mono_seconds() + timeout;
    while (oopen || eopen) {
        double left = deadline - mono_seconds();
        if (left <= 0) {
            r->timed_out = 1;
            break;
        }
        struct pollfd p[2] = { { oopen ? out[0] : -1, POLLIN, 0 },
                               { eopen ? err[0] : -1, POLLIN, 0 } };
        int pr = poll(p, 2, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        if (oopen && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
            grow_read(out[0], &r->out, &r->out_len, &ocap, &oopen);
        if (eopen && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
            grow_read(err[0], &r->err, &r->err_len, &ecap, &eopen);
    }
    close(out[0]);
    close(err[0]);
    if (r->timed_out)
        kill(-pid, SIGKILL);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    kill(-pid, SIGKILL); /* nothing of it may outlive the test */
    r->exited = WIFEXITED(st);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st);
    /* NUL-terminate for convenience */
    char *o = apr_palloc(test_pool, r->out_len + 1);
    if (r->out_len)
        memcpy(o, r->out, r->out_len);
    o[r->out_len] = '\0';
    r->out = o;
    char *e = apr_palloc(test_pool, r->err_len + 1);
    if (r->err_len)
        memcpy(e, r->err, r->err_len);
    e[r->err_len] = '\0';
    r->err = e;
}

/* The absolute path of NAME in one of the usual system folders, or NULL. */
static inline const char *find_binary(const char *name)
{
    static const char *const dirs[] = { "/usr/local/bin", "/usr/bin", "/bin",
                                        "/opt/homebrew/bin", NULL };
    for (const char *const *d = dirs; *d; d++) {
        const char *p = apr_pstrcat(test_pool, *d, "/", name, NULL);
        if (access(p, X_OK) == 0)
            return p;
    }
    return NULL;
}

#endif
