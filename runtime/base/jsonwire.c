#include "jsonwire.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the buffer ------------------------------------------------------------ */

static int reserve(berth_wbuf_t *b, size_t more)
{
    if (b->failed)
        return -1;
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1) {
        if (cap > ((size_t)-1) / 2) {
            b->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void berth_wbuf_add(berth_wbuf_t *b, const char *s, size_t n)
{
    if (reserve(b, n) != 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void add_char(berth_wbuf_t *b, char c)
{
    if (reserve(b, 1) != 0)
        return;
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

void berth_wbuf_free(berth_wbuf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

char *berth_wbuf_take(berth_wbuf_t *b, size_t *len)
{
    char *p = b->failed ? NULL : b->p;
    if (!p)
        free(b->p);
    if (len)
        *len = p ? b->len : 0;
    memset(b, 0, sizeof *b);
    return p;
}

/* ---- writing ---------------------------------------------------------------- */

/* 1 for the bytes a JSON string cannot hold as they are */
static const unsigned char k_escape[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* '\\' */
};

static void write_string(berth_wbuf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    if (reserve(b, n + 2) != 0)
        return;
    b->p[b->len++] = '"';
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!k_escape[c])
            continue;
        berth_wbuf_add(b, s + run, i - run);
        run = i + 1;
        char esc[6] = { '\\', 0, 0, 0, 0, 0 };
        size_t k = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            k = 6;
        }
        berth_wbuf_add(b, esc, k);
    }
    berth_wbuf_add(b, s + run, n - run);
    add_char(b, '"');
}

static void write_integer(berth_wbuf_t *b, json_int_t v)
{
    char digits[24];
    int n = 0;
    /* unsigned arithmetic: the most negative value has no positive twin */
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;
    do {
        digits[sizeof digits - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        digits[sizeof digits - 1 - n++] = '-';
    berth_wbuf_add(b, digits + sizeof digits - n, (size_t)n);
}

/* As jansson: 17 significant digits, a ".0" when it would read back as an
 * integer, the exponent without '+' or leading zeros. */
static void write_real(berth_wbuf_t *b, double v)
{
    char buf[64];
    int n = snprintf(buf, sizeof buf - 3, "%.17g", v);
    if (n < 0 || (size_t)n >= sizeof buf - 3) {
        b->failed = 1;
        return;
    }
    size_t len = (size_t)n;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == ',')
            buf[i] = '.'; /* a locale's decimal comma */
    if (!strchr(buf, '.') && !strchr(buf, 'e')) {
        memcpy(buf + len, ".0", 3);
        len += 2;
    }
    char *start = strchr(buf, 'e');
    if (start) {
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - buf) + 1);
            len -= (size_t)(end - start);
        }
    }
    berth_wbuf_add(b, buf, len);
}

static void write_value(berth_wbuf_t *b, const json_t *v, int depth)
{
    if (depth > 2048) {
        b->failed = 1; /* jansson's own limit: a cycle or a hostile tree */
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        add_char(b, '{');
        int first = 1;
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            if (!first)
                add_char(b, ',');
            first = 0;
            write_string(b, json_object_iter_key(it),
                         json_object_iter_key_len(it));
            add_char(b, ':');
            write_value(b, json_object_iter_value(it), depth + 1);
        }
        add_char(b, '}');
        break;
    }
    case JSON_ARRAY: {
        add_char(b, '[');
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++) {
            if (i)
                add_char(b, ',');
            write_value(b, json_array_get(v, i), depth + 1);
        }
        add_char(b, ']');
        break;
    }
    case JSON_STRING:
        write_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        write_integer(b, json_integer_value(v));
        break;
    case JSON_REAL:
        write_real(b, json_real_value(v));
        break;
    case JSON_TRUE:
        berth_wbuf_add(b, "true", 4);
        break;
    case JSON_FALSE:
        berth_wbuf_add(b, "false", 5);
        break;
    case JSON_NULL:
        berth_wbuf_add(b, "null", 4);
        break;
    }
}

void berth_json_write_integer(berth_wbuf_t *b, json_int_t v)
{
    write_integer(b, v);
}

void berth_json_write_string(berth_wbuf_t *b, const char *s, size_t n)
{
    write_string(b, s, n);
}

int berth_json_write(berth_wbuf_t *b, const json_t *v)
{
    if (!v) {
        b->failed = 1;
        return -1;
    }
    write_value(b, v, 0);
    return b->failed ? -1 : 0;
}

char *berth_json_text(const json_t *v, size_t *len)
{
    berth_wbuf_t b = { 0 };
    berth_json_write(&b, v);
    return berth_wbuf_take(&b, len);
}

/* ---- scanning ----------------------------------------------------------------- */

#define MAX_DEPTH 2048

typedef struct {
    const char *p, *end;
} cursor_t;

static void skip_ws(cursor_t *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
                             *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int hex4(const char *p)
{
    for (int i = 0; i < 4; i++) {
        char h = p[i];
        if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
              (h >= 'A' && h <= 'F')))
            return 0;
    }
    return 1;
}

/* One UTF-8 sequence starting at P (its first byte >= 0x80): its length,
 * or 0 when it is not valid UTF-8 (overlong, a surrogate, over U+10FFFF,
 * cut short). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* bounds of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

/* A string at C (on its opening quote): moves past the closing quote; 0,
 * or -1. *ESCAPED says whether it held an escape. */
