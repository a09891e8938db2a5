/* A server as the request path sees it: its config, and its live MCP
 * session with a hold on it (released when the caller is done), or why
 * there is none. The router and the hub know servers only through this;
 * the supervisor is what provides it (berth_server_of). */
#ifndef BERTH_SERVER_H
#define BERTH_SERVER_H

#include <apr_pools.h>

#include "config.h"
#include "upstream.h"

typedef struct {
    const berth_server_config_t *(*config)(void *self);
    /* the live session with a hold on it, or NULL with *WHY (when WHY is
     * not NULL) saying why the server has none */
    berth_upstream_t *(*acquire)(void *self, const char **why,
                                 apr_pool_t *pool);
    void (*release)(void *self, berth_upstream_t *u);
    /* waits while the server is in a start berth began on purpose (not a
     * restart after an exit), up to PATIENCE after it began and up to
     * UNTIL; 0 nothing to wait for, 1 waited, 2 may wait again
     * (berth_supervisor_await_start) */
    int (*await_start)(void *self, apr_interval_time_t patience,
                       apr_time_t until);
} berth_server_ops_t;

typedef struct {
    const berth_server_ops_t *ops;
    void *self;                     /* what the ops are called with */
} berth_server_t;

const berth_server_config_t *berth_server_config(berth_server_t s);
berth_upstream_t *berth_server_acquire(berth_server_t s, const char **why,
                                       apr_pool_t *pool);
void berth_server_release(berth_server_t s, berth_upstream_t *u);
int berth_server_await_start(berth_server_t s, apr_interval_time_t patience,
                             apr_time_t until);

/* The handle of a supervised server. */
typedef struct berth_supervisor_t berth_supervisor_t;
berth_server_t berth_server_of(berth_supervisor_t *sv);

#endif
