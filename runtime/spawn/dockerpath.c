#include "dockerpath.h"

#include <ctype.h>
#include <string.h>

#include <apr_cstr.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "loginenv.h"
#include "shellquote.h"

const char *berth_docker_source_name(berth_docker_source_t s)
{
    switch (s) {
    case BERTH_DOCKER_FROM_PATH: return "path";
    case BERTH_DOCKER_BUNDLED: return "bundled";
    case BERTH_DOCKER_LOGIN_SHELL: return "login_shell";
    case BERTH_DOCKER_CONFIG: return "config";
    default: return "absent";
    }
}

static void push(apr_array_header_t *a, const char *s)
{
    APR_ARRAY_PUSH(a, const char *) = s;
}

/* "%VAR%\\rest" with VAR from the environment; NULL when VAR is unset. */
static const char *win_expand(const berth_hostfacts_t *facts,
                              const char *var, const char *rest,
                              apr_pool_t *pool)
{
    const char *v = berth_env_get(facts, facts->env, var);
    if (!v || !*v)
        return NULL;
    return berth_path_child(facts, v, rest, pool);
}

apr_array_header_t *berth_dockerpath_wellknown(const berth_hostfacts_t *facts,
                                               apr_pool_t *pool)
{
    apr_array_header_t *out = apr_array_make(pool, 8, sizeof(const char *));
    const char *home = facts->home;
    const char *s;
    switch (facts->os) {
    case BERTH_OS_DARWIN:
        push(out, "/Applications/Docker.app/Contents/Resources/bin/docker");
        push(out, "/usr/local/bin/docker");
        push(out, "/opt/homebrew/bin/docker");
        push(out, "/opt/podman/bin/docker");
        if (home) {
            push(out, apr_pstrcat(pool, home, "/.docker/bin/docker", NULL));
            push(out, apr_pstrcat(pool, home, "/.orbstack/bin/docker", NULL));
            push(out, apr_pstrcat(pool, home, "/.rd/bin/docker", NULL));
        }
        break;
    case BERTH_OS_WINDOWS:
        if ((s = win_expand(facts, "ProgramW6432",
                            "Docker\\Docker\\resources\\bin\\docker.exe",
                            pool)))
            push(out, s);
        if ((s = win_expand(facts, "ProgramFiles",
                            "Docker\\Docker\\resources\\bin\\docker.exe",
                            pool)))
            push(out, s);
        /* a service may lack the variables above */
        push(out, "C:\\Program Files\\Docker\\Docker\\resources\\bin\\"
                  "docker.exe");
        if ((s = win_expand(facts, "ProgramData",
                            "DockerDesktop\\version-bin\\docker.exe", pool)))
            push(out, s);
        if ((s = win_expand(facts, "LOCALAPPDATA",
                            "Programs\\Rancher Desktop\\resources\\resources"
                            "\\win32\\bin\\docker.exe",
                            pool)))
            push(out, s);
        if ((s = win_expand(facts, "USERPROFILE", "scoop\\shims\\docker.exe",
                            pool)))
            push(out, s);
        push(out, "C:\\ProgramData\\chocolatey\\bin\\docker.exe");
        break;
    default:
        push(out, "/usr/bin/docker");
        push(out, "/usr/local/bin/docker");
        push(out, "/snap/bin/docker");
        if (home) {
            push(out, apr_pstrcat(pool, home, "/bin/docker", NULL));
            push(out, apr_pstrcat(pool, home, "/.docker/bin/docker", NULL));
        }
        break;
    }
    /* Drop duplicates (%ProgramW6432% and %ProgramFiles% are often equal). */
    apr_array_header_t *uniq = apr_array_make(pool, out->nelts,
                                              sizeof(const char *));
    for (int i = 0; i < out->nelts; i++) {
        const char *p = APR_ARRAY_IDX(out, i, const char *);
        int dup = 0;
        for (int k = 0; k < uniq->nelts && !dup; k++) {
            const char *q = APR_ARRAY_IDX(uniq, k, const char *);
            dup = facts->os == BERTH_OS_WINDOWS ? apr_cstr_casecmp(p, q) == 0
                                                : strcmp(p, q) == 0;
        }
        if (!dup)
            push(uniq, p);
    }
    return uniq;
}