static int scan_string(cursor_t *c, int *escaped)
{
    const unsigned char *p = (const unsigned char *)c->p + 1;
    const unsigned char *end = (const unsigned char *)c->end;
    *escaped = 0;
    while (p < end) {
        unsigned char ch = *p;
        if (ch == '"') {
            c->p = (const char *)p + 1;
            return 0;
        }
        if (ch < 0x20)
            return -1;
        if (ch == '\\') {
            *escaped = 1;
            if (p + 1 >= end)
                return -1;
            switch (p[1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n':
            case 'r': case 't':
                p += 2;
                break;
            case 'u':
                if (end - p < 6 || !hex4((const char *)p + 2))
                    return -1;
                p += 6;
                break;
            default:
                return -1;
            }
            continue;
        }
        if (ch < 0x80) {
            p++;
            continue;
        }
        size_t n = utf8_len(p, end);
        if (!n)
            return -1;
        p += n;
    }
    return -1;
}

static int digits(cursor_t *c)
{
    const char *start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        c->p++;
    return c->p > start ? 0 : -1;
}

static int scan_number(cursor_t *c)
{
    if (c->p < c->end && *c->p == '-')
        c->p++;
    if (c->p < c->end && *c->p == '0')
        c->p++;
    else if (digits(c) != 0)
        return -1;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (digits(c) != 0)
            return -1;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (digits(c) != 0)
            return -1;
    }
    return 0;
}

static int scan_word(cursor_t *c, const char *w, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
        return -1;
    c->p += n;
    return 0;
}

/* Which member of the top-level object the key at K (N bytes, between
 * its quotes) names, to keep its value's span. */
static berth_span_t *member(berth_rpc_scan_t *s, const char *k, size_t n)
{
#define IS(name) (n == sizeof name - 1 && memcmp(k, name, n) == 0)
    if (IS("jsonrpc"))
        return &s->jsonrpc;
    if (IS("id"))
        return &s->id;
    if (IS("method"))
        return &s->method;
    if (IS("result"))
        return &s->result;
    if (IS("error"))
        return &s->error;
#undef IS
    return NULL;
}

/* (long: the scanner is one loop whose whole state, the stack of open
 * containers and the member being read, lives in its locals; cut into
 * functions it would hand that state around on the path every server
 * reply takes.) */
int berth_rpc_scan(const char *text, size_t len, berth_rpc_scan_t *out)
{
    char stack[MAX_DEPTH]; /* '{' or '[' per open container */
    int depth = 0, esc;
    cursor_t c = { text, text + len };
    berth_span_t *slot = NULL; /* the top-level member being read */
    const char *vstart = NULL;
    memset(out, 0, sizeof *out);
    skip_ws(&c);
    if (c.p >= c.end || *c.p != '{')
        return -1;
    for (;;) {
        /* a value */
        skip_ws(&c);
        if (c.p >= c.end)
            return -1;
        if (depth == 1)
            vstart = c.p;
        switch (*c.p) {
        case '{':
        case '[':
            if (depth == MAX_DEPTH)
                return -1;
            stack[depth++] = *c.p++;
            skip_ws(&c);
            if (c.p < c.end && *c.p == (stack[depth - 1] == '{' ? '}'
                                                               : ']')) {
                c.p++;
                depth--;
                break; /* empty */
            }
            if (stack[depth - 1] == '[')
                continue; /* its first element */
            goto key;
        case '"':
            if (scan_string(&c, &esc) != 0)
                return -1;
            break;
        case 't':
        case 'f':
        case 'n': {
            const char *w = *c.p == 't' ? "true" : *c.p == 'f' ? "false"
                                                               : "null";
            if (scan_word(&c, w, strlen(w)) != 0)
                return -1;
            break;
        }
        default:
            if (*c.p != '-' && (*c.p < '0' || *c.p > '9'))
                return -1;
            if (scan_number(&c) != 0)
                return -1;
        }
        /* after a value: the next member or element, or the container's
         * end */
        for (;;) {
            if (depth == 1 && slot) {
                slot->off = (size_t)(vstart - text);
                slot->len = (size_t)(c.p - vstart);
                slot = NULL;
            }
            if (depth == 0) {
                skip_ws(&c);
                return c.p == c.end ? 0 : -1;
            }
            skip_ws(&c);
            if (c.p >= c.end)
                return -1;
            char close = stack[depth - 1] == '{' ? '}' : ']';
            if (*c.p == close) {
                c.p++;
                depth--;
                continue;
            }
            if (*c.p != ',')
                return -1;
            c.p++;
            break;
        }
        if (stack[depth - 1] == '[')
            continue;
    key:
        skip_ws(&c);
        if (c.p >= c.end || *c.p != '"')
            return -1;
        {
            const char *k = c.p + 1;
            if (scan_string(&c, &esc) != 0)
                return -1;
            if (depth == 1) {
                if (esc)
                    out->escaped_key = 1;
                slot = member(out, k, (size_t)(c.p - 1 - k));
            }
        }
        skip_ws(&c);
        if (c.p >= c.end || *c.p != ':')
            return -1;
        c.p++;
    }
}

int berth_rpc_scan_is_result(const char *text, const berth_rpc_scan_t *s,
                             json_int_t *id)
{
    if (s->escaped_key || s->method.len || s->error.len || !s->result.len ||
        s->jsonrpc.len != 5 || memcmp(text + s->jsonrpc.off, "\"2.0\"", 5)
        || !s->id.len)
        return 0;
    const char *p = text + s->id.off, *end = p + s->id.len;
    int neg = *p == '-';
    if (neg)
        p++;
    /* digits only (no fraction, no exponent), within json_int_t */
    unsigned long long v = 0;
    if (p == end || end - p > 19)
        return 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v > (unsigned long long)LLONG_MAX + (neg ? 1u : 0u))
        return 0;
    *id = neg ? (json_int_t)(0ULL - v) : (json_int_t)v;
    return 1;
}
