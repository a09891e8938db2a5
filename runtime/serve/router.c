#include "router.h"

#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "log.h"

/* ---- names ------------------------------------------------------------- */

unsigned berth_router_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

const char *berth_router_clean_name(const char *name, apr_pool_t *pool)
{
    size_t n = strlen(name);
    int clean = n > 0 && n <= BERTH_NAME_MAX;
    for (size_t i = 0; clean && i < n; i++)
        clean = name_char(name[i]);
    if (clean)
        return name;
    /* sanitised, then cut to leave room for _<8 hex> of the original: two
     * names that sanitise alike still differ */
    char *out = apr_palloc(pool, BERTH_NAME_MAX + 1);
    size_t keep = n < BERTH_NAME_MAX - 9 ? n : BERTH_NAME_MAX - 9;
    for (size_t i = 0; i < keep; i++)
        out[i] = name_char(name[i]) ? name[i] : '_';
    apr_snprintf(out + keep, 10, "_%08x", berth_router_hash(name));
    return out;
}

const char *berth_router_expose(const char *server, const char *name,
                                berth_namespace_t ns, apr_pool_t *pool)
{
    if (ns == BERTH_NAMESPACE_NONE)
        return berth_router_clean_name(name, pool);
    return berth_router_clean_name(apr_pstrcat(pool, server, "__", name, NULL),
                                   pool);
}

/* ---- templates -------------------------------------------------------- */

static int match_from(const char *t, const char *u)
{
    while (*t && *t != '{') {
        if (*t != *u)
            return 0;
        t++;
        u++;
    }
    if (!*t)
        return *u == '\0';
    const char *close = strchr(t, '}');
    if (!close)
        return 0;
    int any = t[1] == '+' || t[1] == '#';
    const char *rest = close + 1;
    /* one or more characters, shortest first */
    for (const char *e = u + 1; *(e - 1); e++) {
        if (!any && *(e - 1) == '/')
            return 0;
        if (match_from(rest, e))
            return 1;
        if (!*e)
            break;
    }
    return 0;
}

int berth_router_template_match(const char *tmpl, const char *uri)
{
    return tmpl && uri && *uri && match_from(tmpl, uri);
}

/* ---- the router --------------------------------------------------------- */

typedef struct {
    berth_server_t sv;
    const berth_server_config_t *srv;
    /* the last list of each kind (tools, prompts, resources, templates) the
     * server gave while ready: its names stay its own while it is down, so
     * that which servers are up never decides who owns a name */
    json_t *known[4];
} entry_t;

typedef struct {
    berth_server_t sv;
    const char *server;
    const char *name;
} route_t;

struct berth_router_t {
    apr_pool_t *pool;
    apr_thread_mutex_t *lock;
    apr_array_header_t *entries;   /* entry_t */
    apr_pool_t *map_pools[4];      /* each map's, replaced on rebuild */
    apr_hash_t *maps[4];           /* tools, prompts, resources, templates:
                                      exposed name, URI or URI template ->
                                      route_t */
    apr_hash_t *reported;          /* collisions logged, in pool */
};

static void forget_known(entry_t *e)
{
    for (int m = 0; m < 4; m++) {
        json_decref(e->known[m]);
        e->known[m] = NULL;
    }
}

static apr_status_t free_known(void *data)
{
    berth_router_t *r = data;
    for (int i = 0; i < r->entries->nelts; i++)
        forget_known(&APR_ARRAY_IDX(r->entries, i, entry_t));
    return APR_SUCCESS;
}

