#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_cstr.h>
#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <jansson.h>

#include "errors.h"
#include "isolation.h"
#include "log.h"
#include "redact.h"

#define BERTH_CONFIG_PRINTF BERTH_PRINTF

/* ---- the schema: the keys each section knows ------------------------- */

static const char *const root_keys[] = {
    "mcpServers", "servers", "listen", "docker_isolation", "env", "timeouts",
    "namespace", "http", NULL
};
static const char *const http_keys[] = {
    "session_idle", "max_body", "allowed_origins", "spin_us", NULL
};
static const char *const server_keys[] = {
    "command", "args", "env", "cwd", "working_dir", "url", "headers", "type",
    "disabled", "isolation", "timeouts", "namespace", NULL
};
static const char *const global_isolation_keys[] = {
    "mode", "enabled", "network_mode", "memory_limit", "cpu_limit", "images",
    "extra_args", "log_max_size", "log_max_files", NULL
};
static const char *const server_isolation_keys[] = {
    "mode", "enabled", "image", "network_mode", "memory_limit", "cpu_limit",
    "extra_args", NULL
};
static const char *const env_keys[] = {
    "allow", "allow_defaults", "forward_proxy_env", NULL
};
static const char *const timeout_keys[] = {
    "initialize", "call", "shutdown", NULL
};
/* Runtimes an image can be configured for; uvx and npx are accepted as the
 * names users know them by. */
static const char *const image_keys[] = {
    "python", "node", "go", "rust", "ruby", "php", "base", "uvx", "npx", NULL
};

/* Per-server keys other MCP clients write for their own use: berth has no
 * use for them, so they are warnings, never errors. */
static const struct {
    const char *key;
    const char *note;
} client_keys[] = {
    { "autoApprove", "a client's approval setting, ignored" },
    { "alwaysAllow", "a client's approval setting, ignored" },
    { "disabledTools", "a client's tool filter, ignored" },
    { "transportType", "ignored; berth reads \"type\"" },
    { "timeout", "ignored; berth reads \"timeouts\": {\"call\": SECONDS}" },
    { "dev", "a VS Code development setting, ignored" },
    { "gallery", "a VS Code setting, ignored" },
    { "version", "a VS Code setting, ignored" },
    { "description", "ignored" },
};

/* Words users reach for that are not close in spelling to the key meant. */
static const struct {
    const char *word;
    const char *meant;
} key_aliases[] = {
    { "cmd", "command" },          { "arguments", "args" },
    { "environment", "env" },      { "workdir", "cwd" },
    { "working_directory", "cwd" },{ "transport", "type" },
    { "image", "isolation.image" },{ "endpoint", "url" },
    { "timeout", "timeouts" },     { "mcp_servers", "mcpServers" },
};

/* ---- diagnostics ---------------------------------------------------- */

typedef struct {
    apr_pool_t *pool;
    const char *file;
    const berth_jsonpos_t *pos;
    apr_array_header_t *diags;
    int errors;
} vctx_t;

/* PATH finds the position; SHOWN (when not NULL) is what the message
 * prints instead, for a path that would reveal a secret. */
static void vreport(vctx_t *v, berth_diag_severity_t sev, const char *path,
                    const char *shown, int at_key, const char *fmt, va_list ap)
{
    berth_diag_t *d = apr_array_push(v->diags);
    berth_textpos_t tp = { 0, 0 };
    d->severity = sev;
    d->file = v->file;
    d->path = shown ? shown : path;
    d->message = apr_pvsprintf(v->pool, fmt, ap);
    if (v->pos) {
        if (at_key)
            berth_jsonpos_key(v->pos, path, &tp);
        else
            berth_jsonpos_value(v->pos, path, &tp);
    }
    d->line = tp.line;
    d->column = tp.column;
    if (sev == BERTH_DIAG_ERROR)
        v->errors++;
}

/* An error at the value found at PATH. */
static void error_at(vctx_t *v, const char *path, const char *fmt, ...)
    BERTH_CONFIG_PRINTF(3, 4);
/* An error at the key of the member at PATH. */
static void error_key(vctx_t *v, const char *path, const char *fmt, ...)
    BERTH_CONFIG_PRINTF(3, 4);
static void warn_key(vctx_t *v, const char *path, const char *fmt, ...)
    BERTH_CONFIG_PRINTF(3, 4);
static void warn_at(vctx_t *v, const char *path, const char *fmt, ...)
    BERTH_CONFIG_PRINTF(3, 4);

static void error_at(vctx_t *v, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(v, BERTH_DIAG_ERROR, path, NULL, 0, fmt, ap);
    va_end(ap);
}

static void error_key(vctx_t *v, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(v, BERTH_DIAG_ERROR, path, NULL, 1, fmt, ap);
    va_end(ap);
}

static void warn_key(vctx_t *v, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(v, BERTH_DIAG_WARNING, path, NULL, 1, fmt, ap);
    va_end(ap);
}

static void warn_at(vctx_t *v, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(v, BERTH_DIAG_WARNING, path, NULL, 0, fmt, ap);
    va_end(ap);
}

static void report(vctx_t *v, berth_diag_severity_t sev, const char *path,
                   const char *shown, int at_key, const char *fmt, ...)
    BERTH_CONFIG_PRINTF(6, 7);
static void report(vctx_t *v, berth_diag_severity_t sev, const char *path,
                   const char *shown, int at_key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(v, sev, path, shown, at_key, fmt, ap);
    va_end(ap);
}

