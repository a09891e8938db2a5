#include "jsonrpc.h"

#include <stdlib.h>
#include <string.h>

#include "jsonwire.h"

/* The top-level "id" of a line that is being dropped for its size, read
 * byte by byte as the line goes by (it may be megabytes, in many reads,
 * and its id may come last, as some SDKs write it): only its nesting, its
 * strings and the top-level keys are followed. */
typedef struct {
    int started;     /* the first byte that is not a space was seen */
    int top;         /* ... and it opened an object */
    int depth;
    int in_str, esc;
    int str_is_key;  /* the string is a key of the top-level object */
    int key_len;     /* how much of "id" it matched */
    int key_ok;      /* ... with nothing else */
    int expect_key;  /* a top-level key comes next */
    int after_id;    /* the key "id" was read: its ':' comes next */
    int value_is_id; /* the next value is the id */
    int in_num, neg, digits, bad;
    json_int_t num;
    int have_id;
    json_int_t id;
} idscan_t;

struct berth_linereader_t {
    apr_file_t *f;
    apr_size_t max;
    char *buf;          /* malloc'ed: lines can be megabytes */
    apr_size_t cap;
    apr_size_t start;   /* first unconsumed byte */
    apr_size_t end;     /* one past the last byte read */
    apr_size_t scanned; /* bytes from start known to hold no newline: a
                         * long line arriving in pieces is searched once */
    int discarding;     /* inside a line that is too long */
    apr_size_t dropped; /* its length so far */
    idscan_t scan;      /* its id, for berth_linereader_dropped_id */
    int eof;
};

static apr_status_t free_buf(void *data)
{
    berth_linereader_t *r = data;
    free(r->buf);
    r->buf = NULL;
    return APR_SUCCESS;
}

berth_linereader_t *berth_linereader_create(apr_file_t *f, apr_size_t max_line,
                                            apr_pool_t *pool)
{
    berth_linereader_t *r = apr_pcalloc(pool, sizeof *r);
    r->f = f;
    r->max = max_line;
    r->cap = 64 * 1024;
    r->buf = malloc(r->cap);
    apr_pool_cleanup_register(pool, r, free_buf, apr_pool_cleanup_null);
    return r;
}

/* Inside a string: its end, an escape, or (a top-level key) a byte of
 * it. */
static void idscan_str(idscan_t *s, char c)
{
    if (s->esc) {
        s->esc = 0;
        s->key_ok = 0;
    } else if (c == '\\') {
        s->esc = 1;
        s->key_ok = 0;
    } else if (c == '"') {
        s->in_str = 0;
        s->after_id = s->str_is_key && s->key_ok && s->key_len == 2;
    } else if (s->str_is_key) {
        if (s->key_len < 2 && c == "id"[s->key_len])
            s->key_len++;
        else
            s->key_ok = 0;
    }
}

/* The end of the id's number: kept when it was a whole number that fits
 * (berth's ids are such numbers). */
static void idscan_num_end(idscan_t *s, char next)
{
    s->in_num = 0;
    if (s->digits && !s->bad && next != '.' && next != 'e' && next != 'E') {
        s->have_id = 1;
        s->id = s->neg ? -s->num : s->num;
    }
}

static void idscan_byte(idscan_t *s, char c)
{
    if (s->in_str) {
        idscan_str(s, c);
        return;
    }
    if (s->in_num) {
        if (c >= '0' && c <= '9') {
            /* 18 digits fit; more is beyond any id berth sends */
            s->bad |= ++s->digits > 18;
            if (!s->bad)
                s->num = s->num * 10 + (c - '0');
            return;
        }
        idscan_num_end(s, c);
    }
    if (c == ' ' || c == '\t' || c == '\r')
        return;
    int top_level = s->top && s->depth == 1;
    int value_is_id = s->value_is_id;
    s->value_is_id = 0;
    if (!s->started) {
        s->started = 1;
        s->top = c == '{';
    }
    if (c == '"') {
        s->in_str = 1;
        s->str_is_key = top_level && s->expect_key;
        s->key_len = 0;
        s->key_ok = 1;
        s->expect_key = 0;
    } else if (c == '{' || c == '[') {
        s->expect_key = ++s->depth == 1 && s->top;
    } else if (c == '}' || c == ']') {
        s->depth--;
    } else if (c == ',' && top_level) {
        s->expect_key = 1;
    } else if (c == ':' && top_level) {
        s->value_is_id = s->after_id;
    } else if (value_is_id && (c == '-' || (c >= '0' && c <= '9'))) {
        s->in_num = 1;
        s->neg = c == '-';
        s->digits = c != '-';
        s->num = c == '-' ? 0 : c - '0';
        s->bad = 0;
    }
    if (c != '"')
        s->after_id = 0;
}

