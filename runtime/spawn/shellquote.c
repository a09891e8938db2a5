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

berth_shell_family_t berth_shell_family(const char *path, int *known)
{
    static const char *const posix[] = { "sh", "bash", "zsh", "dash", "ksh",
                                         "mksh", "ash", "yash", "posh",
                                         NULL };
    char name[64];
    const char *b = berth_path_basename(path);
    apr_cpystrn(name, b, sizeof name);
    size_t n = strlen(name);
    if (n > 4 && apr_cstr_casecmp(name + n - 4, ".exe") == 0)
        name[n - 4] = '\0';
    if (known)
        *known = 1;
    if (apr_cstr_casecmp(name, "cmd") == 0)
        return BERTH_SHELL_CMD;
    if (strcmp(name, "fish") == 0)
        return BERTH_SHELL_FISH;
    for (const char *const *p = posix; *p; p++)
        if (strcmp(name, *p) == 0)
            return BERTH_SHELL_POSIX;
    /* Git Bash, MSYS and friends: a name containing "sh" */
    if (known)
        *known = strstr(name, "sh") != NULL;
    return BERTH_SHELL_POSIX;
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
    for (int i = 0; i < argv->nelts; i++) {
        const char *a = APR_ARRAY_IDX(argv, i, const char *);
        if (i)
            buf_c(b, ' ');
        buf_s(b, family == BERTH_SHELL_FISH ? berth_quote_fish(a, pool)
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

static apr_status_t parse_words(const char *line, int fish,
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
                    if (fish && *c == '\\' && (c[1] == '\\' || c[1] == '\''))
                        c++;
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
    return parse_words(line, 0, argv, pool);
}

apr_status_t berth_parse_fish(const char *line, apr_array_header_t **argv,
                              apr_pool_t *pool)
{
    return parse_words(line, 1, argv, pool);
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
