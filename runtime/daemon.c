#include "daemon.h"

#include <string.h>

#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "container.h"
#include "isolation.h"
#include "log.h"

struct berth_daemon_t {
    apr_pool_t *pool;
    berth_spawnctx_t *ctx;
    const berth_config_t *cfg;
    berth_supervisor_opts_t opts;
    apr_array_header_t *sv;      /* berth_supervisor_t * */
    apr_thread_t *sweeper;
};

berth_daemon_t *berth_daemon_create(berth_spawnctx_t *ctx,
                                    const berth_config_t *cfg,
                                    const berth_supervisor_opts_t *opts,
                                    apr_pool_t *pool)
{
    berth_daemon_t *d = apr_pcalloc(pool, sizeof *d);
    d->pool = pool;
    d->ctx = ctx;
    d->cfg = cfg;
    d->opts = *opts;
    d->opts.restart = 1;
    /* the start-up sweep covers every server's first start */
    d->opts.sweep_first = 0;
    d->sv = apr_array_make(pool, cfg->servers->nelts,
                           sizeof(berth_supervisor_t *));
    for (int i = 0; i < cfg->servers->nelts; i++) {
        const berth_server_config_t *srv =
            APR_ARRAY_IDX(cfg->servers, i, berth_server_config_t *);
        if (srv->disabled || srv->transport != BERTH_TRANSPORT_STDIO)
            continue;
        APR_ARRAY_PUSH(d->sv, berth_supervisor_t *) =
            berth_supervisor_create(ctx, cfg, srv, &d->opts, pool);
    }
    return d;
}

static int uses_docker(const berth_config_t *cfg)
{
    for (int i = 0; i < cfg->servers->nelts; i++) {
        const berth_server_config_t *srv =
            APR_ARRAY_IDX(cfg->servers, i, berth_server_config_t *);
        if (srv->transport == BERTH_TRANSPORT_STDIO &&
            (berth_isolation_is_docker_command(srv->command) ||
             berth_isolation_effective(cfg, srv, NULL) ==
                 BERTH_ISOLATION_DOCKER))
            return 1;
    }
    return 0;
}

static void *APR_THREAD_FUNC sweep_all(apr_thread_t *t, void *arg)
{
    berth_daemon_t *d = arg;
    apr_pool_t *pool;
    int removed = 0;
    const char *err;
    apr_pool_create(&pool, NULL);
    apr_time_t t0 = apr_time_now();
    if (berth_container_sweep(d->ctx, d->cfg, NULL, &removed, &err, pool) !=
        APR_SUCCESS)
        berth_log(BERTH_LOG_WARN, "could not look for containers left by "
                  "an earlier berth: %s", err);
    else
        berth_log(removed ? BERTH_LOG_INFO : BERTH_LOG_DEBUG,
                  "start-up sweep: removed %d container%s left by a berth "
                  "that is gone (%.0f ms)", removed, removed == 1 ? "" : "s",
                  (double)(apr_time_now() - t0) / 1000.0);
    apr_pool_destroy(pool);
    (void)t;
    return NULL;
}

void berth_daemon_start(berth_daemon_t *d)
{
    /* the sweep never touches this berth's containers (they carry its live
     * instance), so servers need not wait for it */
    if (uses_docker(d->cfg) &&
        apr_thread_create(&d->sweeper, NULL, sweep_all, d, d->pool) !=
            APR_SUCCESS)
        d->sweeper = NULL;
    for (int i = 0; i < d->sv->nelts; i++)
        berth_supervisor_start(APR_ARRAY_IDX(d->sv, i, berth_supervisor_t *));
}

