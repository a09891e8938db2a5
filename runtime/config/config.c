/* Loading a config file: the JSON, the top level, the sections'
 * hand-written parts and the server list. The settings themselves are rows
 * of config_schema.c; a server entry is config_server.c's. */
#include "config_parse.h"

#include <ctype.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "errors.h"

static const char *const root_keys[] = {
    "mcpServers", "servers", "listen", "docker_isolation", "env", "timeouts",
    "namespace", "http", "max_message", "roots", NULL
};
/* Runtimes an image can be configured for; uvx and npx are accepted as the
 * names users know them by. */
static const char *const image_keys[] = {
    "python", "node", "go", "rust", "ruby", "php", "base", "uvx", "npx", NULL
};

/* ---- the hand-written parts of sections (config_schema.c's hooks) ----- */

int cfg_parse_listen(cfg_ctx_t *v, json_t *value, const char *path,
                     void *field, void *base)
{
    berth_config_t *cfg = base;
    const char *s = cfg_get_string(v, value, path, 0);
    if (!s)
        return 0;
    const char *why = berth_config_parse_listen(s, &cfg->listen_host,
                                                &cfg->listen_port,
                                                &cfg->listen_loopback,
                                                v->pool);
    if (why) {
        cfg_error_at(v, path, "\"%s\" is not a listen address: %s", s, why);
        return 0;
    }
    *(const char **)field = s;
    return 1;
}

void cfg_set_listen(berth_config_t *cfg, const char *text, apr_pool_t *pool)
{
    cfg->listen = text;
    berth_config_parse_listen(text, &cfg->listen_host, &cfg->listen_port,
                              &cfg->listen_loopback, pool);
}

int cfg_parse_env_allow(cfg_ctx_t *v, json_t *value, const char *path,
                        void *field, void *base)
{
    apr_array_header_t *allow = *(apr_array_header_t **)field;
    apr_array_header_t *a = cfg_get_string_array(v, value, path);
    (void)base;
    for (int i = 0; a && i < a->nelts; i++) {
        const char *name = APR_ARRAY_IDX(a, i, const char *);
        const char *star = strchr(name, '*');
        const char *ep = berth_jsonpath_index(v->pool, path, (size_t)i);
        if (!*name || strchr(name, '=') || (star && star[1]) || star == name)
            cfg_error_at(v, ep, "\"%s\" is not a variable name or a prefix "
                         "ending in \"*\"", name);
        else
            APR_ARRAY_PUSH(allow, const char *) = name;
    }
    return a != NULL;
}

int cfg_parse_origins(cfg_ctx_t *v, json_t *value, const char *path,
                      void *field, void *base)
{
    size_t i;
    json_t *o;
    (void)base;
    if (!cfg_want_type(v, value, path, JSON_ARRAY, "an array of origins"))
        return 0;
    apr_array_header_t *origins = apr_array_make(v->pool, 4,
                                                 sizeof(const char *));
    *(apr_array_header_t **)field = origins;
    json_array_foreach(value, i, o) {
        const char *ip = berth_jsonpath_index(v->pool, path, i);
        const char *os = cfg_get_string(v, o, ip, 0);
        if (!os)
            continue;
        size_t n = strlen(os);
        if ((strncmp(os, "http://", 7) != 0 &&
             strncmp(os, "https://", 8) != 0) ||
            strchr(os + (os[4] == 's' ? 8 : 7), '/') || n < 9)
            cfg_error_at(v, ip, "\"%s\" is not an origin; write "
                         "scheme://host[:port], like "
                         "\"https://app.example.com\"", os);
        else
            APR_ARRAY_PUSH(origins, const char *) = os;
    }
    return 1;
}

int cfg_parse_roots(cfg_ctx_t *v, json_t *value, const char *path,
                    void *field, void *base)
{
    size_t i;
    json_t *o;
    (void)base;
    if (!cfg_want_type(v, value, path, JSON_ARRAY, "an array of file:// URIs"))
        return 0;
    apr_array_header_t *roots = apr_array_make(v->pool, 4,
                                               sizeof(const char *));
    *(apr_array_header_t **)field = roots;
    json_array_foreach(value, i, o) {
        const char *ip = berth_jsonpath_index(v->pool, path, i);
        const char *u = cfg_get_string(v, o, ip, 0);
        if (!u)
            continue;
        if (strncmp(u, "file://", 7) != 0 || !u[7])
            cfg_error_at(v, ip, "\"%s\" is not a file:// URI; write the "
                         "folder as one, like \"file:///home/me/project\"",
                         u);
        else
            APR_ARRAY_PUSH(roots, const char *) = u;
    }
    return 1;
}

