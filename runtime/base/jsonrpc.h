/* Newline-delimited JSON-RPC 2.0 framing (the MCP stdio transport): one
 * message per line, a maximum line size, noise tolerated. */
#ifndef BERTH_JSONRPC_H
#define BERTH_JSONRPC_H

#include <apr_file_io.h>
#include <apr_pools.h>
#include <jansson.h>

#define BERTH_RPC_MAX_MESSAGE (16 * 1024 * 1024)

/* A line longer than the maximum: dropped, the reader carries on. */
#define BERTH_ELINE_TOO_LONG (APR_OS_START_USERERR + 10)

typedef struct berth_linereader_t berth_linereader_t;

berth_linereader_t *berth_linereader_create(apr_file_t *f, apr_size_t max_line,
                                            apr_pool_t *pool);

/* The next complete line (without its "\n" or "\r\n"), valid until the next
 * call. APR_EOF at the end (a last line without "\n" is still returned
 * first); BERTH_ELINE_TOO_LONG for a dropped line, with *LEN its size. */
apr_status_t berth_linereader_next(berth_linereader_t *r, const char **line,
                                   apr_size_t *len);

/* After BERTH_ELINE_TOO_LONG: 1 with *ID the top-level integer "id" of the
 * line that was dropped (wherever it stood in the line), 0 when it had
 * none (a notification, a string id, not an object). */
int berth_linereader_dropped_id(berth_linereader_t *r, json_int_t *id);

/* As berth_linereader_next(), with at most one read: APR_EAGAIN when that
 * read (or none, with a complete line buffered) leaves no complete line.
 * After a poll said the file is readable, it does not block. */
apr_status_t berth_linereader_next_once(berth_linereader_t *r,
                                        const char **line, apr_size_t *len);

/* 1 when the next call can answer without reading: a complete line already
 * read and not yet returned, or the end seen. */
int berth_linereader_buffered(berth_linereader_t *r);

typedef enum {
    BERTH_RPC_REQUEST,
    BERTH_RPC_NOTIFICATION,
    BERTH_RPC_RESPONSE,
    BERTH_RPC_INVALID
} berth_rpc_kind_t;

/* What MSG is (by its jsonrpc, method, id, result and error members). */
berth_rpc_kind_t berth_rpc_classify(json_t *msg);

/* MSG as one line with its "\n" (malloc'ed; free() it). */
char *berth_rpc_line(json_t *msg, apr_size_t *len);

/* The line of request ID (METHOD, PARAMS borrowed, may be NULL) with its
 * "\n", as berth_rpc_line(berth_rpc_request(...)) makes it, without the
 * message tree in between (malloc'ed; free() it). */
char *berth_rpc_request_line(json_int_t id, const char *method,
                             const json_t *params, apr_size_t *len);

/* Builders; each returns a new reference. PARAMS/RESULT are stolen. */
json_t *berth_rpc_request(json_int_t id, const char *method, json_t *params);
json_t *berth_rpc_notification(const char *method, json_t *params);
json_t *berth_rpc_result(json_t *id, json_t *result);
json_t *berth_rpc_error(json_t *id, int code, const char *message,
                        json_t *data);

/* JSON-RPC and MCP error codes berth uses. */
#define BERTH_RPC_PARSE_ERROR -32700
#define BERTH_RPC_INVALID_REQUEST -32600
#define BERTH_RPC_METHOD_NOT_FOUND -32601
#define BERTH_RPC_INVALID_PARAMS -32602
#define BERTH_RPC_INTERNAL_ERROR -32603
/* MCP's own */
#define BERTH_RPC_RESOURCE_NOT_FOUND -32002
/* berth's own, in the implementation-defined server error range, clear of
 * MCP's (-32002 resource not found, -32042 URL elicitation required) */
#define BERTH_RPC_SERVER_GONE -32030    /* the upstream exited / is down */
#define BERTH_RPC_TIMEOUT -32031        /* no answer in time */
#define BERTH_RPC_TOO_LARGE -32032      /* an answer over max_message */

#endif
