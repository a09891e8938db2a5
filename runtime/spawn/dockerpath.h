/* Resolving the docker CLI (docs/spawn.md): PATH, then well-known
 * install locations, then (Unix) the login shell; a process-wide cache that
 * keeps a success forever and a failure for a TTL, re-probing the
 * well-known paths (stat only) while a failure is cached. Thread-safe. */
#ifndef BERTH_DOCKERPATH_H
#define BERTH_DOCKERPATH_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "hostfacts.h"

#define BERTH_DOCKER_FAILURE_TTL (60 * APR_USEC_PER_SEC)

typedef enum {
    BERTH_DOCKER_ABSENT,
    BERTH_DOCKER_FROM_PATH,
    BERTH_DOCKER_BUNDLED,
    BERTH_DOCKER_LOGIN_SHELL,
    BERTH_DOCKER_CONFIG     /* a plan's: the config named the binary */
} berth_docker_source_t;

typedef struct {
    const char *path;               /* NULL when absent */
    berth_docker_source_t source;   /* always the step that found ->path */
    int verified;                   /* an absolute, existing executable */
} berth_docker_t;

const char *berth_docker_source_name(berth_docker_source_t s);

/* The well-known locations for FACTS' OS, in probe order (const char *);
 * entries whose variable (%ProgramFiles%, ~) is unknown are left out. */
apr_array_header_t *berth_dockerpath_wellknown(const berth_hostfacts_t *facts,
                                               apr_pool_t *pool);

/* Step 1: docker (Windows: docker.exe, through PATHEXT) on FACTS' PATH. */
const char *berth_dockerpath_from_path(const berth_hostfacts_t *facts,
                                       apr_pool_t *pool);
/* Step 2: the first well-known location that holds an executable. */
const char *berth_dockerpath_from_wellknown(const berth_hostfacts_t *facts,
                                            apr_pool_t *pool);
/* Step 3 (Unix): `<shell> -l -c 'command -v docker'`, 5 s; the trimmed
 * first line, which may be an alias or function rather than a path. */
const char *berth_dockerpath_from_login_shell(const berth_hostfacts_t *facts,
                                              apr_pool_t *pool);

/* An absolute path to an existing regular file that is executable (Unix:
 * any x bit; Windows: the name ends in .exe). */
int berth_dockerpath_verified(const berth_hostfacts_t *facts,
                              const char *path);

/* Whether docker reaches the right daemon without a login shell: darwin
 * (hydrated) and windows always; elsewhere only with DOCKER_HOST or
 * DOCKER_CONTEXT non-empty in ENV. */
int berth_docker_daemon_env_guaranteed(const berth_hostfacts_t *facts,
                                       const apr_array_header_t *env);

typedef struct berth_dockerpath_t berth_dockerpath_t;

berth_dockerpath_t *berth_dockerpath_create(apr_interval_time_t failure_ttl,
                                            apr_pool_t *pool);
/* The cached answer, resolving when there is none or a failure expired.
 * Strings live as long as the resolver. */
berth_docker_t berth_dockerpath_resolve(berth_dockerpath_t *r,
                                        const berth_hostfacts_t *facts);
/* How many full resolutions ran (tests and doctor). */
unsigned berth_dockerpath_resolutions(berth_dockerpath_t *r);

#endif