static const char *kind_of(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

const char *berth_diag_format(const berth_diag_t *d, apr_pool_t *pool)
{
    const char *sev = d->severity == BERTH_DIAG_ERROR ? "error" : "warning";
    const char *where = d->line
        ? apr_psprintf(pool, "%s:%u:%u", d->file, d->line, d->column)
        : d->file;
    if (d->path && *d->path)
        return apr_psprintf(pool, "%s: %s: %s: %s", where, sev, d->path,
                            d->message);
    return apr_psprintf(pool, "%s: %s: %s", where, sev, d->message);
}

int berth_diag_count(const apr_array_header_t *diags,
                     berth_diag_severity_t severity)
{
    int n = 0;
    for (int i = 0; i < diags->nelts; i++)
        if (APR_ARRAY_IDX(diags, i, berth_diag_t).severity == severity)
            n++;
    return n;
}

/* ---- suggestions ---------------------------------------------------- */

/* Optimal string alignment distance, ASCII case folded. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t rows[3][65];
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]);
            int cb = tolower((unsigned char)b[j - 1]);
            size_t cost = ca == cb ? 0 : 1;
            size_t best = prev[j] + 1;
            if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1;
            if (prev[j - 1] + cost < best) best = prev[j - 1] + cost;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

const char *berth_config_suggest(const char *word, const char *const *known)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    size_t wl = strlen(word);
    for (size_t i = 0; i < sizeof key_aliases / sizeof key_aliases[0]; i++) {
        if (apr_cstr_casecmp(word, key_aliases[i].word) != 0)
            continue;
        /* Only suggest a key this section has (first path segment). */
        size_t seg = strcspn(key_aliases[i].meant, ".");
        for (const char *const *k = known; *k; k++)
            if (strlen(*k) == seg &&
                strncmp(*k, key_aliases[i].meant, seg) == 0)
                return key_aliases[i].meant;
    }
    for (const char *const *k = known; *k; k++) {
        size_t d = edit_distance(word, *k);
        size_t kl = strlen(*k);
        size_t shorter = wl < kl ? wl : kl;
        size_t limit = shorter <= 3 ? 1 : shorter <= 6 ? 2 : 3;
        /* "environment" for "env": one spelled out the other. */
        if (d > limit && shorter >= 3 && apr_cstr_casecmpn(word, *k, shorter) == 0)
            d = limit;
        if (d <= limit && d < best_d) {
            best = *k;
            best_d = d;
        }
    }
    return best;
}

static int known_key(const char *key, const char *const *known)
{
    for (const char *const *k = known; *k; k++)
        if (strcmp(key, *k) == 0)
            return 1;
    return 0;
}

static const char *known_list(apr_pool_t *pool, const char *const *known)
{
    const char *s = "";
    for (const char *const *k = known; *k; k++)
        s = apr_pstrcat(pool, s, *s ? ", " : "", *k, NULL);
    return s;
}

/* Reports every key of OBJ not in KNOWN; returns how many. */
static int check_keys(vctx_t *v, json_t *obj, const char *path,
                      const char *const *known, const char *what)
{
    const char *key;
    json_t *val;
    int n = 0;
    json_object_foreach(obj, key, val) {
        if (known_key(key, known))
            continue;
        const char *kp = berth_jsonpath_member(v->pool, path, key);
        if (known == server_keys) {
            size_t c = 0;
            while (c < sizeof client_keys / sizeof client_keys[0] &&
                   strcmp(client_keys[c].key, key) != 0)
                c++;
            if (c < sizeof client_keys / sizeof client_keys[0]) {
                warn_key(v, kp, "%s", client_keys[c].note);
                continue;
            }
            if (strcmp(key, "envFile") == 0) {
                error_key(v, kp, "berth does not read env files; move the "
                          "variables into \"env\"");
                n++;
                continue;
            }
        }
        const char *hint = berth_config_suggest(key, known);
        if (hint)
            error_key(v, kp, "unknown key in %s; did you mean \"%s\"?", what,
                      hint);
        else
            error_key(v, kp, "unknown key in %s; known keys are: %s", what,
                      known_list(v->pool, known));
        n++;
    }
    return n;
}

/* VS Code fills ${input:...} by prompting and expands ${env:...} and
 * ${workspaceFolder}; berth starts servers unattended and expands nothing, so
 * such a value would reach the server literally. The value itself is not
 * quoted: it may be a secret. */
static void check_placeholder(vctx_t *v, const char *path, const char *shown,
                              const char *value)
{
    static const char *const vars[] = { "${input:", "${env:",
                                        "${workspaceFolder", "${userHome",
                                        "${pathSeparator", NULL };
    for (const char *const *p = vars; *p; p++) {
        if (strstr(value, *p)) {
            report(v, BERTH_DIAG_WARNING, path, shown, 0, "contains the VS "
                   "Code variable %s...}, which berth does not expand; write "
                   "the value itself", *p);
            return;
        }
    }
}

/* ---- typed getters: each reports its own error ------------------------ */

static int want_type(vctx_t *v, json_t *j, const char *path, json_type type,
                     const char *wanted)
{
    int ok = json_typeof(j) == type ||
             (type == JSON_TRUE && json_typeof(j) == JSON_FALSE);
    if (!ok)
        error_at(v, path, "expected %s, found %s", wanted, kind_of(j));
    return ok;
}

static const char *get_string(vctx_t *v, json_t *j, const char *path,
                              int nonempty)
{
    if (!want_type(v, j, path, JSON_STRING, "a string"))
        return NULL;
    const char *s = json_string_value(j);
    if (nonempty) {
        const char *c = s;
        while (*c && isspace((unsigned char)*c))
            c++;
        if (!*c) {
            error_at(v, path, "must not be empty");
            return NULL;
        }
    }
    return apr_pstrdup(v->pool, s);
}

static int get_bool(vctx_t *v, json_t *j, const char *path, int *out)
{
    if (!want_type(v, j, path, JSON_TRUE, "true or false"))
        return 0;
    *out = json_is_true(j);
    return 1;
}

static apr_array_header_t *get_string_array(vctx_t *v, json_t *j,
                                            const char *path)
{
    if (!want_type(v, j, path, JSON_ARRAY, "an array of strings"))
        return NULL;
    apr_array_header_t *out =
        apr_array_make(v->pool, (int)json_array_size(j), sizeof(const char *));
    size_t i;
    json_t *el;
    json_array_foreach(j, i, el) {
        const char *ep = berth_jsonpath_index(v->pool, path, i);
        if (!json_is_string(el)) {
            error_at(v, ep, "expected a string, found %s", kind_of(el));
            continue;
        }
        APR_ARRAY_PUSH(out, const char *) =
            apr_pstrdup(v->pool, json_string_value(el));
        check_placeholder(v, ep, NULL, json_string_value(el));
    }
    return out;
}

/* An object of string values that may be secret (env, headers): a message
 * names the key, never the value. */