static int ends_with_exe(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && apr_cstr_casecmp(path + n - 4, ".exe") == 0;
}

int berth_dockerpath_verified(const berth_hostfacts_t *facts,
                              const char *path)
{
    if (!path || !berth_path_is_absolute(facts, path))
        return 0;
    berth_probe_t p = facts->probe(facts, path);
    if (facts->os == BERTH_OS_WINDOWS)
        return (p == BERTH_PROBE_FILE || p == BERTH_PROBE_EXEC) &&
               ends_with_exe(path);
    return p == BERTH_PROBE_EXEC;
}

const char *berth_dockerpath_from_path(const berth_hostfacts_t *facts,
                                       apr_pool_t *pool)
{
    const char *name = "docker";
    if (facts->os == BERTH_OS_WINDOWS) {
        /* PATHEXT decides which names count; of them only .exe is docker */
        const char *pathext = berth_env_get(facts, facts->env, "PATHEXT");
        int exe = 0;
        if (!pathext || !*pathext)
            pathext = ".COM;.EXE;.BAT;.CMD";
        for (const char *p = pathext; *p;) {
            const char *end = strchr(p, ';');
            size_t n = end ? (size_t)(end - p) : strlen(p);
            if (n == 4 && apr_cstr_casecmpn(p, ".exe", 4) == 0)
                exe = 1;
            p += n + (end ? 1 : 0);
        }
        if (!exe)
            return NULL;
        name = "docker.exe";
    }
    apr_array_header_t *dirs = berth_path_split(
        facts, berth_env_get(facts, facts->env, "PATH"), pool);
    for (int i = 0; i < dirs->nelts; i++) {
        const char *dir = APR_ARRAY_IDX(dirs, i, const char *);
        if (!berth_path_is_absolute(facts, dir))
            continue; /* a relative entry depends on berth's cwd: skip */
        const char *c = berth_path_child(facts, dir, name, pool);
        if (berth_dockerpath_verified(facts, c))
            return c;
    }
    return NULL;
}

const char *berth_dockerpath_from_wellknown(const berth_hostfacts_t *facts,
                                            apr_pool_t *pool)
{
    apr_array_header_t *list = berth_dockerpath_wellknown(facts, pool);
    for (int i = 0; i < list->nelts; i++) {
        const char *c = APR_ARRAY_IDX(list, i, const char *);
        if (berth_dockerpath_verified(facts, c))
            return c;
    }
    return NULL;
}

const char *berth_dockerpath_from_login_shell(const berth_hostfacts_t *facts,
                                              apr_pool_t *pool)
{
    berth_capture_t cap;
    if (facts->os == BERTH_OS_WINDOWS || !facts->login_shell ||
        berth_shell_refuses_login(facts->login_shell))
        return NULL;
    const char *argv[] = { facts->login_shell, "-l", "-c", "command -v docker",
                           NULL };
    if (facts->capture(facts, argv, NULL, NULL, BERTH_LOGIN_SHELL_TIMEOUT, &cap,
                       pool) !=
            APR_SUCCESS ||
        cap.timed_out || !cap.exited || cap.status != 0)
        return NULL;
    /* rc files may print banners first: the answer is the last line */
    const char *line = berth_capture_last_line(&cap);
    return *line ? apr_pstrdup(pool, line) : NULL;
}

