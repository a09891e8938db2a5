/* berth's one logging call. Lines go to stderr: with a timestamp for humans,
 * or with a sd-daemon "<N>" priority prefix when stderr is the journal. */
#ifndef BERTH_LOG_H
#define BERTH_LOG_H

#include <stdarg.h>
#include <stddef.h>

#include <apr_time.h>

typedef enum {
    BERTH_LOG_ERROR = 0,
    BERTH_LOG_WARN = 1,
    BERTH_LOG_INFO = 2,
    BERTH_LOG_DEBUG = 3
} berth_log_level_t;

#if defined(__GNUC__)
#define BERTH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define BERTH_PRINTF(f, a)
#endif

/* Writes one line if LEVEL is enabled; formats nothing otherwise. */
void berth_log(berth_log_level_t level, const char *fmt, ...) BERTH_PRINTF(2, 3);
void berth_logv(berth_log_level_t level, const char *fmt, va_list ap);

/* The process-wide threshold, set once at start-up from --log-level. */
void berth_log_set_level(berth_log_level_t level);
berth_log_level_t berth_log_get_level(void);
int berth_log_enabled(berth_log_level_t level);

/* A line that a flood would repeat (a limit reached again and again) is
 * written at most once a minute: 1 when it may be now, recording NOW
 * (berth_platform_clock) in *SAID (0 at first). The caller
 * guards *SAID. */
int berth_log_due(apr_time_t *said, apr_time_t now);

/* Parses "error", "warn"/"warning", "info", "debug"; returns 0 on success. */
int berth_log_parse_level(const char *text, berth_log_level_t *level);
const char *berth_log_level_name(berth_log_level_t level);

/* Line style: BERTH_LOG_STYLE_AUTO picks journal when $JOURNAL_STREAM names
 * our stderr, human otherwise. */
typedef enum {
    BERTH_LOG_STYLE_AUTO,
    BERTH_LOG_STYLE_HUMAN,
    BERTH_LOG_STYLE_JOURNAL
} berth_log_style_t;
void berth_log_set_style(berth_log_style_t style);

/* Formats one finished line (no newline) into BUF; exposed for tests. */
void berth_log_format_line(char *buf, size_t size, berth_log_style_t style,
                           berth_log_level_t level, long long epoch_ms,
                           const char *message);

/* Redirects finished lines (tests, and the Windows service, which has no
 * console: its lines go to berth.log); NULL restores stderr. */
typedef void (*berth_log_sink_fn)(void *baton, berth_log_level_t level,
                                  const char *line);
void berth_log_set_sink(berth_log_sink_fn fn, void *baton);

#endif
