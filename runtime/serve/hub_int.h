/* The hub's inside, shared by its three files: hub.c (the hub itself and
 * what servers send to clients), session.c (the session layer: clients,
 * their queues, pending server requests, reaping) and dispatch.c (the
 * request path: the method table and its handlers). Not for other
 * modules. */
#ifndef BERTH_HUB_INT_H
#define BERTH_HUB_INT_H

#include <apr_hash.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>

#include "hub.h"
#include "upstream.h"

typedef struct call_t call_t;

/* One client request forwarded to a server, while it runs. */
struct call_t {
    call_t *next, *prev;
    berth_client_t *client;
    const char *server;          /* the upstream's name */
    berth_upstream_t *u;         /* held (acquired) while here */
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
    json_t **items;              /* made at the first message */
    int head, count, max;
} queue_t;

/* A place in one of the hub's two session lists, oldest first. */
typedef struct lru_t {
    struct lru_t *prev, *next;
} lru_t;

struct berth_client_t {
    berth_hub_t *hub;
    char id[33];
    apr_pool_t *pool;
    int refs;
    int closed;
    int initialized;
    const char *protocol;
    json_t *caps;                /* the client's capabilities */
    int log_level;               /* index in MCP's log levels; -1 none set */
    apr_time_t last_used;
    queue_t queue;
    apr_hash_t *subs;            /* uri -> "" */
    char roots_ask[48];          /* berth's own roots/list to this client,
                                    while unanswered (roots.c) */
    lru_t lru;                   /* in h->unused, or h->used once found */
    berth_client_reader_t *readers; /* woken at each message, and the close */
    int used;                    /* found again after initialize */
};

struct berth_hub_t {
    apr_pool_t *pool;
    berth_router_t *router;
    berth_hub_opts_t opts;
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *cv;       /* queues, closes, calls no longer busy */
    apr_hash_t *sessions;        /* id -> berth_client_t */
    call_t calls;                /* ring of calls in flight (sentinel) */
    apr_hash_t *pending;         /* our id (string) -> pending_t */
    unsigned long next_id;
    apr_hash_t *subs;            /* uri -> count of subscribed sessions */
    json_t *roots_client;        /* the roots of the most recent client
                                    that gave them, or NULL (roots.c) */
    json_t *roots_config;        /* the configured ones, or NULL */
    lru_t unused, used;          /* open sessions, least recently used
                                    first (rings with these sentinels) */
    unsigned long evicted;       /* sessions closed to make room */
    apr_time_t evicted_said;     /* when the log last said so */
};

/* MCP's log levels, least severe first; the index of LEVEL, -1 unknown. */
int hub_level_index(const char *level);

/* ---- hub.c: calls in flight ------------------------------------------- */
/* Nothing is written to a server's stdin with the hub lock held (a server
 * that does not read would stall every session): under the lock the work
 * is collected and its calls held (busy), then done, then released. */

/* Lock held. */
void hub_hold(call_t *k);
void hub_unhold(berth_hub_t *h, call_t *k);

/* ---- roots.c: the roots a server gets outside a call ----------------- */

/* Lock held: the result of roots/list for a server (a new reference). */
json_t *hub_roots_answer(berth_hub_t *h);
/* Lock not held: asks C's client for its roots when it declared them. */
void hub_roots_ask(berth_hub_t *h, berth_client_t *c);
/* Lock not held: 1 when MSG is C's answer to berth's own roots/list (kept
 * as the roots servers get; they are told when those change). */
int hub_roots_take(berth_hub_t *h, berth_client_t *c, json_t *msg);

/* ---- session.c --------------------------------------------------------- */

/* The session layer's part of berth_hub_create: its defaults and lists. */
void hub_sessions_init(berth_hub_t *h);
/* What berth keeps of a client's declared capabilities CAPS (borrowed), a
 * new value of bounded size: a copy when CAPS is small, else its top-level
 * names with the small values (berth reads which are declared). */
json_t *hub_client_caps(json_t *caps);

/* Lock held. Steals MSG; drops the oldest when the queue is full. */
void hub_enqueue(berth_hub_t *h, berth_client_t *c, json_t *msg);
/* Lock held: MSG (borrowed) to every initialized session's queue. */
void hub_broadcast(berth_hub_t *h, json_t *msg);
/* Lock held: takes the pending server requests of calls of C (or of CALL)
 * out of the table, their calls held, as a list for
 * hub_answer_dropped. */
pending_t *hub_take_pending(berth_hub_t *h, berth_client_t *c,
                                  call_t *call);
/* Lock not held: tells each server that its request will get no answer. */
void hub_answer_dropped(berth_hub_t *h, pending_t *list);

#endif
