/* The stdio front (`berth stdio`): berth as one MCP server on its own stdin
 * and stdout, for clients that only launch commands. Newline-delimited
 * JSON-RPC, one session. Each request runs on a thread of its own, so the
 * client's answers to a server's sampling or elicitation request (and
 * cancellations) are read while a call waits for them. Nothing but MCP
 * messages ever goes to stdout. */
#ifndef BERTH_FRONT_STDIO_H
#define BERTH_FRONT_STDIO_H

#include <apr_file_io.h>
#include <apr_pools.h>

#include "hub.h"

typedef struct berth_stdio_t berth_stdio_t;

/* Starts reading IN and writing OUT on threads of its own. When IN ends,
 * berth_signals_raise(BERTH_SIGNAL_INPUT_ENDED) is called. */
apr_status_t berth_stdio_start(berth_stdio_t **out, berth_hub_t *hub,
                               apr_file_t *in, apr_file_t *out_file,
                               apr_size_t max_message, apr_pool_t *pool);

/* Ends the session (calls in flight are cancelled) and waits for the
 * threads (the reader only if IN already ended). */
void berth_stdio_stop(berth_stdio_t *s);

#endif