int berth_docker_daemon_env_guaranteed(const berth_hostfacts_t *facts,
                                       const apr_array_header_t *env)
{
    if (facts->os == BERTH_OS_DARWIN || facts->os == BERTH_OS_WINDOWS)
        return 1;
    const char *host = berth_env_get(facts, env, "DOCKER_HOST");
    const char *ctx = berth_env_get(facts, env, "DOCKER_CONTEXT");
    /* an account whose shell refuses logins (a service's, like the system
     * unit's berth) has no profile that could set them */
    return (host && *host) || (ctx && *ctx) ||
           berth_shell_refuses_login(facts->login_shell);
}

struct berth_dockerpath_t {
    apr_pool_t *pool;
    apr_thread_mutex_t *lock;
    apr_interval_time_t failure_ttl;
    int have;                  /* a result is cached */
    berth_docker_t cached;
    apr_time_t failed_at;      /* when the cached failure was found */
    unsigned resolutions;
};

berth_dockerpath_t *berth_dockerpath_create(apr_interval_time_t failure_ttl,
                                            apr_pool_t *pool)
{
    berth_dockerpath_t *r = apr_pcalloc(pool, sizeof *r);
    apr_pool_create(&r->pool, pool); /* used under r->lock only */
    r->failure_ttl = failure_ttl;
    apr_thread_mutex_create(&r->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    return r;
}

static berth_docker_t found(const berth_hostfacts_t *facts, const char *path,
                            berth_docker_source_t src)
{
    berth_docker_t d = { path, src, berth_dockerpath_verified(facts, path) };
    return d;
}

/* The three steps, with scratch memory in a throw-away pool; a success is
 * copied into the resolver's pool once, so memory does not grow with
 * repeated failures. */
static berth_docker_t resolve_now(berth_dockerpath_t *r,
                                  const berth_hostfacts_t *facts)
{
    apr_pool_t *scratch;
    berth_docker_t d = { NULL, BERTH_DOCKER_ABSENT, 0 };
    const char *p;
    apr_pool_create(&scratch, r->pool);
    if ((p = berth_dockerpath_from_path(facts, scratch)))
        d = found(facts, p, BERTH_DOCKER_FROM_PATH);
    else if ((p = berth_dockerpath_from_wellknown(facts, scratch)))
        d = found(facts, p, BERTH_DOCKER_BUNDLED);
    else if ((p = berth_dockerpath_from_login_shell(facts, scratch)))
        d = found(facts, p, BERTH_DOCKER_LOGIN_SHELL);
    if (d.path)
        d.path = apr_pstrdup(r->pool, d.path);
    apr_pool_destroy(scratch);
    r->resolutions++;
    return d;
}

berth_docker_t berth_dockerpath_resolve(berth_dockerpath_t *r,
                                        const berth_hostfacts_t *facts)
{
    berth_docker_t out;
    apr_thread_mutex_lock(r->lock);
    if (r->have && r->cached.path) {
        out = r->cached;               /* success: for the process's life */
    } else if (r->have && facts->now(facts) - r->failed_at < r->failure_ttl) {
        /* A live failure never hides a docker that a stat finds now (the
         * failure may have come from a login shell a sandbox refused). */
        apr_pool_t *scratch;
        apr_pool_create(&scratch, r->pool);
        const char *p = berth_dockerpath_from_wellknown(facts, scratch);
        if (p) {
            r->cached = found(facts, apr_pstrdup(r->pool, p),
                              BERTH_DOCKER_BUNDLED);
        }
        apr_pool_destroy(scratch);
        out = r->cached;
    } else {
        r->cached = resolve_now(r, facts);
        r->have = 1;
        if (!r->cached.path)
            r->failed_at = facts->now(facts);
        out = r->cached;
    }
    apr_thread_mutex_unlock(r->lock);
    return out;
}

unsigned berth_dockerpath_resolutions(berth_dockerpath_t *r)
{
    apr_thread_mutex_lock(r->lock);
    unsigned n = r->resolutions;
    apr_thread_mutex_unlock(r->lock);
    return n;
}
