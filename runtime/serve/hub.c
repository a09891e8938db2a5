/* The hub itself, and what servers send to its clients: notifications
 * (list_changed to every session, logs to the call they belong to or to
 * the sessions that asked for that level, resource updates to the
 * subscribed sessions) and server-to-client requests (to the newest call
 * in flight to that server from a client that can answer). The session
 * layer is session.c, the request path dispatch.c. */
#include "hub_int.h"

#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "jsonrpc.h"

static const char *const k_levels[] = { "debug", "info", "notice",
                                        "warning", "error", "critical",
                                        "alert", "emergency" };

int hub_level_index(const char *l)
{
    for (int i = 0; l && i < 8; i++)
        if (strcmp(l, k_levels[i]) == 0)
            return i;
    return -1;
}


static apr_status_t free_roots(void *data)
{
    berth_hub_t *h = data;
    json_decref(h->roots_client);
    json_decref(h->roots_config);
    h->roots_client = h->roots_config = NULL;
    return APR_SUCCESS;
}

berth_hub_t *berth_hub_create(berth_router_t *router,
                              const berth_hub_opts_t *opts, apr_pool_t *pool)
{
    berth_hub_t *h = apr_pcalloc(pool, sizeof *h);
    apr_pool_create(&h->pool, pool);
    h->router = router;
    if (opts)
        h->opts = *opts;
    if (!h->opts.session_idle)
        h->opts.session_idle = (apr_interval_time_t)(
            berth_config_default_number("http.session_idle") *
            APR_USEC_PER_SEC);
    if (!h->opts.startup_wait)
        h->opts.startup_wait = (apr_interval_time_t)(
            berth_config_default_number("timeouts.startup_wait") *
            APR_USEC_PER_SEC);
    hub_sessions_init(h);
    apr_thread_mutex_create(&h->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_thread_cond_create(&h->cv, pool);
    h->sessions = apr_hash_make(pool);
    h->pending = apr_hash_make(pool);
    h->subs = apr_hash_make(pool);
    h->calls.next = h->calls.prev = &h->calls;
    apr_pool_cleanup_register(pool, h, free_roots, apr_pool_cleanup_null);
    return h;
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
        hub_broadcast(h, n);
        json_decref(n);
    } else if (strcmp(method, "notifications/message") == 0) {
        int lvl = hub_level_index(json_string_value(json_object_get(params,
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
                    hub_enqueue(h, c, json_incref(n));
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
                hub_enqueue(h, c, json_incref(n));
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
    if (!k && strcmp(method, "roots/list") == 0) {
        /* outside a call from a client with roots: berth's own answer */
        json_t *roots = hub_roots_answer(h);
        apr_thread_mutex_unlock(h->lock);
        berth_upstream_respond(u, id, roots, NULL);
        return;
    }
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
        hub_broadcast(h, n);
        json_decref(n);
    }
    apr_thread_mutex_unlock(h->lock);
}

/* Lock held. */
void hub_hold(call_t *k)
{
    k->busy++;
}

/* Lock held. */
void hub_unhold(berth_hub_t *h, call_t *k)
{
    if (--k->busy == 0)
        apr_thread_cond_broadcast(h->cv);
}
