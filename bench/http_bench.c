/* The echo tool's round trip and throughput through an MCP Streamable HTTP
 * endpoint (berth serve, or a peer such as mcp-proxy or supergateway in front
 * of the same stdio server), or, for the floor, straight over stdio to the
 * server itself: one client harness for every path, so that the rows of one
 * run compare.
 *
 * HTTP: HTTP/1.1 over plain sockets, one keep-alive connection per client,
 * TCP_NODELAY, each request written with one write(2). Bodies by
 * Content-Length, chunked transfer encoding or up to the close; a
 * text/event-stream body is read as SSE (events up to a blank line, data:
 * lines joined, events without data skipped) and the response is the event
 * whose JSON-RPC id is the request's; application/json is the message
 * itself. A round trip is timed from the request's write to the end of the
 * HTTP response (the last chunk), what a client needs before it can reuse
 * the connection.
 *
 * A session: POST initialize (the Mcp-Session-Id response header), POST
 * notifications/initialized (2xx), then tools/call requests carrying
 * Mcp-Session-Id and MCP-Protocol-Version: 2025-11-25; DELETE at the end
 * (not timed).
 *
 * stdio (TARGET stdio:PROGRAM): the client spawns PROGRAM with pipes, writes
 * the JSON-RPC line and reads lines up to the response with its id; the same
 * initialize handshake, the same request text, the same JSON check.
 *
 * Every answer is parsed with jansson and its result.content[0].text must be
 * the text sent, which is unique per call ("echo <client>-<id>"); a wrong or
 * missing text is a mismatch, an HTTP or JSON-RPC failure an error. Any of
 * either makes the exit status 1.
 *
 * Phases:
 *   sequential  one client, one session: WARMUP calls, then N calls timed
 *               one by one (median, p99, mean)
 *   throughput  C clients, threads, each with its own connection and its own
 *               session (for stdio: its own server process), started and
 *               initialized before the clock; they call back to back for one
 *               second of warm-up, then SECONDS measured: calls/s, and the
 *               latency of the calls started inside the window
 *   memory      with --pid PID: VmHWM and VmRSS of PID and the sum over its
 *               descendants, read after the throughput phase while every
 *               session is still open
 *
 * Usage: http_bench TARGET [options]
 *   TARGET         http://127.0.0.1:PORT/mcp or stdio:PROGRAM
 *   --tool NAME    the echo tool's name (default echo)
 *   --calls N      sequential calls measured (default 2000)
 *   --warmup N     sequential calls before them (default 500)
 *   --clients C    concurrent clients (default 16; 0 skips the phase)
 *   --seconds S    measured seconds of the throughput phase (default 10)
 *   --accept A     sse: Accept: application/json, text/event-stream
 *                  (default); json: Accept: application/json
 *   --pid PID      the front's process, for the memory figures
 *   --wait S       retry the first connection for up to S seconds (default 0)
 *   --label L      the result line's label (default: TARGET)
 *   --caps JSON    the capabilities the client declares in initialize
 *                  (default {}; e.g. '{"roots":{}}' as many clients do)
 * Prints the figures, then one line for bench/run:
 *   result LABEL seq_p50 seq_p99 seq_mean rps load_p50 load_p99 calls
 *          mismatches errors hwm_kb rss_kb child_hwm_kb child_rss_kb children
 * (µs, calls/s, kB; "-" where not measured). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>

#include "bench_util.h"

extern char **environ;

#define PROTOCOL "2025-11-25"

/* ---- options ------------------------------------------------------------ */

static struct {
    const char *target;
    int stdio;               /* stdio:PROGRAM */
    const char *program;
    char host[256];          /* for the Host header */
    struct sockaddr_in addr;
    char path[1024];
    const char *tool;
    int calls, warmup, clients, seconds, wait;
    int json_only;
    long pid;
    const char *label;
    const char *caps;        /* the client's capabilities, JSON */
} opt = { .tool = "echo", .caps = "{}", .calls = 2000, .warmup = 500,
          .clients = 16, .seconds = 10 };

static atomic_long mismatches, errors, total_calls;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("http_bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* ---- growable buffers --------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static void buf_reserve(buf_t *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    b->p = realloc(b->p, cap);
    if (!b->p)
        die("out of memory");
    b->cap = cap;
}

