/* The Streamable HTTP front's glue: each request's body collected, the
 * header checks (Origin, Host, bearer tokens, Content-Type, Accept), the
 * session a request belongs to, plain responses, and the control API's
 * endpoint. What runs a request is http_work.c's (a request is a job on
 * a suspended connection), streams are http_stream.c's, the connections'
 * limits http_conns.c's (http_int.h). */
#include "front_http.h"

#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_network_io.h>
#include <apr_strings.h>

#include <microhttpd.h>

#include "http_int.h"
#include "jsonrpc.h"
#include "jsonwire.h"
#include "log.h"
#include "mcpver.h"
#include "platform.h"
#include "spin.h"

struct berth_http_t {
    apr_pool_t *pool;
    berth_hub_t *hub;
    berth_http_opts_t opts;
    struct MHD_Daemon *mhd;
    unsigned port;
    berth_http_conns_t *conns;
    berth_http_work_t *work;
    berth_http_streams_t *streams;
    volatile apr_uint32_t posts; /* POST requests in progress */
    volatile apr_uint32_t stopping; /* new requests get 503 */
};

/* ---- what each request collects ----------------------------------------- */

typedef struct {
    berth_http_job_t job;        /* first: the job is the request */
    berth_http_t *f;
    const char *url, *method;    /* MHD's, as long as the request lasts */
    char *body;
    size_t len, cap;
    int too_big;
    int post;  /* counted in posts */
} req_t;

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
    return berth_platform_socket_readable(w->fd) || apr_atomic_read32(&w->f->posts) > 0;
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
    berth_http_conns_idle(f->conns, conn);
    if (!r)
        return;
    int last_post = r->post && apr_atomic_dec32(&f->posts) == 0;
    free(r->body);
    free(r);
    *con_cls = NULL;
    if (last_post && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK &&
        !berth_http_work_watch_next(f->work, conn))
        watch_for_next(f, conn);
}


/* ---- responses ---------------------------------------------------------- */

enum MHD_Result berth_http_send_body(struct MHD_Connection *conn,
                                     unsigned status, const char *type,
                                     char *body, size_t len,
                                     const char *session)
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

enum MHD_Result berth_http_send_busy(struct MHD_Connection *conn)
{
    size_t len;
    json_t *e = berth_rpc_error(json_null(), BERTH_RPC_INTERNAL_ERROR,
                                "berth is stopping", NULL);
    char *text = berth_json_text(e, &len);
    json_decref(e);
    return berth_http_send_body(conn, 503, "application/json", text, len,
                                NULL);
}

