#include "envset.h"

#include <ctype.h>
#include <string.h>

#include <apr_cstr.h>
#include <apr_strings.h>

#include "redact.h"
#include "winenv.h"

static const char *const unix_allow[] = {
    "PATH", "HOME", "TMPDIR", "TEMP", "TMP", "SHELL", "TERM", "LANG", "USER",
    "USERNAME", "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "LC_TIME", "LC_COLLATE",
    "LC_MONETARY", "LC_MESSAGES", "LC_PAPER", "LC_NAME", "LC_ADDRESS",
    "LC_TELEPHONE", "LC_MEASUREMENT", "LC_IDENTIFICATION", "XDG_CONFIG_HOME",
    "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR", NULL
};
static const char *const windows_allow[] = {
    "PATH", "TEMP", "TMP", "USERNAME", "USERPROFILE", "APPDATA",
    "LOCALAPPDATA", "PROGRAMFILES", "ProgramW6432", "PROGRAMDATA",
    "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", NULL
};
/* DOCKER_* are connection pointers, not secrets: docker needs them even
 * under a replaced list, or a rootless/remote daemon is silently lost. */
static const char *const docker_keys[] = {
    "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY", NULL
};
static const char *const tool_home_keys[] = {
    "NVM_DIR", "ASDF_DIR", "PYENV_ROOT", "VOLTA_HOME", "HOMEBREW_PREFIX",
    "COLIMA_HOME", NULL
};
static const char *const proxy_groups[][2] = {
    { "HTTP_PROXY", "http_proxy" }, { "HTTPS_PROXY", "https_proxy" },
    { "ALL_PROXY", "all_proxy" },   { "NO_PROXY", "no_proxy" },
    { "FTP_PROXY", "ftp_proxy" },
};

static void add_all(apr_array_header_t *out, const char *const *list)
{
    for (; *list; list++)
        APR_ARRAY_PUSH(out, const char *) = *list;
}

apr_array_header_t *berth_envset_allowlist(const berth_hostfacts_t *facts,
                                           const berth_config_t *cfg,
                                           apr_pool_t *pool)
{
    apr_array_header_t *out = apr_array_make(pool, 48, sizeof(const char *));
    if (!cfg || cfg->env_allow_defaults) {
        add_all(out, facts->os == BERTH_OS_WINDOWS ? windows_allow
                                                   : unix_allow);
        add_all(out, tool_home_keys);
    }
    add_all(out, docker_keys);
    if (cfg)
        for (int i = 0; i < cfg->env_allow->nelts; i++)
            APR_ARRAY_PUSH(out, const char *) =
                APR_ARRAY_IDX(cfg->env_allow, i, const char *);
    return out;
}

int berth_envset_allowed(const berth_hostfacts_t *facts,
                         const apr_array_header_t *allow, const char *key,
                         apr_size_t key_len)
{
    int fold = facts->os == BERTH_OS_WINDOWS;
    for (int i = 0; i < allow->nelts; i++) {
        const char *a = APR_ARRAY_IDX(allow, i, const char *);
        apr_size_t al = strlen(a);
        if (al && a[al - 1] == '*') {
            al--;
            if (key_len >= al &&
                (fold ? apr_cstr_casecmpn(key, a, al) == 0
                      : strncmp(key, a, al) == 0))
                return 1;
        } else if (berth_env_key_eq(facts, key, key_len, a)) {
            return 1;
        }
    }
    return 0;
}

const char *berth_envset_strip_credentials(const char *value,
                                           apr_pool_t *pool)
{
    while (isspace((unsigned char)*value))
        value++;
    apr_size_t n = strlen(value);
    while (n && isspace((unsigned char)value[n - 1]))
        n--;
    const char *v = apr_pstrmemdup(pool, value, n);
    apr_size_t us, ue;
    if (!berth_url_userinfo(v, &us, &ue))
        return v;
    return apr_pstrcat(pool, apr_pstrmemdup(pool, v, us), v + ue, NULL);
}

