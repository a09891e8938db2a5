/* The HTTP front's event streams, none of which waits on a thread of the
 * loop. A POST whose request may have messages of its own (progress, logs,
 * the server asking the client) runs in its job with a sink that queues
 * them; the first of them, or a quiet second, opens the stream (else the
 * answer goes out as one response). A GET stream reads the session's own
 * queue. A stream with nothing to write suspends its connection, and a
 * message, the answer, the session's end or its keep-alive time resumes
 * it; one timer thread keeps those times (and the connections' sweep,
 * http_conns.c).
 *
 * Locks, outermost first: the hub's (a sink is called under it), a
 * stream's, the connection table's, MHD's own; the timer's is taken alone
 * or innermost. */
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
#include "wait.h"

#define KEEPALIVE_EVERY (15 * APR_USEC_PER_SEC)
#define SSE_BLOCK 16384
/* A streamed request whose server said nothing yet opens its stream after
 * this long anyway: the client sees the response begin. */
#define STREAM_AFTER (1 * APR_USEC_PER_SEC)

typedef struct stream_t stream_t;

struct berth_http_streams_t {
    berth_hub_t *hub;
    berth_http_work_t *work;
    berth_http_conns_t *conns;
    apr_thread_mutex_t *lock;     /* the timer's */
    apr_thread_cond_t *cv;
    stream_t *timers;             /* armed streams, a list */
    apr_time_t wake_at;           /* the timer's next look; 0 none */
    apr_time_t sweep_at;          /* the connections' next sweep; 0 none */
    volatile apr_uint32_t quiesced; /* berth stops: no stream waits */
    int stop;
    apr_thread_t *thread;
};

struct stream_t {
    berth_http_streams_t *st;
    apr_pool_t *pool;
    apr_thread_mutex_t *lock;
    volatile apr_uint32_t refs;   /* the job, the response, the timer */
    json_t *queue;                /* messages not yet written */
    int done;                     /* the request is answered */
    char *answer;                 /* its response (JSON text), after the
                                     queue */
    size_t answer_len;
    int decided;                  /* a response is queued (POST) */
    berth_http_job_t *job;        /* its job, until then */
    int waiting;                  /* the connection is suspended in read */
    int stirred;                  /* woken while not waiting (GET) */
    int gone;                     /* the response was freed */
    struct MHD_Connection *conn;
    berth_client_t *client;       /* a reference (released by the last) */
    berth_client_reader_t *reader; /* GET: the session's queue */
    int get;
    apr_time_t last_write;
    char *text;                   /* the event being written */
    size_t len, off;
    apr_time_t due;               /* armed in the timer's list */
    stream_t *tnext, *tprev;
    int armed;
};

static void stream_unref(stream_t *s);
static void fire(stream_t *s);
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max);
static void stream_free(void *cls);

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

/* ---- the timer ---------------------------------------------------------- */

/* S looked at again at DUE (S's lock held, or S not yet shared). */
static void timer_arm(stream_t *s, apr_time_t due)
{
    berth_http_streams_t *st = s->st;
    apr_thread_mutex_lock(st->lock);
    if (!s->armed) {
        s->armed = 1;
        s->tprev = NULL;
        s->tnext = st->timers;
        if (st->timers)
            st->timers->tprev = s;
        st->timers = s;
    }
    s->due = due;
    if (!st->wake_at || due < st->wake_at)
        apr_thread_cond_signal(st->cv);
    apr_thread_mutex_unlock(st->lock);
}

/* Timer lock held. */
static void timer_out(berth_http_streams_t *st, stream_t *s)
{
    if (!s->armed)
        return;
    if (s->tprev)
        s->tprev->tnext = s->tnext;
    else
        st->timers = s->tnext;
    if (s->tnext)
        s->tnext->tprev = s->tprev;
    s->armed = 0;
}

static void timer_disarm(stream_t *s)
{
    apr_thread_mutex_lock(s->st->lock);
    timer_out(s->st, s);
    apr_thread_mutex_unlock(s->st->lock);
}

void berth_http_streams_sweep_soon(berth_http_streams_t *st)
{
    apr_thread_mutex_lock(st->lock);
    st->sweep_at = berth_platform_clock();
    apr_thread_cond_signal(st->cv);
    apr_thread_mutex_unlock(st->lock);
}