static apr_array_header_t *get_secret_map(vctx_t *v, json_t *j,
                                          const char *path, int headers)
{
    const char *key;
    json_t *val;
    if (!want_type(v, j, path, JSON_OBJECT, "an object"))
        return NULL;
    apr_array_header_t *out =
        apr_array_make(v->pool, (int)json_object_size(j), sizeof(berth_kv_t));
    json_object_foreach(j, key, val) {
        const char *kp = berth_jsonpath_member(v->pool, path, key);
        /* "KEY=value" or "Name: value" pasted as a name: what follows the
         * separator may be secret, so messages show the name cut there. */
        const char *cut = strchr(key, headers ? ':' : '=');
        const char *shown =
            cut ? berth_jsonpath_member(
                      v->pool, path,
                      apr_pstrcat(v->pool,
                                  apr_pstrmemdup(v->pool, key,
                                                 (apr_size_t)(cut - key)),
                                  headers ? ": ***" : "=***", NULL))
                : NULL;
        int key_ok = 1;
        if (!*key) {
            report(v, BERTH_DIAG_ERROR, kp, NULL, 1, "%s name must not be "
                   "empty", headers ? "header" : "variable");
            key_ok = 0;
        } else if (cut) {
            report(v, BERTH_DIAG_ERROR, kp, shown, 1, "%s name must not "
                   "contain '%c'; write \"NAME\": \"value\"",
                   headers ? "header" : "variable", *cut);
            key_ok = 0;
        } else if (headers) {
            for (const char *c = key; *c; c++) {
                if (!isalnum((unsigned char)*c) &&
                    !strchr("!#$%&'*+-.^_`|~", *c)) {
                    report(v, BERTH_DIAG_ERROR, kp, NULL, 1, "\"%s\" is not "
                           "a valid HTTP header name", key);
                    key_ok = 0;
                    break;
                }
            }
        }
        if (!json_is_string(val)) {
            report(v, BERTH_DIAG_ERROR, kp, shown, 0, "expected a string, "
                   "found %s; %s values are strings, quote the value",
                   kind_of(val), headers ? "header" : "environment");
            continue;
        }
        if (headers && strpbrk(json_string_value(val), "\r\n")) {
            report(v, BERTH_DIAG_ERROR, kp, shown, 0, "header value must not "
                   "contain a line break");
            continue;
        }
        check_placeholder(v, kp, shown, json_string_value(val));
        if (key_ok) {
            berth_kv_t *kv = apr_array_push(out);
            kv->key = apr_pstrdup(v->pool, key);
            kv->value = apr_pstrdup(v->pool, json_string_value(val));
        }
    }
    return out;
}

/* ---- value formats ------------------------------------------------ */

static int parse_ipv4(const char *s, size_t n)
{
    int parts = 0;
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        unsigned val = 0;
        while (i < n && isdigit((unsigned char)s[i]) && i - start < 4)
            val = val * 10 + (unsigned)(s[i++] - '0');
        if (i == start || i - start > 3 || val > 255 ||
            (i - start > 1 && s[start] == '0'))
            return 0;
        parts++;
        if (i < n) {
            if (s[i] != '.' || parts == 4)
                return 0;
            i++;
            if (i == n)
                return 0;
        }
    }
    return parts == 4;
}

static int parse_ipv6(const char *s, size_t n)
{
    int groups = 0, gap = 0;
    size_t i = 0;
    const char *pct = memchr(s, '%', n);
    if (pct) {
        if ((size_t)(pct - s) + 1 == n)
            return 0; /* empty zone */
        n = (size_t)(pct - s);
    }
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 1;
        i = 2;
    } else if (n >= 1 && s[0] == ':') {
        return 0;
    }
    while (i < n) {
        size_t start = i;
        while (i < n && isxdigit((unsigned char)s[i]))
            i++;
        if (i < n && s[i] == '.') {
            /* an embedded IPv4 tail */
            if (!parse_ipv4(s + start, n - start))
                return 0;
            groups += 2;
            i = n;
            break;
        }
        if (i == start || i - start > 4)
            return 0;
        groups++;
        if (i == n)
            break;
        if (s[i] != ':')
            return 0;
        i++;
        if (i < n && s[i] == ':') {
            if (gap)
                return 0;
            gap = 1;
            i++;
        } else if (i == n) {
            return 0;
        }
    }
    return gap ? groups < 8 : groups == 8;
}

const char *berth_config_parse_listen(const char *text, const char **host,
                                      unsigned *port, int *loopback,
                                      apr_pool_t *pool)
{
    const char *colon, *h;
    size_t hl;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close)
            return "missing \"]\" after the IPv6 address";
        h = text + 1;
        hl = (size_t)(close - h);
        if (!parse_ipv6(h, hl))
            return apr_psprintf(pool, "\"%.*s\" is not an IPv6 address",
                                (int)hl, h);
        if (close[1] != ':')
            return "missing \":PORT\" after the address";
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon)
            return "missing \":PORT\" after the address";
        h = text;
        hl = (size_t)(colon - text);
        if (memchr(h, ':', hl))
            return "an IPv6 address must be written in brackets, "
                   "like \"[::1]:8750\"";
        if (hl == 0)
            return "missing the address before \":PORT\"; use 127.0.0.1 for "
                   "this machine only";
        if (!(hl == 9 && apr_cstr_casecmpn(h, "localhost", 9) == 0) &&
            !parse_ipv4(h, hl))
            return apr_psprintf(pool, "\"%.*s\" is not an IPv4 address, a "
                                "bracketed IPv6 address or localhost",
                                (int)hl, h);
    }
    const char *p = colon + 1;
    unsigned long val = 0;
    if (!*p)
        return "missing the port number after \":\"";
    for (const char *c = p; *c; c++) {
        if (!isdigit((unsigned char)*c))
            return apr_psprintf(pool, "port \"%s\" is not a number", p);
        val = val * 10 + (unsigned long)(*c - '0');
        if (val > 65535)
            break;
    }
    if (val < 1 || val > 65535)
        return apr_psprintf(pool, "port %s is out of range 1-65535", p);
    char *hc = apr_pstrmemdup(pool, h, hl);
    if (host)
        *host = hc;
    if (port)
        *port = (unsigned)val;
    if (loopback)
        *loopback = strncmp(hc, "127.", 4) == 0 || strcmp(hc, "::1") == 0 ||
                    apr_cstr_casecmp(hc, "localhost") == 0;
    return NULL;
}

/* Docker's size syntax: 512m, 1.5g, 2GiB, 1048576 */
static int is_size(const char *s)
{
    const char *c = s;
    if (!isdigit((unsigned char)*c))
        return 0;
    while (isdigit((unsigned char)*c))
        c++;
    if (*c == '.') {
        c++;
        if (!isdigit((unsigned char)*c))
            return 0;
        while (isdigit((unsigned char)*c))
            c++;
    }
    if (*c == ' ')
        c++;
    if (*c && strchr("kKmMgGtTpP", *c)) {
        c++;
        if (*c == 'i' || *c == 'I')
            c++;
    }
    if (*c == 'b' || *c == 'B')
        c++;
    return *c == '\0';
}

static int is_positive_decimal(const char *s)
{
    char *end;
    if (!isdigit((unsigned char)*s))
        return 0;
    double d = strtod(s, &end);
    return *end == '\0' && d > 0 && isfinite(d);
}

