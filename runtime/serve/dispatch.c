/* The hub's request path: one message from a client in, its response out.
 * What berth does with each MCP method is one row of k_methods (h2o's
 * handler list is the model): how the method is routed, whether it may
 * stream, whether the session must be initialized first, and its handler.
 * Dispatch finds the row, refuses what the row says to refuse, routes, and
 * calls the handler; a request no row names is -32601, a notification no
 * row names is dropped (JSON-RPC answers no notification). */
#include "hub_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "berth_version.h"
#include "jsonrpc.h"
#include "jsonwire.h"
#include "log.h"
#include "mcpver.h"
#include "platform.h"

/* How a method finds the server that answers it. */
typedef enum {
    ROUTE_LOCAL,  /* berth answers it itself */
    ROUTE_NAME,   /* params.name: a tool or prompt's exposed name */
    ROUTE_URI,    /* params.uri: a resource, by URI, then by template */
    ROUTE_REF,    /* params.ref: a completion's prompt or resource template */
    ROUTE_ALL     /* every server that is ready */
} route_kind_t;

typedef struct method_t method_t;

/* One message being handled. */
typedef struct {
    berth_hub_t *h;
    berth_client_t *c;
    const method_t *m;
    const char *method;
    json_t *id;               /* NULL for a notification */
    json_t *params;           /* borrowed; may be NULL */
    const berth_sink_t *sink;
    berth_wbuf_t *text;       /* a plain result may be written here */
    berth_route_t rt;         /* where it goes (NAME, URI, REF) */
    const char *ref_key;      /* REF: the member of ref that names it */
    apr_pool_t *pool;         /* the request's, for routed methods */
} req_t;

typedef json_t *handler_fn(req_t *r);

struct method_t {
    const char *name;
    int notification;         /* no id, no response */
    route_kind_t route;
    const char *list;         /* the router's list it is routed in, or
                                 the list it answers */
    const char *what;         /* what the name or URI names, for errors */
    int may_stream;           /* forwarded: progress, logs and the server's
                                 questions may come before the answer */
    int needs_init;           /* refused before initialize */
    handler_fn *run;
};

static handler_fn do_initialize, do_ping, do_list, do_forward, do_subscribe,
    do_complete, do_set_level, on_initialized, on_cancelled,
    on_roots_changed;

static const method_t k_methods[] = {
    /* name, notification, route, list, what, may_stream, needs_init, run */
    { "initialize", 0, ROUTE_LOCAL, NULL, NULL, 0, 0, do_initialize },
    { "ping", 0, ROUTE_LOCAL, NULL, NULL, 0, 0, do_ping },
    { "tools/list", 0, ROUTE_LOCAL, "tools", NULL, 0, 1, do_list },
    { "prompts/list", 0, ROUTE_LOCAL, "prompts", NULL, 0, 1, do_list },
    { "resources/list", 0, ROUTE_LOCAL, "resources", NULL, 0, 1, do_list },
    { "resources/templates/list", 0, ROUTE_LOCAL, "resourceTemplates", NULL,
      0, 1, do_list },
    { "tools/call", 0, ROUTE_NAME, "tools", "tool", 1, 1, do_forward },
    { "prompts/get", 0, ROUTE_NAME, "prompts", "prompt", 1, 1, do_forward },
    { "resources/read", 0, ROUTE_URI, "resources", "resource", 1, 1,
      do_forward },
    { "resources/subscribe", 0, ROUTE_URI, "resources", "resource", 0, 1,
      do_subscribe },
    { "resources/unsubscribe", 0, ROUTE_URI, "resources", "resource", 0, 1,
      do_subscribe },
    { "completion/complete", 0, ROUTE_REF, NULL, NULL, 1, 1, do_complete },
    { "logging/setLevel", 0, ROUTE_ALL, NULL, NULL, 0, 1, do_set_level },
    { "notifications/initialized", 1, ROUTE_LOCAL, NULL, NULL, 0, 0,
      on_initialized },
    { "notifications/cancelled", 1, ROUTE_LOCAL, NULL, NULL, 0, 0,
      on_cancelled },
    { "notifications/roots/list_changed", 1, ROUTE_ALL, NULL, NULL, 0, 0,
      on_roots_changed },
};
#define N_METHODS (sizeof k_methods / sizeof k_methods[0])

