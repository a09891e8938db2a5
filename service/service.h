/* berth as an OS service: `berth service install|uninstall|start|stop|
 * status|run`, over one backend per OS (service/systemd, service/launchd,
 * service/win32), chosen by CMake. The files a backend installs are
 * templates kept beside it, filled by service_files.c, which every OS
 * compiles, so each backend's files are tested on Linux (docs/service.md).
 *
 * The command line calls berth_service_main; berth serve, started by a
 * service manager, takes the manager's readiness protocol from
 * berth_service_serve_hooks. */
#ifndef BERTH_SERVICE_H
#define BERTH_SERVICE_H

#include <stdio.h>

#include <apr_pools.h>

#include "serve.h"

typedef enum {
    BERTH_SVC_SCOPE_DEFAULT = 0, /* the backend's: see berth service --help */
    BERTH_SVC_SCOPE_USER,        /* runs as the user who installs it */
    BERTH_SVC_SCOPE_SYSTEM       /* runs at boot, as its own account */
} berth_svc_scope_t;

typedef struct {
    const char *action;   /* install, uninstall, start, stop, status, run */
    berth_svc_scope_t scope;
    const char *config;   /* --config; NULL: the scope's default */
    int no_start;         /* install --no-start */
    int json;             /* status --json */
} berth_svc_request_t;

/* The actions berth service knows, for the command line's checks. */
int berth_service_action_known(const char *action);

/* Runs REQ; returns the exit status (cli.h). */
int berth_service_main(const berth_svc_request_t *req, FILE *out, FILE *err,
                       apr_pool_t *pool);

/* For berth serve: when a service manager started it and speaks a
 * readiness protocol (systemd's $NOTIFY_SOCKET), OPTS->notify tells the
 * manager when berth is ready, how its servers are, and when it stops.
 * Leaves OPTS alone otherwise. */
void berth_service_serve_hooks(berth_serve_opts_t *opts, apr_pool_t *pool);

/* The state folder of berth's system service on this OS, where its
 * control.token is (for berth status run by an administrator); NULL where
 * this OS has no system service. */
const char *berth_service_system_state_dir(apr_pool_t *pool);

#endif
