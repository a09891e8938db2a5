/* Fake host facts for the spawn-core unit tests: an OS, an environment, a
 * table of paths and what a stat would say, scripted capture answers and a
 * clock the test moves. Every Darwin and Windows rule is tested on Linux
 * through these. */
#ifndef BERTH_FAKE_FACTS_H
#define BERTH_FAKE_FACTS_H

#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "hostfacts.h"

typedef struct {
    apr_hash_t *paths;        /* path -> berth_probe_t + 1 */
    apr_hash_t *answers;      /* command string (argv[3] or argv joined) */
    int captures;             /* how many times capture ran */
    const char *last_argv;    /* the last capture's argv, joined by blanks */
    apr_time_t clock;
    const char *last_script;  /* the last -c script */
    int login_timeout;        /* the login-env capture times out */
    const char *login_env;    /* NUL-separated env the login shell prints */
    apr_size_t login_env_len;
    const char *login_banner;
} fake_t;

/* Windows file names compare case-insensitively. */
static inline const char *fake_key(const berth_hostfacts_t *f, const char *path)
{
    static char buf[1024];
    if (f->os != BERTH_OS_WINDOWS)
        return path;
    apr_cpystrn(buf, path, sizeof buf);
    for (char *c = buf; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    return buf;
}

static inline berth_probe_t fake_probe(const berth_hostfacts_t *f, const char *path)
{
    fake_t *fk = f->baton;
    void *v = apr_hash_get(fk->paths, fake_key(f, path), APR_HASH_KEY_STRING);
    return v ? (berth_probe_t)((intptr_t)v - 1) : BERTH_PROBE_MISSING;
}

static inline apr_time_t fake_now(const berth_hostfacts_t *f)
{
    return ((fake_t *)f->baton)->clock;
}

/* Finds the marker between printf ' and ' at the Nth printf in SCRIPT. */
static inline const char *fake_marker(const char *script, int nth, apr_pool_t *pool)
{
    const char *p = script;
    for (int i = 0; i <= nth; i++) {
        p = strstr(p, "printf '");
        if (!p)
            return "";
        p += 8;
    }
    const char *e = strchr(p, '\'');
    return apr_pstrmemdup(pool, p, (apr_size_t)(e - p));
}

static inline apr_status_t fake_capture(const berth_hostfacts_t *f,
                                 const char *const *argv,
                                 const char *command_line,
                                 const apr_array_header_t *env,
                                 apr_interval_time_t timeout,
                                 berth_capture_t *out, apr_pool_t *pool)
{
    fake_t *fk = f->baton;
    (void)command_line;
    (void)env;
    (void)timeout;
    memset(out, 0, sizeof *out);
    fk->captures++;
    const char *script = argv[1] && argv[2] && argv[3] ? argv[3] : "";
    fk->last_script = apr_pstrdup(pool, script);
    fk->last_argv = "";
    for (int i = 0; argv[i]; i++)
        fk->last_argv = apr_pstrcat(pool, fk->last_argv, i ? " " : "",
                                    argv[i], NULL);
    if (strstr(script, "env -0")) {
        if (fk->login_timeout) {
            out->timed_out = 1;
            out->out = "";
            return APR_SUCCESS;
        }
        if (!fk->login_env)
            return APR_ENOENT;
        const char *b = fake_marker(script, 0, pool);
        const char *e = fake_marker(script, 1, pool);
        const char *banner = fk->login_banner ? fk->login_banner : "";
        apr_size_t n = strlen(banner) + strlen(b) + fk->login_env_len +
                       strlen(e) + strlen(banner);
        char *buf = apr_palloc(pool, n + 1);
        char *w = buf;
        memcpy(w, banner, strlen(banner)); w += strlen(banner);
        memcpy(w, b, strlen(b)); w += strlen(b);
        memcpy(w, fk->login_env, fk->login_env_len); w += fk->login_env_len;
        memcpy(w, e, strlen(e)); w += strlen(e);
        memcpy(w, banner, strlen(banner)); w += strlen(banner);
        *w = '\0';
        out->exited = 1;
        out->out = buf;
        out->out_len = n;
        return APR_SUCCESS;
    }
    const char *ans = apr_hash_get(fk->answers, script, APR_HASH_KEY_STRING);
    if (!ans) {
        out->exited = 1;
        out->status = 1;
        out->out = "";
        return APR_SUCCESS;
    }
    out->exited = 1;
    out->out = apr_pstrdup(pool, ans);
    out->out_len = strlen(ans);
    return APR_SUCCESS;
}

/* Facts for OS with ENV (NULL-terminated "K=V" list). */
static inline berth_hostfacts_t *fake_facts(berth_os_t os, const char *const *env,
                                     apr_pool_t *pool)
{
    berth_hostfacts_t *f = apr_pcalloc(pool, sizeof *f);
    fake_t *fk = apr_pcalloc(pool, sizeof *fk);
    fk->paths = apr_hash_make(pool);
    fk->answers = apr_hash_make(pool);
    fk->clock = 1000 * APR_USEC_PER_SEC;
    f->os = os;
    f->env = apr_array_make(pool, 16, sizeof(const char *));
    for (; env && *env; env++)
        APR_ARRAY_PUSH(f->env, const char *) = *env;
    f->path_sep = os == BERTH_OS_WINDOWS ? ';' : ':';
    f->dir_sep = os == BERTH_OS_WINDOWS ? '\\' : '/';
    f->home = os == BERTH_OS_WINDOWS ? "C:\\Users\\ada"
              : os == BERTH_OS_DARWIN ? "/Users/ada" : "/home/ada";
    f->login_shell = os == BERTH_OS_WINDOWS ? "C:\\Windows\\system32\\cmd.exe"
                     : os == BERTH_OS_DARWIN ? "/bin/zsh" : "/bin/bash";
    f->probe = fake_probe;
    f->capture = fake_capture;
    f->now = fake_now;
    f->baton = fk;
    return f;
}

static inline fake_t *fk_of(const berth_hostfacts_t *f) { return f->baton; }

static inline void fake_path(const berth_hostfacts_t *f, const char *path,
                      berth_probe_t kind)
{
    apr_hash_set(fk_of(f)->paths, apr_pstrdup(f->env->pool, fake_key(f, path)),
                 APR_HASH_KEY_STRING,
                 (void *)(intptr_t)(kind + 1));
}

static inline void fake_answer(const berth_hostfacts_t *f, const char *script,
                        const char *answer)
{
    apr_hash_set(fk_of(f)->answers, script, APR_HASH_KEY_STRING, answer);
}

#endif