static const method_t *find_method(const char *name, int notification)
{
    /* the first letter first: this runs on every request */
    for (size_t i = 0; name && i < N_METHODS; i++)
        if (k_methods[i].name[0] == name[0] &&
            k_methods[i].notification == notification &&
            strcmp(k_methods[i].name, name) == 0)
            return &k_methods[i];
    return NULL;
}

static json_t *error_of(json_t *id, int code, const char *fmt, ...)
    BERTH_PRINTF(3, 4);
static json_t *error_of(json_t *id, int code, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    apr_vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return berth_rpc_error(id, code, text, NULL);
}

static const char *str_or(json_t *s)
{
    return json_is_string(s) ? json_string_value(s) : "";
}

/* ---- servers still starting ------------------------------------------- */

/* A wait for a start is looked at in slices this long, so that a session
 * that closes (its client went, berth stops) stops waiting. */
#define START_SLICE (100 * 1000)

static int session_closed(req_t *r)
{
    apr_thread_mutex_lock(r->h->lock);
    int closed = r->c->closed;
    apr_thread_mutex_unlock(r->h->lock);
    return closed;
}

/* Waits while SV is in the start berth began it with, up to startup_wait
 * after that start; 1 when there was such a start to wait for. */
static int await_server(req_t *r, berth_server_t sv)
{
    int waited = 0, rv;
    if (r->h->opts.startup_wait <= 0)
        return 0;
    do {
        rv = berth_server_await_start(sv, r->h->opts.startup_wait,
                                      berth_platform_clock() + START_SLICE);
        waited |= rv != 0;
    } while (rv == 2 && !session_closed(r));
    return waited;
}

/* A list, or a name no server offers, waits for the servers still in the
 * start berth began them with (its own start, a reload, berth restart),
 * each up to startup_wait after its start: a client that lists at once
 * (many never heed list_changed) then gets their tools, and one that
 * calls at once reaches them. Nothing waits once every server is ready,
 * or a restart after an exit. 1 when any was waited for. */
static int await_starts(req_t *r)
{
    if (r->h->opts.startup_wait <= 0)
        return 0;
    apr_pool_t *p;
    apr_pool_create(&p, NULL);
    apr_array_header_t *all = berth_router_servers(r->h->router, p);
    int waited = 0;
    for (int i = 0; i < all->nelts && !session_closed(r); i++)
        waited |= await_server(r, APR_ARRAY_IDX(all, i, berth_server_t));
    apr_pool_destroy(p);
    return waited;
}

/* ---- berth's own answers ---------------------------------------------- */

static json_t *do_initialize(req_t *r)
{
    const char *want = json_string_value(json_object_get(r->params,
                                                         "protocolVersion"));
    const char *v = want && berth_mcp_version_supported(want)
                        ? want : BERTH_MCP_LATEST;
    json_t *caps = json_object_get(r->params, "capabilities");
    apr_thread_mutex_lock(r->h->lock);
    r->c->protocol = apr_pstrdup(r->c->pool, v);
    if (json_is_object(caps)) {
        json_decref(r->c->caps);
        r->c->caps = hub_client_caps(caps);
    }
    apr_thread_mutex_unlock(r->h->lock);
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
    return berth_rpc_result(r->id, result);
}

static json_t *do_ping(req_t *r)
{
    return berth_rpc_result(r->id, json_object());
}

static json_t *do_list(req_t *r)
{
    if (json_object_get(r->params, "cursor"))
        return error_of(r->id, BERTH_RPC_INVALID_PARAMS, "invalid cursor: "
                        "berth returns every item in one page");
    await_starts(r);
    json_t *items = berth_router_list(r->h->router, r->m->list);
    return berth_rpc_result(r->id, json_pack("{s:o}", r->m->list, items));
}