int cfg_parse_images(cfg_ctx_t *v, json_t *value, const char *path,
                     void *field, void *base)
{
    apr_array_header_t *images = *(apr_array_header_t **)field;
    const char *rk;
    json_t *rv;
    (void)base;
    if (!cfg_want_type(v, value, path, JSON_OBJECT, "an object"))
        return 0;
    cfg_check_keys(v, value, path, image_keys, "docker_isolation.images", 0);
    json_object_foreach(value, rk, rv) {
        if (!cfg_known_key(rk, image_keys))
            continue;
        const char *img = cfg_get_string(
            v, rv, berth_jsonpath_member(v->pool, path, rk), 1);
        if (img) {
            berth_kv_t *kv = apr_array_push(images);
            kv->key = apr_pstrdup(v->pool, rk);
            kv->value = img;
        }
    }
    return 1;
}

int cfg_parse_extra_args(cfg_ctx_t *v, json_t *value, const char *path,
                         void *field, void *base)
{
    (void)base;
    *(apr_array_header_t **)field = cfg_get_string_array(v, value, path);
    return *(apr_array_header_t **)field != NULL;
}

void cfg_check_isolation(cfg_ctx_t *v, const char *path,
                         const berth_isolation_t *iso)
{
    if (iso->mode != BERTH_ISOLATION_UNSET && iso->enabled >= 0 &&
        (iso->mode == BERTH_ISOLATION_DOCKER) != (iso->enabled == 1))
        cfg_warn_key(v, berth_jsonpath_member(v->pool, path, "enabled"),
                     "\"enabled\": %s contradicts \"mode\": \"%s\"; \"mode\" "
                     "wins", iso->enabled ? "true" : "false",
                     iso->mode == BERTH_ISOLATION_DOCKER ? "docker" : "none");
    cfg_warn_env_values(v, berth_jsonpath_member(v->pool, path, "extra_args"),
                        iso->extra_args, 1);
}

/* ---- the server list ------------------------------------------------- */

const char *berth_config_normalize_name(const char *name, apr_pool_t *pool)
{
    char *out = apr_pstrdup(pool, name);
    for (char *c = out; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (isupper(u) && u < 0x80)
            *c = (char)tolower(u);
        else if (!(isalnum(u) && u < 0x80) && *c != '-' && *c != '_')
            *c = '_';
    }
    return out;
}

static void parse_servers(cfg_ctx_t *v, json_t *j, const char *path,
                          berth_config_t *cfg)
{
    const char *name;
    json_t *val;
    apr_hash_t *seen = apr_hash_make(v->pool);
    if (!cfg_want_type(v, j, path, JSON_OBJECT,
                       "an object of servers by name"))
        return;
    json_object_foreach(j, name, val) {
        const char *sp = berth_jsonpath_member(v->pool, path, name);
        if (!*name) {
            cfg_error_key(v, sp, "a server name must not be empty");
            continue;
        }
        if (!json_is_object(val)) {
            cfg_error_at(v, sp, "expected a server entry (an object with "
                         "\"command\" or \"url\"), found %s",
                         cfg_kind_of(val));
            continue;
        }
        berth_server_config_t *s = apr_pcalloc(v->pool, sizeof *s);
        s->name = apr_pstrdup(v->pool, name);
        s->norm_name = berth_config_normalize_name(name, v->pool);
        s->isolation.enabled = -1;
        berth_jsonpos_key(v->pos, sp, &s->pos);
        const berth_server_config_t *other =
            apr_hash_get(seen, s->norm_name, APR_HASH_KEY_STRING);
        if (other)
            cfg_error_key(v, sp, "server name \"%s\" clashes with \"%s\" "
                          "(line %u): both normalise to \"%s\"; rename one",
                          name, other->name, other->pos.line, s->norm_name);
        else
            apr_hash_set(seen, s->norm_name, APR_HASH_KEY_STRING, s);
        cfg_parse_server(v, val, sp, s, cfg);
        APR_ARRAY_PUSH(cfg->servers, berth_server_config_t *) = s;
    }
}

