#include "loginenv.h"

#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "shellquote.h"

const char *const berth_hydration_keys[] = {
    "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY", "NVM_DIR", "ASDF_DIR", "PYENV_ROOT", "VOLTA_HOME",
    "HOMEBREW_PREFIX", "COLIMA_HOME", NULL
};

static int valid_key(const char *k, apr_size_t n)
{
    if (n == 0 || !((k[0] >= 'A' && k[0] <= 'Z') ||
                    (k[0] >= 'a' && k[0] <= 'z') || k[0] == '_'))
        return 0;
    for (apr_size_t i = 1; i < n; i++)
        if (!((k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= 'a' && k[i] <= 'z') ||
              (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
            return 0;
    return 1;
}

static const char *find_bytes(const char *hay, apr_size_t hlen,
                              const char *needle)
{
    apr_size_t nl = strlen(needle);
    for (apr_size_t i = 0; nl <= hlen && i <= hlen - nl; i++)
        if (memcmp(hay + i, needle, nl) == 0)
            return hay + i;
    return NULL;
}

const char *berth_loginenv_parse(const char *out, apr_size_t len,
                                 const char *begin, const char *end,
                                 apr_array_header_t **env, apr_pool_t *pool)
{
    const char *b = find_bytes(out, len, begin);
    if (!b)
        return "the login shell's output has no start marker";
    b += strlen(begin);
    /* the last END: a value could contain the marker text only if it were
     * guessed, and rc files print after us only through traps */
    const char *e = NULL;
    for (const char *p = b; (p = find_bytes(p, len - (apr_size_t)(p - out),
                                            end)) != NULL;
         p++)
        e = p;
    if (!e)
        return "the login shell's output has no end marker";
    if (!memchr(b, '\0', (apr_size_t)(e - b)))
        return "the login shell's env printed no NUL separators (no env -0)";
    apr_array_header_t *vars = apr_array_make(pool, 64, sizeof(const char *));
    const char *rec = b;
    while (rec < e) {
        const char *nul = memchr(rec, '\0', (apr_size_t)(e - rec));
        apr_size_t rl = nul ? (apr_size_t)(nul - rec) : (apr_size_t)(e - rec);
        const char *eq = memchr(rec, '=', rl);
        if (eq && valid_key(rec, (apr_size_t)(eq - rec)))
            APR_ARRAY_PUSH(vars, const char *) = apr_pstrmemdup(pool, rec, rl);
        rec += rl + 1;
    }
    *env = vars;
    return NULL;
}

static const char *marker(const char *what, apr_pool_t *pool)
{
    unsigned char r[8];
    if (apr_generate_random_bytes(r, sizeof r) != APR_SUCCESS)
        memset(r, 0x5a, sizeof r);
    return apr_psprintf(pool, "__BERTH_%s_%02x%02x%02x%02x%02x%02x%02x%02x__",
                        what, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
}

/* The shell that runs the capture's script (plain commands every POSIX
 * shell, fish and csh read alike): SHELL itself for those, else /bin/sh,
 * which is also what pwsh -Login runs the profiles with. */
static const char *capture_shell(const char *shell)
{
    int known;
    berth_shell_family_t fam = berth_shell_family(shell, &known);
    return known && (fam == BERTH_SHELL_POSIX || fam == BERTH_SHELL_FISH ||
                     fam == BERTH_SHELL_CSH)
               ? shell
               : "/bin/sh";
}

berth_loginenv_t *berth_loginenv_capture(const berth_hostfacts_t *facts,
                                         apr_interval_time_t timeout,
                                         apr_pool_t *pool)
{
    berth_loginenv_t *le = apr_pcalloc(pool, sizeof *le);
    berth_capture_t cap;
    char errbuf[128];
    le->attempted = 1;
    le->shell = facts->login_shell;
    if (facts->os == BERTH_OS_WINDOWS || !facts->login_shell) {
        le->error = "no login shell on this system";
        return le;
    }
    if (berth_shell_refuses_login(facts->login_shell)) {
        le->error = apr_psprintf(pool, "%s refuses logins: this account has "
                                 "no login shell", facts->login_shell);
        return le;
    }
    const char *begin = marker("BEGIN", pool);
    const char *end = marker("END", pool);
    const char *script = apr_psprintf(pool, "printf '%s'; env -0; printf '%s'",
                                      begin, end);
    const char *shell = capture_shell(facts->login_shell);
    const char *argv[5];
    int n = 0;
    argv[n++] = shell;
    for (const char *const *f =
             berth_shell_flags(berth_shell_family(shell, NULL));
         *f; f++)
        argv[n++] = *f;
    argv[n++] = script;
    argv[n] = NULL;
    le->shell = shell;
    apr_status_t rv = facts->capture(facts, argv, NULL, NULL, timeout, &cap, pool);
    if (rv != APR_SUCCESS) {
        le->error = apr_psprintf(pool, "could not run %s: %s", shell,
                                 apr_strerror(rv, errbuf, sizeof errbuf));
        return le;
    }
    if (cap.timed_out) {
        le->error = apr_psprintf(pool, "%s %s did not finish within %d s and "
                                 "was killed", shell, argv[1],
                                 (int)(timeout / APR_USEC_PER_SEC));
        return le;
    }
    le->error = berth_loginenv_parse(cap.out, cap.out_len, begin, end,
                                     &le->env, pool);
    if (le->error)
        return le;
    le->captured = 1;
    for (int i = 0; i < le->env->nelts; i++) {
        const char *e = APR_ARRAY_IDX(le->env, i, const char *);
        if (strncmp(e, "PATH=", 5) == 0)
            le->path = e + 5;
    }
    return le;
}

struct berth_loginenv_once_t {
    apr_pool_t *pool;
    apr_thread_mutex_t *lock;
    berth_loginenv_t *value;
};

berth_loginenv_once_t *berth_loginenv_once_create(apr_pool_t *pool)
{
    berth_loginenv_once_t *o = apr_pcalloc(pool, sizeof *o);
    apr_pool_create(&o->pool, pool); /* used under o->lock only */
    apr_thread_mutex_create(&o->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    return o;
}

const berth_loginenv_t *berth_loginenv_get(berth_loginenv_once_t *once,
                                           const berth_hostfacts_t *facts)
{
    apr_thread_mutex_lock(once->lock);
    if (!once->value)
        once->value = berth_loginenv_capture(facts, BERTH_LOGIN_SHELL_TIMEOUT,
                                             once->pool);
    apr_thread_mutex_unlock(once->lock);
    return once->value;
}

const berth_loginenv_t *berth_loginenv_peek(berth_loginenv_once_t *once)
{
    apr_thread_mutex_lock(once->lock);
    const berth_loginenv_t *v = once->value;
    apr_thread_mutex_unlock(once->lock);
    return v;
}

/* ---- hydration ---- */

/* Whether the list PATH holds DIR exactly, without allocating. */
static int path_has(const berth_hostfacts_t *facts, const char *path,
                    const char *dir)
{
    apr_size_t dl = strlen(dir);
    for (const char *p = path; p && *p;) {
        const char *end = strchr(p, facts->path_sep);
        apr_size_t n = end ? (apr_size_t)(end - p) : strlen(p);
        if (n == dl && memcmp(p, dir, n) == 0)
            return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

int berth_path_is_minimal(const berth_hostfacts_t *facts, const char *path)
{
    return !path || (!path_has(facts, path, "/usr/local/bin") &&
                     !path_has(facts, path, "/opt/homebrew/bin"));
}

int berth_hydration_needed(const berth_hostfacts_t *facts, const char **why)
{
    const char *reason = NULL;
    int need = 0;
    if (facts->os != BERTH_OS_DARWIN) {
        reason = "hydration runs only on macOS; this system gets its "
                 "environment from its service manager";
    } else if (berth_path_is_minimal(facts,
                                     berth_env_get(facts, facts->env,
                                                   "PATH"))) {
        need = 1;
        reason = "PATH looks launchd-minimal (neither /usr/local/bin nor "
                 "/opt/homebrew/bin)";
    } else {
        for (int i = 0; i < 5; i++) {
            if (!berth_env_get(facts, facts->env, berth_hydration_keys[i])) {
                need = 1;
                reason = apr_psprintf(facts->env->pool, "%s is not set",
                                      berth_hydration_keys[i]);
                break;
            }
        }
        if (!need)
            reason = "PATH is complete and every DOCKER_* variable is set";
    }
    if (why)
        *why = reason;
    return need;
}

apr_array_header_t *berth_hydrate(const berth_hostfacts_t *facts,
                                  const berth_loginenv_t *login,
                                  berth_hydration_t *report, apr_pool_t *pool)
{
    apr_array_header_t *env = apr_array_copy(pool, facts->env);
    memset(report, 0, sizeof *report);
    report->keys = apr_array_make(pool, 4, sizeof(berth_hydrated_key_t));
    report->needed = berth_hydration_needed(facts, &report->reason);
    if (!report->needed)
        return env;
    if (!login || !login->captured) {
        report->reason = apr_pstrcat(pool, report->reason,
                                     "; but the login shell was not captured",
                                     login && login->error ? ": " : "",
                                     login && login->error ? login->error : "",
                                     NULL);
        return env;
    }
    const char *path = berth_env_get(facts, env, "PATH");
    if (berth_path_is_minimal(facts, path) && login->path) {
        /* login entries first, then ours not already there: never shrinks */
        apr_array_header_t *merged = berth_path_split(facts, login->path, pool);
        apr_array_header_t *cur = berth_path_split(facts, path, pool);
        for (int i = 0; i < cur->nelts; i++) {
            const char *d = APR_ARRAY_IDX(cur, i, const char *);
            int dup = 0;
            for (int k = 0; k < merged->nelts && !dup; k++)
                dup = strcmp(APR_ARRAY_IDX(merged, k, const char *), d) == 0;
            if (!dup)
                APR_ARRAY_PUSH(merged, const char *) = d;
        }
        const char *np = berth_path_join(facts, merged, pool);
        if (!path || strcmp(np, path) != 0) {
            berth_env_set(facts, env, "PATH", np);
            berth_hydrated_key_t *k = apr_array_push(report->keys);
            k->name = "PATH";
            k->length = strlen(np);
        }
    }
    for (const char *const *key = berth_hydration_keys; *key; key++) {
        /* present, even empty, is the operator's choice */
        if (berth_env_get(facts, env, *key))
            continue;
        const char *v = berth_env_get(facts, login->env, *key);
        if (!v || !*v)
            continue;
        berth_env_set(facts, env, *key, v);
        berth_hydrated_key_t *k = apr_array_push(report->keys);
        k->name = *key;
        k->length = strlen(v);
    }
    report->applied = report->keys->nelts > 0;
    return env;
}