/* Sends MSG (stolen) as application/json. */
static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status,
                                 json_t *msg, const char *session)
{
    size_t len;
    char *text = berth_json_text(msg, &len);
    json_decref(msg);
    return berth_http_send_body(conn, status, "application/json", text, len,
                                session);
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

/* ---- header checks ------------------------------------------------------ */

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
    /* "[::1]": the address between the brackets */
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
        return berth_config_loopback_host(host + 1, n - 2);
    return host[0] != '[' && berth_config_loopback_host(host, n);
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


/* ---- /mcp ------------------------------------------------------------------ */

/* Messages of a request handled on the connection's own thread, kept until
 * its response. */
static void buffer_send(void *baton, json_t *msg)
{
    json_array_append_new((json_t *)baton, msg);
}

/* A POST's message, and what its handling needs to know of it, worked out
 * once. */
typedef struct {
    json_t *msg;
    berth_rpc_kind_t kind;
    int init;                 /* an initialize request */
    int sse;                  /* the client takes event streams */
} post_t;

/* What a POST must be before it reaches a session: within the size
 * limit, JSON, one JSON-RPC message. 1 with P filled in; 0 after queuing
 * the refusal in *REFUSED. */
static int post_message(berth_http_t *f, struct MHD_Connection *conn,
                        req_t *r, post_t *p, enum MHD_Result *refused)
{
    const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                    "Content-Type");
    const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     "Accept");
    char text[128];
    json_error_t jerr;
    json_t *msg = NULL;
    if (r->too_big) {
        apr_snprintf(text, sizeof text, "Payload too large: the body is over "
                     "%lu bytes", (unsigned long)f->opts.max_body);
        *refused = http_error(conn, 413, BERTH_RPC_INVALID_REQUEST, NULL,
                              text);
    } else if (!ctype || strncmp(ctype, "application/json", 16) != 0)
        *refused = http_error(conn, 415, BERTH_RPC_INVALID_REQUEST, NULL,
                              "Content-Type must be application/json");
    else if (!accepts(accept, "application/json") &&
             !accepts(accept, "text/event-stream"))
        *refused = http_error(conn, 406, BERTH_RPC_INVALID_REQUEST, NULL,
                              "Accept must list application/json and "
                              "text/event-stream");
    else if (!(msg = json_loadb(r->body ? r->body : "", r->len, 0, &jerr)))
        *refused = http_error(conn, 400, BERTH_RPC_PARSE_ERROR, NULL,
                              "parse error: the body is not JSON");
    else if (json_is_array(msg))
        *refused = http_error(conn, 400, BERTH_RPC_INVALID_REQUEST, NULL,
                              "JSON-RPC batches are not supported: send one "
                              "message per request");
    else if ((p->kind = berth_rpc_classify(msg)) == BERTH_RPC_INVALID) {
        json_t *id = json_object_get(msg, "id");
        *refused = http_error(conn, 400, BERTH_RPC_INVALID_REQUEST,
                              json_is_string(id) || json_is_integer(id) ? id
                                                                        : NULL,
                              "not a JSON-RPC 2.0 message");
    } else {
        const char *method = json_string_value(json_object_get(msg,
                                                               "method"));
        p->msg = msg;
        p->init = p->kind == BERTH_RPC_REQUEST && method &&
                  strcmp(method, "initialize") == 0;
        p->sse = accepts(accept, "text/event-stream");
        return 1;
    }
    json_decref(msg);
    return 0;
}

/* The session MSG belongs to, with a reference: a new one for initialize,
 * else the one Mcp-Session-Id names at a protocol version berth speaks.
 * NULL after queuing the refusal (503 when the table is full; 400 without
 * the header or with an unknown version; 404 for an unknown session). */
static berth_client_t *post_session(berth_http_t *f,
                                    struct MHD_Connection *conn, int init,
                                    enum MHD_Result *refused)
{
    if (init) {
        berth_client_t *c = berth_hub_session_new(f->hub);
        if (!c)
            *refused = http_error(conn, 503, BERTH_RPC_INTERNAL_ERROR, NULL,
                                  "too many sessions are open");
        return c;
    }
    const char *sid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                  "Mcp-Session-Id");
    if (!sid) {
        *refused = http_error(conn, 400, BERTH_RPC_INVALID_REQUEST, NULL,
                              "Bad Request: the Mcp-Session-Id header is "
                              "required (initialize first)");
        return NULL;
    }
    berth_client_t *c = berth_hub_session_find(f->hub, sid);
    if (!c) {
        *refused = http_error(conn, 404, BERTH_RPC_INVALID_REQUEST, NULL,
                              "Session not found: it ended or expired; "
                              "initialize a new one");
        return NULL;
    }
    const char *pv = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 "MCP-Protocol-Version");
    if (pv && !berth_mcp_version_supported(pv)) {
        berth_hub_session_release(f->hub, c);
        *refused = http_error(conn, 400, BERTH_RPC_INVALID_REQUEST, NULL,
                              "Bad Request: unsupported MCP-Protocol-Version");
        return NULL;
    }
    return c;
}

/* A request answered on this thread; a client that takes event streams
 * gets one (as the reference SDK answers), with the request's own
 * messages, if any, before the response; else plain JSON. The response is
 * text: a server's answer passes as it came. */
