/* The process-wide spawn context: host facts (hydrated on darwin at
 * creation), the once-per-process login-shell capture, the docker path
 * resolver, and the cached docker daemon probe. One per berth process; the
 * CLI and the daemon plan every spawn through it. */
#ifndef BERTH_SPAWNCTX_H
#define BERTH_SPAWNCTX_H

#include <apr_pools.h>

#include "config.h"
#include "dockerpath.h"
#include "hostfacts.h"
#include "loginenv.h"
#include "spawnplan.h"

#define BERTH_DOCKER_INFO_TIMEOUT (3 * APR_USEC_PER_SEC)
#define BERTH_DOCKER_INFO_OK_TTL (15 * 60 * APR_USEC_PER_SEC)
#define BERTH_DOCKER_INFO_FAIL_TTL (5 * 60 * APR_USEC_PER_SEC)

typedef struct berth_spawnctx_t berth_spawnctx_t;

/* Takes FACTS (the process's; its env is replaced by the hydrated one on
 * darwin, which may capture the login shell once). */
berth_spawnctx_t *berth_spawnctx_create(berth_hostfacts_t *facts,
                                        apr_pool_t *pool);

const berth_hostfacts_t *berth_spawnctx_facts(berth_spawnctx_t *ctx);
const berth_hydration_t *berth_spawnctx_hydration(berth_spawnctx_t *ctx);
berth_dockerpath_t *berth_spawnctx_resolver(berth_spawnctx_t *ctx);
/* The login shell's capture, running it now if it never ran. */
const berth_loginenv_t *berth_spawnctx_login(berth_spawnctx_t *ctx);
/* This process's instance id, "<host>/<pid>/<start>/<random>" (container.h):
 * the io.berth.instance label of its containers. */
const char *berth_spawnctx_instance(berth_spawnctx_t *ctx);

/* The folder this process's cidfiles go to (not created here; removed with
 * the context's pool when empty): <cid root>/<pid>-<start>-<token>. */
const char *berth_spawnctx_cid_dir(berth_spawnctx_t *ctx);
/* <state dir>/cid, holding every berth process's folder. */
const char *berth_spawnctx_cid_root(berth_spawnctx_t *ctx);

/* Plans SRV: resolves docker only for docker shapes and captures the login
 * shell only when PATH needs enhancing (each at most once per process). */
apr_status_t berth_spawnctx_plan(berth_spawnctx_t *ctx,
                                 const berth_config_t *cfg,
                                 const berth_server_config_t *srv,
                                 const char *start_token, berth_plan_t **plan,
                                 const char **error, apr_pool_t *pool);

typedef struct {
    int available;
    const char *server_version;  /* when available */
    const char *error;           /* why not */
    int cached;                  /* this answer came from the cache */
} berth_docker_info_t;

/* `docker info --format '{{.ServerVersion}}'` through the same plan rules as
 * a spawn, with a short timeout; cached 15 minutes on success, 5 on
 * failure. */
berth_docker_info_t berth_spawnctx_docker_info(berth_spawnctx_t *ctx,
                                               const berth_config_t *cfg);

/* Runs `docker ARGS...` the way a spawn runs docker (the resolved binary,
 * the same environment and wrap rules; docs/spawn.md, "Direct exec or a login-shell
 * wrap"), stdin empty,
 * stdout captured into *OUT (NUL-terminated). Fails with *ERROR when docker
 * cannot run, TIMEOUT passes (the command is killed) or it exits non-zero
 * (*OUT still holds what it printed). */
apr_status_t berth_spawnctx_docker_exec(berth_spawnctx_t *ctx,
                                        const berth_config_t *cfg,
                                        const apr_array_header_t *args,
                                        apr_interval_time_t timeout,
                                        char **out, const char **error,
                                        apr_pool_t *pool);

/* A random hex token for a start (cidfile names). */
const char *berth_spawnctx_token(apr_pool_t *pool);

#endif
