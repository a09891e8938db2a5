#include "hostfacts.h"

#include <ctype.h>
#include <string.h>

#include <apr_cstr.h>
#include <apr_strings.h>

#include "platform.h"
#include "winenv.h"

apr_status_t berth_hostfacts_real(berth_hostfacts_t **out, apr_pool_t *pool)
{
    apr_status_t rv = berth_platform_hostfacts(out, pool);
    if (rv == APR_SUCCESS)
        berth_winenv_fill(*out, pool);
    return rv;
}

const char *berth_os_name(berth_os_t os)
{
    switch (os) {
    case BERTH_OS_LINUX: return "linux";
    case BERTH_OS_DARWIN: return "darwin";
    case BERTH_OS_WINDOWS: return "windows";
    default: return "other";
    }
}

int berth_env_key_eq(const berth_hostfacts_t *facts, const char *a,
                     apr_size_t alen, const char *b)
{
    if (strlen(b) != alen)
        return 0;
    if (facts->os == BERTH_OS_WINDOWS)
        return apr_cstr_casecmpn(a, b, alen) == 0;
    return strncmp(a, b, alen) == 0;
}

const char *berth_env_value(const char *entry, apr_size_t *key_len)
{
    /* Windows keeps per-drive entries like "=C:=C:\\x": the key may start
     * with '='. */
    const char *eq = strchr(entry + (entry[0] == '=' ? 1 : 0), '=');
    if (!eq) {
        if (key_len)
            *key_len = strlen(entry);
        return NULL;
    }
    if (key_len)
        *key_len = (apr_size_t)(eq - entry);
    return eq + 1;
}

const char *berth_env_get(const berth_hostfacts_t *facts,
                          const apr_array_header_t *env, const char *key)
{
    for (int i = 0; i < env->nelts; i++) {
        const char *e = APR_ARRAY_IDX(env, i, const char *);
        apr_size_t kl;
        const char *v = berth_env_value(e, &kl);
        if (v && berth_env_key_eq(facts, e, kl, key))
            return v;
    }
    return NULL;
}

void berth_env_set(const berth_hostfacts_t *facts, apr_array_header_t *env,
                   const char *key, const char *value)
{
    const char *entry = apr_pstrcat(env->pool, key, "=", value, NULL);
    for (int i = 0; i < env->nelts; i++) {
        const char *e = APR_ARRAY_IDX(env, i, const char *);
        apr_size_t kl;
        if (berth_env_value(e, &kl) && berth_env_key_eq(facts, e, kl, key)) {
            APR_ARRAY_IDX(env, i, const char *) = entry;
            return;
        }
    }
    APR_ARRAY_PUSH(env, const char *) = entry;
}

apr_array_header_t *berth_path_split(const berth_hostfacts_t *facts,
                                     const char *list, apr_pool_t *pool)
{
    apr_array_header_t *out = apr_array_make(pool, 16, sizeof(const char *));
    const char *p = list ? list : "";
    while (*p) {
        const char *end = strchr(p, facts->path_sep);
        apr_size_t n = end ? (apr_size_t)(end - p) : strlen(p);
        if (n)
            APR_ARRAY_PUSH(out, const char *) = apr_pstrmemdup(pool, p, n);
        p += n;
        if (*p)
            p++;
    }
    return out;
}

const char *berth_path_join(const berth_hostfacts_t *facts,
                            const apr_array_header_t *dirs, apr_pool_t *pool)
{
    char sep[2] = { facts->path_sep, '\0' };
    const char *s = "";
    for (int i = 0; i < dirs->nelts; i++)
        s = apr_pstrcat(pool, s, i ? sep : "",
                        APR_ARRAY_IDX(dirs, i, const char *), NULL);
    return s;
}

const char *berth_path_child(const berth_hostfacts_t *facts, const char *dir,
                             const char *name, apr_pool_t *pool)
{
    apr_size_t n = strlen(dir);
    char sep[2] = { facts->dir_sep, '\0' };
    int has_sep = n && (dir[n - 1] == '/' ||
                        (facts->os == BERTH_OS_WINDOWS && dir[n - 1] == '\\'));
    return apr_pstrcat(pool, dir, has_sep ? "" : sep, name, NULL);
}

int berth_path_is_absolute(const berth_hostfacts_t *facts, const char *path)
{
    if (facts->os == BERTH_OS_WINDOWS)
        return (isalpha((unsigned char)path[0]) && path[1] == ':' &&
                (path[2] == '\\' || path[2] == '/')) ||
               (path[0] == '\\' && path[1] == '\\');
    return path[0] == '/';
}

const char *berth_path_basename(const char *path)
{
    const char *b = path;
    for (const char *c = path; *c; c++)
        if (*c == '/' || *c == '\\')
            b = c + 1;
    return b;
}

const char *berth_path_dirname(const char *path, apr_pool_t *pool)
{
    const char *b = berth_path_basename(path);
    if (b == path)
        return ".";
    apr_size_t n = (apr_size_t)(b - path) - 1;
    if (n == 0)
        return apr_pstrmemdup(pool, path, 1); /* "/" */
    if (n == 2 && path[1] == ':')
        return apr_pstrmemdup(pool, path, 3); /* "C:\\" */
    return apr_pstrmemdup(pool, path, n);
}

const char *berth_capture_last_line(berth_capture_t *out)
{
    char *text = out->out;
    apr_size_t n = out->out_len;
    if (!text)
        return "";
    while (n && isspace((unsigned char)text[n - 1]))
        n--;
    text[n] = '\0';
    char *line = strrchr(text, '\n');
    line = line ? line + 1 : text;
    while (isspace((unsigned char)*line))
        line++;
    return line;
}

const char *berth_state_dir(const berth_hostfacts_t *facts, apr_pool_t *pool)
{
    const char *dir = berth_env_get(facts, facts->env, "BERTH_STATE_DIR");
    if (dir && berth_path_is_absolute(facts, dir))
        return apr_pstrdup(pool, dir);
    return berth_platform_state_dir(facts, pool);
}