static enum MHD_Result respond_here(berth_http_t *f,
                                    struct MHD_Connection *conn,
                                    berth_client_t *c, json_t *msg, int sse)
{
    json_t *buf = json_array();
    berth_sink_t sink = { buffer_send, buf, 0 };
    size_t len;
    char *text = berth_hub_handle_text(f->hub, c, msg, &sink, &len);
    berth_hub_session_release(f->hub, c);
    if (!text) {
        json_decref(buf);
        return http_error(conn, 500, BERTH_RPC_INTERNAL_ERROR, NULL,
                          "out of memory");
    }
    if (sse)
        return berth_http_send_events(conn, buf, text, len, NULL);
    json_decref(buf);
    return berth_http_send_body(conn, 200, "application/json", text, len,
                                NULL);
}

/* initialize: the new session's id goes with the answer; a failed
 * initialize leaves no session (JSON answers). */
static enum MHD_Result respond_initialize(berth_http_t *f,
                                          struct MHD_Connection *conn,
                                          berth_client_t *c, json_t *msg,
                                          int sse)
{
    char session[64];
    apr_cpystrn(session, berth_client_id(c), sizeof session);
    json_t *buf = json_array();
    berth_sink_t sink = { buffer_send, buf, 0 };
    json_t *resp = berth_hub_handle(f->hub, c, msg, &sink);
    if (sse) {
        size_t len;
        char *text = berth_json_text(resp, &len);
        json_decref(resp);
        berth_hub_session_release(f->hub, c);
        return berth_http_send_events(conn, buf, text, len, session);
    }
    json_decref(buf);
    int failed = json_object_get(resp, "error") != NULL;
    if (failed)
        berth_hub_session_close(f->hub, c);
    berth_hub_session_release(f->hub, c);
    return send_json(conn, 200, resp, failed ? NULL : session);
}

/* MSG for session C, answered the way it needs: 202 for a notification or
 * a response; as a stream that may open when something may come before
 * its answer (the client asked for progress, or can be asked something:
 * the stream then resumes the connection itself, *HANDED); else as one
 * response. */
static enum MHD_Result post_respond(berth_http_t *f, req_t *r,
                                    berth_client_t *c, const post_t *p,
                                    int *handed)
{
    struct MHD_Connection *conn = r->job.conn;
    json_t *msg = p->msg;
    int sse = p->sse;
    if (p->kind != BERTH_RPC_REQUEST) {
        berth_sink_t none = { buffer_send, json_array(), 0 };
        json_decref(berth_hub_handle(f->hub, c, msg, &none));
        json_decref((json_t *)none.baton);
        berth_hub_session_release(f->hub, c);
        return berth_http_send_body(conn, 202, NULL, NULL, 0, NULL);
    }
    if (p->init)
        return respond_initialize(f, conn, c, msg, sse);
    json_t *meta = json_object_get(json_object_get(msg, "params"), "_meta");
    if (sse && berth_hub_may_stream(msg) &&
        (json_object_get(meta, "progressToken") ||
         berth_client_can_be_asked(c)))
    {
        *handed = 1;
        berth_http_stream_request(f->streams, &r->job, c, msg);
        return MHD_YES;
    }
    return respond_here(f, conn, c, msg, sse);
}

