/* The HTTP front's inside, shared by its two files: front_http.c (the
 * glue: requests, header checks, sessions, plain responses, the control
 * API) and http_stream.c (event streams, and the worker threads a request
 * that may stream runs on). Not for other modules. */
#ifndef BERTH_HTTP_INT_H
#define BERTH_HTTP_INT_H

#include <stddef.h>

#include <apr_pools.h>
#include <jansson.h>
#include <microhttpd.h>

#include "hub.h"

/* Sends BODY (LEN bytes; taken: MHD frees it once sent; NULL for none),
 * with Mcp-Session-Id SESSION when not NULL. */
enum MHD_Result berth_http_send_body(struct MHD_Connection *conn,
                                     unsigned status, const char *type,
                                     char *body, size_t len,
                                     const char *session);

/* MSGS (taken) and then the response ANSWER (LEN bytes of JSON, taken; may
 * be NULL) as one event stream in one response, with SESSION's header
 * when it is new. */
enum MHD_Result berth_http_send_events(struct MHD_Connection *conn,
                                       json_t *msgs, char *answer,
                                       size_t len, const char *session);

/* The threads streamed requests run on: a pool that grows while all are
 * busy (a call may wait long for a server, or for the client's own answer
 * to the server's question) up to a limit and lives until the front stops;
 * no thread is made per request. */
typedef struct berth_http_workers_t berth_http_workers_t;

berth_http_workers_t *berth_http_workers_create(berth_hub_t *hub,
                                                apr_pool_t *pool);
/* Lets the workers finish what is queued (cancelled calls end at once)
 * and joins them; nothing is taken after. */
void berth_http_workers_stop(berth_http_workers_t *w);

/* Responds to request MSG (borrowed) of session C (its reference is
 * taken) on a worker: as one response when the answer comes before any
 * other message and within a second, else as an event stream that carries
 * the request's messages as they come and then the answer. 503 when every
 * worker is busy. */
enum MHD_Result berth_http_stream_request(berth_http_workers_t *w,
                                          struct MHD_Connection *conn,
                                          berth_client_t *c, json_t *msg);

/* An event stream of session C's own messages (a GET; C's reference is
 * taken), with a comment every 15 s. */
enum MHD_Result berth_http_stream_session(berth_hub_t *hub,
                                          struct MHD_Connection *conn,
                                          berth_client_t *c);

#endif
