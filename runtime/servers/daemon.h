/* The long-running berth: every enabled local server under a supervisor of
 * its own, started in parallel, restarted when it dies, stopped in parallel;
 * and at start, the sweep of containers a dead berth left behind. The
 * fronts (HTTP, stdio) sit on top of it. */
#ifndef BERTH_DAEMON_H
#define BERTH_DAEMON_H

#include <apr_pools.h>

#include "config.h"
#include "router.h"
#include "spawnctx.h"
#include "supervisor.h"

typedef struct berth_daemon_t berth_daemon_t;

/* OPTS is the template for every supervisor (restart is forced on). */
berth_daemon_t *berth_daemon_create(berth_spawnctx_t *ctx,
                                    const berth_config_t *cfg,
                                    const berth_supervisor_opts_t *opts,
                                    apr_pool_t *pool);

/* Starts every enabled stdio server (each in its own thread) and, when any
 * configured server uses docker, the start-up sweep in another one. Returns
 * at once. */
void berth_daemon_start(berth_daemon_t *d);

/* Stops every server in parallel (about one shutdown grace for all) and
 * waits for the sweep. */
void berth_daemon_stop(berth_daemon_t *d);

/* Applies a new config (SIGHUP): servers that are gone, disabled or whose
 * effective settings changed are stopped (in parallel), new and changed
 * ones started; untouched ones keep running. ROUTER follows. LOG_SECRETS
 * (the new config's; NULL: leave the log redactor alone) is what the log
 * is cleaned of from the moment the old servers have stopped, before a
 * new one starts: an old one's last lines are still cleaned of its
 * secrets, and a value the new config no longer holds as a secret is
 * never masked in the new servers' lines. *SUMMARY says what happened
 * ("2 started, 1 stopped, 3 unchanged"). */
void berth_daemon_reload(berth_daemon_t *d, const berth_config_t *cfg,
                         berth_router_t *router,
                         apr_array_header_t *log_secrets,
                         const char **summary, apr_pool_t *pool);

/* What the server's spawn depends on, as one string: equal strings mean
 * an unchanged server across a reload. */
const char *berth_daemon_signature(const berth_config_t *cfg,
                                   const berth_server_config_t *srv,
                                   apr_pool_t *pool);

int berth_daemon_count(const berth_daemon_t *d);
berth_supervisor_t *berth_daemon_server(berth_daemon_t *d, int i);

/* The servers now, in config order (berth_supervisor_t *; a copy: a
 * reload may change the daemon's list meanwhile). */
apr_array_header_t *berth_daemon_servers(berth_daemon_t *d, apr_pool_t *pool);

/* The server called NAME, or NULL. */
berth_supervisor_t *berth_daemon_find(berth_daemon_t *d, const char *name);

#endif
