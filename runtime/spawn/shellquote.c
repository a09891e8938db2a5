#include "shellquote.h"

#include <string.h>

#include <apr_cstr.h>
#include <apr_strings.h>

#include "hostfacts.h"

typedef apr_array_header_t buf_t;

static buf_t *buf_new(apr_pool_t *pool, size_t hint)
{
    return apr_array_make(pool, (int)hint + 16, 1);
}
static void buf_c(buf_t *b, char c) { APR_ARRAY_PUSH(b, char) = c; }
static void buf_s(buf_t *b, const char *s)
{
    while (*s)
        buf_c(b, *s++);
}
static void buf_n(buf_t *b, char c, size_t n)
{
    while (n--)
        buf_c(b, c);
}
static const char *buf_done(buf_t *b)
{
    buf_c(b, '\0');
    return b->elts;
}

/* Shells by their exact basename. A name that merely contains "sh"
 * (pwsh, tcsh, xonsh) is no POSIX shell: it would get the wrong quoting. */
static const struct {
    const char *name;
    berth_shell_family_t family;
} known_shells[] = {
    { "sh", BERTH_SHELL_POSIX },     { "bash", BERTH_SHELL_POSIX },
    { "zsh", BERTH_SHELL_POSIX },    { "dash", BERTH_SHELL_POSIX },
    { "ksh", BERTH_SHELL_POSIX },    { "ksh93", BERTH_SHELL_POSIX },
    { "mksh", BERTH_SHELL_POSIX },   { "lksh", BERTH_SHELL_POSIX },
    { "pdksh", BERTH_SHELL_POSIX },  { "oksh", BERTH_SHELL_POSIX },
    { "ash", BERTH_SHELL_POSIX },    { "yash", BERTH_SHELL_POSIX },
    { "posh", BERTH_SHELL_POSIX },   { "fish", BERTH_SHELL_FISH },
    { "csh", BERTH_SHELL_CSH },      { "tcsh", BERTH_SHELL_CSH },
    { "bsd-csh", BERTH_SHELL_CSH },  { "pwsh", BERTH_SHELL_PWSH },
    { "pwsh-preview", BERTH_SHELL_PWSH },
    { "cmd", BERTH_SHELL_CMD },
};

berth_shell_family_t berth_shell_family(const char *path, int *known)
{
    char name[64];
    const char *b = berth_path_basename(path);
    apr_cpystrn(name, b, sizeof name);
    size_t n = strlen(name);
    /* Windows names: without .exe, in any case */
    int exe = n > 4 && apr_cstr_casecmp(name + n - 4, ".exe") == 0;
    if (exe)
        name[n - 4] = '\0';
    if (known)
        *known = 1;
    for (size_t i = 0; i < sizeof known_shells / sizeof known_shells[0];
         i++) {
        const char *k = known_shells[i].name;
        if (exe || known_shells[i].family == BERTH_SHELL_CMD
                ? apr_cstr_casecmp(name, k) == 0
                : strcmp(name, k) == 0)
            return known_shells[i].family;
    }
    if (known)
        *known = 0;
    return BERTH_SHELL_POSIX;
}

const char *const *berth_shell_flags(berth_shell_family_t family)
{
    static const char *const login_c[] = { "-l", "-c", NULL };
    static const char *const c_only[] = { "-c", NULL };
    return family == BERTH_SHELL_CSH ? c_only : login_c;
}

int berth_shell_refuses_login(const char *path)
{
    const char *b = path ? berth_path_basename(path) : "";
    return strcmp(b, "nologin") == 0 || strcmp(b, "false") == 0;
}

static int posix_safe(const char *arg)
{
    /* zsh expands a word that starts with '=' to a program's path */
    if (!*arg || *arg == '=')
        return 0;
    for (const unsigned char *c = (const unsigned char *)arg; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || strchr("_@%+=:,./-", *c)))
            return 0;
    }
    return 1;
}

