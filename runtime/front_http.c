#include "front_http.h"

#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include <microhttpd.h>

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#include "jsonrpc.h"
#include "jsonwire.h"
#include "log.h"
#include "mcpver.h"
#include "platform.h"
#include "spin.h"
#include "wait.h"

#define KEEPALIVE_EVERY (15 * APR_USEC_PER_SEC)
#define MAX_WORKERS 256
#define SSE_BLOCK 16384
/* A streamed request whose server said nothing yet opens its stream after
 * this long anyway: the client sees the response begin. */
#define STREAM_AFTER (1 * APR_USEC_PER_SEC)

struct berth_http_t {
    apr_pool_t *pool;
    berth_hub_t *hub;
    berth_http_opts_t opts;
    struct MHD_Daemon *mhd;
    unsigned port;
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *cv;    /* jobs queued, workers idle, stopping */
    /* streamed requests run on a pool of threads that grows while all are
     * busy (a call may wait long for a server or for the client's own
     * answer) up to MAX_WORKERS and lives until the front stops: no thread
     * is created per request */
    void **jobs;              /* stream_t *, a ring */
    int job_head, job_count, job_cap;
    apr_thread_t *workers[MAX_WORKERS];
    int nworkers, idle, busy;
    int stopping;
    volatile apr_uint32_t posts; /* POST requests in progress */
};

/* ---- what each request collects ----------------------------------------- */

typedef struct {
    char *body;
    size_t len, cap;
    int too_big;
    int post;  /* counted in posts */
} req_t;

/* 1 when socket S has something to read (or is closed). */
static int socket_ready(MHD_socket s)
{
#if defined(_WIN32)
    fd_set rd;
    struct timeval zero = { 0, 0 };
    FD_ZERO(&rd);
    FD_SET(s, &rd);
    return select(0, &rd, NULL, NULL, &zero) != 0;
#else
    struct pollfd p = { s, POLLIN, 0 };
    return poll(&p, 1, 0) != 0;
#endif
}

/* After a POST's answer went out on a kept-alive connection, with no other
 * POST in progress: watch the socket a while for the client's next request
 * before MHD's thread sleeps in its poll (spin.h); a client calling tool
 * after tool then finds this thread's vCPU awake. It stops when the
 * request comes, when another POST starts, or at the budget. */
typedef struct {
    berth_http_t *f;
    MHD_socket fd;
} next_watch_t;

static int next_came(void *baton)
{
    next_watch_t *w = baton;
    return socket_ready(w->fd) || apr_atomic_read32(&w->f->posts) > 0;
}

static void watch_for_next(berth_http_t *f, struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci) {
        next_watch_t w = { f, ci->connect_fd };
        berth_spin_watch(next_came, &w);
    }
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    berth_http_t *f = cls;
    req_t *r = *con_cls;
    if (!r)
        return;
    int last_post = r->post && apr_atomic_dec32(&f->posts) == 0;
    free(r->body);
    free(r);
    *con_cls = NULL;
    if (last_post && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        watch_for_next(f, conn);
}

/* ---- responses ---------------------------------------------------------- */

/* Sends BODY (LEN bytes; taken: MHD frees it once sent; NULL for none). */
static enum MHD_Result send_body(struct MHD_Connection *conn,
                                 unsigned status, const char *type,
                                 char *body, size_t len, const char *session)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        body ? len : 0, body ? body : (void *)"",
        body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    if (type)
        MHD_add_response_header(resp, "Content-Type", type);
    if (session)
        MHD_add_response_header(resp, "Mcp-Session-Id", session);
    if (status == 405)
        MHD_add_response_header(resp, "Allow", "GET, POST, DELETE");
    if (status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    enum MHD_Result rv = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rv;
}

/* Sends MSG (stolen) as application/json. */
static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status,
                                 json_t *msg, const char *session)
{
    size_t len;
    char *text = berth_json_text(msg, &len);
    json_decref(msg);
    return send_body(conn, status, "application/json", text, len, session);
}

/* An HTTP error with a JSON-RPC error body (id null unless given). */
static enum MHD_Result http_error(struct MHD_Connection *conn,
                                  unsigned status, int code, json_t *id,
                                  const char *text)
{
    return send_json(conn, status,
                     berth_rpc_error(id ? id : json_null(), code, text,
                                     NULL),
                     NULL);
}

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

/* ---- header checks ------------------------------------------------------ */

