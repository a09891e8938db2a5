#include "redact.h"

#include <string.h>

#include <apr_strings.h>
#include <pcre2.h>

/* One pattern for every form. Each alternative captures the value in a
 * group named v<N>; only that span is replaced. Single-quoted values run
 * through every way a quote is written inside them: '"'"' (POSIX), \'
 * (fish), '\'' (POSIX, csh) and '' (PowerShell); \! and a backslashed line
 * break (csh) are escapes like any other (the pattern is compiled DOTALL).
 *   A  '-eKEY=V' or '--env=KEY=V' in single quotes
 *   B  "-eKEY=V" or "--env=KEY=V" in MSVCRT double quotes (cmd-escaped ^")
 *   C  -e 'KEY=V'   separate token, single-quoted (as A inside)
 *   D  -e "KEY=V"   separate token, double-quoted (\" and \^" inside)
 *   E  -e KEY=V, -eKEY=V, --env=KEY=V unquoted (quoted segments inside)
 *   F  scheme://user:password@ in a URL */
static const char pattern[] =
    "(?<![^\\s'\"^])(?:"
    "'(?:-e|--env=)[A-Za-z_][A-Za-z0-9_]*="
    "(?<vA>(?:[^'\\\\]|\\\\.|'\"'\"'|'\\\\''|'')*)"
    "|\\^?\"(?:-e|--env=)[A-Za-z_][A-Za-z0-9_]*=(?<vB>(?:[^\"\\\\]|\\\\\\^?.)*)"
    "|(?:-e|--env)'?\\s+'[A-Za-z_][A-Za-z0-9_]*="
    "(?<vC>(?:[^'\\\\]|\\\\.|'\"'\"'|'\\\\''|'')*)"
    "|(?:-e|--env)(?:\\^?\")?\\s+\\^?\"[A-Za-z_][A-Za-z0-9_]*="
    "(?<vD>(?:[^\"\\\\]|\\\\\\^?.)*)"
    "|(?:-e|--env)(?:'?\\s+|=)?[A-Za-z_][A-Za-z0-9_]*="
    "(?<vE>(?:[^\\s'\"]|'[^']*'|\"(?:[^\"\\\\]|\\\\.)*\")*)"
    ")"
    "|://(?<vF>[^\\s/@'\"]+)@";

static const char *const groups[] = { "vA", "vB", "vC", "vD", "vE", "vF" };

/* Compiled once at start-up (berth_redact_init), read-only afterwards. */
static pcre2_code *g_re;
static uint32_t g_group_no[sizeof groups / sizeof groups[0]];
/* Literal secrets for log lines, replaced only from the main thread. */
static apr_array_header_t *g_log_secrets;

int berth_redact_init(void)
{
    int err;
    PCRE2_SIZE off;
    if (g_re)
        return 0;
    g_re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                         PCRE2_DOTALL, &err, &off, NULL);
    if (!g_re)
        return -1;
    pcre2_jit_compile(g_re, PCRE2_JIT_COMPLETE); /* optional speed-up */
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        g_group_no[i] = (uint32_t)pcre2_substring_number_from_name(
            g_re, (PCRE2_SPTR)groups[i]);
    return 0;
}

/* Appends TEXT[from, to) to OUT. */
static void put(apr_array_header_t *out, const char *text, size_t from,
                size_t to)
{
    for (size_t i = from; i < to; i++)
        APR_ARRAY_PUSH(out, char) = text[i];
}

/* A secret shorter than this is masked only where it stands alone: "abc"
 * must not mask "abcdef". A longer one is masked wherever it appears. */
#define SHORT_SECRET 8

static int word_byte(char c)
{
    unsigned char u = (unsigned char)c;
    return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
           (u >= '0' && u <= '9') || u >= 0x80;
}

/* Whether the SL bytes of SECRET at HIT in TEXT are the whole of a word:
 * no letter or digit joins it on a side where the secret has one. */
static int stands_alone(const char *text, const char *hit, const char *secret,
                        size_t sl)
{
    if (sl >= SHORT_SECRET)
        return 1;
    if (hit > text && word_byte(hit[-1]) && word_byte(secret[0]))
        return 0;
    return !(word_byte(hit[sl]) && word_byte(secret[sl - 1]));
}

/* TEXT with every whole occurrence of SECRET replaced by ***; TEXT itself
 * when there is none. */
