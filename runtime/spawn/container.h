/* Containers berth starts: which instance of berth owns one, whether that
 * instance still runs, the container id (from the cidfile, else by the
 * unique name), stopping (docker stop -t <grace>, then docker kill) and the
 * sweeps that remove containers a dead berth left behind. Every docker
 * command here is planned like a spawn (the same resolved binary, the same
 * environment and wrap rules), never a bare "docker" when a path was
 * resolved. */
#ifndef BERTH_CONTAINER_H
#define BERTH_CONTAINER_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "config.h"
#include "spawnctx.h"
#include "spawnplan.h"

/* ---- instances ---------------------------------------------------------
 * A berth process labels its containers io.berth.instance=<id> where the id
 * is "<host>/<pid>/<start>/<random>": the host it runs on, its pid and that
 * process's start time (seconds since the epoch), so any later berth on the
 * same host can tell whether the owner still runs, across pid reuse. */

typedef struct {
    const char *host;
    long pid;
    apr_int64_t started;
    const char *token;
} berth_instance_t;

/* The id of the running process (host name, pid, start time, TOKEN). */
const char *berth_instance_self(const char *token, apr_pool_t *pool);

/* Splits an id; 0 when ID is not one. */
int berth_instance_parse(const char *id, berth_instance_t *out,
                         apr_pool_t *pool);

/* When process PID started (berth_platform_process_started's contract). */
typedef apr_status_t (*berth_proc_started_fn)(long pid, apr_int64_t *secs);

/* Whether the instance OTHER may still run, seen from SELF. Alive: it is
 * SELF; it is on another host (nothing here can tell); its process runs and
 * started when the id says (within 2 s); the OS will not say. Dead: an id
 * berth cannot parse is never judged dead (1); a pid that is gone, or reused
 * by a process that started at another time, or SELF's own pid under another
 * token (an earlier berth of this pid, before a reboot). *WHY says which. */
int berth_instance_alive(const berth_instance_t *self, const char *other,
                         berth_proc_started_fn started, const char **why,
                         apr_pool_t *pool);

/* ---- one container ----------------------------------------------------- */

typedef struct berth_container_t berth_container_t;

/* Tracks the container PLAN starts (NULL when the plan starts none: not a
 * docker run). The name is berth's for isolated servers, the user's --name
 * for their own docker run, else unknown. */
berth_container_t *berth_container_for_plan(berth_spawnctx_t *ctx,
                                            const berth_config_t *cfg,
                                            const berth_plan_t *plan,
                                            apr_pool_t *pool);

const char *berth_container_name(const berth_container_t *c);
const char *berth_container_cidfile(const berth_container_t *c);

/* The container id: the cidfile's content once docker wrote it, else a
 * lookup by the unique name (docker ps -a --filter name=^/<name>$), else
 * NULL. Remembered once known. */
const char *berth_container_id(berth_container_t *c);

/* The id if already known (no file read, no docker command). */
const char *berth_container_known_id(berth_container_t *c);

/* Stops the container: docker stop -t GRACE_SECONDS, and docker kill when
 * that fails. Then removes it when the run had no --rm (the user's own
 * docker run) and the cidfile. APR_SUCCESS when the container is gone or
 * was never created. */
apr_status_t berth_container_stop(berth_container_t *c, int grace_seconds);

/* Removes what is left after the docker client ended by itself: the
 * container when the run had no --rm (or always when FORCE: after a death,
 * the client may have died without its container), and the cidfile. */
void berth_container_release(berth_container_t *c, int force);

/* ---- sweeps ------------------------------------------------------------- */

typedef struct {
    const char *id;        /* short container id */
    const char *full_id;
    const char *name;      /* without the leading '/' */
    const char *server;    /* io.berth.server */
    const char *instance;  /* io.berth.instance */
    const char *state;     /* running, exited, created ... */
    int owner_alive;       /* berth_instance_alive's answer */
    const char *why;       /* its reason */
} berth_container_info_t;

/* Every container labelled io.berth.managed=true (and io.berth.server=SERVER
 * when SERVER is not NULL), with its owner's liveness judged from this
 * process. */
apr_status_t berth_container_list(berth_spawnctx_t *ctx,
                                  const berth_config_t *cfg,
                                  const char *server,
                                  apr_array_header_t **out,
                                  const char **error, apr_pool_t *pool);

/* Removes (docker rm -f, one command) every managed container whose owner is
 * not alive; only SERVER's when SERVER is not NULL. *REMOVED counts them.
 * The whole sweep (SERVER NULL) also deletes the cidfiles in berth's folder
 * that name a container which no longer exists. */
apr_status_t berth_container_sweep(berth_spawnctx_t *ctx,
                                   const berth_config_t *cfg,
                                   const char *server, int *removed,
                                   const char **error, apr_pool_t *pool);

#endif
