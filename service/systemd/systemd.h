/* The systemd backend's parts (service/systemd). Internal. */
#ifndef BERTH_SERVICE_SYSTEMD_H
#define BERTH_SERVICE_SYSTEMD_H

#include <apr_pools.h>

#include "serve.h"

/* berth_service_serve_hooks on Linux: $NOTIFY_SOCKET (notify.c). */
void berth_systemd_serve_hooks(berth_serve_opts_t *opts, apr_pool_t *pool);

#endif