void berth_daemon_stop(berth_daemon_t *d)
{
    apr_status_t ts;
    for (int i = 0; i < d->sv->nelts; i++)
        berth_supervisor_request_stop(
            APR_ARRAY_IDX(d->sv, i, berth_supervisor_t *));
    for (int i = 0; i < d->sv->nelts; i++)
        berth_supervisor_stop(APR_ARRAY_IDX(d->sv, i, berth_supervisor_t *));
    if (d->sweeper) {
        apr_thread_join(&ts, d->sweeper);
        d->sweeper = NULL;
    }
}

int berth_daemon_count(const berth_daemon_t *d)
{
    return d->sv->nelts;
}

berth_supervisor_t *berth_daemon_server(berth_daemon_t *d, int i)
{
    return APR_ARRAY_IDX(d->sv, i, berth_supervisor_t *);
}

json_t *berth_daemon_status(berth_daemon_t *d, apr_pool_t *pool)
{
    json_t *arr = json_array();
    for (int i = 0; i < d->sv->nelts; i++) {
        berth_supervisor_status_t st = berth_supervisor_status(
            APR_ARRAY_IDX(d->sv, i, berth_supervisor_t *), pool);
        json_t *o = json_pack(
            "{s:s, s:s, s:I, s:i, s:i}", "name", st.name, "state",
            berth_sv_state_name(st.state), "pid", (json_int_t)st.pid,
            "restarts", (int)st.restarts, "last_exit", st.last_exit);
        json_object_set_new(o, "last_error", st.last_error
                                                 ? json_string(st.last_error)
                                                 : json_null());
        json_object_set_new(o, "protocol", st.protocol
                                               ? json_string(st.protocol)
                                               : json_null());
        json_object_set_new(o, "tools", st.tools >= 0 ? json_integer(st.tools)
                                                      : json_null());
        if (st.container_name || st.container_id)
            json_object_set_new(
                o, "container",
                json_pack("{s:o, s:o}", "name",
                          st.container_name ? json_string(st.container_name)
                                            : json_null(),
                          "id", st.container_id ? json_string(st.container_id)
                                                : json_null()));
        json_array_append_new(arr, o);
    }
    return arr;
}

const char *berth_daemon_token(const char *file, const char **error,
                               apr_pool_t *pool)
{
    apr_file_t *f;
    char buf[129];
    apr_size_t n = sizeof buf - 1;
    char errbuf[128];
    if (apr_file_open(&f, file, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT,
                      pool) == APR_SUCCESS) {
        apr_status_t rv = apr_file_read(f, buf, &n);
        apr_file_close(f);
        while (rv == APR_SUCCESS && n > 0 &&
               (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
            n--;
        if (rv == APR_SUCCESS && n >= 16) {
            buf[n] = '\0';
            return apr_pstrdup(pool, buf);
        }
    }
    unsigned char r[16];
    char hex[33];
    if (apr_generate_random_bytes(r, sizeof r) != APR_SUCCESS) {
        *error = "no random bytes for a token";
        return NULL;
    }
    for (int i = 0; i < 16; i++)
        apr_snprintf(hex + 2 * i, 3, "%02x", r[i]);
    char *dir = apr_pstrdup(pool, file);
    char *slash = strrchr(dir, '/');
#if defined(_WIN32)
    char *bs = strrchr(dir, '\\');
    if (!slash || (bs && bs > slash))
        slash = bs;
#endif
    if (slash) {
        *slash = '\0';
        apr_dir_make_recursive(dir, APR_FPROT_UREAD | APR_FPROT_UWRITE |
                                        APR_FPROT_UEXECUTE,
                               pool);
    }
    apr_status_t rv = apr_file_open(
        &f, file, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_EXCL,
        APR_FPROT_UREAD | APR_FPROT_UWRITE, pool);
    if (rv != APR_SUCCESS) {
        *error = apr_psprintf(pool, "cannot create %s: %s", file,
                              apr_strerror(rv, errbuf, sizeof errbuf));
        return NULL;
    }
    apr_file_puts(hex, f);
    apr_file_puts("\n", f);
    apr_file_close(f);
    return apr_pstrdup(pool, hex);
}