/* Whether the list PATH holds DIR (Windows: case-insensitively). */
static int list_has(const berth_hostfacts_t *facts,
                    const apr_array_header_t *dirs, const char *dir)
{
    for (int i = 0; i < dirs->nelts; i++) {
        const char *d = APR_ARRAY_IDX(dirs, i, const char *);
        if (facts->os == BERTH_OS_WINDOWS ? apr_cstr_casecmp(d, dir) == 0
                                          : strcmp(d, dir) == 0)
            return 1;
    }
    return 0;
}

int berth_envset_path_has_tool_dir(const berth_hostfacts_t *facts,
                                   const char *path)
{
    for (const char *p = path; p && *p;) {
        const char *end = strchr(p, facts->path_sep);
        apr_size_t n = end ? (apr_size_t)(end - p) : strlen(p);
        if (facts->os == BERTH_OS_WINDOWS) {
            static const char tail[] = "\\docker\\resources\\bin";
            apr_size_t tl = sizeof tail - 1;
            apr_size_t m = n;
            if (m && (p[m - 1] == '\\' || p[m - 1] == '/'))
                m--;
            if (m >= tl && apr_cstr_casecmpn(p + m - tl, tail, tl) == 0)
                return 1;
        } else if ((n == 14 && memcmp(p, "/usr/local/bin", 14) == 0) ||
                   (n == 17 && memcmp(p, "/opt/homebrew/bin", 17) == 0)) {
            return 1;
        }
        p = end ? end + 1 : NULL;
    }
    return 0;
}

static void push_unique(const berth_hostfacts_t *facts,
                        apr_array_header_t *dirs,
                        const apr_array_header_t *more)
{
    for (int i = 0; more && i < more->nelts; i++) {
        const char *d = APR_ARRAY_IDX(more, i, const char *);
        if (!list_has(facts, dirs, d))
            APR_ARRAY_PUSH(dirs, const char *) = d;
    }
}

static apr_array_header_t *wellknown_tool_dirs(const berth_hostfacts_t *facts,
                                               apr_pool_t *pool)
{
    static const char *const fixed[] = {
        "/usr/local/bin", "/usr/bin", "/bin", "/opt/homebrew/bin",
        "/usr/local/sbin", "/usr/sbin", "/sbin", NULL
    };
    static const char *const in_home[] = {
        "/.local/bin", "/.npm/bin", "/.yarn/bin", "/.cargo/bin", "/go/bin",
        NULL
    };
    apr_array_header_t *c = apr_array_make(pool, 16, sizeof(const char *));
    add_all(c, fixed);
    if (facts->os == BERTH_OS_DARWIN)
        APR_ARRAY_PUSH(c, const char *) =
            "/Applications/Docker.app/Contents/Resources/bin";
    for (const char *const *h = in_home; facts->home && *h; h++)
        APR_ARRAY_PUSH(c, const char *) = apr_pstrcat(pool, facts->home, *h,
                                                      NULL);
    apr_array_header_t *out = apr_array_make(pool, c->nelts,
                                             sizeof(const char *));
    for (int i = 0; i < c->nelts; i++) {
        const char *d = APR_ARRAY_IDX(c, i, const char *);
        if (facts->probe(facts, d) == BERTH_PROBE_DIR)
            APR_ARRAY_PUSH(out, const char *) = d;
    }
    return out;
}

static void reason(apr_array_header_t *reasons, const char *text)
{
    if (reasons)
        APR_ARRAY_PUSH(reasons, const char *) = text;
}

/* A proxy URL variable (its name ends in PROXY, in any case: HTTPS_PROXY,
 * http_proxy, npm_config_https_proxy), not the NO_PROXY list. */
static int proxy_url_name(const char *key, apr_size_t n)
{
    return n >= 5 && apr_cstr_casecmpn(key + n - 5, "PROXY", 5) == 0 &&
           !(n == 8 && apr_cstr_casecmpn(key, "NO_PROXY", 8) == 0);
}

