/* The HTTP front's inside, shared by its files: front_http.c (the glue:
 * requests, header checks, sessions, plain responses, the control API),
 * http_work.c (who runs a request: the event loop's own threads or the
 * workers), http_stream.c (event streams, and the timer that keeps them
 * alive) and http_conns.c (the connections: limits, idle ones, the read
 * timeout). Not for other modules.
 *
 * No thread waits on a connection. MHD runs the connections on an event
 * loop (http_work.c); a request that may wait (for a server, for the hub)
 * is a job: its connection is suspended, the job runs on a thread that may
 * wait, queues its response on the suspended connection and resumes it.
 * A stream with nothing to send suspends its connection too, and whoever
 * gives it something resumes it. */
#ifndef BERTH_HTTP_INT_H
#define BERTH_HTTP_INT_H

#include <stddef.h>

#include <apr_pools.h>
#include <jansson.h>
#include <microhttpd.h>

#include "front_http.h"
#include "hub.h"

/* ---- responses (front_http.c) ------------------------------------------- */

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

/* 503 with a JSON-RPC error: berth is stopping. */
enum MHD_Result berth_http_send_busy(struct MHD_Connection *conn);

/* ---- jobs (http_work.c) ---------------------------------------------------- */

typedef struct berth_http_job_t berth_http_job_t;

/* What a job does: queues its connection's response (the connection is
 * suspended) and then calls berth_http_job_done, or hands that on (a
 * stream does). */
typedef void berth_http_job_fn(berth_http_job_t *job);

struct berth_http_job_t {
    berth_http_job_fn *run;
    struct MHD_Connection *conn;
    berth_http_job_t *next;     /* in a list of jobs to start */
    int done;                   /* resumed: a response, or none (closed) */
};

/* The threads that run jobs and MHD's loop. */
typedef struct berth_http_work_t berth_http_work_t;
typedef struct berth_http_conns_t berth_http_conns_t;

/* The workers: a pool that grows while all are busy (a call may wait long
 * for a server, or for the client's own answer to the server's question)
 * up to a limit, and lives until the front stops. */
berth_http_work_t *berth_http_work_create(berth_http_conns_t *conns,
                                          apr_pool_t *pool);
/* MHD_USE_EPOLL without an internal thread: berth's two threads run MHD's
 * loop. A job then runs on the loop's thread when it is the only one in
 * progress (no hand-off: the latency of a client calling alone), and the
 * other thread takes the loop over when it runs longer than a few
 * milliseconds. Without it (MHD's own thread runs the loop), every job
 * goes to a worker. */
apr_status_t berth_http_work_run(berth_http_work_t *w, struct MHD_Daemon *mhd,
                                 int own_loop);
/* Runs JOB, its connection suspended by this call: from MHD's callback. */
void berth_http_job_start(berth_http_work_t *w, berth_http_job_t *job);
/* Resumes the job's connection (after its response was queued, or with
 * none: the connection then closes). Nothing of the job may be used
 * after: the connection may end at once. ELSEWHERE: called on another
 * thread than the job's (a stream opened by the timer or a server's
 * message), which will not run MHD's loop next: the loop is woken. */
void berth_http_job_done(berth_http_work_t *w, berth_http_job_t *job,
                         int elsewhere);
/* A POST's answer went out: 1 when the loop watches for the next event a
 * while before it sleeps (spin.h); 0 when the caller, on MHD's thread,
 * watches the connection itself. */
int berth_http_work_watch_next(berth_http_work_t *w,
                               struct MHD_Connection *conn);
/* Berth stops: the loop ends at its next turn and MHD accepts no more
 * connections; the listening socket, for the caller to close. */
MHD_socket berth_http_work_quiesce(berth_http_work_t *w);
/* Joins the loop's threads, lets the workers finish what is queued
 * (cancelled calls end at once) and joins them. */
void berth_http_work_stop(berth_http_work_t *w);

/* ---- streams (http_stream.c) ------------------------------------------------ */

typedef struct berth_http_streams_t berth_http_streams_t;