/* Two servers that keep their names (namespace "none") may offer the same
 * tool or prompt name: said once per pair with the first such server. */
static void warn_unprefixed(cfg_ctx_t *v, berth_config_t *cfg)
{
    const char *first = NULL;
    for (int i = 0; i < cfg->servers->nelts; i++) {
        const berth_server_config_t *s =
            APR_ARRAY_IDX(cfg->servers, i, berth_server_config_t *);
        if (s->disabled || s->ns != BERTH_NAMESPACE_NONE)
            continue;
        if (!first) {
            first = s->name;
            continue;
        }
        cfg_warn_at(v,
                    berth_jsonpath_member(v->pool, cfg->servers_key, s->name),
                    "%s and %s both keep their tool and prompt names "
                    "(namespace \"none\"): when both offer a name, berth "
                    "serve keeps it for %s, gives %s's a hash suffix and logs "
                    "the collision", first, s->name, first, s->name);
    }
}

/* ---- the top level ---------------------------------------------------- */

/* A key berth does not know at the top level: client files carry their
 * own, so a warning; a misspelt server list is said once, below. */
static void unknown_top_key(cfg_ctx_t *v, json_t *root, const char *key,
                            const char *kp)
{
    const char *hint = berth_config_suggest(key, root_keys);
    if (hint && !json_object_get(root, "mcpServers") &&
        !json_object_get(root, "servers") &&
        (strcmp(hint, "mcpServers") == 0 || strcmp(hint, "servers") == 0))
        return; /* reported as the missing server list */
    if (hint)
        cfg_warn_key(v, kp, "unknown top-level key, ignored; did you mean "
                     "\"%s\"?", hint);
    else
        cfg_warn_key(v, kp, "unknown top-level key, ignored");
}

/* "mcpservers" would leave berth with nothing to run: say so. */
static void no_server_list(cfg_ctx_t *v, json_t *root)
{
    static const char *const lists[] = { "mcpServers", "servers", NULL };
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        const char *hint = berth_config_suggest(key, lists);
        if (hint) {
            cfg_error_key(v, berth_jsonpath_member(v->pool, "", key),
                          "no server list: keys are case-sensitive, this "
                          "must be \"%s\"", hint);
            return;
        }
    }
    cfg_warn_at(v, "", "no servers configured; add an \"mcpServers\" object");
}

static void parse_root(cfg_ctx_t *v, json_t *root, berth_config_t *cfg)
{
    const char *key;
    json_t *val;
    json_t *isolation = json_object_get(root, "docker_isolation");
    /* Global isolation first: server checks depend on it. */
    if (isolation) {
        cfg_parse_section(v, isolation, "docker_isolation",
                          "docker_isolation", 0, cfg, "docker_isolation");
        cfg_check_isolation(v, "docker_isolation", &cfg->isolation);
    }
    json_object_foreach(root, key, val) {
        const char *kp = berth_jsonpath_member(v->pool, "", key);
        const berth_setting_t *r = cfg_top_setting(key, 0);
        if (r) {
            cfg_parse_setting(v, r, val, kp, cfg, 0);
        } else if (strcmp(key, "docker_isolation") == 0) {
            continue;
        } else if (cfg_is_section(key)) {
            cfg_parse_section(v, val, kp, key, 0, cfg, key);
        } else if (strcmp(key, "mcpServers") == 0 ||
                   strcmp(key, "servers") == 0) {
            if (cfg->servers_key) {
                cfg_error_key(v, kp, "both \"mcpServers\" and \"servers\" "
                              "are present; berth reads one list of "
                              "servers, keep one");
                continue;
            }
            cfg->servers_key = apr_pstrdup(v->pool, key);
            parse_servers(v, val, kp, cfg);
        } else {
            unknown_top_key(v, root, key, kp);
        }
    }
    if (!cfg->servers_key)
        no_server_list(v, root);
}

/* ---- loading --------------------------------------------------------- */

static int diag_cmp(const void *a, const void *b)
{
    const berth_diag_t *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->column != y->column)
        return x->column < y->column ? -1 : 1;
    return 0;
}

