/* Which configured values are secrets (docs/config.md, "Secrets"). A value
 * is one because its name or its own shape says so, never merely because
 * it is configured: masking every value hid "ready" and every path under
 * "/srv", while a three-letter password went through. */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include <apr_cstr.h>

/* How a word of a name makes it say secret: anywhere in it, as a whole
 * part (parts are split at '_', '-' and '.'), or at the start of a part. */
typedef enum { ANYWHERE, PART, PART_START } word_rule_t;

static const struct {
    const char *word;
    word_rule_t rule;
} secret_words[] = {
    { "TOKEN", ANYWHERE },      { "SECRET", ANYWHERE },
    { "PASSWORD", ANYWHERE },   { "PASSWD", ANYWHERE },
    { "PASSPHRASE", ANYWHERE }, { "CREDENTIAL", ANYWHERE },
    { "PRIVATE", ANYWHERE },    { "APIKEY", ANYWHERE },
    { "ACCESSKEY", ANYWHERE },  { "COOKIE", ANYWHERE },
    { "KEY", PART },            { "KEYS", PART },
    { "PASS", PART },           { "PW", PART },
    { "PWD", PART },            { "PAT", PART },
    { "AUTH", PART_START },     { "OAUTH", PART_START },
};

/* What a token of a well-known service starts with. */
static const char *const token_prefixes[] = {
    "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-",
    "xoxb-", "xoxp-", "xoxa-", "xoxs-", "xapp-", "sk-", "sk_live_",
    "sk_test_", "rk_live_", "AKIA", "ASIA", "AIza", "npm_", "hf_", "pypi-",
    "dop_v1_", "eyJ", NULL
};

/* Values that switch something on or off: never secrets, whatever the
 * name (AUTH_ENABLED=true), or every "true" berth logs would be masked. */
static const char *const switches[] = { "true", "false", "yes", "no", "on",
                                        "off", NULL };

/* AUTH starts AUTHOR, AUTHORS and AUTHORITY too, which say nothing secret;
 * AUTHORIZATION and AUTHORISATION do. */
static int auth_part(const char *part, apr_size_t n)
{
    if (n < 6 || memcmp(part, "AUTHOR", 6) != 0)
        return 1;
    return n >= 8 && (memcmp(part + 6, "IZ", 2) == 0 ||
                      memcmp(part + 6, "IS", 2) == 0);
}

/* Whether the part UP[0, n) of an upper-cased name matches row W. */
static int part_matches(const char *up, apr_size_t n, size_t w)
{
    const char *word = secret_words[w].word;
    apr_size_t wl = strlen(word);
    if (secret_words[w].rule == PART)
        return n == wl && memcmp(up, word, n) == 0;
    if (n < wl || memcmp(up, word, wl) != 0)
        return 0;
    return strcmp(word, "AUTH") != 0 || auth_part(up, n);
}

/* The built-in words, on the upper-cased name UP. */
static int builtin_secret_name(const char *up)
{
    size_t nw = sizeof secret_words / sizeof secret_words[0];
    if (strcmp(up, "PWD") == 0) /* the shell's working folder */
        return 0;
    for (size_t w = 0; w < nw; w++)
        if (secret_words[w].rule == ANYWHERE && strstr(up, secret_words[w].word))
            return 1;
    for (const char *p = up; *p;) {
        apr_size_t n = strcspn(p, "_-.");
        for (size_t w = 0; w < nw; w++)
            if (secret_words[w].rule != ANYWHERE && part_matches(p, n, w))
                return 1;
        p += n;
        p += *p != '\0';
    }
    return 0;
}

/* Whether KEY matches an entry of NAMES ("NAME" or "PREFIX*"), ignoring
 * case: masking a value too many is the safe side. */
static int listed(const apr_array_header_t *names, const char *key,
                  apr_size_t n)
{
    for (int i = 0; names && i < names->nelts; i++) {
        const char *a = APR_ARRAY_IDX(names, i, const char *);
        apr_size_t al = strlen(a);
        if (al && a[al - 1] == '*'
                ? n >= al - 1 && apr_cstr_casecmpn(key, a, al - 1) == 0
                : n == al && apr_cstr_casecmpn(key, a, n) == 0)
            return 1;
    }
    return 0;
}

int berth_config_secret_name(const apr_array_header_t *names, const char *key,
                             apr_size_t key_len)
{
    char up[256];
    if (listed(names, key, key_len))
        return 1;
    if (key_len >= sizeof up)
        key_len = sizeof up - 1;
    for (apr_size_t i = 0; i < key_len; i++)
        up[i] = (char)toupper((unsigned char)key[i]);
    up[key_len] = '\0';
    return builtin_secret_name(up);
}

/* A long run of [A-Za-z0-9_+/=-] with a digit, an upper- and a lower-case
 * letter (random, not a word or a path), or 32 hex digits and more. */
static int random_looking(const char *v)
{
    apr_size_t n = strlen(v);
    int digit = 0, upper = 0, lower = 0, hex = 1;
    for (const char *c = v; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (!isalnum(u) && !strchr("_+/=-", u))
            return 0;
        digit |= isdigit(u) != 0;
        upper |= isupper(u) != 0;
        lower |= islower(u) != 0;
        hex &= isxdigit(u) != 0;
    }
    if (*v == '/')
        return 0; /* a path */
    return (n >= 20 && digit && upper && lower) || (n >= 32 && hex);
}

int berth_config_token_like(const char *value)
{
    apr_size_t n = strlen(value);
    if (apr_cstr_casecmpn(value, "Bearer ", 7) == 0 ||
        apr_cstr_casecmpn(value, "Basic ", 6) == 0)
        return n > 8;
    if (strpbrk(value, " \t\r\n"))
        return 0;
    for (const char *const *p = token_prefixes; *p; p++)
        if (strncmp(value, *p, strlen(*p)) == 0 && n >= 16)
            return 1;
    return random_looking(value);
}

/* Too short to hide anything, or a word that switches something. */
static int is_switch(const char *value)
{
    if (strlen(value) < 3)
        return 1;
    for (const char *const *s = switches; *s; s++)
        if (apr_cstr_casecmp(value, *s) == 0)
            return 1;
    return 0;
}

int berth_config_secret_env(const apr_array_header_t *names, const char *key,
                            apr_size_t key_len, const char *value)
{
    if (!value || is_switch(value))
        return 0;
    return berth_config_secret_name(names, key, key_len) ||
           berth_config_token_like(value);
}

void berth_config_server_secrets(const berth_config_t *cfg,
                                 const berth_server_config_t *srv,
                                 apr_array_header_t *out)
{
    const apr_array_header_t *names = cfg ? cfg->env_secrets : NULL;
    for (int i = 0; srv->env && i < srv->env->nelts; i++) {
        const berth_kv_t *kv = &APR_ARRAY_IDX(srv->env, i, berth_kv_t);
        if (berth_config_secret_env(names, kv->key, strlen(kv->key),
                                    kv->value))
            APR_ARRAY_PUSH(out, const char *) = kv->value;
    }
    for (int i = 0; srv->headers && i < srv->headers->nelts; i++) {
        const char *v = APR_ARRAY_IDX(srv->headers, i, berth_kv_t).value;
        if (v && !is_switch(v))
            APR_ARRAY_PUSH(out, const char *) = v;
    }
}