static const char *get_size(vctx_t *v, json_t *j, const char *path,
                            const char *example)
{
    if (json_is_number(j)) {
        if (json_is_integer(j) && json_integer_value(j) > 0)
            return apr_psprintf(v->pool, "%" JSON_INTEGER_FORMAT,
                                json_integer_value(j));
        error_at(v, path, "must be a whole number of bytes greater than 0, "
                 "or a size such as \"%s\"; leave it out for no limit",
                 example);
        return NULL;
    }
    if (!json_is_string(j)) {
        error_at(v, path, "expected a size such as \"%s\", found %s", example,
                 kind_of(j));
        return NULL;
    }
    if (is_size(json_string_value(j)) && strtod(json_string_value(j), NULL) <= 0) {
        error_at(v, path, "must be greater than 0; leave it out for no limit");
        return NULL;
    }
    if (!is_size(json_string_value(j))) {
        error_at(v, path, "\"%s\" is not a size; use a number with an "
                 "optional unit b, k, m or g, such as \"%s\"",
                 json_string_value(j), example);
        return NULL;
    }
    return apr_pstrdup(v->pool, json_string_value(j));
}

static const char *get_cpus(vctx_t *v, json_t *j, const char *path)
{
    if (json_is_number(j)) {
        double d = json_number_value(j);
        if (d > 0) {
            char num[32];
            snprintf(num, sizeof num, "%g", d); /* apr's %g drops the 0 */
            return apr_pstrdup(v->pool, num);
        }
        error_at(v, path, "CPU limit must be greater than 0");
        return NULL;
    }
    if (!json_is_string(j)) {
        error_at(v, path, "expected a number of CPUs such as \"1.5\", found %s",
                 kind_of(j));
        return NULL;
    }
    if (!is_positive_decimal(json_string_value(j))) {
        error_at(v, path, "\"%s\" is not a number of CPUs greater than 0, "
                 "such as \"1.5\"", json_string_value(j));
        return NULL;
    }
    return apr_pstrdup(v->pool, json_string_value(j));
}

static const char *get_network(vctx_t *v, json_t *j, const char *path)
{
    const char *s = get_string(v, j, path, 1);
    if (!s)
        return NULL;
    for (const char *c = s; *c; c++) {
        if (!isalnum((unsigned char)*c) &&
            (c == s || !strchr("_.:-", *c))) {
            error_at(v, path, "\"%s\" is not a Docker network name; use "
                     "\"none\", \"bridge\", \"host\" or a network's name", s);
            return NULL;
        }
    }
    return s;
}

static int url_ok(const char *url)
{
    const char *rest;
    if (apr_cstr_casecmpn(url, "http://", 7) == 0)
        rest = url + 7;
    else if (apr_cstr_casecmpn(url, "https://", 8) == 0)
        rest = url + 8;
    else
        return 0;
    const char *at = strpbrk(rest, "@/?#");
    if (at && *at == '@')
        rest = at + 1;
    if (!*rest || strchr("/?#:", *rest))
        return 0;
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= ' ')
            return 0;
    return 1;
}

const char *berth_config_redact_url(const char *url, apr_pool_t *pool)
{
    apr_size_t us, ue;
    const char *out = berth_url_userinfo(url, &us, &ue)
                          ? apr_pstrcat(pool, apr_pstrmemdup(pool, url, us),
                                        "***@", url + ue, NULL)
                          : apr_pstrdup(pool, url);
    /* Query values may carry API keys: keep the names, hide the values. */
    char *q = strchr(out, '?');
    if (!q)
        return out;
    char *frag = strchr(q, '#');
    const char *tail = frag ? apr_pstrdup(pool, frag) : "";
    if (frag)
        *frag = '\0';
    const char *res = apr_pstrmemdup(pool, out, (apr_size_t)(q - out + 1));
    char *last;
    int first = 1;
    for (char *part = apr_strtok(q + 1, "&", &last); part;
         part = apr_strtok(NULL, "&", &last)) {
        char *eq = strchr(part, '=');
        if (eq)
            *eq = '\0';
        res = apr_pstrcat(pool, res, first ? "" : "&", part, eq ? "=***" : "",
                          NULL);
        first = 0;
    }
    return apr_pstrcat(pool, res, tail, NULL);
}

/* ---- sections --------------------------------------------------------- */

/* A string that must be one of two words: 0 for the first, 1 for the
 * second; -1 when absent or wrong (reported: "x" is not WHAT; use USE). */
static int parse_word(vctx_t *v, json_t *j, const char *path,
                      const char *first, const char *second, const char *what,
                      const char *use)
{
    const char *s = get_string(v, j, path, 0);
    if (!s)
        return -1;
    if (strcmp(s, first) == 0)
        return 0;
    if (strcmp(s, second) == 0)
        return 1;
    error_at(v, path, "\"%s\" is not %s; use %s", s, what, use);
    return -1;
}

static void parse_mode(vctx_t *v, json_t *j, const char *path,
                       berth_isolation_mode_t *out)
{
    int w = parse_word(v, j, path, "docker", "none", "an isolation mode",
                       "\"docker\" or \"none\"");
    if (w >= 0)
        *out = w == 0 ? BERTH_ISOLATION_DOCKER : BERTH_ISOLATION_NONE;
}