berth_router_t *berth_router_create(apr_pool_t *pool)
{
    berth_router_t *r = apr_pcalloc(pool, sizeof *r);
    apr_pool_create(&r->pool, pool);
    apr_thread_mutex_create(&r->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    r->entries = apr_array_make(pool, 8, sizeof(entry_t));
    r->reported = apr_hash_make(pool);
    apr_pool_cleanup_register(pool, r, free_known, apr_pool_cleanup_null);
    return r;
}

void berth_router_add(berth_router_t *r, berth_server_t server)
{
    apr_thread_mutex_lock(r->lock);
    entry_t *e = apr_array_push(r->entries);
    memset(e, 0, sizeof *e);
    e->sv = server;
    e->srv = berth_server_config(server);
    apr_thread_mutex_unlock(r->lock);
}

/* Lock held: the maps may point at servers that left; rebuilt on the next
 * list or miss. */
static void drop_maps(berth_router_t *r)
{
    for (int m = 0; m < 4; m++) {
        if (r->map_pools[m])
            apr_pool_destroy(r->map_pools[m]);
        r->map_pools[m] = NULL;
        r->maps[m] = NULL;
    }
}

void berth_router_set(berth_router_t *r, const berth_server_t *list, int n)
{
    apr_thread_mutex_lock(r->lock);
    /* the old entries aside (malloc: a reload must not grow the pool) */
    int n_old = r->entries->nelts;
    entry_t *old = malloc(sizeof(entry_t) * (size_t)(n_old + 1));
    memcpy(old, r->entries->elts, sizeof(entry_t) * (size_t)n_old);
    r->entries->nelts = 0;
    for (int i = 0; i < n; i++) {
        entry_t *e = apr_array_push(r->entries);
        memset(e, 0, sizeof *e);
        e->sv = list[i];
        e->srv = berth_server_config(list[i]);
        for (int k = 0; k < n_old; k++) {
            entry_t *o = &old[k];
            if (o->srv && strcmp(o->srv->name, e->srv->name) == 0) {
                memcpy(e->known, o->known, sizeof e->known);
                memset(o->known, 0, sizeof o->known);
                o->srv = NULL;
                break;
            }
        }
    }
    for (int k = 0; k < n_old; k++)
        forget_known(&old[k]);
    free(old);
    drop_maps(r);
    apr_thread_mutex_unlock(r->lock);
}

apr_array_header_t *berth_router_servers(berth_router_t *r, apr_pool_t *pool)
{
    apr_thread_mutex_lock(r->lock);
    apr_array_header_t *list = apr_array_make(pool, r->entries->nelts + 1,
                                              sizeof(berth_server_t));
    for (int i = 0; i < r->entries->nelts; i++)
        APR_ARRAY_PUSH(list, berth_server_t) =
            APR_ARRAY_IDX(r->entries, i, entry_t).sv;
    apr_thread_mutex_unlock(r->lock);
    return list;
}

static void report_once(berth_router_t *r, const char *what,
                        const char *exposed, const char *first,
                        const char *second, const char *renamed,
                        apr_pool_t *scratch)
{
    const char *key = apr_pstrcat(scratch, what, "/", exposed, "/", second,
                                  NULL);
    if (apr_hash_get(r->reported, key, APR_HASH_KEY_STRING))
        return;
    /* kept for good only the first time: a rebuild must not grow it */
    apr_hash_set(r->reported, apr_pstrdup(r->pool, key), APR_HASH_KEY_STRING,
                 "");
    if (renamed)
        berth_log(BERTH_LOG_WARN, "%s name collision: %s is offered by %s "
                  "and %s; %s keeps it, %s's is exposed as %s", what, exposed,
                  first, second, first, second, renamed);
    else
        berth_log(BERTH_LOG_WARN, "%s collision: %s is offered by %s and "
                  "%s; %s's is served", what, exposed, first, second, first);
}

/* E's list of kind M (map_index; -1: none): the server's own while it is
 * ready (*UP 1; its lists kept as its known ones), else the last one it gave, whose
 * names stay its own while it is down (*UP 0); NULL when it never gave
 * one. Router lock held. */
static json_t *entry_list(entry_t *e, int m, int *up, apr_pool_t *mp)
{
    berth_upstream_t *u = berth_server_acquire(e->sv, NULL, mp);
    *up = u != NULL;
    if (!u)
        return m >= 0 && e->known[m] ? json_incref(e->known[m]) : NULL;
    /* every kind at once: a resource routed by template later finds the
     * templates of a server that went down meanwhile */
    static const char *const kinds[4] = { "tools", "prompts", "resources",
                                          "resourceTemplates" };
    for (int k = 0; k < 4; k++) {
        json_decref(e->known[k]);
        e->known[k] = berth_upstream_list(u, kinds[k]);
    }
    berth_server_release(e->sv, u);
    return m >= 0 ? json_incref(e->known[m]) : json_array();
}

/* The exposed name of E's ITEM KEY in SEEN (which holds the names given
 * so far), or NULL when a resource's URI is someone else's already. */
static const char *exposed_name(berth_router_t *r, const char *which,
                                const entry_t *e, const char *key,
                                apr_hash_t *seen, apr_pool_t *mp)
{
    int named = strcmp(which, "tools") == 0 || strcmp(which, "prompts") == 0;
    const char *exposed =
        named ? berth_router_expose(e->srv->name, key, e->srv->ns, mp) : key;
    route_t *prev = apr_hash_get(seen, exposed, APR_HASH_KEY_STRING);
    if (!prev)
        return exposed;
    if (!named) {
        report_once(r, strcmp(which, "resources") == 0 ? "resource"
                                                       : "resource template",
                    exposed, prev->server, e->srv->name, NULL, mp);
        return NULL;
    }
    const char *renamed = berth_router_clean_name(
        apr_psprintf(mp, "%s_%08x", exposed,
                     berth_router_hash(apr_pstrcat(mp, e->srv->name, "/",
                                                   key, NULL))),
        mp);
    report_once(r, strcmp(which, "tools") == 0 ? "tool" : "prompt", exposed,
                prev->server, e->srv->name, renamed, mp);
    return renamed;
}

/* Builds the merged list of WHICH (map M); fills MAP (exposed name or URI
 * -> route) when given. Every server's names are given in config order,
 * from its own list or, while it is down, from the last one it gave; only
 * the servers that are ready are listed. Router lock held. */
static json_t *build(berth_router_t *r, const char *which, int m,
                     apr_hash_t *map, apr_pool_t *mp)
{
    int named = strcmp(which, "tools") == 0 || strcmp(which, "prompts") == 0;
    int by_uri = strcmp(which, "resources") == 0;
    apr_hash_t *seen = map ? map : apr_hash_make(mp);
    json_t *out = json_array();
    for (int i = 0; i < r->entries->nelts; i++) {
        entry_t *e = &APR_ARRAY_IDX(r->entries, i, entry_t);
        int up;
        json_t *list = entry_list(e, m, &up, mp);
        size_t k;
        json_t *item;
        json_array_foreach(list, k, item) {
            const char *key = json_string_value(json_object_get(
                item, named ? "name" : by_uri ? "uri" : "uriTemplate"));
            const char *exposed =
                key ? exposed_name(r, which, e, key, seen, mp) : NULL;
            if (!exposed)
                continue;
            route_t *rt = apr_palloc(mp, sizeof *rt);
            rt->sv = e->sv;
            rt->server = e->srv->name;
            rt->name = apr_pstrdup(mp, key);
            apr_hash_set(seen, exposed, APR_HASH_KEY_STRING, rt);
            if (!up)
                continue;
            json_t *copy = json_copy(item);
            if (named)
                json_object_set_new(copy, "name", json_string(exposed));
            json_array_append_new(out, copy);
        }
        json_decref(list);
    }
    return out;
}

/* 0 tools, 1 prompts, 2 resources, 3 resource templates; -1 for anything
 * else. */
static int map_index(const char *which)
{
    return strcmp(which, "tools") == 0               ? 0
           : strcmp(which, "prompts") == 0           ? 1
           : strcmp(which, "resources") == 0         ? 2
           : strcmp(which, "resourceTemplates") == 0 ? 3
                                                     : -1;
}

json_t *berth_router_list(berth_router_t *r, const char *which)
{
    int m = map_index(which);
    apr_pool_t *mp;
    apr_thread_mutex_lock(r->lock);
    apr_pool_create(&mp, r->pool);
    apr_hash_t *map = m >= 0 ? apr_hash_make(mp) : NULL;
    json_t *out = build(r, which, m, map, mp);
    if (m >= 0) {
        /* listing is when a map is rebuilt: a client calls what it listed */
        if (r->map_pools[m])
            apr_pool_destroy(r->map_pools[m]);
        r->map_pools[m] = mp;
        r->maps[m] = map;
    } else {
        apr_pool_destroy(mp);
    }
    apr_thread_mutex_unlock(r->lock);
    return out;
}

static int lookup(berth_router_t *r, const char *which, const char *name,
                  berth_route_t *out, apr_pool_t *pool)
{
    apr_thread_mutex_lock(r->lock);
    int m = map_index(which);
    route_t *rt = m >= 0 && r->maps[m]
                      ? apr_hash_get(r->maps[m], name, APR_HASH_KEY_STRING)
                      : NULL;
    if (rt) {
        out->sv = rt->sv;
        out->server = rt->server;
        out->name = apr_pstrdup(pool, rt->name);
    }
    apr_thread_mutex_unlock(r->lock);
    return rt != NULL;
}

/* A resource URI no list names: the first server (in config order) with a
 * template it matches, the templates of a server that is down being the
 * last it gave. Over a copy of the entries: a reload may change them
 * meanwhile. */
static int route_by_template(berth_router_t *r, const char *name,
                             berth_route_t *out, apr_pool_t *pool)
{
    apr_thread_mutex_lock(r->lock);
    apr_array_header_t *entries = apr_array_copy(pool, r->entries);
    for (int i = 0; i < entries->nelts; i++) {
        entry_t *e = &APR_ARRAY_IDX(entries, i, entry_t);
        json_t *tmpl = json_incref(e->known[3]);
        memset(e->known, 0, sizeof e->known);
        e->known[3] = tmpl;
    }
    apr_thread_mutex_unlock(r->lock);
    int found = 0;
    for (int i = 0; i < entries->nelts; i++) {
        entry_t *e = &APR_ARRAY_IDX(entries, i, entry_t);
        berth_upstream_t *u = berth_server_acquire(e->sv, NULL, pool);
        json_t *list = u ? berth_upstream_list(u, "resourceTemplates")
                         : json_incref(e->known[3]);
        if (u)
            berth_server_release(e->sv, u);
        size_t k;
        json_t *t;
        json_array_foreach(list, k, t) {
            if (!found && berth_router_template_match(
                              json_string_value(json_object_get(
                                  t, "uriTemplate")),
                              name)) {
                out->sv = e->sv;
                out->server = e->srv->name;
                out->name = apr_pstrdup(pool, name);
                found = 1;
            }
        }
        json_decref(list);
        json_decref(e->known[3]);
    }
    return found;
}

int berth_router_route(berth_router_t *r, const char *which,
                       const char *name, berth_route_t *out,
                       apr_pool_t *pool)
{
    if (lookup(r, which, name, out, pool))
        return 1;
    /* not listed yet (a client that calls without listing, or a list that
     * changed): rebuild once */
    json_decref(berth_router_list(r, which));
    if (lookup(r, which, name, out, pool))
        return 1;
    if (strcmp(which, "resources") != 0)
        return 0;
    return route_by_template(r, name, out, pool);
}
