/* The hub: berth as one MCP server for its clients, in front of the router.
 * Transports (front_http, front_stdio) hand it JSON-RPC messages together
 * with a client session and a sink; it answers, and pushes whatever belongs
 * to a request (progress, logs, the server's sampling or elicitation
 * requests) to that request's sink, and what belongs to nobody in
 * particular (list_changed, resource updates, logs outside a call) to the
 * session's own queue (an HTTP GET stream).
 *
 * Two layers, kept apart so a stateless revision can use the second alone:
 * sessions (berth_client_t: what initialize negotiated, the log level,
 * subscriptions, the queue, pending server-to-client requests) and the
 * request path (berth_hub_request: one request in, one response out).
 *
 * Which client a server-to-client request or a log belongs to: stdio carries
 * no link between a server's request and the call that caused it, so the
 * hub picks the newest call in flight to that server (from a client that
 * declared the capability, for sampling, elicitation and roots). */
#ifndef BERTH_HUB_H
#define BERTH_HUB_H

#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>

#include "router.h"
#include "supervisor.h"

typedef struct berth_hub_t berth_hub_t;
typedef struct berth_client_t berth_client_t;

/* Where messages for one request go. SEND steals MSG; it may be called from
 * any thread, also after the request's response (it must then drop it). */
typedef struct {
    void (*send)(void *baton, json_t *msg);
    void *baton;
    int streams;   /* messages reach the client while the request runs (a
                      server's questions can only go to such a request) */
} berth_sink_t;

typedef struct {
    apr_interval_time_t session_idle;  /* 0: the config's default */
    int queue_max;                     /* per session; 0: 256 messages */
    int max_sessions;                  /* 0: the config's default */
    /* a session never found again after initialize: closed after this
     * long idle (at most session_idle); 0: the config's default */
    apr_interval_time_t session_idle_unused;
    /* how long a list, or a request whose name no server offers yet,
     * waits for servers still in the start berth began them with, counted
     * from that start; 0: the config's default, < 0: no wait */
    apr_interval_time_t startup_wait;
} berth_hub_opts_t;

berth_hub_t *berth_hub_create(berth_router_t *router,
                              const berth_hub_opts_t *opts, apr_pool_t *pool);

/* The callbacks every supervisor must be given (opts.cb), so that
 * notifications and server requests reach the hub; and the state hook. */
berth_upstream_callbacks_t berth_hub_upstream_callbacks(berth_hub_t *h);
void berth_hub_server_state(void *hub, berth_supervisor_t *sv,
                            berth_sv_state_t state);

/* The roots servers get outside a call until a client gives its own (the
 * config's "roots": file:// URIs; NULL or empty: none). Servers hear
 * notifications/roots/list_changed when what they would get changes. */
void berth_hub_set_roots(berth_hub_t *h, const apr_array_header_t *uris);

/* ---- sessions ------------------------------------------------------------ */

/* A new session with a fresh random id (not yet initialized). When
 * max_sessions are open, the oldest idle session that was never used
 * after its initialize is closed to make room, else the least recently
 * used idle one; NULL when every session has a request in flight. */
berth_client_t *berth_hub_session_new(berth_hub_t *h);
/* The session with ID, with a reference taken, or NULL (unknown, expired or
 * closed); it counts as used from then on. Every found or new session must
 * be released. */
berth_client_t *berth_hub_session_find(berth_hub_t *h, const char *id);
void berth_hub_session_release(berth_hub_t *h, berth_client_t *c);
/* Ends the session (DELETE, or the stdio client went away): its calls are
 * cancelled, its streams end. */
void berth_hub_session_close(berth_hub_t *h, berth_client_t *c);
/* Closes sessions idle longer than session_idle (session_idle_unused for
 * one never used after initialize); returns how many. */
int berth_hub_reap(berth_hub_t *h);
int berth_hub_session_count(berth_hub_t *h);

const char *berth_client_id(const berth_client_t *c);
/* The revision initialize agreed on, NULL before. */
const char *berth_client_protocol(berth_client_t *c);
int berth_client_initialized(berth_client_t *c);
/* 1 when the client declared sampling, elicitation or roots: a server may
 * ask it something in the middle of a call, so its answers must stream. */
int berth_client_can_be_asked(berth_client_t *c);
/* Closes every session (berth is stopping): streams end, calls fail. */
void berth_hub_close_all(berth_hub_t *h);

/* Takes the next queued message of the session (a new reference), waiting
 * up to TIMEOUT (0: not at all); NULL when none came or the session closed
 * (*CLOSED). */
json_t *berth_client_next(berth_client_t *c, apr_interval_time_t timeout,
                          int *closed);

/* A reader of the session's queue that does not wait in
 * berth_client_next (an HTTP GET stream on an event loop): WAKE(BATON) is
 * called whenever a message is queued and when the session closes, with
 * the hub's lock held, so it must not block nor call the hub. */
typedef struct berth_client_reader_t berth_client_reader_t;
berth_client_reader_t *berth_client_reader_add(berth_client_t *c,
                                               void (*wake)(void *baton),
                                               void *baton);
/* After it returns, WAKE is not running and is not called again. */
void berth_client_reader_remove(berth_client_t *c, berth_client_reader_t *r);

/* ---- the request path --------------------------------------------------- */

/* Handles one message from the client of C. A request returns its response
 * (result or error, a new reference); a notification or a response to a
 * server-to-client request returns NULL. SINK gets the messages related to
 * this request while it runs. MSG is borrowed. */
json_t *berth_hub_handle(berth_hub_t *h, berth_client_t *c, json_t *msg,
                         const berth_sink_t *sink);

/* As berth_hub_handle, with the response as compact JSON text (malloc'ed;
 * free() it; *LEN its length) for a transport to send: a server's plain
 * result is passed on as the server wrote it, under the client's id,
 * without being parsed or rebuilt. NULL where berth_hub_handle returns
 * NULL. */
char *berth_hub_handle_text(berth_hub_t *h, berth_client_t *c, json_t *msg,
                            const berth_sink_t *sink, size_t *len);

/* 1 when MSG is a request whose handling may send related messages (a tool
 * call, a prompt, a resource read: anything forwarded to a server), so a
 * transport should be ready to stream. */
int berth_hub_may_stream(json_t *msg);

#endif