static const char *replace_one(const char *text, const char *secret,
                               apr_pool_t *pool)
{
    size_t sl = strlen(secret);
    apr_array_header_t *out = NULL;
    const char *p = text;
    for (const char *hit = strstr(p, secret); hit; hit = strstr(hit, secret)) {
        if (!stands_alone(text, hit, secret, sl)) {
            hit++;
            continue;
        }
        if (!out)
            out = apr_array_make(pool, (int)strlen(text) + 1, 1);
        put(out, p, 0, (size_t)(hit - p));
        put(out, "***", 0, 3);
        p = hit = hit + sl;
    }
    if (!out)
        return text;
    put(out, p, 0, strlen(p));
    APR_ARRAY_PUSH(out, char) = '\0';
    return out->elts;
}

static const char *replace_literals(const char *text,
                                    const apr_array_header_t *secrets,
                                    apr_pool_t *pool)
{
    for (int s = 0; secrets && s < secrets->nelts; s++) {
        const char *secret = APR_ARRAY_IDX(secrets, s, const char *);
        if (secret && *secret)
            text = replace_one(text, secret, pool);
    }
    return text;
}

const char *berth_redact_text(const char *text,
                              const apr_array_header_t *secrets,
                              apr_pool_t *pool)
{
    size_t len = strlen(text), last = 0, at = 0;
    apr_array_header_t *out = NULL;
    if (berth_redact_init() != 0)
        return "(redaction unavailable)";
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(g_re, NULL);
    while (at <= len &&
           pcre2_match(g_re, (PCRE2_SPTR)text, len, at, 0, md, NULL) >= 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t vs = 0, ve = 0;
        for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
            PCRE2_SIZE s = ov[2 * g_group_no[g]];
            if (s != PCRE2_UNSET) {
                vs = s;
                ve = ov[2 * g_group_no[g] + 1];
                break;
            }
        }
        if (!out)
            out = apr_array_make(pool, (int)len + 16, 1);
        put(out, text, last, vs);
        put(out, "***", 0, 3);
        last = ve;
        at = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
    }
    pcre2_match_data_free(md);
    if (out) {
        put(out, text, last, len);
        APR_ARRAY_PUSH(out, char) = '\0';
        text = out->elts;
    }
    return replace_literals(text, secrets, pool);
}

static int is_env_flag(const char *a)
{
    return strcmp(a, "-e") == 0 || strcmp(a, "--env") == 0;
}

apr_array_header_t *berth_redact_argv(const apr_array_header_t *argv,
                                      const apr_array_header_t *secrets,
                                      apr_pool_t *pool)
{
    apr_array_header_t *out =
        apr_array_make(pool, argv->nelts, sizeof(const char *));
    for (int i = 0; i < argv->nelts; i++) {
        const char *a = APR_ARRAY_IDX(argv, i, const char *);
        const char *eq = strchr(a, '=');
        if (i > 0 && is_env_flag(APR_ARRAY_IDX(argv, i - 1, const char *)) &&
            eq)
            a = apr_pstrcat(pool, apr_pstrmemdup(pool, a,
                                                 (apr_size_t)(eq - a + 1)),
                            "***", NULL);
        else
            a = berth_redact_text(a, secrets, pool);
        APR_ARRAY_PUSH(out, const char *) = a;
    }
    return out;
}

int berth_url_userinfo(const char *url, apr_size_t *start, apr_size_t *end)
{
    const char *scheme = strstr(url, "://");
    const char *auth = scheme ? scheme + 3 : url;
    const char *auth_end = auth + strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *c = auth; c < auth_end; c++)
        if (*c == '@')
            at = c; /* the last one: a password may hold '@' */
    if (!at)
        return 0;
    *start = (apr_size_t)(auth - url);
    *end = (apr_size_t)(at - url) + 1;
    return 1;
}

void berth_redact_set_log_secrets(apr_array_header_t *secrets)
{
    g_log_secrets = secrets;
}

const char *berth_redact_log_text(const char *text, apr_pool_t *pool)
{
    return berth_redact_text(text, g_log_secrets, pool);
}

void berth_redact_log_line(char *buf, apr_size_t size)
{
    apr_pool_t *pool;
    if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
        return;
    const char *clean = berth_redact_text(buf, g_log_secrets, pool);
    if (clean != buf)
        apr_cpystrn(buf, clean, size);
    apr_pool_destroy(pool);
}