static void parse_isolation(vctx_t *v, json_t *j, const char *path,
                            berth_isolation_t *iso, berth_config_t *cfg)
{
    const char *key;
    json_t *val;
    if (!want_type(v, j, path, JSON_OBJECT, "an object"))
        return;
    check_keys(v, j, path, cfg ? global_isolation_keys : server_isolation_keys,
               cfg ? "docker_isolation" : "a server's isolation");
    json_object_foreach(j, key, val) {
        const char *kp = berth_jsonpath_member(v->pool, path, key);
        if (strcmp(key, "mode") == 0) {
            parse_mode(v, val, kp, &iso->mode);
        } else if (strcmp(key, "enabled") == 0) {
            get_bool(v, val, kp, &iso->enabled);
        } else if (strcmp(key, "image") == 0 && !cfg) {
            iso->image = get_string(v, val, kp, 1);
        } else if (strcmp(key, "network_mode") == 0) {
            iso->network_mode = get_network(v, val, kp);
        } else if (strcmp(key, "memory_limit") == 0) {
            iso->memory_limit = get_size(v, val, kp, "512m");
        } else if (strcmp(key, "cpu_limit") == 0) {
            iso->cpu_limit = get_cpus(v, val, kp);
        } else if (strcmp(key, "extra_args") == 0) {
            iso->extra_args = get_string_array(v, val, kp);
        } else if (cfg && strcmp(key, "log_max_size") == 0) {
            cfg->log_max_size = get_size(v, val, kp, "10m");
        } else if (cfg && strcmp(key, "log_max_files") == 0) {
            json_int_t n = 0;
            if (json_is_integer(val))
                n = json_integer_value(val);
            else if (json_is_string(val) && isdigit((unsigned char)
                         *json_string_value(val)) &&
                     strspn(json_string_value(val), "0123456789") ==
                         strlen(json_string_value(val)))
                n = (json_int_t)atoll(json_string_value(val));
            else
                n = -1;
            if (n < 1 || n > 1000)
                error_at(v, kp, "expected a number of files from 1 to 1000");
            else
                cfg->log_max_files = (int)n;
        } else if (cfg && strcmp(key, "images") == 0) {
            const char *rk;
            json_t *rv;
            if (!want_type(v, val, kp, JSON_OBJECT, "an object"))
                continue;
            check_keys(v, val, kp, image_keys, "docker_isolation.images");
            json_object_foreach(val, rk, rv) {
                if (!known_key(rk, image_keys))
                    continue;
                const char *img = get_string(
                    v, rv, berth_jsonpath_member(v->pool, kp, rk), 1);
                if (img) {
                    berth_kv_t *kv = apr_array_push(cfg->images);
                    kv->key = apr_pstrdup(v->pool, rk);
                    kv->value = img;
                }
            }
        }
    }
    if (iso->mode != BERTH_ISOLATION_UNSET && iso->enabled >= 0 &&
        (iso->mode == BERTH_ISOLATION_DOCKER) != (iso->enabled == 1))
        warn_key(v, berth_jsonpath_member(v->pool, path, "enabled"),
                 "\"enabled\": %s contradicts \"mode\": \"%s\"; \"mode\" wins",
                 iso->enabled ? "true" : "false",
                 iso->mode == BERTH_ISOLATION_DOCKER ? "docker" : "none");
}

static void parse_timeouts(vctx_t *v, json_t *j, const char *path,
                           berth_timeouts_t *t)
{
    const char *key;
    json_t *val;
    if (!want_type(v, j, path, JSON_OBJECT, "an object"))
        return;
    check_keys(v, j, path, timeout_keys, "timeouts");
    json_object_foreach(j, key, val) {
        const char *kp = berth_jsonpath_member(v->pool, path, key);
        double *slot = strcmp(key, "initialize") == 0 ? &t->initialize
                     : strcmp(key, "call") == 0       ? &t->call
                     : strcmp(key, "shutdown") == 0   ? &t->shutdown
                                                      : NULL;
        if (!slot)
            continue;
        if (!json_is_number(val)) {
            error_at(v, kp, "expected a number of seconds, found %s",
                     kind_of(val));
            continue;
        }
        double d = json_number_value(val);
        if (!(d > 0) || d > 86400)
            error_at(v, kp, "timeout must be more than 0 and at most 86400 "
                     "seconds");
        else
            *slot = d;
    }
}

/* "http": the Streamable HTTP front's limits. */
static void parse_http(vctx_t *v, json_t *j, const char *path,
                       berth_config_t *cfg)
{
    const char *key;
    json_t *val;
    if (!want_type(v, j, path, JSON_OBJECT, "an object"))
        return;
    check_keys(v, j, path, http_keys, "http");
    json_object_foreach(j, key, val) {
        const char *kp = berth_jsonpath_member(v->pool, path, key);
        if (strcmp(key, "session_idle") == 0) {
            if (!json_is_number(val))
                error_at(v, kp, "expected a number of seconds, found %s",
                         kind_of(val));
            else if (!(json_number_value(val) >= 1) ||
                     json_number_value(val) > 7 * 86400)
                error_at(v, kp, "session_idle must be 1 to 604800 seconds");
            else
                cfg->http_session_idle = json_number_value(val);
        } else if (strcmp(key, "max_body") == 0) {
            if (!json_is_integer(val))
                error_at(v, kp, "expected a number of bytes, found %s",
                         kind_of(val));
            else if (json_integer_value(val) < 1024 ||
                     json_integer_value(val) > 1024L * 1024 * 1024)
                error_at(v, kp, "max_body must be 1024 to 1073741824 bytes");
            else
                cfg->http_max_body = (long)json_integer_value(val);
        } else if (strcmp(key, "spin_us") == 0) {
            if (!json_is_integer(val))
                error_at(v, kp, "expected a number of microseconds, found %s",
                         kind_of(val));
            else if (json_integer_value(val) < 0 ||
                     json_integer_value(val) > 10000)
                error_at(v, kp, "spin_us must be 0 (off) to 10000 "
                         "microseconds");
            else
                cfg->http_spin_us = (long)json_integer_value(val);
        } else if (strcmp(key, "allowed_origins") == 0) {
            size_t i;
            json_t *o;
            if (!want_type(v, val, kp, JSON_ARRAY, "an array of origins"))
                continue;
            cfg->http_origins = apr_array_make(v->pool, 4,
                                               sizeof(const char *));
            json_array_foreach(val, i, o) {
                const char *ip = berth_jsonpath_index(v->pool, kp, i);
                const char *os = get_string(v, o, ip, 0);
                if (!os)
                    continue;
                size_t n = strlen(os);
                if ((strncmp(os, "http://", 7) != 0 &&
                     strncmp(os, "https://", 8) != 0) ||
                    strchr(os + (os[4] == 's' ? 8 : 7), '/') || n < 9)
                    error_at(v, ip, "\"%s\" is not an origin; write "
                             "scheme://host[:port], like "
                             "\"https://app.example.com\"", os);
                else
                    APR_ARRAY_PUSH(cfg->http_origins, const char *) = os;
            }
        }
    }
}

static void parse_namespace(vctx_t *v, json_t *j, const char *path,
                            berth_namespace_t *ns)
{
    int w = parse_word(v, j, path, "prefix", "none", "a namespace mode",
                       "\"prefix\" (tools named <server>__<tool>) or "
                       "\"none\"");
    if (w >= 0)
        *ns = w == 0 ? BERTH_NAMESPACE_PREFIX : BERTH_NAMESPACE_NONE;
}