static void idscan_feed(idscan_t *s, const char *p, apr_size_t n)
{
    for (apr_size_t i = 0; i < n; i++)
        idscan_byte(s, p[i]);
}

int berth_linereader_dropped_id(berth_linereader_t *r, json_int_t *id)
{
    idscan_t *s = &r->scan;
    if (s->in_num)
        idscan_num_end(s, '}');
    if (s->have_id)
        *id = s->id;
    return s->have_id;
}

/* Moves the unconsumed bytes to the front and grows the buffer so that at
 * least one byte can be read and a NUL still fits. */
static int ensure_space(berth_linereader_t *r)
{
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->cap - r->end > 1)
        return 1;
    char *nb = realloc(r->buf, r->cap * 2);
    if (!nb)
        return 0;
    r->buf = nb;
    r->cap *= 2;
    return 1;
}

/* The N bytes at L end a line over the maximum (all of it, or the rest of
 * one being discarded): its id noted, its size in *LEN. */
static apr_status_t drop_line(berth_linereader_t *r, const char *l,
                              apr_size_t n, apr_size_t *len)
{
    if (!r->discarding) {
        memset(&r->scan, 0, sizeof r->scan);
        r->dropped = 0;
    }
    idscan_feed(&r->scan, l, n);
    r->discarding = 0;
    *len = r->dropped + n;
    return BERTH_ELINE_TOO_LONG;
}

/* The next line; READS bounds the reads it may make (-1: no bound), and
 * APR_EAGAIN says they were made and no line is complete yet. */
static apr_status_t next_line(berth_linereader_t *r, const char **line,
                              apr_size_t *len, int reads)
{
    for (;;) {
        apr_size_t pending = r->end - r->start;
        char *nl = pending > r->scanned
                       ? memchr(r->buf + r->start + r->scanned, '\n',
                                pending - r->scanned)
                       : NULL;
        r->scanned = pending;
        if (nl) {
            apr_size_t n = (apr_size_t)(nl - (r->buf + r->start));
            char *l = r->buf + r->start;
            r->start += n + 1;
            r->scanned = 0;
            if (r->discarding || n > r->max) {
                *line = NULL;
                return drop_line(r, l, n, len);
            }
            if (n && l[n - 1] == '\r')
                n--;
            l[n] = '\0';
            *line = l;
            *len = n;
            return APR_SUCCESS;
        }
        if (r->discarding || pending > r->max) {
            /* too long: forget what we have, skip to the next newline */
            if (!r->discarding) {
                r->discarding = 1;
                r->dropped = 0;
                memset(&r->scan, 0, sizeof r->scan);
            }
            idscan_feed(&r->scan, r->buf + r->start, pending);
            r->dropped += pending;
            r->start = r->end = r->scanned = 0;
            pending = 0;
        }
        if (r->eof) {
            if (r->discarding) {
                r->discarding = 0;
                *len = r->dropped;
                *line = NULL;
                return BERTH_ELINE_TOO_LONG;
            }
            if (!pending)
                return APR_EOF;
            /* a last line without its newline */
            if (!ensure_space(r))
                return APR_ENOMEM;
            r->buf[r->end] = '\0';
            *line = r->buf + r->start;
            *len = r->end - r->start;
            r->start = r->end;
            return APR_SUCCESS;
        }
        if (reads == 0)
            return APR_EAGAIN;
        if (reads > 0)
            reads--;
        if (!ensure_space(r))
            return APR_ENOMEM;
        apr_size_t want = r->cap - r->end - 1;
        apr_status_t rv = apr_file_read(r->f, r->buf + r->end, &want);
        r->end += want;
        if (APR_STATUS_IS_EOF(rv) || (rv == APR_SUCCESS && want == 0))
            r->eof = 1;
        else if (rv != APR_SUCCESS)
            return rv;
    }
}