/* The streams, and their timer: it writes each waiting stream's keep-alive
 * comment, opens a request's stream after a quiet second, and runs the
 * sweep of CONNS (berth_http_conns_sweep) when one is due. */
berth_http_streams_t *berth_http_streams_create(berth_hub_t *hub,
                                                berth_http_work_t *work,
                                                berth_http_conns_t *conns,
                                                apr_pool_t *pool);
/* Berth stops: a stream with nothing to send ends instead of waiting. */
void berth_http_streams_quiesce(berth_http_streams_t *st);
/* Ends the timer; every stream has ended (the sessions were closed). */
void berth_http_streams_stop(berth_http_streams_t *st);
/* A sweep of the connections is due now (one became idle while none was
 * planned). Any thread; does not block. */
void berth_http_streams_sweep_soon(berth_http_streams_t *st);

/* Within a job (the connection suspended): answers request MSG (borrowed)
 * of session C (its reference is taken): as one response when the answer
 * comes before any other message and within a second, else as an event
 * stream that carries the request's messages as they come and then the
 * answer. Resumes the connection itself. */
void berth_http_stream_request(berth_http_streams_t *st,
                               berth_http_job_t *job, berth_client_t *c,
                               json_t *msg);

/* An event stream of session C's own messages (a GET; C's reference is
 * taken), with a comment every 15 s. From MHD's callback. */
enum MHD_Result berth_http_stream_session(berth_http_streams_t *st,
                                          struct MHD_Connection *conn,
                                          berth_client_t *c);

/* ---- connections (http_conns.c) ---------------------------------------------- */

typedef struct {
    unsigned max;                /* connections at once */
    unsigned max_per_address;    /* from one client address */
    apr_interval_time_t read_timeout; /* for a whole request */
} berth_http_conns_opts_t;

berth_http_conns_t *berth_http_conns_create(const berth_http_conns_opts_t *o,
                                            apr_pool_t *pool);
/* The timer that runs the sweep, told when one is due. */
void berth_http_conns_set_timer(berth_http_conns_t *t,
                                berth_http_streams_t *st);
/* The MHD callbacks it needs: MHD_OPTION_NOTIFY_CONNECTION and
 * MHD_OPTION_APC, with the table as their closure. At a limit, the
 * connection idle the longest (of the address, or of all) is dropped for
 * the new one; with none idle, the new one is refused. */
void berth_http_conns_notify(void *cls, struct MHD_Connection *conn,
                             void **socket_context,
                             enum MHD_ConnectionNotificationCode code);
enum MHD_Result berth_http_conns_accept(void *cls, const struct sockaddr *addr,
                                        socklen_t addrlen);
/* CONN handles a request from now on (not idle: never dropped, no read
 * timeout), or again waits for its next one. From MHD's callbacks. */
void berth_http_conns_busy(berth_http_conns_t *t, struct MHD_Connection *conn);
void berth_http_conns_idle(berth_http_conns_t *t, struct MHD_Connection *conn);
/* Shuts down the connections that did not deliver a whole request within
 * the read timeout of their opening or their last answer; how long until
 * the next one is due (0: none is idle). For the timer. */
apr_interval_time_t berth_http_conns_sweep(berth_http_conns_t *t);
/* Every suspension and resumption of a connection goes through these (MHD
 * must not resume one twice, nor stop with one suspended): resume does
 * nothing to a connection that is not suspended. Suspend from MHD's
 * callbacks only; resume from any thread. */
void berth_http_conns_suspend(berth_http_conns_t *t,
                              struct MHD_Connection *conn);
void berth_http_conns_resume(berth_http_conns_t *t,
                             struct MHD_Connection *conn, int kick);
/* What wakes the loop after a resumption (MHD, when its loop is berth's,
 * is not woken by one): called with KICK set. */
void berth_http_conns_set_kick(berth_http_conns_t *t, void (*kick)(void *),
                               void *baton);
/* Berth stops: every connection still suspended is resumed. */
void berth_http_conns_resume_all(berth_http_conns_t *t);

#endif