/* ---- forwarding to a server ------------------------------------------- */

static void on_progress(void *baton, json_t *params)
{
    call_t *k = baton;
    json_t *p = json_deep_copy(params);
    json_object_set(p, "progressToken", k->token);
    k->sink.send(k->sink.baton,
                 berth_rpc_notification("notifications/progress", p));
}

/* The parameters the server gets: a shallow copy of PARAMS (the arguments
 * are shared with the client's message) with NAME_KEY's value replaced by
 * the server's own name when given, and without the client's
 * progressToken, which K keeps (the server gets berth's own). */
static json_t *server_params(json_t *params, const char *name_key,
                             const char *name, call_t *k)
{
    json_t *p = json_is_object(params) ? json_copy(params) : json_object();
    if (name_key)
        json_object_set_new(p, name_key, json_string(name));
    json_t *meta = json_object_get(p, "_meta");
    json_t *token = meta ? json_object_get(meta, "progressToken") : NULL;
    if (!token)
        return p;
    k->token = json_incref(token);
    meta = json_copy(meta);
    json_object_del(meta, "progressToken");
    if (json_object_size(meta))
        json_object_set_new(p, "_meta", meta);
    else {
        json_decref(meta);
        json_object_del(p, "_meta");
    }
    return p;
}

/* Puts K among the calls in flight; 0 when its session already ended. */
static int register_call(berth_hub_t *h, call_t *k)
{
    apr_thread_mutex_lock(h->lock);
    int open = !k->client->closed;
    if (open) {
        k->prev = h->calls.prev;
        k->next = &h->calls;
        h->calls.prev->next = k;
        h->calls.prev = k;
    }
    apr_thread_mutex_unlock(h->lock);
    return open;
}

/* Takes K out of the calls in flight: the server's requests still waiting
 * for this client are answered for it, and nobody writes on K's behalf
 * any more. */
static void unregister_call(berth_hub_t *h, call_t *k)
{
    apr_thread_mutex_lock(h->lock);
    k->cancelled = 1; /* no server request attaches to it any more */
    pending_t *dropped = hub_take_pending(h, k->client, k);
    apr_thread_mutex_unlock(h->lock);
    /* the upstream is still held here */
    if (dropped)
        hub_answer_dropped(h, dropped);
    apr_thread_mutex_lock(h->lock);
    while (k->busy > 0)
        apr_thread_cond_wait(h->cv, h->lock);
    k->prev->next = k->next;
    k->next->prev = k->prev;
    apr_thread_mutex_unlock(h->lock);
}

/* The answer to a forwarded request: the server's plain result as text
 * under the client's id (into r->text, NULL returned), or as a tree; the
 * server's error object, made valid where it is not; or why there is
 * none. */
static json_t *answer_of(req_t *r, apr_status_t rv, char *raw,
                         apr_size_t raw_len, json_t *result, json_t *error)
{
    if (rv == APR_SUCCESS && raw) {
        berth_wbuf_add(r->text, "{\"jsonrpc\":\"2.0\",\"id\":", 22);
        berth_json_write(r->text, r->id ? r->id : json_null());
        berth_wbuf_add(r->text, ",\"result\":", 10);
        berth_wbuf_add(r->text, raw, raw_len);
        berth_wbuf_add(r->text, "}", 1);
        free(raw);
        return NULL;
    }
    if (rv == APR_SUCCESS)
        return berth_rpc_result(r->id, result);
    if (!error)
        return error_of(r->id, BERTH_RPC_INTERNAL_ERROR, "server %s did not "
                        "answer", r->rt.server);
    json_t *code = json_object_get(error, "code");
    const char *msg = json_string_value(json_object_get(error, "message"));
    json_t *data = json_object_get(error, "data");
    json_t *out = berth_rpc_error(
        r->id, json_is_integer(code) ? (int)json_integer_value(code)
                                     : BERTH_RPC_INTERNAL_ERROR,
        msg ? msg : "the server answered with an error",
        data ? json_incref(data) : NULL);
    json_decref(error);
    return out;
}