/* Timer lock held: the streams due by NOW, out of the list (linked by
 * tnext), each with a reference; the earliest time after, into *NEXT
 * (0: none). */
static stream_t *take_due(berth_http_streams_t *st, apr_time_t now,
                          apr_time_t *next)
{
    stream_t *due = NULL;
    *next = 0;
    for (stream_t *s = st->timers, *n; s; s = n) {
        n = s->tnext;
        if (s->due <= now) {
            timer_out(st, s);
            apr_atomic_inc32(&s->refs);
            s->tnext = due;
            due = s;
        } else if (!*next || s->due < *next) {
            *next = s->due;
        }
    }
    return due;
}

/* Timer lock held: the sweep of the connections when it is due. */
static void sweep_when_due(berth_http_streams_t *st, apr_time_t now)
{
    if (!st->sweep_at || st->sweep_at > now)
        return;
    apr_time_t asked = st->sweep_at;
    apr_thread_mutex_unlock(st->lock);
    apr_interval_time_t in = berth_http_conns_sweep(st->conns);
    apr_thread_mutex_lock(st->lock);
    /* a sweep asked for meanwhile (berth_http_streams_sweep_soon) stays */
    if (st->sweep_at == asked)
        st->sweep_at = in ? now + in : 0;
    else if (in && now + in < st->sweep_at)
        st->sweep_at = now + in;
}

static void *APR_THREAD_FUNC timer_thread(apr_thread_t *t, void *arg)
{
    berth_http_streams_t *st = arg;
    apr_thread_mutex_lock(st->lock);
    while (!st->stop) {
        apr_time_t now = berth_platform_clock(), next;
        sweep_when_due(st, now);
        stream_t *due = take_due(st, now, &next);
        if (due) {
            apr_thread_mutex_unlock(st->lock);
            for (stream_t *n; due; due = n) {
                n = due->tnext;
                fire(due);
                stream_unref(due);
            }
            apr_thread_mutex_lock(st->lock);
            continue;
        }
        if (st->sweep_at && (!next || st->sweep_at < next))
            next = st->sweep_at;
        st->wake_at = next;
        if (next)
            berth_wait_until(st->cv, st->lock, next);
        else
            apr_thread_cond_wait(st->cv, st->lock);
        st->wake_at = 0;
    }
    apr_thread_mutex_unlock(st->lock);
    (void)t;
    return NULL;
}

berth_http_streams_t *berth_http_streams_create(berth_hub_t *hub,
                                                berth_http_work_t *work,
                                                berth_http_conns_t *conns,
                                                apr_pool_t *pool)
{
    berth_http_streams_t *st = apr_pcalloc(pool, sizeof *st);
    st->hub = hub;
    st->work = work;
    st->conns = conns;
    apr_thread_mutex_create(&st->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_thread_cond_create(&st->cv, pool);
    if (apr_thread_create(&st->thread, NULL, timer_thread, st, pool) !=
        APR_SUCCESS)
        st->thread = NULL;
    return st;
}

void berth_http_streams_quiesce(berth_http_streams_t *st)
{
    apr_atomic_set32(&st->quiesced, 1);
}

void berth_http_streams_stop(berth_http_streams_t *st)
{
    apr_status_t ts;
    apr_thread_mutex_lock(st->lock);
    st->stop = 1;
    apr_thread_cond_signal(st->cv);
    apr_thread_mutex_unlock(st->lock);
    if (st->thread)
        apr_thread_join(&ts, st->thread);
}

/* ---- a stream ----------------------------------------------------------- */

static stream_t *stream_new(berth_http_streams_t *st, berth_client_t *c,
                            struct MHD_Connection *conn, int get)
{
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    stream_t *s = apr_pcalloc(pool, sizeof *s);
    s->st = st;
    s->pool = pool;
    /* nested: MHD frees a response it refused at once, and its free
     * callback takes the lock open_stream holds */
    apr_thread_mutex_create(&s->lock, APR_THREAD_MUTEX_NESTED, pool);
    s->queue = json_array();
    s->client = c;
    s->conn = conn;
    s->get = get;
    s->refs = 1;
    s->last_write = berth_platform_clock();
    return s;
}

static void stream_unref(stream_t *s)
{
    if (apr_atomic_dec32(&s->refs) != 0)
        return;
    berth_hub_session_release(s->st->hub, s->client);
    json_decref(s->queue);
    free(s->answer);
    free(s->text);
    apr_pool_destroy(s->pool);
}

/* S's lock held: its connection goes on (it waited in stream_read). */
static void wake(stream_t *s)
{
    if (s->waiting) {
        s->waiting = 0;
        berth_http_conns_resume(s->st->conns, s->conn, 1);
    } else {
        s->stirred = 1;
    }
}

/* S's lock held: the response is the stream from now on (the response
 * holds a reference to S), and the job's connection is resumed; with no
 * response taken, it closes. */
static void open_stream(stream_t *s)
{
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, SSE_BLOCK, stream_read, s, stream_free);
    if (resp) {
        apr_atomic_inc32(&s->refs);
        MHD_add_response_header(resp, "Content-Type", "text/event-stream");
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        MHD_queue_response(s->conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp); /* frees S's reference when not queued */
    }
    s->decided = 1;
    if (s->job) {
        berth_http_job_done(s->st->work, s->job, 1);
        s->job = NULL;
    }
}

