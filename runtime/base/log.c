#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "platform.h"
#include "redact.h"

/* Process-wide logging settings: written once at start-up by the CLI before
 * any thread exists, read afterwards. */
static berth_log_level_t g_level = BERTH_LOG_INFO;
static berth_log_style_t g_style = BERTH_LOG_STYLE_AUTO;
static berth_log_sink_fn g_sink;
static void *g_sink_baton;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
/* syslog priorities: err, warning, info, debug */
static const int level_prio[] = { 3, 4, 6, 7 };

void berth_log_set_level(berth_log_level_t level) { g_level = level; }
berth_log_level_t berth_log_get_level(void) { return g_level; }
int berth_log_enabled(berth_log_level_t level) { return level <= g_level; }

int berth_log_due(apr_time_t *said, apr_time_t now)
{
    if (*said && now - *said <= apr_time_from_sec(60))
        return 0;
    *said = now;
    return 1;
}
void berth_log_set_style(berth_log_style_t style) { g_style = style; }

void berth_log_set_sink(berth_log_sink_fn fn, void *baton)
{
    g_sink = fn;
    g_sink_baton = baton;
}

const char *berth_log_level_name(berth_log_level_t level)
{
    if ((int)level < 0 || level > BERTH_LOG_DEBUG)
        return "?";
    return level_names[level];
}

int berth_log_parse_level(const char *text, berth_log_level_t *level)
{
    if (!text)
        return -1;
    for (int i = 0; i <= BERTH_LOG_DEBUG; i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *level = (berth_log_level_t)i;
            return 0;
        }
    }
    if (strcmp(text, "warning") == 0) {
        *level = BERTH_LOG_WARN;
        return 0;
    }
    return -1;
}

void berth_log_format_line(char *buf, size_t size, berth_log_style_t style,
                           berth_log_level_t level, long long epoch_ms,
                           const char *message)
{
    if (style == BERTH_LOG_STYLE_JOURNAL) {
        /* journald stamps the time and parses the priority prefix itself. */
        apr_snprintf(buf, size, "<%d>%s: %s", level_prio[level],
                     level_names[level], message);
        return;
    }
    time_t secs = (time_t)(epoch_ms / 1000);
    struct tm tm;
    char stamp[32];
    if (!berth_platform_gmtime(secs, &tm) ||
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        apr_cpystrn(stamp, "0000-00-00T00:00:00", sizeof stamp);
    apr_snprintf(buf, size, "%s.%03dZ %-5s %s", stamp, (int)(epoch_ms % 1000),
                 level_names[level], message);
}

static berth_log_style_t effective_style(void)
{
    static int journal = -1; /* decided once; stderr does not change */
    if (g_style != BERTH_LOG_STYLE_AUTO)
        return g_style;
    if (journal < 0)
        journal = berth_platform_stderr_is_journal();
    return journal ? BERTH_LOG_STYLE_JOURNAL : BERTH_LOG_STYLE_HUMAN;
}

void berth_logv(berth_log_level_t level, const char *fmt, va_list ap)
{
    char message[4096];
    char line[4200];
    if (!berth_log_enabled(level))
        return;
    apr_vsnprintf(message, sizeof message, fmt, ap);
    /* Every line, whatever its caller passed: never a secret in a log. */
    berth_redact_log_line(message, sizeof message);
    /* One record per line: a newline inside a message would forge a record. */
    for (char *c = message; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    berth_log_format_line(line, sizeof line, effective_style(), level,
                          (long long)(apr_time_now() / 1000), message);
    if (g_sink) {
        g_sink(g_sink_baton, level, line);
        return;
    }
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
}

void berth_log(berth_log_level_t level, const char *fmt, ...)
{
    va_list ap;
    if (!berth_log_enabled(level))
        return;
    va_start(ap, fmt);
    berth_logv(level, fmt, ap);
    va_end(ap);
}