/* Forwards the request with PARAMS (borrowed; NAME_KEY's value replaced by
 * the server's own name when given) to the route's server, as the
 * client's request. */
static json_t *forward(req_t *r, json_t *params, const char *name_key)
{
    const char *why = NULL;
    berth_upstream_t *u = berth_server_acquire(r->rt.sv, &why, r->pool);
    /* its name is known, its start was asked for (berth restart) */
    if (!u && await_server(r, r->rt.sv))
        u = berth_server_acquire(r->rt.sv, &why, r->pool);
    if (!u)
        return error_of(r->id, BERTH_RPC_SERVER_GONE, "%s", why);
    const berth_server_config_t *srv = berth_server_config(r->rt.sv);
    call_t *k = apr_pcalloc(r->pool, sizeof *k);
    k->client = r->c;
    k->server = berth_upstream_name(u);
    k->u = u;
    k->client_id = r->id;
    k->sink = *r->sink;
    json_t *p = server_params(params, name_key, r->rt.name, k);
    berth_call_opts_t o = { (apr_interval_time_t)(srv->timeouts.call *
                                                  APR_USEC_PER_SEC),
                            k->token ? on_progress : NULL, k };
    if (!register_call(r->h, k)) {
        berth_server_release(r->rt.sv, u);
        json_decref(p);
        json_decref(k->token);
        return error_of(r->id, BERTH_RPC_INVALID_REQUEST, "the session ended");
    }
    json_t *result = NULL, *error = NULL;
    char *raw = NULL;
    apr_size_t raw_len = 0;
    berth_call_t *uc = NULL;
    apr_status_t rv = berth_upstream_call_start(u, r->method, p, &o, &uc);
    if (rv == APR_SUCCESS) {
        /* under the lock: a cancellation reads k->uc there */
        apr_thread_mutex_lock(r->h->lock);
        k->uc = uc;
        int cancelled = k->cancelled;
        apr_thread_mutex_unlock(r->h->lock);
        if (cancelled)
            berth_upstream_call_cancel(uc, "cancelled before it started");
        rv = r->text ? berth_upstream_call_wait_raw(uc, &raw, &raw_len,
                                                    &result, &error)
                     : berth_upstream_call_wait(uc, &result, &error);
    }
    unregister_call(r->h, k);
    if (uc)
        berth_upstream_call_free(uc);
    berth_server_release(r->rt.sv, u);
    json_decref(k->token);
    return answer_of(r, rv, raw, raw_len, result, error);
}

static json_t *do_forward(req_t *r)
{
    return forward(r, r->params,
                   r->m->route == ROUTE_NAME ? "name" : NULL);
}

/* A subscription the server refused: C does not hold it, and the next
 * session that subscribes asks the server again. */
static void forget_subscription(berth_hub_t *h, berth_client_t *c,
                                const char *uri)
{
    apr_thread_mutex_lock(h->lock);
    if (apr_hash_get(c->subs, uri, APR_HASH_KEY_STRING)) {
        intptr_t n = (intptr_t)apr_hash_get(h->subs, uri,
                                            APR_HASH_KEY_STRING);
        apr_hash_set(c->subs, uri, APR_HASH_KEY_STRING, NULL);
        apr_hash_set(h->subs, uri, APR_HASH_KEY_STRING,
                     n > 1 ? (void *)(n - 1) : NULL);
    }
    apr_thread_mutex_unlock(h->lock);
}

/* The server is asked once per URI, however many sessions subscribe; a
 * session's last subscription ending (an unsubscribe, or the session's
 * end: session.c) tells it. */