static void buf_add(buf_t *b, const char *p, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_printf(buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void buf_printf(buf_t *b, const char *fmt, ...)
{
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        die("a request head over %zu bytes", sizeof tmp);
    buf_add(b, tmp, (size_t)n);
}

/* ---- a client: one connection and session, or one server process -------- */

typedef struct {
    int id;                  /* the client's number, in the echo texts */
    /* HTTP */
    int fd;
    char sid[256];
    /* stdio */
    pid_t pid;
    int to;
    /* input: bytes [off, len) of in are unread */
    char *in;
    size_t off, len, cap;
    buf_t body;
    long next_id;
    int reconnects;
    char last_error[256];
} client_t;

static void seterr(client_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void seterr(client_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->last_error, sizeof c->last_error, fmt, ap);
    va_end(ap);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* More input: 1, or 0 at the end, -1 on an error. */
static int fill(client_t *c, int fd)
{
    if (c->off == c->len)
        c->off = c->len = 0;
    if (c->len == c->cap) {
        if (c->off) {
            memmove(c->in, c->in + c->off, c->len - c->off);
            c->len -= c->off;
            c->off = 0;
        } else {
            c->cap = c->cap ? c->cap * 2 : 65536;
            c->in = realloc(c->in, c->cap);
            if (!c->in)
                die("out of memory");
        }
    }
    for (;;) {
        ssize_t r = read(fd, c->in + c->len, c->cap - c->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        c->len += (size_t)r;
        return r > 0;
    }
}

/* One line without its LF (and CR): a pointer into the input, valid until
 * the next read; NULL at the end of input or on an error. */
static char *get_line(client_t *c, int fd, size_t *n)
{
    size_t scanned = 0;
    for (;;) {
        char *s = c->in + c->off;
        char *nl = memchr(s + scanned, '\n', c->len - c->off - scanned);
        if (nl) {
            size_t k = (size_t)(nl - s);
            c->off += k + 1;
            if (k && s[k - 1] == '\r')
                k--;
            s[k] = '\0';
            *n = k;
            return s;
        }
        scanned = c->len - c->off;
        if (fill(c, fd) <= 0)
            return NULL;
    }
}

/* N bytes of input appended to OUT; -1 when the input ends first. */
static int get_bytes(client_t *c, int fd, size_t n, buf_t *out)
{
    while (n) {
        if (c->off == c->len && fill(c, fd) <= 0)
            return -1;
        size_t k = c->len - c->off < n ? c->len - c->off : n;
        buf_add(out, c->in + c->off, k);
        c->off += k;
        n -= k;
    }
    return 0;
}

/* ---- HTTP --------------------------------------------------------------- */

static int http_connect(client_t *c)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&opt.addr, sizeof opt.addr) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = { 60, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    c->fd = fd;
    c->off = c->len = 0;
    return 0;
}

typedef struct {
    int status;
    int sse;
    int close;
    char sid[256];
} resp_t;

/* Reads one response: status, headers, the body into c->body. 0, or -1
 * with c->last_error. */
static int http_read(client_t *c, resp_t *r, int head_only)
{
    size_t n;
    char *line = get_line(c, c->fd, &n);
    memset(r, 0, sizeof *r);
    c->body.len = 0;
    if (!line) {
        seterr(c, "the connection closed before a response");
        return -1;
    }
    if (n < 12 || strncmp(line, "HTTP/1.", 7) != 0) {
        seterr(c, "not an HTTP response: %.80s", line);
        return -1;
    }
    r->status = atoi(line + 9);
    if (line[7] == '0')
        r->close = 1;
    long long clen = -1;
    int chunked = 0;
    for (;;) {
        line = get_line(c, c->fd, &n);
        if (!line) {
            seterr(c, "the connection closed in the headers");
            return -1;
        }
        if (!n)
            break;
        char *colon = memchr(line, ':', n);
        if (!colon)
            continue;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (!strcasecmp(line, "content-length"))
            clen = atoll(v);
        else if (!strcasecmp(line, "transfer-encoding"))
            chunked = strcasestr(v, "chunked") != NULL;
        else if (!strcasecmp(line, "content-type"))
            r->sse = strcasestr(v, "text/event-stream") != NULL;
        else if (!strcasecmp(line, "connection"))
            r->close = strcasestr(v, "close") != NULL;
        else if (!strcasecmp(line, "mcp-session-id"))
            snprintf(r->sid, sizeof r->sid, "%s", v);
    }
    if (head_only || r->status == 204 || r->status == 304 ||
        r->status / 100 == 1)
        return 0;
    if (chunked) {
        for (;;) {
            line = get_line(c, c->fd, &n);
            if (!line) {
                seterr(c, "the connection closed in a chunk size");
                return -1;
            }
            char *end;
            unsigned long long size = strtoull(line, &end, 16);
            if (end == line) {
                seterr(c, "a bad chunk size: %.40s", line);
                return -1;
            }
            if (size == 0) {
                /* trailers, up to the blank line */
                do {
                    line = get_line(c, c->fd, &n);
                } while (line && n);
                if (!line) {
                    seterr(c, "the connection closed in the trailers");
                    return -1;
                }
                return 0;
            }
            if (get_bytes(c, c->fd, (size_t)size, &c->body) != 0 ||
                !get_line(c, c->fd, &n)) {
                seterr(c, "the connection closed in a chunk");
                return -1;
            }
        }
    }
    if (clen >= 0) {
        if (get_bytes(c, c->fd, (size_t)clen, &c->body) != 0) {
            seterr(c, "the connection closed in the body");
            return -1;
        }
        return 0;
    }
    /* neither: the body runs to the close */
    r->close = 1;
    for (;;) {
        if (c->off < c->len) {
            buf_add(&c->body, c->in + c->off, c->len - c->off);
            c->off = c->len;
        }
        int f = fill(c, c->fd);
        if (f < 0) {
            seterr(c, "a read failed in the body");
            return -1;
        }
        if (f == 0)
            return 0;
    }
}

/* One request and its response; reconnects once when a kept-alive
 * connection turns out to be closed. */
static int http_exchange(client_t *c, const char *method, const char *body,
                         resp_t *r)
{
    buf_t req = { 0 };
    size_t blen = body ? strlen(body) : 0;
    buf_printf(&req,
               "%s %s HTTP/1.1\r\n"
               "Host: %s\r\n"
               "Accept: %s\r\n"
               "%s"
               "Content-Length: %zu\r\n",
               method, opt.path, opt.host,
               opt.json_only ? "application/json"
                             : "application/json, text/event-stream",
               body ? "Content-Type: application/json\r\n" : "", blen);
    if (c->sid[0])
        buf_printf(&req, "Mcp-Session-Id: %s\r\n"
                         "MCP-Protocol-Version: " PROTOCOL "\r\n", c->sid);
    buf_add(&req, "\r\n", 2);
    if (body)
        buf_add(&req, body, blen);
    int rv = -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (c->fd < 0 && http_connect(c) != 0) {
            seterr(c, "cannot connect: %s", strerror(errno));
            break;
        }
        if (write_all(c->fd, req.p, req.len) == 0 &&
            (rv = http_read(c, r, strcmp(method, "HEAD") == 0)) == 0)
            break;
        close(c->fd);
        c->fd = -1;
        c->reconnects++;
    }
    if (rv == 0 && r->close) {
        close(c->fd);
        c->fd = -1;
    }
    free(req.p);
    return rv;
}

/* The JSON-RPC response with id ID in the body just read (a JSON message,
 * or SSE events): a new reference, or NULL. */
static json_t *find_response(client_t *c, const resp_t *r, long id)
{
    if (!r->sse) {
        json_t *m = json_loadb(c->body.p ? c->body.p : "", c->body.len, 0,
                               NULL);
        if (m && json_integer_value(json_object_get(m, "id")) == id)
            return m;
        json_decref(m);
        return NULL;
    }
    buf_t data = { 0 };
    json_t *found = NULL;
    char *p = c->body.p, *end = p ? p + c->body.len : NULL;
    while (p && p <= end && !found) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *eol = nl ? nl : end;
        size_t n = (size_t)(eol - p);
        if (n && p[n - 1] == '\r')
            n--;
        if (n == 0) {
            /* the end of an event */
            if (data.len) {
                json_t *m = json_loadb(data.p, data.len, 0, NULL);
                if (m && json_integer_value(json_object_get(m, "id")) == id &&
                    !json_object_get(m, "method"))
                    found = m;
                else
                    json_decref(m);
            }
            data.len = 0;
        } else if (n >= 5 && strncmp(p, "data:", 5) == 0) {
            const char *v = p + 5;
            size_t vn = n - 5;
            if (vn && *v == ' ') {
                v++;
                vn--;
            }
            if (data.len)
                buf_add(&data, "\n", 1);
            buf_add(&data, v, vn);
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    if (!found && data.len) /* an event the stream did not end */
        found = json_loadb(data.p, data.len, 0, NULL);
    free(data.p);
    return found;
}

/* ---- stdio -------------------------------------------------------------- */

static void stdio_spawn(client_t *c)
{
    int in[2], out[2];
    posix_spawn_file_actions_t fa;
    char *argv[] = { (char *)opt.program, NULL };
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
        die("pipe failed");
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    if (posix_spawn(&c->pid, opt.program, &fa, NULL, argv, environ) != 0)
        die("cannot start %s", opt.program);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    c->to = in[1];
    c->fd = out[0];
}

/* Writes LINE (with its newline) and reads lines up to the response with
 * id ID: a new reference, or NULL. */
static json_t *stdio_exchange(client_t *c, const char *line, long id)
{
    size_t n;
    if (write_all(c->to, line, strlen(line)) != 0) {
        seterr(c, "cannot write to the server");
        return NULL;
    }
    if (id < 0)
        return NULL;
    for (;;) {
        char *l = get_line(c, c->fd, &n);
        if (!l) {
            seterr(c, "the server closed its stdout");
            return NULL;
        }
        json_t *m = json_loadb(l, n, 0, NULL);
        if (m && json_integer_value(json_object_get(m, "id")) == id &&
            !json_object_get(m, "method"))
            return m;
        json_decref(m);
    }
}

/* ---- the calls ---------------------------------------------------------- */

static const char init_fmt[] =
    "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"initialize\",\"params\":"
    "{\"protocolVersion\":\"" PROTOCOL "\",\"capabilities\":%s,"
    "\"clientInfo\":{\"name\":\"http_bench\",\"version\":\"0\"}}}%s";
static const char inited[] =
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";

/* A session: connection (or process), initialize, initialized. */
static int client_open(client_t *c, int id)
{
    char body[1024];
    memset(c, 0, sizeof *c);
    c->id = id;
    c->fd = -1;
    c->next_id = 1;
    long rid = c->next_id++;
    if (opt.stdio) {
        stdio_spawn(c);
        snprintf(body, sizeof body, init_fmt, rid, opt.caps, "\n");
        json_t *m = stdio_exchange(c, body, rid);
        int ok = m && json_object_get(m, "result");
        json_decref(m);
        if (!ok) {
            seterr(c, "initialize failed");
            return -1;
        }
        char line[128];
        snprintf(line, sizeof line, "%s\n", inited);
        stdio_exchange(c, line, -1);
        return 0;
    }
    resp_t r;
    snprintf(body, sizeof body, init_fmt, rid, opt.caps, "");
    double until = bench_now_us() + (double)opt.wait * 1e6;
    for (;;) {
        if (http_exchange(c, "POST", body, &r) == 0)
            break;
        if (bench_now_us() >= until)
            return -1;
        usleep(100000);
    }
    json_t *m = find_response(c, &r, rid);
    int ok = r.status == 200 && m && json_object_get(m, "result");
    json_decref(m);
    if (!ok) {
        seterr(c, "initialize: HTTP %d: %.200s", r.status,
               c->body.p ? c->body.p : "");
        return -1;
    }
    if (!r.sid[0]) {
        seterr(c, "initialize: no Mcp-Session-Id header");
        return -1;
    }
    snprintf(c->sid, sizeof c->sid, "%s", r.sid);
    if (http_exchange(c, "POST", inited, &r) != 0)
        return -1;
    if (r.status / 100 != 2) {
        seterr(c, "notifications/initialized: HTTP %d", r.status);
        return -1;
    }
    return 0;
}

static void client_close(client_t *c)
{
    if (opt.stdio) {
        int st;
        close(c->to);
        close(c->fd);
        waitpid(c->pid, &st, 0);
    } else {
        resp_t r;
        if (c->sid[0])
            http_exchange(c, "DELETE", NULL, &r);
        if (c->fd >= 0)
            close(c->fd);
    }
    free(c->in);
    free(c->body.p);
}

/* One tools/call of the echo tool, checked: 0, or 1 for a wrong answer,
 * -1 for a failed call (c->last_error says why). */
static int client_call(client_t *c)
{
    char body[512], text[64];
    long id = c->next_id++;
    snprintf(text, sizeof text, "echo %d-%ld", c->id, id);
    int n = snprintf(body, sizeof body,
                     "{\"jsonrpc\":\"2.0\",\"id\":%ld,"
                     "\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
                     "\"arguments\":{\"text\":\"%s\"}}}%s",
                     id, opt.tool, text, opt.stdio ? "\n" : "");
    if (n >= (int)sizeof body)
        die("the tool name is too long");
    json_t *m;
    if (opt.stdio) {
        m = stdio_exchange(c, body, id);
        if (!m)
            return -1;
    } else {
        resp_t r;
        if (http_exchange(c, "POST", body, &r) != 0)
            return -1;
        if (r.status != 200) {
            seterr(c, "tools/call: HTTP %d: %.200s", r.status,
                   c->body.p ? c->body.p : "");
            return -1;
        }
        m = find_response(c, &r, id);
        if (!m) {
            seterr(c, "tools/call: no response with id %ld in: %.200s", id,
                   c->body.p ? c->body.p : "");
            return -1;
        }
    }
    json_t *res = json_object_get(m, "result");
    if (!res) {
        json_t *e = json_object_get(m, "error");
        seterr(c, "tools/call: JSON-RPC error %lld: %s",
               (long long)json_integer_value(json_object_get(e, "code")),
               json_is_string(json_object_get(e, "message"))
                   ? json_string_value(json_object_get(e, "message"))
                   : "(no message)");
        json_decref(m);
        return -1;
    }
    const char *got = json_string_value(json_object_get(
        json_array_get(json_object_get(res, "content"), 0), "text"));
    int bad = !got || strcmp(got, text) != 0 ||
              json_is_true(json_object_get(res, "isError"));
    if (bad)
        seterr(c, "tools/call: sent \"%s\", got \"%s\"", text,
               got ? got : "(no text)");
    json_decref(m);
    return bad;
}

/* Counts a call's outcome; prints the first few failures. */
static void tally(client_t *c, int rv)
{
    atomic_fetch_add(&total_calls, 1);
    if (rv == 0)
        return;
    long k = rv > 0 ? atomic_fetch_add(&mismatches, 1)
                    : atomic_fetch_add(&errors, 1);
    if (k < 5)
        fprintf(stderr, "http_bench: client %d: %s\n", c->id, c->last_error);
}

/* ---- figures ------------------------------------------------------------ */

typedef struct {
    double p50, p99, mean;
    size_t n;
} stats_t;

static stats_t stats(double *v, size_t n)
{
    stats_t s = { 0, 0, 0, n };
    if (!n)
        return s;
    qsort(v, n, sizeof *v, bench_cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    s.p50 = v[n / 2];
    s.p99 = v[(size_t)((double)(n - 1) * 0.99)];
    s.mean = sum / (double)n;
    return s;
}

/* ---- the throughput phase ----------------------------------------------- */

enum { PH_SETUP, PH_WARM, PH_MEASURE, PH_STOP };
static atomic_int phase = PH_SETUP;
static atomic_long measured_calls;
static atomic_int ready_clients, failed_clients;

typedef struct {
    pthread_t t;
    client_t c;
    double *lat;
    size_t n, cap;
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    if (client_open(&w->c, w->c.id) != 0) {
        fprintf(stderr, "http_bench: a client cannot start: %s\n",
                w->c.last_error);
        atomic_fetch_add(&failed_clients, 1);
        atomic_fetch_add(&ready_clients, 1);
        return NULL;
    }
    atomic_fetch_add(&ready_clients, 1);
    while (atomic_load(&phase) == PH_SETUP)
        usleep(1000);
    for (;;) {
        int ph = atomic_load(&phase);
        if (ph == PH_STOP)
            break;
        double t0 = bench_now_us();
        int rv = client_call(&w->c);
        double t1 = bench_now_us();
        tally(&w->c, rv);
        if (rv < 0 && w->c.fd < 0 && !opt.stdio) {
            usleep(1000); /* the front is gone: do not spin */
            continue;
        }
        if (ph == PH_MEASURE && atomic_load(&phase) == PH_MEASURE) {
            atomic_fetch_add(&measured_calls, 1);
            if (w->n == w->cap) {
                w->cap = w->cap ? w->cap * 2 : 65536;
                w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
                if (!w->lat)
                    die("out of memory");
            }
            w->lat[w->n++] = t1 - t0;
        }
    }
    return NULL;
}

/* ---- memory ------------------------------------------------------------- */

static long status_kb(long pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t kl = strlen(key);
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = atol(line + kl + 1);
            break;
        }
    fclose(f);
    return v;
}

/* Adds every descendant of PID: their VmHWM and VmRSS and their count. */
static void descendants(long pid, long *hwm, long *rss, int *count)
{
    char path[96];
    long kids[4096];
    int nk = 0;
    snprintf(path, sizeof path, "/proc/%ld/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return;
    /* the children of every thread of PID */
    for (struct dirent *e; (e = readdir(d)) && nk < 4096;) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/%ld/task/%.20s/children", pid,
                 e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        while (nk < 4096 && fscanf(f, "%ld", &kids[nk]) == 1)
            nk++;
        fclose(f);
    }
    closedir(d);
    for (int i = 0; i < nk; i++) {
        long h = status_kb(kids[i], "VmHWM"), r = status_kb(kids[i], "VmRSS");
        if (h > 0) {
            *hwm += h;
            *rss += r > 0 ? r : 0;
            (*count)++;
        }
        descendants(kids[i], hwm, rss, count);
    }
}

/* ---- main --------------------------------------------------------------- */

static void parse_target(const char *t)
{
    opt.target = t;
    if (strncmp(t, "stdio:", 6) == 0) {
        opt.stdio = 1;
        opt.program = t + 6;
        return;
    }
    if (strncmp(t, "http://", 7) != 0)
        die("TARGET must be http://HOST:PORT/PATH or stdio:PROGRAM");
    const char *h = t + 7, *slash = strchr(h, '/');
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    if (hl >= sizeof opt.host)
        die("the host is too long");
    memcpy(opt.host, h, hl);
    opt.host[hl] = '\0';
    snprintf(opt.path, sizeof opt.path, "%s", slash ? slash : "/");
    char name[256];
    snprintf(name, sizeof name, "%s", opt.host);
    char *colon = strrchr(name, ':');
    int port = 80;
    if (colon) {
        *colon = '\0';
        port = atoi(colon + 1);
    }
    opt.addr.sin_family = AF_INET;
    opt.addr.sin_port = htons((unsigned short)port);
    if (strcmp(name, "localhost") == 0)
        snprintf(name, sizeof name, "127.0.0.1");
    if (inet_pton(AF_INET, name, &opt.addr.sin_addr) != 1)
        die("%s is not an IPv4 address", name);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: http_bench TARGET [--tool NAME] [--calls N] "
            "[--warmup N] [--clients C]\n"
            "                  [--seconds S] [--accept sse|json] [--pid PID] "
            "[--wait S] [--label L]\n"
            "                  [--caps JSON]\n"
            "TARGET: http://127.0.0.1:PORT/mcp or stdio:PROGRAM\n");
    exit(2);
}

static void fmt(char *out, size_t n, double v, int have)
{
    if (have)
        snprintf(out, n, "%.1f", v);
    else
        snprintf(out, n, "-");
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    signal(SIGPIPE, SIG_IGN);
    parse_target(argv[1]);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (!strcmp(a, "--tool"))
            opt.tool = v;
        else if (!strcmp(a, "--calls"))
            opt.calls = atoi(v);
        else if (!strcmp(a, "--warmup"))
            opt.warmup = atoi(v);
        else if (!strcmp(a, "--clients"))
            opt.clients = atoi(v);
        else if (!strcmp(a, "--seconds"))
            opt.seconds = atoi(v);
        else if (!strcmp(a, "--accept"))
            opt.json_only = !strcmp(v, "json");
        else if (!strcmp(a, "--pid"))
            opt.pid = atol(v);
        else if (!strcmp(a, "--wait"))
            opt.wait = atoi(v);
        else if (!strcmp(a, "--label"))
            opt.label = v;
        else if (!strcmp(a, "--caps"))
            opt.caps = v;
        else
            usage();
        i++;
    }
    if (!opt.label)
        opt.label = opt.target;
    if (opt.calls < 1 || opt.clients < 0 || opt.seconds < 1)
        usage();

    /* ---- sequential */
    client_t seq;
    if (client_open(&seq, 0) != 0)
        die("%s: the session did not start: %s", opt.target,
            seq.last_error[0] ? seq.last_error : "no answer");
    for (int i = 0; i < opt.warmup; i++)
        tally(&seq, client_call(&seq));
    double *lat = malloc(sizeof *lat * (size_t)opt.calls);
    if (!lat)
        die("out of memory");
    for (int i = 0; i < opt.calls; i++) {
        double t0 = bench_now_us();
        int rv = client_call(&seq);
        lat[i] = bench_now_us() - t0;
        tally(&seq, rv);
    }
    stats_t s = stats(lat, (size_t)opt.calls);
    free(lat);
    printf("%s: sequential, %d calls after %d warm-up: median %.1f us, "
           "p99 %.1f us, mean %.1f us\n",
           opt.label, opt.calls, opt.warmup, s.p50, s.p99, s.mean);

    /* ---- throughput */
    double rps = 0;
    stats_t load = { 0, 0, 0, 0 };
    if (opt.clients > 0) {
        worker_t *w = calloc((size_t)opt.clients, sizeof *w);
        if (!w)
            die("out of memory");
        for (int i = 0; i < opt.clients; i++) {
            w[i].c.id = i + 1;
            if (pthread_create(&w[i].t, NULL, worker, &w[i]) != 0)
                die("cannot start a thread");
        }
        while (atomic_load(&ready_clients) < opt.clients)
            usleep(1000);
        if (atomic_load(&failed_clients))
            die("%d of %d clients could not open a session",
                atomic_load(&failed_clients), opt.clients);
        atomic_store(&phase, PH_WARM);
        usleep(1000000);
        double t0 = bench_now_us();
        atomic_store(&phase, PH_MEASURE);
        usleep((useconds_t)opt.seconds * 1000000u);
        atomic_store(&phase, PH_STOP);
        double t1 = bench_now_us();
        long done = atomic_load(&measured_calls);
        for (int i = 0; i < opt.clients; i++)
            pthread_join(w[i].t, NULL);
        rps = (double)done / ((t1 - t0) / 1e6);
        size_t total = 0;
        for (int i = 0; i < opt.clients; i++)
            total += w[i].n;
        double *all = malloc(sizeof *all * (total ? total : 1));
        if (!all)
            die("out of memory");
        total = 0;
        for (int i = 0; i < opt.clients; i++) {
            memcpy(all + total, w[i].lat, w[i].n * sizeof *all);
            total += w[i].n;
            free(w[i].lat);
        }
        load = stats(all, total);
        free(all);
        printf("%s: %d concurrent clients (own connection and session each), "
               "%d s: %.0f calls/s; latency median %.1f us, p99 %.1f us\n",
               opt.label, opt.clients, opt.seconds, rps, load.p50, load.p99);

        /* ---- memory, every session still open */
        long hwm = -1, rss = -1, chwm = 0, crss = 0;
        int nkids = 0;
        if (opt.pid > 0) {
            hwm = status_kb(opt.pid, "VmHWM");
            rss = status_kb(opt.pid, "VmRSS");
            descendants(opt.pid, &chwm, &crss, &nkids);
            printf("%s: memory of pid %ld: VmHWM %ld kB, VmRSS %ld kB; its %d "
                   "descendant processes: VmHWM %ld kB, VmRSS %ld kB "
                   "(sums)\n",
                   opt.label, opt.pid, hwm, rss, nkids, chwm, crss);
        }
        for (int i = 0; i < opt.clients; i++)
            client_close(&w[i].c);
        free(w);
        client_close(&seq);

        char b[8][32];
        fmt(b[0], 32, s.p50, 1);
        fmt(b[1], 32, s.p99, 1);
        fmt(b[2], 32, s.mean, 1);
        fmt(b[3], 32, rps, 1);
        fmt(b[4], 32, load.p50, 1);
        fmt(b[5], 32, load.p99, 1);
        printf("result %s %s %s %s %s %s %s %ld %ld %ld", opt.label, b[0],
               b[1], b[2], b[3], b[4], b[5],
               atomic_load(&total_calls), atomic_load(&mismatches),
               atomic_load(&errors));
        if (opt.pid > 0)
            printf(" %ld %ld %ld %ld %d\n", hwm, rss, chwm, crss, nkids);
        else
            printf(" - - - - -\n");
    } else {
        client_close(&seq);
        printf("result %s %.1f %.1f %.1f - - - %ld %ld %ld - - - - -\n",
               opt.label, s.p50, s.p99, s.mean,
               atomic_load(&total_calls), atomic_load(&mismatches),
               atomic_load(&errors));
    }
    return atomic_load(&mismatches) || atomic_load(&errors) ? 1 : 0;
}