apr_status_t berth_linereader_next(berth_linereader_t *r, const char **line,
                                   apr_size_t *len)
{
    return next_line(r, line, len, -1);
}

apr_status_t berth_linereader_next_once(berth_linereader_t *r,
                                        const char **line, apr_size_t *len)
{
    return next_line(r, line, len, 1);
}

int berth_linereader_buffered(berth_linereader_t *r)
{
    apr_size_t pending = r->end - r->start;
    if (r->eof)
        return 1;
    if (pending > r->scanned &&
        memchr(r->buf + r->start + r->scanned, '\n', pending - r->scanned))
        return 1;
    r->scanned = pending;
    return 0;
}

berth_rpc_kind_t berth_rpc_classify(json_t *msg)
{
    if (!json_is_object(msg))
        return BERTH_RPC_INVALID;
    json_t *v = json_object_get(msg, "jsonrpc");
    if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0)
        return BERTH_RPC_INVALID;
    json_t *method = json_object_get(msg, "method");
    json_t *id = json_object_get(msg, "id");
    int id_ok = json_is_string(id) || json_is_integer(id);
    if (json_is_string(method))
        return id ? (id_ok ? BERTH_RPC_REQUEST : BERTH_RPC_INVALID)
                  : BERTH_RPC_NOTIFICATION;
    if (method)
        return BERTH_RPC_INVALID;
    int has_result = json_object_get(msg, "result") != NULL;
    int has_error = json_is_object(json_object_get(msg, "error"));
    if (has_result != has_error && (id_ok || json_is_null(id)))
        return BERTH_RPC_RESPONSE;
    return BERTH_RPC_INVALID;
}

/* B's text, ended by a newline, with its length in *LEN when LEN is set. */
static char *take_line(berth_wbuf_t *b, apr_size_t *len)
{
    berth_wbuf_add(b, "\n", 1);
    size_t n;
    char *l = berth_wbuf_take(b, &n);
    if (len)
        *len = l ? n : 0;
    return l;
}

char *berth_rpc_line(json_t *msg, apr_size_t *len)
{
    berth_wbuf_t b = { 0 };
    berth_json_write(&b, msg);
    return take_line(&b, len);
}

char *berth_rpc_request_line(json_int_t id, const char *method,
                             const json_t *params, apr_size_t *len)
{
    berth_wbuf_t b = { 0 };
    berth_wbuf_add(&b, "{\"jsonrpc\":\"2.0\",\"id\":", 22);
    berth_json_write_integer(&b, id);
    berth_wbuf_add(&b, ",\"method\":", 10);
    berth_json_write_string(&b, method, strlen(method));
    if (params) {
        berth_wbuf_add(&b, ",\"params\":", 10);
        berth_json_write(&b, params);
    }
    berth_wbuf_add(&b, "}", 1);
    return take_line(&b, len);
}

json_t *berth_rpc_request(json_int_t id, const char *method, json_t *params)
{
    json_t *m = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id", id,
                          "method", method);
    if (params)
        json_object_set_new(m, "params", params);
    return m;
}

json_t *berth_rpc_notification(const char *method, json_t *params)
{
    json_t *m = json_pack("{s:s, s:s}", "jsonrpc", "2.0", "method", method);
    if (params)
        json_object_set_new(m, "params", params);
    return m;
}

json_t *berth_rpc_result(json_t *id, json_t *result)
{
    json_t *m = json_pack("{s:s}", "jsonrpc", "2.0");
    json_object_set(m, "id", id ? id : json_null());
    json_object_set_new(m, "result", result ? result : json_object());
    return m;
}

json_t *berth_rpc_error(json_t *id, int code, const char *message,
                        json_t *data)
{
    json_t *err = json_pack("{s:i, s:s}", "code", code, "message", message);
    if (data)
        json_object_set_new(err, "data", data);
    json_t *m = json_pack("{s:s}", "jsonrpc", "2.0");
    json_object_set(m, "id", id ? id : json_null());
    json_object_set_new(m, "error", err);
    return m;
}
