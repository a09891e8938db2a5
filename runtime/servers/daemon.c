#include "daemon.h"

#include <string.h>

#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "container.h"
#include "groups.h"
#include "isolation.h"
#include "log.h"
#include "platform.h"
#include "redact.h"

struct berth_daemon_t {
    apr_pool_t *pool;
    berth_spawnctx_t *ctx;
    const berth_config_t *cfg;
    berth_supervisor_opts_t opts;
    apr_array_header_t *sv;      /* berth_supervisor_t * */
    apr_array_header_t *sigs;    /* const char *: each one's signature */
    apr_thread_t *sweeper;
    apr_thread_mutex_t *lock;    /* sv and sigs, swapped by a reload */
};

berth_daemon_t *berth_daemon_create(berth_spawnctx_t *ctx,
                                    const berth_config_t *cfg,
                                    const berth_supervisor_opts_t *opts,
                                    apr_pool_t *pool)
{
    berth_daemon_t *d = apr_pcalloc(pool, sizeof *d);
    apr_pool_create(&d->pool, pool);
    d->ctx = ctx;
    d->cfg = cfg;
    d->opts = *opts;
    d->opts.restart = 1;
    /* the start-up sweep covers every server's first start */
    d->opts.sweep_first = 0;
    apr_thread_mutex_create(&d->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    d->sv = apr_array_make(pool, cfg->servers->nelts,
                           sizeof(berth_supervisor_t *));
    d->sigs = apr_array_make(pool, cfg->servers->nelts, sizeof(const char *));
    for (int i = 0; i < cfg->servers->nelts; i++) {
        const berth_server_config_t *srv =
            APR_ARRAY_IDX(cfg->servers, i, berth_server_config_t *);
        if (!srv->disabled && srv->transport != BERTH_TRANSPORT_STDIO)
            berth_log(BERTH_LOG_WARN, "server %s is remote (url): berth "
                      "serve does not relay remote servers yet, so its tools "
                      "are not offered; connect the client to it directly",
                      srv->name);
        if (srv->disabled || srv->transport != BERTH_TRANSPORT_STDIO)
            continue;
        APR_ARRAY_PUSH(d->sv, berth_supervisor_t *) =
            berth_supervisor_create(ctx, cfg, srv, &d->opts, pool);
        APR_ARRAY_PUSH(d->sigs, const char *) =
            berth_daemon_signature(cfg, srv, pool);
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
    apr_time_t t0 = berth_platform_clock();
    if (berth_container_sweep(d->ctx, d->cfg, NULL, &removed, &err, pool) !=
        APR_SUCCESS)
        berth_log(BERTH_LOG_WARN, "could not look for containers left by "
                  "an earlier berth: %s", err);
    else
        berth_log(removed ? BERTH_LOG_INFO : BERTH_LOG_DEBUG,
                  "start-up sweep: removed %d container%s left by a berth "
                  "that is gone (%.0f ms)", removed, removed == 1 ? "" : "s",
                  (double)(berth_platform_clock() - t0) / 1000.0);
    apr_pool_destroy(pool);
    (void)t;
    return NULL;
}

/* Ends what the servers of a berth killed outright left running, before
 * this berth's servers start: the one of them may still hold what the
 * other needs (a port, a lock). Local files and a look at the process
 * table: milliseconds. */
static void sweep_groups(berth_daemon_t *d)
{
    apr_pool_t *pool;
    int ended = 0;
    apr_pool_create(&pool, d->pool);
    apr_time_t t0 = berth_platform_clock();
    berth_group_sweep(d->ctx, &ended, pool);
    berth_log(ended ? BERTH_LOG_INFO : BERTH_LOG_DEBUG,
              "start-up sweep: ended %d process group%s left by a berth that "
              "is gone (%.1f ms)", ended, ended == 1 ? "" : "s",
              (double)(berth_platform_clock() - t0) / 1000.0);
    apr_pool_destroy(pool);
}

void berth_daemon_start(berth_daemon_t *d)
{
    sweep_groups(d);
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
    apr_thread_mutex_lock(d->lock);
    int n = d->sv->nelts;
    apr_thread_mutex_unlock(d->lock);
    return n;
}

berth_supervisor_t *berth_daemon_server(berth_daemon_t *d, int i)
{
    berth_supervisor_t *sv = NULL;
    apr_thread_mutex_lock(d->lock);
    if (i < d->sv->nelts)
        sv = APR_ARRAY_IDX(d->sv, i, berth_supervisor_t *);
    apr_thread_mutex_unlock(d->lock);
    return sv;
}

apr_array_header_t *berth_daemon_servers(berth_daemon_t *d, apr_pool_t *pool)
{
    apr_thread_mutex_lock(d->lock);
    apr_array_header_t *list = apr_array_copy(pool, d->sv);
    apr_thread_mutex_unlock(d->lock);
    return list;
}

berth_supervisor_t *berth_daemon_find(berth_daemon_t *d, const char *name)
{
    berth_supervisor_t *found = NULL;
    apr_thread_mutex_lock(d->lock);
    for (int i = 0; !found && i < d->sv->nelts; i++) {
        berth_supervisor_t *s = APR_ARRAY_IDX(d->sv, i, berth_supervisor_t *);
        if (strcmp(berth_supervisor_config(s)->name, name) == 0)
            found = s;
    }
    apr_thread_mutex_unlock(d->lock);
    return found;
}

/* ---- reload ---------------------------------------------------------------- */

static void sig_str(apr_array_header_t *parts, const char *s)
{
    APR_ARRAY_PUSH(parts, const char *) = s ? s : "\x02";
}

static void sig_list(apr_array_header_t *parts, const apr_array_header_t *a)
{
    sig_str(parts, a ? apr_itoa(parts->pool, a->nelts) : NULL);
    for (int i = 0; a && i < a->nelts; i++)
        sig_str(parts, APR_ARRAY_IDX(a, i, const char *));
}

static void sig_kv(apr_array_header_t *parts, const apr_array_header_t *a)
{
    sig_str(parts, a ? apr_itoa(parts->pool, a->nelts) : NULL);
    for (int i = 0; a && i < a->nelts; i++) {
        sig_str(parts, APR_ARRAY_IDX(a, i, berth_kv_t).key);
        sig_str(parts, APR_ARRAY_IDX(a, i, berth_kv_t).value);
    }
}

static void sig_iso(apr_array_header_t *parts, const berth_isolation_t *i)
{
    sig_str(parts, apr_psprintf(parts->pool, "%d/%d", (int)i->mode,
                                i->enabled));
    sig_str(parts, i->image);
    sig_str(parts, i->network_mode);
    sig_str(parts, i->memory_limit);
    sig_str(parts, i->cpu_limit);
    sig_list(parts, i->extra_args);
    sig_str(parts, apr_psprintf(parts->pool, "%d/%d/%d/%ld",
                                i->no_new_privileges, i->cap_drop_all,
                                i->init, i->pids_limit));
}

const char *berth_daemon_signature(const berth_config_t *cfg,
                                   const berth_server_config_t *s,
                                   apr_pool_t *pool)
{
    apr_array_header_t *p = apr_array_make(pool, 32, sizeof(const char *));
    sig_str(p, apr_psprintf(pool, "%d/%d/%d", (int)s->transport, s->disabled,
                            (int)s->ns));
    sig_str(p, s->command);
    sig_list(p, s->args);
    sig_kv(p, s->env);
    sig_str(p, s->cwd);
    sig_str(p, s->url);
    sig_kv(p, s->headers);
    sig_iso(p, &s->isolation);
    sig_str(p, apr_psprintf(pool, "%g/%g/%g/%ld", s->timeouts.initialize,
                            s->timeouts.call, s->timeouts.shutdown,
                            s->max_message));
    /* the globals a spawn plan reads */
    sig_iso(p, &cfg->isolation);
    sig_kv(p, cfg->images);
    sig_str(p, cfg->log_max_size);
    sig_str(p, apr_psprintf(pool, "%d/%d/%d", cfg->log_max_files,
                            cfg->env_allow_defaults, cfg->forward_proxy_env));
    sig_list(p, cfg->env_allow);
    return apr_array_pstrcat(pool, p, '\x1f');
}

/* The supervisors in LIST stop in parallel; their objects stay (a request
 * may still hold a pointer). */
static void stop_all_of(apr_array_header_t *list)
{
    for (int i = 0; i < list->nelts; i++)
        berth_supervisor_request_stop(APR_ARRAY_IDX(list, i,
                                                    berth_supervisor_t *));
    for (int i = 0; i < list->nelts; i++)
        berth_supervisor_stop(APR_ARRAY_IDX(list, i, berth_supervisor_t *));
}

/* The router over SVS in the config's order, which settles who owns a
 * name: a changed server keeps its place (and its names). */
static void route_in_order(berth_router_t *router, apr_array_header_t *svs,
                           apr_pool_t *pool)
{
    berth_server_t *list = apr_palloc(pool, sizeof *list *
                                                (size_t)(svs->nelts + 1));
    for (int i = 0; i < svs->nelts; i++)
        list[i] = berth_server_of(APR_ARRAY_IDX(svs, i, berth_supervisor_t *));
    berth_router_set(router, list, svs->nelts);
}

void berth_daemon_reload(berth_daemon_t *d, const berth_config_t *cfg,
                         berth_router_t *router,
                         apr_array_header_t *log_secrets,
                         const char **summary, apr_pool_t *pool)
{
    apr_array_header_t *keep_sv = apr_array_make(
        d->pool, cfg->servers->nelts, sizeof(berth_supervisor_t *));
    apr_array_header_t *keep_sig = apr_array_make(
        d->pool, cfg->servers->nelts, sizeof(const char *));
    apr_array_header_t *gone = apr_array_make(pool, 4,
                                              sizeof(berth_supervisor_t *));
    apr_array_header_t *fresh = apr_array_make(pool, 4,
                                               sizeof(berth_supervisor_t *));
    int started = 0, unchanged = 0;
    /* what runs now, by name, with its signature */
    int n = d->sv->nelts;
    int *kept = apr_pcalloc(pool, sizeof(int) * (size_t)(n + 1));
    for (int i = 0; i < cfg->servers->nelts; i++) {
        const berth_server_config_t *srv =
            APR_ARRAY_IDX(cfg->servers, i, berth_server_config_t *);
        if (srv->disabled || srv->transport != BERTH_TRANSPORT_STDIO)
            continue;
        const char *sig = berth_daemon_signature(cfg, srv, d->pool);
        int found = -1;
        for (int k = 0; k < n && found < 0; k++) {
            berth_supervisor_t *sv = APR_ARRAY_IDX(d->sv, k,
                                                   berth_supervisor_t *);
            if (!kept[k] &&
                strcmp(berth_supervisor_config(sv)->name, srv->name) == 0 &&
                strcmp(APR_ARRAY_IDX(d->sigs, k, const char *), sig) == 0)
                found = k;
        }
        if (found >= 0) {
            kept[found] = 1;
            APR_ARRAY_PUSH(keep_sv, berth_supervisor_t *) =
                APR_ARRAY_IDX(d->sv, found, berth_supervisor_t *);
            APR_ARRAY_PUSH(keep_sig, const char *) =
                APR_ARRAY_IDX(d->sigs, found, const char *);
            unchanged++;
        } else {
            /* new, or changed: a supervisor of its own (started below,
             * after the old one stopped) */
            berth_supervisor_t *sv =
                berth_supervisor_create(d->ctx, cfg, srv, &d->opts, d->pool);
            APR_ARRAY_PUSH(keep_sv, berth_supervisor_t *) = sv;
            APR_ARRAY_PUSH(keep_sig, const char *) = sig;
            APR_ARRAY_PUSH(fresh, berth_supervisor_t *) = sv;
            started++;
        }
    }
    for (int k = 0; k < n; k++)
        if (!kept[k])
            APR_ARRAY_PUSH(gone, berth_supervisor_t *) =
                APR_ARRAY_IDX(d->sv, k, berth_supervisor_t *);
    stop_all_of(gone);
    if (log_secrets)
        berth_redact_set_log_secrets(log_secrets);
    apr_thread_mutex_lock(d->lock);
    d->cfg = cfg;
    d->sv = keep_sv;
    d->sigs = keep_sig;
    apr_thread_mutex_unlock(d->lock);
    route_in_order(router, keep_sv, pool);
    for (int i = 0; i < fresh->nelts; i++)
        berth_supervisor_start(APR_ARRAY_IDX(fresh, i, berth_supervisor_t *));
    *summary = apr_psprintf(pool, "%d started, %d stopped, %d unchanged",
                            started, gone->nelts, unchanged);
}
