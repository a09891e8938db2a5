/* The long-running berth (berth serve, berth stdio, and the OS services):
 * every enabled server under a supervisor of its own (the daemon), the
 * router and the hub over them, one front (Streamable HTTP with the control
 * API beside it, or stdio), the token files, the loop that closes idle
 * sessions, and the config reload. It takes a config path and options, no
 * argv, so a service wrapper starts berth the way the command line does.
 *
 *   berth_serve_create   reads the config, builds everything, listens
 *   berth_serve_run      starts the servers; serves until a stop
 *   berth_serve_reload   asks the running berth to read its config again
 *   berth_serve_stop     asks it to stop (from any thread)
 *
 * SIGINT and SIGTERM stop it, SIGHUP reloads (Unix); a reload or a stop
 * asked through the functions above comes the same way, so run's loop is
 * the one place where either happens. */
#ifndef BERTH_SERVE_H
#define BERTH_SERVE_H

#include <stdio.h>

#include <apr_pools.h>
#include <jansson.h>

typedef struct berth_serve_t berth_serve_t;

typedef enum {
    BERTH_FRONT_HTTP,   /* http://<listen>/mcp and /api/v1/ */
    BERTH_FRONT_STDIO   /* berth's own stdin and stdout */
} berth_front_t;

/* What happened, for a service manager: READY once listening with the
 * servers starting (TEXT: the MCP URL, or "stdio"), RELOADING while a
 * reload is applied, RELOADED after it, STOPPING when the stop begins,
 * HEALTH when the servers' health line changed (TEXT: that line,
 * berth_control_health; from a server's thread). */
typedef enum {
    BERTH_SERVE_READY,
    BERTH_SERVE_RELOADING,
    BERTH_SERVE_RELOADED,
    BERTH_SERVE_STOPPING,
    BERTH_SERVE_HEALTH
} berth_serve_event_t;

typedef struct {
    const char *config;  /* --config; NULL: $BERTH_CONFIG or the default */
    berth_front_t front;
    FILE *out;           /* the "how to connect" text; NULL: none */
    FILE *err;           /* config diagnostics and fatal errors */
    /* called from the thread running berth_serve_run, and for HEALTH from
     * the servers' threads (one at a time) */
    void (*notify)(void *baton, berth_serve_event_t event, const char *text);
    void *notify_baton;
} berth_serve_opts_t;

/* Reads the config and builds the berth it describes; an HTTP front
 * listens from here on. An error status after printing why to OPTS->err
 * (an invalid config, an address in use, a token file that cannot be
 * made). */
apr_status_t berth_serve_create(berth_serve_t **out,
                                const berth_serve_opts_t *opts,
                                apr_pool_t *pool);

/* Starts every server and serves until a stop: SIGINT, SIGTERM,
 * berth_serve_stop, or the end of stdin for the stdio front. Everything is
 * stopped when it returns. */
apr_status_t berth_serve_run(berth_serve_t *s);

/* Asks the running berth to read its config again: an invalid file changes
 * nothing, a valid one is applied server by server. Returns at once. */
void berth_serve_reload(berth_serve_t *s);

/* Asks the running berth to stop. Returns at once; berth_serve_run
 * returns when everything stopped. */
void berth_serve_stop(berth_serve_t *s);

/* The control API's status document (a new reference). */
json_t *berth_serve_status(berth_serve_t *s);

#endif
