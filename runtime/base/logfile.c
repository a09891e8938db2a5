#include "logfile.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "config.h"
#include "redact.h"

struct berth_logfile_t {
    apr_pool_t *pool;
    apr_thread_mutex_t *lock;
    const char *path;
    apr_file_t *f;
    apr_off_t size;
    apr_off_t max_size;
    int max_files;
    char *tail[BERTH_LOGFILE_TAIL]; /* a ring of malloc'ed lines */
    int next;
};

static apr_status_t free_tail(void *data)
{
    berth_logfile_t *lf = data;
    for (int i = 0; i < BERTH_LOGFILE_TAIL; i++)
        free(lf->tail[i]);
    return APR_SUCCESS;
}

static apr_status_t reopen(berth_logfile_t *lf)
{
    apr_finfo_t fi;
    apr_status_t rv = apr_file_open(&lf->f, lf->path,
                                    APR_FOPEN_WRITE | APR_FOPEN_CREATE |
                                        APR_FOPEN_APPEND | APR_FOPEN_BINARY,
                                    APR_FPROT_UREAD | APR_FPROT_UWRITE,
                                    lf->pool);
    if (rv != APR_SUCCESS) {
        lf->f = NULL;
        return rv;
    }
    lf->size = apr_file_info_get(&fi, APR_FINFO_SIZE, lf->f) == APR_SUCCESS
                   ? fi.size
                   : 0;
    return APR_SUCCESS;
}

apr_off_t berth_logfile_parse_size(const char *text)
{
    char *end;
    double v;
    if (!text || !isdigit((unsigned char)*text))
        return 0;
    v = strtod(text, &end);
    switch (tolower((unsigned char)*end)) {
    case 'k': v *= 1024; end++; break;
    case 'm': v *= 1024 * 1024; end++; break;
    case 'g': v *= 1024.0 * 1024 * 1024; end++; break;
    default: break;
    }
    if (*end == 'i' || *end == 'I')
        end++;
    if (*end == 'b' || *end == 'B')
        end++;
    return *end ? 0 : (apr_off_t)v;
}

apr_status_t berth_logfile_open(berth_logfile_t **out, const char *path,
                                apr_off_t max_size, int max_files,
                                apr_pool_t *pool)
{
    berth_logfile_t *lf = apr_pcalloc(pool, sizeof *lf);
    apr_pool_create(&lf->pool, pool);
    lf->path = path ? apr_pstrdup(pool, path) : NULL;
    /* none given: the config's defaults */
    lf->max_size = max_size > 0 ? max_size
                                : berth_logfile_parse_size(berth_config_default_text(
                                      "docker_isolation.log_max_size"));
    lf->max_files = max_files > 0 ? max_files
                                  : (int)berth_config_default_number(
                                        "docker_isolation.log_max_files");
    apr_thread_mutex_create(&lf->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_pool_cleanup_register(pool, lf, free_tail, apr_pool_cleanup_null);
    *out = lf;
    return path ? reopen(lf) : APR_SUCCESS;
}

/* NAME.N-1 -> NAME.N ... NAME -> NAME.1; the oldest falls off. */
static void rotate(berth_logfile_t *lf)
{
    apr_file_close(lf->f);
    lf->f = NULL;
    for (int i = lf->max_files - 1; i >= 1; i--) {
        const char *from = i == 1 ? lf->path
                                  : apr_psprintf(lf->pool, "%s.%d", lf->path,
                                                 i - 1);
        const char *to = apr_psprintf(lf->pool, "%s.%d", lf->path, i);
        apr_file_rename(from, to, lf->pool);
    }
    if (lf->max_files == 1)
        apr_file_remove(lf->path, lf->pool);
    reopen(lf);
}

void berth_logfile_line(berth_logfile_t *lf, const char *line, apr_size_t len)
{
    apr_pool_t *scratch;
    apr_pool_create(&scratch, NULL);
    /* a server's stderr is not berth's to leak: the log's redaction */
    const char *clean = berth_redact_log_text(
        apr_pstrmemdup(scratch, line, len), scratch);
    apr_size_t n = strlen(clean);
    apr_thread_mutex_lock(lf->lock);
    free(lf->tail[lf->next]);
    lf->tail[lf->next] = strdup(clean);
    lf->next = (lf->next + 1) % BERTH_LOGFILE_TAIL;
    if (lf->f) {
        if (lf->size > 0 && lf->size + (apr_off_t)n + 1 > lf->max_size)
            rotate(lf);
        if (lf->f) {
            apr_size_t w = n;
            apr_file_write_full(lf->f, clean, n, &w);
            w = 1;
            apr_file_write_full(lf->f, "\n", 1, &w);
            lf->size += (apr_off_t)n + 1;
        }
    }
    apr_thread_mutex_unlock(lf->lock);
    apr_pool_destroy(scratch);
}

const char *berth_logfile_tail(berth_logfile_t *lf, int lines,
                               apr_pool_t *pool)
{
    const char *out = "";
    if (lines > BERTH_LOGFILE_TAIL)
        lines = BERTH_LOGFILE_TAIL;
    apr_thread_mutex_lock(lf->lock);
    for (int k = lines; k >= 1; k--) {
        int i = (lf->next - k + BERTH_LOGFILE_TAIL) % BERTH_LOGFILE_TAIL;
        if (lf->tail[i])
            out = apr_pstrcat(pool, out, *out ? "\n" : "", lf->tail[i], NULL);
    }
    apr_thread_mutex_unlock(lf->lock);
    return out;
}

void berth_logfile_clear_tail(berth_logfile_t *lf)
{
    apr_thread_mutex_lock(lf->lock);
    for (int i = 0; i < BERTH_LOGFILE_TAIL; i++) {
        free(lf->tail[i]);
        lf->tail[i] = NULL;
    }
    lf->next = 0;
    apr_thread_mutex_unlock(lf->lock);
}
