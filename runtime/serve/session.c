/* The session layer of the hub: clients (what initialize negotiated, the
 * log level, subscriptions), each one's queue of messages that belong to
 * no request (an HTTP GET stream pulls it), the pending requests servers
 * sent to a client, and the reaping of idle sessions. */
#include "hub_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <apr_allocator.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "jsonrpc.h"
#include "log.h"
#include "platform.h"
#include "wait.h"

/* What a session keeps of its client's capabilities (compact JSON), and of
 * one capability's value when the whole is larger. */
#define CAPS_MAX 4096
#define CAP_VALUE_MAX 512

struct berth_client_reader_t {
    void (*wake)(void *baton);
    void *baton;
    berth_client_reader_t *next;
};

/* Lock held. */
static void wake_readers(berth_client_t *c)
{
    for (berth_client_reader_t *r = c->readers; r; r = r->next)
        r->wake(r->baton);
}

berth_client_reader_t *berth_client_reader_add(berth_client_t *c,
                                               void (*wake)(void *baton),
                                               void *baton)
{
    berth_client_reader_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->wake = wake;
    r->baton = baton;
    apr_thread_mutex_lock(c->hub->lock);
    r->next = c->readers;
    c->readers = r;
    apr_thread_mutex_unlock(c->hub->lock);
    return r;
}

