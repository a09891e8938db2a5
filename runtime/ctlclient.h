/* The CLI's side of the control API: one HTTP/1.1 request to a running
 * berth serve on its listen address, with the control token. */
#ifndef BERTH_CTLCLIENT_H
#define BERTH_CTLCLIENT_H

#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>

/* METHOD PATH on HOST:PORT with "Authorization: Bearer TOKEN"; *STATUS is
 * the HTTP status and *BODY the parsed JSON body (a new reference, NULL when
 * not JSON). APR_ECONNREFUSED (or another connect error) when nothing
 * listens; *ERROR says what went wrong. */
apr_status_t berth_control_call(const char *host, unsigned port,
                                const char *method, const char *path,
                                const char *token, apr_interval_time_t timeout,
                                int *status, json_t **body,
                                const char **error, apr_pool_t *pool);

#endif