/* A stable sort: messages at one position keep their discovery order. */
static void sort_diags(apr_array_header_t *diags, int from)
{
    berth_diag_t *d = (berth_diag_t *)diags->elts;
    for (int i = from + 1; i < diags->nelts; i++) {
        berth_diag_t cur = d[i];
        int k = i - 1;
        while (k >= from && diag_cmp(&d[k], &cur) > 0) {
            d[k + 1] = d[k];
            k--;
        }
        d[k + 1] = cur;
    }
}

/* The JSON does not parse: one error at the offending token, BAD (or
 * jansson's position when WHY is NULL). */
static void syntax_error(const char *file, const char *buf, size_t len,
                         const char *why, size_t bad, json_error_t *jerr,
                         apr_array_header_t *diags, apr_pool_t *pool)
{
    berth_diag_t *d = apr_array_push(diags);
    if (!why) {
        /* Syntax was fine; jansson refused something else (invalid UTF-8,
         * a NUL escape). Its text may quote the value: keep the reason
         * only. */
        char *quoted = strstr(jerr->text, " near ");
        if (quoted)
            *quoted = '\0';
        why = apr_pstrdup(pool, jerr->text);
        bad = jerr->position > 0 ? (size_t)jerr->position : 0;
    }
    berth_textpos_t tp = berth_textpos_of(buf, len, bad);
    d->severity = BERTH_DIAG_ERROR;
    d->file = file;
    d->line = tp.line;
    d->column = tp.column;
    d->path = "";
    d->message = apr_psprintf(pool, "invalid JSON: %s", why);
}

/* The text as JSON (comments and a byte order mark allowed), or NULL with
 * the error in DIAGS. */
static json_t *load_json(const char *file, const char *text, size_t len,
                         char **bufp, size_t *lenp,
                         apr_array_header_t *diags, apr_pool_t *pool)
{
    char *buf = apr_pstrmemdup(pool, text, len);
    json_error_t jerr;
    /* Windows editors save a byte order mark; it is not part of the JSON
     * and editors do not count it as a column. */
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        buf += 3;
        len -= 3;
    }
    size_t bad = 0;
    const char *why = NULL;
    if (berth_jsonc_blank(buf, len, &bad) != 0)
        why = "comment not closed: \"*/\" missing before the end of the file";
    else
        why = berth_json_syntax_check(buf, len, &bad);
    json_t *root = why ? NULL : json_loadb(buf, len, JSON_DECODE_ANY, &jerr);
    if (!root)
        syntax_error(file, buf, len, why, bad, &jerr, diags, pool);
    *bufp = buf;
    *lenp = len;
    return root;
}

/* jansson keeps the last of two equal keys: each is an error. */
static void report_dups(cfg_ctx_t *v)
{
    const apr_array_header_t *dups = berth_jsonpos_dups(v->pos);
    for (int i = 0; i < dups->nelts; i++) {
        const berth_jsonpos_dup_t *d = &APR_ARRAY_IDX(dups, i,
                                                      berth_jsonpos_dup_t);
        berth_diag_t *dd = apr_array_push(v->diags);
        berth_textpos_t at = berth_jsonpos_at(v->pos, d->offset);
        berth_textpos_t was = berth_jsonpos_at(v->pos, d->first_offset);
        dd->severity = BERTH_DIAG_ERROR;
        dd->file = v->file;
        dd->line = at.line;
        dd->column = at.column;
        dd->path = d->path;
        dd->message = apr_psprintf(v->pool, "duplicate key (first at line "
                                   "%u, column %u); only one is used, remove "
                                   "the other", was.line, was.column);
        v->errors++;
    }
}

/* An empty config: unset where the file's absence means something. */
static berth_config_t *new_config(const char *file, apr_pool_t *pool)
{
    berth_config_t *cfg = apr_pcalloc(pool, sizeof *cfg);
    cfg->file = file;
    cfg->images = apr_array_make(pool, 0, sizeof(berth_kv_t));
    cfg->env_allow = apr_array_make(pool, 0, sizeof(const char *));
    cfg->env_secrets = apr_array_make(pool, 0, sizeof(const char *));
    cfg->isolation.enabled = -1;
    cfg->servers = apr_array_make(pool, 8, sizeof(berth_server_config_t *));
    return cfg;
}

