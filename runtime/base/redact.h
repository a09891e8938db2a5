/* Redaction (docs/spawn.md): nothing berth writes may contain the value
 * of a -e/--env KEY=VALUE argument, URL credentials, or a configured value
 * that is a secret (which ones: config.h, berth_config_server_secrets).
 * One PCRE2 pattern, compiled once, finds the argument forms in any text:
 * plain, glued (-eKEY=V, --env=KEY=V) and inside a wrapped command line
 * quoted for POSIX shells, fish or cmd.exe. The key stays visible; the
 * value becomes *** (its length is not revealed). */
#ifndef BERTH_REDACT_H
#define BERTH_REDACT_H

#include <apr_pools.h>
#include <apr_tables.h>

/* Compiles the pattern; call once at start-up before threads exist (later
 * calls do nothing). Returns 0, or -1 if PCRE2 refused the pattern. */
int berth_redact_init(void);

/* TEXT with every argument-form value, URL credential, and every literal in
 * SECRETS (const char *, may be NULL) replaced by ***: a secret of 8
 * characters or more wherever it appears, a shorter one only where it
 * stands alone (no letter or digit joins it), so that "abc" leaves
 * "abcdef" alone. */
const char *berth_redact_text(const char *text, const apr_array_header_t *secrets,
                              apr_pool_t *pool);

/* A copy of ARGV (const char *) safe to print: the value after a separate
 * -e/--env token, glued forms, and anything berth_redact_text finds in each
 * element. */
apr_array_header_t *berth_redact_argv(const apr_array_header_t *argv,
                                      const apr_array_header_t *secrets,
                                      apr_pool_t *pool);

/* Where URL's user info is: 1 when it has one, with [*START, *END) the
 * "user:password@" span (the '@' included). Schemeless "user:pw@host" too. */
int berth_url_userinfo(const char *url, apr_size_t *start, apr_size_t *end);

/* Literal secrets every log line is cleaned of (the secrets of the config
 * in force). Set at start-up and on reload, from the main thread; the list
 * set must outlive every reader (it is never freed while berth runs). */
void berth_redact_set_log_secrets(apr_array_header_t *secrets);

/* TEXT cleaned as a log line is: for what reaches the user another way
 * than the log (errors a command prints, a server's last error in status,
 * the servers' own log files). */
const char *berth_redact_log_text(const char *text, apr_pool_t *pool);

/* Cleans a log line in place-sized BUF (what berth_log calls). */
void berth_redact_log_line(char *buf, apr_size_t size);

#endif