static void parse_env_section(vctx_t *v, json_t *j, const char *path,
                              berth_config_t *cfg)
{
    const char *key;
    json_t *val;
    if (!want_type(v, j, path, JSON_OBJECT, "an object"))
        return;
    check_keys(v, j, path, env_keys, "env");
    json_object_foreach(j, key, val) {
        const char *kp = berth_jsonpath_member(v->pool, path, key);
        if (strcmp(key, "allow") == 0) {
            apr_array_header_t *a = get_string_array(v, val, kp);
            for (int i = 0; a && i < a->nelts; i++) {
                const char *name = APR_ARRAY_IDX(a, i, const char *);
                const char *star = strchr(name, '*');
                const char *ep = berth_jsonpath_index(v->pool, kp, (size_t)i);
                if (!*name || strchr(name, '=') || (star && star[1]) ||
                    star == name)
                    error_at(v, ep, "\"%s\" is not a variable name or a "
                             "prefix ending in \"*\"", name);
                else
                    APR_ARRAY_PUSH(cfg->env_allow, const char *) = name;
            }
        } else if (strcmp(key, "allow_defaults") == 0) {
            get_bool(v, val, kp, &cfg->env_allow_defaults);
        } else if (strcmp(key, "forward_proxy_env") == 0) {
            get_bool(v, val, kp, &cfg->forward_proxy_env);
        }
    }
}

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

/* A path of this machine: absolute, home-relative or relative. */
static int host_path(const char *a)
{
    return a[0] == '/' || strncmp(a, "~/", 2) == 0 ||
           strncmp(a, "./", 2) == 0 || strncmp(a, "../", 3) == 0 ||
           (isalpha((unsigned char)a[0]) && a[1] == ':' &&
            (a[2] == '\\' || a[2] == '/'));
}

/* An isolated server runs in a container: a path of this machine in its
 * arguments points at nothing there unless it is mounted. */
/* The container folders that extra args mount (-v H:C, --volume=H:C,
 * --mount ...,target=C), into TARGETS. */
static void mount_targets(const apr_array_header_t *extra,
                          apr_array_header_t *targets, apr_pool_t *pool)
{
    for (int i = 0; extra && i < extra->nelts; i++) {
        const char *a = APR_ARRAY_IDX(extra, i, const char *);
        const char *val = NULL;
        int mount = 0;
        if ((strcmp(a, "-v") == 0 || strcmp(a, "--volume") == 0 ||
             strcmp(a, "--mount") == 0) && i + 1 < extra->nelts) {
            mount = strcmp(a, "--mount") == 0;
            val = APR_ARRAY_IDX(extra, ++i, const char *);
        } else if (strncmp(a, "-v", 2) == 0 && a[2] != '-') {
            val = a + 2;
        } else if (strncmp(a, "--volume=", 9) == 0) {
            val = a + 9;
        } else if (strncmp(a, "--mount=", 8) == 0) {
            val = a + 8;
            mount = 1;
        }
        if (!val)
            continue;
        if (mount) {
            static const char *const keys[] = { "target=", "dst=",
                                                "destination=", NULL };
            for (const char *const *k = keys; *k; k++) {
                const char *t = strstr(val, *k);
                if (t) {
                    t += strlen(*k);
                    APR_ARRAY_PUSH(targets, const char *) =
                        apr_pstrmemdup(pool, t, strcspn(t, ","));
                }
            }
        } else {
            const char *c = strchr(val, ':');
            /* "C:\x:/y" on Windows hosts: the drive colon is not it */
            if (c && c - val == 1 && strchr(c + 1, ':'))
                c = strchr(c + 1, ':');
            if (c)
                APR_ARRAY_PUSH(targets, const char *) =
                    apr_pstrmemdup(pool, c + 1, strcspn(c + 1, ":"));
        }
    }
}

static int under_target(const char *p, const apr_array_header_t *targets)
{
    for (int i = 0; i < targets->nelts; i++) {
        const char *t = APR_ARRAY_IDX(targets, i, const char *);
        size_t n = strlen(t);
        while (n > 1 && t[n - 1] == '/')
            n--;
        if (n && strncmp(p, t, n) == 0 && (p[n] == '\0' || p[n] == '/'))
            return 1;
    }
    return 0;
}

static void warn_host_paths(vctx_t *v, const char *path,
                            const berth_config_t *cfg,
                            const berth_server_config_t *s)
{
    apr_array_header_t *targets = apr_array_make(v->pool, 4,
                                                 sizeof(const char *));
    mount_targets(cfg->isolation.extra_args, targets, v->pool);
    mount_targets(s->isolation.extra_args, targets, v->pool);
    for (int i = 0; s->args && i < s->args->nelts; i++) {
        const char *a = APR_ARRAY_IDX(s->args, i, const char *);
        const char *eq = a[0] == '-' ? strchr(a, '=') : NULL;
        const char *p = eq ? eq + 1 : a;
        if (!host_path(p) || under_target(p, targets))
            continue;
        warn_at(v, berth_jsonpath_index(
                       v->pool, berth_jsonpath_member(v->pool, path, "args"),
                       (size_t)i),
                "\"%s\" is a path on this machine; the server runs in a "
                "container where it does not exist unless mounted (add "
                "\"-v\", \"HOST:CONTAINER\" to isolation.extra_args)", p);
    }
}

