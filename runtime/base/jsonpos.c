#include "jsonpos.h"

#include <ctype.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

typedef struct {
    size_t key_off;
    size_t val_off;
    int has_key;
} entry_t;

struct berth_jsonpos_t {
    const char *buf;
    size_t len;
    apr_pool_t *pool;
    apr_hash_t *entries; /* path -> entry_t */
    apr_array_header_t *dups;
};

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Index just past the string literal starting at I (which is '"'). */
static size_t skip_string(const char *buf, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (buf[i] == '\\')
            i++;
        else if (buf[i] == '"')
            return i + 1;
    }
    return len;
}

int berth_jsonc_blank(char *buf, size_t len, size_t *bad)
{
    size_t pending_comma = (size_t)-1;
    size_t i = 0;
    while (i < len) {
        char c = buf[i];
        if (c == '"') {
            pending_comma = (size_t)-1;
            i = skip_string(buf, len, i);
        } else if (c == '/' && i + 1 < len && buf[i + 1] == '/') {
            while (i < len && buf[i] != '\n')
                buf[i++] = ' ';
        } else if (c == '/' && i + 1 < len && buf[i + 1] == '*') {
            size_t end = i + 2;
            while (end + 1 < len && !(buf[end] == '*' && buf[end + 1] == '/'))
                end++;
            if (end + 1 >= len) {
                if (bad)
                    *bad = i;
                return -1;
            }
            for (; i < end + 2; i++)
                if (buf[i] != '\n')
                    buf[i] = ' ';
        } else if (c == ',') {
            pending_comma = i++;
        } else if (c == '}' || c == ']') {
            if (pending_comma != (size_t)-1)
                buf[pending_comma] = ' ';
            pending_comma = (size_t)-1;
            i++;
        } else {
            if (!is_ws(c))
                pending_comma = (size_t)-1;
            i++;
        }
    }
    return 0;
}

/* ---- syntax check: a small recursive descent over the text ------------ */

typedef struct {
    const char *b;
    size_t len;
    size_t at;
    size_t bad;
    const char *why;
    int depth;
} syn_t;

static int syn_fail(syn_t *s, size_t at, const char *why)
{
    if (!s->why) {
        s->why = why;
        s->bad = at;
    }
    return 0;
}

static void syn_ws(syn_t *s)
{
    while (s->at < s->len && is_ws(s->b[s->at]))
        s->at++;
}

static int syn_value(syn_t *s);

static int syn_string(syn_t *s)
{
    size_t start = s->at++;
    while (s->at < s->len) {
        unsigned char c = (unsigned char)s->b[s->at];
        if (c == '"') {
            s->at++;
            return 1;
        }
        if (c == '\\') {
            char e = s->at + 1 < s->len ? s->b[s->at + 1] : '\0';
            if (e == 'u') {
                for (int k = 2; k < 6; k++)
                    if (s->at + (size_t)k >= s->len ||
                        !isxdigit((unsigned char)s->b[s->at + (size_t)k]))
                        return syn_fail(s, s->at, "invalid \\u escape in a "
                                        "string; it needs four hex digits");
                s->at += 6;
                continue;
            }
            if (!e || !strchr("\"\\/bfnrt", e))
                return syn_fail(s, s->at, "invalid escape in a string; use "
                                "\\\\ for a backslash");
            s->at += 2;
            continue;
        }
        if (c == '\n')
            return syn_fail(s, start, "string not closed before the end of "
                            "the line");
        if (c < 0x20)
            return syn_fail(s, s->at, "control character inside a string; "
                            "write it as an escape such as \\t");
        s->at++;
    }
    return syn_fail(s, start, "string not closed before the end of the file");
}