/* The timer: a POST that said nothing for a second opens its stream; a
 * waiting stream writes its keep-alive comment. */
static void fire(stream_t *s)
{
    apr_thread_mutex_lock(s->lock);
    if (!s->gone && !s->decided)
        open_stream(s);
    else if (!s->gone)
        wake(s);
    apr_thread_mutex_unlock(s->lock);
}

/* The request's sink: its messages, until its answer. The first one opens
 * the stream. Called with the hub's lock held, from any thread. */
static void stream_send(void *baton, json_t *msg)
{
    stream_t *s = baton;
    apr_thread_mutex_lock(s->lock);
    if (s->gone || s->done) {
        json_decref(msg);
    } else {
        json_array_append_new(s->queue, msg);
        if (!s->decided)
            open_stream(s);
        else
            wake(s);
    }
    apr_thread_mutex_unlock(s->lock);
}

/* A GET stream's session queued a message or closed (hub lock held). */
static void get_wake(void *baton)
{
    stream_t *s = baton;
    apr_thread_mutex_lock(s->lock);
    wake(s);
    apr_thread_mutex_unlock(s->lock);
}

/* S's lock held: the next event of S into s->text: a message (for a GET
 * stream MSG, taken, read from its session's queue before the lock was
 * taken; CLOSED: the session ended), the answer after the last one, or a
 * keep-alive comment when one is due. 0 at the end; -1 when there is
 * nothing yet. */
static int next_event(stream_t *s, json_t *msg, int closed)
{
    char *answer = NULL;
    size_t alen = 0;
    if (s->get) {
        if (!msg && closed)
            return 0;
    } else if (json_array_size(s->queue)) {
        msg = json_incref(json_array_get(s->queue, 0));
        json_array_remove(s->queue, 0);
    } else if (s->done) {
        answer = s->answer;
        alen = s->answer_len;
        s->answer = NULL;
        if (!answer)
            return 0;
    }
    apr_time_t now = berth_platform_clock();
    if (msg || answer) {
        berth_wbuf_t b = { 0 };
        add_event(&b, msg, answer, alen);
        json_decref(msg);
        free(answer);
        s->text = berth_wbuf_take(&b, &s->len);
    } else if (now - s->last_write >= KEEPALIVE_EVERY) {
        /* nothing for a while: a comment, so a client that left is noticed
         * and proxies keep the stream open */
        s->text = strdup(": keep-alive\n\n");
        s->len = s->text ? strlen(s->text) : 0;
    } else {
        return -1;
    }
    s->last_write = now;
    s->off = 0;
    return 1;
}

/* S's lock held, s->text empty: the next event; 0 at the end, -1 when the
 * connection was suspended until there is one. */