static void parse_server(vctx_t *v, json_t *j, const char *path,
                         berth_server_config_t *s, const berth_config_t *cfg)
{
    const char *key;
    json_t *val;
    const char *type = NULL;
    int has_cwd = 0;
    check_keys(v, j, path, server_keys, "a server entry");
    json_object_foreach(j, key, val) {
        const char *kp = berth_jsonpath_member(v->pool, path, key);
        if (strcmp(key, "command") == 0) {
            s->command = get_string(v, val, kp, 1);
            if (s->command)
                check_placeholder(v, kp, NULL, s->command);
        } else if (strcmp(key, "args") == 0) {
            s->args = get_string_array(v, val, kp);
        } else if (strcmp(key, "env") == 0) {
            s->env = get_secret_map(v, val, kp, 0);
        } else if (strcmp(key, "headers") == 0) {
            s->headers = get_secret_map(v, val, kp, 1);
        } else if (strcmp(key, "cwd") == 0 || strcmp(key, "working_dir") == 0) {
            if (has_cwd++)
                error_key(v, kp, "\"cwd\" and \"working_dir\" are the same "
                          "setting; keep one");
            else
                s->cwd = get_string(v, val, kp, 1);
        } else if (strcmp(key, "url") == 0) {
            const char *u = get_string(v, val, kp, 1);
            if (u && !url_ok(u))
                error_at(v, kp, "not an http:// or https:// URL with a host");
            else
                s->url = u;
        } else if (strcmp(key, "type") == 0) {
            type = get_string(v, val, kp, 0);
            if (type && strcmp(type, "stdio") && strcmp(type, "http") &&
                strcmp(type, "streamable-http") &&
                strcmp(type, "streamableHttp") && strcmp(type, "sse")) {
                error_at(v, kp, "\"%s\" is not a server type; use \"stdio\", "
                         "\"http\" or \"sse\"", type);
                type = NULL;
            }
        } else if (strcmp(key, "disabled") == 0) {
            get_bool(v, val, kp, &s->disabled);
        } else if (strcmp(key, "isolation") == 0) {
            parse_isolation(v, val, kp, &s->isolation, NULL);
        } else if (strcmp(key, "timeouts") == 0) {
            parse_timeouts(v, val, kp, &s->timeouts);
        } else if (strcmp(key, "namespace") == 0) {
            parse_namespace(v, val, kp, &s->ns);
        }
    }

    int has_command = json_object_get(j, "command") != NULL;
    int has_url = json_object_get(j, "url") != NULL;
    if (has_command && has_url)
        error_key(v, path, "has both \"command\" and \"url\"; a server is "
                  "either a local command or a remote URL, keep one");
    else if (!has_command && !has_url)
        error_key(v, path, "needs \"command\" (a local server) or \"url\" "
                  "(a remote server)");

    s->transport = has_url && !has_command ? BERTH_TRANSPORT_HTTP
                                           : BERTH_TRANSPORT_STDIO;
    if (type) {
        int remote = strcmp(type, "stdio") != 0;
        const char *tp = berth_jsonpath_member(v->pool, path, "type");
        if (remote && has_command && !has_url)
            error_at(v, tp, "type \"%s\" is for remote servers and needs "
                     "\"url\"; a \"command\" server is \"stdio\"", type);
        else if (!remote && has_url && !has_command)
            error_at(v, tp, "type \"stdio\" needs \"command\"; a \"url\" "
                     "server is \"http\" or \"sse\"");
        else if (strcmp(type, "sse") == 0)
            s->transport = BERTH_TRANSPORT_SSE;
    }
    if (s->transport != BERTH_TRANSPORT_STDIO) {
        if (s->args)
            warn_key(v, berth_jsonpath_member(v->pool, path, "args"),
                     "ignored for a remote (url) server");
        if (s->env)
            warn_key(v, berth_jsonpath_member(v->pool, path, "env"),
                     "ignored for a remote (url) server");
        if (json_object_get(j, "isolation"))
            warn_key(v, berth_jsonpath_member(v->pool, path, "isolation"),
                     "remote (url) servers are never isolated; ignored");
    } else if (s->headers) {
        warn_key(v, berth_jsonpath_member(v->pool, path, "headers"),
                 "ignored for a local (command) server");
    }

    if (s->command && s->transport == BERTH_TRANSPORT_STDIO &&
        berth_isolation_effective(cfg, s, NULL) == BERTH_ISOLATION_DOCKER)
        warn_host_paths(v, path, cfg, s);

    if (s->command && berth_isolation_is_docker_command(s->command)) {
        int run = s->args && s->args->nelts > 0 &&
                  strcmp(APR_ARRAY_IDX(s->args, 0, const char *), "run") == 0;
        int interactive = 0;
        for (int i = 1; s->args && i < s->args->nelts; i++) {
            const char *a = APR_ARRAY_IDX(s->args, i, const char *);
            if (strcmp(a, "-i") == 0 || strcmp(a, "--interactive") == 0 ||
                strcmp(a, "--interactive=true") == 0 ||
                (a[0] == '-' && a[1] != '-' && strchr(a, 'i') &&
                 strspn(a + 1, "itd") == strlen(a + 1)))
                interactive = 1;
        }
        if (run && !interactive)
            warn_key(v, berth_jsonpath_member(v->pool, path, "args"),
                     "\"docker run\" without \"-i\": the server's stdin will "
                     "not be connected and MCP messages will not reach it");
        if (s->isolation.mode == BERTH_ISOLATION_DOCKER ||
            s->isolation.enabled == 1)
            warn_key(v, berth_jsonpath_member(v->pool, path, "isolation"),
                     "a server whose command is docker is never isolated "
                     "again; ignored");
    } else if (s->transport == BERTH_TRANSPORT_STDIO &&
               s->isolation.mode == BERTH_ISOLATION_UNSET &&
               s->isolation.enabled == 1 &&
               cfg->isolation.mode != BERTH_ISOLATION_DOCKER &&
               cfg->isolation.enabled != 1) {
        warn_key(v, berth_jsonpath_member(
                        v->pool, berth_jsonpath_member(v->pool, path,
                                                       "isolation"),
                        "enabled"),
                 "ignored because docker_isolation is off; set "
                 "\"mode\": \"docker\" here to isolate this server alone");
    }
}

static void parse_servers(vctx_t *v, json_t *j, const char *path,
                          berth_config_t *cfg)
{
    const char *name;
    json_t *val;
    apr_hash_t *seen = apr_hash_make(v->pool);
    if (!want_type(v, j, path, JSON_OBJECT, "an object of servers by name"))
        return;
    json_object_foreach(j, name, val) {
        const char *sp = berth_jsonpath_member(v->pool, path, name);
        if (!*name) {
            error_key(v, sp, "a server name must not be empty");
            continue;
        }
        if (!json_is_object(val)) {
            error_at(v, sp, "expected a server entry (an object with "
                     "\"command\" or \"url\"), found %s", kind_of(val));
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
            error_key(v, sp, "server name \"%s\" clashes with \"%s\" (line "
                      "%u): both normalise to \"%s\"; rename one", name,
                      other->name, other->pos.line, s->norm_name);
        else
            apr_hash_set(seen, s->norm_name, APR_HASH_KEY_STRING, s);
        parse_server(v, val, sp, s, cfg);
        APR_ARRAY_PUSH(cfg->servers, berth_server_config_t *) = s;
    }
}

static void parse_root(vctx_t *v, json_t *root, berth_config_t *cfg)
{
    const char *key;
    json_t *val;
    json_t *isolation = json_object_get(root, "docker_isolation");
    /* Global isolation first: server checks depend on it. */
    if (isolation)
        parse_isolation(v, isolation, "docker_isolation", &cfg->isolation, cfg);
    json_object_foreach(root, key, val) {
        const char *kp = berth_jsonpath_member(v->pool, "", key);
        if (strcmp(key, "listen") == 0) {
            const char *s = get_string(v, val, kp, 0);
            const char *why = s ? berth_config_parse_listen(
                                      s, &cfg->listen_host, &cfg->listen_port,
                                      &cfg->listen_loopback, v->pool)
                                : NULL;
            if (why)
                error_at(v, kp, "\"%s\" is not a listen address: %s", s, why);
            else if (s)
                cfg->listen = s;
        } else if (strcmp(key, "env") == 0) {
            parse_env_section(v, val, kp, cfg);
        } else if (strcmp(key, "timeouts") == 0) {
            parse_timeouts(v, val, kp, &cfg->timeouts);
        } else if (strcmp(key, "http") == 0) {
            parse_http(v, val, kp, cfg);
        } else if (strcmp(key, "namespace") == 0) {
            parse_namespace(v, val, kp, &cfg->ns);
        } else if (strcmp(key, "mcpServers") == 0 ||
                   strcmp(key, "servers") == 0) {
            if (cfg->servers_key) {
                error_key(v, kp, "both \"mcpServers\" and \"servers\" are "
                          "present; berth reads one list of servers, keep "
                          "one");
                continue;
            }
            cfg->servers_key = apr_pstrdup(v->pool, key);
            parse_servers(v, val, kp, cfg);
        } else if (strcmp(key, "docker_isolation") != 0) {
            const char *hint = berth_config_suggest(key, root_keys);
            if (hint && !json_object_get(root, "mcpServers") &&
                !json_object_get(root, "servers") &&
                (strcmp(hint, "mcpServers") == 0 ||
                 strcmp(hint, "servers") == 0))
                continue; /* reported as the missing server list below */
            if (hint)
                warn_key(v, kp, "unknown top-level key, ignored; did you mean "
                         "\"%s\"?", hint);
            else
                warn_key(v, kp, "unknown top-level key, ignored");
        }
    }
    if (!cfg->servers_key) {
        /* "mcpservers" would leave berth with nothing to run: say so. */
        static const char *const lists[] = { "mcpServers", "servers", NULL };
        json_object_foreach(root, key, val) {
            const char *hint = berth_config_suggest(key, lists);
            if (hint) {
                error_key(v, berth_jsonpath_member(v->pool, "", key),
                          "no server list: keys are case-sensitive, this "
                          "must be \"%s\"", hint);
                return;
            }
        }
        warn_at(v, "", "no servers configured; add an \"mcpServers\" object");
    }
}

/* Two servers that keep their names (namespace "none") may offer the same
 * tool or prompt name: said once per pair with the first such server. */
static void warn_unprefixed(vctx_t *v, berth_config_t *cfg)
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
        warn_at(v, berth_jsonpath_member(v->pool, cfg->servers_key, s->name),
                "%s and %s both keep their tool and prompt names (namespace "
                "\"none\"): when both offer a name, berth serve keeps it for "
                "%s, gives %s's a hash suffix and logs the collision", first,
                s->name, first, s->name);
    }
}