static int syn_number(syn_t *s)
{
    size_t start = s->at;
    const char *b = s->b;
    if (s->at < s->len && b[s->at] == '-')
        s->at++;
    if (s->at < s->len && b[s->at] == '0') {
        s->at++;
    } else if (s->at < s->len && b[s->at] >= '1' && b[s->at] <= '9') {
        while (s->at < s->len && isdigit((unsigned char)b[s->at]))
            s->at++;
    } else {
        return syn_fail(s, start, "invalid number");
    }
    if (s->at < s->len && b[s->at] == '.') {
        s->at++;
        if (s->at >= s->len || !isdigit((unsigned char)b[s->at]))
            return syn_fail(s, start, "invalid number");
        while (s->at < s->len && isdigit((unsigned char)b[s->at]))
            s->at++;
    }
    if (s->at < s->len && (b[s->at] == 'e' || b[s->at] == 'E')) {
        s->at++;
        if (s->at < s->len && (b[s->at] == '+' || b[s->at] == '-'))
            s->at++;
        if (s->at >= s->len || !isdigit((unsigned char)b[s->at]))
            return syn_fail(s, start, "invalid number");
        while (s->at < s->len && isdigit((unsigned char)b[s->at]))
            s->at++;
    }
    if (s->at < s->len && (isalnum((unsigned char)b[s->at]) || b[s->at] == '.'))
        return syn_fail(s, start, "invalid number");
    return 1;
}

static int syn_word(syn_t *s)
{
    static const char *const words[] = { "true", "false", "null" };
    size_t start = s->at, n = 0;
    while (start + n < s->len && isalnum((unsigned char)s->b[start + n]))
        n++;
    for (int i = 0; i < 3; i++)
        if (n == strlen(words[i]) && memcmp(s->b + start, words[i], n) == 0) {
            s->at += n;
            return 1;
        }
    return syn_fail(s, start, "expected a value: a string in double quotes, "
                    "a number, true, false, null, an object or an array");
}

static int syn_container(syn_t *s, char open)
{
    char close = open == '{' ? '}' : ']';
    size_t start = s->at++;
    if (++s->depth > 512)
        return syn_fail(s, start, "nested too deeply");
    syn_ws(s);
    if (s->at < s->len && s->b[s->at] == close) {
        s->at++;
        s->depth--;
        return 1;
    }
    for (;;) {
        syn_ws(s);
        if (s->at >= s->len)
            break;
        if (open == '{') {
            if (s->b[s->at] != '"')
                return syn_fail(s, s->at, "expected a key in double quotes");
            if (!syn_string(s))
                return 0;
            syn_ws(s);
            if (s->at >= s->len)
                break;
            if (s->b[s->at] != ':')
                return syn_fail(s, s->at, "expected ':' after the key");
            s->at++;
        }
        if (!syn_value(s))
            return 0;
        syn_ws(s);
        if (s->at >= s->len)
            break;
        if (s->b[s->at] == close) {
            s->at++;
            s->depth--;
            return 1;
        }
        if (s->b[s->at] != ',')
            return syn_fail(s, s->at, open == '{'
                            ? "expected ',' or '}' after an object member"
                            : "expected ',' or ']' after an array element");
        s->at++;
    }
    return syn_fail(s, start, open == '{'
                    ? "this object is not closed: '}' missing before the end "
                      "of the file"
                    : "this array is not closed: ']' missing before the end "
                      "of the file");
}

static int syn_value(syn_t *s)
{
    syn_ws(s);
    if (s->at >= s->len)
        return syn_fail(s, s->at, "expected a value before the end of the "
                        "file");
    char c = s->b[s->at];
    if (c == '{' || c == '[')
        return syn_container(s, c);
    if (c == '"')
        return syn_string(s);
    if (c == '-' || isdigit((unsigned char)c))
        return syn_number(s);
    if (c == '\'')
        return syn_fail(s, s->at, "strings need double quotes, not single "
                        "quotes");
    return syn_word(s);
}

const char *berth_json_syntax_check(const char *buf, size_t len, size_t *bad)
{
    syn_t s = { buf, len, 0, 0, NULL, 0 };
    syn_ws(&s);
    if (s.at >= len) {
        *bad = s.at;
        return "the file is empty; a config is a JSON object";
    }
    if (syn_value(&s)) {
        syn_ws(&s);
        if (s.at < len)
            syn_fail(&s, s.at, "unexpected text after the end of the JSON "
                     "document");
    }
    *bad = s.bad;
    return s.why;
}

