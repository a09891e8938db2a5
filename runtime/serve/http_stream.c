/* The HTTP front's event streams. A POST whose request may have messages of
 * its own (progress, logs, the server asking the client) runs on a worker
 * thread that pushes them into a stream; MHD's connection thread writes
 * them as events as they come, then the answer. A GET stream pulls the
 * session's own queue. */
#include "http_int.h"

#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "jsonrpc.h"
#include "jsonwire.h"
#include "platform.h"
#include "spin.h"
#include "wait.h"

#define KEEPALIVE_EVERY (15 * APR_USEC_PER_SEC)
#define MAX_WORKERS 256
#define SSE_BLOCK 16384
/* A streamed request whose server said nothing yet opens its stream after
 * this long anyway: the client sees the response begin. */
#define STREAM_AFTER (1 * APR_USEC_PER_SEC)

struct berth_http_workers_t {
    apr_pool_t *pool;
    berth_hub_t *hub;
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *cv;    /* jobs queued, workers idle, stopping */
    void **jobs;              /* stream_t *, a ring */
    int job_head, job_count, job_cap;
    apr_thread_t *workers[MAX_WORKERS];
    int nworkers, idle, busy;
    int stopping;
};

typedef struct {
    berth_hub_t *hub;
    apr_pool_t *pool;
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *cv;
    json_t *queue;            /* messages not yet written */
    int done;                 /* the request is answered */
    char *answer;             /* its response (JSON text), after the queue */
    size_t answer_len;
    volatile apr_uint32_t stirred; /* something queued, or done */
    int refs;                 /* worker + MHD response */
    int gone;                 /* the response was freed: drop new ones */
    berth_client_t *client;   /* a reference (released by the last one) */
    json_t *msg;              /* the request */
    int get;                  /* a GET stream */
    char *text;               /* the event being written */
    size_t len, off;
} stream_t;

/* ---- events ------------------------------------------------------------- */

/* Appends one SSE event holding MSG, or TEXT (LEN bytes) when MSG is NULL:
 * a message is one line of compact JSON, so one data line. */
static void add_event(berth_wbuf_t *b, json_t *msg, const char *text,
                      size_t len)
{
    berth_wbuf_add(b, "event: message\ndata: ", 21);
    if (msg)
        berth_json_write(b, msg);
    else
        berth_wbuf_add(b, text, len);
    berth_wbuf_add(b, "\n\n", 2);
}

enum MHD_Result berth_http_send_events(struct MHD_Connection *conn,
                                       json_t *msgs, char *answer,
                                       size_t len, const char *session)
{
    berth_wbuf_t b = { 0 };
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m)
        add_event(&b, m, NULL, 0);
    json_decref(msgs);
    if (answer)
        add_event(&b, NULL, answer, len);
    free(answer);
    char *all = berth_wbuf_take(&b, &len);
    if (!all)
        return MHD_NO;
    return berth_http_send_body(conn, 200, "text/event-stream", all, len,
                                session);
}

/* ---- a stream ----------------------------------------------------------- */

