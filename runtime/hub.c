#include "hub.h"

#include <stdlib.h>
#include <string.h>

#include <apr_allocator.h>
#include <apr_general.h>
#include <apr_hash.h>
#include <apr_ring.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>

#include "berth_version.h"
#include "jsonrpc.h"
#include "jsonwire.h"
#include "log.h"
#include "mcpver.h"
#include "platform.h"
#include "upstream.h"
#include "wait.h"

/* ---- data ------------------------------------------------------------- */

typedef struct call_t call_t;

/* One client request forwarded to a server, while it runs. */
struct call_t {
    call_t *next, *prev;
    berth_client_t *client;
    const char *server;          /* the upstream's name */
    berth_upstream_t *u;         /* held (supervisor acquire) while here */
    berth_call_t *uc;            /* the upstream call, once started */
    json_t *client_id;           /* the client's request id */
    json_t *token;               /* the client's progressToken, or NULL */
    berth_sink_t sink;
    int cancelled;
    int busy;                    /* threads writing to its server after
                                    dropping the hub lock: the call (and
                                    its upstream) stays until they are done */
};

/* A server-to-client request sent on to a client, until it answers. */
typedef struct pending_t {
    call_t *call;                /* the call it belongs to */
    json_t *upstream_id;         /* the server's id for it */
    char id[48];                 /* berth's id for it, the hash key */
    struct pending_t *next;      /* in a list being answered */
} pending_t;

typedef struct {
    json_t **items;
    int head, count, max;
} queue_t;

struct berth_client_t {
    berth_hub_t *hub;
    char id[33];
    apr_pool_t *pool;
    int refs;
    int closed;
    int initialized;
    const char *protocol;
    json_t *caps;                /* the client's capabilities */
    int log_level;               /* index in k_levels; -1 none set */
    apr_time_t last_used;
    queue_t queue;
    apr_hash_t *subs;            /* uri -> "" */
};

struct berth_hub_t {
    apr_pool_t *pool;
    berth_router_t *router;
    berth_hub_opts_t opts;
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *cv;       /* queues and closes */
    apr_hash_t *sessions;        /* id -> berth_client_t */
    call_t calls;                /* ring of calls in flight (sentinel) */
    apr_hash_t *pending;         /* our id (string) -> pending_t */
    unsigned long next_id;
    apr_hash_t *subs;            /* uri -> count of subscribed sessions */
};

static const char *const k_levels[] = { "debug", "info", "notice",
                                        "warning", "error", "critical",
                                        "alert", "emergency" };

static int level_index(const char *l)
{
    for (int i = 0; l && i < 8; i++)
        if (strcmp(l, k_levels[i]) == 0)
            return i;
    return -1;
}

/* ---- the hub ----------------------------------------------------------- */