static void put_utf8(apr_array_header_t *out, unsigned long cp)
{
    if (cp < 0x80) {
        APR_ARRAY_PUSH(out, char) = (char)cp;
    } else if (cp < 0x800) {
        APR_ARRAY_PUSH(out, char) = (char)(0xC0 | (cp >> 6));
        APR_ARRAY_PUSH(out, char) = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        APR_ARRAY_PUSH(out, char) = (char)(0xE0 | (cp >> 12));
        APR_ARRAY_PUSH(out, char) = (char)(0x80 | ((cp >> 6) & 0x3F));
        APR_ARRAY_PUSH(out, char) = (char)(0x80 | (cp & 0x3F));
    } else {
        APR_ARRAY_PUSH(out, char) = (char)(0xF0 | (cp >> 18));
        APR_ARRAY_PUSH(out, char) = (char)(0x80 | ((cp >> 12) & 0x3F));
        APR_ARRAY_PUSH(out, char) = (char)(0x80 | ((cp >> 6) & 0x3F));
        APR_ARRAY_PUSH(out, char) = (char)(0x80 | (cp & 0x3F));
    }
}

static unsigned long hex4(const char *s)
{
    unsigned long v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned long)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned long)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned long)(c - 'A' + 10);
    }
    return v;
}

/* Decodes the (valid) string literal at I into a NUL-terminated key, the
 * same text jansson stores. */
static const char *decode_key(berth_jsonpos_t *idx, size_t i, size_t *end)
{
    apr_array_header_t *out = apr_array_make(idx->pool, 32, 1);
    const char *b = idx->buf;
    for (i++; i < idx->len && b[i] != '"'; i++) {
        if (b[i] != '\\') {
            APR_ARRAY_PUSH(out, char) = b[i];
            continue;
        }
        i++;
        switch (b[i]) {
        case 'b': APR_ARRAY_PUSH(out, char) = '\b'; break;
        case 'f': APR_ARRAY_PUSH(out, char) = '\f'; break;
        case 'n': APR_ARRAY_PUSH(out, char) = '\n'; break;
        case 'r': APR_ARRAY_PUSH(out, char) = '\r'; break;
        case 't': APR_ARRAY_PUSH(out, char) = '\t'; break;
        case 'u': {
            unsigned long cp = hex4(b + i + 1);
            i += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < idx->len &&
                b[i + 1] == '\\' && b[i + 2] == 'u') {
                unsigned long lo = hex4(b + i + 3);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
            put_utf8(out, cp);
            break;
        }
        default: APR_ARRAY_PUSH(out, char) = b[i]; break;
        }
    }
    *end = i + 1;
    APR_ARRAY_PUSH(out, char) = '\0';
    return out->elts;
}

static size_t skip_ws(const berth_jsonpos_t *idx, size_t i)
{
    while (i < idx->len && is_ws(idx->buf[i]))
        i++;
    return i;
}

static entry_t *record(berth_jsonpos_t *idx, const char *path)
{
    entry_t *e = apr_pcalloc(idx->pool, sizeof *e);
    apr_hash_set(idx->entries, path, APR_HASH_KEY_STRING, e);
    return e;
}

static size_t walk(berth_jsonpos_t *idx, size_t i, const char *path, entry_t *e)
{
    const char *b = idx->buf;
    i = skip_ws(idx, i);
    e->val_off = i;
    if (i >= idx->len)
        return i;
    if (b[i] == '{') {
        apr_hash_t *seen = apr_hash_make(idx->pool);
        i = skip_ws(idx, i + 1);
        while (i < idx->len && b[i] != '}') {
            size_t key_off = i, after;
            const char *key = decode_key(idx, i, &after);
            const char *child = berth_jsonpath_member(idx->pool, path, key);
            entry_t *first = apr_hash_get(seen, key, APR_HASH_KEY_STRING);
            entry_t *ce = record(idx, child);
            if (first) {
                berth_jsonpos_dup_t *d = apr_array_push(idx->dups);
                d->path = child;
                d->offset = key_off;
                d->first_offset = first->key_off;
            } else {
                apr_hash_set(seen, key, APR_HASH_KEY_STRING, ce);
            }
            ce->key_off = key_off;
            ce->has_key = 1;
            i = skip_ws(idx, after);
            if (i < idx->len && b[i] == ':')
                i++;
            i = skip_ws(idx, walk(idx, i, child, ce));
            if (i < idx->len && b[i] == ',')
                i = skip_ws(idx, i + 1);
        }
        return i + 1;
    }
    if (b[i] == '[') {
        size_t n = 0;
        i = skip_ws(idx, i + 1);
        while (i < idx->len && b[i] != ']') {
            const char *child = berth_jsonpath_index(idx->pool, path, n++);
            i = skip_ws(idx, walk(idx, i, child, record(idx, child)));
            if (i < idx->len && b[i] == ',')
                i = skip_ws(idx, i + 1);
        }
        return i + 1;
    }
    if (b[i] == '"')
        return skip_string(b, idx->len, i);
    while (i < idx->len && !is_ws(b[i]) && b[i] != ',' && b[i] != ']' &&
           b[i] != '}')
        i++;
    return i;
}

