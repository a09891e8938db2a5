/* Quoting argument lists for the shell or the Windows command line that
 * will read them (docs/spawn.md, "Quoting"), and the matching parsers tests use to
 * prove the round trip. Never strips a character from an argument. */
#ifndef BERTH_SHELLQUOTE_H
#define BERTH_SHELLQUOTE_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>

typedef enum {
    BERTH_SHELL_POSIX,  /* sh, bash, zsh, dash, ksh and their kin */
    BERTH_SHELL_FISH,
    BERTH_SHELL_CSH,    /* csh, tcsh */
    BERTH_SHELL_PWSH,   /* PowerShell 7: pwsh */
    BERTH_SHELL_CMD     /* cmd.exe */
} berth_shell_family_t;

/* The family of the shell at PATH, from its exact basename (a ".exe" is
 * dropped, and then case does not count); *KNOWN is 0 when the name is
 * none berth knows, and POSIX is returned for /bin/sh to run the line. */
berth_shell_family_t berth_shell_family(const char *path, int *known);

/* The flags before the command line when berth has a shell of FAMILY run
 * one (NULL-terminated): -l -c for POSIX shells, fish and pwsh (its -Login
 * and -Command); -c alone for csh and tcsh (tcsh refuses -l beside any
 * other flag, and neither reads ~/.login for -c; both read ~/.cshrc). */
const char *const *berth_shell_flags(berth_shell_family_t family);

/* 1 when the shell at PATH is an account's refusal of logins rather than a
 * shell (nologin, false): such an account has no profile, so nothing can be
 * set in one and nothing may be run through it. */
int berth_shell_refuses_login(const char *path);

const char *berth_quote_posix(const char *arg, apr_pool_t *pool);
const char *berth_quote_fish(const char *arg, apr_pool_t *pool);
/* csh and tcsh: single quotes, a ' written '\'', and ! (history, even in
 * -c) and a line break each behind a backslash. */
const char *berth_quote_csh(const char *arg, apr_pool_t *pool);
/* PowerShell: always single quotes, with every single-quote character
 * (', and U+2018 to U+201B, which PowerShell reads as ' too) doubled. */
const char *berth_quote_pwsh(const char *arg, apr_pool_t *pool);
/* MSVCRT / CommandLineToArgvW rules. */
const char *berth_quote_msvcrt(const char *arg, apr_pool_t *pool);
/* Protects cmd.exe metacharacters (and every quote) with ^. */
const char *berth_cmd_escape(const char *line, apr_pool_t *pool);

/* ARGV (const char *) as one line for FAMILY (POSIX, FISH, CSH, or PWSH,
 * where the line is `& 'program' 'arg'...`: a quoted command needs the call
 * operator). */
const char *berth_join_shell(const apr_array_header_t *argv,
                             berth_shell_family_t family, apr_pool_t *pool);
/* ARGV as a CreateProcess command line: argv[0] quoted as a program name,
 * the rest by MSVCRT rules. */
const char *berth_join_windows(const apr_array_header_t *argv,
                               apr_pool_t *pool);
/* The whole line `"<comspec>" /d /s /c "<argv escaped for cmd>"`. Fails
 * with APR_EINVAL when an argument holds a line break, which cmd.exe cannot
 * carry. *INNER (optional) gets the escaped line between the outer quotes. */
apr_status_t berth_cmd_wrap(const char *comspec, const apr_array_header_t *argv,
                            const char **line, const char **inner,
                            apr_pool_t *pool);

/* Parsers (the inverse operations). */
/* POSIX shell words: quotes, backslashes, whitespace. No expansions. */
apr_status_t berth_parse_posix(const char *line, apr_array_header_t **argv,
                               apr_pool_t *pool);
/* fish words: '...' with \\ and \' escapes, "...", backslashes. */
apr_status_t berth_parse_fish(const char *line, apr_array_header_t **argv,
                              apr_pool_t *pool);
/* csh words: '...' with \! and backslash-newline, backslashes outside. */
apr_status_t berth_parse_csh(const char *line, apr_array_header_t **argv,
                             apr_pool_t *pool);
/* PowerShell by its documented rules: a leading & and the single-quoted
 * strings after it (any of the five single-quote characters, doubled
 * inside). Anything else is refused: berth writes nothing else. */
apr_status_t berth_parse_pwsh(const char *line, apr_array_header_t **argv,
                              apr_pool_t *pool);
/* CommandLineToArgvW, including its rule for the first (program) token. */
apr_array_header_t *berth_parse_msvcrt(const char *cmdline, apr_pool_t *pool);
/* What cmd.exe /s /c hands on: the outer quotes stripped, ^ escapes
 * undone outside quoted regions. LINE is everything after "/c ". */
const char *berth_parse_cmd(const char *line, apr_pool_t *pool);

#endif
