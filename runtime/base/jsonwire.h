/* JSON on the wire: the text berth sends and passes on.
 *
 * A relay should not rebuild what it only forwards. A server's answer to a
 * call is checked and located here (berth_rpc_scan) and goes to the client
 * as it came, with the client's id, without becoming a jansson tree; what
 * berth itself writes is serialised by berth_json_write, which makes the
 * same compact text as json_dumps(JSON_COMPACT) in a fraction of its
 * instructions (no callback per fragment, no per-character UTF-8 decode). */
#ifndef BERTH_JSONWIRE_H
#define BERTH_JSONWIRE_H

#include <stddef.h>

#include <jansson.h>

/* A growing byte buffer (malloc'ed). A failed allocation sets FAILED and
 * makes every later call a no-op; the text is NUL-terminated whenever P is
 * not NULL. */
typedef struct {
    char *p;
    size_t len, cap;
    int failed;
} berth_wbuf_t;

void berth_wbuf_add(berth_wbuf_t *b, const char *s, size_t n);
void berth_wbuf_free(berth_wbuf_t *b);
/* The text, owned by the caller (free()), with its length; NULL after a
 * failed allocation or when nothing was written. B is empty again. */
char *berth_wbuf_take(berth_wbuf_t *b, size_t *len);

/* Appends V as compact JSON (any value, not only objects and arrays):
 * members in insertion order, strings as UTF-8 with only '"', '\' and
 * control characters escaped, reals as jansson writes them. 0, or -1 when
 * the buffer could not grow. */
int berth_json_write(berth_wbuf_t *b, const json_t *v);

/* Appends the integer V, or the string S (N bytes) quoted and escaped. */
void berth_json_write_integer(berth_wbuf_t *b, json_int_t v);
void berth_json_write_string(berth_wbuf_t *b, const char *s, size_t n);

/* V as compact JSON text (malloc'ed; free() it), *LEN its length when LEN
 * is not NULL; NULL when out of memory. */
char *berth_json_text(const json_t *v, size_t *len);

/* Where a value lies in a text: LEN 0 when the member is absent. */
typedef struct {
    size_t off, len;
} berth_span_t;

/* The top-level members of a JSON-RPC message that decide what it is. */
typedef struct {
    berth_span_t jsonrpc, id, method, result, error;
    /* a top-level key holds an escape, so a member may hide behind it:
     * classify such a message from its tree instead */
    int escaped_key;
} berth_rpc_scan_t;

/* Checks that TEXT is one JSON object (RFC 8259: strings of valid UTF-8,
 * the number grammar, nesting up to 2048 levels, nothing after it but
 * white space) and notes where the values of its jsonrpc, id, method,
 * result and error members lie (the last one, as jansson keeps, when a key
 * repeats). 0, or -1 when it is not. */
int berth_rpc_scan(const char *text, size_t len, berth_rpc_scan_t *out);

/* When TEXT's scan is a plain JSON-RPC result (jsonrpc "2.0", an integer
 * id, result, no error, no method): 1, with the id in *ID. */
int berth_rpc_scan_is_result(const char *text, const berth_rpc_scan_t *s,
                             json_int_t *id);

#endif