static int fill(stream_t *s)
{
    for (;;) {
        json_t *msg = NULL;
        int closed = 0;
        if (s->get) {
            /* the hub's lock comes before S's: S's is let go meanwhile,
             * and a wake-up in between is seen as stirred */
            s->stirred = 0;
            apr_thread_mutex_unlock(s->lock);
            msg = berth_client_next(s->client, 0, &closed);
            apr_thread_mutex_lock(s->lock);
        }
        int got = next_event(s, msg, closed);
        if (got >= 0)
            return got;
        if (s->get && s->stirred)
            continue;
        if (apr_atomic_read32(&s->st->quiesced))
            return 0; /* berth stops: the stream ends, nothing waits */
        /* nothing yet: the connection waits, off the loop */
        s->waiting = 1;
        berth_http_conns_suspend(s->st->conns, s->conn);
        timer_arm(s, s->last_write + KEEPALIVE_EVERY);
        return -1;
    }
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream_t *s = cls;
    ssize_t n = 0;
    (void)pos;
    apr_thread_mutex_lock(s->lock);
    if (!s->text) {
        int got = fill(s);
        if (got <= 0) {
            apr_thread_mutex_unlock(s->lock);
            return got == 0 ? MHD_CONTENT_READER_END_OF_STREAM : 0;
        }
    }
    if (s->text) {
        n = (ssize_t)(s->len - s->off < max ? s->len - s->off : max);
        memcpy(buf, s->text + s->off, (size_t)n);
        s->off += (size_t)n;
        if (s->off == s->len) {
            free(s->text);
            s->text = NULL;
        }
    }
    apr_thread_mutex_unlock(s->lock);
    return n ? n : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls)
{
    stream_t *s = cls;
    apr_thread_mutex_lock(s->lock);
    s->gone = 1;
    apr_thread_mutex_unlock(s->lock);
    timer_disarm(s);
    if (s->reader) /* not under S's lock: the hub's comes first */
        berth_client_reader_remove(s->client, s->reader);
    s->reader = NULL;
    stream_unref(s);
}

enum MHD_Result berth_http_stream_session(berth_http_streams_t *st,
                                          struct MHD_Connection *conn,
                                          berth_client_t *c)
{
    /* several GET streams may be open: each message goes to one of them */
    stream_t *s = stream_new(st, c, conn, 1);
    s->decided = 1;
    s->reader = berth_client_reader_add(c, get_wake, s);
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, SSE_BLOCK, stream_read, s, stream_free);
    if (!s->reader || !resp) {
        if (resp)
            MHD_destroy_response(resp);
        stream_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    enum MHD_Result rv = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return rv;
}

/* The answer came (RESP, LEN bytes, taken) on the job's thread: one
 * response when the stream is not open yet, else the stream's last
 * event. */
static void answered(stream_t *s, char *resp, size_t len)
{
    json_t *all = NULL;
    apr_thread_mutex_lock(s->lock);
    s->done = 1;
    if (!s->decided) {
        s->decided = 1;
        all = s->queue;
        s->queue = json_array();
    } else if (!s->gone) {
        s->answer = resp;
        s->answer_len = len;
        resp = NULL;
        wake(s);
    }
    apr_thread_mutex_unlock(s->lock);
    if (!all) {
        free(resp);
        return;
    }
    timer_disarm(s);
    if (resp)
        berth_http_send_events(s->conn, all, resp, len, NULL);
    else
        json_decref(all);
    berth_http_job_done(s->st->work, s->job, 0);
    s->job = NULL;
}

void berth_http_stream_request(berth_http_streams_t *st,
                               berth_http_job_t *job, berth_client_t *c,
                               json_t *msg)
{
    /* Most calls say nothing before their answer: when the answer comes
     * first it goes out as one response (one write, one wake of the
     * client), as a request without a stream is. The stream opens at
     * the first message that is not the answer, or after STREAM_AFTER. */
    stream_t *s = stream_new(st, c, job->conn, 0);
    s->job = job;
    timer_arm(s, berth_platform_clock() + STREAM_AFTER);
    berth_sink_t sink = { stream_send, s, 1 };
    size_t len = 0;
    char *resp = berth_hub_handle_text(st->hub, c, msg, &sink, &len);
    answered(s, resp, len);
    timer_disarm(s);
    stream_unref(s); /* the job's */
}