apr_status_t berth_config_parse(const char *file, const char *text,
                                size_t len, berth_config_t **out,
                                apr_array_header_t *diags, apr_pool_t *pool)
{
    cfg_ctx_t v = { pool, file, NULL, diags, 0 };
    int first = diags->nelts;
    char *buf;
    *out = NULL;
    json_t *root = load_json(file, text, len, &buf, &len, diags, pool);
    if (!root)
        return BERTH_ECONFIG;
    v.pos = berth_jsonpos_index(buf, len, pool);
    berth_config_t *cfg = new_config(file, pool);
    report_dups(&v);
    if (!json_is_object(root))
        cfg_error_at(&v, "", "the config must be a JSON object, found %s",
                     cfg_kind_of(root));
    else
        parse_root(&v, root, cfg);
    json_decref(root);

    cfg_apply_defaults(cfg, pool);
    if (cfg->servers_key)
        warn_unprefixed(&v, cfg);
    sort_diags(diags, first);
    *out = cfg;
    return v.errors ? BERTH_ECONFIG : APR_SUCCESS;
}

apr_status_t berth_config_load(const char *file, berth_config_t **out,
                               apr_array_header_t *diags, apr_pool_t *pool)
{
    apr_file_t *f;
    apr_finfo_t fi;
    char errbuf[256];
    apr_status_t rv;

    *out = NULL;
    /* Ask first: Windows refuses to open a folder ("Access denied"). */
    if (apr_stat(&fi, file, APR_FINFO_TYPE, pool) == APR_SUCCESS &&
        fi.filetype == APR_DIR) {
        berth_diag_t *d = apr_array_push(diags);
        memset(d, 0, sizeof *d);
        d->file = file;
        d->path = "";
        d->message = "is a directory, not a config file";
        return BERTH_ECONFIG;
    }
    rv = apr_file_open(&f, file, APR_FOPEN_READ | APR_FOPEN_BINARY,
                       APR_FPROT_OS_DEFAULT, pool);
    if (rv == APR_SUCCESS)
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, f);
    if (rv == APR_SUCCESS && fi.size > BERTH_CONFIG_MAX_BYTES) {
        berth_diag_t *d = apr_array_push(diags);
        memset(d, 0, sizeof *d);
        d->file = file;
        d->path = "";
        d->message = apr_psprintf(pool, "the file is larger than %d MiB; "
                                  "this is not a config file",
                                  BERTH_CONFIG_MAX_BYTES / (1024 * 1024));
        apr_file_close(f);
        return BERTH_ECONFIG;
    }
    char *text = NULL;
    apr_size_t len = 0;
    if (rv == APR_SUCCESS) {
        len = (apr_size_t)fi.size;
        text = apr_palloc(pool, len + 1);
        rv = apr_file_read_full(f, text, len, &len);
        if (rv == APR_EOF)
            rv = APR_SUCCESS;
        apr_file_close(f);
    }
    if (rv != APR_SUCCESS) {
        berth_diag_t *d = apr_array_push(diags);
        memset(d, 0, sizeof *d);
        d->file = file;
        d->path = "";
        d->message = apr_psprintf(pool, "cannot read the config file: %s",
                                  berth_strerror(rv, errbuf, sizeof errbuf));
        return BERTH_ECONFIG;
    }
    return berth_config_parse(file, text, len, out, diags, pool);
}

const berth_server_config_t *berth_config_find_server(const berth_config_t *cfg,
                                                      const char *name)
{
    apr_pool_t *pool = cfg->servers->pool;
    const char *norm = NULL;
    for (int i = 0; i < cfg->servers->nelts; i++) {
        const berth_server_config_t *s =
            APR_ARRAY_IDX(cfg->servers, i, berth_server_config_t *);
        if (strcmp(s->name, name) == 0)
            return s;
    }
    for (int i = 0; i < cfg->servers->nelts; i++) {
        const berth_server_config_t *s =
            APR_ARRAY_IDX(cfg->servers, i, berth_server_config_t *);
        if (!norm)
            norm = berth_config_normalize_name(name, pool);
        if (strcmp(s->norm_name, norm) == 0)
            return s;
    }
    return NULL;
}

const char *berth_transport_name(berth_transport_t t)
{
    switch (t) {
    case BERTH_TRANSPORT_STDIO: return "stdio";
    case BERTH_TRANSPORT_HTTP: return "http";
    case BERTH_TRANSPORT_SSE: return "sse";
    }
    return "?";
}

const char *berth_namespace_name(berth_namespace_t ns)
{
    return ns == BERTH_NAMESPACE_NONE ? "none" : "prefix";
}