static json_t *do_subscribe(req_t *r)
{
    berth_hub_t *h = r->h;
    berth_client_t *c = r->c;
    const char *uri = r->rt.name;
    int sub = strcmp(r->method, "resources/subscribe") == 0;
    apr_thread_mutex_lock(h->lock);
    int had = apr_hash_get(c->subs, uri, APR_HASH_KEY_STRING) != NULL;
    intptr_t n = (intptr_t)apr_hash_get(h->subs, uri, APR_HASH_KEY_STRING);
    if (sub && !had) {
        apr_hash_set(c->subs, apr_pstrdup(c->pool, uri), APR_HASH_KEY_STRING,
                     "");
        apr_hash_set(h->subs, n ? uri : apr_pstrdup(h->pool, uri),
                     APR_HASH_KEY_STRING, (void *)(n + 1));
    } else if (!sub && had) {
        apr_hash_set(c->subs, uri, APR_HASH_KEY_STRING, NULL);
        apr_hash_set(h->subs, uri, APR_HASH_KEY_STRING,
                     n > 1 ? (void *)(n - 1) : NULL);
    }
    int ask = (sub && !had && n == 0) || (!sub && had && n == 1);
    apr_thread_mutex_unlock(h->lock);
    if (!ask)
        return berth_rpc_result(r->id, json_object());
    json_t *out = forward(r, r->params, NULL);
    if (sub && out && json_object_get(out, "error"))
        forget_subscription(h, c, uri);
    return out;
}

/* The ref names the prompt or template as the client knows it; the server
 * gets its own name for it. */
static json_t *do_complete(req_t *r)
{
    json_t *p = json_deep_copy(r->params);
    if (r->ref_key)
        json_object_set_new(json_object_get(p, "ref"), r->ref_key,
                            json_string(r->rt.name));
    json_t *out = forward(r, p, NULL);
    json_decref(p);
    return out;
}

/* Every server that can log logs at the level asked; berth filters what
 * reaches each session by its own level. */
static json_t *do_set_level(req_t *r)
{
    int lvl = hub_level_index(json_string_value(json_object_get(r->params,
                                                                "level")));
    if (lvl < 0)
        return error_of(r->id, BERTH_RPC_INVALID_PARAMS, "unknown log level");
    apr_thread_mutex_lock(r->h->lock);
    r->c->log_level = lvl;
    apr_thread_mutex_unlock(r->h->lock);
    apr_array_header_t *all = berth_router_servers(r->h->router, r->pool);
    for (int i = 0; i < all->nelts; i++) {
        berth_server_t sv = APR_ARRAY_IDX(all, i, berth_server_t);
        berth_upstream_t *u = berth_server_acquire(sv, NULL, r->pool);
        if (!u)
            continue;
        json_t *info = berth_upstream_server_info(u);
        if (json_object_get(json_object_get(info, "capabilities"),
                            "logging")) {
            json_t *res = NULL, *e = NULL;
            berth_upstream_request(u, r->method, json_deep_copy(r->params),
                                   apr_time_from_sec(10), &res, &e);
            json_decref(res);
            json_decref(e);
        }
        json_decref(info);
        berth_server_release(sv, u);
    }
    return berth_rpc_result(r->id, json_object());
}

/* ---- notifications from the client ------------------------------------- */

static json_t *on_initialized(req_t *r)
{
    apr_thread_mutex_lock(r->h->lock);
    r->c->initialized = 1;
    apr_thread_mutex_unlock(r->h->lock);
    /* its roots, for servers that ask outside a call (roots.c) */
    hub_roots_ask(r->h, r->c);
    return NULL;
}

static json_t *on_cancelled(req_t *r)
{
    berth_hub_t *h = r->h;
    json_t *rid = json_object_get(r->params, "requestId");
    const char *reason = json_string_value(json_object_get(r->params,
                                                           "reason"));
    call_t *held = NULL;
    apr_thread_mutex_lock(h->lock);
    for (call_t *k = h->calls.next; k != &h->calls; k = k->next)
        if (k->client == r->c && json_equal(k->client_id, rid) &&
            !k->cancelled) {
            k->cancelled = 1;
            if (k->uc) {
                hub_hold(k);
                held = k;
            }
            break;
        }
    apr_thread_mutex_unlock(h->lock);
    if (!held)
        return NULL;
    berth_upstream_call_cancel(held->uc,
                               reason ? reason : "cancelled by the client");
    apr_thread_mutex_lock(h->lock);
    hub_unhold(h, held);
    apr_thread_mutex_unlock(h->lock);
    return NULL;
}