/* POST /mcp: check, find the session, respond. */
static enum MHD_Result mcp_post(berth_http_t *f, req_t *r, int *handed)
{
    enum MHD_Result refused;
    post_t p;
    struct MHD_Connection *conn = r->job.conn;
    if (!post_message(f, conn, r, &p, &refused))
        return refused;
    berth_client_t *c = post_session(f, conn, p.init, &refused);
    enum MHD_Result rv = c ? post_respond(f, r, c, &p, handed) : refused;
    json_decref(p.msg);
    return rv;
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
    return berth_http_stream_session(f->streams, conn, c);
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
    return berth_http_send_body(conn, 200, NULL, NULL, 0, NULL);
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

/* What the headers alone refuse, answered before any body is read (a
 * response queued now makes MHD skip the body, and "100 Continue" is never
 * sent): a foreign Origin or Host (DNS rebinding), an unknown path, no
 * token off loopback, a Content-Length over http.max_body. 1 after queuing
 * the refusal in *RV. */
static int refuse_early(berth_http_t *f, struct MHD_Connection *conn,
                        const char *url, enum MHD_Result *rv)
{
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     "Origin");
    const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     "Content-Length");
    char text[128];
    int api = strncmp(url, "/api/v1/", 8) == 0;
    if (origin && !berth_http_origin_allowed(origin, f->opts.origins))
        *rv = http_error(conn, 403, BERTH_RPC_INVALID_REQUEST, NULL,
                         "Forbidden: this Origin may not use berth");
    else if (f->opts.loopback &&
             !berth_http_host_allowed(MHD_lookup_connection_value(
                 conn, MHD_HEADER_KIND, "Host")))
        *rv = http_error(conn, 403, BERTH_RPC_INVALID_REQUEST, NULL,
                         "Forbidden: berth answers to localhost only");
    else if (!api && strcmp(url, "/mcp") != 0)
        *rv = http_error(conn, 404, BERTH_RPC_INVALID_REQUEST, NULL,
                         "Not found: the MCP endpoint is /mcp");
    else if (!api && f->opts.mcp_token && !bearer_ok(conn, f->opts.mcp_token))
        *rv = http_error(conn, 401, BERTH_RPC_INVALID_REQUEST, NULL,
                         "Unauthorized: berth listens beyond this machine "
                         "and needs Authorization: Bearer <token>");
    else if (length && strtoull(length, NULL, 10) > f->opts.max_body) {
        apr_snprintf(text, sizeof text, "Payload too large: the body is over "
                     "%lu bytes", (unsigned long)f->opts.max_body);
        *rv = http_error(conn, 413, BERTH_RPC_INVALID_REQUEST, NULL, text);
    } else
        return 0;
    return 1;
}

/* A request, as a job: the connection is suspended; what was a handler's
 * answer is queued on it, then it is resumed (a stream resumes it itself).
 * Nothing of R may be used once it is: the request may end at once. */
static void run_request(berth_http_job_t *job)
{
    req_t *r = (req_t *)(void *)job;
    berth_http_t *f = r->f;
    struct MHD_Connection *conn = job->conn;
    int handed = 0;
    if (strncmp(r->url, "/api/v1/", 8) == 0)
        control(f, conn, r->url, r->method);
    else if (strcmp(r->method, "POST") == 0)
        mcp_post(f, r, &handed);
    else if (strcmp(r->method, "DELETE") == 0)
        mcp_delete(f, conn);
    else
        http_error(conn, 405, BERTH_RPC_INVALID_REQUEST, NULL,
                   "Method not allowed: use POST, GET or DELETE");
    /* a response MHD refused leaves none: the connection then closes */
    if (!handed)
        berth_http_job_done(f->work, job, 0);
}

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
        enum MHD_Result refused;
        if (apr_atomic_read32(&f->stopping))
            return berth_http_send_busy(conn); /* no session made now */
        if (refuse_early(f, conn, url, &refused))
            return refused;
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
    if (r->job.done) /* a job resumed its connection without an answer */
        return MHD_NO;
    berth_http_conns_busy(f->conns, conn);
    if (strcmp(url, "/mcp") == 0 && strcmp(method, "GET") == 0)
        return mcp_get(f, conn); /* a stream: it waits on nobody */
    r->f = f;
    r->url = url;
    r->method = method;
    r->job.conn = conn;
    r->job.run = run_request;
    berth_http_job_start(f->work, &r->job);
    return MHD_YES;
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

/* The connection limit in force: the configured one, within what this
 * process may open (a connection is a descriptor where the OS counts
 * them, and servers, logs and pipes need some too). */