static void apply_defaults(berth_config_t *cfg)
{
    if (!cfg->listen) {
        cfg->listen = BERTH_DEFAULT_LISTEN;
        berth_config_parse_listen(cfg->listen, &cfg->listen_host,
                                  &cfg->listen_port, &cfg->listen_loopback,
                                  cfg->servers->pool);
    }
    if (!cfg->timeouts.initialize)
        cfg->timeouts.initialize = BERTH_DEFAULT_INITIALIZE_TIMEOUT;
    if (!cfg->timeouts.call)
        cfg->timeouts.call = BERTH_DEFAULT_CALL_TIMEOUT;
    if (!cfg->timeouts.shutdown)
        cfg->timeouts.shutdown = BERTH_DEFAULT_SHUTDOWN_TIMEOUT;
    if (cfg->ns == BERTH_NAMESPACE_UNSET)
        cfg->ns = BERTH_NAMESPACE_PREFIX;
    for (int i = 0; i < cfg->servers->nelts; i++) {
        berth_server_config_t *s =
            APR_ARRAY_IDX(cfg->servers, i, berth_server_config_t *);
        if (!s->timeouts.initialize)
            s->timeouts.initialize = cfg->timeouts.initialize;
        if (!s->timeouts.call)
            s->timeouts.call = cfg->timeouts.call;
        if (!s->timeouts.shutdown)
            s->timeouts.shutdown = cfg->timeouts.shutdown;
        if (s->ns == BERTH_NAMESPACE_UNSET)
            s->ns = cfg->ns;
    }
}

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

apr_status_t berth_config_parse(const char *file, const char *text,
                                size_t len, berth_config_t **out,
                                apr_array_header_t *diags, apr_pool_t *pool)
{
    vctx_t v = { pool, file, NULL, diags, 0 };
    int first = diags->nelts;
    char *buf = apr_pstrmemdup(pool, text, len);
    json_error_t jerr;

    *out = NULL;
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
    if (!root) {
        berth_diag_t *d = apr_array_push(diags);
        berth_textpos_t tp;
        if (!why) {
            /* Syntax was fine; jansson refused something else (invalid
             * UTF-8, a NUL escape). Its text may quote the value: keep the
             * reason only. */
            char *quoted = strstr(jerr.text, " near ");
            if (quoted)
                *quoted = '\0';
            why = apr_pstrdup(pool, jerr.text);
            bad = jerr.position > 0 ? (size_t)jerr.position : 0;
        }
        tp = berth_textpos_of(buf, len, bad);
        d->severity = BERTH_DIAG_ERROR;
        d->file = file;
        d->line = tp.line;
        d->column = tp.column;
        d->path = "";
        d->message = apr_psprintf(pool, "invalid JSON: %s", why);
        return BERTH_ECONFIG;
    }
    v.pos = berth_jsonpos_index(buf, len, pool);

    berth_config_t *cfg = apr_pcalloc(pool, sizeof *cfg);
    cfg->file = file;
    cfg->images = apr_array_make(pool, 0, sizeof(berth_kv_t));
    cfg->env_allow = apr_array_make(pool, 0, sizeof(const char *));
    cfg->env_allow_defaults = 1;
    cfg->isolation.enabled = -1;
    cfg->http_spin_us = -1;
    cfg->servers = apr_array_make(pool, 8, sizeof(berth_server_config_t *));

    const apr_array_header_t *dups = berth_jsonpos_dups(v.pos);
    for (int i = 0; i < dups->nelts; i++) {
        const berth_jsonpos_dup_t *d = &APR_ARRAY_IDX(dups, i,
                                                      berth_jsonpos_dup_t);
        berth_diag_t *dd = apr_array_push(diags);
        berth_textpos_t at = berth_jsonpos_at(v.pos, d->offset);
        berth_textpos_t was = berth_jsonpos_at(v.pos, d->first_offset);
        dd->severity = BERTH_DIAG_ERROR;
        dd->file = file;
        dd->line = at.line;
        dd->column = at.column;
        dd->path = d->path;
        dd->message = apr_psprintf(pool, "duplicate key (first at line %u, "
                                   "column %u); only one is used, remove the "
                                   "other", was.line, was.column);
        v.errors++;
    }

    if (!json_is_object(root))
        error_at(&v, "", "the config must be a JSON object, found %s",
                 kind_of(root));
    else
        parse_root(&v, root, cfg);
    json_decref(root);

    apply_defaults(cfg);
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
