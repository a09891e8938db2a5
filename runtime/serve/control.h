/* The control API of a running berth, served on its listen address beside
 * /mcp (front_http checks the bearer token and hands the rest here):
 *
 *   GET  /api/v1/status                 version, uptime, docker, servers,
 *                                       sessions (the status document)
 *   POST /api/v1/servers/NAME/restart   stops NAME and starts it again
 *
 * and its client side (berth status, berth restart, berth servers), and the
 * token files both sides read: control.token (the control API) and
 * mcp.token (/mcp off loopback), 0600 in berth's state folder. */
#ifndef BERTH_CONTROL_H
#define BERTH_CONTROL_H

#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>

#include "config.h"
#include "daemon.h"
#include "hub.h"
#include "spawnctx.h"

typedef struct berth_control_t berth_control_t;

/* The control API of the berth made of D (its servers), HUB (its client
 * sessions) and CTX, serving CFG. Its uptime counts from now. */
berth_control_t *berth_control_create(berth_spawnctx_t *ctx,
                                      berth_daemon_t *d, berth_hub_t *hub,
                                      const berth_config_t *cfg,
                                      apr_pool_t *pool);

/* What the status document says of the config (after a reload) and of the
 * address listened on ("127.0.0.1:8750"; "" for berth stdio). */
void berth_control_set_config(berth_control_t *c, const berth_config_t *cfg);
void berth_control_set_listen(berth_control_t *c, const char *listen);

/* The status document (a new reference): version, uptime_s, instance,
 * config, listen, docker, servers (each one's state, pid, restarts, last
 * exit and error, protocol, tools, container), sessions, health, and
 * hydration (what the macOS import set: names, never values). */
json_t *berth_control_status(berth_control_t *c);

/* How the servers are: counts and one line naming every server that is
 * not ready with its last error ("2 of 3 servers ready; restarting: x
 * (exited with status 1)", "all 2 servers failed; failed: ..."). The
 * status document's "health", systemd's STATUS= and berth service status
 * all say this line. */
typedef struct {
    int servers;
    int ready;
    int failed;
    const char *summary;
} berth_control_health_t;
berth_control_health_t berth_control_health(berth_control_t *c,
                                            apr_pool_t *pool);

/* ERROR (a server's last error, which may hold its stderr lines) on one
 * line of at most 200 bytes, for a status line or a table. */
const char *berth_control_error_line(const char *error, apr_pool_t *pool);

/* A server's state (the status document's "state") as a person reads it:
 * "backoff" is "restarting" (waiting out its delay before the next start). */
const char *berth_control_state_words(const char *state);

/* Restarts the server called NAME; 0 when there is none. */
int berth_control_restart(berth_control_t *c, const char *name);

/* Answers METHOD URL (a path under /api/v1/; the token was checked): the
 * body as JSON (a new reference) and *STATUS the HTTP status. */
json_t *berth_control_handle(berth_control_t *c, const char *method,
                             const char *url, unsigned *status);

/* The token in FILE, made of 32 random hex digits (and the file, 0600, and
 * its folder) on first use. NULL with *ERROR when it can be neither read
 * nor written. */
const char *berth_control_token(const char *file, const char **error,
                                apr_pool_t *pool);

/* The token a running berth wrote to FILE, for a client; NULL when there is
 * no such file. */
const char *berth_control_token_read(const char *file, apr_pool_t *pool);

/* The client: METHOD PATH on HOST:PORT with "Authorization: Bearer TOKEN";
 * *STATUS is the HTTP status and *BODY the parsed JSON body (a new
 * reference, NULL when not JSON). A connect error (APR_ECONNREFUSED ...)
 * when nothing listens; *ERROR says what went wrong. */
apr_status_t berth_control_call(const char *host, unsigned port,
                                const char *method, const char *path,
                                const char *token, apr_interval_time_t timeout,
                                int *status, json_t **body,
                                const char **error, apr_pool_t *pool);

#endif
