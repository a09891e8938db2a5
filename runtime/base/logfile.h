/* A server's own log file (its stderr), rotated by size: NAME, NAME.1, ...
 * NAME.<files-1>. Thread-safe appends; the last lines are kept in memory for
 * error reports. */
#ifndef BERTH_LOGFILE_H
#define BERTH_LOGFILE_H

#include <apr_pools.h>
#include <apr_tables.h>

#define BERTH_LOGFILE_TAIL 20

typedef struct berth_logfile_t berth_logfile_t;

/* PATH may be NULL: then only the in-memory tail is kept. */
apr_status_t berth_logfile_open(berth_logfile_t **out, const char *path,
                                apr_off_t max_size, int max_files,
                                apr_pool_t *pool);
/* Appends one line (a "\n" is added). */
void berth_logfile_line(berth_logfile_t *lf, const char *line, apr_size_t len);
/* The last lines (at most BERTH_LOGFILE_TAIL), oldest first, joined by "\n". */
const char *berth_logfile_tail(berth_logfile_t *lf, int lines,
                               apr_pool_t *pool);
/* Forgets the in-memory tail (a new process starts writing). */
void berth_logfile_clear_tail(berth_logfile_t *lf);
/* Parses "10m", "512k", "1g", "1048576"; 0 when invalid. */
apr_off_t berth_logfile_parse_size(const char *text);

#endif