const char *berth_quote_posix(const char *arg, apr_pool_t *pool)
{
    if (posix_safe(arg))
        return apr_pstrdup(pool, arg);
    buf_t *b = buf_new(pool, strlen(arg) + 2);
    buf_c(b, '\'');
    for (const char *c = arg; *c; c++) {
        if (*c == '\'')
            buf_s(b, "'\"'\"'");
        else
            buf_c(b, *c);
    }
    buf_c(b, '\'');
    return buf_done(b);
}

const char *berth_quote_fish(const char *arg, apr_pool_t *pool)
{
    /* fish expands %self (and older fish %name) outside quotes */
    if (posix_safe(arg) && !strchr(arg, '%'))
        return apr_pstrdup(pool, arg);
    buf_t *b = buf_new(pool, strlen(arg) + 2);
    buf_c(b, '\'');
    for (const char *c = arg; *c; c++) {
        if (*c == '\\' || *c == '\'')
            buf_c(b, '\\');
        buf_c(b, *c);
    }
    buf_c(b, '\'');
    return buf_done(b);
}

const char *berth_quote_csh(const char *arg, apr_pool_t *pool)
{
    if (posix_safe(arg))
        return apr_pstrdup(pool, arg);
    buf_t *b = buf_new(pool, strlen(arg) + 2);
    buf_c(b, '\'');
    for (const char *c = arg; *c; c++) {
        if (*c == '\'')
            buf_s(b, "'\\''");
        else if (*c == '!' || *c == '\n')
            buf_c(b, '\\');
        if (*c != '\'')
            buf_c(b, *c);
    }
    buf_c(b, '\'');
    return buf_done(b);
}

/* The length of the single-quote character at C in PowerShell's eyes
 * (', or U+2018 to U+201B in UTF-8), or 0. */
static size_t pwsh_quote_len(const char *c)
{
    const unsigned char *u = (const unsigned char *)c;
    if (*u == '\'')
        return 1;
    if (u[0] == 0xe2 && u[1] == 0x80 && u[2] >= 0x98 && u[2] <= 0x9b)
        return 3;
    return 0;
}

const char *berth_quote_pwsh(const char *arg, apr_pool_t *pool)
{
    buf_t *b = buf_new(pool, strlen(arg) + 2);
    buf_c(b, '\'');
    for (const char *c = arg; *c;) {
        size_t q = pwsh_quote_len(c);
        size_t n = q ? q : 1;
        for (int twice = q ? 2 : 1; twice; twice--)
            for (size_t i = 0; i < n; i++)
                buf_c(b, c[i]);
        c += n;
    }
    buf_c(b, '\'');
    return buf_done(b);
}

const char *berth_quote_msvcrt(const char *arg, apr_pool_t *pool)
{
    if (*arg && !strpbrk(arg, " \t\n\v\""))
        return apr_pstrdup(pool, arg);
    buf_t *b = buf_new(pool, strlen(arg) * 2 + 2);
    buf_c(b, '"');
    for (const char *c = arg;; c++) {
        size_t slashes = 0;
        while (*c == '\\') {
            slashes++;
            c++;
        }
        if (!*c) {
            /* doubled so the closing quote stays a quote */
            buf_n(b, '\\', slashes * 2);
            break;
        }
        if (*c == '"') {
            buf_n(b, '\\', slashes * 2 + 1);
            buf_c(b, '"');
        } else {
            buf_n(b, '\\', slashes);
            buf_c(b, *c);
        }
    }
    buf_c(b, '"');
    return buf_done(b);
}

const char *berth_cmd_escape(const char *line, apr_pool_t *pool)
{
    buf_t *b = buf_new(pool, strlen(line) * 2);
    for (const char *c = line; *c; c++) {
        if (strchr("()%!^\"<>&|", *c))
            buf_c(b, '^');
        buf_c(b, *c);
    }
    return buf_done(b);
}

const char *berth_join_shell(const apr_array_header_t *argv,
                             berth_shell_family_t family, apr_pool_t *pool)
{
    buf_t *b = buf_new(pool, 256);
    if (family == BERTH_SHELL_PWSH)
        buf_s(b, "& ");
    for (int i = 0; i < argv->nelts; i++) {
        const char *a = APR_ARRAY_IDX(argv, i, const char *);
        if (i)
            buf_c(b, ' ');
        buf_s(b, family == BERTH_SHELL_FISH   ? berth_quote_fish(a, pool)
                 : family == BERTH_SHELL_CSH  ? berth_quote_csh(a, pool)
                 : family == BERTH_SHELL_PWSH ? berth_quote_pwsh(a, pool)
                                              : berth_quote_posix(a, pool));
    }
    return buf_done(b);
}