berth_jsonpos_t *berth_jsonpos_index(const char *buf, size_t len,
                                     apr_pool_t *pool)
{
    berth_jsonpos_t *idx = apr_pcalloc(pool, sizeof *idx);
    idx->buf = buf;
    idx->len = len;
    idx->pool = pool;
    idx->entries = apr_hash_make(pool);
    idx->dups = apr_array_make(pool, 0, sizeof(berth_jsonpos_dup_t));
    walk(idx, 0, "", record(idx, ""));
    return idx;
}

berth_textpos_t berth_textpos_of(const char *buf, size_t len, size_t offset)
{
    berth_textpos_t pos = { 1, 1 };
    if (offset > len)
        offset = len;
    for (size_t i = 0; i < offset; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\n') {
            pos.line++;
            pos.column = 1;
        } else if ((c & 0xC0) != 0x80) {
            pos.column++;
        }
    }
    return pos;
}

berth_textpos_t berth_jsonpos_at(const berth_jsonpos_t *idx, size_t offset)
{
    return berth_textpos_of(idx->buf, idx->len, offset);
}

int berth_jsonpos_value(const berth_jsonpos_t *idx, const char *path,
                        berth_textpos_t *out)
{
    const entry_t *e = apr_hash_get(idx->entries, path, APR_HASH_KEY_STRING);
    if (!e)
        return 0;
    *out = berth_jsonpos_at(idx, e->val_off);
    return 1;
}

int berth_jsonpos_key(const berth_jsonpos_t *idx, const char *path,
                      berth_textpos_t *out)
{
    const entry_t *e = apr_hash_get(idx->entries, path, APR_HASH_KEY_STRING);
    if (!e)
        return 0;
    *out = berth_jsonpos_at(idx, e->has_key ? e->key_off : e->val_off);
    return 1;
}

const apr_array_header_t *berth_jsonpos_dups(const berth_jsonpos_t *idx)
{
    return idx->dups;
}

static int is_ident(const char *key)
{
    if (!*key || (*key >= '0' && *key <= '9'))
        return 0;
    for (const char *c = key; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
            return 0;
    }
    return 1;
}

const char *berth_jsonpath_member(apr_pool_t *pool, const char *parent,
                                  const char *key)
{
    if (is_ident(key))
        return *parent ? apr_pstrcat(pool, parent, ".", key, NULL)
                       : apr_pstrdup(pool, key);
    /* Quote like a JSON string so any key is unambiguous. */
    apr_array_header_t *q = apr_array_make(pool, (int)strlen(key) + 8, 1);
    const char *p = parent;
    while (*p)
        APR_ARRAY_PUSH(q, char) = *p++;
    APR_ARRAY_PUSH(q, char) = '[';
    APR_ARRAY_PUSH(q, char) = '"';
    for (const unsigned char *c = (const unsigned char *)key; *c; c++) {
        if (*c == '"' || *c == '\\') {
            APR_ARRAY_PUSH(q, char) = '\\';
            APR_ARRAY_PUSH(q, char) = (char)*c;
        } else if (*c < 0x20) {
            char hex[8];
            apr_snprintf(hex, sizeof hex, "\\u%04x", *c);
            for (char *h = hex; *h; h++)
                APR_ARRAY_PUSH(q, char) = *h;
        } else {
            APR_ARRAY_PUSH(q, char) = (char)*c;
        }
    }
    APR_ARRAY_PUSH(q, char) = '"';
    APR_ARRAY_PUSH(q, char) = ']';
    APR_ARRAY_PUSH(q, char) = '\0';
    return q->elts;
}

const char *berth_jsonpath_index(apr_pool_t *pool, const char *parent,
                                 size_t index)
{
    return apr_psprintf(pool, "%s[%" APR_SIZE_T_FMT "]", parent, index);
}