static int loopback_host(const char *h, size_t n)
{
    return (n == 9 && strncmp(h, "localhost", 9) == 0) ||
           (n == 9 && strncmp(h, "127.0.0.1", 9) == 0) ||
           (n == 5 && strncmp(h, "[::1]", 5) == 0);
}

int berth_http_host_allowed(const char *host)
{
    if (!host)
        return 1; /* HTTP/1.0 */
    size_t n = strlen(host);
    const char *colon = host[0] == '[' ? strchr(host, ']') : strchr(host,
                                                                   ':');
    if (colon && host[0] == '[')
        colon = colon[1] == ':' ? colon + 1 : colon[1] ? NULL : colon + 1;
    if (colon)
        n = (size_t)(colon - host);
    return loopback_host(host, n);
}

int berth_http_origin_allowed(const char *origin,
                              const apr_array_header_t *extra)
{
    for (int i = 0; extra && i < extra->nelts; i++)
        if (strcmp(origin, APR_ARRAY_IDX(extra, i, const char *)) == 0)
            return 1;
    const char *h = NULL;
    if (strncmp(origin, "http://", 7) == 0)
        h = origin + 7;
    else if (strncmp(origin, "https://", 8) == 0)
        h = origin + 8;
    if (!h || strchr(h, '/'))
        return 0;
    return berth_http_host_allowed(h);
}

static int accepts(const char *accept, const char *type)
{
    /* no Accept, or a wildcard: anything goes */
    return !accept || strstr(accept, type) || strstr(accept, "*/*");
}

static int bearer_ok(struct MHD_Connection *conn, const char *token)
{
    const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                "Authorization");
    if (!a || strncmp(a, "Bearer ", 7) != 0)
        return 0;
    a += 7;
    size_t n = strlen(token);
    if (strlen(a) != n)
        return 0;
    unsigned char diff = 0; /* no early exit: no timing hint */
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(a[i] ^ token[i]);
    return diff == 0;
}

/* ---- streams ----------------------------------------------------------------
 * A POST whose request may have messages of its own (progress, logs, the
 * server asking the client) streams: a worker thread runs the request and
 * pushes into the stream; MHD's connection thread writes events as they
 * come. A GET stream pulls the session's queue. */