berth_hub_t *berth_hub_create(berth_router_t *router,
                              const berth_hub_opts_t *opts, apr_pool_t *pool)
{
    berth_hub_t *h = apr_pcalloc(pool, sizeof *h);
    apr_pool_create(&h->pool, pool);
    h->router = router;
    if (opts)
        h->opts = *opts;
    if (!h->opts.session_idle)
        h->opts.session_idle = apr_time_from_sec(30 * 60);
    if (!h->opts.queue_max)
        h->opts.queue_max = 256;
    if (!h->opts.max_sessions)
        h->opts.max_sessions = 10000;
    apr_thread_mutex_create(&h->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_thread_cond_create(&h->cv, pool);
    h->sessions = apr_hash_make(pool);
    h->pending = apr_hash_make(pool);
    h->subs = apr_hash_make(pool);
    h->calls.next = h->calls.prev = &h->calls;
    return h;
}

/* Lock held. Steals MSG; drops the oldest when full. */
static void enqueue(berth_hub_t *h, berth_client_t *c, json_t *msg)
{
    queue_t *q = &c->queue;
    if (c->closed) {
        json_decref(msg);
        return;
    }
    if (q->count == q->max) {
        json_decref(q->items[q->head]);
        q->head = (q->head + 1) % q->max;
        q->count--;
    }
    q->items[(q->head + q->count) % q->max] = msg;
    q->count++;
    apr_thread_cond_broadcast(h->cv);
}

/* Lock held: MSG (borrowed) to every session's queue. */
static void broadcast(berth_hub_t *h, json_t *msg)
{
    for (apr_hash_index_t *hi = apr_hash_first(NULL, h->sessions); hi;
         hi = apr_hash_next(hi)) {
        void *v;
        apr_hash_this(hi, NULL, NULL, &v);
        berth_client_t *c = v;
        if (c->initialized)
            enqueue(h, c, json_incref(msg));
    }
}

/* Lock held: the newest call in flight to SERVER, from a client with
 * capability CAP when given. */
static call_t *newest_call(berth_hub_t *h, const char *server,
                           const char *cap)
{
    for (call_t *k = h->calls.prev; k != &h->calls; k = k->prev)
        if (!k->cancelled && strcmp(k->server, server) == 0 &&
            (!cap || (k->sink.streams &&
                      json_object_get(k->client->caps, cap))))
            return k;
    return NULL;
}

static void on_notification(void *baton, berth_upstream_t *u,
                            const char *method, json_t *params)
{
    berth_hub_t *h = baton;
    const char *server = berth_upstream_name(u);
    apr_thread_mutex_lock(h->lock);
    if (strstr(method, "/list_changed")) {
        /* the upstream refreshed its list: every client's merged list
         * changed */
        json_t *n = berth_rpc_notification(method, NULL);
        broadcast(h, n);
        json_decref(n);
    } else if (strcmp(method, "notifications/message") == 0) {
        int lvl = level_index(json_string_value(json_object_get(params,
                                                                "level")));
        json_t *n = berth_rpc_notification(method, json_incref(params));
        call_t *k = newest_call(h, server, NULL);
        if (k) {
            if (k->client->log_level < 0 || lvl >= k->client->log_level)
                k->sink.send(k->sink.baton, json_incref(n));
        } else {
            for (apr_hash_index_t *hi = apr_hash_first(NULL, h->sessions); hi;
                 hi = apr_hash_next(hi)) {
                void *v;
                apr_hash_this(hi, NULL, NULL, &v);
                berth_client_t *c = v;
                if (c->initialized && c->log_level >= 0 &&
                    lvl >= c->log_level)
                    enqueue(h, c, json_incref(n));
            }
        }
        json_decref(n);
    } else if (strcmp(method, "notifications/resources/updated") == 0) {
        const char *uri = json_string_value(json_object_get(params, "uri"));
        json_t *n = berth_rpc_notification(method, json_incref(params));
        for (apr_hash_index_t *hi = apr_hash_first(NULL, h->sessions); hi;
             hi = apr_hash_next(hi)) {
            void *v;
            apr_hash_this(hi, NULL, NULL, &v);
            berth_client_t *c = v;
            if (uri && apr_hash_get(c->subs, uri, APR_HASH_KEY_STRING))
                enqueue(h, c, json_incref(n));
        }
        json_decref(n);
    } else if (strcmp(method, "notifications/cancelled") == 0) {
        /* the server gave up a request it sent us: tell that client */
        json_t *rid = json_object_get(params, "requestId");
        for (apr_hash_index_t *hi = apr_hash_first(NULL, h->pending); hi;
             hi = apr_hash_next(hi)) {
            const void *key;
            void *v;
            apr_hash_this(hi, &key, NULL, &v);
            pending_t *p = v;
            if (p->call->u == u && json_equal(p->upstream_id, rid)) {
                json_t *cp = json_deep_copy(params);
                json_object_set_new(cp, "requestId", json_string(key));
                p->call->sink.send(p->call->sink.baton,
                                   berth_rpc_notification(method, cp));
                break;
            }
        }
    }
    apr_thread_mutex_unlock(h->lock);
}

static const char *cap_for(const char *method)
{
    if (strcmp(method, "sampling/createMessage") == 0)
        return "sampling";
    if (strncmp(method, "elicitation/", 12) == 0)
        return "elicitation";
    if (strcmp(method, "roots/list") == 0)
        return "roots";
    return NULL;
}

static void on_request(void *baton, berth_upstream_t *u, json_t *id,
                       const char *method, json_t *params)
{
    berth_hub_t *h = baton;
    apr_thread_mutex_lock(h->lock);
    call_t *k = newest_call(h, berth_upstream_name(u), cap_for(method));
    if (!k) {
        apr_thread_mutex_unlock(h->lock);
        char text[256];
        apr_snprintf(text, sizeof text, "no client of berth that can answer "
                     "%s is waiting on this server", method);
        berth_upstream_respond(u, id, NULL,
                               json_pack("{s:i, s:s}", "code",
                                         BERTH_RPC_METHOD_NOT_FOUND,
                                         "message", text));
        return;
    }
    /* malloc'ed: a long session (stdio) must not grow per request; the id
     * carries randomness so one client cannot answer another's */
    pending_t *p = calloc(1, sizeof *p);
    unsigned char r[4];
    if (apr_generate_random_bytes(r, sizeof r) != APR_SUCCESS)
        memset(r, 0, sizeof r);
    p->call = k;
    p->upstream_id = json_incref(id);
    apr_snprintf(p->id, sizeof p->id, "berth-%lu-%02x%02x%02x%02x",
                 ++h->next_id, r[0], r[1], r[2], r[3]);
    const char *ours = p->id;
    apr_hash_set(h->pending, p->id, APR_HASH_KEY_STRING, p);
    json_t *req = json_pack("{s:s, s:s, s:s}", "jsonrpc", "2.0", "id", ours,
                            "method", method);
    if (params)
        json_object_set(req, "params", params);
    k->sink.send(k->sink.baton, req);
    apr_thread_mutex_unlock(h->lock);
}

berth_upstream_callbacks_t berth_hub_upstream_callbacks(berth_hub_t *h)
{
    berth_upstream_callbacks_t cb;
    memset(&cb, 0, sizeof cb);
    cb.on_notification = on_notification;
    cb.on_request = on_request;
    cb.baton = h;
    return cb;
}

void berth_hub_server_state(void *hub, berth_supervisor_t *sv,
                            berth_sv_state_t state)
{
    berth_hub_t *h = hub;
    (void)sv;
    /* a server came (ready) or went (any state after ready but starting):
     * its tools, prompts and resources did too */
    if (state == BERTH_SV_STARTING)
        return;
    apr_thread_mutex_lock(h->lock);
    static const char *const lists[] = {
        "notifications/tools/list_changed",
        "notifications/prompts/list_changed",
        "notifications/resources/list_changed",
    };
    for (int i = 0; i < 3; i++) {
        json_t *n = berth_rpc_notification(lists[i], NULL);
        broadcast(h, n);
        json_decref(n);
    }
    apr_thread_mutex_unlock(h->lock);
}

/* ---- sessions ------------------------------------------------------------ */

berth_client_t *berth_hub_session_new(berth_hub_t *h)
{
    apr_pool_t *pool;
    unsigned char r[16];
    apr_thread_mutex_lock(h->lock);
    if ((int)apr_hash_count(h->sessions) >= h->opts.max_sessions) {
        apr_thread_mutex_unlock(h->lock);
        return NULL;
    }
    /* a session's memory goes back to the system when it ends (an
     * allocator of its own that keeps nothing), so 10,000 abandoned
     * sessions do not stay in berth's footprint */
    apr_allocator_t *alloc;
    if (apr_allocator_create(&alloc) != APR_SUCCESS) {
        apr_thread_mutex_unlock(h->lock);
        return NULL;
    }
    apr_allocator_max_free_set(alloc, 1);
    apr_pool_create_ex(&pool, NULL, NULL, alloc);
    apr_allocator_owner_set(alloc, pool);
    berth_client_t *c = apr_pcalloc(pool, sizeof *c);
    c->pool = pool;
    c->hub = h;
    c->refs = 2; /* the registry's and the caller's */
    c->log_level = -1;
    c->last_used = berth_platform_clock();
    c->queue.max = h->opts.queue_max;
    c->queue.items = apr_pcalloc(pool, sizeof(json_t *) *
                                           (size_t)c->queue.max);
    c->subs = apr_hash_make(pool);
    c->caps = json_object();
    if (apr_generate_random_bytes(r, sizeof r) != APR_SUCCESS)
        memset(r, 0, sizeof r);
    for (int i = 0; i < 16; i++)
        apr_snprintf(c->id + 2 * i, 3, "%02x", r[i]);
    apr_hash_set(h->sessions, c->id, APR_HASH_KEY_STRING, c);
    apr_thread_mutex_unlock(h->lock);
    return c;
}

berth_client_t *berth_hub_session_find(berth_hub_t *h, const char *id)
{
    apr_thread_mutex_lock(h->lock);
    berth_client_t *c = id ? apr_hash_get(h->sessions, id,
                                          APR_HASH_KEY_STRING)
                           : NULL;
    if (c && !c->closed) {
        c->refs++;
        c->last_used = berth_platform_clock();
    } else {
        c = NULL;
    }
    apr_thread_mutex_unlock(h->lock);
    return c;
}

/* Lock held. */
static void drop_ref(berth_hub_t *h, berth_client_t *c)
{
    (void)h;
    if (--c->refs > 0)
        return;
    for (int i = 0; i < c->queue.count; i++)
        json_decref(c->queue.items[(c->queue.head + i) % c->queue.max]);
    json_decref(c->caps);
    apr_pool_destroy(c->pool);
}

void berth_hub_session_release(berth_hub_t *h, berth_client_t *c)
{
    apr_thread_mutex_lock(h->lock);
    c->last_used = berth_platform_clock();
    drop_ref(h, c);
    apr_thread_mutex_unlock(h->lock);
}

/* Nothing is written to a server's stdin with the hub lock held (a server
 * that does not read would stall every session): under the lock the work
 * is collected and its calls held (busy), then done, then released. */

/* Lock held. */
static void hold(call_t *k)
{
    k->busy++;
}

/* Lock held. */
static void unhold(berth_hub_t *h, call_t *k)
{
    if (--k->busy == 0)
        apr_thread_cond_broadcast(h->cv);
}

/* Lock held: takes the pending server requests of calls of C (or of CALL)
 * out of the table, their calls held, as a list for answer_dropped. */
static pending_t *take_pending(berth_hub_t *h, berth_client_t *c,
                               call_t *call)
{
    pending_t *list = NULL;
    for (apr_hash_index_t *hi = apr_hash_first(NULL, h->pending); hi;
         hi = apr_hash_next(hi)) {
        const void *key;
        void *v;
        apr_hash_this(hi, &key, NULL, &v);
        pending_t *p = v;
        if ((call && p->call == call) || (!call && p->call->client == c)) {
            apr_hash_set(h->pending, key, APR_HASH_KEY_STRING, NULL);
            hold(p->call);
            p->next = list;
            list = p;
        }
    }
    return list;
}

/* Lock not held: tells each server that its request will get no answer. */
static void answer_dropped(berth_hub_t *h, pending_t *list)
{
    for (pending_t *p = list; p; p = p->next)
        berth_upstream_respond(
            p->call->u, p->upstream_id, NULL,
            json_pack("{s:i, s:s}", "code", BERTH_RPC_INTERNAL_ERROR,
                      "message", "the client's request ended before it "
                      "answered"));
    apr_thread_mutex_lock(h->lock);
    while (list) {
        pending_t *p = list;
        list = p->next;
        unhold(h, p->call);
        json_decref(p->upstream_id);
        free(p);
    }
    apr_thread_mutex_unlock(h->lock);
}

/* Lock held. */
static void unsubscribe_all(berth_hub_t *h, berth_client_t *c)
{
    for (apr_hash_index_t *hi = apr_hash_first(NULL, c->subs); hi;
         hi = apr_hash_next(hi)) {
        const void *uri;
        apr_hash_this(hi, &uri, NULL, NULL);
        intptr_t n = (intptr_t)apr_hash_get(h->subs, uri, APR_HASH_KEY_STRING);
        /* the entry exists: its key is kept, no copy needed */
        apr_hash_set(h->subs, uri, APR_HASH_KEY_STRING,
                     n > 1 ? (void *)(n - 1) : NULL);
    }
}

void berth_hub_session_close(berth_hub_t *h, berth_client_t *c)
{
    call_t *cancel[64];
    int n = 0, closed_here = 0;
    pending_t *dropped = NULL;
    apr_thread_mutex_lock(h->lock);
    if (!c->closed) {
        closed_here = 1;
        c->closed = 1;
        apr_hash_set(h->sessions, c->id, APR_HASH_KEY_STRING, NULL);
        for (call_t *k = h->calls.next; k != &h->calls; k = k->next)
            if (k->client == c && !k->cancelled) {
                /* one not started yet is cancelled as soon as it is; more
                 * than 64 at once are cancelled at their timeout */
                k->cancelled = 1;
                if (k->uc && n < 64) {
                    hold(k);
                    cancel[n++] = k;
                }
            }
        dropped = take_pending(h, c, NULL);
        unsubscribe_all(h, c);
        apr_thread_cond_broadcast(h->cv);
        c->refs++; /* until the work below is done */
        drop_ref(h, c); /* the registry's */
    }
    apr_thread_mutex_unlock(h->lock);
    if (!closed_here)
        return;
    for (int i = 0; i < n; i++)
        berth_upstream_call_cancel(cancel[i]->uc, "the client closed its "
                                                  "session");
    if (dropped)
        answer_dropped(h, dropped);
    apr_thread_mutex_lock(h->lock);
    for (int i = 0; i < n; i++)
        unhold(h, cancel[i]);
    apr_thread_mutex_unlock(h->lock);
    berth_hub_session_release(h, c);
}

int berth_hub_reap(berth_hub_t *h)
{
    int n = 0;
    apr_time_t now = berth_platform_clock();
    for (;;) {
        berth_client_t *idle = NULL;
        apr_thread_mutex_lock(h->lock);
        for (apr_hash_index_t *hi = apr_hash_first(NULL, h->sessions); hi;
             hi = apr_hash_next(hi)) {
            void *v;
            apr_hash_this(hi, NULL, NULL, &v);
            berth_client_t *c = v;
            /* refs 1: only the registry holds it (no request, no stream) */
            if (c->refs == 1 && now - c->last_used > h->opts.session_idle) {
                idle = c;
                c->refs++;
                break;
            }
        }
        apr_thread_mutex_unlock(h->lock);
        if (!idle)
            return n;
        berth_hub_session_close(h, idle);
        berth_hub_session_release(h, idle);
        n++;
    }
}

int berth_hub_session_count(berth_hub_t *h)
{
    apr_thread_mutex_lock(h->lock);
    int n = (int)apr_hash_count(h->sessions);
    apr_thread_mutex_unlock(h->lock);
    return n;
}

const char *berth_client_id(const berth_client_t *c)
{
    return c->id;
}

const char *berth_client_protocol(berth_client_t *c)
{
    return c->protocol;
}

int berth_client_initialized(berth_client_t *c)
{
    return c->protocol != NULL;
}

int berth_client_can_be_asked(berth_client_t *c)
{
    apr_thread_mutex_lock(c->hub->lock);
    int yes = json_object_get(c->caps, "sampling") ||
              json_object_get(c->caps, "elicitation") ||
              json_object_get(c->caps, "roots");
    apr_thread_mutex_unlock(c->hub->lock);
    return yes;
}

void berth_hub_close_all(berth_hub_t *h)
{
    for (;;) {
        berth_client_t *c = NULL;
        apr_thread_mutex_lock(h->lock);
        apr_hash_index_t *hi = apr_hash_first(NULL, h->sessions);
        if (hi) {
            void *v;
            apr_hash_this(hi, NULL, NULL, &v);
            c = v;
            c->refs++;
        }
        apr_thread_mutex_unlock(h->lock);
        if (!c)
            return;
        berth_hub_session_close(h, c);
        berth_hub_session_release(h, c);
    }
}

json_t *berth_client_next(berth_client_t *c, apr_interval_time_t timeout,
                          int *closed)
{
    berth_hub_t *h = c->hub;
    json_t *msg = NULL;
    apr_time_t deadline = berth_platform_clock() + timeout;
    apr_thread_mutex_lock(h->lock);
    while (!c->closed && c->queue.count == 0 &&
           berth_wait_until(h->cv, h->lock, deadline))
        ;
    if (c->queue.count > 0) {
        msg = c->queue.items[c->queue.head];
        c->queue.head = (c->queue.head + 1) % c->queue.max;
        c->queue.count--;
    }
    *closed = c->closed;
    c->last_used = berth_platform_clock();
    apr_thread_mutex_unlock(h->lock);
    return msg;
}


/* ---- the request path ------------------------------------------------- */

static json_t *error_of(json_t *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *error_of(json_t *id, int code, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    apr_vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return berth_rpc_error(id, code, text, NULL);
}

static json_t *do_initialize(berth_hub_t *h, berth_client_t *c, json_t *id,
                             json_t *params)
{
    const char *want = json_string_value(json_object_get(params,
                                                         "protocolVersion"));
    const char *v = want && berth_mcp_version_supported(want)
                        ? want : BERTH_MCP_LATEST;
    json_t *caps = json_object_get(params, "capabilities");
    apr_thread_mutex_lock(h->lock);
    c->protocol = apr_pstrdup(c->pool, v);
    if (json_is_object(caps)) {
        json_decref(c->caps);
        c->caps = json_deep_copy(caps);
    }
    apr_thread_mutex_unlock(h->lock);
    json_t *result = json_pack(
        "{s:s, s:{s:{s:b}, s:{s:b}, s:{s:b, s:b}, s:{}, s:{}}, "
        "s:{s:s, s:s, s:s}, s:s}",
        "protocolVersion", v, "capabilities", "tools", "listChanged", 1,
        "prompts", "listChanged", 1, "resources", "subscribe", 1,
        "listChanged", 1, "logging", "completions", "serverInfo", "name",
        "berth", "title", "berth", "version", BERTH_VERSION, "instructions",
        "berth serves the tools, prompts and resources of several MCP "
        "servers; tool and prompt names are prefixed with their server's "
        "name and two underscores unless configured otherwise.");
    return berth_rpc_result(id, result);
}

static const char *list_key(const char *method)
{
    if (strcmp(method, "tools/list") == 0)
        return "tools";
    if (strcmp(method, "prompts/list") == 0)
        return "prompts";
    if (strcmp(method, "resources/list") == 0)
        return "resources";
    if (strcmp(method, "resources/templates/list") == 0)
        return "resourceTemplates";
    return NULL;
}

static void on_progress(void *baton, json_t *params)
{
    call_t *k = baton;
    json_t *p = json_deep_copy(params);
    json_object_set(p, "progressToken", k->token);
    k->sink.send(k->sink.baton,
                 berth_rpc_notification("notifications/progress", p));
}

/* Forwards METHOD with PARAMS (borrowed; NAME_KEY's value replaced by the
 * server's own name when given) to the route's server, as the client's
 * request ID. With TEXT, a plain result is written there as the response
 * (the server's text, never parsed) and NULL returned. */
static json_t *forward(berth_hub_t *h, berth_client_t *c, json_t *id,
                       const char *method, json_t *params,
                       const berth_route_t *rt, const char *name_key,
                       const berth_sink_t *sink, berth_wbuf_t *text,
                       apr_pool_t *scratch)
{
    /* SCRATCH is the request's: one pool per request, not two */
    const char *why = NULL;
    berth_upstream_t *u = berth_supervisor_acquire(rt->sv, &why, scratch);
    if (!u) {
        json_t *e = error_of(id, BERTH_RPC_SERVER_GONE, "%s", why);
        return e;
    }
    const berth_server_config_t *srv = berth_supervisor_config(rt->sv);
    /* a shallow copy: only the name and _meta change, the arguments are
     * shared with the client's message */
    json_t *p = json_is_object(params) ? json_copy(params) : json_object();
    if (name_key)
        json_object_set_new(p, name_key, json_string(rt->name));
    call_t *k = apr_pcalloc(scratch, sizeof *k);
    k->client = c;
    k->server = berth_upstream_name(u);
    k->u = u;
    k->client_id = id;
    k->sink = *sink;
    json_t *meta = json_object_get(p, "_meta");
    json_t *token = meta ? json_object_get(meta, "progressToken") : NULL;
    if (token) {
        k->token = json_incref(token);
        /* the server gets berth's own token (berth_upstream's), in a _meta
         * of its own: the client's message is not changed */
        meta = json_copy(meta);
        json_object_del(meta, "progressToken");
        if (json_object_size(meta))
            json_object_set_new(p, "_meta", meta);
        else {
            json_decref(meta);
            json_object_del(p, "_meta");
        }
    }
    berth_call_opts_t o = { (apr_interval_time_t)(srv->timeouts.call *
                                                  APR_USEC_PER_SEC),
                            token ? on_progress : NULL, k };
    apr_thread_mutex_lock(h->lock);
    if (c->closed) {
        apr_thread_mutex_unlock(h->lock);
        berth_supervisor_release(rt->sv, u);
        json_decref(p);
        json_decref(k->token);
        return error_of(id, BERTH_RPC_INVALID_REQUEST, "the session ended");
    }
    k->prev = h->calls.prev;
    k->next = &h->calls;
    h->calls.prev->next = k;
    h->calls.prev = k;
    apr_thread_mutex_unlock(h->lock);

    json_t *result = NULL, *error = NULL, *out;
    char *raw = NULL;
    apr_size_t raw_len = 0;
    berth_call_t *uc = NULL;
    apr_status_t rv = berth_upstream_call_start(u, method, p, &o, &uc);
    if (rv == APR_SUCCESS) {
        apr_thread_mutex_lock(h->lock);
        k->uc = uc;
        int cancelled = k->cancelled;
        apr_thread_mutex_unlock(h->lock);
        if (cancelled)
            berth_upstream_call_cancel(uc, "cancelled before it started");
        rv = text ? berth_upstream_call_wait_raw(uc, &raw, &raw_len, &result,
                                                 &error)
                  : berth_upstream_call_wait(uc, &result, &error);
    }
    apr_thread_mutex_lock(h->lock);
    /* over: no server request attaches to it any more */
    k->cancelled = 1;
    pending_t *dropped = take_pending(h, c, k);
    apr_thread_mutex_unlock(h->lock);
    /* the upstream is still held here */
    if (dropped)
        answer_dropped(h, dropped);
    apr_thread_mutex_lock(h->lock);
    /* nobody may still write on this call's behalf */
    while (k->busy > 0)
        apr_thread_cond_wait(h->cv, h->lock);
    k->prev->next = k->next;
    k->next->prev = k->prev;
    apr_thread_mutex_unlock(h->lock);
    if (uc)
        berth_upstream_call_free(uc);
    berth_supervisor_release(rt->sv, u);
    if (rv == APR_SUCCESS && raw) {
        berth_wbuf_add(text, "{\"jsonrpc\":\"2.0\",\"id\":", 22);
        berth_json_write(text, id ? id : json_null());
        berth_wbuf_add(text, ",\"result\":", 10);
        berth_wbuf_add(text, raw, raw_len);
        berth_wbuf_add(text, "}", 1);
        free(raw);
        out = NULL;
    } else if (rv == APR_SUCCESS)
        out = berth_rpc_result(id, result);
    else if (error) {
        /* a server's error object as it came, made valid where it is not */
        json_t *code = json_object_get(error, "code");
        const char *msg = json_string_value(json_object_get(error, "message"));
        json_t *data = json_object_get(error, "data");
        out = berth_rpc_error(id, json_is_integer(code)
                                      ? (int)json_integer_value(code)
                                      : BERTH_RPC_INTERNAL_ERROR,
                              msg ? msg : "the server answered with an error",
                              data ? json_incref(data) : NULL);
    }
    else
        out = error_of(id, BERTH_RPC_INTERNAL_ERROR, "server %s did not "
                       "answer", rt->server);
    json_decref(error);
    json_decref(k->token);
    return out;
}

static const char *str_or(json_t *s)
{
    return json_is_string(s) ? json_string_value(s) : "";
}

/* The route of a completion's ref: a prompt by its exposed name, a
 * resource template by its URI template. */
static int route_ref(berth_hub_t *h, json_t *ref, berth_route_t *rt,
                     const char **key, apr_pool_t *pool)
{
    const char *type = json_string_value(json_object_get(ref, "type"));
    if (type && strcmp(type, "ref/prompt") == 0) {
        *key = "name";
        return berth_router_route(h->router, "prompts",
                                  str_or(json_object_get(ref, "name")), rt,
                                  pool);
    }
    if (type && strcmp(type, "ref/resource") == 0) {
        *key = NULL;
        return berth_router_route(h->router, "resourceTemplates",
                                  str_or(json_object_get(ref, "uri")), rt,
                                  pool);
    }
    return 0;
}

/* NAME routes nowhere: when it carries the prefix of a server that is not
 * ready, that server is down (-32030, naming it and why); else the name is
 * unknown. */
static json_t *not_routed(berth_hub_t *h, json_t *id, const char *what,
                          const char *name, apr_pool_t *pool)
{
    for (int i = 0; i < berth_router_count(h->router); i++) {
        berth_supervisor_t *sv = berth_router_server(h->router, i);
        const berth_server_config_t *srv = sv ? berth_supervisor_config(sv)
                                              : NULL;
        if (!srv || srv->ns == BERTH_NAMESPACE_NONE)
            continue;
        const char *prefix = berth_router_expose(srv->name, "", srv->ns,
                                                 pool);
        if (strncmp(name, prefix, strlen(prefix)) != 0)
            continue;
        const char *why = NULL;
        berth_upstream_t *u = berth_supervisor_acquire(sv, &why, pool);
        if (u) {
            berth_supervisor_release(sv, u);
            break; /* it runs: the name is just not one of its */
        }
        return error_of(id, BERTH_RPC_SERVER_GONE, "%s", why);
    }
    return error_of(id, BERTH_RPC_INVALID_PARAMS, "unknown %s: %s", what,
                    name);
}

/* The response to a request; with TEXT, a forwarded plain result may be
 * written there instead (see forward) and NULL returned. */
static json_t *do_request(berth_hub_t *h, berth_client_t *c, json_t *id,
                          const char *method, json_t *params,
                          const berth_sink_t *sink, berth_wbuf_t *text)
{
    apr_pool_t *scratch;
    berth_route_t rt;
    json_t *out;
    if (strcmp(method, "initialize") == 0)
        return do_initialize(h, c, id, params);
    if (strcmp(method, "ping") == 0)
        return berth_rpc_result(id, json_object());
    if (!c->protocol)
        return error_of(id, BERTH_RPC_INVALID_REQUEST, "the session is not "
                        "initialized: send initialize first");
    const char *lk = list_key(method);
    if (lk) {
        if (json_object_get(params, "cursor"))
            return error_of(id, BERTH_RPC_INVALID_PARAMS, "invalid cursor: "
                            "berth returns every item in one page");
        json_t *items = berth_router_list(h->router, lk);
        return berth_rpc_result(id, json_pack("{s:o}", lk, items));
    }
    apr_pool_create(&scratch, NULL);
    if (strcmp(method, "tools/call") == 0 ||
        strcmp(method, "prompts/get") == 0) {
        int tool = method[0] == 't';
        const char *name = json_string_value(json_object_get(params, "name"));
        if (!name)
            out = error_of(id, BERTH_RPC_INVALID_PARAMS, "%s needs a name",
                           method);
        else if (!berth_router_route(h->router, tool ? "tools" : "prompts",
                                     name, &rt, scratch))
            out = not_routed(h, id, tool ? "tool" : "prompt", name, scratch);
        else
            out = forward(h, c, id, method, params, &rt, "name", sink,
                          text, scratch);
    } else if (strcmp(method, "resources/read") == 0 ||
               strcmp(method, "resources/subscribe") == 0 ||
               strcmp(method, "resources/unsubscribe") == 0) {
        const char *uri = json_string_value(json_object_get(params, "uri"));
        if (!uri)
            out = error_of(id, BERTH_RPC_INVALID_PARAMS, "%s needs a uri",
                           method);
        else if (!berth_router_route(h->router, "resources", uri, &rt,
                                     scratch))
            out = error_of(id, -32002, "resource not found: %s", uri);
        else if (strcmp(method, "resources/read") == 0)
            out = forward(h, c, id, method, params, &rt, NULL, sink,
                          text, scratch);
        else {
            /* the server is asked once per URI, however many clients */
            int sub = strcmp(method, "resources/subscribe") == 0;
            apr_thread_mutex_lock(h->lock);
            int had = apr_hash_get(c->subs, uri, APR_HASH_KEY_STRING) != NULL;
            intptr_t n = (intptr_t)apr_hash_get(h->subs, uri,
                                                APR_HASH_KEY_STRING);
            if (sub && !had) {
                apr_hash_set(c->subs, apr_pstrdup(c->pool, uri),
                             APR_HASH_KEY_STRING, ""); /* once per URI */
                apr_hash_set(h->subs, n ? uri : apr_pstrdup(h->pool, uri),
                             APR_HASH_KEY_STRING, (void *)(n + 1));
            } else if (!sub && had) {
                apr_hash_set(c->subs, uri, APR_HASH_KEY_STRING, NULL);
                apr_hash_set(h->subs, uri, APR_HASH_KEY_STRING,
                             n > 1 ? (void *)(n - 1) : NULL);
            }
            int ask = (sub && !had && n == 0) || (!sub && had && n == 1);
            apr_thread_mutex_unlock(h->lock);
            out = ask ? forward(h, c, id, method, params, &rt, NULL, sink,
                                text, scratch)
                      : berth_rpc_result(id, json_object());
        }
    } else if (strcmp(method, "completion/complete") == 0) {
        const char *key = NULL;
        json_t *ref = json_object_get(params, "ref");
        if (!route_ref(h, ref, &rt, &key, scratch)) {
            out = error_of(id, BERTH_RPC_INVALID_PARAMS, "no server offers "
                           "what this completion refers to");
        } else {
            json_t *p = json_deep_copy(params);
            if (key)
                json_object_set_new(json_object_get(p, "ref"), key,
                                    json_string(rt.name));
            out = forward(h, c, id, method, p, &rt, NULL, sink, text,
                          scratch);
            json_decref(p);
        }
    } else if (strcmp(method, "logging/setLevel") == 0) {
        int lvl = level_index(json_string_value(json_object_get(params,
                                                                "level")));
        if (lvl < 0) {
            out = error_of(id, BERTH_RPC_INVALID_PARAMS, "unknown log level");
        } else {
            apr_thread_mutex_lock(h->lock);
            c->log_level = lvl;
            apr_thread_mutex_unlock(h->lock);
            /* every server logs at that level; berth filters per client */
            for (int i = 0; i < berth_router_count(h->router); i++) {
                berth_supervisor_t *sv = berth_router_server(h->router, i);
                berth_upstream_t *u = berth_supervisor_acquire(sv, NULL,
                                                               scratch);
                if (!u)
                    continue;
                json_t *info = berth_upstream_server_info(u);
                if (json_object_get(json_object_get(info, "capabilities"),
                                    "logging")) {
                    json_t *r = NULL, *e = NULL;
                    berth_upstream_request(u, method, json_deep_copy(params),
                                           apr_time_from_sec(10), &r, &e);
                    json_decref(r);
                    json_decref(e);
                }
                json_decref(info);
                berth_supervisor_release(sv, u);
            }
            out = berth_rpc_result(id, json_object());
        }
    } else {
        out = error_of(id, BERTH_RPC_METHOD_NOT_FOUND, "method not found: %s",
                       method);
    }
    apr_pool_destroy(scratch);
    return out;
}

/* A client's answer to a request a server sent it through berth. */
static void do_response(berth_hub_t *h, berth_client_t *c, json_t *msg)
{
    json_t *id = json_object_get(msg, "id");
    const char *key = json_string_value(id);
    if (!key)
        return;
    apr_thread_mutex_lock(h->lock);
    pending_t *p = apr_hash_get(h->pending, key, APR_HASH_KEY_STRING);
    if (!p || p->call->client != c) {
        apr_thread_mutex_unlock(h->lock);
        return;
    }
    apr_hash_set(h->pending, key, APR_HASH_KEY_STRING, NULL);
    hold(p->call);
    apr_thread_mutex_unlock(h->lock);
    /* the call runs and is held, so its upstream is too */
    json_t *r = json_object_get(msg, "result");
    json_t *e = json_object_get(msg, "error");
    berth_upstream_respond(p->call->u, p->upstream_id,
                           r ? json_incref(r) : NULL,
                           e ? json_incref(e) : NULL);
    apr_thread_mutex_lock(h->lock);
    unhold(h, p->call);
    apr_thread_mutex_unlock(h->lock);
    json_decref(p->upstream_id);
    free(p);
}

static void do_notification(berth_hub_t *h, berth_client_t *c,
                            const char *method, json_t *params)
{
    if (strcmp(method, "notifications/initialized") == 0) {
        apr_thread_mutex_lock(h->lock);
        c->initialized = 1;
        apr_thread_mutex_unlock(h->lock);
    } else if (strcmp(method, "notifications/cancelled") == 0) {
        json_t *rid = json_object_get(params, "requestId");
        apr_thread_mutex_lock(h->lock);
        const char *reason = json_string_value(json_object_get(params,
                                                               "reason"));
        call_t *held = NULL;
        for (call_t *k = h->calls.next; k != &h->calls; k = k->next)
            if (k->client == c && json_equal(k->client_id, rid) &&
                !k->cancelled) {
                k->cancelled = 1;
                if (k->uc) {
                    hold(k);
                    held = k;
                }
                break;
            }
        apr_thread_mutex_unlock(h->lock);
        if (held) {
            berth_upstream_call_cancel(held->uc, reason ? reason
                                                        : "cancelled by the "
                                                          "client");
            apr_thread_mutex_lock(h->lock);
            unhold(h, held);
            apr_thread_mutex_unlock(h->lock);
        }
    } else if (strcmp(method, "notifications/roots/list_changed") == 0) {
        /* every server that may ask for roots hears it */
        apr_pool_t *scratch;
        apr_pool_create(&scratch, NULL);
        for (int i = 0; i < berth_router_count(h->router); i++) {
            berth_supervisor_t *sv = berth_router_server(h->router, i);
            berth_upstream_t *u = berth_supervisor_acquire(sv, NULL, scratch);
            if (u) {
                berth_upstream_notify(u, method, NULL);
                berth_supervisor_release(sv, u);
            }
        }
        apr_pool_destroy(scratch);
    }
}

static json_t *handle(berth_hub_t *h, berth_client_t *c, json_t *msg,
                      const berth_sink_t *sink, berth_wbuf_t *text)
{
    switch (berth_rpc_classify(msg)) {
    case BERTH_RPC_REQUEST:
        return do_request(h, c, json_object_get(msg, "id"),
                          json_string_value(json_object_get(msg, "method")),
                          json_object_get(msg, "params"), sink, text);
    case BERTH_RPC_NOTIFICATION:
        do_notification(h, c,
                        json_string_value(json_object_get(msg, "method")),
                        json_object_get(msg, "params"));
        return NULL;
    case BERTH_RPC_RESPONSE:
        do_response(h, c, msg);
        return NULL;
    default:
        return berth_rpc_error(json_null(), BERTH_RPC_INVALID_REQUEST,
                               "not a JSON-RPC 2.0 message", NULL);
    }
}

json_t *berth_hub_handle(berth_hub_t *h, berth_client_t *c, json_t *msg,
                         const berth_sink_t *sink)
{
    return handle(h, c, msg, sink, NULL);
}

char *berth_hub_handle_text(berth_hub_t *h, berth_client_t *c, json_t *msg,
                            const berth_sink_t *sink, size_t *len)
{
    berth_wbuf_t text = { 0 };
    json_t *resp = handle(h, c, msg, sink, &text);
    if (resp) {
        berth_json_write(&text, resp);
        json_decref(resp);
    }
    return berth_wbuf_take(&text, len);
}

int berth_hub_may_stream(json_t *msg)
{
    const char *m = json_string_value(json_object_get(msg, "method"));
    return m && json_object_get(msg, "id") &&
           (strcmp(m, "tools/call") == 0 || strcmp(m, "prompts/get") == 0 ||
            strcmp(m, "resources/read") == 0 ||
            strcmp(m, "completion/complete") == 0);
}
