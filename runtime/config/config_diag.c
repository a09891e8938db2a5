/* Messages, suggestions and unknown keys: what every config*.c file uses
 * to report a problem. */
#include "config_parse.h"

#include <ctype.h>
#include <stdarg.h>
#include <string.h>

#include <apr_cstr.h>
#include <apr_strings.h>

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

static void vreport(cfg_ctx_t *v, berth_diag_severity_t sev, const char *path,
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

void cfg_report(cfg_ctx_t *v, berth_diag_severity_t sev, const char *path,
                const char *shown, int at_key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(v, sev, path, shown, at_key, fmt, ap);
    va_end(ap);
}

void cfg_error_at(cfg_ctx_t *v, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(v, BERTH_DIAG_ERROR, path, NULL, 0, fmt, ap);
    va_end(ap);
}

void cfg_error_key(cfg_ctx_t *v, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(v, BERTH_DIAG_ERROR, path, NULL, 1, fmt, ap);
    va_end(ap);
}

void cfg_warn_key(cfg_ctx_t *v, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(v, BERTH_DIAG_WARNING, path, NULL, 1, fmt, ap);
    va_end(ap);
}

void cfg_warn_at(cfg_ctx_t *v, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(v, BERTH_DIAG_WARNING, path, NULL, 0, fmt, ap);
    va_end(ap);
}

const char *cfg_kind_of(const json_t *j)
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
        if (d > limit && shorter >= 3 &&
            apr_cstr_casecmpn(word, *k, shorter) == 0)
            d = limit;
        if (d <= limit && d < best_d) {
            best = *k;
            best_d = d;
        }
    }
    return best;
}

int cfg_known_key(const char *key, const char *const *known)
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

int cfg_check_keys(cfg_ctx_t *v, json_t *obj, const char *path,
                   const char *const *known, const char *what,
                   int server_entry)
{
    const char *key;
    json_t *val;
    int n = 0;
    json_object_foreach(obj, key, val) {
        if (cfg_known_key(key, known))
            continue;
        const char *kp = berth_jsonpath_member(v->pool, path, key);
        if (server_entry) {
            size_t c = 0;
            while (c < sizeof client_keys / sizeof client_keys[0] &&
                   strcmp(client_keys[c].key, key) != 0)
                c++;
            if (c < sizeof client_keys / sizeof client_keys[0]) {
                cfg_warn_key(v, kp, "%s", client_keys[c].note);
                continue;
            }
            if (strcmp(key, "envFile") == 0) {
                cfg_error_key(v, kp, "berth does not read env files; move "
                              "the variables into \"env\"");
                n++;
                continue;
            }
        }
        const char *hint = berth_config_suggest(key, known);
        if (hint)
            cfg_error_key(v, kp, "unknown key in %s; did you mean \"%s\"?",
                          what, hint);
        else
            cfg_error_key(v, kp, "unknown key in %s; known keys are: %s",
                          what, known_list(v->pool, known));
        n++;
    }
    return n;
}