/* Every server that may ask for roots hears it; berth asks the client
 * for its new roots too, and the servers hear again when those differ
 * from what they would get. */
static json_t *on_roots_changed(req_t *r)
{
    hub_roots_ask(r->h, r->c);
    apr_array_header_t *all = berth_router_servers(r->h->router, r->pool);
    for (int i = 0; i < all->nelts; i++) {
        berth_server_t sv = APR_ARRAY_IDX(all, i, berth_server_t);
        berth_upstream_t *u = berth_server_acquire(sv, NULL, r->pool);
        if (u) {
            berth_upstream_notify(u, r->method, NULL);
            berth_server_release(sv, u);
        }
    }
    return NULL;
}

/* ---- routing ------------------------------------------------------------ */

/* NAME routes nowhere: when it carries the prefix of a server that is not
 * ready, that server is down (-32030, naming it and why); else the name is
 * unknown. */
static json_t *not_routed(req_t *r, const char *name)
{
    apr_array_header_t *all = berth_router_servers(r->h->router, r->pool);
    for (int i = 0; i < all->nelts; i++) {
        berth_server_t sv = APR_ARRAY_IDX(all, i, berth_server_t);
        const berth_server_config_t *srv = berth_server_config(sv);
        if (srv->ns == BERTH_NAMESPACE_NONE)
            continue;
        const char *prefix = berth_router_expose(srv->name, "", srv->ns,
                                                 r->pool);
        if (strncmp(name, prefix, strlen(prefix)) != 0)
            continue;
        const char *why = NULL;
        berth_upstream_t *u = berth_server_acquire(sv, &why, r->pool);
        if (u) {
            berth_server_release(sv, u);
            break; /* it runs: the name is just not one of its */
        }
        return error_of(r->id, BERTH_RPC_SERVER_GONE, "%s", why);
    }
    return error_of(r->id, BERTH_RPC_INVALID_PARAMS, "unknown %s: %s",
                    r->m->what, name);
}

/* A completion's ref: a prompt by its exposed name, a resource template by
 * its URI template. */
/* The list and name of a completion's ref, or 0 when it is neither. */
static int ref_of(req_t *r, const char **list, const char **name)
{
    json_t *ref = json_object_get(r->params, "ref");
    const char *type = json_string_value(json_object_get(ref, "type"));
    if (type && strcmp(type, "ref/prompt") == 0) {
        r->ref_key = "name";
        *list = "prompts";
        *name = str_or(json_object_get(ref, "name"));
        return 1;
    }
    if (type && strcmp(type, "ref/resource") == 0) {
        *list = "resourceTemplates";
        *name = str_or(json_object_get(ref, "uri"));
        return 1;
    }
    return 0;
}

static json_t *route_ref(req_t *r)
{
    const char *list, *name;
    int found = ref_of(r, &list, &name) &&
                (berth_router_route(r->h->router, list, name, &r->rt,
                                    r->pool) ||
                 (await_starts(r) && berth_router_route(r->h->router, list,
                                                        name, &r->rt,
                                                        r->pool)));
    return found ? NULL
                 : error_of(r->id, BERTH_RPC_INVALID_PARAMS, "no server "
                            "offers what this completion refers to");
}

/* Fills r->rt as the row says; the refusal when it cannot be routed. */
static json_t *route(req_t *r)
{
    const method_t *m = r->m;
    if (m->route == ROUTE_NAME || m->route == ROUTE_URI) {
        const char *key = m->route == ROUTE_NAME ? "name" : "uri";
        const char *name = json_string_value(json_object_get(r->params, key));
        if (!name)
            return error_of(r->id, BERTH_RPC_INVALID_PARAMS, "%s needs a %s",
                            r->method, key);
        if (berth_router_route(r->h->router, m->list, name, &r->rt,
                               r->pool) ||
            (await_starts(r) && berth_router_route(r->h->router, m->list, name,
                                                   &r->rt, r->pool)))
            return NULL;
        return m->route == ROUTE_NAME
                   ? not_routed(r, name)
                   : error_of(r->id, BERTH_RPC_RESOURCE_NOT_FOUND,
                              "resource not found: %s", name);
    }
    if (m->route == ROUTE_REF)
        return route_ref(r);
    return NULL;
}