/* 1. the allow-listed part of berth's environment. A proxy URL of berth's
 * never brings its user:password@ along, whatever the list says: only the
 * server's own env can give a child proxy credentials. */
static apr_array_header_t *allowed_part(const berth_envset_in_t *in,
                                        apr_array_header_t *reasons,
                                        apr_pool_t *pool)
{
    apr_array_header_t *env = apr_array_make(pool, 32, sizeof(const char *));
    apr_array_header_t *allow = berth_envset_allowlist(in->facts, in->cfg,
                                                       pool);
    const char *stripped = NULL;
    for (int i = 0; i < in->process_env->nelts; i++) {
        const char *e = APR_ARRAY_IDX(in->process_env, i, const char *);
        apr_size_t kl, us, ue;
        const char *v = berth_env_value(e, &kl);
        if (!v || !berth_envset_allowed(in->facts, allow, e, kl))
            continue;
        if (proxy_url_name(e, kl) && berth_url_userinfo(v, &us, &ue)) {
            const char *key = apr_pstrmemdup(pool, e, kl);
            e = apr_pstrcat(pool, key, "=",
                            berth_envset_strip_credentials(v, pool), NULL);
            stripped = stripped ? apr_pstrcat(pool, stripped, ", ", key, NULL)
                                : key;
        }
        APR_ARRAY_PUSH(env, const char *) = e;
    }
    if (stripped)
        reason(reasons, apr_pstrcat(pool, stripped, ": berth's proxy "
                                    "credentials removed (a server gets "
                                    "proxy credentials only from its own "
                                    "env)", NULL));
    return env;
}

/* 2. the server's own env wins; 1 when it sets PATH */
static int add_server_env(const berth_envset_in_t *in, apr_array_header_t *env)
{
    int server_path = 0;
    for (int i = 0; in->server_env && i < in->server_env->nelts; i++) {
        const berth_kv_t *kv = &APR_ARRAY_IDX(in->server_env, i, berth_kv_t);
        berth_env_set(in->facts, env, kv->key, kv->value);
        if (berth_env_key_eq(in->facts, kv->key, strlen(kv->key), "PATH"))
            server_path = 1;
    }
    return server_path;
}

/* The folders PATH enhancement puts first, and *SRC saying whence. */
static apr_array_header_t *tool_path(const berth_envset_in_t *in,
                                     const char **src, apr_pool_t *pool)
{
    const berth_hostfacts_t *facts = in->facts;
    apr_array_header_t *dirs = apr_array_make(pool, 24, sizeof(const char *));
    if (facts->os == BERTH_OS_WINDOWS) {
        push_unique(facts, dirs, berth_path_split(
            facts, facts->registry_user_path, pool));
        push_unique(facts, dirs, berth_path_split(
            facts, facts->registry_machine_path, pool));
        *src = "the user and machine PATH from the registry";
        return dirs;
    }
    int login = in->login && in->login->captured && in->login->path;
    if (login)
        push_unique(facts, dirs, berth_path_split(facts, in->login->path,
                                                  pool));
    push_unique(facts, dirs, wellknown_tool_dirs(facts, pool));
    *src = login ? "the login shell's PATH and the usual tool directories"
                 : "the usual tool directories (no login-shell PATH)";
    return dirs;
}

/* 3. PATH enhancement, when PATH has no tool directory */
static void enhance_path(const berth_envset_in_t *in, apr_array_header_t *env,
                         int server_path, apr_array_header_t *reasons,
                         apr_pool_t *pool)
{
    const berth_hostfacts_t *facts = in->facts;
    const char *path = berth_env_get(facts, env, "PATH");
    const char *src;
    if (server_path) {
        reason(reasons, "PATH is the server's own (from its env), not "
                        "enhanced");
        return;
    }
    if (berth_envset_path_has_tool_dir(facts, path))
        return;
    apr_array_header_t *dirs = tool_path(in, &src, pool);
    push_unique(facts, dirs, berth_path_split(facts, path, pool));
    const char *np = berth_path_join(facts, dirs, pool);
    if (!path || strcmp(np, path) != 0) {
        berth_env_set(facts, env, "PATH", np);
        reason(reasons, apr_pstrcat(pool, "PATH had no tool directory; "
                                    "enhanced with ", src, NULL));
    }
}

