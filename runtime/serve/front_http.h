/* The Streamable HTTP front (MCP 2025-03-26, 2025-06-18, 2025-11-25) on
 * libmicrohttpd, and the control API on the same listener.
 *
 *   POST   /mcp   one JSON-RPC message; a request is answered with
 *                 application/json, or with a text/event-stream carrying the
 *                 messages that belong to it (progress, logs, the server's
 *                 sampling or elicitation requests) and then the response;
 *                 a notification or response gets 202
 *   GET    /mcp   a text/event-stream of the session's other messages
 *   DELETE /mcp   ends the session
 *   GET    /api/v1/status, POST /api/v1/servers/<name>/restart  (token)
 *
 * Mcp-Session-Id is issued at initialize and required afterwards (400
 * without, 404 unknown); MCP-Protocol-Version must be one berth speaks;
 * an Origin or Host that is not this machine's is refused (403: DNS
 * rebinding); off loopback every request needs the bearer token (401). */
#ifndef BERTH_FRONT_HTTP_H
#define BERTH_FRONT_HTTP_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "control.h"
#include "hub.h"

typedef struct berth_http_t berth_http_t;

typedef struct {
    const char *host;            /* numeric address to bind */
    unsigned port;               /* 0: any free port (see berth_http_port) */
    int loopback;                /* host is a loopback address */
    const char *mcp_token;       /* required on /mcp when not NULL */
    const char *control_token;   /* required on /api/v1/ (never NULL) */
    apr_array_header_t *origins; /* extra allowed Origin values */
    apr_size_t max_body;         /* 0: the config's default */
    berth_control_t *control;    /* answers /api/v1/ */
    unsigned max_connections;    /* open at once */
    unsigned max_per_address;    /* from one client address */
    apr_interval_time_t read_timeout; /* to deliver a whole request */
    int mhd_loop;                /* MHD's own thread runs the loop, as
                                    where MHD has no epoll (for tests) */
} berth_http_opts_t;

/* Starts listening; *ERROR says why not (address in use ...). */
apr_status_t berth_http_start(berth_http_t **out, berth_hub_t *hub,
                              const berth_http_opts_t *opts,
                              const char **error, apr_pool_t *pool);
unsigned berth_http_port(berth_http_t *f);
void berth_http_stop(berth_http_t *f);

/* Whether ORIGIN (an Origin header's value) is this machine: http or https
 * to localhost, 127.0.0.1 or [::1], any port; or one of EXTRA. */
int berth_http_origin_allowed(const char *origin,
                              const apr_array_header_t *extra);
/* Whether HOST (a Host header's value) names this machine. */
int berth_http_host_allowed(const char *host);

#endif
