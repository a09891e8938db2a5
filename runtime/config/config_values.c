/* Value formats: each getter checks one JSON value and reports its own
 * error; the listen address, Docker's sizes, CPUs and network names, URLs
 * and their redaction. */
#include "config_parse.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_cstr.h>
#include <apr_strings.h>

#include "redact.h"

/* ---- strings, arrays, secret maps ------------------------------------ */

/* VS Code fills ${input:...} by prompting and expands ${env:...} and
 * ${workspaceFolder}; berth starts servers unattended and expands nothing, so
 * such a value would reach the server literally. The value itself is not
 * quoted: it may be a secret. */
void cfg_check_placeholder(cfg_ctx_t *v, const char *path, const char *shown,
                           const char *value)
{
    static const char *const vars[] = { "${input:", "${env:",
                                        "${workspaceFolder", "${userHome",
                                        "${pathSeparator", NULL };
    for (const char *const *p = vars; *p; p++) {
        if (strstr(value, *p)) {
            cfg_report(v, BERTH_DIAG_WARNING, path, shown, 0, "contains the "
                       "VS Code variable %s...}, which berth does not expand; "
                       "write the value itself", *p);
            return;
        }
    }
}

int cfg_want_type(cfg_ctx_t *v, json_t *j, const char *path, json_type type,
                  const char *wanted)
{
    int ok = json_typeof(j) == type ||
             (type == JSON_TRUE && json_typeof(j) == JSON_FALSE);
    if (!ok)
        cfg_error_at(v, path, "expected %s, found %s", wanted, cfg_kind_of(j));
    return ok;
}

const char *cfg_get_string(cfg_ctx_t *v, json_t *j, const char *path,
                           int nonempty)
{
    if (!cfg_want_type(v, j, path, JSON_STRING, "a string"))
        return NULL;
    const char *s = json_string_value(j);
    if (nonempty) {
        const char *c = s;
        while (*c && isspace((unsigned char)*c))
            c++;
        if (!*c) {
            cfg_error_at(v, path, "must not be empty");
            return NULL;
        }
    }
    return apr_pstrdup(v->pool, s);
}

int cfg_get_bool(cfg_ctx_t *v, json_t *j, const char *path, int *out)
{
    if (!cfg_want_type(v, j, path, JSON_TRUE, "true or false"))
        return 0;
    *out = json_is_true(j);
    return 1;
}

apr_array_header_t *cfg_get_string_array(cfg_ctx_t *v, json_t *j,
                                         const char *path)
{
    if (!cfg_want_type(v, j, path, JSON_ARRAY, "an array of strings"))
        return NULL;
    apr_array_header_t *out =
        apr_array_make(v->pool, (int)json_array_size(j), sizeof(const char *));
    size_t i;
    json_t *el;
    json_array_foreach(j, i, el) {
        const char *ep = berth_jsonpath_index(v->pool, path, i);
        if (!json_is_string(el)) {
            cfg_error_at(v, ep, "expected a string, found %s",
                         cfg_kind_of(el));
            continue;
        }
        APR_ARRAY_PUSH(out, const char *) =
            apr_pstrdup(v->pool, json_string_value(el));
        cfg_check_placeholder(v, ep, NULL, json_string_value(el));
    }
    return out;
}

apr_array_header_t *cfg_get_secret_map(cfg_ctx_t *v, json_t *j,
                                       const char *path, int headers)
{
    const char *key;
    json_t *val;
    if (!cfg_want_type(v, j, path, JSON_OBJECT, "an object"))
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
            cfg_report(v, BERTH_DIAG_ERROR, kp, NULL, 1, "%s name must not "
                       "be empty", headers ? "header" : "variable");
            key_ok = 0;
        } else if (cut) {
            cfg_report(v, BERTH_DIAG_ERROR, kp, shown, 1, "%s name must not "
                       "contain '%c'; write \"NAME\": \"value\"",
                       headers ? "header" : "variable", *cut);
            key_ok = 0;
        } else if (headers) {
            for (const char *c = key; *c; c++) {
                if (!isalnum((unsigned char)*c) &&
                    !strchr("!#$%&'*+-.^_`|~", *c)) {
                    cfg_report(v, BERTH_DIAG_ERROR, kp, NULL, 1, "\"%s\" is "
                               "not a valid HTTP header name", key);
                    key_ok = 0;
                    break;
                }
            }
        }
        if (!json_is_string(val)) {
            cfg_report(v, BERTH_DIAG_ERROR, kp, shown, 0, "expected a "
                       "string, found %s; %s values are strings, quote the "
                       "value", cfg_kind_of(val),
                       headers ? "header" : "environment");
            continue;
        }
        if (headers && strpbrk(json_string_value(val), "\r\n")) {
            cfg_report(v, BERTH_DIAG_ERROR, kp, shown, 0, "header value "
                       "must not contain a line break");
            continue;
        }
        cfg_check_placeholder(v, kp, shown, json_string_value(val));
        if (key_ok) {
            berth_kv_t *kv = apr_array_push(out);
            kv->key = apr_pstrdup(v->pool, key);
            kv->value = apr_pstrdup(v->pool, json_string_value(val));
        }
    }
    return out;
}

/* ---- formats ----------------------------------------------------------- */

/* A dotted quad (no leading zeros); its bytes into OUT when not NULL. */
static int parse_ipv4(const char *s, size_t n, unsigned char *out)
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
        if (out)
            out[parts] = (unsigned char)val;
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