/* docker's own folder first, so it finds its credential helpers */
static void prepend_docker_dir(const berth_envset_in_t *in,
                               apr_array_header_t *env,
                               apr_array_header_t *reasons, apr_pool_t *pool)
{
    const berth_hostfacts_t *facts = in->facts;
    if (!in->docker_dir)
        return;
    const char *path = berth_env_get(facts, env, "PATH");
    apr_array_header_t *dirs = berth_path_split(facts, path, pool);
    if (list_has(facts, dirs, in->docker_dir))
        return;
    char sep[2] = { facts->path_sep, '\0' };
    berth_env_set(facts, env, "PATH",
                  path && *path ? apr_pstrcat(pool, in->docker_dir, sep, path,
                                              NULL)
                                : in->docker_dir);
    reason(reasons, apr_pstrcat(pool, "prepended ", in->docker_dir,
                                " to PATH for docker's helpers", NULL));
}

/* Whether the server's env sets either spelling of proxy group G, with
 * the OS's case rule: the one berth_env_set replaces by, so that a
 * server's Https_Proxy on Windows is never overwritten by berth's. */
static int proxy_set_by_server(const berth_envset_in_t *in, size_t g)
{
    for (int s = 0; s < 2; s++)
        for (int i = 0; in->server_env && i < in->server_env->nelts; i++) {
            const char *k = APR_ARRAY_IDX(in->server_env, i, berth_kv_t).key;
            if (berth_env_key_eq(in->facts, k, strlen(k), proxy_groups[g][s]))
                return 1;
        }
    return 0;
}

/* KEY's value in berth's environment, spelled exactly so: on Windows both
 * spellings of a proxy variable resolve to one variable. */
static const char *exact_value(const berth_envset_in_t *in, const char *key)
{
    for (int i = 0; i < in->process_env->nelts; i++) {
        const char *e = APR_ARRAY_IDX(in->process_env, i, const char *);
        apr_size_t kl;
        const char *val = berth_env_value(e, &kl);
        if (val && kl == strlen(key) && strncmp(e, key, kl) == 0)
            return val;
    }
    return NULL;
}

/* 4. proxies, only when asked for, without credentials */
static void forward_proxies(const berth_envset_in_t *in,
                            apr_array_header_t *env,
                            apr_array_header_t *reasons, apr_pool_t *pool)
{
    if (!in->cfg || !in->cfg->forward_proxy_env)
        return;
    for (size_t g = 0; g < sizeof proxy_groups / sizeof proxy_groups[0]; g++) {
        if (proxy_set_by_server(in, g)) {
            reason(reasons, apr_pstrcat(pool, proxy_groups[g][0],
                                        " set by the server; berth's not "
                                        "forwarded", NULL));
            continue;
        }
        int no_proxy = g == 3;
        for (int s = 0; s < 2; s++) {
            const char *v = exact_value(in, proxy_groups[g][s]);
            if (v)
                berth_env_set(in->facts, env, proxy_groups[g][s],
                              no_proxy ? v
                                       : berth_envset_strip_credentials(v,
                                                                        pool));
        }
    }
}

apr_array_header_t *berth_envset_build(const berth_envset_in_t *in,
                                       apr_array_header_t *reasons,
                                       apr_pool_t *pool)
{
    apr_array_header_t *env = allowed_part(in, reasons, pool);
    int server_path = add_server_env(in, env);
    enhance_path(in, env, server_path, reasons, pool);
    prepend_docker_dir(in, env, reasons, pool);
    forward_proxies(in, env, reasons, pool);
    /* 5. Windows: the variables every program needs, and why some are
     * there at all */
    berth_winenv_child(in->facts, in->process_env, env, reasons, pool);
    return env;
}