typedef struct {
    berth_http_t *f;
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

static void stream_unref(stream_t *s)
{
    apr_thread_mutex_lock(s->lock);
    int last = --s->refs == 0;
    apr_thread_mutex_unlock(s->lock);
    if (!last)
        return;
    berth_hub_session_release(s->f->hub, s->client);
    json_decref(s->queue);
    json_decref(s->msg);
    free(s->answer);
    free(s->text);
    apr_pool_destroy(s->pool);
}

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

static void run_stream(stream_t *s)
{
    berth_sink_t sink = { stream_send, s, 1 };
    size_t len;
    char *resp = berth_hub_handle_text(s->f->hub, s->client, s->msg, &sink,
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

static void *APR_THREAD_FUNC stream_worker(apr_thread_t *t, void *arg)
{
    berth_http_t *f = arg;
    apr_thread_mutex_lock(f->lock);
    for (;;) {
        while (!f->job_count && !f->stopping) {
            f->idle++;
            apr_thread_cond_wait(f->cv, f->lock);
            f->idle--;
        }
        if (!f->job_count)
            break;
        stream_t *s = f->jobs[f->job_head];
        f->job_head = (f->job_head + 1) % f->job_cap;
        f->job_count--;
        f->busy++;
        apr_thread_mutex_unlock(f->lock);
        run_stream(s);
        apr_thread_mutex_lock(f->lock);
        f->busy--;
    }
    apr_thread_mutex_unlock(f->lock);
    (void)t;
    return NULL;
}

/* Queues S for a worker, starting one when none is idle. 0 when the pool
 * is at its limit and every worker is busy, or the front is stopping. */
static int submit(berth_http_t *f, stream_t *s)
{
    int ok = 1;
    apr_thread_mutex_lock(f->lock);
    if (f->stopping) {
        /* a request on a connection kept alive while berth stops: no
         * worker would ever take it */
        apr_thread_mutex_unlock(f->lock);
        return 0;
    }
    if (f->idle <= f->job_count && f->nworkers < MAX_WORKERS &&
        apr_thread_create(&f->workers[f->nworkers], NULL, stream_worker, f,
                          f->pool) == APR_SUCCESS)
        f->nworkers++;
    if (f->idle <= f->job_count && f->nworkers == MAX_WORKERS &&
        f->busy >= MAX_WORKERS) {
        ok = 0;
    } else {
        if (f->job_count == f->job_cap) {
            int cap = f->job_cap ? f->job_cap * 2 : 64;
            void **j = calloc((size_t)cap, sizeof *j);
            for (int i = 0; i < f->job_count; i++)
                j[i] = f->jobs[(f->job_head + i) % f->job_cap];
            free(f->jobs);
            f->jobs = j;
            f->job_cap = cap;
            f->job_head = 0;
        }
        f->jobs[(f->job_head + f->job_count) % f->job_cap] = s;
        f->job_count++;
        apr_thread_cond_signal(f->cv); /* one job, one worker */
    }
    apr_thread_mutex_unlock(f->lock);
    return ok;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream_t *s = cls;
    (void)pos;
    if (!s->text) {
        json_t *msg = NULL;
        char *answer = NULL; /* the response, after every message */
        size_t alen = 0;
        if (s->get) {
            int closed = 0;
            msg = berth_client_next(s->client, KEEPALIVE_EVERY, &closed);
            if (!msg && closed)
                return MHD_CONTENT_READER_END_OF_STREAM;
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
                return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (msg || answer) {
            berth_wbuf_t b = { 0 };
            add_event(&b, msg, answer, alen);
            json_decref(msg);
            free(answer);
            s->text = berth_wbuf_take(&b, &s->len);
            if (!s->text)
                return MHD_CONTENT_READER_END_WITH_ERROR;
        } else {
            /* nothing for a while: a comment, so a client that left is
             * noticed and proxies keep the stream open */
            s->text = strdup(": keep-alive\n\n");
            s->len = strlen(s->text);
        }
        s->off = 0;
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

static stream_t *stream_new(berth_http_t *f, berth_client_t *c, json_t *msg,
                            int get)
{
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    stream_t *s = apr_pcalloc(pool, sizeof *s);
    s->f = f;
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

static enum MHD_Result send_stream(struct MHD_Connection *conn, stream_t *s,
                                   const char *session)
{
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, SSE_BLOCK, stream_read, s, stream_free);
    if (!resp) {
        stream_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    if (session)
        MHD_add_response_header(resp, "Mcp-Session-Id", session);
    enum MHD_Result rv = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return rv;
}

/* ---- /mcp ------------------------------------------------------------------ */

/* Messages of a request handled on the connection's own thread, kept until
 * its response. */
static void buffer_send(void *baton, json_t *msg)
{
    json_array_append_new((json_t *)baton, msg);
}

/* MSGS (taken) and then the response ANSWER (LEN bytes of JSON, taken; may
 * be NULL) as one event stream in one response, with SESSION's header when
 * it is new. */
static enum MHD_Result send_events(struct MHD_Connection *conn, json_t *msgs,
                                   char *answer, size_t len,
                                   const char *session)
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
    return send_body(conn, 200, "text/event-stream", all, len, session);
}

static enum MHD_Result mcp_post(berth_http_t *f, struct MHD_Connection *conn,
                                req_t *r)
{
    const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                    "Content-Type");
    const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     "Accept");
    if (r->too_big) {
        char text[128];
        apr_snprintf(text, sizeof text, "Payload too large: the body is over "
                     "%lu bytes", (unsigned long)f->opts.max_body);
        return http_error(conn, 413, BERTH_RPC_INVALID_REQUEST, NULL, text);
    }
    if (!ctype || strncmp(ctype, "application/json", 16) != 0)
        return http_error(conn, 415, BERTH_RPC_INVALID_REQUEST, NULL,
                          "Content-Type must be application/json");
    if (!accepts(accept, "application/json") &&
        !accepts(accept, "text/event-stream"))
        return http_error(conn, 406, BERTH_RPC_INVALID_REQUEST, NULL,
                          "Accept must list application/json and "
                          "text/event-stream");
    json_error_t jerr;
    json_t *msg = json_loadb(r->body ? r->body : "", r->len, 0, &jerr);
    if (!msg)
        return http_error(conn, 400, BERTH_RPC_PARSE_ERROR, NULL,
                          "parse error: the body is not JSON");
    if (json_is_array(msg)) {
        json_decref(msg);
        return http_error(conn, 400, BERTH_RPC_INVALID_REQUEST, NULL,
                          "JSON-RPC batches are not supported: send one "
                          "message per request");
    }
    berth_rpc_kind_t kind = berth_rpc_classify(msg);
    if (kind == BERTH_RPC_INVALID) {
        json_t *id = json_object_get(msg, "id");
        enum MHD_Result rv = http_error(
            conn, 400, BERTH_RPC_INVALID_REQUEST,
            json_is_string(id) || json_is_integer(id) ? id : NULL,
            "not a JSON-RPC 2.0 message");
        json_decref(msg);
        return rv;
    }
    const char *method = json_string_value(json_object_get(msg, "method"));
    const char *sid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                  "Mcp-Session-Id");
    berth_client_t *c;
    int init = kind == BERTH_RPC_REQUEST && method &&
               strcmp(method, "initialize") == 0;
    if (init) {
        c = berth_hub_session_new(f->hub);
        if (!c) {
            json_decref(msg);
            return http_error(conn, 503, BERTH_RPC_INTERNAL_ERROR, NULL,
                              "too many sessions are open");
        }
    } else {
        if (!sid) {
            json_decref(msg);
            return http_error(conn, 400, BERTH_RPC_INVALID_REQUEST, NULL,
                              "Bad Request: the Mcp-Session-Id header is "
                              "required (initialize first)");
        }
        c = berth_hub_session_find(f->hub, sid);
        if (!c) {
            json_decref(msg);
            return http_error(conn, 404, BERTH_RPC_INVALID_REQUEST, NULL,
                              "Session not found: it ended or expired; "
                              "initialize a new one");
        }
        const char *pv = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     "MCP-Protocol-Version");
        if (pv && !berth_mcp_version_supported(pv)) {
            berth_hub_session_release(f->hub, c);
            json_decref(msg);
            return http_error(conn, 400, BERTH_RPC_INVALID_REQUEST, NULL,
                              "Bad Request: unsupported MCP-Protocol-Version");
        }
    }
    char session[64];
    apr_cpystrn(session, berth_client_id(c), sizeof session);
    if (kind != BERTH_RPC_REQUEST) {
        berth_sink_t none = { buffer_send, json_array(), 0 };
        json_decref(berth_hub_handle(f->hub, c, msg, &none));
        json_decref((json_t *)none.baton);
        berth_hub_session_release(f->hub, c);
        json_decref(msg);
        return send_body(conn, 202, NULL, NULL, 0, NULL);
    }
    int sse = accepts(accept, "text/event-stream");
    json_t *meta = json_object_get(json_object_get(msg, "params"), "_meta");
    if (sse && berth_hub_may_stream(msg) &&
        (json_object_get(meta, "progressToken") ||
         berth_client_can_be_asked(c))) {
        stream_t *s = stream_new(f, c, msg, 0);
        json_decref(msg);
        s->refs = 2;
        if (!submit(f, s)) {
            s->refs = 1;
            stream_free(s);
            return http_error(conn, 503, BERTH_RPC_INTERNAL_ERROR, NULL,
                              "too many requests in progress");
        }
        /* Most calls say nothing before their answer: when the answer
         * comes first it goes out as one response (one write, one wake of
         * the client), as on the path above. The stream opens at the
         * first message that is not the answer, or after STREAM_AFTER. */
        json_t *all = NULL;
        char *answer = NULL;
        size_t alen = 0;
        apr_time_t until = berth_platform_clock() + STREAM_AFTER;
        /* watched a while first (spin.h): the worker's answer then needs
         * no wake-up of this thread */
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
            return send_stream(conn, s, NULL);
        /* the stream holds the session's reference */
        enum MHD_Result rv = send_events(conn, all, answer, alen, NULL);
        stream_free(s);
        return rv;
    }
    /* on this thread; a client that takes event streams gets one (as the
     * reference SDK answers), with the request's own messages, if any,
     * before the response; else plain JSON */
    json_t *buf = json_array();
    berth_sink_t sink = { buffer_send, buf, 0 };
    if (!init) {
        /* the response as text: a server's answer passes as it came */
        size_t len;
        char *text = berth_hub_handle_text(f->hub, c, msg, &sink, &len);
        json_decref(msg);
        berth_hub_session_release(f->hub, c);
        if (!text) {
            json_decref(buf);
            return http_error(conn, 500, BERTH_RPC_INTERNAL_ERROR, NULL,
                              "out of memory");
        }
        if (sse)
            return send_events(conn, buf, text, len, NULL);
        json_decref(buf);
        return send_body(conn, 200, "application/json", text, len, NULL);
    }
    json_t *resp = berth_hub_handle(f->hub, c, msg, &sink);
    json_decref(msg);
    if (sse) {
        size_t len;
        char *text = berth_json_text(resp, &len);
        json_decref(resp);
        berth_hub_session_release(f->hub, c);
        return send_events(conn, buf, text, len, session);
    }
    json_decref(buf);
    if (init && json_object_get(resp, "error")) {
        /* no session for a failed initialize */
        berth_hub_session_close(f->hub, c);
        init = 0;
    }
    berth_hub_session_release(f->hub, c);
    return send_json(conn, 200, resp, init ? session : NULL);
}

/* The session a GET or DELETE names, with a reference; NULL after queuing
 * the refusal (400 without the header, 404 for an unknown session). */
static berth_client_t *named_session(berth_http_t *f,
                                     struct MHD_Connection *conn,
                                     enum MHD_Result *refused)
{
    const char *sid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                  "Mcp-Session-Id");
    berth_client_t *c = sid ? berth_hub_session_find(f->hub, sid) : NULL;
    if (!sid)
        *refused = http_error(conn, 400, BERTH_RPC_INVALID_REQUEST, NULL,
                              "Bad Request: the Mcp-Session-Id header is "
                              "required");
    else if (!c)
        *refused = http_error(conn, 404, BERTH_RPC_INVALID_REQUEST, NULL,
                              "Session not found");
    return c;
}

static enum MHD_Result mcp_get(berth_http_t *f, struct MHD_Connection *conn)
{
    enum MHD_Result refused;
    const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     "Accept");
    if (!accept || !strstr(accept, "text/event-stream"))
        return http_error(conn, 406, BERTH_RPC_INVALID_REQUEST, NULL,
                          "GET /mcp opens an event stream: Accept must list "
                          "text/event-stream");
    berth_client_t *c = named_session(f, conn, &refused);
    if (!c)
        return refused;
    /* several GET streams may be open: each message goes to one of them */
    return send_stream(conn, stream_new(f, c, NULL, 1), NULL);
}

