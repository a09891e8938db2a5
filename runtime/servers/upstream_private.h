/* The insides of an upstream session, shared by its two files: upstream.c
 * (pipes, framing, requests and answers, the reader threads) and
 * upstream_lists.c (the initialize handshake and the lists it fetches and
 * keeps fresh). Not for other modules: they use upstream.h. */
#ifndef BERTH_UPSTREAM_PRIVATE_H
#define BERTH_UPSTREAM_PRIVATE_H

#include <apr_hash.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "jsonrpc.h"
#include "upstream.h"

typedef struct waiter_t waiter_t;

struct berth_upstream_t {
    apr_pool_t *pool;
    const char *name;
    berth_process_t *proc;
    berth_logfile_t *log;
    berth_upstream_callbacks_t cb;
    apr_size_t max_message;

    apr_thread_mutex_t *lock;       /* pending, lists, state */
    apr_thread_cond_t *answered;    /* the session closed, a refresh ended */
    waiter_t *free_waiters;         /* recycled per-call condition vars */
    volatile apr_uint32_t inflight; /* calls started, not yet answered */
    apr_thread_mutex_t *write_lock; /* one message at a time on stdin */
    apr_hash_t *pending;            /* json_int_t id -> berth_call_t */
    json_int_t next_id;
    int closed;
    const char *closed_why;
    int stdin_closed;
    apr_thread_t *reader;
    apr_thread_t *err_reader;
    apr_thread_t *handshaker;       /* berth_upstream_initialize_start's */
    apr_pool_t *parent;             /* the pool the session was started
                                       with: its threads' */

    /* The server's stdout is read by one thread at a time: the reader
     * thread, or (leader/follower) a caller waiting for its answer, which
     * saves handing each answer from one thread to another. */
    int lead;                       /* callers may read (pipes pollable) */
    berth_linereader_t *lr;         /* used by the owner only */
    int owner;                      /* OWNER_* */
    berth_call_t *leader;           /* the call whose thread reads */
    int want_lead;                  /* a caller asked the reader to yield */
    apr_thread_cond_t *lead_cv;     /* ... and waits here */
    apr_thread_cond_t *reader_cv;   /* the reader thread parks here */
    apr_time_t linger_until;        /* ... at least until then, when idle */
    int eof;                        /* stdout ended (or failed) */
    int closing;
    apr_file_t *kick_r, *kick_w;    /* wakes the owner from its poll */
    int refreshers;                 /* list refresh threads running */

    const char *protocol;
    json_t *init_result;
    json_t *lists;                  /* which -> array */
    unsigned dropped, skipped;
    apr_interval_time_t call_timeout; /* for berth's own requests */
};

/* A notification METHOD that says a list changed: re-reads that list on a
 * thread of its own and returns 1; 0 for any other method. */
int berth_upstream_list_changed(berth_upstream_t *u, const char *method);

/* Frees the session's JSON when its pool goes. */
apr_status_t berth_upstream_free_json(void *data);

#endif