static stream_t *stream_new(berth_hub_t *hub, berth_client_t *c, json_t *msg,
                            int get)
{
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    stream_t *s = apr_pcalloc(pool, sizeof *s);
    s->hub = hub;
    s->pool = pool;
    apr_thread_mutex_create(&s->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_thread_cond_create(&s->cv, pool);
    s->queue = json_array();
    s->client = c;
    s->msg = msg ? json_incref(msg) : NULL;
    s->get = get;
    s->refs = 1;
    return s;
}

static void stream_unref(stream_t *s)
{
    apr_thread_mutex_lock(s->lock);
    int last = --s->refs == 0;
    apr_thread_mutex_unlock(s->lock);
    if (!last)
        return;
    berth_hub_session_release(s->hub, s->client);
    json_decref(s->queue);
    json_decref(s->msg);
    free(s->answer);
    free(s->text);
    apr_pool_destroy(s->pool);
}

/* The request's sink: its messages, until its answer. */
static void stream_send(void *baton, json_t *msg)
{
    stream_t *s = baton;
    apr_thread_mutex_lock(s->lock);
    if (s->gone || s->done)
        json_decref(msg);
    else
        json_array_append_new(s->queue, msg);
    apr_atomic_set32(&s->stirred, 1);
    apr_thread_cond_signal(s->cv);
    apr_thread_mutex_unlock(s->lock);
}

static int stream_stirred(void *baton)
{
    return apr_atomic_read32(&((stream_t *)baton)->stirred) != 0;
}

/* On a worker: the request, then its answer into the stream. */
static void run_stream(stream_t *s)
{
    berth_sink_t sink = { stream_send, s, 1 };
    size_t len;
    char *resp = berth_hub_handle_text(s->hub, s->client, s->msg, &sink,
                                       &len);
    apr_thread_mutex_lock(s->lock);
    if (resp && !s->gone) {
        s->answer = resp;
        s->answer_len = len;
    } else
        free(resp);
    s->done = 1;
    apr_atomic_set32(&s->stirred, 1);
    apr_thread_cond_signal(s->cv);
    apr_thread_mutex_unlock(s->lock);
    stream_unref(s);
}

/* The next event of S into s->text: a message, the answer after the last
 * one, or a keep-alive comment after a quiet while. 0 at the end. */
static int next_event(stream_t *s)
{
    json_t *msg = NULL;
    char *answer = NULL;
    size_t alen = 0;
    if (s->get) {
        int closed = 0;
        msg = berth_client_next(s->client, KEEPALIVE_EVERY, &closed);
        if (!msg && closed)
            return 0;
    } else {
        apr_thread_mutex_lock(s->lock);
        apr_time_t until = berth_platform_clock() + KEEPALIVE_EVERY;
        while (!json_array_size(s->queue) && !s->done &&
               berth_wait_until(s->cv, s->lock, until))
            ;
        if (json_array_size(s->queue)) {
            msg = json_incref(json_array_get(s->queue, 0));
            json_array_remove(s->queue, 0);
        } else if (s->done) {
            answer = s->answer;
            alen = s->answer_len;
            s->answer = NULL;
        }
        int end = !msg && !answer && s->done;
        apr_thread_mutex_unlock(s->lock);
        if (end)
            return 0;
    }
    if (msg || answer) {
        berth_wbuf_t b = { 0 };
        add_event(&b, msg, answer, alen);
        json_decref(msg);
        free(answer);
        s->text = berth_wbuf_take(&b, &s->len);
    } else {
        /* nothing for a while: a comment, so a client that left is noticed
         * and proxies keep the stream open */
        s->text = strdup(": keep-alive\n\n");
        s->len = s->text ? strlen(s->text) : 0;
    }
    s->off = 0;
    return 1;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream_t *s = cls;
    (void)pos;
    if (!s->text) {
        if (!next_event(s))
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (!s->text)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = s->len - s->off < max ? s->len - s->off : max;
    memcpy(buf, s->text + s->off, n);
    s->off += n;
    if (s->off == s->len) {
        free(s->text);
        s->text = NULL;
    }
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    stream_t *s = cls;
    apr_thread_mutex_lock(s->lock);
    s->gone = 1;
    apr_thread_mutex_unlock(s->lock);
    stream_unref(s);
}

static enum MHD_Result send_stream(struct MHD_Connection *conn, stream_t *s)
{
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, SSE_BLOCK, stream_read, s, stream_free);
    if (!resp) {
        stream_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    enum MHD_Result rv = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return rv;
}

enum MHD_Result berth_http_stream_session(berth_hub_t *hub,
                                          struct MHD_Connection *conn,
                                          berth_client_t *c)
{
    /* several GET streams may be open: each message goes to one of them */
    return send_stream(conn, stream_new(hub, c, NULL, 1));
}

/* ---- the workers -------------------------------------------------------- */

berth_http_workers_t *berth_http_workers_create(berth_hub_t *hub,
                                                apr_pool_t *pool)
{
    berth_http_workers_t *w = apr_pcalloc(pool, sizeof *w);
    apr_pool_create(&w->pool, pool);
    w->hub = hub;
    apr_thread_mutex_create(&w->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_thread_cond_create(&w->cv, pool);
    return w;
}

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *arg)
{
    berth_http_workers_t *w = arg;
    apr_thread_mutex_lock(w->lock);
    for (;;) {
        while (!w->job_count && !w->stopping) {
            w->idle++;
            apr_thread_cond_wait(w->cv, w->lock);
            w->idle--;
        }
        if (!w->job_count)
            break;
        stream_t *s = w->jobs[w->job_head];
        w->job_head = (w->job_head + 1) % w->job_cap;
        w->job_count--;
        w->busy++;
        apr_thread_mutex_unlock(w->lock);
        run_stream(s);
        apr_thread_mutex_lock(w->lock);
        w->busy--;
    }
    apr_thread_mutex_unlock(w->lock);
    (void)t;
    return NULL;
}

/* Lock held: room for one more job in the ring. */
static void grow_jobs(berth_http_workers_t *w)
{
    int cap = w->job_cap ? w->job_cap * 2 : 64;
    void **j = calloc((size_t)cap, sizeof *j);
    for (int i = 0; i < w->job_count; i++)
        j[i] = w->jobs[(w->job_head + i) % w->job_cap];
    free(w->jobs);
    w->jobs = j;
    w->job_cap = cap;
    w->job_head = 0;
}

/* Queues S for a worker, starting one when none is idle. 0 when the pool
 * is at its limit and every worker is busy, or the front is stopping. */
static int submit(berth_http_workers_t *w, stream_t *s)
{
    int ok = 1;
    apr_thread_mutex_lock(w->lock);
    if (w->stopping) {
        /* a request on a connection kept alive while berth stops: no
         * worker would ever take it */
        apr_thread_mutex_unlock(w->lock);
        return 0;
    }
    if (w->idle <= w->job_count && w->nworkers < MAX_WORKERS &&
        apr_thread_create(&w->workers[w->nworkers], NULL, worker, w,
                          w->pool) == APR_SUCCESS)
        w->nworkers++;
    if (w->idle <= w->job_count && w->nworkers == MAX_WORKERS &&
        w->busy >= MAX_WORKERS) {
        ok = 0;
    } else {
        if (w->job_count == w->job_cap)
            grow_jobs(w);
        w->jobs[(w->job_head + w->job_count) % w->job_cap] = s;
        w->job_count++;
        apr_thread_cond_signal(w->cv); /* one job, one worker */
    }
    apr_thread_mutex_unlock(w->lock);
    return ok;
}

void berth_http_workers_stop(berth_http_workers_t *w)
{
    apr_status_t ts;
    apr_thread_mutex_lock(w->lock);
    w->stopping = 1;
    apr_thread_cond_broadcast(w->cv);
    apr_thread_mutex_unlock(w->lock);
    for (int i = 0; i < w->nworkers; i++)
        apr_thread_join(&ts, w->workers[i]);
    free(w->jobs);
    w->jobs = NULL;
}

static enum MHD_Result busy(struct MHD_Connection *conn)
{
    size_t len;
    json_t *e = berth_rpc_error(json_null(), BERTH_RPC_INTERNAL_ERROR,
                                "too many requests in progress", NULL);
    char *text = berth_json_text(e, &len);
    json_decref(e);
    return berth_http_send_body(conn, 503, "application/json", text, len,
                                NULL);
}

enum MHD_Result berth_http_stream_request(berth_http_workers_t *w,
                                          struct MHD_Connection *conn,
                                          berth_client_t *c, json_t *msg)
{
    stream_t *s = stream_new(w->hub, c, msg, 0);
    s->refs = 2;
    if (!submit(w, s)) {
        s->refs = 1;
        stream_free(s);
        return busy(conn);
    }
    /* Most calls say nothing before their answer: when the answer comes
     * first it goes out as one response (one write, one wake of the
     * client), as a request answered on the connection's thread does. The
     * stream opens at the first message that is not the answer, or after
     * STREAM_AFTER. Watched a while first (spin.h): the worker's answer
     * then needs no wake-up of this thread. */
    json_t *all = NULL;
    char *answer = NULL;
    size_t alen = 0;
    apr_time_t until = berth_platform_clock() + STREAM_AFTER;
    berth_spin_watch(stream_stirred, s);
    apr_thread_mutex_lock(s->lock);
    while (!json_array_size(s->queue) && !s->done &&
           berth_wait_until(s->cv, s->lock, until))
        ;
    if (s->done) {
        all = s->queue;
        s->queue = json_array();
        answer = s->answer;
        alen = s->answer_len;
        s->answer = NULL;
    }
    apr_thread_mutex_unlock(s->lock);
    if (!all)
        return send_stream(conn, s);
    /* the stream holds the session's reference */
    enum MHD_Result rv = berth_http_send_events(conn, all, answer, alen,
                                                NULL);
    stream_free(s);
    return rv;
}
