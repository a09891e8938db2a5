/* The router: one merged view of every ready server's tools, prompts,
 * resources and resource templates, and the way back from a name a client
 * uses to the server that owns it.
 *
 * Tools and prompts are exposed as <server>__<name> (namespace "prefix",
 * the default), sanitised to the rule clients enforce, ^[a-zA-Z0-9_-]{1,64}$,
 * and shortened with a stable hash when longer; or unchanged (namespace
 * "none"). Resources and templates keep their URIs (a URI is the server's
 * own address for a thing) and are routed by exact URI, then by template.
 * Two servers offering one exposed name is a collision: the first in config
 * order keeps the name, the other is exposed as <name>_<hash> and the
 * collision is logged once, never silently shadowed. */
#ifndef BERTH_ROUTER_H
#define BERTH_ROUTER_H

#include <apr_pools.h>
#include <jansson.h>

#include "config.h"
#include "server.h"

#define BERTH_NAME_MAX 64

/* The name a client sees for SERVER's tool or prompt NAME. */
const char *berth_router_expose(const char *server, const char *name,
                                berth_namespace_t ns, apr_pool_t *pool);

/* NAME when it already satisfies ^[a-zA-Z0-9_-]{1,64}$, else a sanitised
 * and, when needed, shortened form ending in _<8 hex digits> of a stable
 * hash of NAME. */
const char *berth_router_clean_name(const char *name, apr_pool_t *pool);

/* A 32-bit FNV-1a hash, the stable one names are shortened with. */
unsigned berth_router_hash(const char *s);

typedef struct berth_router_t berth_router_t;

berth_router_t *berth_router_create(apr_pool_t *pool);

/* Adds SERVER. Servers keep the order they are added in: that order
 * settles collisions. */
void berth_router_add(berth_router_t *r, berth_server_t server);

/* The servers become the N of LIST, in that order (a reload: the config's
 * order, which settles who owns a name). One whose config name was there
 * before keeps the lists it was last known to offer, so that its names
 * stay its own while its new instance starts; the others' are forgotten,
 * and so are the routes. */
void berth_router_set(berth_router_t *r, const berth_server_t *list, int n);

/* "tools", "prompts", "resources" or "resourceTemplates", merged over the
 * servers that are ready now (a new array). */
json_t *berth_router_list(berth_router_t *r, const char *which);

typedef struct {
    berth_server_t sv;
    const char *server;   /* its config name */
    const char *name;     /* the server's own name (tools, prompts) or URI */
} berth_route_t;

/* Where NAME (a tool or prompt's exposed name; a resource URI for
 * "resources", matched against the templates too; a URI template for
 * "resourceTemplates") goes. 0 when no ready server offers it. */
int berth_router_route(berth_router_t *r, const char *which,
                       const char *name, berth_route_t *out,
                       apr_pool_t *pool);

/* The servers, in order (for broadcasts such as logging/setLevel): a copy
 * of their handles (berth_server_t), which a reload does not change. */
apr_array_header_t *berth_router_servers(berth_router_t *r, apr_pool_t *pool);

/* 1 when URI matches TEMPLATE, an RFC 6570 template whose expressions
 * ({x}, {+x}, {/x} ...) each match one or more characters (+ and # also
 * slashes). */
int berth_router_template_match(const char *tmpl, const char *uri);

#endif