static enum MHD_Result mcp_delete(berth_http_t *f,
                                  struct MHD_Connection *conn)
{
    enum MHD_Result refused;
    berth_client_t *c = named_session(f, conn, &refused);
    if (!c)
        return refused;
    berth_hub_session_close(f->hub, c);
    berth_hub_session_release(f->hub, c);
    return send_body(conn, 200, NULL, NULL, 0, NULL);
}

/* ---- /api/v1 ------------------------------------------------------------------ */

static enum MHD_Result control(berth_http_t *f, struct MHD_Connection *conn,
                               const char *url, const char *method)
{
    if (!bearer_ok(conn, f->opts.control_token))
        return send_json(conn, 401, json_pack("{s:s}", "error",
                                              "the control API needs "
                                              "Authorization: Bearer <token "
                                              "from berth's control.token "
                                              "file>"),
                         NULL);
    unsigned status;
    json_t *body = berth_control_handle(f->opts.control, method, url,
                                        &status);
    return send_json(conn, status, body, NULL);
}

/* ---- dispatch --------------------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    berth_http_t *f = cls;
    (void)version;
    req_t *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        if (strcmp(method, "POST") == 0) {
            r->post = 1;
            if (apr_atomic_inc32(&f->posts) > 0)
                berth_spin_busy();
        }
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* collected up to the limit; the rest is read and dropped so the
         * 413 can still be sent */
        if (r->len + *upload_data_size > f->opts.max_body) {
            r->too_big = 1;
        } else {
            if (r->len + *upload_data_size > r->cap) {
                /* from 512: a typical call's body (a few hundred bytes)
                 * stays a small chunk for malloc, where a first 4 KiB
                 * made glibc consolidate its free lists on every POST */
                size_t cap = r->cap ? r->cap * 2 : 512;
                while (cap < r->len + *upload_data_size)
                    cap *= 2;
                char *b = realloc(r->body, cap);
                if (!b)
                    return MHD_NO;
                r->body = b;
                r->cap = cap;
            }
            memcpy(r->body + r->len, upload_data, *upload_data_size);
            r->len += *upload_data_size;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* DNS rebinding: a page elsewhere must not reach this server */
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     "Origin");
    if (origin && !berth_http_origin_allowed(origin, f->opts.origins))
        return http_error(conn, 403, BERTH_RPC_INVALID_REQUEST, NULL,
                          "Forbidden: this Origin may not use berth");
    if (f->opts.loopback &&
        !berth_http_host_allowed(MHD_lookup_connection_value(
            conn, MHD_HEADER_KIND, "Host")))
        return http_error(conn, 403, BERTH_RPC_INVALID_REQUEST, NULL,
                          "Forbidden: berth answers to localhost only");
    if (strncmp(url, "/api/v1/", 8) == 0)
        return control(f, conn, url, method);
    if (strcmp(url, "/mcp") != 0)
        return http_error(conn, 404, BERTH_RPC_INVALID_REQUEST, NULL,
                          "Not found: the MCP endpoint is /mcp");
    if (f->opts.mcp_token && !bearer_ok(conn, f->opts.mcp_token))
        return http_error(conn, 401, BERTH_RPC_INVALID_REQUEST, NULL,
                          "Unauthorized: berth listens beyond this machine "
                          "and needs Authorization: Bearer <token>");
    if (strcmp(method, "POST") == 0)
        return mcp_post(f, conn, r);
    if (strcmp(method, "GET") == 0)
        return mcp_get(f, conn);
    if (strcmp(method, "DELETE") == 0)
        return mcp_delete(f, conn);
    return http_error(conn, 405, BERTH_RPC_INVALID_REQUEST, NULL,
                      "Method not allowed: use POST, GET or DELETE");
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char text[512];
    (void)cls;
    apr_vsnprintf(text, sizeof text, fmt, ap);
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    berth_log(BERTH_LOG_DEBUG, "http: %s", text);
}