void berth_client_reader_remove(berth_client_t *c, berth_client_reader_t *r)
{
    apr_thread_mutex_lock(c->hub->lock);
    for (berth_client_reader_t **p = &c->readers; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    apr_thread_mutex_unlock(c->hub->lock);
    free(r);
}

void hub_enqueue(berth_hub_t *h, berth_client_t *c, json_t *msg)
{
    queue_t *q = &c->queue;
    if (c->closed) {
        json_decref(msg);
        return;
    }
    if (!q->items)
        q->items = apr_pcalloc(c->pool, sizeof(json_t *) * (size_t)q->max);
    if (q->count == q->max) {
        json_decref(q->items[q->head]);
        q->head = (q->head + 1) % q->max;
        q->count--;
    }
    q->items[(q->head + q->count) % q->max] = msg;
    q->count++;
    apr_thread_cond_broadcast(h->cv);
    wake_readers(c);
}

void hub_broadcast(berth_hub_t *h, json_t *msg)
{
    for (apr_hash_index_t *hi = apr_hash_first(NULL, h->sessions); hi;
         hi = apr_hash_next(hi)) {
        void *v;
        apr_hash_this(hi, NULL, NULL, &v);
        berth_client_t *c = v;
        if (c->initialized)
            hub_enqueue(h, c, json_incref(msg));
    }
}

/* ---- sessions ------------------------------------------------------------ */

void hub_sessions_init(berth_hub_t *h)
{
    if (!h->opts.queue_max)
        h->opts.queue_max = 256;
    if (!h->opts.max_sessions)
        h->opts.max_sessions =
            (int)berth_config_default_number("http.max_sessions");
    if (!h->opts.session_idle_unused)
        h->opts.session_idle_unused = (apr_interval_time_t)(
            berth_config_default_number("http.session_idle_unused") *
            APR_USEC_PER_SEC);
    h->unused.prev = h->unused.next = &h->unused;
    h->used.prev = h->used.next = &h->used;
}

static berth_client_t *of_lru(lru_t *l)
{
    return (berth_client_t *)(void *)((char *)l -
                                      offsetof(berth_client_t, lru));
}

/* Lock held: C at the newest end of LIST (taken out of its own first). */
static void lru_put(lru_t *list, berth_client_t *c)
{
    if (c->lru.next) {
        c->lru.prev->next = c->lru.next;
        c->lru.next->prev = c->lru.prev;
    }
    c->lru.prev = list->prev;
    c->lru.next = list;
    list->prev->next = &c->lru;
    list->prev = &c->lru;
}

static void lru_out(berth_client_t *c)
{
    c->lru.prev->next = c->lru.next;
    c->lru.next->prev = c->lru.prev;
    c->lru.prev = c->lru.next = NULL;
}

/* Lock held: the session to close to make room, with a reference taken:
 * the oldest with no request in flight (only the registry holds it) of
 * those never used after initialize, else of the others. NULL when every
 * one is busy. */
static berth_client_t *room_victim(berth_hub_t *h)
{
    lru_t *lists[2] = { &h->unused, &h->used };
    for (int i = 0; i < 2; i++)
        for (lru_t *l = lists[i]->next; l != lists[i]; l = l->next)
            if (of_lru(l)->refs == 1) {
                of_lru(l)->refs++;
                return of_lru(l);
            }
    return NULL;
}

/* The log says a full table closed sessions, once a minute at most: a
 * flood of initialize requests would otherwise write a line each. */
static void say_evicted(berth_hub_t *h, apr_time_t now)
{
    apr_thread_mutex_lock(h->lock);
    unsigned long n = ++h->evicted;
    int say = berth_log_due(&h->evicted_said, now);
    apr_thread_mutex_unlock(h->lock);
    if (say)
        berth_log(BERTH_LOG_WARN, "sessions: %d open (http.max_sessions): the "
                  "least recently used idle session was closed for a new "
                  "one (%lu so far)", h->opts.max_sessions, n);
}

/* Lock held: a session in the registry, or NULL without memory. */
static berth_client_t *make_session(berth_hub_t *h)
{
    apr_pool_t *pool;
    unsigned char r[16];
    /* a session's memory goes back to the system when it ends (an
     * allocator of its own that keeps nothing), so 10,000 abandoned
     * sessions do not stay in berth's footprint */
    apr_allocator_t *alloc;
    if (apr_allocator_create(&alloc) != APR_SUCCESS)
        return NULL;
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
    c->subs = apr_hash_make(pool);
    c->caps = json_object();
    if (apr_generate_random_bytes(r, sizeof r) != APR_SUCCESS)
        memset(r, 0, sizeof r);
    for (int i = 0; i < 16; i++)
        apr_snprintf(c->id + 2 * i, 3, "%02x", r[i]);
    apr_hash_set(h->sessions, c->id, APR_HASH_KEY_STRING, c);
    lru_put(&h->unused, c);
    return c;
}

berth_client_t *berth_hub_session_new(berth_hub_t *h)
{
    for (;;) {
        apr_thread_mutex_lock(h->lock);
        if ((int)apr_hash_count(h->sessions) < h->opts.max_sessions) {
            berth_client_t *c = make_session(h);
            apr_thread_mutex_unlock(h->lock);
            return c;
        }
        /* full: a new client is served before an idle one is kept */
        berth_client_t *victim = room_victim(h);
        apr_thread_mutex_unlock(h->lock);
        if (!victim)
            return NULL;
        berth_hub_session_close(h, victim);
        berth_hub_session_release(h, victim);
        say_evicted(h, berth_platform_clock());
    }
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
        c->used = 1;
        lru_put(&h->used, c);
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

pending_t *hub_take_pending(berth_hub_t *h, berth_client_t *c,
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
            hub_hold(p->call);
            p->next = list;
            list = p;
        }
    }
    return list;
}

void hub_answer_dropped(berth_hub_t *h, pending_t *list)
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
        hub_unhold(h, p->call);
        json_decref(p->upstream_id);
        free(p);
    }
    apr_thread_mutex_unlock(h->lock);
}

/* Lock held: C's subscriptions end; the URIs no session holds any more
 * (a new array; the server still does). */
