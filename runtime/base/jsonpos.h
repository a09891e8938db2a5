/* Source positions for a JSON document. jansson returns values without
 * positions, so config validation indexes the text once more to tell a user
 * the line and column of every key and value, by JSON path. */
#ifndef BERTH_JSONPOS_H
#define BERTH_JSONPOS_H

#include <stddef.h>

#include <apr_pools.h>
#include <apr_tables.h>

typedef struct {
    unsigned line;   /* 1-based */
    unsigned column; /* 1-based, in characters (UTF-8 sequences count once) */
} berth_textpos_t;

/* A key that occurs twice in one object; jansson keeps the last one. */
typedef struct {
    const char *path;      /* path of the repeated member */
    size_t offset;         /* the later occurrence's key */
    size_t first_offset;   /* the first occurrence's key */
} berth_jsonpos_dup_t;

typedef struct berth_jsonpos_t berth_jsonpos_t;

/* Blanks // and block comments and trailing commas with spaces, in place,
 * keeping every offset and newline: VS Code's mcp.json is JSONC. Returns 0,
 * or -1 for an unterminated block comment, whose offset goes to *BAD. */
int berth_jsonc_blank(char *buf, size_t len, size_t *bad);

/* Checks that BUF is one JSON value (RFC 8259). Returns NULL when it is,
 * else what is wrong, with the offset of the offending token's first byte in
 * *BAD. Messages never quote the text: a broken string may be a secret. */
const char *berth_json_syntax_check(const char *buf, size_t len, size_t *bad);

/* Indexes BUF, which must be valid JSON (jansson accepted it). */
berth_jsonpos_t *berth_jsonpos_index(const char *buf, size_t len,
                                     apr_pool_t *pool);

/* Position of the value at PATH, or of its key (for object members; the
 * value's position otherwise). Returns 0 when PATH is not in the document. */
int berth_jsonpos_value(const berth_jsonpos_t *idx, const char *path,
                        berth_textpos_t *out);
int berth_jsonpos_key(const berth_jsonpos_t *idx, const char *path,
                      berth_textpos_t *out);

/* Repeated keys, in document order (berth_jsonpos_dup_t). */
const apr_array_header_t *berth_jsonpos_dups(const berth_jsonpos_t *idx);

/* Line and column of a byte offset. */
berth_textpos_t berth_jsonpos_at(const berth_jsonpos_t *idx, size_t offset);
berth_textpos_t berth_textpos_of(const char *buf, size_t len, size_t offset);

/* Path spelling used in every message: mcpServers.fetch.args[2]; a key that
 * is not an identifier is quoted: mcpServers["my server"]. */
const char *berth_jsonpath_member(apr_pool_t *pool, const char *parent,
                                  const char *key);
const char *berth_jsonpath_index(apr_pool_t *pool, const char *parent,
                                 size_t index);

#endif