apr_status_t berth_http_start(berth_http_t **out, berth_hub_t *hub,
                              const berth_http_opts_t *opts,
                              const char **error, apr_pool_t *pool)
{
    berth_http_t *f = apr_pcalloc(pool, sizeof *f);
    apr_pool_create(&f->pool, pool);
    f->hub = hub;
    f->opts = *opts;
    if (!f->opts.max_body)
        f->opts.max_body = 4 * 1024 * 1024;
    apr_thread_mutex_create(&f->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_thread_cond_create(&f->cv, pool);

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    const char *host = strcmp(opts->host, "localhost") == 0 ? "127.0.0.1"
                                                           : opts->host;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
#if !defined(_WIN32)
    /* poll, not select: no limit at descriptor 1024 */
    flags |= MHD_USE_POLL;
#endif
    if (strchr(host, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((unsigned short)opts->port);
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) {
            *error = apr_psprintf(pool, "%s is not an IPv6 address",
                                  opts->host);
            return APR_EINVAL;
        }
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((unsigned short)opts->port);
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
            *error = apr_psprintf(pool, "%s is not an IPv4 address",
                                  opts->host);
            return APR_EINVAL;
        }
    }
    f->mhd = MHD_start_daemon(
        flags, (uint16_t)opts->port, NULL, NULL, on_request, f,
        /* first, so MHD's own complaints about the others reach it */
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, f,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_NOTIFY_COMPLETED, completed, f,
        /* an idle keep-alive connection holds a thread: closed after 5
         * minutes (streams send a comment every 15 s, so they stay) */
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)300,
        MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024),
        MHD_OPTION_END);
    if (!f->mhd) {
        *error = apr_psprintf(pool, "cannot listen on %s:%u (in use, or not "
                              "an address of this machine)", opts->host,
                              opts->port);
        return APR_EGENERAL;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(f->mhd, MHD_DAEMON_INFO_BIND_PORT);
    f->port = info ? info->port : opts->port;
    *out = f;
    return APR_SUCCESS;
}

unsigned berth_http_port(berth_http_t *f)
{
    return f->port;
}

void berth_http_stop(berth_http_t *f)
{
    /* no new connections; then every session ends (streams finish, calls
     * in flight are cancelled), the request threads drain, and MHD joins
     * its connection threads */
    MHD_socket s = MHD_quiesce_daemon(f->mhd);
    berth_hub_close_all(f->hub);
    /* the workers finish what is queued (cancelled calls end at once) */
    apr_status_t ts;
    apr_thread_mutex_lock(f->lock);
    f->stopping = 1;
    apr_thread_cond_broadcast(f->cv);
    apr_thread_mutex_unlock(f->lock);
    for (int i = 0; i < f->nworkers; i++)
        apr_thread_join(&ts, f->workers[i]);
    free(f->jobs);
    f->jobs = NULL;
    MHD_stop_daemon(f->mhd);
    if (s != MHD_INVALID_SOCKET) {
#if defined(_WIN32)
        closesocket(s);
#else
        close(s);
#endif
    }
}