const char *berth_join_windows(const apr_array_header_t *argv,
                               apr_pool_t *pool)
{
    buf_t *b = buf_new(pool, 256);
    for (int i = 0; i < argv->nelts; i++) {
        const char *a = APR_ARRAY_IDX(argv, i, const char *);
        if (i)
            buf_c(b, ' ');
        if (i == 0) {
            /* The program token has no escapes: quote it whole when it has
             * a space (a path cannot hold a quote). */
            if (!*a || strpbrk(a, " \t")) {
                buf_c(b, '"');
                buf_s(b, a);
                buf_c(b, '"');
            } else {
                buf_s(b, a);
            }
        } else {
            buf_s(b, berth_quote_msvcrt(a, pool));
        }
    }
    return buf_done(b);
}

apr_status_t berth_cmd_wrap(const char *comspec, const apr_array_header_t *argv,
                            const char **line, const char **inner,
                            apr_pool_t *pool)
{
    for (int i = 0; i < argv->nelts; i++)
        if (strpbrk(APR_ARRAY_IDX(argv, i, const char *), "\r\n"))
            return APR_EINVAL;
    const char *esc = berth_cmd_escape(berth_join_windows(argv, pool), pool);
    const char *cs = strpbrk(comspec, " \t")
                         ? apr_pstrcat(pool, "\"", comspec, "\"", NULL)
                         : comspec;
    if (inner)
        *inner = esc;
    *line = apr_pstrcat(pool, cs, " /d /s /c \"", esc, "\"", NULL);
    return APR_SUCCESS;
}

/* ---- parsers ------------------------------------------------------------ */

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\n'; }

typedef enum { WORDS_POSIX, WORDS_FISH, WORDS_CSH } words_t;

/* Inside '...' at C (past the quote): how many bytes of escape KIND's
 * shell drops before the next character, 0 for none. */
static size_t single_quote_escape(const char *c, words_t kind)
{
    if (*c != '\\')
        return 0;
    if (kind == WORDS_FISH && (c[1] == '\\' || c[1] == '\''))
        return 1;
    if (kind == WORDS_CSH && (c[1] == '!' || c[1] == '\n'))
        return 1;
    return 0;
}

static apr_status_t parse_words(const char *line, words_t kind,
                                apr_array_header_t **argv, apr_pool_t *pool)
{
    apr_array_header_t *out = apr_array_make(pool, 8, sizeof(const char *));
    const char *c = line;
    for (;;) {
        while (is_blank(*c))
            c++;
        if (!*c)
            break;
        buf_t *w = buf_new(pool, 32);
        while (*c && !is_blank(*c)) {
            if (*c == '\'') {
                for (c++; *c != '\''; c++) {
                    if (!*c)
                        return APR_EINVAL;
                    c += single_quote_escape(c, kind);
                    buf_c(w, *c);
                }
                c++;
            } else if (*c == '"') {
                for (c++; *c != '"'; c++) {
                    if (!*c)
                        return APR_EINVAL;
                    if (*c == '\\' && c[1] && strchr("$`\"\\\n", c[1]))
                        c++;
                    buf_c(w, *c);
                }
                c++;
            } else if (*c == '\\' && c[1]) {
                buf_c(w, c[1]);
                c += 2;
            } else {
                buf_c(w, *c++);
            }
        }
        APR_ARRAY_PUSH(out, const char *) = buf_done(w);
    }
    *argv = out;
    return APR_SUCCESS;
}

apr_status_t berth_parse_posix(const char *line, apr_array_header_t **argv,
                               apr_pool_t *pool)
{
    return parse_words(line, WORDS_POSIX, argv, pool);
}

apr_status_t berth_parse_fish(const char *line, apr_array_header_t **argv,
                              apr_pool_t *pool)
{
    return parse_words(line, WORDS_FISH, argv, pool);
}