/* RFC 4291 text (a zone after '%' allowed); its 16 bytes into OUT. */
static int parse_ipv6(const char *s, size_t n, unsigned char *out)
{
    unsigned char b[16] = { 0 };
    int groups = 0, gap = -1; /* gap: the group index where "::" stands */
    size_t i = 0;
    const char *pct = memchr(s, '%', n);
    if (pct) {
        if ((size_t)(pct - s) + 1 == n)
            return 0; /* empty zone */
        n = (size_t)(pct - s);
    }
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (n >= 1 && s[0] == ':') {
        return 0;
    }
    while (i < n) {
        size_t start = i;
        unsigned val = 0;
        for (; i < n && isxdigit((unsigned char)s[i]); i++)
            val = val * 16 + (unsigned)(isdigit((unsigned char)s[i])
                                            ? s[i] - '0'
                                            : (s[i] | 0x20) - 'a' + 10);
        if (i < n && s[i] == '.') {
            /* an embedded IPv4 tail */
            if (groups > 6 || !parse_ipv4(s + start, n - start,
                                          b + 2 * groups))
                return 0;
            groups += 2;
            i = n;
            break;
        }
        if (i == start || i - start > 4 || groups == 8)
            return 0;
        b[2 * groups] = (unsigned char)(val >> 8);
        b[2 * groups + 1] = (unsigned char)val;
        groups++;
        if (i == n)
            break;
        if (s[i] != ':')
            return 0;
        i++;
        if (i < n && s[i] == ':') {
            if (gap >= 0)
                return 0;
            gap = groups;
            i++;
        } else if (i == n) {
            return 0;
        }
    }
    if (gap < 0 ? groups != 8 : groups >= 8)
        return 0;
    if (out) {
        /* the groups after "::" go to the end, zeros between */
        int tail = groups - (gap < 0 ? groups : gap);
        memset(out, 0, 16);
        memcpy(out, b, (size_t)(2 * (groups - tail)));
        memcpy(out + 16 - 2 * tail, b + 2 * (groups - tail),
               (size_t)(2 * tail));
    }
    return 1;
}

int berth_config_loopback_host(const char *h, size_t n)
{
    unsigned char b[16];
    static const unsigned char one[16] = { [15] = 1 };
    static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
    if (n == 9 && apr_cstr_casecmpn(h, "localhost", 9) == 0)
        return 1;
    if (parse_ipv4(h, n, b))
        return b[0] == 127;
    if (!parse_ipv6(h, n, b))
        return 0;
    /* ::1, or an IPv4 loopback address mapped into IPv6 */
    return memcmp(b, one, 16) == 0 ||
           (memcmp(b, mapped, 12) == 0 && b[12] == 127);
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
        if (!parse_ipv6(h, hl, NULL))
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
            !parse_ipv4(h, hl, NULL))
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
        *loopback = berth_config_loopback_host(h, hl);
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

const char *cfg_get_size(cfg_ctx_t *v, json_t *j, const char *path,
                         const char *example)
{
    if (json_is_number(j)) {
        if (json_is_integer(j) && json_integer_value(j) > 0)
            return apr_psprintf(v->pool, "%" JSON_INTEGER_FORMAT,
                                json_integer_value(j));
        cfg_error_at(v, path, "must be a whole number of bytes greater than "
                     "0, or a size such as \"%s\"; leave it out for no "
                     "limit", example);
        return NULL;
    }
    if (!json_is_string(j)) {
        cfg_error_at(v, path, "expected a size such as \"%s\", found %s",
                     example, cfg_kind_of(j));
        return NULL;
    }
    const char *s = json_string_value(j);
    if (is_size(s) && strtod(s, NULL) <= 0) {
        cfg_error_at(v, path, "must be greater than 0; leave it out for no "
                     "limit");
        return NULL;
    }
    if (!is_size(s)) {
        cfg_error_at(v, path, "\"%s\" is not a size; use a number with an "
                     "optional unit b, k, m or g, such as \"%s\"", s,
                     example);
        return NULL;
    }
    return apr_pstrdup(v->pool, s);
}

const char *cfg_get_cpus(cfg_ctx_t *v, json_t *j, const char *path)
{
    if (json_is_number(j)) {
        double d = json_number_value(j);
        if (d > 0) {
            char num[32];
            snprintf(num, sizeof num, "%g", d); /* apr's %g drops the 0 */
            return apr_pstrdup(v->pool, num);
        }
        cfg_error_at(v, path, "CPU limit must be greater than 0");
        return NULL;
    }
    if (!json_is_string(j)) {
        cfg_error_at(v, path, "expected a number of CPUs such as \"1.5\", "
                     "found %s", cfg_kind_of(j));
        return NULL;
    }
    if (!is_positive_decimal(json_string_value(j))) {
        cfg_error_at(v, path, "\"%s\" is not a number of CPUs greater than "
                     "0, such as \"1.5\"", json_string_value(j));
        return NULL;
    }
    return apr_pstrdup(v->pool, json_string_value(j));
}

const char *cfg_get_network(cfg_ctx_t *v, json_t *j, const char *path)
{
    const char *s = cfg_get_string(v, j, path, 1);
    if (!s)
        return NULL;
    for (const char *c = s; *c; c++) {
        if (!isalnum((unsigned char)*c) &&
            (c == s || !strchr("_.:-", *c))) {
            cfg_error_at(v, path, "\"%s\" is not a Docker network name; "
                         "use \"none\", \"bridge\", \"host\" or a "
                         "network's name", s);
            return NULL;
        }
    }
    return s;
}

int cfg_url_ok(const char *url)
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