static unsigned connection_limit(unsigned want)
{
    const unsigned others = 256;
    unsigned long have = berth_platform_fd_limit(want + others);
    if (!have || have >= (unsigned long)want + others)
        return want;
    unsigned room = have > others + 16 ? (unsigned)have - others : 16;
    berth_log(BERTH_LOG_WARN, "http.max_connections is %u, but this process "
              "may open only %lu files: at most %u connections; raise the "
              "limit (ulimit -n, or LimitNOFILE= in a systemd unit)", want,
              have, room);
    return room;
}

/* MHD's daemon: its loop run by berth's threads on epoll (or by its own
 * thread elsewhere, or when OWN_LOOP is 0), suspending connections,
 * telling of each connection and asking about each new one. */
static struct MHD_Daemon *start_mhd(berth_http_t *f, apr_sockaddr_t *sa,
                                    int own_loop, unsigned limit)
{
    unsigned flags = MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (own_loop)
        flags |= MHD_USE_EPOLL;
    else
        flags |= MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
    if (sa->family == APR_INET6)
        flags |= MHD_USE_IPv6;
    return MHD_start_daemon(
        flags, (uint16_t)f->opts.port, berth_http_conns_accept, f->conns,
        on_request, f,
        /* first, so MHD's own complaints about the others reach it */
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, f,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa->sa,
        MHD_OPTION_NOTIFY_COMPLETED, completed, f,
        MHD_OPTION_NOTIFY_CONNECTION, berth_http_conns_notify, f->conns,
        /* berth drops the oldest idle connection at its limit: MHD's own
         * only counts the dropped ones on their way out too */
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)(limit * 2 + 16),
        /* the read timeout is berth's (http_conns.c); this one ends a
         * connection that stopped reading what berth writes */
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
        MHD_OPTION_END);
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
        f->opts.max_body =
            (apr_size_t)berth_config_default_number("http.max_body");

    /* a numeric address (the config allows no other but localhost): APR
     * makes the socket address without asking any resolver */
    apr_sockaddr_t *sa;
    const char *host = strcmp(opts->host, "localhost") == 0 ? "127.0.0.1"
                                                           : opts->host;
    if (apr_sockaddr_info_get(&sa, host, APR_UNSPEC, (apr_port_t)opts->port,
                              0, pool) != APR_SUCCESS) {
        *error = apr_psprintf(pool, "%s is not an IPv4 or IPv6 address",
                              opts->host);
        return APR_EINVAL;
    }
    berth_http_conns_opts_t co = { connection_limit(opts->max_connections),
                                   opts->max_per_address,
                                   opts->read_timeout };
    f->conns = berth_http_conns_create(&co, f->pool);
    f->work = berth_http_work_create(f->conns, f->pool);
    f->streams = berth_http_streams_create(hub, f->work, f->conns, f->pool);
    berth_http_conns_set_timer(f->conns, f->streams);
    int own_loop = !opts->mhd_loop &&
                   MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES;
    f->mhd = start_mhd(f, sa, own_loop, co.max);
    if (!f->mhd || berth_http_work_run(f->work, f->mhd, own_loop) !=
                       APR_SUCCESS) {
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
    /* no new connections, and the loop ends at its next turn (the quiesce
     * wakes it); then every session ends (streams finish, calls in flight
     * are cancelled), the jobs drain, and MHD closes what is left (none
     * may be suspended then: MHD would abort) */
    apr_atomic_set32(&f->stopping, 1);
    berth_http_streams_quiesce(f->streams);
    MHD_socket s = berth_http_work_quiesce(f->work);
    berth_hub_close_all(f->hub);
    berth_http_work_stop(f->work);
    berth_http_streams_stop(f->streams);
    berth_http_conns_resume_all(f->conns);
    MHD_stop_daemon(f->mhd);
    if (s != MHD_INVALID_SOCKET)
        berth_platform_socket_close(s);
}