static json_t *unsubscribe_all(berth_hub_t *h, berth_client_t *c)
{
    json_t *last = json_array();
    for (apr_hash_index_t *hi = apr_hash_first(NULL, c->subs); hi;
         hi = apr_hash_next(hi)) {
        const void *uri;
        apr_hash_this(hi, &uri, NULL, NULL);
        intptr_t n = (intptr_t)apr_hash_get(h->subs, uri, APR_HASH_KEY_STRING);
        /* the entry exists: its key is kept, no copy needed */
        apr_hash_set(h->subs, uri, APR_HASH_KEY_STRING,
                     n > 1 ? (void *)(n - 1) : NULL);
        if (n == 1)
            json_array_append_new(last, json_string(uri));
    }
    return last;
}

/* Lock not held: the server of each URI in URIS (stolen) is told that
 * nobody wants its updates any more, as the last unsubscribe would have
 * told it. Nobody waits for its answer: a session that ends does not wait
 * on a server. */
static void tell_unsubscribed(berth_hub_t *h, json_t *uris)
{
    size_t i;
    json_t *uri;
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    json_array_foreach(uris, i, uri) {
        berth_route_t rt;
        if (!berth_router_route(h->router, "resources",
                                json_string_value(uri), &rt, pool))
            continue;
        berth_upstream_t *u = berth_server_acquire(rt.sv, NULL, pool);
        if (!u)
            continue;
        berth_call_opts_t o = { apr_time_from_sec(10), NULL, NULL };
        berth_call_t *call = NULL;
        if (berth_upstream_call_start(u, "resources/unsubscribe",
                                      json_pack("{s:O}", "uri", uri), &o,
                                      &call) == APR_SUCCESS)
            berth_upstream_call_free(call);
        berth_server_release(rt.sv, u);
    }
    apr_pool_destroy(pool);
    json_decref(uris);
}

void berth_hub_session_close(berth_hub_t *h, berth_client_t *c)
{
    call_t *cancel[64];
    int n = 0, closed_here = 0;
    pending_t *dropped = NULL;
    json_t *unsubscribed = NULL;
    apr_thread_mutex_lock(h->lock);
    if (!c->closed) {
        closed_here = 1;
        c->closed = 1;
        apr_hash_set(h->sessions, c->id, APR_HASH_KEY_STRING, NULL);
        lru_out(c);
        for (call_t *k = h->calls.next; k != &h->calls; k = k->next)
            if (k->client == c && !k->cancelled) {
                /* one not started yet is cancelled as soon as it is; more
                 * than 64 at once are cancelled at their timeout */
                k->cancelled = 1;
                if (k->uc && n < 64) {
                    hub_hold(k);
                    cancel[n++] = k;
                }
            }
        dropped = hub_take_pending(h, c, NULL);
        unsubscribed = unsubscribe_all(h, c);
        apr_thread_cond_broadcast(h->cv);
        wake_readers(c);
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
        hub_answer_dropped(h, dropped);
    tell_unsubscribed(h, unsubscribed);
    apr_thread_mutex_lock(h->lock);
    for (int i = 0; i < n; i++)
        hub_unhold(h, cancel[i]);
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
            apr_interval_time_t limit = h->opts.session_idle;
            if (!c->used && h->opts.session_idle_unused < limit)
                limit = h->opts.session_idle_unused;
            if (c->refs == 1 && now - c->last_used > limit) {
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

/* The size of V as compact JSON, counted without writing it. */
static size_t json_size(json_t *v)
{
    return json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
}

json_t *hub_client_caps(json_t *caps)
{
    if (json_size(caps) <= CAPS_MAX)
        return json_deep_copy(caps);
    /* a client may declare anything: what a session keeps stays small
     * however much it sent (with a budget for the names too) */
    json_t *kept = json_object();
    size_t used = 2;
    const char *key;
    json_t *v;
    json_object_foreach(caps, key, v) {
        size_t kl = strlen(key) + 4;
        if (used + kl > CAPS_MAX)
            break;
        int small = json_size(v) <= CAP_VALUE_MAX && used + kl +
                    CAP_VALUE_MAX <= CAPS_MAX;
        json_object_set_new(kept, key, small ? json_deep_copy(v)
                                             : json_object());
        used += kl + (small ? json_size(v) : 2);
    }
    return kept;
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