/* ---- dispatch ------------------------------------------------------------- */

/* The response to R, a request or notification (NULL for a notification,
 * or when a plain result went to r->text). */
static json_t *dispatch(req_t *r)
{
    const method_t *m = r->m;
    if (!r->id && !m)
        return NULL; /* a notification berth has no use for */
    /* before initialize only what the row allows; a method berth does not
     * know is refused as any other would be */
    if (r->id && (!m || m->needs_init) && !r->c->protocol)
        return error_of(r->id, BERTH_RPC_INVALID_REQUEST, "the session is "
                        "not initialized: send initialize first");
    if (!m)
        return error_of(r->id, BERTH_RPC_METHOD_NOT_FOUND,
                        "method not found: %s", r->method);
    /* a routed method gets a pool of its own; berth's own answers none */
    if (m->route != ROUTE_LOCAL)
        apr_pool_create(&r->pool, NULL);
    json_t *out = route(r);
    if (!out)
        out = m->run(r);
    if (r->pool)
        apr_pool_destroy(r->pool);
    return out;
}

/* A client's answer to a request a server sent it through berth. */
static void do_response(berth_hub_t *h, berth_client_t *c, json_t *msg)
{
    json_t *id = json_object_get(msg, "id");
    const char *key = json_string_value(id);
    if (!key || hub_roots_take(h, c, msg))
        return;
    apr_thread_mutex_lock(h->lock);
    pending_t *p = apr_hash_get(h->pending, key, APR_HASH_KEY_STRING);
    if (!p || p->call->client != c) {
        apr_thread_mutex_unlock(h->lock);
        return;
    }
    apr_hash_set(h->pending, key, APR_HASH_KEY_STRING, NULL);
    hub_hold(p->call);
    apr_thread_mutex_unlock(h->lock);
    /* the call runs and is held, so its upstream is too */
    json_t *res = json_object_get(msg, "result");
    json_t *e = json_object_get(msg, "error");
    berth_upstream_respond(p->call->u, p->upstream_id,
                           res ? json_incref(res) : NULL,
                           e ? json_incref(e) : NULL);
    apr_thread_mutex_lock(h->lock);
    hub_unhold(h, p->call);
    apr_thread_mutex_unlock(h->lock);
    json_decref(p->upstream_id);
    free(p);
}

static json_t *handle(berth_hub_t *h, berth_client_t *c, json_t *msg,
                      const berth_sink_t *sink, berth_wbuf_t *text)
{
    berth_rpc_kind_t kind = berth_rpc_classify(msg);
    if (kind == BERTH_RPC_RESPONSE) {
        do_response(h, c, msg);
        return NULL;
    }
    if (kind == BERTH_RPC_INVALID)
        return berth_rpc_error(json_null(), BERTH_RPC_INVALID_REQUEST,
                               "not a JSON-RPC 2.0 message", NULL);
    req_t r;
    memset(&r, 0, sizeof r);
    r.h = h;
    r.c = c;
    r.method = json_string_value(json_object_get(msg, "method"));
    r.id = kind == BERTH_RPC_REQUEST ? json_object_get(msg, "id") : NULL;
    r.m = find_method(r.method, kind == BERTH_RPC_NOTIFICATION);
    r.params = json_object_get(msg, "params");
    r.sink = sink;
    r.text = text;
    return dispatch(&r);
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
    const method_t *m = json_object_get(msg, "id")
                            ? find_method(json_string_value(
                                              json_object_get(msg, "method")),
                                          0)
                            : NULL;
    return m && m->may_stream;
}
