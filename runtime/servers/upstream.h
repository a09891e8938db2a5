/* The MCP client side of one running stdio server: framing on its pipes,
 * requests matched to responses by id, the initialize handshake, the cached
 * tool/resource/prompt lists (refreshed on list_changed), progress and
 * cancellation, and server-to-client requests handed to a callback.
 *
 * Threads: one reads the server's stdout, one its stderr (into the server's
 * log file), and one runs the handshake of berth_upstream_initialize_start;
 * any number of callers make requests concurrently. Callbacks run on the
 * reader thread (the initialize callback on the handshake's) and must not
 * wait for this server. The code is in upstream.c and upstream_lists.c. */
#ifndef BERTH_UPSTREAM_H
#define BERTH_UPSTREAM_H

#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>

#include "process.h"
#include "logfile.h"

typedef struct berth_upstream_t berth_upstream_t;
typedef struct berth_call_t berth_call_t;

typedef struct {
    /* A notification from the server (notifications/message, resources
     * updated, and list_changed once the list has been refreshed). */
    void (*on_notification)(void *baton, berth_upstream_t *u,
                            const char *method, json_t *params);
    /* A request from the server (sampling/createMessage, elicitation/create,
     * roots/list): answer later with berth_upstream_respond(). When NULL,
     * berth answers "method not found" and does not advertise the
     * capabilities. */
    void (*on_request)(void *baton, berth_upstream_t *u, json_t *id,
                       const char *method, json_t *params);
    /* The server's stdout closed (it exited); every call has been failed. */
    void (*on_closed)(void *baton, berth_upstream_t *u, const char *why);
    void *baton;
    void *closed_baton; /* on_closed's, when not NULL (else baton) */
} berth_upstream_callbacks_t;

/* Runs on the reader thread with the session's lock held: it must not call
 * into the session. Never runs after berth_upstream_call_free returns. */
typedef void (*berth_progress_fn)(void *baton, json_t *params);

typedef struct {
    apr_interval_time_t timeout;     /* > 0 */
    berth_progress_fn progress;      /* asks for progress when set */
    void *progress_baton;
} berth_call_opts_t;

/* Starts the reader threads on PROC's pipes. NAME names the server in every
 * error. LOG receives its stderr (may be NULL). */
apr_status_t berth_upstream_start(berth_upstream_t **out, const char *name,
                                  berth_process_t *proc, berth_logfile_t *log,
                                  const berth_upstream_callbacks_t *cb,
                                  apr_size_t max_message, apr_pool_t *pool);

/* initialize (offering the newest revision, accepting any berth speaks),
 * notifications/initialized, then the lists the server has. On failure
 * *ERROR says why (with the server's last stderr lines if it died). */
apr_status_t berth_upstream_initialize(berth_upstream_t *u,
                                       apr_interval_time_t timeout,
                                       const char **error, apr_pool_t *pool);

/* The end of an initialize started by berth_upstream_initialize_start: RV
 * APR_SUCCESS, or an error with ERROR saying why (valid during the call
 * only). Runs once, on the handshake's own thread. */
typedef void (*berth_upstream_initialized_fn)(void *baton, berth_upstream_t *u,
                                              apr_status_t rv,
                                              const char *error);

/* berth_upstream_initialize on a thread of its own: returns at once and
 * DONE tells the end, so that the caller waits for that end and anything
 * else together (a supervisor: a stop) instead of inside the handshake.
 * berth_upstream_close waits for that thread. */
apr_status_t berth_upstream_initialize_start(berth_upstream_t *u,
                                             apr_interval_time_t timeout,
                                             berth_upstream_initialized_fn done,
                                             void *baton);

/* Gives the session up before its end: every pending call fails at once
 * with WHY, and so does every later one; an initialize in flight ends at
 * once (without notifications/cancelled: MCP forbids cancelling
 * initialize). The process is left alone: ending it is the caller's. */
void berth_upstream_abandon(berth_upstream_t *u, const char *why);

/* A request. PARAMS is stolen (may be NULL). */
apr_status_t berth_upstream_call_start(berth_upstream_t *u, const char *method,
                                       json_t *params,
                                       const berth_call_opts_t *opts,
                                       berth_call_t **out);
/* Waits for the answer: APR_SUCCESS with *RESULT, or an error status with
 * *ERROR, a JSON-RPC error object naming the server (it exited, timed out,
 * or answered with an error). New references. On timeout the server is sent
 * notifications/cancelled. */
apr_status_t berth_upstream_call_wait(berth_call_t *c, json_t **result,
                                      json_t **error);
/* As berth_upstream_call_wait, but a result that came as a plain answer is
 * given as the server wrote it: *RAW (malloc'ed JSON text, *RAW_LEN bytes;
 * free() it) and *RESULT NULL. Otherwise *RAW is NULL and *RESULT or *ERROR
 * are as there. A relay that only forwards the result never parses it. */
apr_status_t berth_upstream_call_wait_raw(berth_call_t *c, char **raw,
                                          apr_size_t *raw_len,
                                          json_t **result, json_t **error);
/* The caller gives up: notifications/cancelled, and the call fails. */
void berth_upstream_call_cancel(berth_call_t *c, const char *reason);
void berth_upstream_call_free(berth_call_t *c);

/* start + wait + free. */
apr_status_t berth_upstream_request(berth_upstream_t *u, const char *method,
                                    json_t *params,
                                    apr_interval_time_t timeout,
                                    json_t **result, json_t **error);

apr_status_t berth_upstream_notify(berth_upstream_t *u, const char *method,
                                   json_t *params);
/* Answers a server-to-client request (RESULT or ERROR stolen). */
apr_status_t berth_upstream_respond(berth_upstream_t *u, json_t *id,
                                    json_t *result, json_t *error);

/* Re-reads a list following nextCursor: "tools", "resources",
 * "resourceTemplates" or "prompts". */
apr_status_t berth_upstream_refresh(berth_upstream_t *u, const char *which,
                                    apr_interval_time_t timeout);

/* The cached list (a new reference to an array; empty when none). */
json_t *berth_upstream_list(berth_upstream_t *u, const char *which);

/* The timeout of the requests berth makes on its own (list refreshes after
 * list_changed): the server's configured call timeout. */
void berth_upstream_set_call_timeout(berth_upstream_t *u,
                                     apr_interval_time_t timeout);

const char *berth_upstream_name(const berth_upstream_t *u);
const char *berth_upstream_protocol(const berth_upstream_t *u);
/* A new reference to the server's initialize result. */
json_t *berth_upstream_server_info(berth_upstream_t *u);
int berth_upstream_closed(berth_upstream_t *u);
/* Lines the reader dropped (too long) or skipped (not JSON-RPC). */
void berth_upstream_counters(berth_upstream_t *u, unsigned *dropped,
                             unsigned *skipped);

/* Closes the server's stdin: the MCP stdio way of asking it to exit. */
void berth_upstream_close_input(berth_upstream_t *u);

/* Closes stdin, waits for the reader threads (so the process must be gone:
 * its output closed), fails whatever is still pending with WHY. */
void berth_upstream_close(berth_upstream_t *u, const char *why);

#endif