apr_status_t berth_parse_csh(const char *line, apr_array_header_t **argv,
                             apr_pool_t *pool)
{
    return parse_words(line, WORDS_CSH, argv, pool);
}

/* One single-quoted PowerShell string at *C (on its opening quote): its
 * text, with *C moved past the closing quote; NULL when it never closes. */
static const char *pwsh_string(const char **c, apr_pool_t *pool)
{
    buf_t *w = buf_new(pool, 32);
    const char *p = *c + pwsh_quote_len(*c);
    for (;;) {
        size_t q = pwsh_quote_len(p);
        if (!*p)
            return NULL;
        if (!q) {
            buf_c(w, *p++);
            continue;
        }
        size_t q2 = pwsh_quote_len(p + q);
        if (!q2)
            break;
        /* a doubled quote character is the second one, literally */
        for (size_t i = 0; i < q2; i++)
            buf_c(w, p[q + i]);
        p += q + q2;
    }
    *c = p + pwsh_quote_len(p);
    return buf_done(w);
}

apr_status_t berth_parse_pwsh(const char *line, apr_array_header_t **argv,
                              apr_pool_t *pool)
{
    apr_array_header_t *out = apr_array_make(pool, 8, sizeof(const char *));
    const char *c = line;
    if (c[0] == '&' && c[1] == ' ')
        c += 2;
    for (;;) {
        while (*c == ' ')
            c++;
        if (!*c)
            break;
        if (!pwsh_quote_len(c))
            return APR_EINVAL;
        const char *word = pwsh_string(&c, pool);
        if (!word || (*c && *c != ' '))
            return APR_EINVAL;
        APR_ARRAY_PUSH(out, const char *) = word;
    }
    *argv = out;
    return APR_SUCCESS;
}

apr_array_header_t *berth_parse_msvcrt(const char *cmdline, apr_pool_t *pool)
{
    apr_array_header_t *out = apr_array_make(pool, 8, sizeof(const char *));
    const char *c = cmdline;
    /* The program name: quoted up to the next quote, or up to a blank. */
    buf_t *w = buf_new(pool, 64);
    if (*c == '"') {
        for (c++; *c && *c != '"'; c++)
            buf_c(w, *c);
        if (*c)
            c++;
    } else {
        while (*c && *c != ' ' && *c != '\t')
            buf_c(w, *c++);
    }
    APR_ARRAY_PUSH(out, const char *) = buf_done(w);
    for (;;) {
        while (*c == ' ' || *c == '\t')
            c++;
        if (!*c)
            break;
        int quoted = 0;
        w = buf_new(pool, 64);
        while (*c && (quoted || (*c != ' ' && *c != '\t'))) {
            size_t slashes = 0;
            while (*c == '\\') {
                slashes++;
                c++;
            }
            if (*c == '"') {
                buf_n(w, '\\', slashes / 2);
                if (slashes % 2) {
                    buf_c(w, '"');
                    c++;
                } else if (quoted && c[1] == '"') {
                    buf_c(w, '"'); /* "" inside quotes: a literal quote */
                    c += 2;
                } else {
                    quoted = !quoted;
                    c++;
                }
            } else {
                buf_n(w, '\\', slashes);
                if (*c && (quoted || (*c != ' ' && *c != '\t')))
                    buf_c(w, *c++);
            }
        }
        APR_ARRAY_PUSH(out, const char *) = buf_done(w);
    }
    return out;
}

const char *berth_parse_cmd(const char *line, apr_pool_t *pool)
{
    size_t n = strlen(line);
    /* /s: remove the first and the last quote of the command string */
    const char *first = strchr(line, '"');
    const char *last = strrchr(line, '"');
    buf_t *b = buf_new(pool, n);
    int quoted = 0;
    for (const char *c = line; *c; c++) {
        if (first && last && first != last && (c == first || c == last))
            continue;
        if (*c == '"') {
            quoted = !quoted;
            buf_c(b, *c);
        } else if (*c == '^' && !quoted && c[1]) {
            buf_c(b, *++c);
        } else {
            buf_c(b, *c);
        }
    }
    return buf_done(b);
}
